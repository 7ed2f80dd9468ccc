/* ops_linalg.c: matmul, mm, bmm, mv, dot, outer, addmm and the thread settings.
 *
 * Every product is lowered to one batched GEMM (tensor/cpu/gemm.c) over header views built
 * on the stack (no allocation): a 1-D left operand (K) becomes a (1, K) row, a 1-D right
 * operand (K) a (K, 1) column, batch dims broadcast with stride 0 (never materialised), and
 * the output is allocated contiguous in its final shape. Transposed operands reach BLAS as
 * CblasTrans; other layouts (e.g. a strided slice) are copied contiguous first. */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "nl_iter.h"
#include "nl_kernel.h"
#include "nl_ops.h"

/* Same device, same dtype, a dtype GEMM supports. */
static int nl_linalg_check(const char *op, const nl_tensor *a, const nl_tensor *b, bool allow_bool) {
  if (!nl_device_eq(nl_device_of(a), nl_device_of(b))) {
    char da[32], db[32];
    nl_device_name(nl_device_of(a), da, sizeof da);
    nl_device_name(nl_device_of(b), db, sizeof db);
    return nl_failc("%s: expected both tensors on the same device, got %s and %s", op, da, db);
  }
  if (a->dtype != b->dtype)
    return nl_failc("%s: expected both tensors to have the same dtype, got %s and %s", op,
                    nl_dtype_name(a->dtype), nl_dtype_name(b->dtype));
  if (a->dtype == NL_BOOL && !allow_bool) return nl_failc("%s: not implemented for bool tensors", op);
  return 0;
}

/* Header of t seen as (batch..., rows, cols): nb batch dims right-aligned against bshape
 * (stride 0 where t lacks or broadcasts a dim); vec_row/vec_col: t is 1-D, seen as a row
 * (1, K) or a column (K, 1). */
static nl_tensor nl_mat_header(const nl_tensor *t, int nb, const int64_t *bshape, int vec) {
  nl_tensor h = *t;
  int tb = vec ? 0 : t->ndim - 2; /* t's own batch dims */
  h.ndim = nb + 2;
  for (int d = 0; d < nb; d++) {
    int s = d - (nb - tb);
    h.shape[d] = bshape[d];
    h.stride[d] = (s < 0 || (t->shape[s] == 1 && bshape[d] != 1)) ? 0 : t->stride[s];
  }
  if (vec == 1) { /* row (1, K) */
    h.shape[nb] = 1; h.stride[nb] = t->shape[0] * t->stride[0];
    h.shape[nb + 1] = t->shape[0]; h.stride[nb + 1] = t->stride[0];
  } else if (vec == 2) { /* column (K, 1) */
    h.shape[nb] = t->shape[0]; h.stride[nb] = t->stride[0];
    h.shape[nb + 1] = 1; h.stride[nb + 1] = 1;
  } else {
    for (int i = 0; i < 2; i++) {
      h.shape[nb + i] = t->shape[t->ndim - 2 + i];
      h.stride[nb + i] = t->stride[t->ndim - 2 + i];
    }
  }
  return h;
}

/* The product of a and b (vec flags as in nl_mat_header), optionally
 * beta * input + alpha * a@b (input != NULL). All argument checks before any allocation. */
