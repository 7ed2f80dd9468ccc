/* test_elementwise.c: elementwise front ends on non-contiguous inputs (transposed and
 * expanded views built with nl_view_of), large (parallel) inputs and C-level errors,
 * checked against naive loops over nl_get_flat. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nl_ops.h"

static int failures;
#define CHECK(c, ...)                                                   \
  do {                                                                  \
    if (!(c)) {                                                         \
      failures++;                                                       \
      fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                  \
      fprintf(stderr, __VA_ARGS__);                                     \
      fputc('\n', stderr);                                              \
    }                                                                   \
  } while (0)

static nl_tensor *iota(int ndim, const int64_t *shape, nl_dtype dt, double scale) {
  nl_tensor *t = nl_empty(ndim, shape, dt, nl_cpu());
  int64_t n = nl_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double v = (double)(i % 17) * scale - 3;
    if (dt == NL_FLOAT32) ((float *)nl_data(t))[i] = (float)v;
    else if (dt == NL_FLOAT64) ((double *)nl_data(t))[i] = v;
    else if (dt == NL_INT64) ((int64_t *)nl_data(t))[i] = (int64_t)v;
    else if (dt == NL_INT32) ((int32_t *)nl_data(t))[i] = (int32_t)v;
  }
  return t;
}

/* out[i] == f(a[i], b[i]) over the flat (logical) order; a, b already broadcast views. */
static void check_binary(const char *what, nl_op op, const nl_tensor *a, const nl_tensor *b, double tol) {
  nl_tensor *r = nl_binary(op, a, b, 1);
  CHECK(r != NULL, "%s: %s", what, nl_error());
  if (!r) return;
  int64_t n = nl_numel(r);
  for (int64_t i = 0; i < n; i++) {
    double x = nl_get_flat(a, i), y = nl_get_flat(b, i), want = 0;
    switch (op) {
    case NL_OP_ADD: want = x + y; break;
    case NL_OP_MUL: want = x * y; break;
    case NL_OP_SUB: want = x - y; break;
    case NL_OP_MAXIMUM: want = x > y ? x : y; break;
    case NL_OP_LT: want = x < y; break;
    default: break;
    }
    double got = nl_get_flat(r, i);
    if (fabs(got - want) > tol) {
      CHECK(0, "%s: element %lld: got %g want %g", what, (long long)i, got, want);
      break;
    }
  }
  nl_tensor_free(r);
}

int main(void) {
  /* a: [3, 4] contiguous; at: its transpose [4, 3] with strides [1, 4] */
  int64_t s34[2] = {3, 4}, s43[2] = {4, 3};
  nl_dtype dts[] = {NL_FLOAT32, NL_FLOAT64, NL_INT64, NL_INT32};
  for (size_t d = 0; d < sizeof dts / sizeof *dts; d++) {
    nl_tensor *a = iota(2, s34, dts[d], 1), *c = iota(2, s43, dts[d], 2);
    nl_tensor *at = nl_view_of(a, 2, s43, (int64_t[]){1, 4}, 0);
    /* a row [3] expanded to [4, 3] with stride 0 */
    nl_tensor *row = iota(1, (int64_t[]){3}, dts[d], 3);
    nl_tensor *rowx = nl_view_of(row, 2, s43, (int64_t[]){0, 1}, 0);
    check_binary("transposed + contiguous", NL_OP_ADD, at, c, 1e-5);
    check_binary("contiguous * transposed", NL_OP_MUL, c, at, 1e-5);
    check_binary("transposed - expanded", NL_OP_SUB, at, rowx, 1e-5);
    check_binary("expanded max transposed", NL_OP_MAXIMUM, rowx, at, 1e-5);
    check_binary("transposed < transposed", NL_OP_LT, at, at, 0);
    /* in place into a transposed view */
    nl_tensor *at2 = nl_view_of(a, 2, s43, (int64_t[]){1, 4}, 0);
    uint64_t v0 = a->storage->version;
    CHECK(nl_binary_(NL_OP_ADD, at2, nl_arg_int(1), 1) == 0, "add_ on a view: %s", nl_error());
    CHECK(a->storage->version == v0 + 1, "add_ bumps the version");
    CHECK(nl_get_flat(a, 5) == nl_get_flat(at, 4 * 0 + 1 * 3 + 1), "view writes reach the base");
    /* unary on a transposed view */
    nl_tensor *u = nl_unary(NL_OP_NEG, at);
    for (int64_t i = 0; u && i < 12; i++) CHECK(nl_get_flat(u, i) == -nl_get_flat(at, i), "neg of a transposed view");
    nl_tensor_free(u);
    nl_tensor_free(at2);
    nl_tensor_free(rowx);
    nl_tensor_free(row);
    nl_tensor_free(at);
    nl_tensor_free(c);
    nl_tensor_free(a);
  }

  /* large inputs take the parallel path; broadcasting [n, 1] with [1, 64] */
  int64_t big[2] = {2048, 64}, col[2] = {2048, 1}, rw[2] = {1, 64};
  nl_tensor *x = iota(2, big, NL_FLOAT32, 0.5), *cc = iota(2, col, NL_FLOAT32, 1), *rr = iota(2, rw, NL_FLOAT32, 1);
  nl_tensor *s = nl_binary(NL_OP_ADD, cc, rr, 1);
  CHECK(s && s->shape[0] == 2048 && s->shape[1] == 64, "broadcast [2048,1] + [1,64]");
  for (int64_t i = 0; s && i < 2048 * 64; i += 997)
    CHECK(nl_get_flat(s, i) == nl_get_flat(cc, i / 64) + nl_get_flat(rr, i % 64), "big broadcast at %lld", (long long)i);
  nl_tensor *e = nl_unary(NL_OP_EXP, x);
  for (int64_t i = 0; e && i < 2048 * 64; i += 1009)
    CHECK(fabs(nl_get_flat(e, i) - exp(nl_get_flat(x, i))) < 1e-4 * exp(nl_get_flat(x, i)), "big exp at %lld", (long long)i);
  nl_tensor_free(e);
  nl_tensor_free(s);
  nl_tensor_free(x);
  nl_tensor_free(cc);
  nl_tensor_free(rr);

  /* errors return NULL with a message and leave nothing behind */
  nl_tensor *i3 = nl_full(1, (int64_t[]){3}, 5, NL_INT64, nl_cpu());
  nl_tensor *z = nl_zeros(1, (int64_t[]){3}, NL_INT64, nl_cpu());
  CHECK(nl_binary(NL_OP_FLOORDIV, i3, z, 1) == NULL && strcmp(nl_error(), "floor_divide: integer division by zero") == 0,
        "int floor_divide by zero: %s", nl_error());
  CHECK(nl_binary_scalar(NL_OP_REMAINDER, i3, 0, true, false) == NULL, "remainder by 0");
  CHECK(nl_binary_scalar(NL_OP_POW, i3, -2, true, false) == NULL, "negative int power");
  nl_tensor *p = nl_binary_scalar(NL_OP_POW, i3, 2, true, true); /* 2 ^ i3 */
  CHECK(p && p->dtype == NL_INT64 && nl_get_flat(p, 0) == 32, "2 ^ int tensor");
  nl_tensor_free(p);
  nl_tensor_free(z);
  nl_tensor_free(i3);

  if (failures) fprintf(stderr, "%d failures\n", failures);
  else printf("test_elementwise: ok\n");
  return failures != 0;
}
