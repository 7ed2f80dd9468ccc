/* reduce.c: CPU kernels of the reduce family: reductions, max/min along a dim, scans and
 * the softmax family.
 *
 * Every kernel sees the problem in the form the front end (ops_reduce.c) prepared:
 *   in[0]  contiguous, viewed as x[O][R][I]   (kargs m = O, k = R, n = I)
 *   out    contiguous, out[O][I] for reductions, out[O][R][I] for scans and softmax
 * R is the reduced (or scanned) extent. I == 1 is a reduction over the innermost contiguous
 * run: one pass over R contiguous elements per output (vectorised with omp simd). I > 1
 * reduces an outer dim: outputs are processed in blocks of NL_RCHUNK adjacent columns, and
 * each of the R rows is accumulated into the block (a contiguous, vectorisable inner loop),
 * never one strided walk per output element. Work is split over (o, column block) tasks with
 * OpenMP above NL_PAR_GRAIN elements.
 *
 * Numerics: float32 and float64 accumulate in double; full inner sums are pairwise (blocks of
 * 1024 summed with simd lanes), so 1e7-element float32 sums are exact to float32 rounding.
 * var is two-pass (mean, then squared deviations); logsumexp and softmax subtract the max;
 * amax/amin/max/min propagate NaN (the first NaN wins) like PyTorch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "nl_cpu.h"

#include "../nl_alloc.h"

#include "../nl_math.h" /* nl_expf (also brings <tgmath.h>: math calls here take doubles) */
#undef I /* <complex.h>'s imaginary unit: I is an extent here */

#define NL_RCHUNK 256

/* Loops over the tasks of an [O][R][I] problem: o (outer index), i0 (first column of the
 * block) and ni (columns in the block; 1 when I == 1). */
#define NL_FOR_TASKS(O, R, I, ...)                                                         \
  do {                                                                                     \
    int64_t nch_ = (I) <= 1 ? 1 : ((I) + NL_RCHUNK - 1) / NL_RCHUNK;                       \
    int64_t ntask_ = (O) * nch_;                                                           \
    int par_ = (O) * (R) * (I) >= NL_PAR_GRAIN && ntask_ > 1;                              \
    NL_OMP_FOR_IF(par_,                                 \
    for (int64_t t_ = 0; t_ < ntask_; t_++) {                                              \
      int64_t o = t_ / nch_, i0 = (t_ % nch_) * NL_RCHUNK;                                 \
      int64_t ni = (I) - i0 < NL_RCHUNK ? (I) - i0 : NL_RCHUNK;                            \
      (void)ni;                                                                            \
      __VA_ARGS__                                                                          \
    });                                                                                      \
  } while (0)

/* ---- pairwise sums of contiguous runs (double accumulation) ---------------------------- */
#define NL_DEF_PSUM(NAME, T, EXPR)                                        \
  static double NAME(const T *p, int64_t n, double c) {                   \
    if (n <= 1024) {                                                      \
      double s = 0;                                                       \
      _Pragma("omp simd reduction(+ : s)")                                \
      for (int64_t i = 0; i < n; i++) { double v = (double)p[i]; s += EXPR; } \
      return s;                                                           \
    }                                                                     \
    int64_t h = (n / 2 + 1023) / 1024 * 1024;                             \
    return NAME(p, h, c) + NAME(p + h, n - h, c);                         \
  }
NL_DEF_PSUM(nl_psum_d, double, v)
NL_DEF_PSUM(nl_psq_f, float, (v - c) * (v - c)) /* sum of squared deviations from c */
NL_DEF_PSUM(nl_psq_d, double, (v - c) * (v - c))
NL_DEF_PSUM(nl_pabs_f, float, fabs(v))
NL_DEF_PSUM(nl_pabs_d, double, fabs(v))
/* float32 inner sums: pairwise over blocks of 256 (PyTorch's cascade sum, error O(log n)
 * ulps). Each block is summed in 16 lanes (lane l takes elements l, l+16, ...), the lanes then
 * folded in halves (lane l += lane l + w, w = 8, 4, 2, 1). GCC vector types fix that layout in
 * the source (one zmm, two ymm or four xmm per accumulator), so the result is bit-identical
 * on every ISA and at every optimisation level. The accumulator stays in registers: the last
 * partial vector is padded with -0.0f (x + -0 is x exactly, -0 and NaN included; built by a
 * permute, nl_f16_add_tail) rather than
 * added lane by lane, which would index it at run time and keep it in memory (a
 * store-to-load chain per vector: 1.5x slower on 1000-element rows). The blocks are summed one
 * after the other: a sequential walk streams from memory faster than interleaved blocks.
 * The leaf takes up to 8 blocks (2048 elements) per call and adds the block sums pairwise;
 * it is compiled per ISA, its helpers always inlined (out of line they would be compiled for
 * baseline x86-64, not the caller's clone). */
