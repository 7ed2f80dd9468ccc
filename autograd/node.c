/* node.c: graph nodes, grad mode, AccumulateGrad, per-tensor autograd state and the
 * tensor-release hook. Node destruction is iterative: releasing the last reference to a node
 * queues it, and one loop frees queued nodes (whose edges and saved tensors may queue more),
 * so freeing a 100,000-node chain never recurses deeply. */
#include <stdlib.h>
#include <string.h>

#include "nl_autograd.h"
#include "../tensor/nl_ops.h"
#include "../tensor/nl_alloc.h"

static _Thread_local bool nl_grad_off; /* grad mode is on by default */
bool nl_grad_enabled(void) { return !nl_grad_off; }
void nl_set_grad_enabled(bool on) { nl_grad_off = !on; }

static _Thread_local bool nl_anomaly_on;
bool nl_anomaly_enabled(void) { return nl_anomaly_on; }
void nl_set_anomaly_enabled(bool on) { nl_anomaly_on = on; }
char *(*nl_anomaly_trace_hook)(void);

extern void (*nl_autograd_release_hook)(nl_tensor *t);

static void nl_hooks_free(nl_hook *h) {
  while (h) {
    nl_hook *nx = h->next;
    if (h->free_ctx) h->free_ctx(h->ctx);
    free(h);
    h = nx;
  }
}

/* ---- iterative destruction ------------------------------------------------------------- */
static _Thread_local nl_node **nl_dead;
static _Thread_local size_t nl_ndead, nl_capdead;
static _Thread_local bool nl_draining;

static void nl_node_destroy(nl_node *n) {
  for (int i = 0; i < n->n_next; i++)
    if (n->next[i].node) nl_node_release(n->next[i].node);
  for (int i = 0; i < n->n_saved; i++) nl_tensor_free(n->saved[i].t);
  for (int i = 0; i < NL_AG_MAXSAVED; i++) nl_tensor_free(n->unpacked[i]);
  nl_tensor_free(n->buf);
  nl_hooks_free(n->pre_hooks);
  if (n->release) n->release(n);
  free(n->trace);
  if (!n->backward && n->ctx) { /* AccumulateGrad: unlink from the leaf, drop it */
    nl_tensor *leaf = n->ctx;
    nl_ag_meta *m = leaf->ag_meta;
    if (m && m->grad_acc == n) m->grad_acc = NULL;
    nl_tensor_free(leaf);
  }
  if (n->next != n->next_inline) {
    free(n->next);
    free(n->in_ndim);
    free(n->in_shape);
    free(n->in_dtype);
  }
  nl_pool_put(NL_POOL_NODE, n);
}

void nl_node_retain(nl_node *n) { n->refcount++; }

void nl_node_release(nl_node *n) {
  if (!n || --n->refcount > 0) return;
  if (nl_ndead == nl_capdead) {
    size_t cap = nl_capdead ? nl_capdead * 2 : 64;
    nl_node **p = realloc(nl_dead, cap * sizeof *p);
    if (!p) { nl_node_destroy(n); return; } /* out of memory: recurse instead */
    nl_dead = p;
    nl_capdead = cap;
  }
  nl_dead[nl_ndead++] = n;
  if (nl_draining) return;
  nl_draining = true;
  while (nl_ndead) nl_node_destroy(nl_dead[--nl_ndead]);
  nl_draining = false;
}

/* Removes the retain_grad hook of t (a weak pointer to t) from its grad_fn. */
static void nl_drop_retain_hook(nl_tensor *t, nl_node *fn) {
  if (!fn || !t->retains_grad) return;
  nl_hook **pp = &fn->pre_hooks;
  while (*pp) {
    if ((*pp)->ctx == t && (*pp)->free_ctx == NULL) {
      nl_hook *h = *pp;
      *pp = h->next;
      free(h);
    } else pp = &(*pp)->next;
  }
  t->retains_grad = false;
}

/* Called by nl_tensor_free for a dying tensor with grad, grad_fn or ag_meta. */
static void nl_ag_release_tensor(nl_tensor *t) {
  nl_tensor_free(t->grad);
  t->grad = NULL;
  nl_node *fn = t->grad_fn;
  t->grad_fn = NULL;
  nl_ag_meta *m = t->ag_meta;
  if (m) {
    /* a live AccumulateGrad owns its leaf, so grad_acc is NULL here */
    nl_hooks_free(m->hooks);
    free(m);
    t->ag_meta = NULL;
  }
  nl_drop_retain_hook(t, fn);
  nl_node_release(fn);
}

