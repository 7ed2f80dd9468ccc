/* derivatives.c: every backward formula, one small function per op (or op group), written
 * with the differentiable front ends (nl_ag_*) so they run on any device and, under
 * create_graph, record a graph of their own (higher-order gradients). `g` is the gradient of
 * the node's output; gi[i] receives the gradient of input i when nl_ag_need(n, i). The
 * engine undoes broadcasting (nl_sum_to) and dtype promotion afterwards, so formulas may
 * return gradients of the broadcast shape. Node parameters are documented per formula. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ag_internal.h"
#include "../nn/nl_nn.h"

/* ---- small differentiable helpers -------------------------------------------------------- */
static nl_tensor *mulS(const nl_tensor *a, double v) { return nl_ag_binary_ex(NL_OP_MUL, nl_arg_tensor(a), nl_arg_float(v), 1, NULL); }
static nl_tensor *addS(const nl_tensor *a, double v) { return nl_ag_binary_ex(NL_OP_ADD, nl_arg_tensor(a), nl_arg_float(v), 1, NULL); }
static nl_tensor *rsubS(double v, const nl_tensor *a) { return nl_ag_binary_ex(NL_OP_SUB, nl_arg_float(v), nl_arg_tensor(a), 1, NULL); }
static nl_tensor *powS(const nl_tensor *a, double e) { return nl_ag_binary_ex(NL_OP_POW, nl_arg_tensor(a), nl_arg_float(e), 1, NULL); }
static nl_tensor *mulT(const nl_tensor *a, const nl_tensor *b) { return nl_ag_binary(NL_OP_MUL, a, b, 1); }
static nl_tensor *divT(const nl_tensor *a, const nl_tensor *b) { return nl_ag_binary(NL_OP_DIV, a, b, 1); }
static nl_tensor *subT(const nl_tensor *a, const nl_tensor *b) { return nl_ag_binary(NL_OP_SUB, a, b, 1); }
/* where(cond, g, 0) */
static nl_tensor *maskG(const nl_tensor *cond, const nl_tensor *g) { return nl_ag_where(cond, nl_arg_tensor(g), nl_arg_float(0)); }
/* cond as 0/1 of g's dtype (not differentiable) */
static nl_tensor *as_float(const nl_tensor *cond, nl_dtype dt) { return nl_to_dtype((nl_tensor *)cond, dt); }

/* true when t holds a zero (not differentiable; a device sync) */
static int has_zero(const nl_tensor *t) {
  nl_tensor *e = nl_binary_scalar(NL_OP_EQ, t, 0, false, false);
  nl_tensor *a = e ? nl_reduce(NL_OP_ANY, e, 0, false, 0) : NULL;
  nl_tensor *c = a ? nl_to_device(a, nl_cpu()) : NULL;
  nl_tensor_free(e);
  nl_tensor_free(a);
  if (!c) return -1;
  int r = nl_get_flat(c, 0) != 0;
  nl_tensor_free(c);
  return r;
}

/* exclusive cumulative product along d: out_i = prod_{k<i} x_k (reverse: prod_{k>i} x_k);
 * no division, so zeros are fine (PyTorch's prod_safe_zeros_backward) */
static nl_tensor *excl_cumprod(nl_tensor *x, int d, bool reverse) {
  nl_tmp tmp = {0};
  nl_tensor *r = NULL;
  int64_t n = x->shape[d], os[NL_MAXDIM];
  memcpy(os, x->shape, sizeof os);
  os[d] = 1;
  nl_tensor *ones = K(nl_full(x->ndim, os, 1, x->dtype, nl_device_of(x)));
  nl_tensor *src = reverse ? K(nl_ag_flip(x, 1, &d)) : x;
  nl_tensor *parts[2] = {ones, K(nl_ag_narrow(src, d, 0, n > 0 ? n - 1 : 0))};
  nl_tensor *c = K(nl_ag_cumprod(K(nl_ag_cat(2, parts, d)), d, -1));
  r = reverse ? nl_ag_flip(c, 1, &d) : nl_ref(c);
fail:
  nl_tmp_free(&tmp);
  return r;
}

