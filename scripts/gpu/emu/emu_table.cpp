/* emu_table.cpp: nn/nl_nn_kernel.h's table filled with the host-compiled CUDA kernels
 * (scripts/gpu/emulate_nn.sh). */
#include "nl_cu.cuh"
#include "nn/nl_nn_kernel.h"
void nl_cuda_nn_im2col(const nl_nn_kargs *a);
void nl_cuda_nn_col2im(const nl_nn_kargs *a);
void nl_cuda_nn_max_pool2d(const nl_nn_kargs *a);
void nl_cuda_nn_max_pool2d_bwd(const nl_nn_kargs *a);
void nl_cuda_nn_avg_pool2d(const nl_nn_kargs *a);
void nl_cuda_nn_avg_pool2d_bwd(const nl_nn_kargs *a);
void nl_cuda_nn_act(const nl_nn_kargs *a);
void nl_cuda_nn_act_bwd(const nl_nn_kargs *a);
void nl_cuda_nn_optim(const nl_nn_kargs *a);
void nl_cuda_nn_bn_fwd(const nl_nn_kargs *a);
void nl_cuda_nn_bn_bwd(const nl_nn_kargs *a);
void nl_cuda_nn_rows_fwd(const nl_nn_kargs *a);
void nl_cuda_nn_rows_bwd(const nl_nn_kargs *a);
void nl_cuda_nn_rows_param(const nl_nn_kargs *a);
void nl_cuda_nn_cls_check(const nl_nn_kargs *a);
void nl_cuda_nn_cls(const nl_nn_kargs *a);
void nl_cuda_nn_cls_bwd(const nl_nn_kargs *a);
void nl_cuda_nn_loss_sum(const nl_nn_kargs *a);
void nl_cuda_nn_pw(const nl_nn_kargs *a);
void nl_cuda_nn_bce_check(const nl_nn_kargs *a);
void nl_cuda_nn_pad(const nl_nn_kargs *a);
void nl_cuda_nn_pad_bwd(const nl_nn_kargs *a);
void nl_cuda_nn_one_hot_check(const nl_nn_kargs *a);
void nl_cuda_nn_one_hot(const nl_nn_kargs *a);
void nl_cuda_nn_adaptive_avg(const nl_nn_kargs *a);
void nl_cuda_nn_adaptive_avg_bwd(const nl_nn_kargs *a);
void nl_cuda_nn_adaptive_max(const nl_nn_kargs *a);
void nl_cuda_nn_adaptive_max_bwd(const nl_nn_kargs *a);
static nl_nn_kernel_fn nl_emu_table[NL_NN_OP_COUNT];
__attribute__((constructor)) static void nl_emu_install(void) {
  nl_emu_table[NL_NN_IM2COL] = nl_cuda_nn_im2col;
  nl_emu_table[NL_NN_COL2IM] = nl_cuda_nn_col2im;
  nl_emu_table[NL_NN_MAX_POOL2D] = nl_cuda_nn_max_pool2d;
  nl_emu_table[NL_NN_MAX_POOL2D_BWD] = nl_cuda_nn_max_pool2d_bwd;
  nl_emu_table[NL_NN_AVG_POOL2D] = nl_cuda_nn_avg_pool2d;
  nl_emu_table[NL_NN_AVG_POOL2D_BWD] = nl_cuda_nn_avg_pool2d_bwd;
  nl_emu_table[NL_NN_ACT] = nl_cuda_nn_act;
  nl_emu_table[NL_NN_ACT_BWD] = nl_cuda_nn_act_bwd;
  nl_emu_table[NL_NN_OPTIM] = nl_cuda_nn_optim;
  nl_emu_table[NL_NN_BN_FWD] = nl_cuda_nn_bn_fwd;
  nl_emu_table[NL_NN_BN_BWD] = nl_cuda_nn_bn_bwd;
  nl_emu_table[NL_NN_ROWS_FWD] = nl_cuda_nn_rows_fwd;
  nl_emu_table[NL_NN_ROWS_BWD] = nl_cuda_nn_rows_bwd;
  nl_emu_table[NL_NN_ROWS_PARAM] = nl_cuda_nn_rows_param;
  nl_emu_table[NL_NN_CLS_CHECK] = nl_cuda_nn_cls_check;
  nl_emu_table[NL_NN_CLS] = nl_cuda_nn_cls;
  nl_emu_table[NL_NN_CLS_BWD] = nl_cuda_nn_cls_bwd;
  nl_emu_table[NL_NN_LOSS_SUM] = nl_cuda_nn_loss_sum;
  nl_emu_table[NL_NN_PW] = nl_cuda_nn_pw;
  nl_emu_table[NL_NN_BCE_CHECK] = nl_cuda_nn_bce_check;
  nl_emu_table[NL_NN_PAD] = nl_cuda_nn_pad;
  nl_emu_table[NL_NN_PAD_BWD] = nl_cuda_nn_pad_bwd;
  nl_emu_table[NL_NN_ONE_HOT_CHECK] = nl_cuda_nn_one_hot_check;
  nl_emu_table[NL_NN_ONE_HOT] = nl_cuda_nn_one_hot;
  nl_emu_table[NL_NN_ADAPTIVE_AVG] = nl_cuda_nn_adaptive_avg;
  nl_emu_table[NL_NN_ADAPTIVE_AVG_BWD] = nl_cuda_nn_adaptive_avg_bwd;
  nl_emu_table[NL_NN_ADAPTIVE_MAX] = nl_cuda_nn_adaptive_max;
  nl_emu_table[NL_NN_ADAPTIVE_MAX_BWD] = nl_cuda_nn_adaptive_max_bwd;
  nl_nn_cuda_kernels = nl_emu_table;
}
