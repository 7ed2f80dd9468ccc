/* norm.c: batch_norm, layer_norm and group_norm, forward and fused backward (CPU).
 * Arithmetic in float64 (two-pass mean/variance); batch_norm reads and writes the big tensors
 * in their own dtype (no float64 copies), layer/group norm cast float64 results back.
 * All three normalise rows: xhat = (x - mean) * rstd, y = xhat * w + b; their backward is
 * gx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = gy * w over each row.
 * CUDA tensors take the same front ends (NN_DEVICE_SCOPE: same checks, same float64 small
 * vectors, results on x's device) with cuda/nn_norm.cu's kernels in place of the loops. */
#include <math.h>

#include "nl_nn_kernel.h"
#include "nn_util.h"

static void nn_free4(nl_tensor *a, nl_tensor *b, nl_tensor *c, nl_tensor *d) {
  nl_tensor_free(a), nl_tensor_free(b), nl_tensor_free(c), nl_tensor_free(d);
}

/* 0 when t is NULL or a 1-d tensor of n elements with x's dtype. */
static int nn_check_vec(const char *op, const char *what, const nl_tensor *t, const nl_tensor *x, int64_t n) {
  if (!t) return 0;
  if (nn_check_same(op, what, t, x)) return -1;
  if (t->ndim != 1 || t->shape[0] != n)
    return nl_failc("%s: expected %s of shape [%lld], got %s", op, what, (long long)n, SHP(t));
  return 0;
}

/* ---- batch_norm ---------------------------------------------------------------------------- */
/* The per-channel loops for x of element type T (float or double), accumulating in double.
 * x, y, g, gx: (N, C, S) contiguous; the per-channel vectors are float64 (NULL: absent). */
typedef struct nn_bn_geo {
  int64_t N, C, S;
  bool training;
  double momentum, eps;
} nn_bn_geo;
#define NN_BN(T, SUF)                                                                              \
  static void nn_bn_fwd##SUF(const T *xs, T *ys, double *mean, double *inv, double *rm, double *rv, \
                             const double *w, const double *b, const nn_bn_geo *g) {               \
    int64_t N = g->N, C = g->C, S = g->S, M = N * S;                                              \
    NL_OMP_FOR_IF(M * C > 32768,                                                \
    for (int64_t c = 0; c < C; c++) {                                                             \
      double mu, is;                                                                              \
      if (g->training) {                                                                          \
        double s = 0, q = 0;                                                                      \
        for (int64_t n = 0; n < N; n++) {                                                         \
          const T *xr = xs + (n * C + c) * S;                                                     \
          for (int64_t i = 0; i < S; i++) s += xr[i];                                             \
        }                                                                                         \
        mu = s / (double)M;                                                                       \
        for (int64_t n = 0; n < N; n++) {                                                         \
          const T *xr = xs + (n * C + c) * S;                                                     \
          for (int64_t i = 0; i < S; i++) {                                                       \
            double d = xr[i] - mu;                                                                \
            q += d * d;                                                                           \
          }                                                                                       \
        }                                                                                         \
        is = 1.0 / sqrt(q / (double)M + g->eps);                                                 \
        if (rm) rm[c] = (1 - g->momentum) * rm[c] + g->momentum * mu;                             \
        if (rv) rv[c] = (1 - g->momentum) * rv[c] + g->momentum * q / (double)(M - 1);            \
      } else {                                                                                    \
        mu = rm[c];                                                                               \
        is = 1.0 / sqrt(rv[c] + g->eps);                                                          \
      }                                                                                           \
      mean[c] = mu, inv[c] = is;                                                                  \
      double sc = is * (w ? w[c] : 1.0), sh = (b ? b[c] : 0.0) - mu * sc;                         \
      for (int64_t n = 0; n < N; n++) {                                                           \
        const T *xr = xs + (n * C + c) * S;                                                       \
        T *yr = ys + (n * C + c) * S;                                                             \
        for (int64_t i = 0; i < S; i++) yr[i] = (T)(xr[i] * sc + sh);                             \
      }                                                                                           \
    });                                                                                             \
  }                                                                                               \
  static void nn_bn_bwd##SUF(const T *xs, const T *gy, T *ox, double *ow, double *ob, const double *w, \
                             const double *mean, const double *inv, const nn_bn_geo *g) {          \
    int64_t N = g->N, C = g->C, S = g->S;                                                         \
    double M = (double)(N * S);                                                                   \
    NL_OMP_FOR_IF(N * S * C > 32768,                                            \
    for (int64_t c = 0; c < C; c++) {                                                             \
      double sg = 0, sgx = 0, mu = mean[c], is = inv[c], wc = w ? w[c] : 1.0;                     \
      for (int64_t n = 0; n < N; n++) {                                                           \
        const T *xr = xs + (n * C + c) * S, *gr = gy + (n * C + c) * S;                           \
        for (int64_t i = 0; i < S; i++) {                                                         \
          sg += gr[i];                                                                            \
          sgx += gr[i] * (xr[i] - mu);                                                            \
        }                                                                                         \
      }                                                                                           \
      sgx *= is;                                                                                  \
      ob[c] = sg, ow[c] = sgx;                                                                    \
      if (!ox) continue;                                                                          \
      /* training: gx = w*is*(g - sg/M - xhat*sgx/M); eval: g*w*is */                             \
      double k1 = wc * is, k2 = g->training ? sg / M : 0, k3 = g->training ? sgx / M * is : 0;    \
      for (int64_t n = 0; n < N; n++) {                                                           \
        const T *xr = xs + (n * C + c) * S, *gr = gy + (n * C + c) * S;                           \
        T *orow = ox + (n * C + c) * S;                                                           \
        for (int64_t i = 0; i < S; i++) orow[i] = (T)(k1 * (gr[i] - k2 - (xr[i] - mu) * k3));     \
      }                                                                                           \
    });                                                                                             \
  }
