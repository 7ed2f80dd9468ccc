/* lautograd.c: Lua bindings of autograd: t.requires_grad / t.grad / t.grad_fn / t.is_leaf /
 * t.data, t:backward, t:retain_grad, t:detach_, t:requires_grad_, t:register_hook,
 * torch.is_grad_enabled / set_grad_enabled and the C halves of torch.autograd.grad and
 * torch.autograd.backward (lua/torch/autograd.lua builds the public table, no_grad,
 * enable_grad, gradcheck and Function on top). grad_fn values are userdata of metatable
 * nnlua.Node: fn:name(), fn.next_functions ({fn, index} pairs, index 1-based). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltensor.h"

#include "../autograd/nl_ag_ops.h"

#define NL_NODE_MT "nnlua.Node"

/* The Lua state running backward (hooks and Lua Functions call back into it). */
static _Thread_local lua_State *nl_ag_L;

/* ---- nodes ------------------------------------------------------------------------------ */
static void nl_push_node(lua_State *L, nl_node *n) {
  if (!n) { lua_pushnil(L); return; }
  nl_node **p = lua_newuserdatauv(L, sizeof *p, 0);
  *p = n;
  nl_node_retain(n);
  luaL_setmetatable(L, NL_NODE_MT);
}

static nl_node *nl_check_node(lua_State *L, int i) { return *(nl_node **)luaL_checkudata(L, i, NL_NODE_MT); }

