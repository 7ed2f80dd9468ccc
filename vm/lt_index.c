/* lt_index.c: t[i], t[{...}] and assignment; index_select, gather, scatter(_add),
 * masked_fill/select, take, index_fill/add/copy (see ltensor.h).
 *
 * Index tensors are 1-based in Lua: the binding makes a 0-based int64 copy (nl_l_index0)
 * and the C front ends (tensor/ops_index.c) range-check it and report errors in 1-based
 * terms. Indexing keys: a number selects (drops the dim), {a, b[, step]} is an inclusive
 * range (keeps the dim), {} takes all, a bool tensor masks the dims it covers, an int64
 * tensor indexes one dim (index_select). Several tensor entries follow PyTorch's advanced
 * indexing (nl_index): the int64 tensors and the masks (as their nonzero() coordinates)
 * broadcast together and select one element per broadcast position; numbers select first
 * (like PyTorch, they are not advanced indices), ranges keep their dims. */
#include <stdbool.h>
#include <string.h>

#include "ltensor.h"

#include "../tensor/nl_iter.h"
#include "../tensor/nl_ops.h"
#include "../autograd/nl_ag_ops.h"

/* ---- helpers ------------------------------------------------------------------------------ */
/* A 0-based int64 copy of the 1-based index tensor at idx (int64/int32/uint8). With size >= 0,
 * negative entries count from the end of a dim of that size (indexing keys). Anchored on the
 * Lua stack (pushed) so that an error never leaks it; returns the tensor. */
static nl_tensor *nl_l_index0(lua_State *L, int idx, const char *op, int64_t size) {
  nl_tensor *i = nl_lua_check(L, idx);
  if (!nl_dtype_is_int(i->dtype))
    luaL_error(L, "%s: index must be an int64 tensor (got %s)", op, nl_dtype_name(i->dtype));
  if (nl_device_of(i).type != NL_CPU) luaL_error(L, "%s: index tensors must be on the cpu", op);
  nl_tensor *c = nl_empty(i->ndim, i->shape, NL_INT64, nl_cpu());
  if (!c || nl_copy_(c, i) < 0) {
    nl_tensor_free(c);
    nl_lua_error(L);
  }
  int64_t *p = nl_data(c), n = nl_numel(c);
  /* INT64_MIN stays as is (out of range either way): INT64_MIN - 1 overflows */
  for (int64_t k = 0; k < n; k++)
    p[k] = (size >= 0 && p[k] < 0) ? p[k] + size : p[k] == INT64_MIN ? p[k] : p[k] - 1;
  nl_lua_push(L, c);
  return c;
}

/* A fill value: number, boolean or one-element tensor. */
static double nl_l_value(lua_State *L, int idx, const char *op) {
  if (lua_isboolean(L, idx)) return lua_toboolean(L, idx);
  nl_tensor *t = nl_lua_to(L, idx);
  if (t) {
    if (nl_numel(t) != 1 || nl_device_of(t).type != NL_CPU)
      luaL_error(L, "%s: value must be a number or a one-element cpu tensor", op);
    return nl_get_flat(t, 0);
  }
  int ok;
  double v = lua_tonumberx(L, idx, &ok);
  if (!ok) luaL_error(L, "%s: value must be a number (got %s)", op, luaL_typename(L, idx));
  return v;
}

static int nl_l_dim(lua_State *L, const char *op, int arg, const nl_tensor *t) {
  return nl_lua_dim(L, op, luaL_checkinteger(L, arg), t->ndim, 0);
}

/* ---- functions ---------------------------------------------------------------------------- */
static int nl_l_index_select(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int d = nl_l_dim(L, "index_select", 2, t);
  nl_tensor *i = nl_l_index0(L, 3, "index_select", -1);
  nl_lua_push(L, nl_ag_index_select(t, d, i));
  return 1;
}

static int nl_l_gather(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int d = nl_l_dim(L, "gather", 2, t);
  nl_tensor *i = nl_l_index0(L, 3, "gather", -1);
  nl_lua_push(L, nl_ag_gather(t, d, i));
  return 1;
}

