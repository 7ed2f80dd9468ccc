/* conv_direct.c: direct (im2col-free) float32 convolution for small channel counts.
 *
 * LeNet-sized layers (3->6 5x5 on 32x32, 6->16 5x5 on 14x14, Fashion-MNIST's 1->6 and 6->16
 * 3x3) spend most of an im2col + GEMM step writing and re-reading the column matrix (K = 75
 * rows of 784 floats per sample for 6 output channels) and in GEMMs with 6 or 16 rows, far
 * below the BLAS peak. Here each output row is computed in registers instead:
 *
 *   y[n, o, oh, 0:Wo] = b[o] + sum over (c, ki, kj) of w[o, c, ki, kj] * xp[c, oh + ki, kj : kj + Wo]
 *
 * where xp is the sample's input copied once into a zero-padded scratch (padding and the
 * vector tail handled by the zeros: no bounds checks in the inner loop). A block of OB output
 * channels times NV 16-float vectors (Wo <= 16 * NV) stays in registers while the C*kh*kw
 * kernel taps stream past; each tap is NV loads and OB broadcasts for OB*NV FMAs.
 *
 * The input gradient is the same kernel: a full correlation of grad_output (padded by k-1-p)
 * with the kernel flipped and its channel dims swapped. The weight gradient keeps OBW x KB
 * accumulator vectors (lane-wise partial sums over the output columns) per grad_output row.
 *
 * Only stride 1, dilation 1, groups 1, padding < kernel, output rows of at most 64 columns,
 * float32 (nl_conv_direct_ok); everything else takes the im2col + GEMM path (conv.c).
 * NNLUA_CONV=gemm forces that path (for comparisons). Threads split the batch; the weight
 * gradient is summed over sample chunks whose number depends on the problem size only (not on
 * the thread count), lane-wise in float like a GEMM's dot products, the 16 lanes in double,
 * so results do not depend on how many threads ran. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "conv_direct.h"
#include "../tensor/nl_iter.h" /* NL_OMP_REGION_IF */
#include "../tensor/nl_alloc.h"
#include "../tensor/ops_linalg.h"
#include "nn_util.h"

/* 16 floats: one AVX-512 register (two AVX2 registers in the x86-64-v3 clone). Only passed
 * between static inline helpers, so GCC's note that the ABI of such values differs without
 * AVX-512 does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float nn_v16 __attribute__((vector_size(64)));
typedef int32_t nn_vi16 __attribute__((vector_size(64)));
#define NN_VL 16

static inline __attribute__((always_inline)) nn_v16 nn_ld(const float *p) {
  nn_v16 v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline __attribute__((always_inline)) void nn_st(float *p, nn_v16 v) { memcpy(p, &v, sizeof v); }

/* Scratch buffers come from the CPU caching allocator: the weight gradient's partial sums are
 * ~150 KB, which malloc would map and unmap (page faults) on every call. */
static float *nn_scratch(int64_t nfloats, bool zero) {
  size_t n = sizeof(float) * (size_t)(nfloats > 0 ? nfloats : 1);
  float *p = nl_device_alloc(nl_cpu(), n);
  if (p && zero) memset(p, 0, n);
  return p;
}
static void nn_scratch_free(float *p, int64_t nfloats) {
  if (p) nl_device_free(nl_cpu(), p, sizeof(float) * (size_t)(nfloats > 0 ? nfloats : 1));
}

