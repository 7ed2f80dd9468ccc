/* loss.c: losses, forward and backward with respect to the input (CPU, float64 arithmetic,
 * results in the input's dtype).
 * - cross_entropy: fused log_softmax + nll over the class dim (dim 1 of (N, C, d...), or the
 *   only dim of (C)); class-index targets (int64, 0-based here) with weight, ignore_index,
 *   label_smoothing (PyTorch 1.13's formula: (1-ls)*nll + ls/C * smooth, both normalised by
 *   the summed target weights for "mean"), or class-probability targets ("mean" divides by
 *   the number of samples N*d...).
 * - nll_loss on log-probabilities.
 * - pointwise losses: mse, l1, smooth_l1(beta), huber(delta), kl_div(log_target), bce
 *   (log clamped at -100), bce_with_logits (stable form, pos_weight); "mean" divides by numel. */
#include <math.h>
#include <string.h>

#include "nn_device.h"
#include "nn_util.h"
#include "../tensor/nl_iter.h" /* NL_OMP_FOR_IF */

static const char *nn_red_name(int r) { return r == NL_RED_NONE ? "none" : r == NL_RED_MEAN ? "mean" : "sum"; }

static int nn_check_red(const char *op, int red) {
  if (red < NL_RED_NONE || red > NL_RED_SUM) return nl_failc("%s: invalid reduction %d", op, red);
  return 0;
}

/* gout: the loss's shape for "none" (n elements), one element otherwise. */
static int nn_check_gout(const char *op, const nl_tensor *gout, const nl_tensor *x, int red, int64_t n) {
  if (nn_check_same(op, "grad_output", gout, x)) return -1;
  if (red == NL_RED_NONE ? nl_numel(gout) != n : nl_numel(gout) != 1)
    return nl_failc("%s: grad_output %s does not match the loss (reduction '%s')", op, SHP(gout), nn_red_name(red));
  return 0;
}

/* ---- class losses ------------------------------------------------------------------------- */
typedef struct nn_cls {
  int64_t N, C, S;
  bool probs; /* class-probability target */
} nn_cls;

static int nn_cls_check(const char *op, const nl_tensor *x, const nl_tensor *t, const nl_tensor *w,
                        int red, double ls, bool allow_probs, nn_cls *c) {
  if (nn_check_float(op, "input", x) || nn_check_red(op, red)) return -1;
  if (w && nn_check_same(op, "weight", w, x)) return -1;
  if (x->ndim < 1) return nl_failc("%s: expected input with 1 or more dims ((N,) C, d...), got %s", op, SHP(x));
  if (!(ls >= 0 && ls <= 1)) return nl_failc("%s: label_smoothing must be between 0.0 and 1.0, got %g", op, ls);
  c->C = x->ndim == 1 ? x->shape[0] : x->shape[1];
  c->N = x->ndim == 1 ? 1 : x->shape[0];
  c->S = 1;
  for (int i = 2; i < x->ndim; i++) c->S *= x->shape[i];
  if (w && (w->ndim != 1 || w->shape[0] != c->C))
    return nl_failc("%s: expected weight of shape [%lld] (one per class), got %s", op, (long long)c->C, SHP(w));
  c->probs = nl_dtype_is_float(t->dtype);
  if (c->probs) {
    if (!allow_probs) return nl_failc("%s: expected target of dtype int64 (class indices), got %s", op, nl_dtype_name(t->dtype));
    if (nn_check_same(op, "target", t, x)) return -1;
    int ok = t->ndim == x->ndim;
    for (int i = 0; ok && i < x->ndim; i++) ok = t->shape[i] == x->shape[i];
    if (!ok) return nl_failc("%s: expected target probabilities of the input's shape %s, got %s", op, SHP(x), SHP(t));
    return 0;
  }
  if (nn_check_long(op, "target", t)) return -1;
  /* class-index target: x's shape without the class dim */
  int ok = t->ndim == x->ndim - 1;
  for (int i = 0, j = 0; ok && i < x->ndim; i++) {
    if (i == (x->ndim == 1 ? 0 : 1)) continue;
    ok = t->shape[j++] == x->shape[i];
  }
  if (!ok) return nl_failc("%s: expected target of shape %s for input %s (class dim %d removed), got %s", op,
                           x->ndim == 1 ? "[]" : "(N, d...)", SHP(x), x->ndim == 1 ? 1 : 2, SHP(t));
  return 0;
}