typedef float nl_f16 __attribute__((vector_size(64)));
typedef int32_t nl_i16 __attribute__((vector_size(64)));
/* (vectors go by pointer: passing them by value would trip GCC's psABI warning) */
__attribute__((always_inline)) static inline void nl_f16_add(nl_f16 *a, const float *p) {
  nl_f16 v;
  memcpy(&v, p, sizeof v);
  *a += v;
}
__attribute__((always_inline)) static inline float nl_f16_fold(const nl_f16 *pa) {
  nl_f16 a = *pa;
  a += __builtin_shuffle(a, (nl_i16){8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15});
  a += __builtin_shuffle(a, (nl_i16){4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7});
  a += __builtin_shuffle(a, (nl_i16){2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3});
  a += __builtin_shuffle(a, (nl_i16){1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  return a[0];
}
/* *a += the last partial vector of a run: q[i + l] in lanes l < m - i (1..15), -0.0f in the
 * others. With m >= 16 it is the vector of the run's last 16 elements moved down by
 * 16 - (m - i) lanes: one load and one permute (built in memory element by element, the
 * vector load waits for the 16 stores: ~40 cycles per row, 20% of a 1000x1000 sum(2)).
 * Shorter runs are padded in memory. */
__attribute__((always_inline)) static inline void nl_f16_add_tail(nl_f16 *a, const float *q, int64_t i, int64_t m) {
  int32_t t = (int32_t)(m - i);
  nl_f16 v;
  if (m >= 16) {
    const nl_i16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    memcpy(&v, q + m - 16, sizeof v);
    v = __builtin_shuffle(v, (lane + (16 - t)) & 15);
    nl_i16 keep = lane < t; /* -1 where q has the lane */
    v = (nl_f16)(((nl_i16)v & keep) | (((nl_i16){0} + INT32_MIN) & ~keep)); /* -0.0f's bits */
  } else {
    float tail[16];
    for (int l = 0; l < 16; l++) tail[l] = l < t ? q[i + l] : -0.f;
    memcpy(&v, tail, sizeof v);
  }
  *a += v;
}
__attribute__((always_inline)) static inline float nl_fsum_lanes(const float *q, int64_t m) {
  nl_f16 acc = {0};
  int64_t i = 0;
  for (; i + 16 <= m; i += 16) nl_f16_add(&acc, q + i);
  if (i < m) nl_f16_add_tail(&acc, q, i, m);
  return nl_f16_fold(&acc);
}
__attribute__((always_inline)) static inline float nl_fsum_leaf_body(const float *p, int64_t n) {
  float b[8] = {0};
  for (int k = 0; k * 256 < n; k++) {
    int64_t m = n - k * 256 < 256 ? n - k * 256 : 256;
    b[k] = nl_fsum_lanes(p + k * 256, m);
  }
  return ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
}
NL_CPU_CLONES static float nl_fsum_leaf(const float *p, int64_t n) { return nl_fsum_leaf_body(p, n); }
/* out[o] = scale * (sum of row o) for n rows of R <= 2048 floats: one call (one clone
 * dispatch) per group of rows instead of per row; each row's value is nl_psum_f32's. (Four
 * rows at a time or a row's four blocks interleaved, for four independent add chains, were
 * measured slower on 1000x1000 with two threads: 36-40 vs 30-34 us; one row at a time keeps
 * a single sequential stream from L3.) */
NL_CPU_CLONES static void nl_fsum_rows(const float *x, int64_t n, int64_t R, float *out, double scale) {
  for (int64_t o = 0; o < n; o++) out[o] = (float)((double)nl_fsum_leaf_body(x + o * R, R) * scale);
}
static double nl_psum_f32(const float *p, int64_t n, double c) {
  if (n <= 2048) return nl_fsum_leaf(p, n);
  int64_t h = (n / 2 + 2047) / 2048 * 2048;
  return nl_psum_f32(p, h, c) + nl_psum_f32(p + h, n - h, c);
}
/* Column sums of float32 rows (reduction over an outer dim) are blocked: rows are added in
 * float lanes in blocks of 64 rows (per column ((0 + x[r0]) + x[r0+1]) + ..., in row order),
 * and the block sums go into a double accumulator in block order. nl_fcolpart computes one
 * block's float sums for ni (<= NL_FCOL_W) columns in strips of 128 columns held in eight
 * vector registers over the block's rows, stored once at the end. (Accumulating whole rows
 * into a part[] array in memory instead stores into it every few rows, and when part and the
 * rows happen to share address bits modulo 4 KB the loads stall behind those stores: the
 * same loop ran 42 or 70 us on 1000x1000 depending on where part sat.) A strip with fewer
 * than 8 whole vectors re-reads its first vector for the missing ones (sums discarded); the
 * last ni % 16 columns take the lanes of a vector loaded from the row's last 16 columns (a
 * masked or padded load per row cost 8 us of 50 on 1000x1000). Each row of a strip is
 * prefetched NL_FCOL_PF rows ahead: rows of 4000 bytes put every row in another 4 KB page,
 * where the L2 stream prefetcher stops, so without it the walk waits on L3 row after row
 * (1000x1000 on two threads: 44 -> 40 us, medians of 8 alternating runs on a loaded machine;
 * prefetches past the tensor's end are harmless hints). */
#define NL_FCOL_W 1024
#define NL_FCOL_B 64
#define NL_FCOL_PF 8
NL_CPU_CLONES static void nl_fcolpart(const float *xp, int64_t nr, int64_t I, int64_t ni, float *part) {
  int64_t j = 0;
  for (; j + 16 <= ni; j += 128) {
    int64_t nv = (ni - j) / 16 < 8 ? (ni - j) / 16 : 8, off[8];
    for (int k = 0; k < 8; k++) off[k] = k < nv ? 16 * k : 0;
    nl_f16 s[8] = {{0}};
    nl_f16 s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6], s7 = s[7];
    for (int64_t r = 0; r < nr; r++) {
      const float *a = xp + r * I + j;
      for (int k = 0; k < 8; k++) __builtin_prefetch(a + NL_FCOL_PF * I + 16 * k); /* see above */
      nl_f16_add(&s0, a + off[0]), nl_f16_add(&s1, a + off[1]), nl_f16_add(&s2, a + off[2]);
      nl_f16_add(&s3, a + off[3]), nl_f16_add(&s4, a + off[4]), nl_f16_add(&s5, a + off[5]);
      nl_f16_add(&s6, a + off[6]), nl_f16_add(&s7, a + off[7]);
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3, s[4] = s4, s[5] = s5, s[6] = s6, s[7] = s7;
    memcpy(part + j, s, sizeof(float) * 16 * (size_t)nv);
  }
  j = ni / 16 * 16;
  if (j < ni && ni >= 16) { /* the row's last 16 columns (overlapping): a plain load */
    int64_t nt = ni - j;
    nl_f16 t = {0};
    for (int64_t r = 0; r < nr; r++) nl_f16_add(&t, xp + r * I + ni - 16);
    for (int64_t l = 0; l < nt; l++) part[j + l] = t[16 - nt + l];
  } else if (j < ni) {
    for (int64_t l = j; l < ni; l++) {
      float acc = 0;
      for (int64_t r = 0; r < nr; r++) acc += xp[r * I + l];
      part[l] = acc;
    }
  }
}

/* out[o][i] = scale * sum_r x[o][r][i] for float32, I > 1. Tasks are (o, row block, column
 * chunk of up to NL_FCOL_W): every task streams whole rows (or long runs of them), and the
 * threads split the rows. The block sums land in a buffer (numel / 64 floats) and are added
 * in double, in block order, afterwards: the result is the same for any thread count. (The
 * generic path's 256-column chunks walk 4000-byte rows in 1 KB pieces, which the prefetchers
 * follow badly: 1000x1000 sum(1) took 1.6x as long.) */
static void nl_fcolsum_run(const float *x, float *out, int64_t O, int64_t R, int64_t I, double scale) {
  int64_t nb = (R + NL_FCOL_B - 1) / NL_FCOL_B, nch = (I + NL_FCOL_W - 1) / NL_FCOL_W;
  int64_t ntask = O * nb * nch;
  size_t nbytes = sizeof(float) * (size_t)(O * nb * I);
  float *parts = nl_device_alloc(nl_cpu(), nbytes); /* the caching allocator: no page faults */
  if (parts) {
    NL_OMP_FOR_IF(O * R * I >= NL_PAR_GRAIN && ntask > 1,
    for (int64_t t = 0; t < ntask; t++) {
      int64_t o = t / (nb * nch), b = t / nch % nb, i0 = t % nch * NL_FCOL_W;
      int64_t ni = I - i0 < NL_FCOL_W ? I - i0 : NL_FCOL_W;
      int64_t nr = R - b * NL_FCOL_B < NL_FCOL_B ? R - b * NL_FCOL_B : NL_FCOL_B;
      nl_fcolpart(x + (o * R + b * NL_FCOL_B) * I + i0, nr, I, ni, parts + (o * nb + b) * I + i0);
    });
  }
  for (int64_t o = 0; o < O; o++) /* the double sums over blocks (out of memory: serially) */
    for (int64_t i0 = 0; i0 < I; i0 += NL_FCOL_W) {
      int64_t ni = I - i0 < NL_FCOL_W ? I - i0 : NL_FCOL_W;
      double acc[NL_FCOL_W] = {0};
      float one[NL_FCOL_W];
      for (int64_t b = 0; b < nb; b++) {
        const float *part = parts + (o * nb + b) * I + i0;
        if (!parts) {
          int64_t nr = R - b * NL_FCOL_B < NL_FCOL_B ? R - b * NL_FCOL_B : NL_FCOL_B;
          nl_fcolpart(x + (o * R + b * NL_FCOL_B) * I + i0, nr, I, ni, one);
          part = one;
        }
        for (int64_t j = 0; j < ni; j++) acc[j] += part[j];
      }
      for (int64_t j = 0; j < ni; j++) out[o * I + i0 + j] = (float)(acc[j] * scale);
    }
  if (parts) nl_device_free(nl_cpu(), parts, nbytes);
}
#define NL_PSUM(p, n) _Generic((p), const float *: nl_psum_f32, const double *: nl_psum_d)(p, n, 0)
#define NL_PSQ(p, n, c) _Generic((p), const float *: nl_psq_f, const double *: nl_psq_d)(p, n, c)
#define NL_PABS(p, n) _Generic((p), const float *: nl_pabs_f, const double *: nl_pabs_d)(p, n, 0)

/* Stores an int64 into element i of an integer/bool output of dtype dt. */
static inline void nl_store_i64(nl_dtype dt, void *base, int64_t i, int64_t v) {
  switch (dt) {
  case NL_INT64: ((int64_t *)base)[i] = v; break;
  case NL_INT32: ((int32_t *)base)[i] = (int32_t)v; break;
  case NL_UINT8: ((uint8_t *)base)[i] = (uint8_t)v; break;
  case NL_BOOL: ((uint8_t *)base)[i] = v != 0; break;
  default: break;
  }
}

#define NL_DIMS(a) int64_t O = (a)->m, R = (a)->k, I = (a)->n

/* ---- sum, mean, prod -------------------------------------------------------------------- */
/* SUM and MEAN (floats: out dtype = in dtype; ints: int64 accumulation into int64 or T). */
static void nl_sum_mean(const nl_kargs *a, bool mean) {
  NL_DIMS(a);
  nl_dtype dt = a->in[0]->dtype, odt = a->out->dtype;
  if (nl_dtype_is_float(dt)) {
    double scale = mean ? 1.0 / (double)R : 1.0;
    if (dt == NL_FLOAT32 && I > 1) {
      nl_fcolsum_run(nl_data(a->in[0]), nl_data(a->out), O, R, I, scale);
      return;
    }
    if (dt == NL_FLOAT32 && I == 1 && R <= 2048) { /* rows in groups of 64 */
      const float *x = nl_data(a->in[0]);
      float *out = nl_data(a->out);
      int64_t ng = (O + 63) / 64;
      NL_OMP_FOR_IF(O * R >= NL_PAR_GRAIN && ng > 1,
      for (int64_t g = 0; g < ng; g++)
        nl_fsum_rows(x + g * 64 * R, O - g * 64 < 64 ? O - g * 64 : 64, R, out + g * 64, scale););
      return;
    }
    NL_CPU_DISPATCH_FLOAT(dt, T, {
      const T *x = nl_data(a->in[0]);
      T *out = nl_data(a->out);
      NL_FOR_TASKS(O, R, I, {
        const T *xp = x + o * R * I + i0;
        T *op = out + o * I + i0;
        if (I == 1) {
          op[0] = (T)(NL_PSUM(xp, R) * scale);
        } else {
          double acc[NL_RCHUNK] = {0};
          for (int64_t r = 0; r < R; r++) {
            const T *row = xp + r * I;
            for (int64_t j = 0; j < ni; j++) acc[j] += row[j];
          }
          for (int64_t j = 0; j < ni; j++) op[j] = (T)(acc[j] * scale);
        }
      });
    })
    return;
  }
  NL_CPU_DISPATCH(dt, T, {
    const T *x = nl_data(a->in[0]);
    void *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      uint64_t acc[NL_RCHUNK] = {0}; /* unsigned: wraps like PyTorch's int64 without UB */
      for (int64_t r = 0; r < R; r++) {
        const T *row = xp + r * I;
        for (int64_t j = 0; j < ni; j++) acc[j] += (uint64_t)(int64_t)row[j];
      }
      for (int64_t j = 0; j < ni; j++) nl_store_i64(odt, out, o * I + i0 + j, (int64_t)acc[j]);
    });
  })
}

