/* index.c: CPU kernels of the index family: INDEX_SELECT GATHER SCATTER SCATTER_ADD
 * MASKED_FILL MASKED_SELECT TAKE INDEX_FILL INDEX_ADD FLIP.
 *
 * Index tensors are int64, 0-based and already range-checked by the front ends
 * (tensor/ops_index.c). The dim-wise kernels walk the iteration shape with a coordinate
 * counter and compute each operand's offset from the coordinates (any strides, including
 * the stride-0 dims of expanded views). A 0-d operand behaves as a 1-element 1-D one. */
#include <string.h>

#include "nl_cpu.h"

/* Moves one element of es bytes. */
static inline void nl_mov(char *dst, const char *src, int64_t es) {
  switch (es) {
  case 1: *(uint8_t *)dst = *(const uint8_t *)src; break;
  case 4: *(uint32_t *)dst = *(const uint32_t *)src; break;
  case 8: *(uint64_t *)dst = *(const uint64_t *)src; break;
  default: memcpy(dst, src, (size_t)es);
  }
}

/* Advances coordinates c over shape (row-major); false after the last one. */
static inline bool nl_next(int nd, const int64_t *shape, int64_t *c) {
  for (int d = nd - 1; d >= 0; d--) {
    if (++c[d] < shape[d]) return true;
    c[d] = 0;
  }
  return false;
}

/* Element offset of coordinates c in t, skipping dim `skip` (-1: none). */
static inline int64_t nl_off(const nl_tensor *t, const int64_t *c, int skip) {
  int64_t o = t->offset;
  for (int d = 0; d < t->ndim; d++)
    if (d != skip) o += c[d] * t->stride[d];
  return o;
}

static inline int64_t nl_dstride(const nl_tensor *t, int dim) { return t->ndim ? t->stride[dim] : 0; }
static inline char *nl_base(const nl_tensor *t) { return t->storage->data; }
static inline bool nl_empty_shape(int nd, const int64_t *s) {
  for (int d = 0; d < nd; d++) if (s[d] == 0) return true;
  return false;
}
static inline int64_t nl_idx_at(const nl_tensor *idx, const int64_t *c) {
  return ((const int64_t *)nl_base(idx))[nl_off(idx, c, -1)];
}

/* out = in[0] with dim replaced by in[1] (int64, 1-D or 0-d) entries. */
void nl_cpu_INDEX_SELECT(const nl_kargs *a) {
  const nl_tensor *out = a->out, *in = a->in[0], *idx = a->in[1];
  int dim = a->dim, nd = out->ndim;
  if (nl_empty_shape(nd, out->shape)) return;
  int64_t es = (int64_t)nl_dtype_size(out->dtype), c[NL_MAXDIM] = {0};
  int64_t istr = idx->ndim ? idx->stride[0] : 0, dstr = nl_dstride(in, dim);
  const int64_t *ip = (const int64_t *)nl_base(idx) + idx->offset;
  do {
    int64_t k = nd ? c[dim] : 0;
    int64_t so = nl_off(in, c, dim) + ip[k * istr] * dstr;
    nl_mov(nl_base(out) + nl_off(out, c, -1) * es, nl_base(in) + so * es, es);
  } while (nl_next(nd, out->shape, c));
}

/* out[c] = in[c with c[dim] = idx[c]]; out and idx share a shape. */
void nl_cpu_GATHER(const nl_kargs *a) {
  const nl_tensor *out = a->out, *in = a->in[0], *idx = a->in[1];
  int nd = out->ndim;
  if (nl_empty_shape(nd, out->shape)) return;
  int64_t es = (int64_t)nl_dtype_size(out->dtype), c[NL_MAXDIM] = {0}, dstr = nl_dstride(in, a->dim);
  do {
    int64_t so = nl_off(in, c, a->dim) + nl_idx_at(idx, c) * dstr;
    nl_mov(nl_base(out) + nl_off(out, c, -1) * es, nl_base(in) + so * es, es);
  } while (nl_next(nd, out->shape, c));
}

/* For c over idx's shape: out[c with c[dim] = idx[c]] = src[c] (in[1]) or the value. */
static void nl_scatter_impl(const nl_kargs *a, bool add) {
  const nl_tensor *out = a->out, *idx = a->in[0], *src = a->in[1];
  int nd = idx->ndim;
  if (nl_empty_shape(nd, idx->shape)) return;
  int64_t c[NL_MAXDIM] = {0}, dstr = nl_dstride(out, a->dim);
  nl_dtype dt = out->dtype;
  NL_CPU_DISPATCH(dt, T, {
    T v = nl_dtype_is_float(dt) ? (T)a->alpha : dt == NL_BOOL ? (T)(a->alpha != 0) : (T)a->ialpha;
    T *o = (T *)nl_base(out);
    const T *s = src ? (const T *)nl_base(src) : NULL;
    do {
      T x = s ? s[nl_off(src, c, -1)] : v;
      T *p = o + nl_off(out, c, a->dim) + nl_idx_at(idx, c) * dstr;
      if (!add) *p = x;
      else if (dt == NL_BOOL) *p = (T)(*p || x);
      else *p = (T)(*p + x);
    } while (nl_next(nd, idx->shape, c));
  })
}

void nl_cpu_SCATTER(const nl_kargs *a) { nl_scatter_impl(a, false); }
void nl_cpu_SCATTER_ADD(const nl_kargs *a) { nl_scatter_impl(a, true); }

