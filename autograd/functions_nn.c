/* functions_nn.c: the differentiable wrappers of the nn kernels (nl_ag_nn.h). Each forward
 * calls the kernel, then records a node whose backward calls the fused backward kernel.
 * Op parameters that do not fit the node's ip/dp/sp (conv, pool, pad) are copied into a
 * malloc'd blob in n->ctx, freed by n->release. */
#include <stdlib.h>
#include <string.h>

#include "ag_internal.h"
#include "nl_ag_nn.h"

/* ---- helpers ------------------------------------------------------------------------------ */
static void nn_free_ctx(nl_node *n) { free(n->ctx); n->ctx = NULL; }

/* A node for *out (freed on failure, *out = NULL) with a copy of blob (sz bytes) in ctx. */
static nl_node *nn_node(nl_tensor **out, const char *name, nl_backward_fn fn, int nin,
                        const nl_tensor *const *ins, const void *blob, size_t sz) {
  nl_node *n = nl_node_new(name, fn, nin, ins);
  if (n && blob) {
    n->ctx = malloc(sz);
    if (!n->ctx) { nl_node_release(n); n = NULL; nl_fail("out of memory"); }
    else { memcpy(n->ctx, blob, sz); n->release = nn_free_ctx; }
  }
  if (!n) { nl_tensor_free(*out); *out = NULL; }
  return n;
}

/* Saves the non-NULL tensors of ts in order; slot[i] gets the slot index of ts[i] (-1: NULL). */
static int nn_save(nl_node *n, int k, const nl_tensor *const *ts, int *slot) {
  for (int i = 0; i < k; i++) {
    slot[i] = -1;
    if (!ts[i]) continue;
    slot[i] = n->n_saved;
    if (nl_node_save(n, ts[i], false) < 0) return -1;
  }
  return 0;
}
static nl_tensor *nn_saved(nl_node *n, int slot) { return slot < 0 ? NULL : nl_saved_get(n, slot); }

static nl_tensor *nn_finish(nl_tensor *out, nl_node *n, int st) {
  if (st < 0) { nl_node_release(n); nl_tensor_free(out); return NULL; }
  nl_ag_set_history(out, n);
  return out;
}

/* The backward of a gradient computed by a fused kernel: not differentiable. */
static int nn_d_nodiff(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  (void)g, (void)gi;
  return nl_failc("%s: double backward is not supported", (const char *)n->ctx);
}

/* Under create_graph (grad mode on during backward) and when g or a saved input requires
 * grad: gives each computed gi[0..k) a history that fails when differentiated again. */
static int nn_mark_nodiff(nl_node *n, const char *op, nl_tensor *g, int k, nl_tensor **gi) {
  if (!nl_grad_enabled()) return 0;
  const nl_tensor *ins[1 + NL_AG_MAXSAVED];
  int m = 0;
  ins[m++] = g;
  for (int i = 0; i < n->n_saved; i++) ins[m++] = nl_saved_get(n, i);
  if (!nl_ag_any_requires_grad(m, ins)) return 0;
  for (int i = 0; i < k; i++) {
    if (!gi[i] || !nl_dtype_is_float(gi[i]->dtype)) continue;
    nl_node *d = nl_node_new("NotImplemented", nn_d_nodiff, m, ins);
    if (!d) return -1;
    d->ctx = (void *)op; /* a string literal: not owned */
    nl_ag_set_history(gi[i], d);
  }
  return 0;
}

/* Frees gi[0..k) after a failure (the engine only reads them on success). */
static int nn_fail(int k, nl_tensor **gi) {
  for (int i = 0; i < k; i++) { nl_tensor_free(gi[i]); gi[i] = NULL; }
  return -1;
}

/* ---- linear --------------------------------------------------------------------------------
 * inputs (x, w, b); saved x, w. Named as PyTorch names F.linear's node on 2-D input (addmm with
 * a bias, mm without). Under create_graph the gradients are written with autograd ops, so they
 * can be differentiated again (a gradient penalty through an MLP). */
