/* test_reduce.c: reductions, max/min, scans and softmax on non-contiguous inputs (transposed
 * and strided views made with nl_view_of) agree with the same ops on a contiguous copy, and
 * checks a few values by hand. Exit status 0 = pass. */
#include <math.h>
#include <stdio.h>

#include "nl_ops.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

/* Compares two tensors of the same shape elementwise (NaN == NaN). */
static void same(const nl_tensor *a, const nl_tensor *b, double tol, const char *what) {
  CHECK(a && b, "%s: NULL result (%s)", what, nl_error());
  if (!a || !b) return;
  CHECK(a->ndim == b->ndim && nl_numel(a) == nl_numel(b), "%s: shapes differ", what);
  for (int d = 0; d < a->ndim && d < b->ndim; d++) CHECK(a->shape[d] == b->shape[d], "%s: dim %d differs", what, d);
  for (int64_t i = 0; i < nl_numel(a) && i < nl_numel(b); i++) {
    double x = nl_get_flat(a, i), y = nl_get_flat(b, i);
    CHECK((x != x && y != y) || fabs(x - y) <= tol * (1 + fabs(y)), "%s: element %lld: %g vs %g", what, (long long)i, x, y);
  }
}

int main(void) {
  /* base (4, 6, 5) float64, then the view (5, 6, 4) = permute(2, 1, 0), and a strided
   * narrow (4, 3, 5) taking every other index of dim 1 */
  int64_t shape[3] = {4, 6, 5};
  nl_tensor *base = nl_empty(3, shape, NL_FLOAT64, nl_cpu());
  double *p = nl_data(base);
  for (int i = 0; i < 120; i++) p[i] = sin(i * 1.7) * 3 + (i % 7 == 0 ? 2 : 0);
  int64_t tsh[3] = {5, 6, 4}, tst[3] = {1, 5, 30};
  nl_tensor *tv = nl_view_of(base, 3, tsh, tst, base->offset);
  int64_t ssh[3] = {4, 3, 5}, sst[3] = {30, 10, 1};
  nl_tensor *sv = nl_view_of(base, 3, ssh, sst, base->offset + 5);
  nl_tensor *views[2] = {tv, sv};
  const char *vname[2] = {"transposed", "strided"};
  nl_op ops[] = {NL_OP_SUM, NL_OP_MEAN, NL_OP_PROD, NL_OP_VAR, NL_OP_NORM, NL_OP_LOGSUMEXP,
                 NL_OP_AMAX, NL_OP_AMIN, NL_OP_ALL, NL_OP_ANY};
  for (int v = 0; v < 2; v++) {
    nl_tensor *view = views[v], *copy = nl_clone(view);
    CHECK(!nl_is_contiguous(view), "%s view should not be contiguous", vname[v]);
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
      for (uint32_t mask = 0; mask < 8; mask++)
        for (int keep = 0; keep < 2; keep++) {
          char what[96];
          snprintf(what, sizeof what, "%s %s mask %u keepdim %d", vname[v], nl_op_name(ops[k]), mask, keep);
          double param = ops[k] == NL_OP_NORM ? 3 : 1;
          nl_tensor *a = nl_reduce(ops[k], view, mask, keep, param), *b = nl_reduce(ops[k], copy, mask, keep, param);
          same(a, b, 1e-12, what);
          nl_tensor_free(a);
          nl_tensor_free(b);
        }
    for (int dim = 0; dim < 3; dim++) {
      nl_tensor *va, *ia, *vb, *ib;
      CHECK(nl_max_dim(view, dim, false, &va, &ia) == 0 && nl_max_dim(copy, dim, false, &vb, &ib) == 0, "max_dim");
      same(va, vb, 0, "max_dim values");
      same(ia, ib, 0, "max_dim indices");
      nl_tensor_free(va); nl_tensor_free(ia); nl_tensor_free(vb); nl_tensor_free(ib);
      nl_tensor *a, *b;
      a = nl_softmax(view, dim, false), b = nl_softmax(copy, dim, false);
      same(a, b, 1e-12, "softmax");
      nl_tensor_free(a); nl_tensor_free(b);
      a = nl_softmax(view, dim, true), b = nl_softmax(copy, dim, true);
      same(a, b, 1e-12, "log_softmax");
      nl_tensor_free(a); nl_tensor_free(b);
      a = nl_cumsum(view, dim, -1), b = nl_cumsum(copy, dim, -1);
      same(a, b, 1e-12, "cumsum");
      nl_tensor_free(a); nl_tensor_free(b);
      a = nl_argmin(view, dim, true), b = nl_argmin(copy, dim, true);
      same(a, b, 0, "argmin");
      nl_tensor_free(a); nl_tensor_free(b);
    }
    nl_tensor_free(copy);
  }
  /* by hand: the transposed view's sum over its dim 0 (base's dim 2) */
  nl_tensor *s = nl_reduce(NL_OP_SUM, tv, 1u, false, 0);
  double want = 0;
  for (int k = 0; k < 5; k++) want += p[k]; /* base[0][0][k] */
  CHECK(s && fabs(nl_get_flat(s, 0) - want) < 1e-12, "sum by hand: %g vs %g", s ? nl_get_flat(s, 0) : 0, want);
  nl_tensor_free(s);
  /* errors leave a message and return NULL */
  CHECK(nl_reduce(NL_OP_SUM, tv, 1u << 5, false, 0) == NULL, "bad mask accepted");
  CHECK(nl_softmax(tv, 3, false) == NULL, "bad dim accepted");
  nl_tensor_free(tv);
  nl_tensor_free(sv);
  nl_tensor_free(base);
  if (failures) { printf("%d failures\n", failures); return 1; }
  printf("test_reduce: ok\n");
  return 0;
}
