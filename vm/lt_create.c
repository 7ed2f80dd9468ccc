/* lt_create.c: tensor creation (tensor zeros ones full empty eye arange linspace, the
 * *_like family, rand randn randint randperm), the generator (manual_seed, initial_seed)
 * and the in-place random fills (uniform_ normal_ bernoulli_ random_, torch.bernoulli).
 * Every creator takes a trailing options table {dtype=, device=, requires_grad=}. */
#include "ltensor.h"

#include "../tensor/nl_kernel.h"
#include "../tensor/nl_ops.h"

/* Applies requires_grad from opts and pushes t (consumed). */
static int nl_push_created(lua_State *L, const char *op, nl_tensor *t, int opts) {
  if (!t) nl_lua_error(L);
  if (nl_lua_opt_bool(L, opts, "requires_grad", 0)) {
    if (!nl_dtype_is_float(t->dtype)) {
      nl_dtype dt = t->dtype;
      nl_tensor_free(t);
      return luaL_error(L, "%s: only tensors of floating point dtype can require gradients (got %s)", op, nl_dtype_name(dt));
    }
    t->requires_grad = true;
  }
  nl_lua_push(L, t);
  return 1;
}

/* Index of the last positional argument (before the options table). */
static int nl_last_arg(lua_State *L, int opts) { return (opts ? opts : lua_gettop(L) + 1) - 1; }

/* torch.zeros(2, 3), torch.zeros{2, 3}, torch.zeros(2, 3, {dtype=, device=});
 * full(shape, v): integer v -> int64, float -> default dtype, boolean -> bool (PyTorch). */
static int nl_create_filled(lua_State *L, const char *op, double v, int has_value) {
  int opts = nl_lua_opts(L);
  int last = nl_last_arg(L, opts);
  int64_t shape[NL_MAXDIM];
  if (has_value) last--; /* full(shape, v): the value is the last positional argument */
  int vi = last + 1, ndim = nl_lua_shape(L, op, 1, last, shape);
  int infer = (int)nl_default_dtype();
  if (has_value) {
    if (lua_isboolean(L, vi)) { v = lua_toboolean(L, vi); infer = NL_BOOL; }
    else { v = luaL_checknumber(L, vi); if (lua_isinteger(L, vi)) infer = NL_INT64; }
  }
  int dt = nl_lua_opt_dtype(L, opts, "dtype", infer);
  nl_device dev = nl_lua_opt_device(L, opts, nl_default_device());
  nl_tensor *t;
  if (has_value && lua_isinteger(L, vi) && !nl_dtype_is_float((nl_dtype)dt)) {
    /* exact int64 fill */
    t = nl_empty(ndim, shape, (nl_dtype)dt, dev);
    nl_kargs a = {.out = t, .alpha = v, .ialpha = (int64_t)lua_tointeger(L, vi)};
    if (t && nl_run(NL_OP_FILL, &a) < 0) { nl_tensor_free(t); t = NULL; }
  } else {
    t = nl_full(ndim, shape, v, (nl_dtype)dt, dev);
  }
  return nl_push_created(L, op, t, opts);
}

static int nl_l_zeros(lua_State *L) { return nl_create_filled(L, "zeros", 0, 0); }
static int nl_l_ones(lua_State *L) { return nl_create_filled(L, "ones", 1, 0); }
static int nl_l_full(lua_State *L) { return nl_create_filled(L, "full", 0, 1); }

static int nl_l_empty(lua_State *L) {
  int opts = nl_lua_opts(L);
  int64_t shape[NL_MAXDIM];
  int ndim = nl_lua_shape(L, "empty", 1, nl_last_arg(L, opts), shape);
  nl_dtype dt = (nl_dtype)nl_lua_opt_dtype(L, opts, "dtype", (int)nl_default_dtype());
  return nl_push_created(L, "empty", nl_empty(ndim, shape, dt, nl_lua_opt_device(L, opts, nl_default_device())), opts);
}

