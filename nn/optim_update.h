/* optim_update.h: multi-tensor optimizer updates (the C half of lua/optim).
 *
 * One call performs a whole optimizer step for every parameter of one parameter group, with
 * PyTorch 1.13's single-tensor update rules (torch/optim/<name>.py), fused into one pass per
 * tensor. Arrays are indexed by parameter (n entries); state arrays may hold NULL where a
 * state is unused (momentum == 0, amsgrad == false, centered == false).
 *
 * Every tensor of a slot (param, grad, states) must have the param's shape, dtype (float32
 * or float64) and device. Non-contiguous tensors are handled through contiguous temporaries.
 * Nothing records autograd history: data are written directly and every written tensor's
 * version counter is bumped. Front ends check everything before writing anything; they
 * return 0, or -1 with nl_error() ("sgd_step: ..."). Device-agnostic entry points: CPU
 * kernels today, CUDA kernels to be dispatched from the same functions. */
#ifndef NL_OPTIM_UPDATE_H
#define NL_OPTIM_UPDATE_H
#include <stdbool.h>

#include "../tensor/nl_tensor.h"

typedef struct nl_sgd_hp {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
} nl_sgd_hp;

/* bufs[i]: momentum buffer (NULL when momentum == 0); first[i]: the buffer is new and is set
 * to the (decayed, signed) gradient instead of being updated (PyTorch's clone on step 1). */
int nl_sgd_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                nl_tensor *const *bufs, const bool *first, const nl_sgd_hp *hp);

typedef struct nl_adam_hp {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize;
  bool decoupled; /* AdamW: param *= 1 - lr * weight_decay instead of grad += wd * param */
} nl_adam_hp;

/* steps[i]: the step number after this step's increment (1 on the first step). */
int nl_adam_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                 nl_tensor *const *exp_avgs, nl_tensor *const *exp_avg_sqs,
                 nl_tensor *const *max_exp_avg_sqs, const double *steps, const nl_adam_hp *hp);

typedef struct nl_rmsprop_hp {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
} nl_rmsprop_hp;

int nl_rmsprop_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                    nl_tensor *const *square_avgs, nl_tensor *const *grad_avgs,
                    nl_tensor *const *bufs, const nl_rmsprop_hp *hp);

typedef struct nl_adagrad_hp {
  double lr, lr_decay, weight_decay, eps;
  bool maximize;
} nl_adagrad_hp;

/* steps[i]: the step number after this step's increment. */
int nl_adagrad_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                    nl_tensor *const *sums, const double *steps, const nl_adagrad_hp *hp);

typedef struct nl_adadelta_hp {
  double lr, rho, eps, weight_decay;
  bool maximize;
} nl_adadelta_hp;

int nl_adadelta_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                     nl_tensor *const *square_avgs, nl_tensor *const *acc_deltas,
                     const nl_adadelta_hp *hp);

#endif
