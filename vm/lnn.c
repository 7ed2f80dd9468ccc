/* lnn.c: thin Lua bindings of the nn kernels (nn/nl_nn.h) as torch._nn.<name>, forward and
 * backward, for the specs and for lua/nn to build on. The forwards are differentiable
 * (autograd/nl_ag_nn.h); the *_backward functions are the raw kernels. Positional arguments in PyTorch's
 * order; nil for an absent optional tensor; sizes are numbers or {h, w} pairs. Class
 * indices, targets and padding_idx are 0-BASED here (lua/nn converts from 1-based). */
#include <string.h>

#include "ltensor.h"

#include "../autograd/nl_ag_nn.h"
#include "../autograd/nl_ag_ops.h"
#include "../tensor/nl_ops.h"

static nl_tensor *opt_t(lua_State *L, int i) { return lua_isnoneornil(L, i) ? NULL : nl_lua_check(L, i); }

/* A number or a {a, b} table into out[2]; def when nil. */
static void pair(lua_State *L, int i, int64_t def, int64_t *out) {
  if (lua_isnoneornil(L, i)) { out[0] = out[1] = def; return; }
  if (lua_istable(L, i)) {
    lua_rawgeti(L, i, 1), lua_rawgeti(L, i, 2);
    out[0] = luaL_checkinteger(L, -2), out[1] = luaL_checkinteger(L, -1);
    lua_pop(L, 2);
    return;
  }
  out[0] = out[1] = luaL_checkinteger(L, i);
}

static int red(lua_State *L, int i) {
  static const char *const names[] = {"none", "mean", "sum", NULL};
  return luaL_checkoption(L, i, "mean", names);
}

/* Pushes the three results of a front end (status st); out pointers, read after the call. */
static int push3(lua_State *L, int st, nl_tensor **a, nl_tensor **b, nl_tensor **c) {
  nl_lua_check_status(L, st);
  nl_lua_push(L, *a), nl_lua_push(L, *b);
  if (*c) nl_lua_push(L, *c); else lua_pushnil(L);
  return 3;
}

/* conv params from (stride, padding, dilation, groups) at i.. ; padding may be "same"/"valid". */
static void conv_params(lua_State *L, const nl_tensor *w, int i, bool one_d, nl_conv_params *p) {
  memset(p, 0, sizeof *p);
  pair(L, i, 1, p->stride);
  pair(L, i + 2, 1, p->dilation);
  p->groups = luaL_optinteger(L, i + 3, 1);
  if (lua_type(L, i + 1) == LUA_TSTRING) {
    const char *s = lua_tostring(L, i + 1);
    if (!strcmp(s, "same")) {
      if (p->stride[0] != 1 || p->stride[1] != 1) luaL_error(L, "conv: padding='same' is not supported for strided convolutions");
      for (int k = 0; k < 2; k++) {
        if (w->ndim < 3) luaL_error(L, "conv: weight has too few dims");
        int wd = w->ndim == 3 ? 2 : 2 + k;
        int64_t ks = (one_d && k == 0) ? 1 : w->shape[wd];
        nl_conv_same_padding(ks, p->dilation[k], &p->pad_lo[k], &p->pad_hi[k]);
      }
    } else if (strcmp(s, "valid")) {
      luaL_error(L, "conv: invalid padding string '%s' (expected 'same' or 'valid')", s);
    }
  } else {
    pair(L, i + 1, 0, p->pad_lo);
    memcpy(p->pad_hi, p->pad_lo, sizeof p->pad_lo);
  }
  if (one_d) p->stride[0] = p->stride[1], p->dilation[0] = p->dilation[1], p->pad_lo[0] = p->pad_lo[1], p->pad_hi[0] = p->pad_hi[1];
}

