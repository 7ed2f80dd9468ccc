/* lnnlua.c: the embedding API (nnlua.h): preloading the four modules, pushing tensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lsources.h"
#include "ltensor.h"
#include "nnlua.h"
#include "nl_dist.h" /* dist/: torch._dist (MPI backend or its stub) */

int luaopen_torch_C(lua_State *L);
int luaopen_data_C(lua_State *L); /* ldata.c */
extern const char *openblas_get_config(void);

#ifndef NNLUA_SOURCE_DIR
#define NNLUA_SOURCE_DIR "."
#endif

/* NNLUA_DEV=1 loads the Lua sources from the source tree this library was built from,
 * NNLUA_DEV=/path from that tree; anything else (or unset) uses the compiled-in copies. */
static const char *nl_dev_root(void) {
  const char *d = getenv("NNLUA_DEV");
  if (!d || !*d || strcmp(d, "0") == 0) return NULL;
  return strcmp(d, "1") == 0 ? NNLUA_SOURCE_DIR : d;
}

/* package.preload loader: upvalue 1 = index into nl_lua_sources. */
static int nl_load_source(lua_State *L) {
  const nl_lua_source *s = &nl_lua_sources[lua_tointeger(L, lua_upvalueindex(1))];
  const char *root = nl_dev_root();
  int status;
  if (root) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, s->path);
    status = luaL_loadfile(L, path);
  } else {
    char chunk[300];
    snprintf(chunk, sizeof chunk, "@%s", s->path);
    status = luaL_loadbufferx(L, s->code, s->len, chunk, "b"); /* precompiled: vm/tools/luaembed.c */
  }
  if (status != LUA_OK) return lua_error(L);
  lua_pushstring(L, s->module);
  lua_call(L, 1, 1);
  return 1;
}

int nnlua_openlibs(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_torch_C);
  lua_setfield(L, -2, "torch._C");
  lua_pushcfunction(L, luaopen_data_C);
  lua_setfield(L, -2, "data._C");
  lua_pushcfunction(L, luaopen_torch_dist);
  lua_setfield(L, -2, "torch._dist");
  for (int i = 0; nl_lua_sources[i].module; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, nl_load_source, 1);
    lua_setfield(L, -2, nl_lua_sources[i].module);
  }
  lua_pop(L, 1);
  return 0;
}

int nnlua_openlibs_globals(lua_State *L) {
  nnlua_openlibs(L);
  static const char *const mods[] = {"torch", "nn", "optim", "data"};
  for (int i = 0; i < 4; i++) {
    lua_getglobal(L, "require");
    lua_pushstring(L, mods[i]);
    lua_call(L, 1, 1);
    lua_setglobal(L, mods[i]);
  }
  return 0;
}

void nnlua_pushtensor(lua_State *L, nl_tensor *t) {
  /* Make sure the tensor metatable exists even when torch was never required. */
  int have_mt = luaL_getmetatable(L, NL_TENSOR_MT) != LUA_TNIL;
  lua_pop(L, 1);
  if (!have_mt) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "torch");
    lua_call(L, 1, 0);
  }
  nl_lua_push(L, t);
}

nl_tensor *nnlua_totensor(lua_State *L, int idx) { return nl_lua_to(L, idx); }
nl_tensor *nnlua_checktensor(lua_State *L, int idx) { return nl_lua_check(L, idx); }

const char *nnlua_version(void) {
  static char buf[256];
  if (!buf[0]) snprintf(buf, sizeof buf, "nnlua %s (%s, %s)", NNLUA_VERSION, LUA_RELEASE, openblas_get_config());
  return buf;
}