void nl_cpu_SUM(const nl_kargs *a) { nl_sum_mean(a, false); }
void nl_cpu_MEAN(const nl_kargs *a) { nl_sum_mean(a, true); }

void nl_cpu_PROD(const nl_kargs *a) {
  NL_DIMS(a);
  nl_dtype dt = a->in[0]->dtype, odt = a->out->dtype;
  if (nl_dtype_is_float(dt)) {
    NL_CPU_DISPATCH_FLOAT(dt, T, {
      const T *x = nl_data(a->in[0]);
      T *out = nl_data(a->out);
      NL_FOR_TASKS(O, R, I, {
        const T *xp = x + o * R * I + i0;
        double acc[NL_RCHUNK];
        for (int64_t j = 0; j < ni; j++) acc[j] = 1;
        for (int64_t r = 0; r < R; r++)
          for (int64_t j = 0; j < ni; j++) acc[j] *= xp[r * I + j];
        for (int64_t j = 0; j < ni; j++) out[o * I + i0 + j] = (T)acc[j];
      });
    })
    return;
  }
  NL_CPU_DISPATCH(dt, T, {
    const T *x = nl_data(a->in[0]);
    void *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      uint64_t acc[NL_RCHUNK]; /* unsigned: wraps like PyTorch's int64 without UB */
      for (int64_t j = 0; j < ni; j++) acc[j] = 1;
      for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < ni; j++) acc[j] *= (uint64_t)(int64_t)xp[r * I + j];
      for (int64_t j = 0; j < ni; j++) nl_store_i64(odt, out, o * I + i0 + j, (int64_t)acc[j]);
    });
  })
}