NN_BN(float, _f32)
NN_BN(double, _f64)
#undef NN_BN

/* 0 when the running statistic t (may be NULL) is a float tensor on x's device */
static int nn_check_running(const char *op, const char *what, const nl_tensor *t, const nl_tensor *x) {
  if (!t) return 0;
  if (nn_check_float(op, what, t)) return -1;
  if (!nl_device_eq(nl_device_of(t), nl_device_of(x))) {
    char d1[32], d2[32];
    nl_device_name(nl_device_of(x), d1, sizeof d1);
    nl_device_name(nl_device_of(t), d2, sizeof d2);
    return nl_failc("%s: expected %s on %s (as input), got %s", op, what, d1, d2);
  }
  return 0;
}

static int nn_batch_norm(const nl_tensor *x, nl_tensor *running_mean, nl_tensor *running_var,
                         const nl_tensor *weight, const nl_tensor *bias, bool training, double momentum,
                         double eps, nl_tensor **y, nl_tensor **save_mean, nl_tensor **save_invstd) {
  const char *op = "batch_norm";
  if (nn_check_float(op, "input", x)) return -1;
  if (x->ndim < 2) return nl_failc("%s: expected input with at least 2 dims (N, C, *), got %s", op, SHP(x));
  int64_t N = x->shape[0], C = x->shape[1], S = 1;
  for (int i = 2; i < x->ndim; i++) S *= x->shape[i];
  if (nn_check_vec(op, "weight", weight, x, C) || nn_check_vec(op, "bias", bias, x, C)) return -1;
  if (nn_check_running(op, "running_mean", running_mean, x) || nn_check_running(op, "running_var", running_var, x))
    return -1;
  if (running_mean && (running_mean->ndim != 1 || running_mean->shape[0] != C))
    return nl_failc("%s: expected running_mean of shape [%lld], got %s", op, (long long)C, SHP(running_mean));
  if (running_var && (running_var->ndim != 1 || running_var->shape[0] != C))
    return nl_failc("%s: expected running_var of shape [%lld], got %s", op, (long long)C, SHP(running_var));
  if (!training && (!running_mean || !running_var))
    return nl_failc("%s: running_mean and running_var are required in evaluation mode", op);
  int64_t M = N * S;
  if (training && M <= 1)
    return nl_failc("%s: expected more than 1 value per channel when training, got input size %s", op, SHP(x));
  /* x and y stay in x's dtype (no float64 round trip of the big tensors); the statistics and
   * the per-channel vectors are float64 */
  nl_device dev = nl_device_of(x);
  nl_tensor *xd = nn_contig(x), *yd = nl_empty(x->ndim, x->shape, x->dtype, dev);
  nl_tensor *md = nl_empty(1, &C, NL_FLOAT64, dev), *id = nl_empty(1, &C, NL_FLOAT64, dev);
  nl_tensor *wd = nn_f64(weight), *bd = nn_f64(bias);
  nl_tensor *rmd = nn_f64(running_mean), *rvd = nn_f64(running_var);
  if (!xd || !yd || !md || !id || (weight && !wd) || (bias && !bd) || (running_mean && !rmd) || (running_var && !rvd)) {
    nn_free4(xd, yd, md, id), nn_free4(wd, bd, rmd, rvd);
    return -1;
  }
  nn_bn_geo bg = {N, C, S, training, momentum, eps};
  /* rmd/rvd may share memory with the caller's running stats (already float64 and
   * contiguous): new values are computed into locals first, then written. */
  int st = 0;
  if (nn_dev(x)) { /* cuda/nn_norm.cu: one block per channel */
    nl_nn_kargs k = {0};
    k.out = yd, k.in[0] = xd, k.in[1] = wd, k.in[2] = bd;
    k.io[0] = md, k.io[1] = id, k.io[2] = rmd, k.io[3] = rvd;
    k.nrm.N = N, k.nrm.C = C, k.nrm.S = S;
    k.flags = training ? NL_NN_F_TRAIN : 0, k.sc[0] = momentum, k.sc[1] = eps;
    st = nl_nn_run(NL_NN_BN_FWD, &k, op);
  } else if (x->dtype == NL_FLOAT32) {
    nn_bn_fwd_f32(nl_data(xd), nl_data(yd), D(md), D(id), D(rmd), D(rvd), D(wd), D(bd), &bg);
  } else {
    nn_bn_fwd_f64(nl_data(xd), nl_data(yd), D(md), D(id), D(rmd), D(rvd), D(wd), D(bd), &bg);
  }
  if (!st && training && running_mean && rmd != running_mean) st |= nl_copy_(running_mean, rmd);
  if (!st && training && running_var && rvd != running_var) st |= nl_copy_(running_var, rvd);
  if (training && running_mean) nl_bump_version(running_mean);
  if (training && running_var) nl_bump_version(running_var);
  nn_free4(xd, wd, bd, rmd), nl_tensor_free(rvd);
  if (st) {
    nn_free4(yd, md, id, NULL);
    return -1;
  }
  nn_out(y, yd);
  nn_out(save_mean, nn_to(md, x->dtype));
  nn_out(save_invstd, nn_to(id, x->dtype));
  return 0;
}

