/* ops_index.c: index_select, gather, scatter(_add), masked_fill/select/scatter, take,
 * index_fill/add/copy. Every index is checked on the host before the kernel runs, so a bad
 * index is an error naming the op, the index (1-based, Lua's terms) and the valid range. */
#include <stdio.h>
#include <string.h>

#include "nl_iter.h"
#include "nl_kernel.h"
#include "nl_ops.h"

#define SHP(nd, s, b) nl_shape_str((nd), (s), (b), sizeof(b))

static int64_t nl_dsize(const nl_tensor *t, int dim) { return t->ndim ? t->shape[dim] : 1; }

static int nl_check_dim(const char *op, const nl_tensor *t, int dim) {
  if (dim < 0 || dim >= (t->ndim ? t->ndim : 1))
    return nl_failc("%s: dim %d out of range for a tensor of %d dims", op, dim + 1, t->ndim);
  return 0;
}

/* idx: int64 on the CPU (like t), every entry in 0..size-1 (dim is reported 1-based). */
static int nl_check_index(const char *op, const nl_tensor *t, const nl_tensor *idx, int dim, int64_t size) {
  if (idx->dtype != NL_INT64) return nl_failc("%s: index must be an int64 tensor (got %s)", op, nl_dtype_name(idx->dtype));
  if (!nl_device_eq(nl_device_of(idx), nl_device_of(t))) {
    char d1[32], d2[32];
    nl_device_name(nl_device_of(t), d1, sizeof d1);
    nl_device_name(nl_device_of(idx), d2, sizeof d2);
    return nl_failc("%s: expected all tensors on the same device, got %s and %s", op, d1, d2);
  }
  /* the range check reads the entries on the host: a CUDA index is copied over first */
  nl_tensor *h = NULL;
  if (nl_device_of(idx).type != NL_CPU && !(h = nl_to_device((nl_tensor *)idx, nl_cpu()))) return -1;
  const nl_tensor *hi = h ? h : idx;
  int64_t n = nl_numel(hi);
  bool dense = nl_is_contiguous(hi);
  const int64_t *p = nl_data(hi);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = dense ? p[i] : nl_get_flat_i64(hi, i);
    if (v < 0 || v >= size) {
      nl_tensor_free(h);
      if (size == 0)
        return nl_failc("%s: index %lld is out of range for dim %d of size 0", op, nl_one_based(v), dim + 1);
      return nl_failc("%s: index %lld is out of range for dim %d of size %lld (expected 1..%lld)", op,
                      nl_one_based(v), dim + 1, (long long)size, (long long)size);
    }
  }
  nl_tensor_free(h);
  return 0;
}

static int nl_check_same(const char *op, const nl_tensor *t, const nl_tensor *src) {
  if (src->dtype != t->dtype)
    return nl_failc("%s: expected self.dtype to be equal to src.dtype (%s vs %s)", op, nl_dtype_name(t->dtype), nl_dtype_name(src->dtype));
  if (!nl_device_eq(nl_device_of(src), nl_device_of(t))) return nl_failc("%s: src and tensor must be on the same device", op);
  return 0;
}

/* Sets alpha/ialpha from a fill value. */
static void nl_set_value(nl_kargs *a, double v) { a->alpha = v; a->ialpha = (int64_t)v; }

nl_tensor *nl_index_select(nl_tensor *t, int dim, const nl_tensor *idx) {
  if (nl_check_dim("index_select", t, dim) < 0) return NULL;
  if (idx->ndim > 1) return nl_fail("index_select: index must be 0-d or 1-D (got %d dims)", idx->ndim);
  if (nl_check_index("index_select", t, idx, dim, nl_dsize(t, dim)) < 0) return NULL;
  int64_t shape[NL_MAXDIM];
  memcpy(shape, t->shape, sizeof shape);
  int nd = t->ndim;
  if (nd) shape[dim] = nl_numel(idx);
  else if (idx->ndim == 1) { nd = 1; shape[0] = nl_numel(idx); }
  nl_tensor *out = nl_empty(nd, shape, t->dtype, nl_device_of(t));
  if (!out) return NULL;
  nl_kargs a = {.out = out, .in = {t, idx}, .dim = dim};
  if (nl_run(NL_OP_INDEX_SELECT, &a) < 0) { nl_tensor_free(out); return NULL; }
  return out;
}

