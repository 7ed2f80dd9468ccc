/* random.c: the one random generator and the random front ends (kernels: cpu/random.c).
 *
 * Choice: Philox4x32-10 (counter-based, as PyTorch's CUDA generator) rather than mt19937:
 * an element's value depends only on (seed, offset, index), so the CPU kernels parallelise
 * without changing results and a CUDA kernel can reproduce the same stream. The state is
 * (seed, offset); offset counts random kernel calls. */
#include <math.h>
#include <string.h>

#include "nl_iter.h"
#include "nl_kernel.h"
#include "nl_ops.h"
#include "nl_philox.h"

static uint64_t nl_rng_seed = 67280421310721ULL; /* PyTorch's default CPU seed */
static uint64_t nl_rng_offset;

void nl_manual_seed(uint64_t seed) { nl_rng_seed = seed; nl_rng_offset = 0; }
uint64_t nl_initial_seed(void) { return nl_rng_seed; }
void nl_rng_get_state(uint64_t *seed, uint64_t *offset) { *seed = nl_rng_seed; *offset = nl_rng_offset; }
void nl_rng_set_state(uint64_t seed, uint64_t offset) { nl_rng_seed = seed; nl_rng_offset = offset; }

/* Runs a random kernel into t: directly when contiguous, else into a contiguous temporary
 * that is then copied (the kernels index elements by their logical position). */
static int nl_random_run(nl_op op, nl_tensor *t, nl_kargs k) {
  nl_tensor *dst = t;
  if (!nl_is_contiguous(t) && !(dst = nl_empty(t->ndim, t->shape, t->dtype, nl_device_of(t)))) return -1;
  k.out = dst;
  k.ialpha = (int64_t)nl_rng_seed;
  k.ibeta = (int64_t)nl_rng_offset;
  int rc = nl_numel(t) ? nl_run(op, &k) : 0;
  if (rc == 0) nl_rng_offset++;
  if (dst != t) {
    if (rc == 0) rc = nl_copy_(t, dst);
    nl_tensor_free(dst);
  } else if (rc == 0) {
    nl_bump_version(t);
  }
  return rc;
}

static int nl_check_float(const char *op, const nl_tensor *t) {
  if (!nl_dtype_is_float(t->dtype)) return nl_failc("%s: expected a floating point tensor, got %s", op, nl_dtype_name(t->dtype));
  return 0;
}

int nl_uniform_(nl_tensor *t, double a, double b) {
  if (nl_check_float("uniform_", t) < 0) return -1;
  if (!(a <= b) || !isfinite(a) || !isfinite(b)) return nl_failc("uniform_: expects from <= to, got from=%g and to=%g", a, b);
  return nl_random_run(NL_OP_UNIFORM, t, (nl_kargs){.alpha = a, .beta = b});
}

int nl_normal_(nl_tensor *t, double mean, double std) {
  if (nl_check_float("normal_", t) < 0) return -1;
  if (!(std >= 0)) return nl_failc("normal_: expects std >= 0.0, but found std %g", std);
  return nl_random_run(NL_OP_NORMAL, t, (nl_kargs){.alpha = mean, .beta = std});
}

int nl_bernoulli_(nl_tensor *t, double p) {
  if (!(p >= 0 && p <= 1)) return nl_failc("bernoulli_: expects p to be in [0, 1], but got p=%g", p);
  return nl_random_run(NL_OP_BERNOULLI, t, (nl_kargs){.alpha = p});
}

int nl_bernoulli_tensor_(nl_tensor *t, const nl_tensor *p) {
  char sp[160], st[160];
  int64_t shape[NL_MAXDIM];
  int nd = nl_broadcast_shape("bernoulli_", p->ndim, p->shape, t->ndim, t->shape, shape);
  if (nd != t->ndim || memcmp(shape, t->shape, sizeof(int64_t) * (size_t)nd) != 0)
    return nl_failc("bernoulli_: p of shape %s cannot be broadcast to shape %s", nl_shape_str(p->ndim, p->shape, sp, sizeof sp),
                    nl_shape_str(t->ndim, t->shape, st, sizeof st));
  if (!nl_device_eq(nl_device_of(p), nl_device_of(t))) return nl_failc("bernoulli_: p and self must be on the same device");
  if (!nl_dtype_is_float(p->dtype)) return nl_failc("bernoulli_: p must be a floating point tensor, got %s", nl_dtype_name(p->dtype));
  /* p as float64, expanded to t's shape and contiguous: the kernel reads p[i]. */
  nl_tensor *pc = nl_empty(t->ndim, t->shape, NL_FLOAT64, nl_device_of(t));
  if (!pc) return -1;
  if (nl_copy_(pc, p) < 0) { nl_tensor_free(pc); return -1; }
  if (nl_device_of(pc).type == NL_CPU) {
    const double *v = nl_data(pc);
    for (int64_t i = 0, n = nl_numel(pc); i < n; i++)
      if (!(v[i] >= 0 && v[i] <= 1)) {
        double bad = v[i]; /* read before pc (and v with it) is freed */
        nl_tensor_free(pc);
        return nl_failc("bernoulli_: expects p to be in [0, 1], but got p=%g", bad);
      }
  }
  int rc = nl_random_run(NL_OP_BERNOULLI, t, (nl_kargs){.in = {pc}});
  nl_tensor_free(pc);
  return rc;
}

