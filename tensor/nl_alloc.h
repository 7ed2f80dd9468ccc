/* nl_alloc.h: device memory allocation behind storages (CPU here, CUDA in cuda/). */
#ifndef NL_ALLOC_H
#define NL_ALLOC_H
#include "nl_tensor.h"

typedef struct nl_device_allocator {
  void *(*alloc)(size_t nbytes, int device_index); /* NULL + nl_error() on failure */
  void (*free)(void *p, size_t nbytes, int device_index);
} nl_device_allocator;

extern const nl_device_allocator *nl_cuda_allocator;

void *nl_device_alloc(nl_device dev, size_t nbytes);
void nl_device_free(nl_device dev, void *p, size_t nbytes);
#endif