int nl_batch_norm(const nl_tensor *x, nl_tensor *running_mean, nl_tensor *running_var,
                  const nl_tensor *weight, const nl_tensor *bias, bool training, double momentum,
                  double eps, nl_tensor **y, nl_tensor **save_mean, nl_tensor **save_invstd) {
  NN_DEVICE_SCOPE(int, nn_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, y,
                                     save_mean, save_invstd));
}

static int nn_batch_norm_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *weight,
                                  const nl_tensor *save_mean, const nl_tensor *save_invstd,
                                  bool training, nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  const char *op = "batch_norm_backward";
  if (nn_check_float(op, "input", x) || nn_check_same(op, "grad_output", gy, x)) return -1;
  if (x->ndim < 2) return nl_failc("%s: expected input with at least 2 dims (N, C, *), got %s", op, SHP(x));
  int same = gy->ndim == x->ndim;
  for (int i = 0; same && i < x->ndim; i++) same = gy->shape[i] == x->shape[i];
  if (!same) return nl_failc("%s: grad_output %s does not match input %s", op, SHP(gy), SHP(x));
  int64_t N = x->shape[0], C = x->shape[1], S = 1;
  for (int i = 2; i < x->ndim; i++) S *= x->shape[i];
  if (nn_check_vec(op, "weight", weight, x, C) || nn_check_vec(op, "save_mean", save_mean, x, C) ||
      nn_check_vec(op, "save_invstd", save_invstd, x, C))
    return -1;
  nl_tensor *xd = nn_contig(x), *gd = nn_contig(gy), *wd = nn_f64(weight), *md = nn_f64(save_mean), *id = nn_f64(save_invstd);
  nl_device dev = nl_device_of(x);
  nl_tensor *rx = gx ? nl_empty(x->ndim, x->shape, x->dtype, dev) : NULL;
  nl_tensor *rw = nl_empty(1, &C, NL_FLOAT64, dev), *rb = nl_empty(1, &C, NL_FLOAT64, dev);
  if (!xd || !gd || (weight && !wd) || !md || !id || (gx && !rx) || !rw || !rb) {
    nn_free4(xd, gd, wd, md), nn_free4(id, rx, rw, rb);
    return -1;
  }
  nn_bn_geo bg = {N, C, S, training, 0, 0};
  int st = 0;
  if (nn_dev(x)) { /* cuda/nn_norm.cu: one block per channel */
    nl_nn_kargs k = {0};
    k.out = rx, k.io[0] = rw, k.io[1] = rb;
    k.in[0] = xd, k.in[1] = gd, k.in[2] = wd, k.in[3] = md, k.in[4] = id;
    k.nrm.N = N, k.nrm.C = C, k.nrm.S = S, k.flags = training ? NL_NN_F_TRAIN : 0;
    st = nl_nn_run(NL_NN_BN_BWD, &k, op);
  } else if (x->dtype == NL_FLOAT32) {
    nn_bn_bwd_f32(nl_data(xd), nl_data(gd), rx ? nl_data(rx) : NULL, D(rw), D(rb), D(wd), D(md), D(id), &bg);
  } else {
    nn_bn_bwd_f64(nl_data(xd), nl_data(gd), rx ? nl_data(rx) : NULL, D(rw), D(rb), D(wd), D(md), D(id), &bg);
  }
  nn_free4(xd, gd, wd, md), nl_tensor_free(id);
  if (st) {
    nn_free4(rx, rw, rb, NULL);
    return -1;
  }
  nn_out(gx, rx);
  nn_out(gw, nn_to(rw, x->dtype));
  nn_out(gb, nn_to(rb, x->dtype));
  return 0;
}

