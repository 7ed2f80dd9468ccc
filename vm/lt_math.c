/* lt_math.c: Lua bindings of the math family (see ltensor.h for the conventions). */
#include "ltensor.h"

static const nl_lua_reg nl_math_regs[] = {
    {NULL, NULL, 0},
};

void nl_lua_open_math(lua_State *L) { nl_lua_register(L, nl_math_regs); }
