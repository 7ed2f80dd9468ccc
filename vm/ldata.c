/* ldata.c: the "data._C" module: dataset file readers, PNG write/read, the DataLoader's
 * generator and its C fast path (batched gather + transforms, worker-thread epochs). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ltensor.h"

#include "../tensor/data_batch.h"
#include "../tensor/data_io.h"

#define NL_GEN_MT "nnlua.data.Generator"
#define NL_PIPE_MT "nnlua.data.Pipeline"
#define NL_EPOCH_MT "nnlua.data.Epoch"

/* ---- readers ----------------------------------------------------------------------------- */
static int nl_l_read_idx(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int nd = (int)luaL_optinteger(L, 2, 0);
  lua_Integer n = luaL_optinteger(L, 3, -1);
  nl_lua_push(L, nl_read_idx(path, nd, n));
  return 1;
}

static int nl_l_read_cifar(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *paths[16];
  int n = (int)luaL_len(L, 1);
  if (n < 1 || n > 16) return luaL_error(L, "read_cifar: expected 1 to 16 paths, got %d", n);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    paths[i] = luaL_checkstring(L, -1); /* stays on the stack: the strings live */
  }
  nl_tensor *labels = NULL;
  nl_tensor *img = nl_read_cifar(n, paths, &labels);
  if (!img) return nl_lua_error(L);
  nl_lua_push(L, img);
  nl_lua_push(L, labels);
  return 2;
}

/* png_write(path, t): t uint8 (H, W, C) with C in {1, 3, 4}. */
static int nl_l_png_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  nl_tensor *t = nl_lua_check(L, 2);
  char sh[128];
  if (t->dtype != NL_UINT8 || t->ndim != 3 || nl_device_of(t).type != NL_CPU || !nl_is_contiguous(t))
    return luaL_error(L, "save_image: expected a contiguous CPU uint8 tensor (H, W, C), got %s %s",
                      nl_dtype_name(t->dtype), nl_shape_str(t->ndim, t->shape, sh, sizeof sh));
  nl_lua_check_status(L, nl_png_write(path, nl_data(t), t->shape[0], t->shape[1], (int)t->shape[2]));
  return 0;
}

static int nl_l_png_read(lua_State *L) {
  nl_lua_push(L, nl_png_read(luaL_checkstring(L, 1)));
  return 1;
}

/* ---- Generator: splitmix64, for shuffling and per-batch seeds -------------------------- */
typedef struct { uint64_t seed, state; } nl_gen;

static nl_gen *nl_checkgen(lua_State *L) { return luaL_checkudata(L, 1, NL_GEN_MT); }

static int nl_l_generator(lua_State *L) {
  uint64_t seed = (uint64_t)luaL_optinteger(L, 1, 67280421310721);
  nl_gen *g = lua_newuserdatauv(L, sizeof *g, 0);
  g->seed = g->state = seed;
  luaL_setmetatable(L, NL_GEN_MT);
  return 1;
}

static int nl_l_gen_manual_seed(lua_State *L) {
  nl_gen *g = nl_checkgen(L);
  g->seed = g->state = (uint64_t)luaL_checkinteger(L, 2);
  lua_settop(L, 1);
  return 1;
}

static int nl_l_gen_initial_seed(lua_State *L) { lua_pushinteger(L, (lua_Integer)nl_checkgen(L)->seed); return 1; }

/* A 63-bit non-negative integer (a seed for something else). */
static int nl_l_gen_seed(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)(nl_splitmix64(&nl_checkgen(L)->state) >> 1));
  return 1;
}

static int nl_l_gen_random(lua_State *L) { lua_pushnumber(L, nl_sm_uniform(&nl_checkgen(L)->state)); return 1; }

/* g:randperm(n): int64 permutation of 1..n (Fisher-Yates). */
static int nl_l_gen_randperm(lua_State *L) {
  nl_gen *g = nl_checkgen(L);
  lua_Integer n = luaL_checkinteger(L, 2);
  if (n < 0) return luaL_error(L, "randperm: n must be non-negative, got %lld", (long long)n);
  int64_t nn = n;
  nl_tensor *t = nl_empty(1, &nn, NL_INT64, nl_cpu());
  if (!t) return nl_lua_error(L);
  int64_t *p = nl_data(t);
  for (int64_t i = 0; i < n; i++) p[i] = i + 1;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)(nl_splitmix64(&g->state) % (uint64_t)(i + 1));
    int64_t tmp = p[i]; p[i] = p[j]; p[j] = tmp;
  }
  nl_lua_push(L, t);
  return 1;
}

