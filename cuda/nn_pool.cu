/* nn_pool.cu: max_pool2d and avg_pool2d on CUDA, forward and backward (NL_NN_* kernels of
 * nn/nl_nn_kernel.h; the front ends are nn/pool.c's, which validate and allocate).
 *
 * Planes: P = N*C contiguous planes of H x W (inputs) and Ho x Wo (outputs). Window rules are
 * pool.c's loop for loop (same clipping, same NaN propagation, same first-max tie rule), so
 * values and indices match the CPU. avg_pool accumulates in double and casts once, like the
 * CPU (which works in float64); its backward gathers, for each input element, the windows
 * covering it in increasing (oh, ow) order: the same additions in the same order as the
 * CPU's scatter, so the results match bit for bit. max_pool2d's backward scatters through
 * the indices with atomicAdd (overlapping windows may pick one input twice: the order of
 * those additions, and so the last bit of such sums, is not deterministic). */
#include "nl_cu.cuh"
#include "nl_cuda_nn.h" /* nn/nl_nn_kernel.h and the kernels' declarations */

template <typename T>
__global__ void nl_maxpool_k(const T *x, T *y, long long *ix, nl_nn_geo g) {
  int64_t n = g.N * g.Ho * g.Wo;
  NL_CU_LOOP(i, n) {
    int64_t ow = i % g.Wo, oh = (i / g.Wo) % g.Ho, pl = i / (g.Wo * g.Ho);
    int64_t H = g.H, W = g.W;
    int64_t hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
    int64_t he = hs + (g.kh - 1) * g.dh + 1 < H ? hs + (g.kh - 1) * g.dh + 1 : H;
    int64_t we = ws + (g.kw - 1) * g.dw + 1 < W ? ws + (g.kw - 1) * g.dw + 1 : W;
    while (hs < 0) hs += g.dh;
    while (ws < 0) ws += g.dw;
    int64_t best = hs * W + ws;
    T m = (T)-INFINITY;
    const T *xp = x + pl * H * W;
    for (int64_t h = hs; h < he; h += g.dh)
      for (int64_t w = ws; w < we; w += g.dw) {
        T v = xp[h * W + w];
        if (v > m || isnan(v)) m = v, best = h * W + w;
      }
    y[i] = m;
    ix[i] = best;
  }
}

/* gx (P planes of H*W, zeroed) += gy (P planes of Ho*Wo, Ho = 1) through ix */
template <typename T>
__global__ void nl_maxpool_bwd_k(const T *gy, const long long *ix, T *gx, nl_nn_geo g) {
  int64_t n = g.N * g.Wo, HW = g.H * g.W;
  NL_CU_LOOP(i, n) {
    int64_t pl = i / g.Wo, k = ix[i];
    if (k < 0 || k >= HW) continue; /* corrupt index: ignored, as on the CPU */
    atomicAdd(gx + pl * HW + k, gy[i]);
  }
}

/* window [h0, h1) x [w0, w1) of output (oh, ow) and its divisor; false when empty */
__device__ __forceinline__ bool nl_avg_win(const nl_nn_geo &g, int flags, int64_t oh, int64_t ow,
                                           int64_t *h0, int64_t *h1, int64_t *w0, int64_t *w1, double *div) {
  int64_t a0 = oh * g.sh - g.ph, b0 = ow * g.sw - g.pw;
  int64_t a1 = a0 + g.kh < g.H + g.ph ? a0 + g.kh : g.H + g.ph;
  int64_t b1 = b0 + g.kw < g.W + g.pw ? b0 + g.kw : g.W + g.pw;
  int64_t pool = (a1 - a0) * (b1 - b0);
  a0 = a0 > 0 ? a0 : 0, b0 = b0 > 0 ? b0 : 0, a1 = a1 < g.H ? a1 : g.H, b1 = b1 < g.W ? b1 : g.W;
  *h0 = a0, *h1 = a1, *w0 = b0, *w1 = b1;
  if (a0 >= a1 || b0 >= b1) return false;
  *div = g.divisor ? (double)g.divisor : (flags & NL_NN_F_COUNT_PAD) ? (double)pool : (double)((a1 - a0) * (b1 - b0));
  return true;
}

