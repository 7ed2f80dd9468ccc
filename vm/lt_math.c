/* lt_math.c: Lua bindings of the elementwise family: unary math, binary arithmetic and
 * comparisons (tensors or numbers on either side), where, clamp, lerp, in-place versions,
 * fill_/zero_, equal/allclose/isclose and the arithmetic metamethods of the tensor
 * metatable (see ltensor.h for the conventions). Lua's == stays identity: no __eq, and no
 * __lt/__le (they must return booleans in Lua); use eq/lt/... for elementwise comparisons. */
#include <stdio.h>
#include <string.h>

#include "ltensor.h"

#include "../tensor/nl_ops.h"
#include "../autograd/nl_ag_ops.h"

/* The value at idx as an operand: a tensor, an integer, a float or a boolean. */
static nl_arg nl_lua_arg(lua_State *L, const char *op, int idx) {
  nl_tensor *t = nl_lua_to(L, idx);
  if (t) return nl_arg_tensor(t);
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) return nl_arg_int((int64_t)lua_tointeger(L, idx));
    return nl_arg_float(lua_tonumber(L, idx));
  case LUA_TBOOLEAN: return nl_arg_bool(lua_toboolean(L, idx));
  default:
    luaL_error(L, "%s: bad argument #%d (tensor or number expected, got %s)", op, idx, luaL_typename(L, idx));
    return nl_arg_none();
  }
}

/* Like nl_lua_arg, but nil / none is NL_ARG_NONE (clamp's bounds). */
static nl_arg nl_lua_optarg(lua_State *L, const char *op, int idx) {
  if (lua_isnoneornil(L, idx)) return nl_arg_none();
  return nl_lua_arg(L, op, idx);
}

/* opts.out as a tensor, or NULL. */
static nl_tensor *nl_lua_opt_out(lua_State *L, int opts) {
  if (!opts) return NULL;
  nl_tensor *out = NULL;
  if (lua_getfield(L, opts, "out") != LUA_TNIL) out = nl_lua_check(L, -1);
  lua_pop(L, 1);
  return out;
}

/* ---- unary: torch.exp(t, {out=}), t:exp(), t:exp_() ------------------------------------ */
static int nl_l_unary(lua_State *L) {
  nl_op op = (nl_op)lua_tointeger(L, lua_upvalueindex(1));
  nl_tensor *a = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  nl_tensor *out = nl_lua_opt_out(L, opts > 1 ? opts : 0);
  nl_lua_push(L, out ? nl_ag_unary_out(op, a, out) : nl_ag_unary(op, a));
  return 1;
}

static int nl_l_unary_(lua_State *L) {
  nl_op op = (nl_op)lua_tointeger(L, lua_upvalueindex(1));
  nl_lua_check_status(L, nl_ag_unary_(op, nl_lua_check(L, 1)));
  lua_settop(L, 1);
  return 1;
}

/* ---- binary: torch.add(a, b, {alpha=, out=}), t:add(b), t:add_(b) ------------------------ */
static int nl_l_binary(lua_State *L) {
  nl_op op = (nl_op)lua_tointeger(L, lua_upvalueindex(1));
  const char *name = nl_elementwise_name(op);
  int opts = nl_lua_opts(L);
  if (opts && opts < 3) opts = 0; /* a table in position 1 or 2 is an operand, not options */
  nl_arg a = nl_lua_arg(L, name, 1), b = nl_lua_arg(L, name, 2);
  double alpha = nl_lua_opt_number(L, opts, "alpha", 1);
  nl_tensor *out = nl_lua_opt_out(L, opts);
  nl_lua_push(L, nl_ag_binary_ex(op, a, b, alpha, out));
  return 1;
}

static int nl_l_binary_(lua_State *L) {
  nl_op op = (nl_op)lua_tointeger(L, lua_upvalueindex(1));
  nl_tensor *self = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  if (opts && opts < 3) opts = 0;
  char name[40];
  snprintf(name, sizeof name, "%s_", nl_elementwise_name(op));
  nl_arg b = nl_lua_arg(L, name, 2);
  double alpha = nl_lua_opt_number(L, opts, "alpha", 1);
  nl_lua_check_status(L, nl_ag_binary_(op, self, b, alpha));
  lua_settop(L, 1);
  return 1;
}

