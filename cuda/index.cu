/* index.cu: the index family on CUDA: INDEX_SELECT GATHER SCATTER SCATTER_ADD MASKED_FILL
 * MASKED_SELECT TAKE INDEX_FILL INDEX_ADD FLIP.
 *
 * Index tensors are int64, 0-based and range-checked by the front ends (on the host, after
 * a copy to the CPU for CUDA tensors). One thread per element of the iteration shape maps
 * its flat index to coordinates and each operand's offset (nl_cu_t: element strides).
 * Determinism: SCATTER with duplicate indices writes one of the candidates (unspecified
 * which, as PyTorch on CUDA); SCATTER_ADD and INDEX_ADD accumulate with atomicAdd, so
 * float sums with duplicate indices may differ in the last bits between runs (integer sums
 * are exact). Every other kernel here is deterministic. */
#include "nl_cu.cuh"

/* Moves one element of es bytes. */
__device__ __forceinline__ void nl_mov(char *dst, const char *src, int es) {
  switch (es) {
  case 1: *(uint8_t *)dst = *(const uint8_t *)src; break;
  case 2: *(uint16_t *)dst = *(const uint16_t *)src; break;
  case 4: *(uint32_t *)dst = *(const uint32_t *)src; break;
  default: *(uint64_t *)dst = *(const uint64_t *)src; break;
  }
}

static int64_t nl_numel_shape(int nd, const int64_t *s) {
  int64_t n = 1;
  for (int d = 0; d < nd; d++) n *= s[d];
  return n;
}

/* out = in with dim replaced by idx entries (idx 1-D or 0-d). */
__global__ void nl_cu_index_select(nl_cu_t out, nl_cu_t in, nl_cu_t idx, int dim, int64_t n, int es) {
  NL_CU_LOOP(i, n) {
    int64_t k = 0;
    int nd = out.ndim;
    int64_t oo = nl_cu_off(out, nd, out.shape, i, -1, dim, &k, NULL);
    if (nd == 0) k = 0;
    int64_t so = nl_cu_off(in, nd, out.shape, i, dim, -1, NULL, NULL);
    int64_t j = ((const int64_t *)idx.data)[k * (idx.ndim ? idx.stride[0] : 0)];
    so += j * (in.ndim ? in.stride[dim] : 0);
    nl_mov(out.data + oo * es, in.data + so * es, es);
  }
}

void nl_cuda_INDEX_SELECT(const nl_kargs *a) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  int es = (int)nl_dtype_size(a->out->dtype);
  nl_cu_index_select<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(
      nl_cu_desc(a->out), nl_cu_desc(a->in[0]), nl_cu_desc(a->in[1]), a->dim, n, es);
  nl_cu_check_launch("index_select");
}

/* out[c] = in[c with c[dim] = idx[c]] */
__global__ void nl_cu_gather(nl_cu_t out, nl_cu_t in, nl_cu_t idx, int dim, int64_t n, int es) {
  NL_CU_LOOP(i, n) {
    int nd = out.ndim;
    int64_t oo = nl_cu_off(out, nd, out.shape, i, -1, -1, NULL, NULL);
    int64_t io = nl_cu_off(idx, nd, out.shape, i, -1, -1, NULL, NULL);
    int64_t so = nl_cu_off(in, nd, out.shape, i, dim, -1, NULL, NULL);
    so += ((const int64_t *)idx.data)[io] * (in.ndim ? in.stride[dim] : 0);
    nl_mov(out.data + oo * es, in.data + so * es, es);
  }
}

void nl_cuda_GATHER(const nl_kargs *a) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  nl_cu_gather<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(
      nl_cu_desc(a->out), nl_cu_desc(a->in[0]), nl_cu_desc(a->in[1]), a->dim, n, (int)nl_dtype_size(a->out->dtype));
  nl_cu_check_launch("gather");
}