int nl_batch_norm_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *weight,
                           const nl_tensor *save_mean, const nl_tensor *save_invstd,
                           bool training, nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  NN_DEVICE_SCOPE(int, nn_batch_norm_backward(gy, x, weight, save_mean, save_invstd, training, gx, gw, gb));
}

/* ---- rows: shared by layer_norm (R rows of K) and group_norm (N*G rows of Cg*S) ---------- *
 * Channel of element j of row r: ch(r, j) for the affine parameters (layer_norm: j itself;
 * group_norm: (r % G) * Cg + j / S). */
typedef struct nn_rows {
  int64_t R, K;
  int64_t G, Cg, S; /* group_norm: G > 0 */
} nn_rows;
static inline int64_t nn_ch(const nn_rows *r, int64_t row, int64_t j) {
  return r->G ? (row % r->G) * r->Cg + j / r->S : j;
}

static void nn_rows_fwd(const nn_rows *rw, const double *x, const double *w, const double *b,
                        double eps, double *y, double *mean, double *rstd) {
  NL_OMP_FOR_IF(rw->R * rw->K > 32768,
  for (int64_t r = 0; r < rw->R; r++) {
    const double *xr = x + r * rw->K;
    double s = 0, q = 0;
    for (int64_t j = 0; j < rw->K; j++) s += xr[j];
    double mu = rw->K ? s / (double)rw->K : NAN;
    for (int64_t j = 0; j < rw->K; j++) q += (xr[j] - mu) * (xr[j] - mu);
    double is = 1.0 / sqrt(q / (double)rw->K + eps);
    mean[r] = mu, rstd[r] = is;
    for (int64_t j = 0; j < rw->K; j++) {
      int64_t c = nn_ch(rw, r, j);
      y[r * rw->K + j] = (xr[j] - mu) * is * (w ? w[c] : 1.0) + (b ? b[c] : 0.0);
    }
  });
}

