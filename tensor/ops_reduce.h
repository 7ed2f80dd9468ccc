/* ops_reduce.h: front ends of the reduce family: reductions, max/min along a dim, arg
 * reductions, scans and the softmax family (conventions in nl_ops.h; code in ops_reduce.c).
 *
 * Dims are 0-based here. A dimmask has bit d set for each reduced dim d of t; 0 means every
 * dim (PyTorch's "no dim"). A 0-d tensor accepts bit 0 (PyTorch accepts dim 0 / -1 on a
 * scalar) and reduces nothing. keepdim keeps reduced dims with size 1. */
#ifndef NL_OPS_REDUCE_H
#define NL_OPS_REDUCE_H
#include <stdbool.h>
#include <stdint.h>

#include "nl_kernel.h"
#include "nl_tensor.h"

/* op is one of NL_OP_ SUM MEAN PROD VAR NORM LOGSUMEXP AMAX AMIN ALL ANY.
 * param: VAR: correction (1 = unbiased); NORM: p (INFINITY, -INFINITY, 0, 1, 2, any);
 * ignored otherwise. Result dtypes follow PyTorch: sum/prod of int/bool -> int64; mean,
 * var, norm of int -> error; logsumexp of int -> default float dtype; amax/amin keep the
 * dtype; all/any -> bool (uint8 for uint8 input). */
nl_tensor *nl_reduce(nl_op op, const nl_tensor *t, uint32_t dimmask, bool keepdim, double param);
/* Same with an explicit result dtype (sum, mean, prod: the input is cast to it first, as
 * PyTorch's dtype= does); dtype < 0 means the default rule above. */
nl_tensor *nl_reduce_dtype(nl_op op, const nl_tensor *t, uint32_t dimmask, bool keepdim,
                           double param, int dtype);
/* Standard deviation: sqrt of nl_reduce(NL_OP_VAR, ...). */
nl_tensor *nl_std(const nl_tensor *t, uint32_t dimmask, bool keepdim, double correction);

/* Values and int64 indices (0-based) of the max (is_min false) or min along dim, NaN
 * propagating, first occurrence on ties. Returns 0 with two new references, or -1. */
int nl_minmax_dim(const nl_tensor *t, int dim, bool keepdim, bool is_min, nl_tensor **values,
                  nl_tensor **indices);
int nl_max_dim(const nl_tensor *t, int dim, bool keepdim, nl_tensor **values, nl_tensor **indices);
int nl_min_dim(const nl_tensor *t, int dim, bool keepdim, nl_tensor **values, nl_tensor **indices);
/* int64 index (0-based) of the max/min along dim; dim < 0: over the flattened tensor (a
 * 0-d result, or all-ones shape with keepdim). */
nl_tensor *nl_argmax(const nl_tensor *t, int dim, bool keepdim);
nl_tensor *nl_argmin(const nl_tensor *t, int dim, bool keepdim);

/* Inclusive scans along dim: int/bool -> int64 (or dtype when >= 0). */
nl_tensor *nl_cumsum(const nl_tensor *t, int dim, int dtype);
nl_tensor *nl_cumprod(const nl_tensor *t, int dim, int dtype);

/* softmax (log_ false) or log_softmax along dim; floating input, same dtype. */
nl_tensor *nl_softmax(const nl_tensor *t, int dim, bool log_);
#endif
