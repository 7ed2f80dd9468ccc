/* functions.c: the differentiable wrappers of the elementwise, memory and reduce families.
 * Each calls the front end, then (grad mode on, an input requires grad, a floating result)
 * records a node whose formula is in derivatives.c. */
#include <stdio.h>
#include <string.h>

#include "ag_internal.h"

/* ---- recording helpers (shared with functions_shape.c through ag_record.h-like statics) -- */
static bool nl_float_out(const nl_tensor *out) { return nl_dtype_is_float(out->dtype); }

/* out gets node n as its history; returns out (or NULL, freeing both, when save failed). */
static nl_tensor *nl_finish(nl_tensor *out, nl_node *n, int save_status) {
  if (save_status < 0) {
    nl_node_release(n);
    nl_tensor_free(out);
    return NULL;
  }
  nl_ag_set_history(out, n);
  return out;
}

static nl_node *nl_new(nl_tensor **out, const char *name, nl_backward_fn fn, int nin, const nl_tensor *const *ins) {
  nl_node *n = nl_node_new(name, fn, nin, ins);
  if (!n) {
    nl_tensor_free(*out);
    *out = NULL;
  }
  return n;
}

static const char *nl_bw_name(nl_op op) {
  switch (op) {
  case NL_OP_NEG: return "NegBackward";
  case NL_OP_ABS: return "AbsBackward";
  case NL_OP_EXP: return "ExpBackward";
  case NL_OP_LOG: return "LogBackward";
  case NL_OP_LOG1P: return "Log1pBackward";
  case NL_OP_EXPM1: return "Expm1Backward";
  case NL_OP_SQRT: return "SqrtBackward";
  case NL_OP_RSQRT: return "RsqrtBackward";
  case NL_OP_SIN: return "SinBackward";
  case NL_OP_COS: return "CosBackward";
  case NL_OP_TAN: return "TanBackward";
  case NL_OP_TANH: return "TanhBackward";
  case NL_OP_SIGMOID: return "SigmoidBackward";
  case NL_OP_RELU: return "ReluBackward";
  case NL_OP_ADD: return "AddBackward";
  case NL_OP_SUB: return "SubBackward";
  case NL_OP_MUL: return "MulBackward";
  case NL_OP_DIV: return "DivBackward";
  case NL_OP_POW: return "PowBackward";
  case NL_OP_MAXIMUM: return "MaximumBackward";
  case NL_OP_MINIMUM: return "MinimumBackward";
  case NL_OP_SUM: return "SumBackward";
  case NL_OP_MEAN: return "MeanBackward";
  case NL_OP_PROD: return "ProdBackward";
  case NL_OP_VAR: return "VarBackward";
  case NL_OP_NORM: return "NormBackward";
  case NL_OP_LOGSUMEXP: return "LogsumexpBackward";
  case NL_OP_AMAX: return "AmaxBackward";
  case NL_OP_AMIN: return "AminBackward";
  default: return NULL;
  }
}

/* The rule of every non-differentiable in-place op: no tensor requiring grad. */
int nl_ag_check_inplace_nodiff(const nl_tensor *t, const char *op) {
  if (nl_ag_check_inplace(t, op) < 0) return -1;
  if (nl_grad_enabled() && t->requires_grad)
    return nl_failc("%s: in-place operation on a tensor that requires grad is not supported by autograd", op);
  return 0;
}

int nl_ag_check_view(const nl_tensor *t, const char *op) {
  if (!t->is_view) return 0;
  return nl_failc("%s: in-place operation on a view with autograd recording is not supported (the gradient of "
                  "the tensor it views would be wrong); clone() the view first or use an out-of-place op", op);
}

/* After an in-place op computed out-of-place as r (with its graph): self <- r, and self takes
 * r's history. self's old values are not needed by r's node (it saved a clone). */
int nl_ag_rebase(nl_tensor *self, nl_tensor *r) {
  bool mode = nl_grad_enabled();
  nl_set_grad_enabled(false);
  int rc = nl_copy_(self, r);
  nl_set_grad_enabled(mode);
  if (rc == 0 && r->grad_fn) {
    nl_node_retain(r->grad_fn);
    nl_ag_set_history(self, r->grad_fn);
  }
  nl_tensor_free(r);
  return rc;
}

/* ---- unary ----------------------------------------------------------------------------- */
static bool nl_saves_input(nl_op op) {
  return op == NL_OP_LOG || op == NL_OP_LOG1P || op == NL_OP_SIN || op == NL_OP_COS || op == NL_OP_ABS;
}