/* gx rows; gw/gb (per channel, nch of them) accumulated serially after. */
static void nn_rows_bwd(const nn_rows *rw, const double *g, const double *x, const double *w,
                        const double *mean, const double *rstd, double *gx, double *gw,
                        double *gb, int64_t nch) {
  if (gx) {
    NL_OMP_FOR_IF(rw->R * rw->K > 32768,
    for (int64_t r = 0; r < rw->R; r++) {
      const double *xr = x + r * rw->K, *gr = g + r * rw->K;
      double mu = mean[r], is = rstd[r], s1 = 0, s2 = 0;
      for (int64_t j = 0; j < rw->K; j++) {
        double gw_ = gr[j] * (w ? w[nn_ch(rw, r, j)] : 1.0);
        s1 += gw_;
        s2 += gw_ * (xr[j] - mu) * is;
      }
      double K = (double)rw->K;
      for (int64_t j = 0; j < rw->K; j++) {
        double gw_ = gr[j] * (w ? w[nn_ch(rw, r, j)] : 1.0), xh = (xr[j] - mu) * is;
        gx[r * rw->K + j] = is * (gw_ - s1 / K - xh * s2 / K);
      }
    });
  }
  for (int64_t c = 0; c < nch; c++) gw[c] = gb[c] = 0;
  for (int64_t r = 0; r < rw->R; r++)
    for (int64_t j = 0; j < rw->K; j++) {
      int64_t c = nn_ch(rw, r, j), k = r * rw->K + j;
      gw[c] += g[k] * (x[k] - mean[r]) * rstd[r];
      gb[c] += g[k];
    }
}

/* The common forward of layer_norm and group_norm (validated): y in x's dtype, mean and rstd
 * of shape mshape (mnd dims, R elements). CPU: float64 copies and nn_rows_fwd; device: x in
 * its dtype, float64 statistics, cuda/nn_norm.cu's rows kernel (one block per row). */