static int nl_node_gc(lua_State *L) {
  nl_node **p = luaL_checkudata(L, 1, NL_NODE_MT);
  if (*p) nl_node_release(*p);
  *p = NULL;
  return 0;
}
static int nl_node_name(lua_State *L) { lua_pushstring(L, nl_check_node(L, 1)->name); return 1; }
static int nl_node_tostring(lua_State *L) {
  nl_node *n = nl_check_node(L, 1);
  lua_pushfstring(L, "<%s object at %p>", n->name, (void *)n);
  return 1;
}
static int nl_node_eq(lua_State *L) {
  nl_node **a = luaL_testudata(L, 1, NL_NODE_MT), **b = luaL_testudata(L, 2, NL_NODE_MT);
  lua_pushboolean(L, a && b && *a == *b);
  return 1;
}
static int nl_node_index(lua_State *L) {
  nl_node *n = nl_check_node(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (!strcmp(k, "name")) { lua_pushcfunction(L, nl_node_name); return 1; }
  if (!strcmp(k, "next_functions")) {
    lua_createtable(L, n->n_next, 0);
    for (int i = 0; i < n->n_next; i++) {
      lua_createtable(L, 2, 0);
      nl_push_node(L, n->next[i].node);
      lua_rawseti(L, -2, 1);
      lua_pushinteger(L, n->next[i].input_nr);
      lua_rawseti(L, -2, 2);
      lua_rawseti(L, -2, i + 1);
    }
    return 1;
  }
  if (!strcmp(k, "variable") && !n->backward && n->ctx) {
    nl_tensor_retain(n->ctx);
    nl_lua_push(L, n->ctx);
    return 1;
  }
  lua_pushnil(L);
  return 1;
}

/* ---- attributes ------------------------------------------------------------------------- */
static int nl_get_requires_grad(lua_State *L) { lua_pushboolean(L, nl_lua_check(L, 1)->requires_grad); return 1; }
static int nl_set_requires_grad_attr(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  luaL_checktype(L, 2, LUA_TBOOLEAN);
  nl_lua_check_status(L, nl_set_requires_grad(t, lua_toboolean(L, 2)));
  return 0;
}
static int nl_get_grad(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  if (!t->grad) { lua_pushnil(L); return 1; }
  nl_tensor_retain(t->grad);
  nl_lua_push(L, t->grad);
  return 1;
}
static int nl_set_grad_attr(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_tensor *g = lua_isnil(L, 2) ? NULL : nl_lua_check(L, 2);
  nl_lua_check_status(L, nl_set_grad(t, g));
  return 0;
}
static int nl_get_grad_fn(lua_State *L) { nl_push_node(L, nl_lua_check(L, 1)->grad_fn); return 1; }
static int nl_get_is_leaf(lua_State *L) { lua_pushboolean(L, nl_is_leaf(nl_lua_check(L, 1))); return 1; }
static int nl_get_data(lua_State *L) { nl_lua_push(L, nl_detach(nl_lua_check(L, 1))); return 1; }
/* t.data = other: t keeps its identity (and autograd flags) but now views other's storage,
 * with other's shape, strides and dtype (PyTorch's `param.data = new`); used by
 * Module:to() so optimizers built before the move keep working. */
static int nl_set_data_attr(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_tensor *o = nl_lua_check(L, 2);
  if (t->requires_grad && !nl_dtype_is_float(o->dtype))
    return luaL_error(L, "data: cannot assign a %s tensor to a tensor that requires grad", nl_dtype_name(o->dtype));
  if (o == t) return 0;
  nl_storage_retain(o->storage);
  nl_storage_release(t->storage);
  t->storage = o->storage;
  t->offset = o->offset;
  t->ndim = o->ndim;
  for (int i = 0; i < o->ndim; i++) { t->shape[i] = o->shape[i]; t->stride[i] = o->stride[i]; }
  t->dtype = o->dtype;
  t->is_view = o->is_view;
  return 0;
}
static int nl_get_retains_grad(lua_State *L) { lua_pushboolean(L, nl_lua_check(L, 1)->retains_grad); return 1; }

/* ---- methods ---------------------------------------------------------------------------- */
static int nl_m_requires_grad_(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  bool on = lua_isnone(L, 2) ? true : lua_toboolean(L, 2);
  nl_lua_check_status(L, nl_set_requires_grad(t, on));
  lua_settop(L, 1);
  return 1;
}
static int nl_m_retain_grad(lua_State *L) {
  nl_lua_check_status(L, nl_retain_grad(nl_lua_check(L, 1)));
  return 0;
}
static int nl_m_detach_(lua_State *L) {
  nl_detach_(nl_lua_check(L, 1));
  lua_settop(L, 1);
  return 1;
}

/* register_hook(fn): fn(grad) may return a replacement */
typedef struct { lua_State *main; int ref; } nl_lua_hook;
static void nl_lua_hook_free(void *ctx) {
  nl_lua_hook *h = ctx;
  luaL_unref(h->main, LUA_REGISTRYINDEX, h->ref);
  free(h);
}
static nl_tensor *nl_lua_hook_call(void *ctx, nl_tensor *grad, int *err) {
  nl_lua_hook *h = ctx;
  lua_State *L = nl_ag_L ? nl_ag_L : h->main;
  *err = 0;
  int top = lua_gettop(L);
  if (!lua_checkstack(L, 4)) { *err = 1; nl_fail("register_hook: Lua stack overflow"); return NULL; }
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->ref);
  nl_tensor_retain(grad);
  nl_lua_push(L, grad);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    nl_fail("%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "register_hook: error in hook");
    lua_settop(L, top);
    *err = 1;
    return NULL;
  }
  nl_tensor *r = NULL;
  if (!lua_isnil(L, -1)) {
    r = nl_lua_to(L, -1);
    if (!r) {
      nl_fail("register_hook: a hook must return a tensor or nil (got %s)", luaL_typename(L, -1));
      lua_settop(L, top);
      *err = 1;
      return NULL;
    }
    nl_tensor_retain(r);
  }
  lua_settop(L, top);
  return r;
}
static int nl_m_register_hook(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (!t->requires_grad)
    return luaL_error(L, "register_hook: cannot register a hook on a tensor that doesn't require gradient");
  nl_lua_hook *h = malloc(sizeof *h);
  if (!h) return luaL_error(L, "register_hook: out of memory");
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  h->main = lua_tothread(L, -1);
  lua_pop(L, 1);
  lua_pushvalue(L, 2);
  h->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (nl_register_hook(t, nl_lua_hook_call, h, nl_lua_hook_free) < 0) {
    nl_lua_hook_free(h);
    return nl_lua_error(L);
  }
  return 0;
}

