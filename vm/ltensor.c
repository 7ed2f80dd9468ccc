/* ltensor.c: the tensor userdata (metatable nnlua.Tensor), argument helpers shared by every
 * binding, and the "torch._C" module that gathers the families of vm/lt_*.c.
 *
 * Userdata layout: nl_lua_ud, whose first field is the nl_tensor* (the userdata owns one
 * reference). A weak-valued table in the registry (the cache) finds the userdata of a tensor,
 * so pushing the same tensor twice (t.grad, a parameter reached through two modules) yields
 * the same Lua value. In the first state that opens torch._C (the host's) the cache is an
 * array: the userdata sits at integer slot t->lua_slot (0: none), slots are recycled by the
 * userdata's __gc through a C free list, so a push costs one array store instead of a hash
 * insert (and its rehashes). Other states key the cache by the nl_tensor* (light userdata). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ltensor.h"

#include "../cuda/nl_cuda.h"
#include "../tensor/nl_kernel.h"

static const char NL_CACHE_KEY = 'c';  /* registry[&NL_CACHE_KEY] = weak cache */
static const char NL_GETTERS_KEY = 'g';
static const char NL_SETTERS_KEY = 's';
static const char NL_METHODS_KEY = 'm';

/* ---- GC accounting ------------------------------------------------------------------ */
/* The Lua collector only sees the small userdata, not the tensor memory behind them. After
 * each push we report C memory growth as a GC step of that size, and force a full collection
 * when live C memory doubles since the last one (Torch7's heap-tracking idea). This keeps
 * loops that never call collectgarbage() at a flat memory profile. */
static size_t nl_gc_seen;        /* bytes in use at the last accounting */
static size_t nl_gc_after_full;  /* bytes in use after the last forced full collection */

/* Each tensor userdata also holds C memory the collector can't see even when its data is
 * tiny (header + storage: ~500 B); without counting any of it, garbage small tensors pile up
 * by the tens of thousands between cycles (cache misses, slots and pools that grow). Counting
 * NL_PUSH_BYTES per push was the cheapest in callgrind (a + b on 4 elements: 0 B 4,220
 * instructions, 128 B 3,500, 256 B 3,630, 512 B 3,740; the autograd chain alike): more makes
 * the collector mark the live heap too often. */
#define NL_PUSH_BYTES 128
#define NL_PUSH_BATCH 256
/* C memory growth is reported once it passes NL_GROWTH_STEP; each such step ends up running a
 * whole collection cycle (the step's debt exceeds the Lua heap), so for results of a few KB
 * the threshold sets how often the live heap gets marked: 1 MB cost a + b on 1000 floats
 * 5,170 instructions per call in callgrind, 4 MB 4,430 (exp: 10,060 and 9,330), for 3-4 MB
 * more peak RSS on the small training workloads (lenet4 10.9 -> 14.8 MB, mlp64 17.6 -> 20.9). */
#define NL_GROWTH_STEP (4u << 20)
static unsigned nl_gc_pushes;

static void nl_lua_account(lua_State *L) {
  if (++nl_gc_pushes == NL_PUSH_BATCH) {
    nl_gc_pushes = 0;
    lua_gc(L, LUA_GCSTEP, NL_PUSH_BYTES * NL_PUSH_BATCH >> 10);
  }
  size_t now = nl_cpu_bytes_in_use();
  if (now > nl_gc_seen + NL_GROWTH_STEP) {
    lua_gc(L, LUA_GCSTEP, (int)((now - nl_gc_seen) >> 10));
    nl_gc_seen = nl_cpu_bytes_in_use();
  } else if (now < nl_gc_seen) {
    nl_gc_seen = now;
  }
  if (now > 2 * nl_gc_after_full + (64u << 20)) {
    lua_gc(L, LUA_GCCOLLECT);
    nl_gc_after_full = nl_gc_seen = nl_cpu_bytes_in_use();
  }
}

