/* mpi.c: the MPI backend of torch.distributed (Lua module "torch._dist"), compiled only when
 * CMake finds MPI (NNLUA_MPI=AUTO|ON). lua/torch/distributed.lua builds the public API on it.
 *
 * Every collective is non-blocking (MPI_Iallreduce, MPI_Ibcast, ...) and returns a Work
 * object; Work:wait() polls MPI_Test until the process group's timeout passes and then raises
 * "<op>: timed out after N s waiting for other ranks ...", so a dead or diverging rank never
 * makes the others hang without end. After a timeout the group is broken (a request is still
 * pending inside MPI): every later collective fails at once, and exit aborts the MPI job.
 *
 * Threads: MPI_Init_thread(MPI_THREAD_FUNNELED); only the Lua thread calls MPI (the OpenMP
 * kernel threads never do). Tensors handed to the C side are contiguous CPU tensors (the Lua
 * side copies other layouts into a contiguous buffer and back). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "ltensor.h"
#include "nl_dist.h"

#define NL_WORK_MT "torch.distributed.Work"

static int nl_dist_state = 0;   /* 0: not initialised, 1: initialised, 2: finalised */
static int nl_dist_broken = 0;  /* a collective timed out: requests are left pending */
static double nl_dist_timeout = 60.0;
static int nl_dist_rank = 0, nl_dist_size = 1;

static double nl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nl_dist_atexit(void) {
  int fin = 0, init = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (!init || fin || nl_dist_state != 1) return;
  /* A pending request (after a timeout) would make MPI_Finalize wait for the lost rank. */
  if (nl_dist_broken) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Finalize();
}

void nl_dist_fatal(int code) {
  if (nl_dist_state != 1) return;
  fprintf(stderr, "nnlua: rank %d: uncaught error with a process group initialised: aborting "
                  "the MPI job so that no other rank waits for this one\n", nl_dist_rank);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
}

static int nl_dist_check_live(lua_State *L, const char *op) {
  if (nl_dist_state != 1)
    return luaL_error(L, "%s: default process group has not been initialized, please make "
                         "sure to call init_process_group", op);
  if (nl_dist_broken)
    return luaL_error(L, "%s: the process group is unusable after an earlier timeout (a "
                         "collective is still pending); restart the job", op);
  return 0;
}

/* ---- dtypes and ops ----------------------------------------------------------------------- */

static MPI_Datatype nl_mpi_type(lua_State *L, const char *op, nl_dtype dt) {
  switch (dt) {
  case NL_FLOAT32: return MPI_FLOAT;
  case NL_FLOAT64: return MPI_DOUBLE;
  case NL_INT64: return MPI_INT64_T;
  case NL_INT32: return MPI_INT32_T;
  case NL_UINT8: return MPI_UINT8_T;
  case NL_BOOL: return MPI_C_BOOL;
  default:
    luaL_error(L, "%s: dtype %s is not supported by the MPI backend", op, nl_dtype_name(dt));
    return MPI_DATATYPE_NULL;
  }
}

/* "sum" | "max" | "min" | "product" ("avg" is a sum divided by the Lua side). bool: sum and
 * max are logical or, product and min logical and (PyTorch's Gloo does the same). */
static MPI_Op nl_mpi_op(lua_State *L, const char *op, const char *name, nl_dtype dt) {
  int b = dt == NL_BOOL;
  if (strcmp(name, "sum") == 0) return b ? MPI_LOR : MPI_SUM;
  if (strcmp(name, "max") == 0) return b ? MPI_LOR : MPI_MAX;
  if (strcmp(name, "min") == 0) return b ? MPI_LAND : MPI_MIN;
  if (strcmp(name, "product") == 0) return b ? MPI_LAND : MPI_PROD;
  luaL_error(L, "%s: unknown reduce op '%s' (expected sum, avg, max, min or product)", op, name);
  return MPI_OP_NULL;
}

static nl_tensor *nl_dist_tensor(lua_State *L, int idx, const char *op) {
  nl_tensor *t = nl_lua_check(L, idx);
  if (nl_device_of(t).type != NL_CPU)
    luaL_error(L, "%s: the MPI backend takes CPU tensors (use backend=\"nccl\" for CUDA)", op);
  if (!nl_is_contiguous(t)) luaL_error(L, "%s: internal: tensor must be contiguous", op);
  return t;
}