/* ---- backward / grad -------------------------------------------------------------------- */
/* Tensors at idx (one tensor or a list) into out (max n); returns the count. */
static int nl_tensor_list(lua_State *L, int idx, const char *op, const char *what, nl_tensor **out, int max, bool allow_nil) {
  if (allow_nil && lua_isnoneornil(L, idx)) return 0;
  nl_tensor *t = nl_lua_to(L, idx);
  if (t) { out[0] = t; return 1; }
  if (!lua_istable(L, idx)) return luaL_error(L, "%s: %s must be a tensor or a list of tensors (got %s)", op, what, luaL_typename(L, idx));
  int n = (int)lua_rawlen(L, idx);
  if (n > max) return luaL_error(L, "%s: at most %d %s", op, max, what);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    out[i] = nl_lua_to(L, -1);
    if (!out[i] && !(allow_nil && lua_isnil(L, -1)))
      return luaL_error(L, "%s: %s[%d] is not a tensor (got %s)", op, what, i + 1, luaL_typename(L, -1));
    lua_pop(L, 1); /* the list keeps it alive */
  }
  return n;
}

#define NL_AG_MAXLIST 256

static int nl_run_backward(lua_State *L, int n, nl_tensor **roots, nl_tensor **grads, bool retain, bool create,
                           int ni, nl_tensor **inputs, nl_tensor **res, bool allow_unused) {
  lua_State *prev = nl_ag_L;
  nl_ag_L = L;
  int rc = nl_backward(n, roots, grads, retain, create, ni, inputs, res, allow_unused);
  nl_ag_L = prev;
  return rc;
}

/* t:backward(grad?, {retain_graph=, create_graph=}) */
static int nl_m_backward(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  int opts = nl_lua_opts(L);
  nl_tensor *g = NULL;
  if (!lua_isnoneornil(L, 2) && opts != 2) g = nl_lua_check(L, 2);
  bool create = nl_lua_opt_bool(L, opts, "create_graph", 0);
  bool retain = nl_lua_opt_bool(L, opts, "retain_graph", create);
  nl_lua_check_status(L, nl_run_backward(L, 1, &t, &g, retain, create, 0, NULL, NULL, false));
  return 0;
}

/* _autograd_backward(tensors, grad_tensors?, opts?) */
static int nl_f_backward(lua_State *L) {
  nl_tensor *roots[NL_AG_MAXLIST], *grads[NL_AG_MAXLIST] = {0};
  int opts = lua_istable(L, 3) ? 3 : 0;
  int n = nl_tensor_list(L, 1, "backward", "tensors", roots, NL_AG_MAXLIST, false);
  int ng = nl_tensor_list(L, 2, "backward", "grad_tensors", grads, NL_AG_MAXLIST, true);
  if (ng && ng != n) return luaL_error(L, "backward: got %d tensors and %d gradients", n, ng);
  bool create = nl_lua_opt_bool(L, opts, "create_graph", 0);
  bool retain = nl_lua_opt_bool(L, opts, "retain_graph", create);
  nl_lua_check_status(L, nl_run_backward(L, n, roots, grads, retain, create, 0, NULL, NULL, false));
  return 0;
}

/* _autograd_grad(outputs, inputs, opts?) -> list */
static int nl_f_grad(lua_State *L) {
  nl_tensor *roots[NL_AG_MAXLIST], *grads[NL_AG_MAXLIST] = {0}, *ins[NL_AG_MAXLIST], *res[NL_AG_MAXLIST];
  int opts = lua_istable(L, 3) ? 3 : 0;
  int n = nl_tensor_list(L, 1, "grad", "outputs", roots, NL_AG_MAXLIST, false);
  int ni = nl_tensor_list(L, 2, "grad", "inputs", ins, NL_AG_MAXLIST, false);
  if (ni == 0) return luaL_error(L, "grad: inputs must not be empty");
  int ng = 0;
  if (opts) {
    lua_getfield(L, opts, "grad_outputs");
    ng = nl_tensor_list(L, lua_gettop(L), "grad", "grad_outputs", grads, NL_AG_MAXLIST, true);
    if (ng && ng != n) return luaL_error(L, "grad: got %d outputs and %d grad_outputs", n, ng);
  }
  bool create = nl_lua_opt_bool(L, opts, "create_graph", 0);
  bool retain = nl_lua_opt_bool(L, opts, "retain_graph", create);
  bool unused = nl_lua_opt_bool(L, opts, "allow_unused", 0);
  nl_lua_check_status(L, nl_run_backward(L, n, roots, grads, retain, create, ni, ins, res, unused));
  lua_createtable(L, ni, 0);
  for (int i = 0; i < ni; i++) {
    if (res[i]) {
      nl_tensor *r = res[i];
      if (!create && r->grad_fn) { /* no graph unless create_graph */
        r = nl_detach(res[i]);
        nl_tensor_free(res[i]);
        if (!r) {
          for (int j = i + 1; j < ni; j++) nl_tensor_free(res[j]);
          return nl_lua_error(L);
        }
      }
      nl_lua_push(L, r);
      lua_rawseti(L, -2, i + 1);
    }
  }
  return 1;
}