/* ---- atomic accumulation of any dtype ------------------------------------------------- */
/* 8- and 16-bit adds: a compare-and-swap on the aligned 32-bit word holding the element. */
template <typename E, typename F>
__device__ void nl_cas_small(E *p, F upd) {
  uintptr_t addr = (uintptr_t)p;
  unsigned *w = (unsigned *)(addr & ~(uintptr_t)3);
  unsigned shift = (unsigned)(addr & 3) * 8, mask = (sizeof(E) == 1 ? 0xffu : 0xffffu) << shift;
  unsigned old = *w, assumed;
  do {
    assumed = old;
    E cur;
    unsigned bits = (assumed & mask) >> shift;
    memcpy(&cur, &bits, sizeof(E));
    E nv = upd(cur);
    unsigned nb = 0;
    memcpy(&nb, &nv, sizeof(E));
    old = atomicCAS(w, assumed, (assumed & ~mask) | ((nb << shift) & mask));
  } while (assumed != old);
}

/* *p += x in dtype dt (bool: or). */
__device__ void nl_atomic_add(char *p, int dt, double x, long long ix) {
  switch (dt) {
  case NL_FLOAT32: atomicAdd((float *)p, (float)x); break;
  case NL_FLOAT64: atomicAdd((double *)p, x); break;
  case NL_INT64: atomicAdd((unsigned long long *)p, (unsigned long long)ix); break; /* wraps */
  case NL_INT32: atomicAdd((int *)p, (int)ix); break;
  case NL_UINT8: nl_cas_small((uint8_t *)p, [ix](uint8_t c) { return (uint8_t)(c + (uint8_t)ix); }); break;
  case NL_BOOL: if (ix) *(uint8_t *)p = 1; break; /* every writer writes 1: no race */
  case NL_FLOAT16: atomicAdd((nl_half *)p, __float2half_rn((float)x)); break;
  case NL_BFLOAT16: atomicAdd((nl_bf16 *)p, __float2bfloat16_rn((float)x)); break;
  default: break;
  }
}

/* For c over idx's shape: out[c with c[dim] = idx[c]] = src[c] (or the value), or += . */
__global__ void nl_cu_scatter(nl_cu_t out, nl_cu_t idx, nl_cu_t src, int has_src, int dim, int64_t n, int dt,
                              double v, long long iv, int add) {
  int es = nl_cu_esize(dt);
  bool fl = dt == NL_FLOAT32 || dt == NL_FLOAT64 || dt == NL_FLOAT16 || dt == NL_BFLOAT16;
  NL_CU_LOOP(i, n) {
    int nd = idx.ndim;
    int64_t io = nl_cu_off(idx, nd, idx.shape, i, -1, -1, NULL, NULL);
    int64_t oo = nl_cu_off(out, nd, idx.shape, i, dim, -1, NULL, NULL);
    oo += ((const int64_t *)idx.data)[io] * (out.ndim ? out.stride[dim] : 0);
    char *dst = out.data + oo * es;
    if (!add) {
      if (has_src) nl_mov(dst, src.data + nl_cu_off(src, nd, idx.shape, i, -1, -1, NULL, NULL) * es, es);
      else nl_cu_st(dst, dt, v, iv, !fl);
      continue;
    }
    const char *sp = src.data + nl_cu_off(src, nd, idx.shape, i, -1, -1, NULL, NULL) * es;
    nl_atomic_add(dst, dt, fl ? nl_cu_ld_d(sp, dt) : 0, fl ? 0 : nl_cu_ld_i(sp, dt));
  }
}

static void nl_scatter(const nl_kargs *a, int add) {
  const nl_tensor *idx = a->in[0];
  int64_t n = nl_numel(idx);
  if (n == 0) return;
  nl_dtype dt = a->out->dtype;
  nl_cu_scatter<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(
      nl_cu_desc(a->out), nl_cu_desc(idx), nl_cu_desc(a->in[1]), a->in[1] != NULL, a->dim, n, dt, a->alpha,
      dt == NL_BOOL ? (a->alpha != 0) : a->ialpha, add);
  nl_cu_check_launch(add ? "scatter_add" : "scatter");
}
void nl_cuda_SCATTER(const nl_kargs *a) { nl_scatter(a, 0); }
void nl_cuda_SCATTER_ADD(const nl_kargs *a) { nl_scatter(a, 1); }

