/* none.c: torch._dist when nnlua is built without MPI: the Lua side reports
 * "torch.distributed: nnlua was built without MPI support (install libopenmpi-dev and rebuild)". */
#include <lauxlib.h>
#include <lua.h>

#include "nl_dist.h"

void nl_dist_fatal(int code) { (void)code; }

int luaopen_torch_dist(lua_State *L) {
  lua_newtable(L);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "mpi_available");
  return 1;
}
