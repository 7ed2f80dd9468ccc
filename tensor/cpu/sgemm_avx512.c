/* sgemm_avx512.c: nnlua's float32 GEMM for CPUs with AVX-512 (called through nl_sgemm,
 * nl_sgemm.h, which checks the CPU first). BLIS-style:
 *
 *   for jc over N in NC columns:            B block (KC, NC) packed
 *     for pc over K in KC:                  (KC * NC floats ~ 512 KB: stays in L2)
 *       for each MR-row panel of A:         packed just before use; stays in L1
 *         for each NR-column panel of B:    B micro-panel (KC, NR) streams from L2
 *           micro-kernel: C (MR, NR) += A panel @ B panel, in 24 zmm accumulators
 *
 * MR = 6 rows by NR = 64 columns (4 zmm): per k, 4 vector loads of B, 6 broadcasts of A
 * and 24 FMAs (enough independent chains to fill two FMA pipes with 4-cycle latency).
 * Edge tiles use micro-kernels compiled for 1..6 rows and 1..4 vectors, the last vector's
 * store masked, so no flop is spent on padding rows and at most 15 lanes on padding columns.
 * With M <= 24 (a few row panels) full B panels are read in place instead of packed; with
 * M <= 4 and B transposed (x @ w^T of a small batch) each element is a dot product of two
 * contiguous rows and nothing is packed (nl_sgemm_dots).
 * Packed layouts: A panel p holds A(i, k) at [k * MR + i]; B panel q holds B(k, j) at
 * [k * NR + j], columns past N zeroed. alpha and beta are applied when a tile is stored
 * (beta only on the first K block; later blocks accumulate with beta 1).
 *
 * Threads: outside OpenMP regions, up to omp_get_max_threads() (fewer for small products)
 * each run the above on their own block of columns (or rows) of C, with their own packing
 * buffers and no barrier. Inside a region (conv's per-sample loops) it runs on the calling
 * thread alone.
 *
 * The whole file is compiled for AVX-512 (#pragma GCC target), so nothing here may run
 * before nl_sgemm_own() has checked the CPU. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../nl_sgemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
#include <immintrin.h>

#define MR 6
#define NR 64
#define NV (NR / 16)
#define KC_MAX 512
#define BBLOCK_FLOATS (128 * 1024) /* KC * NC: the packed B block, 512 KB */

/* ---- micro-kernels ------------------------------------------------------------------------
 * c (m, 16 * (nv - 1) + popcount(mask), row stride ldc) = alpha * a @ b + beta * c for one
 * tile; m and nv are compile-time constants in each instance (the accumulators live in
 * registers). a is a packed A panel; b is a packed B panel (ldb = NR) or a full panel of B
 * itself (row stride ldb, see direct_b). beta == 0 does not read c. */
typedef void nl_ukr_fn(int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                       float alpha, float beta, __mmask16 mask);

static inline __attribute__((always_inline)) void nl_ukr(int m, int nv, int64_t kc, const float *a,
                                                         const float *b, int64_t ldb, float *c, int64_t ldc,
                                                         float alpha, float beta, __mmask16 mask) {
  __m512 acc[MR][NV];
  for (int i = 0; i < m; i++)
    for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; k++) {
    __m512 bv[NV];
    /* unmasked: b is a packed panel (zero-padded) or NR columns of B in place. (A masked
     * load here makes GCC 12 spill the accumulators to the stack every iteration.) */
    for (int v = 0; v < nv; v++) bv[v] = _mm512_loadu_ps(b + 16 * v);
    for (int i = 0; i < m; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
      for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += ldb;
  }
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < m; i++) {
    float *ci = c + i * ldc;
    for (int v = 0; v < nv; v++) {
      __mmask16 mk = v == nv - 1 ? mask : (__mmask16)0xFFFF;
      __m512 r = _mm512_mul_ps(acc[i][v], va);
      if (beta != 0) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, ci + 16 * v), r);
      _mm512_mask_storeu_ps(ci + 16 * v, mk, r);
    }
  }
}

#define NL_UKR(m, nv)                                                                              \
  static void nl_ukr_##m##_##nv(int64_t kc, const float *a, const float *b, int64_t ldb, float *c,   \
                                int64_t ldc, float alpha, float beta, __mmask16 mask) {            \
    nl_ukr(m, nv, kc, a, b, ldb, c, ldc, alpha, beta, mask);                                       \
  }