void nl_autograd_init(void) { nl_autograd_release_hook = nl_ag_release_tensor; }

/* ---- creation -------------------------------------------------------------------------- */
bool nl_ag_any_requires_grad(int n, const nl_tensor *const *ts) {
  if (!nl_grad_enabled()) return false;
  for (int i = 0; i < n; i++)
    if (ts[i] && ts[i]->requires_grad) return true;
  return false;
}

nl_ag_meta *nl_ag_meta_of(nl_tensor *t) {
  if (!t->ag_meta) t->ag_meta = calloc(1, sizeof(nl_ag_meta));
  return t->ag_meta;
}

nl_node *nl_ag_grad_accumulator(nl_tensor *leaf) {
  nl_autograd_init();
  nl_ag_meta *m = nl_ag_meta_of(leaf);
  if (!m) return nl_fail("out of memory");
  if (m->grad_acc) {
    nl_node_retain(m->grad_acc);
    return m->grad_acc;
  }
  nl_node *n = nl_node_new("AccumulateGrad", NULL, 0, NULL);
  if (!n) return NULL;
  nl_tensor_retain(leaf);
  n->ctx = leaf;
  m->grad_acc = n; /* weak */
  return n;
}

nl_node *nl_node_new(const char *name, nl_backward_fn fn, int nin, const nl_tensor *const *ins) {
  nl_autograd_init();
  nl_node *n = nl_pool_get(NL_POOL_NODE, sizeof *n); /* a per-thread free list */
  if (!n) return nl_fail("out of memory");
  memset(n, 0, sizeof *n);
  n->refcount = 1;
  n->name = name;
  n->backward = fn;
  n->n_next = nin;

  if (nin <= NL_AG_MAXIN) {
    n->next = n->next_inline;
    n->in_ndim = n->in_ndim_inline;
    n->in_shape = n->in_shape_inline;
    n->in_dtype = n->in_dtype_inline;
  } else {
    n->next = calloc((size_t)nin, sizeof *n->next);
    n->in_ndim = calloc((size_t)nin, sizeof *n->in_ndim);
    n->in_shape = calloc((size_t)nin, sizeof *n->in_shape);
    n->in_dtype = calloc((size_t)nin, sizeof *n->in_dtype);
    if (!n->next || !n->in_ndim || !n->in_shape || !n->in_dtype) {
      free(n->next); free(n->in_ndim); free(n->in_shape); free(n->in_dtype);
      nl_pool_put(NL_POOL_NODE, n);
      return nl_fail("out of memory");
    }
  }
  if (nl_anomaly_on && fn && nl_anomaly_trace_hook) n->trace = nl_anomaly_trace_hook();
  for (int i = 0; i < nin; i++) {
    const nl_tensor *t = ins[i];
    if (!t) continue;
    n->in_ndim[i] = (int8_t)t->ndim;
    memcpy(n->in_shape[i], t->shape, sizeof n->in_shape[i]);
    n->in_dtype[i] = t->dtype;
    if (!t->requires_grad) continue;
    if (t->grad_fn) {
      nl_node_retain(t->grad_fn);
      n->next[i].node = t->grad_fn;
      n->next[i].input_nr = t->output_nr;
    } else {
      nl_node *acc = nl_ag_grad_accumulator((nl_tensor *)t);
      if (!acc) { nl_node_release(n); return NULL; }
      n->next[i].node = acc;
    }
  }
  return n;
}

int nl_node_save(nl_node *n, const nl_tensor *t, bool is_output) {
  if (n->n_saved >= NL_AG_MAXSAVED) return nl_failc("autograd: too many saved tensors");
  nl_tensor *s;
  if (is_output) {
    s = nl_detach((nl_tensor *)t);
    if (!s) return -1;
  } else {
    s = (nl_tensor *)t;
    nl_tensor_retain(s);
  }
  nl_saved *sv = &n->saved[n->n_saved++];
  sv->t = s;
  sv->version = t->storage->version;
  sv->is_output = is_output;
  return 0;
}

void nl_ag_set_history(nl_tensor *out, nl_node *n) {
  bool retains = out->retains_grad; /* move a retain_grad hook to the new node */
  nl_drop_retain_hook(out, out->grad_fn);
  nl_node_release(out->grad_fn);
  out->grad_fn = n;
  out->output_nr = 0;
  out->requires_grad = true;
  if (retains) nl_retain_grad(out);
}

