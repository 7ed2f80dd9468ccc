/* ops_elementwise.c: front ends of the unary, binary and ternary elementwise ops.
 *
 * Each front end: checks arguments (dtypes, broadcast shapes, castability of the result into
 * an out/in-place tensor, integer division by zero) before allocating its result, casts the
 * inputs to one compute dtype (no copy when they already have it; numbers become 0-d
 * tensors), runs the kernel, and when the destination's dtype differs from the result's,
 * computes into a temporary and copies (casting) into the destination. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nl_iter.h"
#include "nl_kernel.h"
#include "nl_ops.h"

/* ---- type promotion ---------------------------------------------------------------------- */
#define NL_UNDEF (-1)

static int nl_promote_u(int a, int b) {
  if (a == NL_UNDEF) return b;
  if (b == NL_UNDEF) return a;
  return (int)nl_promote((nl_dtype)a, (nl_dtype)b);
}

/* PyTorch's combine_categories: the higher-priority class wins unless the lower one is of a
 * higher category (bool < integer < float). */
static int nl_combine(int higher, int lower) {
  if (higher == NL_UNDEF) return lower;
  if (lower == NL_UNDEF) return higher;
  if (nl_dtype_is_float((nl_dtype)higher)) return higher;
  if (higher == NL_BOOL || nl_dtype_is_float((nl_dtype)lower)) return nl_promote_u(higher, lower);
  return higher;
}

nl_dtype nl_result_type(int n, const nl_arg *args) {
  int dim = NL_UNDEF, zero = NL_UNDEF, wrapped = NL_UNDEF;
  for (int i = 0; i < n; i++) {
    const nl_arg *a = &args[i];
    switch (a->kind) {
    case NL_ARG_TENSOR:
      if (a->t->ndim > 0) dim = nl_promote_u(dim, a->t->dtype);
      else zero = nl_promote_u(zero, a->t->dtype);
      break;
    case NL_ARG_FLOAT: wrapped = nl_promote_u(wrapped, nl_default_dtype()); break;
    case NL_ARG_INT: wrapped = nl_promote_u(wrapped, NL_INT64); break;
    case NL_ARG_BOOL: wrapped = nl_promote_u(wrapped, NL_BOOL); break;
    default: break;
    }
  }
  int r = nl_combine(dim, nl_combine(zero, wrapped));
  return r == NL_UNDEF ? nl_default_dtype() : (nl_dtype)r;
}

bool nl_can_cast(nl_dtype from, nl_dtype to) {
  if (nl_dtype_is_float(from) && !nl_dtype_is_float(to)) return false;
  if (from != NL_BOOL && to == NL_BOOL) return false;
  return true;
}

const char *nl_elementwise_name(nl_op op) {
  switch (op) {
  case NL_OP_FLOORDIV: return "floor_divide";
  default: return nl_op_name(op);
  }
}

/* ---- helpers ----------------------------------------------------------------------------- */
static bool nl_is_pred(nl_op op) {
  return (op >= NL_OP_EQ && op <= NL_OP_LOGICAL_OR) || op == NL_OP_LOGICAL_NOT || op == NL_OP_ISNAN ||
         op == NL_OP_ISINF;
}

/* Unary ops defined on integers (the others promote integer inputs to floats). */
static bool nl_unary_keeps_int(nl_op op) {
  switch (op) {
  case NL_OP_NEG: case NL_OP_ABS: case NL_OP_RELU: case NL_OP_SIGN: case NL_OP_FLOOR:
  case NL_OP_CEIL: case NL_OP_ROUND: case NL_OP_TRUNC:
    return true;
  default: return false;
  }
}

static int nl_arg_ndim(const nl_arg *a) { return a->kind == NL_ARG_TENSOR ? a->t->ndim : 0; }
static const int64_t *nl_arg_shape(const nl_arg *a) { return a->kind == NL_ARG_TENSOR ? a->t->shape : NULL; }

