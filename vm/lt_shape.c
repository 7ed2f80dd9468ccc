/* lt_shape.c: Lua bindings of the shape family (see ltensor.h for the conventions). */
#include "ltensor.h"

static const nl_lua_reg nl_shape_regs[] = {
    {NULL, NULL, 0},
};

void nl_lua_open_shape(lua_State *L) { nl_lua_register(L, nl_shape_regs); }
