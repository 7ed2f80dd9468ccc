/* nl_autograd.h: reverse-mode automatic differentiation over nl_tensor (pure C, no Lua).
 *
 * A dynamic tape like PyTorch's: every differentiable op (the nl_ag_* wrappers in
 * nl_ag_ops.h), when grad mode is on and an input requires grad, creates a node that holds
 * its saved tensors and one edge per input: {the input's grad_fn, its output_nr}, or the
 * input's AccumulateGrad node when it is a leaf that requires grad (one per leaf, shared by
 * every use), or {NULL} when the input needs no gradient. Every node has exactly one output
 * (multi-output ops such as split are built from single-output views).
 *
 * Ownership: a tensor owns (a reference to) its grad_fn; a node owns its next nodes and its
 * saved tensors; an AccumulateGrad node owns its leaf, and the leaf points back weakly
 * (nl_ag_meta.grad_acc), so nothing forms a cycle. Saving an op's own output stores a
 * detached alias (no grad_fn); backward re-attaches the node when it unpacks it. Node
 * destruction is iterative (a 100,000-node chain frees without deep recursion). */
#ifndef NL_AUTOGRAD_H
#define NL_AUTOGRAD_H
#include <stdbool.h>
#include <stdint.h>

#include "../tensor/nl_tensor.h"

#define NL_AG_MAXSAVED 4
#define NL_AG_MAXIN 4 /* inputs of a node with inline edges; more (cat, stack) are allocated */

typedef struct nl_node nl_node;
/* Computes the gradients of the node's inputs from the gradient of its output `go`:
 * gi[i] (new references) for each edge i whose node is not NULL (NULL leaves it unset:
 * no gradient). Returns 0, or -1 with nl_error() set. */
typedef int (*nl_backward_fn)(nl_node *n, nl_tensor *go, nl_tensor **gi);

typedef struct nl_edge {
  nl_node *node;
  int input_nr;
} nl_edge;

typedef struct nl_saved {
  nl_tensor *t;      /* a reference (inputs) or a detached alias (the node's own output) */
  uint64_t version;  /* t->storage->version when saved */
  bool is_output;
} nl_saved;

/* A hook on the gradient flowing into a tensor: returns a replacement (a new reference) or
 * NULL with *err = 0 to keep the gradient, or NULL with *err = 1 and nl_error() set. */
typedef nl_tensor *(*nl_hook_fn)(void *ctx, nl_tensor *grad, int *err);
typedef struct nl_hook {
  nl_hook_fn fn;
  void *ctx;
  void (*free_ctx)(void *ctx);
  struct nl_hook *next;
} nl_hook;

struct nl_node {
  int refcount;
  const char *name;            /* "MulBackward" */
  nl_backward_fn backward;     /* NULL for AccumulateGrad */
  void (*release)(nl_node *n); /* extra cleanup (a Lua reference), may be NULL */
  int n_next;
  nl_edge *next;               /* n_next edges: one per input */
  nl_edge next_inline[NL_AG_MAXIN];
  /* metadata of each input, to undo broadcasting and dtype promotion of its gradient */
  int8_t *in_ndim;
  int64_t (*in_shape)[NL_MAXDIM];
  nl_dtype *in_dtype;
  int8_t in_ndim_inline[NL_AG_MAXIN];
  int64_t in_shape_inline[NL_AG_MAXIN][NL_MAXDIM];
  nl_dtype in_dtype_inline[NL_AG_MAXIN];
  int n_saved;
  nl_saved saved[NL_AG_MAXSAVED];
  bool saved_released; /* freed after a backward without retain_graph */
  /* op parameters (meaning per op, see derivatives.c) */
  int ip[NL_MAXDIM + 2];
  double dp[4];
  int64_t sp[NL_MAXDIM];
  void *ctx; /* AccumulateGrad: the leaf (owned); Lua Function: its state */
  char *trace; /* anomaly mode: where the forward op was called (malloc'd), or NULL */
  nl_hook *pre_hooks; /* hooks on the gradient of this node's output (tensor hooks) */
  /* engine scratch */
  uint64_t run;
  int deps;
  bool needed;
  nl_tensor *buf; /* the gradient summed so far */
  nl_tensor *unpacked[NL_AG_MAXSAVED];
};