/* Checks every class index (0-based) against [0, C) unless it equals ignore. */
static int nn_check_targets(const char *op, const int64_t *t, int64_t n, int64_t C, int64_t ignore) {
  for (int64_t i = 0; i < n; i++)
    if (t[i] != ignore && (t[i] < 0 || t[i] >= C))
      return nl_failc("%s: target %lld is out of range for %lld classes (expected 1..%lld)", op,
                      (long long)t[i] + 1, (long long)C, (long long)C);
  return 0;
}

/* log_softmax of x (N, C, S) along C into lp (same layout). */
static void nn_log_softmax(const double *x, double *lp, const nn_cls *c) {
  NL_OMP_FOR_IF(c->N * c->C * c->S > 32768,
  for (int64_t n = 0; n < c->N; n++)
    for (int64_t s = 0; s < c->S; s++) {
      const double *xr = x + n * c->C * c->S + s;
      double *lr = lp + n * c->C * c->S + s;
      double m = -INFINITY, sum = 0;
      for (int64_t k = 0; k < c->C; k++) m = xr[k * c->S] > m ? xr[k * c->S] : m;
      if (isinf(m) && m < 0) m = 0;
      for (int64_t k = 0; k < c->C; k++) sum += exp(xr[k * c->S] - m);
      double lse = m + log(sum);
      for (int64_t k = 0; k < c->C; k++) lr[k * c->S] = xr[k * c->S] - lse;
    });
}

/* Forward (gout NULL: returns the loss) or backward (returns d loss / d x) of cross_entropy
 * (fused: x are logits) or nll_loss (x are log-probabilities). */
