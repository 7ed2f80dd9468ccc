/* expf_simd.c: float32 exp over contiguous runs (and softmax's row max) with AVX-512 or AVX2+FMA intrinsics, the level
 * picked once from the running CPU (baseline x86-64 and other CPUs: nl_expf per element).
 *
 * The algorithm is nl_expf's (../nl_math.h) operation for operation: clamp to [-104, 89],
 * k = round(x log2 e) by the shifter, r = x - k ln2 in two FMAs, the degree-6 polynomial by
 * Horner in FMAs, then p 2^k: one vscalefps on AVX-512 (rounds once, subnormals included); on
 * AVX2 two exponent-bit factors 2^k1 2^k2 (p 2^k1 exact, the second product rounds once: the
 * same value). So every level returns the bits of nl_expf compiled with FMA contraction, and
 * the explicit overflow/underflow/NaN selects of nl_expf are not needed: the clamp makes p 2^k
 * overflow to inf above 88.72 and round to 0 below -103.97 by itself, and NaN flows through
 * (min/max return their second operand, x, on NaN). spec/c/test_expf.c checks both levels
 * against nl_expf over every float.
 *
 * Sums (nl_cpu_expf_sum, softmax's denominator): 16 float lanes (lane l takes elements l,
 * l + 16, ...) folded in halves, on every level: AVX2 keeps lanes 0-7 and 8-15 in two ymm
 * registers, so the sum's bits do not depend on the level either. Runs shorter than 16 are
 * summed left to right, as PyTorch sums rows shorter than its vectors. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nl_cpu.h"

#include "../nl_math.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NL_X86_SIMD 1
#endif

/* ---- baseline: nl_expf per element, the sum in the same 16 lanes ---------------------------- */
static float nl_fold16(float *acc) {
  for (int w = 8; w > 0; w /= 2)
    for (int l = 0; l < w; l++) acc[l] += acc[l + w];
  return acc[0];
}

static void nl_expf_scalar(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = nl_expf(x[i]);
}

static float nl_expf_sum_scalar(const float *x, float m, float *y, int64_t n) {
  float acc[16] = {0};
  for (int64_t i = 0; i < n; i++) {
    float e = nl_expf(x[i] - m);
    if (y) y[i] = e;
    acc[i % 16] += e;
  }
  return nl_fold16(acc);
}

/* max of x[0..n), NaN ignored (m = x > m ? x : m), -inf when empty */
static float nl_fmax_scalar(const float *x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

#ifdef NL_X86_SIMD
/* ---- AVX-512: 16 floats per vector ---------------------------------------------------------- */
#define NL_AVX512 __attribute__((target("avx512f,fma")))

/* nl_expf's steps up to 2^k on a vector type T with intrinsics prefix P (_mm512_ / _mm256_):
 * declares k (the integer part, as floats) and p (exp of the reduced argument). Written once
 * for both levels, which differ only in how they scale p by 2^k. */
#define NL_EXP_STEPS(P, T, x, k, p)                                                          \
  T xc_ = P##min_ps(P##set1_ps(NL_EXPF_HI), P##max_ps(P##set1_ps(NL_EXPF_LO), x));            \
  T sh_ = P##set1_ps(NL_EXPF_SHIFT);                                                           \
  T k = P##sub_ps(P##fmadd_ps(xc_, P##set1_ps(NL_EXPF_LOG2E), sh_), sh_);                      \
  T r_ = P##fnmadd_ps(k, P##set1_ps(NL_EXPF_LN2HI), xc_);                                      \
  r_ = P##fnmadd_ps(k, P##set1_ps(NL_EXPF_LN2LO), r_);                                         \
  T p = P##fmadd_ps(P##set1_ps(NL_EXPF_C6), r_, P##set1_ps(NL_EXPF_C5));                       \
  p = P##fmadd_ps(p, r_, P##set1_ps(NL_EXPF_C4));                                              \
  p = P##fmadd_ps(p, r_, P##set1_ps(NL_EXPF_C3));                                              \
  p = P##fmadd_ps(p, r_, P##set1_ps(NL_EXPF_C2));                                              \
  p = P##fmadd_ps(p, r_, P##set1_ps(1.0f));                                                    \
  p = P##fmadd_ps(p, r_, P##set1_ps(1.0f))

NL_AVX512 static inline __m512 nl_exp16(__m512 x) {
  NL_EXP_STEPS(_mm512_, __m512, x, k, p);
  return _mm512_scalef_ps(p, k);
}

NL_AVX512 static void nl_expf_avx512(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, nl_exp16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    __mmask16 t = (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, t, nl_exp16(_mm512_maskz_loadu_ps(t, x + i)));
  }
}