/* ---- var / std (two-pass), norm, logsumexp: floating input, same dtype out ---------------- */
/* alpha = correction (divisor max(0, R - correction)); ibeta = 1: take the sqrt (std). */
void nl_cpu_VAR(const nl_kargs *a) {
  NL_DIMS(a);
  double div = (double)R - a->alpha;
  if (div < 0) div = 0;
  bool root = a->ibeta != 0;
  NL_CPU_DISPATCH_FLOAT(a->in[0]->dtype, T, {
    const T *x = nl_data(a->in[0]);
    T *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      T *op = out + o * I + i0;
      if (I == 1) {
        double mean = NL_PSUM(xp, R) / (double)R;
        double v = NL_PSQ(xp, R, mean) / div;
        op[0] = (T)(root ? sqrt(v) : v);
      } else {
        double mean[NL_RCHUNK] = {0}, m2[NL_RCHUNK] = {0};
        for (int64_t r = 0; r < R; r++)
          for (int64_t j = 0; j < ni; j++) mean[j] += xp[r * I + j];
        for (int64_t j = 0; j < ni; j++) mean[j] /= (double)R;
        for (int64_t r = 0; r < R; r++)
          for (int64_t j = 0; j < ni; j++) {
            double d = (double)xp[r * I + j] - mean[j];
            m2[j] += d * d;
          }
        for (int64_t j = 0; j < ni; j++) op[j] = (T)(root ? sqrt(m2[j] / div) : m2[j] / div);
      }
    });
  })
}