/* ---- Work: one pending request ------------------------------------------------------------ */

typedef struct nl_work {
  MPI_Request req;
  int done;
  char op[32];
  nl_tensor *keep[2]; /* buffers MPI reads or writes until completion */
} nl_work;

static nl_work *nl_work_new(lua_State *L, const char *op) {
  nl_work *w = lua_newuserdatauv(L, sizeof *w, 0);
  memset(w, 0, sizeof *w);
  w->req = MPI_REQUEST_NULL;
  snprintf(w->op, sizeof w->op, "%s", op);
  luaL_setmetatable(L, NL_WORK_MT);
  return w;
}

static void nl_work_keep(nl_work *w, int i, nl_tensor *t) {
  nl_tensor_retain(t);
  w->keep[i] = t;
}

static void nl_work_release(nl_work *w) {
  for (int i = 0; i < 2; i++) {
    nl_tensor_free(w->keep[i]);
    w->keep[i] = NULL;
  }
}

static int nl_work_gc(lua_State *L) {
  nl_work *w = luaL_checkudata(L, 1, NL_WORK_MT);
  /* A request still pending keeps its buffers alive (MPI may still write them). */
  if (w->done || w->req == MPI_REQUEST_NULL) nl_work_release(w);
  return 0;
}

static int nl_work_test(lua_State *L) {
  nl_work *w = luaL_checkudata(L, 1, NL_WORK_MT);
  if (!w->done && w->req != MPI_REQUEST_NULL && nl_dist_state == 1) {
    int flag = 0;
    MPI_Test(&w->req, &flag, MPI_STATUS_IGNORE);
    if (flag) { w->done = 1; nl_work_release(w); }
  }
  lua_pushboolean(L, w->done);
  return 1;
}

/* Polls until done or the deadline: MPI_Test drives Open MPI's progress engine; the sleep
 * grows from 20 us to 1 ms so a waiting rank leaves the core to the others. */
static int nl_wait_req(MPI_Request *req, double timeout) {
  double deadline = nl_now() + timeout;
  long ns = 20000;
  for (;;) {
    int flag = 0;
    MPI_Test(req, &flag, MPI_STATUS_IGNORE);
    if (flag) return 1;
    if (nl_now() > deadline) return 0;
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
    if (ns < 1000000) ns *= 2;
  }
}

static int nl_timeout_error(lua_State *L, const char *op) {
  nl_dist_broken = 1;
  char msg[256]; /* lua_pushfstring knows no %g */
  snprintf(msg, sizeof msg, "%s: timed out after %g s waiting for other ranks (a rank may have "
           "died or called a different collective)", op, nl_dist_timeout);
  lua_pushstring(L, msg); /* no position: the error belongs to the collective, not a line */
  return lua_error(L);
}

