/* sgemm.c: nl_sgemm (nl_sgemm.h), the float32 GEMM behind matmul and convolution: picks
 * nnlua's AVX-512 kernel (sgemm_avx512.c) when the CPU has AVX-512, else OpenBLAS.
 *
 * The choice is made once per process: NNLUA_GEMM=openblas forces cblas_sgemm (which then
 * follows the user's OpenBLAS settings, OPENBLAS_CORETYPE included). This file is compiled
 * for baseline x86-64; only sgemm_avx512.c holds AVX-512 code. Also the per-thread packing
 * buffer the kernel uses (kept between calls: a fresh mmap per GEMM would page-fault). */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../nl_sgemm.h"
#include "nl_cpu.h"

static atomic_int nl_sgemm_mode = -1; /* -1: not decided yet, 0: OpenBLAS, 1: own kernel */

bool nl_sgemm_own(void) {
  int m = atomic_load_explicit(&nl_sgemm_mode, memory_order_relaxed);
  if (m < 0) {
    const char *e = getenv("NNLUA_GEMM");
    m = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    /* sgemm_avx512.c is compiled for F, VL and DQ (Xeon Phi has F alone) and FMA */
    m = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
#endif
    if (e && strcmp(e, "openblas") == 0) m = 0;
    atomic_store(&nl_sgemm_mode, m);
  }
  return m == 1;
}

/* Products of at most NL_SGEMM_TINY multiply-adds (XOR's 4 x 4 x 2 layers) in plain loops:
 * the packed kernel's blocking set-up and OpenBLAS's interface cost several times the
 * arithmetic there. Each C element is summed over k in order, then alpha and beta are applied
 * as BLAS does (beta == 0 ignores C). */
#define NL_SGEMM_TINY 256
/* Scalar on purpose (vectorised loops spend more in their set-up than in 2-4 iterations);
 * op(A)(i, k) = A[i * sai + k * sak], op(B)(k, j) = B[k * sbk + j * sbj]. */
__attribute__((optimize("no-tree-vectorize"))) static void nl_sgemm_tiny(bool ta, bool tb, int64_t M, int64_t N,
                                                                         int64_t K, float alpha, const float *A,
                                                                         int64_t lda, const float *B, int64_t ldb,
                                                                         float beta, float *C, int64_t ldc) {
  int64_t sai = ta ? 1 : lda, sak = ta ? lda : 1, sbk = tb ? 1 : ldb, sbj = tb ? ldb : 1;
  if (alpha == 0) K = 0; /* alpha == 0: A and B are not read */
  for (int64_t i = 0; i < M; i++) {
    float *c = C + i * ldc;
    for (int64_t j = 0; j < N; j++) {
      const float *a = A + i * sai, *b = B + j * sbj;
      float acc = 0;
      for (int64_t k = 0; k < K; k++, a += sak, b += sbk) acc += *a * *b;
      c[j] = beta == 0 ? alpha * acc : alpha * acc + beta * c[j];
    }
  }
}

void nl_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
              const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (M * N * (K > 1 ? K : 1) <= NL_SGEMM_TINY) {
    nl_sgemm_tiny(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (nl_sgemm_own()) {
    nl_sgemm_avx512(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  nl_sgemm_blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nl_sgemm_blas(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                   const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
              (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* ---- the per-thread scratch buffer ------------------------------------------------------ */
typedef struct nl_sgemm_buf {
  float *p;
  size_t n; /* floats */
} nl_sgemm_buf;

static _Thread_local nl_sgemm_buf nl_tl_buf;
static pthread_key_t nl_sgemm_key;
static pthread_once_t nl_sgemm_once = PTHREAD_ONCE_INIT;

static void nl_sgemm_thread_exit(void *v) {
  nl_sgemm_buf *b = v;
  free(b->p);
  b->p = NULL;
  b->n = 0;
}
static void nl_sgemm_key_init(void) { pthread_key_create(&nl_sgemm_key, nl_sgemm_thread_exit); }

float *nl_sgemm_scratch(size_t n) {
  nl_sgemm_buf *b = &nl_tl_buf;
  if (n <= b->n) return b->p;
  size_t bytes = (n * sizeof(float) + 4095) & ~(size_t)4095;
  float *p = aligned_alloc(4096, bytes);
  if (!p) return NULL;
  if (!b->p) { /* first buffer of this thread: free it when the thread exits */
    pthread_once(&nl_sgemm_once, nl_sgemm_key_init);
    pthread_setspecific(nl_sgemm_key, b);
  }
  free(b->p);
  b->p = p;
  b->n = bytes / sizeof(float);
  return p;
}
