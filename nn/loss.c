/* loss.c: losses, forward and backward with respect to the input (CPU, float64 arithmetic,
 * results in the input's dtype).
 * - cross_entropy: fused log_softmax + nll over the class dim (dim 1 of (N, C, d...), or the
 *   only dim of (C)); class-index targets (int64, 0-based here) with weight, ignore_index,
 *   label_smoothing (PyTorch 1.13's formula: (1-ls)*nll + ls/C * smooth, both normalised by
 *   the summed target weights for "mean"), or class-probability targets ("mean" divides by
 *   the number of samples N*d...).
 * - nll_loss on log-probabilities.
 * - pointwise losses: mse, l1, smooth_l1(beta), huber(delta), kl_div(log_target), bce
 *   (log clamped at -100), bce_with_logits (stable form, pos_weight); "mean" divides by numel.
 * CUDA tensors take the same front ends (NN_DEVICE_SCOPE: same checks, float64 staging on the
 * device) with cuda/nn_loss.cu's kernels in place of the loops; the validation of class
 * indices and of bce's input range runs on the device and reads back one flag. */
#include <math.h>
#include <string.h>

#include "nl_nn_kernel.h"
#include "nl_nn_math.h"
#include "nn_util.h"
#include "../tensor/nl_iter.h" /* NL_OMP_FOR_IF */

static const char *nn_red_name(int r) { return r == NL_RED_NONE ? "none" : r == NL_RED_MEAN ? "mean" : "sum"; }

static int nn_check_red(const char *op, int red) {
  if (red < NL_RED_NONE || red > NL_RED_SUM) return nl_failc("%s: invalid reduction %d", op, red);
  return 0;
}

/* gout: the loss's shape for "none" (n elements), one element otherwise. */
static int nn_check_gout(const char *op, const nl_tensor *gout, const nl_tensor *x, int red, int64_t n) {
  if (nn_check_same(op, "grad_output", gout, x)) return -1;
  if (red == NL_RED_NONE ? nl_numel(gout) != n : nl_numel(gout) != 1)
    return nl_failc("%s: grad_output %s does not match the loss (reduction '%s')", op, SHP(gout), nn_red_name(red));
  return 0;
}

/* ---- class losses ------------------------------------------------------------------------- */
typedef struct nn_cls {
  int64_t N, C, S;
  bool probs; /* class-probability target */
} nn_cls;

static int nn_cls_check(const char *op, const nl_tensor *x, const nl_tensor *t, const nl_tensor *w,
                        int red, double ls, bool allow_probs, nn_cls *c) {
  if (nn_check_float(op, "input", x) || nn_check_red(op, red)) return -1;
  if (w && nn_check_same(op, "weight", w, x)) return -1;
  if (x->ndim < 1) return nl_failc("%s: expected input with 1 or more dims ((N,) C, d...), got %s", op, SHP(x));
  if (!(ls >= 0 && ls <= 1)) return nl_failc("%s: label_smoothing must be between 0.0 and 1.0, got %g", op, ls);
  c->C = x->ndim == 1 ? x->shape[0] : x->shape[1];
  c->N = x->ndim == 1 ? 1 : x->shape[0];
  c->S = 1;
  for (int i = 2; i < x->ndim; i++) c->S *= x->shape[i];
  if (w && (w->ndim != 1 || w->shape[0] != c->C))
    return nl_failc("%s: expected weight of shape [%lld] (one per class), got %s", op, (long long)c->C, SHP(w));
  c->probs = nl_dtype_is_float(t->dtype);
  if (c->probs) {
    if (!allow_probs) return nl_failc("%s: expected target of dtype int64 (class indices), got %s", op, nl_dtype_name(t->dtype));
    if (nn_check_same(op, "target", t, x)) return -1;
    int ok = t->ndim == x->ndim;
    for (int i = 0; ok && i < x->ndim; i++) ok = t->shape[i] == x->shape[i];
    if (!ok) return nl_failc("%s: expected target probabilities of the input's shape %s, got %s", op, SHP(x), SHP(t));
    return 0;
  }
  if (nn_check_long(op, "target", t)) return -1;
  if (!nl_device_eq(nl_device_of(t), nl_device_of(x)))
    return nl_failc("%s: expected target on the same device as input", op);
  /* class-index target: x's shape without the class dim */
  int ok = t->ndim == x->ndim - 1;
  for (int i = 0, j = 0; ok && i < x->ndim; i++) {
    if (i == (x->ndim == 1 ? 0 : 1)) continue;
    ok = t->shape[j++] == x->shape[i];
  }
  if (!ok) return nl_failc("%s: expected target of shape %s for input %s (class dim %d removed), got %s", op,
                           x->ndim == 1 ? "[]" : "(N, d...)", SHP(x), x->ndim == 1 ? 1 : 2, SHP(t));
  return 0;
}

