/* lt_create.c: tensor creation: torch.tensor, zeros, ones, full, empty and friends. */
#include "ltensor.h"

#include "../tensor/nl_kernel.h"

/* torch.zeros(2, 3), torch.zeros{2, 3}, torch.zeros(2, 3, {dtype=, device=}) */
static int nl_create_filled(lua_State *L, const char *op, double v, int has_value) {
  int opts = nl_lua_opts(L);
  int last = (opts ? opts : lua_gettop(L) + 1) - 1;
  int64_t shape[NL_MAXDIM];
  int first = 1;
  if (has_value) last--; /* full(shape, v): the value is the last positional argument */
  int ndim = nl_lua_shape(L, op, first, last, shape);
  if (has_value) v = luaL_checknumber(L, last + 1);
  int dt = nl_lua_opt_dtype(L, opts, "dtype", -1);
  if (dt < 0) dt = (has_value && lua_isinteger(L, last + 1)) ? NL_INT64 : (int)nl_default_dtype();
  if (has_value && lua_isboolean(L, last + 1)) dt = NL_BOOL;
  nl_device dev = nl_lua_opt_device(L, opts, nl_cpu());
  nl_tensor *t = nl_full(ndim, shape, v, (nl_dtype)dt, dev);
  if (t) t->requires_grad = nl_lua_opt_bool(L, opts, "requires_grad", 0);
  nl_lua_push(L, t);
  return 1;
}

static int nl_l_zeros(lua_State *L) { return nl_create_filled(L, "zeros", 0, 0); }
static int nl_l_ones(lua_State *L) { return nl_create_filled(L, "ones", 1, 0); }
static int nl_l_full(lua_State *L) { return nl_create_filled(L, "full", 0, 1); }

/* torch.tensor(value, {dtype=, device=, requires_grad=}) */
static int nl_l_tensor(lua_State *L) {
  luaL_checkany(L, 1);
  int opts = lua_gettop(L) >= 2 ? 2 : 0;
  if (opts) luaL_checktype(L, 2, LUA_TTABLE);
  int dt = nl_lua_opt_dtype(L, opts, "dtype", -1);
  nl_device dev = nl_lua_opt_device(L, opts, nl_cpu());
  nl_tensor *src = nl_lua_to(L, 1);
  nl_tensor *t;
  if (src) { /* torch.tensor(t): a copy, detached */
    t = nl_empty(src->ndim, src->shape, dt < 0 ? src->dtype : (nl_dtype)dt, dev);
    nl_kargs a = {.out = t, .in = {src}};
    if (t && nl_run(NL_OP_COPY, &a) < 0) { nl_tensor_free(t); t = NULL; }
  } else {
    t = nl_lua_totensor(L, 1, dt, dev);
  }
  if (t) t->requires_grad = nl_lua_opt_bool(L, opts, "requires_grad", 0);
  nl_lua_push(L, t);
  return 1;
}

static const nl_lua_reg nl_create_regs[] = {
    {"zeros", nl_l_zeros, NL_FN},
    {"ones", nl_l_ones, NL_FN},
    {"full", nl_l_full, NL_FN},
    {"tensor", nl_l_tensor, NL_FN},
    {NULL, NULL, 0},
};

void nl_lua_open_create(lua_State *L) { nl_lua_register(L, nl_create_regs); }
