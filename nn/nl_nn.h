/* nl_nn.h: the C kernels of nn (CPU) and their front ends, forward and backward, as plain C
 * functions (no Lua). Autograd wraps them; vm/lnn.c exposes them as torch._nn.* for specs.
 *
 * Conventions (as nl_ops.h): functions returning nl_tensor* give a NEW reference or NULL with
 * nl_error() set ("conv2d: expected input with 4 dims (N, C, H, W), got [3, 32, 32]");
 * functions returning int give 0 or -1 and store new references through their out pointers
 * (NULL out pointers: that result is not computed). Every argument is checked before
 * anything is allocated. Inputs may have any strides; results are contiguous, in the input's
 * dtype (float32 or float64; indices are int64). Class indices and argmax indices are
 * 0-based here (error messages print them 1-based, as the Lua user sees them). Optional
 * tensors (bias, weight, ...) are NULL when absent. */
#ifndef NL_NN_H
#define NL_NN_H
#include <stdbool.h>
#include <stdint.h>

#include "../tensor/nl_tensor.h"

/* ---- convolution (conv.c) ------------------------------------------------------------------
 * x (N, C, H, W); weight (O, C/groups, kh, kw); bias (O) or NULL. Padding is per side:
 * pad_lo = (top, left), pad_hi = (bottom, right) (PyTorch's symmetric padding: lo == hi;
 * "same" may be asymmetric, see nl_conv_same_padding). output_padding: transposed only. */
typedef struct nl_conv_params {
  int64_t stride[2], pad_lo[2], pad_hi[2], dilation[2], output_padding[2];
  int64_t groups;
} nl_conv_params;

/* PyTorch's padding="same" (stride 1): total = dilation*(k-1); lo = total/2, hi = total-lo. */
void nl_conv_same_padding(int64_t k, int64_t dilation, int64_t *lo, int64_t *hi);
/* y (N, O, Ho, Wo), Ho = (H + lo + hi - dil*(kh-1) - 1)/stride + 1. */
nl_tensor *nl_conv2d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b,
                     const nl_conv_params *p);
/* Gradients of conv2d given gy (N, O, Ho, Wo); any of gx, gw, gb may be NULL. */
int nl_conv2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *w,
                       const nl_conv_params *p, nl_tensor **gx, nl_tensor **gw, nl_tensor **gb);
/* The CPU algorithm conv2d/conv1d pick for these arguments: "direct" (conv_direct.c: float32,
 * stride 1, few channels) or "im2col" (im2col + GEMM); NULL with the error set when invalid. */
const char *nl_conv2d_algorithm(const nl_tensor *x, const nl_tensor *w, const nl_conv_params *p);
/* conv1d: x (N, C, L), w (O, C/groups, k); p uses index 1 (the width) only. */
nl_tensor *nl_conv1d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b,
                     const nl_conv_params *p);
int nl_conv1d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *w,
                       const nl_conv_params *p, nl_tensor **gx, nl_tensor **gw, nl_tensor **gb);
/* Transposed: x (N, Cin, H, W); w (Cin, Cout/groups, kh, kw); y (N, Cout, Ho, Wo) with
 * Ho = (H-1)*stride - lo - hi + dil*(kh-1) + output_padding + 1. */
nl_tensor *nl_conv_transpose2d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b,
                               const nl_conv_params *p);
int nl_conv_transpose2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *w,
                                 const nl_conv_params *p, nl_tensor **gx, nl_tensor **gw,
                                 nl_tensor **gb);

/* ---- linear (linear.c) ---------------------------------------------------------------------
 * nn.Linear on the CPU for 2-D input: y (N, out) = x (N, in) @ w (out, in)^T + b (out), b may
 * be NULL. nl_linear_fits says whether these kernels take the arguments (CPU, 2-D x, same
 * float dtype, matching sizes); callers use the general addmm path otherwise (other devices,
 * batched input) and for its error messages. Backward: gx (N, in), gw (out, in), gb (out). */
bool nl_linear_fits(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b);
nl_tensor *nl_linear(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b);
int nl_linear_backward(const nl_tensor *g, const nl_tensor *x, const nl_tensor *w, nl_tensor **gx, nl_tensor **gw,
                       nl_tensor **gb);

/* ---- pooling (pool.c) ----------------------------------------------------------------------
 * x (N, C, H, W) or (C, H, W). indices: int64 flat positions h*W + w in each input plane. */
typedef struct nl_pool_params {
  int64_t kernel[2], stride[2], padding[2], dilation[2];
  bool ceil_mode;
  bool count_include_pad;   /* avg only */
  int64_t divisor_override; /* avg only; 0 = none */
} nl_pool_params;

