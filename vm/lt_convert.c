/* lt_convert.c: conversions (float double half long int byte bool to cuda cpu type), item,
 * tolist, and the torch.cuda table (is_available device_count synchronize
 * memory_allocated). See ltensor.h for the conventions. */
#include <string.h>

#include "ltensor.h"

#include "../cuda/nl_cuda.h"
#include "../tensor/nl_ops.h"
#include "../autograd/nl_ag_ops.h"

/* Raises the API's error when dev is a CUDA device that this build or machine lacks. */
static void nl_check_cuda(lua_State *L, const char *op, nl_device dev) {
  if (dev.type != NL_CUDA) return;
  if (!nl_cuda_compiled()) luaL_error(L, "%s: nnlua was built without CUDA support", op);
  int n = nl_cuda_device_count();
  if (n == 0) luaL_error(L, "%s: CUDA is not available", op);
  if (dev.index >= n) luaL_error(L, "%s: CUDA device %d does not exist (%d available)", op, dev.index, n);
}

/* t converted to dt and dev (t itself when both match). */
static void nl_push_converted(lua_State *L, nl_tensor *t, nl_dtype dt, nl_device dev, const char *op) {
  nl_check_cuda(L, op, dev);
  nl_tensor *c = nl_ag_to_dtype(t, dt);
  if (!c) nl_lua_error(L);
  if (!nl_device_eq(nl_device_of(c), dev)) {
    nl_tensor *d = nl_ag_to_device(c, dev);
    nl_tensor_free(c);
    c = d;
  }
  nl_lua_push(L, c);
}

#define NL_CAST_BINDING(lname, dt)                                                          \
  static int nl_l_##lname(lua_State *L) {                                                   \
    nl_tensor *t = nl_lua_check(L, 1);                                                      \
    nl_push_converted(L, t, dt, nl_device_of(t), #lname);                                   \
    return 1;                                                                               \
  }
NL_CAST_BINDING(float, NL_FLOAT32)
NL_CAST_BINDING(double, NL_FLOAT64)
NL_CAST_BINDING(half, NL_FLOAT16)
NL_CAST_BINDING(long, NL_INT64)
NL_CAST_BINDING(int, NL_INT32)
NL_CAST_BINDING(byte, NL_UINT8)
NL_CAST_BINDING(bool, NL_BOOL)

/* t:to(dtype | device | other_tensor | {dtype=, device=}), also t:to(device, dtype). */
static int nl_l_to(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_dtype dt = t->dtype;
  nl_device dev = nl_device_of(t);
  int top = lua_gettop(L);
  if (top < 2) return luaL_error(L, "to: expected a dtype, a device, a tensor or an options table");
  for (int i = 2; i <= top; i++) {
    nl_tensor *o = nl_lua_to(L, i);
    if (o) {
      dt = o->dtype;
      dev = nl_device_of(o);
    } else if (lua_type(L, i) == LUA_TSTRING) {
      const char *s = lua_tostring(L, i);
      int d = nl_dtype_from_name(s);
      if (d >= 0) dt = (nl_dtype)d;
      else if (nl_device_parse(s, &dev) < 0)
        return luaL_error(L, "to: '%s' is neither a dtype nor a device", s);
    } else if (lua_istable(L, i)) {
      dt = (nl_dtype)nl_lua_opt_dtype(L, i, "dtype", (int)dt);
      dev = nl_lua_opt_device(L, i, dev);
    } else if (!lua_isnil(L, i)) {
      return luaL_error(L, "to: bad argument #%d (dtype, device, tensor or table expected, got %s)", i - 1,
                        luaL_typename(L, i));
    }
  }
  nl_push_converted(L, t, dt, dev, "to");
  return 1;
}

static int nl_l_cuda(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_device dev = {NL_CUDA, 0};
  if (lua_isinteger(L, 2)) dev.index = (int)lua_tointeger(L, 2);
  else if (lua_type(L, 2) == LUA_TSTRING) dev = nl_lua_checkdevice(L, 2);
  if (dev.type != NL_CUDA || dev.index < 0) return luaL_error(L, "cuda: invalid device");
  nl_push_converted(L, t, t->dtype, dev, "cuda");
  return 1;
}

static int nl_l_cpu(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_push_converted(L, t, t->dtype, nl_cpu(), "cpu");
  return 1;
}

/* PyTorch's legacy type names: float32 -> "torch.FloatTensor", on CUDA "torch.cuda.FloatTensor". */
static const char *const nl_type_names[NL_NDTYPES] = {
    [NL_FLOAT32] = "FloatTensor", [NL_FLOAT64] = "DoubleTensor", [NL_INT64] = "LongTensor",
    [NL_INT32] = "IntTensor",     [NL_UINT8] = "ByteTensor",     [NL_BOOL] = "BoolTensor",
    [NL_FLOAT16] = "HalfTensor",  [NL_BFLOAT16] = "BFloat16Tensor",
};