/* out[mask] = value; mask (in[0]) broadcasts to out. */
__global__ void nl_cu_masked_fill(nl_iter it, int dt, double v, long long iv, bool exact) {
  NL_CU_LOOP(i, it.numel) {
    char *p[2];
    nl_cu_iter_ptrs(it, i, p);
    if (*(const uint8_t *)p[1]) nl_cu_st(p[0], dt, v, iv, exact);
  }
}

void nl_cuda_MASKED_FILL(const nl_kargs *a) {
  nl_iter it;
  const nl_tensor *ts[2] = {a->out, a->in[0]};
  nl_iter_init(&it, 2, ts, a->out->ndim, a->out->shape);
  if (it.numel == 0) return;
  nl_dtype dt = a->out->dtype;
  bool exact = dt == NL_INT64 || dt == NL_INT32 || dt == NL_UINT8;
  nl_cu_masked_fill<<<nl_cu_blocks(it.numel), NL_CU_THREADS, 0, nl_cu_stream()>>>(it, dt, a->alpha, a->ialpha, exact);
  nl_cu_check_launch("masked_fill");
}

/* masked_select: one block walks the elements in chunks of NL_MS; a block-wide exclusive
 * scan of the mask flags (warp ballots + per-warp counts) gives each selected element its
 * output slot, in row-major order (deterministic). */
#define NL_MS 1024
__global__ void nl_cu_masked_select(char *out, nl_cu_t in, nl_cu_t mask, int nd, nl_cu_t shape_of, int64_t n, int es) {
  __shared__ int warp_count[NL_MS / 32];
  __shared__ int64_t base;
  if (threadIdx.x == 0) base = 0;
  __syncthreads();
  int lane = threadIdx.x % 32, w = threadIdx.x / 32;
  for (int64_t c0 = 0; c0 < n; c0 += NL_MS) {
    int64_t i = c0 + threadIdx.x;
    int64_t so = 0;
    bool sel = false;
    if (i < n) {
      int64_t mo = nl_cu_off(mask, nd, shape_of.shape, i, -1, -1, NULL, NULL);
      so = nl_cu_off(in, nd, shape_of.shape, i, -1, -1, NULL, NULL);
      sel = ((const uint8_t *)mask.data)[mo] != 0;
    }
    unsigned ballot = __ballot_sync(0xffffffffu, sel);
    if (lane == 0) warp_count[w] = __popc(ballot);
    __syncthreads();
    int before = 0;
    for (int k = 0; k < w; k++) before += warp_count[k];
    int64_t slot = base + before + __popc(ballot & ((1u << lane) - 1u));
    if (sel) nl_mov(out + slot * es, in.data + so * es, es);
    __syncthreads();
    if (threadIdx.x == 0) {
      int tot = 0;
      for (int k = 0; k < NL_MS / 32; k++) tot += warp_count[k];
      base += tot;
    }
    __syncthreads();
  }
}

void nl_cuda_MASKED_SELECT(const nl_kargs *a) {
  const nl_tensor *in = a->in[0];
  int64_t n = nl_numel(in);
  if (n == 0 || nl_numel(a->out) == 0) return;
  nl_cu_masked_select<<<1, NL_MS, 0, nl_cu_stream()>>>((char *)nl_data(a->out), nl_cu_desc(in), nl_cu_desc(a->in[1]),
                                                       in->ndim, nl_cu_desc(in), n, (int)nl_dtype_size(in->dtype));
  nl_cu_check_launch("masked_select");
}

