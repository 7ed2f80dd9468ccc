/* nn_table.cu: the CUDA table of nn/nl_nn_kernel.h (nn and optimizer kernels), installed at
 * load time like cuda/kernels.cu's (pointers only: no CUDA call runs before a tensor is put
 * on a GPU). Every entry selects the device of its first tensor, then runs the kernel. */
#include "nl_cu.cuh"
#include "nl_cuda_nn.h"

#define NL_NN_WRAP(OP, NAME)                                                    \
  static void nl_cunw_##NAME(const nl_nn_kargs *a) {                            \
    const nl_tensor *t = a->out ? a->out : a->out2 ? a->out2 : a->io[0];        \
    if (cudaSetDevice(nl_device_of(t).index) != cudaSuccess) {                  \
      nl_cu_fail("%s: cannot select cuda:%d: %s", #NAME, nl_device_of(t).index, \
                 cudaGetErrorString(cudaGetLastError()));                       \
      return;                                                                   \
    }                                                                           \
    nl_cuda_nn_##NAME(a);                                                       \
  }
NL_CUDA_NN_KERNELS(NL_NN_WRAP)

static nl_nn_kernel_fn nl_cuda_nn_table[NL_NN_OP_COUNT];

__attribute__((constructor)) static void nl_cuda_nn_install(void) {
#define NL_NN_SET(OP, NAME) nl_cuda_nn_table[OP] = nl_cunw_##NAME;
  NL_CUDA_NN_KERNELS(NL_NN_SET)
#undef NL_NN_SET
  nl_nn_cuda_kernels = nl_cuda_nn_table;
}
