/* tensor.c: tensor headers: construction, views over storages, refcounts, inspection. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl_tensor.h"
#include "nl_kernel.h"
#include "nl_alloc.h"

/* Autograd hooks into tensor destruction (autograd/ sets it; frees grad and grad_fn). */
void (*nl_autograd_release_hook)(nl_tensor *t);

static bool nl_check_shape(int ndim, const int64_t *shape, int64_t *numel) {
  if (ndim < 0 || ndim > NL_MAXDIM) {
    nl_fail("tensors have at most %d dims (got %d)", NL_MAXDIM, ndim);
    return false;
  }
  /* nz: product of the non-zero sizes, bounded too: it is the largest contiguous stride, which
   * iterators scale by the element size even when numel is 0 (zeros(0, 2^62)). */
  int64_t n = 1, nz = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) {
      char b[160];
      nl_fail("negative dimension %lld in shape %s", (long long)shape[i], nl_shape_str(ndim, shape, b, sizeof b));
      return false;
    }
    if (shape[i] && nz > INT64_MAX / 16 / shape[i]) {
      nl_fail("tensor of shape %s is too large", nl_shape_str(ndim, shape, (char[160]){0}, 160));
      return false;
    }
    n *= shape[i];
    if (shape[i]) nz *= shape[i];
  }
  *numel = n;
  return true;
}

static nl_tensor *nl_header(nl_storage *s, int ndim, const int64_t *shape, const int64_t *stride,
                            int64_t offset, nl_dtype dt) {
  nl_tensor *t = nl_pool_get(NL_POOL_TENSOR, sizeof *t); /* a per-thread free list */
  if (!t) return nl_fail("out of memory");
  memset(t, 0, sizeof *t);
  t->refcount = 1;
  t->storage = s;
  t->offset = offset;
  t->ndim = ndim;
  t->dtype = dt;
  int64_t st = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    t->shape[i] = shape[i];
    t->stride[i] = stride ? stride[i] : st;
    st *= shape[i] ? shape[i] : 1; /* bounded: every caller ran nl_check_shape */
  }
  return t;
}

nl_tensor *nl_empty(int ndim, const int64_t *shape, nl_dtype dt, nl_device dev) {
  int64_t n;
  if (!nl_check_shape(ndim, shape, &n)) return NULL;
  if ((unsigned)dt >= NL_NDTYPES) return nl_fail("invalid dtype %d", (int)dt);
  if ((dt == NL_FLOAT16 || dt == NL_BFLOAT16) && dev.type == NL_CPU)
    return nl_fail("dtype %s is only supported on cuda", nl_dtype_name(dt));
  nl_storage *s = nl_storage_new((size_t)n * nl_dtype_size(dt), dev);
  if (!s) return NULL;
  nl_tensor *t = nl_header(s, ndim, shape, NULL, 0, dt);
  if (!t) nl_storage_release(s);
  return t;
}

nl_tensor *nl_full(int ndim, const int64_t *shape, double v, nl_dtype dt, nl_device dev) {
  nl_tensor *t = nl_empty(ndim, shape, dt, dev);
  if (!t) return NULL;
  nl_kargs a = {.out = t, .alpha = v, .ialpha = (int64_t)v};
  if (nl_run(NL_OP_FILL, &a) < 0) { nl_tensor_free(t); return NULL; }
  return t;
}

nl_tensor *nl_zeros(int ndim, const int64_t *shape, nl_dtype dt, nl_device dev) {
  return nl_full(ndim, shape, 0.0, dt, dev);
}

nl_tensor *nl_empty_like(const nl_tensor *t) {
  return nl_empty(t->ndim, t->shape, t->dtype, nl_device_of(t));
}

nl_tensor *nl_scalar(double v, nl_dtype dt, nl_device dev) { return nl_full(0, NULL, v, dt, dev); }