template <typename T>
__global__ void nl_avgpool_k(const T *x, T *y, nl_nn_geo g, int flags) {
  int64_t n = g.N * g.Ho * g.Wo;
  NL_CU_LOOP(i, n) {
    int64_t ow = i % g.Wo, oh = (i / g.Wo) % g.Ho, pl = i / (g.Wo * g.Ho);
    int64_t h0, h1, w0, w1;
    double div = 1;
    if (!nl_avg_win(g, flags, oh, ow, &h0, &h1, &w0, &w1, &div)) {
      y[i] = 0;
      continue;
    }
    double acc = 0;
    const T *xp = x + pl * g.H * g.W;
    for (int64_t h = h0; h < h1; h++)
      for (int64_t w = w0; w < w1; w++) acc += (double)xp[h * g.W + w];
    y[i] = (T)(acc / div);
  }
}

/* gx[h, w] = sum over the windows containing (h, w), in increasing (oh, ow), of gy / div */
template <typename T>
__global__ void nl_avgpool_bwd_k(const T *gy, T *gx, nl_nn_geo g, int flags) {
  int64_t n = g.N * g.H * g.W;
  NL_CU_LOOP(i, n) {
    int64_t w = i % g.W, h = (i / g.W) % g.H, pl = i / (g.W * g.H);
    /* candidate outputs: oh*sh - ph <= h < oh*sh - ph + kh */
    int64_t ohlo = h + g.ph - g.kh + 1, ohhi = h + g.ph;
    ohlo = ohlo <= 0 ? 0 : (ohlo + g.sh - 1) / g.sh;
    ohhi = ohhi < 0 ? -1 : ohhi / g.sh;
    if (ohhi >= g.Ho) ohhi = g.Ho - 1;
    int64_t owlo = w + g.pw - g.kw + 1, owhi = w + g.pw;
    owlo = owlo <= 0 ? 0 : (owlo + g.sw - 1) / g.sw;
    owhi = owhi < 0 ? -1 : owhi / g.sw;
    if (owhi >= g.Wo) owhi = g.Wo - 1;
    double acc = 0;
    const T *gp = gy + pl * g.Ho * g.Wo;
    for (int64_t oh = ohlo; oh <= ohhi; oh++)
      for (int64_t ow = owlo; ow <= owhi; ow++) {
        int64_t h0, h1, w0, w1;
        double div = 1;
        if (!nl_avg_win(g, flags, oh, ow, &h0, &h1, &w0, &w1, &div)) continue;
        if (h < h0 || h >= h1 || w < w0 || w >= w1) continue;
        acc += (double)gp[oh * g.Wo + ow] / div;
      }
    gx[i] = (T)acc;
  }
}

void nl_cuda_nn_max_pool2d(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = g.N * g.Ho * g.Wo;
  if (n == 0) return;
  long long *ix = (long long *)nl_data(a->out2);
  if (a->out->dtype == NL_FLOAT32) nl_maxpool_k<float> NL_LAUNCH(n)(NL_F(const float, a->in[0]), NL_F(float, a->out), ix, g);
  else nl_maxpool_k<double> NL_LAUNCH(n)(NL_F(const double, a->in[0]), NL_F(double, a->out), ix, g);
  nl_cu_check_launch("max_pool2d");
}

void nl_cuda_nn_max_pool2d_bwd(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = g.N * g.Wo;
  if (n == 0) return;
  const long long *ix = (const long long *)nl_data(a->in[1]);
  if (a->out->dtype == NL_FLOAT32) nl_maxpool_bwd_k<float> NL_LAUNCH(n)(NL_F(const float, a->in[0]), ix, NL_F(float, a->out), g);
  else nl_maxpool_bwd_k<double> NL_LAUNCH(n)(NL_F(const double, a->in[0]), ix, NL_F(double, a->out), g);
  nl_cu_check_launch("max_pool2d_backward");
}

void nl_cuda_nn_avg_pool2d(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = g.N * g.Ho * g.Wo;
  if (n == 0) return;
  if (a->out->dtype == NL_FLOAT32) nl_avgpool_k<float> NL_LAUNCH(n)(NL_F(const float, a->in[0]), NL_F(float, a->out), g, a->flags);
  else nl_avgpool_k<double> NL_LAUNCH(n)(NL_F(const double, a->in[0]), NL_F(double, a->out), g, a->flags);
  nl_cu_check_launch("avg_pool2d");
}

void nl_cuda_nn_avg_pool2d_bwd(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = g.N * g.H * g.W;
  if (n == 0) return;
  if (a->out->dtype == NL_FLOAT32) nl_avgpool_bwd_k<float> NL_LAUNCH(n)(NL_F(const float, a->in[0]), NL_F(float, a->out), g, a->flags);
  else nl_avgpool_bwd_k<double> NL_LAUNCH(n)(NL_F(const double, a->in[0]), NL_F(double, a->out), g, a->flags);
  nl_cu_check_launch("avg_pool2d_backward");
}
