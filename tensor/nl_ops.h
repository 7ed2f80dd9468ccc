/* nl_ops.h: the C front ends of every tensor op (one header per family, all included here).
 *
 * Conventions: nl_<op>(...) returns a NEW tensor (or NULL with nl_error() set: the message
 * names the op and the offending shapes/values); in-place nl_<op>_(t, ...) returns 0 or -1
 * and bumps t's version counter. Dims are 0-based, already normalised by the caller
 * (the Lua binding converts 1-based and negative dims). Front ends check every argument
 * before allocating and never leak on failure. */
#ifndef NL_OPS_H
#define NL_OPS_H
#include "nl_tensor.h"

/* memory (ops_memory.c) */
nl_tensor *nl_contiguous(nl_tensor *t);          /* t itself (+1 ref) when already contiguous */
nl_tensor *nl_clone(const nl_tensor *t);         /* always a fresh contiguous copy */
nl_tensor *nl_to_dtype(nl_tensor *t, nl_dtype dt); /* t itself (+1 ref) when dt matches */
nl_tensor *nl_to_device(nl_tensor *t, nl_device dev); /* t itself (+1 ref) when already there */
/* dst <- src (broadcast to dst's shape, cast to dst's dtype; devices may differ). */
int nl_copy_(nl_tensor *dst, const nl_tensor *src);
int nl_fill_(nl_tensor *t, double v);

#include "ops_elementwise.h"
#include "ops_reduce.h"
#include "ops_shape.h"
#include "ops_index.h"
#include "ops_linalg.h"
#include "ops_random.h"
#include "ops_create.h"
#endif
