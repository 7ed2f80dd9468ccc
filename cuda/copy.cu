/* copy.cu: COPY (strided, broadcasting, casting between every dtype incl. float16 and
 * bfloat16), FILL and ARANGE on CUDA, and nl_cross_device_copy (host <-> device).
 *
 * Cast rules match tensor/cpu/copy.c: integer sources go through int64 (exact), float
 * sources through double, bool targets test != 0. */
#include <stdlib.h>
#include <string.h>

#include "nl_cu.cuh"

/* Same dtype: moves es-byte elements. */
template <typename E>
__global__ void nl_cu_copy_same(nl_iter it) {
  NL_CU_LOOP(i, it.numel) {
    char *p[2];
    nl_cu_iter_ptrs(it, i, p);
    *(E *)p[0] = *(const E *)p[1];
  }
}

__global__ void nl_cu_copy_cast(nl_iter it, int to, int from, bool exact) {
  NL_CU_LOOP(i, it.numel) {
    char *p[2];
    nl_cu_iter_ptrs(it, i, p);
    if (exact) nl_cu_st(p[0], to, 0, nl_cu_ld_i(p[1], from), true);
    else nl_cu_st(p[0], to, nl_cu_ld_d(p[1], from), 0, false);
  }
}

static bool nl_is_floatish(nl_dtype dt) { return nl_dtype_is_float(dt) || dt == NL_FLOAT16 || dt == NL_BFLOAT16; }

/* out <- in[0] (broadcast to out's shape), both on the same device. */
void nl_cuda_COPY(const nl_kargs *a) {
  nl_iter it;
  const nl_tensor *ts[2] = {a->out, a->in[0]};
  nl_iter_init(&it, 2, ts, a->out->ndim, a->out->shape);
  if (it.numel == 0) return;
  unsigned nb = nl_cu_blocks(it.numel);
  nl_dtype to = a->out->dtype, from = a->in[0]->dtype;
  if (to == from) {
    switch (nl_dtype_size(to)) {
    case 1: nl_cu_copy_same<uint8_t><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
    case 2: nl_cu_copy_same<uint16_t><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
    case 4: nl_cu_copy_same<uint32_t><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
    default: nl_cu_copy_same<uint64_t><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
    }
  } else {
    nl_cu_copy_cast<<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it, to, from, !nl_is_floatish(from));
  }
  nl_cu_check_launch("copy");
}

__global__ void nl_cu_fill(nl_iter it, int dt, double v, long long iv, bool exact) {
  NL_CU_LOOP(i, it.numel) {
    char *p[1];
    nl_cu_iter_ptrs(it, i, p);
    nl_cu_st(p[0], dt, v, iv, exact);
  }
}

/* out <- alpha (ialpha, exact, for integer dtypes). */
void nl_cuda_FILL(const nl_kargs *a) {
  nl_iter it;
  const nl_tensor *ts[1] = {a->out};
  nl_iter_init(&it, 1, ts, a->out->ndim, a->out->shape);
  if (it.numel == 0) return;
  nl_dtype dt = a->out->dtype;
  bool exact = !nl_is_floatish(dt) && dt != NL_BOOL;
  nl_cu_fill<<<nl_cu_blocks(it.numel), NL_CU_THREADS, 0, nl_cu_stream()>>>(it, dt, a->alpha, a->ialpha, exact);
  nl_cu_check_launch("fill");
}

__global__ void nl_cu_arange(char *out, int64_t n, int dt, int64_t es, double start, double step) {
  NL_CU_LOOP(i, n) nl_cu_st(out + i * es, dt, start + (double)i * step, 0, false);
}

/* out (contiguous 1-D) [i] = alpha + i * beta, computed in double as on the CPU. */
void nl_cuda_ARANGE(const nl_kargs *a) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  nl_cu_arange<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(
      (char *)nl_data(a->out), n, a->out->dtype, (int64_t)nl_dtype_size(a->out->dtype), a->alpha, a->beta);
  nl_cu_check_launch("arange");
}

/* ---- host <-> device ---------------------------------------------------------------------
 * H2D: the source (broadcast to dst's shape, src's dtype) is laid out contiguous in a
 * pinned staging buffer by the CPU COPY kernel (a plain memcpy when src is already dense),
 * copied with cudaMemcpyAsync into a contiguous device temporary, and the device COPY
 * kernel then casts/scatters it into dst (any strides, any dtype incl. float16).
 * D2H: the device COPY kernel gathers src into a contiguous device temporary of dst's dtype
 * (casting on the device, where float16 lives), cudaMemcpyAsync brings it into pinned
 * staging, and the CPU COPY kernel scatters it into dst. Staging is one grown-on-demand
 * pinned buffer; each transfer synchronises the stream before the buffer is reused. */
