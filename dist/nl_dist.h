/* nl_dist.h: torch.distributed's C side (dist/mpi.c with MPI, dist/none.c without). */
#ifndef NL_DIST_H
#define NL_DIST_H
#include <lua.h>

/* The Lua module "torch._dist" (preloaded by nnlua_openlibs). Without MPI it has
 * mpi_available = false and nothing else. */
int luaopen_torch_dist(lua_State *L);
/* Called by the nnlua host on an uncaught error: with an initialised MPI process group it
 * prints a note and MPI_Aborts the whole job (no rank is left waiting); otherwise nothing. */
void nl_dist_fatal(int code);
/* dist/nccl.c (CUDA + MPI builds): adds the nccl_* functions and nccl_compiled = true to the
 * module table on the top of the stack. */
void nl_nccl_open(lua_State *L);

#endif