static int nn_target_error(const char *op, int64_t v, int64_t C) {
  return nl_failc("%s: target %lld is out of range for %lld classes (expected 1..%lld)", op, nl_one_based(v),
                  (long long)C, (long long)C);
}

/* Checks every class index (0-based) against [0, C) unless it equals ignore. */
static int nn_check_targets(const char *op, const int64_t *t, int64_t n, int64_t C, int64_t ignore) {
  for (int64_t i = 0; i < n; i++)
    if (t[i] != ignore && (t[i] < 0 || t[i] >= C)) return nn_target_error(op, t[i], C);
  return 0;
}

/* Device-side validation: kernel op (NL_NN_CLS_CHECK, NL_NN_BCE_CHECK) leaves the first bad
 * element index of t (M elements, contiguous) in a one-element int64 flag (M when none),
 * read back with one tiny copy. Returns that index, or -1 with nl_error() set. */
static int64_t nn_first_bad_dev(const char *op, nl_nn_op kop, const nl_tensor *t, int64_t M, int64_t C,
                                int64_t ignore) {
  if (M == 0) return 0;
  int64_t one = 1;
  nl_tensor *flag = nl_full(1, &one, (double)M, NL_INT64, nl_device_of(t));
  if (!flag) return -1;
  nl_nn_kargs k = {0};
  k.out = flag, k.in[0] = t, k.nrm.R = M, k.nrm.C = C, k.i64 = ignore;
  nl_tensor *hf = nl_nn_run(kop, &k, op) ? NULL : nl_to_device(flag, nl_cpu());
  nl_tensor_free(flag);
  if (!hf) return -1;
  int64_t bad = L64(hf)[0];
  nl_tensor_free(hf);
  return bad;
}
/* The class-index check of nn_check_targets for targets td on a device. */
static int nn_check_targets_dev(const char *op, const nl_tensor *td, int64_t M, int64_t C, int64_t ignore) {
  int64_t bad = nn_first_bad_dev(op, NL_NN_CLS_CHECK, td, M, C, ignore);
  if (bad < 0) return -1;
  if (bad >= M) return 0;
  return nn_target_error(op, (int64_t)nn_elem_dev(td, M, bad), C);
}

/* The device path of nn_class_loss (validated; td: t contiguous, float64 for probabilities):
 * cuda/nn_loss.cu's per-sample kernel, a one-block reduction for the loss and the "mean"
 * denominator, and the per-sample gradient kernel; float64 as on the CPU. */
