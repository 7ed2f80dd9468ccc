/* test_linalg.c: products of non-contiguous operands (transposed views reach BLAS as
 * CblasTrans, strided slices are copied, broadcast batch dims have stride 0), checked
 * against a naive triple loop in double. */
#include <math.h>
#include <stdio.h>

#include "nl_ops.h"

static int failures;

/* Naive reference: out[b] = A[b] @ B[b] read through nl_get_flat on (batch, M, K) views. */
static void check(const char *what, nl_tensor *a, nl_tensor *b, int64_t batch, int64_t M, int64_t K, int64_t N) {
  nl_tensor *out = nl_matmul(a, b);
  if (!out) { printf("FAIL %s: %s\n", what, nl_error()); failures++; return; }
  for (int64_t p = 0; p < batch; p++)
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double want = 0;
        for (int64_t k = 0; k < K; k++)
          want += nl_get_flat(a, (a->ndim == 3 ? p * M * K : 0) + i * K + k) * nl_get_flat(b, (b->ndim == 3 ? p * K * N : 0) + k * N + j);
        double got = nl_get_flat(out, (p * M + i) * N + j);
        if (fabs(got - want) > 1e-4 * (1 + fabs(want))) {
          printf("FAIL %s: [%lld, %lld, %lld] = %g, expected %g\n", what, (long long)p, (long long)i, (long long)j, got, want);
          failures++;
          nl_tensor_free(out);
          return;
        }
      }
  printf("ok %s\n", what);
  nl_tensor_free(out);
}

static nl_tensor *filled(int ndim, const int64_t *shape, nl_dtype dt, double seed) {
  nl_tensor *t = nl_empty(ndim, shape, dt, nl_cpu());
  int64_t n = nl_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double v = sin(seed + 0.7 * (double)i);
    if (dt == NL_FLOAT32) ((float *)nl_data(t))[i] = (float)v;
    else if (dt == NL_FLOAT64) ((double *)nl_data(t))[i] = v;
    else ((int64_t *)nl_data(t))[i] = (int64_t)(10 * v);
  }
  return t;
}

int main(void) {
  nl_dtype dts[3] = {NL_FLOAT32, NL_FLOAT64, NL_INT64};
  for (int d = 0; d < 3; d++) {
    nl_dtype dt = dts[d];
    char what[120];
    /* A^T: storage (K=5, M=4), viewed as (4, 5) with strides (1, 4); B^T likewise (N=3, K=5). */
    nl_tensor *as = filled(2, (int64_t[]){5, 4}, dt, 0.1), *bs = filled(2, (int64_t[]){3, 5}, dt, 0.2);
    nl_tensor *at = nl_view_of(as, 2, (int64_t[]){4, 5}, (int64_t[]){1, 4}, 0);
    nl_tensor *bt = nl_view_of(bs, 2, (int64_t[]){5, 3}, (int64_t[]){1, 5}, 0);
    nl_tensor *a = filled(2, (int64_t[]){4, 5}, dt, 0.3), *b = filled(2, (int64_t[]){5, 3}, dt, 0.4);
    snprintf(what, sizeof what, "%s A^T @ B", nl_dtype_name(dt)); check(what, at, b, 1, 4, 5, 3);
    snprintf(what, sizeof what, "%s A @ B^T", nl_dtype_name(dt)); check(what, a, bt, 1, 4, 5, 3);
    snprintf(what, sizeof what, "%s A^T @ B^T", nl_dtype_name(dt)); check(what, at, bt, 1, 4, 5, 3);
    /* every other column of an (4, 10) matrix: neither rows nor columns dense -> copied */
    nl_tensor *wide = filled(2, (int64_t[]){4, 10}, dt, 0.5);
    nl_tensor *sl = nl_view_of(wide, 2, (int64_t[]){4, 5}, (int64_t[]){10, 2}, 1);
    snprintf(what, sizeof what, "%s strided slice @ B", nl_dtype_name(dt)); check(what, sl, b, 1, 4, 5, 3);
    /* batched: (2, 4, 5) transposed in its last two dims @ a shared (5, 3) */
    nl_tensor *bs3 = filled(3, (int64_t[]){2, 5, 4}, dt, 0.6);
    nl_tensor *bt3 = nl_view_of(bs3, 3, (int64_t[]){2, 4, 5}, (int64_t[]){20, 1, 4}, 0);
    snprintf(what, sizeof what, "%s batched transposed @ shared", nl_dtype_name(dt)); check(what, bt3, b, 2, 4, 5, 3);
    /* batched (2, 4, 5) @ B^T broadcast via stride 0 along batch: (2, 5, 3) strides (0, 1, 5) */
    nl_tensor *bb = nl_view_of(bs, 3, (int64_t[]){2, 5, 3}, (int64_t[]){0, 1, 5}, 0);
    nl_tensor *a3 = filled(3, (int64_t[]){2, 4, 5}, dt, 0.7);
    snprintf(what, sizeof what, "%s batched @ expanded B^T", nl_dtype_name(dt)); check(what, a3, bb, 2, 4, 5, 3);
    nl_tensor *all[] = {as, bs, at, bt, a, b, wide, sl, bs3, bt3, bb, a3};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) nl_tensor_free(all[i]);
  }
  /* addmm with a transposed m1 and a row-vector input */
  {
    nl_tensor *ms = filled(2, (int64_t[]){3, 2}, NL_FLOAT64, 1.0), *m2 = filled(2, (int64_t[]){3, 2}, NL_FLOAT64, 2.0);
    nl_tensor *m1 = nl_view_of(ms, 2, (int64_t[]){2, 3}, (int64_t[]){1, 2}, 0);
    nl_tensor *in = filled(1, (int64_t[]){2}, NL_FLOAT64, 3.0);
    nl_tensor *out = nl_addmm(in, m1, m2, 0.5, 2.0);
    int bad = !out;
    for (int i = 0; !bad && i < 2; i++)
      for (int j = 0; j < 2; j++) {
        double want = 0.5 * nl_get_flat(in, j);
        for (int k = 0; k < 3; k++) want += 2.0 * nl_get_flat(m1, i * 3 + k) * nl_get_flat(m2, k * 2 + j);
        if (fabs(nl_get_flat(out, i * 2 + j) - want) > 1e-12) bad = 1;
      }
    printf("%s addmm transposed\n", bad ? "FAIL" : "ok");
    failures += bad;
    nl_tensor_free(out); nl_tensor_free(ms); nl_tensor_free(m2); nl_tensor_free(m1); nl_tensor_free(in);
  }
  return failures ? 1 : 0;
}
