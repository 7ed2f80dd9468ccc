/* ops_shape.c: views (view, reshape, transpose, narrow, select, expand, ...) and the shape
 * copies (flip, tile, cat, stack). Views only compute a new shape/stride/offset over the
 * same storage (nl_view_of); copies allocate and run COPY or FLIP kernels. */
#include <stdlib.h>
#include <string.h>

#include "nl_kernel.h"
#include "nl_ops.h"

#define SHP(nd, s, b) nl_shape_str((nd), (s), (b), sizeof(b))

/* ---- view / reshape ------------------------------------------------------------------- */
/* Resolves one -1 in shape against numel; checks the element count. */
static int nl_infer_shape(const char *op, int64_t numel, int ndim, const int64_t *in, int64_t *out) {
  char b[160];
  int infer = -1;
  int64_t p = 1;
  if (ndim > NL_MAXDIM) return nl_failc("%s: tensors have at most %d dims (got %d)", op, NL_MAXDIM, ndim);
  for (int i = 0; i < ndim; i++) {
    out[i] = in[i];
    if (in[i] == -1) {
      if (infer >= 0) return nl_failc("%s: only one dimension can be inferred", op);
      infer = i;
    } else if (in[i] < 0) {
      return nl_failc("%s: invalid shape dimension %lld in %s", op, (long long)in[i], SHP(ndim, in, b));
    } else {
      /* the product may overflow int64 (view(2^62, 4)): no valid tensor is that large */
      if (in[i] && p > INT64_MAX / 16 / in[i])
        return nl_failc("%s: shape %s is too large", op, SHP(ndim, in, b));
      p *= in[i];
    }
  }
  if (infer >= 0) {
    if (p == 0)
      return nl_failc("%s: cannot reshape tensor of %lld elements into shape %s because the unspecified "
                      "dimension size -1 can be any value and is ambiguous", op, (long long)numel, SHP(ndim, in, b));
    if (numel % p == 0) out[infer] = numel / p;
    else p = -1;
  }
  if ((infer >= 0 && p < 0) || (infer < 0 && p != numel))
    return nl_failc("%s: shape %s is invalid for input of size %lld", op, SHP(ndim, in, b), (long long)numel);
  return 0;
}

/* PyTorch's computeStride: strides of newshape over t's memory without a copy, or false. */
static bool nl_view_strides(const nl_tensor *t, int nd, const int64_t *ns, int64_t *st) {
  int od = t->ndim;
  const int64_t *os = t->shape, *ost = t->stride;
  if (od == 0) {
    for (int i = 0; i < nd; i++) st[i] = 1;
    return true;
  }
  int64_t numel = nl_numel(t);
  if (numel == 0 || nd == 0) { /* contiguous strides */
    if (numel == 0 && nd == od && memcmp(ns, os, sizeof(int64_t) * (size_t)nd) == 0) {
      memcpy(st, ost, sizeof(int64_t) * (size_t)nd);
      return true;
    }
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) { st[i] = s; s *= ns[i] > 1 ? ns[i] : 1; }
    return true;
  }
  int vd = nd - 1;
  int64_t base = ost[od - 1], tn = 1, vn = 1;
  for (int td = od - 1; td >= 0; td--) {
    tn *= os[td];
    if (td == 0 || (os[td - 1] != 1 && ost[td - 1] != tn * base)) {
      while (vd >= 0 && (vn < tn || ns[vd] == 1)) {
        st[vd] = vn * base;
        vn *= ns[vd];
        vd--;
      }
      if (vn != tn) return false;
      if (td > 0) { base = ost[td - 1]; tn = 1; vn = 1; }
    }
  }
  return vd == -1;
}

static nl_tensor *nl_view_impl(const char *op, nl_tensor *t, int ndim, const int64_t *shape, bool copy_ok) {
  int64_t ns[NL_MAXDIM], st[NL_MAXDIM];
  if (nl_infer_shape(op, nl_numel(t), ndim, shape, ns) < 0) return NULL;
  if (nl_view_strides(t, ndim, ns, st)) return nl_view_of(t, ndim, ns, st, t->offset);
  if (!copy_ok)
    return nl_fail("%s: view size is not compatible with input tensor's size and stride (at least one "
                   "dimension spans across two contiguous subspaces). Use :reshape(...) instead.", op);
  nl_tensor *c = nl_clone(t);
  if (!c) return NULL;
  nl_tensor *v = nl_view_of(c, ndim, ns, NULL, 0);
  nl_tensor_free(c);
  if (v) v->is_view = false; /* a fresh copy, not a view of t */
  return v;
}

