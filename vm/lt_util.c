/* lt_util.c: small utilities of the torch module that are not tensor ops:
 * torch.time() (monotonic wall clock in seconds, for benchmarks and progress displays). */
#include <time.h>

#include "ltensor.h"

static int nl_t_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

static const nl_lua_reg nl_util_regs[] = {
    {"time", nl_t_time, NL_FN},
    {NULL, NULL, 0},
};

void nl_lua_open_util(lua_State *L) { nl_lua_register(L, nl_util_regs); }