/* Per-tensor autograd state beyond nl_tensor's fields (t->ag_meta). */
typedef struct nl_ag_meta {
  nl_node *grad_acc; /* weak: the leaf's AccumulateGrad node while it lives */
  nl_hook *hooks;    /* leaf hooks (run by AccumulateGrad) */
} nl_ag_meta;

/* ---- grad mode (thread-local) ---------------------------------------------------------- */
bool nl_grad_enabled(void);
void nl_set_grad_enabled(bool on);

/* ---- nodes ----------------------------------------------------------------------------- */
/* Installs the tensor-release hook; idempotent, called by every node creation. */
void nl_autograd_init(void);
/* true when grad mode is on and one of the n tensors (NULL entries skipped) requires grad. */
bool nl_ag_any_requires_grad(int n, const nl_tensor *const *ts);
/* A node with edges to the n inputs (NULL entries: no edge). NULL on out of memory. */
nl_node *nl_node_new(const char *name, nl_backward_fn fn, int n, const nl_tensor *const *ins);
void nl_node_retain(nl_node *n);
void nl_node_release(nl_node *n);
/* Saves an input (a reference) or, with is_output, a detached alias of the node's output. */
int nl_node_save(nl_node *n, const nl_tensor *t, bool is_output);
/* out->grad_fn = n (takes the caller's reference to n), requires_grad = true. */
void nl_ag_set_history(nl_tensor *out, nl_node *n);
/* The leaf's AccumulateGrad node (a new reference), created once and shared. */
nl_node *nl_ag_grad_accumulator(nl_tensor *leaf);
/* The saved tensor i as unpacked for the running backward (borrowed). */
static inline nl_tensor *nl_saved_get(nl_node *n, int i) { return n->unpacked[i]; }
static inline bool nl_ag_need(nl_node *n, int i) { return n->next[i].node != NULL; }
nl_ag_meta *nl_ag_meta_of(nl_tensor *t); /* created on demand; NULL on out of memory */

/* ---- anomaly detection ---------------------------------------------------------------- */
/* When on, node creation records the caller's traceback (through nl_anomaly_trace_hook, set
 * by the Lua binding: returns a malloc'd string or NULL) and backward checks every gradient a
 * node produces for NaN / inf, failing with the node, the forward op and that traceback. */
bool nl_anomaly_enabled(void);
void nl_set_anomaly_enabled(bool on);
extern char *(*nl_anomaly_trace_hook)(void);
/* true while nl_backward runs with retain_graph (Lua Functions free their saved tensors
 * after a backward without it). */
bool nl_ag_retaining_graph(void);

/* ---- tensor-level API ------------------------------------------------------------------- */
bool nl_is_leaf(const nl_tensor *t);
/* Fails on non-float dtypes ("requires_grad: only tensors of floating point dtype can
 * require gradients (got int64)") and on non-leaves when turning it off. */
int nl_set_requires_grad(nl_tensor *t, bool on);
int nl_retain_grad(nl_tensor *t);
/* Adds a hook on t's gradient (leaf: run before accumulation; else before its grad_fn). */
int nl_register_hook(nl_tensor *t, nl_hook_fn fn, void *ctx, void (*free_ctx)(void *));
/* Sets t->grad (g may be NULL); g's shape must match. Takes a new reference to g. */
int nl_set_grad(nl_tensor *t, nl_tensor *g);
/* Errors when t is a leaf that requires grad and grad mode is on (in-place ops). */
int nl_ag_check_inplace(const nl_tensor *t, const char *op);
/* detach_(): drops t's history in place. */
void nl_detach_(nl_tensor *t);

/* ---- the engine ------------------------------------------------------------------------- */
/* Backpropagates from n roots with gradients grad_roots (NULL entries: ones, only for
 * one-element roots). Without inputs (n_inputs == 0): accumulates into the .grad of the
 * leaves. With inputs: returns their gradients in results[i] (new references; NULL when
 * unused and allow_unused, else an error) and touches no .grad. */
int nl_backward(int n, nl_tensor *const *roots, nl_tensor *const *grad_roots, bool retain_graph,
                bool create_graph, int n_inputs, nl_tensor *const *inputs, nl_tensor **results,
                bool allow_unused);

/* Gradient helper: sums g over the dims that broadcasting expanded, to shape (ndim, shape). */
nl_tensor *nl_sum_to(nl_tensor *g, int ndim, const int64_t *shape);

#endif
