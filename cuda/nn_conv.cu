/* nn_conv.cu: im2col and col2im for the device convolutions of nn/conv.c (the GEMMs are
 * nl_matmul's, i.e. cuda/gemm.cu's cuBLAS calls; only the layout kernels live here).
 *
 * col is (N, C*kh*kw, Ho*Wo) contiguous, row (c, i, j) holding x[n, c, oh*sh - ph + i*dh,
 * ow*sw - pw + j*dw] (0 outside x): for groups G it is the (N, G, Cg*kh*kw, L) tensor of the
 * front end. col2im is a gather (each x element sums the col entries that read it, in
 * increasing (i, j), no atomics): deterministic. */
#include "nl_cu.cuh"
#include "nl_cuda_nn.h" /* nn/nl_nn_kernel.h and the kernels' declarations */

template <typename T>
__global__ void nl_im2col_k(const T *x, T *col, nl_nn_geo g) {
  int64_t L = g.Ho * g.Wo, n = g.N * g.C * g.kh * g.kw * L;
  NL_CU_LOOP(e, n) {
    int64_t l = e % L, r = e / L;
    int64_t j = r % g.kw, i = (r / g.kw) % g.kh, nc = r / (g.kw * g.kh); /* nc = n*C + c */
    int64_t oh = l / g.Wo, ow = l % g.Wo;
    int64_t h = oh * g.sh - g.ph + i * g.dh, w = ow * g.sw - g.pw + j * g.dw;
    col[e] = (h >= 0 && h < g.H && w >= 0 && w < g.W) ? x[(nc * g.H + h) * g.W + w] : (T)0;
  }
}

template <typename T>
__global__ void nl_col2im_k(const T *col, T *x, nl_nn_geo g) {
  int64_t L = g.Ho * g.Wo, n = g.N * g.C * g.H * g.W;
  NL_CU_LOOP(e, n) {
    int64_t w = e % g.W, h = (e / g.W) % g.H, nc = e / (g.W * g.H);
    T acc = 0;
    for (int64_t i = 0; i < g.kh; i++) {
      int64_t hn = h + g.ph - i * g.dh;
      if (hn < 0 || hn % g.sh) continue;
      int64_t oh = hn / g.sh;
      if (oh >= g.Ho) continue;
      for (int64_t j = 0; j < g.kw; j++) {
        int64_t wn = w + g.pw - j * g.dw;
        if (wn < 0 || wn % g.sw) continue;
        int64_t ow = wn / g.sw;
        if (ow >= g.Wo) continue;
        acc += col[((nc * g.kh + i) * g.kw + j) * L + oh * g.Wo + ow];
      }
    }
    x[e] = acc;
  }
}

void nl_cuda_nn_im2col(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  if (a->out->dtype == NL_FLOAT32)
    nl_im2col_k<float> NL_LAUNCH(n)((const float *)nl_data(a->in[0]), (float *)nl_data(a->out), g);
  else
    nl_im2col_k<double> NL_LAUNCH(n)((const double *)nl_data(a->in[0]), (double *)nl_data(a->out), g);
  nl_cu_check_launch("conv2d (im2col)");
}

void nl_cuda_nn_col2im(const nl_nn_kargs *a) {
  const nl_nn_geo &g = a->geo;
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  if (a->out->dtype == NL_FLOAT32)
    nl_col2im_k<float> NL_LAUNCH(n)((const float *)nl_data(a->in[0]), (float *)nl_data(a->out), g);
  else
    nl_col2im_k<double> NL_LAUNCH(n)((const double *)nl_data(a->in[0]), (double *)nl_data(a->out), g);
  nl_cu_check_launch("conv2d (col2im)");
}
