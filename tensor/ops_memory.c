/* ops_memory.c: contiguous, clone, dtype/device conversion, copy_, fill_. */
#include <math.h>
#include <string.h>

#include "nl_kernel.h"
#include "nl_ops.h"

int nl_copy_(nl_tensor *dst, const nl_tensor *src) {
  int64_t shape[NL_MAXDIM];
  char bd[160], bs[160];
  int nd = nl_broadcast_shape_check(dst, src, shape);
  if (nd < 0 || nd != dst->ndim || memcmp(shape, dst->shape, sizeof(int64_t) * (size_t)nd) != 0)
    return nl_failc("copy_: source of shape %s cannot be broadcast to destination of shape %s",
                    nl_shape_str(src->ndim, src->shape, bs, sizeof bs), nl_shape_str(dst->ndim, dst->shape, bd, sizeof bd));
  if (!nl_device_eq(nl_device_of(dst), nl_device_of(src))) {
    if (!nl_cross_device_copy) return nl_failc("copy_: nnlua was built without CUDA support");
    if (nl_cross_device_copy(dst, src) < 0) return -1;
    nl_bump_version(dst);
    return 0;
  }
  nl_kargs a = {.out = dst, .in = {src}};
  if (nl_run(NL_OP_COPY, &a) < 0) return -1;
  nl_bump_version(dst);
  return 0;
}

int nl_fill_(nl_tensor *t, double v) {
  if (v == 0 && !signbit(v) && nl_device_of(t).type == NL_CPU && nl_is_contiguous(t)) {
    /* +0 is all-zero bits in every CPU dtype: one memset (zero_grad on a small model's
     * parameters was mostly the kernel's set-up) */
    memset(nl_data(t), 0, (size_t)nl_numel(t) * nl_dtype_size(t->dtype));
    nl_bump_version(t);
    return 0;
  }
  nl_kargs a = {.out = t, .alpha = v, .ialpha = (int64_t)v};
  if (nl_run(NL_OP_FILL, &a) < 0) return -1;
  nl_bump_version(t);
  return 0;
}

static nl_tensor *nl_copy_new(nl_tensor *t, nl_dtype dt, nl_device dev) {
  nl_tensor *out = nl_empty(t->ndim, t->shape, dt, dev);
  if (!out) return NULL;
  if (nl_copy_(out, t) < 0) {
    nl_tensor_free(out);
    return NULL;
  }
  out->storage->version = 0;
  return out;
}

nl_tensor *nl_contiguous(nl_tensor *t) {
  if (nl_is_contiguous(t)) {
    nl_tensor_retain(t);
    return t;
  }
  return nl_copy_new(t, t->dtype, nl_device_of(t));
}

nl_tensor *nl_clone(const nl_tensor *t) { return nl_copy_new((nl_tensor *)t, t->dtype, nl_device_of(t)); }

nl_tensor *nl_to_dtype(nl_tensor *t, nl_dtype dt) {
  if (t->dtype == dt) {
    nl_tensor_retain(t);
    return t;
  }
  return nl_copy_new(t, dt, nl_device_of(t));
}

nl_tensor *nl_to_device(nl_tensor *t, nl_device dev) {
  if (nl_device_eq(nl_device_of(t), dev)) {
    nl_tensor_retain(t);
    return t;
  }
  return nl_copy_new(t, t->dtype, dev);
}
