/* nn_norm.cu: batch_norm, layer_norm and group_norm on CUDA, forward and backward (the
 * NL_NN_BN_* / NL_NN_ROWS_* kernels of nn/nl_nn_kernel.h; the front ends are nn/norm.c's,
 * which validate, allocate and convert the small vectors to float64).
 *
 * One block of NL_CU_THREADS threads per channel (batch_norm, the affine gradients) or per
 * row (layer/group norm), block-stride loops beyond the grid. Thread t folds the elements
 * t, t + blockDim, ... of its channel/row in double, then nl_cu_block_sum2 combines the
 * partials in a fixed tree: no atomics, the same result on every run. The formulas are
 * norm.c's term for term (two-pass mean/variance in double, the same scale/shift algebra,
 * one rounding to T at the end); only the order of the additions differs from the CPU's
 * serial loops (float64 accumulation keeps that difference far below float32's ulp). */
#include "nl_cu.cuh"
#include "nl_cuda_nn.h" /* nn/nl_nn_kernel.h and the kernels' declarations */

/* ---- batch_norm: x (N, C, S); element m of channel c (m < N*S) is x[(m/S*C + c)*S + m%S] -- */
template <typename T>
__global__ void nl_bn_fwd_k(const T *x, T *y, double *mean, double *inv, double *rm, double *rv,
                            const double *w, const double *b, nl_nn_nrm z, int train, double mom, double eps) {
  int64_t C = z.C, S = z.S, M = z.N * z.S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double mu, is;
    if (train) {
      double s = 0, unused = 0, q = 0;
      for (int64_t m = threadIdx.x; m < M; m += blockDim.x) s += (double)x[(m / S * C + c) * S + m % S];
      nl_cu_block_sum2(&s, &unused);
      mu = s / (double)M;
      for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
        double d = (double)x[(m / S * C + c) * S + m % S] - mu;
        q += d * d;
      }
      unused = 0;
      nl_cu_block_sum2(&q, &unused);
      is = 1.0 / sqrt(q / (double)M + eps);
      if (threadIdx.x == 0) {
        if (rm) rm[c] = (1 - mom) * rm[c] + mom * mu;
        if (rv) rv[c] = (1 - mom) * rv[c] + mom * q / (double)(M - 1); /* unbiased */
      }
    } else {
      mu = rm[c];
      is = 1.0 / sqrt(rv[c] + eps);
    }
    if (threadIdx.x == 0) mean[c] = mu, inv[c] = is;
    double sc = is * (w ? w[c] : 1.0), sh = (b ? b[c] : 0.0) - mu * sc;
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
      int64_t k = (m / S * C + c) * S + m % S;
      y[k] = (T)((double)x[k] * sc + sh);
    }
  }
}

/* gw[c] = sum gy * xhat, gb[c] = sum gy; gx (when wanted) = w*is*(gy - gb/M - xhat*gw/M) in
 * training, gy*w*is in evaluation. */
template <typename T>
__global__ void nl_bn_bwd_k(const T *x, const T *gy, T *gx, double *ow, double *ob, const double *w,
                            const double *mean, const double *inv, nl_nn_nrm z, int train) {
  int64_t C = z.C, S = z.S, Mi = z.N * z.S;
  double M = (double)Mi;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double sg = 0, sgx = 0, mu = mean[c], is = inv[c], wc = w ? w[c] : 1.0;
    for (int64_t m = threadIdx.x; m < Mi; m += blockDim.x) {
      int64_t k = (m / S * C + c) * S + m % S;
      double g = (double)gy[k];
      sg += g;
      sgx += g * ((double)x[k] - mu);
    }
    nl_cu_block_sum2(&sg, &sgx);
    sgx *= is;
    if (threadIdx.x == 0) ob[c] = sg, ow[c] = sgx;
    if (!gx) continue;
    double k1 = wc * is, k2 = train ? sg / M : 0, k3 = train ? sgx / M * is : 0;
    for (int64_t m = threadIdx.x; m < Mi; m += blockDim.x) {
      int64_t k = (m / S * C + c) * S + m % S;
      gx[k] = (T)(k1 * ((double)gy[k] - k2 - ((double)x[k] - mu) * k3));
    }
  }
}

