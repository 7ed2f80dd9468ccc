/* nccl.c: the NCCL backend of torch.distributed (functions nccl_* of the Lua module
 * "torch._dist"), compiled when nnlua is built with both CUDA and MPI. lua/torch/distributed.lua
 * routes CUDA tensors here when init_process_group{backend="nccl"} was called.
 *
 * Bootstrap: the ranks are started by mpirun, as for the MPI backend; MPI gives each process
 * its rank and world size, rank 0's ncclUniqueId travels to the others with one MPI_Bcast, and
 * every rank then joins the NCCL communicator. Each rank drives one GPU: the one numbered by
 * its node-local rank (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, or LOCAL_RANK) modulo the
 * number of visible GPUs; tensors handed to a collective must live on that device.
 *
 * libnccl is opened with dlopen on init_process_group (like cuBLAS in cuda/gemm.c), so a CUDA
 * build still starts on machines without NCCL and says so when the backend is asked for.
 *
 * Streams: nnlua queues every CUDA kernel on the legacy default stream, so NCCL calls go there
 * too and are ordered with the kernels before and after them. A collective returns a Work
 * whose wait() polls a CUDA event recorded after the call (and the communicator's
 * asynchronous error) until the process group's timeout; on a timeout or an NCCL error the
 * communicator is aborted (ncclCommAbort), the group is marked broken and a Lua error names
 * the collective.
 *
 * Never executed in CI (no GPU there): compiled there, exercised by the gpu-tagged specs. */
#include <dlfcn.h>
#include <mpi.h>
#include <nccl.h>
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "ltensor.h"
#include "nl_cuda.h"
#include "nl_dist.h"

#define NL_NWORK_MT "torch.distributed.NcclWork"

/* ---- libnccl entry points (dlopen) -------------------------------------------------------- */

typedef ncclResult_t (*nl_getid_fn)(ncclUniqueId *);
typedef ncclResult_t (*nl_initrank_fn)(ncclComm_t *, int, ncclUniqueId, int);
typedef ncclResult_t (*nl_allreduce_fn)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t,
                                        ncclComm_t, cudaStream_t);
typedef ncclResult_t (*nl_reduce_fn)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t, int,
                                     ncclComm_t, cudaStream_t);
typedef ncclResult_t (*nl_bcast_fn)(const void *, void *, size_t, ncclDataType_t, int, ncclComm_t,
                                    cudaStream_t);
typedef ncclResult_t (*nl_allgather_fn)(const void *, void *, size_t, ncclDataType_t, ncclComm_t,
                                        cudaStream_t);
typedef ncclResult_t (*nl_comm_fn)(ncclComm_t);
typedef ncclResult_t (*nl_asyncerr_fn)(ncclComm_t, ncclResult_t *);
typedef const char *(*nl_errstr_fn)(ncclResult_t);

static struct {
  void *lib;
  nl_getid_fn get_unique_id;
  nl_initrank_fn comm_init_rank;
  nl_allreduce_fn all_reduce;
  nl_reduce_fn reduce;
  nl_bcast_fn broadcast;
  nl_allgather_fn all_gather;
  nl_comm_fn comm_destroy, comm_abort;
  nl_asyncerr_fn get_async_error;
  nl_errstr_fn error_string;
} nl_nccl;

static ncclComm_t nl_comm = NULL;
static int nl_nccl_state = 0; /* 0: none, 1: live, 2: destroyed or broken */
static int nl_nccl_dev = -1, nl_nccl_rank = 0, nl_nccl_size = 1;
static double nl_nccl_timeout = 60.0;

static const char *nl_nccl_err(ncclResult_t r) {
  return nl_nccl.error_string ? nl_nccl.error_string(r) : "NCCL error";
}