#define NL_UKR_ROW(m) NL_UKR(m, 1) NL_UKR(m, 2) NL_UKR(m, 3) NL_UKR(m, 4)
NL_UKR_ROW(1)
NL_UKR_ROW(2)
NL_UKR_ROW(3)
NL_UKR_ROW(4)
NL_UKR_ROW(5)
NL_UKR_ROW(6)
#define NL_UKR_PTRS(m) {nl_ukr_##m##_1, nl_ukr_##m##_2, nl_ukr_##m##_3, nl_ukr_##m##_4}
static nl_ukr_fn *const nl_ukrs[MR][NV] = {NL_UKR_PTRS(1), NL_UKR_PTRS(2), NL_UKR_PTRS(3),
                                           NL_UKR_PTRS(4), NL_UKR_PTRS(5), NL_UKR_PTRS(6)};

/* ---- the problem and its blocking ---------------------------------------------------------- */
typedef struct nl_sgemm_job {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  const float *A, *B;
  float *C;
  int64_t kcb, ncb;      /* block sizes: KC, NC (a multiple of NR) */
  bool direct_b;         /* full panels of B (not transposed, few row panels) read in place */
  float *pa;             /* a packed A panel (MR * kcb floats, rounded up to 16) */
  float *pb;             /* packed B block (kcb * ncb floats), or with direct_b the packed
                          * last panel of a block when it is narrower than NR */
} nl_sgemm_job;

/* Panels [*lo, *hi) of n for thread t of nt (contiguous, sizes differ by at most one). */
static void nl_split(int64_t n, int t, int nt, int64_t *lo, int64_t *hi) {
  *lo = n * t / nt;
  *hi = n * (t + 1) / nt;
}

/* ---- packing ----------------------------------------------------------------------------- */
/* A rows [row, row + m) (m <= MR), k in [pc, pc + kc) -> dst[k * MR + i]. Rows past m are
 * left unset: the micro-kernel for m rows never reads them. */
static void nl_pack_a(const nl_sgemm_job *j, int64_t row, int m, int64_t pc, int64_t kc, float *dst) {
  if (!j->ta) { /* A(i, k) = A[i * lda + k]: m row streams */
    const float *s = j->A + row * j->lda + pc;
    int64_t lda = j->lda;
    if (m == MR) {
      for (int64_t k = 0; k < kc; k++)
        for (int i = 0; i < MR; i++) dst[k * MR + i] = s[i * lda + k];
    } else {
      for (int64_t k = 0; k < kc; k++)
        for (int i = 0; i < m; i++) dst[k * MR + i] = s[i * lda + k];
    }
  } else { /* A(i, k) = A[k * lda + i]: contiguous rows of m */
    const float *s = j->A + pc * j->lda + row;
    for (int64_t k = 0; k < kc; k++)
      for (int i = 0; i < m; i++) dst[k * MR + i] = s[k * j->lda + i];
  }
}

/* 16 x 16 transpose in registers: r[i] lane l <-> r[l] lane i. */
static inline void nl_transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
    __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  /* Now each 128-bit lane holds a transposed 4 x 4 block; two rounds of 128-bit shuffles put
   * the blocks in place. */
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}

