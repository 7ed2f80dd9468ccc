/* ops_elementwise.h: front ends of the elementwise family (conventions in nl_ops.h). */
#ifndef NL_OPS_ELEMENTWISE_H
#define NL_OPS_ELEMENTWISE_H
#include "nl_tensor.h"

#endif