int nl_max_pool2d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx);
/* Scatters gy through idx into zeros of x's shape. */
nl_tensor *nl_max_pool2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *idx);
/* x (N, C, L) or (C, L); p uses index 1 only; indices are positions in L. */
int nl_max_pool1d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx);
nl_tensor *nl_max_pool1d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *idx);
nl_tensor *nl_avg_pool2d(const nl_tensor *x, const nl_pool_params *p);
nl_tensor *nl_avg_pool2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_pool_params *p);
/* Output (oh, ow); windows [floor(o*H/oh), ceil((o+1)*H/oh)). */
nl_tensor *nl_adaptive_avg_pool2d(const nl_tensor *x, int64_t oh, int64_t ow);
nl_tensor *nl_adaptive_avg_pool2d_backward(const nl_tensor *gy, const nl_tensor *x);
int nl_adaptive_max_pool2d(const nl_tensor *x, int64_t oh, int64_t ow, nl_tensor **y,
                           nl_tensor **idx);
/* adaptive_max_pool2d's backward: gy through idx (from the forward) into zeros of x's shape. */
nl_tensor *nl_adaptive_max_pool2d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *idx);

/* ---- normalisation (norm.c) ----------------------------------------------------------------
 * batch_norm: x (N, C, *). training: batch statistics (biased variance) normalise x and the
 * running stats (when given) are updated in place: r = (1-momentum)*r + momentum*stat with the
 * UNBIASED variance. Eval: running stats normalise. save_mean/save_invstd (C) are what the
 * backward needs (eval: the running mean and 1/sqrt(running_var + eps)). */
int nl_batch_norm(const nl_tensor *x, nl_tensor *running_mean, nl_tensor *running_var,
                  const nl_tensor *weight, const nl_tensor *bias, bool training, double momentum,
                  double eps, nl_tensor **y, nl_tensor **save_mean, nl_tensor **save_invstd);
int nl_batch_norm_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *weight,
                           const nl_tensor *save_mean, const nl_tensor *save_invstd,
                           bool training, nl_tensor **gx, nl_tensor **gw, nl_tensor **gb);
/* layer_norm over the last nnorm dims (normalized_shape = x's last nnorm sizes); weight and
 * bias have that shape. mean/rstd: x's leading shape. */
int nl_layer_norm(const nl_tensor *x, int nnorm, const int64_t *normalized_shape,
                  const nl_tensor *weight, const nl_tensor *bias, double eps, nl_tensor **y,
                  nl_tensor **mean, nl_tensor **rstd);
int nl_layer_norm_backward(const nl_tensor *gy, const nl_tensor *x, int nnorm,
                           const nl_tensor *weight, const nl_tensor *mean,
                           const nl_tensor *rstd, nl_tensor **gx, nl_tensor **gw,
                           nl_tensor **gb);
/* group_norm: x (N, C, *), C divisible by groups; weight/bias (C). mean/rstd (N, groups). */
int nl_group_norm(const nl_tensor *x, int64_t groups, const nl_tensor *weight,
                  const nl_tensor *bias, double eps, nl_tensor **y, nl_tensor **mean,
                  nl_tensor **rstd);
int nl_group_norm_backward(const nl_tensor *gy, const nl_tensor *x, int64_t groups,
                           const nl_tensor *weight, const nl_tensor *mean,
                           const nl_tensor *rstd, nl_tensor **gx, nl_tensor **gw,
                           nl_tensor **gb);

/* ---- losses (loss.c) -----------------------------------------------------------------------
 * reduction: NL_RED_NONE (per-element result), NL_RED_MEAN, NL_RED_SUM (0-d results).
 * Backward functions take gout (0-d for mean/sum, the loss's shape for none) and return the
 * gradient with respect to the input. */
enum { NL_RED_NONE = 0, NL_RED_MEAN = 1, NL_RED_SUM = 2 };
/* input (N, C, d...) or (C); target int64 (N, d...) (or 0-d) class indices, or a float
 * tensor of input's shape (class probabilities). Fused log_softmax + nll. */
nl_tensor *nl_cross_entropy(const nl_tensor *input, const nl_tensor *target,
                            const nl_tensor *weight, int64_t ignore_index, int reduction,
                            double label_smoothing);
nl_tensor *nl_cross_entropy_backward(const nl_tensor *gout, const nl_tensor *input,
                                     const nl_tensor *target, const nl_tensor *weight,
                                     int64_t ignore_index, int reduction,
                                     double label_smoothing);
/* input: log-probabilities (N, C, d...) or (C). */
nl_tensor *nl_nll_loss(const nl_tensor *input, const nl_tensor *target, const nl_tensor *weight,
                       int64_t ignore_index, int reduction);
nl_tensor *nl_nll_loss_backward(const nl_tensor *gout, const nl_tensor *input,
                                const nl_tensor *target, const nl_tensor *weight,
                                int64_t ignore_index, int reduction);
/* Pointwise losses; input and target of the same shape; param: smooth_l1 beta, huber delta,
 * kl_div log_target (0/1); ignored otherwise. */
