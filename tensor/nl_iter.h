/* nl_iter.h: the strided, broadcasting iterator behind every elementwise kernel.
 *
 * nl_iter_init lays up to NL_ITER_MAX tensors (out first) over a common shape: inputs of
 * fewer dims or with size-1 dims broadcast with stride 0, never materialised. Dims that are
 * contiguous in every operand are coalesced, so a contiguous tensor of any shape is one
 * inner run. Kernels then receive inner runs: n elements with one byte stride per operand.
 *
 *   nl_iter it;
 *   nl_iter_init(&it, 3, (const nl_tensor *[]){out, a, b}, out->ndim, out->shape);
 *   nl_iter_run(&it, inner_fn, ctx);   // parallel over runs above NL_PAR_GRAIN elements
 */
#ifndef NL_ITER_H
#define NL_ITER_H
#include "nl_tensor.h"

#define NL_ITER_MAX 4
/* Below this many elements a kernel runs on one thread (OpenMP overhead dominates). */
#define NL_PAR_GRAIN 32768
/* NL_OMP_FOR_IF(cond, for (...) {...}): an OpenMP static `parallel for` only when cond holds
 * and more than one thread is allowed, else the plain loop. GCC's `if (false)` clause still
 * enters GOMP_parallel (a team of one: ~1,800 instructions and an aligned allocation per loop
 * in callgrind), which is most of a small tensor's optimizer step or loss; and a loop run by
 * a team of one was measured slower than the plain loop on large inputs too (1000x1000
 * column sums: 55 vs 46 us, the same kernel calls). */
#ifdef _OPENMP
#include <omp.h>
#define NL_OMP_MULTI() (omp_get_max_threads() > 1)
#else
#define NL_OMP_MULTI() 0
#endif
/* NL_OMP_REGION_IF(cond, "omp parallel <clauses>", { body }): the body in an OpenMP parallel
 * region only when cond holds and more than one thread is allowed, else run once by the
 * calling thread (a worksharing `for` inside then runs the whole loop, as an orphaned one does;
 * its end barrier returns at once outside a region). The reason for both macros: libgomp ends
 * every region, even a team of one, with a futex wake system call, ~1-3 us on this
 * paravirtualised VM; LeNet at batch 4 made 13 of them per step (7% of it). Pragmas inside the
 * body must be written _Pragma("omp for ...") since it is a macro argument. */
#define NL_OMP_REGION_IF(cond, pragma, ...) \
  do {                                       \
    if ((cond) && NL_OMP_MULTI()) {          \
      _Pragma(pragma) __VA_ARGS__            \
    } else {                                 \
      __VA_ARGS__                            \
    }                                        \
  } while (0)
#define NL_OMP_FOR_IF(cond, ...)                                  \
  do {                                                           \
    if ((cond) && NL_OMP_MULTI()) {                              \
      _Pragma("omp parallel for schedule(static)") __VA_ARGS__   \
    } else {                                                     \
      __VA_ARGS__                                                \
    }                                                            \
  } while (0)

typedef struct nl_iter {
  int ndim;                                /* after coalescing; >= 1 */
  int n;                                   /* operands */
  int64_t shape[NL_MAXDIM];
  int64_t stride[NL_ITER_MAX][NL_MAXDIM];  /* bytes */
  char *data[NL_ITER_MAX];
  int64_t numel;
} nl_iter;

/* One inner run: n elements; ptr[k] and stride[k] (bytes) for operand k. */
typedef void (*nl_inner_fn)(char **ptr, const int64_t *stride, int64_t n, void *ctx);

void nl_iter_init(nl_iter *it, int n, const nl_tensor *const *ts, int ndim, const int64_t *shape);
/* Calls fn over every inner run; splits work over threads when numel >= NL_PAR_GRAIN. */
void nl_iter_run(const nl_iter *it, nl_inner_fn fn, void *ctx);
/* True when every operand's inner stride equals its element size or 0 (scalar-like). */
static inline bool nl_iter_inner_dense(const int64_t *stride, const int *elsize, int n) {
  for (int k = 0; k < n; k++)
    if (stride[k] != elsize[k] && stride[k] != 0) return false;
  return true;
}

/* Broadcast shapes a and b into out (PyTorch rules). Returns ndim, or -1 with nl_error()
 * naming op and both shapes. */
int nl_broadcast_shape(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                       int64_t *out);
#endif