/* ---- userdata --------------------------------------------------------------------------- */
/* The tensor metatable of the last state that opened torch._C (registry-anchored, so the
 * pointer stays valid while that state lives). nl_lua_testudata compares metatables by
 * pointer instead of luaL_testudata's registry lookup by name (hot: every argument); a
 * mismatch (another state) falls back to the lookup by name. */
static const void *nl_mt_ptr;
static const char NL_MT_KEY = 't'; /* registry[&NL_MT_KEY] = the tensor metatable */

static nl_tensor **nl_lua_testudata(lua_State *L, int idx) {
  void *p = lua_touserdata(L, idx);
  if (!p || lua_islightuserdata(L, idx) || !lua_getmetatable(L, idx)) return NULL;
  const void *mt = lua_topointer(L, -1);
  lua_pop(L, 1);
  if (mt == nl_mt_ptr) return p;
  return luaL_testudata(L, idx, NL_TENSOR_MT);
}

nl_tensor *nl_lua_to(lua_State *L, int idx) {
  nl_tensor **p = nl_lua_testudata(L, idx);
  return p ? *p : NULL;
}

nl_tensor *nl_lua_check(lua_State *L, int idx) {
  nl_tensor **p = nl_lua_testudata(L, idx);
  if (!p) luaL_typeerror(L, idx, "tensor");
  if (!*p) luaL_argerror(L, idx, "tensor was closed");
  return *p;
}

int nl_lua_error(lua_State *L) { return luaL_error(L, "%s", nl_error()); }

/* The userdata block. */
typedef struct nl_lua_ud {
  nl_tensor *t; /* first: nl_lua_testudata's callers read it as nl_tensor** */
  int slot;     /* its slot in the primary state's cache, or 0 */
} nl_lua_ud;

/* ---- slots of the primary state -------------------------------------------------------- */
/* The primary state is the first one that opens torch._C; its cache table pointer identifies
 * it (NL_PRIMARY_GONE after it closed: later states use the hash path). Only that state's
 * thread touches the slot allocator. */
static const void *nl_primary;
static const char NL_PRIMARY_GONE = 'x';
static int *nl_slot_free; /* free slots, a stack */
static int nl_slot_nfree, nl_slot_cap, nl_slot_next;
/* registry[nl_cache_ref] / registry[nl_mt_ref] of the primary state: its cache table and the
 * tensor metatable under integer keys (array lookups, cheaper than the light-userdata keys). */
static int nl_cache_ref, nl_mt_ref;

/* A free slot; 0 when out of memory (then the userdata goes uncached). */
static int nl_slot_get(void) {
  if (nl_slot_nfree) return nl_slot_free[--nl_slot_nfree];
  if (nl_slot_next == nl_slot_cap) { /* keep room for every slot handed out */
    int cap = nl_slot_cap ? nl_slot_cap * 2 : 4096;
    int *p = realloc(nl_slot_free, (size_t)cap * sizeof *p);
    if (!p) return 0;
    nl_slot_free = p;
    nl_slot_cap = cap;
  }
  return ++nl_slot_next;
}

static void nl_slot_put(int slot) { nl_slot_free[nl_slot_nfree++] = slot; }

/* __gc of a sentinel in the primary state's registry: the state is closing. */
static int nl_primary_gc(lua_State *L) {
  (void)L;
  nl_primary = &NL_PRIMARY_GONE;
  nl_cache_ref = nl_mt_ref = 0;
  return 0;
}

