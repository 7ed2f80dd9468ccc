/* ag_internal.h: shared by functions*.c (the wrappers) and derivatives.c (the formulas). */
#ifndef NL_AG_INTERNAL_H
#define NL_AG_INTERNAL_H
#include "nl_ag_ops.h"

/* Temporaries of a formula: K(e) keeps a result (or jumps to fail on NULL); the caller frees
 * them all with nl_tmp_free. Uses GNU statement expressions (the build is gnu11). */
typedef struct { nl_tensor *t[32]; int n; } nl_tmp;
#define K(e) ({ nl_tensor *_k = (e); if (!_k) goto fail; tmp.t[tmp.n++] = _k; _k; })
/* gi[i] = e (a new reference) */
#define OUT(i, e) do { nl_tensor *_o = (e); if (!_o) goto fail; gi[i] = _o; } while (0)
static inline nl_tensor *nl_ref(nl_tensor *t) { nl_tensor_retain(t); return t; }
static inline void nl_tmp_free(nl_tmp *t) { for (int i = 0; i < t->n; i++) nl_tensor_free(t->t[i]); t->n = 0; }

/* formulas (derivatives.c); the node's ip/dp/sp and saved tensors are described there */
int nl_d_unary(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_binary(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_where(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_clamp(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_lerp(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_identity(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_reduce(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_minmax_dim(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_cumsum(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_cumprod(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_softmax(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_reshape(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_permute(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_embed(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_unembed(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_flip(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_tile(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_cat(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_stack(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_scatter(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_index(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_assign(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_unfold(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_to_device(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_masked_fill(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_matmul(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_addmm(nl_node *n, nl_tensor *g, nl_tensor **gi);
int nl_d_outer(nl_node *n, nl_tensor *g, nl_tensor **gi);

/* in-place helpers (functions.c): refuse views when recording; self <- r with r's history */
int nl_ag_check_view(const nl_tensor *t, const char *op);
int nl_ag_rebase(nl_tensor *self, nl_tensor *r);

/* index op kinds of nl_d_index (node ip[0]) */
enum { NL_IX_FILL = 1, NL_IX_ADD, NL_IX_COPY, NL_IX_MSCATTER };

/* view kinds of nl_ag_embed (node ip[0]) */
enum { NL_VK_NARROW = 1, NL_VK_SELECT, NL_VK_SLICE, NL_VK_INDEX_SELECT, NL_VK_GATHER, NL_VK_MASKED_SELECT, NL_VK_TAKE };
/* re-applies the view of view_node to t (the backward of embed) */
nl_tensor *nl_ag_apply_view(nl_tensor *t, const nl_node *view_node);
#endif