/* A 0-d tensor of dtype dt holding the number a (integers exact). */
static nl_tensor *nl_number_tensor(const nl_arg *a, nl_dtype dt, nl_device dev) {
  nl_tensor *t = nl_empty(0, NULL, dt, dev);
  if (!t) return NULL;
  if (dev.type == NL_CPU) { /* one store instead of a FILL kernel through the iterator */
    int64_t iv = a->kind == NL_ARG_FLOAT ? (int64_t)a->v : a->iv;
    void *p = t->storage->data;
    switch (dt) {
    case NL_FLOAT32: *(float *)p = (float)a->v; return t;
    case NL_FLOAT64: *(double *)p = a->v; return t;
    case NL_INT64: *(int64_t *)p = iv; return t;
    case NL_INT32: *(int32_t *)p = (int32_t)iv; return t;
    case NL_UINT8: *(uint8_t *)p = (uint8_t)iv; return t;
    case NL_BOOL: *(uint8_t *)p = a->v != 0; return t;
    default: break;
    }
  }
  nl_kargs k = {.out = t, .alpha = a->v, .ialpha = a->kind == NL_ARG_FLOAT ? (int64_t)a->v : a->iv};
  if (nl_run(NL_OP_FILL, &k) < 0) {
    nl_tensor_free(t);
    return NULL;
  }
  return t;
}

/* The operand as a tensor of dtype dt (new reference; the tensor itself when it matches). */
static nl_tensor *nl_arg_as(const nl_arg *a, nl_dtype dt, nl_device dev) {
  if (a->kind == NL_ARG_TENSOR) return nl_to_dtype((nl_tensor *)a->t, dt);
  return nl_number_tensor(a, dt, dev);
}

/* Resizes an out= tensor with zero elements to shape (PyTorch resizes empty outputs). */
static int nl_resize_empty(nl_tensor *out, int ndim, const int64_t *shape) {
  nl_tensor *n = nl_empty(ndim, shape, out->dtype, nl_device_of(out));
  if (!n) return -1;
  nl_storage_retain(n->storage);
  nl_storage_release(out->storage);
  out->storage = n->storage;
  out->offset = 0;
  out->ndim = ndim;
  memcpy(out->shape, n->shape, sizeof out->shape);
  memcpy(out->stride, n->stride, sizeof out->stride);
  nl_tensor_free(n);
  return 0;
}

/* Checks a destination (out= or in-place self) against the result's shape and dtype. For
 * out=, a tensor with zero elements is resized. */
static int nl_check_dest(const char *name, nl_tensor *dst, bool inplace, nl_dtype rdt, int ndim,
                         const int64_t *shape) {
  char b1[160], b2[160];
  if (!nl_can_cast(rdt, dst->dtype))
    return nl_failc("%s: result type %s can't be cast to the desired output type %s", name, nl_dtype_name(rdt),
                    nl_dtype_name(dst->dtype));
  bool same = dst->ndim == ndim && memcmp(dst->shape, shape, sizeof(int64_t) * (size_t)ndim) == 0;
  if (same) return 0;
  if (!inplace && nl_numel(dst) == 0) return nl_resize_empty(dst, ndim, shape);
  return nl_failc("%s: output with shape %s doesn't match the broadcast shape %s", name,
                  nl_shape_str(dst->ndim, dst->shape, b1, sizeof b1), nl_shape_str(ndim, shape, b2, sizeof b2));
}

/* Runs op with inputs in[] (already of the compute dtype) into dst, through a temporary of
 * dtype rdt when dst has another dtype. Returns 0 or -1. Bumps dst's version when bump. */
static int nl_run_into(nl_op op, nl_kargs *k, nl_tensor *dst, nl_dtype rdt, bool bump) {
  if (dst->dtype == rdt) {
    k->out = dst;
    if (nl_run(op, k) < 0) return -1;
    if (bump) nl_bump_version(dst);
    return 0;
  }
  nl_tensor *tmp = nl_empty(dst->ndim, dst->shape, rdt, nl_device_of(dst));
  if (!tmp) return -1;
  k->out = tmp;
  int r = nl_run(op, k);
  if (r == 0) r = nl_copy_(dst, tmp); /* bumps dst's version */
  nl_tensor_free(tmp);
  return r;
}