nl_tensor *nl_view(nl_tensor *t, int ndim, const int64_t *shape) { return nl_view_impl("view", t, ndim, shape, false); }
nl_tensor *nl_reshape(nl_tensor *t, int ndim, const int64_t *shape) { return nl_view_impl("reshape", t, ndim, shape, true); }

static int nl_check_dim(const char *op, int d, int n) {
  if (d < 0 || d >= (n ? n : 1))
    return nl_failc("%s: dim %d out of range for a tensor of %d dims", op, d + 1, n);
  return 0;
}

nl_tensor *nl_flatten(nl_tensor *t, int start, int end) {
  if (t->ndim == 0) return nl_reshape(t, 1, (int64_t[]){1});
  if (nl_check_dim("flatten", start, t->ndim) < 0 || nl_check_dim("flatten", end, t->ndim) < 0) return NULL;
  if (start > end) return nl_fail("flatten: start dim %d must not come after end dim %d", start + 1, end + 1);
  int64_t ns[NL_MAXDIM];
  int n = 0;
  for (int i = 0; i < start; i++) ns[n++] = t->shape[i];
  int64_t p = 1;
  for (int i = start; i <= end; i++) p *= t->shape[i];
  ns[n++] = p;
  for (int i = end + 1; i < t->ndim; i++) ns[n++] = t->shape[i];
  return nl_reshape(t, n, ns);
}

nl_tensor *nl_unflatten(nl_tensor *t, int dim, int n, const int64_t *sizes) {
  char b[160];
  if (nl_check_dim("unflatten", dim, t->ndim) < 0) return NULL;
  if (n < 1) return nl_fail("unflatten: sizes must be non-empty");
  if (t->ndim - 1 + n > NL_MAXDIM) return nl_fail("unflatten: tensors have at most %d dims", NL_MAXDIM);
  int64_t inner[NL_MAXDIM], ns[NL_MAXDIM];
  if (nl_infer_shape("unflatten", t->ndim ? t->shape[dim] : 1, n, sizes, inner) < 0) {
    return nl_fail("unflatten: provided sizes %s don't multiply up to the size of dim %d (%lld) in the input tensor",
                   SHP(n, sizes, b), dim + 1, (long long)(t->ndim ? t->shape[dim] : 1));
  }
  int k = 0;
  for (int i = 0; i < dim; i++) ns[k++] = t->shape[i];
  for (int i = 0; i < n; i++) ns[k++] = inner[i];
  for (int i = dim + 1; i < t->ndim; i++) ns[k++] = t->shape[i];
  return nl_view(t, k, ns);
}

/* ---- dims ------------------------------------------------------------------------------- */
nl_tensor *nl_squeeze(nl_tensor *t, int dim) {
  int64_t ns[NL_MAXDIM], st[NL_MAXDIM];
  int n = 0;
  if (dim >= 0 && t->ndim && nl_check_dim("squeeze", dim, t->ndim) < 0) return NULL;
  for (int i = 0; i < t->ndim; i++) {
    if (t->shape[i] == 1 && (dim < 0 || dim == i)) continue;
    ns[n] = t->shape[i];
    st[n++] = t->stride[i];
  }
  return nl_view_of(t, n, ns, st, t->offset);
}

nl_tensor *nl_unsqueeze(nl_tensor *t, int dim) {
  if (dim < 0 || dim > t->ndim) return nl_fail("unsqueeze: dim %d out of range for a tensor of %d dims", dim + 1, t->ndim);
  if (t->ndim >= NL_MAXDIM) return nl_fail("unsqueeze: tensors have at most %d dims", NL_MAXDIM);
  int64_t ns[NL_MAXDIM], st[NL_MAXDIM];
  int n = 0;
  for (int i = 0; i <= t->ndim; i++) {
    if (i == dim) {
      ns[n] = 1;
      st[n++] = i < t->ndim ? t->shape[i] * t->stride[i] : 1;
    }
    if (i < t->ndim) { ns[n] = t->shape[i]; st[n++] = t->stride[i]; }
  }
  return nl_view_of(t, n, ns, st, t->offset);
}