nl_tensor *nl_ag_unary(nl_op op, const nl_tensor *a) { return nl_ag_unary_out(op, a, NULL); }

nl_tensor *nl_ag_unary_out(nl_op op, const nl_tensor *a, nl_tensor *out) {
  bool rec = nl_ag_any_requires_grad(1, &a) && nl_bw_name(op);
  if (rec && out) return nl_fail("%s: functions with out= arguments don't support automatic differentiation", nl_op_name(op));
  nl_tensor *r = out ? nl_unary_out(op, a, out) : nl_unary(op, a);
  if (!r || !rec || !nl_float_out(r)) return r;
  nl_node *n = nl_new(&r, nl_bw_name(op), nl_d_unary, 1, &a);
  if (!n) return NULL;
  n->ip[0] = op;
  int s = 0;
  if (op != NL_OP_NEG) s = nl_saves_input(op) ? nl_node_save(n, a, false) : nl_node_save(n, r, true);
  return nl_finish(r, n, s);
}

int nl_ag_unary_(nl_op op, nl_tensor *a) {
  char name[40];
  snprintf(name, sizeof name, "%s_", nl_op_name(op));
  if (nl_ag_check_inplace(a, name) < 0) return -1;
  if (!nl_ag_any_requires_grad(1, (const nl_tensor *const *)&a) || !nl_bw_name(op)) {
    if (nl_grad_enabled() && a->requires_grad) return nl_ag_check_inplace_nodiff(a, name);
    return nl_unary_(op, a);
  }
  if (nl_ag_check_view(a, name) < 0) return -1;
  nl_tensor *c = nl_ag_clone(a);
  if (!c) return -1;
  nl_tensor *r = nl_ag_unary(op, c);
  nl_tensor_free(c);
  if (!r) return -1;
  if (r->dtype != a->dtype) { nl_tensor_free(r); return nl_unary_(op, a); } /* the front end's error */
  return nl_ag_rebase(a, r);
}

/* ---- binary ---------------------------------------------------------------------------- */
nl_tensor *nl_ag_binary(nl_op op, const nl_tensor *a, const nl_tensor *b, double alpha) {
  return nl_ag_binary_ex(op, nl_arg_tensor(a), nl_arg_tensor(b), alpha, NULL);
}

nl_tensor *nl_ag_binary_ex(nl_op op, nl_arg a, nl_arg b, double alpha, nl_tensor *out) {
  const nl_tensor *ins[2] = {a.kind == NL_ARG_TENSOR ? a.t : NULL, b.kind == NL_ARG_TENSOR ? b.t : NULL};
  bool rec = nl_ag_any_requires_grad(2, ins) && nl_bw_name(op);
  if (rec && out) return nl_fail("%s: functions with out= arguments don't support automatic differentiation", nl_elementwise_name(op));
  nl_tensor *r = nl_binary_ex(op, a, b, alpha, out);
  if (!r || !rec || !nl_float_out(r)) return r;
  nl_node *n = nl_new(&r, nl_bw_name(op), nl_d_binary, 2, ins);
  if (!n) return NULL;
  n->ip[0] = op;
  n->dp[0] = alpha;
  n->ip[1] = !ins[0] ? 1 : !ins[1] ? 2 : 0;
  n->dp[1] = !ins[0] ? a.v : !ins[1] ? b.v : 0;
  n->ip[2] = n->ip[3] = -1;
  int s = 0;
  bool save = op == NL_OP_MUL || op == NL_OP_DIV || op == NL_OP_POW || op == NL_OP_MAXIMUM || op == NL_OP_MINIMUM;
  if (save && ins[0] && s == 0) { n->ip[2] = n->n_saved; s = nl_node_save(n, ins[0], false); }
  if (save && ins[1] && s == 0) { n->ip[3] = n->n_saved; s = nl_node_save(n, ins[1], false); }
  if (s == 0 && (op == NL_OP_MAXIMUM || op == NL_OP_MINIMUM) && (!ins[0] || !ins[1])) {
    /* a number operand: compare against a 0-d tensor of it */
    nl_tensor *v = nl_scalar(ins[0] ? b.v : a.v, r->dtype, nl_device_of(r));
    if (!v) s = -1;
    else {
      if (!ins[0]) n->ip[2] = n->n_saved; else n->ip[3] = n->n_saved;
      s = nl_node_save(n, v, false);
      nl_tensor_free(v);
    }
  }
  return nl_finish(r, n, s);
}

