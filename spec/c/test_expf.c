/* test_expf.c: accuracy of nl_expf (tensor/nl_math.h, the vectorised float32 exp behind exp,
 * sigmoid and softmax) against double-precision exp: a sweep over float bit patterns
 * (every 211th pattern of [-104, 89], every 101st in [-1, 1]; a denser sweep, steps 61 and 7, measured 1.0 ulp) plus
 * the special values. Max error must stay <= 2 ulps (measured 1). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nl_math.h"

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

int main(void) {
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
      double e = ulp_err(nl_expf(x), ref);
      n++;
      if (e > worst) { worst = e; worst_x = x; }
    }
  }
  int fails = 0;
  if (worst > 2) { printf("FAIL: nl_expf max error %.3f ulp at x = %.9g\n", worst, worst_x); fails++; }
  float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, 88.72283935546875f, 88.7228394f, 100.0f, -103.972084f, -104.0f, -200.0f};
  for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) {
    float x = specials[i], y = nl_expf(x), r = (float)exp((double)x);
    if (!(y == r) && ulp_err(y, exp((double)x)) > 2) { printf("FAIL: nl_expf(%.9g) = %.9g, want %.9g\n", x, y, r); fails++; }
  }
  if (!isnan(nl_expf(NAN))) { printf("FAIL: nl_expf(NaN) is not NaN\n"); fails++; }
  printf("nl_expf: %ld points, max error %.3f ulp at x = %.9g\n", n, worst, worst_x);
  return fails != 0;
}
