/* ops_reduce.c: front ends of the reduce family (declared in ops_reduce.h).
 *
 * Each front end validates dims and dtypes, brings the input into the [O][R][I] form the
 * kernels expect (tensor/cpu/reduce.c) and allocates the output with keepdim's shape; without
 * keepdim the fresh contiguous output simply drops its size-1 reduced dims.
 *   - reduced dims adjacent (one dim, a block, or all): x = contiguous(t), O = product of the
 *     dims before the block, R = the block, I = the dims after it (no copy when t is
 *     contiguous);
 *   - reduced dims not adjacent: the kept dims are permuted first and the reduced dims last,
 *     then copied contiguous: O = kept, R = reduced, I = 1.
 * Messages name dims 1-based, as the Lua user wrote them. */
#include <math.h>
#include <string.h>

#include "nl_kernel.h"
#include "nl_ops.h"

/* The [O][R][I] form of t for the dims in mask (mask has only valid bits, != 0 unless
 * ndim == 0). Returns a new reference to a contiguous tensor, or NULL. */
static nl_tensor *nl_red_layout(const nl_tensor *t, uint32_t mask, int64_t *O, int64_t *R, int64_t *I) {
  int n = t->ndim;
  *O = *R = *I = 1;
  if (n == 0) return nl_contiguous((nl_tensor *)t);
  int lo = -1, hi = -1;
  for (int d = 0; d < n; d++)
    if (mask >> d & 1) { if (lo < 0) lo = d; hi = d; }
  bool adjacent = true;
  for (int d = lo; d <= hi; d++)
    if (!(mask >> d & 1) && t->shape[d] != 1) adjacent = false;
  if (adjacent) {
    for (int d = 0; d < n; d++) {
      if (d < lo) *O *= t->shape[d];
      else if (d <= hi) *R *= t->shape[d];
      else *I *= t->shape[d];
    }
    return nl_contiguous((nl_tensor *)t);
  }
  int64_t sh[NL_MAXDIM], st[NL_MAXDIM];
  int k = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int d = 0; d < n; d++)
      if ((int)(mask >> d & 1) == pass) {
        sh[k] = t->shape[d];
        st[k++] = t->stride[d];
        if (pass) *R *= t->shape[d]; else *O *= t->shape[d];
      }
  nl_tensor *v = nl_view_of(t, n, sh, st, t->offset);
  if (!v) return NULL;
  nl_tensor *x = nl_contiguous(v);
  nl_tensor_free(v);
  return x;
}

/* Output shape with keepdim (reduced dims -> 1). */
static void nl_red_keepshape(const nl_tensor *t, uint32_t mask, int64_t *shape) {
  for (int d = 0; d < t->ndim; d++) shape[d] = (mask >> d & 1) ? 1 : t->shape[d];
}

/* Drops the reduced dims of a fresh contiguous output (keepdim false). */
static void nl_red_squeeze(nl_tensor *out, uint32_t mask) {
  int k = 0;
  for (int d = 0; d < out->ndim; d++)
    if (!(mask >> d & 1)) out->shape[k++] = out->shape[d];
  out->ndim = k;
  int64_t s = 1;
  for (int d = k - 1; d >= 0; d--) { out->stride[d] = s; s *= out->shape[d]; }
}

/* Validates mask against t (0 = all dims). Returns the effective mask or -1 (message). */
static int64_t nl_red_mask(const char *op, const nl_tensor *t, uint32_t mask) {
  if (t->ndim == 0) {
    if (mask > 1) return nl_failc("%s: dim out of range for a 0-d tensor (expected 1 or -1)", op);
    return 0;
  }
  uint32_t all = t->ndim >= 32 ? 0xffffffffu : ((1u << t->ndim) - 1);
  if (mask & ~all) {
    int d = 0;
    while (!((mask & ~all) >> d & 1)) d++;
    return nl_failc("%s: dim %d out of range for a tensor of %d dims (expected 1..%d or %d..-1)", op,
                    d + 1, t->ndim, t->ndim, -t->ndim);
  }
  return mask ? mask : all;
}