/* Metamethods: the operands in Lua's order (either may be the number). */
static int nl_meta_binary(lua_State *L, nl_op op) {
  const char *name = nl_elementwise_name(op);
  nl_arg a = nl_lua_arg(L, name, 1), b = nl_lua_arg(L, name, 2);
  nl_lua_push(L, nl_ag_binary_ex(op, a, b, 1, NULL));
  return 1;
}
static int nl_mm_add(lua_State *L) { return nl_meta_binary(L, NL_OP_ADD); }
static int nl_mm_sub(lua_State *L) { return nl_meta_binary(L, NL_OP_SUB); }
static int nl_mm_mul(lua_State *L) { return nl_meta_binary(L, NL_OP_MUL); }
static int nl_mm_div(lua_State *L) { return nl_meta_binary(L, NL_OP_DIV); }
static int nl_mm_pow(lua_State *L) { return nl_meta_binary(L, NL_OP_POW); }
static int nl_mm_idiv(lua_State *L) { return nl_meta_binary(L, NL_OP_FLOORDIV); }
static int nl_mm_mod(lua_State *L) { return nl_meta_binary(L, NL_OP_REMAINDER); }
static int nl_mm_unm(lua_State *L) {
  nl_lua_push(L, nl_ag_unary(NL_OP_NEG, nl_lua_check(L, 1)));
  return 1;
}

/* ---- ternary ---------------------------------------------------------------------------- */
/* torch.where(cond, a, b) */
static int nl_l_where(lua_State *L) {
  nl_tensor *cond = nl_lua_check(L, 1);
  nl_arg a = nl_lua_arg(L, "where", 2), b = nl_lua_arg(L, "where", 3);
  nl_lua_push(L, nl_ag_where(cond, a, b));
  return 1;
}

/* clamp(t, min, max, {out=}) or clamp(t, {min=, max=}); either bound may be nil. */
static void nl_lua_clamp_args(lua_State *L, const char *name, int *opts, nl_arg *lo, nl_arg *hi) {
  *opts = nl_lua_opts(L);
  if (*opts == 2) { /* bounds as options */
    lua_getfield(L, 2, "min");
    lua_getfield(L, 2, "max");
    *lo = nl_lua_optarg(L, name, lua_gettop(L) - 1);
    *hi = nl_lua_optarg(L, name, lua_gettop(L));
    return; /* the values stay on the stack while used (tensors are referenced there) */
  }
  *lo = nl_lua_optarg(L, name, 2);
  *hi = nl_lua_optarg(L, name, 3);
}

static int nl_l_clamp(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1);
  int opts;
  nl_arg lo, hi;
  nl_lua_clamp_args(L, "clamp", &opts, &lo, &hi);
  nl_lua_push(L, nl_ag_clamp(x, lo, hi, nl_lua_opt_out(L, opts)));
  return 1;
}

static int nl_l_clamp_(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1);
  int opts;
  nl_arg lo, hi;
  nl_lua_clamp_args(L, "clamp_", &opts, &lo, &hi);
  nl_lua_check_status(L, nl_ag_clamp_(x, lo, hi));
  lua_pushvalue(L, 1);
  return 1;
}

/* torch.lerp(start, end, weight, {out=}) */
static int nl_l_lerp(lua_State *L) {
  nl_tensor *s = nl_lua_check(L, 1), *e = nl_lua_check(L, 2);
  nl_arg w = nl_lua_arg(L, "lerp", 3);
  int opts = nl_lua_opts(L);
  nl_lua_push(L, nl_ag_lerp(s, e, w, nl_lua_opt_out(L, opts > 3 ? opts : 0)));
  return 1;
}

