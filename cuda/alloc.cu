/* alloc.cu: the CUDA caching allocator behind storages on cuda:N (nl_cuda_allocator).
 *
 * Blocks are rounded up to size buckets (512 B steps below 1 MiB, 2 MiB steps above) and a
 * freed block is parked in its device's free list for its bucket instead of cudaFree'd; the
 * next allocation of the same bucket reuses it. All work runs on one stream
 * (nl_cu_stream()), so a parked block can be handed out again at once: later kernels are
 * ordered after the earlier users of the block (stream-ordered reuse, no events needed).
 * memory_allocated counts live (not parked) bucket bytes, as PyTorch's does.
 * cudaMalloc failing empties the cache (every parked block cudaFree'd) and retries once;
 * a second failure is the error "CUDA out of memory ..." (a Lua error from the binding). */
#include <cuda_runtime.h>
#include <stdio.h>

#include <map>
#include <mutex>
#include <vector>

#include "nl_alloc.h"
#include "nl_cuda.h"

namespace {
const int kMaxDev = 16;
struct DevCache {
  std::multimap<size_t, void *> parked; /* bucket size -> block */
  size_t allocated = 0, max_allocated = 0, reserved = 0;
};
DevCache g_dev[kMaxDev];
std::mutex g_lock;

size_t bucket(size_t n) {
  if (n == 0) n = 1;
  const size_t small = 512, large = (size_t)2 << 20;
  return n < ((size_t)1 << 20) ? (n + small - 1) / small * small : (n + large - 1) / large * large;
}

size_t release_parked(int dev) {
  DevCache &c = g_dev[dev];
  size_t freed = 0;
  if (c.parked.empty()) return 0;
  int prev = 0;
  cudaGetDevice(&prev);
  cudaSetDevice(dev);
  cudaStreamSynchronize(0); /* parked blocks may still be read by queued kernels */
  for (auto &kv : c.parked) {
    cudaFree(kv.second);
    freed += kv.first;
  }
  c.reserved -= freed;
  c.parked.clear();
  cudaSetDevice(prev);
  return freed;
}

void *nl_cuda_alloc(size_t nbytes, int dev) {
  if (dev < 0 || dev >= kMaxDev || dev >= nl_cuda_device_count()) {
    nl_fail("cuda:%d: no such CUDA device (%d available)", dev, nl_cuda_device_count());
    return NULL;
  }
  size_t b = bucket(nbytes);
  std::lock_guard<std::mutex> g(g_lock);
  DevCache &c = g_dev[dev];
  auto it = c.parked.find(b);
  void *p = NULL;
  if (it != c.parked.end()) {
    p = it->second;
    c.parked.erase(it);
  } else {
    int prev = 0;
    cudaGetDevice(&prev);
    cudaSetDevice(dev);
    cudaError_t e = cudaMalloc(&p, b);
    if (e != cudaSuccess) {
      cudaGetLastError();
      release_parked(dev); /* one retry after emptying the cache */
      e = cudaMalloc(&p, b);
    }
    cudaSetDevice(prev);
    if (e != cudaSuccess) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      cudaGetLastError();
      nl_fail("CUDA out of memory: tried to allocate %zu bytes on cuda:%d (%zu bytes allocated by nnlua, "
              "%zu free of %zu)", nbytes, dev, c.allocated, free_b, total_b);
      return NULL;
    }
    c.reserved += b;
  }
  c.allocated += b;
  if (c.allocated > c.max_allocated) c.max_allocated = c.allocated;
  return p;
}

void nl_cuda_free(void *p, size_t nbytes, int dev) {
  if (!p || dev < 0 || dev >= kMaxDev) return;
  size_t b = bucket(nbytes);
  std::lock_guard<std::mutex> g(g_lock);
  DevCache &c = g_dev[dev];
  c.allocated -= b;
  c.parked.emplace(b, p);
}

const nl_device_allocator g_allocator = {nl_cuda_alloc, nl_cuda_free};
} // namespace

extern "C" void nl_cuda_alloc_install(void) { nl_cuda_allocator = &g_allocator; }

extern "C" size_t nl_cuda_memory_allocated(int dev) {
  if (dev < 0 || dev >= kMaxDev) return 0;
  std::lock_guard<std::mutex> g(g_lock);
  return g_dev[dev].allocated;
}

extern "C" size_t nl_cuda_max_memory_allocated(int dev) {
  if (dev < 0 || dev >= kMaxDev) return 0;
  std::lock_guard<std::mutex> g(g_lock);
  return g_dev[dev].max_allocated;
}

extern "C" size_t nl_cuda_memory_reserved(int dev) {
  if (dev < 0 || dev >= kMaxDev) return 0;
  std::lock_guard<std::mutex> g(g_lock);
  return g_dev[dev].reserved;
}

extern "C" void nl_cuda_empty_cache(void) {
  std::lock_guard<std::mutex> g(g_lock);
  int n = nl_cuda_device_count();
  for (int d = 0; d < n && d < kMaxDev; d++) release_parked(d);
}
