/* nl_cu.cuh: helpers shared by the CUDA kernels of the cuda/ .cu files (not seen by C code).
 *
 * Conventions: every kernel runs on the one default stream (nl_cu_stream()), so kernels,
 * copies and the caching allocator are ordered without events. Tensors reach kernels as
 * small structs passed by value (nl_cu_t: data pointer of element 0, shape, element
 * strides), or as an nl_iter (tensor/nl_iter.h: coalesced shape, byte strides), so no
 * kernel argument lives in device memory. Kernels never fail; a launch or library error is
 * recorded with nl_cu_fail() and nl_run reports it (nl_cuda_take_error). */
#ifndef NL_CU_CUH
#define NL_CU_CUH
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "nl_cuda.h"
#include "nl_kernel.h"
extern "C" {
#include "nl_iter.h" /* no extern "C" guard of its own */
}

typedef __half nl_half;
typedef __nv_bfloat16 nl_bf16;

/* Launch geometry for n elements with a grid-stride loop. */
#define NL_CU_THREADS 256
static inline unsigned nl_cu_blocks(int64_t n) {
  int64_t b = (n + NL_CU_THREADS - 1) / NL_CU_THREADS;
  if (b < 1) b = 1;
  return (unsigned)(b > 65535 * 32 ? 65535 * 32 : b);
}
/* For the nn kernel files' launch wrappers: NL_LAUNCH(n) is the launch configuration of a
 * grid-stride kernel over n items on the current stream (`k<T> NL_LAUNCH(n)(args)`); NL_F(T, t)
 * a tensor's data as T*, NL_FD(t) an optional float64 tensor's (NULL for none). */
#define NL_LAUNCH(n) <<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>
#define NL_F(T, t) ((T *)nl_data(t))
#define NL_FD(t) ((t) ? (double *)nl_data(t) : (double *)0)
#define NL_CU_LOOP(i, n)                                                              \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);          \
       i += (int64_t)gridDim.x * blockDim.x)


/* Deterministic block-wide sums of *a and *b for kernels launched with NL_CU_THREADS threads
 * per block (one block per row / channel, threads striding over its elements): a fixed tree
 * (warp shuffles, then warp 0 over the per-warp partials), no atomics, so the result depends
 * only on the data. Every thread of the block must call it (uniform control flow); the sums
 * are returned in every thread. */
__device__ __forceinline__ void nl_cu_block_sum2(double *a, double *b) {
  __shared__ double pa[NL_CU_THREADS / 32], pb[NL_CU_THREADS / 32];
  __shared__ double ra, rb;
  double x = *a, y = *b;
  for (int o = 16; o > 0; o /= 2) {
    x += __shfl_down_sync(0xffffffffu, x, o);
    y += __shfl_down_sync(0xffffffffu, y, o);
  }
  int lane = threadIdx.x % 32, w = threadIdx.x / 32;
  if (lane == 0) pa[w] = x, pb[w] = y;
  __syncthreads();
  if (w == 0) {
    x = lane < NL_CU_THREADS / 32 ? pa[lane] : 0;
    y = lane < NL_CU_THREADS / 32 ? pb[lane] : 0;
    for (int o = 16; o > 0; o /= 2) {
      x += __shfl_down_sync(0xffffffffu, x, o);
      y += __shfl_down_sync(0xffffffffu, y, o);
    }
    if (lane == 0) ra = x, rb = y;
  }
  __syncthreads();
  *a = ra, *b = rb;
  __syncthreads(); /* the shared slots are reused by the next call */
}
/* Grid size for one block per item (rows, channels), block-stride loops beyond 65535. */
static inline unsigned nl_cu_row_blocks(int64_t n) { return (unsigned)(n < 1 ? 1 : n > 65535 ? 65535 : n); }

static inline cudaStream_t nl_cu_stream(void) { return 0; /* the legacy default stream */ }

/* Records a failure (message in nl_error()) for nl_run to report; defined in kernels.cu. */
extern "C" void nl_cu_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Records cudaGetLastError() after a launch, naming op. */
void nl_cu_check_launch(const char *op);

/* A tensor for index-style kernels: element 0, shape and strides in elements. A 0-d tensor
 * is a 1-element 1-D one (the CPU kernels treat it the same way). */
typedef struct nl_cu_t {
  char *data;
  int ndim;
  int64_t shape[NL_MAXDIM];
  int64_t stride[NL_MAXDIM];
} nl_cu_t;

