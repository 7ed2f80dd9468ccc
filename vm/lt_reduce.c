/* lt_reduce.c: Lua bindings of the reduce family (see ltensor.h for the conventions):
 * sum mean prod std var norm logsumexp amax amin all any max min argmax argmin cumsum cumprod
 * softmax log_softmax, each as torch.op(t, ...) and t:op(...).
 *
 * Argument forms (PyTorch's positional order, or a trailing options table):
 *   t:sum()  t:sum(2)  t:sum({1, 3})  t:sum(2, true)  t:sum{dim=2, keepdim=true, dtype="float64"}
 *   t:var(false)  t:var(2, false, true)  t:std{dim=1, correction=0}
 *   t:norm()  t:norm(1, 2)  t:norm("fro")  t:norm{p=math.huge, dim=1}
 *   t:max() -> 0-d   t:max(2) -> values, indices (1-based)   t:max(other) -> maximum(t, other)
 *   t:argmax(2, true)  t:cumsum(2, {dtype=})  t:softmax(-1)  t:log_softmax{dim=2} */
#include <math.h>
#include <string.h>

#include "ltensor.h"

#include "../tensor/nl_ops.h"
#include "../autograd/nl_ag_ops.h"

/* A dim argument (number, list of numbers, or nil) at stack index idx -> mask (0 = all). */
static uint32_t nl_l_dims(lua_State *L, const char *op, int idx, const nl_tensor *t) {
  int type = lua_type(L, idx);
  if (type == LUA_TNIL || type == LUA_TNONE) return 0;
  if (type == LUA_TNUMBER) {
    int ok;
    lua_Integer d = lua_tointegerx(L, idx, &ok);
    if (!ok) luaL_error(L, "%s: dim must be an integer (got %s)", op, lua_tostring(L, idx));
    return 1u << nl_lua_dim(L, op, d, t->ndim, 0);
  }
  if (type != LUA_TTABLE || nl_lua_to(L, idx))
    luaL_error(L, "%s: dim must be a number or a list of numbers (got %s)", op, luaL_typename(L, idx));
  uint32_t mask = 0;
  lua_Integer n = luaL_len(L, idx);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, idx, i);
    int ok;
    lua_Integer d = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "%s: dim list entry %d is not an integer", op, (int)i);
    lua_pop(L, 1);
    int c = nl_lua_dim(L, op, d, t->ndim, 0);
    if (mask >> c & 1) luaL_error(L, "%s: dim %d appears multiple times in the list of dims", op, (int)d);
    mask |= 1u << c;
  }
  return mask;
}

/* Reads option field into a fresh stack slot and returns its index (nil when absent). */
static int nl_l_field(lua_State *L, int opts, const char *field) {
  if (opts) lua_getfield(L, opts, field);
  else lua_pushnil(L);
  return lua_gettop(L);
}

/* Positional argument i (index into the stack) unless it is the options table. */
static int nl_l_pos(lua_State *L, int opts, int i) {
  return (i <= lua_gettop(L) && i != opts) ? i : 0;
}

static bool nl_l_bool(lua_State *L, int idx, bool def) {
  if (!idx || lua_isnoneornil(L, idx)) return def;
  if (!lua_isboolean(L, idx)) luaL_error(L, "bad argument #%d (boolean expected, got %s)", idx, luaL_typename(L, idx));
  return lua_toboolean(L, idx);
}

/* dim from positional idx (if any) or opts.dim */
static int nl_l_dimarg(lua_State *L, int opts, int pos) {
  if (pos && !lua_isnoneornil(L, pos)) return pos;
  return nl_l_field(L, opts, "dim");
}

