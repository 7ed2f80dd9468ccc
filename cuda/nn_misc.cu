/* nn_misc.cu: the fused activations of nn/activation.c on CUDA (gelu, silu, elu, leaky_relu,
 * softplus, hardtanh, relu6), forward and backward gx = gy * f'(x).
 *
 * The formulas are nn/nl_nn_math.h's (the ones nn/activation.c runs), evaluated in double like the CPU and rounded once to the
 * tensor's dtype; CUDA's double tanh/erf/exp/log1p are within 2 ulp of glibc's, so float32
 * results match the CPU's after rounding (almost always exactly) and float64 ones to a few
 * ulp. (Dropout and embedding need no kernel here: dropout's mask is cuda/random.cu's
 * Philox bernoulli, embedding is index_select / index_add_; see nn/dropout.c, nn/embedding.c.) */
#include "nl_cu.cuh"
#include "../nn/nl_nn.h"
#include "nl_cuda_nn.h" /* nn/nl_nn_kernel.h and the kernels' declarations */
#include "../nn/nl_nn_math.h"

/* gy == NULL: forward */
template <typename T>
__global__ void nl_act_k(int64_t n, int a, const T *gy, const T *x, T *y, double p, double q) {
  NL_CU_LOOP(i, n) {
    double xv = (double)x[i];
    y[i] = gy ? (T)((double)gy[i] * nl_nn_act_d(a, xv, p, q)) : (T)nl_nn_act_f(a, xv, p, q);
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