static nl_tensor *nn_class_loss_dev(const char *op, bool fused, const nl_tensor *gout, const nl_tensor *x,
                                    const nl_tensor *td, const nl_tensor *w, int64_t ignore, int red, double ls,
                                    const nn_cls *c) {
  int64_t M = c->N * c->S, C = c->C, xs[3] = {c->N, c->C, c->S};
  nl_device dev = nl_device_of(x);
  if (!c->probs && nn_check_targets_dev(op, td, M, C, ignore)) return NULL;
  nl_tensor *xd = nn_f64(x), *wd = nn_f64(w), *gd = nn_f64(gout);
  nl_tensor *lpd = fused ? nl_empty(3, xs, NL_FLOAT64, dev) : NULL;
  nl_tensor *li = nl_empty(1, &M, NL_FLOAT64, dev), *wi = nl_empty(1, &M, NL_FLOAT64, dev);
  nl_tensor *sc = nl_empty(0, NULL, NL_FLOAT64, dev); /* reduced loss, or the denominator */
  nl_tensor *gx = gout ? nl_empty(x->ndim, x->shape, NL_FLOAT64, dev) : NULL, *res = NULL;
  if (!xd || (w && !wd) || (gout && !gd) || (fused && !lpd) || !li || !wi || !sc || (gout && !gx)) goto done;
  nl_nn_kargs k = {0};
  k.out = li, k.out2 = wi, k.io[0] = lpd, k.in[0] = xd, k.in[1] = td, k.in[2] = wd;
  k.nrm.N = c->N, k.nrm.C = C, k.nrm.S = c->S, k.i64 = ignore, k.sc[0] = ls;
  k.flags = (fused ? NL_NN_F_FUSED : 0) | (c->probs ? NL_NN_F_PROBS : 0);
  if (nl_nn_run(NL_NN_CLS, &k, op)) goto done;
  nl_nn_kargs q = {0}; /* sum of li (forward) and of wi (the denominator; M for probabilities) */
  q.in[0] = gout ? NULL : li, q.in[1] = c->probs ? NULL : wi, q.sc[0] = (double)M, q.nrm.R = M, q.kind = red;
  if (gout) q.out2 = sc;
  else q.out = sc;
  if (!gout) {
    if (red == NL_RED_NONE) {
      int nd = 0;
      int64_t shape[NL_MAXDIM];
      for (int i = 0; i < x->ndim; i++)
        if (i != (x->ndim == 1 ? 0 : 1)) shape[nd++] = x->shape[i];
      nl_tensor *v = nl_reshape(li, nd, shape);
      res = nn_to(v, x->dtype);
    } else if (!nl_nn_run(NL_NN_LOSS_SUM, &q, op)) {
      res = nl_to_dtype(sc, x->dtype);
    }
    goto done;
  }
  if ((red != NL_RED_NONE || c->probs) && nl_nn_run(NL_NN_LOSS_SUM, &q, op)) goto done;
  nl_nn_kargs b = {0};
  b.out = gx, b.in[0] = fused ? lpd : xd, b.in[1] = td, b.in[2] = wd, b.in[3] = gd, b.in[4] = sc;
  b.nrm = k.nrm, b.i64 = ignore, b.sc[0] = ls, b.flags = k.flags, b.kind = red;
  if (!nl_nn_run(NL_NN_CLS_BWD, &b, op)) res = nn_to(gx, x->dtype), gx = NULL;
done:
  nl_tensor_free(xd), nl_tensor_free(wd), nl_tensor_free(gd), nl_tensor_free(lpd);
  nl_tensor_free(li), nl_tensor_free(wi), nl_tensor_free(sc), nl_tensor_free(gx);
  return res;
}

/* log_softmax of x (N, C, S) along C into lp (same layout). */
/* lse = log(sum over k < n of exp(xr[k * step])) in double, shifted by the row's maximum (0
 * when the maximum is -inf); xr may be float or double. */
#define NN_ROW_LSE(xr, n, step, lse)                                                             \
  do {                                                                                           \
    double m_ = -INFINITY, sum_ = 0;                                                             \
    for (int64_t k_ = 0; k_ < (n); k_++) m_ = (double)(xr)[k_ * (step)] > m_ ? (double)(xr)[k_ * (step)] : m_; \
    if (isinf(m_) && m_ < 0) m_ = 0;                                                             \
    for (int64_t k_ = 0; k_ < (n); k_++) sum_ += exp((double)(xr)[k_ * (step)] - m_);            \
    (lse) = m_ + log(sum_);                                                                      \
  } while (0)