static nl_tensor *nl_product(const char *op, const nl_tensor *a, int avec, const nl_tensor *b, int bvec,
                             const nl_tensor *input, double beta, double alpha, bool allow_bool) {
  char sa[160], sb[160];
  if (nl_linalg_check(op, a, b, allow_bool) < 0) return NULL;
  int na = a->ndim, nbd = b->ndim;
  int64_t M = avec ? 1 : a->shape[na - 2], K = a->shape[na - 1];
  int64_t K2 = bvec ? b->shape[0] : b->shape[nbd - 2], N = bvec ? 1 : b->shape[nbd - 1];
  if (K != K2)
    return nl_fail("%s: cannot multiply shapes %s and %s (%lld ~= %lld)", op, nl_shape_str(na, a->shape, sa, sizeof sa),
                   nl_shape_str(nbd, b->shape, sb, sizeof sb), (long long)K, (long long)K2);
  int64_t bshape[NL_MAXDIM];
  int nb = nl_broadcast_shape(op, avec ? 0 : na - 2, a->shape, bvec ? 0 : nbd - 2, b->shape, bshape);
  if (nb < 0)
    return nl_fail("%s: batch dims of shapes %s and %s cannot be broadcast", op, nl_shape_str(na, a->shape, sa, sizeof sa),
                   nl_shape_str(nbd, b->shape, sb, sizeof sb));
  if (nb + 2 > NL_MAXDIM) return nl_fail("%s: tensors have at most %d dims", op, NL_MAXDIM);
  int64_t fshape[NL_MAXDIM];
  int fn = nb;
  memcpy(fshape, bshape, sizeof(int64_t) * (size_t)nb);
  if (!avec) fshape[fn++] = M;
  if (!bvec) fshape[fn++] = N;
  if (input) {
    int64_t ishape[NL_MAXDIM];
    int ni = nl_broadcast_shape(op, input->ndim, input->shape, fn, fshape, ishape);
    if (ni != fn || memcmp(ishape, fshape, sizeof(int64_t) * (size_t)fn) != 0)
      return nl_fail("%s: input of shape %s cannot be broadcast to the product's shape %s", op,
                     nl_shape_str(input->ndim, input->shape, sa, sizeof sa), nl_shape_str(fn, fshape, sb, sizeof sb));
    if (nl_linalg_check(op, input, a, allow_bool) < 0) return NULL;
  }

  nl_tensor A = nl_mat_header(a, nb, bshape, avec), B = nl_mat_header(b, nb, bshape, bvec);
  nl_tensor *out = nl_empty(fn, fshape, a->dtype, nl_device_of(a));
  if (!out) return NULL;
  if (input && beta != 0 && nl_copy_(out, input) < 0) { nl_tensor_free(out); return NULL; }
  nl_tensor O = *out; /* (batch..., M, N), contiguous */
  O.ndim = nb + 2;
  memcpy(O.shape, bshape, sizeof(int64_t) * (size_t)nb);
  O.shape[nb] = M;
  O.shape[nb + 1] = N;
  { int64_t st = 1; for (int d = nb + 1; d >= 0; d--) { O.stride[d] = st; st *= O.shape[d] > 0 ? O.shape[d] : 1; } }
  if (nl_numel(out) == 0) return out;

  /* BLAS needs rows or columns of A and B dense: copy the rare other layouts. */
  nl_tensor *ca = NULL, *cb = NULL;
  bool tr;
  int64_t ld;
  int nd = nb + 2;
  if (nl_dtype_is_float(a->dtype)) {
    if (!nl_gemm_layout(M, K, A.stride[nd - 2], A.stride[nd - 1], &tr, &ld)) {
      if (!(ca = nl_clone(&A))) goto fail;
      A = *ca;
    }
    if (!nl_gemm_layout(K, N, B.stride[nd - 2], B.stride[nd - 1], &tr, &ld)) {
      if (!(cb = nl_clone(&B))) goto fail;
      B = *cb;
    }
  }
  int64_t batch = 1;
  for (int d = 0; d < nb; d++) batch *= bshape[d];

  /* Fold: when B is shared by every batch entry and A's batch dims stack its rows densely
   * (x (B, T, in) @ W (in, out)), one (batch*M, K) @ (K, N) call replaces the loop. */
  bool bshared = true;
  for (int d = 0; d < nb; d++) if (B.stride[d] != 0 && B.shape[d] != 1) bshared = false;
  if (nb > 0 && bshared && M > 0) {
    int64_t want = A.stride[nd - 2] * M;
    bool ok = true;
    for (int d = nb - 1; d >= 0; d--) {
      if (A.shape[d] != 1 && A.stride[d] != want) ok = false;
      want *= A.shape[d];
    }
    if (ok && nl_gemm_layout(batch * M, K, A.stride[nd - 2], A.stride[nd - 1], &tr, &ld) && !tr) {
      A.ndim = B.ndim = O.ndim = 2;
      A.shape[0] = batch * M; A.shape[1] = K; A.stride[0] = A.stride[nd - 2]; A.stride[1] = A.stride[nd - 1];
      B.shape[0] = K; B.shape[1] = N; B.stride[0] = B.stride[nd - 2]; B.stride[1] = B.stride[nd - 1];
      O.shape[0] = batch * M; O.shape[1] = N; O.stride[0] = N; O.stride[1] = 1;
      M *= batch;
      batch = 1;
    }
  }
  {
    double be = input ? beta : 0;
    nl_kargs k = {.out = &O, .in = {&A, &B}, .alpha = alpha, .beta = be, .ialpha = (int64_t)alpha,
                  .ibeta = (int64_t)be, .m = M, .n = N, .k = K, .batch = batch};
    if (nl_run(NL_OP_GEMM, &k) < 0) goto fail;
  }
  nl_tensor_free(ca);
  nl_tensor_free(cb);
  return out;
fail:
  nl_tensor_free(ca);
  nl_tensor_free(cb);
  nl_tensor_free(out);
  return NULL;
}

nl_tensor *nl_matmul(const nl_tensor *a, const nl_tensor *b) {
  if (a->ndim == 0 || b->ndim == 0)
    return nl_fail("matmul: both arguments need to be at least 1-D, but they are %d-D and %d-D", a->ndim, b->ndim);
  return nl_product("matmul", a, a->ndim == 1 ? 1 : 0, b, b->ndim == 1 ? 2 : 0, NULL, 0, 1, false);
}

nl_tensor *nl_mm(const nl_tensor *a, const nl_tensor *b) {
  if (a->ndim != 2 || b->ndim != 2)
    return nl_fail("mm: expected 2-D tensors, but got %d-D and %d-D", a->ndim, b->ndim);
  return nl_product("mm", a, 0, b, 0, NULL, 0, 1, false);
}

nl_tensor *nl_bmm(const nl_tensor *a, const nl_tensor *b) {
  char sa[160], sb[160];
  if (a->ndim != 3 || b->ndim != 3)
    return nl_fail("bmm: expected 3-D tensors, but got %d-D and %d-D", a->ndim, b->ndim);
  if (a->shape[0] != b->shape[0])
    return nl_fail("bmm: batch sizes of shapes %s and %s differ (%lld ~= %lld)", nl_shape_str(3, a->shape, sa, sizeof sa),
                   nl_shape_str(3, b->shape, sb, sizeof sb), (long long)a->shape[0], (long long)b->shape[0]);
  return nl_product("bmm", a, 0, b, 0, NULL, 0, 1, false);
}

nl_tensor *nl_mv(const nl_tensor *a, const nl_tensor *v) {
  if (a->ndim != 2 || v->ndim != 1)
    return nl_fail("mv: expected a 2-D matrix and a 1-D vector, but got %d-D and %d-D", a->ndim, v->ndim);
  return nl_product("mv", a, 0, v, 2, NULL, 0, 1, false);
}

nl_tensor *nl_dot(const nl_tensor *a, const nl_tensor *b) {
  if (a->ndim != 1 || b->ndim != 1)
    return nl_fail("dot: expected 1-D tensors, but got %d-D and %d-D", a->ndim, b->ndim);
  return nl_product("dot", a, 1, b, 2, NULL, 0, 1, false);
}

nl_tensor *nl_outer(const nl_tensor *a, const nl_tensor *b) {
  if (a->ndim != 1 || b->ndim != 1)
    return nl_fail("outer: expected 1-D tensors, but got %d-D and %d-D", a->ndim, b->ndim);
  if (!nl_device_eq(nl_device_of(a), nl_device_of(b))) return nl_product("outer", a, 1, b, 2, NULL, 0, 1, true);
  /* outer = a (M, 1) @ b (1, N), in the promoted dtype (PyTorch computes a[:, None] * b). */
  nl_dtype dt = nl_promote(a->dtype, b->dtype);
  nl_tensor *ca = nl_to_dtype((nl_tensor *)a, dt);
  nl_tensor *cb = ca ? nl_to_dtype((nl_tensor *)b, dt) : NULL;
  nl_tensor *out = NULL;
  if (cb) {
    nl_tensor A = *ca, B = *cb;
    A.ndim = B.ndim = 2;
    A.shape[0] = ca->shape[0]; A.stride[0] = ca->stride[0]; A.shape[1] = 1; A.stride[1] = 1;
    B.shape[0] = 1; B.stride[0] = cb->shape[0] * cb->stride[0]; B.shape[1] = cb->shape[0]; B.stride[1] = cb->stride[0];
    out = nl_product("outer", &A, 0, &B, 0, NULL, 0, 1, true);
  }
  nl_tensor_free(ca);
  nl_tensor_free(cb);
  return out;
}

nl_tensor *nl_addmm(const nl_tensor *input, const nl_tensor *m1, const nl_tensor *m2, double beta, double alpha) {
  if (m1->ndim != 2 || m2->ndim != 2)
    return nl_fail("addmm: expected 2-D matrices, but got %d-D and %d-D", m1->ndim, m2->ndim);
  return nl_product("addmm", m1, 0, m2, 0, input, beta, alpha, false);
}

/* OpenMP (elementwise kernels) and OpenBLAS (GEMM) get the same count. They never run at
 * the same time: BLAS is only called outside OpenMP regions. */
void nl_set_num_threads(int n) {
  if (n < 1) n = 1;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int nl_get_num_threads(void) { return omp_get_max_threads(); }
