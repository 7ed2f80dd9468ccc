/* storage.c: refcounted storages and the CPU allocator.
 *
 * CPU memory is 64-byte aligned (full AVX-512 vectors). The allocator counts live bytes so
 * the Lua binding can tell the garbage collector how much C memory its small userdata hold
 * (see vm/ltensor.c: nl_lua_account). CUDA storages go through the CUDA backend's allocator
 * (cuda/), reached through nl_device_alloc.
 *
 * CPU caching allocator. A training loop allocates and frees the same few sizes over and
 * over; going to malloc each time costs a fresh mmap + page faults for every large block
 * (glibc returns blocks above its mmap threshold to the kernel on free). Freed blocks of up
 * to NL_CACHE_MAX_BLOCK bytes are therefore parked on a free list per power-of-two size
 * class (64 B .. 64 MB) and handed out again to the next request of that class. The total
 * parked is capped (NL_CACHE_LIMIT, env NNLUA_CPU_CACHE_MB overrides, 0 disables caching);
 * a free that would go over the cap goes straight to free(). Larger blocks are never cached.
 * One mutex guards the lists: DataLoader worker threads may allocate too, and the critical
 * sections are a few pointer moves.
 *
 * Accounting: nl_cpu_bytes_in_use() is "bytes held by live tensors" (the requested sizes),
 * never the parked blocks; nl_cpu_cache_bytes() reports the parked bytes, so the process
 * holds about in_use (rounded up to the class) + cache_bytes.
 *
 * Out of memory: when the system allocator fails, nl_device_alloc releases every parked
 * block (nl_cpu_cache_release) and retries once before failing. The Lua binding can add a
 * second chance on top: when a front end fails with "out of memory", run
 * lua_gc(L, LUA_GCCOLLECT, 0) (tensors that are garbage but not yet collected give their
 * blocks back to the cache), call nl_cpu_cache_release() so those blocks go back to the
 * system, and retry the op once; never do this from a finalizer. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nl_tensor.h"
#include "nl_alloc.h"

#define NL_CACHE_MIN_SHIFT 6                        /* 64 B: the alignment */
#define NL_CACHE_MAX_SHIFT 26                       /* 64 MB */
#define NL_CACHE_MAX_BLOCK ((size_t)1 << NL_CACHE_MAX_SHIFT)
#define NL_CACHE_CLASSES (NL_CACHE_MAX_SHIFT - NL_CACHE_MIN_SHIFT + 1)
#define NL_CACHE_LIMIT ((size_t)256 << 20)          /* default cap on parked bytes */

static atomic_size_t nl_cpu_live_bytes;

/* A parked block stores the link to the next one of its class in its first bytes. */
typedef struct nl_free_block { struct nl_free_block *next; } nl_free_block;

static struct {
  pthread_mutex_t lock;
  nl_free_block *lists[NL_CACHE_CLASSES];
  size_t cached;       /* bytes parked in lists */
  size_t limit;        /* cap on cached; SIZE_MAX until read from the environment */
  size_t hits, misses; /* statistics for tests */
} nl_cache = {.lock = PTHREAD_MUTEX_INITIALIZER, .limit = SIZE_MAX};

size_t nl_cpu_bytes_in_use(void) { return atomic_load(&nl_cpu_live_bytes); }

/* Size class of a request: index into lists and the block size, or -1 for uncached sizes. */
static int nl_cache_class(size_t nbytes, size_t *block) {
  if (nbytes > NL_CACHE_MAX_BLOCK) {
    *block = (nbytes + 63) & ~(size_t)63;
    return -1;
  }
  int c = 0;
  size_t b = (size_t)1 << NL_CACHE_MIN_SHIFT;
  while (b < nbytes) { b <<= 1; c++; }
  *block = b;
  return c;
}

/* Called with the lock held. */
static size_t nl_cache_limit(void) {
  if (nl_cache.limit == SIZE_MAX) {
    const char *e = getenv("NNLUA_CPU_CACHE_MB");
    nl_cache.limit = e && *e ? (size_t)strtoull(e, NULL, 10) << 20 : NL_CACHE_LIMIT;
  }
  return nl_cache.limit;
}

