/* lt_io.c: the C half of torch.save / torch.load (lua/torch/serialize.lua builds on it).
 *   torch._C._save_safetensors(path, names, tensors, meta)  -- meta: string -> string
 *   torch._C._load_safetensors(path) -> names (header order), tensors (same order), meta
 *   torch._C._save_npy(path, t), torch._C._load_npy(path) -> t
 *   torch._C._json_decode(s) -> value (strict; integers stay integers; null -> nil)
 *   torch._C._io_fault(n | nil)  -- test hook: writes fail with ENOSPC after n bytes */
#include <stdlib.h>
#include <string.h>

#include "ltensor.h"

#include "../tensor/nl_io.h"

static int nl_l_save_st(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  int n = (int)luaL_len(L, 2);
  if ((int)luaL_len(L, 3) != n) return luaL_error(L, "torch.save: %d names for %d tensors", n, (int)luaL_len(L, 3));
  /* arrays live in userdata so a Lua error frees them */
  const char **names = lua_newuserdatauv(L, sizeof *names * ((size_t)n + 1), 0);
  nl_tensor **ts = lua_newuserdatauv(L, sizeof *ts * ((size_t)n + 1), 0);
  for (int i = 0; i < n; i++) {
    lua_geti(L, 2, i + 1);
    names[i] = lua_tostring(L, -1); /* anchored by the names table */
    if (!names[i]) return luaL_error(L, "torch.save: tensor name %d is not a string", i + 1);
    lua_pop(L, 1);
    lua_geti(L, 3, i + 1);
    ts[i] = nl_lua_to(L, -1);
    if (!ts[i]) return luaL_error(L, "torch.save: item %d is not a tensor", i + 1);
    lua_pop(L, 1);
  }
  int nm = 0;
  lua_pushnil(L);
  while (lua_next(L, 4)) { nm++; lua_pop(L, 1); }
  const char **mk = lua_newuserdatauv(L, sizeof *mk * ((size_t)nm + 1), 0);
  const char **mv = lua_newuserdatauv(L, sizeof *mv * ((size_t)nm + 1), 0);
  int k = 0;
  lua_pushnil(L);
  while (lua_next(L, 4)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "torch.save: metadata keys and values must be strings");
    mk[k] = lua_tostring(L, -2);
    mv[k] = lua_tostring(L, -1); /* anchored by the meta table */
    k++;
    lua_pop(L, 1);
  }
  /* deterministic order: sort metadata keys */
  for (int i = 1; i < nm; i++)
    for (int j = i; j > 0 && strcmp(mk[j - 1], mk[j]) > 0; j--) {
      const char *t = mk[j]; mk[j] = mk[j - 1]; mk[j - 1] = t;
      t = mv[j]; mv[j] = mv[j - 1]; mv[j - 1] = t;
    }
  if (nl_safetensors_save(path, n, names, ts, nm, mk, mv) < 0) return nl_lua_error(L);
  return 0;
}

static int nl_l_load_st(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  nl_st_file *f = nl_safetensors_load(path);
  if (!f) return nl_lua_error(L);
  /* move everything into Lua values; nothing below raises except on out-of-memory */
  lua_createtable(L, f->n, 0);
  lua_createtable(L, f->n, 0);
  for (int i = 0; i < f->n; i++) {
    lua_pushstring(L, f->names[i]);
    lua_rawseti(L, -3, i + 1);
    nl_lua_push(L, f->tensors[i]);
    f->tensors[i] = NULL; /* the userdata owns it now */
    lua_rawseti(L, -2, i + 1);
  }
  lua_createtable(L, 0, f->nmeta);
  for (int i = 0; i < f->nmeta; i++) {
    lua_pushstring(L, f->mvals[i]);
    lua_setfield(L, -2, f->mkeys[i]);
  }
  nl_st_file_free(f);
  return 3;
}

static int nl_l_save_npy(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  nl_tensor *t = nl_lua_check(L, 2);
  if (nl_npy_save(path, t) < 0) return nl_lua_error(L);
  return 0;
}

static int nl_l_load_npy(lua_State *L) {
  nl_lua_push(L, nl_npy_load(luaL_checkstring(L, 1)));
  return 1;
}

static void nl_push_json(lua_State *L, const nl_json *j) {
  luaL_checkstack(L, 4, "JSON too deep");
  switch (j->type) {
    case NL_JNULL: lua_pushnil(L); break;
    case NL_JBOOL: lua_pushboolean(L, j->b); break;
    case NL_JNUM:
      if (j->is_int) lua_pushinteger(L, (lua_Integer)j->i);
      else lua_pushnumber(L, j->d);
      break;
    case NL_JSTR: lua_pushlstring(L, j->s, j->len); break;
    case NL_JARR:
      lua_createtable(L, j->n, 0);
      for (int i = 0; i < j->n; i++) {
        nl_push_json(L, &j->items[i]);
        lua_rawseti(L, -2, i + 1);
      }
      break;
    case NL_JOBJ:
      lua_createtable(L, 0, j->n);
      for (int i = 0; i < j->n; i++) {
        lua_pushlstring(L, j->keys[i], j->keylens[i]);
        nl_push_json(L, &j->items[i]);
        lua_rawset(L, -3);
      }
      break;
  }
}

static int nl_json_gc(lua_State *L) {
  nl_json **p = lua_touserdata(L, 1);
  nl_json_free(*p);
  *p = NULL;
  return 0;
}

static int nl_l_json_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  nl_json *j = nl_json_parse(s, n);
  if (!j) return luaL_error(L, "json: %s", nl_error());
  /* guard the tree so an out-of-memory error while building tables frees it */
  nl_json **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = j;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, nl_json_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  nl_push_json(L, j);
  nl_json_free(j);
  *box = NULL;
  return 1;
}

/* torch._C._io_fault(n): every later write fails with ENOSPC after n bytes; nil: off. */
static int nl_l_io_fault(lua_State *L) {
  nl_io_set_fault(lua_isnoneornil(L, 1) ? -1 : (int64_t)luaL_checkinteger(L, 1));
  return 0;
}

static const nl_lua_reg nl_io_regs[] = {
  {"_io_fault", nl_l_io_fault, NL_FN},
  {"_save_safetensors", nl_l_save_st, NL_FN},
  {"_load_safetensors", nl_l_load_st, NL_FN},
  {"_save_npy", nl_l_save_npy, NL_FN},
  {"_load_npy", nl_l_load_npy, NL_FN},
  {"_json_decode", nl_l_json_decode, NL_FN},
  {NULL, NULL, 0},
};

void nl_lua_open_io(lua_State *L) { nl_lua_register(L, nl_io_regs); }