static int d_linear(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tensor *x = nl_saved_get(n, 0), *w = nl_saved_get(n, 1), *gt = NULL;
  bool nx = nl_ag_need(n, 0), nw = nl_ag_need(n, 1), nb = nl_ag_need(n, 2);
  if (!nl_grad_enabled())
    return nl_linear_backward(g, x, w, nx ? &gi[0] : NULL, nw ? &gi[1] : NULL, nb ? &gi[2] : NULL);
  if (nx && !(gi[0] = nl_ag_mm(g, w))) goto fail;                                           /* (N, in) */
  if (nw && (!(gt = nl_ag_transpose(g, 0, 1)) || !(gi[1] = nl_ag_mm(gt, x)))) goto fail;  /* (out, in) */
  if (nb && !(gi[2] = nl_ag_reduce(NL_OP_SUM, g, 1u, false, 0))) goto fail;                /* (out) */
  nl_tensor_free(gt);
  return 0;
fail:
  nl_tensor_free(gt);
  return nn_fail(3, gi);
}
nl_tensor *nl_ag_linear(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b) {
  nl_tensor *y = nl_linear(x, w, b);
  const nl_tensor *ins[3] = {x, w, b};
  if (!y || !nl_ag_any_requires_grad(3, ins)) return y;
  nl_node *n = nn_node(&y, b ? "AddmmBackward" : "MmBackward", d_linear, 3, ins, NULL, 0);
  if (!n) return NULL;
  int slot[2];
  return nn_finish(y, n, nn_save(n, 2, ins, slot));
}

/* ---- convolution -------------------------------------------------------------------------
 * ip[0]: 0 conv2d, 1 conv1d, 2 conv_transpose2d; ctx: nl_conv_params; saved: x, w. */
static const char *const conv_names[] = {"conv2d", "conv1d", "conv_transpose2d"};
static int d_conv(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tensor *x = nl_saved_get(n, 0), *w = nl_saved_get(n, 1);
  nl_tensor **gx = nl_ag_need(n, 0) ? &gi[0] : NULL, **gw = nl_ag_need(n, 1) ? &gi[1] : NULL;
  nl_tensor **gb = nl_ag_need(n, 2) ? &gi[2] : NULL;
  const nl_conv_params *p = n->ctx;
  int st = n->ip[0] == 0 ? nl_conv2d_backward(g, x, w, p, gx, gw, gb)
         : n->ip[0] == 1 ? nl_conv1d_backward(g, x, w, p, gx, gw, gb)
                         : nl_conv_transpose2d_backward(g, x, w, p, gx, gw, gb);
  if (st < 0 || nn_mark_nodiff(n, conv_names[n->ip[0]], g, 3, gi) < 0) return nn_fail(3, gi);
  return 0;
}

static nl_tensor *nn_conv(int kind, nl_tensor *y, const nl_tensor *x, const nl_tensor *w,
                          const nl_tensor *b, const nl_conv_params *p) {
  const nl_tensor *ins[3] = {x, w, b};
  if (!y || !nl_ag_any_requires_grad(3, ins)) return y;
  nl_node *n = nn_node(&y, "ConvolutionBackward", d_conv, 3, ins, p, sizeof *p);
  if (!n) return NULL;
  n->ip[0] = kind;
  int slot[2];
  return nn_finish(y, n, nn_save(n, 2, ins, slot));
}
nl_tensor *nl_ag_conv2d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b, const nl_conv_params *p) {
  return nn_conv(0, nl_conv2d(x, w, b, p), x, w, b, p);
}
nl_tensor *nl_ag_conv1d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b, const nl_conv_params *p) {
  return nn_conv(1, nl_conv1d(x, w, b, p), x, w, b, p);
}
nl_tensor *nl_ag_conv_transpose2d(const nl_tensor *x, const nl_tensor *w, const nl_tensor *b,
                                  const nl_conv_params *p) {
  return nn_conv(2, nl_conv_transpose2d(x, w, b, p), x, w, b, p);
}

/* ---- pooling -------------------------------------------------------------------------------
 * max: ip[0] = 0 for 2d, 1 for 1d, 2 for adaptive; saved: x, idx. avg: ctx nl_pool_params (NULL: adaptive); saved x. */
