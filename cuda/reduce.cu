/* reduce.cu: the reduce family on CUDA: reductions, max/min along a dim, scans, softmax.
 *
 * The front end (tensor/ops_reduce.c) passes in[0] contiguous as x[O][R][I] (kargs m = O,
 * k = R, n = I) and out contiguous [O][I] (scans and softmax: [O][R][I]).
 * Reductions and softmax: one block of NL_RT threads per output (o, i); thread t folds
 * r = t, t + NL_RT, ... in order, then the block combines the partials in a fixed tree
 * (warp shuffles, then one warp over the per-warp results). No atomics: the result depends
 * only on the data and NL_RT, so it is the same on every run. Floats accumulate in double
 * (as the CPU does), integers in 64-bit wrapping arithmetic. Scans: one thread per (o, i)
 * walking R in order (the CPU's exact association). */
#include <math.h>

#include "nl_cu.cuh"

#define NL_RT 256

template <typename S> __device__ __forceinline__ double nl_rd(const S *p) { return (double)*p; }
template <> __device__ __forceinline__ double nl_rd<nl_half>(const nl_half *p) { return __half2float(*p); }
template <> __device__ __forceinline__ double nl_rd<nl_bf16>(const nl_bf16 *p) { return __bfloat162float(*p); }
template <typename S> __device__ __forceinline__ void nl_wr(S *p, double v) { *p = (S)v; }
template <> __device__ __forceinline__ void nl_wr<nl_half>(nl_half *p, double v) { *p = __float2half_rn((float)v); }
template <> __device__ __forceinline__ void nl_wr<nl_bf16>(nl_bf16 *p, double v) { *p = __float2bfloat16_rn((float)v); }

enum { K_SUM, K_PROD, K_SUMSQ, K_SUMABS, K_NNZ, K_MAXABS, K_MINABS, K_POWABS, K_MAX, K_MIN, K_ALL, K_ANY, K_SUMEXP };

/* Combines two partials of kind k (NaN propagates through max/min). */
__device__ __forceinline__ double nl_comb(int k, double a, double b) {
  switch (k) {
  case K_PROD: return a * b;
  case K_MAXABS: case K_MAX: return (b > a || b != b) ? b : a;
  case K_MINABS: case K_MIN: return (b < a || b != b) ? b : a;
  case K_ALL: return (a != 0 && b != 0) ? 1 : 0;
  case K_ANY: return (a != 0 || b != 0) ? 1 : 0;
  default: return a + b;
  }
}
__device__ __forceinline__ double nl_init(int k) {
  switch (k) {
  case K_PROD: case K_ALL: return 1;
  case K_MINABS: case K_MIN: return INFINITY;
  case K_MAX: return -INFINITY;
  default: return 0;
  }
}
/* Element contribution: c = center (var's mean, logsumexp's max), p = norm's p. */
__device__ __forceinline__ double nl_elem(int k, double v, double c, double p) {
  switch (k) {
  case K_SUMSQ: return (v - c) * (v - c);
  case K_SUMABS: case K_MAXABS: case K_MINABS: return fabs(v);
  case K_NNZ: return v != 0;
  case K_POWABS: return pow(fabs(v), p);
  case K_ALL: case K_ANY: return v != 0;
  case K_SUMEXP: return exp(v - c);
  default: return v;
  }
}

/* Block-wide reduction of v with kind k; the result is valid in every thread. */
__device__ double nl_block_reduce(int k, double v) {
  __shared__ double warp_part[NL_RT / 32];
  __shared__ double result;
  for (int o = 16; o > 0; o /= 2) v = nl_comb(k, v, __shfl_down_sync(0xffffffffu, v, o));
  int lane = threadIdx.x % 32, w = threadIdx.x / 32;
  if (lane == 0) warp_part[w] = v;
  __syncthreads();
  if (w == 0) {
    v = lane < NL_RT / 32 ? warp_part[lane] : nl_init(k);
    for (int o = 16; o > 0; o /= 2) v = nl_comb(k, v, __shfl_down_sync(0xffffffffu, v, o));
    if (lane == 0) result = v;
  }
  __syncthreads();
  double r = result;
  __syncthreads(); /* shared slots are reused by the next call */
  return r;
}

/* Fold of row (o, i) of kind k. */
template <typename S>
__device__ double nl_fold(const S *x, int64_t R, int64_t I, int k, double c, double p) {
  double acc = nl_init(k);
  for (int64_t r = threadIdx.x; r < R; r += NL_RT) acc = nl_comb(k, acc, nl_elem(k, nl_rd(x + r * I), c, p));
  return nl_block_reduce(k, acc);
}

/* Float reductions (float32/64/16, bfloat16). op: the nl_op; p = norm's p or var's
 * correction; root: std. */
