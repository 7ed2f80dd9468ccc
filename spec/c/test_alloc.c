/* test_alloc.c: the CPU caching allocator of tensor/storage.c.
 * Checks: live-byte accounting excludes parked blocks, a freed block is reused by the next
 * request of its size class, blocks above 64 MB are never parked, the cap on parked bytes,
 * release, and concurrent alloc/free from several threads (counters return to the start). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nl_alloc.h"
#include "nl_tensor.h"

static int failures;
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                          \
    }                                                                      \
  } while (0)

static void *worker(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void *held[8] = {0};
  size_t sizes[8] = {0};
  for (int i = 0; i < 20000; i++) {
    seed = seed * 1103515245u + 12345u;
    int slot = (seed >> 16) % 8;
    if (held[slot]) {
      CHECK(((unsigned char *)held[slot])[0] == (unsigned char)sizes[slot]); /* nobody else wrote */
      nl_device_free(nl_cpu(), held[slot], sizes[slot]);
      held[slot] = NULL;
    } else {
      sizes[slot] = 1 + (seed >> 8) % (256 * 1024);
      held[slot] = nl_device_alloc(nl_cpu(), sizes[slot]);
      CHECK(held[slot] != NULL);
      CHECK(((uintptr_t)held[slot] & 63) == 0);
      memset(held[slot], (unsigned char)sizes[slot], sizes[slot]);
    }
  }
  for (int s = 0; s < 8; s++)
    if (held[s]) nl_device_free(nl_cpu(), held[s], sizes[s]);
  return NULL;
}

int main(void) {
  /* The cap normally comes from NNLUA_CPU_CACHE_MB (the sanitizer run sets 0 to turn caching
   * off): this test is about the cache, so it sets the default cap itself. */
  nl_cpu_cache_set_limit((size_t)256 << 20);
  nl_cpu_cache_release();
  size_t base = nl_cpu_bytes_in_use();

  /* accounting and reuse */
  void *a = nl_device_alloc(nl_cpu(), 3000000); /* class 4 MB */
  CHECK(a && ((uintptr_t)a & 63) == 0);
  CHECK(nl_cpu_bytes_in_use() == base + 3000000);
  nl_device_free(nl_cpu(), a, 3000000);
  CHECK(nl_cpu_bytes_in_use() == base);
  CHECK(nl_cpu_cache_bytes() == (size_t)4 << 20);
  void *b = nl_device_alloc(nl_cpu(), 4 << 20); /* same class: the parked block */
  CHECK(b == a);
  CHECK(nl_cpu_cache_bytes() == 0);
  size_t hits, misses;
  nl_cpu_cache_stats(&hits, &misses);
  CHECK(hits >= 1);
  nl_device_free(nl_cpu(), b, 4 << 20);

  /* zero-byte and tiny requests get a 64-byte block */
  void *z = nl_device_alloc(nl_cpu(), 0);
  CHECK(z != NULL);
  nl_device_free(nl_cpu(), z, 0);

  /* blocks above 64 MB bypass the cache */
  size_t before = nl_cpu_cache_bytes();
  void *big = nl_device_alloc(nl_cpu(), (size_t)65 << 20);
  CHECK(big != NULL);
  nl_device_free(nl_cpu(), big, (size_t)65 << 20);
  CHECK(nl_cpu_cache_bytes() == before);

  /* release */
  CHECK(nl_cpu_cache_release() == before);
  CHECK(nl_cpu_cache_bytes() == 0);

  /* cap: with a 1 MB limit, a freed 2 MB block goes back to the system */
  nl_cpu_cache_set_limit((size_t)1 << 20);
  void *c = nl_device_alloc(nl_cpu(), (size_t)2 << 20);
  nl_device_free(nl_cpu(), c, (size_t)2 << 20);
  CHECK(nl_cpu_cache_bytes() == 0);
  void *d = nl_device_alloc(nl_cpu(), 1000);
  nl_device_free(nl_cpu(), d, 1000);
  CHECK(nl_cpu_cache_bytes() == 1024);
  nl_cpu_cache_set_limit((size_t)256 << 20);

  /* storages go through the same path */
  nl_storage *s = nl_storage_new(4096, nl_cpu());
  CHECK(s && nl_cpu_bytes_in_use() == base + 4096);
  nl_storage_release(s);
  CHECK(nl_cpu_bytes_in_use() == base);

  /* threads */
  pthread_t th[4];
  for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  CHECK(nl_cpu_bytes_in_use() == base);
  CHECK(nl_cpu_cache_bytes() <= (size_t)256 << 20);
  nl_cpu_cache_release();
  CHECK(nl_cpu_cache_bytes() == 0);

  if (failures) {
    fprintf(stderr, "test_alloc: %d failure(s)\n", failures);
    return 1;
  }
  printf("test_alloc: ok\n");
  return 0;
}
