/* loptim.c: torch._optim, the C half of lua/optim: one call per parameter group runs the
 * whole multi-tensor update of nn/optim_update.c.
 *
 *   torch._optim.sgd_step(params, grads, bufs, first, opts)
 *   torch._optim.adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, opts)
 *   torch._optim.rmsprop_step(params, grads, square_avgs, grad_avgs, bufs, opts)
 *   torch._optim.adagrad_step(params, grads, sums, steps, opts)
 *   torch._optim.adadelta_step(params, grads, square_avgs, acc_deltas, opts)
 *   torch._optim.zero_grad(params, set_to_none)      Optimizer:zero_grad's loop
 *   torch._optim.collect(params, params_out, grads_out) -> n   Optimizer:_gather's loop
 *
 * Lists are Lua sequences indexed like params (#params entries); state lists may be nil or
 * hold false for unused states; first and steps are lists of booleans / numbers. opts holds
 * the group's hyperparameters by PyTorch's names (beta1/beta2 split out, decoupled for AdamW). */
#include <limits.h>
#include "ltensor.h"

#include "../autograd/nl_ag_ops.h"
#include "../autograd/nl_autograd.h"
#include "../nn/optim_update.h"

/* Fills a[0..n) with the tensors of the table at tab (nil / false allowed unless required). */
static void nl_optim_fill(lua_State *L, int tab, nl_tensor **a, int n, const char *what, bool required) {
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, tab, i + 1);
    nl_tensor *t = nl_lua_to(L, -1);
    if (!t && (required || !(lua_isnil(L, -1) || (lua_isboolean(L, -1) && !lua_toboolean(L, -1)))))
      luaL_error(L, "optim: %s %d is a %s (expected a tensor)", what, i + 1, luaL_typename(L, -1));
    a[i] = t; /* the table still references the userdata until the call returns */
    lua_pop(L, 1);
  }
}

/* The lists at arguments 1..count as C arrays (scratch userdata above the arguments, so a
 * Lua error leaks nothing; the argument tables keep the tensors alive during the call).
 * Returns the parameter count (#params). */
static int nl_optim_get_lists(lua_State *L, int count, const char *const *names,
                              const bool *required, nl_tensor **out[]) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)luaL_len(L, 1);
  for (int k = 0; k < count; k++) {
    int idx = k + 1;
    if (lua_isnoneornil(L, idx)) {
      if (required[k]) luaL_error(L, "optim: the %s list is missing", names[k]);
      out[k] = NULL;
      continue;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    if ((int)luaL_len(L, idx) > n)
      luaL_error(L, "optim: the %s list has %d entries for %d parameters", names[k],
                 (int)luaL_len(L, idx), n);
    /* scratch array kept alive on the stack (a userdata above the arguments) */
    out[k] = lua_newuserdatauv(L, sizeof(nl_tensor *) * (size_t)(n > 0 ? n : 1), 0);
    nl_optim_fill(L, idx, out[k], n, names[k], required[k]);
  }
  return n;
}

