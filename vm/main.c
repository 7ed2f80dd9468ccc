/* main.c: the nnlua host (minimal; the full lua.c-style CLI and REPL land next). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "nnlua.h"

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  luaL_openlibs(L);
  nnlua_openlibs_globals(L);
  for (int i = 1; i < argc; i++) {
    int st;
    if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) {
      st = luaL_loadbuffer(L, argv[i + 1], strlen(argv[i + 1]), "=(command line)");
      i++;
    } else {
      lua_createtable(L, argc - i, i + 1);
      for (int k = 0; k < argc; k++) {
        lua_pushstring(L, argv[k]);
        lua_rawseti(L, -2, k - i);
      }
      lua_setglobal(L, "arg");
      st = luaL_loadfile(L, argv[i]);
      if (st == LUA_OK) {
        for (int k = i + 1; k < argc; k++) lua_pushstring(L, argv[k]);
        lua_call(L, argc - i - 1, 0);
        return 0;
      }
      i = argc;
    }
    if (st != LUA_OK) return lua_error(L);
    lua_call(L, 0, 0);
  }
  return 0;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (!L) return 1;
  lua_pushcfunction(L, msghandler);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int st = lua_pcall(L, 2, 0, 1);
  if (st != LUA_OK) fprintf(stderr, "nnlua: %s\n", lua_tostring(L, -1));
  lua_close(L);
  return st == LUA_OK ? 0 : 1;
}