static int nl_l_gen_tostring(lua_State *L) {
  lua_pushfstring(L, "data.Generator(seed=%I)", (lua_Integer)nl_checkgen(L)->seed);
  return 1;
}

/* ---- pipelines ---------------------------------------------------------------------------- */
static nl_pipeline *nl_checkpipe(lua_State *L) { return luaL_checkudata(L, 1, NL_PIPE_MT); }

static int nl_l_pipe_gc(lua_State *L) {
  nl_pipeline *p = nl_checkpipe(L);
  for (int s = 0; s < p->nsrc; s++) { nl_tensor_free(p->src[s]); p->src[s] = NULL; }
  p->nsrc = 0;
  return 0;
}

static double nl_fieldnum(lua_State *L, int t, const char *k, double def) {
  lua_getfield(L, t, k);
  double v = lua_isnil(L, -1) ? def : luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static int nl_fieldlist(lua_State *L, int t, const char *k, double *out) {
  lua_getfield(L, t, k);
  luaL_checktype(L, -1, LUA_TTABLE);
  int n = (int)luaL_len(L, -1);
  if (n < 1 || n > NL_PIPE_MAXCH) luaL_error(L, "Normalize: %s needs 1 to %d values, got %d", k, NL_PIPE_MAXCH, n);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, -1, i + 1);
    out[i] = luaL_checknumber(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return n;
}

/* pipeline({t1, t2, ...}, tsrc (1-based, 0 none), {{kind=, ...}, ...}) */
static int nl_l_pipeline(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int tsrc = (int)luaL_optinteger(L, 2, 0) - 1;
  int nsrc = (int)luaL_len(L, 1);
  if (nsrc < 1 || nsrc > NL_PIPE_MAXSRC) return luaL_error(L, "DataLoader: fast path takes 1 to %d tensors, got %d", NL_PIPE_MAXSRC, nsrc);
  if (tsrc >= nsrc) return luaL_error(L, "DataLoader: transformed source %d out of range", tsrc + 1);
  nl_pipeline *p = lua_newuserdatauv(L, sizeof *p, 0);
  memset(p, 0, sizeof *p);
  p->tsrc = tsrc;
  luaL_setmetatable(L, NL_PIPE_MT);
  int ntf = lua_istable(L, 3) ? (int)luaL_len(L, 3) : 0;
  if (ntf > NL_PIPE_MAXTF) return luaL_error(L, "DataLoader: at most %d batched transforms", NL_PIPE_MAXTF);
  for (int i = 0; i < ntf; i++) {
    lua_rawgeti(L, 3, i + 1);
    int t = lua_gettop(L);
    lua_getfield(L, t, "kind");
    const char *kind = luaL_checkstring(L, -1);
    nl_tf *tf = &p->tf[i];
    if (!strcmp(kind, "crop")) {
      tf->kind = NL_TF_CROP;
      tf->h = (int64_t)nl_fieldnum(L, t, "h", 0);
      tf->w = (int64_t)nl_fieldnum(L, t, "w", 0);
      tf->pad = (int64_t)nl_fieldnum(L, t, "pad", 0);
      if (tf->h < 1 || tf->w < 1 || tf->pad < 0) return luaL_error(L, "RandomCrop: bad size (%d, %d) or padding %d", (int)tf->h, (int)tf->w, (int)tf->pad);
    } else if (!strcmp(kind, "flip")) {
      tf->kind = NL_TF_FLIP;
      tf->p = nl_fieldnum(L, t, "p", 0.5);
    } else if (!strcmp(kind, "totensor")) {
      tf->kind = NL_TF_TOTENSOR;
    } else if (!strcmp(kind, "normalize")) {
      tf->kind = NL_TF_NORMALIZE;
      tf->nmean = nl_fieldlist(L, t, "mean", tf->mean);
      tf->nstd = nl_fieldlist(L, t, "std", tf->std);
    } else {
      return luaL_error(L, "DataLoader: unknown batched transform '%s'", kind);
    }
    lua_settop(L, t - 1);
    p->ntf++;
  }
  for (int s = 0; s < nsrc; s++) {
    lua_rawgeti(L, 1, s + 1);
    nl_tensor *t = nl_lua_check(L, -1);
    char sh[128];
    if (nl_device_of(t).type != NL_CPU || !nl_is_contiguous(t) || t->ndim < 1 ||
        (s > 0 && t->shape[0] != p->src[0]->shape[0]))
      return luaL_error(L, "DataLoader: fast path needs contiguous CPU tensors of the same first size, got %s",
                        nl_shape_str(t->ndim, t->shape, sh, sizeof sh));
    nl_tensor_retain(t);
    p->src[s] = t;
    p->nsrc++;
    lua_pop(L, 1);
  }
  nl_lua_check_status(L, nl_pipeline_check(p));
  return 1;
}

/* Copies a 1-based int64 index tensor (or list) at idx into a malloc'd 0-based array. */
static int64_t *nl_indices(lua_State *L, int idx, int64_t *n) {
  nl_tensor *t = nl_lua_to(L, idx);
  int64_t *out;
  if (t) {
    if (t->dtype != NL_INT64 || t->ndim != 1 || nl_device_of(t).type != NL_CPU || !nl_is_contiguous(t))
      luaL_error(L, "DataLoader: indices must be a contiguous int64 CPU vector");
    *n = t->shape[0];
    out = malloc(sizeof(int64_t) * (size_t)(*n + 1));
    if (!out) luaL_error(L, "DataLoader: out of memory");
    const int64_t *p = nl_data(t);
    for (int64_t i = 0; i < *n; i++) out[i] = p[i] - 1;
  } else {
    luaL_checktype(L, idx, LUA_TTABLE);
    *n = (int64_t)luaL_len(L, idx);
    out = malloc(sizeof(int64_t) * (size_t)(*n + 1));
    if (!out) luaL_error(L, "DataLoader: out of memory");
    for (int64_t i = 0; i < *n; i++) {
      lua_rawgeti(L, idx, i + 1);
      int ok;
      out[i] = (int64_t)lua_tointegerx(L, -1, &ok) - 1;
      lua_pop(L, 1);
      if (!ok) { free(out); luaL_error(L, "DataLoader: index %d is not an integer", (int)(i + 1)); }
    }
  }
  return out;
}

/* pipe:batch(indices, seed) -> one tensor per source */
static int nl_l_pipe_batch(lua_State *L) {
  nl_pipeline *p = nl_checkpipe(L);
  uint64_t seed = (uint64_t)luaL_optinteger(L, 3, 0);
  int64_t n;
  int64_t *idx = nl_indices(L, 2, &n);
  nl_tensor *out[NL_PIPE_MAXSRC];
  int st = nl_pipeline_batch(p, idx, n, seed, out);
  free(idx);
  if (st < 0) return nl_lua_error(L);
  for (int s = 0; s < p->nsrc; s++) nl_lua_push(L, out[s]);
  return p->nsrc;
}

/* pipe:epoch(nworkers, depth, indices, offsets (list of nbatches+1, 0-based), seeds) */
static int nl_l_pipe_epoch(lua_State *L) {
  nl_pipeline *p = nl_checkpipe(L);
  int nw = (int)luaL_checkinteger(L, 2), depth = (int)luaL_checkinteger(L, 3);
  luaL_checktype(L, 5, LUA_TTABLE);
  luaL_checktype(L, 6, LUA_TTABLE);
  int64_t nb = (int64_t)luaL_len(L, 6);
  if ((int64_t)luaL_len(L, 5) != nb + 1) return luaL_error(L, "DataLoader: %d offsets for %d batches", (int)luaL_len(L, 5), (int)nb);
  nl_epoch **ud = lua_newuserdatauv(L, sizeof *ud, 0);
  *ud = NULL;
  luaL_setmetatable(L, NL_EPOCH_MT);
  int64_t n;
  int64_t *idx = nl_indices(L, 4, &n);
  int64_t *off = malloc(sizeof(int64_t) * (size_t)(nb + 1));
  uint64_t *seeds = malloc(sizeof(uint64_t) * (size_t)(nb + 1));
  if (!off || !seeds) { free(off); free(seeds); free(idx); return luaL_error(L, "DataLoader: out of memory"); }
  for (int64_t k = 0; k <= nb; k++) {
    lua_rawgeti(L, 5, k + 1); off[k] = lua_tointeger(L, -1); lua_pop(L, 1);
    if (k < nb) { lua_rawgeti(L, 6, k + 1); seeds[k] = (uint64_t)lua_tointeger(L, -1); lua_pop(L, 1); }
  }
  int bad = off[0] != 0 || off[nb] != n;
  for (int64_t k = 0; k < nb && !bad; k++) bad = off[k + 1] < off[k];
  if (bad) { free(off); free(seeds); free(idx); return luaL_error(L, "DataLoader: batch offsets do not cover the %d indices", (int)n); }
  *ud = nl_epoch_start(p, nw, depth, nb, idx, off, seeds);
  free(off); free(seeds); free(idx);
  if (!*ud) return nl_lua_error(L);
  return 1;
}

static int nl_l_epoch_next(lua_State *L) {
  nl_epoch **ud = luaL_checkudata(L, 1, NL_EPOCH_MT);
  if (!*ud) return 0;
  nl_tensor *out[NL_PIPE_MAXSRC];
  int st = nl_epoch_next(*ud, out);
  if (st < 0) { nl_epoch_free(*ud); *ud = NULL; return nl_lua_error(L); }
  if (st == 0) { nl_epoch_free(*ud); *ud = NULL; return 0; }
  /* arg 2: the pipeline's number of sources (the epoch filled that many) */
  lua_Integer ns = luaL_checkinteger(L, 2);
  if (ns < 1 || ns > NL_PIPE_MAXSRC) return luaL_error(L, "epoch:next: bad source count %d", (int)ns);
  for (int s = 0; s < ns; s++) nl_lua_push(L, out[s]);
  return ns;
}

static int nl_l_epoch_close(lua_State *L) {
  nl_epoch **ud = luaL_checkudata(L, 1, NL_EPOCH_MT);
  nl_epoch_free(*ud);
  *ud = NULL;
  return 0;
}

static int nl_l_isatty(lua_State *L) { lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1))); return 1; }

