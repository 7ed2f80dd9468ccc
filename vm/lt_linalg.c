/* lt_linalg.c: Lua bindings of the linalg family (see ltensor.h for the conventions). */
#include "ltensor.h"

static const nl_lua_reg nl_linalg_regs[] = {
    {NULL, NULL, 0},
};

void nl_lua_open_linalg(lua_State *L) { nl_lua_register(L, nl_linalg_regs); }