static int nl_f_is_grad_enabled(lua_State *L) { lua_pushboolean(L, nl_grad_enabled()); return 1; }
static int nl_f_set_grad_enabled(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  bool prev = nl_grad_enabled();
  nl_set_grad_enabled(lua_toboolean(L, 1));
  lua_pushboolean(L, prev);
  return 1;
}

/* ---- torch.autograd.Function ------------------------------------------------------------ */
/* The state of a node recorded by a Lua Function: a registry reference to its ctx table
 * (which holds the Function, the saved tensors and the user's fields). Released with
 * luaL_unref when the node dies (no Lua code runs: safe from finalizers and lua_close). */
typedef struct { lua_State *main; int ref; char name[64]; } nl_luafn;

static void nl_luafn_release(nl_node *n) {
  nl_luafn *f = n->ctx;
  if (!f) return;
  luaL_unref(f->main, LUA_REGISTRYINDEX, f->ref);
  free(f);
  n->ctx = NULL;
}

#define NL_FN_BACKWARD_KEY "nnlua.Function.backward"

/* Calls the Lua trampoline backward(ctx, node, grad, retain_graph) -> list of gradients (it
 * checks their count and shapes) and hands them to the engine. */
static int nl_luafn_backward(nl_node *n, nl_tensor *g, nl_tensor **gi) {
  nl_luafn *f = n->ctx;
  if (!f) return nl_failc("%s: the Lua state of this Function is gone", n->name);
  lua_State *L = nl_ag_L ? nl_ag_L : f->main;
  int top = lua_gettop(L);
  if (!lua_checkstack(L, 8)) return nl_failc("%s: Lua stack overflow", n->name);
  lua_getfield(L, LUA_REGISTRYINDEX, NL_FN_BACKWARD_KEY);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->ref);
  nl_push_node(L, n);
  nl_tensor_retain(g);
  nl_lua_push(L, g);
  lua_pushboolean(L, nl_ag_retaining_graph());
  if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
    const char *m = lua_tostring(L, -1);
    nl_fail("%s", m ? m : "error in Function backward");
    lua_settop(L, top);
    return -1;
  }
  if (lua_istable(L, -1))
    for (int i = 0; i < n->n_next; i++) {
      lua_rawgeti(L, -1, i + 1);
      nl_tensor *t = nl_lua_to(L, -1);
      if (t && nl_ag_need(n, i)) {
        nl_tensor_retain(t);
        gi[i] = t;
      }
      lua_pop(L, 1);
    }
  lua_settop(L, top);
  return 0;
}

/* _function_record(ctx, name, out, inputs, n) -> an alias of out whose grad_fn is a node
 * over the n inputs (inputs[i] a tensor or nil) that calls the Lua backward. */
static int nl_f_function_record(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *name = luaL_checkstring(L, 2);
  nl_tensor *out = nl_lua_check(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  lua_Integer nin = luaL_checkinteger(L, 5);
  if (nin < 0 || nin > NL_AG_MAXLIST) return luaL_error(L, "%s: at most %d inputs", name, NL_AG_MAXLIST);
  nl_tensor *ins[NL_AG_MAXLIST];
  for (int i = 0; i < nin; i++) {
    lua_rawgeti(L, 4, i + 1);
    ins[i] = nl_lua_to(L, -1); /* the inputs table keeps it alive */
    if (ins[i] && !nl_dtype_is_float(ins[i]->dtype)) ins[i] = NULL;
    lua_pop(L, 1);
  }
  nl_luafn *f = calloc(1, sizeof *f);
  if (!f) return luaL_error(L, "%s: out of memory", name);
  snprintf(f->name, sizeof f->name, "%s", name);
  nl_node *n = nl_node_new(f->name, nl_luafn_backward, (int)nin, (const nl_tensor *const *)ins);
  nl_tensor *o = n ? nl_detach(out) : NULL;
  if (!o) {
    free(f);
    nl_node_release(n);
    return nl_lua_error(L);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  f->main = lua_tothread(L, -1);
  lua_pop(L, 1);
  lua_pushvalue(L, 1);
  f->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  n->ctx = f;
  n->release = nl_luafn_release;
  nl_ag_set_history(o, n);
  nl_lua_push(L, o);
  return 1;
}

/* _reattach(t, node): an alias of t whose history is node (a saved output under create_graph) */
static int nl_f_reattach(lua_State *L) {
  nl_tensor *t = nl_lua_check(L, 1);
  nl_node *n = nl_check_node(L, 2);
  nl_tensor *u = nl_detach(t);
  if (!u) return nl_lua_error(L);
  nl_node_retain(n);
  nl_ag_set_history(u, n);
  nl_lua_push(L, u);
  return 1;
}

static int nl_f_set_fn_backward(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_pushvalue(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, NL_FN_BACKWARD_KEY);
  return 0;
}

static int nl_get_version(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)nl_lua_check(L, 1)->storage->version);
  return 1;
}