/* ---- rows (layer_norm, group_norm): R rows of K --------------------------------------------- */
__device__ __forceinline__ int64_t nl_rows_ch(const nl_nn_nrm &z, int64_t r, int64_t j) {
  return z.G ? (r % z.G) * z.Cg + j / z.S : j;
}

template <typename T>
__global__ void nl_rows_fwd_k(const T *x, T *y, double *mean, double *rstd, const double *w,
                              const double *b, nl_nn_nrm z, double eps) {
  int64_t K = z.K;
  for (int64_t r = blockIdx.x; r < z.R; r += gridDim.x) {
    const T *xr = x + r * K;
    double s = 0, q = 0, unused = 0;
    for (int64_t j = threadIdx.x; j < K; j += blockDim.x) s += (double)xr[j];
    nl_cu_block_sum2(&s, &unused);
    double mu = K ? s / (double)K : NAN;
    for (int64_t j = threadIdx.x; j < K; j += blockDim.x) {
      double d = (double)xr[j] - mu;
      q += d * d;
    }
    unused = 0;
    nl_cu_block_sum2(&q, &unused);
    double is = 1.0 / sqrt(q / (double)K + eps);
    if (threadIdx.x == 0) mean[r] = mu, rstd[r] = is;
    for (int64_t j = threadIdx.x; j < K; j += blockDim.x) {
      int64_t c = nl_rows_ch(z, r, j);
      y[r * K + j] = (T)(((double)xr[j] - mu) * is * (w ? w[c] : 1.0) + (b ? b[c] : 0.0));
    }
  }
}

/* gx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = gy * w, over each row */
template <typename T>
__global__ void nl_rows_bwd_k(const T *gy, const T *x, T *gx, const double *w, const double *mean,
                              const double *rstd, nl_nn_nrm z) {
  int64_t K = z.K;
  for (int64_t r = blockIdx.x; r < z.R; r += gridDim.x) {
    const T *xr = x + r * K, *gr = gy + r * K;
    double mu = mean[r], is = rstd[r], s1 = 0, s2 = 0;
    for (int64_t j = threadIdx.x; j < K; j += blockDim.x) {
      double g = (double)gr[j] * (w ? w[nl_rows_ch(z, r, j)] : 1.0);
      s1 += g;
      s2 += g * ((double)xr[j] - mu) * is;
    }
    nl_cu_block_sum2(&s1, &s2);
    double Kd = (double)K;
    for (int64_t j = threadIdx.x; j < K; j += blockDim.x) {
      double g = (double)gr[j] * (w ? w[nl_rows_ch(z, r, j)] : 1.0), xh = ((double)xr[j] - mu) * is;
      gx[r * K + j] = (T)(is * (g - s1 / Kd - xh * s2 / Kd));
    }
  }
}

/* gw[c] = sum gy * (x - mean) * rstd, gb[c] = sum gy over the elements of channel c */
template <typename T>
__global__ void nl_rows_param_k(const T *gy, const T *x, const double *mean, const double *rstd,
                                double *gw, double *gb, nl_nn_nrm z) {
  int64_t C = z.C, S = z.S, M = z.N * z.S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double sw = 0, sb = 0;
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
      int64_t n = m / S, k = (n * C + c) * S + m % S, r = n * z.G + c / z.Cg;
      double g = (double)gy[k];
      sw += g * ((double)x[k] - mean[r]) * rstd[r];
      sb += g;
    }
    nl_cu_block_sum2(&sw, &sb);
    if (threadIdx.x == 0) gw[c] = sw, gb[c] = sb;
  }
}

#define NL_ROWS_LAUNCH(n) <<<nl_cu_row_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>

void nl_cuda_nn_bn_fwd(const nl_nn_kargs *a) {
  const nl_nn_nrm &z = a->nrm;
  if (z.C == 0) return;
  int train = (a->flags & NL_NN_F_TRAIN) != 0;
  double *rm = NL_FD(a->io[2]), *rv = NL_FD(a->io[3]), *mean = NL_FD(a->io[0]), *inv = NL_FD(a->io[1]);
  const double *w = NL_FD(a->in[1]), *b = NL_FD(a->in[2]);
  if (a->out->dtype == NL_FLOAT32)
    nl_bn_fwd_k<float> NL_ROWS_LAUNCH(z.C)(NL_F(const float, a->in[0]), NL_F(float, a->out), mean, inv, rm, rv, w, b, z,
                                           train, a->sc[0], a->sc[1]);
  else
    nl_bn_fwd_k<double> NL_ROWS_LAUNCH(z.C)(NL_F(const double, a->in[0]), NL_F(double, a->out), mean, inv, rm, rv, w, b, z,
                                            train, a->sc[0], a->sc[1]);
  nl_cu_check_launch("batch_norm");
}