static const char *nl_fname(nl_op op) { return op == NL_OP_VAR ? "var" : nl_op_name(op); }

nl_tensor *nl_reduce_dtype(nl_op op, const nl_tensor *t, uint32_t dimmask, bool keepdim, double param,
                           int dtype) {
  const char *name = nl_fname(op);
  if (op < NL_OP_SUM || op > NL_OP_ANY) return nl_fail("reduce: %s is not a reduction", nl_op_name(op));
  int64_t m = nl_red_mask(name, t, dimmask);
  if (m < 0) return NULL;
  uint32_t mask = (uint32_t)m;
  nl_dtype in = t->dtype, outdt = in;
  bool isfloat = nl_dtype_is_float(in);
  if (dtype >= 0 && op != NL_OP_SUM && op != NL_OP_MEAN && op != NL_OP_PROD)
    return nl_fail("%s: takes no dtype option", name);
  if (dtype >= 0) { /* PyTorch: the input is cast to dtype, then reduced */
    in = outdt = (nl_dtype)dtype;
    isfloat = nl_dtype_is_float(in);
    if (op == NL_OP_MEAN && !isfloat)
      return nl_fail("mean: dtype must be a floating point dtype (got %s)", nl_dtype_name(in));
  }
  switch (op) {
  case NL_OP_SUM: case NL_OP_PROD:
    if (!isfloat && dtype < 0) outdt = NL_INT64;
    break;
  case NL_OP_MEAN:
    if (!isfloat)
      return nl_fail("mean: could not infer output dtype: input dtype must be floating point (got %s); "
                     "cast first or pass {dtype=}", nl_dtype_name(in));
    break;
  case NL_OP_VAR:
    if (!isfloat) return nl_fail("var/std: only floating point dtypes are supported (got %s)", nl_dtype_name(in));
    break;
  case NL_OP_NORM:
    if (!isfloat) return nl_fail("norm: input dtype should be floating point (got %s)", nl_dtype_name(in));
    break;
  case NL_OP_LOGSUMEXP:
    if (!isfloat) in = outdt = nl_default_dtype(); /* PyTorch promotes integers */
    break;
  case NL_OP_ALL: case NL_OP_ANY:
    outdt = t->dtype == NL_UINT8 ? NL_UINT8 : NL_BOOL; /* PyTorch keeps uint8 */
    break;
  default: break;
  }
  if ((op == NL_OP_AMAX || op == NL_OP_AMIN) && nl_numel(t) == 0) {
    /* an empty output needs no values; a non-empty output over an empty reduction has none */
    int64_t on = 1;
    for (int d = 0; d < t->ndim; d++) if (!(mask >> d & 1)) on *= t->shape[d];
    if (on > 0) {
      int d = 0;
      while (!((mask >> d & 1) && t->shape[d] == 0)) d++;
      return nl_fail("%s: expected reduction dim %d to have non-zero size", name, d + 1);
    }
  }
  /* all checks done: allocate */
  nl_tensor *src = in == t->dtype ? (nl_tensor *)t : nl_to_dtype((nl_tensor *)t, in);
  if (!src) return NULL;
  if (src == t) nl_tensor_retain(src);
  int64_t O, R, I, shape[NL_MAXDIM];
  nl_tensor *x = nl_red_layout(src, mask, &O, &R, &I);
  nl_tensor_free(src);
  if (!x) return NULL;
  nl_red_keepshape(t, mask, shape);
  nl_tensor *out = nl_empty(t->ndim, shape, outdt, nl_device_of(t));
  if (!out) { nl_tensor_free(x); return NULL; }
  nl_kargs a = {.out = out, .in = {x}, .alpha = param, .dimmask = mask, .m = O, .k = R, .n = I};
  int rc = O * I > 0 ? nl_run(op, &a) : 0;
  nl_tensor_free(x);
  if (rc < 0) { nl_tensor_free(out); return NULL; }
  if (!keepdim) nl_red_squeeze(out, mask);
  return out;
}

