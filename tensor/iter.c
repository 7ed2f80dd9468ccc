/* iter.c: broadcasting, dim coalescing and the (parallel) driver of inner runs. */
#include <string.h>

#include "nl_iter.h"
#ifdef _OPENMP
#include <omp.h>
#endif

int nl_broadcast_shape(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                       int64_t *out) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int ia = na - n + i, ib = nb - n + i;
    int64_t sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
    if (sa != sb && sa != 1 && sb != 1) {
      char ba[160], bb[160];
      return nl_failc("%s: shapes %s and %s cannot be broadcast (dim %d: %lld vs %lld)", op,
                      nl_shape_str(na, a, ba, sizeof ba), nl_shape_str(nb, b, bb, sizeof bb),
                      i + 1, (long long)sa, (long long)sb);
    }
    out[i] = sa == 1 ? sb : sa;
  }
  return n;
}

void nl_iter_init(nl_iter *it, int n, const nl_tensor *const *ts, int ndim, const int64_t *shape) {
  memset(it, 0, sizeof *it);
  it->n = n;
  it->numel = 1;
  for (int d = 0; d < ndim; d++) it->numel *= shape[d];
  for (int k = 0; k < n; k++) {
    const nl_tensor *t = ts[k];
    int64_t es = (int64_t)nl_dtype_size(t->dtype);
    it->data[k] = nl_data(t);
    for (int d = 0; d < ndim; d++) {
      int td = t->ndim - ndim + d;
      it->stride[k][d] = (td >= 0 && t->shape[td] != 1) ? t->stride[td] * es : 0;
    }
  }
  /* Drop size-1 dims, then merge dim d into d+1 when every operand is contiguous across. */
  int64_t sh[NL_MAXDIM], st[NL_ITER_MAX][NL_MAXDIM];
  int m = 0;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 1) continue;
    if (m > 0) {
      bool merge = true;
      for (int k = 0; k < n && merge; k++) merge = st[k][m - 1] == shape[d] * it->stride[k][d];
      if (merge) {
        sh[m - 1] *= shape[d];
        for (int k = 0; k < n; k++) st[k][m - 1] = it->stride[k][d];
        continue;
      }
    }
    sh[m] = shape[d];
    for (int k = 0; k < n; k++) st[k][m] = it->stride[k][d];
    m++;
  }
  if (m == 0) { /* a scalar, or all dims of size 1 */
    sh[0] = 1;
    for (int k = 0; k < n; k++) st[k][0] = 0;
    m = 1;
  }
  it->ndim = m;
  memcpy(it->shape, sh, sizeof(int64_t) * m);
  for (int k = 0; k < n; k++) memcpy(it->stride[k], st[k], sizeof(int64_t) * m);
}

/* Runs inner runs for the flat element range [begin, end). */
static void nl_iter_range(const nl_iter *it, nl_inner_fn fn, void *ctx, int64_t begin, int64_t end) {
  int last = it->ndim - 1;
  int64_t inner = it->shape[last];
  int64_t istride[NL_ITER_MAX];
  for (int k = 0; k < it->n; k++) istride[k] = it->stride[k][last];
  int64_t i = begin;
  while (i < end) {
    /* position of flat index i: outer coordinates and offset into the inner run */
    int64_t rem = i / inner, j = i % inner;
    char *p[NL_ITER_MAX];
    for (int k = 0; k < it->n; k++) p[k] = it->data[k] + j * istride[k];
    for (int d = last - 1; d >= 0; d--) {
      int64_t c = rem % it->shape[d];
      rem /= it->shape[d];
      for (int k = 0; k < it->n; k++) p[k] += c * it->stride[k][d];
    }
    int64_t len = inner - j;
    if (len > end - i) len = end - i;
    fn(p, istride, len, ctx);
    i += len;
  }
}

void nl_iter_run(const nl_iter *it, nl_inner_fn fn, void *ctx) {
  int64_t total = it->numel;
  if (total == 0) return;
#ifdef _OPENMP
  if (total >= NL_PAR_GRAIN && NL_OMP_MULTI()) { /* no team of one: see NL_OMP_REGION_IF */
#pragma omp parallel
    {
      int nt = omp_get_num_threads(), tid = omp_get_thread_num();
      int64_t chunk = (total + nt - 1) / nt;
      int64_t b = tid * chunk, e = b + chunk < total ? b + chunk : total;
      if (b < e) nl_iter_range(it, fn, ctx, b, e);
    }
    return;
  }
#endif
  nl_iter_range(it, fn, ctx, 0, total);
}