static int nn_rows_forward(const char *op, const nn_rows *rw, const nl_tensor *x, const nl_tensor *weight,
                           const nl_tensor *bias, double eps, int mnd, const int64_t *mshape, nl_tensor **y,
                           nl_tensor **mean, nl_tensor **rstd) {
  bool dv = nn_dev(x);
  nl_device dev = nl_device_of(x);
  nl_tensor *xd = dv ? nn_contig(x) : nn_f64(x), *wd = nn_f64(weight), *bd = nn_f64(bias);
  nl_tensor *yd = nl_empty(x->ndim, x->shape, dv ? x->dtype : NL_FLOAT64, dev);
  nl_tensor *md = nl_empty(mnd, mshape, NL_FLOAT64, dev), *rd = nl_empty(mnd, mshape, NL_FLOAT64, dev);
  if (!xd || (weight && !wd) || (bias && !bd) || !yd || !md || !rd) {
    nn_free4(xd, wd, bd, yd), nn_free4(md, rd, NULL, NULL);
    return -1;
  }
  if (dv) {
    nl_nn_kargs k = {0};
    k.out = yd, k.io[0] = md, k.io[1] = rd, k.in[0] = xd, k.in[1] = wd, k.in[2] = bd, k.sc[0] = eps;
    k.nrm.R = rw->R, k.nrm.K = rw->K, k.nrm.G = rw->G, k.nrm.Cg = rw->Cg, k.nrm.S = rw->S;
    if (nl_nn_run(NL_NN_ROWS_FWD, &k, op)) {
      nn_free4(xd, wd, bd, yd), nn_free4(md, rd, NULL, NULL);
      return -1;
    }
  } else {
    nn_rows_fwd(rw, D(xd), D(wd), D(bd), eps, D(yd), D(md), D(rd));
  }
  nn_free4(xd, wd, bd, NULL);
  nn_out(y, dv ? yd : nn_to(yd, x->dtype));
  nn_out(mean, nn_to(md, x->dtype));
  nn_out(rstd, nn_to(rd, x->dtype));
  return 0;
}

static int nn_layer_norm(const nl_tensor *x, int nnorm, const int64_t *ns, const nl_tensor *weight,
                         const nl_tensor *bias, double eps, nl_tensor **y, nl_tensor **mean,
                         nl_tensor **rstd) {
  const char *op = "layer_norm";
  if (nn_check_float(op, "input", x)) return -1;
  char b1[160];
  if (nnorm < 1 || nnorm > x->ndim)
    return nl_failc("%s: normalized_shape %s does not match the last dims of input %s", op,
                    nl_shape_str(nnorm > 0 ? nnorm : 0, ns, b1, sizeof b1), SHP(x));
  for (int i = 0; i < nnorm; i++)
    if (x->shape[x->ndim - nnorm + i] != ns[i])
      return nl_failc("%s: normalized_shape %s does not match the last dims of input %s", op,
                      nl_shape_str(nnorm, ns, b1, sizeof b1), SHP(x));
  const nl_tensor *ps[2] = {weight, bias};
  for (int k = 0; k < 2; k++) {
    if (!ps[k]) continue;
    if (nn_check_same(op, k ? "bias" : "weight", ps[k], x)) return -1;
    int ok = ps[k]->ndim == nnorm;
    for (int i = 0; ok && i < nnorm; i++) ok = ps[k]->shape[i] == ns[i];
    if (!ok) return nl_failc("%s: expected %s of shape %s, got %s", op, k ? "bias" : "weight", nl_shape_str(nnorm, ns, b1, sizeof b1), SHP(ps[k]));
  }
  nn_rows rw = {1, 1, 0, 0, 0};
  int64_t sshape[NL_MAXDIM];
  for (int i = 0; i < x->ndim; i++) {
    if (i < x->ndim - nnorm) rw.R *= x->shape[i], sshape[i] = x->shape[i];
    else rw.K *= x->shape[i], sshape[i] = 1;
  }
  return nn_rows_forward(op, &rw, x, weight, bias, eps, x->ndim, sshape, y, mean, rstd);
}

int nl_layer_norm(const nl_tensor *x, int nnorm, const int64_t *ns, const nl_tensor *weight,
                  const nl_tensor *bias, double eps, nl_tensor **y, nl_tensor **mean,
                  nl_tensor **rstd) {
  NN_DEVICE_SCOPE(int, nn_layer_norm(x, nnorm, ns, weight, bias, eps, y, mean, rstd));
}