/* Loads libnccl; NULL on success, else a message. */
static const char *nl_nccl_load(void) {
  if (nl_nccl.lib) return NULL;
  void *lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!lib) lib = dlopen("libnccl.so", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return "libnccl.so.2 was not found (install NCCL or add its folder to LD_LIBRARY_PATH)";
#define NL_SYM(field, type, name)                                     \
  if (!(nl_nccl.field = (type)dlsym(lib, name))) {                    \
    dlclose(lib);                                                     \
    memset(&nl_nccl, 0, sizeof nl_nccl);                              \
    return "libnccl.so.2 lacks " name " (NCCL 2.10 or newer needed)"; \
  }
  NL_SYM(get_unique_id, nl_getid_fn, "ncclGetUniqueId")
  NL_SYM(comm_init_rank, nl_initrank_fn, "ncclCommInitRank")
  NL_SYM(all_reduce, nl_allreduce_fn, "ncclAllReduce")
  NL_SYM(reduce, nl_reduce_fn, "ncclReduce")
  NL_SYM(broadcast, nl_bcast_fn, "ncclBroadcast")
  NL_SYM(all_gather, nl_allgather_fn, "ncclAllGather")
  NL_SYM(comm_destroy, nl_comm_fn, "ncclCommDestroy")
  NL_SYM(comm_abort, nl_comm_fn, "ncclCommAbort")
  NL_SYM(get_async_error, nl_asyncerr_fn, "ncclCommGetAsyncError")
  NL_SYM(error_string, nl_errstr_fn, "ncclGetErrorString")
#undef NL_SYM
  nl_nccl.lib = lib;
  return NULL;
}

static double nl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nl_nccl_break(void) {
  if (nl_comm && nl_nccl.comm_abort) nl_nccl.comm_abort(nl_comm);
  nl_comm = NULL;
  nl_nccl_state = 2;
}

static int nl_nccl_live(lua_State *L, const char *op) {
  if (nl_nccl_state == 1) return 0;
  if (nl_nccl_state == 2)
    return luaL_error(L, "%s: the NCCL process group is unusable after an earlier error or "
                         "timeout (its communicator was aborted); restart the job", op);
  return luaL_error(L, "%s: the NCCL process group has not been initialized", op);
}

/* ---- dtypes and ops ----------------------------------------------------------------------- */

static ncclDataType_t nl_nccl_type(lua_State *L, const char *op, nl_dtype dt) {
  switch (dt) {
  case NL_FLOAT32: return ncclFloat32;
  case NL_FLOAT64: return ncclFloat64;
  case NL_INT64: return ncclInt64;
  case NL_INT32: return ncclInt32;
  case NL_UINT8: return ncclUint8;
  case NL_BOOL: return ncclUint8; /* 0/1 bytes: sum/max act as or, min/product as and below */
  case NL_FLOAT16: return ncclFloat16;
  case NL_BFLOAT16: return ncclBfloat16;
  default:
    luaL_error(L, "%s: dtype %s is not supported by the NCCL backend", op, nl_dtype_name(dt));
    return ncclFloat32;
  }
}

/* "sum" | "avg" | "max" | "min" | "product". bool tensors: a sum could leave 2 in a byte, so
 * sum is done as max (logical or) and product as min (logical and), as the MPI backend does. */
static ncclRedOp_t nl_nccl_op(lua_State *L, const char *op, const char *name, nl_dtype dt) {
  int b = dt == NL_BOOL;
  if (strcmp(name, "sum") == 0) return b ? ncclMax : ncclSum;
  if (strcmp(name, "avg") == 0) {
    if (dt != NL_FLOAT32 && dt != NL_FLOAT64 && dt != NL_FLOAT16 && dt != NL_BFLOAT16)
      luaL_error(L, "%s: ReduceOp.AVG needs a floating point tensor (got %s)", op, nl_dtype_name(dt));
    return ncclAvg;
  }
  if (strcmp(name, "max") == 0) return ncclMax;
  if (strcmp(name, "min") == 0) return ncclMin;
  if (strcmp(name, "product") == 0) return b ? ncclMin : ncclProd;
  luaL_error(L, "%s: unknown reduce op '%s' (expected sum, avg, max, min or product)", op, name);
  return ncclSum;
}

/* A contiguous tensor on this rank's GPU. */
static nl_tensor *nl_nccl_tensor(lua_State *L, int idx, const char *op) {
  nl_tensor *t = nl_lua_check(L, idx);
  nl_device d = nl_device_of(t);
  if (d.type != NL_CUDA)
    luaL_error(L, "%s: the NCCL backend takes CUDA tensors (got a tensor on cpu; use "
                  "backend=\"mpi\" for CPU tensors)", op);
  if (d.index != nl_nccl_dev)
    luaL_error(L, "%s: this rank's NCCL communicator drives cuda:%d, got a tensor on cuda:%d "
                  "(rank %d uses GPU <local rank> %% <GPU count>)", op, nl_nccl_dev, d.index,
               nl_nccl_rank);
  if (!nl_is_contiguous(t)) luaL_error(L, "%s: internal: tensor must be contiguous", op);
  return t;
}