/* gather/scatter shape rules: same number of dims (0-d counts as 1-D); idx.size(d) <=
 * t.size(d) for d != dim and, with src, idx.size(d) <= src.size(d) for every d. */
static int nl_check_gs(const char *op, const nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src) {
  char b1[160], b2[160];
  if (nl_check_dim(op, t, dim) < 0) return -1;
  int tn = t->ndim ? t->ndim : 1, in = idx->ndim ? idx->ndim : 1;
  if (nl_numel(idx) == 0) return 0;
  if (tn != in)
    return nl_failc("%s: index tensor must have the same number of dimensions as input tensor (%d vs %d)", op, in, tn);
  for (int d = 0; d < idx->ndim; d++) {
    if (d != dim && t->ndim && idx->shape[d] > t->shape[d])
      return nl_failc("%s: size does not match at dimension %d: expected index %s to be smaller than self %s apart from dimension %d",
                      op, d + 1, SHP(idx->ndim, idx->shape, b1), SHP(t->ndim, t->shape, b2), dim + 1);
    if (src && src->ndim == idx->ndim && idx->shape[d] > src->shape[d])
      return nl_failc("%s: size does not match at dimension %d: expected index %s to be smaller than src %s",
                      op, d + 1, SHP(idx->ndim, idx->shape, b1), SHP(src->ndim, src->shape, b2));
  }
  if (src && (src->ndim ? src->ndim : 1) != in)
    return nl_failc("%s: index tensor must have the same number of dimensions as src tensor (%d vs %d)", op, in, src->ndim);
  return nl_check_index(op, t, idx, dim, nl_dsize(t, dim));
}

nl_tensor *nl_gather(nl_tensor *t, int dim, const nl_tensor *idx) {
  if (nl_check_gs("gather", t, dim, idx, NULL) < 0) return NULL;
  nl_tensor *out = nl_empty(idx->ndim, idx->shape, t->dtype, nl_device_of(t));
  if (!out) return NULL;
  nl_kargs a = {.out = out, .in = {t, idx}, .dim = dim};
  if (nl_run(NL_OP_GATHER, &a) < 0) { nl_tensor_free(out); return NULL; }
  return out;
}

static int nl_scatter_run(const char *op, nl_op k, nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double v) {
  if (src && nl_check_same(op, t, src) < 0) return -1;
  if (nl_check_gs(op, t, dim, idx, src) < 0) return -1;
  nl_kargs a = {.out = t, .in = {idx, src}, .dim = dim};
  nl_set_value(&a, v);
  if (nl_run(k, &a) < 0) return -1;
  nl_bump_version(t);
  return 0;
}

int nl_scatter_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double v) {
  return nl_scatter_run("scatter", NL_OP_SCATTER, t, dim, idx, src, v);
}

int nl_scatter_add_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src) {
  if (!src) return nl_failc("scatter_add: src must be a tensor");
  return nl_scatter_run("scatter_add", NL_OP_SCATTER_ADD, t, dim, idx, src, 0);
}

nl_tensor *nl_scatter(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double v) {
  if (src && nl_check_same("scatter", t, src) < 0) return NULL;
  if (nl_check_gs("scatter", t, dim, idx, src) < 0) return NULL;
  nl_tensor *out = nl_clone(t);
  if (out && nl_scatter_(out, dim, idx, src, v) < 0) { nl_tensor_free(out); return NULL; }
  if (out) out->storage->version = 0;
  return out;
}

nl_tensor *nl_scatter_add(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src) {
  if (!src) return nl_fail("scatter_add: src must be a tensor");
  if (nl_check_same("scatter_add", t, src) < 0 || nl_check_gs("scatter_add", t, dim, idx, src) < 0) return NULL;
  nl_tensor *out = nl_clone(t);
  if (out && nl_scatter_add_(out, dim, idx, src) < 0) { nl_tensor_free(out); return NULL; }
  if (out) out->storage->version = 0;
  return out;
}

static int nl_check_mask(const char *op, const nl_tensor *t, const nl_tensor *mask) {
  if (mask->dtype != NL_BOOL) return nl_failc("%s: expected a bool mask (got %s)", op, nl_dtype_name(mask->dtype));
  if (!nl_device_eq(nl_device_of(mask), nl_device_of(t))) return nl_failc("%s: mask and tensor must be on the same device", op);
  return 0;
}

