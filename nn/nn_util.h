/* nn_util.h: helpers shared by the nn kernels (internal to nn/). */
#ifndef NL_NN_UTIL_H
#define NL_NN_UTIL_H
#include <math.h>
#include <stdio.h>

#include "../tensor/nl_iter.h" /* NL_OMP_FOR_IF, NL_OMP_REGION_IF */
#include "../tensor/nl_ops.h"
#include "nl_nn.h"

/* Shape string of t in a compound literal buffer: SHP(t) -> "[2, 3]". */
#define SHP(t) nl_shape_str((t)->ndim, (t)->shape, (char[160]){0}, 160)

/* Nonzero while a front end with a device path (every nn front end now: conv, pools, norms,
 * losses, activations, dropout, pad, one_hot) runs its shared validation: CUDA tensors are then
 * accepted by the checks below (the front end routes them to nl_nn_run / tensor ops).
 * Elsewhere (a helper called outside such a scope) a CUDA tensor seen here is a mix-up. */
extern int nl_nn_device_ok;
#define NN_DEVICE_SCOPE(type, call)                                                   \
  do {                                                                                \
    nl_nn_device_ok++;                                                                \
    type nn_r_ = call;                                                                \
    nl_nn_device_ok--;                                                                \
    return nn_r_;                                                                     \
  } while (0)
/* The device path is taken for tensors on CUDA. Test builds with NL_NN_EMULATE (scripts/gpu/
 * emulate_nn.sh) take it for every tensor, with the CUDA kernel bodies compiled as host code. */
#ifdef NL_NN_EMULATE
static inline bool nn_dev(const nl_tensor *t) { return t != NULL; }
#else
static inline bool nn_dev(const nl_tensor *t) { return t && nl_device_of(t).type != NL_CPU; }
#endif

/* 0 when t is a float32/float64 tensor (on the CPU, or on CUDA inside NN_DEVICE_SCOPE), else
 * -1 with "op: what must be ..." set. */
static inline int nn_check_float(const char *op, const char *what, const nl_tensor *t) {
  if (nl_device_of(t).type != NL_CPU && !nl_nn_device_ok)
    return nl_failc("%s: %s is on cuda while the other arguments are on the cpu", op, what);
  if (t->dtype != NL_FLOAT32 && t->dtype != NL_FLOAT64)
    return nl_failc("%s: expected %s to be float32 or float64, got %s", op, what,
                    nl_dtype_name(t->dtype));
  return 0;
}

/* Same dtype as the reference tensor ref. */
static inline int nn_check_same(const char *op, const char *what, const nl_tensor *t,
                                const nl_tensor *ref) {
  if (nn_check_float(op, what, t)) return -1;
  if (!nl_device_eq(nl_device_of(t), nl_device_of(ref))) {
    char d1[32], d2[32];
    nl_device_name(nl_device_of(t), d1, sizeof d1);
    nl_device_name(nl_device_of(ref), d2, sizeof d2);
    return nl_failc("%s: expected %s on %s (as input), got %s", op, what, d2, d1);
  }
  if (t->dtype != ref->dtype)
    return nl_failc("%s: expected %s to have dtype %s (as input), got %s", op, what,
                    nl_dtype_name(ref->dtype), nl_dtype_name(t->dtype));
  return 0;
}

/* 0 when t is an int64 tensor (CPU, or CUDA inside NN_DEVICE_SCOPE). */
static inline int nn_check_long(const char *op, const char *what, const nl_tensor *t) {
  if ((nl_device_of(t).type != NL_CPU && !nl_nn_device_ok) || t->dtype != NL_INT64)
    return nl_failc("%s: expected %s to be an int64 CPU tensor, got %s", op, what,
                    nl_dtype_name(t->dtype));
  return 0;
}

/* A contiguous float64 copy of t (t itself, +1 ref, when already one); NULL passes through. */
static inline nl_tensor *nn_f64(const nl_tensor *t) {
  if (!t) return NULL;
  nl_tensor *d = nl_to_dtype((nl_tensor *)t, NL_FLOAT64);
  if (!d) return NULL;
  nl_tensor *c = nl_contiguous(d);
  nl_tensor_free(d);
  return c;
}

/* A contiguous copy of t in its own dtype (+1 ref when already contiguous). */
static inline nl_tensor *nn_contig(const nl_tensor *t) {
  return t ? nl_contiguous((nl_tensor *)t) : NULL;
}

/* Converts a float64 result d to dtype dt, consuming d. */
static inline nl_tensor *nn_to(nl_tensor *d, nl_dtype dt) {
  if (!d) return NULL;
  nl_tensor *r = nl_to_dtype(d, dt);
  nl_tensor_free(d);
  return r;
}

static inline double *D(const nl_tensor *t) { return t ? (double *)nl_data(t) : NULL; }
static inline int64_t *L64(const nl_tensor *t) { return (int64_t *)nl_data(t); }

/* Element i of t (M elements, contiguous; int64 or float64) copied back as a double (NAN when
 * the copy fails; the caller is reporting an error anyway). */
static inline double nn_elem_dev(const nl_tensor *t, int64_t M, int64_t i) {
  nl_tensor *flat = nl_reshape((nl_tensor *)t, 1, &M), *tv = flat ? nl_select(flat, 0, i) : NULL;
  nl_tensor *hv = tv ? nl_to_device(tv, nl_cpu()) : NULL;
  nl_tensor_free(flat), nl_tensor_free(tv);
  double v = !hv ? NAN : t->dtype == NL_INT64 ? (double)L64(hv)[0] : D(hv)[0];
  nl_tensor_free(hv);
  return v;
}
/* Element i of the int64 tensor t (M elements, contiguous) copied back exactly (0 when the
 * copy fails: the caller is reporting an error anyway). */
static inline int64_t nn_elem_i64_dev(const nl_tensor *t, int64_t M, int64_t i) {
  nl_tensor *flat = nl_reshape((nl_tensor *)t, 1, &M), *tv = flat ? nl_select(flat, 0, i) : NULL;
  nl_tensor *hv = tv ? nl_to_device(tv, nl_cpu()) : NULL;
  nl_tensor_free(flat), nl_tensor_free(tv);
  int64_t v = hv ? L64(hv)[0] : 0;
  nl_tensor_free(hv);
  return v;
}

/* Stores r in *out when out is non-NULL, else frees it. */
static inline void nn_out(nl_tensor **out, nl_tensor *r) {
  if (out) *out = r; else nl_tensor_free(r);
}
/* NN_CLONES: a hot nn loop (pool.c's 2x2 window) compiled for AVX-512 and AVX2 as well as baseline
 * x86-64, picked once at load time (copies and selections only: the results are the same on every ISA). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NN_CLONES
#endif

#endif