void nl_cpu_cache_set_limit(size_t bytes) {
  pthread_mutex_lock(&nl_cache.lock);
  nl_cache.limit = bytes;
  pthread_mutex_unlock(&nl_cache.lock);
  if (nl_cpu_cache_bytes() > bytes) nl_cpu_cache_release();
}

size_t nl_cpu_cache_bytes(void) {
  pthread_mutex_lock(&nl_cache.lock);
  size_t n = nl_cache.cached;
  pthread_mutex_unlock(&nl_cache.lock);
  return n;
}

void nl_cpu_cache_stats(size_t *hits, size_t *misses) {
  pthread_mutex_lock(&nl_cache.lock);
  *hits = nl_cache.hits;
  *misses = nl_cache.misses;
  pthread_mutex_unlock(&nl_cache.lock);
}

size_t nl_cpu_cache_release(void) {
  nl_free_block *lists[NL_CACHE_CLASSES];
  pthread_mutex_lock(&nl_cache.lock);
  memcpy(lists, nl_cache.lists, sizeof lists);
  memset(nl_cache.lists, 0, sizeof nl_cache.lists);
  size_t n = nl_cache.cached;
  nl_cache.cached = 0;
  pthread_mutex_unlock(&nl_cache.lock);
  nl_pool_flush(); /* this thread's pooled headers and small storages too (not counted) */
  for (int c = 0; c < NL_CACHE_CLASSES; c++) /* free outside the lock */
    for (nl_free_block *b = lists[c], *next; b; b = next) {
      next = b->next;
      free(b);
    }
  return n;
}

static void *nl_cpu_alloc(size_t nbytes) {
  size_t block;
  int c = nl_cache_class(nbytes, &block);
  if (c >= 0) {
    pthread_mutex_lock(&nl_cache.lock);
    nl_free_block *b = nl_cache.lists[c];
    if (b) {
      nl_cache.lists[c] = b->next;
      nl_cache.cached -= block;
      nl_cache.hits++;
    } else {
      nl_cache.misses++;
    }
    pthread_mutex_unlock(&nl_cache.lock);
    if (b) return b;
  }
  void *p = aligned_alloc(64, block);
  if (!p && nl_cpu_cache_release() > 0) p = aligned_alloc(64, block); /* retry once */
  return p;
}

static void nl_cpu_free(void *p, size_t nbytes) {
  size_t block;
  int c = nl_cache_class(nbytes, &block);
  if (c >= 0) {
    pthread_mutex_lock(&nl_cache.lock);
    int park = nl_cache.cached + block <= nl_cache_limit();
    if (park) {
      nl_free_block *b = p;
      b->next = nl_cache.lists[c];
      nl_cache.lists[c] = b;
      nl_cache.cached += block;
    }
    pthread_mutex_unlock(&nl_cache.lock);
    if (park) return;
  }
  free(p);
}

const nl_device_allocator *nl_cuda_allocator; /* set by cuda/ when compiled in */

void *nl_device_alloc(nl_device dev, size_t nbytes) {
  if (dev.type == NL_CPU) {
    void *p = nl_cpu_alloc(nbytes);
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
    nl_cpu_free(p, nbytes);
  } else if (nl_cuda_allocator) {
    nl_cuda_allocator->free(p, nbytes, dev.index);
  }
}

/* ---- per-thread pools (nl_alloc.h) ---------------------------------------------------- */
/* Blocks per pool and thread. The Lua GC frees garbage tensors in batches of tens of thousands
 * (a cycle per doubling of the Lua heap); blocks parked here were live at that peak anyway. */
#define NL_POOL_CAP 65536

typedef struct nl_pool_item { struct nl_pool_item *next; } nl_pool_item;
typedef struct nl_pools {
  nl_pool_item *head[NL_NPOOLS];
  int n[NL_NPOOLS];
  bool registered; /* the thread-exit destructor knows this thread's lists */
} nl_pools;

