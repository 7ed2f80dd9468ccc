/* elementwise.c: unary, binary and ternary elementwise kernels on the CPU.
 *
 * The math is in ../nl_math.h (shared with CUDA). Here every (op, dtype) pair becomes one
 * inner-run function with plain loops over T*: a dense path (every operand contiguous in the
 * run), dense-with-scalar paths (one input of stride 0, e.g. t + 2) and a strided fallback.
 * The dtype/op dispatch happens once per inner run through a table, never per element.
 * Inputs arrive already cast to one compute dtype (the front ends do that); the output is
 * of that dtype too, or bool for predicates and comparisons. */
#include "nl_cpu.h"

#include "../nl_math.h"

/* ---- unary: out R <- f(in T) ------------------------------------------------------------ */
#define NL_UN_FN(NAME, EXPR, TT, R, SFX) NL_UN_FN_A(NAME, EXPR, TT, R, SFX, )
#define NL_UN_FN_A(NAME, EXPR, TT, R, SFX, ATTR)                                              \
  ATTR static void nl_un_##NAME##SFX(char **p, const int64_t *s, int64_t n, void *ctx) {          \
    typedef TT T;                                                                          \
    (void)ctx;                                                                             \
    if (s[0] == (int64_t)sizeof(R) && s[1] == (int64_t)sizeof(T)) {                         \
      R *o = (R *)p[0];                                                                    \
      const T *in = (const T *)p[1];                                                       \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T x = in[i];                                                                       \
        (void)x;                                                                           \
        o[i] = (R)(EXPR);                                                                  \
      }                                                                                    \
    } else {                                                                               \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T x = *(const T *)(p[1] + i * s[1]);                                               \
        (void)x;                                                                           \
        *(R *)(p[0] + i * s[0]) = (R)(EXPR);                                               \
      }                                                                                    \
    }                                                                                      \
  }

/* float32 math: per-ISA clones (the polynomial expf vectorises 8 or 16 wide) */
#define NL_UN_F32(NAME, EXPR) NL_UN_FN_A(NAME, EXPR, float, float, _f32, NL_CPU_CLONES)
#define NL_UN_F64(NAME, EXPR) NL_UN_FN(NAME, EXPR, double, double, _f64)
#define NL_UN_I64(NAME, EXPR) NL_UN_FN(NAME, EXPR, int64_t, int64_t, _i64)
#define NL_UN_I32(NAME, EXPR) NL_UN_FN(NAME, EXPR, int32_t, int32_t, _i32)
#define NL_UN_U8(NAME, EXPR) NL_UN_FN(NAME, EXPR, uint8_t, uint8_t, _u8)
NL_UNARY_FLOAT(NL_UN_F32)
NL_UNARY_FLOAT(NL_UN_F64)
NL_UNARY_INT(NL_UN_I64)
NL_UNARY_INT(NL_UN_I32)
NL_UNARY_INT(NL_UN_U8)
/* predicates: bool (uint8) result */
#define NL_UP_F32(NAME, EXPR) NL_UN_FN(NAME, EXPR, float, uint8_t, _f32)
#define NL_UP_F64(NAME, EXPR) NL_UN_FN(NAME, EXPR, double, uint8_t, _f64)
#define NL_UP_I64(NAME, EXPR) NL_UN_FN(NAME, EXPR, int64_t, uint8_t, _i64)
#define NL_UP_I32(NAME, EXPR) NL_UN_FN(NAME, EXPR, int32_t, uint8_t, _i32)
#define NL_UP_U8(NAME, EXPR) NL_UN_FN(NAME, EXPR, uint8_t, uint8_t, _u8)
#define NL_UP_B(NAME, EXPR) NL_UN_FN(NAME, EXPR, uint8_t, uint8_t, _b)
NL_UNARY_PRED_FLOAT(NL_UP_F32)
NL_UNARY_PRED_FLOAT(NL_UP_F64)
NL_UNARY_PRED_INT(NL_UP_I64)
NL_UNARY_PRED_INT(NL_UP_I32)
NL_UNARY_PRED_INT(NL_UP_U8)
NL_UNARY_PRED_INT(NL_UP_B)
NL_UN_FN(SIGN, x, uint8_t, uint8_t, _b) /* sign(bool) is the identity (PyTorch) */

