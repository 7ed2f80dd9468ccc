/* pool.c: max_pool2d/1d (values + argmax indices), avg_pool2d, adaptive_avg_pool2d and
 * adaptive_max_pool2d, forward and backward (CPU loops here; CUDA tensors take the device
 * paths, cuda/nn_pool.cu and nn_adaptive.cu through nl_nn_run). Inputs (N, C, H, W) or
 * (C, H, W) are handled as P = N*C planes of H x W. Max pooling runs in the input's dtype
 * (exact); the averages are computed in float64 (a rounding better than float32) and cast
 * back. Indices are flat positions h*W + w inside each plane, as PyTorch's. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nl_nn_kernel.h"
#include "nl_nn_math.h"
#include "nn_util.h"

/* ---- device paths (CUDA: nl_nn_run kernels of cuda/nn_pool.cu) ------------------------------
 * x contiguous, P planes of H x W; results allocated on x's device. */
static int nn_pool_dev(nl_nn_op op, const char *name, const nl_tensor *in, nl_tensor *out,
                       nl_tensor *out2, const nl_tensor *in2, const nl_pool_params *p, int64_t P,
                       int64_t H, int64_t W, int64_t OH, int64_t OW) {
  nl_tensor *c = nn_contig(in), *c2 = nn_contig(in2);
  if (!c || (in2 && !c2)) {
    nl_tensor_free(c), nl_tensor_free(c2);
    return -1;
  }
  nl_nn_kargs a = {0};
  a.out = out, a.out2 = out2, a.in[0] = c, a.in[1] = c2;
  nl_nn_geo g = {P, 1, H, W, OH, OW, p->kernel[0], p->kernel[1], p->stride[0], p->stride[1],
                 p->padding[0], p->padding[1], p->dilation[0], p->dilation[1], p->divisor_override};
  a.geo = g;
  a.flags = (p->ceil_mode ? NL_NN_F_CEIL : 0) | (p->count_include_pad ? NL_NN_F_COUNT_PAD : 0);
  int st = nl_nn_run(op, &a, name);
  nl_tensor_free(c), nl_tensor_free(c2);
  return st;
}

/* The adaptive pools' kernels (cuda/nn_adaptive.cu) on P planes of H x W -> OH x OW. */
static int nn_adaptive_dev(nl_nn_op op, const char *name, const nl_tensor *in, nl_tensor *out, nl_tensor *out2,
                           const nl_tensor *in2, int64_t P, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  nl_pool_params q = {{0, 0}, {0, 0}, {0, 0}, {0, 0}, false, false, 0};
  return nn_pool_dev(op, name, in, out, out2, in2, &q, P, H, W, OH, OW);
}

/* PyTorch's pooling_output_shape, in 128-bit arithmetic: the operands are positive int64
 * from Lua and may be huge (kernel_size = math.maxinteger with stride 2^40 overflowed int64,
 * found by the fuzzer). The result saturates to [-1, INT64_MAX]; anything < 1 is refused. */
static int64_t nn_pool_out(int64_t in, int64_t k, int64_t pad, int64_t s, int64_t d, bool ceil_mode) {
  __int128 S = s, num = (__int128)in + 2 * (__int128)pad - (__int128)d * (k - 1) - 1 + (ceil_mode ? S - 1 : 0);
  __int128 out = (num >= 0 ? num / S : -((-num + S - 1) / S)) + 1;
  if (ceil_mode && (out - 1) * S >= (__int128)in + pad) out--;
  if (out < 0) return -1;
  return out > INT64_MAX ? INT64_MAX : (int64_t)out;
}