/* ---- fill_ / zero_ -------------------------------------------------------------------- */
static int nl_l_fill_(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  double v;
  if (lua_isboolean(L, 2)) v = lua_toboolean(L, 2);
  else if (nl_lua_to(L, 2)) {
    nl_tensor *s = nl_lua_to(L, 2);
    if (s->ndim != 0) {
      char b[160];
      return luaL_error(L, "fill_: expected a number or a 0-d tensor as the value, got a tensor of shape %s",
                        nl_shape_str(s->ndim, s->shape, b, sizeof b));
    }
    nl_lua_check_status(L, nl_ag_copy_(t, s));
    lua_settop(L, 1);
    return 1;
  } else v = luaL_checknumber(L, 2);
  /* integers are filled exactly (beyond 2^53): the kernel's ialpha */
  nl_lua_check_status(L, nl_ag_check_inplace_nodiff(t, "fill_"));
  nl_kargs k = {.out = t, .alpha = v, .ialpha = lua_isinteger(L, 2) ? (int64_t)lua_tointeger(L, 2) : (int64_t)v};
  nl_lua_check_status(L, nl_run(NL_OP_FILL, &k));
  nl_bump_version(t);
  lua_settop(L, 1);
  return 1;
}

/* t:copy_(src): copies src into t (broadcasting src to t's shape, casting to t's dtype);
 * returns t. Differentiable with respect to src (CopyBackwards). */
static int nl_l_copy_(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1), *src = nl_lua_check(L, 2);
  nl_lua_check_status(L, nl_ag_copy_(t, src));
  lua_settop(L, 1);
  return 1;
}

static int nl_l_zero_(lua_State *L) {
  nl_lua_check_status(L, nl_ag_fill_(nl_lua_check(L, 1), 0));
  lua_settop(L, 1);
  return 1;
}

/* ---- equal / allclose / isclose -------------------------------------------------------- */
static int nl_l_equal(lua_State *L) {
  int r = nl_equal(nl_lua_check(L, 1), nl_lua_check(L, 2));
  nl_lua_check_status(L, r);
  lua_pushboolean(L, r);
  return 1;
}

static void nl_lua_close_opts(lua_State *L, int opts, double *rtol, double *atol, int *equal_nan) {
  *rtol = nl_lua_opt_number(L, opts, "rtol", 1e-5);
  *atol = nl_lua_opt_number(L, opts, "atol", 1e-8);
  *equal_nan = nl_lua_opt_bool(L, opts, "equal_nan", 0);
}

static int nl_l_allclose(lua_State *L) {
  nl_tensor *a = nl_lua_check(L, 1), *b = nl_lua_check(L, 2);
  int opts = nl_lua_opts(L), en;
  double rtol, atol;
  nl_lua_close_opts(L, opts > 2 ? opts : 0, &rtol, &atol, &en);
  int r = nl_allclose(a, b, rtol, atol, en);
  nl_lua_check_status(L, r);
  lua_pushboolean(L, r);
  return 1;
}

static int nl_l_isclose(lua_State *L) {
  nl_tensor *a = nl_lua_check(L, 1), *b = nl_lua_check(L, 2);
  int opts = nl_lua_opts(L), en;
  double rtol, atol;
  nl_lua_close_opts(L, opts > 2 ? opts : 0, &rtol, &atol, &en);
  nl_lua_push(L, nl_isclose(a, b, rtol, atol, en));
  return 1;
}

/* ---- registration ---------------------------------------------------------------------- */
static const struct { const char *name; nl_op op; } nl_unary_ops[] = {
    {"neg", NL_OP_NEG}, {"abs", NL_OP_ABS}, {"exp", NL_OP_EXP}, {"log", NL_OP_LOG},
    {"log1p", NL_OP_LOG1P}, {"expm1", NL_OP_EXPM1}, {"sqrt", NL_OP_SQRT}, {"rsqrt", NL_OP_RSQRT},
    {"sin", NL_OP_SIN}, {"cos", NL_OP_COS}, {"tan", NL_OP_TAN}, {"tanh", NL_OP_TANH},
    {"sigmoid", NL_OP_SIGMOID}, {"relu", NL_OP_RELU}, {"sign", NL_OP_SIGN}, {"floor", NL_OP_FLOOR},
    {"ceil", NL_OP_CEIL}, {"round", NL_OP_ROUND}, {"trunc", NL_OP_TRUNC},
    {"logical_not", NL_OP_LOGICAL_NOT}, {"isnan", NL_OP_ISNAN}, {"isinf", NL_OP_ISINF},
};