/* Vector p-norm, alpha = p: 2, 1, inf (max |x|), -inf (min |x|), 0 (count of non-zeros), or
 * any other p: (sum |x|^p)^(1/p). */
void nl_cpu_NORM(const nl_kargs *a) {
  NL_DIMS(a);
  double p = a->alpha;
  int kind = p == 2 ? 2 : p == 1 ? 1 : p == INFINITY ? 3 : p == -INFINITY ? 4 : p == 0 ? 0 : 5;
  NL_CPU_DISPATCH_FLOAT(a->in[0]->dtype, T, {
    const T *x = nl_data(a->in[0]);
    T *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      T *op = out + o * I + i0;
      if (I == 1 && kind == 2) {
        op[0] = (T)sqrt(NL_PSQ(xp, R, 0.0));
      } else if (I == 1 && kind == 1) {
        op[0] = (T)NL_PABS(xp, R);
      } else {
        double acc[NL_RCHUNK];
        double init = kind == 3 ? 0 : kind == 4 ? INFINITY : 0;
        for (int64_t j = 0; j < ni; j++) acc[j] = init;
        for (int64_t r = 0; r < R; r++) {
          const T *row = xp + r * I;
          switch (kind) {
          case 0: for (int64_t j = 0; j < ni; j++) acc[j] += row[j] != 0; break;
          case 1: for (int64_t j = 0; j < ni; j++) acc[j] += fabs((double)row[j]); break;
          case 2: for (int64_t j = 0; j < ni; j++) acc[j] += (double)row[j] * (double)row[j]; break;
          case 3: for (int64_t j = 0; j < ni; j++) { double v = fabs((double)row[j]); acc[j] = (v > acc[j] || v != v) ? v : acc[j]; } break;
          case 4: for (int64_t j = 0; j < ni; j++) { double v = fabs((double)row[j]); acc[j] = (v < acc[j] || v != v) ? v : acc[j]; } break;
          default: for (int64_t j = 0; j < ni; j++) acc[j] += pow(fabs((double)row[j]), p); break;
          }
        }
        for (int64_t j = 0; j < ni; j++)
          op[j] = (T)(kind == 2 ? sqrt(acc[j]) : kind == 5 ? pow(acc[j], 1.0 / p) : acc[j]);
      }
    });
  })
}