static int l_conv2d(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *w = nl_lua_check(L, 2), *b = opt_t(L, 3);
  nl_conv_params p;
  conv_params(L, w, 4, false, &p);
  nl_lua_push(L, nl_ag_conv2d(x, w, b, &p));
  return 1;
}
static int l_conv2d_backward(lua_State *L) {
  nl_tensor *gy = nl_lua_check(L, 1), *x = nl_lua_check(L, 2), *w = nl_lua_check(L, 3), *gx, *gw, *gb;
  nl_conv_params p;
  conv_params(L, w, 4, false, &p);
  return push3(L, nl_conv2d_backward(gy, x, w, &p, &gx, &gw, &gb), &gx, &gw, &gb);
}
/* torch._nn.linear(x, w, b|nil) -> x (*, in) @ w (out, in)^T + b, nn.Linear's body in one call:
 * 2-D CPU input runs nn/linear.c (one AddmmBackward node whose backward calls GEMMs with
 * transpose flags); other input one addmm/matmul node over a transposed C view of the weight
 * (no Lua userdata). Returns nothing when x is not a tensor or its last dim is not w's in (the
 * caller raises its own error naming the module). */
static int l_linear(lua_State *L) {
  nl_tensor *x = nl_lua_to(L, 1), *w = nl_lua_check(L, 2), *b = opt_t(L, 3);
  if (w->ndim != 2) return luaL_error(L, "linear: expected a 2-D weight (out, in), got %d dims", w->ndim);
  if (!x || x->ndim == 0 || x->shape[x->ndim - 1] != w->shape[1]) return 0;
  if (nl_linear_fits(x, w, b)) { /* 2-D CPU input: nn/linear.c's kernels, one node */
    nl_lua_push(L, nl_ag_linear(x, w, b));
    return 1;
  }
  nl_tensor *wt = nl_ag_transpose(w, 0, 1), *y = NULL;
  if (wt && b && x->ndim == 2) {
    y = nl_ag_addmm(b, x, wt, 1, 1);
  } else if (wt) {
    y = nl_ag_matmul(x, wt);
    if (y && b) {
      nl_tensor *yb = nl_ag_add(y, b);
      nl_tensor_free(y);
      y = yb;
    }
  }
  nl_tensor_free(wt);
  nl_lua_push(L, y);
  return 1;
}
/* torch._nn.conv2d_algorithm(x, w, stride, padding, dilation, groups) -> "direct" | "im2col" */
static int l_conv2d_algorithm(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *w = nl_lua_check(L, 2);
  nl_conv_params p;
  conv_params(L, w, 3, false, &p);
  const char *a = nl_conv2d_algorithm(x, w, &p);
  if (!a) return nl_lua_error(L);
  lua_pushstring(L, a);
  return 1;
}
static int l_conv1d(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *w = nl_lua_check(L, 2), *b = opt_t(L, 3);
  nl_conv_params p;
  conv_params(L, w, 4, true, &p);
  nl_lua_push(L, nl_ag_conv1d(x, w, b, &p));
  return 1;
}
static int l_conv1d_backward(lua_State *L) {
  nl_tensor *gy = nl_lua_check(L, 1), *x = nl_lua_check(L, 2), *w = nl_lua_check(L, 3), *gx, *gw, *gb;
  nl_conv_params p;
  conv_params(L, w, 4, true, &p);
  return push3(L, nl_conv1d_backward(gy, x, w, &p, &gx, &gw, &gb), &gx, &gw, &gb);
}
/* (stride, padding, output_padding, groups, dilation) at i: PyTorch's order */
static void convt_params(lua_State *L, int i, nl_conv_params *p) {
  memset(p, 0, sizeof *p);
  pair(L, i, 1, p->stride);
  pair(L, i + 1, 0, p->pad_lo);
  memcpy(p->pad_hi, p->pad_lo, sizeof p->pad_lo);
  pair(L, i + 2, 0, p->output_padding);
  p->groups = luaL_optinteger(L, i + 3, 1);
  pair(L, i + 4, 1, p->dilation);
}
static int l_conv_transpose2d(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *w = nl_lua_check(L, 2), *b = opt_t(L, 3);
  nl_conv_params p;
  convt_params(L, 4, &p);
  nl_lua_push(L, nl_ag_conv_transpose2d(x, w, b, &p));
  return 1;
}
static int l_conv_transpose2d_backward(lua_State *L) {
  nl_tensor *gy = nl_lua_check(L, 1), *x = nl_lua_check(L, 2), *w = nl_lua_check(L, 3), *gx, *gw, *gb;
  nl_conv_params p;
  convt_params(L, 4, &p);
  return push3(L, nl_conv_transpose2d_backward(gy, x, w, &p, &gx, &gw, &gb), &gx, &gw, &gb);
}

