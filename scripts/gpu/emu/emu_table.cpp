/* emu_table.cpp: nn/nl_nn_kernel.h's table filled with the host-compiled CUDA kernels
 * (scripts/gpu/emulate_nn.sh). */
#include "nl_cu.cuh"
#include "nl_cuda_nn.h" /* cuda/: the kernel list */
static nl_nn_kernel_fn nl_emu_table[NL_NN_OP_COUNT];
__attribute__((constructor)) static void nl_emu_install(void) {
#define NL_EMU_SET(OP, NAME) nl_emu_table[OP] = nl_cuda_nn_##NAME;
  NL_CUDA_NN_KERNELS(NL_EMU_SET)
#undef NL_EMU_SET
  nl_nn_cuda_kernels = nl_emu_table;
}