int nl_ag_binary_(nl_op op, nl_tensor *self, nl_arg b, double alpha) {
  char name[40];
  snprintf(name, sizeof name, "%s_", nl_elementwise_name(op));
  if (nl_ag_check_inplace(self, name) < 0) return -1;
  const nl_tensor *ins[2] = {self, b.kind == NL_ARG_TENSOR ? b.t : NULL};
  if (!nl_ag_any_requires_grad(2, ins) || !nl_bw_name(op)) {
    if (nl_grad_enabled() && self->requires_grad) return nl_ag_check_inplace_nodiff(self, name);
    return nl_binary_(op, self, b, alpha);
  }
  if (nl_ag_check_view(self, name) < 0) return -1;
  nl_tensor *c = nl_ag_clone(self);
  if (!c) return -1;
  nl_tensor *r = nl_ag_binary_ex(op, nl_arg_tensor(c), b, alpha, NULL);
  nl_tensor_free(c);
  if (!r) return -1;
  if (r->ndim != self->ndim || memcmp(r->shape, self->shape, sizeof(int64_t) * (size_t)self->ndim) ||
      !nl_can_cast(r->dtype, self->dtype)) {
    nl_tensor_free(r);
    return nl_binary_(op, self, b, alpha); /* fails with the front end's message */
  }
  return nl_ag_rebase(self, r);
}

/* ---- where / clamp / lerp ---------------------------------------------------------------- */
nl_tensor *nl_ag_where(const nl_tensor *cond, nl_arg a, nl_arg b) {
  const nl_tensor *ins[3] = {NULL, a.kind == NL_ARG_TENSOR ? a.t : NULL, b.kind == NL_ARG_TENSOR ? b.t : NULL};
  nl_tensor *r = nl_where(cond, a, b);
  if (!r || !nl_ag_any_requires_grad(3, ins) || !nl_float_out(r)) return r;
  nl_node *n = nl_new(&r, "WhereBackward", nl_d_where, 3, ins);
  if (!n) return NULL;
  return nl_finish(r, n, nl_node_save(n, cond, false));
}

nl_tensor *nl_ag_clamp(const nl_tensor *x, nl_arg lo, nl_arg hi, nl_tensor *out) {
  const nl_tensor *ins[3] = {x, lo.kind == NL_ARG_TENSOR ? lo.t : NULL, hi.kind == NL_ARG_TENSOR ? hi.t : NULL};
  bool rec = nl_ag_any_requires_grad(3, ins);
  if (rec && out) return nl_fail("clamp: functions with out= arguments don't support automatic differentiation");
  nl_tensor *r = nl_clamp(x, lo, hi, out);
  if (!r || !rec || !nl_float_out(r)) return r;
  nl_node *n = nl_new(&r, "ClampBackward", nl_d_clamp, 3, ins);
  if (!n) return NULL;
  n->ip[0] = lo.kind == NL_ARG_NONE ? 0 : ins[1] ? 2 : 1;
  n->ip[1] = hi.kind == NL_ARG_NONE ? 0 : ins[2] ? 2 : 1;
  n->dp[0] = lo.v;
  n->dp[1] = hi.v;
  int s = nl_node_save(n, x, false);
  if (s == 0 && ins[1]) s = nl_node_save(n, ins[1], false);
  if (s == 0 && ins[2]) s = nl_node_save(n, ins[2], false);
  return nl_finish(r, n, s);
}

int nl_ag_clamp_(nl_tensor *x, nl_arg lo, nl_arg hi) {
  if (nl_ag_check_inplace(x, "clamp_") < 0) return -1;
  const nl_tensor *ins[3] = {x, lo.kind == NL_ARG_TENSOR ? lo.t : NULL, hi.kind == NL_ARG_TENSOR ? hi.t : NULL};
  if (!nl_ag_any_requires_grad(3, ins)) return nl_clamp_(x, lo, hi);
  if (nl_ag_check_view(x, "clamp_") < 0) return -1;
  nl_tensor *c = nl_ag_clone(x);
  if (!c) return -1;
  nl_tensor *r = nl_ag_clamp(c, lo, hi, NULL);
  nl_tensor_free(c);
  if (!r) return -1;
  if (r->dtype != x->dtype || r->ndim != x->ndim) { nl_tensor_free(r); return nl_clamp_(x, lo, hi); }
  return nl_ag_rebase(x, r);
}

