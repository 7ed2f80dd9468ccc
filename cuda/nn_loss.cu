/* nn_loss.cu: cross_entropy (fused log_softmax + nll) and nll_loss on CUDA, forward and
 * backward (the NL_NN_CLS* / NL_NN_LOSS_SUM kernels of nn/nl_nn_kernel.h; the front end is
 * nn/loss.c's nn_class_loss, which validates, converts to float64 and allocates).
 *
 * Layout: x, log-probabilities and class-probability targets are (N, C, S) float64, class
 * indices and the per-sample results (M = N*S), sample i = n*S + s. One thread per sample
 * walks its C classes in order with loss.c's formulas term for term (float64), so a
 * sample's loss and gradient are the CPU's bit for bit up to the device's exp/log. The
 * reductions over samples (the loss, the summed target weights) are one block's fixed-tree
 * sum (nl_cu_block_sum2): deterministic, no atomics. Target validation writes the smallest
 * bad sample index with atomicMin (a minimum: the same on every run); the front end reads
 * that one int64 back and raises the CPU's error. */
#include "nl_cu.cuh"
#include "nl_cuda_nn.h" /* nn/nl_nn_kernel.h and the kernels' declarations */

/* flag[0] = min(flag[0], i) over samples i whose target is neither ignore nor in [0, C) */
__global__ void nl_cls_check_k(const long long *t, long long *flag, int64_t M, int64_t C, long long ignore) {
  NL_CU_LOOP(i, M) {
    long long v = t[i];
    if (v != ignore && (v < 0 || v >= C)) atomicMin((unsigned long long *)flag, (unsigned long long)i);
  }
}

/* Per sample i: the log-softmax column (fused), the loss li[i] and the target weight wi[i]
 * (the "mean" denominator's term). lp == x when not fused. */
__global__ void nl_cls_fwd_k(const double *x, double *lp, const long long *ti, const double *tp, const double *wt,
                             double *li, double *wi, nl_nn_nrm z, long long ignore, double ls, int fused) {
  int64_t C = z.C, S = z.S, M = z.N * z.S;
  NL_CU_LOOP(i, M) {
    int64_t n = i / S, s = i % S;
    const double *xr = x + n * C * S + s;
    double *lr = (fused ? lp : (double *)x) + n * C * S + s;
    if (fused) {
      double m = -INFINITY, sum = 0;
      for (int64_t k = 0; k < C; k++) m = xr[k * S] > m ? xr[k * S] : m;
      if (isinf(m) && m < 0) m = 0;
      for (int64_t k = 0; k < C; k++) sum += exp(xr[k * S] - m);
      double lse = m + log(sum);
      for (int64_t k = 0; k < C; k++) lr[k * S] = xr[k * S] - lse;
    }
    double l = 0, w = 0;
    if (tp) {
      for (int64_t k = 0; k < C; k++)
        l -= (wt ? wt[k] : 1.0) * ((1 - ls) * tp[n * C * S + k * S + s] + ls / (double)C) * lr[k * S];
    } else if (ti[i] != ignore) {
      double wk = wt ? wt[ti[i]] : 1.0, sm = 0;
      w = wk;
      if (ls > 0)
        for (int64_t k = 0; k < C; k++) sm -= (wt ? wt[k] : 1.0) * lr[k * S];
      l = -(1 - ls) * wk * lr[ti[i] * S] + ls / (double)C * sm;
    }
    li[i] = l;
    wi[i] = w;
  }
}

/* Per sample i: d loss / d x into gx (N, C, S); g the loss gradient (M for "none", else 1),
 * denom[0] the "mean" denominator. */
__global__ void nl_cls_bwd_k(const double *lp, const long long *ti, const double *tp, const double *wt,
                             const double *g, const double *denom, double *gx, nl_nn_nrm z, long long ignore,
                             double ls, int fused, int red) {
  int64_t C = z.C, S = z.S, M = z.N * z.S;
  NL_CU_LOOP(i, M) {
    int64_t n = i / S, s = i % S;
    double coef = red == 0 ? g[i] : red == 2 ? g[0] : g[0] / denom[0];
    const double *lr = lp + n * C * S + s;
    double *orow = gx + n * C * S + s, sd = 0;
    for (int64_t k = 0; k < C; k++) {
      double d = 0;
      if (tp) d = -coef * (wt ? wt[k] : 1.0) * ((1 - ls) * tp[n * C * S + k * S + s] + ls / (double)C);
      else if (ti[i] != ignore) {
        if (k == ti[i]) d -= coef * (1 - ls) * (wt ? wt[k] : 1.0);
        if (ls > 0) d -= coef * ls / (double)C * (wt ? wt[k] : 1.0);
      }
      orow[k * S] = d;
      sd += d;
    }
    if (fused)
      for (int64_t k = 0; k < C; k++) orow[k * S] -= exp(lr[k * S]) * sd;
  }
}

/* One block: total = sum a, den = b ? sum b : count; out[0] = sum ? total : total / den;
 * den_out[0] = den (when wanted). */