/* (y NULL: the sum only) */
NL_AVX512 static float nl_expf_sum_avx512(const float *x, float m, float *y, int64_t n) {
  __m512 vm = _mm512_set1_ps(m), acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 e = nl_exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
    if (y) _mm512_storeu_ps(y + i, e);
    acc = _mm512_add_ps(acc, e);
  }
  if (i < n) { /* the missing lanes add +0: acc (>= 0 or NaN) is unchanged there */
    __mmask16 t = (__mmask16)((1u << (n - i)) - 1);
    __m512 e = nl_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(t, x + i), vm));
    if (y) _mm512_mask_storeu_ps(y + i, t, e);
    acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(t, e));
  }
  float a[16];
  _mm512_storeu_ps(a, acc);
  return nl_fold16(a);
}

/* Four accumulators (vmaxps' latency); max(x, m) is m when x is NaN, as the scalar loop. */
NL_AVX512 static float nl_fmax_avx512(const float *x, int64_t n) {
  __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
    m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
    m2 = _mm512_max_ps(_mm512_loadu_ps(x + i + 32), m2);
    m3 = _mm512_max_ps(_mm512_loadu_ps(x + i + 48), m3);
  }
  for (; i + 16 <= n; i += 16) m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
  if (i < n) {
    __mmask16 t = (__mmask16)((1u << (n - i)) - 1);
    m1 = _mm512_max_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), t, x + i), m1);
  }
  return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

/* ---- AVX2 + FMA: 8 floats per vector, 16 per step ------------------------------------------- */
#define NL_AVX2 __attribute__((target("avx2,fma")))

NL_AVX2 static inline __m256 nl_exp8(__m256 x) {
  NL_EXP_STEPS(_mm256_, __m256, x, k, p);
  /* 2^k = 2^k1 2^k2, k1 = floor(k / 2): k in [-150, 128] keeps both halves normal */
  __m256i ki = _mm256_cvttps_epi32(k), k1 = _mm256_srai_epi32(ki, 1), k2 = _mm256_sub_epi32(ki, k1);
  __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* Lane mask of the first t (0..8) lanes, for maskload/maskstore. */
NL_AVX2 static inline __m256i nl_mask8(int64_t t) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)t), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

NL_AVX2 static void nl_expf_avx2(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, nl_exp8(_mm256_loadu_ps(x + i)));
  if (i < n) {
    __m256i t = nl_mask8(n - i);
    _mm256_maskstore_ps(y + i, t, nl_exp8(_mm256_maskload_ps(x + i, t)));
  }
}

NL_AVX2 static float nl_fmax_avx2(const float *x, int64_t n) {
  __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
    m2 = _mm256_max_ps(_mm256_loadu_ps(x + i + 16), m2);
    m3 = _mm256_max_ps(_mm256_loadu_ps(x + i + 24), m3);
  }
  for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
  if (i < n) {
    __m256i t = nl_mask8(n - i);
    __m256 v = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_maskload_ps(x + i, t), _mm256_castsi256_ps(t));
    m1 = _mm256_max_ps(v, m1);
  }
  float a[8];
  _mm256_storeu_ps(a, _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
  return nl_fmax_scalar(a, 8);
}

/* One 8-lane half of a 16-element step from element i (t valid lanes): acc += exp(x - m). */
NL_AVX2 static inline __m256 nl_expf_sum8(const float *x, __m256 vm, float *y, int64_t t, __m256 acc) {
  if (t >= 8) {
    __m256 e = nl_exp8(_mm256_sub_ps(_mm256_loadu_ps(x), vm));
    if (y) _mm256_storeu_ps(y, e);
    return _mm256_add_ps(acc, e);
  }
  if (t <= 0) return acc;
  __m256i mk = nl_mask8(t);
  __m256 e = nl_exp8(_mm256_sub_ps(_mm256_maskload_ps(x, mk), vm));
  if (y) _mm256_maskstore_ps(y, mk, e);
  return _mm256_add_ps(acc, _mm256_and_ps(e, _mm256_castsi256_ps(mk))); /* +0 in the others */
}