nl_tensor *nl_ag_lerp(const nl_tensor *start, const nl_tensor *end, nl_arg weight, nl_tensor *out) {
  const nl_tensor *ins[3] = {start, end, weight.kind == NL_ARG_TENSOR ? weight.t : NULL};
  bool rec = nl_ag_any_requires_grad(3, ins);
  if (rec && out) return nl_fail("lerp: functions with out= arguments don't support automatic differentiation");
  nl_tensor *r = nl_lerp(start, end, weight, out);
  if (!r || !rec) return r;
  nl_node *n = nl_new(&r, "LerpBackward", nl_d_lerp, 3, ins);
  if (!n) return NULL;
  n->dp[0] = weight.v;
  int s = nl_node_save(n, start, false);
  if (s == 0) s = nl_node_save(n, end, false);
  if (s == 0 && ins[2]) s = nl_node_save(n, ins[2], false);
  return nl_finish(r, n, s);
}

/* ---- copy_ / fill_ ------------------------------------------------------------------------ */
int nl_ag_copy_(nl_tensor *dst, const nl_tensor *src) {
  if (nl_ag_check_inplace(dst, "copy_") < 0) return -1;
  bool rec = nl_ag_any_requires_grad(1, &src) && nl_dtype_is_float(dst->dtype);
  if ((rec || (nl_grad_enabled() && dst->grad_fn)) && nl_ag_check_view(dst, "copy_") < 0) return -1;
  if (nl_copy_(dst, src) < 0) return -1;
  if (rec) {
    nl_node *n = nl_node_new("CopyBackwards", nl_d_identity, 1, &src);
    if (!n) return -1;
    nl_ag_set_history(dst, n);
  }
  return 0;
}

int nl_ag_fill_(nl_tensor *t, double v) {
  if (nl_ag_check_inplace(t, "fill_") < 0) return -1;
  if (nl_grad_enabled() && t->grad_fn && nl_ag_check_view(t, "fill_") < 0) return -1;
  if (nl_fill_(t, v) < 0) return -1;
  if (nl_grad_enabled() && t->grad_fn) { /* the old history gets no gradient */
    nl_node *n = nl_node_new("FillBackward", nl_d_identity, 0, NULL);
    if (!n) return -1;
    nl_ag_set_history(t, n);
  }
  return 0;
}

/* ---- memory ----------------------------------------------------------------------------- */
static nl_tensor *nl_ag_same(nl_tensor *r, const nl_tensor *t, const char *name) {
  if (!r || r == t || !nl_ag_any_requires_grad(1, &t) || !nl_float_out(r)) return r;
  nl_node *n = nl_new(&r, name, nl_d_identity, 1, &t);
  if (!n) return NULL;
  return nl_finish(r, n, 0);
}
nl_tensor *nl_ag_contiguous(nl_tensor *t) { return nl_ag_same(nl_contiguous(t), t, "CloneBackward"); }
nl_tensor *nl_ag_clone(const nl_tensor *t) { return nl_ag_same(nl_clone(t), t, "CloneBackward"); }
nl_tensor *nl_ag_to_dtype(nl_tensor *t, nl_dtype dt) { return nl_ag_same(nl_to_dtype(t, dt), t, "ToCopyBackward"); }

/* ---- reductions ------------------------------------------------------------------------- */
static uint32_t nl_full_mask(const nl_tensor *t, uint32_t m) {
  return m ? m : t->ndim ? (uint32_t)((1ull << t->ndim) - 1) : 0;
}

static nl_tensor *nl_ag_reduce_common(nl_tensor *r, nl_op op, const nl_tensor *t, uint32_t dimmask,
                                      bool keepdim, double param, bool std) {
  if (!r || !nl_ag_any_requires_grad(1, &t) || !nl_float_out(r) || !nl_bw_name(op)) return r;
  nl_node *n = nl_new(&r, std ? "StdBackward" : nl_bw_name(op), nl_d_reduce, 1, &t);
  if (!n) return NULL;
  n->ip[0] = op;
  n->ip[1] = (int)nl_full_mask(t, dimmask);
  n->ip[2] = keepdim || t->ndim == 0;
  n->ip[3] = std;
  n->dp[0] = param;
  int s = 0;
  if (op != NL_OP_SUM && op != NL_OP_MEAN) {
    s = nl_node_save(n, t, false);
    if (s == 0 && op != NL_OP_VAR) s = nl_node_save(n, r, true);
    if (s == 0 && std) s = nl_node_save(n, r, true);
  }
  return nl_finish(r, n, s);
}

