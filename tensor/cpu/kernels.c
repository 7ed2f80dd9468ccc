/* kernels.c: the CPU kernel table. One designated initialiser per op of ops.def that the
 * CPU implements; a missing entry is reported as "<op> is not implemented on cpu". */
#include "nl_cpu.h"

static const nl_kernel_fn nl_cpu_table[NL_OP_COUNT] = {
    /* memory (copy.c) */
    [NL_OP_COPY] = nl_cpu_COPY,
    [NL_OP_FILL] = nl_cpu_FILL,
    [NL_OP_ARANGE] = nl_cpu_ARANGE,
    /* reduce family (reduce.c) */
    [NL_OP_SUM] = nl_cpu_SUM,
    [NL_OP_MEAN] = nl_cpu_MEAN,
    [NL_OP_PROD] = nl_cpu_PROD,
    [NL_OP_VAR] = nl_cpu_VAR,
    [NL_OP_NORM] = nl_cpu_NORM,
    [NL_OP_LOGSUMEXP] = nl_cpu_LOGSUMEXP,
    [NL_OP_AMAX] = nl_cpu_AMAX,
    [NL_OP_AMIN] = nl_cpu_AMIN,
    [NL_OP_ALL] = nl_cpu_ALL,
    [NL_OP_ANY] = nl_cpu_ANY,
    [NL_OP_MAX_DIM] = nl_cpu_MAX_DIM,
    [NL_OP_MIN_DIM] = nl_cpu_MIN_DIM,
    [NL_OP_CUMSUM] = nl_cpu_CUMSUM,
    [NL_OP_CUMPROD] = nl_cpu_CUMPROD,
    [NL_OP_SOFTMAX] = nl_cpu_SOFTMAX,
    [NL_OP_LOG_SOFTMAX] = nl_cpu_LOG_SOFTMAX,
};

const nl_backend nl_cpu_backend = {"cpu", nl_cpu_table};
