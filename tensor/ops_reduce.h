/* ops_reduce.h: front ends of the reduce family (conventions in nl_ops.h). */
#ifndef NL_OPS_REDUCE_H
#define NL_OPS_REDUCE_H
#include "nl_tensor.h"

#endif
