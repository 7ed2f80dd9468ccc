/* lmodule.c: entry points of the Lua C module build (torch.so), so a stock lua5.4 can
 * `require "torch"` (and then "nn", "optim", "data"). Symlinks nn.so, optim.so, data.so to
 * torch.so give `require "nn"` first too. */
#include <lauxlib.h>
#include <lua.h>

#include "nnlua.h"

static int nl_require_after_open(lua_State *L, const char *name) {
  nnlua_openlibs(L);
  /* package.loaded[name] is being set by require itself: load the preloaded Lua module. */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_getfield(L, -1, name);
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
  return 1;
}

int luaopen_torch(lua_State *L) { return nl_require_after_open(L, "torch"); }
int luaopen_nn(lua_State *L) { return nl_require_after_open(L, "nn"); }
int luaopen_optim(lua_State *L) { return nl_require_after_open(L, "optim"); }
int luaopen_data(lua_State *L) { return nl_require_after_open(L, "data"); }
