/* nl_cuda.h: the CUDA backend's entry points visible to the rest of nnlua. When nnlua is
 * built without CUDA (NNLUA_CUDA=OFF, or no nvcc), cuda/none.c provides the same functions
 * reporting no device. */
#ifndef NL_CUDA_H
#define NL_CUDA_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
/* 1 when the CUDA backend is compiled in. */
int nl_cuda_compiled(void);
/* Number of usable GPUs: 0 when none is present, the driver is missing, or CUDA was not
 * compiled in. Never fails. */
int nl_cuda_device_count(void);
/* Name of device i ("NVIDIA H100 80GB HBM3"), or "" when there is none. */
const char *nl_cuda_device_name(int i);
/* Caching allocator statistics for device dev (bytes of live blocks, their peak, and
 * bytes held from the driver including parked blocks); 0 without CUDA. */
size_t nl_cuda_memory_allocated(int dev);
size_t nl_cuda_max_memory_allocated(int dev);
size_t nl_cuda_memory_reserved(int dev);
/* Returns every parked (cached, unused) block to the driver. */
void nl_cuda_empty_cache(void);
/* Waits for all queued work on every device; -1 with nl_error() on a CUDA error. */
int nl_cuda_synchronize(void);

/* Allows TF32 tensor cores in float32 GEMMs (off by default, like PyTorch >= 1.12). */
void nl_cuda_set_allow_tf32(int on);
int nl_cuda_get_allow_tf32(void);
/* Called by nl_run after a CUDA kernel: 1 (message in nl_error()) when the kernel recorded
 * a failure or the launch failed; clears the flag. */
int nl_cuda_take_error(void);
#ifdef __cplusplus
}
#endif
#endif