static const struct { const char *name; nl_op op; } nl_binary_ops[] = {
    {"add", NL_OP_ADD}, {"sub", NL_OP_SUB}, {"mul", NL_OP_MUL}, {"div", NL_OP_DIV},
    {"pow", NL_OP_POW}, {"maximum", NL_OP_MAXIMUM}, {"minimum", NL_OP_MINIMUM},
    {"fmod", NL_OP_FMOD}, {"remainder", NL_OP_REMAINDER}, {"floor_divide", NL_OP_FLOORDIV},
    {"eq", NL_OP_EQ}, {"ne", NL_OP_NE}, {"lt", NL_OP_LT}, {"le", NL_OP_LE}, {"gt", NL_OP_GT},
    {"ge", NL_OP_GE}, {"logical_and", NL_OP_LOGICAL_AND}, {"logical_or", NL_OP_LOGICAL_OR},
};

static const nl_lua_reg nl_math_regs[] = {
    {"where", nl_l_where, NL_FN},
    {"clamp", nl_l_clamp, NL_BOTH},
    {"clamp_", nl_l_clamp_, NL_METHOD},
    {"lerp", nl_l_lerp, NL_BOTH},
    {"fill_", nl_l_fill_, NL_METHOD},
    {"zero_", nl_l_zero_, NL_METHOD},
    {"copy_", nl_l_copy_, NL_METHOD},
    {"equal", nl_l_equal, NL_BOTH},
    {"allclose", nl_l_allclose, NL_BOTH},
    {"isclose", nl_l_isclose, NL_BOTH},
    {NULL, NULL, 0},
};

/* torch[name] = methods[name] = closure(op); methods[name_] = in-place closure. */
static void nl_lua_reg_op(lua_State *L, const char *name, nl_op op, lua_CFunction fn, lua_CFunction fn_) {
  lua_pushinteger(L, op);
  lua_pushcclosure(L, fn, 1);
  lua_pushvalue(L, -1);
  lua_setfield(L, -4, name); /* torch */
  lua_setfield(L, -2, name); /* methods */
  char n_[40];
  snprintf(n_, sizeof n_, "%s_", name);
  lua_pushinteger(L, op);
  lua_pushcclosure(L, fn_, 1);
  lua_setfield(L, -2, n_);
}

void nl_lua_open_math(lua_State *L) {
  nl_lua_register(L, nl_math_regs);
  for (size_t i = 0; i < sizeof nl_unary_ops / sizeof *nl_unary_ops; i++)
    nl_lua_reg_op(L, nl_unary_ops[i].name, nl_unary_ops[i].op, nl_l_unary, nl_l_unary_);
  for (size_t i = 0; i < sizeof nl_binary_ops / sizeof *nl_binary_ops; i++)
    nl_lua_reg_op(L, nl_binary_ops[i].name, nl_binary_ops[i].op, nl_l_binary, nl_l_binary_);
  /* aliases (PyTorch names) */
  lua_getfield(L, -1, "clamp");
  lua_setfield(L, -3, "clip");
  static const luaL_Reg meta[] = {
      {"__add", nl_mm_add}, {"__sub", nl_mm_sub}, {"__mul", nl_mm_mul}, {"__div", nl_mm_div},
      {"__pow", nl_mm_pow}, {"__unm", nl_mm_unm}, {"__idiv", nl_mm_idiv}, {"__mod", nl_mm_mod},
      {NULL, NULL},
  };
  luaL_getmetatable(L, NL_TENSOR_MT);
  luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
}