static inline __mmask16 nl_mask(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

/* B columns [col, col + n) (n <= NR), k in [pc, pc + kc) -> dst[k * NR + j], zero for
 * j in [n, 16 * ceil(n / 16)) (the lanes the last micro-kernel vector reads). */
static void nl_pack_b(const nl_sgemm_job *j, int64_t col, int64_t n, int64_t pc, int64_t kc, float *dst) {
  int nv = (int)((n + 15) / 16);
  if (!j->tb) { /* B(k, j) = B[k * ldb + j]: rows of n contiguous floats */
    const float *s = j->B + pc * j->ldb + col;
    if (n == NR) {
      for (int64_t k = 0; k < kc; k++, s += j->ldb, dst += NR)
        for (int v = 0; v < NV; v++) _mm512_store_ps(dst + 16 * v, _mm512_loadu_ps(s + 16 * v));
    } else {
      for (int64_t k = 0; k < kc; k++, s += j->ldb, dst += NR)
        for (int v = 0; v < nv; v++)
          _mm512_store_ps(dst + 16 * v, _mm512_maskz_loadu_ps(nl_mask(n - 16 * v), s + 16 * v));
    }
  } else { /* B(k, j) = B[j * ldb + k]: 16 x 16 blocks transposed in registers */
    const float *s = j->B + col * j->ldb + pc;
    for (int v = 0; v < nv; v++) {
      int64_t jn = n - 16 * v < 16 ? n - 16 * v : 16;
      for (int64_t kb = 0; kb < kc; kb += 16) {
        int64_t kn = kc - kb < 16 ? kc - kb : 16;
        __mmask16 km = nl_mask(kn);
        __m512 r[16];
        for (int q = 0; q < 16; q++)
          r[q] = q < jn ? _mm512_maskz_loadu_ps(km, s + (16 * v + q) * j->ldb + kb) : _mm512_setzero_ps();
        nl_transpose16(r);
        for (int q = 0; q < kn; q++) _mm512_store_ps(dst + (kb + q) * NR + 16 * v, r[q]);
      }
    }
  }
}

/* ---- the blocked loops (one thread) -------------------------------------------------------- */
static int64_t nl_round16(int64_t n) { return (n + 15) / 16 * 16; } /* floats: 64-byte multiples */

static void nl_sgemm_run(const nl_sgemm_job *j) {
  float *pa = j->pa, *pe = pa + nl_round16(MR * j->kcb); /* pe: direct_b's narrow last panel */
  for (int64_t jc = 0; jc < j->N; jc += j->ncb) {
    int64_t nc = j->N - jc < j->ncb ? j->N - jc : j->ncb, nq = (nc + NR - 1) / NR, nfull = nc / NR;
    for (int64_t pc = 0; pc < j->K; pc += j->kcb) {
      int64_t kc = j->K - pc < j->kcb ? j->K - pc : j->kcb;
      float beta = pc == 0 ? j->beta : 1.0f;
      if (!j->direct_b)
        for (int64_t q = 0; q < nq; q++) {
          int64_t n = nc - q * NR < NR ? nc - q * NR : NR;
          nl_pack_b(j, jc + q * NR, n, pc, kc, j->pb + q * kc * NR);
        }
      else if (nfull < nq)
        nl_pack_b(j, jc + nfull * NR, nc - nfull * NR, pc, kc, pe);
      /* Each A panel is packed right before its tiles run: it stays in L1 while the B panels
       * stream past it. */
      for (int64_t row = 0; row < j->M; row += MR) {
        int m = (int)(j->M - row < MR ? j->M - row : MR);
        nl_pack_a(j, row, m, pc, kc, pa);
        for (int64_t q = 0; q < nq; q++) {
          int64_t col = jc + q * NR, n = nc - q * NR < NR ? nc - q * NR : NR;
          int nv = (int)((n + 15) / 16);
          const float *bp = j->pb + q * kc * NR; /* panel q of B: packed, or in place */
          int64_t ldb = NR;
          if (j->direct_b) {
            bp = q < nfull ? j->B + pc * j->ldb + col : pe;
            ldb = q < nfull ? j->ldb : NR;
          }
          nl_ukrs[m - 1][nv - 1](kc, pa, bp, ldb, j->C + row * j->ldc + col, j->ldc, j->alpha, beta,
                                 nl_mask(n - 16 * (nv - 1)));
        }
      }
    }
  }
}

/* C (M, N) = alpha * A (M, K) @ B^T + beta * C with B stored (N, K): each element is the dot
 * product of two contiguous rows. For a few rows of A (nn.Linear's forward at batch <= 4:
 * x @ w^T) this beats packing B, which copies all of B (K x N) for only M*N*K flops: LeNet's
 * fc1 at batch 4 spent as long packing its 400 x 120 weight as multiplying. Four columns of
 * C at a time for all m rows: 4m independent accumulators (FMA latency needs ~8), each B
 * row read once; the last partial vector of K is masked. m is a compile-time constant in
 * each instance (accumulators in registers). */
static inline __attribute__((always_inline)) void nl_sgemm_dots_m(int m, int64_t N, int64_t K, float alpha,
                                                                  const float *A, int64_t lda, const float *B,
                                                                  int64_t ldb, float beta, float *C, int64_t ldc) {
  int64_t kv = K / 16 * 16;
  __mmask16 tail = (__mmask16)((1u << (K - kv)) - 1u);
  for (int64_t j = 0; j < N; j += 4) {
    int nj = N - j < 4 ? (int)(N - j) : 4;
    const float *b[4];
    for (int t = 0; t < 4; t++) b[t] = B + (j + (t < nj ? t : 0)) * ldb; /* past N: re-read a valid row */
    __m512 s[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < m; i++)
#pragma GCC unroll 4
      for (int t = 0; t < 4; t++) s[i][t] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kv; k += 16) {
      __m512 bv[4];
#pragma GCC unroll 4
      for (int t = 0; t < 4; t++) bv[t] = _mm512_loadu_ps(b[t] + k);
#pragma GCC unroll 4
      for (int i = 0; i < m; i++) {
        __m512 av = _mm512_loadu_ps(A + i * lda + k);
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) s[i][t] = _mm512_fmadd_ps(av, bv[t], s[i][t]);
      }
    }
    if (tail) {
      __m512 bv[4];
#pragma GCC unroll 4
      for (int t = 0; t < 4; t++) bv[t] = _mm512_maskz_loadu_ps(tail, b[t] + kv);
#pragma GCC unroll 4
      for (int i = 0; i < m; i++) {
        __m512 av = _mm512_maskz_loadu_ps(tail, A + i * lda + kv);
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) s[i][t] = _mm512_fmadd_ps(av, bv[t], s[i][t]);
      }
    }
    for (int i = 0; i < m; i++)
      for (int t = 0; t < nj; t++) {
        float *c = C + i * ldc + j + t, r = alpha * _mm512_reduce_add_ps(s[i][t]);
        *c = beta == 0 ? r : r + beta * *c;
      }
  }
}
static void nl_sgemm_dots(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda, const float *B,
                          int64_t ldb, float beta, float *C, int64_t ldc) {
  switch (M) {
  case 1: nl_sgemm_dots_m(1, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
  case 2: nl_sgemm_dots_m(2, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
  case 3: nl_sgemm_dots_m(3, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
  default: nl_sgemm_dots_m(4, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
  }
}

/* One thread's whole product with its own packing buffers (blocking chosen here). */
static void nl_sgemm_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                            int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (!ta && tb && M <= 4 && K >= 16) {
    nl_sgemm_dots(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  nl_sgemm_job j = {.ta = ta, .tb = tb, .M = M, .N = N, .K = K, .lda = lda, .ldb = ldb, .ldc = ldc,
                    .alpha = alpha, .beta = beta, .A = A, .B = B, .C = C};
  /* KC: K in equal blocks of at most KC_MAX; NC: the B block within BBLOCK_FLOATS, N in
   * equal blocks rounded up to NR. */
  int64_t nk = (K + KC_MAX - 1) / KC_MAX;
  j.kcb = (K + nk - 1) / nk;
  int64_t ncmax = BBLOCK_FLOATS / j.kcb / NR * NR;
  if (ncmax < NR) ncmax = NR;
  int64_t nn = (N + ncmax - 1) / ncmax;
  j.ncb = ((N + nn - 1) / nn + NR - 1) / NR * NR;
  /* With a few row panels, each B panel is used a few times only: packing it would cost
   * about as much as the product (measured: 6 x 75 x 784 spent 37% packing B). */
  j.direct_b = !tb && M <= 4 * MR;
  size_t na = (size_t)nl_round16(MR * j.kcb), nb = (size_t)(j.direct_b ? NR * j.kcb : j.kcb * j.ncb);
  float *buf = nl_sgemm_scratch(na + nb);
  if (!buf) { /* out of memory for the packing buffers: OpenBLAS packs in its own */
    nl_sgemm_blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  j.pa = buf;
  j.pb = buf + na;
  nl_sgemm_run(&j);
}

/* C = beta * C (K == 0: the product is empty). */
static void nl_sgemm_scale(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    float *c = C + i * ldc;
    if (beta == 0) memset(c, 0, sizeof(float) * (size_t)N);
    else if (beta != 1)
      for (int64_t k = 0; k < N; k++) c[k] *= beta;
  }
}

/* Work per extra thread below which a product stays on one thread (waking a team costs a
 * few microseconds, ~0.5 MFLOP of this kernel). */
#define NL_SGEMM_PAR_FLOPS 2e6

__attribute__((noinline)) void nl_sgemm_avx512(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                                               const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                                               float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0) { /* as BLAS: A and B are not read */
    nl_sgemm_scale(M, N, beta, C, ldc);
    return;
  }
  int nt = 1;
  double flops = 2.0 * (double)M * (double)N * (double)K;
  if (!omp_in_parallel()) {
    nt = omp_get_max_threads();
    int by_work = (int)(flops / NL_SGEMM_PAR_FLOPS);
    if (by_work < nt) nt = by_work < 1 ? 1 : by_work;
  }
  if (nt <= 1) {
    nl_sgemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  /* Threads take disjoint blocks of C and run independently (no barrier: on a loaded machine
   * a descheduled thread would stall the others at every one): column blocks, each packing
   * only its columns of B, unless row blocks balance better (N of a panel or two), where
   * each thread packs all of B (small then). Blocks are whole 6 x 64 tile panels. */
  int64_t np = (M + MR - 1) / MR, nq = (N + NR - 1) / NR;
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), n = omp_get_num_threads();
    int64_t rows_max = (np + n - 1) / n, cols_max = (nq + n - 1) / n, lo, hi;
    if (cols_max * np <= rows_max * nq) {
      nl_split(nq, t, n, &lo, &hi);
      lo *= NR, hi = hi * NR < N ? hi * NR : N;
      nl_sgemm_serial(ta, tb, M, hi - lo, K, alpha, A, lda, tb ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc);
    } else {
      nl_split(np, t, n, &lo, &hi);
      lo *= MR, hi = hi * MR < M ? hi * MR : M;
      nl_sgemm_serial(ta, tb, hi - lo, N, K, alpha, ta ? A + lo : A + lo * lda, lda, B, ldb, beta, C + lo * ldc, ldc);
    }
  }
}

#pragma GCC pop_options
#else
/* Not x86-64 GCC: nl_sgemm_own() is false, so this is never called. */
void nl_sgemm_avx512(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                     const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  nl_sgemm_blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif
