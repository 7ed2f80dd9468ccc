/* elementwise.cu: unary, binary and ternary elementwise ops on CUDA.
 *
 * The per-element math is tensor/nl_math.h, the same expressions the CPU runs. Operands are
 * laid out by nl_iter_init on the host (broadcast dims get stride 0, contiguous dims are
 * coalesced) and the resulting nl_iter (byte strides, <= 4 operands) is passed to the kernel
 * by value; each thread maps its flat index to operand addresses. float16/bfloat16 compute
 * in float (S = storage type, C = compute type). One kernel per (op, dtype). */
#include <type_traits>

#include "nl_cu.cuh"

#include "nl_math.h"

/* Compute type of each storage type. */
template <typename S> struct nl_ct { typedef S type; };
template <> struct nl_ct<nl_half> { typedef float type; };
template <> struct nl_ct<nl_bf16> { typedef float type; };
template <typename C, typename S> __device__ __forceinline__ C nl_ld(S v) { return (C)v; }
template <> __device__ __forceinline__ float nl_ld<float, nl_half>(nl_half v) { return __half2float(v); }
template <> __device__ __forceinline__ float nl_ld<float, nl_bf16>(nl_bf16 v) { return __bfloat162float(v); }
template <typename S, typename C> __device__ __forceinline__ S nl_st(C v) { return (S)v; }
template <> __device__ __forceinline__ nl_half nl_st<nl_half, float>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ nl_bf16 nl_st<nl_bf16, float>(float v) { return __float2bfloat16_rn(v); }

/* ---- op functors from the X-lists: NAME##_f (float math), _i (integer), _b (bool), _p
 * (predicate: bool result) ---------------------------------------------------------------- */
#define NL_UF(NAME, EXPR) struct nl_uf_##NAME { template <typename T> __device__ T operator()(T x) const { return (T)(EXPR); } };
#define NL_UI(NAME, EXPR) struct nl_ui_##NAME { template <typename T> __device__ T operator()(T x) const { return (T)(EXPR); } };
#define NL_UPF(NAME, EXPR) struct nl_upf_##NAME { template <typename T> __device__ uint8_t operator()(T x) const { return (uint8_t)(EXPR); } };
#define NL_UPI(NAME, EXPR) struct nl_upi_##NAME { template <typename T> __device__ uint8_t operator()(T x) const { return (uint8_t)(EXPR); } };
NL_UNARY_FLOAT(NL_UF)
NL_UNARY_INT(NL_UI)
NL_UNARY_PRED_FLOAT(NL_UPF)
NL_UNARY_PRED_INT(NL_UPI)
struct nl_ub_SIGN { template <typename T> __device__ T operator()(T x) const { return x; } };

#define NL_BF(NAME, EXPR) struct nl_bf_##NAME { template <typename T> __device__ T operator()(T a, T b, T alpha) const { return (T)(EXPR); } };
#define NL_BI(NAME, EXPR) struct nl_bi_##NAME { template <typename T> __device__ T operator()(T a, T b, T alpha) const { return (T)(EXPR); } };
#define NL_BB(NAME, EXPR) struct nl_bb_##NAME { template <typename T> __device__ T operator()(T a, T b, T alpha) const { return (T)(EXPR); } };
#define NL_BP(NAME, EXPR) struct nl_bp_##NAME { template <typename T> __device__ uint8_t operator()(T a, T b, T alpha) const { return (uint8_t)(EXPR); } };
NL_BINARY_FLOAT(NL_BF)
NL_BINARY_INT(NL_BI)
NL_BINARY_BOOL(NL_BB)
NL_BINARY_PRED(NL_BP)

/* ---- kernels ---------------------------------------------------------------------------- */
/* out R <- f(in S) */
template <typename S, typename R, bool PRED, typename F>
__global__ void nl_cu_unary(nl_iter it, F f) {
  typedef typename nl_ct<S>::type C;
  NL_CU_LOOP(i, it.numel) {
    char *p[2];
    nl_cu_iter_ptrs(it, i, p);
    C x = nl_ld<C>(*(const S *)p[1]);
    if (PRED) *(uint8_t *)p[0] = (uint8_t)f(x);
    else *(R *)p[0] = nl_st<R>((C)f(x));
  }
}