static int d_max_pool(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tensor *x = nl_saved_get(n, 0), *ix = nl_saved_get(n, 1);
  static const char *const names[] = {"max_pool2d", "max_pool1d", "adaptive_max_pool2d"};
  gi[0] = n->ip[0] == 1 ? nl_max_pool1d_backward(g, x, ix)
          : n->ip[0] == 2 ? nl_adaptive_max_pool2d_backward(g, x, ix)
                          : nl_max_pool2d_backward(g, x, ix);
  if (!gi[0] || nn_mark_nodiff(n, names[n->ip[0]], g, 1, gi) < 0) return nn_fail(1, gi);
  return 0;
}
static int nn_max_pool(int st, int kind, const char *name, const nl_tensor *x, nl_tensor **y, nl_tensor **idx) {
  if (st < 0 || !nl_ag_any_requires_grad(1, &x)) return st;
  nl_node *n = nn_node(y, name, d_max_pool, 1, &x, NULL, 0);
  if (!n) { nl_tensor_free(*idx); *idx = NULL; return -1; }
  n->ip[0] = kind;
  const nl_tensor *sv[2] = {x, *idx};
  int slot[2];
  if (!(*y = nn_finish(*y, n, nn_save(n, 2, sv, slot)))) { nl_tensor_free(*idx); *idx = NULL; return -1; }
  return 0;
}
int nl_ag_max_pool2d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx) {
  return nn_max_pool(nl_max_pool2d(x, p, y, idx), 0, "MaxPool2DWithIndicesBackward", x, y, idx);
}
int nl_ag_max_pool1d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx) {
  return nn_max_pool(nl_max_pool1d(x, p, y, idx), 1, "MaxPool2DWithIndicesBackward", x, y, idx);
}
int nl_ag_adaptive_max_pool2d(const nl_tensor *x, int64_t oh, int64_t ow, nl_tensor **y, nl_tensor **idx) {
  return nn_max_pool(nl_adaptive_max_pool2d(x, oh, ow, y, idx), 2, "AdaptiveMaxPool2DBackward", x, y, idx);
}

static int d_avg_pool(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tensor *x = nl_saved_get(n, 0);
  gi[0] = n->ctx ? nl_avg_pool2d_backward(g, x, n->ctx) : nl_adaptive_avg_pool2d_backward(g, x);
  if (!gi[0] || nn_mark_nodiff(n, n->ctx ? "avg_pool2d" : "adaptive_avg_pool2d", g, 1, gi) < 0) return nn_fail(1, gi);
  return 0;
}
static nl_tensor *nn_avg(nl_tensor *y, const nl_tensor *x, const nl_pool_params *p) {
  if (!y || !nl_ag_any_requires_grad(1, &x)) return y;
  nl_node *n = nn_node(&y, p ? "AvgPool2DBackward" : "AdaptiveAvgPool2DBackward", d_avg_pool, 1, &x, p, sizeof *p);
  if (!n) return NULL;
  return nn_finish(y, n, nl_node_save(n, x, false));
}
nl_tensor *nl_ag_avg_pool2d(const nl_tensor *x, const nl_pool_params *p) { return nn_avg(nl_avg_pool2d(x, p), x, p); }
nl_tensor *nl_ag_adaptive_avg_pool2d(const nl_tensor *x, int64_t oh, int64_t ow) {
  return nn_avg(nl_adaptive_avg_pool2d(x, oh, ow), x, NULL);
}

/* ---- normalisation -------------------------------------------------------------------------
 * ip[0]: 0 batch (ip[1] training), 1 layer (ip[1] nnorm), 2 group (sp[0] groups); ip[2..5]: slots of
 * x, weight, mean, rstd. */