template <typename S>
__global__ void nl_cu_freduce(const S *x, void *out, int64_t R, int64_t I, int op, double p, int root) {
  int64_t oi = blockIdx.x, o = oi / I, i = oi % I;
  const S *xp = x + o * R * I + i;
  S *ot = (S *)out + oi;
  double v = 0;
  switch (op) {
  case NL_OP_SUM: v = nl_fold(xp, R, I, K_SUM, 0, 0); break;
  case NL_OP_MEAN: v = nl_fold(xp, R, I, K_SUM, 0, 0) / (double)R; break;
  case NL_OP_PROD: v = nl_fold(xp, R, I, K_PROD, 0, 0); break;
  case NL_OP_VAR: {
    double mean = nl_fold(xp, R, I, K_SUM, 0, 0) / (double)R, div = (double)R - p;
    v = nl_fold(xp, R, I, K_SUMSQ, mean, 0) / (div < 0 ? 0 : div);
    if (root) v = sqrt(v);
    break;
  }
  case NL_OP_NORM:
    if (p == 2) v = sqrt(nl_fold(xp, R, I, K_SUMSQ, 0, 0));
    else if (p == 1) v = nl_fold(xp, R, I, K_SUMABS, 0, 0);
    else if (p == INFINITY) v = R ? nl_fold(xp, R, I, K_MAXABS, 0, 0) : 0;
    else if (p == -INFINITY) v = nl_fold(xp, R, I, K_MINABS, 0, 0);
    else if (p == 0) v = nl_fold(xp, R, I, K_NNZ, 0, 0);
    else v = pow(nl_fold(xp, R, I, K_POWABS, 0, p), 1.0 / p);
    break;
  case NL_OP_LOGSUMEXP: {
    double m = nl_fold(xp, R, I, K_MAX, 0, 0);
    v = isfinite(m) ? m + log(nl_fold(xp, R, I, K_SUMEXP, m, 0)) : m;
    break;
  }
  case NL_OP_AMAX: v = nl_fold(xp, R, I, K_MAX, 0, 0); break;
  case NL_OP_AMIN: v = nl_fold(xp, R, I, K_MIN, 0, 0); break;
  case NL_OP_ALL: case NL_OP_ANY: {
    double r = nl_fold(xp, R, I, op == NL_OP_ALL ? K_ALL : K_ANY, 0, 0);
    if (threadIdx.x == 0) ((uint8_t *)out)[oi] = r != 0;
    return;
  }
  default: break;
  }
  if (threadIdx.x == 0) nl_wr(ot, v);
}

/* Integer (and bool) reductions in 64-bit integers: sum/mean-free kinds of the CPU:
 * SUM, PROD (wrapping), AMAX, AMIN, ALL, ANY. out's dtype odt may differ (sum -> int64). */
__device__ __forceinline__ unsigned long long nl_icomb(int op, unsigned long long a, unsigned long long b) {
  switch (op) {
  case NL_OP_PROD: return a * b;
  case NL_OP_AMAX: return (long long)b > (long long)a ? b : a;
  case NL_OP_AMIN: return (long long)b < (long long)a ? b : a;
  case NL_OP_ALL: return a && b;
  case NL_OP_ANY: return a || b;
  default: return a + b;
  }
}