#define NL_UT_FLOAT(NAME, EXPR) [NL_OP_##NAME][NL_FLOAT32] = nl_un_##NAME##_f32, [NL_OP_##NAME][NL_FLOAT64] = nl_un_##NAME##_f64,
#define NL_UT_INT(NAME, EXPR) \
  [NL_OP_##NAME][NL_INT64] = nl_un_##NAME##_i64, [NL_OP_##NAME][NL_INT32] = nl_un_##NAME##_i32, [NL_OP_##NAME][NL_UINT8] = nl_un_##NAME##_u8,
#define NL_UT_B(NAME, EXPR) [NL_OP_##NAME][NL_BOOL] = nl_un_##NAME##_b,

/* [op][input dtype] -> inner run; NULL where the front end must not send that dtype. */
static const nl_inner_fn nl_un_table[NL_OP_COUNT][NL_NDTYPES] = {
    NL_UNARY_FLOAT(NL_UT_FLOAT) NL_UNARY_INT(NL_UT_INT)
    NL_UNARY_PRED_FLOAT(NL_UT_FLOAT) NL_UNARY_PRED_INT(NL_UT_INT) NL_UNARY_PRED_INT(NL_UT_B)
    [NL_OP_SIGN][NL_BOOL] = nl_un_SIGN_b,
};

/* Small dense operands (the common case of per-call-bound small tensors): every operand
 * contiguous with out's element count, so one inner run covers everything; skips the
 * iterator's setup. Larger problems go through nl_iter_run (OpenMP split). */
static bool nl_ew_dense(int n, const nl_tensor *const *ts, nl_inner_fn fn, void *ctx) {
  int64_t numel = nl_numel(ts[0]);
  if (numel >= NL_PAR_GRAIN) return false;
  char *p[NL_ITER_MAX];
  int64_t s[NL_ITER_MAX];
  for (int k = 0; k < n; k++) {
    if (nl_numel(ts[k]) != numel || !nl_is_contiguous(ts[k])) return false;
    p[k] = nl_data(ts[k]);
    s[k] = (int64_t)nl_dtype_size(ts[k]->dtype);
  }
  if (numel) fn(p, s, numel, ctx);
  return true;
}

/* exp of float32: contiguous runs through the AVX-512 / AVX2 kernels of expf_simd.c (the
 * bits of the FMA clones of nl_un_EXP_f32, in about a third of the instructions), strided
 * runs through the generic loop. */
static void nl_un_EXP_simd_f32(char **p, const int64_t *s, int64_t n, void *ctx) {
  if (s[0] == (int64_t)sizeof(float) && s[1] == (int64_t)sizeof(float))
    nl_cpu_expf((const float *)p[1], (float *)p[0], n);
  else
    nl_un_EXP_f32(p, s, n, ctx);
}

/* out <- f(in[0]); same shape (in[0] may broadcast), any strides. */
static void nl_cpu_unary(nl_op op, const nl_kargs *a) {
  nl_inner_fn fn = nl_un_table[op][a->in[0]->dtype];
  if (op == NL_OP_EXP && a->in[0]->dtype == NL_FLOAT32) fn = nl_un_EXP_simd_f32;
  if (!fn) return; /* unreachable: the front end checked the dtype */
  const nl_tensor *ts[2] = {a->out, a->in[0]};
  if (nl_ew_dense(2, ts, fn, NULL)) return;
  nl_iter it;
  nl_iter_init(&it, 2, ts, a->out->ndim, a->out->shape);
  nl_iter_run(&it, fn, NULL);
}

/* ---- binary: out R <- f(in0 T, in1 T) -------------------------------------------------- */
typedef struct { double alpha; int64_t ialpha; } nl_bin_ctx;

#define NL_BIN_FN(NAME, EXPR, TT, R, SFX, ALPHA) NL_BIN_FN_A(NAME, EXPR, TT, R, SFX, ALPHA, )
#define NL_BIN_FN_A(NAME, EXPR, TT, R, SFX, ALPHA, ATTR)                                      \
  ATTR static void nl_bin_##NAME##SFX(char **p, const int64_t *s, int64_t n, void *vctx) {   \
    typedef TT T;                                                                          \
    const nl_bin_ctx *c = vctx;                                                            \
    (void)c;                                                                               \
    const T alpha = (T)(ALPHA);                                                            \
    (void)alpha;                                                                           \
    const T *A = (const T *)p[1], *B = (const T *)p[2];                                    \
    R *O = (R *)p[0];                                                                      \
    const int64_t es = (int64_t)sizeof(T);                                                 \
    if (s[0] == (int64_t)sizeof(R) && s[1] == es && s[2] == es) {                           \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T a = A[i], b = B[i];                                                              \
        O[i] = (R)(EXPR);                                                                  \
      }                                                                                    \
    } else if (s[0] == (int64_t)sizeof(R) && s[1] == es && s[2] == 0) {                     \
      const T b = B[0];                                                                    \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T a = A[i];                                                                        \
        O[i] = (R)(EXPR);                                                                  \
      }                                                                                    \
    } else if (s[0] == (int64_t)sizeof(R) && s[1] == 0 && s[2] == es) {                     \
      const T a = A[0];                                                                    \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T b = B[i];                                                                        \
        O[i] = (R)(EXPR);                                                                  \
      }                                                                                    \
    } else {                                                                               \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T a = *(const T *)(p[1] + i * s[1]), b = *(const T *)(p[2] + i * s[2]);            \
        *(R *)(p[0] + i * s[0]) = (R)(EXPR);                                               \
      }                                                                                    \
    }                                                                                      \
  }

