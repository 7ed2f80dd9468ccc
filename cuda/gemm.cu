/* gemm.cu: the GEMM kernel on CUDA through cuBLAS (cublasGemmStridedBatchedEx).
 *
 * kargs as in tensor/cpu/gemm.c: out (batch..., M, N) rows dense, A (batch..., M, K),
 * B (batch..., K, N) in BLAS-compatible layouts (nl_gemm_layout), batch strides possibly 0.
 * cuBLAS is column-major: the row-major C = A @ B is computed as C^T = B^T @ A^T, where a
 * row-major operand with leading dimension ld is its own transpose in column-major terms.
 * One batch dim becomes one strided-batched call; more batch dims loop over entries.
 * float32 computes in float32 (CUBLAS_COMPUTE_32F: TF32 tensor cores off) unless
 * nl_cuda_set_allow_tf32(1) (torch.backends.cuda.matmul.allow_tf32); float16/bfloat16
 * accumulate in float32.
 *
 * libcublas is loaded with dlopen on the first GEMM (one handle per device, created
 * lazily): the toolkit ships no static cuBLAS here, and linking libcublas.so would stop a
 * CUDA build from starting on machines without the toolkit. Integer GEMM is not supported
 * on CUDA (as in PyTorch). */
#include <cublas_v2.h>
#include <dlfcn.h>

#include "nl_cu.cuh"
extern "C" {
#include "ops_linalg.h"
}

typedef cublasStatus_t (*nl_create_fn)(cublasHandle_t *);
typedef cublasStatus_t (*nl_setstream_fn)(cublasHandle_t, cudaStream_t);
typedef cublasStatus_t (*nl_gemm_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void *,
                                     const void *, cudaDataType, int, long long, const void *, cudaDataType, int, long long,
                                     const void *, void *, cudaDataType, int, long long, int, cublasComputeType_t,
                                     cublasGemmAlgo_t);

static struct {
  int tried, ok;
  nl_create_fn create;
  nl_setstream_fn set_stream;
  nl_gemm_fn gemm;
  cublasHandle_t handle[16];
} nl_blas;
static int nl_allow_tf32;

extern "C" void nl_cuda_set_allow_tf32(int on) { nl_allow_tf32 = on != 0; }
extern "C" int nl_cuda_get_allow_tf32(void) { return nl_allow_tf32; }

static cublasHandle_t nl_handle(int dev) {
  if (!nl_blas.tried) {
    nl_blas.tried = 1;
    void *lib = dlopen("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      nl_blas.create = (nl_create_fn)dlsym(lib, "cublasCreate_v2");
      nl_blas.set_stream = (nl_setstream_fn)dlsym(lib, "cublasSetStream_v2");
      nl_blas.gemm = (nl_gemm_fn)dlsym(lib, "cublasGemmStridedBatchedEx");
      nl_blas.ok = nl_blas.create && nl_blas.set_stream && nl_blas.gemm;
    }
  }
  if (!nl_blas.ok) {
    nl_cu_fail("matmul: cuBLAS (libcublas.so) could not be loaded: %s", dlerror() ? dlerror() : "symbols missing");
    return NULL;
  }
  if (dev < 0 || dev >= 16) return NULL;
  if (!nl_blas.handle[dev]) {
    cublasHandle_t h;
    if (nl_blas.create(&h) != CUBLAS_STATUS_SUCCESS) {
      nl_cu_fail("matmul: cublasCreate failed on cuda:%d", dev);
      return NULL;
    }
    nl_blas.set_stream(h, nl_cu_stream());
    nl_blas.handle[dev] = h;
  }
  return nl_blas.handle[dev];
}

void nl_cuda_GEMM(const nl_kargs *a) {
  const nl_tensor *o = a->out, *A = a->in[0], *B = a->in[1];
  nl_dtype dt = o->dtype;
  cudaDataType ty;
  cublasComputeType_t ct;
  switch (dt) {
  case NL_FLOAT32: ty = CUDA_R_32F; ct = nl_allow_tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F; break;
  case NL_FLOAT64: ty = CUDA_R_64F; ct = CUBLAS_COMPUTE_64F; break;
  case NL_FLOAT16: ty = CUDA_R_16F; ct = CUBLAS_COMPUTE_32F; break;
  case NL_BFLOAT16: ty = CUDA_R_16BF; ct = CUBLAS_COMPUTE_32F; break;
  default: nl_cu_fail("matmul: not implemented for %s tensors on cuda", nl_dtype_name(dt)); return;
  }
  int64_t M = a->m, N = a->n, K = a->k;
  if (M == 0 || N == 0 || a->batch == 0) return;
  int nd = o->ndim, nb = nd - 2;
  bool ta, tb;
  int64_t lda, ldb, ldc = o->stride[nd - 2];
  if (!nl_gemm_layout(M, K, A->stride[nd - 2], A->stride[nd - 1], &ta, &lda) ||
      !nl_gemm_layout(K, N, B->stride[nd - 2], B->stride[nd - 1], &tb, &ldb)) {
    nl_cu_fail("matmul: operand layout not supported by cuBLAS");
    return;
  }
  if (ldc < (N > 1 ? N : 1)) ldc = N > 1 ? N : 1;
  if (M > 0x7fffffff || N > 0x7fffffff || K > 0x7fffffff || lda > 0x7fffffff || ldb > 0x7fffffff || ldc > 0x7fffffff) {
    nl_cu_fail("matmul: dimensions beyond 2^31 are not supported on cuda");
    return;
  }
  cublasHandle_t h = nl_handle(nl_device_of(o).index);
  if (!h) return;
  double ad = a->alpha, bd = a->beta;
  float af = (float)a->alpha, bf = (float)a->beta;
  const void *al = dt == NL_FLOAT64 ? (const void *)&ad : (const void *)&af;
  const void *be = dt == NL_FLOAT64 ? (const void *)&bd : (const void *)&bf;
  int64_t es = (int64_t)nl_dtype_size(dt);
  /* K == 0: cuBLAS scales C by beta (beta == 0 writes zeros), as the CPU does */
  int calls = nb <= 1 ? 1 : (int)a->batch;
  int count = nb <= 1 ? (int)a->batch : 1;
  long long sa = nb == 1 ? A->stride[0] : 0, sb = nb == 1 ? B->stride[0] : 0, sc = nb == 1 ? o->stride[0] : 0;
  for (int c = 0; c < calls; c++) {
    int64_t off[3] = {0, 0, 0};
    if (nb > 1) {
      int64_t b = c;
      const nl_tensor *t[3] = {o, A, B};
      for (int d = nb - 1; d >= 0; d--) {
        int64_t s = o->shape[d], i = b % s;
        b /= s;
        for (int k = 0; k < 3; k++) off[k] += i * t[k]->stride[d];
      }
    }
    const char *pa = (const char *)nl_data(A) + off[1] * es, *pb = (const char *)nl_data(B) + off[2] * es;
    char *pc = (char *)nl_data(o) + off[0] * es;
    cublasStatus_t st = nl_blas.gemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)N, (int)M, (int)K,
                                     al, pb, ty, (int)ldb, sb, pa, ty, (int)lda, sa, be, pc, ty, (int)ldc, sc, count, ct,
                                     CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS) {
      nl_cu_fail("matmul: cuBLAS GEMM failed (status %d)", (int)st);
      return;
    }
  }
}
