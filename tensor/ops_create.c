/* ops_create.c: arange, linspace, eye (values through the ARANGE and FILL kernels). */
#include <math.h>

#include "nl_kernel.h"
#include "nl_ops.h"

nl_tensor *nl_arange(double start, double stop, double step, nl_dtype dt, nl_device dev) {
  if (!isfinite(start) || !isfinite(stop)) return nl_fail("arange: unsupported range: %g -> %g", start, stop);
  if (step == 0 || !isfinite(step)) return nl_fail("arange: step must be nonzero and finite (got %g)", step);
  if ((step > 0 && stop < start) || (step < 0 && stop > start))
    return nl_fail("arange: upper bound and larger bound inconsistent with step sign (start %g, end %g, step %g)", start,
                   stop, step);
  double size = ceil((stop - start) / step);
  if (size > 9.0e15) return nl_fail("arange: too many elements (%g)", size);
  int64_t n = (int64_t)size;
  nl_tensor *t = nl_empty(1, &n, dt, dev);
  if (!t) return NULL;
  nl_kargs a = {.out = t, .alpha = start, .beta = step};
  if (n > 0 && nl_run(NL_OP_ARANGE, &a) < 0) { nl_tensor_free(t); return NULL; }
  return t;
}

nl_tensor *nl_linspace(double a, double b, int64_t n, nl_dtype dt, nl_device dev) {
  if (n < 0) return nl_fail("linspace: number of steps must be non-negative (got %lld)", (long long)n);
  nl_tensor *t = nl_empty(1, &n, dt, dev);
  if (!t || n == 0) return t;
  if (n == 1) {
    if (nl_fill_(t, a) < 0) { nl_tensor_free(t); return NULL; }
    t->storage->version = 0;
    return t;
  }
  /* PyTorch: i < n/2 -> a + i*step; else b - (n-1-i)*step, so both ends are exact. The
   * second half runs as an arange from its first value, then the last value is set to b. */
  double step = (b - a) / (double)(n - 1);
  int64_t h = n / 2, rest = n - h, one = 1;
  nl_tensor *lo = nl_view_of(t, 1, &h, NULL, t->offset);
  nl_tensor *hi = nl_view_of(t, 1, &rest, NULL, t->offset + h);
  nl_tensor *last = nl_view_of(t, 1, &one, NULL, t->offset + n - 1);
  int rc = (lo && hi && last) ? 0 : -1;
  nl_kargs k1 = {.out = lo, .alpha = a, .beta = step};
  nl_kargs k2 = {.out = hi, .alpha = b - step * (double)(rest - 1), .beta = step};
  if (rc == 0 && h > 0) rc = nl_run(NL_OP_ARANGE, &k1);
  if (rc == 0) rc = nl_run(NL_OP_ARANGE, &k2);
  if (rc == 0) rc = nl_fill_(last, b);
  nl_tensor_free(lo);
  nl_tensor_free(hi);
  nl_tensor_free(last);
  if (rc < 0) { nl_tensor_free(t); return NULL; }
  t->storage->version = 0;
  return t;
}

nl_tensor *nl_eye(int64_t n, int64_t m, nl_dtype dt, nl_device dev) {
  if (n < 0 || m < 0) return nl_fail("eye: n and m must be non-negative (got %lld and %lld)", (long long)n, (long long)m);
  int64_t shape[2] = {n, m};
  nl_tensor *t = nl_zeros(2, shape, dt, dev);
  if (!t) return NULL;
  int64_t d = n < m ? n : m, st = m + 1;
  if (d > 0) {
    nl_tensor *diag = nl_view_of(t, 1, &d, &st, t->offset);
    int rc = diag ? nl_fill_(diag, 1) : -1;
    nl_tensor_free(diag);
    if (rc < 0) { nl_tensor_free(t); return NULL; }
  }
  t->storage->version = 0;
  return t;
}