/* The device of the tensor operands (all must agree). */
static int nl_args_device(const char *name, int n, const nl_arg *args, nl_device *dev) {
  bool have = false;
  for (int i = 0; i < n; i++) {
    if (args[i].kind != NL_ARG_TENSOR) continue;
    nl_device d = nl_device_of(args[i].t);
    if (!have) { *dev = d; have = true; continue; }
    if (!nl_device_eq(*dev, d)) {
      char b1[32], b2[32];
      nl_device_name(*dev, b1, sizeof b1);
      nl_device_name(d, b2, sizeof b2);
      return nl_failc("%s: expected all tensors on the same device (got %s and %s)", name, b1, b2);
    }
  }
  if (!have) return nl_failc("%s: expected at least one tensor argument", name);
  return 0;
}

/* Any zero in t (CPU, an integer dtype)? Other devices are not scanned. */
static bool nl_has_zero(const nl_tensor *t) {
  if (nl_device_of(t).type != NL_CPU) return false;
  int64_t n = nl_numel(t);
  for (int64_t i = 0; i < n; i++)
    if (nl_get_flat_i64(t, i) == 0) return true;
  return false;
}

/* ---- unary ----------------------------------------------------------------------------- */
static nl_tensor *nl_unary_impl(nl_op op, const nl_tensor *a, nl_tensor *dst, bool inplace) {
  char buf[40]; /* "exp_" for in-place; no snprintf on the hot out-of-place path */
  const char *name = nl_elementwise_name(op);
  if (inplace) {
    snprintf(buf, sizeof buf, "%s_", name);
    name = buf;
  }
  if (op < NL_OP_NEG || op > NL_OP_ISINF) return nl_fail("%s: not a unary elementwise op", name);
  nl_dtype cdt = a->dtype; /* compute dtype */
  if (!nl_is_pred(op) && !nl_dtype_is_float(cdt)) {
    if (cdt == NL_BOOL && op == NL_OP_NEG)
      return nl_fail("neg: negation, the `-` operator, on a bool tensor is not supported; use logical_not() instead");
    if (cdt == NL_BOOL && op != NL_OP_SIGN && nl_unary_keeps_int(op))
      return nl_fail("%s: not implemented for bool tensors", name);
    if (!nl_unary_keeps_int(op)) cdt = nl_default_dtype();
  }
  if (nl_device_of(a).type == NL_CPU && !nl_dtype_is_float(cdt) && cdt != NL_INT64 && cdt != NL_INT32 &&
      cdt != NL_UINT8 && cdt != NL_BOOL)
    return nl_fail("%s: dtype %s is not supported on cpu", name, nl_dtype_name(cdt));
  nl_dtype rdt = nl_is_pred(op) ? NL_BOOL : cdt;
  if (dst && nl_check_dest(name, dst, inplace, rdt, a->ndim, a->shape) < 0) return NULL;
  nl_tensor *in = nl_to_dtype((nl_tensor *)a, cdt);
  if (!in) return NULL;
  nl_kargs k = {.in = {in}};
  nl_tensor *res = dst;
  if (!res) {
    res = nl_empty(a->ndim, a->shape, rdt, nl_device_of(a));
    if (!res) { nl_tensor_free(in); return NULL; }
    if (nl_run_into(op, &k, res, rdt, false) < 0) { nl_tensor_free(res); res = NULL; }
  } else if (nl_run_into(op, &k, dst, rdt, true) < 0) {
    res = NULL;
  } else {
    nl_tensor_retain(dst);
  }
  nl_tensor_free(in);
  return res;
}

nl_tensor *nl_unary(nl_op op, const nl_tensor *a) { return nl_unary_impl(op, a, NULL, false); }
nl_tensor *nl_unary_out(nl_op op, const nl_tensor *a, nl_tensor *out) { return nl_unary_impl(op, a, out, false); }
int nl_unary_(nl_op op, nl_tensor *a) {
  nl_tensor *r = nl_unary_impl(op, a, a, true);
  if (!r) return -1;
  nl_tensor_free(r);
  return 0;
}