static void nn_log_softmax(const double *x, double *lp, const nn_cls *c) {
  NL_OMP_FOR_IF(c->N * c->C * c->S > 32768,
  for (int64_t n = 0; n < c->N; n++)
    for (int64_t s = 0; s < c->S; s++) {
      const double *xr = x + n * c->C * c->S + s;
      double *lr = lp + n * c->C * c->S + s, lse;
      NN_ROW_LSE(xr, c->C, c->S, lse);
      for (int64_t k = 0; k < c->C; k++) lr[k * c->S] = xr[k * c->S] - lse;
    });
}

/* The common cross_entropy on the CPU: (N, C) logits in their own dtype, class indices, no
 * weight, no label smoothing, mean or sum. The general path below converts x, the gradient and
 * the results through float64 tensors (five allocations: most of a small model's loss); this
 * one reads x directly and does the same double arithmetic in the same order, so the results
 * are the same bits (its formulas with weight 1 and smoothing 0; the row's log-sum-exp is
 * NN_ROW_LSE, as nn_log_softmax's). Returns the loss (gout NULL) or the gradient. */
#define NN_CE_FAST(T, S)                                                                           \
  static void nn_ce_fast##S(const T *x, const int64_t *t, int64_t N, int64_t C, int64_t ignore,     \
                            int red, bool bwd, double g0, double *loss, T *gx) {                      \
    double total = 0, wsum = 0;                                                                    \
    for (int64_t n = 0; n < N; n++)                                                                \
      if (t[n] != ignore) wsum += 1.0;                                                             \
    double coef = red == NL_RED_SUM ? g0 : g0 / wsum;                                              \
    for (int64_t n = 0; n < N; n++) {                                                              \
      const T *xr = x + n * C;                                                                     \
      double lse;                                                                                  \
      NN_ROW_LSE(xr, C, 1, lse);                                                                   \
      bool on = t[n] != ignore;                                                                    \
      if (!bwd) {                                                                                  \
        if (on) total -= (double)xr[t[n]] - lse;                                                   \
        continue;                                                                                  \
      }                                                                                            \
      double sd = on ? 0.0 - coef : 0.0; /* the sum over k of d[k] */                              \
      T *orow = gx + n * C;                                                                        \
      for (int64_t k = 0; k < C; k++) {                                                            \
        double d = on && k == t[n] ? 0.0 - coef : 0.0;                                             \
        orow[k] = (T)(d - exp((double)xr[k] - lse) * sd);                                          \
      }                                                                                            \
    }                                                                                              \
    if (!bwd) *loss = red == NL_RED_SUM ? total : total / wsum;                                    \
  }
NN_CE_FAST(float, _f32)
NN_CE_FAST(double, _f64)
#undef NN_CE_FAST

/* 1 when the fast path ran (*res set, or NULL with the error), 0 when it does not apply. */
static int nn_ce_fast(const char *op, const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t,
                      const nl_tensor *w, int64_t ignore, int red, double ls, const nn_cls *c,
                      nl_tensor **res) {
  if (w || ls != 0 || c->probs || c->S != 1 || x->ndim != 2 || red == NL_RED_NONE || nn_dev(x) ||
      !nl_is_contiguous(x) || !nl_is_contiguous(t) || t->dtype != NL_INT64 || (gout && gout->ndim != 0))
    return 0;
  *res = NULL;
  if (nn_check_targets(op, L64(t), c->N, c->C, ignore)) return 1;
  double g0 = gout ? nl_get_flat(gout, 0) : 0, loss = 0;
  nl_tensor *gx = gout ? nl_empty(2, x->shape, x->dtype, nl_cpu()) : NULL;
  if (gout && !gx) return 1;
  if (x->dtype == NL_FLOAT32)
    nn_ce_fast_f32(nl_data(x), L64(t), c->N, c->C, ignore, red, gout != NULL, g0, &loss, gx ? nl_data(gx) : NULL);
  else
    nn_ce_fast_f64(nl_data(x), L64(t), c->N, c->C, ignore, red, gout != NULL, g0, &loss, gx ? nl_data(gx) : NULL);
  *res = gout ? gx : nl_scalar(loss, x->dtype, nl_cpu());
  return 1;
}