/* Common form: (t, dim?, keepdim?, {dim=, keepdim=, dtype=}) */
static int nl_l_reduce_op(lua_State *L, nl_op op) {
  const char *name = nl_op_name(op);
  nl_tensor *t = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  int pd = nl_l_pos(L, opts, 2), pk = nl_l_pos(L, opts, 3);
  uint32_t mask = nl_l_dims(L, name, nl_l_dimarg(L, opts, pd), t);
  bool keep = nl_l_bool(L, pk, false);
  if (opts) keep = nl_lua_opt_bool(L, opts, "keepdim", keep);
  int dt = nl_lua_opt_dtype(L, opts, "dtype", -1);
  nl_lua_push(L, nl_ag_reduce_dtype(op, t, mask, keep, 0, dt));
  return 1;
}

static int nl_l_sum(lua_State *L) { return nl_l_reduce_op(L, NL_OP_SUM); }
static int nl_l_mean(lua_State *L) { return nl_l_reduce_op(L, NL_OP_MEAN); }
static int nl_l_prod(lua_State *L) { return nl_l_reduce_op(L, NL_OP_PROD); }
static int nl_l_logsumexp(lua_State *L) { return nl_l_reduce_op(L, NL_OP_LOGSUMEXP); }
static int nl_l_amax(lua_State *L) { return nl_l_reduce_op(L, NL_OP_AMAX); }
static int nl_l_amin(lua_State *L) { return nl_l_reduce_op(L, NL_OP_AMIN); }
static int nl_l_all(lua_State *L) { return nl_l_reduce_op(L, NL_OP_ALL); }
static int nl_l_any(lua_State *L) { return nl_l_reduce_op(L, NL_OP_ANY); }

/* var/std: (t, unbiased) or (t, dim, unbiased?, keepdim?) or opts {dim, unbiased, correction, keepdim} */
static int nl_l_var_std(lua_State *L, bool std) {
  const char *name = std ? "std" : "var";
  nl_tensor *t = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  int p2 = nl_l_pos(L, opts, 2), p3 = nl_l_pos(L, opts, 3), p4 = nl_l_pos(L, opts, 4);
  bool unbiased = true, keep = false;
  uint32_t mask = 0;
  if (p2 && lua_isboolean(L, p2)) {
    unbiased = lua_toboolean(L, p2);
    mask = nl_l_dims(L, name, nl_l_field(L, opts, "dim"), t);
  } else {
    mask = nl_l_dims(L, name, nl_l_dimarg(L, opts, p2), t);
    unbiased = nl_l_bool(L, p3, true);
    keep = nl_l_bool(L, p4, false);
  }
  unbiased = nl_lua_opt_bool(L, opts, "unbiased", unbiased);
  keep = nl_lua_opt_bool(L, opts, "keepdim", keep);
  double corr = nl_lua_opt_number(L, opts, "correction", unbiased ? 1 : 0);
  nl_lua_push(L, std ? nl_ag_std(t, mask, keep, corr) : nl_ag_reduce(NL_OP_VAR, t, mask, keep, corr));
  return 1;
}
static int nl_l_var(lua_State *L) { return nl_l_var_std(L, false); }
static int nl_l_std(lua_State *L) { return nl_l_var_std(L, true); }

/* norm: (t, p?, dim?, keepdim?) or opts {p=, dim=, keepdim=}; p a number (math.huge = inf)
 * or "fro" (the 2-norm of the flattened dims). */
static int nl_l_norm(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  int pp = nl_l_pos(L, opts, 2), pd = nl_l_pos(L, opts, 3), pk = nl_l_pos(L, opts, 4);
  int pidx = pp && !lua_isnoneornil(L, pp) ? pp : nl_l_field(L, opts, "p");
  double p = 2;
  if (lua_type(L, pidx) == LUA_TSTRING) {
    const char *s = lua_tostring(L, pidx);
    if (strcmp(s, "fro") != 0) return luaL_error(L, "norm: p must be a number or \"fro\" (got \"%s\")", s);
  } else if (!lua_isnil(L, pidx)) {
    int ok;
    p = lua_tonumberx(L, pidx, &ok);
    if (!ok) return luaL_error(L, "norm: p must be a number or \"fro\" (got %s)", luaL_typename(L, pidx));
  }
  uint32_t mask = nl_l_dims(L, "norm", nl_l_dimarg(L, opts, pd), t);
  bool keep = nl_lua_opt_bool(L, opts, "keepdim", nl_l_bool(L, pk, false));
  nl_lua_push(L, nl_ag_reduce(NL_OP_NORM, t, mask, keep, p));
  return 1;
}

