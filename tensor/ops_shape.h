/* ops_shape.h: front ends of the shape family (conventions in nl_ops.h). */
#ifndef NL_OPS_SHAPE_H
#define NL_OPS_SHAPE_H
#include "nl_tensor.h"

#endif
