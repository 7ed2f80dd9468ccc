/* lt_shape.c: Lua bindings of the shape family (see ltensor.h for the conventions):
 * view reshape flatten unflatten squeeze unsqueeze expand expand_as transpose t T permute
 * narrow select chunk split contiguous clone detach unfold flip tile cat stack. */
#include <stdlib.h>

#include "ltensor.h"

#include "../tensor/nl_ops.h"
#include "../autograd/nl_ag_ops.h"

/* Index of the last positional argument (before a trailing options table). */
static int nl_last_arg(lua_State *L) {
  int opts = nl_lua_opts(L);
  return (opts ? opts : lua_gettop(L) + 1) - 1;
}

/* A list of dims from varargs at [idx, last] or one table at idx, normalised to 0-based. */
static int nl_lua_dims(lua_State *L, const char *op, int idx, int last, int ndim, int *dims) {
  int64_t raw[NL_MAXDIM];
  int n = nl_lua_shape(L, op, idx, last, raw);
  for (int i = 0; i < n; i++) dims[i] = nl_lua_dim(L, op, raw[i], ndim, 0);
  return n;
}

/* t:op(sizes...) or t:op({sizes}) for the ops f(t, n, sizes): view reshape expand tile. */
typedef nl_tensor *(*nl_sized_fn)(nl_tensor *t, int n, const int64_t *sizes);
static int nl_l_sized(lua_State *L, const char *op, nl_sized_fn f) {
  nl_tensor *t = nl_lua_check(L, 1);
  int64_t sizes[NL_MAXDIM];
  int n = nl_lua_shape(L, op, 2, nl_last_arg(L), sizes);
  nl_lua_push(L, f(t, n, sizes));
  return 1;
}

static int nl_l_view(lua_State *L) { return nl_l_sized(L, "view", nl_ag_view); }

static int nl_l_reshape(lua_State *L) { return nl_l_sized(L, "reshape", nl_ag_reshape); }

static int nl_l_flatten(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int nd = t->ndim;
  int s = nl_lua_dim(L, "flatten", luaL_optinteger(L, 2, 1), nd, 0);
  int e = nl_lua_dim(L, "flatten", luaL_optinteger(L, 3, -1), nd, 0);
  nl_lua_push(L, nl_ag_flatten(t, s, e));
  return 1;
}

static int nl_l_unflatten(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int d = nl_lua_dim(L, "unflatten", luaL_checkinteger(L, 2), t->ndim, 0);
  int64_t sizes[NL_MAXDIM];
  luaL_checktype(L, 3, LUA_TTABLE);
  int n = nl_lua_shape(L, "unflatten", 3, 3, sizes);
  nl_lua_push(L, nl_ag_unflatten(t, d, n, sizes));
  return 1;
}

static int nl_l_squeeze(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int d = lua_isnoneornil(L, 2) ? -1 : nl_lua_dim(L, "squeeze", luaL_checkinteger(L, 2), t->ndim, 0);
  if (t->ndim == 0) d = -1;
  nl_lua_push(L, nl_ag_squeeze(t, d));
  return 1;
}

static int nl_l_unsqueeze(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_lua_push(L, nl_ag_unsqueeze(t, nl_lua_dim(L, "unsqueeze", luaL_checkinteger(L, 2), t->ndim, 1)));
  return 1;
}

static int nl_l_expand(lua_State *L) { return nl_l_sized(L, "expand", nl_ag_expand); }

static int nl_l_expand_as(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1), *o = nl_lua_check(L, 2);
  nl_lua_push(L, nl_ag_expand(t, o->ndim, o->shape));
  return 1;
}

static int nl_l_transpose(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int a = nl_lua_dim(L, "transpose", luaL_checkinteger(L, 2), t->ndim, 0);
  int b = nl_lua_dim(L, "transpose", luaL_checkinteger(L, 3), t->ndim, 0);
  nl_lua_push(L, nl_ag_transpose(t, a, b));
  return 1;
}

static int nl_l_t(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (t->ndim > 2) return luaL_error(L, "t: expects a tensor with <= 2 dimensions, but self is %dD", t->ndim);
  nl_lua_push(L, t->ndim == 2 ? nl_ag_transpose(t, 0, 1) : nl_detach(t));
  return 1;
}

static int nl_get_T(lua_State *L) {
  nl_lua_push(L, nl_ag_reverse_dims(nl_lua_check(L, 1)));
  return 1;
}