bool nl_conv_direct_ok(const nl_conv_direct_geo *g, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t G) {
  static int forced = -1; /* NNLUA_CONV=gemm: never */
  if (forced < 0) {
    const char *e = getenv("NNLUA_CONV");
    forced = e && !strcmp(e, "gemm");
  }
  if (forced) return false;
  if (G != 1 || sh != 1 || sw != 1 || dh != 1 || dw != 1) return false;
  int64_t C = g->C, O = g->O, kh = g->kh, kw = g->kw, H = g->H, W = g->W, Ho = g->Ho, Wo = g->Wo;
  int64_t ph = g->ph, pw = g->pw;
  int64_t ph_hi = Ho + kh - 1 - H - ph, pw_hi = Wo + kw - 1 - W - pw; /* bottom/right padding */
  if (ph < 0 || pw < 0 || ph >= kh || pw >= kw || ph_hi < 0 || pw_hi < 0 || ph_hi >= kh || pw_hi >= kw)
    return false;
  /* output rows (forward) and input rows (input gradient) in at most 4 vectors */
  if (Ho < 1 || Wo < 1 || Wo > 4 * NN_VL || W > 4 * NN_VL || H > 4096) return false;
  /* small channel counts: with many channels the GEMM path runs nearer the peak */
  return C <= 32 && O <= 32 && C * kh * kw <= 1024;
}

/* ---- scratch: one sample's planes, zero-padded ----------------------------------------------
 * dst (C, R, Wp) <- src (C, H, W) placed at row pt, column pl; zeros elsewhere. */
NN_CLONES static void nn_pad_planes(const float *src, int64_t C, int64_t H, int64_t W, float *dst, int64_t R,
                          int64_t Wp, int64_t pt, int64_t pl) {
  int64_t w = W + pl <= Wp ? W : Wp - pl; /* columns past Wp are never read */
  for (int64_t c = 0; c < C; c++)
    for (int64_t r = 0; r < R; r++) {
      float *d = dst + (c * R + r) * Wp;
      int64_t h = r - pt;
      if (h < 0 || h >= H || w <= 0) {
        for (int64_t i = 0; i < Wp; i++) d[i] = 0;
        continue;
      }
      /* short rows: an inline loop, not a memcpy call per row */
      const float *s = src + (c * H + h) * W;
      for (int64_t i = 0; i < pl; i++) d[i] = 0;
      for (int64_t i = 0; i < w; i++) d[pl + i] = s[i];
      for (int64_t i = pl + w; i < Wp; i++) d[i] = 0;
    }
}

/* ---- forward micro-kernels ------------------------------------------------------------------
 * One output row oh of OB channels: acc[o][v] (NV vectors of 16 columns each).
 *   xp  (Cin, R, Wp) padded input of one sample; wp (Cin*kh*kw, OB) packed weights of the block
 *   (zero rows for channels past O); out rows written for the block's real channels only. */
#define NN_FWD_KERNEL(NV, OB)                                                                     \
  NN_CLONES static void nn_fwd_##NV##_##OB(const float *restrict xp, const float *restrict wp,       \
                                          const float *restrict bias, float *restrict y,             \
                                          int64_t ob, int64_t Cin, int64_t kh, int64_t kw,            \
                                          int64_t R, int64_t Wp, int64_t Ho, int64_t Wo, int64_t r0,  \
                                          int64_t r1) {                                               \
    for (int64_t oh = 0; oh < Ho; oh++) {                                                            \
      nn_v16 acc[OB][NV];                                                                            \
      _Pragma("GCC unroll 16") for (int o = 0; o < OB; o++)                                          \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                         \
          acc[o][v] = (nn_v16){0} + (bias && o < ob ? bias[o] : 0.f);                                \
      /* kernel rows reading only padding rows (outside [r0, r1)) are skipped */                     \
      int64_t k0 = r0 - oh > 0 ? r0 - oh : 0, k1 = r1 - oh < kh ? r1 - oh : kh;                      \
      for (int64_t c = 0; c < Cin; c++)                                                              \
        for (int64_t ki = k0; ki < k1; ki++) {                                                       \
          const float *xr = xp + (c * R + oh + ki) * Wp;                                             \
          const float *wk = wp + ((c * kh + ki) * kw) * OB;                                          \
          for (int64_t kj = 0; kj < kw; kj++, wk += OB) {                                            \
            nn_v16 xv[NV];                                                                           \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) xv[v] = nn_ld(xr + kj + v * NN_VL); \
            _Pragma("GCC unroll 16") for (int o = 0; o < OB; o++) {                                  \
              float wv = wk[o];                                                                      \
              _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[o][v] += wv * xv[v];          \
            }                                                                                        \
          }                                                                                          \
        }                                                                                            \
      /* whole vectors may spill into the channel's later rows (written after this one); the */    \
      /* last rows, whose spill would reach the next channel or past y, go through a buffer */       \
      bool whole = (Ho - 1 - oh) * Wo >= NV * NN_VL - Wo;                                            \
      for (int64_t o = 0; o < ob; o++) {                                                             \
        float *yr = y + (o * Ho + oh) * Wo;                                                          \
        if (whole) {                                                                                 \
          _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) nn_st(yr + v * NN_VL, acc[o][v]);     \
        } else {                                                                                     \
          float row[NV * NN_VL];                                                                     \
          _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) nn_st(row + v * NN_VL, acc[o][v]);    \
          for (int64_t i = 0; i < Wo; i++) yr[i] = row[i];                                           \
        }                                                                                            \
      }                                                                                              \
    }                                                                                                \
  }