/* (kernel, stride, padding, dilation, ceil_mode) at i; stride nil = kernel */
static void maxpool_params(lua_State *L, int i, bool one_d, nl_pool_params *p) {
  memset(p, 0, sizeof *p);
  pair(L, i, 1, p->kernel);
  if (lua_isnoneornil(L, i + 1)) memcpy(p->stride, p->kernel, sizeof p->kernel);
  else pair(L, i + 1, 1, p->stride);
  pair(L, i + 2, 0, p->padding);
  pair(L, i + 3, 1, p->dilation);
  p->ceil_mode = lua_toboolean(L, i + 4);
  if (one_d) p->kernel[0] = p->stride[0] = p->dilation[0] = 1, p->padding[0] = 0;
}
static int l_max_pool2d(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *y, *ix;
  nl_pool_params p;
  maxpool_params(L, 2, false, &p);
  nl_lua_check_status(L, nl_ag_max_pool2d(x, &p, &y, &ix));
  nl_lua_push(L, y), nl_lua_push(L, ix);
  return 2;
}
static int l_max_pool1d(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *y, *ix;
  nl_pool_params p;
  maxpool_params(L, 2, true, &p);
  nl_lua_check_status(L, nl_ag_max_pool1d(x, &p, &y, &ix));
  nl_lua_push(L, y), nl_lua_push(L, ix);
  return 2;
}
static int l_max_pool1d_backward(lua_State *L) {
  nl_lua_push(L, nl_max_pool1d_backward(nl_lua_check(L, 1), nl_lua_check(L, 2), nl_lua_check(L, 3)));
  return 1;
}
static int l_max_pool2d_backward(lua_State *L) {
  nl_lua_push(L, nl_max_pool2d_backward(nl_lua_check(L, 1), nl_lua_check(L, 2), nl_lua_check(L, 3)));
  return 1;
}
/* (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override) at i */
static void avgpool_params(lua_State *L, int i, nl_pool_params *p) {
  memset(p, 0, sizeof *p);
  pair(L, i, 1, p->kernel);
  if (lua_isnoneornil(L, i + 1)) memcpy(p->stride, p->kernel, sizeof p->kernel);
  else pair(L, i + 1, 1, p->stride);
  pair(L, i + 2, 0, p->padding);
  p->dilation[0] = p->dilation[1] = 1;
  p->ceil_mode = lua_toboolean(L, i + 3);
  p->count_include_pad = lua_isnoneornil(L, i + 4) ? true : lua_toboolean(L, i + 4);
  p->divisor_override = luaL_optinteger(L, i + 5, 0);
  if (lua_isinteger(L, i + 5) && p->divisor_override == 0) luaL_error(L, "avg_pool2d: divisor must be not zero");
}
static int l_avg_pool2d(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1);
  nl_pool_params p;
  avgpool_params(L, 2, &p);
  nl_lua_push(L, nl_ag_avg_pool2d(x, &p));
  return 1;
}
static int l_avg_pool2d_backward(lua_State *L) {
  nl_tensor *gy = nl_lua_check(L, 1), *x = nl_lua_check(L, 2);
  nl_pool_params p;
  avgpool_params(L, 3, &p);
  nl_lua_push(L, nl_avg_pool2d_backward(gy, x, &p));
  return 1;
}
static int l_adaptive_avg_pool2d(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1);
  int64_t s[2];
  pair(L, 2, 1, s);
  nl_lua_push(L, nl_ag_adaptive_avg_pool2d(x, s[0], s[1]));
  return 1;
}
static int l_adaptive_avg_pool2d_backward(lua_State *L) {
  nl_lua_push(L, nl_adaptive_avg_pool2d_backward(nl_lua_check(L, 1), nl_lua_check(L, 2)));
  return 1;
}
static int l_adaptive_max_pool2d(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *y, *ix;
  int64_t s[2];
  pair(L, 2, 1, s);
  nl_lua_check_status(L, nl_ag_adaptive_max_pool2d(x, s[0], s[1], &y, &ix));
  nl_lua_push(L, y), nl_lua_push(L, ix);
  return 2;
}