template <typename S, bool PRED, typename F>
__global__ void nl_cu_binary(nl_iter it, F f, double alpha, long long ialpha, bool is_float) {
  typedef typename nl_ct<S>::type C;
  const C al = is_float ? (C)alpha : (C)ialpha;
  NL_CU_LOOP(i, it.numel) {
    char *p[3];
    nl_cu_iter_ptrs(it, i, p);
    C a = nl_ld<C>(*(const S *)p[1]), b = nl_ld<C>(*(const S *)p[2]);
    if (PRED) *(uint8_t *)p[0] = (uint8_t)f(a, b, al);
    else *(S *)p[0] = nl_st<S>((C)f(a, b, al));
  }
}

static void nl_iter_of(nl_iter *it, int n, const nl_kargs *a) {
  const nl_tensor *ts[4] = {a->out, a->in[0], a->in[1], a->in[2]};
  nl_iter_init(it, n, ts, a->out->ndim, a->out->shape);
}

template <typename S, typename R, bool PRED, typename F>
static void nl_launch_un(const nl_kargs *a, F f) {
  nl_iter it;
  nl_iter_of(&it, 2, a);
  if (it.numel == 0) return;
  nl_cu_unary<S, R, PRED, F><<<nl_cu_blocks(it.numel), NL_CU_THREADS, 0, nl_cu_stream()>>>(it, f);
}

template <typename S, bool PRED, typename F>
static void nl_launch_bin(const nl_kargs *a, F f) {
  nl_iter it;
  nl_iter_of(&it, 3, a);
  if (it.numel == 0) return;
  bool fl = a->in[0]->dtype == NL_FLOAT32 || a->in[0]->dtype == NL_FLOAT64 || a->in[0]->dtype == NL_FLOAT16 ||
            a->in[0]->dtype == NL_BFLOAT16;
  nl_cu_binary<S, PRED, F><<<nl_cu_blocks(it.numel), NL_CU_THREADS, 0, nl_cu_stream()>>>(it, f, a->alpha, a->ialpha, fl);
}