/* Checks x and p; fills the plane count and output size. avg: no dilation. */
static int nn_pool_check(const char *op, const nl_tensor *x, const nl_pool_params *p, bool one_d,
                         int64_t *P, int64_t *oh, int64_t *ow) {
  if (nn_check_float(op, "input", x)) return -1;
  int nd = one_d ? 1 : 2;
  if (x->ndim != nd + 1 && x->ndim != nd + 2)
    return nl_failc("%s: expected input with %s, got %s", op,
                    one_d ? "2 or 3 dims ((N,) C, L)" : "3 or 4 dims ((N,) C, H, W)", SHP(x));
  for (int i = 2 - nd; i < 2; i++) {
    if (p->kernel[i] <= 0) return nl_failc("%s: kernel_size must be positive, got %lld", op, (long long)p->kernel[i]);
    if (p->stride[i] <= 0) return nl_failc("%s: stride must be positive, got %lld", op, (long long)p->stride[i]);
    if (p->dilation[i] <= 0) return nl_failc("%s: dilation must be positive, got %lld", op, (long long)p->dilation[i]);
    if (p->padding[i] < 0 || p->padding[i] > p->kernel[i] / 2)
      return nl_failc("%s: pad should be at most half of kernel size, but got pad=%lld and kernel_size=%lld",
                      op, (long long)p->padding[i], (long long)p->kernel[i]);
  }
  int64_t H = one_d ? 1 : x->shape[x->ndim - 2], W = x->shape[x->ndim - 1];
  *oh = one_d ? 1 : nn_pool_out(H, p->kernel[0], p->padding[0], p->stride[0], p->dilation[0], p->ceil_mode);
  *ow = nn_pool_out(W, p->kernel[1], p->padding[1], p->stride[1], p->dilation[1], p->ceil_mode);
  if (*oh < 1 || *ow < 1)
    return nl_failc("%s: input %s is too small for kernel %lldx%lld (output size %lldx%lld)", op, SHP(x),
                    (long long)p->kernel[0], (long long)p->kernel[1], (long long)*oh, (long long)*ow);
  *P = 1;
  for (int i = 0; i < x->ndim - nd; i++) *P *= x->shape[i];
  return 0;
}

/* The output shape: x's leading dims, then (oh, ow) (or (ow) for 1-d). */
static int nn_out_shape(const nl_tensor *x, int nd, int64_t oh, int64_t ow, int64_t *shape) {
  int n = x->ndim;
  for (int i = 0; i < n - nd; i++) shape[i] = x->shape[i];
  if (nd == 2) shape[n - 2] = oh;
  shape[n - 1] = ow;
  return n;
}

/* The max-pool loops in the input's own type (max is exact in any float type: no float64
 * round trip). xs: P planes of H x W (contiguous). */
typedef struct nn_mp_geo {
  int64_t P, H, W, OH, OW, kh, kw, sh, sw, ph, pw, dh, dw;
} nn_mp_geo;
/* One 2x2 window, output column ow of the row pair r0 / r1 (b0: r0's flat offset in the plane):
 * the four candidates in the general loop's order (row-major in the window, first maximum
 * wins, NaN wins), with constant offsets and selects so a loop over ow vectorises. */
#define NN_MP22_WINDOW(T, r0, r1, b0, W, ow, yout, iout)                                           \
  do {                                                                                           \
    T m_ = (r0)[2 * (ow)], v_;                                                                   \
    int64_t best_ = (b0) + 2 * (ow);                                                             \
    int up_;                                                                                     \
    v_ = (r0)[2 * (ow) + 1], up_ = (v_ > m_) | (v_ != v_), m_ = up_ ? v_ : m_;                     \
    best_ = up_ ? (b0) + 2 * (ow) + 1 : best_;                                                   \
    v_ = (r1)[2 * (ow)], up_ = (v_ > m_) | (v_ != v_), m_ = up_ ? v_ : m_;                         \
    best_ = up_ ? (b0) + (W) + 2 * (ow) : best_;                                                 \
    v_ = (r1)[2 * (ow) + 1], up_ = (v_ > m_) | (v_ != v_), m_ = up_ ? v_ : m_;                     \
    best_ = up_ ? (b0) + (W) + 2 * (ow) + 1 : best_;                                             \
    (yout) = m_;                                                                                 \
    (iout) = best_;                                                                              \
  } while (0)

/* One plane of a 2x2 stride-2 max pool without padding, every window inside the plane:
 * y (OH, OW), flat argmax ix (OH, OW) of x (H rows of W). */