nl_tensor *nl_reduce(nl_op op, const nl_tensor *t, uint32_t dimmask, bool keepdim, double param) {
  return nl_reduce_dtype(op, t, dimmask, keepdim, param, -1);
}

nl_tensor *nl_std(const nl_tensor *t, uint32_t dimmask, bool keepdim, double correction) {
  if (!nl_dtype_is_float(t->dtype))
    return nl_fail("std: only floating point dtypes are supported (got %s)", nl_dtype_name(t->dtype));
  int64_t m = nl_red_mask("std", t, dimmask);
  if (m < 0) return NULL;
  uint32_t mask = (uint32_t)m;
  int64_t O, R, I, shape[NL_MAXDIM];
  nl_tensor *x = nl_red_layout(t, mask, &O, &R, &I);
  if (!x) return NULL;
  nl_red_keepshape(t, mask, shape);
  nl_tensor *out = nl_empty(t->ndim, shape, t->dtype, nl_device_of(t));
  if (!out) { nl_tensor_free(x); return NULL; }
  nl_kargs a = {.out = out, .in = {x}, .alpha = correction, .ibeta = 1, .m = O, .k = R, .n = I};
  int rc = O * I > 0 ? nl_run(NL_OP_VAR, &a) : 0;
  nl_tensor_free(x);
  if (rc < 0) { nl_tensor_free(out); return NULL; }
  if (!keepdim) nl_red_squeeze(out, mask);
  return out;
}

/* Checks a single dim of t (0-d tensors accept 0). */
static int nl_red_dim(const char *op, const nl_tensor *t, int dim) {
  int n = t->ndim ? t->ndim : 1;
  if (dim < 0 || dim >= n)
    return nl_failc("%s: dim %d out of range for a tensor of %d dims (expected 1..%d or %d..-1)", op, dim + 1,
                    t->ndim, n, -n);
  return 0;
}

int nl_minmax_dim(const nl_tensor *t, int dim, bool keepdim, bool is_min, nl_tensor **values,
                  nl_tensor **indices) {
  const char *name = is_min ? "min" : "max";
  *values = *indices = NULL;
  if (nl_red_dim(name, t, dim) < 0) return -1;
  if (t->ndim > 0 && t->shape[dim] == 0)
    return nl_failc("%s: expected reduction dim %d to have non-zero size", name, dim + 1);
  uint32_t mask = t->ndim ? 1u << dim : 0;
  int64_t O, R, I, shape[NL_MAXDIM];
  nl_tensor *x = nl_red_layout(t, mask, &O, &R, &I);
  if (!x) return -1;
  nl_red_keepshape(t, mask, shape);
  nl_tensor *v = nl_empty(t->ndim, shape, t->dtype, nl_device_of(t));
  nl_tensor *ix = nl_empty(t->ndim, shape, NL_INT64, nl_device_of(t));
  int rc = v && ix ? 0 : -1;
  if (rc == 0 && O * I > 0) {
    nl_kargs a = {.out = v, .out2 = ix, .in = {x}, .dim = dim, .m = O, .k = R, .n = I};
    rc = nl_run(is_min ? NL_OP_MIN_DIM : NL_OP_MAX_DIM, &a);
  }
  nl_tensor_free(x);
  if (rc < 0) { nl_tensor_free(v); nl_tensor_free(ix); return -1; }
  if (!keepdim) { nl_red_squeeze(v, mask); nl_red_squeeze(ix, mask); }
  *values = v;
  *indices = ix;
  return 0;
}

int nl_max_dim(const nl_tensor *t, int dim, bool keepdim, nl_tensor **values, nl_tensor **indices) {
  return nl_minmax_dim(t, dim, keepdim, false, values, indices);
}
int nl_min_dim(const nl_tensor *t, int dim, bool keepdim, nl_tensor **values, nl_tensor **indices) {
  return nl_minmax_dim(t, dim, keepdim, true, values, indices);
}

