/* kernels.cu: the CUDA kernel table (nl_cuda_backend), its installation, and the error
 * plumbing between kernels and nl_run.
 *
 * Installation happens at load time (a constructor in device.cu calls
 * nl_cuda_backend_install) and only sets pointers: no CUDA call runs before a tensor is put
 * on a GPU, so a binary built with CUDA starts and runs its CPU work on machines without a
 * GPU or driver. nn and optimizer kernels have their own table (nn/nl_nn_kernel.h, filled by
 * cuda/nn_table.cu). Every entry is a wrapper that selects the output's device first. */
#include <stdarg.h>
#include <stdio.h>

#include "nl_alloc.h"
#include "nl_cu.cuh"

static int nl_cu_failed;

extern "C" void nl_cu_fail(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (!nl_cu_failed) nl_failc("%s", buf); /* the first failure is the one reported */
  nl_cu_failed = 1;
}

void nl_cu_check_launch(const char *op) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) nl_cu_fail("%s: CUDA kernel launch failed: %s", op, cudaGetErrorString(e));
}

extern "C" int nl_cuda_take_error(void) {
  int f = nl_cu_failed;
  nl_cu_failed = 0;
  return f;
}

extern "C" int nl_cuda_synchronize(void) {
  int n = nl_cuda_device_count(), prev = 0;
  cudaGetDevice(&prev);
  for (int d = 0; d < n; d++) {
    cudaSetDevice(d);
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
      cudaGetLastError();
      cudaSetDevice(prev);
      return nl_failc("cuda.synchronize: %s", cudaGetErrorString(e));
    }
  }
  cudaSetDevice(prev);
  return 0;
}

/* One wrapper per implemented op: select out's device, run the kernel. */
#define NL_WRAP(NAME)                                                  \
  static void nl_cuw_##NAME(const nl_kargs *a) {                       \
    if (cudaSetDevice(nl_device_of(a->out).index) != cudaSuccess) {    \
      nl_cu_fail("%s: cannot select cuda:%d: %s", nl_op_name(NL_OP_##NAME), nl_device_of(a->out).index, \
                 cudaGetErrorString(cudaGetLastError()));              \
      return;                                                          \
    }                                                                  \
    nl_cuda_##NAME(a);                                                 \
  }
#define NL_OP(name, family) NL_WRAP(name)
#include "ops.def"
#undef NL_OP

static nl_kernel_fn nl_cuda_table[NL_OP_COUNT];
static nl_backend nl_cuda_be = {"cuda", nl_cuda_table};

extern "C" int nl_cuda_cross_copy(nl_tensor *dst, const nl_tensor *src);
extern "C" void nl_cuda_alloc_install(void);

/* (C++ has no designated array initialisers: the table is filled from ops.def here; every
 * op of ops.def has a CUDA kernel.) */
extern "C" void nl_cuda_backend_install(void) {
#define NL_OP(name, family) nl_cuda_table[NL_OP_##name] = nl_cuw_##name;
#include "ops.def"
#undef NL_OP
  nl_cuda_backend = &nl_cuda_be;
  nl_cross_device_copy = nl_cuda_cross_copy;
  nl_cuda_alloc_install();
}
