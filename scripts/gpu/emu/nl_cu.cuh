/* Host shim of cuda/nl_cu.cuh for scripts/gpu/emulate_nn.sh: the nn/optim CUDA kernel files
 * (launch syntax stripped) compile as sequential host C++ -- one block of one "thread":
 * a grid-stride loop covers every element, a block-stride loop (blockIdx.x += gridDim.x)
 * every row/channel, a thread-stride loop (threadIdx.x += blockDim.x) every element of the
 * row, so a block-wide sum (nl_cu_block_sum2) is the single thread's partial itself, and
 * atomicAdd / atomicMin / atomicMax are plain read-modify-writes. It checks the kernels' index math and
 * the front ends' device-path algebra on a machine without a GPU; it says nothing about
 * races, the shuffle/shared-memory reduction tree, launch limits or device numerics. */
#ifndef NL_CU_CUH
#define NL_CU_CUH
#include <cmath>
#include <cstdint>
#include "nl_kernel.h"
using std::isnan;
using std::isinf;
#define __global__
#define __device__
#define __host__
#define __shared__
#define __forceinline__ inline
#define NL_CU_THREADS 256
static inline unsigned nl_cu_blocks(int64_t) { return 1; }
static inline unsigned nl_cu_row_blocks(int64_t) { return 1; }
static inline int nl_cu_stream(void) { return 0; }
#define NL_CU_LOOP(i, n) for (int64_t i = 0; i < (n); i++)
#define NL_LAUNCH(n) /* a plain call: one block of one thread */
#define NL_F(T, t) ((T *)nl_data(t))
#define NL_FD(t) ((t) ? (double *)nl_data(t) : (double *)0)
struct nl_emu_dim3 { unsigned x, y, z; };
static const nl_emu_dim3 threadIdx = {0, 0, 0}, blockIdx = {0, 0, 0}, blockDim = {1, 1, 1}, gridDim = {1, 1, 1};
static inline void __syncthreads(void) {}
static inline void nl_cu_block_sum2(double *, double *) {} /* one thread: its partials are the sums */
static inline void nl_cu_check_launch(const char *) {}
template <typename T> static inline T atomicAdd(T *p, T v) { T o = *p; *p = o + v; return o; }
template <typename T> static inline T atomicMin(T *p, T v) { T o = *p; if (v < o) *p = v; return o; }
template <typename T> static inline T atomicMax(T *p, T v) { T o = *p; if (v > o) *p = v; return o; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
#endif