/* mask must broadcast to t's shape without enlarging it (in-place rule). */
static int nl_check_mask_inplace(const char *op, const nl_tensor *t, const nl_tensor *mask) {
  char b1[160], b2[160];
  int64_t shape[NL_MAXDIM];
  if (nl_check_mask(op, t, mask) < 0) return -1;
  int nd = nl_broadcast_shape(op, t->ndim, t->shape, mask->ndim, mask->shape, shape);
  if (nd < 0) return -1;
  if (nd != t->ndim || memcmp(shape, t->shape, sizeof(int64_t) * (size_t)nd) != 0)
    return nl_failc("%s: mask of shape %s cannot be broadcast to the tensor's shape %s", op,
                    SHP(mask->ndim, mask->shape, b1), SHP(t->ndim, t->shape, b2));
  return 0;
}

int nl_masked_fill_(nl_tensor *t, const nl_tensor *mask, double v) {
  if (nl_check_mask_inplace("masked_fill_", t, mask) < 0) return -1;
  nl_kargs a = {.out = t, .in = {mask}};
  nl_set_value(&a, v);
  if (nl_run(NL_OP_MASKED_FILL, &a) < 0) return -1;
  nl_bump_version(t);
  return 0;
}

nl_tensor *nl_masked_fill(nl_tensor *t, const nl_tensor *mask, double v) {
  int64_t shape[NL_MAXDIM];
  if (nl_check_mask("masked_fill", t, mask) < 0) return NULL;
  int nd = nl_broadcast_shape("masked_fill", t->ndim, t->shape, mask->ndim, mask->shape, shape);
  if (nd < 0) return NULL;
  nl_tensor *out = nl_empty(nd, shape, t->dtype, nl_device_of(t));
  if (!out) return NULL;
  if (nl_copy_(out, t) < 0 || nl_masked_fill_(out, mask, v) < 0) { nl_tensor_free(out); return NULL; }
  out->storage->version = 0;
  return out;
}

/* Number of true elements of a bool tensor (a CUDA mask is counted from a host copy);
 * -1 with nl_error() when that copy fails. */
static int64_t nl_count_true(const nl_tensor *m) {
  if (nl_device_of(m).type != NL_CPU) {
    nl_tensor *h = nl_to_device((nl_tensor *)m, nl_cpu());
    if (!h) return -1;
    int64_t k = nl_count_true(h);
    nl_tensor_free(h);
    return k;
  }
  int64_t n = nl_numel(m), k = 0;
  if (nl_is_contiguous(m)) {
    const uint8_t *p = nl_data(m);
    for (int64_t i = 0; i < n; i++) k += p[i] != 0;
  } else {
    for (int64_t i = 0; i < n; i++) k += nl_get_flat(m, i) != 0;
  }
  return k;
}

nl_tensor *nl_masked_select(nl_tensor *t, const nl_tensor *mask) {
  int64_t shape[NL_MAXDIM];
  if (nl_check_mask("masked_select", t, mask) < 0) return NULL;
  int nd = nl_broadcast_shape("masked_select", t->ndim, t->shape, mask->ndim, mask->shape, shape);
  if (nd < 0) return NULL;
  nl_tensor *te = nl_expand(t, nd, shape);
  nl_tensor *me = te ? nl_expand((nl_tensor *)mask, nd, shape) : NULL;
  int64_t cnt = me ? nl_count_true(me) : -1;
  nl_tensor *out = cnt >= 0 ? nl_empty(1, (int64_t[]){cnt}, t->dtype, nl_device_of(t)) : NULL;
  nl_kargs a = {.out = out, .in = {te, me}};
  if (out && nl_run(NL_OP_MASKED_SELECT, &a) < 0) { nl_tensor_free(out); out = NULL; }
  nl_tensor_free(te);
  nl_tensor_free(me);
  return out;
}

nl_tensor *nl_mask_positions(const nl_tensor *mask) {
  if (mask->dtype != NL_BOOL) return nl_fail("mask: expected a bool tensor (got %s)", nl_dtype_name(mask->dtype));
  if (nl_device_of(mask).type != NL_CPU) return nl_fail("mask: only cpu tensors are supported");
  int64_t n = nl_numel(mask);
  nl_tensor *out = nl_empty(1, (int64_t[]){nl_count_true(mask)}, NL_INT64, nl_cpu());
  if (!out) return NULL;
  int64_t *o = nl_data(out), k = 0;
  for (int64_t i = 0; i < n; i++)
    if (nl_get_flat(mask, i) != 0) o[k++] = i;
  return out;
}

