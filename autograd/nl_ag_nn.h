/* nl_ag_nn.h: differentiable front ends of the nn kernels (nn/nl_nn.h). Each nl_ag_<op> has
 * the signature of nl_<op> (plus what its backward needs: embedding's padding_idx), calls
 * the kernel and, when grad mode is on and an input requires grad, records a node named as
 * PyTorch's (ConvolutionBackward, NativeBatchNormBackward, NllLossBackward, ...) whose
 * backward calls the fused C backward kernel. Under create_graph the first-order gradients
 * are still computed; mse_loss and l1_loss differentiate their backward with autograd ops;
 * the others attach a node that fails when differentiated again ("conv2d: double backward
 * is not supported"). Targets get gradients where PyTorch gives them (mse, l1, smooth_l1,
 * huber, kl_div, bce_with_logits, cross_entropy with probability targets). */
#ifndef NL_AG_NN_H
#define NL_AG_NN_H
#include "../nn/nl_nn.h"
#include "nl_autograd.h"

/* nn.Linear on 2-D CPU input (nl_linear_fits): one node, no transposed views. */
nl_tensor *nl_ag_linear(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b);
nl_tensor *nl_ag_conv2d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b, const nl_conv_params *p);
nl_tensor *nl_ag_conv1d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b, const nl_conv_params *p);
nl_tensor *nl_ag_conv_transpose2d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b,
                                  const nl_conv_params *p);

int nl_ag_max_pool2d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx);
int nl_ag_max_pool1d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx);
nl_tensor *nl_ag_avg_pool2d(const nl_tensor *x, const nl_pool_params *p);
nl_tensor *nl_ag_adaptive_avg_pool2d(const nl_tensor *x, int64_t oh, int64_t ow);
int nl_ag_adaptive_max_pool2d(const nl_tensor *x, int64_t oh, int64_t ow, nl_tensor **y, nl_tensor **idx);

/* running_mean/running_var are updated in place (no graph); save_mean/save_invstd may be NULL */
int nl_ag_batch_norm(const nl_tensor *x, nl_tensor *running_mean, nl_tensor *running_var,
                     const nl_tensor *weight, const nl_tensor *bias, bool training, double momentum,
                     double eps, nl_tensor **y, nl_tensor **save_mean, nl_tensor **save_invstd);
int nl_ag_layer_norm(const nl_tensor *x, int nnorm, const int64_t *normalized_shape,
                     const nl_tensor *weight, const nl_tensor *bias, double eps, nl_tensor **y,
                     nl_tensor **mean, nl_tensor **rstd);
int nl_ag_group_norm(const nl_tensor *x, int64_t groups, const nl_tensor *weight,
                     const nl_tensor *bias, double eps, nl_tensor **y, nl_tensor **mean,
                     nl_tensor **rstd);

nl_tensor *nl_ag_cross_entropy(const nl_tensor *input, const nl_tensor *target,
                               const nl_tensor *weight, int64_t ignore_index, int reduction,
                               double label_smoothing);
nl_tensor *nl_ag_nll_loss(const nl_tensor *input, const nl_tensor *target, const nl_tensor *weight,
                          int64_t ignore_index, int reduction);
nl_tensor *nl_ag_pointwise_loss(nl_loss_kind kind, const nl_tensor *input, const nl_tensor *target,
                                int reduction, double param);
nl_tensor *nl_ag_bce(const nl_tensor *input, const nl_tensor *target, const nl_tensor *weight,
                     int reduction);
nl_tensor *nl_ag_bce_with_logits(const nl_tensor *input, const nl_tensor *target,
                                 const nl_tensor *weight, const nl_tensor *pos_weight,
                                 int reduction);

/* mask may be NULL (eval or p == 0: *y is x itself, no node) */
int nl_ag_dropout(const nl_tensor *x, double p, bool training, bool channelwise, nl_tensor **y,
                  nl_tensor **mask);
/* padding_idx < 0: none (its row gets no gradient otherwise) */
nl_tensor *nl_ag_embedding(const nl_tensor *weight, const nl_tensor *idx, int64_t padding_idx);
nl_tensor *nl_ag_pad(const nl_tensor *x, int npad, const int64_t *pads, int mode, double value);
nl_tensor *nl_ag_activation(nl_act act, const nl_tensor *x, double a, double b);
#endif
