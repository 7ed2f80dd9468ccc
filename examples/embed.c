/* embed.c: a C program that embeds nnlua.
 *
 * It wraps a C float array as a tensor without copying, hands it to a Lua function, and
 * reads the tensor that the function returns. Build it against an installed nnlua:
 *
 *   cc embed.c $(pkg-config --cflags --libs nnlua) -o embed      # shared libnnlua
 *   cc embed.c $(pkg-config --cflags nnlua) -o embed \
 *      $PREFIX/lib/libnnlua.a $(pkg-config --libs --static nnlua)  # static libnnlua
 *
 * (with PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig when nnlua is not installed in /usr). */
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <nnlua.h>

/* The Lua side: any chunk works; this one returns a function of one tensor. */
static const char *script =
    "local torch = require 'torch'\n"
    "return function(t)\n"
    "  local rows, cols = t:size(1), t:size(2)\n"
    "  return t:numel() * 2, torch.full({cols, rows}, rows * cols, {dtype = 'float64'})\n"
    "end\n";

/* Called by nnlua when the last tensor viewing the buffer is gone. */
static void release(void *data, void *ctx) {
  (void)data;
  printf("released %s\n", (const char *)ctx);
}

int main(void) {
  static float buf[6] = {1, 2, 3, 4, 5, 6};
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  nnlua_openlibs(L); /* torch, nn, optim, data become requirable */

  if (luaL_loadstring(L, script) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    fprintf(stderr, "embed: %s\n", lua_tostring(L, -1));
    return 1;
  }
  /* Stack: the function. Push its argument: buf seen as a 2x3 float32 tensor (no copy). */
  int64_t shape[2] = {2, 3};
  nl_tensor *t = nl_from_blob(buf, 2, shape, NULL, NL_FLOAT32, nl_cpu(), release, "buf");
  if (!t) {
    fprintf(stderr, "embed: %s\n", nl_error());
    return 1;
  }
  nnlua_pushtensor(L, t); /* Lua now owns our reference */
  printf("shares memory: %s\n", nl_data(nnlua_totensor(L, -1)) == (void *)buf ? "yes" : "no");
  if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
    fprintf(stderr, "embed: %s\n", lua_tostring(L, -1));
    return 1;
  }

  printf("numel * 2 = %d\n", (int)lua_tointeger(L, -2));
  nl_tensor *r = nnlua_totensor(L, -1); /* borrowed while the Lua value lives */
  if (!r || r->dtype != NL_FLOAT64) {
    fprintf(stderr, "embed: expected a float64 tensor\n");
    return 1;
  }
  char sh[64];
  printf("result: %s %s =", nl_dtype_name(r->dtype), nl_shape_str(r->ndim, r->shape, sh, sizeof sh));
  const double *v = nl_data(r); /* contiguous: fresh from torch.full */
  for (int64_t i = 0; i < nl_numel(r); i++) printf(" %g", v[i]);
  printf("\n");

  lua_close(L); /* collects the tensors: the release callback runs */
  return 0;
}