/* ---- anomaly mode ------------------------------------------------------------------------ */
static lua_State *nl_trace_L; /* the state that turned anomaly mode on */
static char *nl_trace_hook(void) {
  lua_State *L = nl_trace_L;
  if (!L || !lua_checkstack(L, 4)) return NULL;
  luaL_traceback(L, L, NULL, 1);
  const char *s = lua_tostring(L, -1);
  char *r = s ? strdup(s) : NULL;
  lua_pop(L, 1);
  return r;
}
static int nl_f_set_detect_anomaly(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  bool prev = nl_anomaly_enabled();
  bool on = lua_toboolean(L, 1);
  if (on) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    nl_trace_L = lua_tothread(L, -1);
    lua_pop(L, 1);
    nl_anomaly_trace_hook = nl_trace_hook;
  }
  nl_set_anomaly_enabled(on);
  lua_pushboolean(L, prev);
  return 1;
}
static int nl_f_is_anomaly_enabled(lua_State *L) { lua_pushboolean(L, nl_anomaly_enabled()); return 1; }

static const nl_lua_reg nl_autograd_regs[] = {
    {"_function_record", nl_f_function_record, NL_FN},
    {"_function_reattach", nl_f_reattach, NL_FN},
    {"_function_set_backward", nl_f_set_fn_backward, NL_FN},
    {"_set_detect_anomaly", nl_f_set_detect_anomaly, NL_FN},
    {"_is_anomaly_enabled", nl_f_is_anomaly_enabled, NL_FN},
    {"backward", nl_m_backward, NL_METHOD},
    {"retain_grad", nl_m_retain_grad, NL_METHOD},
    {"detach_", nl_m_detach_, NL_METHOD},
    {"requires_grad_", nl_m_requires_grad_, NL_METHOD},
    {"register_hook", nl_m_register_hook, NL_METHOD},
    {"is_grad_enabled", nl_f_is_grad_enabled, NL_FN},
    {"set_grad_enabled", nl_f_set_grad_enabled, NL_FN},
    {"_autograd_backward", nl_f_backward, NL_FN},
    {"_autograd_grad", nl_f_grad, NL_FN},
    {NULL, NULL, 0},
};

void nl_lua_open_autograd(lua_State *L) {
  nl_autograd_init();
  nl_lua_register(L, nl_autograd_regs);
  nl_lua_getter(L, "requires_grad", nl_get_requires_grad);
  nl_lua_setter(L, "requires_grad", nl_set_requires_grad_attr);
  nl_lua_getter(L, "grad", nl_get_grad);
  nl_lua_setter(L, "grad", nl_set_grad_attr);
  nl_lua_getter(L, "grad_fn", nl_get_grad_fn);
  nl_lua_getter(L, "is_leaf", nl_get_is_leaf);
  nl_lua_getter(L, "data", nl_get_data);
  nl_lua_setter(L, "data", nl_set_data_attr);
  nl_lua_getter(L, "retains_grad", nl_get_retains_grad);
  nl_lua_getter(L, "_version", nl_get_version);
  if (luaL_newmetatable(L, NL_NODE_MT)) {
    static const luaL_Reg mt[] = {{"__gc", nl_node_gc}, {"__index", nl_node_index}, {"__tostring", nl_node_tostring},
                                  {"__eq", nl_node_eq}, {NULL, NULL}};
    luaL_setfuncs(L, mt, 0);
  }
  lua_pop(L, 1);
}
