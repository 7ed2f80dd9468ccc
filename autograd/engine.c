/* engine.c: backward. Collects the graph reachable from the roots with an explicit-stack
 * depth-first search (no recursion: a 100,000-node chain works), runs the nodes in reverse
 * post-order (a topological order: every node runs after all the nodes that feed it a
 * gradient, so its summed gradient is complete), frees saved tensors as it goes unless
 * retain_graph, and with inputs (autograd.grad) runs only the nodes that lead to them. */
#include <stdlib.h>
#include <string.h>

#include "nl_ag_ops.h"

static _Thread_local uint64_t nl_run_counter;
static _Thread_local bool nl_retaining;
bool nl_ag_retaining_graph(void) { return nl_retaining; }

/* Anomaly mode: fails when gradient g (input i of node n) holds a NaN or an inf. */
static int nl_check_finite(nl_node *n, int i, const nl_tensor *g) {
  if (!nl_dtype_is_float(g->dtype) || nl_numel(g) == 0) return 0;
  const char *what[2] = {"nan", "inf"};
  nl_op ops[2] = {NL_OP_ISNAN, NL_OP_ISINF};
  for (int k = 0; k < 2; k++) {
    nl_tensor *m = nl_unary(ops[k], g);
    nl_tensor *a = m ? nl_reduce(NL_OP_ANY, m, 0, false, 0) : NULL;
    nl_tensor *c = a ? nl_to_device(a, nl_cpu()) : NULL;
    nl_tensor_free(m);
    nl_tensor_free(a);
    if (!c) return -1;
    bool bad = nl_get_flat(c, 0) != 0;
    nl_tensor_free(c);
    if (!bad) continue;
    /* the forward op: the node's name without "Backward", lower-cased ("SqrtBackward" -> sqrt) */
    char op[64];
    size_t j = 0;
    for (const char *p = n->name; *p && j + 1 < sizeof op && strncmp(p, "Backward", 8); p++)
      op[j++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    op[j] = 0;
    nl_fail("anomaly: function '%s' returned %s values in its gradient for input %d; the forward op (%s) "
            "that created it was called at:\n%s", n->name, what[k], i + 1, op,
            n->trace ? n->trace : "(no traceback: anomaly mode was off when the op ran)");
    return -1;
  }
  return 0;
}

nl_tensor *nl_sum_to(nl_tensor *g, int ndim, const int64_t *shape) {
  int lead = g->ndim - ndim;
  if (lead < 0) return nl_fail("sum_to: gradient of shape with %d dims for a %d-dim input", g->ndim, ndim);
  uint32_t mask = 0;
  for (int j = 0; j < g->ndim; j++)
    if (j < lead || (shape[j - lead] == 1 && g->shape[j] != 1)) mask |= 1u << j;
  if (!mask) {
    if (lead == 0) { nl_tensor_retain(g); return g; }
    return nl_ag_reshape(g, ndim, shape);
  }
  nl_tensor *s = nl_ag_reduce(NL_OP_SUM, g, mask, true, 0);
  if (!s) return NULL;
  nl_tensor *r = nl_ag_reshape(s, ndim, shape);
  nl_tensor_free(s);
  return r;
}

static bool nl_same_shape(const nl_tensor *a, int ndim, const int64_t *shape) {
  return a->ndim == ndim && !memcmp(a->shape, shape, sizeof(int64_t) * (size_t)ndim);
}

/* Runs hooks on g (consumed); returns the gradient to use (new reference) or NULL. */
static nl_tensor *nl_run_hooks(nl_hook *h, nl_tensor *g) {
  for (; h; h = h->next) {
    int err = 0;
    nl_tensor *r = h->fn(h->ctx, g, &err);
    if (err) { nl_tensor_free(g); return NULL; }
    if (!r) continue;
    if (!nl_same_shape(r, g->ndim, g->shape)) {
      char a[160], b[160];
      nl_fail("register_hook: hook returned a gradient of shape %s, expected shape %s",
              nl_shape_str(r->ndim, r->shape, a, sizeof a), nl_shape_str(g->ndim, g->shape, b, sizeof b));
      nl_tensor_free(r);
      nl_tensor_free(g);
      return NULL;
    }
    nl_tensor_free(g);
    g = r;
  }
  return g;
}

static void nl_free_saved(nl_node *n) {
  for (int i = 0; i < n->n_saved; i++) {
    nl_tensor_free(n->saved[i].t);
    n->saved[i].t = NULL;
  }
  if (n->n_saved) n->saved_released = true;
}

/* Unpacks n's saved tensors into n->unpacked (checking versions). */
static int nl_unpack(nl_node *n, bool create_graph) {
  if (n->saved_released)
    return nl_failc("backward: trying to backward through the graph a second time (or directly access saved "
                    "tensors after they have already been freed); saved values are freed after backward(): "
                    "specify retain_graph=true if you need to backward through the graph a second time");
  for (int i = 0; i < n->n_saved; i++) {
    nl_saved *s = &n->saved[i];
    if (s->t->storage->version != s->version)
      return nl_failc("backward: a tensor saved by %s was modified by an in-place operation (version %llu, expected %llu)",
                      n->name, (unsigned long long)s->t->storage->version, (unsigned long long)s->version);
    nl_tensor *u;
    if (s->is_output && create_graph) { /* re-attach the output to this node */
      u = nl_detach(s->t);
      if (!u) return -1;
      nl_node_retain(n);
      nl_ag_set_history(u, n);
    } else {
      u = s->t;
      nl_tensor_retain(u);
    }
    n->unpacked[i] = u;
  }
  return 0;
}

static void nl_clear_unpacked(nl_node *n) {
  for (int i = 0; i < NL_AG_MAXSAVED; i++) {
    nl_tensor_free(n->unpacked[i]);
    n->unpacked[i] = NULL;
  }
}

/* Adds gradient g (consumed) into edge e's buffer, after undoing broadcasting and
 * promotion for input i of node n. */
static int nl_accumulate(nl_node *n, int i, nl_tensor *g) {
  nl_node *m = n->next[i].node;
  if (g->dtype != n->in_dtype[i]) {
    nl_tensor *c = nl_ag_to_dtype(g, n->in_dtype[i]);
    nl_tensor_free(g);
    if (!c) return -1;
    g = c;
  }
  if (!nl_same_shape(g, n->in_ndim[i], n->in_shape[i])) {
    nl_tensor *s = nl_sum_to(g, n->in_ndim[i], n->in_shape[i]);
    nl_tensor_free(g);
    if (!s) return -1;
    g = s;
  }
  if (!m->buf) { m->buf = g; return 0; }
  nl_tensor *s = nl_ag_add(m->buf, g);
  nl_tensor_free(g);
  if (!s) return -1;
  nl_tensor_free(m->buf);
  m->buf = s;
  return 0;
}

/* dst += src for two contiguous CPU float tensors of one shape and dtype that do not
 * overlap (the common AccumulateGrad after zero_grad): one loop, the same sums as add_,
 * without its broadcasting and type-promotion set-up. False: not handled, use add_. Large
 * tensors go to add_ as well, which splits them over threads. */
static bool nl_add_dense_(nl_tensor *dst, const nl_tensor *src) {
  int64_t n = nl_numel(dst);
  if (n > 16384 || dst->dtype != src->dtype || dst->ndim != src->ndim ||
      memcmp(dst->shape, src->shape, sizeof(int64_t) * (size_t)dst->ndim) != 0 ||
      nl_device_of(dst).type != NL_CPU || nl_device_of(src).type != NL_CPU || dst->storage == src->storage ||
      !nl_is_contiguous(dst) || !nl_is_contiguous(src))
    return false;
  if (dst->dtype == NL_FLOAT32) {
    float *d = nl_data(dst);
    const float *s = nl_data(src);
    for (int64_t i = 0; i < n; i++) d[i] += s[i];
  } else if (dst->dtype == NL_FLOAT64) {
    double *d = nl_data(dst);
    const double *s = nl_data(src);
    for (int64_t i = 0; i < n; i++) d[i] += s[i];
  } else {
    return false;
  }
  nl_bump_version(dst);
  return true;
}

/* AccumulateGrad: leaf.grad += g (g consumed). */
static int nl_accumulate_leaf(nl_node *n, nl_tensor *g, bool create_graph) {
  nl_tensor *leaf = n->ctx;
  nl_tensor *ng;
  if (!leaf->grad) {
    /* a private copy unless it carries a graph: g may be shared with other buffers */
    ng = create_graph && g->requires_grad ? (nl_tensor_retain(g), g) : nl_clone(g);
    if (!ng) return -1;
    if (!create_graph) ng->requires_grad = false;
  } else if (create_graph) {
    ng = nl_ag_add(leaf->grad, g);
    if (!ng) return -1;
  } else {
    if (nl_add_dense_(leaf->grad, g)) return 0;
    if (nl_binary_(NL_OP_ADD, leaf->grad, nl_arg_tensor(g), 1) < 0) return -1;
    return 0;
  }
  nl_tensor_free(leaf->grad);
  leaf->grad = ng;
  return 0;
}

typedef struct { nl_node *n; int next; } nl_frame;

/* Doubles the array *p of *cap elements of sz bytes; the first time it still is the caller's
 * local array `local`, its contents are copied to the heap. */
static int nl_bw_grow(void **p, void *local, size_t *cap, size_t sz) {
  void *q = *p == local ? malloc(*cap * 2 * sz) : realloc(*p, *cap * 2 * sz);
  if (!q) return nl_failc("out of memory");
  if (*p == local) memcpy(q, local, *cap * sz);
  *p = q;
  *cap *= 2;
  return 0;
}

int nl_backward(int nroots, nl_tensor *const *roots, nl_tensor *const *grad_roots, bool retain_graph,
                bool create_graph, int n_inputs, nl_tensor *const *inputs, nl_tensor **results,
                bool allow_unused) {
  /* ---- check the roots and their gradients first ---- */
  for (int i = 0; i < nroots; i++) {
    nl_tensor *r = roots[i];
    if (!r->requires_grad)
      return nl_failc("backward: element %d of tensors does not require grad and does not have a grad_fn", i + 1);
    nl_tensor *g = grad_roots ? grad_roots[i] : NULL;
    char a[160], b[160];
    if (!g && nl_numel(r) != 1)
      return nl_failc("backward: grad can be implicitly created only for scalar outputs (got shape %s)",
                      nl_shape_str(r->ndim, r->shape, a, sizeof a));
    if (g && !nl_same_shape(g, r->ndim, r->shape))
      return nl_failc("backward: grad of shape %s does not match the output's shape %s",
                      nl_shape_str(g->ndim, g->shape, a, sizeof a), nl_shape_str(r->ndim, r->shape, b, sizeof b));
  }
  for (int i = 0; i < n_inputs; i++) {
    results[i] = NULL;
    if (!inputs[i]->requires_grad)
      return nl_failc("grad: input %d does not require grad", i + 1);
  }

  uint64_t run = ++nl_run_counter;
  /* the post-order and the DFS stack start in these local arrays and move to the heap past
   * NL_BW_LOCAL nodes (a malloc per backward was ~2% of a small model's step) */
  enum { NL_BW_LOCAL = 128 };
  nl_node *order_local[NL_BW_LOCAL], *rootn_local[8];
  nl_frame stack_local[NL_BW_LOCAL];
  nl_node **order = order_local; /* post-order */
  size_t norder = 0, cap = NL_BW_LOCAL, sp = 0, scap = NL_BW_LOCAL;
  nl_frame *stack = stack_local;
  nl_node **rootn = nroots < 8 ? memset(rootn_local, 0, sizeof rootn_local)
                               : calloc((size_t)nroots + 1, sizeof *rootn);
  int rc = -1;
  bool mode = nl_grad_enabled(), prev_retain = nl_retaining;
  nl_retaining = retain_graph;
  if (!rootn) { nl_fail("out of memory"); goto done; }

  /* ---- root nodes and their initial gradients ---- */
  for (int i = 0; i < nroots; i++) {
    nl_tensor *r = roots[i];
    rootn[i] = r->grad_fn ? (nl_node_retain(r->grad_fn), r->grad_fn) : nl_ag_grad_accumulator(r);
    if (!rootn[i]) goto done;
  }

  /* ---- DFS with an explicit stack: post-order of every reachable node ---- */
  for (int i = 0; i < nroots; i++) {
    nl_node *s0 = rootn[i];
    if (s0->run == run) continue;
    s0->run = run;
    s0->needed = false;
    if (sp == scap && nl_bw_grow((void **)&stack, stack_local, &scap, sizeof *stack) < 0) goto done;
    stack[sp++] = (nl_frame){s0, 0};
    while (sp) {
      nl_frame *f = &stack[sp - 1];
      if (f->next < f->n->n_next) {
        nl_node *m = f->n->next[f->next++].node;
        if (!m || m->run == run) continue;
        m->run = run;
        m->needed = false;
        if (sp == scap && nl_bw_grow((void **)&stack, stack_local, &scap, sizeof *stack) < 0) goto done;
        stack[sp++] = (nl_frame){m, 0};
        continue;
      }
      if (norder == cap && nl_bw_grow((void **)&order, order_local, &cap, sizeof *order) < 0) goto done;
      order[norder++] = f->n;
      sp--;
    }
  }

  /* ---- with inputs: capture points, and the nodes that lead to them ---- */
  if (n_inputs) {
    for (size_t k = 0; k < norder; k++) { /* children come first in post-order */
      nl_node *n = order[k];
      for (int i = 0; i < n_inputs && !n->needed; i++) {
        nl_tensor *t = inputs[i];
        if (t->grad_fn == n || (!t->grad_fn && t->ag_meta && ((nl_ag_meta *)t->ag_meta)->grad_acc == n))
          n->needed = true;
      }
      for (int i = 0; i < n->n_next && !n->needed; i++)
        if (n->next[i].node && n->next[i].node->needed) n->needed = true;
    }
  }

  /* ---- seed the root gradients ---- */
  for (int i = 0; i < nroots; i++) {
    nl_tensor *g = grad_roots ? grad_roots[i] : NULL;
    if (g) {
      nl_tensor_retain(g);
    } else {
      g = nl_full(roots[i]->ndim, roots[i]->shape, 1.0, roots[i]->dtype, nl_device_of(roots[i]));
      if (!g) goto done;
    }
    if (g->dtype != roots[i]->dtype) {
      nl_tensor *c = nl_to_dtype(g, roots[i]->dtype);
      nl_tensor_free(g);
      if (!c) goto done;
      g = c;
    }
    nl_node *n = rootn[i];
    if (!n->buf) n->buf = g;
    else {
      nl_tensor *s = nl_add(n->buf, g, 1);
      nl_tensor_free(g);
      if (!s) goto done;
      nl_tensor_free(n->buf);
      n->buf = s;
    }
  }

  /* ---- run in reverse post-order ---- */
  nl_set_grad_enabled(create_graph);
  for (size_t k = norder; k-- > 0;) {
    nl_node *n = order[k];
    if (n_inputs && !n->needed) continue;
    nl_tensor *g = n->buf;
    n->buf = NULL;
    if (!g) {
      if (!retain_graph) nl_free_saved(n);
      continue;
    }
    /* tensor hooks, then capture (autograd.grad) */
    nl_hook *hooks = n->backward ? n->pre_hooks : (n->ctx ? ((nl_ag_meta *)((nl_tensor *)n->ctx)->ag_meta)->hooks : NULL);
    if (hooks && !(g = nl_run_hooks(hooks, g))) goto done;
    for (int i = 0; i < n_inputs; i++) {
      nl_tensor *t = inputs[i];
      bool hit = t->grad_fn ? t->grad_fn == n : (t->ag_meta && ((nl_ag_meta *)t->ag_meta)->grad_acc == n);
      if (hit && !results[i]) {
        nl_tensor_retain(g);
        results[i] = g;
      }
    }
    if (!n->backward) { /* AccumulateGrad */
      int r = n_inputs ? 0 : nl_accumulate_leaf(n, g, create_graph);
      nl_tensor_free(g);
      if (r < 0) goto done;
      continue;
    }
    if (nl_unpack(n, create_graph) < 0) { nl_clear_unpacked(n); nl_tensor_free(g); goto done; }
    nl_tensor *gi_inline[NL_AG_MAXIN] = {0}, **gi = gi_inline;
    if (n->n_next > NL_AG_MAXIN && !(gi = calloc((size_t)n->n_next, sizeof *gi))) {
      nl_clear_unpacked(n);
      nl_tensor_free(g);
      nl_fail("out of memory");
      goto done;
    }
    int r = n->backward(n, g, gi);
    nl_clear_unpacked(n);
    nl_tensor_free(g);
    if (!retain_graph) nl_free_saved(n);
    for (int i = 0; i < n->n_next; i++) {
      if (!gi[i]) continue;
      nl_tensor *gg = gi[i];
      gi[i] = NULL;
      if (r == 0 && nl_anomaly_enabled() && n->next[i].node) r = nl_check_finite(n, i, gg);
      if (r == 0 && n->next[i].node && (!n_inputs || n->next[i].node->needed)) r = nl_accumulate(n, i, gg);
      else nl_tensor_free(gg);
    }
    if (gi != gi_inline) free(gi);
    if (r < 0) goto done;
  }
  for (int i = 0; i < n_inputs; i++)
    if (!results[i] && !allow_unused) {
      nl_fail("grad: one of the differentiated tensors (input %d) appears to not have been used in the graph; "
              "set allow_unused=true if this is the desired behavior", i + 1);
      goto done;
    }
  rc = 0;

done:
  nl_set_grad_enabled(mode);
  nl_retaining = prev_retain;
  for (size_t k = 0; k < norder; k++) { /* drop partial sums left by an error */
    nl_tensor_free(order[k]->buf);
    order[k]->buf = NULL;
  }
  if (rc < 0)
    for (int i = 0; i < n_inputs; i++) {
      nl_tensor_free(results[i]);
      results[i] = NULL;
    }
  if (rootn)
    for (int i = 0; i < nroots; i++) nl_node_release(rootn[i]);
  if (rootn != rootn_local) free(rootn);
  if (order != order_local) free(order);
  if (stack != stack_local) free(stack);
  return rc;
}
