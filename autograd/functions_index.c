/* functions_index.c: differentiable index_fill / index_add / index_copy / masked_scatter (out
 * of place), the in-place index ops with autograd (recorded on non-leaf tensors: computed out of
 * place, then the tensor takes the result's values and history), t[key] = v on tensors that
 * require grad (AssignBackward, PyTorch's CopySlices), unfold and to(device). */
#include <stdlib.h>
#include <string.h>

#include "ag_internal.h"

static nl_tensor *nl_fin(nl_tensor *out, nl_node *n, int s) {
  if (s < 0) { nl_node_release(n); nl_tensor_free(out); return NULL; }
  nl_ag_set_history(out, n);
  return out;
}

/* ---- out-of-place index ops ------------------------------------------------------------ */
/* A clone of t with the in-place op applied (raw), then a node over (t, src). */
static nl_tensor *nl_ix(int kind, const nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src,
                        double v, const char *name) {
  nl_tensor *r = nl_clone(t);
  if (!r) return NULL;
  int rc = -1;
  switch (kind) {
  case NL_IX_FILL: rc = nl_index_fill_(r, dim, idx, v); break;
  case NL_IX_ADD: rc = nl_index_add_(r, dim, idx, src, v); break;
  case NL_IX_COPY: rc = nl_index_copy_(r, dim, idx, src); break;
  case NL_IX_MSCATTER: rc = nl_masked_scatter_(r, idx, src); break;
  }
  if (rc < 0) { nl_tensor_free(r); return NULL; }
  r->storage->version = 0;
  const nl_tensor *ins[2] = {t, src};
  if (!nl_ag_any_requires_grad(2, ins) || !nl_dtype_is_float(r->dtype)) return r;
  nl_node *n = nl_node_new(name, nl_d_index, 2, ins);
  if (!n) { nl_tensor_free(r); return NULL; }
  n->ip[0] = kind;
  n->ip[1] = dim;
  n->dp[0] = v;
  return nl_fin(r, n, nl_node_save(n, idx, false));
}

nl_tensor *nl_ag_index_fill(const nl_tensor *t, int dim, const nl_tensor *idx, double v) {
  return nl_ix(NL_IX_FILL, t, dim, idx, NULL, v, "IndexFillBackward");
}
nl_tensor *nl_ag_index_add(const nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double alpha) {
  return nl_ix(NL_IX_ADD, t, dim, idx, src, alpha, "IndexAddBackward");
}
nl_tensor *nl_ag_index_copy(const nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src) {
  return nl_ix(NL_IX_COPY, t, dim, idx, src, 0, "IndexCopyBackward");
}
nl_tensor *nl_ag_masked_scatter(const nl_tensor *t, const nl_tensor *mask, const nl_tensor *src) {
  return nl_ix(NL_IX_MSCATTER, t, 0, mask, src, 0, "MaskedScatterBackward");
}

/* inputs (self, src); ip[0] = kind, ip[1] = dim, dp[0] = fill value / alpha; saved[0] = the
 * index (the mask for masked_scatter) */
int nl_d_index(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *idx = nl_saved_get(n, 0);
  int kind = n->ip[0], d = n->ip[1];
  if (nl_ag_need(n, 0)) {
    if (kind == NL_IX_ADD) gi[0] = nl_ref(g);
    else if (kind == NL_IX_MSCATTER) OUT(0, nl_ag_masked_fill(g, idx, 0));
    else OUT(0, nl_ag_index_fill(g, d, idx, 0));
  }
  if (nl_ag_need(n, 1)) {
    if (kind == NL_IX_ADD) {
      nl_tensor *s = K(nl_ag_index_select(g, d, idx));
      OUT(1, n->dp[0] == 1 ? nl_ref(s) : nl_ag_muls(s, n->dp[0]));
    } else if (kind == NL_IX_COPY) {
      OUT(1, nl_ag_index_select(g, d, idx));
    } else { /* masked_scatter: src's first k elements went to the k masked places */
      nl_tensor *m = K(nl_expand(idx, g->ndim, g->shape));
      nl_tensor *sel = K(nl_ag_masked_select(g, m));
      int64_t total = 1, rest;
      for (int i = 0; i < n->in_ndim[1]; i++) total *= n->in_shape[1][i];
      rest = total - nl_numel(sel);
      nl_tensor *z = K(nl_zeros(1, &rest, g->dtype, nl_device_of(g)));
      nl_tensor *parts[2] = {sel, z};
      OUT(1, nl_ag_reshape(K(nl_ag_cat(2, parts, 0)), n->in_ndim[1], n->in_shape[1]));
    }
  }
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* ---- advanced indexing t[i1, i2, ...] --------------------------------------------------- */
/* The forward of nl_index from differentiable views, reshape and index_select: the gradient
 * flows back through IndexSelectBackward, an index_add into zeros, i.e. PyTorch's
 * IndexBackward (index_put with accumulate: repeated positions sum), and is itself
 * differentiable. */
nl_tensor *nl_ag_index(nl_tensor *t, int n, const int *dims, const nl_tensor *const *idx) {
  if (!nl_ag_any_requires_grad(1, (const nl_tensor *const *)&t) || !nl_dtype_is_float(t->dtype))
    return nl_index(t, n, dims, idx);
  nl_index_plan p;
  if (nl_index_plan_make("index", t, n, dims, idx, &p) < 0) return NULL;
  nl_tensor *a = nl_ag_permute(t, p.perm);
  nl_tensor *b = a ? nl_ag_reshape(a, p.flat_nd, p.flat) : NULL;
  nl_tensor *c = b ? nl_ag_index_select(b, 0, p.lin) : NULL;
  nl_tensor *d = c ? nl_ag_reshape(c, p.rnd, p.rshape) : NULL;
  nl_tensor *r = d ? nl_ag_permute(d, p.rperm) : NULL;
  nl_tensor *out = r ? nl_ag_contiguous(r) : NULL;
  nl_tensor_free(a); nl_tensor_free(b); nl_tensor_free(c); nl_tensor_free(d); nl_tensor_free(r);
  nl_tensor_free(p.lin);
  return out;
}

/* ---- in-place index ops ---------------------------------------------------------------- */
/* -1: error; 0: not recorded (run the raw op); 1: recorded (compute out of place, rebase) */
static int nl_ip_mode(nl_tensor *t, const nl_tensor *src, const char *op) {
  if (nl_ag_check_inplace(t, op) < 0) return -1;
  const nl_tensor *ins[2] = {t, src};
  if (!nl_ag_any_requires_grad(2, ins) || !nl_dtype_is_float(t->dtype)) return 0;
  return nl_ag_check_view(t, op) < 0 ? -1 : 1;
}
static int nl_ip_finish(nl_tensor *t, nl_tensor *r) { return r ? nl_ag_rebase(t, r) : -1; }

int nl_ag_masked_fill_(nl_tensor *t, const nl_tensor *mask, double v) {
  int m = nl_ip_mode(t, NULL, "masked_fill_");
  return m < 0 ? -1 : m == 0 ? nl_masked_fill_(t, mask, v) : nl_ip_finish(t, nl_ag_masked_fill(t, mask, v));
}
int nl_ag_masked_scatter_(nl_tensor *t, const nl_tensor *mask, const nl_tensor *src) {
  int m = nl_ip_mode(t, src, "masked_scatter_");
  return m < 0 ? -1 : m == 0 ? nl_masked_scatter_(t, mask, src) : nl_ip_finish(t, nl_ag_masked_scatter(t, mask, src));
}
int nl_ag_index_fill_(nl_tensor *t, int dim, const nl_tensor *idx, double v) {
  int m = nl_ip_mode(t, NULL, "index_fill_");
  return m < 0 ? -1 : m == 0 ? nl_index_fill_(t, dim, idx, v) : nl_ip_finish(t, nl_ag_index_fill(t, dim, idx, v));
}
int nl_ag_index_add_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double alpha) {
  int m = nl_ip_mode(t, src, "index_add_");
  return m < 0 ? -1 : m == 0 ? nl_index_add_(t, dim, idx, src, alpha) : nl_ip_finish(t, nl_ag_index_add(t, dim, idx, src, alpha));
}
int nl_ag_index_copy_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src) {
  int m = nl_ip_mode(t, src, "index_copy_");
  return m < 0 ? -1 : m == 0 ? nl_index_copy_(t, dim, idx, src) : nl_ip_finish(t, nl_ag_index_copy(t, dim, idx, src));
}
int nl_ag_scatter_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double v) {
  int m = nl_ip_mode(t, src, "scatter_");
  return m < 0 ? -1 : m == 0 ? nl_scatter_(t, dim, idx, src, v) : nl_ip_finish(t, nl_ag_scatter(t, dim, idx, src, v));
}
int nl_ag_scatter_add_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src) {
  int m = nl_ip_mode(t, src, "scatter_add_");
  return m < 0 ? -1 : m == 0 ? nl_scatter_add_(t, dim, idx, src) : nl_ip_finish(t, nl_ag_scatter_add(t, dim, idx, src));
}

/* ---- t[key] = v ------------------------------------------------------------------------- */
/* The region of a contiguous tensor c of t's shape that view covers in t (same geometry). */
static nl_tensor *nl_region(nl_tensor *c, const nl_tensor *t, const nl_tensor *view) {
  return nl_view_of(c, view->ndim, view->shape, view->stride, c->offset + (view->offset - t->offset));
}

int nl_ag_assign_view(nl_tensor *t, nl_tensor *view, const nl_tensor *src, double v) {
  const char *op = "t[...] =";
  if (nl_ag_check_inplace(t, op) < 0) return -1;
  const nl_tensor *ins[2] = {t, src};
  bool rec = nl_ag_any_requires_grad(2, ins) && nl_dtype_is_float(t->dtype);
  if (!rec) return src ? nl_copy_(view, src) : nl_fill_(view, v);
  if (nl_ag_check_view(t, op) < 0) return -1;
  if (!nl_is_contiguous(t))
    return nl_failc("%s: assignment into a non-contiguous tensor that requires grad is not supported", op);
  /* r = t with the region replaced (t's geometry: contiguous, so the view's strides apply) */
  nl_tensor *r = nl_clone(t);
  nl_tensor *w = r ? nl_region(r, t, view) : NULL;
  int rc = w ? (src ? nl_copy_(w, src) : nl_fill_(w, v)) : -1;
  nl_tensor_free(w);
  if (rc < 0) { nl_tensor_free(r); return -1; }
  nl_node *n = nl_node_new("CopySlices", nl_d_assign, 2, ins);
  if (!n) { nl_tensor_free(r); return -1; }
  /* the region's geometry relative to a contiguous tensor of t's shape */
  n->ip[0] = view->ndim;
  for (int i = 0; i < view->ndim; i++) { n->sp[i] = view->shape[i]; n->ip[1 + i] = (int)view->stride[i]; }
  n->dp[0] = (double)(view->offset - t->offset);
  if (view->ndim > NL_MAXDIM) { nl_node_release(n); nl_tensor_free(r); return nl_failc("%s: too many dims", op); }
  nl_ag_set_history(r, n);
  return nl_ag_rebase(t, r);
}

/* inputs (self, src): self gets g with the region zeroed, src the region of g (the engine
 * sums it back over broadcast dims). Not differentiable twice. */