static nl_tensor *nl_argextreme(const nl_tensor *t, int dim, bool keepdim, bool is_min) {
  const char *name = is_min ? "argmin" : "argmax";
  nl_tensor *v, *ix;
  if (dim >= 0) {
    if (nl_red_dim(name, t, dim) < 0) return NULL;
    if (t->ndim > 0 && t->shape[dim] == 0)
      return nl_fail("%s: expected reduction dim %d to have non-zero size", name, dim + 1);
    if (nl_minmax_dim(t, dim, keepdim, is_min, &v, &ix) < 0) return NULL;
    nl_tensor_free(v);
    return ix;
  }
  int64_t n = nl_numel(t);
  if (n == 0) return nl_fail("%s: expected reduction dim to be specified for input.numel() == 0", name);
  /* flat: a contiguous 1-D view of t */
  nl_tensor *c = nl_contiguous((nl_tensor *)t);
  if (!c) return NULL;
  int64_t one = 1;
  nl_tensor *flat = nl_view_of(c, 1, &n, &one, c->offset);
  nl_tensor_free(c);
  if (!flat) return NULL;
  int rc = nl_minmax_dim(flat, 0, false, is_min, &v, &ix);
  nl_tensor_free(flat);
  if (rc < 0) return NULL;
  nl_tensor_free(v);
  if (keepdim) { /* all dims of size 1 */
    ix->ndim = t->ndim;
    for (int d = 0; d < t->ndim; d++) { ix->shape[d] = 1; ix->stride[d] = 1; }
  }
  return ix;
}

nl_tensor *nl_argmax(const nl_tensor *t, int dim, bool keepdim) { return nl_argextreme(t, dim, keepdim, false); }
nl_tensor *nl_argmin(const nl_tensor *t, int dim, bool keepdim) { return nl_argextreme(t, dim, keepdim, true); }

/* Runs a dim-wise op (scan, softmax) whose output has t's shape. */
static nl_tensor *nl_dimwise(nl_op op, const nl_tensor *t, int dim, nl_dtype in, nl_dtype outdt) {
  nl_tensor *src = in == t->dtype ? (nl_tensor *)t : nl_to_dtype((nl_tensor *)t, in);
  if (!src) return NULL;
  if (src == t) nl_tensor_retain(src);
  int64_t O, R, I;
  nl_tensor *x = nl_red_layout(src, t->ndim ? 1u << dim : 0, &O, &R, &I);
  nl_tensor_free(src);
  if (!x) return NULL;
  nl_tensor *out = nl_empty(t->ndim, t->shape, outdt, nl_device_of(t));
  if (!out) { nl_tensor_free(x); return NULL; }
  nl_kargs a = {.out = out, .in = {x}, .dim = dim, .m = O, .k = R, .n = I};
  int rc = O * R * I > 0 ? nl_run(op, &a) : 0;
  nl_tensor_free(x);
  if (rc < 0) { nl_tensor_free(out); return NULL; }
  return out;
}

static nl_tensor *nl_scan(nl_op op, const nl_tensor *t, int dim, int dtype) {
  if (nl_red_dim(nl_op_name(op), t, dim) < 0) return NULL;
  nl_dtype in = dtype >= 0 ? (nl_dtype)dtype : t->dtype;
  nl_dtype outdt = dtype >= 0 ? in : nl_dtype_is_float(in) ? in : NL_INT64;
  return nl_dimwise(op, t, dim, in, outdt);
}

nl_tensor *nl_cumsum(const nl_tensor *t, int dim, int dtype) { return nl_scan(NL_OP_CUMSUM, t, dim, dtype); }
nl_tensor *nl_cumprod(const nl_tensor *t, int dim, int dtype) { return nl_scan(NL_OP_CUMPROD, t, dim, dtype); }

nl_tensor *nl_softmax(const nl_tensor *t, int dim, bool log_) {
  const char *name = log_ ? "log_softmax" : "softmax";
  if (nl_red_dim(name, t, dim) < 0) return NULL;
  if (!nl_dtype_is_float(t->dtype))
    return nl_fail("%s: expected a floating point tensor (got %s)", name, nl_dtype_name(t->dtype));
  return nl_dimwise(log_ ? NL_OP_LOG_SOFTMAX : NL_OP_SOFTMAX, t, dim, t->dtype, t->dtype);
}
