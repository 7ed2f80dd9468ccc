/* conv.c: conv2d, conv1d and conv_transpose2d, forward and backward (CPU).
 *
 * Forward: per sample and group, im2col (K = Cg*kh*kw rows, Ho*Wo columns) then one GEMM
 * y[n, g] (Og, Ho*Wo) = w[g] (Og, K) @ col (float: nl_sgemm, double: cblas_dgemm). The batch
 * is split over OpenMP threads with the GEMM single-threaded inside (OpenBLAS set around the
 * call, restored after; nl_sgemm stays serial inside OpenMP regions by itself). Backward: input
 * gradient = w^T @ gy then col2im; weight gradient = gy @ col^T summed per thread.
 * conv_transpose2d is conv2d's input gradient (and its backward is conv2d's forward and
 * weight gradient with the roles of x and gy swapped). */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "conv_direct.h"
#include "nl_nn_kernel.h"
#include "nl_sgemm.h"
#include "nn_util.h"

typedef struct nn_conv_geo {
  int64_t N, C, H, W, O, kh, kw, Ho, Wo, G, Cg, Og;
  int64_t sh, sw, ph, pw, dh, dw;
  int par; /* split the batch over threads */
  int bat; /* batched GEMMs: several samples' columns side by side (conv_tmpl.h) */
} nn_conv_geo;

/* Samples per batched GEMM: the column buffer (K, nb*HW) stays under ~4 MB of floats. */
static int64_t nn_conv_chunk(const nn_conv_geo *g, int64_t K, int64_t HW) {
  int64_t per = K * HW > 0 ? K * HW : 1, nb = ((int64_t)1 << 20) / per;
  if (nb < 1) nb = 1;
  if (nb > g->N) nb = g->N > 0 ? g->N : 1;
  return nb;
}

/* float: nnlua's own GEMM (nl_sgemm.h: AVX-512 where the CPU has it, else OpenBLAS), behind
 * cblas_sgemm's signature (row-major only here). */