int nl_masked_scatter_(nl_tensor *t, const nl_tensor *mask, const nl_tensor *src) {
  if (nl_check_mask_inplace("masked_scatter_", t, mask) < 0) return -1;
  nl_tensor *me = nl_expand((nl_tensor *)mask, t->ndim, t->shape);
  nl_tensor *pos = me ? nl_mask_positions(me) : NULL;
  nl_tensor_free(me);
  if (!pos) return -1;
  int64_t cnt = pos->shape[0], sn = nl_numel(src);
  if (sn < cnt) {
    nl_tensor_free(pos);
    return nl_failc("masked_scatter_: expected the source to have at least %lld elements (the number of true mask entries) but got %lld",
                    (long long)cnt, (long long)sn);
  }
  /* flat (1-D) views of a contiguous target and of src's first cnt elements (cast to t's dtype) */
  nl_tensor *work = nl_is_contiguous(t) ? (nl_tensor_retain(t), t) : nl_clone(t);
  nl_tensor *sc = nl_to_dtype((nl_tensor *)src, t->dtype), *scc = sc ? nl_contiguous(sc) : NULL;
  nl_tensor *flat = work ? nl_view_of(work, 1, (int64_t[]){nl_numel(t)}, NULL, work->offset) : NULL;
  nl_tensor *sflat = scc ? nl_view_of(scc, 1, (int64_t[]){cnt}, NULL, scc->offset) : NULL;
  int rc = -1;
  if (flat && sflat) {
    nl_kargs a = {.out = flat, .in = {pos, sflat}, .dim = 0};
    rc = nl_run(NL_OP_SCATTER, &a);
    if (rc == 0 && work != t) rc = nl_copy_(t, work);
    else if (rc == 0) nl_bump_version(t);
  }
  nl_tensor_free(pos); nl_tensor_free(work); nl_tensor_free(sc); nl_tensor_free(scc);
  nl_tensor_free(flat); nl_tensor_free(sflat);
  return rc;
}

nl_tensor *nl_take(nl_tensor *t, const nl_tensor *idx) {
  int64_t n = nl_numel(t);
  if (idx->dtype != NL_INT64) return nl_fail("take: index must be an int64 tensor (got %s)", nl_dtype_name(idx->dtype));
  /* the flat index is checked against numel (reported as "dim 1" of the flattened tensor) */
  if (!nl_device_eq(nl_device_of(idx), nl_device_of(t))) {
    char d1[32], d2[32];
    nl_device_name(nl_device_of(t), d1, sizeof d1);
    nl_device_name(nl_device_of(idx), d2, sizeof d2);
    return nl_fail("take: expected all tensors on the same device, got %s and %s", d1, d2);
  }
  int64_t m = nl_numel(idx);
  nl_tensor *h = NULL; /* the range check reads a host copy of a CUDA index */
  if (nl_device_of(idx).type != NL_CPU && !(h = nl_to_device((nl_tensor *)idx, nl_cpu()))) return NULL;
  for (int64_t i = 0; i < m; i++) {
    int64_t v = nl_get_flat_i64(h ? h : idx, i);
    if (v < 0 || v >= n) {
      nl_tensor_free(h);
      return nl_fail("take: index %lld is out of range for a tensor of %lld elements (expected 1..%lld)",
                     nl_one_based(v), (long long)n, (long long)n);
    }
  }
  nl_tensor_free(h);
  nl_tensor *out = nl_empty(idx->ndim, idx->shape, t->dtype, nl_device_of(t));
  if (!out) return NULL;
  nl_kargs a = {.out = out, .in = {t, idx}};
  if (nl_run(NL_OP_TAKE, &a) < 0) { nl_tensor_free(out); return NULL; }
  return out;
}

static int nl_check_index_dim(const char *op, const nl_tensor *t, int dim, const nl_tensor *idx) {
  if (nl_check_dim(op, t, dim) < 0) return -1;
  if (idx->ndim > 1) return nl_failc("%s: index must be 0-d or 1-D (got %d dims)", op, idx->ndim);
  return nl_check_index(op, t, idx, dim, nl_dsize(t, dim));
}

