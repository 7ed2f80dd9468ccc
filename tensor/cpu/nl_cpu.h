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
#else
#define NL_CPU_CLONES
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

/* One prototype per CPU kernel (defined in the family files of this folder). */
#define NL_OP(name, family) void nl_cpu_##name(const nl_kargs *a);
#include "../ops.def"
#undef NL_OP

#endif