NN_FWD_KERNEL(1, 4)
NN_FWD_KERNEL(1, 6)
NN_FWD_KERNEL(1, 8)
NN_FWD_KERNEL(1, 12)
NN_FWD_KERNEL(1, 16)
NN_FWD_KERNEL(2, 4)
NN_FWD_KERNEL(2, 6)
NN_FWD_KERNEL(2, 8)
NN_FWD_KERNEL(3, 4)
NN_FWD_KERNEL(3, 6)
NN_FWD_KERNEL(4, 4)
NN_FWD_KERNEL(4, 6)

typedef void (*nn_fwd_fn)(const float *, const float *, const float *, float *, int64_t, int64_t,
                          int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);
typedef struct {
  int nv, ob;
  nn_fwd_fn fn;
} nn_fwd_entry;
static const nn_fwd_entry nn_fwd_table[] = {
    {1, 4, nn_fwd_1_4}, {1, 6, nn_fwd_1_6}, {1, 8, nn_fwd_1_8}, {1, 12, nn_fwd_1_12}, {1, 16, nn_fwd_1_16}, {2, 4, nn_fwd_2_4},
    {2, 6, nn_fwd_2_6}, {2, 8, nn_fwd_2_8}, {3, 4, nn_fwd_3_4},   {3, 6, nn_fwd_3_6},
    {4, 4, nn_fwd_4_4}, {4, 6, nn_fwd_4_6},
};

/* The kernel for NV vectors that pads the fewest channels (ties: the larger block). */
static nn_fwd_entry nn_fwd_pick(int nv, int64_t O) {
  nn_fwd_entry best = {0, 0, NULL};
  int64_t best_pad = 0;
  for (size_t i = 0; i < sizeof nn_fwd_table / sizeof nn_fwd_table[0]; i++) {
    nn_fwd_entry e = nn_fwd_table[i];
    if (e.nv != nv) continue;
    int64_t pad = (O + e.ob - 1) / e.ob * e.ob;
    if (!best.fn || pad < best_pad || (pad == best_pad && e.ob > best.ob)) best = e, best_pad = pad;
  }
  return best;
}

/* A direct convolution pass: y (N, O, Ho, Wo) = x (N, Cin, H, W) correlated with
 * w[o][c][ki][kj] = wsrc[wo(o, c, ki, kj)] where the source layout is given by strides (so the
 * input gradient can read the forward weight flipped and transposed without a copy), input
 * placed at (pt, pl) in a zero-padded frame, optional bias. */
typedef struct {
  int64_t N, Cin, H, W, O, kh, kw, Ho, Wo, pt, pl;
  const float *w; /* element (o, c, ki, kj) at w[o*so + c*sc + ki*sh + kj*sw] */
  int64_t so, sc, sh, sw;
  /* skip kernel rows that read only zero-padding rows: the input gradient's full correlation
   * (its padding, kh-1-ph rows, is not part of the problem: im2col's col2im never multiplies
   * the weights by it, so skipping keeps an inf weight from reaching those gradients as
   * 0 * inf). The forward keeps them: there, PyTorch's zero padding is multiplied. */
  bool skip_pad_rows;
} nn_dpass;