void nl_lua_push(lua_State *L, nl_tensor *t) {
  if (!t) nl_lua_error(L);
  bool primary = nl_cache_ref && lua_rawgeti(L, LUA_REGISTRYINDEX, nl_cache_ref) == LUA_TTABLE &&
                 lua_topointer(L, -1) == nl_primary;
  if (!primary) {
    if (nl_cache_ref) lua_pop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &NL_CACHE_KEY);
  }
  if (primary) {
    /* A userdata gone unreachable has its entry cleared before its __gc runs (which resets
     * t->lua_slot): in that window a new userdata replaces it. */
    if (t->lua_slot && lua_rawgeti(L, -1, t->lua_slot) == LUA_TUSERDATA) {
      nl_lua_ud *q = lua_touserdata(L, -1);
      if (q->t == t) {
        lua_remove(L, -2);
        nl_tensor_free(t); /* the caller's reference; the userdata holds its own */
        return;
      }
    }
    if (t->lua_slot) lua_pop(L, 1);
  } else if (t->refcount > 1) {
    /* A live userdata owns a reference, so a tensor with refcount 1 (only the caller's: a
     * fresh result) has none and the lookup is skipped. An entry of a closed userdata (*p
     * NULL, the tensor freed and its address reused) is stale: replaced below. */
    if (lua_rawgetp(L, -1, t) == LUA_TUSERDATA) {
      nl_lua_ud *q = lua_touserdata(L, -1);
      if (q->t == t) { /* already has a userdata: reuse it */
        lua_remove(L, -2);
        nl_tensor_free(t);
        return;
      }
    }
    lua_pop(L, 1);
  }
  nl_lua_ud *p = lua_newuserdatauv(L, sizeof *p, 0);
  p->t = t;
  p->slot = 0;
  if (primary && nl_mt_ref) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, nl_mt_ref);
  } else if (lua_rawgetp(L, LUA_REGISTRYINDEX, &NL_MT_KEY) != LUA_TTABLE) { /* before torch._C */
    lua_pop(L, 1);
    luaL_getmetatable(L, NL_TENSOR_MT);
  }
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  if (!primary) {
    lua_rawsetp(L, -3, t);
  } else if ((p->slot = nl_slot_get()) != 0) {
    t->lua_slot = p->slot; /* replaces a slot whose userdata awaits its __gc */
    lua_rawseti(L, -3, p->slot);
  } else {
    lua_pop(L, 1);
  }
  lua_remove(L, -2);
  nl_lua_account(L);
}

static int nl_tensor_gc(lua_State *L) {
  nl_lua_ud *p = (nl_lua_ud *)nl_lua_testudata(L, 1);
  if (!p) p = luaL_checkudata(L, 1, NL_TENSOR_MT); /* raises the usual error */
  if (p->t) {
    if (p->slot) { /* its cache entry is already cleared (weak values go before __gc) */
      if (p->t->lua_slot == p->slot) p->t->lua_slot = 0;
      nl_slot_put(p->slot);
      p->slot = 0;
    }
    nl_tensor_free(p->t);
    p->t = NULL;
  }
  return 0;
}

/* __index: methods first, then attribute getters, then indexing (t[i], t[{...}]). */
static int nl_tensor_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1; /* method */
    lua_pop(L, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) { /* getter */
      nl_lua_check(L, 1);
      lua_pushvalue(L, 1);
      lua_call(L, 1, 1);
      return 1;
    }
    return luaL_error(L, "tensor has no field or method '%s'", lua_tostring(L, 2));
  }
  return nl_lua_index_get(L);
}

static int nl_tensor_newindex(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) { /* setter */
      nl_lua_check(L, 1);
      lua_pushvalue(L, 1);
      lua_pushvalue(L, 3);
      lua_call(L, 2, 0);
      return 0;
    }
    return luaL_error(L, "cannot set field '%s' of a tensor", lua_tostring(L, 2));
  }
  return nl_lua_index_set(L);
}

static int nl_tensor_len(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "len() of a 0-d tensor");
  lua_pushinteger(L, t->shape[0]);
  return 1;
}

/* Default __tostring until lua/torch/print.lua replaces it (see torch/init.lua). */
static int nl_tensor_tostring(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  char b[200];
  lua_pushfstring(L, "tensor(shape=%s, dtype=%s)", nl_shape_str(t->ndim, t->shape, b, sizeof b),
                  nl_dtype_name(t->dtype));
  return 1;
}

