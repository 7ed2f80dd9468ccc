/* test_embed.c: the embedding API end to end (what examples/embed.c shows), with checks.
 * A C buffer wrapped without copying, pushed to Lua, read back; results of a Lua function
 * read through nnlua_totensor; the release callback runs exactly once, at lua_close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "nnlua.h"

static int failures = 0;
#define CHECK(c)                                                                \
  do {                                                                          \
    if (!(c)) {                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);     \
      failures++;                                                               \
    }                                                                           \
  } while (0)

static int released = 0;
static void release(void *data, void *ctx) {
  CHECK(ctx == (void *)&released);
  (void)data;
  released++;
}

static int run(lua_State *L, const char *code, int nargs, int nres) {
  if (luaL_loadstring(L, code) != LUA_OK) {
    fprintf(stderr, "load: %s\n", lua_tostring(L, -1));
    exit(1);
  }
  lua_insert(L, -(nargs + 1));
  int st = lua_pcall(L, nargs, nres, 0);
  if (st != LUA_OK) fprintf(stderr, "error: %s\n", lua_tostring(L, -1));
  return st;
}

int main(void) {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  lua_State *L = luaL_newstate();
  CHECK(L != NULL);
  luaL_openlibs(L);
  CHECK(nnlua_openlibs(L) == 0);

  /* The version line names nnlua, Lua and OpenBLAS. */
  const char *v = nnlua_version();
  CHECK(strncmp(v, "nnlua " NNLUA_VERSION " (Lua 5.4", strlen("nnlua " NNLUA_VERSION " (Lua 5.4")) == 0);
  CHECK(strstr(v, "OpenBLAS") != NULL);

  /* Wrap, push, and read back: the same memory, shape and dtype. */
  nl_tensor *t = nl_from_blob(buf, 2, (int64_t[]){2, 3}, NULL, NL_FLOAT32, nl_cpu(), release, &released);
  CHECK(t != NULL);
  nnlua_pushtensor(L, t);
  nl_tensor *back = nnlua_totensor(L, -1);
  CHECK(back == t);
  CHECK(nl_data(back) == (void *)buf);
  CHECK(back->ndim == 2 && back->shape[0] == 2 && back->shape[1] == 3 && back->dtype == NL_FLOAT32);
  lua_setglobal(L, "x");

  /* A Lua function of the tensor: sizes, numel, and a new tensor made in Lua. */
  lua_getglobal(L, "x");
  CHECK(run(L,
            "local t = ...\n"
            "local torch = require 'torch'\n"
            "return t:numel() * 2, t:size(1), t:size(-1), t.dtype,\n"
            "       torch.full({t:size(2), t:size(1)}, 7.5, {dtype = 'float64'})",
            1, 5) == LUA_OK);
  CHECK(lua_tointeger(L, -5) == 12);
  CHECK(lua_tointeger(L, -4) == 2);
  CHECK(lua_tointeger(L, -3) == 3);
  CHECK(lua_isstring(L, -2) && strcmp(lua_tostring(L, -2), "float32") == 0);
  nl_tensor *r = nnlua_totensor(L, -1);
  CHECK(r != NULL);
  if (r) {
    CHECK(r->dtype == NL_FLOAT64 && r->ndim == 2 && r->shape[0] == 3 && r->shape[1] == 2);
    CHECK(nl_numel(r) == 6);
    const double *d = nl_data(r);
    for (int i = 0; i < 6; i++) CHECK(d[i] == 7.5);
  }
  lua_pop(L, 5);

  /* Non-tensors: totensor gives NULL, checktensor raises a Lua error. */
  lua_pushinteger(L, 3);
  CHECK(nnlua_totensor(L, -1) == NULL);
  lua_pop(L, 1);
  CHECK(run(L, "local ok, err = pcall(require('torch').zeros, 2, 'x') return ok", 0, 1) == LUA_OK);
  CHECK(!lua_toboolean(L, -1));
  lua_pop(L, 1);

  /* nnlua_openlibs_globals sets the globals the host gives scripts. */
  CHECK(nnlua_openlibs_globals(L) == 0);
  CHECK(run(L, "return type(torch) == 'table' and type(nn) == 'table' and type(optim) == 'table'"
               " and type(data) == 'table'", 0, 1) == LUA_OK);
  CHECK(lua_toboolean(L, -1));
  lua_pop(L, 1);

  /* The buffer is still ours while Lua holds x; lua_close releases it exactly once. */
  CHECK(released == 0);
  lua_close(L);
  CHECK(released == 1);

  if (failures) fprintf(stderr, "test_embed: %d check(s) failed\n", failures);
  else printf("test_embed: ok\n");
  return failures ? 1 : 0;
}