#define NN_MP22(T, S)                                                                            \
  NN_CLONES static void nn_mp22##S(const T *restrict xp, T *restrict yp, int64_t *restrict ip,   \
                                   int64_t W, int64_t OH, int64_t OW) {                          \
    for (int64_t oh = 0; oh < OH; oh++) {                                                        \
      const T *r0 = xp + 2 * oh * W, *r1 = r0 + W;                                               \
      int64_t b0 = 2 * oh * W;                                                                   \
      for (int64_t ow = 0; ow < OW; ow++) NN_MP22_WINDOW(T, r0, r1, b0, W, ow, yp[oh * OW + ow], ip[oh * OW + ow]); \
    }                                                                                            \
  }
NN_MP22(float, _f32)
NN_MP22(double, _f64)
#undef NN_MP22

/* The same windows for float32 rows of at most 16 outputs (LeNet's 14 and 5, Fashion's 13
 * and 5), where the loop above never reaches its vector body: the window loop runs over a
 * constant 16 lanes into a buffer (one vector of each kind), and OW of them are kept. Lanes
 * past OW read the row's tail or the next row. Rows whose 16 lanes would read past `end` (one
 * past the last float of x) loop over their OW windows only. */
NN_CLONES static void nn_mp22v_f32(const float *restrict xp, float *restrict yp, int64_t *restrict ip,
                                   int64_t W, int64_t OH, int64_t OW, const float *end) {
  for (int64_t oh = 0; oh < OH; oh++) {
    const float *r0 = xp + 2 * oh * W, *r1 = r0 + W;
    int64_t b0 = 2 * oh * W;
    if (r1 + 32 > end) {
      for (int64_t ow = 0; ow < OW; ow++) NN_MP22_WINDOW(float, r0, r1, b0, W, ow, yp[oh * OW + ow], ip[oh * OW + ow]);
      continue;
    }
    float yv[16];
    int64_t iv[16];
    for (int ow = 0; ow < 16; ow++) NN_MP22_WINDOW(float, r0, r1, b0, W, ow, yv[ow], iv[ow]);
    for (int64_t ow = 0; ow < OW; ow++) yp[oh * OW + ow] = yv[ow], ip[oh * OW + ow] = iv[ow];
  }
}
#undef NN_MP22_WINDOW

