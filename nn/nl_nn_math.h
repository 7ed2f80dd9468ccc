/* nl_nn_math.h: the per-element math of nn written once, for the CPU loops (nn/activation.c,
 * nn/loss.c) and the CUDA kernels (cuda/nn_misc.cu, cuda/nn_loss.cu), so the CPU specs check
 * exactly the formulas the GPU runs. Everything is evaluated in double and rounded once to
 * the tensor's dtype by the caller. Plain C99 / CUDA C++: <math.h> functions on doubles. */
#ifndef NL_NN_MATH_H
#define NL_NN_MATH_H
#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define NL_NN_HD __host__ __device__ __forceinline__
#else
#define NL_NN_HD static inline
#endif

/* Activation kinds: nl_nn.h's nl_act (GELU, SILU, ELU, LEAKY_RELU, SOFTPLUS, HARDTANH, RELU6),
 * restated as ints so the kernels need not see nl_nn.h. p, q: the activation's parameters
 * (gelu: p != 0 tanh approximation; elu: alpha; leaky_relu: slope; softplus: beta, threshold;
 * hardtanh: min, max). */
enum { NL_NN_ACT_GELU, NL_NN_ACT_SILU, NL_NN_ACT_ELU, NL_NN_ACT_LEAKY_RELU, NL_NN_ACT_SOFTPLUS,
       NL_NN_ACT_HARDTANH, NL_NN_ACT_RELU6 };

/* f(x) */
NL_NN_HD double nl_nn_act_f(int a, double x, double p, double q) {
  switch (a) {
  case NL_NN_ACT_GELU:
    if (p != 0) return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1 + erf(x * 0.7071067811865476));
  case NL_NN_ACT_SILU: return x / (1 + exp(-x));
  case NL_NN_ACT_ELU: return x > 0 ? x : p * expm1(x);
  case NL_NN_ACT_LEAKY_RELU: return x > 0 ? x : p * x;
  case NL_NN_ACT_SOFTPLUS: return x * p > q ? x : log1p(exp(x * p)) / p;
  case NL_NN_ACT_HARDTANH: return x < p ? p : x > q ? q : x;
  default: return x < 0 ? 0 : x > 6 ? 6 : x;
  }
}

/* f'(x) */
NL_NN_HD double nl_nn_act_d(int a, double x, double p, double q) {
  switch (a) {
  case NL_NN_ACT_GELU:
    if (p != 0) {
      double k = 0.7978845608028654, in = k * (x + 0.044715 * x * x * x), t = tanh(in);
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
    }
    return 0.5 * (1 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x);
  case NL_NN_ACT_SILU: {
    double s = 1 / (1 + exp(-x));
    return s * (1 + x * (1 - s));
  }
  case NL_NN_ACT_ELU: return x > 0 ? 1 : p * exp(x);
  case NL_NN_ACT_LEAKY_RELU: return x > 0 ? 1 : p;
  case NL_NN_ACT_SOFTPLUS: {
    if (x * p > q) return 1;
    double z = exp(x * p);
    return z / (z + 1);
  }
  case NL_NN_ACT_HARDTANH: return (x <= p || x >= q) ? 0 : 1;
  default: return (x <= 0 || x >= 6) ? 0 : 1;
  }
}

/* Adaptive pooling windows (nn/pool.c, cuda/nn_adaptive.cu): output o of out covers input
 * [nl_nn_astart, nl_nn_aend) of in, PyTorch's start_index / end_index. */
NL_NN_HD int64_t nl_nn_astart(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
NL_NN_HD int64_t nl_nn_aend(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

/* Pointwise loss kinds: nl_nn.h's nl_loss_kind values (MSE .. KL_DIV, checked by a static
 * assertion in nn/loss.c) and the two binary cross entropies. */
enum { NL_NN_LOSS_MSE, NL_NN_LOSS_L1, NL_NN_LOSS_SMOOTH_L1, NL_NN_LOSS_HUBER, NL_NN_LOSS_KL_DIV,
       NL_NN_LOSS_BCE = 100, NL_NN_LOSS_BCE_LOGITS = 101 };

/* loss(x, t) of one element, and its derivative in x (*dl). w: weight, pw: pos_weight,
 * prm: beta (smooth_l1), delta (huber), log_target (kl_div, nonzero = true). */
NL_NN_HD double nl_nn_pw_loss(int k, double x, double t, double w, double pw, double prm, double *dl) {
  double d = x - t, a = fabs(d);
  switch (k) {
  case NL_NN_LOSS_MSE: *dl = 2 * d; return d * d;
  case NL_NN_LOSS_L1: *dl = (d > 0) - (d < 0); return a;
  case NL_NN_LOSS_SMOOTH_L1:
    if (prm == 0 || a >= prm) { *dl = (d > 0) - (d < 0); return prm == 0 ? a : a - 0.5 * prm; }
    *dl = d / prm;
    return 0.5 * d * d / prm;
  case NL_NN_LOSS_HUBER:
    if (a < prm) { *dl = d; return 0.5 * d * d; }
    *dl = d > 0 ? prm : -prm;
    return prm * (a - 0.5 * prm);
  case NL_NN_LOSS_KL_DIV:
    if (prm != 0) { *dl = -exp(t); return exp(t) * (t - x); }
    *dl = -t;
    return (t == 0 ? 0.0 : t * log(t)) - t * x;
  case NL_NN_LOSS_BCE: {
    double lx = log(x) > -100 ? log(x) : -100, l1x = log1p(-x) > -100 ? log1p(-x) : -100;
    double eps = (double)1e-12f; /* PyTorch's EPSILON is a float */
    double den = (1 - x) * x > eps ? (1 - x) * x : eps;
    *dl = w * (x - t) / den;
    return -w * (t * lx + (1 - t) * l1x);
  }
  default: { /* bce with logits: (1-t)x + lw*(log1p(exp(-|x|)) + max(-x, 0)), lw = (pw-1)t+1 */
    double lw = (pw - 1) * t + 1;
    double sp = log1p(exp(-fabs(x))) + (x < 0 ? -x : 0); /* softplus(-x) */
    double sig = x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
    *dl = w * ((1 - t) - lw * (1 - sig));
    return w * ((1 - t) * x + lw * sp);
  }
  }
}
#endif