/* ---- tensor-level API ------------------------------------------------------------------ */
bool nl_is_leaf(const nl_tensor *t) { return t->grad_fn == NULL; }

int nl_set_requires_grad(nl_tensor *t, bool on) {
  if (on && !nl_dtype_is_float(t->dtype))
    return nl_failc("requires_grad: only tensors of floating point dtype can require gradients (got %s)",
                    nl_dtype_name(t->dtype));
  if (!on && t->grad_fn)
    return nl_failc("requires_grad: you can only change requires_grad flags of leaf tensors (use detach())");
  nl_autograd_init();
  t->requires_grad = on;
  return 0;
}

static nl_tensor *nl_retain_hook(void *ctx, nl_tensor *grad, int *err) {
  nl_tensor *t = ctx;
  *err = 0;
  nl_tensor *g = nl_clone(grad); /* a copy: later accumulation must not alias it */
  if (!g) { *err = 1; return NULL; }
  if (t->grad) {
    nl_tensor *s = nl_add(t->grad, g, 1);
    nl_tensor_free(g);
    if (!s) { *err = 1; return NULL; }
    g = s;
  }
  nl_tensor_free(t->grad);
  t->grad = g;
  return NULL;
}

int nl_retain_grad(nl_tensor *t) {
  if (!t->requires_grad)
    return nl_failc("retain_grad: can't retain_grad on a tensor that has requires_grad=false");
  if (!t->grad_fn || t->retains_grad) return 0; /* leaves keep their grad anyway */
  nl_hook *h = calloc(1, sizeof *h);
  if (!h) return nl_failc("out of memory");
  h->fn = nl_retain_hook;
  h->ctx = t; /* weak: removed when t dies (free_ctx NULL marks it) */
  /* retain_grad sees the gradient after the user's hooks: append at the end */
  nl_hook **pp = &t->grad_fn->pre_hooks;
  while (*pp) pp = &(*pp)->next;
  *pp = h;
  t->retains_grad = true;
  return 0;
}

int nl_register_hook(nl_tensor *t, nl_hook_fn fn, void *ctx, void (*free_ctx)(void *)) {
  if (!t->requires_grad)
    return nl_failc("register_hook: cannot register a hook on a tensor that doesn't require gradient");
  if (!free_ctx) return nl_failc("register_hook: free_ctx is required");
  nl_hook *h = calloc(1, sizeof *h);
  if (!h) return nl_failc("out of memory");
  h->fn = fn;
  h->ctx = ctx;
  h->free_ctx = free_ctx;
  nl_hook **head;
  if (t->grad_fn) head = &t->grad_fn->pre_hooks;
  else {
    nl_autograd_init();
    nl_ag_meta *m = nl_ag_meta_of(t);
    if (!m) { free(h); return nl_failc("out of memory"); }
    head = &m->hooks;
  }
  /* user hooks run in registration order, before a retain_grad hook */
  nl_hook **pp = head;
  while (*pp && (*pp)->free_ctx) pp = &(*pp)->next;
  h->next = *pp;
  *pp = h;
  return 0;
}

int nl_set_grad(nl_tensor *t, nl_tensor *g) {
  if (g) {
    if (g->ndim != t->ndim || memcmp(g->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim)) {
      char a[160], b[160];
      return nl_failc("grad: assigned grad has shape %s but the tensor has shape %s",
                      nl_shape_str(g->ndim, g->shape, a, sizeof a), nl_shape_str(t->ndim, t->shape, b, sizeof b));
    }
    if (g->dtype != t->dtype)
      return nl_failc("grad: assigned grad has dtype %s but the tensor has dtype %s", nl_dtype_name(g->dtype),
                      nl_dtype_name(t->dtype));
    nl_tensor_retain(g);
  }
  nl_autograd_init();
  nl_tensor_free(t->grad);
  t->grad = g;
  return 0;
}

int nl_ag_check_inplace(const nl_tensor *t, const char *op) {
  if (nl_grad_enabled() && t->requires_grad && !t->grad_fn)
    return nl_failc("a leaf tensor that requires grad is being used in an in-place operation (%s)", op);
  return 0;
}

void nl_detach_(nl_tensor *t) {
  nl_node *fn = t->grad_fn;
  nl_drop_retain_hook(t, fn);
  t->grad_fn = NULL;
  t->requires_grad = false;
  t->output_nr = 0;
  nl_node_release(fn);
}
