/* nn_adaptive.cu: adaptive_avg_pool2d and adaptive_max_pool2d on CUDA, forward and backward
 * (NL_NN_ADAPTIVE_* of nn/nl_nn_kernel.h; the front ends are nn/pool.c's, which validate and
 * allocate).
 *
 * Planes: P = N*C contiguous planes of H x W (inputs) and Ho x Wo (outputs); output (oh, ow)
 * pools the window [astart, aend) of nn/nl_nn_math.h (PyTorch's), the CPU loop's. The average
 * accumulates in double and rounds once, like the CPU's float64 buffers; the max keeps the
 * CPU's first-max / NaN-wins rule. Both backwards are gathers, one thread per input element
 * over the windows that hold it in increasing (oh, ow): the additions of the CPU's scatter in
 * its order (double for the average, T for the max, as on the CPU), so they match it bit for
 * bit with no atomics. The max backward takes the forward's indices: each points inside its
 * own window (an index elsewhere, which no forward produces, would be dropped here). */
#include "nl_cu.cuh"
#include "nl_cuda_nn.h" /* nn/nl_nn_kernel.h and the kernels' declarations */
#include "../nn/nl_nn_math.h"

/* The outputs along one dim whose windows may hold input coordinate i: [*lo, *hi]. */
__device__ __forceinline__ void nl_adapt_range(int64_t i, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
  *lo = (i * out) / in;
  *hi = ((i + 1) * out + in - 1) / in - 1;
  if (*hi > out - 1) *hi = out - 1;
}

template <typename T>
__global__ void nl_aavg_k(const T *x, T *y, nl_nn_geo g) {
  int64_t n = g.N * g.Ho * g.Wo;
  NL_CU_LOOP(i, n) {
    int64_t ow = i % g.Wo, oh = (i / g.Wo) % g.Ho, pl = i / (g.Wo * g.Ho);
    int64_t h0 = nl_nn_astart(oh, g.H, g.Ho), h1 = nl_nn_aend(oh, g.H, g.Ho);
    int64_t w0 = nl_nn_astart(ow, g.W, g.Wo), w1 = nl_nn_aend(ow, g.W, g.Wo);
    const T *xp = x + pl * g.H * g.W;
    double acc = 0;
    for (int64_t h = h0; h < h1; h++)
      for (int64_t w = w0; w < w1; w++) acc += (double)xp[h * g.W + w];
    y[i] = (T)(acc / (double)((h1 - h0) * (w1 - w0)));
  }
}

template <typename T>
__global__ void nl_aavg_bwd_k(const T *gy, T *gx, nl_nn_geo g) {
  int64_t n = g.N * g.H * g.W;
  NL_CU_LOOP(i, n) {
    int64_t w = i % g.W, h = (i / g.W) % g.H, pl = i / (g.W * g.H);
    int64_t ohlo, ohhi, owlo, owhi;
    nl_adapt_range(h, g.H, g.Ho, &ohlo, &ohhi);
    nl_adapt_range(w, g.W, g.Wo, &owlo, &owhi);
    const T *gp = gy + pl * g.Ho * g.Wo;
    double acc = 0;
    for (int64_t oh = ohlo; oh <= ohhi; oh++) {
      int64_t h0 = nl_nn_astart(oh, g.H, g.Ho), h1 = nl_nn_aend(oh, g.H, g.Ho);
      if (h < h0 || h >= h1) continue;
      for (int64_t ow = owlo; ow <= owhi; ow++) {
        int64_t w0 = nl_nn_astart(ow, g.W, g.Wo), w1 = nl_nn_aend(ow, g.W, g.Wo);
        if (w < w0 || w >= w1) continue;
        acc += (double)gp[oh * g.Wo + ow] / (double)((h1 - h0) * (w1 - w0));
      }
    }
    gx[i] = (T)acc;
  }
}