static int nl_l_permute(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int dims[NL_MAXDIM];
  int n = nl_lua_dims(L, "permute", 2, nl_last_arg(L), t->ndim, dims);
  if (n != t->ndim) return luaL_error(L, "permute: number of dims don't match (got %d dims for a tensor of %d dims)", n, t->ndim);
  nl_lua_push(L, nl_ag_permute(t, dims));
  return 1;
}

static int nl_l_narrow(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "narrow: cannot be applied to a 0-d tensor");
  int d = nl_lua_dim(L, "narrow", luaL_checkinteger(L, 2), t->ndim, 0);
  lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
  int64_t size = t->shape[d];
  if (start == 0 || start < -size || start > size + 1)
    return luaL_error(L, "narrow: start %d is out of range for dim %d of size %d (expected 1..%d or %d..-1)",
                      (int)start, d + 1, (int)size, (int)size + 1, (int)-size);
  nl_lua_push(L, nl_ag_narrow(t, d, start > 0 ? start - 1 : start + size, len));
  return 1;
}

/* Lua index (1-based, negative from the end) into a dim of `size`; Lua error when out of range. */
static int64_t nl_lua_pos(lua_State *L, const char *op, lua_Integer i, int dim, int64_t size) {
  if (i == 0 || i < -size || i > size)
    luaL_error(L, "%s: index %d is out of range for dim %d of size %d (expected 1..%d or %d..-1)", op, (int)i,
               dim + 1, (int)size, (int)size, (int)-size);
  return i > 0 ? i - 1 : i + size;
}

static int nl_l_select(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "select: cannot be applied to a 0-d tensor");
  int d = nl_lua_dim(L, "select", luaL_checkinteger(L, 2), t->ndim, 0);
  nl_lua_push(L, nl_ag_select(t, d, nl_lua_pos(L, "select", luaL_checkinteger(L, 3), d, t->shape[d])));
  return 1;
}

/* Pushes a Lua list of the n views. */
static int nl_push_split(lua_State *L, nl_tensor *t, int n, const int64_t *sizes, int d) {
  nl_tensor **out = calloc((size_t)(n ? n : 1), sizeof *out);
  if (!out) return luaL_error(L, "split: out of memory");
  if (nl_ag_split_with_sizes(t, n, sizes, d, out) < 0) {
    free(out);
    return nl_lua_error(L);
  }
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    nl_lua_push(L, out[i]);
    lua_rawseti(L, -2, i + 1);
  }
  free(out);
  return 1;
}

static int nl_l_chunk(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "chunk: expects at least a 1-dimensional tensor");
  lua_Integer chunks = luaL_checkinteger(L, 2);
  int d = nl_lua_dim(L, "chunk", luaL_optinteger(L, 3, 1), t->ndim, 0);
  /* at most min(chunks, size) pieces when size > 0: chunk(x, 2^62) gives size pieces of 1 */
  lua_Integer lim = chunks > 0 ? chunks : 1;
  if (t->shape[d] > 0 && lim > t->shape[d]) lim = t->shape[d];
  int max = lim < 1 << 20 ? (int)lim : 1;
  int64_t *sizes = malloc(sizeof(int64_t) * (size_t)max);
  if (!sizes) return luaL_error(L, "chunk: out of memory");
  int n = nl_chunk_sizes("chunk", t->shape[d], chunks, sizes, max);
  if (n < 0) { free(sizes); return nl_lua_error(L); }
  /* copy to the Lua stack's lifetime: a userdata buffer frees itself if a push raises */
  int64_t *buf = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(n ? n : 1), 0);
  for (int i = 0; i < n; i++) buf[i] = sizes[i];
  free(sizes);
  nl_push_split(L, t, n, buf, d);
  return 1;
}

static int nl_l_split(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (t->ndim == 0) return luaL_error(L, "split: expects at least a 1-dimensional tensor");
  int d = nl_lua_dim(L, "split", luaL_optinteger(L, 3, 1), t->ndim, 0);
  int64_t *buf;
  int n;
  if (lua_istable(L, 2)) {
    n = (int)luaL_len(L, 2);
    buf = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(n ? n : 1), 0);
    for (int i = 0; i < n; i++) {
      lua_geti(L, 2, i + 1);
      int ok;
      buf[i] = lua_tointegerx(L, -1, &ok);
      if (!ok) return luaL_error(L, "split: split size %d is not an integer", i + 1);
      lua_pop(L, 1);
    }
  } else {
    lua_Integer ss = luaL_checkinteger(L, 2);
    int64_t size = t->shape[d];
    int64_t max = ss > 0 ? size / ss + (size % ss != 0) : 1; /* ceil; size + ss - 1 may overflow */
    if (max < 1) max = 1;
    if (max > (1 << 24)) return luaL_error(L, "split: too many pieces");
    buf = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)max, 0);
    n = nl_split_sizes("split", size, ss, buf, (int)max);
    if (n < 0) return nl_lua_error(L);
  }
  nl_push_split(L, t, n, buf, d);
  return 1;
}

