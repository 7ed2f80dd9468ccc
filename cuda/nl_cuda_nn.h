/* nl_cuda_nn.h: the CUDA nn kernels of nn/nl_nn_kernel.h's table, listed once: (op, name) with
 * nl_cuda_nn_<name> defined in cuda/nn_*.cu and optim.cu. cuda/nn_table.cu builds the device
 * table from this list and scripts/gpu/emu/emu_table.cpp the host emulation's. */
#ifndef NL_CUDA_NN_H
#define NL_CUDA_NN_H
#include "../nn/nl_nn_kernel.h"

#define NL_CUDA_NN_KERNELS(X)                                                                   \
  X(NL_NN_IM2COL, im2col) X(NL_NN_COL2IM, col2im) X(NL_NN_MAX_POOL2D, max_pool2d)                 \
  X(NL_NN_MAX_POOL2D_BWD, max_pool2d_bwd) X(NL_NN_AVG_POOL2D, avg_pool2d)                         \
  X(NL_NN_AVG_POOL2D_BWD, avg_pool2d_bwd) X(NL_NN_ACT, act) X(NL_NN_ACT_BWD, act_bwd)              \
  X(NL_NN_OPTIM, optim) X(NL_NN_BN_FWD, bn_fwd) X(NL_NN_BN_BWD, bn_bwd) X(NL_NN_ROWS_FWD, rows_fwd) \
  X(NL_NN_ROWS_BWD, rows_bwd) X(NL_NN_ROWS_PARAM, rows_param) X(NL_NN_CLS_CHECK, cls_check)        \
  X(NL_NN_CLS, cls) X(NL_NN_CLS_BWD, cls_bwd) X(NL_NN_LOSS_SUM, loss_sum) X(NL_NN_PW, pw)          \
  X(NL_NN_BCE_CHECK, bce_check) X(NL_NN_PAD, pad) X(NL_NN_PAD_BWD, pad_bwd)                        \
  X(NL_NN_ONE_HOT_CHECK, one_hot_check) X(NL_NN_ONE_HOT, one_hot)                                 \
  X(NL_NN_ADAPTIVE_AVG, adaptive_avg) X(NL_NN_ADAPTIVE_AVG_BWD, adaptive_avg_bwd)                 \
  X(NL_NN_ADAPTIVE_MAX, adaptive_max) X(NL_NN_ADAPTIVE_MAX_BWD, adaptive_max_bwd)

#define NL_CUDA_NN_DECLARE(OP, NAME) void nl_cuda_nn_##NAME(const nl_nn_kargs *a);
NL_CUDA_NN_KERNELS(NL_CUDA_NN_DECLARE)
#undef NL_CUDA_NN_DECLARE
#endif
