/* nl_cpu.h: helpers shared by the CPU kernels: dtype dispatch and kernel prototypes. */
#ifndef NL_CPU_H
#define NL_CPU_H
#include <stdint.h>

#include "../nl_iter.h"
#include "../nl_kernel.h"

/* NL_CPU_CLONES: compile a hot loop for AVX2+FMA and AVX-512 as well as baseline x86-64;
 * the dynamic loader picks the version once for the running CPU (GCC function
 * multi-versioning, an ifunc), so the binary still runs on any x86-64. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NL_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define NL_CPU_HAVE_CLONES 1
#else
#define NL_CPU_CLONES
#define NL_CPU_HAVE_CLONES 0
#endif

/* NL_CPU_DISPATCH(dt, T, body): runs body with T the C type of dtype dt (CPU dtypes). */
#define NL_CPU_DISPATCH(dt, T, ...)                        \
  switch (dt) {                                            \
  case NL_FLOAT32: { typedef float T; __VA_ARGS__ } break; \
  case NL_FLOAT64: { typedef double T; __VA_ARGS__ } break;\
  case NL_INT64: { typedef int64_t T; __VA_ARGS__ } break; \
  case NL_INT32: { typedef int32_t T; __VA_ARGS__ } break; \
  case NL_UINT8: { typedef uint8_t T; __VA_ARGS__ } break; \
  case NL_BOOL: { typedef uint8_t T; __VA_ARGS__ } break;  \
  default: break;                                          \
  }

#define NL_CPU_DISPATCH_FLOAT(dt, T, ...)                  \
  switch (dt) {                                            \
  case NL_FLOAT32: { typedef float T; __VA_ARGS__ } break; \
  case NL_FLOAT64: { typedef double T; __VA_ARGS__ } break;\
  default: break;                                          \
  }

/* float32 exp over contiguous runs (expf_simd.c): AVX-512 or AVX2+FMA intrinsics by the
 * running CPU, the bits of nl_expf compiled with FMA contraction. x == y is allowed. */
enum { NL_SIMD_SCALAR, NL_SIMD_AVX2, NL_SIMD_AVX512 };
int nl_cpu_simd_level(void); /* the running CPU's best level (NNLUA_SIMD=avx2|scalar caps it) */
/* y[i] = exp(x[i]), i < n */
void nl_cpu_expf(const float *x, float *y, int64_t n);
/* y[i] = exp(x[i] - m) (y NULL: not stored); returns their sum in 16 float lanes (lane l
 * takes i = l mod 16) folded in halves, left to right when n < 16: the same bits on every level. */
float nl_cpu_expf_sum(const float *x, float m, float *y, int64_t n);
/* max of x[0..n) ignoring NaN (m = x > m ? x : m), -inf when n == 0 */
float nl_cpu_fmax(const float *x, int64_t n);
/* The same at a given level (tests; the level must be one the CPU has). */
void nl_cpu_expf_at(int level, const float *x, float *y, int64_t n);
float nl_cpu_expf_sum_at(int level, const float *x, float m, float *y, int64_t n);

/* One prototype per CPU kernel (defined in the family files of this folder). */
#define NL_OP(name, family) void nl_cpu_##name(const nl_kargs *a);
#include "../ops.def"
#undef NL_OP

#endif