static const char *const norm_names[] = {"batch_norm", "layer_norm", "group_norm"};
static int d_norm(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tensor *x = nn_saved(n, n->ip[2]), *w = nn_saved(n, n->ip[3]), *m = nn_saved(n, n->ip[4]), *r = nn_saved(n, n->ip[5]);
  nl_tensor **gx = nl_ag_need(n, 0) ? &gi[0] : NULL, **gw = nl_ag_need(n, 1) ? &gi[1] : NULL;
  nl_tensor **gb = nl_ag_need(n, 2) ? &gi[2] : NULL;
  int st;
  if (n->ip[0] == 0) st = nl_batch_norm_backward(g, x, w, m, r, n->ip[1], gx, gw, gb);
  else if (n->ip[0] == 1) st = nl_layer_norm_backward(g, x, n->ip[1], w, m, r, gx, gw, gb);
  else st = nl_group_norm_backward(g, x, n->sp[0], w, m, r, gx, gw, gb);
  if (st < 0 || nn_mark_nodiff(n, norm_names[n->ip[0]], g, 3, gi) < 0) return nn_fail(3, gi);
  return 0;
}

/* Records the norm node on *y; mean/rstd are kept for the caller only when wanted. */
static int nn_norm(int st, int kind, int ip1, int64_t sp0, const char *name, const nl_tensor *x, const nl_tensor *w,
                   const nl_tensor *b, nl_tensor **y, nl_tensor **m, nl_tensor **r, nl_tensor **um, nl_tensor **ur) {
  const nl_tensor *ins[3] = {x, w, b};
  if (st < 0) return -1;
  if (nl_ag_any_requires_grad(3, ins)) {
    nl_node *n = nn_node(y, name, d_norm, 3, ins, NULL, 0);
    if (n) {
      n->ip[0] = kind;
      n->ip[1] = ip1;
      n->sp[0] = sp0;
      const nl_tensor *sv[4] = {x, w, *m, *r};
      *y = nn_finish(*y, n, nn_save(n, 4, sv, &n->ip[2]));
    }
  }
  if (um) *um = *m; else nl_tensor_free(*m);
  if (ur) *ur = *r; else nl_tensor_free(*r);
  if (!*y) {
    if (um) { nl_tensor_free(*um); *um = NULL; }
    if (ur) { nl_tensor_free(*ur); *ur = NULL; }
    return -1;
  }
  return 0;
}

int nl_ag_batch_norm(const nl_tensor *x, nl_tensor *running_mean, nl_tensor *running_var,
                     const nl_tensor *weight, const nl_tensor *bias, bool training, double momentum,
                     double eps, nl_tensor **y, nl_tensor **save_mean, nl_tensor **save_invstd) {
  nl_tensor *m = NULL, *r = NULL;
  int st = nl_batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, y, &m, &r);
  return nn_norm(st, 0, training, 0, "NativeBatchNormBackward", x, weight, bias, y, &m, &r, save_mean, save_invstd);
}
int nl_ag_layer_norm(const nl_tensor *x, int nnorm, const int64_t *normalized_shape,
                     const nl_tensor *weight, const nl_tensor *bias, double eps, nl_tensor **y,
                     nl_tensor **mean, nl_tensor **rstd) {
  nl_tensor *m = NULL, *r = NULL;
  int st = nl_layer_norm(x, nnorm, normalized_shape, weight, bias, eps, y, &m, &r);
  return nn_norm(st, 1, nnorm, 0, "NativeLayerNormBackward", x, weight, bias, y, &m, &r, mean, rstd);
}
int nl_ag_group_norm(const nl_tensor *x, int64_t groups, const nl_tensor *weight,
                     const nl_tensor *bias, double eps, nl_tensor **y, nl_tensor **mean,
                     nl_tensor **rstd) {
  nl_tensor *m = NULL, *r = NULL;
  int st = nl_group_norm(x, groups, weight, bias, eps, y, &m, &r);
  return nn_norm(st, 2, 0, groups, "NativeGroupNormBackward", x, weight, bias, y, &m, &r, mean, rstd);
}

/* ---- losses ----------------------------------------------------------------------------------
 * ip[0] reduction; ip[2..5] slots of input, target, weight, pos_weight; sp[0] ignore_index;
 * dp[0] label_smoothing / pointwise param; ip[1] pointwise kind. */
static const char *const red_scale_ops[] = {"cross_entropy", "nll_loss"};

/* gout as a multiplier of the per-element terms: reduction none: gout (the loss's shape);
 * mean: gout / count; sum: gout. Not differentiable (used by the target gradients). */
static nl_tensor *nn_gscale(nl_tensor *g, int red, double count) {
  if (red == NL_RED_MEAN) return nl_binary_scalar(NL_OP_DIV, g, count, false, false);
  nl_tensor_retain(g);
  return g;
}

static int d_cls(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  bool ce = n->ip[1] == 0;
  nl_tensor *x = nn_saved(n, n->ip[2]), *t = nn_saved(n, n->ip[3]), *w = nn_saved(n, n->ip[4]);
  int red = n->ip[0];
  if (nl_ag_need(n, 0)) {
    gi[0] = ce ? nl_cross_entropy_backward(g, x, t, w, n->sp[0], red, n->dp[0])
               : nl_nll_loss_backward(g, x, t, w, n->sp[0], red);
    if (!gi[0]) goto fail;
  }
  if (ce && nl_ag_need(n, 1)) {
    /* probability targets: d loss / d t[c] = -(1-ls) * w[c] * log_softmax(x)[c] * scale */
    int cd = x->ndim == 1 ? 0 : 1;
    int64_t C = x->shape[cd], ws[NL_MAXDIM];
    nl_tensor *ls = K(nl_softmax(x, cd, true));
    nl_tensor *gs = K(nn_gscale(g, red, (double)(nl_numel(x) / (C ? C : 1))));
    if (red == NL_RED_NONE) gs = K(nl_unsqueeze(gs, cd));
    nl_tensor *r = K(nl_binary(NL_OP_MUL, ls, gs, 1));
    if (w) {
      for (int i = 0; i < x->ndim; i++) ws[i] = i == cd ? C : 1;
      r = K(nl_binary(NL_OP_MUL, r, K(nl_view(w, x->ndim, ws)), 1));
    }
    OUT(1, nl_binary_scalar(NL_OP_MUL, r, -(1 - n->dp[0]), false, false));
  }
  if (nn_mark_nodiff(n, red_scale_ops[ce ? 0 : 1], g, 2, gi) < 0) goto fail;
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return nn_fail(2, gi);
}

static nl_tensor *nn_cls(nl_tensor *r, int ce, const nl_tensor *x, const nl_tensor *t, const nl_tensor *w,
                         int64_t ignore_index, int red, double ls) {
  const nl_tensor *ins[2] = {x, ce && nl_dtype_is_float(t->dtype) ? t : NULL};
  if (!r || !nl_ag_any_requires_grad(2, ins)) return r;
  nl_node *n = nn_node(&r, ce ? "CrossEntropyLossBackward" : "NllLossBackward", d_cls, 2, ins, NULL, 0);
  if (!n) return NULL;
  n->ip[0] = red;
  n->ip[1] = ce ? 0 : 1;
  n->sp[0] = ignore_index;
  n->dp[0] = ls;
  const nl_tensor *sv[3] = {x, t, w};
  return nn_finish(r, n, nn_save(n, 3, sv, &n->ip[2]));
}
nl_tensor *nl_ag_cross_entropy(const nl_tensor *input, const nl_tensor *target, const nl_tensor *weight,
                               int64_t ignore_index, int reduction, double label_smoothing) {
  return nn_cls(nl_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing), 1, input, target,
                weight, ignore_index, reduction, label_smoothing);
}
nl_tensor *nl_ag_nll_loss(const nl_tensor *input, const nl_tensor *target, const nl_tensor *weight,
                          int64_t ignore_index, int reduction) {
  return nn_cls(nl_nll_loss(input, target, weight, ignore_index, reduction), 0, input, target, weight, ignore_index,
                reduction, 0);
}

static const char *const pw_names[] = {"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div"};
static const char *const pw_nodes[] = {"MseLossBackward", "L1LossBackward", "SmoothL1LossBackward", "HuberLossBackward",
                                       "KlDivBackward"};

/* mse / l1 under create_graph: the backward written with autograd ops (twice differentiable). */
static int d_pw_diff(nl_node *n, nl_tensor *g, nl_tensor *x, nl_tensor *t, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *d = K(nl_ag_binary(NL_OP_SUB, x, t, 1));
  nl_tensor *s = n->ip[1] == NL_LOSS_MSE ? K(nl_ag_muls(d, 2)) : K(nl_unary(NL_OP_SIGN, d));
  nl_tensor *r = K(nl_ag_mul(s, g));
  if (n->ip[0] == NL_RED_MEAN) r = K(nl_ag_muls(r, 1.0 / (double)nl_numel(x)));
  if (nl_ag_need(n, 0)) OUT(0, nl_ref(r));
  if (nl_ag_need(n, 1)) OUT(1, nl_ag_muls(r, -1));
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return nn_fail(2, gi);
}

static int d_pw(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_loss_kind kind = (nl_loss_kind)n->ip[1];
  nl_tensor *x = nl_saved_get(n, 0), *t = nl_saved_get(n, 1), *gx = NULL;
  int red = n->ip[0];
  if (nl_grad_enabled() && (kind == NL_LOSS_MSE || kind == NL_LOSS_L1)) return d_pw_diff(n, g, x, t, gi);
  bool sym = kind != NL_LOSS_KL_DIV; /* a function of x - t: d/dt = -d/dx */
  if (nl_ag_need(n, 0) || (sym && nl_ag_need(n, 1))) {
    gx = K(nl_pointwise_loss_backward(kind, g, x, t, red, n->dp[0]));
    if (nl_ag_need(n, 0)) OUT(0, nl_ref(gx));
  }
  if (nl_ag_need(n, 1)) {
    if (sym) OUT(1, nl_unary(NL_OP_NEG, gx));
    else {
      /* kl_div: log_target ? exp(t) * (t + 1 - x) : (t > 0) * (log t + 1 - x) */
      nl_tensor *gs = K(nn_gscale(g, red, (double)nl_numel(x)));
      nl_tensor *u = K(nl_binary(NL_OP_SUB, t, x, 1)), *v;
      if (n->dp[0] != 0) {
        v = K(nl_binary(NL_OP_MUL, K(nl_binary_scalar(NL_OP_ADD, u, 1, false, false)), K(nl_unary(NL_OP_EXP, t)), 1));
      } else {
        nl_tensor *lt = K(nl_binary(NL_OP_SUB, K(nl_unary(NL_OP_LOG, t)), x, 1));
        v = K(nl_where(K(nl_binary_scalar(NL_OP_GT, t, 0, false, false)),
                       nl_arg_tensor(K(nl_binary_scalar(NL_OP_ADD, lt, 1, false, false))), nl_arg_float(0)));
      }
      OUT(1, nl_binary(NL_OP_MUL, v, gs, 1));
    }
  }
  if (nn_mark_nodiff(n, pw_names[kind], g, 2, gi) < 0) goto fail;
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return nn_fail(2, gi);
}

nl_tensor *nl_ag_pointwise_loss(nl_loss_kind kind, const nl_tensor *input, const nl_tensor *target,
                                int reduction, double param) {
  nl_tensor *r = nl_pointwise_loss(kind, input, target, reduction, param);
  const nl_tensor *ins[2] = {input, target};
  if (!r || !nl_ag_any_requires_grad(2, ins)) return r;
  nl_node *n = nn_node(&r, pw_nodes[kind], d_pw, 2, ins, NULL, 0);
  if (!n) return NULL;
  n->ip[0] = reduction;
  n->ip[1] = kind;
  n->dp[0] = param;
  int slot[2];
  return nn_finish(r, n, nn_save(n, 2, ins, slot));
}

