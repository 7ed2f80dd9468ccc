/* ops_index.h: front ends of the index family (conventions in nl_ops.h).
 *
 * Index tensors are int64 and 0-BASED here (the Lua binding subtracts 1). Every index is
 * range-checked before anything is written; an out-of-range index fails with a message in
 * Lua's terms: "gather: index 5 is out of range for dim 1 of size 3 (expected 1..3)".
 * Masks are bool tensors that broadcast (PyTorch rules). CPU only for now: the index checks
 * and mask counts read index/mask memory on the host. */
#ifndef NL_OPS_INDEX_H
#define NL_OPS_INDEX_H
#include "nl_tensor.h"

/* out = t with dim replaced by idx's entries (idx 1-D or 0-d). */
nl_tensor *nl_index_select(nl_tensor *t, int dim, const nl_tensor *idx);
/* out[i][j] = t[idx[i][j]][j] (dim 0); out has idx's shape. */
nl_tensor *nl_gather(nl_tensor *t, int dim, const nl_tensor *idx);
/* t[idx[i][j]][j] = src[i][j] (dim 0); src NULL: the number v. In place (bumps version). */
int nl_scatter_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double v);
int nl_scatter_add_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src);
nl_tensor *nl_scatter(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double v);
nl_tensor *nl_scatter_add(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src);
/* t[mask] = v; mask broadcasts to t's shape. */
int nl_masked_fill_(nl_tensor *t, const nl_tensor *mask, double v);
/* out = broadcast(t, mask) with v where mask. */
nl_tensor *nl_masked_fill(nl_tensor *t, const nl_tensor *mask, double v);
/* 1-D: the elements of broadcast(t, mask) where mask, in row-major order. */
nl_tensor *nl_masked_select(nl_tensor *t, const nl_tensor *mask);
/* t[mask] = src (src's first count(mask) elements in row-major order); mask broadcasts to t. */
int nl_masked_scatter_(nl_tensor *t, const nl_tensor *mask, const nl_tensor *src);
/* out (idx's shape) = t viewed as 1-D (row-major) at idx. */
nl_tensor *nl_take(nl_tensor *t, const nl_tensor *idx);
/* t[..., idx[k], ...] (along dim) = v for every k. */
int nl_index_fill_(nl_tensor *t, int dim, const nl_tensor *idx, double v);
/* t[..., idx[k], ...] += alpha * src[..., k, ...] along dim. */
int nl_index_add_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double alpha);
/* t[..., idx[k], ...] = src[..., k, ...] along dim (src broadcasts to the selected shape). */
int nl_index_copy_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src);
/* int64 1-D tensor of the (row-major) flat positions where mask (any shape) is true. */
nl_tensor *nl_mask_positions(const nl_tensor *mask);

/* ---- advanced indexing (PyTorch's t[i1, i2, ...] with several index tensors) -----------
 * n int64 0-based index tensors idx[j] for the distinct dims dims[j] of t broadcast together
 * to a shape B; the result takes one element per position of B: out[b..., rest...] =
 * t[.., idx[0][b], .., idx[1][b], ..]. The dims of B replace the indexed dims in place when
 * dims[] are consecutive and increasing, else they come first (then t's other dims in order). */
typedef struct {
  int nd, n;                /* t's dims, indexed dims */
  int perm[NL_MAXDIM];      /* t's dims: the indexed ones first (key order), then the rest */
  int flat_nd;              /* t permuted with the indexed dims merged: [prod sizes, rest...] */
  int64_t flat[NL_MAXDIM];
  int bnd;                  /* B */
  int64_t bshape[NL_MAXDIM];
  int rnd;                  /* the result: [B..., rest...] then permuted by rperm */
  int64_t rshape[NL_MAXDIM]; /* [B..., rest...] */
  int place;                /* where B's dims go in the result (0: first) */
  int rperm[NL_MAXDIM];     /* [B..., rest...] -> the result's dim order */
  int64_t shape[NL_MAXDIM]; /* the result's shape */
  nl_tensor *lin;           /* 1-D int64 (numel B) linear positions into flat's dim 0, on t's device */
} nl_index_plan;
/* Checks the key (op names the caller in messages) and fills p; p->lin is owned by the caller
 * (nl_tensor_free). -1 with nl_error() on a bad key. */
int nl_index_plan_make(const char *op, const nl_tensor *t, int n, const int *dims, const nl_tensor *const *idx,
                       nl_index_plan *p);
/* out = t[idx...] (a new tensor of p's result shape). */
nl_tensor *nl_index(nl_tensor *t, int n, const int *dims, const nl_tensor *const *idx);
/* t[idx...] = src (NULL: the number v), src broadcast to the result shape; accumulate: +=
 * (duplicates summed), else duplicates: the last write wins. In place (bumps version). */
int nl_index_put_(nl_tensor *t, int n, const int *dims, const nl_tensor *const *idx, const nl_tensor *src, double v,
                  bool accumulate);

#endif