/* ---- binary ------------------------------------------------------------------------------ */
static nl_tensor *nl_binary_impl(nl_op op, nl_arg a, nl_arg b, double alpha, nl_tensor *dst, bool inplace) {
  char buf[40]; /* "add_" for in-place (a copy: snprintf cost ~600 instructions per call) */
  const char *name = nl_elementwise_name(op);
  if (inplace) {
    size_t len = strlen(name);
    if (len > sizeof buf - 2) len = sizeof buf - 2;
    memcpy(buf, name, len);
    buf[len] = '_';
    buf[len + 1] = '\0';
    name = buf;
  }
  if (op < NL_OP_ADD || op > NL_OP_LOGICAL_OR) return nl_fail("%s: not a binary elementwise op", name);
  nl_arg args[2] = {a, b};
  nl_device dev;
  if (nl_args_device(name, 2, args, &dev) < 0) return NULL;
  nl_dtype cdt = nl_result_type(2, args);
  if (op == NL_OP_DIV && !nl_dtype_is_float(cdt)) cdt = nl_default_dtype(); /* true division */
  if (cdt == NL_BOOL) {
    if (op == NL_OP_SUB)
      return nl_fail("%s: subtraction, the `-` operator, with two bool tensors is not supported; use logical_xor() instead", name);
    if (op == NL_OP_POW || op == NL_OP_FMOD || op == NL_OP_REMAINDER || op == NL_OP_FLOORDIV)
      return nl_fail("%s: not implemented for bool tensors", name);
  }
  if ((op == NL_OP_ADD || op == NL_OP_SUB) && !nl_dtype_is_float(cdt) && alpha != floor(alpha))
    return nl_fail("%s: for integer tensors, alpha must be an integer (got %g)", name, alpha);
  bool int_div = !nl_dtype_is_float(cdt) && (op == NL_OP_FLOORDIV || op == NL_OP_REMAINDER || op == NL_OP_FMOD);
  if (int_div && b.kind != NL_ARG_TENSOR && b.iv == 0)
    return nl_fail("%s: integer division by zero", name);
  if (op == NL_OP_POW && !nl_dtype_is_float(cdt) && b.kind == NL_ARG_INT && b.iv < 0)
    return nl_fail("%s: integers to negative integer powers are not allowed (exponent %lld)", name, (long long)b.iv);
  int64_t shape[NL_MAXDIM];
  int nd = nl_broadcast_shape(name, nl_arg_ndim(&a), nl_arg_shape(&a), nl_arg_ndim(&b), nl_arg_shape(&b), shape);
  if (nd < 0) return NULL;
  nl_dtype rdt = nl_is_pred(op) ? NL_BOOL : cdt;
  if (dst && nl_check_dest(name, dst, inplace, rdt, nd, shape) < 0) return NULL;

  nl_tensor *ta = nl_arg_as(&a, cdt, dev);
  nl_tensor *tb = ta ? nl_arg_as(&b, cdt, dev) : NULL;
  nl_tensor *res = NULL;
  if (!tb) goto done;
  if (int_div && nl_has_zero(tb)) {
    nl_fail("%s: integer division by zero", name);
    goto done;
  }
  nl_kargs k = {.in = {ta, tb}, .alpha = alpha, .ialpha = (int64_t)alpha};
  if (!dst) {
    res = nl_empty(nd, shape, rdt, dev);
    if (res && nl_run_into(op, &k, res, rdt, false) < 0) { nl_tensor_free(res); res = NULL; }
  } else if (nl_run_into(op, &k, dst, rdt, true) == 0) {
    nl_tensor_retain(dst);
    res = dst;
  }
done:
  nl_tensor_free(ta);
  nl_tensor_free(tb);
  return res;
}