static inline void nn_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M,
                            int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                            float beta, float *C, int ldc) {
  (void)order;
  nl_sgemm(ta == CblasTrans, tb == CblasTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#define T float
#define S _f32
#define GEMM nn_sgemm
#include "conv_tmpl.h"
#undef T
#undef S
#undef GEMM
#define T double
#define S _f64
#define GEMM cblas_dgemm
#include "conv_tmpl.h"
#undef T
#undef S
#undef GEMM

void nl_conv_same_padding(int64_t k, int64_t dilation, int64_t *lo, int64_t *hi) {
  int64_t total = dilation * (k - 1);
  *lo = total / 2;
  *hi = total - *lo;
}

/* OpenBLAS runs single-threaded while the batch loop is parallel; returns the old count.
 * Small convolutions (under ~1 MFLOP) stay on one thread: waking a team costs more than the
 * work (and much more on a loaded machine). The batched path (one GEMM over several samples,
 * BLAS keeping its threads) serves small outputs (HW <= 64: per-sample GEMMs would have only a
 * few columns each and re-pack the weight per sample; ResNet-18's step 25% faster). */
static int nn_blas_serial(nn_conv_geo *g) {
  int nt = nl_get_num_threads();
  double flops = 2.0 * (double)g->N * (double)g->O * (double)(g->Ho * g->Wo) * (double)(g->Cg * g->kh * g->kw);
  g->bat = g->N > 1 && g->Ho * g->Wo <= 64; /* measured: LeNet (HW 100, 784) runs faster per sample */
  g->par = !g->bat && g->N > 1 && nt > 1 && flops >= 1e6;
  if (g->par) openblas_set_num_threads(1);
  return nt;
}
static void nn_blas_restore(const nn_conv_geo *g, int nt) {
  if (g->par) openblas_set_num_threads(nt);
}

/* The geometry in conv_direct.h's terms. */
static nl_conv_direct_geo nn_dgeo(const nn_conv_geo *g) {
  nl_conv_direct_geo d = {g->N, g->C, g->H, g->W, g->O, g->kh, g->kw, g->Ho, g->Wo, g->ph, g->pw};
  return d;
}
/* float32 layers with few channels, stride 1: the direct kernels of conv_direct.c (no im2col) */
static bool nn_direct(const nn_conv_geo *g, nl_dtype dt) {
  nl_conv_direct_geo d = nn_dgeo(g);
  return dt == NL_FLOAT32 && nl_conv_direct_ok(&d, g->sh, g->sw, g->dh, g->dw, g->G);
}

static int nn_check_params(const char *op, const nl_conv_params *p, bool transposed) {
  for (int i = 0; i < 2; i++) {
    if (p->stride[i] <= 0) return nl_failc("%s: stride must be positive, got %lld", op, (long long)p->stride[i]);
    if (p->dilation[i] <= 0) return nl_failc("%s: dilation must be positive, got %lld", op, (long long)p->dilation[i]);
    if (p->pad_lo[i] < 0 || p->pad_hi[i] < 0)
      return nl_failc("%s: padding must be non-negative, got %lld", op,
                      (long long)(p->pad_lo[i] < 0 ? p->pad_lo[i] : p->pad_hi[i]));
    if (transposed && (p->output_padding[i] < 0 ||
                       (p->output_padding[i] >= p->stride[i] && p->output_padding[i] >= p->dilation[i])))
      return nl_failc("%s: output_padding must be smaller than either stride or dilation, got "
                      "output_padding %lld, stride %lld, dilation %lld", op,
                      (long long)p->output_padding[i], (long long)p->stride[i], (long long)p->dilation[i]);
  }
  if (p->groups <= 0) return nl_failc("%s: groups must be positive, got %lld", op, (long long)p->groups);
  return 0;
}

/* Checks x (N, C, H, W), w, b of a conv2d (transposed: of a conv_transpose2d) and fills the
 * conv2d geometry (for transposed: the conv2d whose input gradient it is). */
static int nn_conv_geometry(const char *op, const nl_tensor *x, const nl_tensor *w,
                            const nl_tensor *b, const nl_conv_params *p, bool transposed,
                            bool one_d, nn_conv_geo *g) {
  if (nn_check_float(op, "input", x) || nn_check_same(op, "weight", w, x)) return -1;
  if (b && nn_check_same(op, "bias", b, x)) return -1;
  if (nn_check_params(op, p, transposed)) return -1;
  if (x->ndim != 4)
    return nl_failc("%s: expected input with %s, got %s", op, one_d ? "3 dims (N, C, L)" : "4 dims (N, C, H, W)", SHP(x));
  if (w->ndim != 4)
    return nl_failc("%s: expected weight with %s, got %s", op,
                    transposed ? (one_d ? "3 dims (C_in, C_out/groups, k)" : "4 dims (C_in, C_out/groups, kh, kw)")
                               : (one_d ? "3 dims (C_out, C_in/groups, k)" : "4 dims (C_out, C_in/groups, kh, kw)"),
                    SHP(w));
  memset(g, 0, sizeof *g);
  int64_t G = p->groups, C = x->shape[1];
  g->G = G;
  g->kh = w->shape[2], g->kw = w->shape[3];
  g->sh = p->stride[0], g->sw = p->stride[1], g->ph = p->pad_lo[0], g->pw = p->pad_lo[1];
  g->dh = p->dilation[0], g->dw = p->dilation[1];
  /* Sizes in 128-bit arithmetic: stride, padding and dilation come from Lua unbounded, so a
   * dilated kernel or an output size can pass int64 (fuzzer find: 4 + math.maxinteger).
   * Anything past 2^62 is refused; below that every later int64 product of the kernels fits. */
  const __int128 lim = (__int128)1 << 62;
  __int128 ekh128 = (__int128)g->dh * (g->kh - 1) + 1, ekw128 = (__int128)g->dw * (g->kw - 1) + 1;
  if (ekh128 > lim || ekw128 > lim)
    return nl_failc("%s: dilated kernel size is too large (dilation %lldx%lld, kernel %lldx%lld)", op,
                    (long long)g->dh, (long long)g->dw, (long long)g->kh, (long long)g->kw);
  int64_t ekh = (int64_t)ekh128, ekw = (int64_t)ekw128;
  if (!transposed) {
    int64_t O = w->shape[0];
    if (O % G) return nl_failc("%s: weight %s has %lld output channels, not divisible by groups %lld", op, SHP(w), (long long)O, (long long)G);
    if (C != w->shape[1] * G)
      return nl_failc("%s: input has %lld channels but weight expects %lld (weight %s, groups %lld)", op,
                      (long long)C, (long long)(w->shape[1] * G), SHP(w), (long long)G);
    if (b && (b->ndim != 1 || b->shape[0] != O))
      return nl_failc("%s: expected bias of shape [%lld], got %s", op, (long long)O, SHP(b));
    __int128 Hp128 = (__int128)x->shape[2] + p->pad_lo[0] + p->pad_hi[0];
    __int128 Wp128 = (__int128)x->shape[3] + p->pad_lo[1] + p->pad_hi[1];
    if (Hp128 > lim || Wp128 > lim)
      return nl_failc("%s: padding %lldx%lld is too large for input %s", op,
                      (long long)p->pad_lo[0], (long long)p->pad_lo[1], SHP(x));
    int64_t Hp = (int64_t)Hp128, Wp = (int64_t)Wp128;
    if (Hp < ekh || Wp < ekw) {
      if (one_d)
        return nl_failc("%s: kernel size (dilated) %lld is larger than the padded input length %lld (input %s)",
                        op, (long long)ekw, (long long)Wp, SHP(x));
      return nl_failc("%s: kernel size (dilated) %lldx%lld is larger than the padded input %lldx%lld (input %s)",
                      op, (long long)ekh, (long long)ekw, (long long)Hp, (long long)Wp, SHP(x));
    }
    g->N = x->shape[0], g->C = C, g->H = x->shape[2], g->W = x->shape[3], g->O = O;
    g->Ho = (Hp - ekh) / g->sh + 1, g->Wo = (Wp - ekw) / g->sw + 1;
  } else {
    int64_t Cin = w->shape[0];
    if (Cin % G) return nl_failc("%s: weight %s has %lld input channels, not divisible by groups %lld", op, SHP(w), (long long)Cin, (long long)G);
    if (C != Cin)
      return nl_failc("%s: input has %lld channels but weight expects %lld (weight %s, groups %lld)", op,
                      (long long)C, (long long)Cin, SHP(w), (long long)G);
    int64_t Cout = w->shape[1] * G;
    if (b && (b->ndim != 1 || b->shape[0] != Cout))
      return nl_failc("%s: expected bias of shape [%lld], got %s", op, (long long)Cout, SHP(b));
    __int128 Ht128 = (__int128)(x->shape[2] - 1) * g->sh - p->pad_lo[0] - p->pad_hi[0] + ekh + p->output_padding[0];
    __int128 Wt128 = (__int128)(x->shape[3] - 1) * g->sw - p->pad_lo[1] - p->pad_hi[1] + ekw + p->output_padding[1];
    if (Ht128 > lim || Wt128 > lim)
      return nl_failc("%s: output size is too large (input %s, weight %s, stride %lldx%lld)", op, SHP(x), SHP(w),
                      (long long)g->sh, (long long)g->sw);
    if (Ht128 <= 0 || Wt128 <= 0) /* printed saturated at -2^62: padding may be near 2^63 */
      return nl_failc("%s: output size %lldx%lld is too small (input %s, weight %s)", op,
                      (long long)(Ht128 < -lim ? -lim : Ht128), (long long)(Wt128 < -lim ? -lim : Wt128), SHP(x), SHP(w));
    int64_t Ht = (int64_t)Ht128, Wt = (int64_t)Wt128;
    /* the conv2d whose input gradient this is: input (N, Cout, Ht, Wt), output = x */
    g->N = x->shape[0], g->C = Cout, g->H = Ht, g->W = Wt, g->O = Cin;
    g->Ho = x->shape[2], g->Wo = x->shape[3];
  }
  g->Cg = g->C / G, g->Og = g->O / G;
  return 0;
}

static int nn_check_gy(const char *op, const nl_tensor *gy, const nl_tensor *x, int64_t N,
                       int64_t C, int64_t H, int64_t W) {
  if (nn_check_same(op, "grad_output", gy, x)) return -1;
  if (gy->ndim != 4 || gy->shape[0] != N || gy->shape[1] != C || gy->shape[2] != H || gy->shape[3] != W)
    return nl_failc("%s: expected grad_output of shape [%lld, %lld, %lld, %lld], got %s", op,
                    (long long)N, (long long)C, (long long)H, (long long)W, SHP(gy));
  return 0;
}


/* ---- device path (CUDA): im2col / col2im kernels (cuda/nn_conv.cu) + batched GEMMs ----------
 * The same algebra as the CPU loops, on whole batches: col (N, G, K, L) with K = Cg*kh*kw and
 * L = Ho*Wo; y (N, G, Og, L) = w (G, Og, K) @ col through nl_matmul (cuBLAS, broadcast over
 * N). Input gradient: col = w^T @ gy, then col2im (a gather: deterministic); weight gradient:
 * sum over N of gy @ col^T. Temporaries live on the device; nothing is copied to the host. */
static nl_nn_geo nn_dev_geo(const nn_conv_geo *g) {
  nl_nn_geo r = {g->N, g->C, g->H, g->W, g->Ho, g->Wo, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw,
                 g->dh, g->dw, 0};
  return r;
}
/* x contiguous (N, C, H, W) -> col (N, G, K, L) */
static nl_tensor *nn_dev_im2col(const nl_tensor *x, const nn_conv_geo *g) {
  int64_t cs[4] = {g->N, g->G, g->Cg * g->kh * g->kw, g->Ho * g->Wo};
  nl_tensor *col = nl_empty(4, cs, x->dtype, nl_device_of(x));
  if (!col) return NULL;
  nl_nn_kargs a = {0};
  a.out = col, a.in[0] = x, a.geo = nn_dev_geo(g);
  if (nl_nn_run(NL_NN_IM2COL, &a, "conv2d (im2col)")) {
    nl_tensor_free(col);
    return NULL;
  }
  return col;
}
/* col contiguous (N, G, K, L) -> x (N, C, H, W) */
static nl_tensor *nn_dev_col2im(const nl_tensor *col, const nn_conv_geo *g) {
  int64_t xs[4] = {g->N, g->C, g->H, g->W};
  nl_tensor *x = nl_empty(4, xs, col->dtype, nl_device_of(col));
  if (!x) return NULL;
  nl_nn_kargs a = {0};
  a.out = x, a.in[0] = col, a.geo = nn_dev_geo(g);
  if (nl_nn_run(NL_NN_COL2IM, &a, "conv2d (col2im)")) {
    nl_tensor_free(x);
    return NULL;
  }
  return x;
}
/* Reshape of t consuming t. */
static nl_tensor *nn_reshape_c(nl_tensor *t, int nd, const int64_t *shape) {
  if (!t) return NULL;
  nl_tensor *r = nl_reshape(t, nd, shape);
  nl_tensor_free(t);
  return r;
}
/* y (N, O, Ho, Wo) = conv2d(x, w) (+ b); x, w contiguous */
static nl_tensor *nn_dev_fwd(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b, const nn_conv_geo *g) {
  int64_t ws[3] = {g->G, g->Og, g->Cg * g->kh * g->kw}, ys[4] = {g->N, g->O, g->Ho, g->Wo};
  nl_tensor *col = nn_dev_im2col(x, g), *wv = nl_reshape((nl_tensor *)w, 3, ws);
  nl_tensor *y = col && wv ? nl_matmul(wv, col) : NULL; /* (N, G, Og, L) */
  nl_tensor_free(col), nl_tensor_free(wv);
  y = nn_reshape_c(y, 4, ys);
  if (y && b) {
    int64_t bs[4] = {1, g->O, 1, 1};
    nl_tensor *bv = nl_reshape((nl_tensor *)b, 4, bs);
    nl_tensor *r = bv ? nl_binary(NL_OP_ADD, y, bv, 1) : NULL;
    nl_tensor_free(bv), nl_tensor_free(y);
    y = r;
  }
  return y;
}
/* gx (N, C, H, W) from gy (N, O, Ho, Wo) */
static nl_tensor *nn_dev_bwd_input(const nl_tensor *gy, const nl_tensor *w, const nn_conv_geo *g) {
  int64_t ws[3] = {g->G, g->Og, g->Cg * g->kh * g->kw}, gs[4] = {g->N, g->G, g->Og, g->Ho * g->Wo};
  nl_tensor *wv = nl_reshape((nl_tensor *)w, 3, ws), *wt = wv ? nl_transpose(wv, 1, 2) : NULL;
  nl_tensor *gv = nl_reshape((nl_tensor *)gy, 4, gs);
  nl_tensor *col = wt && gv ? nl_matmul(wt, gv) : NULL; /* (N, G, K, L) */
  nl_tensor_free(wv), nl_tensor_free(wt), nl_tensor_free(gv);
  nl_tensor *cc = col ? nl_contiguous(col) : NULL;
  nl_tensor_free(col);
  nl_tensor *gx = cc ? nn_dev_col2im(cc, g) : NULL;
  nl_tensor_free(cc);
  return gx;
}
/* gw (O, Cg, kh, kw) from gy (N, O, Ho, Wo) and x (N, C, H, W) */
static nl_tensor *nn_dev_bwd_weight(const nl_tensor *gy, const nl_tensor *x, const nn_conv_geo *g) {
  int64_t gs[4] = {g->N, g->G, g->Og, g->Ho * g->Wo}, wsh[4] = {g->O, g->Cg, g->kh, g->kw};
  nl_tensor *col = nn_dev_im2col(x, g), *ct = col ? nl_transpose(col, 2, 3) : NULL;
  nl_tensor *gv = nl_reshape((nl_tensor *)gy, 4, gs);
  nl_tensor *t = ct && gv ? nl_matmul(gv, ct) : NULL; /* (N, G, Og, K) */
  nl_tensor_free(col), nl_tensor_free(ct), nl_tensor_free(gv);
  nl_tensor *s = t ? nl_reduce(NL_OP_SUM, t, 1u, false, 0) : NULL; /* (G, Og, K) */
  nl_tensor_free(t);
  return nn_reshape_c(s, 4, wsh);
}
/* gb (O) = sum of gy over (N, Ho, Wo) */
static nl_tensor *nn_dev_bwd_bias(const nl_tensor *gy) {
  return nl_reduce(NL_OP_SUM, gy, 1u | 4u | 8u, false, 0);
}
/* Runs the device backward of a conv2d (transposed: of a conv_transpose2d, roles swapped). */
static int nn_dev_backward(bool transposed, const nl_tensor *gy, const nl_tensor *x, const nl_tensor *w,
                           const nn_conv_geo *g, nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  nl_tensor *gyc = nn_contig(gy), *xc = nn_contig(x), *wc = nn_contig(w);
  nl_tensor *rx = NULL, *rw = NULL, *rb = NULL;
  int bad = !gyc || !xc || !wc;
  if (!bad && gx) bad = !(rx = transposed ? nn_dev_fwd(gyc, wc, NULL, g) : nn_dev_bwd_input(gyc, wc, g));
  if (!bad && gw) bad = !(rw = transposed ? nn_dev_bwd_weight(xc, gyc, g) : nn_dev_bwd_weight(gyc, xc, g));
  if (!bad && gb) bad = !(rb = nn_dev_bwd_bias(gyc));
  nl_tensor_free(gyc), nl_tensor_free(xc), nl_tensor_free(wc);
  if (bad) {
    nl_tensor_free(rx), nl_tensor_free(rw), nl_tensor_free(rb);
    return -1;
  }
  if (gx) *gx = rx;
  if (gw) *gw = rw;
  if (gb) *gb = rb;
  return 0;
}

#define DISPATCH(dt, fn, ...)                    \
  do {                                           \
    if ((dt) == NL_FLOAT32) fn##_f32(__VA_ARGS__); \
    else fn##_f64(__VA_ARGS__);                  \
  } while (0)

static nl_tensor *nn_conv2d(const char *op, bool one_d, const nl_tensor *x, const nl_tensor *w,
                            const nl_tensor *b, const nl_conv_params *p) {
  nn_conv_geo g;
  if (nn_conv_geometry(op, x, w, b, p, false, one_d, &g)) return NULL;
  if (nn_dev(x)) {
    nl_tensor *xc = nn_contig(x), *wc = nn_contig(w);
    nl_tensor *y = xc && wc ? nn_dev_fwd(xc, wc, b, &g) : NULL;
    nl_tensor_free(xc), nl_tensor_free(wc);
    return y;
  }
  int64_t shape[4] = {g.N, g.O, g.Ho, g.Wo};
  nl_tensor *xc = nn_contig(x), *wc = nn_contig(w), *bc = nn_contig(b);
  nl_tensor *y = nl_empty(4, shape, x->dtype, nl_cpu());
  if (xc && wc && (bc || !b) && y && nn_direct(&g, x->dtype)) {
    nl_conv_direct_geo d = nn_dgeo(&g);
    if (nl_conv_direct_fwd(nl_data(xc), nl_data(wc), b ? nl_data(bc) : NULL, nl_data(y), &d)) {
      nl_tensor_free(y);
      y = NULL;
    }
  } else if (xc && wc && (bc || !b) && y) {
    int nt = nn_blas_serial(&g);
    DISPATCH(x->dtype, conv_fwd, nl_data(xc), nl_data(wc), b ? nl_data(bc) : NULL, nl_data(y), &g);
    nn_blas_restore(&g, nt);
  } else {
    nl_tensor_free(y);
    y = NULL;
  }
  nl_tensor_free(xc), nl_tensor_free(wc), nl_tensor_free(bc);
  return y;
}

const char *nl_conv2d_algorithm(const nl_tensor *x, const nl_tensor *w, const nl_conv_params *p) {
  nn_conv_geo g;
  if (nn_conv_geometry("conv2d", x, w, NULL, p, false, false, &g)) return NULL;
  return nn_direct(&g, x->dtype) ? "direct" : "im2col";
}

nl_tensor *nl_conv2d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b,
                     const nl_conv_params *p) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_conv2d("conv2d", false, x, w, b, p));
}