static int l_batch_norm(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *rm = opt_t(L, 2), *rv = opt_t(L, 3), *w = opt_t(L, 4), *b = opt_t(L, 5);
  bool training = lua_toboolean(L, 6);
  double mom = luaL_optnumber(L, 7, 0.1), eps = luaL_optnumber(L, 8, 1e-5);
  nl_tensor *y, *m, *is;
  return push3(L, nl_ag_batch_norm(x, rm, rv, w, b, training, mom, eps, &y, &m, &is), &y, &m, &is);
}
static int l_batch_norm_backward(lua_State *L) {
  nl_tensor *gy = nl_lua_check(L, 1), *x = nl_lua_check(L, 2), *w = opt_t(L, 3), *m = nl_lua_check(L, 4),
            *is = nl_lua_check(L, 5), *gx, *gw, *gb;
  return push3(L, nl_batch_norm_backward(gy, x, w, m, is, lua_toboolean(L, 6), &gx, &gw, &gb), &gx, &gw, &gb);
}
static int l_layer_norm(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1);
  int64_t ns[NL_MAXDIM];
  int n = nl_lua_shape(L, "layer_norm", 2, 2, ns);
  nl_tensor *w = opt_t(L, 3), *b = opt_t(L, 4), *y, *m, *r;
  return push3(L, nl_ag_layer_norm(x, n, ns, w, b, luaL_optnumber(L, 5, 1e-5), &y, &m, &r), &y, &m, &r);
}
static int l_layer_norm_backward(lua_State *L) {
  nl_tensor *gy = nl_lua_check(L, 1), *x = nl_lua_check(L, 2);
  int64_t ns[NL_MAXDIM];
  int n = nl_lua_shape(L, "layer_norm_backward", 3, 3, ns);
  nl_tensor *w = opt_t(L, 4), *m = nl_lua_check(L, 5), *r = nl_lua_check(L, 6), *gx, *gw, *gb;
  return push3(L, nl_layer_norm_backward(gy, x, n, w, m, r, &gx, &gw, &gb), &gx, &gw, &gb);
}
static int l_group_norm(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *w = opt_t(L, 3), *b = opt_t(L, 4), *y, *m, *r;
  return push3(L, nl_ag_group_norm(x, luaL_checkinteger(L, 2), w, b, luaL_optnumber(L, 5, 1e-5), &y, &m, &r), &y, &m, &r);
}
static int l_group_norm_backward(lua_State *L) {
  nl_tensor *gy = nl_lua_check(L, 1), *x = nl_lua_check(L, 2), *w = opt_t(L, 4), *m = nl_lua_check(L, 5),
            *r = nl_lua_check(L, 6), *gx, *gw, *gb;
  return push3(L, nl_group_norm_backward(gy, x, luaL_checkinteger(L, 3), w, m, r, &gx, &gw, &gb), &gx, &gw, &gb);
}

/* cross_entropy(x, t, w, ignore_index, reduction, label_smoothing); _backward(g, ...) */
static int l_cross_entropy(lua_State *L) {
  nl_lua_push(L, nl_ag_cross_entropy(nl_lua_check(L, 1), nl_lua_check(L, 2), opt_t(L, 3), luaL_optinteger(L, 4, -100),
                                  red(L, 5), luaL_optnumber(L, 6, 0)));
  return 1;
}
/* cross_entropy_1b(x, t, w, ignore_index, reduction, label_smoothing): as cross_entropy, with
 * the Lua API's 1-based class labels and ignore_index (F.cross_entropy's `t:long() - 1` done
 * here: no Lua crossings, one temporary). Float targets (class probabilities) pass as they are. */
