/* functions_shape.c: differentiable wrappers of the shape, index and linalg families, and
 * the embed op (the backward of the view-like ops, itself differentiable). */
#include <string.h>

#include "ag_internal.h"

static nl_tensor *nl_fin(nl_tensor *out, nl_node *n, int s) {
  if (s < 0) { nl_node_release(n); nl_tensor_free(out); return NULL; }
  nl_ag_set_history(out, n);
  return out;
}

/* A node over one input t for r, or NULL (r freed) on failure; *skip when nothing to record. */
static nl_node *nl_rec1(nl_tensor **r, const nl_tensor *t, const char *name, nl_backward_fn fn, bool *skip) {
  *skip = !*r || !nl_ag_any_requires_grad(1, &t) || !nl_dtype_is_float((*r)->dtype);
  if (*skip) return NULL;
  nl_node *n = nl_node_new(name, fn, 1, &t);
  if (!n) { nl_tensor_free(*r); *r = NULL; }
  return n;
}

#define REC1(r, t, name, fn)                                  \
  bool skip_;                                                  \
  nl_node *n = nl_rec1(&r, t, name, fn, &skip_);               \
  if (skip_) return r;                                         \
  if (!n) return NULL

/* ---- reshaping views ------------------------------------------------------------------ */
static nl_tensor *nl_rs(nl_tensor *r, nl_tensor *t, const char *name) {
  REC1(r, t, name, nl_d_reshape);
  return nl_fin(r, n, 0);
}
nl_tensor *nl_ag_view(nl_tensor *t, int nd, const int64_t *s) { return nl_rs(nl_view(t, nd, s), t, "ViewBackward"); }
nl_tensor *nl_ag_reshape(nl_tensor *t, int nd, const int64_t *s) {
  nl_tensor *r = nl_reshape(t, nd, s);
  if (r == t) return r;
  return nl_rs(r, t, "ReshapeAliasBackward");
}
nl_tensor *nl_ag_flatten(nl_tensor *t, int a, int b) {
  nl_tensor *r = nl_flatten(t, a, b);
  if (r == t) return r;
  return nl_rs(r, t, "FlattenBackward");
}
nl_tensor *nl_ag_unflatten(nl_tensor *t, int d, int k, const int64_t *s) { return nl_rs(nl_unflatten(t, d, k, s), t, "UnflattenBackward"); }
nl_tensor *nl_ag_squeeze(nl_tensor *t, int d) { return nl_rs(nl_squeeze(t, d), t, "SqueezeBackward"); }
nl_tensor *nl_ag_unsqueeze(nl_tensor *t, int d) { return nl_rs(nl_unsqueeze(t, d), t, "UnsqueezeBackward"); }

nl_tensor *nl_ag_expand(nl_tensor *t, int nd, const int64_t *s) {
  nl_tensor *r = nl_expand(t, nd, s);
  REC1(r, t, "ExpandBackward", nl_d_identity);
  return nl_fin(r, n, 0);
}

static nl_tensor *nl_perm(nl_tensor *r, nl_tensor *t, const int *perm, const char *name) {
  REC1(r, t, name, nl_d_permute);
  for (int i = 0; i < t->ndim; i++) n->ip[i] = perm[i];
  return nl_fin(r, n, 0);
}
nl_tensor *nl_ag_transpose(nl_tensor *t, int d0, int d1) {
  int p[NL_MAXDIM];
  for (int i = 0; i < t->ndim; i++) p[i] = i;
  if (t->ndim) { p[d0] = d1; p[d1] = d0; }
  return nl_perm(nl_transpose(t, d0, d1), t, p, "TransposeBackward");
}
nl_tensor *nl_ag_permute(nl_tensor *t, const int *dims) { return nl_perm(nl_permute(t, dims), t, dims, "PermuteBackward"); }
nl_tensor *nl_ag_reverse_dims(nl_tensor *t) {
  int p[NL_MAXDIM];
  for (int i = 0; i < t->ndim; i++) p[i] = t->ndim - 1 - i;
  return nl_perm(nl_reverse_dims(t), t, p, "PermuteBackward");
}

