/* lt_reduce.c: Lua bindings of the reduce family (see ltensor.h for the conventions). */
#include "ltensor.h"

static const nl_lua_reg nl_reduce_regs[] = {
    {NULL, NULL, 0},
};

void nl_lua_open_reduce(lua_State *L) { nl_lua_register(L, nl_reduce_regs); }
