/* nl_kernel.h: the op enum, kernel arguments and per-backend kernel tables.
 *
 * Front ends (tensor/ops_*.c) validate arguments, compute the output's shape and dtype,
 * allocate it on the inputs' device and then call nl_run(op, &args). nl_run picks the
 * backend's table by device; kernels never fail and never allocate tensors. */
#ifndef NL_KERNEL_H
#define NL_KERNEL_H

#include "nl_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nl_op {
#define NL_OP(name, family) NL_OP_##name,
#include "ops.def"
#undef NL_OP
  NL_OP_COUNT
} nl_op;

/* Lower-case op name for messages: nl_op_name(NL_OP_LOG_SOFTMAX) == "log_softmax". */
const char *nl_op_name(nl_op op);

/* Arguments of one kernel call. Each front end documents which fields it sets; unused
 * fields are zero. Dims are 0-based here. */
typedef struct nl_kargs {
  nl_tensor *out;            /* primary output, already allocated (may be a view) */
  nl_tensor *out2;           /* second output (indices of max/min along a dim) or NULL */
  const nl_tensor *in[4];    /* inputs; all on out's device */
  double alpha, beta;        /* scalar parameters (add's alpha, clamp's bounds, ...) */
  int64_t ialpha, ibeta;     /* exact integer parameters (fills of int64, randint range) */
  int dim;                   /* the dim of dim-wise ops (softmax, cumsum, gather, ...) */
  uint32_t dimmask;          /* reductions: bit d set = reduce over dim d of in[0] */
  int flags;                 /* op-specific, see NL_KF_* */
  /* GEMM: out (B, M, N) = alpha * op(A) (B, M, K) @ op(B) (B, K, N) + beta * out */
  int64_t m, n, k, batch;
} nl_kargs;

enum {
  NL_KF_HAS_LO = 1,          /* clamp: a lower bound is given */
  NL_KF_HAS_HI = 2,          /* clamp: an upper bound is given */
  NL_KF_SCALAR_BOUNDS = 4,   /* clamp: bounds in alpha/beta rather than in[1]/in[2] */
};

typedef void (*nl_kernel_fn)(const nl_kargs *a);

typedef struct nl_backend {
  const char *name;          /* "cpu", "cuda" */
  const nl_kernel_fn *kernels; /* NL_OP_COUNT entries, NULL where not implemented */
} nl_backend;

extern const nl_backend nl_cpu_backend;
/* Set by the CUDA backend when it is compiled in (cuda/), else NULL. */
extern const nl_backend *nl_cuda_backend;

/* Host <-> device copies (set by cuda/ when compiled in): dst <- src, same shape. */
extern int (*nl_cross_device_copy)(nl_tensor *dst, const nl_tensor *src);

/* Broadcast shape of a and b into out; returns ndim or -1 (message names neither op). */
int nl_broadcast_shape_check(const nl_tensor *a, const nl_tensor *b, int64_t *out);

/* Runs op on the backend of args->out's device. Returns 0, or -1 with nl_error() set
 * ("softmax is not implemented on cuda") when the backend lacks the kernel. */
int nl_run(nl_op op, const nl_kargs *args);

#ifdef __cplusplus
}
#endif
#endif
