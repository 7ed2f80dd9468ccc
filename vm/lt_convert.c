/* lt_convert.c: Lua bindings of the convert family (see ltensor.h for the conventions). */
#include "ltensor.h"

static const nl_lua_reg nl_convert_regs[] = {
    {NULL, NULL, 0},
};

void nl_lua_open_convert(lua_State *L) { nl_lua_register(L, nl_convert_regs); }
