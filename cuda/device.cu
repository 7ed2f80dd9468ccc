/* device.cu: device discovery. A binary built with CUDA runs on machines without a GPU:
 * every query then reports zero devices instead of failing. */
#include <cuda_runtime.h>
#include <stdio.h>

#include "nl_cuda.h"

extern "C" int nl_cuda_compiled(void) { return 1; }

/* Queried once (the driver's answer does not change within a process). */
extern "C" int nl_cuda_device_count(void) {
  static int count = -1;
  if (count >= 0) return count;
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError(); /* clear the sticky "no device"/"no driver" error */
    n = 0;
  }
  count = n;
  return n;
}

extern "C" const char *nl_cuda_device_name(int i) {
  static char name[256];
  cudaDeviceProp p;
  if (i < 0 || i >= nl_cuda_device_count() || cudaGetDeviceProperties(&p, i) != cudaSuccess) return "";
  snprintf(name, sizeof name, "%s", p.name);
  return name;
}

/* Installs the kernel table, the allocator and the host<->device copy at load time (only
 * pointers are set: no CUDA call, so CPU-only machines are unaffected). Living here, with
 * the functions every binary references, keeps the backend linked from libnnlua.a. */
extern "C" void nl_cuda_backend_install(void);
__attribute__((constructor)) static void nl_cuda_init(void) { nl_cuda_backend_install(); }
