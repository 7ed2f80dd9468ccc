/* test_print.c: printing non-contiguous tensors (views built with nl_view_of, which the Lua
 * side cannot make yet) through the embedding API: tostring(t) must follow the logical
 * order of the view, as PyTorch's repr does. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "nnlua.h"

static int failures;

static void expect_tostring(lua_State *L, nl_tensor *t, const char *want) {
  lua_getglobal(L, "tostring");
  nnlua_pushtensor(L, t);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "error: %s\n", lua_tostring(L, -1));
    failures++;
  } else if (strcmp(lua_tostring(L, -1), want) != 0) {
    fprintf(stderr, "got:\n%s\nwant:\n%s\n", lua_tostring(L, -1), want);
    failures++;
  }
  lua_pop(L, 1);
}

int main(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  nnlua_openlibs_globals(L);
  if (luaL_dostring(L, "require 'torch'") != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 1;
  }
  /* base: [[0, 1, 2], [3, 4, 5]] float32 */
  nl_tensor *base = nl_empty(2, (int64_t[]){2, 3}, NL_FLOAT32, nl_cpu());
  float *p = nl_data(base);
  for (int i = 0; i < 6; i++) p[i] = (float)i + 0.5f;
  /* transpose: shape (3, 2), strides (1, 3) */
  expect_tostring(L, nl_view_of(base, 2, (int64_t[]){3, 2}, (int64_t[]){1, 3}, 0),
                  "tensor([[0.5000, 3.5000],\n        [1.5000, 4.5000],\n        [2.5000, 5.5000]])");
  /* second column: shape (2,), stride 3, offset 1 */
  expect_tostring(L, nl_view_of(base, 1, (int64_t[]){2}, (int64_t[]){3}, 1), "tensor([1.5000, 4.5000])");
  /* broadcast (expanded) view: shape (2, 3), strides (0, 1) */
  expect_tostring(L, nl_view_of(base, 2, (int64_t[]){2, 3}, (int64_t[]){0, 1}, 0),
                  "tensor([[0.5000, 1.5000, 2.5000],\n        [0.5000, 1.5000, 2.5000]])");
  /* summarised transposed view of a 40x50 int64 tensor: t[i][j] = 100*i + j, shown as (50, 40) */
  nl_tensor *big = nl_empty(2, (int64_t[]){40, 50}, NL_INT64, nl_cpu());
  int64_t *q = nl_data(big);
  for (int i = 0; i < 40; i++)
    for (int j = 0; j < 50; j++) q[i * 50 + j] = 100 * i + j;
  expect_tostring(L, nl_view_of(big, 2, (int64_t[]){50, 40}, (int64_t[]){1, 50}, 0),
                  "tensor([[   0,  100,  200,  ..., 3700, 3800, 3900],\n"
                  "        [   1,  101,  201,  ..., 3701, 3801, 3901],\n"
                  "        [   2,  102,  202,  ..., 3702, 3802, 3902],\n"
                  "        ...,\n"
                  "        [  47,  147,  247,  ..., 3747, 3847, 3947],\n"
                  "        [  48,  148,  248,  ..., 3748, 3848, 3948],\n"
                  "        [  49,  149,  249,  ..., 3749, 3849, 3949]])");
  nl_tensor_free(base);
  nl_tensor_free(big);
  lua_close(L);
  if (failures) {
    fprintf(stderr, "test_print: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_print: ok\n");
  return 0;
}
