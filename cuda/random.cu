/* random.cu: UNIFORM NORMAL BERNOULLI RANDINT on CUDA with the CPU's exact stream.
 *
 * kargs as in tensor/cpu/random.c: out contiguous, ialpha = seed, ibeta = offset (the
 * generator's call number, tensor/random.c), element i drawn from nl_philox(i, offset,
 * seed) (tensor/nl_philox.h, compiled for host and device). Integer and float arithmetic
 * is the CPU's, so uniform, bernoulli and randint give the same bits on both devices;
 * normal uses the device's double sqrt/log/cos (within an ulp of glibc's; float32 results
 * match except in rare double-rounding cases). float16/bfloat16 round the float value. */
#include <math.h>

#include "nl_cu.cuh"
#include "nl_philox.h"

__global__ void nl_cu_uniform(char *o, int64_t n, int dt, double lo, double hi, uint64_t seed, uint64_t off) {
  NL_CU_LOOP(i, n) {
    uint32_t w[4];
    nl_philox(w, (uint64_t)i, off, seed);
    if (dt == NL_FLOAT64) {
      double v = lo + nl_u53(w[0], w[1]) * (hi - lo);
      ((double *)o)[i] = v < hi || !(hi > lo) ? v : nextafter(hi, lo);
    } else {
      float flo = (float)lo, width = (float)(hi - lo), fhi = (float)hi;
      float v = flo + nl_u24(w[0]) * width;
      v = v < fhi || !(fhi > flo) ? v : nextafterf(fhi, flo);
      nl_cu_st(o + i * nl_cu_esize(dt), dt, v, 0, false);
    }
  }
}

void nl_cuda_UNIFORM(const nl_kargs *a) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  nl_cu_uniform<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>((char *)nl_data(a->out), n, a->out->dtype, a->alpha,
                                                                      a->beta, (uint64_t)a->ialpha, (uint64_t)a->ibeta);
  nl_cu_check_launch("uniform_");
}

__global__ void nl_cu_normal(char *o, int64_t n, int dt, double mean, double sd, uint64_t seed, uint64_t off) {
  NL_CU_LOOP(i, n) {
    uint32_t w[4];
    nl_philox(w, (uint64_t)i, off, seed);
    double u1 = 1.0 - nl_u53(w[0], w[1]), u2 = nl_u53(w[2], w[3]);
    double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    nl_cu_st(o + i * nl_cu_esize(dt), dt, mean + sd * z, 0, false);
  }
}

void nl_cuda_NORMAL(const nl_kargs *a) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  nl_cu_normal<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>((char *)nl_data(a->out), n, a->out->dtype, a->alpha,
                                                                     a->beta, (uint64_t)a->ialpha, (uint64_t)a->ibeta);
  nl_cu_check_launch("normal_");
}

/* p = alpha, or in[0] (float64, contiguous, out's numel). */
__global__ void nl_cu_bernoulli(char *o, int64_t n, int dt, const double *p, double ps, uint64_t seed, uint64_t off) {
  NL_CU_LOOP(i, n) {
    uint32_t w[4];
    nl_philox(w, (uint64_t)i, off, seed);
    long long v = nl_u53(w[0], w[1]) < (p ? p[i] : ps) ? 1 : 0;
    nl_cu_st(o + i * nl_cu_esize(dt), dt, (double)v, v, true);
  }
}

void nl_cuda_BERNOULLI(const nl_kargs *a) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  const double *p = a->in[0] ? (const double *)nl_data(a->in[0]) : NULL;
  nl_cu_bernoulli<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>((char *)nl_data(a->out), n, a->out->dtype, p, a->alpha,
                                                                        (uint64_t)a->ialpha, (uint64_t)a->ibeta);
  nl_cu_check_launch("bernoulli_");
}

/* uniform integers in [lo, lo + range); |bounds| < 2^53 (front end). */
__global__ void nl_cu_randint(char *o, int64_t n, int dt, long long lo, unsigned long long range, uint64_t seed, uint64_t off) {
  NL_CU_LOOP(i, n) {
    uint32_t w[4];
    nl_philox(w, (uint64_t)i, off, seed);
    long long v = lo + (long long)(((((unsigned long long)w[0] << 32) | w[1])) % range);
    /* float targets: (T)int64 as the CPU's cast; integer targets: exact */
    nl_cu_st(o + i * nl_cu_esize(dt), dt, (double)v, v, true);
  }
}

void nl_cuda_RANDINT(const nl_kargs *a) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  long long lo = (long long)a->alpha;
  unsigned long long range = (unsigned long long)((long long)a->beta - lo);
  nl_cu_randint<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>((char *)nl_data(a->out), n, a->out->dtype, lo, range,
                                                                      (uint64_t)a->ialpha, (uint64_t)a->ibeta);
  nl_cu_check_launch("random_");
}