/* ---- argument helpers ------------------------------------------------------------------- */
int nl_lua_dim(lua_State *L, const char *op, lua_Integer d, int ndim, int allow_end) {
  int n = ndim + (allow_end ? 1 : 0);
  int lo = n > 0 ? -n : -1, hi = n > 0 ? n : 1;
  if (d == 0 || d < lo || d > hi)
    return luaL_error(L, "%s: dim %d out of range for a tensor of %d dims (expected %d..%d or %d..-1)", op,
                      (int)d, ndim, n > 0 ? 1 : 1, hi, lo);
  if (n == 0) return 0; /* a 0-d tensor accepts dim 1 / -1 as PyTorch accepts 0 / -1 */
  return (int)(d > 0 ? d - 1 : d + n);
}

int nl_lua_shape(lua_State *L, const char *op, int idx, int last, int64_t *shape) {
  int n = 0;
  if (idx <= last && lua_istable(L, idx)) {
    if (idx != last) luaL_error(L, "%s: a shape is either numbers or one table", op);
    n = (int)luaL_len(L, idx);
    if (n > NL_MAXDIM) luaL_error(L, "%s: tensors have at most %d dims (got %d)", op, NL_MAXDIM, n);
    for (int i = 0; i < n; i++) {
      lua_geti(L, idx, i + 1);
      int ok;
      lua_Integer v = lua_tointegerx(L, -1, &ok);
      if (!ok) luaL_error(L, "%s: shape entry %d is not an integer", op, i + 1);
      shape[i] = v;
      lua_pop(L, 1);
    }
    return n;
  }
  for (int i = idx; i <= last; i++) {
    if (n >= NL_MAXDIM) luaL_error(L, "%s: tensors have at most %d dims", op, NL_MAXDIM);
    int ok;
    lua_Integer v = lua_tointegerx(L, i, &ok);
    if (!ok) luaL_error(L, "%s: bad argument #%d (integer size expected, got %s)", op, i, luaL_typename(L, i));
    shape[n++] = v;
  }
  return n;
}

int nl_lua_opts(lua_State *L) {
  int top = lua_gettop(L);
  if (top == 0 || !lua_istable(L, top) || nl_lua_to(L, top)) return 0;
  if (luaL_getmetafield(L, top, "__name") != LUA_TNIL) { /* a Size or a class instance */
    lua_pop(L, 1);
    return 0;
  }
  lua_pushnil(L);
  while (lua_next(L, top)) {
    int isstr = lua_type(L, -2) == LUA_TSTRING;
    lua_pop(L, 2);
    if (isstr) return top;
    break;
  }
  return 0;
}

nl_dtype nl_lua_checkdtype(lua_State *L, int idx) {
  const char *s = luaL_checkstring(L, idx);
  int dt = nl_dtype_from_name(s);
  if (dt < 0) luaL_error(L, "unknown dtype '%s' (expected float32, float64, int64, int32, uint8, bool, float16, bfloat16)", s);
  return (nl_dtype)dt;
}

nl_device nl_lua_checkdevice(lua_State *L, int idx) {
  nl_device d;
  if (nl_device_parse(luaL_checkstring(L, idx), &d) < 0) nl_lua_error(L);
  return d;
}

int nl_lua_opt_dtype(lua_State *L, int opts, const char *field, int def) {
  if (!opts) return def;
  int r = def;
  if (lua_getfield(L, opts, field) != LUA_TNIL) r = (int)nl_lua_checkdtype(L, -1);
  lua_pop(L, 1);
  return r;
}

nl_device nl_lua_opt_device(lua_State *L, int opts, nl_device def) {
  if (!opts) return def;
  nl_device r = def;
  if (lua_getfield(L, opts, "device") != LUA_TNIL) r = nl_lua_checkdevice(L, -1);
  lua_pop(L, 1);
  return r;
}

int nl_lua_opt_bool(lua_State *L, int opts, const char *field, int def) {
  if (!opts) return def;
  int r = def;
  if (lua_getfield(L, opts, field) != LUA_TNIL) r = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return r;
}

