/* random.c: the random kernels on the CPU (the generator's state lives in tensor/random.c).
 *
 * kargs of every random kernel: out contiguous (the front end generates into a contiguous
 * temporary for other layouts), ialpha = seed, ibeta = offset (the generator's call number),
 * element i drawn from nl_philox(i, offset, seed) (tensor/nl_philox.h).
 *   UNIFORM   out ~ U[alpha, beta)                 (float dtypes)
 *   NORMAL    out ~ N(alpha, beta^2), Box-Muller   (float dtypes)
 *   BERNOULLI out = u < p ? 1 : 0; p = alpha, or in[0] (float64, contiguous, out's numel)
 *   RANDINT   out uniform in [alpha, beta) (integers, |bounds| < 2^53, any dtype) */
#include <math.h>

#include "../nl_philox.h"
#include "nl_cpu.h"

#define NL_RAND_LOOP(a, T, expr)                                             \
  do {                                                                       \
    T *o = nl_data((a)->out);                                                \
    int64_t n = nl_numel((a)->out);                                          \
    uint64_t seed = (uint64_t)(a)->ialpha, off = (uint64_t)(a)->ibeta;       \
    NL_OMP_FOR_IF(n > NL_PAR_GRAIN / 4,                    \
    for (int64_t i = 0; i < n; i++) {                                        \
      uint32_t w[4];                                                         \
      nl_philox(w, (uint64_t)i, off, seed);                                  \
      o[i] = (expr);                                                         \
    });                                                                        \
  } while (0)

void nl_cpu_UNIFORM(const nl_kargs *a) {
  double lo = a->alpha, hi = a->beta;
  if (a->out->dtype == NL_FLOAT32) {
    float flo = (float)lo, width = (float)(hi - lo), fhi = (float)hi;
    NL_RAND_LOOP(a, float, ({ float v = flo + nl_u24(w[0]) * width; v < fhi || !(fhi > flo) ? v : nextafterf(fhi, flo); }));
  } else if (a->out->dtype == NL_FLOAT64) {
    NL_RAND_LOOP(a, double, ({ double v = lo + nl_u53(w[0], w[1]) * (hi - lo); v < hi || !(hi > lo) ? v : nextafter(hi, lo); }));
  }
}

/* Box-Muller on u1 in (0, 1] (no log(0)) and u2 in [0, 1); one normal per element. */
static inline double nl_box_muller(const uint32_t w[4]) {
  double u1 = 1.0 - nl_u53(w[0], w[1]), u2 = nl_u53(w[2], w[3]);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void nl_cpu_NORMAL(const nl_kargs *a) {
  double mean = a->alpha, std = a->beta;
  NL_CPU_DISPATCH_FLOAT(a->out->dtype, T, NL_RAND_LOOP(a, T, (T)(mean + std * nl_box_muller(w)));)
}

void nl_cpu_BERNOULLI(const nl_kargs *a) {
  const double *p = a->in[0] ? nl_data(a->in[0]) : NULL;
  double ps = a->alpha;
  NL_CPU_DISPATCH(a->out->dtype, T, NL_RAND_LOOP(a, T, (T)(nl_u53(w[0], w[1]) < (p ? p[i] : ps) ? 1 : 0));)
}

void nl_cpu_RANDINT(const nl_kargs *a) {
  int64_t lo = (int64_t)a->alpha;
  uint64_t range = (uint64_t)((int64_t)a->beta - lo);
  NL_CPU_DISPATCH(a->out->dtype, T, NL_RAND_LOOP(a, T, (T)(lo + (int64_t)(((((uint64_t)w[0] << 32) | w[1])) % range)));)
}