/* scatter(t, dim, idx, src | value), in place when inplace. */
static int nl_l_scatter_impl(lua_State *L, int add, int inplace) {
  const char *op = add ? (inplace ? "scatter_add_" : "scatter_add") : (inplace ? "scatter_" : "scatter");
  nl_tensor *t = nl_lua_check(L, 1);
  int d = nl_l_dim(L, op, 2, t);
  nl_tensor *src = nl_lua_to(L, 4);
  double v = 0;
  if (!src) {
    if (add) luaL_typeerror(L, 4, "tensor");
    v = nl_l_value(L, 4, op);
  }
  nl_tensor *i = nl_l_index0(L, 3, op, -1);
  if (inplace) {
    nl_lua_check_status(L, add ? nl_ag_scatter_add_(t, d, i, src) : nl_ag_scatter_(t, d, i, src, v));
    lua_pushvalue(L, 1);
  } else {
    nl_lua_push(L, add ? nl_ag_scatter_add(t, d, i, src) : nl_ag_scatter(t, d, i, src, v));
  }
  return 1;
}

static int nl_l_scatter(lua_State *L) { return nl_l_scatter_impl(L, 0, 0); }
static int nl_l_scatter_(lua_State *L) { return nl_l_scatter_impl(L, 0, 1); }
static int nl_l_scatter_add(lua_State *L) { return nl_l_scatter_impl(L, 1, 0); }
static int nl_l_scatter_add_(lua_State *L) { return nl_l_scatter_impl(L, 1, 1); }

static int nl_l_masked_fill(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1), *m = nl_lua_check(L, 2);
  nl_lua_push(L, nl_ag_masked_fill(t, m, nl_l_value(L, 3, "masked_fill")));
  return 1;
}

static int nl_l_masked_fill_(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1), *m = nl_lua_check(L, 2);
  nl_lua_check_status(L, nl_ag_masked_fill_(t, m, nl_l_value(L, 3, "masked_fill_")));
  lua_pushvalue(L, 1);
  return 1;
}

static int nl_l_masked_select(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1), *m = nl_lua_check(L, 2);
  nl_lua_push(L, nl_ag_masked_select(t, m));
  return 1;
}

static int nl_l_masked_scatter_(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1), *m = nl_lua_check(L, 2), *s = nl_lua_check(L, 3);
  nl_lua_check_status(L, nl_ag_masked_scatter_(t, m, s));
  lua_pushvalue(L, 1);
  return 1;
}

static int nl_l_take(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_tensor *i = nl_l_index0(L, 2, "take", -1);
  nl_lua_push(L, nl_ag_take(t, i));
  return 1;
}

/* index_fill_(dim, idx, v) / index_fill (a filled copy). */
static int nl_l_index_fill_impl(lua_State *L, int inplace) {
  const char *op = inplace ? "index_fill_" : "index_fill";
  nl_tensor *t = nl_lua_check(L, 1);
  int d = nl_l_dim(L, op, 2, t);
  double v = nl_l_value(L, 4, op);
  nl_tensor *i = nl_l_index0(L, 3, op, -1);
  if (inplace) {
    nl_lua_check_status(L, nl_ag_index_fill_(t, d, i, v));
    lua_pushvalue(L, 1);
    return 1;
  }
  nl_lua_push(L, nl_ag_index_fill(t, d, i, v));
  return 1;
}
static int nl_l_index_fill_(lua_State *L) { return nl_l_index_fill_impl(L, 1); }
static int nl_l_index_fill(lua_State *L) { return nl_l_index_fill_impl(L, 0); }

/* index_add_(dim, idx, src, {alpha=1}) / index_add. */
static int nl_l_index_add_impl(lua_State *L, int inplace) {
  const char *op = inplace ? "index_add_" : "index_add";
  int opts = nl_lua_opts(L);
  nl_tensor *t = nl_lua_check(L, 1);
  int d = nl_l_dim(L, op, 2, t);
  nl_tensor *src = nl_lua_check(L, 4);
  double alpha = opts ? nl_lua_opt_number(L, opts, "alpha", 1) : luaL_optnumber(L, 5, 1);
  nl_tensor *i = nl_l_index0(L, 3, op, -1);
  if (inplace) {
    nl_lua_check_status(L, nl_ag_index_add_(t, d, i, src, alpha));
    lua_pushvalue(L, 1);
    return 1;
  }
  nl_lua_push(L, nl_ag_index_add(t, d, i, src, alpha));
  return 1;
}
static int nl_l_index_add_(lua_State *L) { return nl_l_index_add_impl(L, 1); }
static int nl_l_index_add(lua_State *L) { return nl_l_index_add_impl(L, 0); }

