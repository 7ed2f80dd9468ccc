/* nl_nn_pad.h: F.pad's index map, written once for the CPU (nn/embedding.c) and the CUDA
 * kernels (cuda/nn_pad.cu). Modes are nl_nn.h's NL_PAD_* (0 constant, 1 reflect, 2 replicate,
 * 3 circular), restated as ints so the kernels need not see nl_nn.h.
 *
 * Along one dim of size n padded by (lo, hi) to on = n + lo + hi, output coordinate oi reads
 * input coordinate oi - lo when it lies in [0, n); otherwise constant mode fills, reflect
 * mirrors about the edge element (|pad| < n: one reflection), replicate repeats the edge,
 * circular wraps around (pad <= n: one wrap).
 * The forward is a gather (nl_nn_pad_src). The backward on the device is a gather too: each
 * input element sums the output elements that read it (nl_nn_pad_readers, per dim at most
 * three ranges, so the set is their cartesian product), visited in increasing output flat
 * order: the same additions in the same order as the CPU's scatter, without atomics. */
#ifndef NL_NN_PAD_H
#define NL_NN_PAD_H
#include <stdint.h>

#include "nl_nn_math.h" /* NL_NN_HD */

enum { NL_NN_PAD_CONSTANT, NL_NN_PAD_REFLECT, NL_NN_PAD_REPLICATE, NL_NN_PAD_CIRCULAR };

/* The input coordinate read by output coordinate oi along one dim, or -1 (constant fill). */
NL_NN_HD int64_t nl_nn_pad_coord(int64_t oi, int64_t lo, int64_t n, int mode) {
  int64_t i = oi - lo;
  if (i >= 0 && i < n) return i;
  if (mode == NL_NN_PAD_CONSTANT) return -1;
  if (mode == NL_NN_PAD_REFLECT) return i < 0 ? -i : 2 * (n - 1) - i;
  if (mode == NL_NN_PAD_CIRCULAR) return ((i % n) + n) % n;
  return i < 0 ? 0 : n - 1;
}

/* For output flat index o of a row-major (nd dims) output osh: the input flat index in ish,
 * or -1 (constant fill). lo: the low pad of every dim (0 where unpadded). */
NL_NN_HD int64_t nl_nn_pad_src(int64_t o, int nd, const int64_t *ish, const int64_t *osh, const int64_t *lo,
                               int mode) {
  int64_t src = 0, mul = 1;
  for (int d = nd - 1; d >= 0; d--) {
    int64_t i = nl_nn_pad_coord(o % osh[d], lo[d], ish[d], mode);
    o /= osh[d];
    if (i < 0) return -1;
    src += i * mul;
    mul *= ish[d];
  }
  return src;
}

/* The output coordinates along one dim (n input, on output, low pad lo) that read input
 * coordinate i: up to three disjoint ranges [a[k], b[k]) in increasing order; returns how
 * many (0: none, a cropped element). Reflect: the mirror on the low side (lo - i), i itself,
 * the mirror on the high side; replicate: the edge elements also take the whole pad;
 * circular: every oi = i + lo (mod n) below on (lo, hi <= n: on <= 3n, so at most three). */
NL_NN_HD int nl_nn_pad_readers(int64_t i, int64_t lo, int64_t n, int64_t on, int mode, int64_t *a, int64_t *b) {
  int k = 0;
  if (mode == NL_NN_PAD_CIRCULAR) {
    for (int64_t oi = (i + lo) % n; oi < on && k < 3; oi += n) a[k] = oi, b[k] = oi + 1, k++;
    return k;
  }
  if (mode == NL_NN_PAD_REPLICATE) {
    a[0] = i == 0 ? 0 : lo + i;
    b[0] = i == n - 1 ? on : lo + i + 1;
    return a[0] < b[0];
  }
  if (mode == NL_NN_PAD_REFLECT && i >= 1 && i <= lo) a[k] = lo - i, b[k] = a[k] + 1, k++;
  if (lo + i >= 0 && lo + i < on) a[k] = lo + i, b[k] = a[k] + 1, k++;
  if (mode == NL_NN_PAD_REFLECT && i <= n - 2 && lo + 2 * (n - 1) - i < on)
    a[k] = lo + 2 * (n - 1) - i, b[k] = a[k] + 1, k++;
  return k;
}
#endif