nl_tensor *nl_from_blob(void *data, int ndim, const int64_t *shape, const int64_t *strides,
                        nl_dtype dt, nl_device dev, nl_release_fn release, void *ctx) {
  int64_t n;
  if (!nl_check_shape(ndim, shape, &n)) return NULL;
  if (!data && n > 0) return nl_fail("from_blob: data is NULL");
  /* The storage's byte size covers the furthest element the strides reach. */
  int64_t span = n ? 1 : 0;
  if (strides && n)
    for (int i = 0; i < ndim; i++) {
      if (strides[i] < 0) return nl_fail("from_blob: negative strides are not supported");
      span += (shape[i] - 1) * strides[i];
    }
  else span = n;
  nl_storage *s = nl_storage_wrap(data, (size_t)span * nl_dtype_size(dt), dev, release, ctx);
  if (!s) return NULL;
  nl_tensor *t = nl_header(s, ndim, shape, strides, 0, dt);
  if (!t) { s->release = NULL; nl_storage_release(s); }
  return t;
}

nl_tensor *nl_view_of(const nl_tensor *t, int ndim, const int64_t *shape, const int64_t *stride,
                      int64_t offset) {
  int64_t n; /* a view's numel must fit as well (expand to [2^63-1, 2] would overflow it) */
  if (!nl_check_shape(ndim, shape, &n)) return NULL;
  nl_tensor *v = nl_header(t->storage, ndim, shape, stride, offset, t->dtype);
  if (!v) return NULL;
  nl_storage_retain(t->storage);
  v->is_view = true;
  return v;
}

void nl_tensor_retain(nl_tensor *t) { t->refcount++; }

void nl_tensor_free(nl_tensor *t) {
  if (!t || --t->refcount > 0) return;
  if (nl_autograd_release_hook && (t->grad || t->grad_fn || t->ag_meta)) nl_autograd_release_hook(t);
  nl_storage_release(t->storage);
  nl_pool_put(NL_POOL_TENSOR, t);
}




char *nl_shape_str(int ndim, const int64_t *shape, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < ndim && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)shape[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

/* Storage offset (in elements) of the logical row-major element i. */
static int64_t nl_flat_offset(const nl_tensor *t, int64_t i) {
  int64_t off = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    int64_t s = t->shape[d];
    off += (i % s) * t->stride[d];
    i /= s;
  }
  return off;
}

/* Element i of a tensor in device memory, read through a 1-element host copy (never a
 * dereference of a device pointer). Slow: printing, item() and tolist() copy the whole
 * tensor to the CPU first; this keeps stray callers safe. NaN when the copy fails. */
static double nl_get_flat_device(const nl_tensor *t, int64_t i, int64_t *iv) {
  double r = NAN;
  *iv = 0;
  nl_dtype dt = (t->dtype == NL_FLOAT16 || t->dtype == NL_BFLOAT16) ? NL_FLOAT32 : t->dtype;
  nl_tensor *v = nl_view_of(t, 0, NULL, NULL, nl_flat_offset(t, i));
  nl_tensor *h = v ? nl_empty(0, NULL, dt, nl_cpu()) : NULL;
  if (h && nl_cross_device_copy && nl_cross_device_copy(h, v) == 0) {
    r = nl_get_flat(h, 0);
    *iv = nl_get_flat_i64(h, 0);
  }
  nl_tensor_free(h);
  nl_tensor_free(v);
  return r;
}

double nl_get_flat(const nl_tensor *t, int64_t i) {
  if (t->storage->device.type != NL_CPU) {
    int64_t iv;
    return nl_get_flat_device(t, i, &iv);
  }
  const char *base = t->storage->data;
  int64_t o = nl_flat_offset(t, i);
  switch (t->dtype) {
  case NL_FLOAT32: return ((const float *)base)[o];
  case NL_FLOAT64: return ((const double *)base)[o];
  case NL_INT64: return (double)((const int64_t *)base)[o];
  case NL_INT32: return ((const int32_t *)base)[o];
  case NL_UINT8: return ((const uint8_t *)base)[o];
  case NL_BOOL: return ((const uint8_t *)base)[o] != 0;
  default: return 0;
  }
}

int64_t nl_get_flat_i64(const nl_tensor *t, int64_t i) {
  if (t->storage->device.type != NL_CPU) {
    int64_t iv;
    nl_get_flat_device(t, i, &iv);
    return iv;
  }
  if (t->dtype == NL_INT64) return ((const int64_t *)t->storage->data)[nl_flat_offset(t, i)];
  return (int64_t)nl_get_flat(t, i);
}