int nl_index_fill_(nl_tensor *t, int dim, const nl_tensor *idx, double v) {
  if (nl_check_index_dim("index_fill_", t, dim, idx) < 0) return -1;
  nl_kargs a = {.out = t, .in = {idx}, .dim = dim};
  nl_set_value(&a, v);
  if (nl_run(NL_OP_INDEX_FILL, &a) < 0) return -1;
  nl_bump_version(t);
  return 0;
}

/* src must have t's shape with dim replaced by numel(idx). */
static int nl_check_index_src(const char *op, const nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src) {
  char b1[160], b2[160];
  int64_t want[NL_MAXDIM];
  memcpy(want, t->shape, sizeof want);
  if (t->ndim) want[dim] = nl_numel(idx);
  if (src->ndim != t->ndim || memcmp(want, src->shape, sizeof(int64_t) * (size_t)t->ndim) != 0)
    return nl_failc("%s: source of shape %s does not match the expected shape %s", op,
                    SHP(src->ndim, src->shape, b1), SHP(t->ndim, want, b2));
  return 0;
}

int nl_index_add_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src, double alpha) {
  if (nl_check_index_dim("index_add_", t, dim, idx) < 0 || nl_check_same("index_add_", t, src) < 0 ||
      nl_check_index_src("index_add_", t, dim, idx, src) < 0)
    return -1;
  nl_kargs a = {.out = t, .in = {idx, src}, .dim = dim};
  nl_set_value(&a, alpha);
  if (nl_run(NL_OP_INDEX_ADD, &a) < 0) return -1;
  nl_bump_version(t);
  return 0;
}

/* Runs SCATTER with idx expanded (stride 0) over the selected region's shape. */
int nl_index_copy_(nl_tensor *t, int dim, const nl_tensor *idx, const nl_tensor *src) {
  char b1[160], b2[160];
  if (nl_check_index_dim("index_copy_", t, dim, idx) < 0) return -1;
  int nd = t->ndim ? t->ndim : 1;
  int64_t shape[NL_MAXDIM], st[NL_MAXDIM] = {0}, tmp[NL_MAXDIM];
  memcpy(shape, t->shape, sizeof shape);
  if (!t->ndim) shape[0] = 1;
  shape[dim] = nl_numel(idx);
  st[dim] = idx->ndim ? idx->stride[0] : 0;
  int bd = nl_broadcast_shape("index_copy_", nd, shape, src->ndim, src->shape, tmp);
  if (bd < 0 || bd != nd || memcmp(tmp, shape, sizeof(int64_t) * (size_t)nd) != 0)
    return nl_failc("index_copy_: source of shape %s cannot be broadcast to the indexed shape %s",
                    SHP(src->ndim, src->shape, b1), SHP(nd, shape, b2));
  nl_tensor *ie = nl_view_of(idx, nd, shape, st, idx->offset);
  nl_tensor *sc = ie ? nl_to_dtype((nl_tensor *)src, t->dtype) : NULL;
  nl_tensor *se = sc ? nl_expand(sc, nd, shape) : NULL;
  nl_tensor *tv = se ? (t->ndim ? (nl_tensor_retain(t), t) : nl_view_of(t, 1, (int64_t[]){1}, NULL, t->offset)) : NULL;
  int rc = -1;
  if (tv) {
    nl_kargs a = {.out = tv, .in = {ie, se}, .dim = dim};
    rc = nl_run(NL_OP_SCATTER, &a);
    if (rc == 0) nl_bump_version(t);
  }
  nl_tensor_free(ie); nl_tensor_free(sc); nl_tensor_free(se); nl_tensor_free(tv);
  return rc;
}

