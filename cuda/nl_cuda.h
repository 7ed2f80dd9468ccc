/* nl_cuda.h: the CUDA backend's entry points visible to the rest of nnlua. When nnlua is
 * built without CUDA (NNLUA_CUDA=OFF, or no nvcc), cuda/none.c provides the same functions
 * reporting no device. */
#ifndef NL_CUDA_H
#define NL_CUDA_H
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
#ifdef __cplusplus
}
#endif
#endif