/* prod_{k != i} x_k over the dims of mask (moved last and flattened), in x's shape */
static nl_tensor *prod_others(nl_tensor *x, uint32_t mask) {
  nl_tmp tmp = {0};
  nl_tensor *r = NULL;
  int nd = x->ndim, perm[NL_MAXDIM], inv[NL_MAXDIM], kept = 0, k = 0;
  int64_t sizes[NL_MAXDIM];
  for (int d = 0; d < nd; d++)
    if (!(mask & (1u << d))) perm[k++] = d;
  kept = k;
  for (int d = 0; d < nd; d++)
    if (mask & (1u << d)) { sizes[k - kept] = x->shape[d]; perm[k++] = d; }
  for (int i = 0; i < nd; i++) inv[perm[i]] = i;
  nl_tensor *xf = K(nl_ag_flatten(K(nl_ag_permute(x, perm)), kept, nd - 1));
  nl_tensor *e = K(mulT(K(excl_cumprod(xf, kept, false)), K(excl_cumprod(xf, kept, true))));
  r = nl_ag_permute(K(nl_ag_unflatten(e, kept, nd - kept, sizes)), inv);
fail:
  nl_tmp_free(&tmp);
  return r;
}

/* ---- elementwise ------------------------------------------------------------------------ */
/* ip[0] = op; saved[0] = the input (log log1p sin cos abs) or the output (the others) */
int nl_d_unary(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *s = n->n_saved ? nl_saved_get(n, 0) : NULL, *r = NULL;
  switch ((nl_op)n->ip[0]) {
  case NL_OP_NEG: r = mulS(g, -1); break;
  case NL_OP_EXP: r = mulT(g, s); break;
  case NL_OP_LOG: r = divT(g, s); break;
  case NL_OP_LOG1P: r = divT(g, K(addS(s, 1))); break;
  case NL_OP_EXPM1: r = mulT(g, K(addS(s, 1))); break;
  case NL_OP_SQRT: r = divT(g, K(mulS(s, 2))); break;
  case NL_OP_RSQRT: r = mulT(g, K(mulS(K(powS(s, 3)), -0.5))); break;
  case NL_OP_SIN: r = mulT(g, K(nl_ag_unary(NL_OP_COS, s))); break;
  case NL_OP_COS: r = mulT(g, K(mulS(K(nl_ag_unary(NL_OP_SIN, s)), -1))); break;
  case NL_OP_TAN: r = mulT(g, K(addS(K(mulT(s, s)), 1))); break;
  case NL_OP_TANH: r = mulT(g, K(rsubS(1, K(mulT(s, s))))); break;
  /* sigmoid, relu: one fused CPU pass unless create_graph records the backward */
  case NL_OP_SIGMOID:
    if (!nl_grad_enabled() && (r = nl_sigmoid_backward_out(g, s))) break;
    r = mulT(g, K(mulT(s, K(rsubS(1, s)))));
    break;
  case NL_OP_RELU:
    if (!nl_grad_enabled() && (r = nl_relu_backward_out(g, s))) break;
    r = maskG(K(nl_binary_scalar(NL_OP_GT, s, 0, false, false)), g);
    break;
  case NL_OP_ABS: r = mulT(g, K(nl_unary(NL_OP_SIGN, s))); break;
  default: nl_fail("autograd: no derivative for %s", n->name); break;
  }
  if (!r) goto fail;
  gi[0] = r;
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* ip[0] = op, dp[0] = alpha; ip[1] = 1 when a is a number, 2 when b is (dp[1] = it);
 * ip[2], ip[3] = saved slots of a and b (-1: not saved) */
int nl_d_binary(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_op op = (nl_op)n->ip[0];
  double alpha = n->dp[0], v = n->dp[1];
  nl_tensor *a = n->ip[2] >= 0 ? nl_saved_get(n, n->ip[2]) : NULL;
  nl_tensor *b = n->ip[3] >= 0 ? nl_saved_get(n, n->ip[3]) : NULL;
  bool na = nl_ag_need(n, 0), nb = nl_ag_need(n, 1);
  switch (op) {
  case NL_OP_ADD:
    if (na) gi[0] = nl_ref(g);
    if (nb) OUT(1, alpha == 1 ? nl_ref(g) : mulS(g, alpha));
    break;
  case NL_OP_SUB:
    if (na) gi[0] = nl_ref(g);
    if (nb) OUT(1, mulS(g, -alpha));
    break;
  case NL_OP_MUL:
    if (na) OUT(0, b ? mulT(g, b) : mulS(g, v));
    if (nb) OUT(1, a ? mulT(g, a) : mulS(g, v));
    break;
  case NL_OP_DIV:
    if (na) OUT(0, b ? divT(g, b) : mulS(g, 1 / v));
    if (nb) { /* -g * a / b^2 */
      nl_tensor *q = K(divT(g, K(mulT(b, b))));
      OUT(1, a ? mulT(K(mulS(q, -1)), a) : mulS(q, -v));
    }
    break;
  case NL_OP_POW:
    if (na) {
      if (b) { /* g * b * a^(b-1) */
        nl_tensor *p = K(nl_ag_binary(NL_OP_POW, a, K(addS(b, -1)), 1));
        OUT(0, mulT(K(mulT(g, b)), p));
      } else if (v == 0) {
        OUT(0, mulS(g, 0));
      } else {
        OUT(0, mulT(g, K(mulS(K(powS(a, v - 1)), v))));
      }
    }
    if (nb) { /* g * a^b * log(a), 0 where a == 0 and b >= 0 */
      if (a) {
        nl_tensor *p = K(nl_ag_binary(NL_OP_POW, a, b, 1));
        nl_tensor *t = K(mulT(K(mulT(g, p)), K(nl_ag_unary(NL_OP_LOG, a))));
        nl_tensor *z = K(nl_logical_and(K(nl_binary_scalar(NL_OP_EQ, a, 0, false, false)),
                                        K(nl_binary_scalar(NL_OP_GE, b, 0, false, false))));
        OUT(1, nl_ag_where(z, nl_arg_float(0), nl_arg_tensor(t)));
      } else {
        nl_tensor *p = K(nl_ag_binary_ex(NL_OP_POW, nl_arg_float(v), nl_arg_tensor(b), 1, NULL));
        OUT(1, v == 0 ? mulS(g, 0) : mulT(g, K(mulS(p, log(v)))));
      }
    }
    break;
  case NL_OP_MAXIMUM:
  case NL_OP_MINIMUM: { /* the larger (smaller) side gets g; ties split it evenly */
    nl_tensor *win = K(nl_binary(op == NL_OP_MAXIMUM ? NL_OP_GT : NL_OP_LT, a, b, 1));
    nl_tensor *tie = K(nl_binary(NL_OP_EQ, a, b, 1));
    nl_tensor *wa = K(nl_add(K(as_float(win, g->dtype)), K(as_float(tie, g->dtype)), 0.5));
    if (na) OUT(0, mulT(g, wa));
    if (nb) OUT(1, mulT(g, K(rsubS(1, wa))));
    break;
  }
  default: nl_fail("autograd: no derivative for %s", n->name); goto fail;
  }
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* inputs (cond, a, b); saved[0] = cond */
int nl_d_where(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tensor *c = nl_saved_get(n, 0);
  if (nl_ag_need(n, 1) && !(gi[1] = nl_ag_where(c, nl_arg_tensor(g), nl_arg_float(0)))) return -1;
  if (nl_ag_need(n, 2) && !(gi[2] = nl_ag_where(c, nl_arg_float(0), nl_arg_tensor(g)))) return -1;
  return 0;
}

/* inputs (x, lo, hi); saved[0] = x, saved[1] = lo tensor, saved[2] = hi tensor (when
 * tensors); ip[0] = lo kind (0 none, 1 number dp[0], 2 tensor), ip[1] = hi kind (dp[1]) */
int nl_d_clamp(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *x = nl_saved_get(n, 0), *lo = NULL, *hi = NULL;
  int k = 1;
  if (n->ip[0] == 2) lo = nl_saved_get(n, k++);
  if (n->ip[1] == 2) hi = nl_saved_get(n, k++);
  nl_tensor *ok = NULL; /* lo <= x <= hi */
  if (n->ip[0]) {
    nl_tensor *c = K(lo ? nl_binary(NL_OP_GE, x, lo, 1) : nl_binary_scalar(NL_OP_GE, x, n->dp[0], false, false));
    ok = c;
    if (nl_ag_need(n, 1)) OUT(1, maskG(K(nl_logical_not(c)), g));
  }
  if (n->ip[1]) {
    nl_tensor *c = K(hi ? nl_binary(NL_OP_LE, x, hi, 1) : nl_binary_scalar(NL_OP_LE, x, n->dp[1], false, false));
    if (nl_ag_need(n, 2)) OUT(2, maskG(K(nl_logical_not(c)), g));
    ok = ok ? K(nl_logical_and(ok, c)) : c;
  }
  if (nl_ag_need(n, 0)) OUT(0, maskG(ok, g));
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* inputs (start, end, weight); saved start, end, weight (tensor) or dp[0] = weight */
int nl_d_lerp(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *s = nl_saved_get(n, 0), *e = nl_saved_get(n, 1), *w = n->n_saved > 2 ? nl_saved_get(n, 2) : NULL;
  if (nl_ag_need(n, 0)) OUT(0, w ? mulT(g, K(rsubS(1, w))) : mulS(g, 1 - n->dp[0]));
  if (nl_ag_need(n, 1)) OUT(1, w ? mulT(g, w) : mulS(g, n->dp[0]));
  if (nl_ag_need(n, 2)) OUT(2, mulT(g, K(subT(e, s))));
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* every input gets g (clone, contiguous, expand, to_dtype: the engine reduces and casts) */
int nl_d_identity(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  for (int i = 0; i < n->n_next; i++)
    if (nl_ag_need(n, i)) gi[i] = nl_ref(g);
  return 0;
}

/* ---- reductions ------------------------------------------------------------------------- */
/* g of a reduction (dimmask, keepdim) back to the input's shape: unsqueeze, then expand. */
static nl_tensor *nl_expand_back(nl_node *n, nl_tensor *g, uint32_t mask, bool keepdim) {
  int nd = n->in_ndim[0];
  nl_tensor *t = g;
  nl_tensor_retain(t);
  if (!keepdim && nd > 0) {
    for (int d = 0; d < nd; d++)
      if (mask & (1u << d)) {
        nl_tensor *u = nl_ag_unsqueeze(t, d);
        nl_tensor_free(t);
        if (!u) return NULL;
        t = u;
      }
  }
  nl_tensor *e = nl_ag_expand(t, nd, n->in_shape[0]);
  nl_tensor_free(t);
  return e;
}

static int64_t nl_count(nl_node *n, uint32_t mask) {
  int64_t c = 1;
  for (int d = 0; d < n->in_ndim[0]; d++)
    if (mask & (1u << d)) c *= n->in_shape[0][d];
  return c;
}

/* ip[0] = op (NL_OP_VAR with ip[3] = 1: std), ip[1] = dimmask (resolved: 0 only for 0-d
 * inputs), ip[2] = keepdim, dp[0] = param; saved[0] = input, saved[1] = output (when used) */
int nl_d_reduce(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  uint32_t mask = (uint32_t)n->ip[1];
  bool keep = n->ip[2];
  nl_tensor *ge = K(nl_expand_back(n, g, mask, keep));
  nl_tensor *x = n->n_saved > 0 ? nl_saved_get(n, 0) : NULL, *y = n->n_saved > 1 ? nl_saved_get(n, 1) : NULL;
  double N = (double)nl_count(n, mask), p = n->dp[0];
  nl_tensor *ye = y ? K(nl_expand_back(n, y, mask, keep)) : NULL;
  switch ((nl_op)n->ip[0]) {
  case NL_OP_SUM: OUT(0, nl_ref(ge)); break;
  case NL_OP_MEAN: OUT(0, mulS(ge, 1 / N)); break;
  case NL_OP_PROD: {
    int z = x->ndim ? has_zero(x) : 0;
    if (z < 0) goto fail;
    if (!z) OUT(0, divT(K(mulT(ge, ye)), x));
    else OUT(0, mulT(ge, K(prod_others(x, mask))));
    break;
  }
  case NL_OP_VAR: {
    nl_tensor *m = K(nl_ag_reduce(NL_OP_MEAN, x, mask, true, 0));
    nl_tensor *dx = K(subT(x, m));
    if (n->ip[3]) OUT(0, divT(K(mulT(ge, dx)), K(mulS(ye, N - p))));
    else OUT(0, mulT(ge, K(mulS(dx, 2 / (N - p)))));
    break;
  }
  case NL_OP_NORM: {
    nl_tensor *sg = K(nl_unary(NL_OP_SIGN, x));
    if (p == 1) OUT(0, mulT(ge, sg));
    else if (isinf(p)) {
      nl_tensor *ax = K(nl_ag_unary(NL_OP_ABS, x));
      nl_tensor *hit = K(as_float(K(nl_binary(NL_OP_EQ, ax, ye, 1)), x->dtype));
      nl_tensor *cnt = K(nl_expand_back(n, K(nl_reduce(NL_OP_SUM, hit, mask, keep, 0)), mask, keep));
      OUT(0, mulT(K(mulT(ge, sg)), K(divT(hit, cnt))));
    } else if (p == 2) {
      nl_tensor *q = K(divT(x, ye));
      nl_tensor *z = K(nl_binary_scalar(NL_OP_EQ, ye, 0, false, false));
      OUT(0, mulT(ge, K(nl_ag_where(z, nl_arg_float(0), nl_arg_tensor(q)))));
    } else { /* x |x|^(p-2) / y^(p-1) */
      nl_tensor *ax = K(nl_ag_unary(NL_OP_ABS, x));
      nl_tensor *num = K(mulT(x, K(powS(ax, p - 2))));
      OUT(0, mulT(ge, K(divT(num, K(powS(ye, p - 1))))));
    }
    break;
  }
  case NL_OP_LOGSUMEXP: OUT(0, mulT(ge, K(nl_ag_unary(NL_OP_EXP, K(subT(x, ye)))))); break;
  case NL_OP_AMAX:
  case NL_OP_AMIN: { /* evenly between the extremes */
    nl_tensor *hit = K(as_float(K(nl_binary(NL_OP_EQ, x, ye, 1)), g->dtype));
    nl_tensor *cnt = K(nl_expand_back(n, K(nl_reduce(NL_OP_SUM, hit, mask, keep, 0)), mask, keep));
    OUT(0, mulT(ge, K(divT(hit, cnt))));
    break;
  }
  default: nl_fail("autograd: no derivative for %s", n->name); goto fail;
  }
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* max(dim) / min(dim) values: ip[0] = NL_VK_GATHER, ip[1] = dim, ip[2] = keepdim;
 * saved[0] = the indices with the dim kept */
int nl_d_minmax_dim(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tensor *gk = n->ip[2] ? nl_ref(g) : nl_ag_unsqueeze(g, n->ip[1]);
  if (!gk) return -1;
  gi[0] = nl_ag_embed(gk, n, n->in_ndim[0], n->in_shape[0], g->dtype);
  nl_tensor_free(gk);
  return gi[0] ? 0 : -1;
}

/* ip[0] = dim: reversed cumulative sum of g */
int nl_d_cumsum(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  int d = n->ip[0];
  if (g->ndim == 0) { gi[0] = nl_ref(g); return 0; }
  nl_tensor *c = K(nl_ag_cumsum(K(nl_ag_flip(g, 1, &d)), d, -1));
  OUT(0, nl_ag_flip(c, 1, &d));
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* ip[0] = dim; saved input, output: sum_{j >= i} g_j y_j / x_i when x has no zeros; else
 * E_i * T_i with E the exclusive cumprod and T_i = g_i + x_{i+1} T_{i+1} (no division) */
int nl_d_cumprod(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  int d = n->ip[0];
  nl_tensor *x = nl_saved_get(n, 0), *y = nl_saved_get(n, 1);
  if (g->ndim == 0) { gi[0] = nl_ref(g); return 0; }
  int z = has_zero(x);
  if (z < 0) return -1;
  if (z) {
    int64_t len = x->shape[d];
    nl_tensor **T = calloc((size_t)len, sizeof *T);
    if (!T) return nl_failc("out of memory");
    int rc = -1;
    nl_tensor *xs = NULL;
    if (!(T[len - 1] = nl_ag_select(g, d, len - 1))) goto zfail;
    for (int64_t i = len - 2; i >= 0; i--) {
      nl_tensor *gi_ = nl_ag_select(g, d, i);
      xs = gi_ ? nl_ag_select(x, d, i + 1) : NULL;
      nl_tensor *m = xs ? mulT(xs, T[i + 1]) : NULL;
      T[i] = m ? nl_ag_add(gi_, m) : NULL;
      nl_tensor_free(gi_); nl_tensor_free(xs); nl_tensor_free(m);
      xs = NULL;
      if (!T[i]) goto zfail;
    }
    nl_tensor *st = nl_ag_stack((int)len, T, d);
    nl_tensor *e = st ? excl_cumprod(x, d, false) : NULL;
    if (e) { gi[0] = mulT(e, st); rc = gi[0] ? 0 : -1; }
    nl_tensor_free(st);
    nl_tensor_free(e);
  zfail:
    for (int64_t i = 0; i < len; i++) nl_tensor_free(T[i]);
    free(T);
    return rc;
  }
  nl_tensor *c = K(nl_ag_cumsum(K(nl_ag_flip(K(mulT(g, y)), 1, &d)), d, -1));
  OUT(0, divT(K(nl_ag_flip(c, 1, &d)), x));
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* ip[0] = dim, ip[1] = log; saved[0] = the output y */
int nl_d_softmax(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *y = nl_saved_get(n, 0);
  uint32_t m = y->ndim ? 1u << n->ip[0] : 0;
  if (y->ndim == 0) { OUT(0, mulS(g, n->ip[1] ? 1 : 0)); nl_tmp_free(&tmp); return 0; }
  if (n->ip[1]) { /* g - exp(y) * sum(g) */
    nl_tensor *s = K(nl_ag_reduce(NL_OP_SUM, g, m, true, 0));
    OUT(0, subT(g, K(mulT(K(nl_ag_unary(NL_OP_EXP, y)), s))));
  } else { /* y * (g - sum(g * y)) */
    nl_tensor *s = K(nl_ag_reduce(NL_OP_SUM, K(mulT(g, y)), m, true, 0));
    OUT(0, mulT(y, K(subT(g, s))));
  }
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* ---- shape ----------------------------------------------------------------------------- */
/* view reshape flatten unflatten squeeze unsqueeze: g back to the input's shape */
int nl_d_reshape(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  return (gi[0] = nl_ag_reshape(g, n->in_ndim[0], n->in_shape[0])) ? 0 : -1;
}

/* ip[0..ndim-1] = the permutation applied by the forward (transpose, permute, t, T) */
int nl_d_permute(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  int inv[NL_MAXDIM];
  for (int i = 0; i < g->ndim; i++) inv[n->ip[i]] = i;
  return (gi[0] = nl_ag_permute(g, inv)) ? 0 : -1;
}

/* narrow select slice index_select gather: g written into zeros of the input's shape */
int nl_d_embed(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  return (gi[0] = nl_ag_embed(g, n, n->in_ndim[0], n->in_shape[0], g->dtype)) ? 0 : -1;
}

/* the backward of embed: the view again */
int nl_d_unembed(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  return (gi[0] = nl_ag_apply_view(g, n)) ? 0 : -1;
}

/* ip[0] = count, ip[1..] = dims */
int nl_d_flip(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  return (gi[0] = nl_ag_flip(g, n->ip[0], n->ip + 1)) ? 0 : -1;
}

/* ip[0] = number of reps, sp = reps: sums the copies dim by dim */
int nl_d_tile(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tensor *t = nl_ref(g);
  int D = g->ndim, nr = n->ip[0];
  for (int d = 0; d < D; d++) {
    int64_t r = d - (D - nr) >= 0 ? n->sp[d - (D - nr)] : 1;
    if (r == 1) continue;
    int64_t shp[NL_MAXDIM + 1];
    int k = 0;
    for (int j = 0; j < D; j++) {
      if (j == d) { shp[k++] = r; shp[k++] = t->shape[j] / r; }
      else shp[k++] = t->shape[j];
    }
    if (k > NL_MAXDIM) { nl_tensor_free(t); return nl_failc("tile: backward supports at most %d dims", NL_MAXDIM - 1); }
    nl_tensor *v = nl_ag_reshape(t, k, shp);
    nl_tensor_free(t);
    if (!v) return -1;
    t = nl_ag_reduce(NL_OP_SUM, v, 1u << d, false, 0);
    nl_tensor_free(v);
    if (!t) return -1;
  }
  gi[0] = nl_ag_reshape(t, n->in_ndim[0], n->in_shape[0]);
  nl_tensor_free(t);
  return gi[0] ? 0 : -1;
}

/* ip[0] = dim: each input gets its slice of g */
int nl_d_cat(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  int d = n->ip[0];
  int64_t off = 0;
  for (int i = 0; i < n->n_next; i++) {
    if (n->in_ndim[i] == 1 && n->in_shape[i][0] == 0 && g->ndim != 1) continue; /* skipped by cat */
    int64_t len = n->in_shape[i][d];
    if (nl_ag_need(n, i) && !(gi[i] = nl_ag_narrow(g, d, off, len))) return -1;
    off += len;
  }
  return 0;
}

/* ip[0] = dim */
int nl_d_stack(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  for (int i = 0; i < n->n_next; i++)
    if (nl_ag_need(n, i) && !(gi[i] = nl_ag_select(g, n->ip[0], i))) return -1;
  return 0;
}

/* inputs (self, src); ip[0] = dim, ip[1] = 1 for scatter_add; saved[0] = idx */
int nl_d_scatter(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tensor *idx = nl_saved_get(n, 0);
  if (nl_ag_need(n, 0) && !(gi[0] = n->ip[1] ? nl_ref(g) : nl_ag_scatter(g, n->ip[0], idx, NULL, 0))) return -1;
  if (nl_ag_need(n, 1) && !(gi[1] = nl_ag_gather(g, n->ip[0], idx))) return -1;
  return 0;
}

/* saved[0] = mask */
int nl_d_masked_fill(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  return (gi[0] = nl_ag_masked_fill(g, nl_saved_get(n, 0), 0)) ? 0 : -1;
}

/* ---- linalg ---------------------------------------------------------------------------- */
static nl_tensor *mT(nl_tensor *t) { return nl_ag_transpose(t, t->ndim - 2, t->ndim - 1); }

/* A 2-D tensor that is the transpose of a contiguous one (strides {1, rows}), e.g.
 * nn.Linear's weight:t(). */
static bool nl_is_transposed2(const nl_tensor *t) {
  return t->ndim == 2 && t->shape[0] > 1 && t->shape[1] > 1 && t->stride[0] == 1 && t->stride[1] == t->shape[0];
}

/* The gradient x @ y ([M, K] @ [K, N]) of an input shaped like `like`: computed as
 * (y^T @ x^T)^T when like is a transposed view, so the product lands in like's own memory
 * order (the gradient of weight:t() then reaches weight.grad contiguous, and accumulating
 * it is a dense pass, not a strided transpose: ~10x cheaper at 512 x 784). The two orders
 * are the same sums (the GEMM may block them differently: float rounding only). */
static nl_tensor *nl_mm_like(nl_tensor *x, nl_tensor *y, const nl_tensor *like) {
  if (!nl_is_transposed2(like)) return nl_ag_mm(x, y);
  nl_tensor *xt = mT(x);
  if (!xt) return NULL;
  nl_tensor *yt = mT(y);
  if (!yt) { nl_tensor_free(xt); return NULL; }
  nl_tensor *p = nl_ag_mm(yt, xt); /* [N, M] */
  nl_tensor_free(xt);
  nl_tensor_free(yt);
  if (!p) return NULL;
  nl_tensor *r = mT(p);
  nl_tensor_free(p);
  return r;
}

/* matmul mm bmm mv dot: saved a, b (PyTorch's matmul rules; the engine sums broadcast
 * batch dims) */
int nl_d_matmul(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *a = nl_saved_get(n, 0), *b = nl_saved_get(n, 1);
  bool na = nl_ag_need(n, 0), nb = nl_ag_need(n, 1);
  if (a->ndim == 1 && b->ndim == 1) {
    if (na) OUT(0, mulT(g, b));
    if (nb) OUT(1, mulT(g, a));
  } else if (b->ndim == 1) { /* [..., M, K] @ [K] -> [..., M] */
    nl_tensor *gu = K(nl_ag_unsqueeze(g, g->ndim)); /* [..., M, 1] */
    if (na) OUT(0, mulT(gu, b));                    /* [..., M, K] */
    if (nb) OUT(1, nl_ag_squeeze(K(nl_ag_matmul(K(mT(a)), gu)), a->ndim - 1)); /* [..., K] */
  } else if (a->ndim == 1) { /* [K] @ [..., K, N] -> [..., N] */
    nl_tensor *gu = K(nl_ag_unsqueeze(g, g->ndim - 1)); /* [..., 1, N] */
    if (na) OUT(0, nl_ag_squeeze(K(nl_ag_matmul(gu, K(mT(b)))), gu->ndim - 2)); /* [..., K] */
    if (nb) OUT(1, mulT(K(nl_ag_unsqueeze(a, 1)), gu)); /* [..., K, N] */
  } else if (a->ndim == 2 && b->ndim == 2) {
    if (na) OUT(0, nl_mm_like(g, K(mT(b)), a));
    if (nb) OUT(1, nl_mm_like(K(mT(a)), g, b));
  } else {
    if (na) OUT(0, nl_ag_matmul(g, K(mT(b))));
    if (nb) OUT(1, nl_ag_matmul(K(mT(a)), g));
  }
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* inputs (input, m1, m2); saved m1, m2; dp[0] = beta, dp[1] = alpha */
int nl_d_addmm(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *m1 = nl_saved_get(n, 0), *m2 = nl_saved_get(n, 1);
  double beta = n->dp[0], alpha = n->dp[1];
  if (nl_ag_need(n, 0)) OUT(0, beta == 1 ? nl_ref(g) : mulS(g, beta));
  /* alpha == 1 (nn.Linear): the product itself, no extra pass over it */
  if (nl_ag_need(n, 1)) OUT(1, alpha == 1 ? nl_mm_like(g, K(mT(m2)), m1) : mulS(K(nl_mm_like(g, K(mT(m2)), m1)), alpha));
  if (nl_ag_need(n, 2)) OUT(2, alpha == 1 ? nl_mm_like(K(mT(m1)), g, m2) : mulS(K(nl_mm_like(K(mT(m1)), g, m2)), alpha));
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}

/* saved a [M], b [N]; g [M, N] */
int nl_d_outer(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *a = nl_saved_get(n, 0), *b = nl_saved_get(n, 1);
  if (nl_ag_need(n, 0)) OUT(0, nl_ag_mv(g, K(nl_ag_to_dtype(b, g->dtype))));
  if (nl_ag_need(n, 1)) OUT(1, nl_ag_mv(K(mT(g)), K(nl_ag_to_dtype(a, g->dtype))));
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return -1;
}