/* float32 arithmetic: per-ISA clones (a 1000-element add ran 4-wide in baseline x86-64) with
 * contraction off, so that a + alpha * b rounds twice on every ISA (an FMA in the AVX2 and
 * AVX-512 clones only would make results depend on the CPU). */
#if defined(__GNUC__) && !defined(__clang__)
#define NL_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define NL_NO_CONTRACT
#endif
#define NL_BIN_F32(NAME, EXPR) NL_BIN_FN_A(NAME, EXPR, float, float, _f32, c->alpha, NL_CPU_CLONES NL_NO_CONTRACT)
#define NL_BIN_F64(NAME, EXPR) NL_BIN_FN(NAME, EXPR, double, double, _f64, c->alpha)
#define NL_BIN_I64(NAME, EXPR) NL_BIN_FN(NAME, EXPR, int64_t, int64_t, _i64, c->ialpha)
#define NL_BIN_I32(NAME, EXPR) NL_BIN_FN(NAME, EXPR, int32_t, int32_t, _i32, c->ialpha)
#define NL_BIN_U8(NAME, EXPR) NL_BIN_FN(NAME, EXPR, uint8_t, uint8_t, _u8, c->ialpha)
#define NL_BIN_B(NAME, EXPR) NL_BIN_FN(NAME, EXPR, uint8_t, uint8_t, _b, c->ialpha)
NL_BINARY_FLOAT(NL_BIN_F32)
NL_BINARY_FLOAT(NL_BIN_F64)
NL_BINARY_INT(NL_BIN_I64)
NL_BINARY_INT(NL_BIN_I32)
NL_BINARY_INT(NL_BIN_U8)
NL_BINARY_BOOL(NL_BIN_B)
#define NL_BP_F32(NAME, EXPR) NL_BIN_FN(NAME, EXPR, float, uint8_t, _f32, 0)
#define NL_BP_F64(NAME, EXPR) NL_BIN_FN(NAME, EXPR, double, uint8_t, _f64, 0)
#define NL_BP_I64(NAME, EXPR) NL_BIN_FN(NAME, EXPR, int64_t, uint8_t, _i64, 0)
#define NL_BP_I32(NAME, EXPR) NL_BIN_FN(NAME, EXPR, int32_t, uint8_t, _i32, 0)
#define NL_BP_U8(NAME, EXPR) NL_BIN_FN(NAME, EXPR, uint8_t, uint8_t, _u8, 0)
#define NL_BP_B(NAME, EXPR) NL_BIN_FN(NAME, EXPR, uint8_t, uint8_t, _b, 0)
NL_BINARY_PRED(NL_BP_F32)
NL_BINARY_PRED(NL_BP_F64)
NL_BINARY_PRED(NL_BP_I64)
NL_BINARY_PRED(NL_BP_I32)
NL_BINARY_PRED(NL_BP_U8)
NL_BINARY_PRED(NL_BP_B)