static double *nl_optim_numbers(lua_State *L, int idx, int n, const char *what) {
  luaL_checktype(L, idx, LUA_TTABLE);
  double *a = lua_newuserdatauv(L, sizeof *a * (size_t)(n > 0 ? n : 1), 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    if (!lua_isnumber(L, -1)) luaL_error(L, "optim: %s %d is not a number", what, i + 1);
    a[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return a;
}

static double nl_optim_num(lua_State *L, int opts, const char *k, double def) {
  return nl_lua_opt_number(L, opts, k, def);
}

/* SGD's hyperparameters from the group/options table at idx (PyTorch's defaults but lr). */
static void nl_sgd_options(lua_State *L, int idx, nl_sgd_hp *h) {
  luaL_checktype(L, idx, LUA_TTABLE);
  h->lr = nl_optim_num(L, idx, "lr", 0);
  h->momentum = nl_optim_num(L, idx, "momentum", 0);
  h->dampening = nl_optim_num(L, idx, "dampening", 0);
  h->weight_decay = nl_optim_num(L, idx, "weight_decay", 0);
  h->nesterov = nl_lua_opt_bool(L, idx, "nesterov", 0);
  h->maximize = nl_lua_opt_bool(L, idx, "maximize", 0);
}

static int nl_l_sgd_step(lua_State *L) {
  static const char *const names[] = {"params", "grads", "bufs"};
  nl_sgd_hp h;
  nl_sgd_options(L, 5, &h);
  const bool req[] = {true, true, h.momentum != 0};
  nl_tensor **l[3];
  int n = nl_optim_get_lists(L, 3, names, req, l);
  bool *first = NULL;
  if (!lua_isnoneornil(L, 4)) {
    luaL_checktype(L, 4, LUA_TTABLE);
    first = lua_newuserdatauv(L, sizeof *first * (size_t)(n > 0 ? n : 1), 0);
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, 4, i + 1);
      first[i] = lua_toboolean(L, -1);
      lua_pop(L, 1);
    }
  }
  nl_lua_check_status(L, nl_sgd_step(n, l[0], l[1], l[2], first, &h));
  return 0;
}

/* torch._optim.sgd(params, state, group): SGD:_step_group in one call. For each parameter
 * with a gradient: its state table (state[p], created empty on the first step) and, when
 * momentum != 0, its momentum buffer (state[p].momentum_buffer, created as zeros on the first
 * step and then set from the gradient: `first`); then one nl_sgd_step over them all. Replaces
 * collect + a Lua loop over the states + sgd_step's list copies: a third of XOR's step. */
