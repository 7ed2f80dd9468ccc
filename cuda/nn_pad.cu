/* nn_pad.cu: F.pad forward and backward and one_hot on CUDA (NL_NN_PAD*, NL_NN_ONE_HOT* of
 * nn/nl_nn_kernel.h; the front ends are nn/embedding.c's, which validate and allocate).
 *
 * pad: one thread per output element (forward) or per input element (backward), both gathers
 * through nl_nn_pad.h's index map, the one the CPU runs. Values pass through double like the
 * CPU's float64 buffers and are rounded once; the backward sums, in double, the output
 * gradients that read each input element in increasing output order, the CPU scatter's
 * additions in its order, so the results match it bit for bit and never depend on timing.
 * one_hot: the check leaves the first negative index (atomicMin: a minimum, the same on
 * every run) and the largest value (atomicMax) for the front end's errors; the fill is a
 * gather, one thread per output element. */
#include "nl_cu.cuh"
#include "nl_cuda_nn.h" /* nn/nl_nn_kernel.h and the kernels' declarations */
#include "../nn/nl_nn_pad.h"

template <typename T>
__global__ void nl_pad_k(const T *x, T *y, int64_t n, nl_nn_pad g, int mode, double value) {
  NL_CU_LOOP(i, n) {
    int64_t k = nl_nn_pad_src(i, g.nd, g.ish, g.osh, g.lo, mode);
    y[i] = k >= 0 ? (T)(double)x[k] : (T)value;
  }
}

/* gx[e] = sum of gy[o] over the outputs o that read input e, in increasing o: per dim the
 * reader ranges of e's coordinate, walked as an odometer (last dim fastest). */
template <typename T>
__global__ void nl_pad_bwd_k(const T *gy, T *gx, int64_t n, nl_nn_pad g, int mode) {
  NL_CU_LOOP(e, n) {
    int64_t a[NL_MAXDIM][3], b[NL_MAXDIM][3], c[NL_MAXDIM], ost[NL_MAXDIM];
    int cnt[NL_MAXDIM], j[NL_MAXDIM], nd = g.nd;
    bool empty = false;
    int64_t rem = e, st = 1;
    for (int d = nd - 1; d >= 0; d--) {
      int64_t ci = rem % g.ish[d];
      rem /= g.ish[d];
      cnt[d] = nl_nn_pad_readers(ci, g.lo[d], g.ish[d], g.osh[d], mode, a[d], b[d]);
      empty = empty || cnt[d] == 0;
      j[d] = 0, c[d] = cnt[d] ? a[d][0] : 0;
      ost[d] = st;
      st *= g.osh[d];
    }
    double acc = 0;
    while (!empty) {
      int64_t off = 0;
      for (int d = 0; d < nd; d++) off += c[d] * ost[d];
      acc += (double)gy[off];
      int d = nd - 1;
      for (; d >= 0; d--) { /* next reader: advance the last dim, carrying into earlier ones */
        if (++c[d] < b[d][j[d]]) break;
        if (++j[d] < cnt[d]) {
          c[d] = a[d][j[d]];
          break;
        }
        j[d] = 0, c[d] = a[d][0];
      }
      if (d < 0) break;
    }
    gx[e] = (T)acc;
  }
}

__global__ void nl_one_hot_check_k(const long long *ix, long long *flag, int64_t n) {
  NL_CU_LOOP(i, n) {
    long long v = ix[i];
    if (v < 0) atomicMin((unsigned long long *)flag, (unsigned long long)i);
    atomicMax(flag + 1, v);
  }
}

__global__ void nl_one_hot_k(const long long *ix, long long *y, int64_t n, int64_t C) {
  NL_CU_LOOP(i, n * C) { y[i] = ix[i / C] == i % C; }
}

static void nl_pad_run(const nl_nn_kargs *a, bool bwd) {
  int64_t n = nl_numel(a->out);
  if (n == 0) return;
  const void *in = nl_data(a->in[0]);
  void *out = nl_data(a->out);
  if (a->out->dtype == NL_FLOAT32) {
    if (bwd) nl_pad_bwd_k<float> NL_LAUNCH(n)((const float *)in, (float *)out, n, a->pad, a->kind);
    else nl_pad_k<float> NL_LAUNCH(n)((const float *)in, (float *)out, n, a->pad, a->kind, a->sc[0]);
  } else {
    if (bwd) nl_pad_bwd_k<double> NL_LAUNCH(n)((const double *)in, (double *)out, n, a->pad, a->kind);
    else nl_pad_k<double> NL_LAUNCH(n)((const double *)in, (double *)out, n, a->pad, a->kind, a->sc[0]);
  }
  nl_cu_check_launch(bwd ? "pad_backward" : "pad");
}

void nl_cuda_nn_pad(const nl_nn_kargs *a) { nl_pad_run(a, false); }
void nl_cuda_nn_pad_bwd(const nl_nn_kargs *a) { nl_pad_run(a, true); }

void nl_cuda_nn_one_hot_check(const nl_nn_kargs *a) {
  int64_t n = a->nrm.R;
  if (n == 0) return;
  nl_one_hot_check_k NL_LAUNCH(n)((const long long *)nl_data(a->in[0]), (long long *)nl_data(a->out), n);
  nl_cu_check_launch("one_hot (index check)");
}

void nl_cuda_nn_one_hot(const nl_nn_kargs *a) {
  int64_t n = a->nrm.R, C = a->nrm.C;
  if (n * C == 0) return;
  nl_one_hot_k NL_LAUNCH(n * C)((const long long *)nl_data(a->in[0]), (long long *)nl_data(a->out), n, C);
  nl_cu_check_launch("one_hot");
}