#define NL_BT_FLOAT(NAME, EXPR) [NL_OP_##NAME][NL_FLOAT32] = nl_bin_##NAME##_f32, [NL_OP_##NAME][NL_FLOAT64] = nl_bin_##NAME##_f64,
#define NL_BT_INT(NAME, EXPR) \
  [NL_OP_##NAME][NL_INT64] = nl_bin_##NAME##_i64, [NL_OP_##NAME][NL_INT32] = nl_bin_##NAME##_i32, [NL_OP_##NAME][NL_UINT8] = nl_bin_##NAME##_u8,
#define NL_BT_B(NAME, EXPR) [NL_OP_##NAME][NL_BOOL] = nl_bin_##NAME##_b,

/* [op][compute dtype] -> inner run. */
static const nl_inner_fn nl_bin_table[NL_OP_COUNT][NL_NDTYPES] = {
    NL_BINARY_FLOAT(NL_BT_FLOAT) NL_BINARY_INT(NL_BT_INT) NL_BINARY_BOOL(NL_BT_B)
    NL_BINARY_PRED(NL_BT_FLOAT) NL_BINARY_PRED(NL_BT_INT) NL_BINARY_PRED(NL_BT_B)
};

/* out <- f(in[0], in[1]); both inputs of one dtype, broadcast to out's shape. */
static void nl_cpu_binary(nl_op op, const nl_kargs *a) {
  nl_inner_fn fn = nl_bin_table[op][a->in[0]->dtype];
  if (!fn) return; /* unreachable: the front end checked the dtype */
  nl_bin_ctx c = {a->alpha, a->ialpha};
  const nl_tensor *ts[3] = {a->out, a->in[0], a->in[1]};
  if (nl_ew_dense(3, ts, fn, &c)) return;
  nl_iter it;
  nl_iter_init(&it, 3, ts, a->out->ndim, a->out->shape);
  nl_iter_run(&it, fn, &c);
}

/* ---- where: out T <- cond ? in1 : in2 (selection only: by element size) ---------------- */
#define NL_WHERE_FN(T, SFX)                                                                  \
  static void nl_where##SFX(char **p, const int64_t *s, int64_t n, void *ctx) {             \
    (void)ctx;                                                                             \
    for (int64_t i = 0; i < n; i++)                                                        \
      *(T *)(p[0] + i * s[0]) = *(const uint8_t *)(p[1] + i * s[1])                        \
                                    ? *(const T *)(p[2] + i * s[2])                        \
                                    : *(const T *)(p[3] + i * s[3]);                       \
  }
NL_WHERE_FN(uint8_t, 1)
NL_WHERE_FN(uint32_t, 4)
NL_WHERE_FN(uint64_t, 8)

void nl_cpu_WHERE(const nl_kargs *a) {
  size_t es = nl_dtype_size(a->out->dtype);
  nl_inner_fn fn = es == 1 ? nl_where1 : es == 4 ? nl_where4 : nl_where8;
  nl_iter it;
  nl_iter_init(&it, 4, (const nl_tensor *[]){a->out, a->in[0], a->in[1], a->in[2]}, a->out->ndim, a->out->shape);
  nl_iter_run(&it, fn, NULL);
}

/* ---- clamp: out T <- clamp(in0, in1 (lo), in2 (hi)); flags say which bounds exist ------- */
#define NL_CLAMP_FN(TT, SFX, EXPR)                                                            \
  static void nl_clamp##SFX(char **p, const int64_t *s, int64_t n, void *ctx) {             \
    typedef TT T;                                                                          \
    const int hl = (*(const int *)ctx & NL_KF_HAS_LO) != 0, hh = (*(const int *)ctx & NL_KF_HAS_HI) != 0; \
    const int64_t es = (int64_t)sizeof(T);                                                 \
    if (s[0] == es && s[1] == es && s[2] == 0 && s[3] == 0) { /* scalar bounds */          \
      T *o = (T *)p[0];                                                                    \
      const T *X = (const T *)p[1], lo = *(const T *)p[2], hi = *(const T *)p[3];          \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T x = X[i];                                                                        \
        o[i] = EXPR;                                                                       \
      }                                                                                    \
    } else {                                                                               \
      for (int64_t i = 0; i < n; i++) {                                                    \
        T x = *(const T *)(p[1] + i * s[1]), lo = *(const T *)(p[2] + i * s[2]),           \
          hi = *(const T *)(p[3] + i * s[3]);                                              \
        *(T *)(p[0] + i * s[0]) = EXPR;                                                    \
      }                                                                                    \
    }                                                                                      \
  }
static inline long long nl_clamp_ll(long long x, long long lo, long long hi, int hl, int hh) {
  if (hl && x < lo) x = lo;
  if (hh && x > hi) x = hi;
  return x;
}
#define NL_CLAMP_INT(x, lo, hi) (T) nl_clamp_ll(x, lo, hi, hl, hh)
NL_CLAMP_FN(float, _f32, nl_clamp_f(x, lo, hi, hl, hh))
NL_CLAMP_FN(double, _f64, nl_clamp_d(x, lo, hi, hl, hh))
NL_CLAMP_FN(int64_t, _i64, NL_CLAMP_INT(x, lo, hi))
NL_CLAMP_FN(int32_t, _i32, NL_CLAMP_INT(x, lo, hi))
NL_CLAMP_FN(uint8_t, _u8, NL_CLAMP_INT(x, lo, hi))