static void nl_newmt(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  if (gc) {
    lua_pushcfunction(L, gc); lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, gc); lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
}

/* _batch_fault(i | nil): test hook; batches holding 1-based sample i fail as out of memory
 * (nl_batch_set_fault), on the worker threads too. nil turns it off. */
static int nl_l_batch_fault(lua_State *L) {
  nl_batch_set_fault(lua_isnoneornil(L, 1) ? -1 : (int64_t)luaL_checkinteger(L, 1) - 1);
  return 0;
}

int luaopen_data_C(lua_State *L) {
  static const luaL_Reg gen_m[] = {{"manual_seed", nl_l_gen_manual_seed}, {"initial_seed", nl_l_gen_initial_seed},
                                   {"seed", nl_l_gen_seed}, {"random", nl_l_gen_random},
                                   {"randperm", nl_l_gen_randperm}, {NULL, NULL}};
  static const luaL_Reg pipe_m[] = {{"batch", nl_l_pipe_batch}, {"epoch", nl_l_pipe_epoch}, {NULL, NULL}};
  static const luaL_Reg epoch_m[] = {{"next", nl_l_epoch_next}, {"close", nl_l_epoch_close}, {NULL, NULL}};
  nl_newmt(L, NL_GEN_MT, gen_m, NULL);
  luaL_getmetatable(L, NL_GEN_MT);
  lua_pushcfunction(L, nl_l_gen_tostring); lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  nl_newmt(L, NL_PIPE_MT, pipe_m, nl_l_pipe_gc);
  nl_newmt(L, NL_EPOCH_MT, epoch_m, nl_l_epoch_close);
  static const luaL_Reg fns[] = {{"read_idx", nl_l_read_idx}, {"read_cifar", nl_l_read_cifar},
                                 {"png_write", nl_l_png_write}, {"png_read", nl_l_png_read},
                                 {"Generator", nl_l_generator}, {"isatty", nl_l_isatty}, {"pipeline", nl_l_pipeline},
                                 {"_batch_fault", nl_l_batch_fault}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