/* Forward (gout NULL: returns the loss) or backward (returns d loss / d x) of cross_entropy
 * (fused: x are logits) or nll_loss (x are log-probabilities). */
static nl_tensor *nn_class_loss(const char *op, bool fused, const nl_tensor *gout, const nl_tensor *x,
                                const nl_tensor *t, const nl_tensor *w, int64_t ignore, int red, double ls) {
  nn_cls c = {0};
  if (nn_cls_check(op, x, t, w, red, fused ? ls : 0, fused, &c)) return NULL;
  int64_t M = c.N * c.S, C = c.C, S = c.S;
  if (gout && nn_check_gout(op, gout, x, red, M)) return NULL;
  nl_tensor *fast;
  if (fused && nn_ce_fast(op, gout, x, t, w, ignore, red, ls, &c, &fast)) return fast;
  nl_tensor *td = c.probs ? nn_f64(t) : nn_contig(t);
  if (!td) return NULL;
  if (nn_dev(x)) {
    nl_tensor *r = nn_class_loss_dev(op, fused, gout, x, td, w, ignore, red, ls, &c);
    nl_tensor_free(td);
    return r;
  }
  if (!c.probs && nn_check_targets(op, L64(td), M, C, ignore)) {
    nl_tensor_free(td);
    return NULL;
  }
  nl_tensor *xd = nn_f64(x), *wd = nn_f64(w), *gd = nn_f64(gout);
  int64_t xs[3] = {c.N, C, S};
  nl_tensor *lpd = fused ? nl_empty(3, xs, NL_FLOAT64, nl_cpu()) : NULL;
  nl_tensor *li = nl_empty(1, &M, NL_FLOAT64, nl_cpu()); /* per-sample loss */
  nl_tensor *gx = gout ? nl_empty(x->ndim, x->shape, NL_FLOAT64, nl_cpu()) : NULL;
  if (!xd || (w && !wd) || (gout && !gd) || (fused && !lpd) || !li || (gout && !gx)) {
    nl_tensor_free(td), nl_tensor_free(xd), nl_tensor_free(wd), nl_tensor_free(gd);
    nl_tensor_free(lpd), nl_tensor_free(li), nl_tensor_free(gx);
    return NULL;
  }
  const double *lp = D(xd), *wt = D(wd);
  if (fused) {
    nn_log_softmax(D(xd), D(lpd), &c);
    lp = D(lpd);
  }
  const int64_t *ti = c.probs ? NULL : L64(td);
  const double *tp = c.probs ? D(td) : NULL;
  double *loss = D(li), wsum = 0, total = 0;
  for (int64_t n = 0; n < c.N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s;
      const double *lr = lp + n * C * S + s;
      double l = 0;
      if (c.probs) {
        for (int64_t k = 0; k < C; k++)
          l -= (wt ? wt[k] : 1.0) * ((1 - ls) * tp[n * C * S + k * S + s] + ls / (double)C) * lr[k * S];
      } else if (ti[i] != ignore) {
        double wk = wt ? wt[ti[i]] : 1.0, sm = 0;
        wsum += wk;
        if (ls > 0)
          for (int64_t k = 0; k < C; k++) sm -= (wt ? wt[k] : 1.0) * lr[k * S];
        l = -(1 - ls) * wk * lr[ti[i] * S] + ls / (double)C * sm;
      }
      loss[i] = l;
      total += l;
    }
  double denom = c.probs ? (double)M : wsum;
  nl_tensor *res;
  if (!gout) {
    nl_tensor_free(td), nl_tensor_free(xd), nl_tensor_free(wd), nl_tensor_free(lpd);
    if (red == NL_RED_NONE) {
      int nd = 0;
      int64_t shape[NL_MAXDIM];
      for (int k = 0; k < x->ndim; k++)
        if (k != (x->ndim == 1 ? 0 : 1)) shape[nd++] = x->shape[k];
      res = nl_reshape(li, nd, shape);
      nl_tensor_free(li);
      return nn_to(res, x->dtype);
    }
    nl_tensor_free(li);
    return nn_to(nl_scalar(red == NL_RED_SUM ? total : total / denom, NL_FLOAT64, nl_cpu()), x->dtype);
  }
  /* backward: dlp[k] per sample, then through log_softmax when fused */
  const double *g = D(gd);
  double *o = D(gx);
  for (int64_t n = 0; n < c.N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s;
      double coef = red == NL_RED_NONE ? g[i] : red == NL_RED_SUM ? g[0] : g[0] / denom;
      const double *lr = lp + n * C * S + s;
      double *orow = o + n * C * S + s, sd = 0;
      for (int64_t k = 0; k < C; k++) {
        double d = 0;
        if (c.probs) d = -coef * (wt ? wt[k] : 1.0) * ((1 - ls) * tp[n * C * S + k * S + s] + ls / (double)C);
        else if (ti[i] != ignore) {
          if (k == ti[i]) d -= coef * (1 - ls) * (wt ? wt[k] : 1.0);
          if (ls > 0) d -= coef * ls / (double)C * (wt ? wt[k] : 1.0);
        }
        orow[k * S] = d;
        sd += d;
      }
      if (fused)
        for (int64_t k = 0; k < C; k++) orow[k * S] -= exp(lr[k * S]) * sd;
    }
  nl_tensor_free(td), nl_tensor_free(xd), nl_tensor_free(wd), nl_tensor_free(gd);
  nl_tensor_free(lpd), nl_tensor_free(li);
  return nn_to(gx, x->dtype);
}