template <typename S>
__global__ void nl_cu_ireduce(const S *x, void *out, int64_t R, int64_t I, int op, int odt) {
  __shared__ unsigned long long part[NL_RT];
  int64_t oi = blockIdx.x, o = oi / I, i = oi % I;
  const S *xp = x + o * R * I + i;
  unsigned long long acc = (op == NL_OP_PROD || op == NL_OP_ALL) ? 1ull : 0ull;
  bool started = false;
  for (int64_t r = threadIdx.x; r < R; r += NL_RT) {
    unsigned long long v = (unsigned long long)(long long)xp[r * I];
    if (op == NL_OP_ALL || op == NL_OP_ANY) v = v != 0;
    if ((op == NL_OP_AMAX || op == NL_OP_AMIN) && !started) { acc = v; started = true; continue; }
    acc = nl_icomb(op, acc, v);
  }
  /* threads without elements (R < NL_RT) hold the identity; for amax/amin use element 0 */
  if ((op == NL_OP_AMAX || op == NL_OP_AMIN) && !started && R > 0) acc = (unsigned long long)(long long)xp[0];
  part[threadIdx.x] = acc;
  __syncthreads();
  for (int s = NL_RT / 2; s > 0; s /= 2) { /* fixed tree: deterministic */
    if ((int)threadIdx.x < s) part[threadIdx.x] = nl_icomb(op, part[threadIdx.x], part[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) nl_cu_st((char *)out + oi * (int64_t)nl_cu_esize(odt), odt, 0, (long long)part[0], true);
}

/* max/min along a dim with the index of the first extreme (NaN wins, first NaN). */
template <typename S>
__global__ void nl_cu_argext(const S *x, S *val, int64_t *idx, int64_t R, int64_t I, int is_min, int is_float) {
  __shared__ double pv[NL_RT];
  __shared__ long long pi[NL_RT];
  __shared__ long long piv[NL_RT];
  int64_t oi = blockIdx.x, o = oi / I, i = oi % I;
  const S *xp = x + o * R * I + i;
  double bv = 0;
  long long bi = -1, biv = 0;
  for (int64_t r = threadIdx.x; r < R; r += NL_RT) {
    double v = is_float ? nl_rd(xp + r * I) : 0;
    long long iv = is_float ? 0 : nl_cu_ld_i((const char *)(xp + r * I), nl_cu_int_dt(sizeof(S)));
    bool take;
    if (bi < 0) take = true;
    else if (is_float) take = (v != v && bv == bv) || (is_min ? v < bv : v > bv);
    else take = is_min ? iv < biv : iv > biv;
    if (take) { bv = v; biv = iv; bi = r; }
  }
  pv[threadIdx.x] = bv; pi[threadIdx.x] = bi; piv[threadIdx.x] = biv;
  __syncthreads();
  for (int s = NL_RT / 2; s > 0; s /= 2) {
    int t = threadIdx.x;
    if (t < s && pi[t + s] >= 0) {
      double v = pv[t + s];
      long long j = pi[t + s], iv = piv[t + s];
      bool take;
      if (pi[t] < 0) take = true;
      else if (is_float) {
        bool an = pv[t] != pv[t], bn = v != v;
        take = an ? (bn && j < pi[t]) : bn ? true : (is_min ? v < pv[t] : v > pv[t]) || (v == pv[t] && j < pi[t]);
      } else {
        take = (is_min ? iv < piv[t] : iv > piv[t]) || (iv == piv[t] && j < pi[t]);
      }
      if (take) { pv[t] = v; pi[t] = j; piv[t] = iv; }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    long long j = pi[0] < 0 ? 0 : pi[0];
    val[oi] = xp[j * I];
    idx[oi] = j;
  }
}

/* Scans: one thread per (o, i). */
template <typename S>
__global__ void nl_cu_scan(const S *x, void *out, int64_t O, int64_t R, int64_t I, int prod, int is_float, int odt) {
  NL_CU_LOOP(t, O * I) {
    int64_t o = t / I, i = t % I;
    const S *xp = x + o * R * I + i;
    if (is_float) {
      S *op = (S *)out + o * R * I + i;
      double acc = prod;
      for (int64_t r = 0; r < R; r++) {
        acc = prod ? acc * nl_rd(xp + r * I) : acc + nl_rd(xp + r * I);
        nl_wr(op + r * I, acc);
      }
    } else {
      unsigned long long acc = prod;
      int64_t es = nl_cu_esize(odt);
      for (int64_t r = 0; r < R; r++) {
        unsigned long long v = (unsigned long long)nl_cu_ld_i((const char *)(xp + r * I), nl_cu_int_dt(sizeof(S)));
        acc = prod ? acc * v : acc + v;
        nl_cu_st((char *)out + ((o * R + r) * I + i) * es, odt, 0, (long long)acc, true);
      }
    }
  }
}

/* softmax / log_softmax of row (o, i): max, sum of exp (double), then the outputs. */
template <typename S>
__global__ void nl_cu_softmax(const S *x, S *out, int64_t R, int64_t I, int lg) {
  int64_t oi = blockIdx.x, o = oi / I, i = oi % I;
  const S *xp = x + o * R * I + i;
  S *op = out + o * R * I + i;
  double m = nl_fold(xp, R, I, K_MAX, 0, 0);
  double s = nl_fold(xp, R, I, K_SUMEXP, m, 0);
  double f = lg ? log(s) + m : 1.0 / s;
  for (int64_t r = threadIdx.x; r < R; r += NL_RT) {
    double v = nl_rd(xp + r * I);
    nl_wr(op + r * I, lg ? v - f : exp(v - m) * f);
  }
}

#define NL_R_DIMS int64_t O = a->m, R = a->k, I = a->n
#define NL_FLOAT_CASES(LAUNCH)                 \
  case NL_FLOAT32: LAUNCH(float); break;       \
  case NL_FLOAT64: LAUNCH(double); break;      \
  case NL_FLOAT16: LAUNCH(nl_half); break;     \
  case NL_BFLOAT16: LAUNCH(nl_bf16); break;
#define NL_INT_CASES(LAUNCH)                   \
  case NL_INT64: LAUNCH(long long); break;     \
  case NL_INT32: LAUNCH(int); break;           \
  case NL_UINT8: case NL_BOOL: LAUNCH(uint8_t); break;

static void nl_reduce(const nl_kargs *a, nl_op op) {
  NL_R_DIMS;
  if (O * I == 0) return;
  if (O * I > 0x7fffffffLL) { nl_cu_fail("%s: more than 2^31 outputs", nl_op_name(op)); return; }
  unsigned nb = (unsigned)(O * I);
  const void *x = nl_data(a->in[0]);
  void *out = nl_data(a->out);
  nl_dtype dt = a->in[0]->dtype;
  double p = a->alpha; /* norm: p; var: the correction */
  int root = a->ibeta != 0;
#define NL_LF(S) nl_cu_freduce<S><<<nb, NL_RT, 0, nl_cu_stream()>>>((const S *)x, out, R, I, op, p, root)
#define NL_LI(S) nl_cu_ireduce<S><<<nb, NL_RT, 0, nl_cu_stream()>>>((const S *)x, out, R, I, op, a->out->dtype)
  switch (dt) {
    NL_FLOAT_CASES(NL_LF)
    NL_INT_CASES(NL_LI)
  default: break;
  }
  nl_cu_check_launch(nl_op_name(op));
}

#define NL_RED_ENTRY(NAME) void nl_cuda_##NAME(const nl_kargs *a) { nl_reduce(a, NL_OP_##NAME); }
NL_RED_ENTRY(SUM) NL_RED_ENTRY(MEAN) NL_RED_ENTRY(PROD) NL_RED_ENTRY(VAR) NL_RED_ENTRY(NORM)
NL_RED_ENTRY(LOGSUMEXP) NL_RED_ENTRY(AMAX) NL_RED_ENTRY(AMIN) NL_RED_ENTRY(ALL) NL_RED_ENTRY(ANY)

static void nl_minmax(const nl_kargs *a, int is_min) {
  NL_R_DIMS;
  if (O * I == 0) return;
  unsigned nb = (unsigned)(O * I);
  const void *x = nl_data(a->in[0]);
  int64_t *idx = (int64_t *)nl_data(a->out2);
#define NL_LA(S, FL) nl_cu_argext<S><<<nb, NL_RT, 0, nl_cu_stream()>>>((const S *)x, (S *)nl_data(a->out), idx, R, I, is_min, FL)
#define NL_LAF(S) NL_LA(S, 1)
#define NL_LAI(S) NL_LA(S, 0)
  switch (a->in[0]->dtype) {
    NL_FLOAT_CASES(NL_LAF)
    NL_INT_CASES(NL_LAI)
  default: break;
  }
  nl_cu_check_launch(is_min ? "min" : "max");
}
void nl_cuda_MAX_DIM(const nl_kargs *a) { nl_minmax(a, 0); }
void nl_cuda_MIN_DIM(const nl_kargs *a) { nl_minmax(a, 1); }

static void nl_scan(const nl_kargs *a, int prod) {
  NL_R_DIMS;
  if (O * I == 0) return;
  const void *x = nl_data(a->in[0]);
  void *out = nl_data(a->out);
  int odt = a->out->dtype;
#define NL_LSF(S) nl_cu_scan<S><<<nl_cu_blocks(O * I), NL_CU_THREADS, 0, nl_cu_stream()>>>((const S *)x, out, O, R, I, prod, 1, odt)
#define NL_LSI(S) nl_cu_scan<S><<<nl_cu_blocks(O * I), NL_CU_THREADS, 0, nl_cu_stream()>>>((const S *)x, out, O, R, I, prod, 0, odt)
  switch (a->in[0]->dtype) {
    NL_FLOAT_CASES(NL_LSF)
    NL_INT_CASES(NL_LSI)
  default: break;
  }
  nl_cu_check_launch(prod ? "cumprod" : "cumsum");
}
void nl_cuda_CUMSUM(const nl_kargs *a) { nl_scan(a, 0); }
void nl_cuda_CUMPROD(const nl_kargs *a) { nl_scan(a, 1); }

static void nl_softmax(const nl_kargs *a, int lg) {
  NL_R_DIMS;
  if (O * I == 0 || R == 0) return;
  unsigned nb = (unsigned)(O * I);
  const void *x = nl_data(a->in[0]);
  void *out = nl_data(a->out);
#define NL_LS(S) nl_cu_softmax<S><<<nb, NL_RT, 0, nl_cu_stream()>>>((const S *)x, (S *)out, R, I, lg)
  switch (a->in[0]->dtype) {
    NL_FLOAT_CASES(NL_LS)
  default: break;
  }
  nl_cu_check_launch(lg ? "log_softmax" : "softmax");
}
void nl_cuda_SOFTMAX(const nl_kargs *a) { nl_softmax(a, 0); }
void nl_cuda_LOG_SOFTMAX(const nl_kargs *a) { nl_softmax(a, 1); }
