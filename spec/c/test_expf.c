/* test_expf.c: accuracy of nl_expf (tensor/nl_math.h, the vectorised float32 exp behind exp,
 * sigmoid and softmax) against double-precision exp: a sweep over float bit patterns
 * (every 211th pattern of [-104, 89], every 101st in [-1, 1]; a denser sweep, steps 61 and 7, measured 1.0 ulp) plus
 * the special values. Max error must stay <= 2 ulps (measured 1), for nl_expf as compiled
 * here (baseline x86-64: no FMA) and with FMA contraction (the AVX2 / AVX-512 clones).
 * Then the SIMD kernels of tensor/cpu/expf_simd.c, at each level the CPU has: the bits of
 * nl_expf with FMA on every 13th float bit pattern (all 2^32 measured equal, NaN as NaN), and
 * the 16-lane sums of exp(x - m) equal across levels and to the lane order written out (left
 * to right below 16 elements). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl_math.h"
#include "cpu/nl_cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define FMA_TARGET __attribute__((target("avx2,fma"), noinline))
#else
#define FMA_TARGET
#endif
/* nl_expf inlined into an FMA-enabled function: contracted as in the clones */
FMA_TARGET static float expf_fma(float x) { return nl_expf(x); }
FMA_TARGET static void expf_fma_n(const float *x, float *y, int n) {
  for (int i = 0; i < n; i++) y[i] = nl_expf(x[i]);
}
static int cpu_has(int level) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (level == NL_SIMD_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (level == NL_SIMD_AVX512) return cpu_has(NL_SIMD_AVX2) && __builtin_cpu_supports("avx512f");
#endif
  return level == NL_SIMD_SCALAR;
}

static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* Error of y in units of the float spacing at the exact value ref. */
static double ulp_err(float y, double ref) {
  if (ref == 0) return y == 0 ? 0 : INFINITY;
  int e;
  frexp(ref, &e);
  double ulp = ldexp(1.0, e - 24);
  if (ulp < 0x1p-149) ulp = 0x1p-149; /* subnormal spacing */
  return fabs((double)y - ref) / ulp;
}

typedef float (*expf_fn)(float);
static float expf_plain(float x) { return nl_expf(x); }

/* Max ulp error of f over the sweep; fails on > 2 ulps or a wrong special value. */
static int sweep(const char *name, expf_fn f) {
  double worst = 0;
  float worst_x = 0;
  long n = 0;
  for (int sign = 0; sign < 2; sign++) {
    uint32_t hi = sign ? 0xC2D00000u : 0x42B20000u; /* -104, 89 */
    uint32_t lo = sign ? 0x80000000u : 0;
    for (uint32_t u = lo; u <= hi; u += (u & 0x7fffffffu) < 0x3f800000u ? 101 : 211) {
      float x = from_bits(u);
      double ref = exp((double)x);
      if (ref > 0x1.fffffep127) continue; /* overflows: checked below */
      double e = ulp_err(f(x), ref);
      n++;
      if (e > worst) { worst = e; worst_x = x; }
    }
  }
  int fails = 0;
  if (worst > 2) { printf("FAIL: %s max error %.3f ulp at x = %.9g\n", name, worst, worst_x); fails++; }
  float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, 88.72283935546875f, 88.7228394f, 100.0f, -103.972084f, -104.0f, -200.0f};
  for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) {
    float x = specials[i], y = f(x), r = (float)exp((double)x);
    if (!(y == r) && ulp_err(y, exp((double)x)) > 2) { printf("FAIL: %s(%.9g) = %.9g, want %.9g\n", name, x, y, r); fails++; }
  }
  if (!isnan(f(NAN))) { printf("FAIL: %s(NaN) is not NaN\n", name); fails++; }
  printf("%s: %ld points, max error %.3f ulp at x = %.9g\n", name, n, worst, worst_x);
  return fails;
}

static int same_bits(float a, float b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, 4) == 0; }

/* The level's kernel against nl_expf with FMA over every 13th bit pattern (both signs,
 * specials, subnormals, NaNs): identical bits. Odd run lengths exercise the masked tails. */
static int simd_bits(int level) {
  enum { N = 4093 };
  static float x[N], want[N], got[N];
  long bad = 0;
  for (uint64_t u = 0; u < (1ull << 32); u += 13ull * N) {
    for (int i = 0; i < N; i++) x[i] = from_bits((uint32_t)(u + 13ull * (uint64_t)i));
    expf_fma_n(x, want, N);
    nl_cpu_expf_at(level, x, got, N);
    for (int i = 0; i < N; i++)
      if (!same_bits(want[i], got[i]) && bad++ < 5)
        printf("FAIL: level %d exp(%a) = %a, nl_expf with FMA gives %a\n", level, x[i], got[i], want[i]);
  }
  return bad != 0;
}

/* exp(x - m) and its 16-lane sum: stored values are nl_expf(x - m) with FMA, the sum is the
 * lane order written out, for lengths around the vector widths and a softmax row. */
static int simd_sums(int level) {
  int fails = 0;
  int lens[] = {1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 1000};
  static float x[1000], y[1000];
  srand(7);
  for (size_t c = 0; c < sizeof lens / sizeof *lens; c++) {
    int n = lens[c];
    for (int i = 0; i < n; i++) x[i] = (float)rand() / (float)RAND_MAX * 20.0f - 10.0f;
    float m = 3.25f, acc[16] = {0};
    for (int i = 0; i < n; i++) acc[n < 16 ? 0 : i % 16] += expf_fma(x[i] - m); /* short: in order */
    for (int w = 8; w > 0; w /= 2)
      for (int l = 0; l < w; l++) acc[l] += acc[l + w];
    float s = nl_cpu_expf_sum_at(level, x, m, y, n), s0 = nl_cpu_expf_sum_at(level, x, m, NULL, n);
    if (!same_bits(s, acc[0]) || !same_bits(s0, acc[0])) {
      printf("FAIL: level %d sum of %d = %a / %a, want %a\n", level, n, s, s0, acc[0]);
      fails++;
    }
    for (int i = 0; i < n; i++)
      if (!same_bits(y[i], expf_fma(x[i] - m))) {
        printf("FAIL: level %d exp(x[%d] - m) of %d\n", level, i, n);
        fails++;
        break;
      }
  }
  return fails;
}

int main(void) {
  int fails = sweep("nl_expf", expf_plain) + sweep("nl_expf (FMA)", expf_fma);
  for (int level = NL_SIMD_AVX2; level <= NL_SIMD_AVX512; level++) {
    if (!cpu_has(level)) { printf("level %d: not on this CPU, skipped\n", level); continue; }
    int f = simd_bits(level) + simd_sums(level);
    printf("level %d: %s\n", level, f ? "FAIL" : "bits of nl_expf with FMA, sums in lane order");
    fails += f;
  }
  return fails != 0;
}
