/* nn_device.h: CUDA arguments of the nn front ends that have no dedicated device path yet
 * (pad, one_hot, adaptive pools, max_pool1d): a host round trip.
 *
 * The public front end checks nn_any_dev(its tensors) first; when one is on CUDA it calls
 * its nn_host_* twin (nn_device.c), which checks that every tensor is on the same device,
 * copies them to the CPU (nl_to_device, through the cross-device copy), runs the CPU front
 * end (same code, same results as CPU tensors), copies the results back and writes in-place
 * outputs back into the caller's device tensors. Correct and synchronous, not fast: each
 * call waits for the device. Dedicated device paths (conv*, max/avg_pool2d, activations,
 * dropout, embedding, optimizers, batch/layer/group norm, all losses) do not
 * come here. */
#ifndef NL_NN_DEVICE_H
#define NL_NN_DEVICE_H
#include "nl_nn.h"

/* 1 when any of the n tensors (NULLs skipped) is on a non-CPU device. */
int nn_any_dev_(int n, const nl_tensor *const *ts);
#define NN_ANY_DEV(...) \
  nn_any_dev_((int)(sizeof((const nl_tensor *[]){__VA_ARGS__}) / sizeof(const nl_tensor *)), (const nl_tensor *[]){__VA_ARGS__})

nl_tensor *nn_host_pad(const nl_tensor *x, const nl_tensor *gy, int npad, const int64_t *pads, int mode,
                       double value);
nl_tensor *nn_host_one_hot(const nl_tensor *idx, int64_t C);
nl_tensor *nn_host_adaptive_avg(const nl_tensor *x, const nl_tensor *gy, int64_t oh, int64_t ow);
int nn_host_adaptive_max(const nl_tensor *x, int64_t oh, int64_t ow, nl_tensor **y, nl_tensor **idx);
int nn_host_max_pool1d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx);
nl_tensor *nn_host_max_pool1d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *idx);
#endif
