/* gemm.c: the GEMM kernel on the CPU (batched matrix products for every linalg op).
 *
 * kargs: out (batch..., M, N), in[0] = A (batch..., M, K), in[1] = B (batch..., K, N), all with
 * the same number of batch dims (size `batch` in all; A's and B's batch strides may be 0 for
 * broadcast). The last two dims of A and B are BLAS-compatible (nl_gemm_layout: rows or
 * columns dense), out's rows are dense (stride[-1] == 1): the front end copies otherwise.
 * out = alpha * A @ B + beta * out; integer dtypes use ialpha/ibeta. beta == 0 ignores out.
 *
 * float32 calls nl_sgemm (nnlua's AVX-512 kernel, or OpenBLAS on other CPUs: nl_sgemm.h) and
 * float64 OpenBLAS, once per batch entry, with transposed views passed as transposes instead
 * of copies. Threading: nl_sgemm and OpenBLAS thread inside each call; this kernel is never
 * inside an OpenMP region, so the pools do not oversubscribe.
 * Integer dtypes (PyTorch supports int64 mm on the CPU) use a plain loop, parallel over rows. */
#include <cblas.h>
#include <string.h>

#include "../nl_sgemm.h"
#include "../ops_linalg.h"
#include "nl_cpu.h"

bool nl_gemm_layout(int64_t rows, int64_t cols, int64_t sr, int64_t sc, bool *trans, int64_t *ld) {
  int64_t mr = rows > 1 ? rows : 1, mc = cols > 1 ? cols : 1;
  if (cols <= 1 || sc == 1) { /* row-major, rows dense: NoTrans, ld = row stride */
    int64_t l = rows <= 1 ? mc : sr;
    if (l >= mc) { *trans = false; *ld = l; return true; }
  }
  if (rows <= 1 || sr == 1) { /* columns dense: the transpose of a row-major matrix */
    int64_t l = cols <= 1 ? mr : sc;
    if (l >= mr) { *trans = true; *ld = l; return true; }
  }
  return false;
}

/* Element offsets of batch entry b in out, A and B (unravelled over out's batch dims). */
static void nl_gemm_offsets(const nl_kargs *a, int64_t b, int64_t off[3]) {
  const nl_tensor *t[3] = {a->out, a->in[0], a->in[1]};
  int nb = a->out->ndim - 2;
  off[0] = off[1] = off[2] = 0;
  for (int d = nb - 1; d >= 0; d--) {
    int64_t s = a->out->shape[d], i = b % s;
    b /= s;
    for (int k = 0; k < 3; k++) off[k] += i * t[k]->stride[d];
  }
}

/* K == 0: the product is zero, out = beta * out. */
static void nl_gemm_scale_only(const nl_kargs *a) {
  const nl_tensor *o = a->out;
  int nd = o->ndim;
  int64_t M = a->m, N = a->n, ldc = o->stride[nd - 2];
  for (int64_t b = 0; b < a->batch; b++) {
    int64_t off[3];
    nl_gemm_offsets(a, b, off);
    NL_CPU_DISPATCH(o->dtype, T, {
      T *c = (T *)nl_data(o) + off[0];
      bool fl = nl_dtype_is_float(o->dtype);
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
          T *p = c + i * ldc + j;
          if (fl) *p = a->beta == 0 ? (T)0 : (T)(a->beta * (double)*p);
          else *p = a->ibeta == 0 ? (T)0 : (T)(a->ibeta * (int64_t)*p);
        }
    })
  }
}