static void *nl_pinned;
static size_t nl_pinned_size;

static void *nl_staging(size_t n) {
  if (n <= nl_pinned_size) return nl_pinned;
  if (nl_pinned) cudaFreeHost(nl_pinned);
  nl_pinned = NULL;
  nl_pinned_size = 0;
  if (cudaMallocHost(&nl_pinned, n) != cudaSuccess) {
    cudaGetLastError();
    nl_pinned = NULL;
    return NULL;
  }
  nl_pinned_size = n;
  return nl_pinned;
}

static int nl_cu_err(const char *what, cudaError_t e) {
  cudaGetLastError();
  return nl_failc("copy_: %s failed: %s", what, cudaGetErrorString(e));
}

extern "C" int nl_cuda_cross_copy(nl_tensor *dst, const nl_tensor *src) {
  bool to_dev = nl_device_of(dst).type == NL_CUDA;
  nl_device dev = to_dev ? nl_device_of(dst) : nl_device_of(src);
  if (nl_device_of(dst).type == NL_CUDA && nl_device_of(src).type == NL_CUDA) {
    /* cuda:i -> cuda:j: through the host (peer copies are left for later) */
    nl_tensor *h = nl_empty(dst->ndim, dst->shape, src->dtype == NL_FLOAT16 || src->dtype == NL_BFLOAT16 ? NL_FLOAT32 : src->dtype, nl_cpu());
    if (!h) return -1;
    int rc = nl_cuda_cross_copy(h, src);
    if (rc == 0) rc = nl_cuda_cross_copy(dst, h);
    nl_tensor_free(h);
    return rc;
  }
  if (cudaSetDevice(dev.index) != cudaSuccess) return nl_cu_err("cudaSetDevice", cudaGetLastError());
  int64_t n = nl_numel(dst);
  if (n == 0) return 0;
  int rc = -1;
  nl_tensor *host = NULL, *devtmp = NULL;
  nl_dtype dt = to_dev ? src->dtype : dst->dtype; /* the dtype that crosses the bus */
  size_t nbytes = (size_t)n * nl_dtype_size(dt);
  void *stage = nl_staging(nbytes);
  if (!stage) return nl_failc("copy_: cannot allocate %zu bytes of pinned host memory", nbytes);
  host = nl_from_blob(stage, dst->ndim, dst->shape, NULL, dt, nl_cpu(), NULL, NULL);
  if (!host) goto done;
  devtmp = (to_dev && dt == dst->dtype && nl_is_contiguous(dst)) ? (nl_tensor_retain(dst), dst)
                                                                 : nl_empty(dst->ndim, dst->shape, dt, dev);
  if (!devtmp) goto done;
  if (to_dev) {
    nl_kargs k = {};
    k.out = host;
    k.in[0] = src;
    if (nl_run(NL_OP_COPY, &k) < 0) goto done; /* CPU gather/broadcast into staging */
    cudaError_t e = cudaMemcpyAsync(nl_data(devtmp), stage, nbytes, cudaMemcpyHostToDevice, nl_cu_stream());
    if (e != cudaSuccess) { nl_cu_err("cudaMemcpyAsync (host to device)", e); goto done; }
    if (devtmp != dst) {
      nl_kargs c = {};
      c.out = dst;
      c.in[0] = devtmp;
      nl_cuda_COPY(&c);
    }
    e = cudaStreamSynchronize(nl_cu_stream()); /* staging is reused by the next transfer */
    if (e != cudaSuccess) { nl_cu_err("host to device copy", e); goto done; }
  } else {
    nl_kargs c = {};
    c.out = devtmp;
    c.in[0] = src;
    nl_cuda_COPY(&c); /* gather + cast on the device */
    cudaError_t e = cudaMemcpyAsync(stage, nl_data(devtmp), nbytes, cudaMemcpyDeviceToHost, nl_cu_stream());
    if (e == cudaSuccess) e = cudaStreamSynchronize(nl_cu_stream());
    if (e != cudaSuccess) { nl_cu_err("device to host copy", e); goto done; }
    nl_kargs k = {};
    k.out = dst;
    k.in[0] = host;
    if (nl_run(NL_OP_COPY, &k) < 0) goto done;
  }
  rc = nl_cuda_take_error() ? -1 : 0;
done:
  nl_tensor_free(devtmp);
  nl_tensor_free(host);
  return rc;
}
