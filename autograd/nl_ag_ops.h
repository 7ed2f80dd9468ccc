/* nl_ag_ops.h: differentiable front ends. Each nl_ag_<op> has the signature of the tensor
 * front end nl_<op> (tensor/nl_ops.h), calls it, and when grad mode is on and an input
 * requires grad, records a node (autograd/functions*.c) whose backward formula lives in
 * autograd/derivatives.c. In-place versions refuse leaves that require grad and rebase the
 * history of a non-leaf onto the new node. Integer and bool inputs get no gradient. */
#ifndef NL_AG_OPS_H
#define NL_AG_OPS_H
#include "../tensor/nl_ops.h"
#include "nl_autograd.h"

/* elementwise */
nl_tensor *nl_ag_unary(nl_op op, const nl_tensor *a);
nl_tensor *nl_ag_unary_out(nl_op op, const nl_tensor *a, nl_tensor *out);
int nl_ag_unary_(nl_op op, nl_tensor *a);
nl_tensor *nl_ag_binary(nl_op op, const nl_tensor *a, const nl_tensor *b, double alpha);
nl_tensor *nl_ag_binary_ex(nl_op op, nl_arg a, nl_arg b, double alpha, nl_tensor *out);
int nl_ag_binary_(nl_op op, nl_tensor *self, nl_arg b, double alpha);
nl_tensor *nl_ag_where(const nl_tensor *cond, nl_arg a, nl_arg b);
nl_tensor *nl_ag_clamp(const nl_tensor *x, nl_arg lo, nl_arg hi, nl_tensor *out);
int nl_ag_clamp_(nl_tensor *x, nl_arg lo, nl_arg hi);
nl_tensor *nl_ag_lerp(const nl_tensor *start, const nl_tensor *end, nl_arg weight, nl_tensor *out);
static inline nl_tensor *nl_ag_add(const nl_tensor *a, const nl_tensor *b) { return nl_ag_binary(NL_OP_ADD, a, b, 1); }
static inline nl_tensor *nl_ag_mul(const nl_tensor *a, const nl_tensor *b) { return nl_ag_binary(NL_OP_MUL, a, b, 1); }
static inline nl_tensor *nl_ag_muls(const nl_tensor *a, double v) {
  return nl_ag_binary_ex(NL_OP_MUL, nl_arg_tensor(a), nl_arg_float(v), 1, NULL);
}
int nl_ag_copy_(nl_tensor *dst, const nl_tensor *src);
int nl_ag_fill_(nl_tensor *t, double v);

/* memory */
nl_tensor *nl_ag_contiguous(nl_tensor *t);
nl_tensor *nl_ag_clone(const nl_tensor *t);
nl_tensor *nl_ag_to_dtype(nl_tensor *t, nl_dtype dt);

/* reduce */
nl_tensor *nl_ag_reduce(nl_op op, const nl_tensor *t, uint32_t dimmask, bool keepdim, double param);
nl_tensor *nl_ag_reduce_dtype(nl_op op, const nl_tensor *t, uint32_t dimmask, bool keepdim,
                              double param, int dtype);
nl_tensor *nl_ag_std(const nl_tensor *t, uint32_t dimmask, bool keepdim, double correction);
int nl_ag_minmax_dim(const nl_tensor *t, int dim, bool keepdim, bool is_min, nl_tensor **values,
                     nl_tensor **indices);
nl_tensor *nl_ag_cumsum(const nl_tensor *t, int dim, int dtype);
nl_tensor *nl_ag_cumprod(const nl_tensor *t, int dim, int dtype);
nl_tensor *nl_ag_softmax(const nl_tensor *t, int dim, bool log_);

/* shape */
nl_tensor *nl_ag_view(nl_tensor *t, int ndim, const int64_t *shape);
nl_tensor *nl_ag_reshape(nl_tensor *t, int ndim, const int64_t *shape);
nl_tensor *nl_ag_flatten(nl_tensor *t, int start, int end);
nl_tensor *nl_ag_unflatten(nl_tensor *t, int dim, int n, const int64_t *sizes);
nl_tensor *nl_ag_squeeze(nl_tensor *t, int dim);
nl_tensor *nl_ag_unsqueeze(nl_tensor *t, int dim);
nl_tensor *nl_ag_expand(nl_tensor *t, int ndim, const int64_t *sizes);
nl_tensor *nl_ag_transpose(nl_tensor *t, int d0, int d1);
nl_tensor *nl_ag_permute(nl_tensor *t, const int *dims);
nl_tensor *nl_ag_reverse_dims(nl_tensor *t);
nl_tensor *nl_ag_narrow(nl_tensor *t, int dim, int64_t start, int64_t length);
nl_tensor *nl_ag_select(nl_tensor *t, int dim, int64_t index);
nl_tensor *nl_ag_slice(nl_tensor *t, int dim, int64_t start, int64_t count, int64_t step);
nl_tensor *nl_ag_detach(nl_tensor *t);
int nl_ag_split_with_sizes(nl_tensor *t, int n, const int64_t *sizes, int dim, nl_tensor **out);
nl_tensor *nl_ag_flip(nl_tensor *t, int n, const int *dims);
nl_tensor *nl_ag_tile(nl_tensor *t, int n, const int64_t *reps);
nl_tensor *nl_ag_cat(int n, nl_tensor *const *ts, int dim);
nl_tensor *nl_ag_stack(int n, nl_tensor *const *ts, int dim);

