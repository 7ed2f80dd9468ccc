/* storage.c: refcounted storages and the CPU allocator.
 *
 * CPU memory is 64-byte aligned (full AVX-512 vectors). The allocator counts live bytes so
 * the Lua binding can tell the garbage collector how much C memory its small userdata hold
 * (see vm/ltensor.c: nl_lua_account). CUDA storages go through the CUDA backend's allocator
 * (cuda/), reached through nl_device_alloc. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nl_tensor.h"
#include "nl_alloc.h"

static atomic_size_t nl_cpu_live_bytes;

size_t nl_cpu_bytes_in_use(void) { return atomic_load(&nl_cpu_live_bytes); }

const nl_device_allocator *nl_cuda_allocator; /* set by cuda/ when compiled in */

void *nl_device_alloc(nl_device dev, size_t nbytes) {
  if (dev.type == NL_CPU) {
    size_t n = (nbytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, n ? n : 64);
    if (!p) return nl_fail("out of memory: cannot allocate %zu bytes on cpu", nbytes);
    atomic_fetch_add(&nl_cpu_live_bytes, nbytes);
    return p;
  }
  if (!nl_cuda_allocator) return nl_fail("nnlua was built without CUDA support (device cuda:%d)", dev.index);
  return nl_cuda_allocator->alloc(nbytes, dev.index);
}

void nl_device_free(nl_device dev, void *p, size_t nbytes) {
  if (!p) return;
  if (dev.type == NL_CPU) {
    atomic_fetch_sub(&nl_cpu_live_bytes, nbytes);
    free(p);
  } else if (nl_cuda_allocator) {
    nl_cuda_allocator->free(p, nbytes, dev.index);
  }
}

nl_storage *nl_storage_new(size_t nbytes, nl_device dev) {
  nl_storage *s = malloc(sizeof *s);
  if (!s) return nl_fail("out of memory");
  void *data = nl_device_alloc(dev, nbytes);
  if (!data) { free(s); return NULL; }
  *s = (nl_storage){.refcount = 1, .data = data, .nbytes = nbytes, .device = dev};
  return s;
}

nl_storage *nl_storage_wrap(void *data, size_t nbytes, nl_device dev, nl_release_fn release,
                            void *ctx) {
  nl_storage *s = malloc(sizeof *s);
  if (!s) return nl_fail("out of memory");
  *s = (nl_storage){.refcount = 1, .data = data, .nbytes = nbytes, .device = dev,
                    .external = true, .release = release, .release_ctx = ctx};
  return s;
}

void nl_storage_retain(nl_storage *s) { s->refcount++; }

void nl_storage_release(nl_storage *s) {
  if (!s || --s->refcount > 0) return;
  if (s->external) {
    if (s->release) s->release(s->data, s->release_ctx);
  } else {
    nl_device_free(s->device, s->data, s->nbytes);
  }
  free(s);
}