static int nn_conv2d_backward(const char *op, const nl_tensor *gy, const nl_tensor *x,
                              const nl_tensor *w, const nl_conv_params *p, nl_tensor **gx,
                              nl_tensor **gw, nl_tensor **gb) {
  nn_conv_geo g;
  if (nn_conv_geometry(op, x, w, NULL, p, false, false, &g)) return -1;
  if (nn_check_gy(op, gy, x, g.N, g.O, g.Ho, g.Wo)) return -1;
  if (nn_dev(x)) return nn_dev_backward(false, gy, x, w, &g, gx, gw, gb);
  nl_tensor *gyc = nn_contig(gy), *xc = nn_contig(x), *wc = nn_contig(w);
  bool direct = nn_direct(&g, x->dtype);
  /* the im2col path accumulates into a zeroed gx; the direct path writes every element */
  nl_tensor *rx = !gx ? NULL : direct ? nl_empty(x->ndim, x->shape, x->dtype, nl_cpu())
                                      : nl_zeros(x->ndim, x->shape, x->dtype, nl_cpu());
  nl_tensor *rw = gw ? nl_empty(w->ndim, w->shape, w->dtype, nl_cpu()) : NULL;
  int64_t bs = g.O;
  nl_tensor *rb = gb ? nl_empty(1, &bs, x->dtype, nl_cpu()) : NULL;
  if (!gyc || !xc || !wc || (gx && !rx) || (gw && !rw) || (gb && !rb)) {
    nl_tensor_free(gyc), nl_tensor_free(xc), nl_tensor_free(wc);
    nl_tensor_free(rx), nl_tensor_free(rw), nl_tensor_free(rb);
    return -1;
  }
  int st = 0;
  if (direct) {
    nl_conv_direct_geo d = nn_dgeo(&g);
    if (rx) st = nl_conv_direct_bwd_input(nl_data(gyc), nl_data(wc), nl_data(rx), &d);
    if (rw && !st) st = nl_conv_direct_bwd_weight(nl_data(gyc), nl_data(xc), nl_data(rw), &d);
  } else {
    int nt = nn_blas_serial(&g);
    if (rx) DISPATCH(x->dtype, conv_bwd_input, nl_data(gyc), nl_data(wc), nl_data(rx), &g);
    if (rw) DISPATCH(x->dtype, conv_bwd_weight, nl_data(gyc), nl_data(xc), nl_data(rw), &g);
    nn_blas_restore(&g, nt);
  }
  if (st) {
    nl_tensor_free(gyc), nl_tensor_free(xc), nl_tensor_free(wc);
    nl_tensor_free(rx), nl_tensor_free(rw), nl_tensor_free(rb);
    return -1;
  }
  if (rb) DISPATCH(x->dtype, conv_bwd_bias, nl_data(gyc), nl_data(rb), g.N, g.O, g.Ho * g.Wo);
  nl_tensor_free(gyc), nl_tensor_free(xc), nl_tensor_free(wc);
  if (gx) *gx = rx;
  if (gw) *gw = rw;
  if (gb) *gb = rb;
  return 0;
}

