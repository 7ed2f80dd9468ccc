/* ops_linalg.h: front ends of the linalg family (conventions in nl_ops.h). */
#ifndef NL_OPS_LINALG_H
#define NL_OPS_LINALG_H
#include "nl_tensor.h"

#endif