nl_tensor *nl_binary(nl_op op, const nl_tensor *a, const nl_tensor *b, double alpha) {
  return nl_binary_impl(op, nl_arg_tensor(a), nl_arg_tensor(b), alpha, NULL, false);
}

nl_tensor *nl_binary_scalar(nl_op op, const nl_tensor *a, double v, bool v_is_int, bool scalar_first) {
  nl_arg s = v_is_int ? nl_arg_int((int64_t)v) : nl_arg_float(v);
  return scalar_first ? nl_binary_impl(op, s, nl_arg_tensor(a), 1, NULL, false)
                      : nl_binary_impl(op, nl_arg_tensor(a), s, 1, NULL, false);
}

nl_tensor *nl_binary_ex(nl_op op, nl_arg a, nl_arg b, double alpha, nl_tensor *out) {
  return nl_binary_impl(op, a, b, alpha, out, false);
}

int nl_binary_(nl_op op, nl_tensor *self, nl_arg b, double alpha) {
  nl_tensor *r = nl_binary_impl(op, nl_arg_tensor(self), b, alpha, self, true);
  if (!r) return -1;
  nl_tensor_free(r);
  return 0;
}

/* ---- where ------------------------------------------------------------------------------- */
nl_tensor *nl_where(const nl_tensor *cond, nl_arg a, nl_arg b) {
  if (cond->dtype != NL_BOOL)
    return nl_fail("where: expected condition to be a bool tensor, got %s", nl_dtype_name(cond->dtype));
  nl_arg args[3] = {nl_arg_tensor(cond), a, b};
  nl_device dev;
  if (nl_args_device("where", 3, args, &dev) < 0) return NULL;
  nl_dtype rdt = nl_result_type(2, args + 1);
  int64_t s1[NL_MAXDIM], shape[NL_MAXDIM];
  int n1 = nl_broadcast_shape("where", cond->ndim, cond->shape, nl_arg_ndim(&a), nl_arg_shape(&a), s1);
  if (n1 < 0) return NULL;
  int nd = nl_broadcast_shape("where", n1, s1, nl_arg_ndim(&b), nl_arg_shape(&b), shape);
  if (nd < 0) return NULL;
  nl_tensor *ta = nl_arg_as(&a, rdt, dev);
  nl_tensor *tb = ta ? nl_arg_as(&b, rdt, dev) : NULL;
  nl_tensor *res = tb ? nl_empty(nd, shape, rdt, dev) : NULL;
  if (res) {
    nl_kargs k = {.out = res, .in = {cond, ta, tb}};
    if (nl_run(NL_OP_WHERE, &k) < 0) { nl_tensor_free(res); res = NULL; }
  }
  nl_tensor_free(ta);
  nl_tensor_free(tb);
  return res;
}

/* ---- clamp ------------------------------------------------------------------------------- */
static nl_tensor *nl_clamp_impl(const nl_tensor *x, nl_arg lo, nl_arg hi, nl_tensor *dst, bool inplace) {
  const char *name = inplace ? "clamp_" : "clamp";
  if (lo.kind == NL_ARG_NONE && hi.kind == NL_ARG_NONE)
    return nl_fail("%s: at least one of min or max must be given", name);
  nl_arg args[3] = {nl_arg_tensor(x), lo, hi};
  nl_device dev;
  if (nl_args_device(name, 3, args, &dev) < 0) return NULL;
  nl_dtype cdt = nl_result_type(3, args);
  if (cdt == NL_BOOL) return nl_fail("%s: not implemented for bool tensors", name);
  int64_t s1[NL_MAXDIM], shape[NL_MAXDIM];
  int n1 = nl_broadcast_shape(name, x->ndim, x->shape, nl_arg_ndim(&lo), nl_arg_shape(&lo), s1);
  if (n1 < 0) return NULL;
  int nd = nl_broadcast_shape(name, n1, s1, nl_arg_ndim(&hi), nl_arg_shape(&hi), shape);
  if (nd < 0) return NULL;
  if (dst && nl_check_dest(name, dst, inplace, cdt, nd, shape) < 0) return NULL;
  nl_tensor *tx = nl_to_dtype((nl_tensor *)x, cdt), *tl = NULL, *th = NULL, *res = NULL;
  if (!tx) return NULL;
  tl = lo.kind == NL_ARG_NONE ? (nl_tensor_retain(tx), tx) : nl_arg_as(&lo, cdt, dev);
  th = !tl ? NULL : hi.kind == NL_ARG_NONE ? (nl_tensor_retain(tx), tx) : nl_arg_as(&hi, cdt, dev);
  if (th) {
    nl_kargs k = {.in = {tx, tl, th},
                  .flags = (lo.kind != NL_ARG_NONE ? NL_KF_HAS_LO : 0) | (hi.kind != NL_ARG_NONE ? NL_KF_HAS_HI : 0)};
    if (!dst) {
      res = nl_empty(nd, shape, cdt, dev);
      if (res && nl_run_into(NL_OP_CLAMP, &k, res, cdt, false) < 0) { nl_tensor_free(res); res = NULL; }
    } else if (nl_run_into(NL_OP_CLAMP, &k, dst, cdt, true) == 0) {
      nl_tensor_retain(dst);
      res = dst;
    }
  }
  nl_tensor_free(tx);
  nl_tensor_free(tl);
  nl_tensor_free(th);
  return res;
}

