/* device.cu: device discovery. A binary built with CUDA runs on machines without a GPU:
 * every query then reports zero devices instead of failing. */
#include <cuda_runtime.h>
#include <stdio.h>

#include "nl_cuda.h"

extern "C" int nl_cuda_compiled(void) { return 1; }

extern "C" int nl_cuda_device_count(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError(); /* clear the sticky "no device"/"no driver" error */
    return 0;
  }
  return n;
}

extern "C" const char *nl_cuda_device_name(int i) {
  static char name[256];
  cudaDeviceProp p;
  if (i < 0 || i >= nl_cuda_device_count() || cudaGetDeviceProperties(&p, i) != cudaSuccess) return "";
  snprintf(name, sizeof name, "%s", p.name);
  return name;
}
