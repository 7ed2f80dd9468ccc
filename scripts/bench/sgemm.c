/* sgemm.c: OpenBLAS's own sgemm rate on 1024x1024 (the ceiling for nnlua's matmul).
 * Prints "sgemm_1024 seconds_per_call". Built and run by scripts/bench/run.sh. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void) {
  int n = 1024, reps = 20;
  float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
  for (int i = 0; i < n * n; i++) a[i] = (float)rand() / RAND_MAX, b[i] = (float)rand() / RAND_MAX;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
  double best[5];
  for (int r = 0; r < 5; r++) {
    double t = now();
    for (int i = 0; i < reps; i++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    best[r] = (now() - t) / reps;
  }
  for (int i = 0; i < 5; i++)
    for (int j = i + 1; j < 5; j++)
      if (best[j] < best[i]) { double x = best[i]; best[i] = best[j]; best[j] = x; }
  printf("sgemm_1024 %.9g\n", best[2]);
  free(a); free(b); free(c);
  return 0;
}