int nl_conv2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *w,
                       const nl_conv_params *p, nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  NN_DEVICE_SCOPE(int, nn_conv2d_backward("conv2d_backward", gy, x, w, p, gx, gw, gb));
}

/* ---- conv1d: conv2d over (N, C, 1, L) views ------------------------------------------------ */
static nl_tensor *nn_as4d(const nl_tensor *t) {
  int64_t shape[4] = {t->shape[0], t->shape[1], 1, t->shape[2]};
  int64_t stride[4] = {t->stride[0], t->stride[1], 0, t->stride[2]};
  return nl_view_of(t, 4, shape, stride, t->offset);
}
static nl_tensor *nn_as3d(nl_tensor *t) { /* consumes t (N, C, 1, L) */
  if (!t) return NULL;
  int64_t shape[3] = {t->shape[0], t->shape[1], t->shape[3]};
  nl_tensor *r = nl_reshape(t, 3, shape);
  nl_tensor_free(t);
  return r;
}
static nl_conv_params nn_params1d(const nl_conv_params *p) {
  nl_conv_params q = *p;
  q.stride[0] = q.dilation[0] = 1;
  q.pad_lo[0] = q.pad_hi[0] = q.output_padding[0] = 0;
  return q;
}
static int nn_check1d(const char *op, const nl_tensor *x, const nl_tensor *w) {
  if (x->ndim != 3) return nl_failc("%s: expected input with 3 dims (N, C, L), got %s", op, SHP(x));
  if (w->ndim != 3) return nl_failc("%s: expected weight with 3 dims, got %s", op, SHP(w));
  return 0;
}