static inline nl_cu_t nl_cu_desc(const nl_tensor *t) {
  nl_cu_t d;
  d.data = t ? (char *)nl_data(t) : NULL;
  d.ndim = t ? t->ndim : 0;
  for (int i = 0; i < NL_MAXDIM; i++) {
    d.shape[i] = t && i < t->ndim ? t->shape[i] : 1;
    d.stride[i] = t && i < t->ndim ? t->stride[i] : 0;
  }
  return d;
}

/* Offset (elements) of flat row-major index i of an iteration shape in t, skipping dim
 * `skip` (-1: none), with the coordinate of dim `dim` returned in *cdim. */
__device__ __forceinline__ int64_t nl_cu_off(const nl_cu_t &t, int nd, const int64_t *shape, int64_t i,
                                             int skip, int dim, int64_t *cdim, int64_t *coords) {
  int64_t o = 0;
  for (int d = nd - 1; d >= 0; d--) {
    int64_t c = i % shape[d];
    i /= shape[d];
    if (coords) coords[d] = c;
    if (d == dim && cdim) *cdim = c;
    if (d != skip) o += c * t.stride[d];
  }
  return o;
}

/* Byte offsets of operand k for flat index i of a coalesced iterator. */
__device__ __forceinline__ void nl_cu_iter_ptrs(const nl_iter &it, int64_t i, char **p) {
  for (int k = 0; k < it.n; k++) p[k] = it.data[k];
  for (int d = it.ndim - 1; d >= 0; d--) {
    int64_t c = i % it.shape[d];
    i /= it.shape[d];
    for (int k = 0; k < it.n; k++) p[k] += c * it.stride[k][d];
  }
}

/* ---- loads and stores of any dtype as double / int64 (casting copies, fills) --------- */
__device__ __forceinline__ double nl_cu_ld_d(const char *p, int dt) {
  switch (dt) {
  case NL_FLOAT32: return *(const float *)p;
  case NL_FLOAT64: return *(const double *)p;
  case NL_INT64: return (double)*(const long long *)p;
  case NL_INT32: return *(const int *)p;
  case NL_UINT8: return *(const unsigned char *)p;
  case NL_BOOL: return *(const unsigned char *)p != 0;
  case NL_FLOAT16: return __half2float(*(const nl_half *)p);
  case NL_BFLOAT16: return __bfloat162float(*(const nl_bf16 *)p);
  default: return 0;
  }
}
__device__ __forceinline__ long long nl_cu_ld_i(const char *p, int dt) {
  switch (dt) {
  case NL_INT64: return *(const long long *)p;
  case NL_INT32: return *(const int *)p;
  case NL_UINT8: return *(const unsigned char *)p;
  case NL_BOOL: return *(const unsigned char *)p != 0;
  default: return (long long)nl_cu_ld_d(p, dt);
  }
}
/* Stores v (double) or iv (exact int64, used when `exact`) as dtype dt. */
__device__ __forceinline__ void nl_cu_st(char *p, int dt, double v, long long iv, bool exact) {
  switch (dt) {
  case NL_FLOAT32: *(float *)p = exact ? (float)iv : (float)v; break;
  case NL_FLOAT64: *(double *)p = exact ? (double)iv : v; break;
  case NL_INT64: *(long long *)p = exact ? iv : (long long)v; break;
  case NL_INT32: *(int *)p = exact ? (int)iv : (int)v; break;
  case NL_UINT8: *(unsigned char *)p = exact ? (unsigned char)iv : (unsigned char)v; break;
  case NL_BOOL: *(unsigned char *)p = exact ? iv != 0 : v != 0; break;
  case NL_FLOAT16: *(nl_half *)p = __float2half_rn(exact ? (float)iv : (float)v); break;
  case NL_BFLOAT16: *(nl_bf16 *)p = __float2bfloat16_rn(exact ? (float)iv : (float)v); break;
  default: break;
  }
}

/* Element size of dtype dt (device side). */
__host__ __device__ __forceinline__ int nl_cu_esize(int dt) {
  return dt == NL_FLOAT64 || dt == NL_INT64 ? 8 : dt == NL_FLOAT32 || dt == NL_INT32 ? 4 : dt == NL_FLOAT16 || dt == NL_BFLOAT16 ? 2 : 1;
}
/* The integer dtype of an element size (int64, int32, uint8/bool). */
__host__ __device__ __forceinline__ int nl_cu_int_dt(size_t es) { return es == 8 ? NL_INT64 : es == 4 ? NL_INT32 : NL_UINT8; }

/* Kernel prototypes (one per op, defined in the family files). */
#define NL_OP(name, family) void nl_cuda_##name(const nl_kargs *a);
#include "ops.def"
#undef NL_OP
#endif