NL_AVX2 static float nl_expf_sum_avx2(const float *x, float m, float *y, int64_t n) {
  __m256 vm = _mm256_set1_ps(m), lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    lo = nl_expf_sum8(x + i, vm, y ? y + i : NULL, n - i, lo);
    hi = nl_expf_sum8(x + i + 8, vm, y ? y + i + 8 : NULL, n - i - 8, hi);
  }
  float a[16];
  _mm256_storeu_ps(a, lo);
  _mm256_storeu_ps(a + 8, hi);
  return nl_fold16(a);
}
#endif

/* ---- level and dispatch --------------------------------------------------------------------- */
/* The best level of the running CPU, decided once; NNLUA_SIMD=avx2 or =scalar caps it (tests). */
int nl_cpu_simd_level(void) {
  static atomic_int level_ = -1; /* racing first calls store the same value */
  int level = atomic_load_explicit(&level_, memory_order_relaxed);
  if (level < 0) {
    int l = NL_SIMD_SCALAR;
#if defined(NL_X86_SIMD) && NL_CPU_HAVE_CLONES
    /* (only with the per-ISA clones: the strided exp loop is then nl_expf with FMA too, so
     * contiguous and strided inputs give the same bits; sanitizer builds have no clones) */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) l = NL_SIMD_AVX2;
    if (l == NL_SIMD_AVX2 && __builtin_cpu_supports("avx512f")) l = NL_SIMD_AVX512;
#endif
    const char *e = getenv("NNLUA_SIMD");
    if (e && strcmp(e, "scalar") == 0) l = NL_SIMD_SCALAR;
    if (e && strcmp(e, "avx2") == 0 && l > NL_SIMD_AVX2) l = NL_SIMD_AVX2;
    level = l;
    atomic_store_explicit(&level_, l, memory_order_relaxed);
  }
  return level;
}

void nl_cpu_expf_at(int level, const float *x, float *y, int64_t n) {
#ifdef NL_X86_SIMD
  if (level == NL_SIMD_AVX512) { nl_expf_avx512(x, y, n); return; }
  if (level == NL_SIMD_AVX2) { nl_expf_avx2(x, y, n); return; }
#endif
  (void)level;
  nl_expf_scalar(x, y, n);
}

float nl_cpu_expf_sum_at(int level, const float *x, float m, float *y, int64_t n) {
  if (n < 16) { /* shorter than the lanes: left to right (PyTorch's order for short rows) */
    float d[16] = {0}, e[16], s = 0;
    for (int64_t i = 0; i < n; i++) d[i] = x[i] - m;
    nl_cpu_expf_at(level, d, e, n);
    for (int64_t i = 0; i < n; i++) {
      s += e[i];
      if (y) y[i] = e[i];
    }
    return s;
  }
#ifdef NL_X86_SIMD
  if (level == NL_SIMD_AVX512) return nl_expf_sum_avx512(x, m, y, n);
  if (level == NL_SIMD_AVX2) return nl_expf_sum_avx2(x, m, y, n);
#endif
  (void)level;
  return nl_expf_sum_scalar(x, m, y, n);
}

float nl_cpu_fmax(const float *x, int64_t n) {
#ifdef NL_X86_SIMD
  int level = nl_cpu_simd_level();
  if (level == NL_SIMD_AVX512) return nl_fmax_avx512(x, n);
  if (level == NL_SIMD_AVX2) return nl_fmax_avx2(x, n);
#endif
  return nl_fmax_scalar(x, n);
}

void nl_cpu_expf(const float *x, float *y, int64_t n) { nl_cpu_expf_at(nl_cpu_simd_level(), x, y, n); }

float nl_cpu_expf_sum(const float *x, float m, float *y, int64_t n) {
  return nl_cpu_expf_sum_at(nl_cpu_simd_level(), x, m, y, n);
}
