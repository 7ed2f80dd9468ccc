/* nn_table.cu: the CUDA table of nn/nl_nn_kernel.h (nn and optimizer kernels), installed at
 * load time like cuda/kernels.cu's (pointers only: no CUDA call runs before a tensor is put
 * on a GPU). Every entry selects the device of its first tensor, then runs the kernel. */
#include "nl_cu.cuh"
#include "../nn/nl_nn_kernel.h"

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

#define NL_NN_WRAP(NAME)                                                        \
  static void nl_cunw_##NAME(const nl_nn_kargs *a) {                            \
    const nl_tensor *t = a->out ? a->out : a->out2 ? a->out2 : a->io[0];                            \
    if (cudaSetDevice(nl_device_of(t).index) != cudaSuccess) {                  \
      nl_cu_fail("%s: cannot select cuda:%d: %s", #NAME, nl_device_of(t).index, \
                 cudaGetErrorString(cudaGetLastError()));                       \
      return;                                                                   \
    }                                                                           \
    nl_cuda_nn_##NAME(a);                                                       \
  }
NL_NN_WRAP(im2col)
NL_NN_WRAP(col2im)
NL_NN_WRAP(max_pool2d)
NL_NN_WRAP(max_pool2d_bwd)
NL_NN_WRAP(avg_pool2d)
NL_NN_WRAP(avg_pool2d_bwd)
NL_NN_WRAP(act)
NL_NN_WRAP(act_bwd)
NL_NN_WRAP(optim)
NL_NN_WRAP(bn_fwd)
NL_NN_WRAP(bn_bwd)
NL_NN_WRAP(rows_fwd)
NL_NN_WRAP(rows_bwd)
NL_NN_WRAP(rows_param)
NL_NN_WRAP(cls_check)
NL_NN_WRAP(cls)
NL_NN_WRAP(cls_bwd)
NL_NN_WRAP(loss_sum)
NL_NN_WRAP(pw)
NL_NN_WRAP(bce_check)
NL_NN_WRAP(pad)
NL_NN_WRAP(pad_bwd)
NL_NN_WRAP(one_hot_check)
NL_NN_WRAP(one_hot)
NL_NN_WRAP(adaptive_avg)
NL_NN_WRAP(adaptive_avg_bwd)
NL_NN_WRAP(adaptive_max)
NL_NN_WRAP(adaptive_max_bwd)

static nl_nn_kernel_fn nl_cuda_nn_table[NL_NN_OP_COUNT];

__attribute__((constructor)) static void nl_cuda_nn_install(void) {
  nl_cuda_nn_table[NL_NN_IM2COL] = nl_cunw_im2col;
  nl_cuda_nn_table[NL_NN_COL2IM] = nl_cunw_col2im;
  nl_cuda_nn_table[NL_NN_MAX_POOL2D] = nl_cunw_max_pool2d;
  nl_cuda_nn_table[NL_NN_MAX_POOL2D_BWD] = nl_cunw_max_pool2d_bwd;
  nl_cuda_nn_table[NL_NN_AVG_POOL2D] = nl_cunw_avg_pool2d;
  nl_cuda_nn_table[NL_NN_AVG_POOL2D_BWD] = nl_cunw_avg_pool2d_bwd;
  nl_cuda_nn_table[NL_NN_ACT] = nl_cunw_act;
  nl_cuda_nn_table[NL_NN_ACT_BWD] = nl_cunw_act_bwd;
  nl_cuda_nn_table[NL_NN_OPTIM] = nl_cunw_optim;
  nl_cuda_nn_table[NL_NN_BN_FWD] = nl_cunw_bn_fwd;
  nl_cuda_nn_table[NL_NN_BN_BWD] = nl_cunw_bn_bwd;
  nl_cuda_nn_table[NL_NN_ROWS_FWD] = nl_cunw_rows_fwd;
  nl_cuda_nn_table[NL_NN_ROWS_BWD] = nl_cunw_rows_bwd;
  nl_cuda_nn_table[NL_NN_ROWS_PARAM] = nl_cunw_rows_param;
  nl_cuda_nn_table[NL_NN_CLS_CHECK] = nl_cunw_cls_check;
  nl_cuda_nn_table[NL_NN_CLS] = nl_cunw_cls;
  nl_cuda_nn_table[NL_NN_CLS_BWD] = nl_cunw_cls_bwd;
  nl_cuda_nn_table[NL_NN_LOSS_SUM] = nl_cunw_loss_sum;
  nl_cuda_nn_table[NL_NN_PW] = nl_cunw_pw;
  nl_cuda_nn_table[NL_NN_BCE_CHECK] = nl_cunw_bce_check;
  nl_cuda_nn_table[NL_NN_PAD] = nl_cunw_pad;
  nl_cuda_nn_table[NL_NN_PAD_BWD] = nl_cunw_pad_bwd;
  nl_cuda_nn_table[NL_NN_ONE_HOT_CHECK] = nl_cunw_one_hot_check;
  nl_cuda_nn_table[NL_NN_ONE_HOT] = nl_cunw_one_hot;
  nl_cuda_nn_table[NL_NN_ADAPTIVE_AVG] = nl_cunw_adaptive_avg;
  nl_cuda_nn_table[NL_NN_ADAPTIVE_AVG_BWD] = nl_cunw_adaptive_avg_bwd;
  nl_cuda_nn_table[NL_NN_ADAPTIVE_MAX] = nl_cunw_adaptive_max;
  nl_cuda_nn_table[NL_NN_ADAPTIVE_MAX_BWD] = nl_cunw_adaptive_max_bwd;
  nl_nn_cuda_kernels = nl_cuda_nn_table;
}
