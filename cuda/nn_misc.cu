/* nn_misc.cu: the fused activations of nn/activation.c on CUDA (gelu, silu, elu, leaky_relu,
 * softplus, hardtanh, relu6), forward and backward gx = gy * f'(x).
 *
 * The formulas are activation.c's, evaluated in double like the CPU and rounded once to the
 * tensor's dtype; CUDA's double tanh/erf/exp/log1p are within 2 ulp of glibc's, so float32
 * results match the CPU's after rounding (almost always exactly) and float64 ones to a few
 * ulp. (Dropout and embedding need no kernel here: dropout's mask is cuda/random.cu's
 * Philox bernoulli, embedding is index_select / index_add_; see nn/dropout.c, nn/embedding.c.) */
#include "nl_cu.cuh"
#include "../nn/nl_nn.h"
#include "../nn/nl_nn_kernel.h"

__device__ __forceinline__ double nl_act_f(int a, double x, double p, double q) {
  switch (a) {
  case NL_ACT_GELU:
    if (p != 0) return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1 + erf(x * 0.7071067811865476));
  case NL_ACT_SILU: return x / (1 + exp(-x));
  case NL_ACT_ELU: return x > 0 ? x : p * expm1(x);
  case NL_ACT_LEAKY_RELU: return x > 0 ? x : p * x;
  case NL_ACT_SOFTPLUS: return x * p > q ? x : log1p(exp(x * p)) / p;
  case NL_ACT_HARDTANH: return x < p ? p : x > q ? q : x;
  default: return x < 0 ? 0 : x > 6 ? 6 : x;
  }
}

__device__ __forceinline__ double nl_act_d(int a, double x, double p, double q) {
  switch (a) {
  case NL_ACT_GELU:
    if (p != 0) {
      double k = 0.7978845608028654, in = k * (x + 0.044715 * x * x * x), t = tanh(in);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
    }
    return 0.5 * (1 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x);
  case NL_ACT_SILU: {
    double s = 1 / (1 + exp(-x));
    return s * (1 + x * (1 - s));
  }
  case NL_ACT_ELU: return x > 0 ? 1 : p * exp(x);
  case NL_ACT_LEAKY_RELU: return x > 0 ? 1 : p;
  case NL_ACT_SOFTPLUS: {
    if (x * p > q) return 1;
    double z = exp(x * p);
    return z / (z + 1);
  }
  case NL_ACT_HARDTANH: return (x <= p || x >= q) ? 0 : 1;
  default: return (x <= 0 || x >= 6) ? 0 : 1;
  }
}

/* gy == NULL: forward */
template <typename T>
__global__ void nl_act_k(int64_t n, int a, const T *gy, const T *x, T *y, double p, double q) {
  NL_CU_LOOP(i, n) {
    double xv = (double)x[i];
    y[i] = gy ? (T)((double)gy[i] * nl_act_d(a, xv, p, q)) : (T)nl_act_f(a, xv, p, q);
  }
}

static void nl_act_run(const nl_nn_kargs *a, bool bwd) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  const void *gy = bwd ? nl_data(a->in[0]) : NULL, *x = nl_data(a->in[1]);
  if (a->out->dtype == NL_FLOAT32)
    nl_act_k<float><<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(
        n, a->kind, (const float *)gy, (const float *)x, (float *)nl_data(a->out), a->sc[0], a->sc[1]);
  else
    nl_act_k<double><<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(
        n, a->kind, (const double *)gy, (const double *)x, (double *)nl_data(a->out), a->sc[0], a->sc[1]);
  nl_cu_check_launch(bwd ? "activation_backward" : "activation");
}

void nl_cuda_nn_act(const nl_nn_kargs *a) { nl_act_run(a, false); }
void nl_cuda_nn_act_bwd(const nl_nn_kargs *a) { nl_act_run(a, true); }