/* ---- advanced indexing --------------------------------------------------------------- */
int nl_index_plan_make(const char *op, const nl_tensor *t, int n, const int *dims, const nl_tensor *const *idx,
                       nl_index_plan *p) {
  char b1[160], b2[160];
  memset(p, 0, sizeof *p);
  p->nd = t->ndim;
  p->n = n;
  if (n < 1 || n > t->ndim) return nl_failc("%s: %d index tensors for a tensor of %d dims", op, n, t->ndim);
  bool used[NL_MAXDIM] = {false};
  for (int j = 0; j < n; j++) {
    if (dims[j] < 0 || dims[j] >= t->ndim || used[dims[j]])
      return nl_failc("%s: bad or repeated dim %d for a tensor of %d dims", op, dims[j] + 1, t->ndim);
    used[dims[j]] = true;
    if (idx[j]->dtype != NL_INT64) return nl_failc("%s: index must be an int64 tensor (got %s)", op, nl_dtype_name(idx[j]->dtype));
    if (nl_device_of(idx[j]).type != NL_CPU) return nl_failc("%s: index tensors must be on the cpu", op);
  }
  /* B: the index shapes broadcast together (PyTorch's message on a mismatch) */
  p->bnd = 0;
  for (int j = 0; j < n; j++) {
    const nl_tensor *ix = idx[j];
    int nd = ix->ndim > p->bnd ? ix->ndim : p->bnd;
    int64_t out[NL_MAXDIM];
    for (int d = 0; d < nd; d++) {
      int da = d - (nd - p->bnd), db = d - (nd - ix->ndim);
      int64_t a = da >= 0 ? p->bshape[da] : 1, b = db >= 0 ? ix->shape[db] : 1;
      if (a != b && a != 1 && b != 1) {
        int len = 0;
        char msg[NL_MAXDIM * 160];
        for (int k = 0; k < n && len < (int)sizeof msg - 160; k++)
          len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s", k ? ", " : "", SHP(idx[k]->ndim, idx[k]->shape, b1));
        return nl_failc("%s: shape mismatch: indexing tensors could not be broadcast together with shapes %s", op, msg);
      }
      out[d] = a == 1 ? b : a;
    }
    p->bnd = nd;
    memcpy(p->bshape, out, sizeof(int64_t) * (size_t)nd);
  }
  int rest = t->ndim - n;
  if (p->bnd + rest > NL_MAXDIM)
    return nl_failc("%s: the result would have %d dims (at most %d)", op, p->bnd + rest, NL_MAXDIM);
  /* the permutation and the flattened shape */
  int k = 0;
  int64_t prod = 1;
  for (int j = 0; j < n; j++) { p->perm[k++] = dims[j]; prod *= t->shape[dims[j]]; }
  p->flat_nd = 1;
  p->flat[0] = prod;
  for (int d = 0; d < t->ndim; d++)
    if (!used[d]) { p->perm[k++] = d; p->flat[p->flat_nd++] = t->shape[d]; }
  /* placement: consecutive increasing dims keep their place, else B first */
  bool adjacent = true;
  for (int j = 1; j < n; j++) adjacent = adjacent && dims[j] == dims[j - 1] + 1;
  p->place = adjacent ? dims[0] : 0;
  p->rnd = p->bnd + rest;
  memcpy(p->rshape, p->bshape, sizeof(int64_t) * (size_t)p->bnd);
  memcpy(p->rshape + p->bnd, p->flat + 1, sizeof(int64_t) * (size_t)rest);
  for (int i = 0; i < p->rnd; i++) {
    int src = i < p->place ? p->bnd + i : i < p->place + p->bnd ? i - p->place : i;
    p->rperm[i] = src;
    p->shape[i] = p->rshape[src];
  }
  /* the linear positions (host), every index range-checked against its dim */
  int64_t nb = 1;
  for (int d = 0; d < p->bnd; d++) nb *= p->bshape[d];
  nl_tensor *lin = nl_zeros(1, &nb, NL_INT64, nl_cpu());
  if (!lin) return -1;
  int64_t *lp = nl_data(lin), mul = 1;
  for (int j = n - 1; j >= 0; j--) {
    const nl_tensor *ix = idx[j];
    int64_t size = t->shape[dims[j]];
    /* ix viewed at B's shape (stride 0 on broadcast dims) */
    int64_t st[NL_MAXDIM] = {0};
    for (int d = 0; d < ix->ndim; d++)
      st[p->bnd - ix->ndim + d] = ix->shape[d] == 1 ? 0 : ix->stride[d];
    nl_tensor *e = nl_view_of(ix, p->bnd, p->bshape, st, ix->offset);
    if (!e) { nl_tensor_free(lin); return -1; }
    for (int64_t i = 0; i < nb; i++) {
      int64_t v = nl_get_flat_i64(e, i);
      if (v < 0 || v >= size) {
        nl_tensor_free(e);
        nl_tensor_free(lin);
        return nl_failc("%s: index %lld is out of range for dim %d of size %lld (expected 1..%lld)", op,
                        nl_one_based(v), dims[j] + 1, (long long)size, (long long)size);
      }
      lp[i] += v * mul;
    }
    nl_tensor_free(e);
    mul *= size;
  }
  (void)b2;
  p->lin = nl_to_device(lin, nl_device_of(t));
  nl_tensor_free(lin);
  return p->lin ? 0 : -1;
}

