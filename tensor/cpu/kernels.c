/* kernels.c: the CPU kernel table. One designated initialiser per op of ops.def that the
 * CPU implements; a missing entry is reported as "<op> is not implemented on cpu". */
#include "nl_cpu.h"

static const nl_kernel_fn nl_cpu_table[NL_OP_COUNT] = {
    /* memory (copy.c) */
    [NL_OP_COPY] = nl_cpu_COPY,
    [NL_OP_FILL] = nl_cpu_FILL,
    [NL_OP_ARANGE] = nl_cpu_ARANGE,
    /* linalg and random (gemm.c, random.c) */
    [NL_OP_GEMM] = nl_cpu_GEMM,
    [NL_OP_UNIFORM] = nl_cpu_UNIFORM,
    [NL_OP_NORMAL] = nl_cpu_NORMAL,
    [NL_OP_BERNOULLI] = nl_cpu_BERNOULLI,
    [NL_OP_RANDINT] = nl_cpu_RANDINT,
};

const nl_backend nl_cpu_backend = {"cpu", nl_cpu_table};