/* log(sum(exp(x))) = m + log(sum(exp(x - m))) with m the max; an infinite max is the answer
 * (all -inf gives -inf, PyTorch's value; an empty reduction gives -inf too). */
void nl_cpu_LOGSUMEXP(const nl_kargs *a) {
  NL_DIMS(a);
  NL_CPU_DISPATCH_FLOAT(a->in[0]->dtype, T, {
    const T *x = nl_data(a->in[0]);
    T *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      double m[NL_RCHUNK], s[NL_RCHUNK] = {0};
      for (int64_t j = 0; j < ni; j++) m[j] = -INFINITY;
      for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < ni; j++) {
          double v = xp[r * I + j];
          m[j] = (v > m[j] || v != v) ? v : m[j];
        }
      for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < ni; j++)
          if (isfinite(m[j])) s[j] += exp((double)xp[r * I + j] - m[j]);
      for (int64_t j = 0; j < ni; j++) out[o * I + i0 + j] = (T)(isfinite(m[j]) ? m[j] + log(s[j]) : m[j]);
    });
  })
}

/* ---- amax, amin (any dtype, NaN propagating; R >= 1 checked by the front end) ----------- */
static void nl_amax_amin(const nl_kargs *a, bool is_min) {
  NL_DIMS(a);
  NL_CPU_DISPATCH(a->in[0]->dtype, T, {
    const T *x = nl_data(a->in[0]);
    T *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      T m[NL_RCHUNK];
      for (int64_t j = 0; j < ni; j++) m[j] = xp[j];
      for (int64_t r = 1; r < R; r++) {
        const T *row = xp + r * I;
        if (is_min)
          for (int64_t j = 0; j < ni; j++) m[j] = (row[j] < m[j] || row[j] != row[j]) ? row[j] : m[j];
        else
          for (int64_t j = 0; j < ni; j++) m[j] = (row[j] > m[j] || row[j] != row[j]) ? row[j] : m[j];
      }
      memcpy(out + o * I + i0, m, sizeof(T) * (size_t)ni);
    });
  })
}
void nl_cpu_AMAX(const nl_kargs *a) { nl_amax_amin(a, false); }
void nl_cpu_AMIN(const nl_kargs *a) { nl_amax_amin(a, true); }

