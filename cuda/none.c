/* none.c: the CUDA entry points when nnlua is built without CUDA: no devices. */
#include "nl_cuda.h"

int nl_cuda_compiled(void) { return 0; }
int nl_cuda_device_count(void) { return 0; }
const char *nl_cuda_device_name(int i) { (void)i; return ""; }
size_t nl_cuda_memory_allocated(int dev) { (void)dev; return 0; }
size_t nl_cuda_max_memory_allocated(int dev) { (void)dev; return 0; }
size_t nl_cuda_memory_reserved(int dev) { (void)dev; return 0; }
void nl_cuda_empty_cache(void) {}
int nl_cuda_synchronize(void) { return 0; }
static int nl_tf32;
void nl_cuda_set_allow_tf32(int on) { nl_tf32 = on != 0; }
int nl_cuda_get_allow_tf32(void) { return nl_tf32; }
int nl_cuda_take_error(void) { return 0; }
