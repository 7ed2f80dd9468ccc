/* ops_random.h: front ends of the random family (conventions in nl_ops.h). */
#ifndef NL_OPS_RANDOM_H
#define NL_OPS_RANDOM_H
#include "nl_tensor.h"

#endif