static int nn_direct_pass(const nn_dpass *p, const float *x, const float *bias, float *y) {
  int nv = (int)((p->Wo + NN_VL - 1) / NN_VL);
  nn_fwd_entry k = nn_fwd_pick(nv, p->O);
  int64_t OB = k.ob, nblk = (p->O + OB - 1) / OB, K = p->Cin * p->kh * p->kw;
  int64_t R = p->Ho + p->kh - 1, Wp = nv * NN_VL + p->kw - 1;
  /* packed weights (nblk, K, OB), channels past O zero */
  float *wp = nn_scratch(nblk * K * OB, true);
  if (!wp) return nl_failc("conv2d: out of memory packing %lld weights", (long long)(nblk * K * OB));
  for (int64_t o = 0; o < p->O; o++)
    for (int64_t c = 0; c < p->Cin; c++)
      for (int64_t ki = 0; ki < p->kh; ki++)
        for (int64_t kj = 0; kj < p->kw; kj++) {
          int64_t kk = (c * p->kh + ki) * p->kw + kj;
          wp[((o / OB) * K + kk) * OB + o % OB] = p->w[o * p->so + c * p->sc + ki * p->sh + kj * p->sw];
        }
  double flops = 2.0 * (double)p->N * (double)(p->O * p->Ho * p->Wo) * (double)K;
  int par = p->N > 1 && nl_get_num_threads() > 1 && flops >= 1e6 && !omp_in_parallel();
  int bad = 0;
  NL_OMP_REGION_IF(par, "omp parallel reduction(| : bad)", {
    float *xp = nn_scratch(p->Cin * R * Wp, false);
    if (!xp) bad = 1;
    _Pragma("omp for schedule(static)")
    for (int64_t n = 0; n < p->N; n++) {
      if (!xp) continue;
      nn_pad_planes(x + n * p->Cin * p->H * p->W, p->Cin, p->H, p->W, xp, R, Wp, p->pt, p->pl);
      for (int64_t b = 0; b < nblk; b++) {
        int64_t o0 = b * OB, ob = p->O - o0 < OB ? p->O - o0 : OB;
        k.fn(xp, wp + b * K * OB, bias ? bias + o0 : NULL, y + (n * p->O + o0) * p->Ho * p->Wo, ob,
             p->Cin, p->kh, p->kw, R, Wp, p->Ho, p->Wo, p->skip_pad_rows ? p->pt : 0,
             p->skip_pad_rows ? p->pt + p->H : R);
      }
    }
    nn_scratch_free(xp, p->Cin * R * Wp);
  });
  nn_scratch_free(wp, nblk * K * OB);
  return bad ? nl_failc("conv2d: out of memory for the direct convolution's scratch") : 0;
}

int nl_conv_direct_fwd(const float *x, const float *w, const float *b, float *y, const nl_conv_direct_geo *g) {
  int64_t K = g->C * g->kh * g->kw;
  nn_dpass p = {g->N, g->C, g->H, g->W, g->O, g->kh, g->kw, g->Ho, g->Wo, g->ph, g->pw, w, K, g->kh * g->kw, g->kw, 1,
                false};
  return nn_direct_pass(&p, x, b, y);
}

/* gx (N, C, H, W) = full correlation of gy (N, O, Ho, Wo), padded by (kh-1-ph, kw-1-pw), with
 * w'[c][o][a][b] = w[o][c][kh-1-a][kw-1-b]: read through negative strides from the last tap. */
int nl_conv_direct_bwd_input(const float *gy, const float *w, float *gx, const nl_conv_direct_geo *g) {
  int64_t kh = g->kh, kw = g->kw;
  nn_dpass p = {g->N, g->O, g->Ho, g->Wo, g->C, kh, kw, g->H, g->W, kh - 1 - g->ph, kw - 1 - g->pw,
                w + (kh - 1) * kw + (kw - 1), kh * kw, g->C * kh * kw, -kw, -1, true};
  return nn_direct_pass(&p, gy, NULL, gx);
}