/* ---- all, any: any dtype in, uint8 (bool or uint8) out ----------------------------------- */
static void nl_all_any(const nl_kargs *a, bool any) {
  NL_DIMS(a);
  NL_CPU_DISPATCH(a->in[0]->dtype, T, {
    const T *x = nl_data(a->in[0]);
    uint8_t *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      uint8_t acc[NL_RCHUNK];
      for (int64_t j = 0; j < ni; j++) acc[j] = !any;
      for (int64_t r = 0; r < R; r++) {
        const T *row = xp + r * I;
        if (any) for (int64_t j = 0; j < ni; j++) acc[j] |= row[j] != 0;
        else for (int64_t j = 0; j < ni; j++) acc[j] &= row[j] != 0;
      }
      memcpy(out + o * I + i0, acc, (size_t)ni);
    });
  })
}
void nl_cpu_ALL(const nl_kargs *a) { nl_all_any(a, false); }
void nl_cpu_ANY(const nl_kargs *a) { nl_all_any(a, true); }

/* ---- max/min along a dim: values (dtype of in) and int64 indices (0-based) --------------- */
static void nl_minmax_dim(const nl_kargs *a, bool is_min) {
  NL_DIMS(a);
  int64_t *idx = nl_data(a->out2);
  NL_CPU_DISPATCH(a->in[0]->dtype, T, {
    const T *x = nl_data(a->in[0]);
    T *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      T m[NL_RCHUNK];
      int64_t k[NL_RCHUNK] = {0};
      for (int64_t j = 0; j < ni; j++) m[j] = xp[j];
      for (int64_t r = 1; r < R; r++) {
        const T *row = xp + r * I;
        for (int64_t j = 0; j < ni; j++) {
          T v = row[j];
          /* strictly better (first occurrence wins ties), or the first NaN */
          bool better = is_min ? v < m[j] : v > m[j];
          if (better || (v != v && m[j] == m[j])) { m[j] = v; k[j] = r; }
        }
      }
      memcpy(out + o * I + i0, m, sizeof(T) * (size_t)ni);
      memcpy(idx + o * I + i0, k, sizeof(int64_t) * (size_t)ni);
    });
  })
}
void nl_cpu_MAX_DIM(const nl_kargs *a) { nl_minmax_dim(a, false); }
void nl_cpu_MIN_DIM(const nl_kargs *a) { nl_minmax_dim(a, true); }

/* ---- scans: out[O][R][I]; floats accumulate in double, ints in int64 --------------------- */
static void nl_scan(const nl_kargs *a, bool prod) {
  NL_DIMS(a);
  nl_dtype dt = a->in[0]->dtype, odt = a->out->dtype;
  if (nl_dtype_is_float(dt)) {
    NL_CPU_DISPATCH_FLOAT(dt, T, {
      const T *x = nl_data(a->in[0]);
      T *out = nl_data(a->out);
      NL_FOR_TASKS(O, R, I, {
        const T *xp = x + o * R * I + i0;
        T *op = out + o * R * I + i0;
        double acc[NL_RCHUNK];
        for (int64_t j = 0; j < ni; j++) acc[j] = prod;
        for (int64_t r = 0; r < R; r++) {
          if (prod) for (int64_t j = 0; j < ni; j++) { acc[j] *= xp[r * I + j]; op[r * I + j] = (T)acc[j]; }
          else for (int64_t j = 0; j < ni; j++) { acc[j] += xp[r * I + j]; op[r * I + j] = (T)acc[j]; }
        }
      });
    })
    return;
  }
  NL_CPU_DISPATCH(dt, T, {
    const T *x = nl_data(a->in[0]);
    void *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      uint64_t acc[NL_RCHUNK];
      for (int64_t j = 0; j < ni; j++) acc[j] = prod;
      for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < ni; j++) {
          uint64_t v = (uint64_t)(int64_t)xp[r * I + j];
          acc[j] = prod ? acc[j] * v : acc[j] + v;
          nl_store_i64(odt, out, o * R * I + r * I + i0 + j, (int64_t)acc[j]);
        }
    });
  })
}
void nl_cpu_CUMSUM(const nl_kargs *a) { nl_scan(a, false); }
void nl_cpu_CUMPROD(const nl_kargs *a) { nl_scan(a, true); }

/* exp in the element type: float32 through nl_expf (../nl_math.h: vectorisable, <= 1 ulp). */
#define NL_EXP(x) _Generic((x), float: nl_expf, double: nl_expd)(x)