/* ---- Work: an event recorded after the collective ----------------------------------------- */

typedef struct nl_nwork {
  cudaEvent_t ev;
  int done;
  char op[48];
  nl_tensor *keep[2]; /* buffers the collective reads or writes */
} nl_nwork;

static void nl_nwork_release(nl_nwork *w) {
  for (int i = 0; i < 2; i++) {
    nl_tensor_free(w->keep[i]);
    w->keep[i] = NULL;
  }
  if (w->ev) { cudaEventDestroy(w->ev); w->ev = NULL; }
}

static int nl_nwork_gc(lua_State *L) {
  nl_nwork *w = luaL_checkudata(L, 1, NL_NWORK_MT);
  /* Still queued: the GPU may still use the buffers; wait for it unless the group is gone
   * (an aborted communicator has no pending work left). */
  if (!w->done && w->ev && nl_nccl_state == 1) cudaEventSynchronize(w->ev);
  nl_nwork_release(w);
  return 0;
}

static int nl_nccl_fail(lua_State *L, const char *op, const char *what) {
  char msg[320];
  snprintf(msg, sizeof msg, "%s: %s", op, what);
  nl_nccl_break();
  lua_pushstring(L, msg);
  return lua_error(L);
}

/* 1 done, 0 still running; raises on an NCCL/CUDA error. */
static int nl_nwork_poll(lua_State *L, nl_nwork *w) {
  if (w->done) return 1;
  cudaError_t e = cudaEventQuery(w->ev);
  if (e == cudaSuccess) { w->done = 1; nl_nwork_release(w); return 1; }
  if (e != cudaErrorNotReady) {
    char what[200];
    snprintf(what, sizeof what, "CUDA error while waiting for the collective: %s", cudaGetErrorString(e));
    return nl_nccl_fail(L, w->op, what);
  }
  ncclResult_t ae = ncclSuccess;
  if (nl_comm && nl_nccl.get_async_error(nl_comm, &ae) == ncclSuccess && ae != ncclSuccess) {
    char what[200];
    snprintf(what, sizeof what, "NCCL reported an error on this rank's communicator: %s "
             "(another rank may have died)", nl_nccl_err(ae));
    return nl_nccl_fail(L, w->op, what);
  }
  return 0;
}

static int nl_nwork_test(lua_State *L) {
  nl_nwork *w = luaL_checkudata(L, 1, NL_NWORK_MT);
  if (!w->done && nl_nccl_state == 1) nl_nwork_poll(L, w);
  lua_pushboolean(L, w->done);
  return 1;
}