#define NN_MAXPOOL(T, S)                                                                          \
  static void nn_max_pool_fwd##S(const T *xs, T *ys, int64_t *is, const nn_mp_geo *g) {           \
    int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW;                                          \
    /* fast path: no padding or dilation, every window inside the plane (LeNet's 2x2/2) */     \
    if (g->ph == 0 && g->pw == 0 && g->dh == 1 && g->dw == 1 && OH > 0 && OW > 0 &&              \
        (OH - 1) * g->sh + g->kh <= H && (OW - 1) * g->sw + g->kw <= W) {                        \
      if (g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2) { /* LeNet's 2x2/2 */             \
        NL_OMP_FOR_IF(g->P * OH * OW > 262144,                                 \
        for (int64_t pl = 0; pl < g->P; pl++) {                                                  \
          if (sizeof(T) == sizeof(float) && OW <= 16 && W <= INT32_MAX / 2)                      \
            nn_mp22v_f32((const float *)xs + pl * H * W, (float *)ys + pl * OH * OW,             \
                         is + pl * OH * OW, W, OH, OW, (const float *)xs + g->P * H * W);    \
          else                                                                                   \
            nn_mp22##S(xs + pl * H * W, ys + pl * OH * OW, is + pl * OH * OW, W, OH, OW);        \
        });                                                                                        \
        return;                                                                                  \
      }                                                                                          \
      int64_t kh = g->kh, kw = g->kw, sh = g->sh, sw = g->sw;                                    \
      NL_OMP_FOR_IF(g->P * OH * OW > 262144,                                   \
      for (int64_t pl = 0; pl < g->P; pl++) {                                                    \
        const T *xp = xs + pl * H * W;                                                           \
        T *yp = ys + pl * OH * OW;                                                               \
        int64_t *ip = is + pl * OH * OW;                                                         \
        for (int64_t oh = 0; oh < OH; oh++)                                                      \
          for (int64_t ow = 0; ow < OW; ow++) {                                                  \
            int64_t b0 = oh * sh * W + ow * sw, best = b0;                                       \
            T m = xp[b0];                                                                        \
            for (int64_t h = 0; h < kh; h++)                                                     \
              for (int64_t w = 0; w < kw; w++) {                                                 \
                int64_t k = b0 + h * W + w;                                                      \
                T v = xp[k];                                                                     \
                int up = (v > m) | (v != v); /* selects, not branches (random data) */         \
                m = up ? v : m;                                                                  \
                best = up ? k : best;                                                            \
              }                                                                                  \
            yp[oh * OW + ow] = m;                                                                \
            ip[oh * OW + ow] = best;                                                             \
          }                                                                                      \
      });                                                                                          \
      return;                                                                                    \
    }                                                                                            \
    NL_OMP_FOR_IF(g->P * OH * OW > 32768,                                      \
    for (int64_t pl = 0; pl < g->P; pl++)                                                        \
      for (int64_t oh = 0; oh < OH; oh++)                                                        \
        for (int64_t ow = 0; ow < OW; ow++) {                                                    \
          int64_t hs = oh * g->sh - g->ph, ws = ow * g->sw - g->pw;                              \
          int64_t he = hs + (g->kh - 1) * g->dh + 1 < H ? hs + (g->kh - 1) * g->dh + 1 : H;      \
          int64_t we = ws + (g->kw - 1) * g->dw + 1 < W ? ws + (g->kw - 1) * g->dw + 1 : W;      \
          while (hs < 0) hs += g->dh;                                                            \
          while (ws < 0) ws += g->dw;                                                            \
          int64_t best = hs * W + ws;                                                            \
          T m = -INFINITY;                                                                       \
          const T *xp = xs + pl * H * W;                                                         \
          for (int64_t h = hs; h < he; h += g->dh)                                               \
            for (int64_t w = ws; w < we; w += g->dw) {                                           \
              T v = xp[h * W + w];                                                               \
              if (v > m || isnan(v)) m = v, best = h * W + w;                                    \
            }                                                                                    \
          ys[(pl * OH + oh) * OW + ow] = m;                                                      \
          is[(pl * OH + oh) * OW + ow] = best;                                                   \
        });                                                                                        \
  }                                                                                              \
  /* o (P planes of HW, zeroed) += g scattered through ix (P planes of OHW) */                  \
  static void nn_max_pool_bwd##S(const T *g, const int64_t *ix, T *o, int64_t P, int64_t OHW,    \
                                 int64_t HW) {                                                   \
    for (int64_t pl = 0; pl < P; pl++)                                                           \
      for (int64_t j = 0; j < OHW; j++) {                                                        \
        int64_t k = ix[pl * OHW + j];                                                            \
        if (k < 0 || k >= HW) continue; /* corrupt index: ignored, never written out of bounds */ \
        o[pl * HW + k] += g[pl * OHW + j];                                                       \
      }                                                                                          \
  }
NN_MAXPOOL(float, _f32)
NN_MAXPOOL(double, _f64)
#undef NN_MAXPOOL

static int nn_max_pool(const char *op, const nl_tensor *x, const nl_pool_params *p, bool one_d,
                       nl_tensor **y, nl_tensor **idx) {
  int64_t P = 0, OH = 0, OW = 0, shape[NL_MAXDIM];
  if (nn_pool_check(op, x, p, one_d, &P, &OH, &OW)) return -1;
  int n = nn_out_shape(x, one_d ? 1 : 2, OH, OW, shape);
  nn_mp_geo g = {P, one_d ? 1 : x->shape[x->ndim - 2], x->shape[x->ndim - 1], OH, OW,
                 p->kernel[0], p->kernel[1], p->stride[0], p->stride[1], p->padding[0], p->padding[1],
                 p->dilation[0], p->dilation[1]};
  if (one_d) g.kh = g.sh = g.dh = 1, g.ph = 0;
  if (nn_dev(x)) { /* 1-d: the 2-d kernel on planes of 1 x L, a window of 1 x k */
    nl_pool_params q = *p;
    if (one_d) q.kernel[0] = q.stride[0] = q.dilation[0] = 1, q.padding[0] = 0;
    nl_tensor *yd = nl_empty(n, shape, x->dtype, nl_device_of(x));
    nl_tensor *id = nl_empty(n, shape, NL_INT64, nl_device_of(x));
    if (!yd || !id || nn_pool_dev(NL_NN_MAX_POOL2D, op, x, yd, id, NULL, &q, P, g.H, g.W, OH, OW)) {
      nl_tensor_free(yd), nl_tensor_free(id);
      return -1;
    }
    nn_out(y, yd);
    nn_out(idx, id);
    return 0;
  }
  nl_tensor *xc = nn_contig(x), *yt = nl_empty(n, shape, x->dtype, nl_cpu());
  nl_tensor *ri = nl_empty(n, shape, NL_INT64, nl_cpu());
  if (!xc || !yt || !ri) {
    nl_tensor_free(xc), nl_tensor_free(yt), nl_tensor_free(ri);
    return -1;
  }
  if (x->dtype == NL_FLOAT32) nn_max_pool_fwd_f32(nl_data(xc), nl_data(yt), L64(ri), &g);
  else nn_max_pool_fwd_f64(nl_data(xc), nl_data(yt), L64(ri), &g);
  nl_tensor_free(xc);
  nn_out(y, yt);
  nn_out(idx, ri);
  return 0;
}