lua_Number nl_lua_opt_number(lua_State *L, int opts, const char *field, lua_Number def) {
  if (!opts) return def;
  lua_Number r = def;
  if (lua_getfield(L, opts, field) != LUA_TNIL) {
    int ok;
    r = lua_tonumberx(L, -1, &ok);
    if (!ok) luaL_error(L, "option '%s' must be a number (got %s)", field, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return r;
}

void nl_lua_pushsize(lua_State *L, int ndim, const int64_t *shape) {
  lua_createtable(L, ndim, 0);
  for (int i = 0; i < ndim; i++) {
    lua_pushinteger(L, shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  luaL_setmetatable(L, NL_SIZE_MT);
}

/* ---- nested Lua tables -> tensor ------------------------------------------------------ */
/* Walks a nested table: infers the shape (rectangular), the category of the values
 * (bool < int < float) and checks every leaf. */
typedef struct {
  int ndim;
  int64_t shape[NL_MAXDIM];
  int kind; /* 0 no leaves, 1 bool, 2 int, 3 float */
} nl_nest;

/* The shape follows the first element at each depth; nl_nest_check then verifies that every
 * table agrees (rectangular) and that every leaf is a number or a boolean. */
static void nl_nest_shape(lua_State *L, int idx, nl_nest *s) {
  lua_pushvalue(L, idx);
  while (lua_type(L, -1) == LUA_TTABLE && !nl_lua_to(L, -1)) {
    if (s->ndim >= NL_MAXDIM) luaL_error(L, "tensor: nested tables deeper than %d", NL_MAXDIM);
    int64_t len = (int64_t)luaL_len(L, -1);
    s->shape[s->ndim++] = len;
    if (len == 0) break;
    lua_geti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
}

static void nl_nest_check(lua_State *L, int idx, int depth, nl_nest *s) {
  int t = lua_type(L, idx);
  nl_tensor *st = nl_lua_to(L, idx);
  if (depth < s->ndim) {
    if (t != LUA_TTABLE || st)
      luaL_error(L, "tensor: ragged nested table (expected a table of length %d at depth %d, got %s)",
                 (int)s->shape[depth], depth + 1, luaL_typename(L, idx));
    int64_t len = (int64_t)luaL_len(L, idx);
    if (len != s->shape[depth])
      luaL_error(L, "tensor: ragged nested table (dim %d has lengths %d and %d)", depth + 1,
                 (int)s->shape[depth], (int)len);
    for (int64_t i = 1; i <= len; i++) {
      lua_geti(L, idx, i);
      nl_nest_check(L, lua_gettop(L), depth + 1, s);
      lua_pop(L, 1);
    }
    return;
  }
  int k;
  if (t == LUA_TBOOLEAN) k = 1;
  else if (t == LUA_TNUMBER) k = lua_isinteger(L, idx) ? 2 : 3;
  else if (st && st->ndim == 0 && nl_device_of(st).type == NL_CPU) k = nl_dtype_is_float(st->dtype) ? 3 : st->dtype == NL_BOOL ? 1 : 2;
  else {
    luaL_error(L, "tensor: expected numbers or booleans, got %s", luaL_typename(L, idx));
    return;
  }
  if (k > s->kind) s->kind = k;
}

static void nl_nest_fill(lua_State *L, int idx, nl_tensor *t, int64_t *pos) {
  if (lua_type(L, idx) == LUA_TTABLE && !nl_lua_to(L, idx)) {
    int64_t len = (int64_t)luaL_len(L, idx);
    for (int64_t i = 1; i <= len; i++) {
      lua_geti(L, idx, i);
      nl_nest_fill(L, lua_gettop(L), t, pos);
      lua_pop(L, 1);
    }
    return;
  }
  char *base = nl_data(t);
  int64_t i = (*pos)++;
  nl_tensor *st = nl_lua_to(L, idx);
  double v = st ? nl_get_flat(st, 0) : lua_isboolean(L, idx) ? lua_toboolean(L, idx) : lua_tonumber(L, idx);
  switch (t->dtype) {
  case NL_FLOAT32: ((float *)base)[i] = (float)v; break;
  case NL_FLOAT64: ((double *)base)[i] = v; break;
  case NL_INT64: ((int64_t *)base)[i] = st ? nl_get_flat_i64(st, 0) : lua_isinteger(L, idx) ? lua_tointeger(L, idx) : (int64_t)v; break;
  case NL_INT32: ((int32_t *)base)[i] = (int32_t)v; break;
  case NL_UINT8: ((uint8_t *)base)[i] = (uint8_t)(int64_t)v; break;
  case NL_BOOL: ((uint8_t *)base)[i] = v != 0; break;
  default: break;
  }
}

nl_tensor *nl_lua_totensor(lua_State *L, int idx, int dtype, nl_device dev) {
  idx = lua_absindex(L, idx);
  nl_tensor *src = nl_lua_to(L, idx);
  if (src) {
    nl_tensor_retain(src);
    return src;
  }
  nl_nest s = {0};
  nl_nest_shape(L, idx, &s);
  nl_nest_check(L, idx, 0, &s);
  if (dtype < 0)
    dtype = s.kind == 1 ? NL_BOOL : s.kind == 2 ? NL_INT64 : (int)nl_default_dtype();
  /* Build on the CPU, then move (the front end of `to` handles devices). */
  nl_tensor *t = nl_empty(s.ndim, s.shape, dtype == NL_FLOAT16 || dtype == NL_BFLOAT16 ? NL_FLOAT32 : (nl_dtype)dtype, nl_cpu());
  if (!t) nl_lua_error(L);
  int64_t pos = 0;
  nl_nest_fill(L, idx, t, &pos);
  if (dev.type != NL_CPU || t->dtype != (nl_dtype)dtype) {
    nl_tensor *moved = nl_empty(t->ndim, t->shape, (nl_dtype)dtype, dev);
    nl_kargs a = {.out = moved, .in = {t}};
    if (!moved || nl_run(NL_OP_COPY, &a) < 0) {
      nl_tensor_free(t);
      nl_tensor_free(moved);
      nl_lua_error(L);
    }
    nl_tensor_free(t);
    t = moved;
  }
  return t;
}

/* ---- registration ----------------------------------------------------------------------- */
void nl_lua_register(lua_State *L, const nl_lua_reg *r) {
  for (; r->name; r++) {
    if (r->where & NL_FN) {
      lua_pushcfunction(L, r->fn);
      lua_setfield(L, -3, r->name);
    }
    if (r->where & NL_METHOD) {
      lua_pushcfunction(L, r->fn);
      lua_setfield(L, -2, r->name);
    }
  }
}

void nl_lua_getter(lua_State *L, const char *name, lua_CFunction fn) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &NL_GETTERS_KEY);
  lua_pushcfunction(L, fn);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

void nl_lua_setter(lua_State *L, const char *name, lua_CFunction fn) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &NL_SETTERS_KEY);
  lua_pushcfunction(L, fn);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

/* ---- core attributes ---------------------------------------------------------------------- */
static int nl_get_shape(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_lua_pushsize(L, t->ndim, t->shape);
  return 1;
}
static int nl_get_dtype(lua_State *L) {
  lua_pushstring(L, nl_dtype_name(nl_lua_check(L, 1)->dtype));
  return 1;
}
static int nl_get_device(lua_State *L) {
  char b[32];
  nl_device_name(nl_device_of(nl_lua_check(L, 1)), b, sizeof b);
  lua_pushstring(L, b);
  return 1;
}

static int nl_m_dim(lua_State *L) { lua_pushinteger(L, nl_lua_check(L, 1)->ndim); return 1; }
static int nl_m_numel(lua_State *L) { lua_pushinteger(L, nl_numel(nl_lua_check(L, 1))); return 1; }
static int nl_m_is_contiguous(lua_State *L) { lua_pushboolean(L, nl_is_contiguous(nl_lua_check(L, 1))); return 1; }
static int nl_m_is_view(lua_State *L) { lua_pushboolean(L, nl_lua_check(L, 1)->is_view); return 1; }
static int nl_m_element_size(lua_State *L) { lua_pushinteger(L, (lua_Integer)nl_dtype_size(nl_lua_check(L, 1)->dtype)); return 1; }

static int nl_m_size(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    nl_lua_pushsize(L, t->ndim, t->shape);
    return 1;
  }
  int d = nl_lua_dim(L, "size", luaL_checkinteger(L, 2), t->ndim, 0);
  lua_pushinteger(L, t->ndim ? t->shape[d] : 1);
  return 1;
}

static int nl_m_stride(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    nl_lua_pushsize(L, t->ndim, t->stride);
    lua_pushnil(L);
    lua_setmetatable(L, -2); /* strides print as a plain list */
    return 1;
  }
  int d = nl_lua_dim(L, "stride", luaL_checkinteger(L, 2), t->ndim, 0);
  lua_pushinteger(L, t->ndim ? t->stride[d] : 1);
  return 1;
}

static int nl_t_is_tensor(lua_State *L) { lua_pushboolean(L, nl_lua_to(L, 1) != NULL); return 1; }

static int nl_t_set_default_dtype(lua_State *L) {
  nl_dtype dt = nl_lua_checkdtype(L, 1);
  if (!nl_dtype_is_float(dt)) return luaL_error(L, "set_default_dtype: only floating dtypes (got %s)", nl_dtype_name(dt));
  nl_set_default_dtype(dt);
  return 0;
}
static int nl_t_get_default_dtype(lua_State *L) { lua_pushstring(L, nl_dtype_name(nl_default_dtype())); return 1; }

/* torch.set_default_device("cpu" | "cuda" | "cuda:N") (PyTorch 2's name): the device of new
 * tensors from the creation functions when their options name none; *_like, conversions
 * and data loading are unaffected. A CUDA device must exist. */
static int nl_t_set_default_device(lua_State *L) {
  nl_device d = nl_lua_checkdevice(L, 1);
  if (d.type == NL_CUDA) {
    int n = nl_cuda_device_count();
    if (n == 0)
      return luaL_error(L, "set_default_device: '%s' needs a GPU, but torch.cuda.is_available() is false", lua_tostring(L, 1));
    if (d.index >= n)
      return luaL_error(L, "set_default_device: '%s' does not exist (%d CUDA device%s)", lua_tostring(L, 1), n, n == 1 ? "" : "s");
  }
  nl_set_default_device(d);
  return 0;
}
static int nl_t_get_default_device(lua_State *L) {
  char name[32];
  nl_device_name(nl_default_device(), name, sizeof name);
  lua_pushstring(L, name);
  return 1;
}

/* Size: torch.Size([3, 4]) */
static int nl_size_tostring(lua_State *L) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "torch.Size([");
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    if (i > 1) luaL_addstring(&b, ", ");
    luaL_addvalue(&b);
  }
  luaL_addstring(&b, "])");
  luaL_pushresult(&b);
  return 1;
}