#define NL_SGD_STACK 64
static int nl_l_sgd(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  nl_sgd_hp h;
  nl_sgd_options(L, 3, &h);
  lua_Integer len = luaL_len(L, 1);
  if (len > INT_MAX / 4) return luaL_error(L, "optim: %lld parameters in one group", (long long)len);
  /* C arrays: on the stack for small groups, else a scratch userdata (freed by the GC; a
   * Lua error then leaks nothing). The tensors stay referenced from Lua during the call. */
  nl_tensor *sp[3 * NL_SGD_STACK];
  bool sfirst[NL_SGD_STACK], *first = sfirst;
  nl_tensor **params = sp, **grads = sp + NL_SGD_STACK, **bufs = sp + 2 * NL_SGD_STACK;
  if (len > NL_SGD_STACK) {
    size_t m = (size_t)len;
    params = lua_newuserdatauv(L, (3 * sizeof(nl_tensor *) + sizeof(bool)) * m, 0);
    grads = params + m, bufs = grads + m, first = (bool *)(bufs + m); /* stays at index 4 */
  }
  int n = 0;
  for (lua_Integer i = 1; i <= len; i++) {
    lua_rawgeti(L, 1, i); /* p */
    nl_tensor *p = nl_lua_to(L, -1);
    if (!p) return luaL_error(L, "optim: parameter %d is a %s (expected a tensor)", (int)i, luaL_typename(L, -1));
    if (!p->grad) { lua_pop(L, 1); continue; }
    lua_pushvalue(L, -1);
    if (lua_rawget(L, 2) != LUA_TTABLE) { /* state[p] = {} */
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushvalue(L, -2);
      lua_pushvalue(L, -2);
      lua_rawset(L, 2);
    }
    params[n] = p, grads[n] = p->grad, bufs[n] = NULL, first[n] = false;
    if (h.momentum != 0) {
      if (lua_getfield(L, -1, "momentum_buffer") == LUA_TNIL) {
        lua_pop(L, 1);
        nl_lua_push(L, nl_zeros(p->ndim, p->shape, p->dtype, nl_device_of(p)));
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "momentum_buffer");
        first[n] = true;
      }
      if (!(bufs[n] = nl_lua_to(L, -1)))
        return luaL_error(L, "optim: the momentum buffer of parameter %d is a %s", (int)i, luaL_typename(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 2); /* state[p], p: both stay referenced from the argument tables */
    n++;
  }
  if (n) nl_lua_check_status(L, nl_sgd_step(n, params, grads, h.momentum != 0 ? bufs : NULL, first, &h));
  return 0;
}

static int nl_l_adam_step(lua_State *L) {
  static const char *const names[] = {"params", "grads", "exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs"};
  nl_adam_hp h;
  luaL_checktype(L, 7, LUA_TTABLE);
  h.lr = nl_optim_num(L, 7, "lr", 1e-3);
  h.beta1 = nl_optim_num(L, 7, "beta1", 0.9);
  h.beta2 = nl_optim_num(L, 7, "beta2", 0.999);
  h.eps = nl_optim_num(L, 7, "eps", 1e-8);
  h.weight_decay = nl_optim_num(L, 7, "weight_decay", 0);
  h.amsgrad = nl_lua_opt_bool(L, 7, "amsgrad", 0);
  h.maximize = nl_lua_opt_bool(L, 7, "maximize", 0);
  h.decoupled = nl_lua_opt_bool(L, 7, "decoupled", 0);
  const bool req[] = {true, true, true, true, h.amsgrad};
  nl_tensor **l[5];
  int n = nl_optim_get_lists(L, 5, names, req, l);
  double *steps = nl_optim_numbers(L, 6, n, "step");
  nl_lua_check_status(L, nl_adam_step(n, l[0], l[1], l[2], l[3], l[4], steps, &h));
  return 0;
}

static int nl_l_rmsprop_step(lua_State *L) {
  static const char *const names[] = {"params", "grads", "square_avgs", "grad_avgs", "bufs"};
  nl_rmsprop_hp h;
  luaL_checktype(L, 6, LUA_TTABLE);
  h.lr = nl_optim_num(L, 6, "lr", 1e-2);
  h.alpha = nl_optim_num(L, 6, "alpha", 0.99);
  h.eps = nl_optim_num(L, 6, "eps", 1e-8);
  h.weight_decay = nl_optim_num(L, 6, "weight_decay", 0);
  h.momentum = nl_optim_num(L, 6, "momentum", 0);
  h.centered = nl_lua_opt_bool(L, 6, "centered", 0);
  h.maximize = nl_lua_opt_bool(L, 6, "maximize", 0);
  const bool req[] = {true, true, true, h.centered, h.momentum > 0};
  nl_tensor **l[5];
  int n = nl_optim_get_lists(L, 5, names, req, l);
  nl_lua_check_status(L, nl_rmsprop_step(n, l[0], l[1], l[2], l[3], l[4], &h));
  return 0;
}

static int nl_l_adagrad_step(lua_State *L) {
  static const char *const names[] = {"params", "grads", "sums"};
  nl_adagrad_hp h;
  luaL_checktype(L, 5, LUA_TTABLE);
  h.lr = nl_optim_num(L, 5, "lr", 1e-2);
  h.lr_decay = nl_optim_num(L, 5, "lr_decay", 0);
  h.weight_decay = nl_optim_num(L, 5, "weight_decay", 0);
  h.eps = nl_optim_num(L, 5, "eps", 1e-10);
  h.maximize = nl_lua_opt_bool(L, 5, "maximize", 0);
  const bool req[] = {true, true, true};
  nl_tensor **l[3];
  int n = nl_optim_get_lists(L, 3, names, req, l);
  double *steps = nl_optim_numbers(L, 4, n, "step");
  nl_lua_check_status(L, nl_adagrad_step(n, l[0], l[1], l[2], steps, &h));
  return 0;
}

static int nl_l_adadelta_step(lua_State *L) {
  static const char *const names[] = {"params", "grads", "square_avgs", "acc_deltas"};
  nl_adadelta_hp h;
  luaL_checktype(L, 5, LUA_TTABLE);
  h.lr = nl_optim_num(L, 5, "lr", 1.0);
  h.rho = nl_optim_num(L, 5, "rho", 0.9);
  h.eps = nl_optim_num(L, 5, "eps", 1e-6);
  h.weight_decay = nl_optim_num(L, 5, "weight_decay", 0);
  h.maximize = nl_lua_opt_bool(L, 5, "maximize", 0);
  const bool req[] = {true, true, true, true};
  nl_tensor **l[4];
  int n = nl_optim_get_lists(L, 4, names, req, l);
  nl_lua_check_status(L, nl_adadelta_step(n, l[0], l[1], l[2], l[3], &h));
  return 0;
}

/* torch._optim.collect(params, params_out, grads_out) -> n: the parameters of a group that have
 * a gradient, and those gradients, written into the two (reused) lists at 1..n; entries past n
 * are cleared. One C call instead of a p.grad lookup per parameter and two new tables. */
static int nl_l_collect(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_Integer len = luaL_len(L, 1), n = 0;
  for (lua_Integer i = 1; i <= len; i++) {
    lua_rawgeti(L, 1, i);
    nl_tensor *p = nl_lua_to(L, -1);
    if (!p) return luaL_error(L, "optim: parameter %d is a %s (expected a tensor)", (int)i, luaL_typename(L, -1));
    if (!p->grad) {
      lua_pop(L, 1);
      continue;
    }
    n++;
    lua_rawseti(L, 2, n);
    nl_tensor_retain(p->grad);
    nl_lua_push(L, p->grad);
    lua_rawseti(L, 3, n);
  }
  for (lua_Integer j = n + 1;; j++) { /* clear what a previous, longer step left */
    int t2 = lua_rawgeti(L, 2, j), t3 = lua_rawgeti(L, 3, j);
    lua_pop(L, 2);
    if (t2 == LUA_TNIL && t3 == LUA_TNIL) break;
    lua_pushnil(L), lua_rawseti(L, 2, j);
    lua_pushnil(L), lua_rawseti(L, 3, j);
  }
  lua_pushinteger(L, n);
  return 1;
}

/* torch._optim.zero_grad(params, set_to_none): Optimizer:zero_grad's loop over one group in C
 * (a Lua loop costs ~5 tensor attribute lookups per parameter). Kept gradients are detached
 * (or stop requiring grad) and zeroed in place, as PyTorch 1.13 does. */
static int nl_l_zero_grad(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  bool to_none = lua_toboolean(L, 2);
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    nl_tensor *p = nl_lua_to(L, -1);
    if (!p) return luaL_error(L, "zero_grad: parameter %d is not a tensor (got %s)", (int)i, luaL_typename(L, -1));
    lua_pop(L, 1);
    nl_tensor *g = p->grad;
    if (!g) continue;
    if (to_none) {
      nl_lua_check_status(L, nl_set_grad(p, NULL));
      continue;
    }
    if (g->grad_fn) nl_detach_(g);
    else nl_lua_check_status(L, nl_set_requires_grad(g, false));
    nl_lua_check_status(L, nl_ag_fill_(g, 0));
  }
  return 0;
}

/* Stack: torch._C at -2, methods at -1 (see ltensor.h); sets torch._C._optim. */
void nl_lua_open_optim(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"sgd_step", nl_l_sgd_step},         {"adam_step", nl_l_adam_step},
      {"rmsprop_step", nl_l_rmsprop_step}, {"adagrad_step", nl_l_adagrad_step},
      {"adadelta_step", nl_l_adadelta_step}, {"zero_grad", nl_l_zero_grad}, {"collect", nl_l_collect},
      {"sgd", nl_l_sgd},
      {NULL, NULL}};
  luaL_newlib(L, fns);
  lua_setfield(L, -3, "_optim");
}
