/* nl_sgemm.h: nnlua's own float32 GEMM (tensor/cpu/sgemm.c, sgemm_avx512.c).
 *
 * C (M, N) = alpha * op(A) (M, K) @ op(B) (K, N) + beta * C, row-major like
 * cblas_sgemm(CblasRowMajor, ...): op(A) is A (M, K, row stride lda) or, with ta, the
 * transpose of A stored (K, M, row stride lda); likewise B with tb. beta == 0 ignores C
 * (NaNs in it do not propagate). C must not overlap A or B (as in BLAS).
 *
 * On CPUs with AVX-512 (F, VL, DQ) it runs a packed, cache-blocked kernel (parallel over
 * nl_get_num_threads() threads outside OpenMP regions, serial inside one); elsewhere, or
 * with the environment variable NNLUA_GEMM=openblas, it calls OpenBLAS's cblas_sgemm. */
#ifndef NL_SGEMM_H
#define NL_SGEMM_H
#include <stdbool.h>
#include <stdint.h>

void nl_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
              const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* True when nl_sgemm runs nnlua's AVX-512 kernel (false: OpenBLAS); decided once. */
bool nl_sgemm_own(void);

/* The AVX-512 kernel itself (sgemm_avx512.c); call only when nl_sgemm_own() is true. */
void nl_sgemm_avx512(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
/* cblas_sgemm with this signature (the fallback). */
void nl_sgemm_blas(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                   const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
/* The calling thread's packing buffer of at least n floats (4096-byte aligned, kept for the
 * next call, freed when the thread exits); NULL when out of memory. */
float *nl_sgemm_scratch(size_t n);
#endif