nl_tensor *nl_cross_entropy(const nl_tensor *x, const nl_tensor *t, const nl_tensor *w,
                            int64_t ignore_index, int reduction, double ls) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_class_loss("cross_entropy", true, NULL, x, t, w, ignore_index, reduction, ls));
}
nl_tensor *nl_cross_entropy_backward(const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t,
                                     const nl_tensor *w, int64_t ignore_index, int reduction, double ls) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_class_loss("cross_entropy_backward", true, gout, x, t, w, ignore_index, reduction, ls));
}
nl_tensor *nl_nll_loss(const nl_tensor *x, const nl_tensor *t, const nl_tensor *w, int64_t ignore_index,
                       int reduction) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_class_loss("nll_loss", false, NULL, x, t, w, ignore_index, reduction, 0));
}
nl_tensor *nl_nll_loss_backward(const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t,
                                const nl_tensor *w, int64_t ignore_index, int reduction) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_class_loss("nll_loss_backward", false, gout, x, t, w, ignore_index, reduction, 0));
}

/* ---- pointwise losses --------------------------------------------------------------------- */
enum { NN_BCE = 100, NN_BCE_LOGITS = 101 };

static const char *nn_loss_name(int k) {
  switch (k) {
  case NL_LOSS_MSE: return "mse_loss";
  case NL_LOSS_L1: return "l1_loss";
  case NL_LOSS_SMOOTH_L1: return "smooth_l1_loss";
  case NL_LOSS_HUBER: return "huber_loss";
  case NL_LOSS_KL_DIV: return "kl_div";
  case NN_BCE: return "binary_cross_entropy";
  default: return "binary_cross_entropy_with_logits";
  }
}