/* softmax / log_softmax of one contiguous float32 row of R (the common case: over the last
 * dim): the max (NaN ignored, as the generic loop), exp(x - m) and its sum by expf_simd.c
 * (AVX-512 / AVX2 kernels, 16 float lanes, rows under 16 left to right: the same bits on
 * every ISA), then one pass that
 * scales by 1 / sum or subtracts log(sum). Each row is one thread's: the same bits for any
 * thread count. */
NL_CPU_CLONES static void nl_fscale_row(float *op, int64_t R, float f) {
  _Pragma("omp simd")
  for (int64_t r = 0; r < R; r++) op[r] *= f;
}
NL_CPU_CLONES static void nl_fshift_row(const float *xp, float *op, int64_t R, float m, float ls) {
  _Pragma("omp simd")
  for (int64_t r = 0; r < R; r++) op[r] = xp[r] - m - ls;
}
static void nl_fsoftmax_row(const float *xp, float *op, int64_t R, bool lg) {
  float m = nl_cpu_fmax(xp, R);
  float ss = nl_cpu_expf_sum(xp, m, lg ? NULL : op, R);
  if (lg)
    nl_fshift_row(xp, op, R, m, (float)log((double)ss));
  else
    nl_fscale_row(op, R, (float)(1.0 / (double)ss));
}

/* ---- softmax, log_softmax along R: out[O][R][I], floating, same dtype --------------------- */
/* softmax = exp(x - m) / sum exp(x - m); log_softmax = x - m - log(sum exp(x - m)), m the max.
 * A row of all -inf has m = -inf and gives NaN everywhere (PyTorch's result). */
static void nl_softmax_run(const nl_kargs *a, bool lg) {
  NL_DIMS(a);
  NL_CPU_DISPATCH_FLOAT(a->in[0]->dtype, T, {
    const T *x = nl_data(a->in[0]);
    T *out = nl_data(a->out);
    NL_FOR_TASKS(O, R, I, {
      const T *xp = x + o * R * I + i0;
      T *op = out + o * R * I + i0;
      if (I == 1 && sizeof(T) == sizeof(float)) { /* contiguous float32 row */
        nl_fsoftmax_row((const float *)xp, (float *)op, R, lg);
      } else if (I == 1) { /* contiguous row */
        T m = -INFINITY;
        _Pragma("omp simd reduction(max : m)")
        for (int64_t r = 0; r < R; r++) m = xp[r] > m ? xp[r] : m;
        double s = 0;
        if (lg) {
          _Pragma("omp simd reduction(+ : s)")
          for (int64_t r = 0; r < R; r++) s += NL_EXP((T)(xp[r] - m));
          T ls = (T)log(s);
          for (int64_t r = 0; r < R; r++) op[r] = xp[r] - m - ls;
        } else {
          T ss = 0; /* T lanes: the row is short next to what float sums lose */
          _Pragma("omp simd reduction(+ : ss)")
          for (int64_t r = 0; r < R; r++) { T e = NL_EXP((T)(xp[r] - m)); op[r] = e; ss += e; }
          s = ss;
          T inv = (T)(1.0 / s);
          for (int64_t r = 0; r < R; r++) op[r] *= inv;
        }
      } else { /* strided: a block of columns, row by row */
        T m[NL_RCHUNK];
        double s[NL_RCHUNK] = {0};
        for (int64_t j = 0; j < ni; j++) m[j] = -INFINITY;
        for (int64_t r = 0; r < R; r++)
          for (int64_t j = 0; j < ni; j++) m[j] = xp[r * I + j] > m[j] ? xp[r * I + j] : m[j];
        for (int64_t r = 0; r < R; r++)
          for (int64_t j = 0; j < ni; j++) {
            T e = NL_EXP((T)(xp[r * I + j] - m[j]));
            if (!lg) op[r * I + j] = e;
            s[j] += e;
          }
        T f[NL_RCHUNK];
        for (int64_t j = 0; j < ni; j++) f[j] = lg ? (T)log(s[j]) + m[j] : (T)(1.0 / s[j]);
        for (int64_t r = 0; r < R; r++)
          for (int64_t j = 0; j < ni; j++)
            op[r * I + j] = lg ? xp[r * I + j] - f[j] : op[r * I + j] * f[j];
      }
    });
  })
}
void nl_cpu_SOFTMAX(const nl_kargs *a) { nl_softmax_run(a, false); }
void nl_cpu_LOG_SOFTMAX(const nl_kargs *a) { nl_softmax_run(a, true); }