static int nl_l_index_copy_impl(lua_State *L, int inplace) {
  const char *op = inplace ? "index_copy_" : "index_copy";
  nl_tensor *t = nl_lua_check(L, 1);
  int d = nl_l_dim(L, op, 2, t);
  nl_tensor *src = nl_lua_check(L, 4);
  nl_tensor *i = nl_l_index0(L, 3, op, -1);
  if (!inplace) {
    nl_lua_push(L, nl_ag_index_copy(t, d, i, src));
    return 1;
  }
  nl_lua_check_status(L, nl_ag_index_copy_(t, d, i, src));
  lua_pushvalue(L, 1);
  return 1;
}
static int nl_l_index_copy_(lua_State *L) { return nl_l_index_copy_impl(L, 1); }
static int nl_l_index_copy(lua_State *L) { return nl_l_index_copy_impl(L, 0); }

/* ---- t[key] and t[key] = v ---------------------------------------------------------------- */
/* A tensor entry of a key, applied after the view entries: a bool mask over dims vdim..
 * vdim+k-1 of the view, or a 0-based int64 index along dim vdim. */
typedef struct { nl_tensor *idx; int vdim, k, is_mask, od; const nl_tensor *raw; } nl_tkey;

typedef struct {
  nl_tensor *v; /* the current view (anchored on the Lua stack) */
  int d;        /* next dim of v to index */
  int od;       /* the same dim counted in t (for messages) */
  int nt;       /* tensor entries */
  nl_tkey te[NL_MAXDIM];
} nl_keystate;

static void nl_key_push(lua_State *L, nl_keystate *s, nl_tensor *nv) {
  nl_lua_push(L, nv); /* raises nl_error() when nv is NULL */
  s->v = nv;
}

static void nl_key_need_dim(lua_State *L, nl_keystate *s, int k) {
  if (s->d + k > s->v->ndim)
    luaL_error(L, "t[...]: too many indices for a tensor of %d dims", s->od - s->d + s->v->ndim);
}

