/* activation.c: fused activations not in tensor/ (gelu, silu, elu, leaky_relu, softplus,
 * hardtanh, relu6), forward and backward gx = gy * f'(x), PyTorch's formulas (CPU). */
#include <math.h>

#include "nl_nn_kernel.h"
#include "nl_nn_math.h"
#include "nn_util.h"

/* the formulas: nl_nn_math.h (shared with cuda/nn_misc.cu) */
_Static_assert((int)NL_ACT_GELU == NL_NN_ACT_GELU && (int)NL_ACT_RELU6 == NL_NN_ACT_RELU6 &&
               (int)NL_ACT_SOFTPLUS == NL_NN_ACT_SOFTPLUS && (int)NL_ACT_HARDTANH == NL_NN_ACT_HARDTANH,
               "nl_act and nl_nn_math.h's kinds agree");
#define nn_act_f(a, x, p, q) nl_nn_act_f((int)(a), x, p, q)
#define nn_act_d(a, x, p, q) nl_nn_act_d((int)(a), x, p, q)

static const char *nn_act_name(nl_act a) {
  static const char *n[] = {"gelu", "silu", "elu", "leaky_relu", "softplus", "hardtanh", "relu6"};
  return (unsigned)a < 7 ? n[a] : "activation";
}

/* forward (gy NULL) or backward */
static nl_tensor *nn_act(nl_act a, const nl_tensor *gy, const nl_tensor *x, double p, double q) {
  char op[48];
  snprintf(op, sizeof op, "%s%s", nn_act_name(a), gy ? "_backward" : "");
  if ((unsigned)a > NL_ACT_RELU6) return nl_fail("activation: unknown activation %d", (int)a);
  if (nn_check_float(op, "input", x)) return NULL;
  if (gy) {
    if (nn_check_same(op, "grad_output", gy, x)) return NULL;
    int ok = gy->ndim == x->ndim;
    for (int i = 0; ok && i < x->ndim; i++) ok = gy->shape[i] == x->shape[i];
    if (!ok) return nl_fail("%s: grad_output %s does not match input %s", op, SHP(gy), SHP(x));
  }
  if (a == NL_ACT_HARDTANH && p > q) return nl_fail("%s: min_val %g cannot be greater than max_val %g", op, p, q);
  if (a == NL_ACT_SOFTPLUS && p == 0) return nl_fail("%s: beta must be non-zero", op);
  if (nn_dev(x)) { /* cuda/nn_misc.cu: the same double-precision formulas */
    nl_tensor *xc = nn_contig(x), *gc = nn_contig(gy), *y = nl_empty(x->ndim, x->shape, x->dtype, nl_device_of(x));
    nl_nn_kargs k = {0};
    k.out = y, k.in[0] = gy ? gc : xc, k.in[1] = xc, k.kind = (int)a, k.sc[0] = p, k.sc[1] = q;
    if (!xc || (gy && !gc) || !y || nl_nn_run(gy ? NL_NN_ACT_BWD : NL_NN_ACT, &k, op)) {
      nl_tensor_free(y);
      y = NULL;
    }
    nl_tensor_free(xc), nl_tensor_free(gc);
    return y;
  }
  nl_tensor *xc = nn_contig(x), *gc = nn_contig(gy), *y = nl_empty(x->ndim, x->shape, x->dtype, nl_cpu());
  if (!xc || (gy && !gc) || !y) {
    nl_tensor_free(xc), nl_tensor_free(gc), nl_tensor_free(y);
    return NULL;
  }
  int64_t n = nl_numel(x);
  if (x->dtype == NL_FLOAT32) {
    const float *xs = nl_data(xc), *g = gy ? nl_data(gc) : NULL;
    float *o = nl_data(y);
    NL_OMP_FOR_IF(n > 32768,
    for (int64_t i = 0; i < n; i++)
      o[i] = g ? (float)(g[i] * nn_act_d(a, xs[i], p, q)) : (float)nn_act_f(a, xs[i], p, q););
  } else {
    const double *xs = nl_data(xc), *g = gy ? nl_data(gc) : NULL;
    double *o = nl_data(y);
    NL_OMP_FOR_IF(n > 32768,
    for (int64_t i = 0; i < n; i++) o[i] = g ? g[i] * nn_act_d(a, xs[i], p, q) : nn_act_f(a, xs[i], p, q););
  }
  nl_tensor_free(xc), nl_tensor_free(gc);
  return y;
}

nl_tensor *nl_activation(nl_act a, const nl_tensor *x, double p, double q) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_act(a, NULL, x, p, q));
}
nl_tensor *nl_activation_backward(nl_act a, const nl_tensor *gy, const nl_tensor *x, double p, double q) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_act(a, gy, x, p, q));
}

/* ---- relu / sigmoid backward from the saved output y (autograd's fast path) ----------------
 * relu: gx = y > 0 ? gy : 0 (PyTorch's threshold_backward on the result); sigmoid:
 * gx = gy * y * (1 - y). One fused pass instead of a compare + where (relu) or three
 * element-wise ops (sigmoid). Returns NULL without failing (the caller falls back to the
 * element-wise ops) unless both are same-shape, same-dtype float CPU tensors. */
/* d = relu'/sigmoid' from y times g, per ISA (16 lanes with AVX-512; the relu select is exact and
 * sigmoid's g * (y * (1 - y)) has no a * b + c to contract, so every clone gives the same bits) */
#define NN_ACT_BACK(T, S)                                                                           \
  NN_CLONES static void nn_act_back_##S(int sig, const T *restrict g, const T *restrict ys,         \
                                         T *restrict d, int64_t n) {                                \
    if (sig)                                                                                        \
      for (int64_t i = 0; i < n; i++) d[i] = g[i] * (ys[i] * (1 - ys[i]));                           \
    else /* unconditional loads: a select, vectorised (a branch mispredicts on random signs) */     \
      for (int64_t i = 0; i < n; i++) {                                                             \
        T gv = g[i];                                                                                \
        d[i] = ys[i] > 0 ? gv : 0;                                                                  \
      }                                                                                             \
  }
NN_ACT_BACK(float, f32)
NN_ACT_BACK(double, f64)

static nl_tensor *nn_act_out_backward(int sig, const nl_tensor *gy, const nl_tensor *y) {
  if (nl_device_of(y).type != NL_CPU || nl_device_of(gy).type != NL_CPU || gy->dtype != y->dtype ||
      (y->dtype != NL_FLOAT32 && y->dtype != NL_FLOAT64) || gy->ndim != y->ndim)
    return NULL;
  for (int i = 0; i < y->ndim; i++)
    if (gy->shape[i] != y->shape[i]) return NULL;
  nl_tensor *yc = nn_contig(y), *gc = nn_contig(gy), *o = nl_empty(y->ndim, y->shape, y->dtype, nl_cpu());
  if (!yc || !gc || !o) {
    nl_tensor_free(yc), nl_tensor_free(gc), nl_tensor_free(o);
    return NULL;
  }
  int64_t n = nl_numel(y);
  if (y->dtype == NL_FLOAT32) nn_act_back_f32(sig, nl_data(gc), nl_data(yc), nl_data(o), n);
  else nn_act_back_f64(sig, nl_data(gc), nl_data(yc), nl_data(o), n);
  nl_tensor_free(yc), nl_tensor_free(gc);
  return o;
}
nl_tensor *nl_relu_backward_out(const nl_tensor *gy, const nl_tensor *y) { return nn_act_out_backward(0, gy, y); }
nl_tensor *nl_sigmoid_backward_out(const nl_tensor *gy, const nl_tensor *y) { return nn_act_out_backward(1, gy, y); }