/* Integers in [from, to) must be exact in the double kargs carry them in. */
static int nl_check_range(const char *op, int64_t from, int64_t to) {
  const int64_t lim = (int64_t)1 << 53;
  if (from >= to) return nl_failc("%s: expects from < to, got from=%lld and to=%lld", op, (long long)from, (long long)to);
  if (from < -lim || to > lim) return nl_failc("%s: bounds must lie within +-2^53 (got %lld and %lld)", op, (long long)from, (long long)to);
  return 0;
}

int nl_random_(nl_tensor *t, int64_t from, int64_t to) {
  if (nl_check_range("random_", from, to) < 0) return -1;
  return nl_random_run(NL_OP_RANDINT, t, (nl_kargs){.alpha = (double)from, .beta = (double)to});
}

static nl_tensor *nl_fresh(const char *op, int ndim, const int64_t *shape, nl_dtype dt, nl_device dev, bool need_float) {
  if (need_float && !nl_dtype_is_float(dt)) return nl_fail("%s: expected a floating point dtype, got %s", op, nl_dtype_name(dt));
  return nl_empty(ndim, shape, dt, dev);
}

static nl_tensor *nl_filled(nl_tensor *t, int rc) {
  if (rc < 0) { nl_tensor_free(t); return NULL; }
  t->storage->version = 0;
  return t;
}

nl_tensor *nl_rand(int ndim, const int64_t *shape, nl_dtype dt, nl_device dev) {
  nl_tensor *t = nl_fresh("rand", ndim, shape, dt, dev, true);
  return t ? nl_filled(t, nl_uniform_(t, 0, 1)) : NULL;
}

nl_tensor *nl_randn(int ndim, const int64_t *shape, nl_dtype dt, nl_device dev) {
  nl_tensor *t = nl_fresh("randn", ndim, shape, dt, dev, true);
  return t ? nl_filled(t, nl_normal_(t, 0, 1)) : NULL;
}

nl_tensor *nl_randint(int64_t low, int64_t high, int ndim, const int64_t *shape, nl_dtype dt, nl_device dev) {
  if (nl_check_range("randint", low, high) < 0) return NULL;
  if (dt == NL_BOOL && (low < 0 || high > 2)) return nl_fail("randint: bounds [%lld, %lld) do not fit bool", (long long)low, (long long)high);
  nl_tensor *t = nl_fresh("randint", ndim, shape, dt, dev, false);
  return t ? nl_filled(t, nl_random_run(NL_OP_RANDINT, t, (nl_kargs){.alpha = (double)low, .beta = (double)high})) : NULL;
}

nl_tensor *nl_bernoulli(const nl_tensor *p) {
  if (!nl_dtype_is_float(p->dtype)) return nl_fail("bernoulli: expected a floating point tensor, got %s", nl_dtype_name(p->dtype));
  nl_tensor *t = nl_empty(p->ndim, p->shape, p->dtype, nl_device_of(p));
  return t ? nl_filled(t, nl_bernoulli_tensor_(t, p)) : NULL;
}

/* Fisher-Yates on the CPU with the same Philox stream (no kernel: an inherently serial
 * shuffle), then moved to dt/dev. */
nl_tensor *nl_randperm(int64_t n, int64_t base, nl_dtype dt, nl_device dev) {
  if (n < 0) return nl_fail("randperm: n must be non-negative, got %lld", (long long)n);
  if (dt == NL_BOOL || (!nl_dtype_is_float(dt) && !nl_dtype_is_int(dt)))
    return nl_fail("randperm: dtype %s is not supported", nl_dtype_name(dt));
  nl_tensor *t = nl_empty(1, &n, NL_INT64, nl_cpu());
  if (!t) return NULL;
  int64_t *v = nl_data(t);
  for (int64_t i = 0; i < n; i++) v[i] = base + i;
  for (int64_t i = n - 1; i > 0; i--) {
    uint32_t w[4];
    nl_philox(w, (uint64_t)i, nl_rng_offset, nl_rng_seed);
    int64_t j = (int64_t)(((((uint64_t)w[0] << 32) | w[1])) % (uint64_t)(i + 1));
    int64_t s = v[i]; v[i] = v[j]; v[j] = s;
  }
  nl_rng_offset++;
  nl_tensor *c = nl_to_dtype(t, dt);
  nl_tensor_free(t);
  if (!c) return NULL;
  nl_tensor *d = nl_to_device(c, dev);
  nl_tensor_free(c);
  return d;
}
