/* nl_nn_kernel.h: device kernels of nn and optim (a table parallel to tensor/ops.def's).
 *
 * Why a second table: the CPU nn front ends (nn/ C files) run their own fused loops on
 * contiguous float64/float32 staging buffers (OpenMP over the batch, OpenBLAS inside), and
 * those loops take geometry structs that nl_kargs cannot carry. Rather than rewrite them
 * behind nl_run, the CPU path is left exactly as it was (same code, same results) and only
 * the device path goes through this table: a front end that receives CUDA tensors validates
 * them with the same checks and messages, allocates results on the tensors' device with the
 * tensor front ends (which run on CUDA through nl_run), and calls nl_nn_run for the few
 * primitives that no tensor op covers (im2col/col2im, pooling windows, fused activations,
 * fused optimizer steps). The CUDA backend fills the table at load time (cuda/kernels.cu);
 * without CUDA it stays NULL and nothing here is reachable (no tensor can be on CUDA).
 *
 * Kernels never fail or allocate; every tensor they get is contiguous and on one device. */
#ifndef NL_NN_KERNEL_H
#define NL_NN_KERNEL_H
#include <stdint.h>

#include "../tensor/nl_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nl_nn_op {
  NL_NN_IM2COL,        /* out col (N, C*kh*kw, Ho*Wo) <- in[0] x (N, C, H, W); geo */
  NL_NN_COL2IM,        /* out x (N, C, H, W) <- sum of in[0] col (N, C*kh*kw, Ho*Wo); geo */
  NL_NN_MAX_POOL2D,    /* out y (P, Ho, Wo), out2 int64 idx <- in[0] x (P, H, W); geo */
  NL_NN_MAX_POOL2D_BWD,/* out gx (P, H, W) (zeroed) += in[0] gy at in[1] idx (P, Ho, Wo) */
  NL_NN_AVG_POOL2D,    /* out y (P, Ho, Wo) <- in[0] x (P, H, W); geo, flags = ceil|cip */
  NL_NN_AVG_POOL2D_BWD,/* out gx (P, H, W) <- in[0] gy (P, Ho, Wo); geo */
  NL_NN_ACT,           /* out = act_kind(in[0]); kind, sc[0], sc[1] */
  NL_NN_ACT_BWD,       /* out = in[0] gy * act'(in[1] x) */
  NL_NN_OPTIM,         /* kind = NL_NN_OPT_*; io[0..4] param, grad, states; sc scalars */
  /* Norms (cuda/nn_norm.cu; formulas and association: nn/norm.c). T = x's dtype; the
   * per-channel / per-row vectors are float64; w, b may be NULL. nrm holds the sizes. */
  NL_NN_BN_FWD,        /* out y (N, C, S) T <- in[0] x (N, C, S) T, in[1] w (C), in[2] b (C);
                          io[0] mean (C), io[1] invstd (C) written; io[2] running_mean, io[3]
                          running_var (C, NULL: none) updated when training; flags NL_NN_F_TRAIN;
                          sc[0] momentum, sc[1] eps */
  NL_NN_BN_BWD,        /* out gx (N, C, S) T (NULL: not wanted), io[0] gw (C), io[1] gb (C) <-
                          in[0] x, in[1] gy (N, C, S) T, in[2] w, in[3] mean, in[4] invstd (C);
                          flags NL_NN_F_TRAIN */
  NL_NN_ROWS_FWD,      /* layer/group norm: out y (R, K) T, io[0] mean (R), io[1] rstd (R) <-
                          in[0] x (R, K) T, in[1] w, in[2] b (channels); sc[0] eps */
  NL_NN_ROWS_BWD,      /* out gx (R, K) T <- in[0] gy, in[1] x (R, K) T, in[2] w, in[3] mean,
                          in[4] rstd (R) */
  NL_NN_ROWS_PARAM,    /* io[0] gw, io[1] gb (C) <- in[0] gy, in[1] x seen as (N, C, S) T,
                          in[2] mean, in[3] rstd (N*G): the sums over n, s of channel c, whose
                          statistics row is n*G + c/Cg */
  /* Class losses (cuda/nn_loss.cu; formulas: nn/loss.c). float64 throughout; nrm.N, C, S:
   * x (N, C, S), M = N*S samples; i64 ignore_index; sc[0] label_smoothing; flags FUSED
   * (cross_entropy: x are logits), PROBS (class-probability targets). */
  NL_NN_CLS_CHECK,     /* out int64 [1] (holding M) = min(out, first sample whose in[0] target
                          (M, int64) is not i64 and not in [0, nrm.C)); nrm.R = M */
  NL_NN_CLS,           /* out li (M), out2 wi (M) per-sample loss and target weight; io[0] lp
                          (N, C, S) log-probs written when FUSED <- in[0] x, in[1] t (M int64 or
                          (N, C, S) probs), in[2] w (C) or NULL */
  NL_NN_CLS_BWD,       /* out gx (N, C, S) <- in[0] lp (log-probs), in[1] t, in[2] w, in[3] g (M
                          for "none", else 1), in[4] denom [1]; kind = reduction */
  NL_NN_LOSS_SUM,      /* out [1] = sum in[0] (nrm.R) ("sum") or / den ("mean"), out2 [1] = den
                          (each may be NULL); den = sum in[1] (nrm.R), or sc[0] when in[1] is
                          NULL; kind = reduction; one block */
  NL_NN_PW,            /* pointwise losses (nl_nn_math.h): out (n) f64 = loss, or with in[4] g
                          (n for "none", else 1) coef * d loss/dx <- in[0] x, in[1] t, in[2] w,
                          in[3] pos_weight (n, f64, NULL: 1); kind = loss kind; i64 reduction;
                          sc[0] the loss parameter; nrm.R = n */
  NL_NN_BCE_CHECK,     /* out int64 [1] (holding n) = min(out, first i with in[0] x (n, f64)
                          outside [0, 1]); nrm.R = n */
  /* pad and one_hot (cuda/nn_pad.cu; index map: nn/nl_nn_pad.h). T float32/float64. */
  NL_NN_PAD,           /* out y (pad.osh) T <- in[0] x (pad.ish) T; kind = mode; sc[0] value */
  NL_NN_PAD_BWD,       /* out gx (pad.ish) T <- in[0] gy (pad.osh) T: a gather (no atomics) */
  NL_NN_ONE_HOT_CHECK, /* out int64 [2]: [0] = min(out[0], first i with in[0] idx (nrm.R int64)
                          < 0), [1] = max(out[1], max idx) */
  NL_NN_ONE_HOT,       /* out int64 (nrm.R, nrm.C) <- in[0] idx (nrm.R int64), all in [0, C) */
  /* Adaptive pools (cuda/nn_adaptive.cu; windows: nn/pool.c): geo.N = P planes of H x W in,
   * Ho x Wo out; T float32/float64. */
  NL_NN_ADAPTIVE_AVG,  /* out y (P, Ho, Wo) <- in[0] x (P, H, W) */
  NL_NN_ADAPTIVE_AVG_BWD, /* out gx (P, H, W) <- in[0] gy (P, Ho, Wo): a gather */
  NL_NN_ADAPTIVE_MAX,  /* out y (P, Ho, Wo), out2 int64 idx <- in[0] x (P, H, W) */
  NL_NN_ADAPTIVE_MAX_BWD, /* out gx (P, H, W) <- in[0] gy, in[1] idx (P, Ho, Wo): a gather over
                          the windows holding each element (idx from the forward) */
  NL_NN_OP_COUNT
} nl_nn_op;

