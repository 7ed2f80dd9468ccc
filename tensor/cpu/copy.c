/* copy.c: COPY (strided copy with dtype casts), FILL and ARANGE on the CPU. */
#include <string.h>

#include "nl_cpu.h"

/* Loads element of dtype dt at p as double / int64 (casts between any two CPU dtypes). */
#define NL_LOAD(dt, p, out)                                    \
  switch (dt) {                                                \
  case NL_FLOAT32: out = *(const float *)(p); break;           \
  case NL_FLOAT64: out = *(const double *)(p); break;          \
  case NL_INT64: out = *(const int64_t *)(p); break;           \
  case NL_INT32: out = *(const int32_t *)(p); break;           \
  case NL_UINT8: out = *(const uint8_t *)(p); break;           \
  case NL_BOOL: out = *(const uint8_t *)(p) != 0; break;       \
  default: out = 0;                                            \
  }

typedef struct { nl_dtype to, from; } nl_copy_ctx;

/* Same dtype: memcpy when both runs are dense, else an element loop by size. */
static void nl_copy_same(char **p, const int64_t *s, int64_t n, void *vctx) {
  nl_copy_ctx *c = vctx;
  int64_t es = (int64_t)nl_dtype_size(c->to);
  if (s[0] == es && s[1] == es) { memcpy(p[0], p[1], (size_t)(n * es)); return; }
  switch (es) {
  case 1: for (int64_t i = 0; i < n; i++) *(uint8_t *)(p[0] + i * s[0]) = *(uint8_t *)(p[1] + i * s[1]); break;
  case 4: for (int64_t i = 0; i < n; i++) *(uint32_t *)(p[0] + i * s[0]) = *(uint32_t *)(p[1] + i * s[1]); break;
  case 8: for (int64_t i = 0; i < n; i++) *(uint64_t *)(p[0] + i * s[0]) = *(uint64_t *)(p[1] + i * s[1]); break;
  default: for (int64_t i = 0; i < n; i++) memcpy(p[0] + i * s[0], p[1] + i * s[1], (size_t)es);
  }
}

/* Casting copy. Integer targets from integer sources go through int64 (exact); float
 * sources through double; bool targets test != 0. */
static void nl_copy_cast(char **p, const int64_t *s, int64_t n, void *vctx) {
  nl_copy_ctx *c = vctx;
  bool exact = !nl_dtype_is_float(c->from);
  for (int64_t i = 0; i < n; i++) {
    const char *src = p[1] + i * s[1];
    char *dst = p[0] + i * s[0];
    if (exact) {
      int64_t v;
      NL_LOAD(c->from, src, v);
      NL_CPU_DISPATCH(c->to, T, *(T *)dst = c->to == NL_BOOL ? (T)(v != 0) : (T)v;)
    } else {
      double v;
      NL_LOAD(c->from, src, v);
      NL_CPU_DISPATCH(c->to, T, *(T *)dst = c->to == NL_BOOL ? (T)(v != 0) : (T)v;)
    }
  }
}

/* out <- in[0]; in[0] broadcasts to out's shape. */
void nl_cpu_COPY(const nl_kargs *a) {
  nl_iter it;
  nl_iter_init(&it, 2, (const nl_tensor *[]){a->out, a->in[0]}, a->out->ndim, a->out->shape);
  nl_copy_ctx c = {a->out->dtype, a->in[0]->dtype};
  nl_iter_run(&it, c.to == c.from ? nl_copy_same : nl_copy_cast, &c);
}

typedef struct { double v; int64_t iv; nl_dtype dt; } nl_fill_ctx;

static void nl_fill_run(char **p, const int64_t *s, int64_t n, void *vctx) {
  nl_fill_ctx *c = vctx;
  NL_CPU_DISPATCH(c->dt, T, {
    T v = nl_dtype_is_float(c->dt) ? (T)c->v : c->dt == NL_BOOL ? (T)(c->v != 0) : (T)c->iv;
    if (s[0] == sizeof(T)) {
      T *o = (T *)p[0];
      for (int64_t i = 0; i < n; i++) o[i] = v;
    } else {
      for (int64_t i = 0; i < n; i++) *(T *)(p[0] + i * s[0]) = v;
    }
  })
}

/* out <- alpha (ialpha for integer dtypes, exact). */
void nl_cpu_FILL(const nl_kargs *a) {
  nl_iter it;
  nl_iter_init(&it, 1, (const nl_tensor *[]){a->out}, a->out->ndim, a->out->shape);
  nl_fill_ctx c = {a->alpha, a->ialpha, a->out->dtype};
  nl_iter_run(&it, nl_fill_run, &c);
}

/* out (contiguous, 1-D) [i] = alpha + i * beta. */
void nl_cpu_ARANGE(const nl_kargs *a) {
  int64_t n = nl_numel(a->out);
  NL_CPU_DISPATCH(a->out->dtype, T, {
    T *o = nl_data(a->out);
    for (int64_t i = 0; i < n; i++) o[i] = (T)(a->alpha + (double)i * a->beta);
  })
}