void nl_cuda_nn_bn_bwd(const nl_nn_kargs *a) {
  const nl_nn_nrm &z = a->nrm;
  if (z.C == 0) return;
  int train = (a->flags & NL_NN_F_TRAIN) != 0;
  const double *w = NL_FD(a->in[2]), *mean = NL_FD(a->in[3]), *inv = NL_FD(a->in[4]);
  if (a->in[0]->dtype == NL_FLOAT32)
    nl_bn_bwd_k<float> NL_ROWS_LAUNCH(z.C)(NL_F(const float, a->in[0]), NL_F(const float, a->in[1]),
                                           a->out ? NL_F(float, a->out) : (float *)0, NL_FD(a->io[0]), NL_FD(a->io[1]),
                                           w, mean, inv, z, train);
  else
    nl_bn_bwd_k<double> NL_ROWS_LAUNCH(z.C)(NL_F(const double, a->in[0]), NL_F(const double, a->in[1]),
                                            a->out ? NL_F(double, a->out) : (double *)0, NL_FD(a->io[0]),
                                            NL_FD(a->io[1]), w, mean, inv, z, train);
  nl_cu_check_launch("batch_norm_backward");
}

void nl_cuda_nn_rows_fwd(const nl_nn_kargs *a) {
  const nl_nn_nrm &z = a->nrm;
  if (z.R == 0) return;
  const double *w = NL_FD(a->in[1]), *b = NL_FD(a->in[2]);
  if (a->out->dtype == NL_FLOAT32)
    nl_rows_fwd_k<float> NL_ROWS_LAUNCH(z.R)(NL_F(const float, a->in[0]), NL_F(float, a->out), NL_FD(a->io[0]),
                                             NL_FD(a->io[1]), w, b, z, a->sc[0]);
  else
    nl_rows_fwd_k<double> NL_ROWS_LAUNCH(z.R)(NL_F(const double, a->in[0]), NL_F(double, a->out), NL_FD(a->io[0]),
                                              NL_FD(a->io[1]), w, b, z, a->sc[0]);
  nl_cu_check_launch("layer_norm/group_norm");
}

void nl_cuda_nn_rows_bwd(const nl_nn_kargs *a) {
  const nl_nn_nrm &z = a->nrm;
  if (z.R == 0) return;
  const double *w = NL_FD(a->in[2]), *mean = NL_FD(a->in[3]), *rstd = NL_FD(a->in[4]);
  if (a->out->dtype == NL_FLOAT32)
    nl_rows_bwd_k<float> NL_ROWS_LAUNCH(z.R)(NL_F(const float, a->in[0]), NL_F(const float, a->in[1]),
                                             NL_F(float, a->out), w, mean, rstd, z);
  else
    nl_rows_bwd_k<double> NL_ROWS_LAUNCH(z.R)(NL_F(const double, a->in[0]), NL_F(const double, a->in[1]),
                                              NL_F(double, a->out), w, mean, rstd, z);
  nl_cu_check_launch("layer_norm/group_norm backward");
}

void nl_cuda_nn_rows_param(const nl_nn_kargs *a) {
  const nl_nn_nrm &z = a->nrm;
  if (z.C == 0) return;
  const double *mean = NL_FD(a->in[2]), *rstd = NL_FD(a->in[3]);
  if (a->in[0]->dtype == NL_FLOAT32)
    nl_rows_param_k<float> NL_ROWS_LAUNCH(z.C)(NL_F(const float, a->in[0]), NL_F(const float, a->in[1]), mean, rstd,
                                               NL_FD(a->io[0]), NL_FD(a->io[1]), z);
  else
    nl_rows_param_k<double> NL_ROWS_LAUNCH(z.C)(NL_F(const double, a->in[0]), NL_F(const double, a->in[1]), mean,
                                                rstd, NL_FD(a->io[0]), NL_FD(a->io[1]), z);
  nl_cu_check_launch("layer_norm/group_norm backward (weight, bias)");
}