/* Optimizer kinds of NL_NN_OPTIM (formulas: nn/optim_update.c, same association). */
enum { NL_NN_OPT_SGD, NL_NN_OPT_ADAM, NL_NN_OPT_RMSPROP, NL_NN_OPT_ADAGRAD, NL_NN_OPT_ADADELTA };

/* Convolution / pooling geometry (0 where unused). Convolution: the conv2d of x (N, C, H, W)
 * with a (O, C/G, kh, kw) kernel; pooling: P = N*C planes, (kh, kw) the window. */
typedef struct nl_nn_geo {
  int64_t N, C, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw;
  int64_t divisor; /* avg pool: divisor_override (0 none) */
} nl_nn_geo;

/* Sizes of the norm kernels (0 where unused).
 * batch_norm: x (N, C, S). Rows (layer_norm, group_norm): R rows of K; the channel of element
 * j of row r is (r % G) * Cg + j / S for group_norm (G > 0), j for layer_norm (G = 0).
 * NL_NN_ROWS_PARAM: x seen as (N, C, S) with statistics rows of G groups of Cg channels
 * (layer_norm: N = R, C = K, S = 1, G = 1, Cg = K). */
typedef struct nl_nn_nrm {
  int64_t N, C, S, R, K, G, Cg;
} nl_nn_nrm;

/* Geometry of pad (nl_nn_pad.h): nd dims, input ish, output osh, low pads lo (0 unpadded). */
typedef struct nl_nn_pad {
  int nd;
  int64_t ish[NL_MAXDIM], osh[NL_MAXDIM], lo[NL_MAXDIM];
} nl_nn_pad;

typedef struct nl_nn_kargs {
  nl_tensor *out, *out2;
  const nl_tensor *in[6];
  nl_tensor *io[5];        /* optimizer slots: param, grad, state1..3 (NULL unused) */
  nl_nn_geo geo;
  nl_nn_nrm nrm;
  nl_nn_pad pad;
  double sc[12];           /* scalar parameters (activation a/b, optimizer hyper-parameters) */
  int64_t i64;             /* integer parameter (class losses: ignore_index) */
  int kind;                /* activation (nl_act), optimizer kind or loss reduction */
  int flags;               /* op specific: see NL_NN_F_* */
} nl_nn_kargs;

enum {
  NL_NN_F_CEIL = 1,        /* pooling: ceil_mode (output sizes are computed by the front end) */
  NL_NN_F_COUNT_PAD = 2,   /* avg pool: count_include_pad */
  /* optimizers: */
  NL_NN_F_WD = 4, NL_NN_F_MOM = 8, NL_NN_F_FIRST = 16, NL_NN_F_NESTEROV = 32,
  NL_NN_F_MAXIMIZE = 64, NL_NN_F_AMSGRAD = 128, NL_NN_F_DECOUPLED = 256, NL_NN_F_CENTERED = 512,
  NL_NN_F_TRAIN = 1024,    /* batch_norm: training mode (batch statistics) */
  NL_NN_F_FUSED = 2048,    /* class losses: cross_entropy (log_softmax fused in) */
  NL_NN_F_PROBS = 4096,    /* class losses: class-probability targets */
};

typedef void (*nl_nn_kernel_fn)(const nl_nn_kargs *a);
/* NL_NN_OP_COUNT entries, set by cuda/kernels.cu when CUDA is compiled in, else NULL. */
extern const nl_nn_kernel_fn *nl_nn_cuda_kernels;

/* Runs op on the device of a->out (or a->io[0]); the device must be CUDA. Returns 0, or -1
 * with nl_error() ("max_pool2d is not implemented on cpu", a launch failure). */
int nl_nn_run(nl_nn_op op, const nl_nn_kargs *a, const char *name);

#ifdef __cplusplus
}
#endif
#endif