int nl_max_pool2d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx) {
  NN_DEVICE_SCOPE(int, nn_max_pool("max_pool2d", x, p, false, y, idx));
}
int nl_max_pool1d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx) {
  NN_DEVICE_SCOPE(int, nn_max_pool("max_pool1d", x, p, true, y, idx));
}

/* pooled dims nd: 2 (planes of H x W) or 1 (rows of L). adaptive: the indices are those of
 * adaptive_max_pool2d (same CPU scatter; the device gathers through the adaptive windows). */
static nl_tensor *nn_max_pool_backward(const char *op, int nd, bool adaptive, const nl_tensor *gy, const nl_tensor *x,
                                       const nl_tensor *idx) {
  if (nn_check_float(op, "input", x) || nn_check_same(op, "grad_output", gy, x) ||
      nn_check_long(op, "indices", idx))
    return NULL;
  if (gy->ndim != x->ndim || idx->ndim != x->ndim || x->ndim < nd)
    return nl_fail("%s: grad_output %s, indices %s and input %s do not match", op, SHP(gy), SHP(idx), SHP(x));
  for (int i = 0; i < gy->ndim; i++)
    if (gy->shape[i] != idx->shape[i] || (i < gy->ndim - nd && gy->shape[i] != x->shape[i]))
      return nl_fail("%s: grad_output %s, indices %s and input %s do not match", op, SHP(gy), SHP(idx), SHP(x));
  /* planes: dims before the last two of x (1-d pooling: the last one) */
  int64_t HW = x->shape[x->ndim - 1] * (nd == 2 ? x->shape[x->ndim - 2] : 1), P = 1;
  for (int i = 0; i < x->ndim - nd; i++) P *= x->shape[i];
  int64_t OHW = nl_numel(gy) / (P > 0 ? P : 1);
  if (!nl_device_eq(nl_device_of(idx), nl_device_of(x)))
    return nl_fail("%s: expected indices on the same device as input", op);
  if (nn_dev(x) && adaptive) { /* cuda/nn_adaptive.cu: a gather, deterministic */
    nl_tensor *gx = nl_empty(x->ndim, x->shape, x->dtype, nl_device_of(x));
    if (!gx || nn_adaptive_dev(NL_NN_ADAPTIVE_MAX_BWD, op, gy, gx, NULL, idx, P, x->shape[x->ndim - 2],
                               x->shape[x->ndim - 1], gy->shape[gy->ndim - 2], gy->shape[gy->ndim - 1])) {
      nl_tensor_free(gx);
      return NULL;
    }
    return gx;
  }
  if (nn_dev(x)) {
    nl_tensor *gx = nl_zeros(x->ndim, x->shape, x->dtype, nl_device_of(x));
    nl_pool_params q = {{1, 1}, {1, 1}, {0, 0}, {1, 1}, false, false, 0};
    if (!gx || nn_pool_dev(NL_NN_MAX_POOL2D_BWD, op, gy, gx, NULL, idx, &q, P, 1, HW, 1, OHW)) {
      nl_tensor_free(gx);
      return NULL;
    }
    return gx;
  }
  nl_tensor *gd = nn_contig(gy), *ic = nn_contig(idx), *gx = nl_zeros(x->ndim, x->shape, x->dtype, nl_cpu());
  if (!gd || !ic || !gx) {
    nl_tensor_free(gd), nl_tensor_free(ic), nl_tensor_free(gx);
    return NULL;
  }
  if (x->dtype == NL_FLOAT32) nn_max_pool_bwd_f32(nl_data(gd), L64(ic), nl_data(gx), P, OHW, HW);
  else nn_max_pool_bwd_f64(nl_data(gd), L64(ic), nl_data(gx), P, OHW, HW);
  nl_tensor_free(gd), nl_tensor_free(ic);
  return gx;
}