static nl_tensor *nn_conv1d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b,
                     const nl_conv_params *p) {
  if (nn_check1d("conv1d", x, w)) return NULL;
  nl_conv_params q = nn_params1d(p);
  nl_tensor *x4 = nn_as4d(x), *w4 = nn_as4d(w);
  nl_tensor *y = (x4 && w4) ? nn_conv2d("conv1d", true, x4, w4, b, &q) : NULL;
  nl_tensor_free(x4), nl_tensor_free(w4);
  return nn_as3d(y);
}

static int nn_conv1d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *w,
                       const nl_conv_params *p, nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  if (nn_check1d("conv1d_backward", x, w)) return -1;
  if (gy->ndim != 3) return nl_failc("conv1d_backward: expected grad_output with 3 dims, got %s", SHP(gy));
  nl_conv_params q = nn_params1d(p);
  nl_tensor *x4 = nn_as4d(x), *w4 = nn_as4d(w), *g4 = nn_as4d(gy), *rx = NULL, *rw = NULL;
  int st = (x4 && w4 && g4) ? nn_conv2d_backward("conv1d_backward", g4, x4, w4, &q, gx ? &rx : NULL,
                                                 gw ? &rw : NULL, gb) : -1;
  nl_tensor_free(x4), nl_tensor_free(w4), nl_tensor_free(g4);
  if (st) return -1;
  if (gx) *gx = nn_as3d(rx);
  if (gw) *gw = nn_as3d(rw);
  return 0;
}