static void nl_gemm_blas(const nl_kargs *a) {
  const nl_tensor *o = a->out, *A = a->in[0], *B = a->in[1];
  int nd = o->ndim;
  int64_t M = a->m, N = a->n, K = a->k, lda, ldb, ldc;
  bool ta, tb, tc;
  nl_gemm_layout(M, K, A->stride[nd - 2], A->stride[nd - 1], &ta, &lda);
  nl_gemm_layout(K, N, B->stride[nd - 2], B->stride[nd - 1], &tb, &ldb);
  nl_gemm_layout(M, N, o->stride[nd - 2], o->stride[nd - 1], &tc, &ldc);
  enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  for (int64_t b = 0; b < a->batch; b++) {
    int64_t off[3];
    nl_gemm_offsets(a, b, off);
    if (o->dtype == NL_FLOAT32)
      nl_sgemm(ta, tb, M, N, K, (float)a->alpha, (const float *)nl_data(A) + off[1], lda,
               (const float *)nl_data(B) + off[2], ldb, (float)a->beta, (float *)nl_data(o) + off[0], ldc);
    else
      cblas_dgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, a->alpha,
                  (const double *)nl_data(A) + off[1], (int)lda, (const double *)nl_data(B) + off[2], (int)ldb,
                  a->beta, (double *)nl_data(o) + off[0], (int)ldc);
  }
}

/* Integer (and bool) products: int64 accumulation with wrap-around like PyTorch; any strides.
 * One function per dtype (a pragma cannot sit inside the dispatch macro). */
#define NL_GEMM_LOOP(name, T)                                                                   \
  static void name(const nl_kargs *a) {                                                         \
    const nl_tensor *o = a->out, *A = a->in[0], *B = a->in[1];                                  \
    int nd = o->ndim;                                                                           \
    int64_t M = a->m, N = a->n, K = a->k, rows = a->batch * M;                                  \
    int64_t sam = A->stride[nd - 2], sak = A->stride[nd - 1];                                   \
    int64_t sbk = B->stride[nd - 2], sbn = B->stride[nd - 1];                                   \
    int64_t scm = o->stride[nd - 2], scn = o->stride[nd - 1];                                   \
    const T *pa = nl_data(A), *pb = nl_data(B);                                                 \
    T *pc = nl_data(o);                                                                         \
    bool isbool = o->dtype == NL_BOOL;                                                          \
    NL_OMP_FOR_IF(rows * N * K > NL_PAR_GRAIN,                                \
    for (int64_t r = 0; r < rows; r++) {                                                        \
      int64_t b = r / M, i = r % M, off[3];                                                     \
      nl_gemm_offsets(a, b, off);                                                               \
      for (int64_t j = 0; j < N; j++) {                                                         \
        uint64_t acc = 0; /* unsigned: defined wrap-around */                                   \
        for (int64_t k = 0; k < K; k++)                                                         \
          acc += (uint64_t)(int64_t)pa[off[1] + i * sam + k * sak] *                            \
                 (uint64_t)(int64_t)pb[off[2] + k * sbk + j * sbn];                             \
        T *c = pc + off[0] + i * scm + j * scn;                                                 \
        if (isbool) {                                                                           \
          *c = (T)((acc != 0) || (a->ibeta != 0 && *c != 0));                                   \
        } else {                                                                                \
          uint64_t v = (uint64_t)a->ialpha * acc;                                               \
          if (a->ibeta != 0) v += (uint64_t)a->ibeta * (uint64_t)(int64_t)*c;                   \
          *c = (T)(int64_t)v;                                                                   \
        }                                                                                       \
      }                                                                                         \
    });                                                                                           \
  }
NL_GEMM_LOOP(nl_gemm_loop_i64, int64_t)
NL_GEMM_LOOP(nl_gemm_loop_i32, int32_t)
NL_GEMM_LOOP(nl_gemm_loop_u8, uint8_t)

static void nl_gemm_loop(const nl_kargs *a) {
  switch (a->out->dtype) {
  case NL_INT64: nl_gemm_loop_i64(a); break;
  case NL_INT32: nl_gemm_loop_i32(a); break;
  case NL_UINT8: case NL_BOOL: nl_gemm_loop_u8(a); break;
  default: break;
  }
}

void nl_cpu_GEMM(const nl_kargs *a) {
  if (a->batch == 0 || a->m == 0 || a->n == 0) return;
  if (nl_dtype_is_float(a->out->dtype)) {
    if (a->k == 0) nl_gemm_scale_only(a);
    else nl_gemm_blas(a);
  } else {
    nl_gemm_loop(a);
  }
}