int nl_d_assign(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  if (nl_grad_enabled())
    return nl_failc("CopySlices: double backward through an assignment t[...] = v is not supported");
  int64_t st[NL_MAXDIM];
  for (int i = 0; i < n->ip[0]; i++) st[i] = n->ip[1 + i];
  int rc = -1;
  nl_tensor *c = nl_clone(g); /* contiguous */
  nl_tensor *w = c ? nl_view_of(c, n->ip[0], n->sp, st, c->offset + (int64_t)n->dp[0]) : NULL;
  if (!w) goto done;
  if (nl_ag_need(n, 1) && !(gi[1] = nl_clone(w))) goto done; /* a copy: w is zeroed next */
  if (nl_ag_need(n, 0)) {
    if (nl_fill_(w, 0) < 0) goto done;
    nl_tensor_retain(c);
    gi[0] = c;
  }
  rc = 0;
done:
  nl_tensor_free(w);
  nl_tensor_free(c);
  return rc;
}

/* ---- unfold / to(device) ----------------------------------------------------------------- */
nl_tensor *nl_ag_unfold(nl_tensor *t, int dim, int64_t size, int64_t step) {
  nl_tensor *r = nl_unfold(t, dim, size, step);
  if (!r || !nl_ag_any_requires_grad(1, (const nl_tensor *const *)&t) || !nl_dtype_is_float(r->dtype)) return r;
  nl_node *n = nl_node_new("UnfoldBackward", nl_d_unfold, 1, (const nl_tensor *const *)&t);
  if (!n) { nl_tensor_free(r); return NULL; }
  n->ip[0] = dim;
  n->sp[0] = size;
  n->sp[1] = step;
  return nl_fin(r, n, 0);
}

/* ip[0] = dim, sp[0] = size, sp[1] = step. g [..., nw (at dim), ..., size]: window w, element
 * k goes to position w*step + k of the dim (index_add of g with the window dim moved next to
 * dim and flattened). */
int nl_d_unfold(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  int nd = n->in_ndim[0], d = n->ip[0];
  int64_t size = n->sp[0], step = n->sp[1];
  if (nd == 0) { /* g [size] (size 0 or 1) */
    OUT(0, nl_ag_reshape(K(nl_ag_reduce(NL_OP_SUM, g, 1, false, 0)), 0, NULL));
    nl_tmp_free(&tmp);
    return 0;
  }
  int64_t nw = g->shape[d], cnt = nw * size;
  int perm[NL_MAXDIM], k = 0;
  for (int i = 0; i <= d; i++) perm[k++] = i;
  perm[k++] = nd;
  for (int i = d + 1; i < nd; i++) perm[k++] = i;
  nl_tensor *gf = K(nl_ag_flatten(K(nl_ag_permute(g, perm)), d, d + 1)); /* [..., nw*size, ...] */
  nl_tensor *idx = K(nl_empty(1, &cnt, NL_INT64, nl_cpu()));
  int64_t *ip = nl_data(idx);
  for (int64_t w = 0; w < nw; w++)
    for (int64_t j = 0; j < size; j++) ip[w * size + j] = w * step + j;
  nl_tensor *ixd = K(nl_to_device(idx, nl_device_of(g)));
  nl_tensor *z = K(nl_zeros(nd, n->in_shape[0], g->dtype, nl_device_of(g)));
  OUT(0, nl_ag_index_add(z, d, ixd, gf, 1));
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

nl_tensor *nl_ag_to_device(nl_tensor *t, nl_device dev) {
  nl_tensor *r = nl_to_device(t, dev);
  if (!r || r == t || !nl_ag_any_requires_grad(1, (const nl_tensor *const *)&t) || !nl_dtype_is_float(r->dtype))
    return r;
  nl_node *n = nl_node_new("ToCopyBackward", nl_d_to_device, 1, (const nl_tensor *const *)&t);
  if (!n) { nl_tensor_free(r); return NULL; }
  n->ip[0] = nl_device_of(t).type;
  n->ip[1] = nl_device_of(t).index;
  return nl_fin(r, n, 0);
}

/* ip[0], ip[1] = the input's device */
int nl_d_to_device(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_device dev = {(nl_devtype)n->ip[0], n->ip[1]};
  return (gi[0] = nl_ag_to_device(g, dev)) ? 0 : -1;
}