nl_tensor *nl_clamp(const nl_tensor *x, nl_arg lo, nl_arg hi, nl_tensor *out) {
  return nl_clamp_impl(x, lo, hi, out, false);
}

int nl_clamp_(nl_tensor *x, nl_arg lo, nl_arg hi) {
  nl_tensor *r = nl_clamp_impl(x, lo, hi, x, true);
  if (!r) return -1;
  nl_tensor_free(r);
  return 0;
}

/* ---- lerp -------------------------------------------------------------------------------- */
nl_tensor *nl_lerp(const nl_tensor *start, const nl_tensor *end, nl_arg w, nl_tensor *out) {
  nl_dtype dt = start->dtype;
  if (!nl_dtype_is_float(dt)) return nl_fail("lerp: not implemented for %s tensors", nl_dtype_name(dt));
  if (end->dtype != dt)
    return nl_fail("lerp: expected dtype %s for end but got %s", nl_dtype_name(dt), nl_dtype_name(end->dtype));
  if (w.kind == NL_ARG_TENSOR && w.t->dtype != dt)
    return nl_fail("lerp: expected dtype %s for weight but got %s", nl_dtype_name(dt), nl_dtype_name(w.t->dtype));
  if (w.kind == NL_ARG_NONE || w.kind == NL_ARG_BOOL) return nl_fail("lerp: weight must be a number or a tensor");
  nl_arg args[3] = {nl_arg_tensor(start), nl_arg_tensor(end), w};
  nl_device dev;
  if (nl_args_device("lerp", 3, args, &dev) < 0) return NULL;
  int64_t s1[NL_MAXDIM], shape[NL_MAXDIM];
  int n1 = nl_broadcast_shape("lerp", start->ndim, start->shape, end->ndim, end->shape, s1);
  if (n1 < 0) return NULL;
  int nd = nl_broadcast_shape("lerp", n1, s1, nl_arg_ndim(&w), nl_arg_shape(&w), shape);
  if (nd < 0) return NULL;
  if (out && nl_check_dest("lerp", out, false, dt, nd, shape) < 0) return NULL;
  nl_tensor *tw = nl_arg_as(&w, dt, dev), *res = NULL;
  if (!tw) return NULL;
  nl_kargs k = {.in = {start, end, tw}};
  if (!out) {
    res = nl_empty(nd, shape, dt, dev);
    if (res && nl_run_into(NL_OP_LERP, &k, res, dt, false) < 0) { nl_tensor_free(res); res = NULL; }
  } else if (nl_run_into(NL_OP_LERP, &k, out, dt, true) == 0) {
    nl_tensor_retain(out);
    res = out;
  }
  nl_tensor_free(tw);
  return res;
}