static int nl_l_contiguous(lua_State *L) { nl_lua_push(L, nl_ag_contiguous(nl_lua_check(L, 1))); return 1; }
static int nl_l_clone(lua_State *L) { nl_lua_push(L, nl_ag_clone(nl_lua_check(L, 1))); return 1; }
static int nl_l_detach(lua_State *L) { nl_lua_push(L, nl_detach(nl_lua_check(L, 1))); return 1; }

static int nl_l_unfold(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int d = nl_lua_dim(L, "unfold", luaL_checkinteger(L, 2), t->ndim, 0);
  nl_lua_push(L, nl_ag_unfold(t, d, luaL_checkinteger(L, 3), luaL_checkinteger(L, 4)));
  return 1;
}

static int nl_l_flip(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int dims[NL_MAXDIM];
  int n = nl_lua_dims(L, "flip", 2, nl_last_arg(L), t->ndim, dims);
  nl_lua_push(L, nl_ag_flip(t, n, dims));
  return 1;
}

static int nl_l_tile(lua_State *L) { return nl_l_sized(L, "tile", nl_ag_tile); }

/* torch.cat(list, dim=1) / torch.stack(list, dim=1): the list's tensors are borrowed from
 * the Lua table (kept alive by it) into a userdata array (freed by the GC on errors). */
static int nl_l_catstack(lua_State *L, int stack) {
  const char *op = stack ? "stack" : "cat";
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2); /* the array below goes to index 3 */
  int n = (int)luaL_len(L, 1);
  if (n == 0) return luaL_error(L, "%s: expected a non-empty list of tensors", op);
  nl_tensor **ts = lua_newuserdatauv(L, sizeof *ts * (size_t)n, 0);
  int ref = -1;
  for (int i = 0; i < n; i++) {
    lua_geti(L, 1, i + 1);
    ts[i] = nl_lua_to(L, -1);
    if (!ts[i]) return luaL_error(L, "%s: expected a list of tensors, but entry %d is a %s", op, i + 1, luaL_typename(L, -1));
    lua_pop(L, 1);
    if (ref < 0 && !(ts[i]->ndim == 1 && ts[i]->shape[0] == 0)) ref = i;
  }
  int nd = stack ? ts[0]->ndim : ts[ref < 0 ? 0 : ref]->ndim;
  int d = nl_lua_dim(L, op, luaL_optinteger(L, 2, 1), nd, stack);
  nl_lua_push(L, stack ? nl_ag_stack(n, ts, d) : nl_ag_cat(n, ts, d));
  return 1;
}

static int nl_l_cat(lua_State *L) { return nl_l_catstack(L, 0); }
static int nl_l_stack(lua_State *L) { return nl_l_catstack(L, 1); }

static const nl_lua_reg nl_shape_regs[] = {
    {"view", nl_l_view, NL_BOTH},
    {"reshape", nl_l_reshape, NL_BOTH},
    {"flatten", nl_l_flatten, NL_BOTH},
    {"unflatten", nl_l_unflatten, NL_BOTH},
    {"squeeze", nl_l_squeeze, NL_BOTH},
    {"unsqueeze", nl_l_unsqueeze, NL_BOTH},
    {"expand", nl_l_expand, NL_BOTH},
    {"expand_as", nl_l_expand_as, NL_BOTH},
    {"transpose", nl_l_transpose, NL_BOTH},
    {"t", nl_l_t, NL_BOTH},
    {"permute", nl_l_permute, NL_BOTH},
    {"narrow", nl_l_narrow, NL_BOTH},
    {"select", nl_l_select, NL_BOTH},
    {"chunk", nl_l_chunk, NL_BOTH},
    {"split", nl_l_split, NL_BOTH},
    {"contiguous", nl_l_contiguous, NL_BOTH},
    {"clone", nl_l_clone, NL_BOTH},
    {"detach", nl_l_detach, NL_BOTH},
    {"unfold", nl_l_unfold, NL_METHOD},
    {"flip", nl_l_flip, NL_BOTH},
    {"tile", nl_l_tile, NL_BOTH},
    {"cat", nl_l_cat, NL_FN},
    {"stack", nl_l_stack, NL_FN},
    {NULL, NULL, 0},
};

void nl_lua_open_shape(lua_State *L) {
  nl_lua_register(L, nl_shape_regs);
  nl_lua_getter(L, "T", nl_get_T);
}