/* Applies the key entry at stack index e. */
static void nl_key_entry(lua_State *L, nl_keystate *s, int e) {
  e = lua_absindex(L, e);
  lua_checkstack(L, 8);
  nl_tensor *it = nl_lua_to(L, e);
  if (lua_type(L, e) == LUA_TNUMBER || (it && it->ndim == 0 && it->dtype != NL_BOOL && nl_dtype_is_int(it->dtype))) {
    lua_Integer i;
    if (it) i = nl_get_flat_i64(it, 0);
    else {
      int ok;
      i = lua_tointegerx(L, e, &ok);
      if (!ok) luaL_error(L, "t[...]: index must be an integer (got %s)", lua_tostring(L, e));
    }
    nl_key_need_dim(L, s, 1);
    int64_t size = s->v->shape[s->d];
    if (i == 0 || i < -size || i > size)
      luaL_error(L, "t[...]: index %d is out of range for dim %d of size %d (expected 1..%d or %d..-1)", (int)i,
                 s->od + 1, (int)size, (int)size, (int)-size);
    nl_key_push(L, s, nl_ag_select(s->v, s->d, i > 0 ? i - 1 : i + size));
    s->od++;
    return;
  }
  if (it) {
    if (s->nt >= NL_MAXDIM) luaL_error(L, "t[...]: too many tensor indices");
    nl_tkey *k = &s->te[s->nt];
    if (it->dtype == NL_BOOL) {
      char b1[160], b2[160];
      if (it->ndim == 0) luaL_error(L, "t[...]: 0-d bool masks are not supported");
      nl_key_need_dim(L, s, it->ndim);
      for (int j = 0; j < it->ndim; j++)
        if (it->shape[j] != s->v->shape[s->d + j])
          luaL_error(L, "t[...]: the shape of the mask %s at index %d does not match the shape of the indexed tensor %s at index %d",
                     nl_shape_str(it->ndim, it->shape, b1, sizeof b1), j + 1,
                     nl_shape_str(s->v->ndim, s->v->shape, b2, sizeof b2), s->od + j + 1);
      *k = (nl_tkey){it, s->d, it->ndim, 1, s->od, it};
      s->d += it->ndim;
      s->od += it->ndim;
    } else {
      nl_key_need_dim(L, s, 1);
      *k = (nl_tkey){nl_l_index0(L, e, "t[...]", s->v->shape[s->d]), s->d, 1, 0, s->od, it};
      s->d++;
      s->od++;
    }
    s->nt++;
    return;
  }
  if (lua_type(L, e) != LUA_TTABLE) luaL_error(L, "t[...]: unsupported index entry of type %s", luaL_typename(L, e));
  nl_key_need_dim(L, s, 1);
  lua_Integer n = luaL_len(L, e);
  if (n == 0) { s->d++; s->od++; return; }
  if (n > 3) luaL_error(L, "t[...]: a range is {first, last} or {first, last, step} (got %d entries)", (int)n);
  lua_Integer r[3] = {0, 0, 1};
  for (int j = 0; j < n; j++) {
    lua_geti(L, e, j + 1);
    int ok;
    r[j] = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "t[...]: range entry %d must be an integer (got %s)", j + 1, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  if (n == 1) r[1] = r[0];
  int64_t size = s->v->shape[s->d];
  lua_Integer a = r[0] < 0 ? r[0] + size + 1 : r[0], b = r[1] < 0 ? r[1] + size + 1 : r[1];
  if (r[2] <= 0) luaL_error(L, "t[...]: range step must be positive (got %I)", r[2]);
  if (a < 1 || a > size + 1 || b < a - 1 || b > size)
    luaL_error(L, "t[...]: range {%I, %I} is out of range for dim %d of size %I", r[0], r[1], s->od + 1,
               (lua_Integer)size);
  int64_t count = b >= a ? (b - a) / r[2] + 1 : 0;
  nl_key_push(L, s, nl_ag_slice(s->v, s->d, a - 1, count, r[2]));
  s->d++;
  s->od++;
}

static int nl_key_is_ellipsis(lua_State *L, int e) {
  return lua_type(L, e) == LUA_TSTRING && strcmp(lua_tostring(L, e), "...") == 0;
}

/* How many dims of the view the key entry at e consumes (bool masks: their ndim; else 1). */
static int nl_key_dims(lua_State *L, int e) {
  nl_tensor *it = nl_lua_to(L, e);
  if (it && it->dtype == NL_BOOL) return it->ndim;
  return nl_key_is_ellipsis(L, e) ? 0 : 1;
}

/* Builds the view of t selected by the key at stack index 2 (pushed on the stack). */
static void nl_key_view(lua_State *L, nl_tensor *t, nl_keystate *s) {
  memset(s, 0, sizeof *s);
  nl_tensor_retain(t);
  nl_key_push(L, s, t);
  if (lua_type(L, 2) == LUA_TTABLE && !nl_lua_to(L, 2)) {
    lua_Integer n = luaL_len(L, 2);
    int ellipsis = 0;
    for (lua_Integer i = 1; i <= n; i++) {
      lua_geti(L, 2, i); /* stays on the stack (below what the entry pushes) */
      if (nl_key_is_ellipsis(L, -1)) { /* PyTorch's ...: as many {} as the entries after it leave */
        if (ellipsis++) luaL_error(L, "t[...]: an index can only have a single ellipsis (\"...\")");
        int rest = 0;
        for (lua_Integer j = i + 1; j <= n; j++) {
          lua_geti(L, 2, j);
          rest += nl_key_dims(L, -1);
          lua_pop(L, 1);
        }
        int skip = s->v->ndim - s->d - rest;
        if (skip < 0) luaL_error(L, "t[...]: too many indices for a tensor of %d dims", s->od - s->d + s->v->ndim);
        s->d += skip;
        s->od += skip;
        continue;
      }
      nl_key_entry(L, s, -1);
    }
  } else {
    nl_key_entry(L, s, 2);
  }
}

/* Several tensor entries (or one that the single-entry paths do not take): the advanced
 * index as n (view dim, 0-based int64 index) pairs. Masks contribute one coordinate tensor per
 * dim they cover; int64 entries are range-checked here in Lua's terms (1-based, negative from
 * the end). Created tensors are anchored on the Lua stack. */
static int nl_key_advanced(lua_State *L, nl_keystate *s, int *dims, const nl_tensor **idx) {
  int n = 0;
  lua_checkstack(L, 2 * NL_MAXDIM + 4);
  for (int j = 0; j < s->nt; j++) {
    nl_tkey *k = &s->te[j];
    if (n + k->k > NL_MAXDIM) luaL_error(L, "t[...]: too many tensor indices");
    if (!k->is_mask) {
      int64_t size = s->v->shape[k->vdim], m = nl_numel(k->raw);
      for (int64_t i = 0; i < m; i++) {
        int64_t x = nl_get_flat_i64(k->raw, i);
        if (x == 0 || x < -size || x > size)
          luaL_error(L, "t[...]: index %I is out of range for dim %d of size %I (expected 1..%I or %I..-1)",
                     (lua_Integer)x, k->od + 1, (lua_Integer)size, (lua_Integer)size, (lua_Integer)-size);
      }
      dims[n] = k->vdim;
      idx[n++] = k->idx;
      continue;
    }
    /* a mask: the coordinates of its true entries, one 1-D int64 tensor per covered dim */
    nl_tensor *pos = nl_mask_positions(k->idx);
    nl_lua_push(L, pos);
    int64_t cnt = pos->shape[0];
    const int64_t *pp = nl_data(pos);
    int64_t inner = 1;
    for (int d = k->k - 1; d >= 0; d--) {
      nl_tensor *c = nl_empty(1, &cnt, NL_INT64, nl_cpu());
      nl_lua_push(L, c);
      int64_t *cp = nl_data(c), size = k->idx->shape[d];
      for (int64_t i = 0; i < cnt; i++) cp[i] = (pp[i] / inner) % size;
      inner *= size;
      dims[n + d] = k->vdim + d;
      idx[n + d] = c;
    }
    n += k->k;
  }
  /* the index shapes must broadcast together (checked here to name t[...] in the message) */
  int bnd = 0;
  int64_t b[NL_MAXDIM], nb[NL_MAXDIM];
  for (int j = 0; j < n; j++) {
    int r = nl_broadcast_shape("t[...]", bnd, b, idx[j]->ndim, idx[j]->shape, nb);
    if (r < 0) {
      luaL_Buffer buf;
      char sb[160];
      luaL_buffinit(L, &buf);
      for (int i = 0; i < n; i++) {
        if (i) luaL_addstring(&buf, ", ");
        luaL_addstring(&buf, nl_shape_str(idx[i]->ndim, idx[i]->shape, sb, sizeof sb));
      }
      luaL_pushresult(&buf);
      luaL_error(L, "t[...]: shape mismatch: indexing tensors could not be broadcast together with shapes %s",
                 lua_tostring(L, -1));
    }
    bnd = r;
    memcpy(b, nb, sizeof b);
  }
  return n;
}

int nl_lua_index_get(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (t->ndim == 0 && lua_type(L, 2) == LUA_TNUMBER) return luaL_error(L, "t[...]: cannot index a 0-d tensor");
  nl_keystate s;
  nl_key_view(L, t, &s);
  if (s.nt > 1) { /* PyTorch's advanced indexing: the index tensors pair up (broadcast) */
    int dims[NL_MAXDIM];
    const nl_tensor *idx[NL_MAXDIM];
    int n = nl_key_advanced(L, &s, dims, idx);
    nl_key_push(L, &s, nl_ag_index(s.v, n, dims, idx));
  }
  for (int j = s.nt == 1 ? 0 : -1; j >= 0; j--) { /* right to left: earlier view dims stay valid */
    nl_tkey *k = &s.te[j];
    if (k->is_mask) {
      if (k->vdim == 0 && k->k == s.v->ndim) {
        nl_key_push(L, &s, nl_ag_masked_select(s.v, k->idx));
        continue;
      }
      nl_tensor *pos = nl_mask_positions(k->idx);
      nl_lua_push(L, pos);
      nl_key_push(L, &s, nl_ag_flatten(s.v, k->vdim, k->vdim + k->k - 1));
      nl_key_push(L, &s, nl_ag_index_select(s.v, k->vdim, pos));
    } else if (k->idx->ndim == 1) {
      nl_key_push(L, &s, nl_ag_index_select(s.v, k->vdim, k->idx));
    } else {
      nl_tensor *flat = nl_reshape(k->idx, 1, (int64_t[]){nl_numel(k->idx)});
      nl_lua_push(L, flat);
      nl_key_push(L, &s, nl_ag_index_select(s.v, k->vdim, flat));
      nl_key_push(L, &s, nl_ag_unflatten(s.v, k->vdim, k->idx->ndim, k->idx->shape));
    }
  }
  nl_tensor_retain(s.v); /* push the result again: the same userdata (cached) */
  nl_lua_push(L, s.v);
  return 1;
}

int nl_lua_index_set(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  luaL_checkany(L, 3);
  nl_lua_check_status(L, nl_ag_check_inplace(t, "t[...] ="));
  if (t->ndim == 0 && lua_type(L, 2) == LUA_TNUMBER) return luaL_error(L, "t[...]: cannot index a 0-d tensor");
  nl_keystate s;
  nl_key_view(L, t, &s);
  nl_tensor *src = nl_lua_to(L, 3);
  if (!src && lua_type(L, 3) == LUA_TTABLE) { /* a nested table: a tensor of the target's dtype */
    src = nl_lua_totensor(L, 3, (int)t->dtype, nl_device_of(t));
    nl_lua_push(L, src);
  }
  bool scalar = !src || nl_numel(src) == 1;
  double v = scalar ? nl_l_value(L, 3, "t[...] =") : 0;
  if (s.nt == 0) { /* a view of t: AssignBackward on t when recording */
    nl_lua_check_status(L, nl_ag_assign_view(t, s.v, src, v));
    return 0;
  }
  /* tensor keys: not differentiable */
  if (nl_grad_enabled() && (t->requires_grad || (src && src->requires_grad)))
    return luaL_error(L, "t[...] =: assignment with a tensor index into (or from) a tensor that requires grad is not "
                         "supported by autograd; use index_copy / masked_scatter / where out of place");
  nl_tkey *k = &s.te[0];
  if (s.nt > 1 || (!k->is_mask && k->idx->ndim != 1 && !scalar)) { /* index_put_ (last write wins) */
    int dims[NL_MAXDIM];
    const nl_tensor *idx[NL_MAXDIM];
    int n = nl_key_advanced(L, &s, dims, idx);
    nl_lua_check_status(L, nl_index_put_(s.v, n, dims, idx, scalar ? NULL : src, v, false));
    return 0;
  }
  if (k->is_mask) {
    if (scalar) {
      /* the mask as a view over the whole target: stride 0 on the dims it does not cover */
      int64_t st[NL_MAXDIM] = {0};
      for (int j = 0; j < k->k; j++) st[k->vdim + j] = k->idx->stride[j];
      nl_tensor *m = nl_view_of(k->idx, s.v->ndim, s.v->shape, st, k->idx->offset);
      nl_lua_push(L, m);
      nl_lua_check_status(L, nl_ag_masked_fill_(s.v, m, v));
    } else if (k->vdim == 0 && k->k == s.v->ndim) {
      nl_lua_check_status(L, nl_ag_masked_scatter_(s.v, k->idx, src));
    } else {
      nl_tensor *pos = nl_mask_positions(k->idx);
      nl_lua_push(L, pos);
      int64_t shape[NL_MAXDIM];
      int n = 0;
      for (int j = 0; j < s.v->ndim; j++) {
        if (j > k->vdim && j < k->vdim + k->k) { shape[n - 1] *= s.v->shape[j]; continue; }
        shape[n++] = s.v->shape[j];
      }
      nl_tensor *f = nl_view(s.v, n, shape);
      nl_lua_push(L, f);
      nl_lua_check_status(L, nl_ag_index_copy_(f, k->vdim, pos, src));
    }
    return 0;
  }
  nl_tensor *idx = k->idx;
  if (idx->ndim != 1) {
    idx = nl_reshape(k->idx, 1, (int64_t[]){nl_numel(k->idx)});
    nl_lua_push(L, idx);
  }
  nl_lua_check_status(L, scalar ? nl_ag_index_fill_(s.v, k->vdim, idx, v) : nl_ag_index_copy_(s.v, k->vdim, idx, src));
  return 0;
}

static const nl_lua_reg nl_index_regs[] = {
    {"index_select", nl_l_index_select, NL_BOTH},
    {"gather", nl_l_gather, NL_BOTH},
    {"scatter", nl_l_scatter, NL_BOTH},
    {"scatter_", nl_l_scatter_, NL_METHOD},
    {"scatter_add", nl_l_scatter_add, NL_BOTH},
    {"scatter_add_", nl_l_scatter_add_, NL_METHOD},
    {"masked_fill", nl_l_masked_fill, NL_BOTH},
    {"masked_fill_", nl_l_masked_fill_, NL_METHOD},
    {"masked_select", nl_l_masked_select, NL_BOTH},
    {"masked_scatter_", nl_l_masked_scatter_, NL_METHOD},
    {"take", nl_l_take, NL_BOTH},
    {"index_fill_", nl_l_index_fill_, NL_METHOD},
    {"index_fill", nl_l_index_fill, NL_BOTH},
    {"index_add_", nl_l_index_add_, NL_METHOD},
    {"index_add", nl_l_index_add, NL_BOTH},
    {"index_copy_", nl_l_index_copy_, NL_METHOD},
    {"index_copy", nl_l_index_copy, NL_BOTH},
    {NULL, NULL, 0},
};

void nl_lua_open_index(lua_State *L) { nl_lua_register(L, nl_index_regs); }
