/* nn_kernel.c: nl_nn_run, the dispatcher of nl_nn_kernel.h's table. */
#include "nl_nn_kernel.h"

#include "../cuda/nl_cuda.h"
#include "../tensor/nl_ops.h"

const nl_nn_kernel_fn *nl_nn_cuda_kernels;

int nl_nn_run(nl_nn_op op, const nl_nn_kargs *a, const char *name) {
  const nl_tensor *o = a->out ? a->out : a->out2 ? a->out2 : a->io[0];
  nl_device dev = nl_device_of(o);
#ifdef NL_NN_EMULATE /* scripts/gpu/emulate_nn.sh: the table runs on the host */
  if (nl_nn_cuda_kernels && nl_nn_cuda_kernels[op]) {
    nl_nn_cuda_kernels[op](a);
    return 0;
  }
#endif
  if (dev.type != NL_CUDA) return nl_failc("%s is not implemented on cpu through the device table", name);
  if (!nl_nn_cuda_kernels || !nl_nn_cuda_kernels[op]) return nl_failc("%s is not implemented on cuda", name);
  nl_nn_cuda_kernels[op](a);
  if (nl_cuda_take_error()) return -1;
  return 0;
}
int nl_nn_device_ok;