nl_tensor *nl_expand(nl_tensor *t, int ndim, const int64_t *sizes) {
  char b1[160], b2[160];
  if (ndim < t->ndim)
    return nl_fail("expand: the number of sizes provided (%d) must be greater or equal to the number of dimensions in the tensor (%d)",
                   ndim, t->ndim);
  if (ndim > NL_MAXDIM) return nl_fail("expand: tensors have at most %d dims", NL_MAXDIM);
  int64_t ns[NL_MAXDIM], st[NL_MAXDIM];
  for (int i = ndim - 1; i >= 0; i--) {
    int td = t->ndim - ndim + i;
    int64_t want = sizes[i];
    if (td < 0) {
      if (want < 0)
        return nl_fail("expand: the expanded size of the tensor (%lld) isn't allowed in a leading, non-existing dimension %d",
                       (long long)want, i + 1);
      ns[i] = want;
      st[i] = 0;
      continue;
    }
    int64_t have = t->shape[td];
    if (want == -1) want = have;
    if (want < 0) return nl_fail("expand: invalid size %lld in %s", (long long)want, SHP(ndim, sizes, b1));
    if (have == want) { ns[i] = have; st[i] = t->stride[td]; continue; }
    if (have != 1)
      return nl_fail("expand: the expanded size of the tensor (%lld) must match the existing size (%lld) at "
                     "non-singleton dimension %d. Target sizes: %s. Tensor sizes: %s", (long long)want,
                     (long long)have, i + 1, SHP(ndim, sizes, b1), SHP(t->ndim, t->shape, b2));
    ns[i] = want;
    st[i] = 0;
  }
  return nl_view_of(t, ndim, ns, st, t->offset);
}

nl_tensor *nl_transpose(nl_tensor *t, int d0, int d1) {
  if (t->ndim == 0 && d0 == 0 && d1 == 0) return nl_view_of(t, 0, NULL, NULL, t->offset);
  if (nl_check_dim("transpose", d0, t->ndim) < 0 || nl_check_dim("transpose", d1, t->ndim) < 0) return NULL;
  int64_t ns[NL_MAXDIM], st[NL_MAXDIM];
  memcpy(ns, t->shape, sizeof ns);
  memcpy(st, t->stride, sizeof st);
  ns[d0] = t->shape[d1]; st[d0] = t->stride[d1];
  ns[d1] = t->shape[d0]; st[d1] = t->stride[d0];
  return nl_view_of(t, t->ndim, ns, st, t->offset);
}

nl_tensor *nl_permute(nl_tensor *t, const int *dims) {
  int64_t ns[NL_MAXDIM], st[NL_MAXDIM];
  bool seen[NL_MAXDIM] = {0};
  for (int i = 0; i < t->ndim; i++) {
    int d = dims[i];
    if (nl_check_dim("permute", d, t->ndim) < 0) return NULL;
    if (seen[d]) return nl_fail("permute: dim %d appears more than once", d + 1);
    seen[d] = true;
    ns[i] = t->shape[d];
    st[i] = t->stride[d];
  }
  return nl_view_of(t, t->ndim, ns, st, t->offset);
}

nl_tensor *nl_reverse_dims(nl_tensor *t) {
  int dims[NL_MAXDIM];
  for (int i = 0; i < t->ndim; i++) dims[i] = t->ndim - 1 - i;
  return nl_permute(t, dims);
}

nl_tensor *nl_narrow(nl_tensor *t, int dim, int64_t start, int64_t length) {
  if (t->ndim == 0) return nl_fail("narrow: cannot be applied to a 0-d tensor");
  if (nl_check_dim("narrow", dim, t->ndim) < 0) return NULL;
  int64_t size = t->shape[dim];
  if (start < 0 || start > size)
    return nl_fail("narrow: start %lld is out of range for dim %d of size %lld (expected 1..%lld)",
                   (long long)start + 1, dim + 1, (long long)size, (long long)size + 1);
  if (length < 0 || start + length > size)
    return nl_fail("narrow: start (%lld) + length (%lld) exceeds dimension size (%lld)", (long long)start + 1,
                   (long long)length, (long long)size);
  return nl_slice(t, dim, start, length, 1);
}

nl_tensor *nl_slice(nl_tensor *t, int dim, int64_t start, int64_t count, int64_t step) {
  if (nl_check_dim("slice", dim, t->ndim) < 0 || t->ndim == 0) return NULL;
  if (step <= 0) return nl_fail("slice: step must be positive (got %lld)", (long long)step);
  /* (count - 1) * step compared by division: it may overflow int64 */
  if (count < 0 || start < 0 || start > t->shape[dim] ||
      (count > 0 && (start >= t->shape[dim] || count - 1 > (t->shape[dim] - 1 - start) / step)))
    return nl_fail("slice: range out of bounds for dim %d of size %lld", dim + 1, (long long)t->shape[dim]);
  int64_t ns[NL_MAXDIM], st[NL_MAXDIM];
  memcpy(ns, t->shape, sizeof ns);
  memcpy(st, t->stride, sizeof st);
  ns[dim] = count;
  st[dim] = count > 1 ? t->stride[dim] * step : t->stride[dim]; /* one element: step unused */
  return nl_view_of(t, t->ndim, ns, st, t->offset + (count ? start * t->stride[dim] : 0));
}

