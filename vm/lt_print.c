/* lt_print.c: C helpers of the tensor printer (lua/torch/print.lua) and CPU memory probes.
 *
 * torch._print_data(t, edgeitems, summarize) -> flat Lua array of the elements that the
 *   printer shows, in row-major order: along every dim of size > 2 * edgeitems (when
 *   summarize is true) only the first and the last `edgeitems` indices are kept, as in
 *   PyTorch's get_summarized_data. Floats come back as Lua floats (the double value of the
 *   element), integer dtypes as Lua integers, bool as booleans. A non-CPU tensor is copied
 *   to the CPU first (float16/bfloat16 converted to float32, as PyTorch's printer does);
 *   printing is not a hot path. Only the kept elements (a few thousand at most under the
 *   default threshold) become Lua values.
 * torch.memory_allocated_cpu() -> bytes held by live CPU tensors (nl_cpu_bytes_in_use).
 * torch._cpu_cache_bytes() -> bytes parked in the CPU caching allocator (tensor/storage.c).
 * torch._cpu_cache_release() drops them (returns the number of bytes released). */
#include "ltensor.h"

#include "../tensor/nl_alloc.h"
#include "../tensor/nl_ops.h"

/* Kept indices of one dim: [0, e) and [n - e, n) when summarised, else [0, n). */
/* n > 2 * e without the product (edgeitems may be huge: 2 * e overflows) */
static int nl_print_cut(int64_t n, int64_t e) { return n > 0 && e <= (n - 1) / 2; }

static int64_t nl_print_kept(int64_t n, int64_t e, int summarize, int64_t k) {
  if (!summarize || !nl_print_cut(n, e)) return k;
  return k < e ? k : n - 2 * e + k;
}

static int nl_l_print_data(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  lua_Integer e = luaL_optinteger(L, 2, 3);
  int summarize = lua_toboolean(L, 3);
  if (e < 0) return luaL_error(L, "print: edgeitems must be >= 0 (got %I)", e);
  nl_tensor *c = t;
  nl_tensor_retain(c);
  if (nl_device_of(c).type != NL_CPU) {
    if (c->dtype == NL_FLOAT16 || c->dtype == NL_BFLOAT16) {
      nl_tensor *f = nl_to_dtype(c, NL_FLOAT32);
      nl_tensor_free(c);
      if (!f) return nl_lua_error(L);
      c = f;
    }
    nl_tensor *h = nl_to_device(c, nl_cpu());
    nl_tensor_free(c);
    if (!h) return nl_lua_error(L);
    c = h;
  }
  /* kept sizes per dim */
  int nd = c->ndim;
  int64_t kept[NL_MAXDIM], idx[NL_MAXDIM], total = 1;
  for (int d = 0; d < nd; d++) {
    int64_t n = c->shape[d];
    kept[d] = (summarize && nl_print_cut(n, e)) ? 2 * e : n;
    total *= kept[d];
    idx[d] = 0;
  }
  lua_createtable(L, total > (1 << 24) ? 0 : (int)total, 0);
  /* row-major logical strides of the original shape */
  int64_t lstride[NL_MAXDIM];
  int64_t s = 1;
  for (int d = nd - 1; d >= 0; d--) { lstride[d] = s; s *= c->shape[d]; }
  for (int64_t k = 0; k < total; k++) {
    int64_t flat = 0;
    for (int d = 0; d < nd; d++) flat += nl_print_kept(c->shape[d], e, summarize, idx[d]) * lstride[d];
    if (nl_dtype_is_float(c->dtype)) lua_pushnumber(L, nl_get_flat(c, flat));
    else if (c->dtype == NL_BOOL) lua_pushboolean(L, nl_get_flat(c, flat) != 0);
    else lua_pushinteger(L, nl_get_flat_i64(c, flat));
    lua_rawseti(L, -2, k + 1);
    for (int d = nd - 1; d >= 0; d--) { /* odometer */
      if (++idx[d] < kept[d]) break;
      idx[d] = 0;
    }
  }
  nl_tensor_free(c);
  return 1;
}

static int nl_l_memory_allocated_cpu(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nl_cpu_bytes_in_use());
  return 1;
}

static int nl_l_cpu_cache_bytes(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nl_cpu_cache_bytes());
  return 1;
}

static int nl_l_cpu_cache_release(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nl_cpu_cache_release());
  return 1;
}

static const nl_lua_reg nl_print_regs[] = {
    {"_print_data", nl_l_print_data, NL_FN},
    {"memory_allocated_cpu", nl_l_memory_allocated_cpu, NL_FN},
    {"_cpu_cache_bytes", nl_l_cpu_cache_bytes, NL_FN},
    {"_cpu_cache_release", nl_l_cpu_cache_release, NL_FN},
    {NULL, NULL, 0},
};

void nl_lua_open_print(lua_State *L) { nl_lua_register(L, nl_print_regs); }