nl_tensor *nl_max_pool2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *idx) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_max_pool_backward("max_pool2d_backward", 2, false, gy, x, idx));
}
nl_tensor *nl_adaptive_max_pool2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *idx) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_max_pool_backward("adaptive_max_pool2d_backward", 2, true, gy, x, idx));
}
nl_tensor *nl_max_pool1d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *idx) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_max_pool_backward("max_pool1d_backward", 1, false, gy, x, idx));
}

/* avg_pool2d forward (gy == NULL) or backward (gx += gy / divisor over each window). */
static nl_tensor *nn_avg_pool(const char *op, const nl_tensor *x, const nl_tensor *gy,
                              const nl_pool_params *p0) {
  nl_pool_params p = *p0;
  p.dilation[0] = p.dilation[1] = 1;
  int64_t P = 0, OH = 0, OW = 0, shape[NL_MAXDIM];
  if (nn_pool_check(op, x, &p, false, &P, &OH, &OW)) return NULL;
  int n = nn_out_shape(x, 2, OH, OW, shape);
  if (gy) {
    if (nn_check_same(op, "grad_output", gy, x)) return NULL;
    int ok = gy->ndim == n;
    for (int i = 0; ok && i < n; i++) ok = gy->shape[i] == shape[i];
    if (!ok) return nl_fail("%s: expected grad_output of shape %s, got %s", op, nl_shape_str(n, shape, (char[160]){0}, 160), SHP(gy));
  }
  int64_t H = x->shape[x->ndim - 2], W = x->shape[x->ndim - 1];
  if (nn_dev(x)) {
    nl_tensor *r = gy ? nl_empty(x->ndim, x->shape, x->dtype, nl_device_of(x))
                      : nl_empty(n, shape, x->dtype, nl_device_of(x));
    if (!r || nn_pool_dev(gy ? NL_NN_AVG_POOL2D_BWD : NL_NN_AVG_POOL2D, op, gy ? gy : x, r, NULL, NULL,
                          &p, P, H, W, OH, OW)) {
      nl_tensor_free(r);
      return NULL;
    }
    return r;
  }
  nl_tensor *in = gy ? nn_f64(gy) : nn_f64(x);
  nl_tensor *out = gy ? nl_zeros(x->ndim, x->shape, NL_FLOAT64, nl_cpu()) : nl_empty(n, shape, NL_FLOAT64, nl_cpu());
  if (!in || !out) {
    nl_tensor_free(in), nl_tensor_free(out);
    return NULL;
  }
  const double *s = D(in);
  double *o = D(out);
  NL_OMP_FOR_IF(P * OH * OW > 32768,
  for (int64_t pl = 0; pl < P; pl++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t h0 = oh * p.stride[0] - p.padding[0], w0 = ow * p.stride[1] - p.padding[1];
        int64_t h1 = h0 + p.kernel[0] < H + p.padding[0] ? h0 + p.kernel[0] : H + p.padding[0];
        int64_t w1 = w0 + p.kernel[1] < W + p.padding[1] ? w0 + p.kernel[1] : W + p.padding[1];
        int64_t pool = (h1 - h0) * (w1 - w0);
        h0 = h0 > 0 ? h0 : 0, w0 = w0 > 0 ? w0 : 0, h1 = h1 < H ? h1 : H, w1 = w1 < W ? w1 : W;
        int64_t oi = (pl * OH + oh) * OW + ow;
        if (h0 >= h1 || w0 >= w1) {
          if (!gy) o[oi] = 0;
          continue;
        }
        double div = p.divisor_override ? (double)p.divisor_override
                     : p.count_include_pad ? (double)pool : (double)((h1 - h0) * (w1 - w0));
        if (gy) {
          double g = s[oi] / div;
          for (int64_t h = h0; h < h1; h++)
            for (int64_t w = w0; w < w1; w++) o[pl * H * W + h * W + w] += g;
        } else {
          double acc = 0;
          for (int64_t h = h0; h < h1; h++)
            for (int64_t w = w0; w < w1; w++) acc += s[pl * H * W + h * W + w];
          o[oi] = acc / div;
        }
      });
  nl_tensor_free(in);
  return nn_to(out, x->dtype);
}