/* t:type() -> "torch.FloatTensor"; t:type(name) converts ("torch.DoubleTensor" or a dtype). */
static int nl_l_type(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_device dev = nl_device_of(t);
  if (lua_isnoneornil(L, 2)) {
    lua_pushfstring(L, "torch.%s%s", dev.type == NL_CUDA ? "cuda." : "", nl_type_names[t->dtype]);
    return 1;
  }
  const char *s = luaL_checkstring(L, 2);
  int d = nl_dtype_from_name(s);
  if (d < 0) {
    const char *name = s;
    nl_device to = nl_cpu();
    if (strncmp(name, "torch.", 6) == 0) name += 6;
    if (strncmp(name, "cuda.", 5) == 0) { name += 5; to.type = NL_CUDA; }
    for (int i = 0; i < NL_NDTYPES; i++)
      if (strcmp(name, nl_type_names[i]) == 0) d = i;
    if (d < 0) return luaL_error(L, "type: unknown type '%s'", s);
    if (to.type != dev.type) dev = to;
  }
  nl_push_converted(L, t, (nl_dtype)d, dev, "type");
  return 1;
}

/* A CPU tensor with t's values (a new reference). */
static nl_tensor *nl_on_cpu(lua_State *L, nl_tensor *t) {
  nl_tensor *c = nl_to_device(t, nl_cpu());
  if (!c) nl_lua_error(L);
  return c;
}

static void nl_push_elem(lua_State *L, const nl_tensor *t, int64_t i) {
  if (t->dtype == NL_BOOL) lua_pushboolean(L, nl_get_flat(t, i) != 0);
  else if (nl_dtype_is_int(t->dtype)) lua_pushinteger(L, (lua_Integer)nl_get_flat_i64(t, i));
  else lua_pushnumber(L, nl_get_flat(t, i));
}

static int nl_l_item(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int64_t n = nl_numel(t);
  if (n != 1) return luaL_error(L, "item: a tensor with %d elements cannot be converted to a number", (int)n);
  nl_tensor *c = nl_on_cpu(L, t);
  nl_push_elem(L, c, 0);
  nl_tensor_free(c);
  return 1;
}

/* Nested tables, row-major; *pos walks the flat index. */
static void nl_tolist_rec(lua_State *L, const nl_tensor *t, int d, int64_t *pos) {
  if (d == t->ndim) {
    nl_push_elem(L, t, (*pos)++);
    return;
  }
  luaL_checkstack(L, 4, "tolist: too deep");
  lua_createtable(L, (int)t->shape[d], 0);
  for (int64_t i = 0; i < t->shape[d]; i++) {
    nl_tolist_rec(L, t, d + 1, pos);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static int nl_l_tolist(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_tensor *c = nl_on_cpu(L, t);
  int64_t pos = 0;
  nl_tolist_rec(L, c, 0, &pos);
  nl_tensor_free(c);
  return 1;
}

/* ---- torch.cuda ---------------------------------------------------------------------- */
static int nl_l_cuda_is_available(lua_State *L) { lua_pushboolean(L, nl_cuda_device_count() > 0); return 1; }
static int nl_l_cuda_device_count(lua_State *L) { lua_pushinteger(L, nl_cuda_device_count()); return 1; }

/* Optional device argument (integer ordinal, "cuda:N" or a torch.device string); default 0.
 * op names the function in the error when the device does not exist. */
static int nl_cuda_dev_arg(lua_State *L, int idx, const char *op) {
  int dev = 0;
  if (lua_isinteger(L, idx)) dev = (int)lua_tointeger(L, idx);
  else if (lua_type(L, idx) == LUA_TSTRING) {
    nl_device d;
    if (nl_device_parse(lua_tostring(L, idx), &d) < 0 || d.type != NL_CUDA)
      luaL_error(L, "%s: expected a CUDA device, got '%s'", op, lua_tostring(L, idx));
    dev = d.index;
  } else if (!lua_isnoneornil(L, idx)) {
    luaL_error(L, "%s: expected a device index or string, got %s", op, luaL_typename(L, idx));
  }
  nl_device d = {NL_CUDA, dev};
  nl_check_cuda(L, op, d);
  return dev;
}

/* Without a GPU these succeed with nothing to do / zero bytes (PyTorch's memory functions
 * answer 0 before CUDA is initialised); get_device_name raises. */
static int nl_l_cuda_synchronize(lua_State *L) {
  if (nl_cuda_device_count() > 0 && nl_cuda_synchronize() < 0) nl_lua_error(L);
  return 0;
}
static int nl_l_cuda_memory_allocated(lua_State *L) {
  int dev = nl_cuda_device_count() > 0 ? nl_cuda_dev_arg(L, 1, "cuda.memory_allocated") : 0;
  lua_pushinteger(L, (lua_Integer)nl_cuda_memory_allocated(dev));
  return 1;
}
static int nl_l_cuda_max_memory_allocated(lua_State *L) {
  int dev = nl_cuda_device_count() > 0 ? nl_cuda_dev_arg(L, 1, "cuda.max_memory_allocated") : 0;
  lua_pushinteger(L, (lua_Integer)nl_cuda_max_memory_allocated(dev));
  return 1;
}
static int nl_l_cuda_memory_reserved(lua_State *L) {
  int dev = nl_cuda_device_count() > 0 ? nl_cuda_dev_arg(L, 1, "cuda.memory_reserved") : 0;
  lua_pushinteger(L, (lua_Integer)nl_cuda_memory_reserved(dev));
  return 1;
}
static int nl_l_cuda_empty_cache(lua_State *L) { (void)L; nl_cuda_empty_cache(); return 0; }
static int nl_l_cuda_get_device_name(lua_State *L) {
  int dev = nl_cuda_dev_arg(L, 1, "cuda.get_device_name");
  lua_pushstring(L, nl_cuda_device_name(dev));
  return 1;
}
/* nnlua has one Philox generator for every device (the same seed gives the same numbers
 * on the CPU and on CUDA), so cuda.manual_seed seeds it, like torch.manual_seed. */
static int nl_l_cuda_manual_seed(lua_State *L) {
  lua_Integer s = luaL_checkinteger(L, 1);
  nl_manual_seed((uint64_t)s);
  return 0;
}

/* torch.backends.cuda.matmul.allow_tf32: a table whose field reads and writes the flag. */
static int nl_l_tf32_index(lua_State *L) {
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "allow_tf32") == 0) lua_pushboolean(L, nl_cuda_get_allow_tf32());
  else lua_pushnil(L);
  return 1;
}
static int nl_l_tf32_newindex(lua_State *L) {
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "allow_tf32") != 0) return luaL_error(L, "backends.cuda.matmul: unknown option '%s'", k);
  if (!lua_isboolean(L, 3)) return luaL_error(L, "backends.cuda.matmul.allow_tf32: expected a boolean, got %s", luaL_typename(L, 3));
  nl_cuda_set_allow_tf32(lua_toboolean(L, 3));
  return 0;
}

