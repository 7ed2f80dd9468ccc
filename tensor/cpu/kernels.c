/* kernels.c: the CPU kernel table. One designated initialiser per op of ops.def that the
 * CPU implements; a missing entry is reported as "<op> is not implemented on cpu". */
#include "nl_cpu.h"

static const nl_kernel_fn nl_cpu_table[NL_OP_COUNT] = {
    /* memory (copy.c) */
    [NL_OP_COPY] = nl_cpu_COPY,
    [NL_OP_FILL] = nl_cpu_FILL,
    [NL_OP_ARANGE] = nl_cpu_ARANGE,
    /* index (index.c) */
    [NL_OP_INDEX_SELECT] = nl_cpu_INDEX_SELECT,
    [NL_OP_GATHER] = nl_cpu_GATHER,
    [NL_OP_SCATTER] = nl_cpu_SCATTER,
    [NL_OP_SCATTER_ADD] = nl_cpu_SCATTER_ADD,
    [NL_OP_MASKED_FILL] = nl_cpu_MASKED_FILL,
    [NL_OP_MASKED_SELECT] = nl_cpu_MASKED_SELECT,
    [NL_OP_TAKE] = nl_cpu_TAKE,
    [NL_OP_INDEX_FILL] = nl_cpu_INDEX_FILL,
    [NL_OP_INDEX_ADD] = nl_cpu_INDEX_ADD,
    [NL_OP_FLIP] = nl_cpu_FLIP,
};

const nl_backend nl_cpu_backend = {"cpu", nl_cpu_table};