template <typename T>
__global__ void nl_amax_k(const T *x, T *y, long long *ix, nl_nn_geo g) {
  int64_t n = g.N * g.Ho * g.Wo;
  NL_CU_LOOP(i, n) {
    int64_t ow = i % g.Wo, oh = (i / g.Wo) % g.Ho, pl = i / (g.Wo * g.Ho);
    int64_t h0 = nl_nn_astart(oh, g.H, g.Ho), h1 = nl_nn_aend(oh, g.H, g.Ho);
    int64_t w0 = nl_nn_astart(ow, g.W, g.Wo), w1 = nl_nn_aend(ow, g.W, g.Wo);
    const T *xp = x + pl * g.H * g.W;
    T m = (T)-INFINITY;
    int64_t best = h0 * g.W + w0;
    for (int64_t h = h0; h < h1; h++)
      for (int64_t w = w0; w < w1; w++) {
        T v = xp[h * g.W + w];
        if (v > m || isnan(v)) m = v, best = h * g.W + w;
      }
    y[i] = m;
    ix[i] = best;
  }
}

template <typename T>
__global__ void nl_amax_bwd_k(const T *gy, const long long *ix, T *gx, nl_nn_geo g) {
  int64_t n = g.N * g.H * g.W;
  NL_CU_LOOP(i, n) {
    int64_t w = i % g.W, h = (i / g.W) % g.H, pl = i / (g.W * g.H), k = h * g.W + w;
    int64_t ohlo, ohhi, owlo, owhi;
    nl_adapt_range(h, g.H, g.Ho, &ohlo, &ohhi);
    nl_adapt_range(w, g.W, g.Wo, &owlo, &owhi);
    const T *gp = gy + pl * g.Ho * g.Wo;
    const long long *ip = ix + pl * g.Ho * g.Wo;
    T acc = 0;
    for (int64_t oh = ohlo; oh <= ohhi; oh++)
      for (int64_t ow = owlo; ow <= owhi; ow++)
        if (ip[oh * g.Wo + ow] == k) acc += gp[oh * g.Wo + ow];
    gx[i] = acc;
  }
}

void nl_cuda_nn_adaptive_avg(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = g.N * g.Ho * g.Wo;
  if (n == 0) return;
  if (a->out->dtype == NL_FLOAT32) nl_aavg_k<float> NL_LAUNCH(n)(NL_F(const float, a->in[0]), NL_F(float, a->out), g);
  else nl_aavg_k<double> NL_LAUNCH(n)(NL_F(const double, a->in[0]), NL_F(double, a->out), g);
  nl_cu_check_launch("adaptive_avg_pool2d");
}

void nl_cuda_nn_adaptive_avg_bwd(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = g.N * g.H * g.W;
  if (n == 0) return;
  if (a->out->dtype == NL_FLOAT32) nl_aavg_bwd_k<float> NL_LAUNCH(n)(NL_F(const float, a->in[0]), NL_F(float, a->out), g);
  else nl_aavg_bwd_k<double> NL_LAUNCH(n)(NL_F(const double, a->in[0]), NL_F(double, a->out), g);
  nl_cu_check_launch("adaptive_avg_pool2d_backward");
}

void nl_cuda_nn_adaptive_max(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = g.N * g.Ho * g.Wo;
  if (n == 0) return;
  long long *ix = (long long *)nl_data(a->out2);
  if (a->out->dtype == NL_FLOAT32) nl_amax_k<float> NL_LAUNCH(n)(NL_F(const float, a->in[0]), NL_F(float, a->out), ix, g);
  else nl_amax_k<double> NL_LAUNCH(n)(NL_F(const double, a->in[0]), NL_F(double, a->out), ix, g);
  nl_cu_check_launch("adaptive_max_pool2d");
}

void nl_cuda_nn_adaptive_max_bwd(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = g.N * g.H * g.W;
  if (n == 0) return;
  const long long *ix = (const long long *)nl_data(a->in[1]);
  if (a->out->dtype == NL_FLOAT32)
    nl_amax_bwd_k<float> NL_LAUNCH(n)(NL_F(const float, a->in[0]), ix, NL_F(float, a->out), g);
  else nl_amax_bwd_k<double> NL_LAUNCH(n)(NL_F(const double, a->in[0]), ix, NL_F(double, a->out), g);
  nl_cu_check_launch("adaptive_max_pool2d_backward");
}