/* bce: saved input, target, weight (slots ip[2..4]); ip[1] = 1 with logits (pos_weight ip[5]) */
static int d_bce(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_tmp tmp = {0};
  nl_tensor *x = nn_saved(n, n->ip[2]), *t = nn_saved(n, n->ip[3]), *w = nn_saved(n, n->ip[4]);
  nl_tensor *pw = nn_saved(n, n->ip[5]);
  int red = n->ip[0];
  if (nl_ag_need(n, 0)) {
    gi[0] = n->ip[1] ? nl_bce_with_logits_backward(g, x, t, w, pw, red) : nl_bce_backward(g, x, t, w, red);
    if (!gi[0]) goto fail;
  }
  if (n->ip[1] && nl_ag_need(n, 1)) {
    /* PyTorch: pos_weight ? log(1 - sigmoid(x)) - pos_weight * log(sigmoid(x)) : -x; times weight */
    nl_tensor *r;
    if (pw) {
      nl_tensor *s = K(nl_unary(NL_OP_SIGMOID, x));
      nl_tensor *a = K(nl_unary(NL_OP_LOG, K(nl_binary_scalar(NL_OP_SUB, s, 1, false, true))));
      r = K(nl_binary(NL_OP_SUB, a, K(nl_binary(NL_OP_MUL, pw, K(nl_unary(NL_OP_LOG, s)), 1)), 1));
    } else {
      r = K(nl_unary(NL_OP_NEG, x));
    }
    if (w) r = K(nl_binary(NL_OP_MUL, r, w, 1));
    OUT(1, nl_binary(NL_OP_MUL, r, K(nn_gscale(g, red, (double)nl_numel(x))), 1));
  }
  if (nn_mark_nodiff(n, n->ip[1] ? "binary_cross_entropy_with_logits" : "binary_cross_entropy", g, 2, gi) < 0) goto fail;
  nl_tmp_free(&tmp);
  return 0;
fail:
  nl_tmp_free(&tmp);
  return nn_fail(2, gi);
}

static nl_tensor *nn_bce(nl_tensor *r, bool logits, const nl_tensor *x, const nl_tensor *t, const nl_tensor *w,
                         const nl_tensor *pw, int red) {
  const nl_tensor *ins[2] = {x, logits ? t : NULL};
  if (!r || !nl_ag_any_requires_grad(2, ins)) return r;
  nl_node *n = nn_node(&r, logits ? "BinaryCrossEntropyWithLogitsBackward" : "BinaryCrossEntropyBackward", d_bce, 2,
                       ins, NULL, 0);
  if (!n) return NULL;
  n->ip[0] = red;
  n->ip[1] = logits;
  const nl_tensor *sv[4] = {x, t, w, pw};
  return nn_finish(r, n, nn_save(n, 4, sv, &n->ip[2]));
}
nl_tensor *nl_ag_bce(const nl_tensor *input, const nl_tensor *target, const nl_tensor *weight, int reduction) {
  if (nl_grad_enabled() && target->requires_grad)
    return nl_fail("binary_cross_entropy: the derivative for 'target' is not implemented");
  return nn_bce(nl_bce(input, target, weight, reduction), false, input, target, weight, NULL, reduction);
}
nl_tensor *nl_ag_bce_with_logits(const nl_tensor *input, const nl_tensor *target, const nl_tensor *weight,
                                 const nl_tensor *pos_weight, int reduction) {
  return nn_bce(nl_bce_with_logits(input, target, weight, pos_weight, reduction), true, input, target, weight,
                pos_weight, reduction);
}

/* ---- dropout, embedding, pad, activations ---------------------------------------------------- */
/* dropout: saved mask */
static int d_dropout(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  /* gx = g * mask: written with autograd ops, so it is differentiable again */
  gi[0] = nl_ag_mul(g, nl_saved_get(n, 0));
  return gi[0] ? 0 : -1;
}
int nl_ag_dropout(const nl_tensor *x, double p, bool training, bool channelwise, nl_tensor **y, nl_tensor **mask) {
  nl_tensor *m = NULL;
  if (nl_dropout(x, p, training, channelwise, y, &m) < 0) return -1;
  if (m && nl_ag_any_requires_grad(1, &x)) {
    nl_node *n = nn_node(y, "NativeDropoutBackward", d_dropout, 1, &x, NULL, 0);
    if (n) *y = nn_finish(*y, n, nl_node_save(n, m, false));
    if (!*y) { nl_tensor_free(m); return -1; }
  }
  if (mask) *mask = m; else nl_tensor_free(m);
  return 0;
}

