/* none.c: the CUDA entry points when nnlua is built without CUDA: no devices. */
#include "nl_cuda.h"

int nl_cuda_compiled(void) { return 0; }
int nl_cuda_device_count(void) { return 0; }
const char *nl_cuda_device_name(int i) { (void)i; return ""; }