nl_tensor *nl_index(nl_tensor *t, int n, const int *dims, const nl_tensor *const *idx) {
  nl_index_plan p;
  if (nl_index_plan_make("index", t, n, dims, idx, &p) < 0) return NULL;
  /* t -> [indexed..., rest...] -> [prod, rest...] -> [numel B, rest...] -> [B..., rest...] -> result */
  nl_tensor *a = nl_permute(t, p.perm);
  nl_tensor *b = a ? nl_reshape(a, p.flat_nd, p.flat) : NULL;
  nl_tensor *c = b ? nl_index_select(b, 0, p.lin) : NULL;
  nl_tensor *d = c ? nl_reshape(c, p.rnd, p.rshape) : NULL;
  nl_tensor *r = d ? nl_permute(d, p.rperm) : NULL;
  nl_tensor *out = r ? nl_contiguous(r) : NULL;
  nl_tensor_free(a); nl_tensor_free(b); nl_tensor_free(c); nl_tensor_free(d); nl_tensor_free(r);
  nl_tensor_free(p.lin);
  return out;
}

int nl_index_put_(nl_tensor *t, int n, const int *dims, const nl_tensor *const *idx, const nl_tensor *src, double v,
                  bool accumulate) {
  char b1[160], b2[160];
  const char *op = accumulate ? "index_put_ (accumulate)" : "index_put_";
  nl_index_plan p;
  if (accumulate && !src) return nl_failc("%s: values must be a tensor", op);
  if (src && !nl_device_eq(nl_device_of(src), nl_device_of(t))) return nl_failc("%s: values and tensor must be on the same device", op);
  if (nl_index_plan_make(op, t, n, dims, idx, &p) < 0) return -1;
  int64_t tmp[NL_MAXDIM];
  if (src) {
    int bd = nl_broadcast_shape(op, p.rnd, p.shape, src->ndim, src->shape, tmp);
    if (bd < 0 || bd != p.rnd || memcmp(tmp, p.shape, sizeof(int64_t) * (size_t)bd) != 0) {
      nl_tensor_free(p.lin);
      return nl_failc("%s: shape mismatch: value tensor of shape %s cannot be broadcast to indexing result of shape %s", op,
                      SHP(src->ndim, src->shape, b1), SHP(p.rnd, p.shape, b2));
    }
  }
  /* values in [numel B, rest...] order: expand to the result, undo rperm, flatten B */
  int inv[NL_MAXDIM];
  for (int i = 0; i < p.rnd; i++) inv[p.rperm[i]] = i;
  nl_tensor *sc = NULL, *se = NULL, *sp = NULL, *sf = NULL;
  if (src) {
    sc = nl_to_dtype((nl_tensor *)src, t->dtype);
    se = sc ? nl_expand(sc, p.rnd, p.shape) : NULL;
    sp = se ? nl_permute(se, inv) : NULL;
    int64_t fs[NL_MAXDIM];
    fs[0] = nl_numel(p.lin);
    memcpy(fs + 1, p.flat + 1, sizeof(int64_t) * (size_t)(p.flat_nd - 1));
    sf = sp ? nl_reshape(sp, p.flat_nd, fs) : NULL;
  }
  int rc = -1;
  nl_tensor *pv = (!src || sf) ? nl_permute(t, p.perm) : NULL; /* a view of t */
  nl_tensor *work = pv ? nl_contiguous(pv) : NULL;           /* pv itself when contiguous */
  nl_tensor *flat = work ? nl_view_of(work, p.flat_nd, p.flat, NULL, work->offset) : NULL;
  if (flat) {
    rc = !src ? nl_index_fill_(flat, 0, p.lin, v)
                : accumulate ? nl_index_add_(flat, 0, p.lin, sf, 1) : nl_index_copy_(flat, 0, p.lin, sf);
    if (rc == 0 && work != pv) rc = nl_copy_(pv, work);
  }
  nl_tensor_free(sc); nl_tensor_free(se); nl_tensor_free(sp); nl_tensor_free(sf);
  nl_tensor_free(pv); nl_tensor_free(work); nl_tensor_free(flat); nl_tensor_free(p.lin);
  return rc;
}
