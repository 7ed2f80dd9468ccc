/* nl_math.h: the per-element math of every elementwise op, written once.
 *
 * Included by the CPU loops (tensor/cpu/elementwise.c) and by the CUDA kernels (cuda/ kernels),
 * so the CPU specs check exactly the formulas the GPU runs. Each expression is generic over
 * the compute type T through C11 <tgmath.h> (and _Generic) in C and overloads in CUDA C++:
 * exp(x) is expf for float and exp for double. The X-lists below are expanded by the
 * backends as X(NAME, expression); the names match ops.def.
 *
 * Variables in scope where an expression is expanded: T (element type), x (unary input),
 * a and b (binary inputs), alpha (add/sub scale, already of type T). */
#ifndef NL_MATH_H
#define NL_MATH_H

#ifdef __CUDACC__
#define NL_HOSTDEV __host__ __device__ __forceinline__
#include <math.h>
#else
#define NL_HOSTDEV static inline
#include <stdint.h>
#include <tgmath.h>
#endif

/* ---- helpers (float and double versions; NL_GEN picks by type in C) -------------------- */
#define NL_DEF_FLOAT_HELPERS(T, SFX)                                                       \
  /* Python remainder: the sign of the divisor (PyTorch remainder). */                     \
  NL_HOSTDEV T nl_remainder##SFX(T a, T b) {                                               \
    T r = fmod(a, b);                                                                      \
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;                                   \
  }                                                                                        \
  /* PyTorch's div_floor for floats (exact where floor(a / b) rounds wrongly). */          \
  NL_HOSTDEV T nl_floordiv##SFX(T a, T b) {                                                \
    if (b == 0) return a / b;                                                              \
    T mod = fmod(a, b);                                                                    \
    T div = (a - mod) / b;                                                                 \
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= (T)1;                                   \
    T fd;                                                                                  \
    if (div != 0) {                                                                        \
      fd = floor(div);                                                                     \
      if (div - fd > (T)0.5) fd += (T)1;                                                   \
    } else {                                                                               \
      fd = copysign((T)0, a / b);                                                          \
    }                                                                                      \
    return fd;                                                                             \
  }                                                                                        \
  /* NaN-propagating maximum / minimum (PyTorch maximum, minimum). */                      \
  NL_HOSTDEV T nl_fmax##SFX(T a, T b) { return (a != a || b != b) ? a + b : (a > b ? a : b); } \
  NL_HOSTDEV T nl_fmin##SFX(T a, T b) { return (a != a || b != b) ? a + b : (a < b ? a : b); } \
  /* PyTorch's lerp: two formulas for accuracy at both ends. */                            \
  NL_HOSTDEV T nl_lerp##SFX(T s, T e, T w) {                                               \
    T d = e - s;                                                                           \
    return (fabs(w) < (T)0.5) ? s + w * d : e - d * ((T)1 - w);                            \
  }                                                                                        \
  /* clamp: NaN input stays NaN; lo/hi NaN propagate; lo > hi gives hi (PyTorch). */       \
  NL_HOSTDEV T nl_clamp##SFX(T x, T lo, T hi, int has_lo, int has_hi) {                    \
    if (x != x) return x;                                                                  \
    if (has_lo) x = (lo != lo) ? lo : (x < lo ? lo : x);                                   \
    if (has_hi) x = (hi != hi) ? hi : (x > hi ? hi : x);                                   \
    return x;                                                                              \
  }

NL_DEF_FLOAT_HELPERS(double, _d)
NL_DEF_FLOAT_HELPERS(float, _f)

#ifdef __CUDACC__
#define NL_GEN(name, a, ...) nl_##name##_pick(a, __VA_ARGS__)
#define NL_DEF_PICK(name)                                                                  \
  NL_HOSTDEV float name##_pick(float a, float b) { return name##_f(a, b); }                \
  NL_HOSTDEV double name##_pick(double a, double b) { return name##_d(a, b); }
NL_DEF_PICK(nl_remainder)
NL_DEF_PICK(nl_floordiv)
NL_DEF_PICK(nl_fmax)
NL_DEF_PICK(nl_fmin)
#else
#define NL_GEN(name, a, ...) _Generic((a), float: nl_##name##_f, default: nl_##name##_d)(a, __VA_ARGS__)
#endif

/* Integer helpers (computed in long long, the caller casts back to T: wraps like C/PyTorch).
 * Division by zero never reaches these: the front ends reject it (b == 0 gives 0 here). */