nl_tensor *nl_avg_pool2d(const nl_tensor *x, const nl_pool_params *p) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_avg_pool("avg_pool2d", x, NULL, p));
}
nl_tensor *nl_avg_pool2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_pool_params *p) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_avg_pool("avg_pool2d_backward", x, gy, p));
}

/* ---- adaptive pooling ---------------------------------------------------------------------
 * Windows: nl_nn_math.h's nl_nn_astart / nl_nn_aend (shared with cuda/nn_adaptive.cu). */

static int nn_adaptive_check(const char *op, const nl_tensor *x, int64_t oh, int64_t ow, int64_t *P) {
  if (nn_check_float(op, "input", x)) return -1;
  if (x->ndim != 3 && x->ndim != 4)
    return nl_failc("%s: expected input with 3 or 4 dims ((N,) C, H, W), got %s", op, SHP(x));
  if (oh < 0 || ow < 0) return nl_failc("%s: output_size must be non-negative, got %lldx%lld", op, (long long)oh, (long long)ow);
  for (int i = 0; i < x->ndim - 2; i++)
    if (x->shape[i] == 0 && i > 0) return nl_failc("%s: input %s has an empty non-batch dim", op, SHP(x));
  *P = 1;
  for (int i = 0; i < x->ndim - 2; i++) *P *= x->shape[i];
  return 0;
}

/* forward (gy NULL) or backward of adaptive_avg_pool2d */
static nl_tensor *nn_adaptive_avg(const char *op, const nl_tensor *x, const nl_tensor *gy, int64_t OH, int64_t OW) {
  int64_t P, shape[NL_MAXDIM];
  if (nn_adaptive_check(op, x, OH, OW, &P)) return NULL;
  int n = nn_out_shape(x, 2, OH, OW, shape);
  if (gy && nn_check_same(op, "grad_output", gy, x)) return NULL;
  int64_t H = x->shape[x->ndim - 2], W = x->shape[x->ndim - 1];
  if (nn_dev(x)) { /* cuda/nn_adaptive.cu: the backward is a gather (no atomics) */
    nl_tensor *r = nl_empty(gy ? x->ndim : n, gy ? x->shape : shape, x->dtype, nl_device_of(x));
    if (!r || nn_adaptive_dev(gy ? NL_NN_ADAPTIVE_AVG_BWD : NL_NN_ADAPTIVE_AVG, op, gy ? gy : x, r, NULL, NULL, P, H,
                              W, OH, OW)) {
      nl_tensor_free(r);
      return NULL;
    }
    return r;
  }
  nl_tensor *in = nn_f64(gy ? gy : x);
  nl_tensor *out = gy ? nl_zeros(x->ndim, x->shape, NL_FLOAT64, nl_cpu()) : nl_empty(n, shape, NL_FLOAT64, nl_cpu());
  if (!in || !out) {
    nl_tensor_free(in), nl_tensor_free(out);
    return NULL;
  }
  const double *s = D(in);
  double *o = D(out);
  for (int64_t pl = 0; pl < P; pl++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t h0 = nl_nn_astart(oh, H, OH), h1 = nl_nn_aend(oh, H, OH);
        int64_t w0 = nl_nn_astart(ow, W, OW), w1 = nl_nn_aend(ow, W, OW);
        double cnt = (double)((h1 - h0) * (w1 - w0));
        int64_t oi = (pl * OH + oh) * OW + ow;
        if (gy) {
          for (int64_t h = h0; h < h1; h++)
            for (int64_t w = w0; w < w1; w++) o[pl * H * W + h * W + w] += s[oi] / cnt;
        } else {
          double acc = 0;
          for (int64_t h = h0; h < h1; h++)
            for (int64_t w = w0; w < w1; w++) acc += s[pl * H * W + h * W + w];
          o[oi] = acc / cnt;
        }
      }
  nl_tensor_free(in);
  return nn_to(out, x->dtype);
}

