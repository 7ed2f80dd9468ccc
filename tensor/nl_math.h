/* nl_math.h: the per-element math of every elementwise op, written once.
 *
 * Included by the CPU loops (tensor/cpu/elementwise.c) and by the CUDA kernels (cuda/*.cu),
 * so the CPU specs check exactly the formulas the GPU runs. Each function is generic over
 * the compute type through C11 <tgmath.h> in C and overloads in CUDA C++: exp(x) is expf for
 * float and exp for double. Integer dtypes use the *_int variants where the math differs. */
#ifndef NL_MATH_H
#define NL_MATH_H

#ifdef __CUDACC__
#define NL_HOSTDEV __host__ __device__ __forceinline__
#include <math.h>
#else
#define NL_HOSTDEV static inline
#include <tgmath.h>
#endif

/* Unary float math: NL_UNARY_FLOAT(X) expands X(NAME, expression in x) for every unary op
 * defined on floating dtypes. T is the element type in scope where expanded. */
#define NL_UNARY_FLOAT(X)                                   \
  X(NEG, -x)                                                \
  X(ABS, fabs(x))                                           \
  X(EXP, exp(x))                                            \
  X(LOG, log(x))                                            \
  X(LOG1P, log1p(x))                                        \
  X(EXPM1, expm1(x))                                        \
  X(SQRT, sqrt(x))                                          \
  X(RSQRT, (T)1 / sqrt(x))                                  \
  X(SIN, sin(x))                                            \
  X(COS, cos(x))                                            \
  X(TAN, tan(x))                                            \
  X(TANH, tanh(x))                                          \
  X(SIGMOID, (T)1 / ((T)1 + exp(-x)))                       \
  X(RELU, x > (T)0 ? x : (T)0)                              \
  X(SIGN, (T)((x > (T)0) - (x < (T)0)))                     \
  X(FLOOR, floor(x))                                        \
  X(CEIL, ceil(x))                                          \
  X(ROUND, nearbyint(x)) /* half to even, like PyTorch */   \
  X(TRUNC, trunc(x))

/* Unary ops that keep integer dtypes (others promote ints to the default float dtype). */
#define NL_UNARY_INT(X)                                     \
  X(NEG, -x)                                                \
  X(ABS, x < 0 ? -x : x)                                    \
  X(RELU, x > 0 ? x : 0)                                    \
  X(SIGN, (T)((x > 0) - (x < 0)))                           \
  X(FLOOR, x) X(CEIL, x) X(ROUND, x) X(TRUNC, x)

/* Python-style floor division and remainder (sign of the divisor), as PyTorch. */
NL_HOSTDEV double nl_remainder_d(double a, double b) {
  double r = fmod(a, b);
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
NL_HOSTDEV float nl_remainder_f(float a, float b) {
  float r = fmod(a, b);
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
NL_HOSTDEV long long nl_remainder_i(long long a, long long b) {
  long long r = b ? a % b : 0;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
NL_HOSTDEV long long nl_floordiv_i(long long a, long long b) {
  if (b == 0) return 0; /* front end rejects integer division by zero */
  long long q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Binary math: X(NAME, expression in a and b). Comparisons produce bool. */
#define NL_BINARY_FLOAT(X)                                  \
  X(ADD, a + alpha * b)                                     \
  X(SUB, a - alpha * b)                                     \
  X(MUL, a * b)                                             \
  X(DIV, a / b)                                             \
  X(POW, pow(a, b))                                         \
  X(MAXIMUM, (a != a || b != b) ? a + b : (a > b ? a : b))  \
  X(MINIMUM, (a != a || b != b) ? a + b : (a < b ? a : b))  \
  X(FMOD, fmod(a, b))                                       \
  X(FLOORDIV, floor(a / b))

#endif