static int nl_work_wait(lua_State *L) {
  nl_work *w = luaL_checkudata(L, 1, NL_WORK_MT);
  if (w->done || w->req == MPI_REQUEST_NULL) { lua_pushboolean(L, 1); return 1; }
  nl_dist_check_live(L, w->op);
  if (!nl_wait_req(&w->req, nl_dist_timeout)) return nl_timeout_error(L, w->op);
  w->done = 1;
  nl_work_release(w);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- process group ------------------------------------------------------------------------ */

/* init(timeout) -> rank, world_size. Rank and size come from the launcher (mpirun). */
static int nl_d_init(lua_State *L) {
  double timeout = luaL_optnumber(L, 1, 60.0);
  if (nl_dist_state == 2)
    return luaL_error(L, "init_process_group: MPI cannot be initialised again after "
                         "destroy_process_group in the same process");
  if (nl_dist_state == 1)
    return luaL_error(L, "init_process_group: trying to initialize the default process group twice!");
  int init = 0, provided = 0;
  MPI_Initialized(&init);
  if (!init && MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return luaL_error(L, "init_process_group: MPI_Init_thread failed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &nl_dist_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nl_dist_size);
  nl_dist_timeout = timeout;
  nl_dist_state = 1;
  nl_dist_broken = 0;
  static int registered = 0;
  if (!registered) { atexit(nl_dist_atexit); registered = 1; }
  lua_pushinteger(L, nl_dist_rank);
  lua_pushinteger(L, nl_dist_size);
  return 2;
}

static int nl_d_finalize(lua_State *L) {
  if (nl_dist_state != 1) return 0;
  if (nl_dist_broken) { nl_dist_state = 2; MPI_Abort(MPI_COMM_WORLD, 1); }
  MPI_Finalize();
  nl_dist_state = 2;
  return 0;
}

static int nl_d_is_initialized(lua_State *L) {
  lua_pushboolean(L, nl_dist_state == 1);
  return 1;
}

static int nl_d_set_timeout(lua_State *L) {
  nl_dist_timeout = luaL_checknumber(L, 1);
  return 0;
}

/* check(t, op): all ranks agree on dtype, ndim, numel and shape, or every rank raises
 * "op: tensor shapes differ across ranks (...)". One all-reduce (max) over the descriptor
 * and its negation gives the maximum and the minimum of every field. */
#define NL_DESC (3 + NL_MAXDIM)
static int nl_d_check(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  const char *op = luaL_checkstring(L, 2);
  nl_dist_check_live(L, op);
  int64_t d[2 * NL_DESC];
  memset(d, 0, sizeof d);
  d[0] = t->dtype;
  d[1] = t->ndim;
  d[2] = nl_numel(t);
  for (int i = 0; i < t->ndim; i++) d[3 + i] = t->shape[i];
  for (int i = 0; i < NL_DESC; i++) d[NL_DESC + i] = -d[i];
  MPI_Request req;
  MPI_Iallreduce(MPI_IN_PLACE, d, 2 * NL_DESC, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD, &req);
  if (!nl_wait_req(&req, nl_dist_timeout)) return nl_timeout_error(L, op);
  char buf[160];
  nl_shape_str(t->ndim, t->shape, buf, sizeof buf);
  if (d[0] != -d[NL_DESC]) {
    lua_pushfstring(L, "%s: tensor dtypes differ across ranks (%s on rank %d, another rank "
                         "has a different dtype)", op, nl_dtype_name(t->dtype), nl_dist_rank);
    return lua_error(L);
  }
  for (int i = 1; i < NL_DESC; i++)
    if (d[i] != -d[NL_DESC + i])
    {
      char msg[400];
      snprintf(msg, sizeof msg, "%s: tensor shapes differ across ranks (%s on rank %d vs numel "
               "%lld..%lld and ndim %lld..%lld across ranks)", op, buf, nl_dist_rank,
               (long long)-d[NL_DESC + 2], (long long)d[2], (long long)-d[NL_DESC + 1], (long long)d[1]);
      lua_pushstring(L, msg);
      return lua_error(L);
    }
  return 0;
}

/* iallreduce(t, opname) -> Work: t (contiguous CPU) is reduced in place. */
static int nl_d_iallreduce(lua_State *L) {
  nl_tensor *t = nl_dist_tensor(L, 1, "all_reduce");
  const char *opname = luaL_optstring(L, 2, "sum");
  const char *name = luaL_optstring(L, 3, "all_reduce");
  nl_dist_check_live(L, name);
  MPI_Datatype ty = nl_mpi_type(L, name, t->dtype);
  MPI_Op mop = nl_mpi_op(L, name, opname, t->dtype);
  int64_t n = nl_numel(t);
  if (n > 0x7fffffff) return luaL_error(L, "%s: tensor too large for one MPI call (%I elements)", name, (lua_Integer)n);
  nl_work *w = nl_work_new(L, name);
  nl_work_keep(w, 0, t);
  if (MPI_Iallreduce(MPI_IN_PLACE, nl_data(t), (int)n, ty, mop, MPI_COMM_WORLD, &w->req) != MPI_SUCCESS)
    return luaL_error(L, "%s: MPI_Iallreduce failed", name);
  nl_bump_version(t);
  return 1;
}

/* ireduce(t, opname, dst) -> Work: the result lands in t on rank dst only. */
static int nl_d_ireduce(lua_State *L) {
  nl_tensor *t = nl_dist_tensor(L, 1, "reduce");
  const char *opname = luaL_optstring(L, 2, "sum");
  int dst = (int)luaL_checkinteger(L, 3);
  nl_dist_check_live(L, "reduce");
  MPI_Datatype ty = nl_mpi_type(L, "reduce", t->dtype);
  MPI_Op mop = nl_mpi_op(L, "reduce", opname, t->dtype);
  nl_work *w = nl_work_new(L, "reduce");
  nl_work_keep(w, 0, t);
  void *p = nl_data(t);
  int rc = nl_dist_rank == dst
               ? MPI_Ireduce(MPI_IN_PLACE, p, (int)nl_numel(t), ty, mop, dst, MPI_COMM_WORLD, &w->req)
               : MPI_Ireduce(p, NULL, (int)nl_numel(t), ty, mop, dst, MPI_COMM_WORLD, &w->req);
  if (rc != MPI_SUCCESS) return luaL_error(L, "reduce: MPI_Ireduce failed");
  nl_bump_version(t);
  return 1;
}

/* ibcast(t, src) -> Work */
static int nl_d_ibcast(lua_State *L) {
  nl_tensor *t = nl_dist_tensor(L, 1, "broadcast");
  int src = (int)luaL_checkinteger(L, 2);
  nl_dist_check_live(L, "broadcast");
  MPI_Datatype ty = nl_mpi_type(L, "broadcast", t->dtype);
  nl_work *w = nl_work_new(L, "broadcast");
  nl_work_keep(w, 0, t);
  if (MPI_Ibcast(nl_data(t), (int)nl_numel(t), ty, src, MPI_COMM_WORLD, &w->req) != MPI_SUCCESS)
    return luaL_error(L, "broadcast: MPI_Ibcast failed");
  nl_bump_version(t);
  return 1;
}

/* iallgather(t, out) -> Work: out (contiguous, world_size * numel(t) elements) receives
 * every rank's t in rank order. */
static int nl_d_iallgather(lua_State *L) {
  nl_tensor *t = nl_dist_tensor(L, 1, "all_gather");
  nl_tensor *out = nl_dist_tensor(L, 2, "all_gather");
  nl_dist_check_live(L, "all_gather");
  MPI_Datatype ty = nl_mpi_type(L, "all_gather", t->dtype);
  int64_t n = nl_numel(t);
  if (out->dtype != t->dtype || nl_numel(out) != n * nl_dist_size)
    return luaL_error(L, "all_gather: internal: output buffer mismatch");
  nl_work *w = nl_work_new(L, "all_gather");
  nl_work_keep(w, 0, t);
  nl_work_keep(w, 1, out);
  if (MPI_Iallgather(nl_data(t), (int)n, ty, nl_data(out), (int)n, ty, MPI_COMM_WORLD, &w->req) != MPI_SUCCESS)
    return luaL_error(L, "all_gather: MPI_Iallgather failed");
  nl_bump_version(out);
  return 1;
}

static int nl_d_ibarrier(lua_State *L) {
  nl_dist_check_live(L, "barrier");
  nl_work *w = nl_work_new(L, "barrier");
  if (MPI_Ibarrier(MPI_COMM_WORLD, &w->req) != MPI_SUCCESS)
    return luaL_error(L, "barrier: MPI_Ibarrier failed");
  return 1;
}

int luaopen_torch_dist(lua_State *L) {
  if (luaL_newmetatable(L, NL_WORK_MT)) {
    static const luaL_Reg m[] = {{"wait", nl_work_wait}, {"is_completed", nl_work_test},
                                 {"__gc", nl_work_gc}, {NULL, NULL}};
    luaL_setfuncs(L, m, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  static const luaL_Reg f[] = {
      {"init", nl_d_init}, {"finalize", nl_d_finalize}, {"is_initialized", nl_d_is_initialized},
      {"set_timeout", nl_d_set_timeout}, {"check", nl_d_check}, {"iallreduce", nl_d_iallreduce},
      {"ireduce", nl_d_ireduce}, {"ibcast", nl_d_ibcast}, {"iallgather", nl_d_iallgather},
      {"ibarrier", nl_d_ibarrier}, {NULL, NULL}};
  luaL_newlib(L, f);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "mpi_available");
#ifdef NNLUA_WITH_NCCL
  nl_nccl_open(L);
#endif
  return 1;
}