/* In place: 0-based int64 indices -> 1-based (a fresh contiguous tensor). */
static nl_tensor *nl_l_one_based(nl_tensor *ix) {
  if (!ix) return NULL;
  int64_t n = nl_numel(ix), *p = nl_data(ix);
  for (int64_t i = 0; i < n; i++) p[i] += 1;
  return ix;
}

/* max/min: (t) -> 0-d; (t, dim, keepdim?) -> values, indices; (t, other) -> maximum/minimum */
static int nl_l_max_min(lua_State *L, bool is_min) {
  const char *name = is_min ? "min" : "max";
  nl_tensor *t = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  int p2 = nl_l_pos(L, opts, 2), p3 = nl_l_pos(L, opts, 3);
  if (p2 && nl_lua_to(L, p2)) { /* elementwise: delegate to torch.maximum / torch.minimum */
    const char *fn = is_min ? "minimum" : "maximum";
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "torch._C");
    if (!lua_istable(L, -1) || lua_getfield(L, -1, fn) == LUA_TNIL)
      return luaL_error(L, "%s: elementwise %s with a tensor needs torch.%s, which is not available", name, name, fn);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, p2);
    lua_call(L, 2, 1);
    return 1;
  }
  int di = nl_l_dimarg(L, opts, p2);
  if (lua_isnil(L, di)) {
    if (nl_numel(t) == 0)
      return luaL_error(L, "%s: expected reduction dim to be specified for input.numel() == 0; "
                           "specify the reduction dim with the 'dim' argument", name);
    nl_tensor *r = nl_ag_reduce(is_min ? NL_OP_AMIN : NL_OP_AMAX, t, 0, false, 0);
    if (r && r->grad_fn) r->grad_fn->name = is_min ? "MinBackward" : "MaxBackward"; /* PyTorch's name */
    nl_lua_push(L, r);
    return 1;
  }
  int dim = nl_lua_dim(L, name, luaL_checkinteger(L, di), t->ndim, 0);
  bool keep = nl_lua_opt_bool(L, opts, "keepdim", nl_l_bool(L, p3, false));
  nl_tensor *v, *ix;
  if (nl_ag_minmax_dim(t, dim, keep, is_min, &v, &ix) < 0) return nl_lua_error(L);
  nl_lua_push(L, v);
  nl_lua_push(L, nl_l_one_based(ix));
  return 2;
}
static int nl_l_max(lua_State *L) { return nl_l_max_min(L, false); }
static int nl_l_min(lua_State *L) { return nl_l_max_min(L, true); }

/* argmax/argmin: (t, dim?, keepdim?) or opts; 1-based int64 indices */
static int nl_l_arg(lua_State *L, bool is_min) {
  const char *name = is_min ? "argmin" : "argmax";
  nl_tensor *t = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  int p2 = nl_l_pos(L, opts, 2), p3 = nl_l_pos(L, opts, 3);
  int di = nl_l_dimarg(L, opts, p2);
  int dim = lua_isnil(L, di) ? -1 : nl_lua_dim(L, name, luaL_checkinteger(L, di), t->ndim, 0);
  bool keep = nl_lua_opt_bool(L, opts, "keepdim", nl_l_bool(L, p3, false));
  nl_lua_push(L, nl_l_one_based(is_min ? nl_argmin(t, dim, keep) : nl_argmax(t, dim, keep)));
  return 1;
}
static int nl_l_argmax(lua_State *L) { return nl_l_arg(L, false); }
static int nl_l_argmin(lua_State *L) { return nl_l_arg(L, true); }