/* ---- equal, isclose, allclose ----------------------------------------------------------- */
/* 1 when every element of the bool tensor t is true. */
static int nl_all_true(nl_tensor *t) {
  nl_tensor *c = nl_to_device(t, nl_cpu());
  if (!c) return -1;
  int64_t n = nl_numel(c);
  int r = 1;
  for (int64_t i = 0; i < n && r; i++) r = nl_get_flat_i64(c, i) != 0;
  nl_tensor_free(c);
  return r;
}

int nl_equal(const nl_tensor *a, const nl_tensor *b) {
  if (a->ndim != b->ndim || memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) != 0) return 0;
  nl_tensor *e = nl_binary(NL_OP_EQ, a, b, 1);
  if (!e) return -1;
  int r = nl_all_true(e);
  nl_tensor_free(e);
  return r;
}

typedef struct { double rtol, atol; bool equal_nan; } nl_isclose_ctx;

/* out bool <- isclose(a, b), a and b float64 (PyTorch's formula). */
static void nl_isclose_run(char **p, const int64_t *s, int64_t n, void *vctx) {
  const nl_isclose_ctx *c = vctx;
  for (int64_t i = 0; i < n; i++) {
    double x = *(const double *)(p[1] + i * s[1]), y = *(const double *)(p[2] + i * s[2]);
    bool close = x == y;
    if (c->equal_nan && isnan(x) && isnan(y)) close = true;
    if (!close && isfinite(x) && isfinite(y)) close = fabs(x - y) <= c->atol + c->rtol * fabs(y);
    *(uint8_t *)(p[0] + i * s[0]) = close;
  }
}

nl_tensor *nl_isclose(const nl_tensor *a, const nl_tensor *b, double rtol, double atol, bool equal_nan) {
  if (a->dtype != b->dtype)
    return nl_fail("isclose: dtypes of the two tensors differ (%s and %s)", nl_dtype_name(a->dtype), nl_dtype_name(b->dtype));
  if (rtol < 0 || atol < 0) return nl_fail("isclose: rtol and atol must be non-negative (got %g and %g)", rtol, atol);
  int64_t shape[NL_MAXDIM];
  int nd = nl_broadcast_shape("isclose", a->ndim, a->shape, b->ndim, b->shape, shape);
  if (nd < 0) return NULL;
  /* computed on the CPU in float64 (a whole-tensor check, not a hot path) */
  nl_tensor *ca = nl_to_device((nl_tensor *)a, nl_cpu()), *cb = ca ? nl_to_device((nl_tensor *)b, nl_cpu()) : NULL;
  nl_tensor *da = cb ? nl_to_dtype(ca, NL_FLOAT64) : NULL, *db = da ? nl_to_dtype(cb, NL_FLOAT64) : NULL;
  nl_tensor *res = db ? nl_empty(nd, shape, NL_BOOL, nl_cpu()) : NULL;
  if (res) {
    nl_iter it;
    nl_iter_init(&it, 3, (const nl_tensor *[]){res, da, db}, nd, shape);
    nl_isclose_ctx c = {rtol, atol, equal_nan};
    nl_iter_run(&it, nl_isclose_run, &c);
    if (!nl_device_eq(nl_device_of(a), nl_cpu())) {
      nl_tensor *r2 = nl_to_device(res, nl_device_of(a));
      nl_tensor_free(res);
      res = r2;
    }
  }
  nl_tensor_free(ca);
  nl_tensor_free(cb);
  nl_tensor_free(da);
  nl_tensor_free(db);
  return res;
}

int nl_allclose(const nl_tensor *a, const nl_tensor *b, double rtol, double atol, bool equal_nan) {
  if (a->dtype != b->dtype)
    return nl_failc("allclose: dtypes of the two tensors differ (%s and %s)", nl_dtype_name(a->dtype), nl_dtype_name(b->dtype));
  nl_tensor *c = nl_isclose(a, b, rtol, atol, equal_nan);
  if (!c) return -1;
  int r = nl_all_true(c);
  nl_tensor_free(c);
  return r;
}