/* torch.tensor(value, {dtype=, device=, requires_grad=}) */
static int nl_l_tensor(lua_State *L) {
  luaL_checkany(L, 1);
  int opts = lua_gettop(L) >= 2 ? 2 : 0;
  if (opts) luaL_checktype(L, 2, LUA_TTABLE);
  int dt = nl_lua_opt_dtype(L, opts, "dtype", -1);
  nl_device dev = nl_lua_opt_device(L, opts, nl_default_device());
  nl_tensor *src = nl_lua_to(L, 1);
  nl_tensor *t;
  if (src) { /* torch.tensor(t): a copy, detached */
    t = nl_empty(src->ndim, src->shape, dt < 0 ? src->dtype : (nl_dtype)dt, dev);
    if (t && nl_copy_(t, src) < 0) { nl_tensor_free(t); t = NULL; }
    if (t) t->storage->version = 0;
  } else {
    t = nl_lua_totensor(L, 1, dt, dev);
  }
  return nl_push_created(L, "tensor", t, opts);
}

/* torch.eye(n, m?, opts) */
static int nl_l_eye(lua_State *L) {
  int opts = nl_lua_opts(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  lua_Integer m = (nl_last_arg(L, opts) >= 2) ? luaL_checkinteger(L, 2) : n;
  nl_dtype dt = (nl_dtype)nl_lua_opt_dtype(L, opts, "dtype", (int)nl_default_dtype());
  return nl_push_created(L, "eye", nl_eye(n, m, dt, nl_lua_opt_device(L, opts, nl_default_device())), opts);
}

/* torch.arange(stop), (start, stop), (start, stop, step): integers only -> int64, any
 * float -> the default dtype (PyTorch). */
static int nl_l_arange(lua_State *L) {
  int opts = nl_lua_opts(L);
  int last = nl_last_arg(L, opts);
  if (last < 1 || last > 3) return luaL_error(L, "arange: expected 1 to 3 numbers (stop | start, stop | start, stop, step)");
  double v[3] = {0, 0, 1};
  int allint = 1;
  for (int i = 1; i <= last; i++) {
    v[i - 1] = luaL_checknumber(L, i);
    if (!lua_isinteger(L, i)) allint = 0;
  }
  if (last == 1) { v[1] = v[0]; v[0] = 0; }
  nl_dtype dt = (nl_dtype)nl_lua_opt_dtype(L, opts, "dtype", allint ? NL_INT64 : (int)nl_default_dtype());
  return nl_push_created(L, "arange", nl_arange(v[0], v[1], v[2], dt, nl_lua_opt_device(L, opts, nl_default_device())), opts);
}

static int nl_l_linspace(lua_State *L) {
  int opts = nl_lua_opts(L);
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  lua_Integer n = luaL_checkinteger(L, 3);
  nl_dtype dt = (nl_dtype)nl_lua_opt_dtype(L, opts, "dtype", (int)nl_default_dtype());
  return nl_push_created(L, "linspace", nl_linspace(a, b, n, dt, nl_lua_opt_device(L, opts, nl_default_device())), opts);
}

/* ---- *_like: t's shape, dtype and device unless the options say otherwise --------------- */
typedef enum { NL_LIKE_ZEROS, NL_LIKE_ONES, NL_LIKE_EMPTY, NL_LIKE_FULL, NL_LIKE_RAND, NL_LIKE_RANDN } nl_like_kind;

static int nl_create_like(lua_State *L, const char *op, nl_like_kind kind) {
  nl_tensor *src = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  double v = kind == NL_LIKE_ONES ? 1 : 0;
  if (kind == NL_LIKE_FULL) v = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : luaL_checknumber(L, 2);
  nl_dtype dt = (nl_dtype)nl_lua_opt_dtype(L, opts, "dtype", (int)src->dtype);
  nl_device dev = nl_lua_opt_device(L, opts, nl_device_of(src));
  nl_tensor *t;
  switch (kind) {
  case NL_LIKE_EMPTY: t = nl_empty(src->ndim, src->shape, dt, dev); break;
  case NL_LIKE_RAND: t = nl_rand(src->ndim, src->shape, dt, dev); break;
  case NL_LIKE_RANDN: t = nl_randn(src->ndim, src->shape, dt, dev); break;
  default: t = nl_full(src->ndim, src->shape, v, dt, dev);
  }
  return nl_push_created(L, op, t, opts);
}

static int nl_l_zeros_like(lua_State *L) { return nl_create_like(L, "zeros_like", NL_LIKE_ZEROS); }
static int nl_l_ones_like(lua_State *L) { return nl_create_like(L, "ones_like", NL_LIKE_ONES); }
static int nl_l_empty_like(lua_State *L) { return nl_create_like(L, "empty_like", NL_LIKE_EMPTY); }
static int nl_l_full_like(lua_State *L) { return nl_create_like(L, "full_like", NL_LIKE_FULL); }
static int nl_l_rand_like(lua_State *L) { return nl_create_like(L, "rand_like", NL_LIKE_RAND); }
static int nl_l_randn_like(lua_State *L) { return nl_create_like(L, "randn_like", NL_LIKE_RANDN); }

/* ---- random -------------------------------------------------------------------------------- */
static int nl_create_random(lua_State *L, const char *op, int normal) {
  int opts = nl_lua_opts(L);
  int64_t shape[NL_MAXDIM];
  int ndim = nl_lua_shape(L, op, 1, nl_last_arg(L, opts), shape);
  nl_dtype dt = (nl_dtype)nl_lua_opt_dtype(L, opts, "dtype", (int)nl_default_dtype());
  nl_device dev = nl_lua_opt_device(L, opts, nl_default_device());
  return nl_push_created(L, op, normal ? nl_randn(ndim, shape, dt, dev) : nl_rand(ndim, shape, dt, dev), opts);
}
static int nl_l_rand(lua_State *L) { return nl_create_random(L, "rand", 0); }
static int nl_l_randn(lua_State *L) { return nl_create_random(L, "randn", 1); }

/* torch.randint(low, high, shape) or randint(high, shape); shape a table (PyTorch's tuple)
 * or trailing sizes after both bounds: randint(0, 10, 3, 4). */
static int nl_l_randint(lua_State *L) {
  int opts = nl_lua_opts(L);
  int last = nl_last_arg(L, opts), si = 0;
  for (int i = 1; i <= last; i++)
    if (lua_istable(L, i)) { si = i; break; }
  lua_Integer low = 0, high;
  if (si == 2) high = luaL_checkinteger(L, 1);
  else if (si == 3 || (si == 0 && last >= 3)) { low = luaL_checkinteger(L, 1); high = luaL_checkinteger(L, 2); si = 3; }
  else return luaL_error(L, "randint: expected (low, high, shape) or (high, shape)");
  int64_t shape[NL_MAXDIM];
  int ndim = nl_lua_shape(L, "randint", si, last, shape);
  nl_dtype dt = (nl_dtype)nl_lua_opt_dtype(L, opts, "dtype", NL_INT64);
  return nl_push_created(L, "randint", nl_randint(low, high, ndim, shape, dt, nl_lua_opt_device(L, opts, nl_default_device())), opts);
}

/* torch.randperm(n): a permutation of 1..n (indices are 1-based in Lua), int64. */
static int nl_l_randperm(lua_State *L) {
  int opts = nl_lua_opts(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  nl_dtype dt = (nl_dtype)nl_lua_opt_dtype(L, opts, "dtype", NL_INT64);
  return nl_push_created(L, "randperm", nl_randperm(n, 1, dt, nl_lua_opt_device(L, opts, nl_default_device())), opts);
}

static int nl_l_manual_seed(lua_State *L) {
  lua_Integer s = luaL_checkinteger(L, 1);
  nl_manual_seed((uint64_t)s);
  return 0;
}

static int nl_l_initial_seed(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nl_initial_seed());
  return 1;
}

/* In-place fills return self. */
static int nl_l_uniform_(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_lua_check_status(L, nl_uniform_(t, luaL_optnumber(L, 2, 0), luaL_optnumber(L, 3, 1)));
  lua_settop(L, 1);
  return 1;
}

static int nl_l_normal_(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_lua_check_status(L, nl_normal_(t, luaL_optnumber(L, 2, 0), luaL_optnumber(L, 3, 1)));
  lua_settop(L, 1);
  return 1;
}

static int nl_l_bernoulli_(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1), *p = nl_lua_to(L, 2);
  nl_lua_check_status(L, p ? nl_bernoulli_tensor_(t, p) : nl_bernoulli_(t, luaL_optnumber(L, 2, 0.5)));
  lua_settop(L, 1);
  return 1;
}