/* Ops with one required dim: (t, dim, {dtype=}) or (t, {dim=, dtype=}). */
static int nl_l_required_dim(lua_State *L, const char *name, nl_tensor *t, int opts) {
  int di = nl_l_dimarg(L, opts, nl_l_pos(L, opts, 2));
  if (lua_isnil(L, di)) luaL_error(L, "%s: dim is required (e.g. t:%s(-1))", name, name);
  int ok;
  lua_Integer d = lua_tointegerx(L, di, &ok);
  if (!ok) luaL_error(L, "%s: dim must be an integer (got %s)", name, luaL_typename(L, di));
  return nl_lua_dim(L, name, d, t->ndim, 0);
}

static int nl_l_scan(lua_State *L, bool prod) {
  const char *name = prod ? "cumprod" : "cumsum";
  nl_tensor *t = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  int dim = nl_l_required_dim(L, name, t, opts);
  int dt = nl_lua_opt_dtype(L, opts, "dtype", -1);
  nl_lua_push(L, prod ? nl_ag_cumprod(t, dim, dt) : nl_ag_cumsum(t, dim, dt));
  return 1;
}
static int nl_l_cumsum(lua_State *L) { return nl_l_scan(L, false); }
static int nl_l_cumprod(lua_State *L) { return nl_l_scan(L, true); }

static int nl_l_softmax_any(lua_State *L, bool lg) {
  const char *name = lg ? "log_softmax" : "softmax";
  nl_tensor *t = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  int dim = nl_l_required_dim(L, name, t, opts);
  int dt = nl_lua_opt_dtype(L, opts, "dtype", -1);
  if (dt >= 0 && (nl_dtype)dt != t->dtype) { /* PyTorch's dtype=: cast, then compute */
    if (!nl_dtype_is_float((nl_dtype)dt))
      return luaL_error(L, "%s: dtype must be a floating point dtype (got %s)", name, nl_dtype_name((nl_dtype)dt));
    nl_tensor *c = nl_ag_to_dtype(t, (nl_dtype)dt);
    if (!c) return nl_lua_error(L);
    nl_tensor *r = nl_ag_softmax(c, dim, lg);
    nl_tensor_free(c);
    nl_lua_push(L, r);
    return 1;
  }
  nl_lua_push(L, nl_ag_softmax(t, dim, lg));
  return 1;
}
static int nl_l_softmax(lua_State *L) { return nl_l_softmax_any(L, false); }
static int nl_l_log_softmax(lua_State *L) { return nl_l_softmax_any(L, true); }

static const nl_lua_reg nl_reduce_regs[] = {
    {"sum", nl_l_sum, NL_BOTH},
    {"mean", nl_l_mean, NL_BOTH},
    {"prod", nl_l_prod, NL_BOTH},
    {"var", nl_l_var, NL_BOTH},
    {"std", nl_l_std, NL_BOTH},
    {"norm", nl_l_norm, NL_BOTH},
    {"logsumexp", nl_l_logsumexp, NL_BOTH},
    {"amax", nl_l_amax, NL_BOTH},
    {"amin", nl_l_amin, NL_BOTH},
    {"all", nl_l_all, NL_BOTH},
    {"any", nl_l_any, NL_BOTH},
    {"max", nl_l_max, NL_BOTH},
    {"min", nl_l_min, NL_BOTH},
    {"argmax", nl_l_argmax, NL_BOTH},
    {"argmin", nl_l_argmin, NL_BOTH},
    {"cumsum", nl_l_cumsum, NL_BOTH},
    {"cumprod", nl_l_cumprod, NL_BOTH},
    {"softmax", nl_l_softmax, NL_BOTH},
    {"log_softmax", nl_l_log_softmax, NL_BOTH},
    {NULL, NULL, 0},
};

void nl_lua_open_reduce(lua_State *L) { nl_lua_register(L, nl_reduce_regs); }