nl_tensor *nl_conv1d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b, const nl_conv_params *p) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_conv1d(x, w, b, p));
}
int nl_conv1d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *w, const nl_conv_params *p,
                       nl_tensor **gx, nl_tensor **gw, nl_tensor **gb) {
  NN_DEVICE_SCOPE(int, nn_conv1d_backward(gy, x, w, p, gx, gw, gb));
}

/* ---- conv_transpose2d ---------------------------------------------------------------------- */
static nl_tensor *nn_conv_transpose2d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b,
                               const nl_conv_params *p) {
  nn_conv_geo g;
  if (nn_conv_geometry("conv_transpose2d", x, w, b, p, true, false, &g)) return NULL;
  if (nn_dev(x)) { /* y = conv2d's input gradient of x, plus the bias */
    nl_tensor *xc = nn_contig(x), *wc = nn_contig(w);
    nl_tensor *y = xc && wc ? nn_dev_bwd_input(xc, wc, &g) : NULL;
    nl_tensor_free(xc), nl_tensor_free(wc);
    if (y && b) {
      int64_t bs[4] = {1, g.C, 1, 1};
      nl_tensor *bv = nl_reshape((nl_tensor *)b, 4, bs);
      nl_tensor *r = bv ? nl_binary(NL_OP_ADD, y, bv, 1) : NULL;
      nl_tensor_free(bv), nl_tensor_free(y);
      y = r;
    }
    return y;
  }
  int64_t shape[4] = {g.N, g.C, g.H, g.W};
  nl_tensor *xc = nn_contig(x), *wc = nn_contig(w), *bc = nn_contig(b);
  nl_tensor *y = nl_zeros(4, shape, x->dtype, nl_cpu());
  if (xc && wc && (bc || !b) && y) {
    int nt = nn_blas_serial(&g);
    DISPATCH(x->dtype, conv_bwd_input, nl_data(xc), nl_data(wc), nl_data(y), &g);
    nn_blas_restore(&g, nt);
    if (b) {
      int64_t HW = g.H * g.W;
      for (int64_t n = 0; n < g.N; n++)
        for (int64_t c = 0; c < g.C; c++) {
          if (x->dtype == NL_FLOAT32) {
            float *yc = (float *)nl_data(y) + (n * g.C + c) * HW, bv = ((float *)nl_data(bc))[c];
            for (int64_t i = 0; i < HW; i++) yc[i] += bv;
          } else {
            double *yc = (double *)nl_data(y) + (n * g.C + c) * HW, bv = ((double *)nl_data(bc))[c];
            for (int64_t i = 0; i < HW; i++) yc[i] += bv;
          }
        }
    }
  } else {
    nl_tensor_free(y);
    y = NULL;
  }
  nl_tensor_free(xc), nl_tensor_free(wc), nl_tensor_free(bc);
  return y;
}