static int l_cross_entropy_1b(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1), *t = nl_lua_check(L, 2), *w = opt_t(L, 3);
  lua_Integer ignore = luaL_optinteger(L, 4, -100);
  int r = red(L, 5);
  double ls = luaL_optnumber(L, 6, 0);
  nl_tensor *tz;
  if (t->dtype == NL_FLOAT32 || t->dtype == NL_FLOAT64 || t->dtype == NL_FLOAT16) {
    nl_tensor_retain(t);
    tz = t;
  } else if (t->dtype == NL_INT64 && nl_device_of(t).type == NL_CPU && nl_is_contiguous(t)) {
    /* the common case in one loop (sub's set-up cost more than the copy on small batches);
     * wrapping like the kernel's -1 (unsigned arithmetic: no signed overflow) */
    if (!(tz = nl_empty(t->ndim, t->shape, NL_INT64, nl_cpu()))) return nl_lua_error(L);
    const int64_t *s = nl_data(t);
    int64_t *d = nl_data(tz), n = nl_numel(t);
    for (int64_t i = 0; i < n; i++) d[i] = (int64_t)((uint64_t)s[i] - 1u);
  } else {
    nl_tensor *tl = nl_to_dtype(t, NL_INT64);
    tz = tl ? nl_binary_scalar(NL_OP_SUB, tl, 1, true, false) : NULL;
    nl_tensor_free(tl);
    if (!tz) return nl_lua_error(L);
  }
  /* zero-based like the targets (whose -1 wraps in the kernel): math.mininteger - 1 wraps too
   * (fuzzer find, seed 4243: a signed overflow here) */
  nl_tensor *loss = nl_ag_cross_entropy(x, tz, w, (int64_t)((uint64_t)ignore - 1u), r, ls);
  nl_tensor_free(tz);
  nl_lua_push(L, loss);
  return 1;
}
static int l_cross_entropy_backward(lua_State *L) {
  nl_lua_push(L, nl_cross_entropy_backward(nl_lua_check(L, 1), nl_lua_check(L, 2), nl_lua_check(L, 3), opt_t(L, 4),
                                           luaL_optinteger(L, 5, -100), red(L, 6), luaL_optnumber(L, 7, 0)));
  return 1;
}
static int l_nll_loss(lua_State *L) {
  nl_lua_push(L, nl_ag_nll_loss(nl_lua_check(L, 1), nl_lua_check(L, 2), opt_t(L, 3), luaL_optinteger(L, 4, -100), red(L, 5)));
  return 1;
}
static int l_nll_loss_backward(lua_State *L) {
  nl_lua_push(L, nl_nll_loss_backward(nl_lua_check(L, 1), nl_lua_check(L, 2), nl_lua_check(L, 3), opt_t(L, 4),
                                      luaL_optinteger(L, 5, -100), red(L, 6)));
  return 1;
}

/* pointwise losses: f(x, t, reduction, param); f_backward(g, x, t, reduction, param) */
#define NN_PW(name, KIND, DEF)                                                                     \
  static int l_##name(lua_State *L) {                                                              \
    double prm = lua_isboolean(L, 4) ? lua_toboolean(L, 4) : luaL_optnumber(L, 4, DEF);            \
    nl_lua_push(L, nl_ag_pointwise_loss(KIND, nl_lua_check(L, 1), nl_lua_check(L, 2), red(L, 3), prm)); \
    return 1;                                                                                      \
  }                                                                                                \
  static int l_##name##_backward(lua_State *L) {                                                   \
    double prm = lua_isboolean(L, 5) ? lua_toboolean(L, 5) : luaL_optnumber(L, 5, DEF);            \
    nl_lua_push(L, nl_pointwise_loss_backward(KIND, nl_lua_check(L, 1), nl_lua_check(L, 2),         \
                                              nl_lua_check(L, 3), red(L, 4), prm));                \
    return 1;                                                                                      \
  }