/* The common backward of layer_norm and group_norm; param shape pshape (weight's). */
static int nn_rows_backward(const char *op, const nn_rows *rw, const nl_tensor *gy, const nl_tensor *x,
                            const nl_tensor *weight, const nl_tensor *mean, const nl_tensor *rstd,
                            int pnd, const int64_t *pshape, nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  if (nn_check_same(op, "grad_output", gy, x) || nn_check_same(op, "mean", mean, x) || nn_check_same(op, "rstd", rstd, x))
    return -1;
  int same = gy->ndim == x->ndim;
  for (int i = 0; same && i < x->ndim; i++) same = gy->shape[i] == x->shape[i];
  if (!same) return nl_failc("%s: grad_output %s does not match input %s", op, SHP(gy), SHP(x));
  if (nl_numel(mean) != rw->R || nl_numel(rstd) != rw->R)
    return nl_failc("%s: expected mean and rstd with %lld elements, got %s and %s", op, (long long)rw->R, SHP(mean), SHP(rstd));
  if (weight && (nn_check_same(op, "weight", weight, x) || nl_numel(weight) != (rw->G ? rw->G * rw->Cg : rw->K)))
    return nl_failc("%s: weight %s does not match input %s", op, SHP(weight), SHP(x));
  int64_t nch = rw->G ? rw->G * rw->Cg : rw->K;
  /* device: x, gy and gx stay in x's dtype (the kernels accumulate in double) */
  bool dv = nn_dev(x);
  nl_device dev = nl_device_of(x);
  nl_tensor *xd = dv ? nn_contig(x) : nn_f64(x), *gd = dv ? nn_contig(gy) : nn_f64(gy);
  nl_tensor *wd = nn_f64(weight), *md = nn_f64(mean), *id = nn_f64(rstd);
  nl_tensor *rx = gx ? nl_empty(x->ndim, x->shape, dv ? x->dtype : NL_FLOAT64, dev) : NULL;
  nl_tensor *rwt = nl_empty(pnd, pshape, NL_FLOAT64, dev), *rb = nl_empty(pnd, pshape, NL_FLOAT64, dev);
  if (!xd || !gd || (weight && !wd) || !md || !id || (gx && !rx) || !rwt || !rb) {
    nn_free4(xd, gd, wd, md), nn_free4(id, rx, rwt, rb);
    return -1;
  }
  if (dv) {
    nl_nn_kargs k = {0};
    k.nrm.R = rw->R, k.nrm.K = rw->K, k.nrm.G = rw->G, k.nrm.Cg = rw->Cg, k.nrm.S = rw->S;
    k.out = rx, k.in[0] = gd, k.in[1] = xd, k.in[2] = wd, k.in[3] = md, k.in[4] = id;
    int st = rx ? nl_nn_run(NL_NN_ROWS_BWD, &k, op) : 0;
    /* the affine sums per channel: (N, C, S) view with statistics rows n*G + c/Cg */
    nl_nn_kargs q = {0};
    if (rw->G) q.nrm.N = rw->R / rw->G, q.nrm.C = nch, q.nrm.S = rw->S, q.nrm.G = rw->G, q.nrm.Cg = rw->Cg;
    else q.nrm.N = rw->R, q.nrm.C = rw->K, q.nrm.S = 1, q.nrm.G = 1, q.nrm.Cg = rw->K;
    q.io[0] = rwt, q.io[1] = rb, q.in[0] = gd, q.in[1] = xd, q.in[2] = md, q.in[3] = id;
    if (!st) st = nl_nn_run(NL_NN_ROWS_PARAM, &q, op);
    if (st) {
      nn_free4(xd, gd, wd, md), nn_free4(id, rx, rwt, rb);
      return -1;
    }
  } else {
    nn_rows_bwd(rw, D(gd), D(xd), D(wd), D(md), D(id), D(rx), D(rwt), D(rb), nch);
  }
  nn_free4(xd, gd, wd, md), nl_tensor_free(id);
  nn_out(gx, rx); /* CPU: float64 (autograd casts it to the input's dtype); device: x's dtype */
  nn_out(gw, nn_to(rwt, x->dtype));
  nn_out(gb, nn_to(rb, x->dtype));
  return 0;
}

