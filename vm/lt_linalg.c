/* lt_linalg.c: Lua bindings of the linalg family: matmul mm bmm mv dot outer addmm, and
 * torch.set_num_threads / get_num_threads (see ltensor.h for the conventions). */
#include "ltensor.h"

#include "../tensor/nl_ops.h"
#include "../autograd/nl_ag_ops.h"

#include <string.h>

/* Writes the result r (pushed on the stack) into opts.out when there is one and leaves out on
 * the stack: same shape and dtype required (PyTorch also resizes a mismatched out; here it is
 * an error), not recorded by autograd. */
static void nl_l_linalg_out(lua_State *L, const char *op, int opts, const nl_tensor *a, const nl_tensor *b) {
  if (!opts) return;
  if (lua_getfield(L, opts, "out") == LUA_TNIL) { lua_pop(L, 1); return; }
  nl_tensor *out = nl_lua_check(L, -1);
  nl_tensor *r = nl_lua_check(L, -2);
  if (nl_grad_enabled() && (a->requires_grad || b->requires_grad || out->requires_grad))
    luaL_error(L, "%s: functions with out= arguments don't support automatic differentiation", op);
  if (out->dtype != r->dtype)
    luaL_error(L, "%s: expected out tensor to have dtype %s, but got %s instead", op, nl_dtype_name(r->dtype),
               nl_dtype_name(out->dtype));
  char b1[160], b2[160];
  if (out->ndim != r->ndim || memcmp(out->shape, r->shape, sizeof(int64_t) * (size_t)r->ndim) != 0)
    luaL_error(L, "%s: output with shape %s doesn't match the result shape %s", op,
               nl_shape_str(out->ndim, out->shape, b1, sizeof b1), nl_shape_str(r->ndim, r->shape, b2, sizeof b2));
  nl_lua_check_status(L, nl_copy_(out, r));
}

/* torch.matmul(a, b, {out=}) and friends. */
#define NL_BINARY_BINDING(lname, cfn)                          \
  static int nl_l_##lname(lua_State *L) {                      \
    nl_tensor *a = nl_lua_check(L, 1), *b = nl_lua_check(L, 2); \
    int opts = nl_lua_opts(L);                                 \
    if (opts && opts < 3) opts = 0;                            \
    nl_lua_push(L, cfn(a, b));                                 \
    nl_l_linalg_out(L, #lname, opts, a, b);                    \
    return 1;                                                  \
  }
NL_BINARY_BINDING(matmul, nl_ag_matmul)
NL_BINARY_BINDING(mm, nl_ag_mm)
NL_BINARY_BINDING(bmm, nl_ag_bmm)
NL_BINARY_BINDING(mv, nl_ag_mv)
NL_BINARY_BINDING(dot, nl_ag_dot)
NL_BINARY_BINDING(outer, nl_ag_outer)

/* torch.addmm(input, m1, m2, {beta=1, alpha=1}); also positional beta, alpha numbers. */
static int nl_l_addmm(lua_State *L) {
  nl_tensor *in = nl_lua_check(L, 1), *m1 = nl_lua_check(L, 2), *m2 = nl_lua_check(L, 3);
  int opts = nl_lua_opts(L);
  double beta = nl_lua_opt_number(L, opts, "beta", lua_isnumber(L, 4) ? lua_tonumber(L, 4) : 1);
  double alpha = nl_lua_opt_number(L, opts, "alpha", lua_isnumber(L, 5) ? lua_tonumber(L, 5) : 1);
  nl_lua_push(L, nl_ag_addmm(in, m1, m2, beta, alpha));
  return 1;
}

static int nl_l_set_num_threads(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  /* Checked as lua_Integer: (int)n would turn 2^32 + 1 into 1 and math.maxinteger into -1.
   * The cap keeps a typo from spawning millions of threads (OpenMP + OpenBLAS pools). */
  if (n < 1) return luaL_error(L, "set_num_threads: expected a positive number of threads (got %I)", n);
  if (n > 1024) return luaL_error(L, "set_num_threads: at most 1024 threads (got %I)", n);
  nl_set_num_threads((int)n);
  return 0;
}

static int nl_l_get_num_threads(lua_State *L) {
  lua_pushinteger(L, nl_get_num_threads());
  return 1;
}

static const nl_lua_reg nl_linalg_regs[] = {
    {"matmul", nl_l_matmul, NL_BOTH},
    {"mm", nl_l_mm, NL_BOTH},
    {"bmm", nl_l_bmm, NL_BOTH},
    {"mv", nl_l_mv, NL_BOTH},
    {"dot", nl_l_dot, NL_BOTH},
    {"outer", nl_l_outer, NL_BOTH},
    {"addmm", nl_l_addmm, NL_BOTH},
    {"set_num_threads", nl_l_set_num_threads, NL_FN},
    {"get_num_threads", nl_l_get_num_threads, NL_FN},
    {NULL, NULL, 0},
};

void nl_lua_open_linalg(lua_State *L) { nl_lua_register(L, nl_linalg_regs); }
