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

/* CPU caching allocator (storage.c): bytes parked in the per-size-class free lists, a cap on
 * them (0 disables caching), hit/miss counters, and a release of every parked block back to
 * the system (returns the bytes released). nl_cpu_bytes_in_use() never counts parked bytes. */
size_t nl_cpu_cache_bytes(void);
void nl_cpu_cache_set_limit(size_t bytes);
void nl_cpu_cache_stats(size_t *hits, size_t *misses);
size_t nl_cpu_cache_release(void);
#endif
