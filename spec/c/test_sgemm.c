/* test_sgemm.c: nl_sgemm (nl_sgemm.h) called directly, against a float64 triple loop: every
 * transpose pair, M/N/K over the 6 x 64 tile edges (0, 1, 5..7, 63..65, K past a 512 block),
 * leading dims larger than the matrices (the padding columns of C must stay untouched),
 * alpha 1/0.5/0 and beta 0 (NaN in C ignored)/1/-0.7, on 1 and 2 threads; and the OpenBLAS
 * fallback on the same products. Error bound: 4e-5 * sqrt(K + 1) * (1 + |expected|). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "nl_sgemm.h"

static int failures;
static unsigned rng = 12345;
static float rnd(void) { /* uniform in [-1, 1) */
  rng = rng * 1103515245u + 12345u;
  return (float)((rng >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static void check(bool blas, bool ta, bool tb, int M, int N, int K, float alpha, float beta, int pad) {
  int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  int ar = ta ? K : M, br = tb ? N : K;
  size_t na = (size_t)ar * lda + 1, nb = (size_t)br * ldb + 1, nc = (size_t)M * ldc + 1;
  float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C), *C0 = malloc(nc * sizeof *C0);
  for (size_t i = 0; i < na; i++) A[i] = rnd();
  for (size_t i = 0; i < nb; i++) B[i] = rnd();
  for (size_t i = 0; i < nc; i++) C[i] = C0[i] = rnd();
  if (beta == 0 && M > 0 && N > 0) C[0] = C0[0] = NAN;
  if (blas) nl_sgemm_blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else nl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  int bad = 0;
  for (int i = 0; i < M && !bad; i++)
    for (int j = 0; j < ldc; j++) {
      float got = C[(size_t)i * ldc + j];
      if (j >= N) { /* padding: untouched */
        if (got != C0[(size_t)i * ldc + j]) {
          printf("FAIL %s ta %d tb %d M %d N %d K %d: padding C[%d, %d] written\n", blas ? "openblas" : "nl_sgemm",
                 ta, tb, M, N, K, i, j);
          bad = 1;
        }
        continue;
      }
      double s = 0;
      for (int k = 0; k < K; k++)
        s += (double)(ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]) *
             (double)(tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]);
      double want = alpha * s + (beta == 0 ? 0 : beta * (double)C0[(size_t)i * ldc + j]);
      if (!(fabs(got - want) <= 4e-5 * sqrt(K + 1.0) * (1 + fabs(want)))) {
        printf("FAIL %s ta %d tb %d M %d N %d K %d alpha %g beta %g pad %d: C[%d, %d] = %g, expected %g\n",
               blas ? "openblas" : "nl_sgemm", ta, tb, M, N, K, alpha, beta, pad, i, j, got, want);
        bad = 1;
        break;
      }
    }
  failures += bad;
  free(A), free(B), free(C), free(C0);
}

int main(void) {
  static const int dims[] = {0, 1, 5, 6, 7, 16, 17, 63, 64, 65, 130};
  const int nd = (int)(sizeof dims / sizeof dims[0]);
  static const float alphas[] = {1, 0.5f, 0}, betas[] = {0, 1, -0.7f};
  int n = 0;
  for (int threads = 1; threads <= 2; threads++) {
    omp_set_num_threads(threads);
    for (int t = 0; t < 4; t++)
      for (int a = 0; a < nd; a++)
        for (int b = 0; b < nd; b++)
          for (int c = (a + b) % 3; c < nd; c += 3, n++)
            check(false, t & 1, t >> 1, dims[a], dims[b], dims[c], alphas[n % 3], betas[(n / 3) % 3], n % 3);
    for (int t = 0; t < 4; t++) { /* several K blocks, several column blocks, B in place */
      check(false, t & 1, t >> 1, 150, 700, 1100, 1, 0, 3);
      check(false, t & 1, t >> 1, 20, 1500, 600, 2, 1, 0);
      check(false, t & 1, t >> 1, 300, 40, 530, -1, 0.5f, 1);
    }
  }
  for (int t = 0; t < 4; t++) check(true, t & 1, t >> 1, 37, 70, 45, 0.5f, -0.7f, 2);
  printf("nl_sgemm: %s kernel, %d products, %d failures\n", nl_sgemm_own() ? "AVX-512" : "OpenBLAS", n + 28, failures);
  return failures != 0;
}