/* loss(x, t) of one element and its derivative: nl_nn_math.h (shared with cuda/nn_loss.cu) */
_Static_assert((int)NL_LOSS_MSE == NL_NN_LOSS_MSE && (int)NL_LOSS_L1 == NL_NN_LOSS_L1 &&
               (int)NL_LOSS_SMOOTH_L1 == NL_NN_LOSS_SMOOTH_L1 && (int)NL_LOSS_HUBER == NL_NN_LOSS_HUBER &&
               (int)NL_LOSS_KL_DIV == NL_NN_LOSS_KL_DIV && (int)NN_BCE == (int)NL_NN_LOSS_BCE &&
               (int)NN_BCE_LOGITS == (int)NL_NN_LOSS_BCE_LOGITS, "loss kinds agree");
#define nn_pw nl_nn_pw_loss

/* An f64 contiguous copy of p broadcast to x's shape (weight, pos_weight), or NULL. */
static nl_tensor *nn_bcast(const char *op, const char *what, const nl_tensor *p, const nl_tensor *x, int *err) {
  if (!p) return NULL;
  if (nn_check_same(op, what, p, x)) return *err = 1, NULL;
  nl_tensor *e = nl_expand((nl_tensor *)p, x->ndim, x->shape);
  if (!e) {
    *err = 1;
    return nl_fail("%s: %s of shape %s cannot be broadcast to the input's shape %s", op, what, SHP(p), SHP(x));
  }
  nl_tensor *r = nn_f64(e);
  nl_tensor_free(e);
  if (!r) *err = 1;
  return r;
}

static nl_tensor *nn_pointwise(int kind, const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t,
                               const nl_tensor *w, const nl_tensor *pw, int red, double prm) {
  char op[64];
  snprintf(op, sizeof op, "%s%s", nn_loss_name(kind), gout ? "_backward" : "");
  if (nn_check_float(op, "input", x) || nn_check_same(op, "target", t, x) || nn_check_red(op, red)) return NULL;
  int ok = t->ndim == x->ndim;
  for (int i = 0; ok && i < x->ndim; i++) ok = t->shape[i] == x->shape[i];
  if (!ok) return nl_fail("%s: target %s must have the same shape as input %s", op, SHP(t), SHP(x));
  if ((kind == NL_LOSS_SMOOTH_L1 || kind == NL_LOSS_HUBER) && !(prm >= 0))
    return nl_fail("%s: %s must be non-negative, got %g", op, kind == NL_LOSS_HUBER ? "delta" : "beta", prm);
  if (kind == NL_LOSS_HUBER && prm == 0) return nl_fail("%s: delta must be positive, got 0", op);
  int64_t n = nl_numel(x);
  if (gout && nn_check_gout(op, gout, x, red, n)) return NULL;
  int err = 0;
  nl_tensor *wd = nn_bcast(op, "weight", w, x, &err);
  nl_tensor *pd = err ? NULL : nn_bcast(op, "pos_weight", pw, x, &err);
  if (err) {
    nl_tensor_free(wd);
    return NULL;
  }
  nl_tensor *xd = nn_f64(x), *td = nn_f64(t), *gd = nn_f64(gout);
  nl_tensor *out = nl_empty(gout || red == NL_RED_NONE ? x->ndim : 0, x->shape, NL_FLOAT64, nl_device_of(x));
  if (!xd || !td || (gout && !gd) || !out) {
    nl_tensor_free(wd), nl_tensor_free(pd), nl_tensor_free(xd), nl_tensor_free(td), nl_tensor_free(gd), nl_tensor_free(out);
    return NULL;
  }
  if (nn_dev(x)) { /* cuda/nn_loss.cu: one thread per element, a one-block sum for the reductions */
    bool reduce = !gout && red != NL_RED_NONE;
    nl_tensor *buf = reduce ? nl_empty(1, &n, NL_FLOAT64, nl_device_of(x)) : NULL;
    int st = reduce && !buf ? -1 : 0;
    if (!st && kind == NN_BCE) {
      int64_t bad = nn_first_bad_dev(op, NL_NN_BCE_CHECK, xd, n, 0, 0);
      if (bad < 0) st = -1;
      else if (bad < n) {
        double v = nn_elem_dev(xd, n, bad);
        st = nl_failc("%s: all elements of input should be between 0 and 1, got %g", op, v);
      }
    }
    nl_nn_kargs k = {0};
    k.out = reduce ? buf : out, k.in[0] = xd, k.in[1] = td, k.in[2] = wd, k.in[3] = pd, k.in[4] = gd;
    k.kind = kind, k.i64 = red, k.sc[0] = prm, k.nrm.R = n;
    if (!st) st = nl_nn_run(NL_NN_PW, &k, op);
    if (!st && reduce) {
      nl_nn_kargs q = {0};
      q.out = out, q.in[0] = buf, q.sc[0] = (double)n, q.nrm.R = n, q.kind = red;
      st = nl_nn_run(NL_NN_LOSS_SUM, &q, op);
    }
    nl_tensor_free(wd), nl_tensor_free(pd), nl_tensor_free(xd), nl_tensor_free(td), nl_tensor_free(gd), nl_tensor_free(buf);
    if (st) {
      nl_tensor_free(out);
      return NULL;
    }
    return nn_to(out, x->dtype);
  }
  const double *xs = D(xd), *ts = D(td), *ws = D(wd), *ps = D(pd), *g = D(gd);
  double *o = D(out), total = 0;
  if (kind == NN_BCE)
    for (int64_t i = 0; i < n; i++)
      if (!(xs[i] >= 0 && xs[i] <= 1)) {
        double bad = xs[i];
        nl_tensor_free(wd), nl_tensor_free(pd), nl_tensor_free(xd), nl_tensor_free(td), nl_tensor_free(gd), nl_tensor_free(out);
        return nl_fail("%s: all elements of input should be between 0 and 1, got %g", op, bad);
      }
  for (int64_t i = 0; i < n; i++) {
    double dl, l = nn_pw(kind, xs[i], ts[i], ws ? ws[i] : 1.0, ps ? ps[i] : 1.0, prm, &dl);
    if (gout) {
      double coef = red == NL_RED_NONE ? g[i] : red == NL_RED_SUM ? g[0] : g[0] / (double)n;
      o[i] = coef * dl;
    } else if (red == NL_RED_NONE) {
      o[i] = l;
    } else {
      total += l;
    }
  }
  if (!gout && red != NL_RED_NONE) o[0] = red == NL_RED_SUM ? total : total / (double)n;
  nl_tensor_free(wd), nl_tensor_free(pd), nl_tensor_free(xd), nl_tensor_free(td), nl_tensor_free(gd);
  return nn_to(out, x->dtype);
}