nl_tensor *nl_select(nl_tensor *t, int dim, int64_t index) {
  if (t->ndim == 0) return nl_fail("select: cannot select on a 0-d tensor");
  if (nl_check_dim("select", dim, t->ndim) < 0) return NULL;
  int64_t size = t->shape[dim];
  if (index < 0 || index >= size)
    return nl_fail("select: index %lld is out of range for dim %d of size %lld (expected 1..%lld or -%lld..-1)",
                   (long long)index + 1, dim + 1, (long long)size, (long long)size, (long long)size);
  int64_t ns[NL_MAXDIM], st[NL_MAXDIM];
  int n = 0;
  for (int i = 0; i < t->ndim; i++)
    if (i != dim) { ns[n] = t->shape[i]; st[n++] = t->stride[i]; }
  return nl_view_of(t, n, ns, st, t->offset + index * t->stride[dim]);
}

nl_tensor *nl_unfold(nl_tensor *t, int dim, int64_t size, int64_t step) {
  int nd = t->ndim ? t->ndim : 1;
  int64_t dsize = t->ndim ? t->shape[dim] : 1, dstride = t->ndim ? t->stride[dim] : 1;
  if (nl_check_dim("unfold", dim, t->ndim) < 0) return NULL;
  if (size < 0 || size > dsize)
    return nl_fail("unfold: maximum size for tensor at dimension %d is %lld but size is %lld", dim + 1, (long long)dsize, (long long)size);
  if (step <= 0) return nl_fail("unfold: step is %lld but must be > 0", (long long)step);
  if (nd + 1 > NL_MAXDIM) return nl_fail("unfold: tensors have at most %d dims", NL_MAXDIM);
  int64_t ns[NL_MAXDIM], st[NL_MAXDIM];
  for (int i = 0; i < t->ndim; i++) { ns[i] = t->shape[i]; st[i] = t->stride[i]; }
  ns[dim] = (dsize - size) / step + 1;
  st[dim] = dstride * step;
  ns[nd] = size;
  st[nd] = dstride;
  return nl_view_of(t, t->ndim ? nd + 1 : 1, t->ndim ? ns : ns + 1, t->ndim ? st : st + 1, t->offset);
}

nl_tensor *nl_detach(nl_tensor *t) {
  nl_tensor *v = nl_view_of(t, t->ndim, t->shape, t->stride, t->offset);
  if (v) v->is_view = t->is_view; /* PyTorch: detach() aliases t; not a view for autograd */
  return v;
}

/* ---- split / chunk ------------------------------------------------------------------------ */
int nl_split_with_sizes(nl_tensor *t, int n, const int64_t *sizes, int dim, nl_tensor **out) {
  if (t->ndim == 0) return nl_failc("split: cannot split a 0-d tensor");
  if (nl_check_dim("split", dim, t->ndim) < 0) return -1;
  int64_t sum = 0;
  for (int i = 0; i < n; i++) {
    if (sizes[i] < 0) return nl_failc("split: split sizes must be non-negative (got %lld)", (long long)sizes[i]);
    if (sizes[i] > INT64_MAX - sum) /* (no signed overflow: the sum cannot match the dim anyway) */
      return nl_failc("split: split sizes must sum exactly to %lld (the size of dim %d), but their sum exceeds 2^63",
                      (long long)t->shape[dim], dim + 1);
    sum += sizes[i];
  }
  if (sum != t->shape[dim])
    return nl_failc("split: split sizes must sum exactly to %lld (the size of dim %d), but got sizes that sum to %lld",
                    (long long)t->shape[dim], dim + 1, (long long)sum);
  int64_t start = 0;
  for (int i = 0; i < n; i++) {
    out[i] = nl_slice(t, dim, start, sizes[i], 1);
    if (!out[i]) {
      while (i-- > 0) nl_tensor_free(out[i]);
      return -1;
    }
    start += sizes[i];
  }
  return 0;
}

