/* ops_random.h: the random generator and the random front ends (conventions in nl_ops.h).
 *
 * One global generator (tensor/random.c), Philox4x32-10 keyed by the seed: each random
 * kernel call takes the next `offset` and element i of that call is a pure function of
 * (seed, offset, i) (tensor/nl_philox.h). Runs are bit-reproducible after nl_manual_seed,
 * for any number of threads, and a CUDA kernel can reproduce the stream. The default seed
 * is PyTorch's default CPU seed, 67280421310721. Values differ from PyTorch's stream. */
#ifndef NL_OPS_RANDOM_H
#define NL_OPS_RANDOM_H
#include "nl_tensor.h"

void nl_manual_seed(uint64_t seed);  /* also resets the offset to 0 */
uint64_t nl_initial_seed(void);
/* The generator's full state, for checkpoints (get_rng_state / set_rng_state). */
void nl_rng_get_state(uint64_t *seed, uint64_t *offset);
void nl_rng_set_state(uint64_t seed, uint64_t offset);

/* In place, any layout; float dtypes for uniform_/normal_. */
int nl_uniform_(nl_tensor *t, double a, double b);           /* U[a, b), a <= b */
int nl_normal_(nl_tensor *t, double mean, double std);       /* std >= 0 */
int nl_bernoulli_(nl_tensor *t, double p);                   /* 0 <= p <= 1, any dtype */
int nl_bernoulli_tensor_(nl_tensor *t, const nl_tensor *p);  /* p broadcasts to t */
int nl_random_(nl_tensor *t, int64_t from, int64_t to);      /* integers in [from, to) */

nl_tensor *nl_rand(int ndim, const int64_t *shape, nl_dtype dt, nl_device dev);
nl_tensor *nl_randn(int ndim, const int64_t *shape, nl_dtype dt, nl_device dev);
nl_tensor *nl_randint(int64_t low, int64_t high, int ndim, const int64_t *shape, nl_dtype dt, nl_device dev);
/* A random permutation of base .. base+n-1 (base 0 in C, 1 from Lua). */
nl_tensor *nl_randperm(int64_t n, int64_t base, nl_dtype dt, nl_device dev);
/* torch.bernoulli(p): a new tensor of p's shape and dtype with 1 where u < p. */
nl_tensor *nl_bernoulli(const nl_tensor *p);
#endif
