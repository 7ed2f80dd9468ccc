/* Host shim of cuda/nl_cu.cuh for scripts/gpu/emulate_nn.sh: the nn/optim CUDA kernel files
 * (launch syntax stripped) compile as sequential host C++ -- one "thread" whose grid-stride
 * loop covers every element, atomicAdd a plain add. It checks the kernels' index math and
 * the front ends' device-path algebra on a machine without a GPU; it says nothing about
 * races, launch limits or device numerics. */
#ifndef NL_CU_CUH
#define NL_CU_CUH
#include <cmath>
#include <cstdint>
#include "nl_kernel.h"
using std::isnan;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define NL_CU_THREADS 256
static inline unsigned nl_cu_blocks(int64_t) { return 1; }
static inline int nl_cu_stream(void) { return 0; }
#define NL_CU_LOOP(i, n) for (int64_t i = 0; i < (n); i++)
static inline void nl_cu_check_launch(const char *) {}
template <typename T> static inline T atomicAdd(T *p, T v) { T o = *p; *p = o + v; return o; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
#endif