/* b == -1 is special-cased: LLONG_MIN % -1 and LLONG_MIN / -1 trap (SIGFPE) on x86. */
NL_HOSTDEV long long nl_remainder_i(long long a, long long b) {
  long long r = (b && b != -1) ? a % b : 0;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
NL_HOSTDEV long long nl_floordiv_i(long long a, long long b) {
  if (b == 0) return 0;
  if (b == -1) return (long long)(0ULL - (unsigned long long)a); /* wraps like PyTorch */
  long long q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
NL_HOSTDEV long long nl_fmod_i(long long a, long long b) { return (b && b != -1) ? a % b : 0; }
/* x < 0 through long long (no always-false warning for uint8). */
NL_HOSTDEV int nl_lt0_i(long long x) { return x < 0; }
/* Integer power by squaring; negative exponents as PyTorch: 1 -> 1, -1 -> +-1, else 0. */
NL_HOSTDEV long long nl_pow_i(long long a, long long b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
  unsigned long long r = 1, base = (unsigned long long)a;
  while (b) {
    if (b & 1) r *= base;
    base *= base;
    b >>= 1;
  }
  return (long long)r;
}

/* ---- exp for float32 -------------------------------------------------------------------
 * nl_expf: a branch-free expf that GCC vectorises: x = k ln2 + r with |r| <= ln2/2 (k rounded
 * by the 1.5 * 2^23 shifter, Cody-Waite split of ln2), exp(r) = 1 + r (1 + r (c2 + ... c6 r^4))
 * by Horner (a degree-6 minimax fit for relative error, 0.05 ulp before rounding), 2^k built in
 * the exponent bits in two halves (p 2^k1 is exact and normal, so the product rounds once, as
 * AVX-512's scalef does: results down to the subnormals are right). Max error against
 * correctly rounded exp 0.88 ulp with FMA contraction, 1.14 without (spec/c/test_expf.c). Overflow gives inf, underflow 0, NaN
 * stays NaN. tensor/cpu/expf_simd.c runs the same operations with intrinsics (AVX-512, AVX2):
 * the same bits as this function compiled with FMA contraction (the AVX2 and AVX-512 clones).
 * CUDA keeps the library expf. */
#define NL_EXPF_LO -104.0f /* exp(x) rounds to 0 below -103.97 */
#define NL_EXPF_HI 89.0f   /* and to inf above 88.72 */
#define NL_EXPF_LOG2E 1.44269504088896341f
#define NL_EXPF_SHIFT 12582912.0f /* 1.5 * 2^23: (t + SHIFT) - SHIFT rounds t to an integer */
#define NL_EXPF_LN2HI 0.693359375f /* ln2 = LN2HI + LN2LO; k * LN2HI is exact for |k| < 2^12 */
#define NL_EXPF_LN2LO -2.12194440e-4f
#define NL_EXPF_C6 1.381459879e-03f
#define NL_EXPF_C5 8.368716575e-03f
#define NL_EXPF_C4 4.166838899e-02f
#define NL_EXPF_C3 1.666652113e-01f
#define NL_EXPF_C2 4.999999404e-01f
#ifdef __CUDACC__
NL_HOSTDEV float nl_expf(float x) { return expf(x); }
#else
NL_HOSTDEV float nl_bits_f(int32_t i) {
  union { int32_t i; float f; } u = {i};
  return u.f;
}
NL_HOSTDEV float nl_expf(float x) {
  float xc = x < NL_EXPF_LO ? NL_EXPF_LO : x > NL_EXPF_HI ? NL_EXPF_HI : x; /* NaN passes through */
  float k = (xc * NL_EXPF_LOG2E + NL_EXPF_SHIFT) - NL_EXPF_SHIFT;
  float r = xc - k * NL_EXPF_LN2HI;
  r = r - k * NL_EXPF_LN2LO;
  float p = NL_EXPF_C6;
  p = p * r + NL_EXPF_C5;
  p = p * r + NL_EXPF_C4;
  p = p * r + NL_EXPF_C3;
  p = p * r + NL_EXPF_C2;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t ki = (int32_t)k;
  int32_t k1 = ki / 2, k2 = ki - k1; /* each half of 2^k is a normal float */
  float y = p * nl_bits_f((int32_t)((uint32_t)(k1 + 127) << 23)) * nl_bits_f((int32_t)((uint32_t)(k2 + 127) << 23));
  y = x > 88.72283935546875f ? (float)INFINITY : y;
  y = x < -103.97208404541015625f ? 0.0f : y;
  return x != x ? x : y;
}
#endif
NL_HOSTDEV double nl_expd(double x) { return exp(x); }
#ifdef __CUDACC__
#define NL_EXPF(x) exp(x)
#else
#define NL_EXPF(x) _Generic((x), float: nl_expf, default: nl_expd)(x)
#endif

/* ---- unary ---------------------------------------------------------------------------- */
/* Float math (integer and bool inputs of these ops are promoted to the default dtype,
 * except the ones also in NL_UNARY_INT). */
#define NL_UNARY_FLOAT(X)                                   \
  X(NEG, -x)                                                \
  X(ABS, fabs(x))                                           \
  X(EXP, NL_EXPF(x))                                        \
  X(LOG, log(x))                                            \
  X(LOG1P, log1p(x))                                        \
  X(EXPM1, expm1(x))                                        \
  X(SQRT, sqrt(x))                                          \
  X(RSQRT, (T)1 / sqrt(x))                                  \
  X(SIN, sin(x))                                            \
  X(COS, cos(x))                                            \
  X(TAN, tan(x))                                            \
  X(TANH, tanh(x))                                          \
  X(SIGMOID, (T)1 / ((T)1 + NL_EXPF(-x)))                   \
  X(RELU, x > (T)0 ? x : (x != x ? x : (T)0))               \
  X(SIGN, (T)((x > (T)0) - (x < (T)0)))                     \
  X(FLOOR, floor(x))                                        \
  X(CEIL, ceil(x))                                          \
  X(ROUND, nearbyint(x)) /* half to even, like PyTorch */   \
  X(TRUNC, trunc(x))

/* Unary ops that keep integer dtypes (int64, int32, uint8). */
#define NL_UNARY_INT(X)                                     \
  X(NEG, (T)(0ULL - (unsigned long long)x)) /* wraps */   \
  X(ABS, (T)(nl_lt0_i(x) ? 0ULL - (unsigned long long)x : (unsigned long long)x)) \
  X(RELU, (T)(x > 0 ? x : 0))                               \
  X(SIGN, (T)((x > 0) - nl_lt0_i(x)))                       \
  X(FLOOR, x) X(CEIL, x) X(ROUND, x) X(TRUNC, x)

/* Ops with a bool result, any input type. */
#define NL_UNARY_PRED_FLOAT(X)                              \
  X(LOGICAL_NOT, x == (T)0)                                 \
  X(ISNAN, x != x)                                          \
  X(ISINF, isinf(x) != 0)
#define NL_UNARY_PRED_INT(X)                                \
  X(LOGICAL_NOT, x == 0)                                    \
  X(ISNAN, 0)                                               \
  X(ISINF, 0)

/* ---- binary --------------------------------------------------------------------------- */
#define NL_BINARY_FLOAT(X)                                  \
  X(ADD, a + alpha * b)                                     \
  X(SUB, a - alpha * b)                                     \
  X(MUL, a * b)                                             \
  X(DIV, a / b)                                             \
  X(POW, pow(a, b))                                         \
  X(MAXIMUM, NL_GEN(fmax, a, b))                            \
  X(MINIMUM, NL_GEN(fmin, a, b))                            \
  X(FMOD, fmod(a, b))                                       \
  X(REMAINDER, NL_GEN(remainder, a, b))                     \
  X(FLOORDIV, NL_GEN(floordiv, a, b))

/* int64, int32, uint8: arithmetic wraps in the type as in PyTorch (via unsigned long long
 * for + - * so that overflow is defined). DIV is absent: ints promote to float. */
#define NL_BINARY_INT(X)                                                               \
  X(ADD, (T)((unsigned long long)a + (unsigned long long)alpha * (unsigned long long)b)) \
  X(SUB, (T)((unsigned long long)a - (unsigned long long)alpha * (unsigned long long)b)) \
  X(MUL, (T)((unsigned long long)a * (unsigned long long)b))                           \
  X(POW, (T)nl_pow_i(a, b))                                                            \
  X(MAXIMUM, a > b ? a : b)                                                            \
  X(MINIMUM, a < b ? a : b)                                                            \
  X(FMOD, (T)nl_fmod_i(a, b))                                                          \
  X(REMAINDER, (T)nl_remainder_i(a, b))                                                \
  X(FLOORDIV, (T)nl_floordiv_i(a, b))

/* bool (stored as 0/1 bytes): + is or, * is and (PyTorch). */
#define NL_BINARY_BOOL(X)                                   \
  X(ADD, (T)(a | b))                                        \
  X(MUL, (T)(a & b))                                        \
  X(MAXIMUM, (T)(a | b))                                    \
  X(MINIMUM, (T)(a & b))

/* Comparisons and logic: bool result, inputs of any one type T. */
#define NL_BINARY_PRED(X)                                   \
  X(EQ, a == b)                                             \
  X(NE, a != b)                                             \
  X(LT, a < b)                                              \
  X(LE, a <= b)                                             \
  X(GT, a > b)                                              \
  X(GE, a >= b)                                             \
  X(LOGICAL_AND, (a != 0) && (b != 0))                      \
  X(LOGICAL_OR, (a != 0) || (b != 0))

#endif