static const luaL_Reg nl_cuda_fns[] = {
    {"is_available", nl_l_cuda_is_available},
    {"device_count", nl_l_cuda_device_count},
    {"synchronize", nl_l_cuda_synchronize},
    {"memory_allocated", nl_l_cuda_memory_allocated},
    {"max_memory_allocated", nl_l_cuda_max_memory_allocated},
    {"memory_reserved", nl_l_cuda_memory_reserved},
    {"empty_cache", nl_l_cuda_empty_cache},
    {"get_device_name", nl_l_cuda_get_device_name},
    {"manual_seed", nl_l_cuda_manual_seed},
    {"manual_seed_all", nl_l_cuda_manual_seed},
    {NULL, NULL},
};

static const nl_lua_reg nl_convert_regs[] = {
    {"float", nl_l_float, NL_METHOD},
    {"double", nl_l_double, NL_METHOD},
    {"half", nl_l_half, NL_METHOD},
    {"long", nl_l_long, NL_METHOD},
    {"int", nl_l_int, NL_METHOD},
    {"byte", nl_l_byte, NL_METHOD},
    {"bool", nl_l_bool, NL_METHOD},
    {"to", nl_l_to, NL_METHOD},
    {"cuda", nl_l_cuda, NL_METHOD},
    {"cpu", nl_l_cpu, NL_METHOD},
    {"type", nl_l_type, NL_METHOD},
    {"item", nl_l_item, NL_METHOD},
    {"tolist", nl_l_tolist, NL_METHOD},
    {NULL, NULL, 0},
};

void nl_lua_open_convert(lua_State *L) {
  nl_lua_register(L, nl_convert_regs);
  /* torch.cuda: a plain table in torch (lua/torch/init.lua copies torch._C's fields).
   * A CUDA backend may replace synchronize/memory_allocated with real ones. */
  if (lua_getfield(L, -2, "cuda") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -4, "cuda");
  }
  for (const luaL_Reg *r = nl_cuda_fns; r->name; r++) {
    if (lua_getfield(L, -1, r->name) == LUA_TNIL) {
      lua_pushcfunction(L, r->func);
      lua_setfield(L, -3, r->name);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  /* torch.backends.cuda.matmul (created when absent) */
  if (lua_getfield(L, -2, "backends") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -4, "backends");
  }
  if (lua_getfield(L, -1, "cuda") != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "cuda");
  }
  lua_newtable(L); /* matmul: all fields through the metatable */
  lua_newtable(L);
  lua_pushcfunction(L, nl_l_tf32_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, nl_l_tf32_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "matmul");
  lua_pop(L, 2);
}