typedef struct { double v; int64_t iv; nl_dtype dt; } nl_mfill_ctx;

static void nl_masked_fill_run(char **p, const int64_t *s, int64_t n, void *vctx) {
  nl_mfill_ctx *c = vctx;
  NL_CPU_DISPATCH(c->dt, T, {
    T v = nl_dtype_is_float(c->dt) ? (T)c->v : c->dt == NL_BOOL ? (T)(c->v != 0) : (T)c->iv;
    for (int64_t i = 0; i < n; i++)
      if (*(const uint8_t *)(p[1] + i * s[1])) *(T *)(p[0] + i * s[0]) = v;
  })
}

/* out[mask] = alpha (ialpha for integer dtypes); in[0] (bool) broadcasts to out. */
void nl_cpu_MASKED_FILL(const nl_kargs *a) {
  nl_iter it;
  nl_iter_init(&it, 2, (const nl_tensor *[]){a->out, a->in[0]}, a->out->ndim, a->out->shape);
  nl_mfill_ctx c = {a->alpha, a->ialpha, a->out->dtype};
  nl_iter_run(&it, nl_masked_fill_run, &c);
}

/* out (1-D, contiguous) <- in[0] where in[1]; both have the same (broadcast) shape. */
void nl_cpu_MASKED_SELECT(const nl_kargs *a) {
  const nl_tensor *in = a->in[0], *mask = a->in[1];
  int nd = in->ndim;
  if (nl_empty_shape(nd, in->shape)) return;
  int64_t es = (int64_t)nl_dtype_size(in->dtype), c[NL_MAXDIM] = {0}, k = 0;
  char *o = nl_data(a->out);
  const uint8_t *m = (const uint8_t *)nl_base(mask);
  do {
    if (m[nl_off(mask, c, -1)]) nl_mov(o + (k++) * es, nl_base(in) + nl_off(in, c, -1) * es, es);
  } while (nl_next(nd, in->shape, c));
}

/* out[c] = in at row-major flat position idx[c]. */
void nl_cpu_TAKE(const nl_kargs *a) {
  const nl_tensor *out = a->out, *in = a->in[0], *idx = a->in[1];
  int nd = out->ndim;
  if (nl_empty_shape(nd, out->shape)) return;
  int64_t es = (int64_t)nl_dtype_size(out->dtype), c[NL_MAXDIM] = {0};
  do {
    int64_t f = nl_idx_at(idx, c), so = in->offset;
    for (int d = in->ndim - 1; d >= 0; d--) {
      so += (f % in->shape[d]) * in->stride[d];
      f /= in->shape[d];
    }
    nl_mov(nl_base(out) + nl_off(out, c, -1) * es, nl_base(in) + so * es, es);
  } while (nl_next(nd, out->shape, c));
}

/* Walks out's shape with dim replaced by the K entries of idx (in[0], 1-D or 0-d):
 * out[.., idx[k], ..] = value (fill) or += alpha * src[.., k, ..] (add). */
static void nl_index_dim_impl(const nl_kargs *a, bool add) {
  const nl_tensor *out = a->out, *idx = a->in[0], *src = a->in[1];
  int nd = out->ndim, dim = a->dim;
  int64_t shape[NL_MAXDIM], c[NL_MAXDIM] = {0};
  memcpy(shape, out->shape, sizeof shape);
  int64_t K = nl_numel(idx);
  if (nd) shape[dim] = K;
  else if (K == 0) return;
  if (nl_empty_shape(nd, shape)) return;
  int64_t istr = idx->ndim ? idx->stride[0] : 0, dstr = nl_dstride(out, dim);
  const int64_t *ip = (const int64_t *)nl_base(idx) + idx->offset;
  nl_dtype dt = out->dtype;
  NL_CPU_DISPATCH(dt, T, {
    T v = nl_dtype_is_float(dt) ? (T)a->alpha : dt == NL_BOOL ? (T)(a->alpha != 0) : (T)a->ialpha;
    T *o = (T *)nl_base(out);
    do {
      int64_t k = nd ? c[dim] : 0;
      T *p = o + nl_off(out, c, dim) + ip[k * istr] * dstr;
      if (!add) { *p = v; continue; }
      T x = ((const T *)nl_base(src))[nl_off(src, c, -1)];
      if (dt == NL_BOOL) *p = (T)(*p || (a->alpha != 0 && x));
      else if (nl_dtype_is_float(dt)) *p = (T)(*p + a->alpha * x);
      else *p = (T)(*p + a->ialpha * x);
    } while (nl_next(nd, shape, c));
  })
}

void nl_cpu_INDEX_FILL(const nl_kargs *a) { nl_index_dim_impl(a, false); }
void nl_cpu_INDEX_ADD(const nl_kargs *a) { nl_index_dim_impl(a, true); }

/* out <- in[0] reversed along the dims in dimmask: a header copy of in[0] with negative
 * strides (on the stack, no allocation) fed to the strided COPY kernel. */
void nl_cpu_FLIP(const nl_kargs *a) {
  nl_tensor rev = *a->in[0];
  for (int d = 0; d < rev.ndim; d++)
    if ((a->dimmask >> d) & 1u && rev.shape[d] > 0) {
      rev.offset += (rev.shape[d] - 1) * rev.stride[d];
      rev.stride[d] = -rev.stride[d];
    }
  nl_kargs c = {.out = a->out, .in = {&rev}};
  nl_cpu_COPY(&c);
}