static nl_tensor *nn_class_loss(const char *op, bool fused, const nl_tensor *gout, const nl_tensor *x,
                                const nl_tensor *t, const nl_tensor *w, int64_t ignore, int red, double ls) {
  nn_cls c;
  if (nn_cls_check(op, x, t, w, red, fused ? ls : 0, fused, &c)) return NULL;
  int64_t M = c.N * c.S, C = c.C, S = c.S;
  if (gout && nn_check_gout(op, gout, x, red, M)) return NULL;
  nl_tensor *td = c.probs ? nn_f64(t) : nn_contig(t);
  if (!td) return NULL;
  if (!c.probs && nn_check_targets(op, L64(td), M, C, ignore)) {
    nl_tensor_free(td);
    return NULL;
  }
  nl_tensor *xd = nn_f64(x), *wd = nn_f64(w), *gd = nn_f64(gout);
  int64_t xs[3] = {c.N, C, S};
  nl_tensor *lpd = fused ? nl_empty(3, xs, NL_FLOAT64, nl_cpu()) : NULL;
  nl_tensor *li = nl_empty(1, &M, NL_FLOAT64, nl_cpu()); /* per-sample loss */
  nl_tensor *gx = gout ? nl_empty(x->ndim, x->shape, NL_FLOAT64, nl_cpu()) : NULL;
  if (!xd || (w && !wd) || (gout && !gd) || (fused && !lpd) || !li || (gout && !gx)) {
    nl_tensor_free(td), nl_tensor_free(xd), nl_tensor_free(wd), nl_tensor_free(gd);
    nl_tensor_free(lpd), nl_tensor_free(li), nl_tensor_free(gx);
    return NULL;
  }
  const double *lp = D(xd), *wt = D(wd);
  if (fused) {
    nn_log_softmax(D(xd), D(lpd), &c);
    lp = D(lpd);
  }
  const int64_t *ti = c.probs ? NULL : L64(td);
  const double *tp = c.probs ? D(td) : NULL;
  double *loss = D(li), wsum = 0, total = 0;
  for (int64_t n = 0; n < c.N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s;
      const double *lr = lp + n * C * S + s;
      double l = 0;
      if (c.probs) {
        for (int64_t k = 0; k < C; k++)
          l -= (wt ? wt[k] : 1.0) * ((1 - ls) * tp[n * C * S + k * S + s] + ls / (double)C) * lr[k * S];
      } else if (ti[i] != ignore) {
        double wk = wt ? wt[ti[i]] : 1.0, sm = 0;
        wsum += wk;
        if (ls > 0)
          for (int64_t k = 0; k < C; k++) sm -= (wt ? wt[k] : 1.0) * lr[k * S];
        l = -(1 - ls) * wk * lr[ti[i] * S] + ls / (double)C * sm;
      }
      loss[i] = l;
      total += l;
    }
  double denom = c.probs ? (double)M : wsum;
  nl_tensor *res;
  if (!gout) {
    nl_tensor_free(td), nl_tensor_free(xd), nl_tensor_free(wd), nl_tensor_free(lpd);
    if (red == NL_RED_NONE) {
      int nd = 0;
      int64_t shape[NL_MAXDIM];
      for (int k = 0; k < x->ndim; k++)
        if (k != (x->ndim == 1 ? 0 : 1)) shape[nd++] = x->shape[k];
      res = nl_reshape(li, nd, shape);
      nl_tensor_free(li);
      return nn_to(res, x->dtype);
    }
    nl_tensor_free(li);
    return nn_to(nl_scalar(red == NL_RED_SUM ? total : total / denom, NL_FLOAT64, nl_cpu()), x->dtype);
  }
  /* backward: dlp[k] per sample, then through log_softmax when fused */
  const double *g = D(gd);
  double *o = D(gx);
  for (int64_t n = 0; n < c.N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s;
      double coef = red == NL_RED_NONE ? g[i] : red == NL_RED_SUM ? g[0] : g[0] / denom;
      const double *lr = lp + n * C * S + s;
      double *orow = o + n * C * S + s, sd = 0;
      for (int64_t k = 0; k < C; k++) {
        double d = 0;
        if (c.probs) d = -coef * (wt ? wt[k] : 1.0) * ((1 - ls) * tp[n * C * S + k * S + s] + ls / (double)C);
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
  nl_tensor_free(td), nl_tensor_free(xd), nl_tensor_free(wd), nl_tensor_free(gd);
  nl_tensor_free(lpd), nl_tensor_free(li);
  return nn_to(gx, x->dtype);
}

nl_tensor *nl_cross_entropy(const nl_tensor *x, const nl_tensor *t, const nl_tensor *w,
                            int64_t ignore_index, int reduction, double ls) {
  if (NN_ANY_DEV(x, t, w)) return nn_host_class_loss(true, NULL, x, t, w, ignore_index, reduction, ls);
  return nn_class_loss("cross_entropy", true, NULL, x, t, w, ignore_index, reduction, ls);
}
nl_tensor *nl_cross_entropy_backward(const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t,
                                     const nl_tensor *w, int64_t ignore_index, int reduction, double ls) {
  if (NN_ANY_DEV(gout, x, t, w)) return nn_host_class_loss(true, gout, x, t, w, ignore_index, reduction, ls);
  return nn_class_loss("cross_entropy_backward", true, gout, x, t, w, ignore_index, reduction, ls);
}
nl_tensor *nl_nll_loss(const nl_tensor *x, const nl_tensor *t, const nl_tensor *w, int64_t ignore_index,
                       int reduction) {
  if (NN_ANY_DEV(x, t, w)) return nn_host_class_loss(false, NULL, x, t, w, ignore_index, reduction, 0);
  return nn_class_loss("nll_loss", false, NULL, x, t, w, ignore_index, reduction, 0);
}
nl_tensor *nl_nll_loss_backward(const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t,
                                const nl_tensor *w, int64_t ignore_index, int reduction) {
  if (NN_ANY_DEV(gout, x, t, w)) return nn_host_class_loss(false, gout, x, t, w, ignore_index, reduction, 0);
  return nn_class_loss("nll_loss_backward", false, gout, x, t, w, ignore_index, reduction, 0);
}

/* ---- pointwise losses --------------------------------------------------------------------- */
enum { NN_BCE = 100, NN_BCE_LOGITS = 101 };

static const char *nn_loss_name(int k) {
  switch (k) {
  case NL_LOSS_MSE: return "mse_loss";
  case NL_LOSS_L1: return "l1_loss";
  case NL_LOSS_SMOOTH_L1: return "smooth_l1_loss";
  case NL_LOSS_HUBER: return "huber_loss";
  case NL_LOSS_KL_DIV: return "kl_div";
  case NN_BCE: return "binary_cross_entropy";
  default: return "binary_cross_entropy_with_logits";
  }
}

/* loss(x, t) of one element, and its derivative in x (*dl). w: weight, pw: pos_weight. */
static inline double nn_pw(int k, double x, double t, double w, double pw, double prm, double *dl) {
  double d = x - t, a = fabs(d);
  switch (k) {
  case NL_LOSS_MSE: *dl = 2 * d; return d * d;
  case NL_LOSS_L1: *dl = (d > 0) - (d < 0); return a;
  case NL_LOSS_SMOOTH_L1:
    if (prm == 0 || a >= prm) { *dl = (d > 0) - (d < 0); return prm == 0 ? a : a - 0.5 * prm; }
    *dl = d / prm;
    return 0.5 * d * d / prm;
  case NL_LOSS_HUBER:
    if (a < prm) { *dl = d; return 0.5 * d * d; }
    *dl = d > 0 ? prm : -prm;
    return prm * (a - 0.5 * prm);
  case NL_LOSS_KL_DIV:
    if (prm != 0) { *dl = -exp(t); return exp(t) * (t - x); }
    *dl = -t;
    return (t == 0 ? 0.0 : t * log(t)) - t * x;
  case NN_BCE: {
    double lx = log(x) > -100 ? log(x) : -100, l1x = log1p(-x) > -100 ? log1p(-x) : -100;
    double eps = (double)1e-12f; /* PyTorch's EPSILON is a float */
    double den = (1 - x) * x > eps ? (1 - x) * x : eps;
    *dl = w * (x - t) / den;
    return -w * (t * lx + (1 - t) * l1x);
  }
  default: { /* bce with logits: (1-t)x + lw*(log1p(exp(-|x|)) + max(-x, 0)), lw = (pw-1)t+1 */
    double lw = (pw - 1) * t + 1;
    double sp = log1p(exp(-fabs(x))) + (x < 0 ? -x : 0); /* softplus(-x) */
    double sig = x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
    *dl = w * ((1 - t) - lw * (1 - sig));
    return w * ((1 - t) * x + lw * sp);
  }
  }
}

/* An f64 contiguous copy of p broadcast to x's shape (weight, pos_weight), or NULL. */
static nl_tensor *nn_bcast(const char *op, const char *what, const nl_tensor *p, const nl_tensor *x, int *err) {
  if (!p) return NULL;
  if (nn_check_same(op, what, p, x)) return *err = 1, NULL;
  nl_tensor *e = nl_expand((nl_tensor *)p, x->ndim, x->shape);
  if (!e) {
    *err = 1;
    return nl_fail("%s: %s of shape %s cannot be broadcast to the input's shape %s", op, what, SHP(p), SHP(x));
  }
  nl_tensor *r = nn_f64(e);
  nl_tensor_free(e);
  if (!r) *err = 1;
  return r;
}

static nl_tensor *nn_pointwise(int kind, const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t,
                               const nl_tensor *w, const nl_tensor *pw, int red, double prm) {
  char op[64];
  snprintf(op, sizeof op, "%s%s", nn_loss_name(kind), gout ? "_backward" : "");
  if (nn_check_float(op, "input", x) || nn_check_same(op, "target", t, x) || nn_check_red(op, red)) return NULL;
  int ok = t->ndim == x->ndim;
  for (int i = 0; ok && i < x->ndim; i++) ok = t->shape[i] == x->shape[i];
  if (!ok) return nl_fail("%s: target %s must have the same shape as input %s", op, SHP(t), SHP(x));
  if ((kind == NL_LOSS_SMOOTH_L1 || kind == NL_LOSS_HUBER) && !(prm >= 0))
    return nl_fail("%s: %s must be non-negative, got %g", op, kind == NL_LOSS_HUBER ? "delta" : "beta", prm);
  if (kind == NL_LOSS_HUBER && prm == 0) return nl_fail("%s: delta must be positive, got 0", op);
  int64_t n = nl_numel(x);
  if (gout && nn_check_gout(op, gout, x, red, n)) return NULL;
  int err = 0;
  nl_tensor *wd = nn_bcast(op, "weight", w, x, &err);
  nl_tensor *pd = err ? NULL : nn_bcast(op, "pos_weight", pw, x, &err);
  if (err) {
    nl_tensor_free(wd);
    return NULL;
  }
  nl_tensor *xd = nn_f64(x), *td = nn_f64(t), *gd = nn_f64(gout);
  nl_tensor *out = nl_empty(gout || red == NL_RED_NONE ? x->ndim : 0, x->shape, NL_FLOAT64, nl_cpu());
  if (!xd || !td || (gout && !gd) || !out) {
    nl_tensor_free(wd), nl_tensor_free(pd), nl_tensor_free(xd), nl_tensor_free(td), nl_tensor_free(gd), nl_tensor_free(out);
    return NULL;
  }
  const double *xs = D(xd), *ts = D(td), *ws = D(wd), *ps = D(pd), *g = D(gd);
  double *o = D(out), total = 0;
  if (kind == NN_BCE)
    for (int64_t i = 0; i < n; i++)
      if (!(xs[i] >= 0 && xs[i] <= 1)) {
        double bad = xs[i];
        nl_tensor_free(wd), nl_tensor_free(pd), nl_tensor_free(xd), nl_tensor_free(td), nl_tensor_free(gd), nl_tensor_free(out);
        return nl_fail("%s: all elements of input should be between 0 and 1, got %g", op, bad);
      }
  for (int64_t i = 0; i < n; i++) {
    double dl, l = nn_pw(kind, xs[i], ts[i], ws ? ws[i] : 1.0, ps ? ps[i] : 1.0, prm, &dl);
    if (gout) {
      double coef = red == NL_RED_NONE ? g[i] : red == NL_RED_SUM ? g[0] : g[0] / (double)n;
      o[i] = coef * dl;
    } else if (red == NL_RED_NONE) {
      o[i] = l;
    } else {
      total += l;
    }
  }
  if (!gout && red != NL_RED_NONE) o[0] = red == NL_RED_SUM ? total : total / (double)n;
  nl_tensor_free(wd), nl_tensor_free(pd), nl_tensor_free(xd), nl_tensor_free(td), nl_tensor_free(gd);
  return nn_to(out, x->dtype);
}

nl_tensor *nl_pointwise_loss(nl_loss_kind kind, const nl_tensor *x, const nl_tensor *t, int red, double prm) {
  if (NN_ANY_DEV(x, t)) return nn_host_pointwise((int)kind, NULL, x, t, NULL, NULL, red, prm);
  return nn_pointwise(kind, NULL, x, t, NULL, NULL, red, prm);
}
nl_tensor *nl_pointwise_loss_backward(nl_loss_kind kind, const nl_tensor *gout, const nl_tensor *x,
                                      const nl_tensor *t, int red, double prm) {
  if (NN_ANY_DEV(gout, x, t)) return nn_host_pointwise((int)kind, gout, x, t, NULL, NULL, red, prm);
  return nn_pointwise(kind, gout, x, t, NULL, NULL, red, prm);
}
nl_tensor *nl_bce(const nl_tensor *x, const nl_tensor *t, const nl_tensor *w, int red) {
  if (NN_ANY_DEV(x, t, w)) return nn_host_pointwise(-1, NULL, x, t, w, NULL, red, 0);
  return nn_pointwise(NN_BCE, NULL, x, t, w, NULL, red, 0);
}
nl_tensor *nl_bce_backward(const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t, const nl_tensor *w, int red) {
  if (NN_ANY_DEV(gout, x, t, w)) return nn_host_pointwise(-1, gout, x, t, w, NULL, red, 0);
  return nn_pointwise(NN_BCE, gout, x, t, w, NULL, red, 0);
}
nl_tensor *nl_bce_with_logits(const nl_tensor *x, const nl_tensor *t, const nl_tensor *w, const nl_tensor *pw, int red) {
  if (NN_ANY_DEV(x, t, w, pw)) return nn_host_pointwise(-2, NULL, x, t, w, pw, red, 0);
  return nn_pointwise(NN_BCE_LOGITS, NULL, x, t, w, pw, red, 0);
}
nl_tensor *nl_bce_with_logits_backward(const nl_tensor *gout, const nl_tensor *x, const nl_tensor *t,
                                       const nl_tensor *w, const nl_tensor *pw, int red) {
  if (NN_ANY_DEV(gout, x, t, w, pw)) return nn_host_pointwise(-2, gout, x, t, w, pw, red, 0);
  return nn_pointwise(NN_BCE_LOGITS, gout, x, t, w, pw, red, 0);
}
