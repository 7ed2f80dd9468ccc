/* ops_index.h: front ends of the index family (conventions in nl_ops.h). */
#ifndef NL_OPS_INDEX_H
#define NL_OPS_INDEX_H
#include "nl_tensor.h"

#endif