/* Polls until done, an error, or the timeout (sleeping 20 us growing to 1 ms between polls). */
static int nl_nwork_wait(lua_State *L) {
  nl_nwork *w = luaL_checkudata(L, 1, NL_NWORK_MT);
  if (w->done) { lua_pushboolean(L, 1); return 1; }
  nl_nccl_live(L, w->op);
  double deadline = nl_now() + nl_nccl_timeout;
  long ns = 20000;
  while (!nl_nwork_poll(L, w)) {
    if (nl_now() > deadline) {
      char what[200];
      snprintf(what, sizeof what, "timed out after %g s waiting for other ranks (a rank may have "
               "died or called a different collective)", nl_nccl_timeout);
      return nl_nccl_fail(L, w->op, what);
    }
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
    if (ns < 1000000) ns *= 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* Records the completion event of a collective just queued; pushes the Work. */
static nl_nwork *nl_nwork_push(lua_State *L, const char *op, nl_tensor *a, nl_tensor *b) {
  nl_nwork *w = lua_newuserdatauv(L, sizeof *w, 0);
  memset(w, 0, sizeof *w);
  snprintf(w->op, sizeof w->op, "%s", op);
  luaL_setmetatable(L, NL_NWORK_MT);
  if (a) { nl_tensor_retain(a); w->keep[0] = a; }
  if (b) { nl_tensor_retain(b); w->keep[1] = b; }
  cudaError_t e = cudaEventCreateWithFlags(&w->ev, cudaEventDisableTiming);
  if (e == cudaSuccess) e = cudaEventRecord(w->ev, 0);
  if (e != cudaSuccess) {
    char what[200];
    snprintf(what, sizeof what, "could not record a CUDA event: %s", cudaGetErrorString(e));
    nl_nccl_fail(L, op, what);
  }
  return w;
}

static void nl_nccl_check(lua_State *L, const char *op, ncclResult_t r) {
  if (r == ncclSuccess) return;
  char what[200];
  snprintf(what, sizeof what, "NCCL call failed: %s", nl_nccl_err(r));
  nl_nccl_fail(L, op, what);
}

/* ---- process group ------------------------------------------------------------------------ */

static int nl_local_rank(void) {
  const char *names[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "LOCAL_RANK",
                         "SLURM_LOCALID"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *v = getenv(names[i]);
    if (v && *v) return atoi(v);
  }
  return 0;
}

/* nccl_init(rank, world_size, timeout) -> device index. Called by distributed.lua after the
 * MPI process group is up (C.init), which gave rank and world size. */
static int nl_d_nccl_init(lua_State *L) {
  int rank = (int)luaL_checkinteger(L, 1);
  int size = (int)luaL_checkinteger(L, 2);
  double timeout = luaL_checknumber(L, 3);
  if (nl_nccl_state == 1)
    return luaL_error(L, "init_process_group: trying to initialize the default process group twice!");
  int ndev = nl_cuda_device_count();
  if (ndev <= 0)
    return luaL_error(L, "init_process_group: backend 'nccl' needs a GPU, but "
                         "torch.cuda.is_available() is false on rank %d", rank);
  /* Every rank loads NCCL and reports; a rank without it must not leave the others waiting
   * in the broadcast of the id, so the outcome is agreed on first. */
  const char *why = nl_nccl_load();
  int ok = why == NULL, all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all_ok)
    return luaL_error(L, "init_process_group: backend 'nccl': %s", why ? why : "another rank could not load libnccl");
  nl_nccl_dev = nl_local_rank() % ndev;
  if (cudaSetDevice(nl_nccl_dev) != cudaSuccess)
    return luaL_error(L, "init_process_group: cudaSetDevice(%d) failed", nl_nccl_dev);
  ncclUniqueId id;
  memset(&id, 0, sizeof id);
  ncclResult_t r = ncclSuccess;
  if (rank == 0) r = nl_nccl.get_unique_id(&id);
  int idok = r == ncclSuccess, all_idok = 0;
  MPI_Allreduce(&idok, &all_idok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all_idok) return luaL_error(L, "init_process_group: ncclGetUniqueId failed on rank 0");
  MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
  r = nl_nccl.comm_init_rank(&nl_comm, size, id, rank);
  if (r != ncclSuccess) {
    nl_comm = NULL;
    return luaL_error(L, "init_process_group: ncclCommInitRank failed on rank %d (cuda:%d): %s",
                      rank, nl_nccl_dev, nl_nccl_err(r));
  }
  nl_nccl_rank = rank;
  nl_nccl_size = size;
  nl_nccl_timeout = timeout;
  nl_nccl_state = 1;
  lua_pushinteger(L, nl_nccl_dev);
  return 1;
}

static int nl_d_nccl_finalize(lua_State *L) {
  (void)L;
  if (nl_nccl_state == 1 && nl_comm) {
    cudaDeviceSynchronize();
    nl_nccl.comm_destroy(nl_comm);
  }
  nl_comm = NULL;
  nl_nccl_state = 0;
  return 0;
}

/* nccl_allreduce(t, op, name) -> Work: t is reduced in place. */
static int nl_d_nccl_allreduce(lua_State *L) {
  const char *name = luaL_optstring(L, 3, "all_reduce");
  nl_tensor *t = nl_nccl_tensor(L, 1, name);
  const char *opname = luaL_optstring(L, 2, "sum");
  nl_nccl_live(L, name);
  ncclDataType_t ty = nl_nccl_type(L, name, t->dtype);
  ncclRedOp_t op = nl_nccl_op(L, name, opname, t->dtype);
  void *p = nl_data(t);
  nl_nccl_check(L, name, nl_nccl.all_reduce(p, p, (size_t)nl_numel(t), ty, op, nl_comm, 0));
  nl_bump_version(t);
  nl_nwork_push(L, name, t, NULL);
  return 1;
}

/* nccl_reduce(t, op, dst) -> Work: the result lands in t on rank dst. */
static int nl_d_nccl_reduce(lua_State *L) {
  nl_tensor *t = nl_nccl_tensor(L, 1, "reduce");
  const char *opname = luaL_optstring(L, 2, "sum");
  int dst = (int)luaL_checkinteger(L, 3);
  nl_nccl_live(L, "reduce");
  ncclDataType_t ty = nl_nccl_type(L, "reduce", t->dtype);
  ncclRedOp_t op = nl_nccl_op(L, "reduce", opname, t->dtype);
  void *p = nl_data(t);
  nl_nccl_check(L, "reduce", nl_nccl.reduce(p, p, (size_t)nl_numel(t), ty, op, dst, nl_comm, 0));
  nl_bump_version(t);
  nl_nwork_push(L, "reduce", t, NULL);
  return 1;
}

/* nccl_bcast(t, src) -> Work */
static int nl_d_nccl_bcast(lua_State *L) {
  nl_tensor *t = nl_nccl_tensor(L, 1, "broadcast");
  int src = (int)luaL_checkinteger(L, 2);
  nl_nccl_live(L, "broadcast");
  ncclDataType_t ty = nl_nccl_type(L, "broadcast", t->dtype);
  void *p = nl_data(t);
  nl_nccl_check(L, "broadcast", nl_nccl.broadcast(p, p, (size_t)nl_numel(t), ty, src, nl_comm, 0));
  nl_bump_version(t);
  nl_nwork_push(L, "broadcast", t, NULL);
  return 1;
}

/* nccl_allgather(t, out) -> Work: out holds world_size * numel(t) elements, rank order. */
static int nl_d_nccl_allgather(lua_State *L) {
  nl_tensor *t = nl_nccl_tensor(L, 1, "all_gather");
  nl_tensor *out = nl_nccl_tensor(L, 2, "all_gather");
  nl_nccl_live(L, "all_gather");
  ncclDataType_t ty = nl_nccl_type(L, "all_gather", t->dtype);
  int64_t n = nl_numel(t);
  if (out->dtype != t->dtype || nl_numel(out) != n * nl_nccl_size)
    return luaL_error(L, "all_gather: internal: output buffer mismatch");
  nl_nccl_check(L, "all_gather", nl_nccl.all_gather(nl_data(t), nl_data(out), (size_t)n, ty, nl_comm, 0));
  nl_bump_version(out);
  nl_nwork_push(L, "all_gather", t, out);
  return 1;
}

/* nccl_sync(name): waits for the GPU work queued so far (before an MPI barrier). */
static int nl_d_nccl_sync(lua_State *L) {
  const char *name = luaL_optstring(L, 1, "barrier");
  nl_nccl_live(L, name);
  if (nl_cuda_synchronize() < 0) return nl_lua_error(L);
  return 0;
}

void nl_nccl_open(lua_State *L) {
  if (luaL_newmetatable(L, NL_NWORK_MT)) {
    static const luaL_Reg m[] = {{"wait", nl_nwork_wait}, {"is_completed", nl_nwork_test},
                                 {"__gc", nl_nwork_gc}, {NULL, NULL}};
    luaL_setfuncs(L, m, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  static const luaL_Reg f[] = {
      {"nccl_init", nl_d_nccl_init}, {"nccl_finalize", nl_d_nccl_finalize},
      {"nccl_allreduce", nl_d_nccl_allreduce}, {"nccl_reduce", nl_d_nccl_reduce},
      {"nccl_bcast", nl_d_nccl_bcast}, {"nccl_allgather", nl_d_nccl_allgather},
      {"nccl_sync", nl_d_nccl_sync}, {NULL, NULL}};
  luaL_setfuncs(L, f, 0);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "nccl_compiled");
}