/* index */
nl_tensor *nl_ag_index_select(nl_tensor *t, int dim, const nl_tensor *idx);
/* advanced indexing with several index tensors (nl_index, tensor/ops_index.h) */
nl_tensor *nl_ag_index(nl_tensor *t, int n, const int *dims, const nl_tensor *const *idx);
nl_tensor *nl_ag_gather(nl_tensor *t, int dim, const nl_tensor *idx);
nl_tensor *nl_ag_scatter(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double v);
nl_tensor *nl_ag_scatter_add(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src);
nl_tensor *nl_ag_masked_fill(nl_tensor *t, const nl_tensor *mask, double v);
nl_tensor *nl_ag_masked_select(nl_tensor *t, const nl_tensor *mask);
nl_tensor *nl_ag_take(nl_tensor *t, const nl_tensor *idx);

/* index_fill / index_add / index_copy / masked_scatter out of place (differentiable), and the
 * in-place index ops: recorded on non-leaf tensors (computed out of place, then the tensor
 * takes the result's values and history); refused on leaves that require grad and on views */
nl_tensor *nl_ag_index_fill(const nl_tensor *t, int dim, const nl_tensor *idx, double v);
nl_tensor *nl_ag_index_add(const nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double alpha);
nl_tensor *nl_ag_index_copy(const nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src);
nl_tensor *nl_ag_masked_scatter(const nl_tensor *t, const nl_tensor *mask, const nl_tensor *src);
int nl_ag_check_inplace_nodiff(const nl_tensor *t, const char *op);
int nl_ag_masked_fill_(nl_tensor *t, const nl_tensor *mask, double v);
int nl_ag_masked_scatter_(nl_tensor *t, const nl_tensor *mask, const nl_tensor *src);
int nl_ag_index_fill_(nl_tensor *t, int dim, const nl_tensor *idx, double v);
int nl_ag_index_add_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double alpha);
int nl_ag_index_copy_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src);
int nl_ag_scatter_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double v);
int nl_ag_scatter_add_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src);
/* t[key] = src (or the number v when src is NULL) where view (sharing t's storage) is the
 * region the key selects: records AssignBackward (PyTorch's CopySlices) on t when t or src
 * requires grad; t must not be a view itself. */
int nl_ag_assign_view(nl_tensor *t, nl_tensor *view, const nl_tensor *src, double v);
/* unfold(dim, size, step) and to(device) */
nl_tensor *nl_ag_unfold(nl_tensor *t, int dim, int64_t size, int64_t step);
nl_tensor *nl_ag_to_device(nl_tensor *t, nl_device dev);

/* linalg */
nl_tensor *nl_ag_matmul(const nl_tensor *a, const nl_tensor *b);
nl_tensor *nl_ag_mm(const nl_tensor *a, const nl_tensor *b);
nl_tensor *nl_ag_bmm(const nl_tensor *a, const nl_tensor *b);
nl_tensor *nl_ag_mv(const nl_tensor *a, const nl_tensor *v);
nl_tensor *nl_ag_dot(const nl_tensor *a, const nl_tensor *b);
nl_tensor *nl_ag_outer(const nl_tensor *a, const nl_tensor *b);
nl_tensor *nl_ag_addmm(const nl_tensor *input, const nl_tensor *m1, const nl_tensor *m2, double beta,
                       double alpha);

/* gradient-only helpers (differentiable, used by backward formulas) */
/* zeros of (ndim, shape) with g written into the region a view op selected (the backward of
 * narrow / select / slice / index_select / gather / masked_select / take). */
nl_tensor *nl_ag_embed(nl_tensor *g, const nl_node *view_node, int ndim, const int64_t *shape,
                       nl_dtype dt);
#endif