static int nl_size_eq(lua_State *L) {
  lua_Integer n = luaL_len(L, 1);
  if (!lua_istable(L, 2) || luaL_len(L, 2) != n) { lua_pushboolean(L, 0); return 1; }
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    lua_geti(L, 2, i);
    int eq = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!eq) { lua_pushboolean(L, 0); return 1; }
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int nl_size_numel(lua_State *L) {
  lua_Integer n = luaL_len(L, 1), p = 1;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    p *= lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  lua_pushinteger(L, p);
  return 1;
}

static const nl_lua_reg nl_core_regs[] = {
    {"dim", nl_m_dim, NL_METHOD},
    {"numel", nl_m_numel, NL_BOTH},
    {"size", nl_m_size, NL_METHOD},
    {"stride", nl_m_stride, NL_METHOD},
    {"is_contiguous", nl_m_is_contiguous, NL_METHOD},
    {"is_view", nl_m_is_view, NL_METHOD},
    {"element_size", nl_m_element_size, NL_METHOD},
    {"is_tensor", nl_t_is_tensor, NL_FN},
    {"set_default_dtype", nl_t_set_default_dtype, NL_FN},
    {"set_default_device", nl_t_set_default_device, NL_FN},
    {"get_default_device", nl_t_get_default_device, NL_FN},
    {"get_default_dtype", nl_t_get_default_dtype, NL_FN},
    {NULL, NULL, 0},
};

