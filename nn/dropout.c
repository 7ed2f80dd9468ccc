/* dropout.c: dropout and dropout2d (channel-wise), forward returning the scaled mask, and the
 * backward gx = gy * mask. The mask draws from the global generator (tensor/random.c). */
#include "nn_util.h"

static int nn_dropout(const nl_tensor *x, double p, bool training, bool channelwise, nl_tensor **y,
               nl_tensor **mask) {
  const char *op = channelwise ? "dropout2d" : "dropout";
  if (nn_check_float(op, "input", x)) return -1;
  if (!(p >= 0 && p <= 1)) return nl_failc("%s: dropout probability has to be between 0 and 1, but got %g", op, p);
  if (channelwise && x->ndim < 2)
    return nl_failc("%s: expected input with at least 2 dims (N, C, *), got %s", op, SHP(x));
  if (!training || p == 0) {
    nl_tensor_retain((nl_tensor *)x);
    nn_out(y, (nl_tensor *)x);
    if (mask) *mask = NULL;
    return 0;
  }
  int64_t shape[NL_MAXDIM];
  for (int i = 0; i < x->ndim; i++) shape[i] = channelwise && i >= 2 ? 1 : x->shape[i];
  /* on CUDA the mask comes from the same Philox stream (cuda/random.cu's bernoulli): the same
   * seed and offset give the CPU's mask bit for bit */
  nl_tensor *m = nl_empty(x->ndim, shape, x->dtype, nl_device_of(x));
  if (!m) return -1;
  if (p == 1) {
    nl_fill_(m, 0);
  } else if (nl_bernoulli_(m, 1 - p) < 0) {
    nl_tensor_free(m);
    return -1;
  } else if (nn_dev(m)) {
    if (nl_binary_(NL_OP_MUL, m, nl_arg_float(1 / (1 - p)), 1) < 0) { /* 0 or 1/(1-p), as below */
      nl_tensor_free(m);
      return -1;
    }
  } else {
    int64_t n = nl_numel(m);
    double s = 1 / (1 - p);
    if (x->dtype == NL_FLOAT32)
      for (int64_t i = 0; i < n; i++) ((float *)nl_data(m))[i] *= (float)s;
    else
      for (int64_t i = 0; i < n; i++) ((double *)nl_data(m))[i] *= s;
  }
  nl_tensor *r = nl_mul(x, m);
  if (!r) {
    nl_tensor_free(m);
    return -1;
  }
  nn_out(y, r);
  nn_out(mask, m);
  return 0;
}

int nl_dropout(const nl_tensor *x, double p, bool training, bool channelwise, nl_tensor **y,
               nl_tensor **mask) {
  NN_DEVICE_SCOPE(int, nn_dropout(x, p, training, channelwise, y, mask));
}

static nl_tensor *nn_dropout_backward(const nl_tensor *gy, const nl_tensor *mask);
nl_tensor *nl_dropout_backward(const nl_tensor *gy, const nl_tensor *mask) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_dropout_backward(gy, mask));
}
static nl_tensor *nn_dropout_backward(const nl_tensor *gy, const nl_tensor *mask) {
  if (!mask) { /* evaluation mode or p == 0: identity */
    nl_tensor_retain((nl_tensor *)gy);
    return (nl_tensor *)gy;
  }
  if (nn_check_float("dropout_backward", "grad_output", gy) || nn_check_same("dropout_backward", "mask", mask, gy)) return NULL;
  return nl_mul(gy, mask);
}