NN_PW(mse_loss, NL_LOSS_MSE, 0)
NN_PW(l1_loss, NL_LOSS_L1, 0)
NN_PW(smooth_l1_loss, NL_LOSS_SMOOTH_L1, 1)
NN_PW(huber_loss, NL_LOSS_HUBER, 1)
NN_PW(kl_div, NL_LOSS_KL_DIV, 0)

static int l_bce(lua_State *L) {
  nl_lua_push(L, nl_ag_bce(nl_lua_check(L, 1), nl_lua_check(L, 2), opt_t(L, 3), red(L, 4)));
  return 1;
}
static int l_bce_backward(lua_State *L) {
  nl_lua_push(L, nl_bce_backward(nl_lua_check(L, 1), nl_lua_check(L, 2), nl_lua_check(L, 3), opt_t(L, 4), red(L, 5)));
  return 1;
}
/* (x, t, weight, reduction, pos_weight) */
static int l_bce_logits(lua_State *L) {
  nl_lua_push(L, nl_ag_bce_with_logits(nl_lua_check(L, 1), nl_lua_check(L, 2), opt_t(L, 3), opt_t(L, 5), red(L, 4)));
  return 1;
}
static int l_bce_logits_backward(lua_State *L) {
  nl_lua_push(L, nl_bce_with_logits_backward(nl_lua_check(L, 1), nl_lua_check(L, 2), nl_lua_check(L, 3), opt_t(L, 4),
                                             opt_t(L, 6), red(L, 5)));
  return 1;
}

static int dropout_common(lua_State *L, bool ch) {
  nl_tensor *x = nl_lua_check(L, 1), *y, *m;
  bool training = lua_isnoneornil(L, 3) ? true : lua_toboolean(L, 3);
  nl_lua_check_status(L, nl_ag_dropout(x, luaL_optnumber(L, 2, 0.5), training, ch, &y, &m));
  nl_lua_push(L, y);
  if (m) nl_lua_push(L, m); else lua_pushnil(L);
  return 2;
}
static int l_dropout(lua_State *L) { return dropout_common(L, false); }
static int l_dropout2d(lua_State *L) { return dropout_common(L, true); }
static int l_dropout_backward(lua_State *L) {
  nl_lua_push(L, nl_dropout_backward(nl_lua_check(L, 1), opt_t(L, 2)));
  return 1;
}

/* embedding(idx, weight, padding_idx or nil); embedding_backward(g, idx, num_weights, padding_idx or nil) */
static int l_embedding(lua_State *L) {
  nl_lua_push(L, nl_ag_embedding(nl_lua_check(L, 2), nl_lua_check(L, 1), luaL_optinteger(L, 3, -1)));
  return 1;
}
static int l_embedding_backward(lua_State *L) {
  nl_lua_push(L, nl_embedding_backward(nl_lua_check(L, 1), nl_lua_check(L, 2), luaL_checkinteger(L, 3),
                                       luaL_optinteger(L, 4, -1)));
  return 1;
}
static int l_one_hot(lua_State *L) {
  nl_lua_push(L, nl_one_hot(nl_lua_check(L, 1), luaL_optinteger(L, 2, -1)));
  return 1;
}
static int pad_args(lua_State *L, int i, int64_t *pads, int *mode) {
  static const char *const modes[] = {"constant", "reflect", "replicate", "circular", NULL};
  luaL_checktype(L, i, LUA_TTABLE);
  int n = (int)luaL_len(L, i);
  if (n > 2 * NL_MAXDIM) luaL_error(L, "pad: too many padding values (%d)", n);
  for (int k = 0; k < n; k++) {
    lua_rawgeti(L, i, k + 1);
    pads[k] = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
  }
  *mode = luaL_checkoption(L, i + 1, "constant", modes);
  return n;
}
static int l_pad(lua_State *L) {
  nl_tensor *x = nl_lua_check(L, 1);
  int64_t pads[2 * NL_MAXDIM];
  int mode, n = pad_args(L, 2, pads, &mode);
  nl_lua_push(L, nl_ag_pad(x, n, pads, mode, luaL_optnumber(L, 4, 0)));
  return 1;
}
static int l_pad_backward(lua_State *L) {
  nl_tensor *gy = nl_lua_check(L, 1), *x = nl_lua_check(L, 2);
  int64_t pads[2 * NL_MAXDIM];
  int mode, n = pad_args(L, 3, pads, &mode);
  nl_lua_push(L, nl_pad_backward(gy, x, n, pads, mode));
  return 1;
}