/* out[c] = in at row-major flat position idx[c]. */
__global__ void nl_cu_take(nl_cu_t out, nl_cu_t in, nl_cu_t idx, int64_t n, int es) {
  NL_CU_LOOP(i, n) {
    int nd = out.ndim;
    int64_t oo = nl_cu_off(out, nd, out.shape, i, -1, -1, NULL, NULL);
    int64_t f = ((const int64_t *)idx.data)[nl_cu_off(idx, nd, out.shape, i, -1, -1, NULL, NULL)];
    int64_t so = 0;
    for (int d = in.ndim - 1; d >= 0; d--) {
      so += (f % in.shape[d]) * in.stride[d];
      f /= in.shape[d];
    }
    nl_mov(out.data + oo * es, in.data + so * es, es);
  }
}

void nl_cuda_TAKE(const nl_kargs *a) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  nl_cu_take<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(nl_cu_desc(a->out), nl_cu_desc(a->in[0]),
                                                                   nl_cu_desc(a->in[1]), n, (int)nl_dtype_size(a->out->dtype));
  nl_cu_check_launch("take");
}

/* out[.., idx[k], ..] = value (fill) or += alpha * src[.., k, ..] (add), over out's shape
 * with dim replaced by K = numel(idx). */
__global__ void nl_cu_index_dim(nl_cu_t out, nl_cu_t idx, nl_cu_t src, nl_cu_t shp, int dim, int64_t n, int dt,
                                double v, long long iv, int add) {
  int es = nl_cu_esize(dt);
  bool fl = dt == NL_FLOAT32 || dt == NL_FLOAT64 || dt == NL_FLOAT16 || dt == NL_BFLOAT16;
  NL_CU_LOOP(i, n) {
    int nd = out.ndim;
    int64_t k = 0;
    int64_t oo = nl_cu_off(out, nd, shp.shape, i, dim, dim, &k, NULL);
    if (nd == 0) k = 0;
    oo += ((const int64_t *)idx.data)[k * (idx.ndim ? idx.stride[0] : 0)] * (nd ? out.stride[dim] : 0);
    char *dst = out.data + oo * es;
    if (!add) { nl_cu_st(dst, dt, v, iv, !fl); continue; }
    const char *sp = src.data + nl_cu_off(src, nd, shp.shape, i, -1, -1, NULL, NULL) * es;
    if (dt == NL_BOOL) nl_atomic_add(dst, dt, 0, iv != 0 && nl_cu_ld_i(sp, dt) != 0);
    else if (fl) nl_atomic_add(dst, dt, v * nl_cu_ld_d(sp, dt), 0);
    else nl_atomic_add(dst, dt, 0, (long long)((unsigned long long)iv * (unsigned long long)nl_cu_ld_i(sp, dt)));
  }
}

static void nl_index_dim(const nl_kargs *a, int add) {
  const nl_tensor *out = a->out;
  nl_cu_t shp = nl_cu_desc(out);
  int64_t K = nl_numel(a->in[0]);
  if (out->ndim) shp.shape[a->dim] = K;
  else if (K == 0) return;
  int64_t n = nl_numel_shape(out->ndim, shp.shape);
  if (n == 0) return;
  nl_dtype dt = out->dtype;
  nl_cu_index_dim<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(
      nl_cu_desc(out), nl_cu_desc(a->in[0]), nl_cu_desc(a->in[1]), shp, a->dim, n, dt, a->alpha,
      dt == NL_BOOL ? (a->alpha != 0) : a->ialpha, add);
  nl_cu_check_launch(add ? "index_add" : "index_fill");
}
void nl_cuda_INDEX_FILL(const nl_kargs *a) { nl_index_dim(a, 0); }
void nl_cuda_INDEX_ADD(const nl_kargs *a) { nl_index_dim(a, 1); }

/* out <- in reversed along dimmask: a header with negative strides fed to COPY. */
void nl_cuda_FLIP(const nl_kargs *a) {
  nl_tensor rev = *a->in[0];
  for (int d = 0; d < rev.ndim; d++)
    if ((a->dimmask >> d) & 1u && rev.shape[d] > 0) {
      rev.offset += (rev.shape[d] - 1) * rev.stride[d];
      rev.stride[d] = -rev.stride[d];
    }
  nl_kargs c = {};
  c.out = a->out;
  c.in[0] = &rev;
  nl_cuda_COPY(&c);
}