nl_tensor *nl_pointwise_loss(nl_loss_kind kind, const nl_tensor *x, const nl_tensor *t, int red, double prm) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_pointwise(kind, NULL, x, t, NULL, NULL, red, prm));
}
nl_tensor *nl_pointwise_loss_backward(nl_loss_kind kind, const nl_tensor *gout, const nl_tensor *x,
                                      const nl_tensor *t, int red, double prm) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_pointwise(kind, gout, x, t, NULL, NULL, red, prm));
}
nl_tensor *nl_bce(const nl_tensor *x, const nl_tensor *t, const nl_tensor *w, int red) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_pointwise(NN_BCE, NULL, x, t, w, NULL, red, 0));
}
nl_tensor *nl_bce_backward(const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t, const nl_tensor *w, int red) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_pointwise(NN_BCE, gout, x, t, w, NULL, red, 0));
}
nl_tensor *nl_bce_with_logits(const nl_tensor *x, const nl_tensor *t, const nl_tensor *w, const nl_tensor *pw, int red) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_pointwise(NN_BCE_LOGITS, NULL, x, t, w, pw, red, 0));
}
nl_tensor *nl_bce_with_logits_backward(const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t,
                                       const nl_tensor *w, const nl_tensor *pw, int red) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_pointwise(NN_BCE_LOGITS, gout, x, t, w, pw, red, 0));
}
