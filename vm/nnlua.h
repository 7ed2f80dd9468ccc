/* nnlua.h: embedding nnlua in a C program.
 *
 *   lua_State *L = luaL_newstate();
 *   luaL_openlibs(L);
 *   nnlua_openlibs(L);                 // torch, nn, optim, data become requirable
 *   ...
 *   nl_tensor *t = nl_from_blob(buf, 2, (int64_t[]){2, 3}, NULL, NL_FLOAT32, nl_cpu(), NULL, NULL);
 *   nnlua_pushtensor(L, t);            // no copy: Lua sees the C buffer
 *
 * Link with `pkg-config --cflags --libs nnlua`. The C tensor API (tensor/nl_tensor.h) works
 * without Lua. */
#ifndef NNLUA_H
#define NNLUA_H

#include <lua.h>

#include "nl_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NNLUA_VERSION "0.1.0"

/* Registers torch, torch._C, nn, optim, data (and their submodules) in package.preload. The
 * Lua sources are compiled into the library. Returns 0. */
int nnlua_openlibs(lua_State *L);
/* Also sets the globals torch, nn, optim, data (what the nnlua host does for scripts). */
int nnlua_openlibs_globals(lua_State *L);

/* Pushes t as a Lua tensor; the Lua value takes over the caller's reference. */
void nnlua_pushtensor(lua_State *L, nl_tensor *t);
/* The tensor at idx (borrowed: valid while the Lua value lives), or NULL. */
nl_tensor *nnlua_totensor(lua_State *L, int idx);
/* Like nnlua_totensor but raises a Lua error when the value is not a tensor. */
nl_tensor *nnlua_checktensor(lua_State *L, int idx);

/* Version line: "nnlua 0.1.0 (Lua 5.4.4, OpenBLAS 0.3.21 ...)". */
const char *nnlua_version(void);

#ifdef __cplusplus
}
#endif
#endif