static _Thread_local nl_pools nl_tl_pools;
static atomic_int nl_pools_on = -1; /* -1: not read from the environment yet */
static pthread_key_t nl_pool_key;
static pthread_once_t nl_pool_once = PTHREAD_ONCE_INIT;

static void nl_pools_free(nl_pools *p) {
  for (int k = 0; k < NL_NPOOLS; k++) {
    for (nl_pool_item *it = p->head[k], *nx; it; it = nx) {
      nx = it->next;
      free(it);
    }
    p->head[k] = NULL;
    p->n[k] = 0;
  }
}
static void nl_pool_thread_exit(void *v) { nl_pools_free(v); }
static void nl_pool_key_init(void) { pthread_key_create(&nl_pool_key, nl_pool_thread_exit); }

/* Under AddressSanitizer the pools stay off, so it sees every block's use after free. */
#if defined(__SANITIZE_ADDRESS__)
#define NL_POOLS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NL_POOLS_ASAN 1
#endif
#endif

static bool nl_pools_enabled(void) {
#ifdef NL_POOLS_ASAN
  return false;
#endif
  int on = atomic_load_explicit(&nl_pools_on, memory_order_relaxed);
  if (on < 0) {
    const char *e = getenv("NNLUA_CPU_CACHE_MB");
    on = !(e && *e && strtoull(e, NULL, 10) == 0);
    atomic_store(&nl_pools_on, on);
  }
  return on;
}

void *nl_pool_get(int pool, size_t size) {
  nl_pools *p = &nl_tl_pools;
  nl_pool_item *it = p->head[pool];
  if (it) {
    p->head[pool] = it->next;
    p->n[pool]--;
    return it;
  }
  if (pool == NL_POOL_STORAGE) return aligned_alloc(64, (size + 63) & ~(size_t)63); /* inline data */
  return malloc(size);
}

void nl_pool_put(int pool, void *b) {
  nl_pools *p = &nl_tl_pools;
  if (p->n[pool] >= NL_POOL_CAP || !nl_pools_enabled()) {
    free(b);
    return;
  }
  if (!p->registered) {
    pthread_once(&nl_pool_once, nl_pool_key_init);
    pthread_setspecific(nl_pool_key, p);
    p->registered = true;
  }
  nl_pool_item *it = b;
  it->next = p->head[pool];
  p->head[pool] = it;
  p->n[pool]++;
}

void nl_pool_flush(void) { nl_pools_free(&nl_tl_pools); }

/* ---- storages --------------------------------------------------------------------------- */
_Static_assert(sizeof(nl_storage) <= 64, "nl_storage must fit the 64-byte head of its block");

static inline bool nl_storage_inline(const nl_storage *s) {
  return s->data == (const char *)s + 64;
}

nl_storage *nl_storage_new(size_t nbytes, nl_device dev) {
  char *b = nl_pool_get(NL_POOL_STORAGE, NL_STORAGE_BLOCK);
  if (!b) return nl_fail("out of memory");
  nl_storage *s = (nl_storage *)b;
  void *data;
  if (dev.type == NL_CPU && nbytes <= NL_STORAGE_INLINE) { /* small: data in the same block */
    data = b + 64;
    atomic_fetch_add_explicit(&nl_cpu_live_bytes, nbytes, memory_order_relaxed);
  } else {
    data = nl_device_alloc(dev, nbytes);
    if (!data) { nl_pool_put(NL_POOL_STORAGE, b); return NULL; }
  }
  *s = (nl_storage){.refcount = 1, .data = data, .nbytes = nbytes, .device = dev};
  return s;
}

nl_storage *nl_storage_wrap(void *data, size_t nbytes, nl_device dev, nl_release_fn release,
                            void *ctx) {
  nl_storage *s = nl_pool_get(NL_POOL_STORAGE, NL_STORAGE_BLOCK);
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
  } else if (nl_storage_inline(s)) {
    atomic_fetch_sub_explicit(&nl_cpu_live_bytes, s->nbytes, memory_order_relaxed);
  } else {
    nl_device_free(s->device, s->data, s->nbytes);
  }
  nl_pool_put(NL_POOL_STORAGE, s);
}