__global__ void nl_loss_sum_k(const double *a, const double *b, int64_t M, double count, int red, double *out,
                              double *den_out) {
  double s = 0, q = 0;
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    s += a ? a[i] : 0;
    q += b ? b[i] : 0;
  }
  nl_cu_block_sum2(&s, &q);
  if (threadIdx.x == 0) {
    double den = b ? q : count;
    if (out) out[0] = red == 2 ? s : s / den;
    if (den_out) den_out[0] = den;
  }
}

void nl_cuda_nn_cls_check(const nl_nn_kargs *a) {
  int64_t M = a->nrm.R;
  if (M == 0) return;
  nl_cls_check_k<<<nl_cu_blocks(M), NL_CU_THREADS, 0, nl_cu_stream()>>>(
      (const long long *)nl_data(a->in[0]), (long long *)nl_data(a->out), M, a->nrm.C, (long long)a->i64);
  nl_cu_check_launch("class loss (target check)");
}

void nl_cuda_nn_cls(const nl_nn_kargs *a) {
  const nl_nn_nrm &z = a->nrm;
  int64_t M = z.N * z.S;
  if (M == 0) return;
  int fused = (a->flags & NL_NN_F_FUSED) != 0, probs = (a->flags & NL_NN_F_PROBS) != 0;
  const long long *ti = probs ? (const long long *)0 : (const long long *)nl_data(a->in[1]);
  const double *tp = probs ? NL_FD(a->in[1]) : (const double *)0;
  nl_cls_fwd_k<<<nl_cu_blocks(M), NL_CU_THREADS, 0, nl_cu_stream()>>>(
      NL_FD(a->in[0]), NL_FD(a->io[0]), ti, tp, NL_FD(a->in[2]), NL_FD(a->out), NL_FD(a->out2), z,
      (long long)a->i64, a->sc[0], fused);
  nl_cu_check_launch("class loss");
}

void nl_cuda_nn_cls_bwd(const nl_nn_kargs *a) {
  const nl_nn_nrm &z = a->nrm;
  int64_t M = z.N * z.S;
  if (M == 0) return;
  int fused = (a->flags & NL_NN_F_FUSED) != 0, probs = (a->flags & NL_NN_F_PROBS) != 0;
  const long long *ti = probs ? (const long long *)0 : (const long long *)nl_data(a->in[1]);
  const double *tp = probs ? NL_FD(a->in[1]) : (const double *)0;
  nl_cls_bwd_k<<<nl_cu_blocks(M), NL_CU_THREADS, 0, nl_cu_stream()>>>(
      NL_FD(a->in[0]), ti, tp, NL_FD(a->in[2]), NL_FD(a->in[3]), NL_FD(a->in[4]), NL_FD(a->out), z,
      (long long)a->i64, a->sc[0], fused, a->kind);
  nl_cu_check_launch("class loss backward");
}

void nl_cuda_nn_loss_sum(const nl_nn_kargs *a) {
  nl_loss_sum_k<<<1, NL_CU_THREADS, 0, nl_cu_stream()>>>(NL_FD(a->in[0]), NL_FD(a->in[1]), a->nrm.R, a->sc[0],
                                                         a->kind, NL_FD(a->out), NL_FD(a->out2));
  nl_cu_check_launch("loss reduction");
}

/* ---- pointwise losses: nl_nn_math.h's nl_nn_pw_loss per element (float64) ---------------- */
#include "../nn/nl_nn_math.h"

/* forward (g NULL): out[i] = loss; backward: out[i] = coef * dloss/dx */
__global__ void nl_pw_k(int k, const double *x, const double *t, const double *w, const double *pw,
                        const double *g, double *out, int64_t n, double prm, int red) {
  NL_CU_LOOP(i, n) {
    double dl, l = nl_nn_pw_loss(k, x[i], t[i], w ? w[i] : 1.0, pw ? pw[i] : 1.0, prm, &dl);
    if (g) {
      double coef = red == 0 ? g[i] : red == 2 ? g[0] : g[0] / (double)n;
      out[i] = coef * dl;
    } else {
      out[i] = l;
    }
  }
}

/* flag[0] = min(flag[0], first i with x[i] outside [0, 1] or NaN) (binary_cross_entropy) */
__global__ void nl_bce_check_k(const double *x, long long *flag, int64_t n) {
  NL_CU_LOOP(i, n) {
    if (!(x[i] >= 0 && x[i] <= 1)) atomicMin((unsigned long long *)flag, (unsigned long long)i);
  }
}

void nl_cuda_nn_pw(const nl_nn_kargs *a) {
  int64_t n = a->nrm.R;
  if (n == 0) return;
  nl_pw_k<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(
      a->kind, NL_FD(a->in[0]), NL_FD(a->in[1]), NL_FD(a->in[2]), NL_FD(a->in[3]), NL_FD(a->in[4]), NL_FD(a->out), n,
      a->sc[0], (int)a->i64);
  nl_cu_check_launch("pointwise loss");
}

void nl_cuda_nn_bce_check(const nl_nn_kargs *a) {
  int64_t n = a->nrm.R;
  if (n == 0) return;
  nl_bce_check_k<<<nl_cu_blocks(n), NL_CU_THREADS, 0, nl_cu_stream()>>>(NL_FD(a->in[0]), (long long *)nl_data(a->out), n);
  nl_cu_check_launch("binary_cross_entropy (input check)");
}