/* in[1] / in[2] are tensors of out's dtype; an absent bound is any tensor (unused). */
void nl_cpu_CLAMP(const nl_kargs *a) {
  nl_inner_fn fn = NULL;
  switch (a->out->dtype) {
  case NL_FLOAT32: fn = nl_clamp_f32; break;
  case NL_FLOAT64: fn = nl_clamp_f64; break;
  case NL_INT64: fn = nl_clamp_i64; break;
  case NL_INT32: fn = nl_clamp_i32; break;
  case NL_UINT8: fn = nl_clamp_u8; break;
  default: return;
  }
  nl_iter it;
  nl_iter_init(&it, 4, (const nl_tensor *[]){a->out, a->in[0], a->in[1], a->in[2]}, a->out->ndim, a->out->shape);
  int flags = a->flags;
  nl_iter_run(&it, fn, &flags);
}

/* ---- lerp: out T <- lerp(start, end, weight), floats only ---------------------------- */
#define NL_LERP_FN(T, SFX)                                                                   \
  static void nl_lerp##SFX(char **p, const int64_t *s, int64_t n, void *ctx) {              \
    (void)ctx;                                                                             \
    const int64_t es = (int64_t)sizeof(T);                                                 \
    if (s[0] == es && s[1] == es && s[2] == es && s[3] == 0) {                             \
      T *o = (T *)p[0];                                                                    \
      const T *S = (const T *)p[1], *E = (const T *)p[2], w = *(const T *)p[3];            \
      for (int64_t i = 0; i < n; i++) o[i] = nl_lerp##SFX##_(S[i], E[i], w);               \
    } else {                                                                               \
      for (int64_t i = 0; i < n; i++)                                                      \
        *(T *)(p[0] + i * s[0]) = nl_lerp##SFX##_(*(const T *)(p[1] + i * s[1]),           \
                                                 *(const T *)(p[2] + i * s[2]),            \
                                                 *(const T *)(p[3] + i * s[3]));           \
    }                                                                                      \
  }
#define nl_lerp_f32_ nl_lerp_f
#define nl_lerp_f64_ nl_lerp_d
NL_LERP_FN(float, _f32)
NL_LERP_FN(double, _f64)

void nl_cpu_LERP(const nl_kargs *a) {
  nl_iter it;
  nl_iter_init(&it, 4, (const nl_tensor *[]){a->out, a->in[0], a->in[1], a->in[2]}, a->out->ndim, a->out->shape);
  nl_iter_run(&it, a->out->dtype == NL_FLOAT64 ? nl_lerp_f64 : nl_lerp_f32, NULL);
}

/* ---- the per-op entry points of the kernel table -------------------------------------- */
#define NL_UN_ENTRY(NAME) void nl_cpu_##NAME(const nl_kargs *a) { nl_cpu_unary(NL_OP_##NAME, a); }
#define NL_BIN_ENTRY(NAME) void nl_cpu_##NAME(const nl_kargs *a) { nl_cpu_binary(NL_OP_##NAME, a); }
NL_UN_ENTRY(NEG) NL_UN_ENTRY(ABS) NL_UN_ENTRY(EXP) NL_UN_ENTRY(LOG) NL_UN_ENTRY(LOG1P)
NL_UN_ENTRY(EXPM1) NL_UN_ENTRY(SQRT) NL_UN_ENTRY(RSQRT) NL_UN_ENTRY(SIN) NL_UN_ENTRY(COS)
NL_UN_ENTRY(TAN) NL_UN_ENTRY(TANH) NL_UN_ENTRY(SIGMOID) NL_UN_ENTRY(RELU) NL_UN_ENTRY(SIGN)
NL_UN_ENTRY(FLOOR) NL_UN_ENTRY(CEIL) NL_UN_ENTRY(ROUND) NL_UN_ENTRY(TRUNC)
NL_UN_ENTRY(LOGICAL_NOT) NL_UN_ENTRY(ISNAN) NL_UN_ENTRY(ISINF)
NL_BIN_ENTRY(ADD) NL_BIN_ENTRY(SUB) NL_BIN_ENTRY(MUL) NL_BIN_ENTRY(DIV) NL_BIN_ENTRY(POW)
NL_BIN_ENTRY(MAXIMUM) NL_BIN_ENTRY(MINIMUM) NL_BIN_ENTRY(FMOD) NL_BIN_ENTRY(REMAINDER)
NL_BIN_ENTRY(FLOORDIV) NL_BIN_ENTRY(EQ) NL_BIN_ENTRY(NE) NL_BIN_ENTRY(LT) NL_BIN_ENTRY(LE)
NL_BIN_ENTRY(GT) NL_BIN_ENTRY(GE) NL_BIN_ENTRY(LOGICAL_AND) NL_BIN_ENTRY(LOGICAL_OR)