nl_tensor *nl_adaptive_avg_pool2d(const nl_tensor *x, int64_t oh, int64_t ow) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_adaptive_avg("adaptive_avg_pool2d", x, NULL, oh, ow));
}
nl_tensor *nl_adaptive_avg_pool2d_backward(const nl_tensor *gy, const nl_tensor *x) {
  /* grad_output: x's leading dims, then the output size */
  int ok = gy->ndim == x->ndim && gy->ndim >= 2;
  for (int i = 0; ok && i < x->ndim - 2; i++) ok = gy->shape[i] == x->shape[i];
  if (!ok) return nl_fail("adaptive_avg_pool2d_backward: grad_output %s does not match input %s", SHP(gy), SHP(x));
  NN_DEVICE_SCOPE(nl_tensor *, nn_adaptive_avg("adaptive_avg_pool2d_backward", x, gy, gy->shape[gy->ndim - 2],
                                               gy->shape[gy->ndim - 1]));
}

static int nn_adaptive_max(const nl_tensor *x, int64_t OH, int64_t OW, nl_tensor **y, nl_tensor **idx) {
  const char *op = "adaptive_max_pool2d";
  int64_t P, shape[NL_MAXDIM];
  if (nn_adaptive_check(op, x, OH, OW, &P)) return -1;
  int n = nn_out_shape(x, 2, OH, OW, shape);
  int64_t H = x->shape[x->ndim - 2], W = x->shape[x->ndim - 1];
  if (nn_dev(x)) { /* cuda/nn_adaptive.cu, in x's dtype (max is exact) */
    nl_tensor *yd = nl_empty(n, shape, x->dtype, nl_device_of(x)), *id = nl_empty(n, shape, NL_INT64, nl_device_of(x));
    if (!yd || !id || nn_adaptive_dev(NL_NN_ADAPTIVE_MAX, op, x, yd, id, NULL, P, H, W, OH, OW)) {
      nl_tensor_free(yd), nl_tensor_free(id);
      return -1;
    }
    nn_out(y, yd);
    nn_out(idx, id);
    return 0;
  }
  nl_tensor *xd = nn_f64(x), *yd = nl_empty(n, shape, NL_FLOAT64, nl_cpu()), *ri = nl_empty(n, shape, NL_INT64, nl_cpu());
  if (!xd || !yd || !ri) {
    nl_tensor_free(xd), nl_tensor_free(yd), nl_tensor_free(ri);
    return -1;
  }
  const double *s = D(xd);
  double *o = D(yd);
  int64_t *is = L64(ri);
  for (int64_t pl = 0; pl < P; pl++)
    for (int64_t oh = 0; oh < OH; oh++)
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t h0 = nl_nn_astart(oh, H, OH), h1 = nl_nn_aend(oh, H, OH);
        int64_t w0 = nl_nn_astart(ow, W, OW), w1 = nl_nn_aend(ow, W, OW);
        double m = -INFINITY;
        int64_t best = h0 * W + w0;
        for (int64_t h = h0; h < h1; h++)
          for (int64_t w = w0; w < w1; w++) {
            double v = s[pl * H * W + h * W + w];
            if (v > m || isnan(v)) m = v, best = h * W + w;
          }
        o[(pl * OH + oh) * OW + ow] = m;
        is[(pl * OH + oh) * OW + ow] = best;
      }
  nl_tensor_free(xd);
  nn_out(y, nn_to(yd, x->dtype));
  nn_out(idx, ri);
  return 0;
}
int nl_adaptive_max_pool2d(const nl_tensor *x, int64_t OH, int64_t OW, nl_tensor **y, nl_tensor **idx) {
  NN_DEVICE_SCOPE(int, nn_adaptive_max(x, OH, OW, y, idx));
}