/* ---- weight gradient ------------------------------------------------------------------------
 * For a block of OBW output channels and KB taps k = (c, ki, kj): acc[o][t] holds 16 lane-wise
 * partial sums of gy[o, oh, :] * xp[c, oh + ki, kj : kj + 16*NV] over the rows oh. gyp holds
 * the sample's grad_output rows padded to 16*NV columns with zeros, and the input's lanes
 * there are cleared too (so the lanes past Wo add nothing); xoff[t] is the offset of tap t's
 * first row in xp; part (Opad, Kpad) of 16-lane vectors receives the block's sums. */
#define NN_WGT_KERNEL(NV, OBW, KB)                                                                  \
  NN_CLONES static void nn_wgt_##NV(const float *restrict xp, const float *restrict gyp,            \
                                   const int64_t *restrict xoff, float *restrict part, int64_t Opad, \
                                   int64_t Kpad, int64_t Ho, int64_t Wp, int64_t Wo) {              \
    /* the last vector's lanes past Wo read real pixels of the row (shifted by kj): they are  */    \
    /* cleared, so an inf or nan there cannot reach the sums through 0 * inf */                     \
    nn_vi16 keep;                                                                                   \
    for (int i = 0; i < NN_VL; i++) keep[i] = (NV - 1) * NN_VL + i < Wo ? -1 : 0;                   \
    for (int64_t o0 = 0; o0 < Opad; o0 += OBW)                                                      \
      for (int64_t k0 = 0; k0 < Kpad; k0 += KB) {                                                   \
        nn_v16 acc[OBW][KB];                                                                        \
        _Pragma("GCC unroll 4") for (int o = 0; o < OBW; o++)                                       \
          _Pragma("GCC unroll 4") for (int t = 0; t < KB; t++) acc[o][t] = (nn_v16){0};             \
        for (int64_t oh = 0; oh < Ho; oh++) {                                                       \
          nn_v16 g[OBW][NV];                                                                        \
          _Pragma("GCC unroll 4") for (int o = 0; o < OBW; o++)                                     \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                    \
              g[o][v] = nn_ld(gyp + ((o0 + o) * Ho + oh) * (NV * NN_VL) + v * NN_VL);               \
          _Pragma("GCC unroll 4") for (int t = 0; t < KB; t++) {                                    \
            const float *xr = xp + xoff[k0 + t] + oh * Wp;                                          \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {                                  \
              nn_v16 xv = nn_ld(xr + v * NN_VL);                                                    \
              if (v == NV - 1) xv = (nn_v16)((nn_vi16)xv & keep);                                   \
              _Pragma("GCC unroll 4") for (int o = 0; o < OBW; o++) acc[o][t] += g[o][v] * xv;      \
            }                                                                                       \
          }                                                                                         \
        }                                                                                           \
        _Pragma("GCC unroll 4") for (int o = 0; o < OBW; o++)                                       \
          _Pragma("GCC unroll 4") for (int t = 0; t < KB; t++) {                                    \
            float *d = part + ((o0 + o) * Kpad + k0 + t) * NN_VL;                                   \
            nn_st(d, nn_ld(d) + acc[o][t]);                                                         \
          }                                                                                         \
      }                                                                                             \
  }
/* register budget (32 zmm): OBW*KB accumulators + OBW*NV grad_output vectors + one input */
NN_WGT_KERNEL(1, 4, 4)
NN_WGT_KERNEL(2, 4, 4)
NN_WGT_KERNEL(3, 4, 3)
NN_WGT_KERNEL(4, 4, 2)
#define NN_OBW 4
static const int nn_wgt_kb[5] = {0, 4, 4, 3, 2};
typedef void (*nn_wgt_fn)(const float *, const float *, const int64_t *, float *, int64_t, int64_t,
                          int64_t, int64_t, int64_t);
static const nn_wgt_fn nn_wgt_table[5] = {NULL, nn_wgt_1, nn_wgt_2, nn_wgt_3, nn_wgt_4};

/* Sample chunks of the weight gradient: fixed, so the sum's order ignores the thread count. */
#define NN_WCHUNKS 8