/* require "torch._C": the C half of the torch module (lua/torch/init.lua builds on it). */
int luaopen_torch_C(lua_State *L) {
  /* weak cache nl_tensor* -> userdata (an array of slots in the primary state) */
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &NL_CACHE_KEY) == LUA_TNIL) {
    lua_createtable(L, nl_primary ? 0 : 4096, 0);
    lua_newtable(L);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &NL_CACHE_KEY);
    if (!nl_primary) { /* claim: slots for this state; a sentinel notices its close */
      nl_primary = lua_topointer(L, -1);
      nl_slot_nfree = nl_slot_next = 0;
      lua_pushvalue(L, -1);
      nl_cache_ref = luaL_ref(L, LUA_REGISTRYINDEX);
      lua_newuserdatauv(L, 1, 0);
      lua_newtable(L);
      lua_pushcfunction(L, nl_primary_gc);
      lua_setfield(L, -2, "__gc");
      lua_setmetatable(L, -2);
      lua_rawsetp(L, LUA_REGISTRYINDEX, &NL_PRIMARY_GONE);
    }
  }
  lua_pop(L, 1);

  lua_newtable(L); /* torch */
  lua_newtable(L); /* methods */
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &NL_METHODS_KEY);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &NL_GETTERS_KEY);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &NL_SETTERS_KEY);

  if (luaL_newmetatable(L, NL_TENSOR_MT)) {
    lua_pushcfunction(L, nl_tensor_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, nl_tensor_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, nl_tensor_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, nl_tensor_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushvalue(L, -2); /* methods */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &NL_GETTERS_KEY);
    lua_pushcclosure(L, nl_tensor_index, 2);
    lua_setfield(L, -2, "__index");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &NL_SETTERS_KEY);
    lua_pushcclosure(L, nl_tensor_newindex, 1);
    lua_setfield(L, -2, "__newindex");
  }
  nl_mt_ptr = lua_topointer(L, -1);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &NL_MT_KEY);
  if (nl_cache_ref && !nl_mt_ref) { /* the primary state, first open */
    lua_pushvalue(L, -1);
    nl_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_setfield(L, -3, "_metatable"); /* torch._metatable: lua/torch adds __tostring etc. */

  if (luaL_newmetatable(L, NL_SIZE_MT)) {
    lua_pushcfunction(L, nl_size_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, nl_size_eq);
    lua_setfield(L, -2, "__eq");
    lua_newtable(L);
    lua_pushcfunction(L, nl_size_numel);
    lua_setfield(L, -2, "numel");
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "torch.Size");
    lua_setfield(L, -2, "__name");
  }
  lua_setfield(L, -3, "_size_metatable");

  nl_lua_getter(L, "shape", nl_get_shape);
  nl_lua_getter(L, "dtype", nl_get_dtype);
  nl_lua_getter(L, "device", nl_get_device);

  nl_lua_register(L, nl_core_regs);
  nl_lua_open_create(L);
  nl_lua_open_math(L);
  nl_lua_open_reduce(L);
  nl_lua_open_shape(L);
  nl_lua_open_index(L);
  nl_lua_open_linalg(L);
  nl_lua_open_convert(L);
  nl_lua_open_util(L);
  nl_lua_open_print(L);
  nl_lua_open_autograd(L);
  nl_lua_open_io(L);
  nl_lua_open_nn(L);
  nl_lua_open_optim(L);

  lua_setfield(L, -2, "Tensor"); /* torch.Tensor = methods */
  return 1;
}