int nl_chunk_sizes(const char *op, int64_t size, int64_t chunks, int64_t *sizes, int max) {
  if (chunks <= 0) return nl_failc("%s: number of chunks must be greater than 0 (got %lld)", op, (long long)chunks);
  int64_t ss = size / chunks + (size % chunks != 0); /* ceil; size + chunks - 1 may overflow */
  if (ss == 0 && size == 0) { /* PyTorch: `chunks` empty pieces */
    if (chunks > max) return nl_failc("%s: too many chunks (%lld)", op, (long long)chunks);
    for (int64_t i = 0; i < chunks; i++) sizes[i] = 0;
    return (int)chunks;
  }
  return nl_split_sizes(op, size, ss, sizes, max);
}

int nl_split_sizes(const char *op, int64_t size, int64_t ss, int64_t *sizes, int max) {
  if (ss < 0) return nl_failc("%s: split size must be non-negative (got %lld)", op, (long long)ss);
  if (ss == 0 && size != 0) return nl_failc("%s: split size can only be 0 if the dimension size is 0 (got %lld)", op, (long long)size);
  int64_t n = ss ? size / ss + (size % ss != 0) : 1; /* ceil; size + ss - 1 may overflow */
  if (n < 1) n = 1;
  if (n > max) return nl_failc("%s: too many pieces (%lld)", op, (long long)n);
  for (int64_t i = 0; i < n; i++) sizes[i] = ss;
  sizes[n - 1] = size - ss * (n - 1); /* the rest; ss * n may overflow */
  return (int)n;
}

/* ---- copies ------------------------------------------------------------------------------- */
nl_tensor *nl_flip(nl_tensor *t, int n, const int *dims) {
  uint32_t mask = 0;
  for (int i = 0; i < n; i++) {
    if (nl_check_dim("flip", dims[i], t->ndim) < 0) return NULL;
    if (mask & (1u << dims[i])) return nl_fail("flip: dim %d appears multiple times in the list of dims", dims[i] + 1);
    mask |= 1u << dims[i];
  }
  nl_tensor *out = nl_empty(t->ndim, t->shape, t->dtype, nl_device_of(t));
  if (!out) return NULL;
  nl_kargs a = {.out = out, .in = {t}, .dimmask = t->ndim ? mask : 0};
  if (nl_run(NL_OP_FLIP, &a) < 0) { nl_tensor_free(out); return NULL; }
  return out;
}

nl_tensor *nl_tile(nl_tensor *t, int n, const int64_t *reps) {
  char b[160], b2[160];
  if (n < t->ndim)
    return nl_fail("tile: number of repeat dims (%d) can not be smaller than number of dimensions of tensor (%d)", n, t->ndim);
  for (int i = 0; i < n; i++)
    if (reps[i] < 0) return nl_fail("tile: repeats must be non-negative (got %s)", SHP(n, reps, b));
  /* out[r0, s0, r1, s1, ...] = t[s0, s1, ...]: expand t with (rep_i, size_i) pairs, copy, view. */
  int64_t es[2 * NL_MAXDIM], est[2 * NL_MAXDIM], os[NL_MAXDIM];
  int k = 0;
  for (int i = 0; i < n; i++) {
    int td = t->ndim - n + i;
    int64_t size = td >= 0 ? t->shape[td] : 1, stride = td >= 0 ? t->stride[td] : 0;
    if (reps[i] && size > INT64_MAX / 16 / reps[i])
      return nl_fail("tile: result of shape %s tiled %s is too large", SHP(t->ndim, t->shape, b),
                     SHP(n, reps, b2));
    os[i] = size * reps[i];
    if (reps[i] != 1) { es[k] = reps[i]; est[k++] = 0; }
    es[k] = size;
    est[k++] = stride;
  }
  if (k > NL_MAXDIM) return nl_fail("tile: too many repeated dims (at most %d dims in all)", NL_MAXDIM);
  nl_tensor *out = nl_empty(n, os, t->dtype, nl_device_of(t));
  if (!out) return NULL;
  nl_tensor *src = nl_view_of(t, k, es, est, t->offset);
  nl_tensor *dst = src ? nl_view_of(out, k, es, NULL, 0) : NULL;
  int rc = dst ? nl_copy_(dst, src) : -1;
  nl_tensor_free(src);
  nl_tensor_free(dst);
  if (rc < 0) { nl_tensor_free(out); return NULL; }
  out->storage->version = 0;
  return out;
}

