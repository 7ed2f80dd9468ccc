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

/* Per-thread free lists of fixed-size blocks (storage blocks 64-byte aligned) for the small structures every
 * op allocates: tensor headers, storages (with the data of small tensors inline), autograd
 * nodes. A pool always hands out blocks of one size (its first nl_pool_get's size). Each
 * thread keeps at most NL_POOL_CAP blocks per pool; a block freed on another thread simply
 * joins that thread's list; a thread's lists are freed when it exits. Disabled (plain
 * malloc / free, so the sanitizers see every block) when the CPU cache is off
 * (NNLUA_CPU_CACHE_MB=0). nl_pool_get returns NULL on out of memory (no message). */
enum { NL_POOL_TENSOR, NL_POOL_STORAGE, NL_POOL_NODE, NL_NPOOLS };
void *nl_pool_get(int pool, size_t size);
void nl_pool_put(int pool, void *p);
/* Frees the calling thread's pooled blocks. */
void nl_pool_flush(void);

/* Storages of CPU tensors of up to NL_STORAGE_INLINE bytes keep their data in the storage's
 * own block, right after the (64-byte padded) nl_storage: one pooled block per storage. */
#define NL_STORAGE_INLINE 256
#define NL_STORAGE_BLOCK (64 + NL_STORAGE_INLINE)
#endif