static int nn_layer_norm_backward(const nl_tensor *gy, const nl_tensor *x, int nnorm,
                                  const nl_tensor *weight, const nl_tensor *mean, const nl_tensor *rstd,
                                  nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  const char *op = "layer_norm_backward";
  if (nn_check_float(op, "input", x)) return -1;
  if (nnorm < 1 || nnorm > x->ndim) return nl_failc("%s: normalized dims %d out of range for input %s", op, nnorm, SHP(x));
  nn_rows rw = {1, 1, 0, 0, 0};
  for (int i = 0; i < x->ndim; i++) {
    if (i < x->ndim - nnorm) rw.R *= x->shape[i];
    else rw.K *= x->shape[i];
  }
  return nn_rows_backward(op, &rw, gy, x, weight, mean, rstd, nnorm, x->shape + x->ndim - nnorm, gx, gw, gb);
}

int nl_layer_norm_backward(const nl_tensor *gy, const nl_tensor *x, int nnorm,
                           const nl_tensor *weight, const nl_tensor *mean, const nl_tensor *rstd,
                           nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  NN_DEVICE_SCOPE(int, nn_layer_norm_backward(gy, x, nnorm, weight, mean, rstd, gx, gw, gb));
}

static int nn_group_check(const char *op, const nl_tensor *x, int64_t G, nn_rows *rw) {
  if (nn_check_float(op, "input", x)) return -1;
  if (x->ndim < 2) return nl_failc("%s: expected input with at least 2 dims (N, C, *), got %s", op, SHP(x));
  int64_t C = x->shape[1];
  if (G <= 0 || C % G)
    return nl_failc("%s: expected the number of channels %lld to be divisible by num_groups %lld (input %s)", op,
                    (long long)C, (long long)G, SHP(x));
  int64_t S = 1;
  for (int i = 2; i < x->ndim; i++) S *= x->shape[i];
  rw->R = x->shape[0] * G, rw->G = G, rw->Cg = C / G, rw->S = S, rw->K = (C / G) * S;
  return 0;
}

static int nn_group_norm(const nl_tensor *x, int64_t G, const nl_tensor *weight, const nl_tensor *bias,
                         double eps, nl_tensor **y, nl_tensor **mean, nl_tensor **rstd) {
  const char *op = "group_norm";
  nn_rows rw;
  if (nn_group_check(op, x, G, &rw)) return -1;
  int64_t C = x->shape[1];
  if (nn_check_vec(op, "weight", weight, x, C) || nn_check_vec(op, "bias", bias, x, C)) return -1;
  int64_t ms[2] = {x->shape[0], G};
  return nn_rows_forward(op, &rw, x, weight, bias, eps, 2, ms, y, mean, rstd);
}

int nl_group_norm(const nl_tensor *x, int64_t G, const nl_tensor *weight, const nl_tensor *bias,
                  double eps, nl_tensor **y, nl_tensor **mean, nl_tensor **rstd) {
  NN_DEVICE_SCOPE(int, nn_group_norm(x, G, weight, bias, eps, y, mean, rstd));
}

static int nn_group_norm_backward(const nl_tensor *gy, const nl_tensor *x, int64_t G,
                                  const nl_tensor *weight, const nl_tensor *mean, const nl_tensor *rstd,
                                  nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  const char *op = "group_norm_backward";
  nn_rows rw;
  if (nn_group_check(op, x, G, &rw)) return -1;
  return nn_rows_backward(op, &rw, gy, x, weight, mean, rstd, 1, &x->shape[1], gx, gw, gb);
}

int nl_group_norm_backward(const nl_tensor *gy, const nl_tensor *x, int64_t G,
                           const nl_tensor *weight, const nl_tensor *mean, const nl_tensor *rstd,
                           nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  NN_DEVICE_SCOPE(int, nn_group_norm_backward(gy, x, G, weight, mean, rstd, gx, gw, gb));
}
