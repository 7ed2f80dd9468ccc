/* lt_index.c: t[i], t[{...}] and assignment; gather, scatter, masked_* (see ltensor.h). */
#include "ltensor.h"

int nl_lua_index_get(lua_State *L) {
  nl_lua_check(L, 1);
  return luaL_error(L, "tensor indexing: unsupported key type %s", luaL_typename(L, 2));
}

int nl_lua_index_set(lua_State *L) {
  nl_lua_check(L, 1);
  return luaL_error(L, "tensor assignment: unsupported key type %s", luaL_typename(L, 2));
}

static const nl_lua_reg nl_index_regs[] = {
    {NULL, NULL, 0},
};

void nl_lua_open_index(lua_State *L) { nl_lua_register(L, nl_index_regs); }