/* activations: f(x, a, b) and f_backward(g, x, a, b), PyTorch's defaults */
static double gelu_mode(lua_State *L, int i) {
  static const char *const m[] = {"none", "tanh", NULL};
  return luaL_checkoption(L, i, "none", m);
}
#define NN_ACT(name, ACT, A, B)                                                                      \
  static int l_##name(lua_State *L) {                                                                \
    nl_tensor *x = nl_lua_check(L, 1);                                                               \
    nl_lua_push(L, nl_ag_activation(ACT, x, A(2), B(3)));                                               \
    return 1;                                                                                        \
  }                                                                                                  \
  static int l_##name##_backward(lua_State *L) {                                                     \
    nl_tensor *g = nl_lua_check(L, 1), *x = nl_lua_check(L, 2);                                      \
    nl_lua_push(L, nl_activation_backward(ACT, g, x, A(3), B(4)));                                   \
    return 1;                                                                                        \
  }
#define NONE(i) 0
#define GELU_A(i) gelu_mode(L, i)
#define ONE(i) luaL_optnumber(L, i, 1)
#define SLOPE(i) luaL_optnumber(L, i, 0.01)
#define THR(i) luaL_optnumber(L, i, 20)
#define MINV(i) luaL_optnumber(L, i, -1)
NN_ACT(gelu, NL_ACT_GELU, GELU_A, NONE)
NN_ACT(silu, NL_ACT_SILU, NONE, NONE)
NN_ACT(elu, NL_ACT_ELU, ONE, NONE)
NN_ACT(leaky_relu, NL_ACT_LEAKY_RELU, SLOPE, NONE)
NN_ACT(softplus, NL_ACT_SOFTPLUS, ONE, THR)
NN_ACT(hardtanh, NL_ACT_HARDTANH, MINV, ONE)
NN_ACT(relu6, NL_ACT_RELU6, NONE, NONE)

#define R(n) {#n, l_##n}, {#n "_backward", l_##n##_backward}
static const luaL_Reg nn_regs[] = {
    R(conv2d), {"conv2d_algorithm", l_conv2d_algorithm}, {"linear", l_linear}, R(conv1d), R(conv_transpose2d), {"max_pool2d", l_max_pool2d}, {"max_pool2d_backward", l_max_pool2d_backward},
    {"max_pool1d", l_max_pool1d}, {"max_pool1d_backward", l_max_pool1d_backward}, R(avg_pool2d), R(adaptive_avg_pool2d), {"adaptive_max_pool2d", l_adaptive_max_pool2d},
    R(batch_norm), R(layer_norm), R(group_norm), R(cross_entropy), {"cross_entropy_1b", l_cross_entropy_1b}, R(nll_loss), R(mse_loss), R(l1_loss),
    R(smooth_l1_loss), R(huber_loss), R(kl_div), {"binary_cross_entropy", l_bce},
    {"binary_cross_entropy_backward", l_bce_backward}, {"binary_cross_entropy_with_logits", l_bce_logits},
    {"binary_cross_entropy_with_logits_backward", l_bce_logits_backward}, R(dropout), {"dropout2d", l_dropout2d},
    R(embedding), {"one_hot", l_one_hot}, R(pad), R(gelu), R(silu), R(elu), R(leaky_relu), R(softplus), R(hardtanh),
    R(relu6), {NULL, NULL}};

/* torch._nn = { ... } (stack on entry: torch table at -2, methods at -1) */
void nl_lua_open_nn(lua_State *L) {
  luaL_newlib(L, nn_regs);
  lua_setfield(L, -3, "_nn");
}
