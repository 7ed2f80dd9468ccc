/* linear.c: nn.Linear's forward and backward on the CPU as direct GEMM calls.
 *
 *   y  (N, out) = x (N, in) @ w (out, in)^T + b (out)
 *   gx (N, in)  = g (N, out) @ w
 *   gw (out, in) = g^T @ x
 *   gb (out)    = the column sums of g
 *
 * The general path (addmm of x and the transposed view w:t(), then the engine's sum_to for the
 * bias) builds two view tensors, a TransposeBackward node and a reduction iterator per layer
 * and per step; for small layers (XOR's 2-4-2-2 net) that bookkeeping costs more than the
 * arithmetic. Here the transposes are GEMM flags and the bias gradient is one pass.
 * float32 goes through nl_sgemm (nnlua's kernel or OpenBLAS), float64 through cblas_dgemm. */
#include <cblas.h>
#include <string.h>

#include "nl_nn.h"
#include "nl_sgemm.h"
#include "../tensor/nl_ops.h"

bool nl_linear_fits(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b) {
  if (!x || !w || x->ndim != 2 || w->ndim != 2 || x->shape[1] != w->shape[1]) return false;
  if (x->dtype != w->dtype || (x->dtype != NL_FLOAT32 && x->dtype != NL_FLOAT64)) return false;
  if (nl_device_of(x).type != NL_CPU || nl_device_of(w).type != NL_CPU) return false;
  if (b && (b->ndim != 1 || b->shape[0] != w->shape[0] || b->dtype != x->dtype || nl_device_of(b).type != NL_CPU))
    return false;
  return true;
}

/* C (M, N) = op(A) (M, K) @ op(B) (K, N) + beta * C, row-major, in the tensors' dtype. The
 * leading dimensions are at least 1 (BLAS rejects 0 even for empty matrices). */
static void nn_gemm(nl_dtype dt, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const void *A, int64_t lda,
                    const void *B, int64_t ldb, double beta, void *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  lda = lda > 1 ? lda : 1, ldb = ldb > 1 ? ldb : 1, ldc = ldc > 1 ? ldc : 1;
  if (dt == NL_FLOAT32) {
    nl_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, (float)beta, C, ldc);
  } else if (K <= 0) { /* BLAS semantics: C = beta * C; avoid a zero-size dgemm call */
    double *c = C;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
  } else {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
                1.0, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
  }
}

nl_tensor *nl_linear(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b) {
  if (!nl_linear_fits(x, w, b)) return nl_fail("linear: expected CPU float tensors x (N, in), w (out, in), b (out)");
  int64_t n = x->shape[0], out = w->shape[0], in = w->shape[1];
  nl_tensor *xc = nl_contiguous((nl_tensor *)x), *wc = xc ? nl_contiguous((nl_tensor *)w) : NULL;
  nl_tensor *bc = wc && b ? nl_contiguous((nl_tensor *)b) : NULL;
  int64_t shape[2] = {n, out};
  nl_tensor *y = wc && (bc || !b) ? nl_empty(2, shape, x->dtype, nl_cpu()) : NULL;
  if (y) {
    size_t es = nl_dtype_size(x->dtype);
    char *yd = nl_data(y);
    if (b) /* every row starts as the bias; the GEMM adds the product (beta = 1) */
      for (int64_t i = 0; i < n; i++) memcpy(yd + (size_t)(i * out) * es, nl_data(bc), (size_t)out * es);
    nn_gemm(x->dtype, false, true, n, out, in, nl_data(xc), in, nl_data(wc), in, b ? 1 : 0, yd, out);
  }
  nl_tensor_free(bc);
  nl_tensor_free(wc);
  nl_tensor_free(xc);
  return y;
}

/* gb[o] = sum_i g[i, o] over the rows in order (T: float or double). */
#define NN_COLSUM(T)                                                 \
  do {                                                               \
    const T *gp = nl_data(gc);                                       \
    T *bp = nl_data(*gb);                                            \
    memset(bp, 0, sizeof(T) * (size_t)out);                          \
    for (int64_t i = 0; i < n; i++)                                  \
      for (int64_t o = 0; o < out; o++) bp[o] += gp[i * out + o];    \
  } while (0)

int nl_linear_backward(const nl_tensor *g, const nl_tensor *x, const nl_tensor *w, nl_tensor **gx, nl_tensor **gw,
                       nl_tensor **gb) {
  if (!nl_linear_fits(x, w, NULL) || !g || g->ndim != 2 || g->dtype != x->dtype || nl_device_of(g).type != NL_CPU ||
      g->shape[0] != x->shape[0] || g->shape[1] != w->shape[0])
    return nl_failc("linear_backward: expected CPU float tensors g (N, out), x (N, in), w (out, in)");
  int64_t n = x->shape[0], out = w->shape[0], in = w->shape[1];
  nl_dtype dt = x->dtype;
  if (gx) *gx = NULL;
  if (gw) *gw = NULL;
  if (gb) *gb = NULL;
  nl_tensor *gc = nl_contiguous((nl_tensor *)g), *xc = NULL, *wc = NULL;
  if (!gc) return -1;
  if (gx) {
    int64_t s[2] = {n, in};
    if (!(wc = nl_contiguous((nl_tensor *)w)) || !(*gx = nl_empty(2, s, dt, nl_cpu()))) goto fail;
    nn_gemm(dt, false, false, n, in, out, nl_data(gc), out, nl_data(wc), in, 0, nl_data(*gx), in);
  }
  if (gw) {
    int64_t s[2] = {out, in};
    if (!(xc = nl_contiguous((nl_tensor *)x)) || !(*gw = nl_empty(2, s, dt, nl_cpu()))) goto fail;
    nn_gemm(dt, true, false, out, in, n, nl_data(gc), out, nl_data(xc), in, 0, nl_data(*gw), in);
  }
  if (gb) {
    int64_t s[1] = {out};
    if (!(*gb = nl_empty(1, s, dt, nl_cpu()))) goto fail;
    if (dt == NL_FLOAT32) NN_COLSUM(float);
    else NN_COLSUM(double);
  }
  nl_tensor_free(gc);
  nl_tensor_free(wc);
  nl_tensor_free(xc);
  return 0;
fail:
  nl_tensor_free(gc);
  nl_tensor_free(wc);
  nl_tensor_free(xc);
  if (gx) { nl_tensor_free(*gx); *gx = NULL; }
  if (gw) { nl_tensor_free(*gw); *gw = NULL; }
  if (gb) { nl_tensor_free(*gb); *gb = NULL; }
  return -1;
}