/* ---- view-like selections (backward: embed) ------------------------------------------ */
static nl_tensor *nl_sel(nl_tensor *r, nl_tensor *t, const char *name, int kind, int dim, int64_t a, int64_t b,
                         int64_t c, const nl_tensor *idx) {
  REC1(r, t, name, nl_d_embed);
  n->ip[0] = kind;
  n->ip[1] = dim;
  n->sp[0] = a;
  n->sp[1] = b;
  n->sp[2] = c;
  return nl_fin(r, n, idx ? nl_node_save(n, idx, false) : 0);
}
nl_tensor *nl_ag_narrow(nl_tensor *t, int dim, int64_t start, int64_t len) {
  return nl_sel(nl_narrow(t, dim, start, len), t, "NarrowBackward", NL_VK_NARROW, dim, start, len, 0, NULL);
}
nl_tensor *nl_ag_select(nl_tensor *t, int dim, int64_t index) {
  return nl_sel(nl_select(t, dim, index), t, "SelectBackward", NL_VK_SELECT, dim, index, 0, 0, NULL);
}
nl_tensor *nl_ag_slice(nl_tensor *t, int dim, int64_t start, int64_t count, int64_t step) {
  return nl_sel(nl_slice(t, dim, start, count, step), t, "SliceBackward", NL_VK_SLICE, dim, start, count, step, NULL);
}
nl_tensor *nl_ag_index_select(nl_tensor *t, int dim, const nl_tensor *idx) {
  return nl_sel(nl_index_select(t, dim, idx), t, "IndexSelectBackward", NL_VK_INDEX_SELECT, dim, 0, 0, 0, idx);
}
nl_tensor *nl_ag_gather(nl_tensor *t, int dim, const nl_tensor *idx) {
  return nl_sel(nl_gather(t, dim, idx), t, "GatherBackward", NL_VK_GATHER, dim, 0, 0, 0, idx);
}
nl_tensor *nl_ag_take(nl_tensor *t, const nl_tensor *idx) {
  return nl_sel(nl_take(t, idx), t, "TakeBackward", NL_VK_TAKE, 0, 0, 0, 0, idx);
}
nl_tensor *nl_ag_masked_select(nl_tensor *t, const nl_tensor *mask) {
  bool same = mask->ndim == t->ndim && !memcmp(mask->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  if (!same && nl_ag_any_requires_grad(1, (const nl_tensor *const *)&t)) {
    /* a broadcast mask: select from t expanded to the common shape (ExpandBackward sums back) */
    int nd = t->ndim > mask->ndim ? t->ndim : mask->ndim;
    int64_t shape[NL_MAXDIM];
    for (int i = 0; i < nd; i++) {
      int it = i - (nd - t->ndim), im = i - (nd - mask->ndim);
      int64_t a = it >= 0 ? t->shape[it] : 1, b = im >= 0 ? mask->shape[im] : 1;
      shape[i] = a == 1 ? b : a;
    }
    nl_tensor *te = nl_ag_expand(t, nd, shape);
    nl_tensor *me = te ? nl_expand((nl_tensor *)mask, nd, shape) : NULL;
    nl_tensor *r = me ? nl_ag_masked_select(te, me) : nl_masked_select(t, mask); /* the front end's error */
    nl_tensor_free(te);
    nl_tensor_free(me);
    return r;
  }
  return nl_sel(nl_masked_select(t, mask), t, "MaskedSelectBackward", NL_VK_MASKED_SELECT, 0, 0, 0, 0, mask);
}

nl_tensor *nl_ag_apply_view(nl_tensor *t, const nl_node *v) {
  nl_tensor *idx = v->n_saved ? v->unpacked[0] : NULL;
  switch (v->ip[0]) {
  case NL_VK_NARROW: return nl_ag_narrow(t, v->ip[1], v->sp[0], v->sp[1]);
  case NL_VK_SELECT: return nl_ag_select(t, v->ip[1], v->sp[0]);
  case NL_VK_SLICE: return nl_ag_slice(t, v->ip[1], v->sp[0], v->sp[1], v->sp[2]);
  case NL_VK_INDEX_SELECT: return nl_ag_index_select(t, v->ip[1], idx);
  case NL_VK_GATHER: return nl_ag_gather(t, v->ip[1], idx);
  case NL_VK_MASKED_SELECT: return nl_ag_masked_select(t, idx);
  case NL_VK_TAKE: return nl_ag_take(t, idx);
  }
  return nl_fail("autograd: unknown view kind %d", v->ip[0]);
}

nl_tensor *nl_ag_embed(nl_tensor *g, const nl_node *v, int ndim, const int64_t *shape, nl_dtype dt) {
  nl_tensor *idx = v->n_saved ? v->unpacked[0] : NULL;
  nl_tensor *z = nl_zeros(ndim, shape, dt, nl_device_of(g));
  if (!z) return NULL;
  int rc = 0;
  nl_tensor *w = NULL;
  switch (v->ip[0]) {
  case NL_VK_NARROW: w = nl_narrow(z, v->ip[1], v->sp[0], v->sp[1]); break;
  case NL_VK_SELECT: w = nl_select(z, v->ip[1], v->sp[0]); break;
  case NL_VK_SLICE: w = nl_slice(z, v->ip[1], v->sp[0], v->sp[1], v->sp[2]); break;
  case NL_VK_INDEX_SELECT: rc = nl_index_add_(z, v->ip[1], idx, g, 1); break;
  case NL_VK_GATHER: rc = nl_scatter_add_(z, v->ip[1], idx, g); break;
  case NL_VK_MASKED_SELECT: rc = nl_masked_scatter_(z, idx, g); break;
  case NL_VK_TAKE: {
    nl_tensor *zf = nl_reshape(z, 1, (int64_t[]){nl_numel(z)});
    nl_tensor *ixf = zf ? nl_reshape((nl_tensor *)idx, 1, (int64_t[]){nl_numel(idx)}) : NULL;
    nl_tensor *gf = ixf ? nl_reshape(g, 1, (int64_t[]){nl_numel(g)}) : NULL;
    rc = gf ? nl_index_add_(zf, 0, ixf, gf, 1) : -1;
    nl_tensor_free(zf); nl_tensor_free(ixf); nl_tensor_free(gf);
    break;
  }
  default: rc = nl_failc("autograd: unknown view kind %d", v->ip[0]);
  }
  if (v->ip[0] <= NL_VK_SLICE) rc = w ? nl_copy_(w, g) : -1;
  nl_tensor_free(w);
  if (rc < 0) { nl_tensor_free(z); return NULL; }
  z->storage->version = 0;
  if (!nl_ag_any_requires_grad(1, (const nl_tensor *const *)&g)) return z;
  nl_node *n = nl_node_new("EmbedBackward", nl_d_unembed, 1, (const nl_tensor *const *)&g);
  if (!n) { nl_tensor_free(z); return NULL; }
  n->ip[0] = v->ip[0];
  n->ip[1] = v->ip[1];
  memcpy(n->sp, v->sp, sizeof n->sp);
  return nl_fin(z, n, idx ? nl_node_save(n, idx, false) : 0);
}

nl_tensor *nl_ag_detach(nl_tensor *t) { return nl_detach(t); }

int nl_ag_split_with_sizes(nl_tensor *t, int k, const int64_t *sizes, int dim, nl_tensor **out) {
  if (!nl_ag_any_requires_grad(1, (const nl_tensor *const *)&t)) return nl_split_with_sizes(t, k, sizes, dim, out);
  if (nl_split_with_sizes(t, k, sizes, dim, out) < 0) return -1; /* checks the arguments */
  int64_t off = 0;
  for (int i = 0; i < k; i++) {
    nl_tensor_free(out[i]);
    out[i] = NULL;
  }
  for (int i = 0; i < k; i++) {
    out[i] = nl_ag_narrow(t, dim, off, sizes[i]);
    if (!out[i]) {
      for (int j = 0; j < i; j++) nl_tensor_free(out[j]);
      return -1;
    }
    off += sizes[i];
  }
  return 0;
}

nl_tensor *nl_ag_flip(nl_tensor *t, int k, const int *dims) {
  nl_tensor *r = nl_flip(t, k, dims);
  REC1(r, t, "FlipBackward", nl_d_flip);
  n->ip[0] = k;
  for (int i = 0; i < k && i < NL_MAXDIM; i++) n->ip[1 + i] = dims[i];
  return nl_fin(r, n, 0);
}

nl_tensor *nl_ag_tile(nl_tensor *t, int k, const int64_t *reps) {
  nl_tensor *r = nl_tile(t, k, reps);
  REC1(r, t, "RepeatBackward", nl_d_tile);
  n->ip[0] = k;
  for (int i = 0; i < k && i < NL_MAXDIM; i++) n->sp[i] = reps[i];
  return nl_fin(r, n, 0);
}

static nl_tensor *nl_multi(nl_tensor *r, int k, nl_tensor *const *ts, int dim, const char *name, nl_backward_fn fn) {
  if (!r || !nl_ag_any_requires_grad(k, (const nl_tensor *const *)ts) || !nl_dtype_is_float(r->dtype)) return r;
  nl_node *n = nl_node_new(name, fn, k, (const nl_tensor *const *)ts);
  if (!n) { nl_tensor_free(r); return NULL; }
  n->ip[0] = dim;
  return nl_fin(r, n, 0);
}
nl_tensor *nl_ag_cat(int k, nl_tensor *const *ts, int dim) { return nl_multi(nl_cat(k, ts, dim), k, ts, dim, "CatBackward", nl_d_cat); }
nl_tensor *nl_ag_stack(int k, nl_tensor *const *ts, int dim) { return nl_multi(nl_stack(k, ts, dim), k, ts, dim, "StackBackward", nl_d_stack); }

/* ---- index ----------------------------------------------------------------------------- */
static nl_tensor *nl_scat(nl_tensor *r, nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, bool add) {
  const nl_tensor *ins[2] = {t, src};
  if (!r || !nl_ag_any_requires_grad(2, ins) || !nl_dtype_is_float(r->dtype)) return r;
  nl_node *n = nl_node_new(add ? "ScatterAddBackward" : "ScatterBackward", nl_d_scatter, 2, ins);
  if (!n) { nl_tensor_free(r); return NULL; }
  n->ip[0] = dim;
  n->ip[1] = add;
  return nl_fin(r, n, nl_node_save(n, idx, false));
}
nl_tensor *nl_ag_scatter(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double v) {
  return nl_scat(nl_scatter(t, dim, idx, src, v), t, dim, idx, src, false);
}
nl_tensor *nl_ag_scatter_add(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src) {
  return nl_scat(nl_scatter_add(t, dim, idx, src), t, dim, idx, src, true);
}
nl_tensor *nl_ag_masked_fill(nl_tensor *t, const nl_tensor *mask, double v) {
  nl_tensor *r = nl_masked_fill(t, mask, v);
  REC1(r, t, "MaskedFillBackward", nl_d_masked_fill);
  return nl_fin(r, n, nl_node_save(n, mask, false));
}

/* ---- linalg ---------------------------------------------------------------------------- */
static nl_tensor *nl_mat(nl_tensor *r, const nl_tensor *a, const nl_tensor *b, const char *name, nl_backward_fn fn) {
  const nl_tensor *ins[2] = {a, b};
  if (!r || !nl_ag_any_requires_grad(2, ins) || !nl_dtype_is_float(r->dtype)) return r;
  nl_node *n = nl_node_new(name, fn, 2, ins);
  if (!n) { nl_tensor_free(r); return NULL; }
  int s = nl_node_save(n, a, false);
  if (s == 0) s = nl_node_save(n, b, false);
  return nl_fin(r, n, s);
}
nl_tensor *nl_ag_matmul(const nl_tensor *a, const nl_tensor *b) { return nl_mat(nl_matmul(a, b), a, b, "MatmulBackward", nl_d_matmul); }
nl_tensor *nl_ag_mm(const nl_tensor *a, const nl_tensor *b) { return nl_mat(nl_mm(a, b), a, b, "MmBackward", nl_d_matmul); }
nl_tensor *nl_ag_bmm(const nl_tensor *a, const nl_tensor *b) { return nl_mat(nl_bmm(a, b), a, b, "BmmBackward", nl_d_matmul); }
nl_tensor *nl_ag_mv(const nl_tensor *a, const nl_tensor *v) { return nl_mat(nl_mv(a, v), a, v, "MvBackward", nl_d_matmul); }
nl_tensor *nl_ag_dot(const nl_tensor *a, const nl_tensor *b) { return nl_mat(nl_dot(a, b), a, b, "DotBackward", nl_d_matmul); }
nl_tensor *nl_ag_outer(const nl_tensor *a, const nl_tensor *b) { return nl_mat(nl_outer(a, b), a, b, "OuterBackward", nl_d_outer); }

nl_tensor *nl_ag_addmm(const nl_tensor *input, const nl_tensor *m1, const nl_tensor *m2, double beta, double alpha) {
  const nl_tensor *ins[3] = {input, m1, m2};
  nl_tensor *r = nl_addmm(input, m1, m2, beta, alpha);
  if (!r || !nl_ag_any_requires_grad(3, ins) || !nl_dtype_is_float(r->dtype)) return r;
  nl_node *n = nl_node_new("AddmmBackward", nl_d_addmm, 3, ins);
  if (!n) { nl_tensor_free(r); return NULL; }
  n->dp[0] = beta;
  n->dp[1] = alpha;
  int s = nl_node_save(n, m1, false);
  if (s == 0) s = nl_node_save(n, m2, false);
  return nl_fin(r, n, s);
}