/* PyTorch's legacy rule: a 1-D tensor of size 0 is skipped by cat whatever the other shapes. */
static bool nl_cat_skip(const nl_tensor *t) { return t->ndim == 1 && t->shape[0] == 0; }

nl_tensor *nl_cat(int n, nl_tensor *const *ts, int dim) {
  char b1[160], b2[160];
  if (n <= 0) return nl_fail("cat: expected a non-empty list of tensors");
  nl_dtype dt = ts[0]->dtype;
  int ref = -1;
  for (int i = 0; i < n; i++) {
    if (i) dt = nl_promote(dt, ts[i]->dtype);
    if (!nl_device_eq(nl_device_of(ts[i]), nl_device_of(ts[0])))
      return nl_fail("cat: expected all tensors to be on the same device (tensor 1 and tensor %d differ)", i + 1);
    if (ts[i]->ndim == 0) return nl_fail("cat: zero-dimensional tensor (at position %d) cannot be concatenated", i + 1);
    if (ref < 0 && !nl_cat_skip(ts[i])) ref = i;
  }
  if (ref < 0) return nl_empty(1, (int64_t[]){0}, dt, nl_device_of(ts[0]));
  const nl_tensor *r = ts[ref];
  if (dim < 0 || dim >= r->ndim) return nl_fail("cat: dim %d out of range for tensors of %d dims", dim + 1, r->ndim);
  int64_t os[NL_MAXDIM];
  memcpy(os, r->shape, sizeof os);
  os[dim] = 0;
  for (int i = 0; i < n; i++) {
    const nl_tensor *t = ts[i];
    if (nl_cat_skip(t)) continue;
    if (t->ndim != r->ndim)
      return nl_fail("cat: tensors must have same number of dimensions: got %d and %d (tensor %d of shape %s and tensor %d of shape %s)",
                     r->ndim, t->ndim, ref + 1, SHP(r->ndim, r->shape, b1), i + 1, SHP(t->ndim, t->shape, b2));
    for (int d = 0; d < t->ndim; d++)
      if (d != dim && t->shape[d] != r->shape[d])
        return nl_fail("cat: sizes of tensors must match except in dimension %d. Expected size %lld but got size %lld "
                       "for tensor number %d in the list (shapes %s and %s)", dim + 1, (long long)r->shape[d],
                       (long long)t->shape[d], i + 1, SHP(r->ndim, r->shape, b1), SHP(t->ndim, t->shape, b2));
    os[dim] += t->shape[dim];
  }
  nl_tensor *out = nl_empty(r->ndim, os, dt, nl_device_of(r));
  if (!out) return NULL;
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    if (nl_cat_skip(ts[i])) continue;
    nl_tensor *dst = nl_slice(out, dim, at, ts[i]->shape[dim], 1);
    int rc = dst ? nl_copy_(dst, ts[i]) : -1;
    nl_tensor_free(dst);
    if (rc < 0) { nl_tensor_free(out); return NULL; }
    at += ts[i]->shape[dim];
  }
  out->storage->version = 0;
  return out;
}

nl_tensor *nl_stack(int n, nl_tensor *const *ts, int dim) {
  char b1[160], b2[160];
  if (n <= 0) return nl_fail("stack: expected a non-empty list of tensors");
  const nl_tensor *r = ts[0];
  if (dim < 0 || dim > r->ndim) return nl_fail("stack: dim %d out of range for tensors of %d dims (expected 1..%d)", dim + 1, r->ndim, r->ndim + 1);
  if (r->ndim >= NL_MAXDIM) return nl_fail("stack: tensors have at most %d dims", NL_MAXDIM);
  for (int i = 1; i < n; i++)
    if (ts[i]->ndim != r->ndim || memcmp(ts[i]->shape, r->shape, sizeof(int64_t) * (size_t)r->ndim) != 0)
      return nl_fail("stack: expects each tensor to be equal size, but got %s at entry 1 and %s at entry %d",
                     SHP(r->ndim, r->shape, b1), SHP(ts[i]->ndim, ts[i]->shape, b2), i + 1);
  nl_tensor **us = calloc((size_t)n, sizeof *us);
  if (!us) return nl_fail("stack: out of memory");
  nl_tensor *out = NULL;
  int i = 0;
  for (; i < n; i++)
    if (!(us[i] = nl_unsqueeze(ts[i], dim))) break;
  if (i == n) out = nl_cat(n, us, dim);
  for (int j = 0; j < i; j++) nl_tensor_free(us[j]);
  free(us);
  return out;
}
