/* ops_shape.h: front ends of the shape family (conventions in nl_ops.h).
 *
 * Views (share t's storage, is_view = true): view reshape(when possible) flatten unflatten
 * squeeze unsqueeze expand transpose permute narrow select split unfold detach.
 * Copies: flip tile cat stack (and reshape when no view is possible).
 * Dims and indices are 0-based and already normalised (0 <= dim < ndim); error messages
 * are phrased for Lua users (dims and indices printed 1-based). */
#ifndef NL_OPS_SHAPE_H
#define NL_OPS_SHAPE_H
#include "nl_tensor.h"

/* shape may hold one -1 (inferred). Fails when t's strides cannot express the new shape. */
nl_tensor *nl_view(nl_tensor *t, int ndim, const int64_t *shape);
/* A view when possible, else a contiguous copy. */
nl_tensor *nl_reshape(nl_tensor *t, int ndim, const int64_t *shape);
/* Merges dims start..end (inclusive) into one; a 0-d tensor becomes [1]. */
nl_tensor *nl_flatten(nl_tensor *t, int start, int end);
/* Splits dim into sizes (one -1 allowed). */
nl_tensor *nl_unflatten(nl_tensor *t, int dim, int n, const int64_t *sizes);
/* dim < 0: every size-1 dim. */
nl_tensor *nl_squeeze(nl_tensor *t, int dim);
nl_tensor *nl_unsqueeze(nl_tensor *t, int dim);      /* 0 <= dim <= ndim */
/* sizes may add leading dims; -1 keeps a size; expanded dims get stride 0. */
nl_tensor *nl_expand(nl_tensor *t, int ndim, const int64_t *sizes);
nl_tensor *nl_transpose(nl_tensor *t, int d0, int d1);
nl_tensor *nl_permute(nl_tensor *t, const int *dims); /* t->ndim entries */
/* Reverses every dim (PyTorch's .T / numpy's .T). */
nl_tensor *nl_reverse_dims(nl_tensor *t);
nl_tensor *nl_narrow(nl_tensor *t, int dim, int64_t start, int64_t length);
/* Drops dim; index in 0..size-1. */
nl_tensor *nl_select(nl_tensor *t, int dim, int64_t index);
/* Stepped slice start, start+step, ... (count elements) along dim, keeping the dim. */
nl_tensor *nl_slice(nl_tensor *t, int dim, int64_t start, int64_t count, int64_t step);
/* Windows of `size` every `step` along dim, as a new last dim (PyTorch's Tensor.unfold). */
nl_tensor *nl_unfold(nl_tensor *t, int dim, int64_t size, int64_t step);
/* A new header on the same storage with no autograd history. */
nl_tensor *nl_detach(nl_tensor *t);
/* Splits dim into n views of sizes[i] (sum = size of dim): out[0..n-1] (new references). */
int nl_split_with_sizes(nl_tensor *t, int n, const int64_t *sizes, int dim, nl_tensor **out);
/* Sizes of chunk(chunks) / split(split_size) along a dim of size `size`: writes up to max
 * entries into sizes and returns the count, or -1 (with a message) on bad arguments. */
int nl_chunk_sizes(const char *op, int64_t size, int64_t chunks, int64_t *sizes, int max);
int nl_split_sizes(const char *op, int64_t size, int64_t split_size, int64_t *sizes, int max);

/* Copies. */
nl_tensor *nl_flip(nl_tensor *t, int n, const int *dims);
nl_tensor *nl_tile(nl_tensor *t, int n, const int64_t *reps); /* PyTorch's repeat */
/* Concatenates along dim (type promotion over all inputs; 1-D empty tensors are skipped,
 * like PyTorch). dim is 0-based in the dims of the non-empty inputs. */
nl_tensor *nl_cat(int n, nl_tensor *const *ts, int dim);
/* Stacks equal shapes along a new dim (0 <= dim <= ndim). */
nl_tensor *nl_stack(int n, nl_tensor *const *ts, int dim);

#endif