typedef enum nl_loss_kind {
  NL_LOSS_MSE, NL_LOSS_L1, NL_LOSS_SMOOTH_L1, NL_LOSS_HUBER, NL_LOSS_KL_DIV
} nl_loss_kind;
nl_tensor *nl_pointwise_loss(nl_loss_kind kind, const nl_tensor *input, const nl_tensor *target,
                             int reduction, double param);
nl_tensor *nl_pointwise_loss_backward(nl_loss_kind kind, const nl_tensor *gout,
                                      const nl_tensor *input, const nl_tensor *target,
                                      int reduction, double param);
/* binary_cross_entropy: input in [0, 1], log clamped to >= -100; weight broadcasts. */
nl_tensor *nl_bce(const nl_tensor *input, const nl_tensor *target, const nl_tensor *weight,
                  int reduction);
nl_tensor *nl_bce_backward(const nl_tensor *gout, const nl_tensor *input,
                           const nl_tensor *target, const nl_tensor *weight, int reduction);
/* binary_cross_entropy_with_logits; weight broadcasts to input, pos_weight to its last dim. */
nl_tensor *nl_bce_with_logits(const nl_tensor *input, const nl_tensor *target,
                              const nl_tensor *weight, const nl_tensor *pos_weight,
                              int reduction);
nl_tensor *nl_bce_with_logits_backward(const nl_tensor *gout, const nl_tensor *input,
                                       const nl_tensor *target, const nl_tensor *weight,
                                       const nl_tensor *pos_weight, int reduction);

/* ---- dropout (dropout.c) -------------------------------------------------------------------
 * training (and p > 0): y = x * mask, mask = bernoulli(1-p) / (1-p) from the global generator
 * (x's shape; dropout2d: (N, C, 1, ...) channel-wise). Not training: y = x (a new reference),
 * *mask = NULL. Backward: gx = gy * mask (broadcast). */
int nl_dropout(const nl_tensor *x, double p, bool training, bool channelwise, nl_tensor **y,
               nl_tensor **mask);
nl_tensor *nl_dropout_backward(const nl_tensor *gy, const nl_tensor *mask);

/* ---- embedding, one_hot, pad (embedding.c) -------------------------------------------------
 * weight (V, D); idx int64 any shape, 0-based -> (*idx, D). padding_idx < 0: none. */
nl_tensor *nl_embedding(const nl_tensor *weight, const nl_tensor *idx);
nl_tensor *nl_embedding_backward(const nl_tensor *gy, const nl_tensor *idx, int64_t num_weights,
                                 int64_t padding_idx);
/* int64 (*idx, C); num_classes < 0: max(idx)+1. */
nl_tensor *nl_one_hot(const nl_tensor *idx, int64_t num_classes);
/* pads: npad values (npad even, <= 2*ndim) as PyTorch: (last_lo, last_hi, prev_lo, ...);
 * negative pads crop (constant mode only). mode: 0 constant (value), 1 reflect, 2 replicate,
 * 3 circular (pads at most the dim's size: one wrap). */
enum { NL_PAD_CONSTANT = 0, NL_PAD_REFLECT = 1, NL_PAD_REPLICATE = 2, NL_PAD_CIRCULAR = 3 };
nl_tensor *nl_pad(const nl_tensor *x, int npad, const int64_t *pads, int mode, double value);
nl_tensor *nl_pad_backward(const nl_tensor *gy, const nl_tensor *x, int npad,
                           const int64_t *pads, int mode);

/* ---- fused activations (activation.c) ------------------------------------------------------
 * a, b: GELU: a != 0 means approximate="tanh"; ELU: alpha; LEAKY_RELU: negative_slope;
 * SOFTPLUS: beta, threshold; HARDTANH: min_val, max_val; RELU6: none. */
typedef enum nl_act {
  NL_ACT_GELU, NL_ACT_SILU, NL_ACT_ELU, NL_ACT_LEAKY_RELU, NL_ACT_SOFTPLUS, NL_ACT_HARDTANH,
  NL_ACT_RELU6
} nl_act;
nl_tensor *nl_activation(nl_act act, const nl_tensor *x, double a, double b);
/* gx = gy * act'(x). */
nl_tensor *nl_activation_backward(nl_act act, const nl_tensor *gy, const nl_tensor *x, double a,
                                  double b);
/* Autograd's fused relu / sigmoid backward from the saved result y: gx = (y > 0) * gy and
 * gy * y * (1 - y). NULL (no error set) unless gy and y are same-shape float CPU tensors of one
 * dtype: the caller then uses the element-wise formula. */
nl_tensor *nl_relu_backward_out(const nl_tensor *gy, const nl_tensor *y);
nl_tensor *nl_sigmoid_backward_out(const nl_tensor *gy, const nl_tensor *y);
#endif