/* embedding: saved idx; sp[0] num_weights, sp[1] padding_idx */
static int d_embedding(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  gi[0] = nl_embedding_backward(g, nl_saved_get(n, 0), n->sp[0], n->sp[1]);
  if (!gi[0] || nn_mark_nodiff(n, "embedding", g, 1, gi) < 0) return nn_fail(1, gi);
  return 0;
}
nl_tensor *nl_ag_embedding(const nl_tensor *weight, const nl_tensor *idx, int64_t padding_idx) {
  if (padding_idx >= 0 && weight->ndim == 2 && padding_idx >= weight->shape[0])
    return nl_fail("embedding: padding_idx %lld is out of range for %lld rows", nl_one_based(padding_idx),
                   (long long)weight->shape[0]);
  nl_tensor *r = nl_embedding(weight, idx);
  if (!r || !nl_ag_any_requires_grad(1, &weight)) return r;
  nl_node *n = nn_node(&r, "EmbeddingBackward", d_embedding, 1, &weight, NULL, 0);
  if (!n) return NULL;
  n->sp[0] = weight->shape[0];
  n->sp[1] = padding_idx;
  return nn_finish(r, n, nl_node_save(n, idx, false));
}

/* pad: ctx = {npad, mode, pads...} as int64; saved x */
static int d_pad(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  const int64_t *c = n->ctx;
  gi[0] = nl_pad_backward(g, nl_saved_get(n, 0), (int)c[0], c + 2, (int)c[1]);
  if (!gi[0] || nn_mark_nodiff(n, "pad", g, 1, gi) < 0) return nn_fail(1, gi);
  return 0;
}
nl_tensor *nl_ag_pad(const nl_tensor *x, int npad, const int64_t *pads, int mode, double value) {
  nl_tensor *r = nl_pad(x, npad, pads, mode, value);
  if (!r || !nl_ag_any_requires_grad(1, &x)) return r;
  int64_t c[2 + 2 * NL_MAXDIM] = {npad, mode};
  memcpy(c + 2, pads, sizeof(int64_t) * (size_t)npad);
  static const char *const names[] = {"ConstantPadNdBackward", "ReflectionPadBackward", "ReplicationPadBackward",
                                      "CircularPadBackward"};
  nl_node *n = nn_node(&r, names[mode], d_pad, 1, &x, c, sizeof c);
  if (!n) return NULL;
  return nn_finish(r, n, nl_node_save(n, x, false));
}

/* activations: ip[0] act, dp[0..1] a, b; saved x */
static const char *const act_names[] = {"gelu", "silu", "elu", "leaky_relu", "softplus", "hardtanh", "relu6"};
static const char *const act_nodes[] = {"GeluBackward", "SiluBackward", "EluBackward", "LeakyReluBackward",
                                        "SoftplusBackward", "HardtanhBackward", "HardtanhBackward"};
static int d_act(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_act act = (nl_act)n->ip[0];
  nl_tensor *x = nl_saved_get(n, 0);
  if (nl_grad_enabled() && (act == NL_ACT_LEAKY_RELU || act == NL_ACT_HARDTANH || act == NL_ACT_RELU6)) {
    /* piecewise linear: g * slope(x) with autograd ops (the second derivative is 0) */
    nl_tensor *one = nl_full(x->ndim, x->shape, 1, x->dtype, nl_device_of(x));
    nl_tensor *slope = one ? nl_activation_backward(act, one, x, n->dp[0], n->dp[1]) : NULL;
    nl_tensor_free(one);
    gi[0] = slope ? nl_ag_mul(g, slope) : NULL;
    nl_tensor_free(slope);
    return gi[0] ? 0 : -1;
  }
  gi[0] = nl_activation_backward(act, g, x, n->dp[0], n->dp[1]);
  if (!gi[0] || nn_mark_nodiff(n, act_names[act], g, 1, gi) < 0) return nn_fail(1, gi);
  return 0;
}
nl_tensor *nl_ag_activation(nl_act act, const nl_tensor *x, double a, double b) {
  nl_tensor *r = nl_activation(act, x, a, b);
  if (!r || !nl_ag_any_requires_grad(1, &x)) return r;
  nl_node *n = nn_node(&r, act_nodes[act], d_act, 1, &x, NULL, 0);
  if (!n) return NULL;
  n->ip[0] = act;
  n->dp[0] = a;
  n->dp[1] = b;
  return nn_finish(r, n, nl_node_save(n, x, false));
}