static int nn_conv_transpose2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *w,
                                 const nl_conv_params *p, nl_tensor **gx, nl_tensor **gw,
                                 nl_tensor **gb) {
  const char *op = "conv_transpose2d_backward";
  nn_conv_geo g;
  if (nn_conv_geometry(op, x, w, NULL, p, true, false, &g)) return -1;
  if (nn_check_gy(op, gy, x, g.N, g.C, g.H, g.W)) return -1;
  if (nn_dev(x)) return nn_dev_backward(true, gy, x, w, &g, gx, gw, gb);
  nl_tensor *gyc = nn_contig(gy), *xc = nn_contig(x), *wc = nn_contig(w);
  nl_tensor *rx = gx ? nl_empty(x->ndim, x->shape, x->dtype, nl_cpu()) : NULL;
  nl_tensor *rw = gw ? nl_empty(w->ndim, w->shape, w->dtype, nl_cpu()) : NULL;
  int64_t bs = g.C;
  nl_tensor *rb = gb ? nl_empty(1, &bs, x->dtype, nl_cpu()) : NULL;
  if (!gyc || !xc || !wc || (gx && !rx) || (gw && !rw) || (gb && !rb)) {
    nl_tensor_free(gyc), nl_tensor_free(xc), nl_tensor_free(wc);
    nl_tensor_free(rx), nl_tensor_free(rw), nl_tensor_free(rb);
    return -1;
  }
  int nt = nn_blas_serial(&g);
  /* gx = conv2d(gy, w); gw = conv2d weight gradient with input gy and grad_output x */
  if (rx) DISPATCH(x->dtype, conv_fwd, nl_data(gyc), nl_data(wc), NULL, nl_data(rx), &g);
  if (rw) DISPATCH(x->dtype, conv_bwd_weight, nl_data(xc), nl_data(gyc), nl_data(rw), &g);
  nn_blas_restore(&g, nt);
  if (rb) DISPATCH(x->dtype, conv_bwd_bias, nl_data(gyc), nl_data(rb), g.N, g.C, g.H * g.W);
  nl_tensor_free(gyc), nl_tensor_free(xc), nl_tensor_free(wc);
  if (gx) *gx = rx;
  if (gw) *gw = rw;
  if (gb) *gb = rb;
  return 0;
}

nl_tensor *nl_conv_transpose2d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b,
                               const nl_conv_params *p) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_conv_transpose2d(x, w, b, p));
}
int nl_conv_transpose2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *w,
                                 const nl_conv_params *p, nl_tensor **gx, nl_tensor **gw,
                                 nl_tensor **gb) {
  NN_DEVICE_SCOPE(int, nn_conv_transpose2d_backward(gy, x, w, p, gx, gw, gb));
}