/* Unary entry points. Float ops: float dtypes; the NL_UNARY_INT ones also take ints. */
/* Ops in both lists are defined with both dispatches; the rest with floats only. */
#define NL_L_F(NAME, S) nl_launch_un<S, S, false>(a, nl_uf_##NAME())
#define NL_L_I(NAME, S) nl_launch_un<S, S, false>(a, nl_ui_##NAME())
#define NL_UNARY_BOTH(NAME)                                                               \
  void nl_cuda_##NAME(const nl_kargs *a) {                                                \
    switch (a->in[0]->dtype) {                                                            \
    case NL_FLOAT32: NL_L_F(NAME, float); break;                                          \
    case NL_FLOAT64: NL_L_F(NAME, double); break;                                         \
    case NL_FLOAT16: NL_L_F(NAME, nl_half); break;                                        \
    case NL_BFLOAT16: NL_L_F(NAME, nl_bf16); break;                                       \
    case NL_INT64: NL_L_I(NAME, long long); break;                                        \
    case NL_INT32: NL_L_I(NAME, int); break;                                              \
    case NL_UINT8: NL_L_I(NAME, uint8_t); break;                                          \
    case NL_BOOL: NL_UNARY_BOOL_##NAME; break;                                            \
    default: break;                                                                       \
    }                                                                                     \
    nl_cu_check_launch(nl_op_name(NL_OP_##NAME));                                                            \
  }
#define NL_UNARY_FLOATS(NAME)                                                             \
  void nl_cuda_##NAME(const nl_kargs *a) {                                                \
    switch (a->in[0]->dtype) {                                                            \
    case NL_FLOAT32: NL_L_F(NAME, float); break;                                          \
    case NL_FLOAT64: NL_L_F(NAME, double); break;                                         \
    case NL_FLOAT16: NL_L_F(NAME, nl_half); break;                                        \
    case NL_BFLOAT16: NL_L_F(NAME, nl_bf16); break;                                       \
    default: break;                                                                       \
    }                                                                                     \
    nl_cu_check_launch(nl_op_name(NL_OP_##NAME));                                                            \
  }
#define NL_UNARY_BOOL_NEG
#define NL_UNARY_BOOL_ABS
#define NL_UNARY_BOOL_RELU
#define NL_UNARY_BOOL_FLOOR
#define NL_UNARY_BOOL_CEIL
#define NL_UNARY_BOOL_ROUND
#define NL_UNARY_BOOL_TRUNC
#define NL_UNARY_BOOL_SIGN nl_launch_un<uint8_t, uint8_t, false>(a, nl_ub_SIGN())
NL_UNARY_BOTH(NEG) NL_UNARY_BOTH(ABS) NL_UNARY_BOTH(RELU) NL_UNARY_BOTH(SIGN)
NL_UNARY_BOTH(FLOOR) NL_UNARY_BOTH(CEIL) NL_UNARY_BOTH(ROUND) NL_UNARY_BOTH(TRUNC)
NL_UNARY_FLOATS(EXP) NL_UNARY_FLOATS(LOG) NL_UNARY_FLOATS(LOG1P) NL_UNARY_FLOATS(EXPM1)
NL_UNARY_FLOATS(SQRT) NL_UNARY_FLOATS(RSQRT) NL_UNARY_FLOATS(SIN) NL_UNARY_FLOATS(COS)
NL_UNARY_FLOATS(TAN) NL_UNARY_FLOATS(TANH) NL_UNARY_FLOATS(SIGMOID)

/* Predicates: bool out, any input dtype. */
#define NL_UNARY_PRED(NAME)                                                               \
  void nl_cuda_##NAME(const nl_kargs *a) {                                                \
    switch (a->in[0]->dtype) {                                                            \
    case NL_FLOAT32: nl_launch_un<float, uint8_t, true>(a, nl_upf_##NAME()); break;        \
    case NL_FLOAT64: nl_launch_un<double, uint8_t, true>(a, nl_upf_##NAME()); break;       \
    case NL_FLOAT16: nl_launch_un<nl_half, uint8_t, true>(a, nl_upf_##NAME()); break;      \
    case NL_BFLOAT16: nl_launch_un<nl_bf16, uint8_t, true>(a, nl_upf_##NAME()); break;     \
    case NL_INT64: nl_launch_un<long long, uint8_t, true>(a, nl_upi_##NAME()); break;      \
    case NL_INT32: nl_launch_un<int, uint8_t, true>(a, nl_upi_##NAME()); break;            \
    case NL_UINT8: case NL_BOOL: nl_launch_un<uint8_t, uint8_t, true>(a, nl_upi_##NAME()); break; \
    default: break;                                                                       \
    }                                                                                     \
    nl_cu_check_launch(nl_op_name(NL_OP_##NAME));                                                            \
  }
NL_UNARY_PRED(LOGICAL_NOT) NL_UNARY_PRED(ISNAN) NL_UNARY_PRED(ISINF)

/* Binary arithmetic: floats (_f), ints (_i), and bool (_b) where the list has the op. */
#define NL_B_F(NAME)                                                                      \
  case NL_FLOAT32: nl_launch_bin<float, false>(a, nl_bf_##NAME()); break;                  \
  case NL_FLOAT64: nl_launch_bin<double, false>(a, nl_bf_##NAME()); break;                 \
  case NL_FLOAT16: nl_launch_bin<nl_half, false>(a, nl_bf_##NAME()); break;                \
  case NL_BFLOAT16: nl_launch_bin<nl_bf16, false>(a, nl_bf_##NAME()); break;
#define NL_B_I(NAME)                                                                      \
  case NL_INT64: nl_launch_bin<long long, false>(a, nl_bi_##NAME()); break;                \
  case NL_INT32: nl_launch_bin<int, false>(a, nl_bi_##NAME()); break;                      \
  case NL_UINT8: nl_launch_bin<uint8_t, false>(a, nl_bi_##NAME()); break;
#define NL_B_B(NAME) case NL_BOOL: nl_launch_bin<uint8_t, false>(a, nl_bb_##NAME()); break;
#define NL_BIN_DEF(NAME, CASES)                                                           \
  void nl_cuda_##NAME(const nl_kargs *a) {                                                \
    switch (a->in[0]->dtype) {                                                            \
      CASES                                                                               \
    default: break;                                                                       \
    }                                                                                     \
    nl_cu_check_launch(nl_op_name(NL_OP_##NAME));                                                            \
  }
NL_BIN_DEF(ADD, NL_B_F(ADD) NL_B_I(ADD) NL_B_B(ADD))
NL_BIN_DEF(SUB, NL_B_F(SUB) NL_B_I(SUB))
NL_BIN_DEF(MUL, NL_B_F(MUL) NL_B_I(MUL) NL_B_B(MUL))
NL_BIN_DEF(DIV, NL_B_F(DIV))
NL_BIN_DEF(POW, NL_B_F(POW) NL_B_I(POW))
NL_BIN_DEF(MAXIMUM, NL_B_F(MAXIMUM) NL_B_I(MAXIMUM) NL_B_B(MAXIMUM))
NL_BIN_DEF(MINIMUM, NL_B_F(MINIMUM) NL_B_I(MINIMUM) NL_B_B(MINIMUM))
NL_BIN_DEF(FMOD, NL_B_F(FMOD) NL_B_I(FMOD))
NL_BIN_DEF(REMAINDER, NL_B_F(REMAINDER) NL_B_I(REMAINDER))
NL_BIN_DEF(FLOORDIV, NL_B_F(FLOORDIV) NL_B_I(FLOORDIV))

/* Comparisons and logic: bool out, inputs of any one dtype. */
#define NL_BIN_PRED(NAME)                                                                 \
  void nl_cuda_##NAME(const nl_kargs *a) {                                                \
    switch (a->in[0]->dtype) {                                                            \
    case NL_FLOAT32: nl_launch_bin<float, true>(a, nl_bp_##NAME()); break;                 \
    case NL_FLOAT64: nl_launch_bin<double, true>(a, nl_bp_##NAME()); break;                \
    case NL_FLOAT16: nl_launch_bin<nl_half, true>(a, nl_bp_##NAME()); break;               \
    case NL_BFLOAT16: nl_launch_bin<nl_bf16, true>(a, nl_bp_##NAME()); break;              \
    case NL_INT64: nl_launch_bin<long long, true>(a, nl_bp_##NAME()); break;               \
    case NL_INT32: nl_launch_bin<int, true>(a, nl_bp_##NAME()); break;                     \
    case NL_UINT8: case NL_BOOL: nl_launch_bin<uint8_t, true>(a, nl_bp_##NAME()); break;   \
    default: break;                                                                       \
    }                                                                                     \
    nl_cu_check_launch(nl_op_name(NL_OP_##NAME));                                                            \
  }
NL_BIN_PRED(EQ) NL_BIN_PRED(NE) NL_BIN_PRED(LT) NL_BIN_PRED(LE) NL_BIN_PRED(GT) NL_BIN_PRED(GE)
NL_BIN_PRED(LOGICAL_AND) NL_BIN_PRED(LOGICAL_OR)

/* ---- ternary ---------------------------------------------------------------------------- */
/* where: out <- cond ? in1 : in2, by element size. */
template <typename E>
__global__ void nl_cu_where(nl_iter it) {
  NL_CU_LOOP(i, it.numel) {
    char *p[4];
    nl_cu_iter_ptrs(it, i, p);
    *(E *)p[0] = *(const uint8_t *)p[1] ? *(const E *)p[2] : *(const E *)p[3];
  }
}

void nl_cuda_WHERE(const nl_kargs *a) {
  nl_iter it;
  nl_iter_of(&it, 4, a);
  if (it.numel == 0) return;
  unsigned nb = nl_cu_blocks(it.numel);
  switch (nl_dtype_size(a->out->dtype)) {
  case 1: nl_cu_where<uint8_t><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
  case 2: nl_cu_where<uint16_t><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
  case 4: nl_cu_where<uint32_t><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
  default: nl_cu_where<uint64_t><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
  }
  nl_cu_check_launch("where");
}

/* clamp: bounds in in[1]/in[2] (tensors of out's dtype); flags say which exist. */
__device__ __forceinline__ float nl_clampc(float x, float lo, float hi, int hl, int hh) { return nl_clamp_f(x, lo, hi, hl, hh); }
__device__ __forceinline__ double nl_clampc(double x, double lo, double hi, int hl, int hh) { return nl_clamp_d(x, lo, hi, hl, hh); }
__device__ __forceinline__ long long nl_clampc(long long x, long long lo, long long hi, int hl, int hh) {
  if (hl && x < lo) x = lo;
  if (hh && x > hi) x = hi;
  return x;
}
template <typename S>
__global__ void nl_cu_clamp(nl_iter it, int hl, int hh) {
  typedef typename nl_ct<S>::type C0;
  typedef typename std::conditional<std::is_integral<C0>::value, long long, C0>::type C;
  NL_CU_LOOP(i, it.numel) {
    char *p[4];
    nl_cu_iter_ptrs(it, i, p);
    C x = (C)nl_ld<C0>(*(const S *)p[1]), lo = (C)nl_ld<C0>(*(const S *)p[2]), hi = (C)nl_ld<C0>(*(const S *)p[3]);
    *(S *)p[0] = nl_st<S>((C0)nl_clampc(x, lo, hi, hl, hh));
  }
}

void nl_cuda_CLAMP(const nl_kargs *a) {
  nl_iter it;
  nl_iter_of(&it, 4, a);
  if (it.numel == 0) return;
  unsigned nb = nl_cu_blocks(it.numel);
  int hl = (a->flags & NL_KF_HAS_LO) != 0, hh = (a->flags & NL_KF_HAS_HI) != 0;
  switch (a->out->dtype) {
  case NL_FLOAT32: nl_cu_clamp<float><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it, hl, hh); break;
  case NL_FLOAT64: nl_cu_clamp<double><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it, hl, hh); break;
  case NL_FLOAT16: nl_cu_clamp<nl_half><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it, hl, hh); break;
  case NL_BFLOAT16: nl_cu_clamp<nl_bf16><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it, hl, hh); break;
  case NL_INT64: nl_cu_clamp<long long><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it, hl, hh); break;
  case NL_INT32: nl_cu_clamp<int><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it, hl, hh); break;
  case NL_UINT8: nl_cu_clamp<uint8_t><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it, hl, hh); break;
  default: break;
  }
  nl_cu_check_launch("clamp");
}

/* lerp: floats only (float16/bfloat16 in float). */
template <typename S>
__global__ void nl_cu_lerp(nl_iter it) {
  typedef typename nl_ct<S>::type C;
  NL_CU_LOOP(i, it.numel) {
    char *p[4];
    nl_cu_iter_ptrs(it, i, p);
    C s = nl_ld<C>(*(const S *)p[1]), e = nl_ld<C>(*(const S *)p[2]), w = nl_ld<C>(*(const S *)p[3]);
    C d = e - s;
    *(S *)p[0] = nl_st<S>((C)((fabs(w) < (C)0.5) ? s + w * d : e - d * ((C)1 - w)));
  }
}

void nl_cuda_LERP(const nl_kargs *a) {
  nl_iter it;
  nl_iter_of(&it, 4, a);
  if (it.numel == 0) return;
  unsigned nb = nl_cu_blocks(it.numel);
  switch (a->out->dtype) {
  case NL_FLOAT32: nl_cu_lerp<float><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
  case NL_FLOAT64: nl_cu_lerp<double><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
  case NL_FLOAT16: nl_cu_lerp<nl_half><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
  case NL_BFLOAT16: nl_cu_lerp<nl_bf16><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(it); break;
  default: break;
  }
  nl_cu_check_launch("lerp");
}