nl_tensor *nl_ag_reduce(nl_op op, const nl_tensor *t, uint32_t m, bool keepdim, double param) {
  return nl_ag_reduce_common(nl_reduce(op, t, m, keepdim, param), op, t, m, keepdim, param, false);
}
nl_tensor *nl_ag_reduce_dtype(nl_op op, const nl_tensor *t, uint32_t m, bool keepdim, double param, int dtype) {
  if (dtype >= 0 && dtype != (int)t->dtype && nl_ag_any_requires_grad(1, &t)) {
    nl_tensor *c = nl_ag_to_dtype((nl_tensor *)t, (nl_dtype)dtype);
    if (!c) return NULL;
    nl_tensor *r = nl_ag_reduce(op, c, m, keepdim, param);
    nl_tensor_free(c);
    return r;
  }
  return nl_ag_reduce_common(nl_reduce_dtype(op, t, m, keepdim, param, dtype), op, t, m, keepdim, param, false);
}
nl_tensor *nl_ag_std(const nl_tensor *t, uint32_t m, bool keepdim, double correction) {
  return nl_ag_reduce_common(nl_std(t, m, keepdim, correction), NL_OP_VAR, t, m, keepdim, correction, true);
}

int nl_ag_minmax_dim(const nl_tensor *t, int dim, bool keepdim, bool is_min, nl_tensor **values, nl_tensor **indices) {
  if (nl_minmax_dim(t, dim, keepdim, is_min, values, indices) < 0) return -1;
  if (!nl_ag_any_requires_grad(1, &t) || !nl_float_out(*values)) return 0;
  nl_node *n = nl_node_new(is_min ? "MinBackward" : "MaxBackward", nl_d_minmax_dim, 1, &t);
  /* a private copy: the Lua binding rewrites the returned indices to 1-based in place */
  nl_tensor *ic = n ? nl_clone(*indices) : NULL;
  nl_tensor *ik = !ic ? NULL : keepdim || t->ndim == 0 ? (nl_tensor_retain(ic), ic) : nl_unsqueeze(ic, dim);
  nl_tensor_free(ic);
  if (!ik) {
    nl_node_release(n);
    nl_tensor_free(*values);
    nl_tensor_free(*indices);
    return -1;
  }
  n->ip[0] = NL_VK_GATHER;
  n->ip[1] = dim;
  n->ip[2] = keepdim || t->ndim == 0;
  int s = nl_node_save(n, ik, false);
  nl_tensor_free(ik);
  if (!(*values = nl_finish(*values, n, s))) { nl_tensor_free(*indices); return -1; }
  return 0;
}

nl_tensor *nl_ag_cumsum(const nl_tensor *t, int dim, int dtype) {
  nl_tensor *r = nl_cumsum(t, dim, dtype);
  if (!r || !nl_ag_any_requires_grad(1, &t) || !nl_float_out(r)) return r;
  nl_node *n = nl_new(&r, "CumsumBackward", nl_d_cumsum, 1, &t);
  if (!n) return NULL;
  n->ip[0] = dim;
  return nl_finish(r, n, 0);
}

nl_tensor *nl_ag_cumprod(const nl_tensor *t, int dim, int dtype) {
  nl_tensor *r = nl_cumprod(t, dim, dtype);
  if (!r || !nl_ag_any_requires_grad(1, &t) || !nl_float_out(r)) return r;
  nl_node *n = nl_new(&r, "CumprodBackward", nl_d_cumprod, 1, &t);
  if (!n) return NULL;
  n->ip[0] = dim;
  int s = nl_node_save(n, t, false);
  if (s == 0) s = nl_node_save(n, r, true);
  return nl_finish(r, n, s);
}

nl_tensor *nl_ag_softmax(const nl_tensor *t, int dim, bool log_) {
  nl_tensor *r = nl_softmax(t, dim, log_);
  if (!r || !nl_ag_any_requires_grad(1, &t)) return r;
  nl_node *n = nl_new(&r, log_ ? "LogSoftmaxBackward" : "SoftmaxBackward", nl_d_softmax, 1, &t);
  if (!n) return NULL;
  n->ip[0] = dim;
  n->ip[1] = log_;
  return nl_finish(r, n, nl_node_save(n, r, true));
}
