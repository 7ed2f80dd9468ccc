/* nl_philox.h: the Philox4x32-10 counter-based generator (Salmon et al., SC'11; Random123),
 * the generator behind PyTorch's CUDA random numbers.
 *
 * nnlua's stream: the random kernel call number `offset` of a generator seeded with `seed`
 * gives element i (row-major, logical index) the 128-bit block
 *     philox(counter = {lo(i), hi(i), lo(offset), hi(offset)}, key = {lo(seed), hi(seed)}).
 * Each element depends only on (seed, offset, i), so any thread split, and a future CUDA
 * kernel, reproduces the same values bit for bit. Written once for the CPU and CUDA. */
#ifndef NL_PHILOX_H
#define NL_PHILOX_H
#include <stdint.h>

#ifdef __CUDACC__
#define NL_PHILOX_FN __host__ __device__ __forceinline__
#else
#define NL_PHILOX_FN static inline
#endif

NL_PHILOX_FN void nl_philox(uint32_t out[4], uint64_t i, uint64_t offset, uint64_t seed) {
  uint32_t c0 = (uint32_t)i, c1 = (uint32_t)(i >> 32), c2 = (uint32_t)offset, c3 = (uint32_t)(offset >> 32);
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0, hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u; /* Weyl key schedule */
    k1 += 0xBB67AE85u;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* Uniform doubles in [0, 1) with 53 random bits, and floats in [0, 1) with 24. */
NL_PHILOX_FN double nl_u53(uint32_t hi, uint32_t lo) {
  return (double)((((uint64_t)hi << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}
NL_PHILOX_FN float nl_u24(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }
#endif