/* t:random_(to) in [0, to), t:random_(from, to); t:random_() in [0, 2^24) for float32,
 * [0, 2^53) otherwise (PyTorch: up to the dtype's exactly representable range). */
static int nl_l_random_(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int64_t from = 0, to;
  if (lua_isnoneornil(L, 2)) {
    to = t->dtype == NL_FLOAT32 ? (1 << 24) + 1 : t->dtype == NL_INT32 ? INT32_MAX : t->dtype == NL_UINT8 ? 256
       : t->dtype == NL_BOOL ? 2 : ((int64_t)1 << 53);
  } else if (lua_isnoneornil(L, 3)) {
    to = luaL_checkinteger(L, 2);
  } else {
    from = luaL_checkinteger(L, 2);
    to = luaL_checkinteger(L, 3);
  }
  nl_lua_check_status(L, nl_random_(t, from, to));
  lua_settop(L, 1);
  return 1;
}

static int nl_l_bernoulli(lua_State *L) {
  nl_lua_push(L, nl_bernoulli(nl_lua_check(L, 1)));
  return 1;
}

static const nl_lua_reg nl_create_regs[] = {
    {"zeros", nl_l_zeros, NL_FN},
    {"ones", nl_l_ones, NL_FN},
    {"full", nl_l_full, NL_FN},
    {"empty", nl_l_empty, NL_FN},
    {"tensor", nl_l_tensor, NL_FN},
    {"eye", nl_l_eye, NL_FN},
    {"arange", nl_l_arange, NL_FN},
    {"linspace", nl_l_linspace, NL_FN},
    {"zeros_like", nl_l_zeros_like, NL_FN},
    {"ones_like", nl_l_ones_like, NL_FN},
    {"empty_like", nl_l_empty_like, NL_FN},
    {"full_like", nl_l_full_like, NL_FN},
    {"rand_like", nl_l_rand_like, NL_FN},
    {"randn_like", nl_l_randn_like, NL_FN},
    {"rand", nl_l_rand, NL_FN},
    {"randn", nl_l_randn, NL_FN},
    {"randint", nl_l_randint, NL_FN},
    {"randperm", nl_l_randperm, NL_FN},
    {"manual_seed", nl_l_manual_seed, NL_FN},
    {"initial_seed", nl_l_initial_seed, NL_FN},
    {"uniform_", nl_l_uniform_, NL_METHOD},
    {"normal_", nl_l_normal_, NL_METHOD},
    {"bernoulli_", nl_l_bernoulli_, NL_METHOD},
    {"random_", nl_l_random_, NL_METHOD},
    {"bernoulli", nl_l_bernoulli, NL_BOTH},
    {NULL, NULL, 0},
};

void nl_lua_open_create(lua_State *L) { nl_lua_register(L, nl_create_regs); }