int nl_conv_direct_bwd_weight(const float *gy, const float *x, float *gw, const nl_conv_direct_geo *g) {
  int64_t N = g->N, C = g->C, H = g->H, W = g->W, O = g->O, kh = g->kh, kw = g->kw, Ho = g->Ho, Wo = g->Wo;
  int64_t ph = g->ph, pw = g->pw;
  int nv = (int)((Wo + NN_VL - 1) / NN_VL), KB = nn_wgt_kb[nv];
  int64_t K = C * kh * kw, Opad = (O + NN_OBW - 1) / NN_OBW * NN_OBW, Kpad = (K + KB - 1) / KB * KB;
  int64_t R = Ho + kh - 1, Wp = nv * NN_VL + kw - 1, GW = nv * NN_VL;
  /* chunks: up to NN_WCHUNKS, one per ~4 MFLOP (small batches: one chunk, one partial) */
  double flops = 2.0 * (double)N * (double)(O * Ho * Wo) * (double)(C * kh * kw);
  int64_t nch = (int64_t)(flops / 4e6) + 1;
  if (nch > NN_WCHUNKS) nch = NN_WCHUNKS;
  if (nch > N) nch = N > 0 ? N : 1;
  int64_t PS = Opad * Kpad * NN_VL;
  if (N == 0 || K == 0) {
    memset(gw, 0, sizeof(float) * (size_t)(O * K));
    return 0;
  }
  float *part = nn_scratch(nch * PS, true);
  int64_t *xoff = malloc(sizeof(int64_t) * (size_t)Kpad);
  if (!part || !xoff) {
    nn_scratch_free(part, nch * PS), free(xoff);
    return nl_failc("conv2d_backward: out of memory for the weight gradient's partial sums");
  }
  for (int64_t t = 0; t < Kpad; t++) { /* padded taps read tap 0 and are dropped */
    int64_t kk = t < K ? t : 0, c = kk / (kh * kw), ki = kk / kw % kh, kj = kk % kw;
    xoff[t] = (c * R + ki) * Wp + kj;
  }
  int par = nch > 1 && nl_get_num_threads() > 1 && flops >= 1e6 && !omp_in_parallel();
  int bad = 0;
  NL_OMP_REGION_IF(par, "omp parallel reduction(| : bad)", {
    float *xp = nn_scratch(C * R * Wp, false);
    float *gyp = nn_scratch(Opad * Ho * GW, true); /* padding lanes stay zero */
    if (!xp || !gyp) bad = 1;
    _Pragma("omp for schedule(static)")
    for (int64_t ch = 0; ch < nch; ch++) {
      if (!xp || !gyp) continue;
      for (int64_t n = ch * N / nch; n < (ch + 1) * N / nch; n++) {
        nn_pad_planes(x + n * C * H * W, C, H, W, xp, R, Wp, ph, pw);
        for (int64_t o = 0; o < O; o++)
          for (int64_t oh = 0; oh < Ho; oh++)
            memcpy(gyp + (o * Ho + oh) * GW, gy + ((n * O + o) * Ho + oh) * Wo, sizeof(float) * (size_t)Wo);
        nn_wgt_table[nv](xp, gyp, xoff, part + ch * PS, Opad, Kpad, Ho, Wp, Wo);
      }
    }
    nn_scratch_free(xp, C * R * Wp);
    nn_scratch_free(gyp, Opad * Ho * GW);
  });
  if (!bad) {
    for (int64_t ch = 1; ch < nch; ch++) /* chunks into the first, lane-wise, in chunk order */
      for (int64_t i = 0; i < PS; i++) part[i] += part[ch * PS + i];
    for (int64_t o = 0; o < O; o++)
      for (int64_t kk = 0; kk < K; kk++) {
        const float *l = part + (o * Kpad + kk) * NN_VL;
        double s = 0;
        for (int i = 0; i < NN_VL; i++) s += l[i];
        gw[o * K + kk] = (float)s;
      }
  }
  nn_scratch_free(part, nch * PS);
  free(xoff);
  return bad ? nl_failc("conv2d_backward: out of memory for the direct convolution's scratch") : 0;
}
