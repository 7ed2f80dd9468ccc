/* embedding.c: embedding (row lookup) and its backward (row accumulation, padding_idx row kept
 * zero), one_hot, and pad (constant / reflect / replicate / circular over any trailing dims). */
#include <string.h>

#include "nl_nn_kernel.h"
#include "nl_nn_pad.h"
#include "nn_util.h"

/* ---- device path (CUDA) ----------------------------------------------------------------------
 * The indices are validated on a host copy (an out-of-range index is the CPU's clear error,
 * never a device assert), then the lookup is index_select and the gradient index_add_ (both
 * CUDA tensor kernels: the accumulation of repeated indices uses atomicAdd, so its order, and
 * the last bits of such sums, are not deterministic; the CPU accumulates in float64). */
static int nn_dev_check_idx(const char *op, const nl_tensor *idx, const nl_tensor *ref, int64_t V) {
  if (idx->dtype != NL_INT64)
    return nl_failc("%s: expected indices to be an int64 tensor, got %s", op, nl_dtype_name(idx->dtype));
  if (!nl_device_eq(nl_device_of(idx), nl_device_of(ref)))
    return nl_failc("%s: expected indices on the same device as the %s", op, nl_device_of(ref).type == NL_CPU ? "cpu tensors" : "cuda tensors");
  nl_tensor *h = nl_to_device((nl_tensor *)idx, nl_cpu()), *c = h ? nl_contiguous(h) : NULL;
  nl_tensor_free(h);
  if (!c) return -1;
  const int64_t *ix = L64(c);
  for (int64_t i = 0, n = nl_numel(c); i < n; i++)
    if (ix[i] < 0 || ix[i] >= V) {
      long long bad = nl_one_based(ix[i]);
      nl_tensor_free(c);
      return nl_failc("%s: index %lld is out of range for %lld rows (expected 1..%lld)", op, bad, (long long)V, (long long)V);
    }
  nl_tensor_free(c);
  return 0;
}

static nl_tensor *nn_dev_embedding(const nl_tensor *weight, const nl_tensor *idx) {
  const char *op = "embedding";
  if (weight->dtype != NL_FLOAT32 && weight->dtype != NL_FLOAT64)
    return nl_fail("%s: expected weight to be float32 or float64, got %s", op, nl_dtype_name(weight->dtype));
  if (weight->ndim != 2) return nl_fail("%s: expected weight with 2 dims (num_embeddings, embedding_dim), got %s", op, SHP(weight));
  if (idx->ndim + 1 > NL_MAXDIM) return nl_fail("%s: indices %s have too many dims", op, SHP(idx));
  if (nn_dev_check_idx(op, idx, weight, weight->shape[0])) return NULL;
  int64_t n = nl_numel(idx), shape[NL_MAXDIM];
  memcpy(shape, idx->shape, sizeof(int64_t) * (size_t)idx->ndim);
  shape[idx->ndim] = weight->shape[1];
  nl_tensor *flat = nl_reshape((nl_tensor *)idx, 1, &n);
  nl_tensor *rows = flat ? nl_index_select((nl_tensor *)weight, 0, flat) : NULL; /* (n, D) */
  nl_tensor_free(flat);
  nl_tensor *y = rows ? nl_reshape(rows, idx->ndim + 1, shape) : NULL;
  nl_tensor_free(rows);
  return y;
}

static nl_tensor *nn_dev_embedding_backward(const nl_tensor *gy, const nl_tensor *idx, int64_t V, int64_t padding_idx) {
  const char *op = "embedding_backward";
  if (gy->dtype != NL_FLOAT32 && gy->dtype != NL_FLOAT64)
    return nl_fail("%s: expected grad_output to be float32 or float64, got %s", op, nl_dtype_name(gy->dtype));
  int ok = gy->ndim == idx->ndim + 1;
  for (int i = 0; ok && i < idx->ndim; i++) ok = gy->shape[i] == idx->shape[i];
  if (!ok) return nl_fail("%s: grad_output %s does not match indices %s", op, SHP(gy), SHP(idx));
  if (V < 0) return nl_fail("%s: num_weights must be non-negative, got %lld", op, (long long)V);
  if (padding_idx >= V) return nl_fail("%s: padding_idx %lld is out of range for %lld rows", op, (long long)padding_idx + 1, (long long)V);
  if (nn_dev_check_idx(op, idx, gy, V)) return NULL;
  int64_t D = gy->shape[gy->ndim - 1], n = nl_numel(idx), ws[2] = {V, D}, gs[2] = {n, D};
  nl_tensor *gw = nl_zeros(2, ws, gy->dtype, nl_device_of(gy));
  nl_tensor *flat = nl_reshape((nl_tensor *)idx, 1, &n), *g2 = nl_reshape((nl_tensor *)gy, 2, gs);
  int st = gw && flat && g2 ? nl_index_add_(gw, 0, flat, g2, 1) : -1;
  nl_tensor_free(flat), nl_tensor_free(g2);
  if (!st && padding_idx >= 0) { /* every contribution to that row came from padding_idx: drop them */
    nl_tensor *row = nl_narrow(gw, 0, padding_idx, 1);
    st = row ? nl_fill_(row, 0) : -1;
    nl_tensor_free(row);
  }
  if (st) {
    nl_tensor_free(gw);
    return NULL;
  }
  return gw;
}

nl_tensor *nl_embedding(const nl_tensor *weight, const nl_tensor *idx) {
  if (nn_dev(weight) || nn_dev(idx)) return nn_dev_embedding(weight, idx);
  const char *op = "embedding";
  if (nn_check_float(op, "weight", weight) || nn_check_long(op, "indices", idx)) return NULL;
  if (weight->ndim != 2) return nl_fail("%s: expected weight with 2 dims (num_embeddings, embedding_dim), got %s", op, SHP(weight));
  if (idx->ndim + 1 > NL_MAXDIM) return nl_fail("%s: indices %s have too many dims", op, SHP(idx));
  int64_t V = weight->shape[0], Dm = weight->shape[1], n = nl_numel(idx);
  nl_tensor *ic = nn_contig(idx);
  if (!ic) return NULL;
  const int64_t *ix = L64(ic);
  for (int64_t i = 0; i < n; i++)
    if (ix[i] < 0 || ix[i] >= V) {
      nl_tensor_free(ic);
      return nl_fail("%s: index %lld is out of range for %lld rows (expected 1..%lld)", op, nl_one_based(ix[i]),
                     (long long)V, (long long)V);
    }
  int64_t shape[NL_MAXDIM];
  memcpy(shape, idx->shape, sizeof(int64_t) * (size_t)idx->ndim);
  shape[idx->ndim] = Dm;
  nl_tensor *wc = nn_contig(weight), *y = nl_empty(idx->ndim + 1, shape, weight->dtype, nl_cpu());
  if (wc && y) {
    size_t es = nl_dtype_size(weight->dtype), row = es * (size_t)Dm;
    for (int64_t i = 0; i < n; i++) memcpy((char *)nl_data(y) + (size_t)i * row, (char *)nl_data(wc) + (size_t)ix[i] * row, row);
  } else {
    nl_tensor_free(y);
    y = NULL;
  }
  nl_tensor_free(ic), nl_tensor_free(wc);
  return y;
}

nl_tensor *nl_embedding_backward(const nl_tensor *gy, const nl_tensor *idx, int64_t V, int64_t padding_idx) {
  if (nn_dev(gy) || nn_dev(idx)) return nn_dev_embedding_backward(gy, idx, V, padding_idx);
  const char *op = "embedding_backward";
  if (nn_check_float(op, "grad_output", gy) || nn_check_long(op, "indices", idx)) return NULL;
  int ok = gy->ndim == idx->ndim + 1;
  for (int i = 0; ok && i < idx->ndim; i++) ok = gy->shape[i] == idx->shape[i];
  if (!ok) return nl_fail("%s: grad_output %s does not match indices %s", op, SHP(gy), SHP(idx));
  if (V < 0) return nl_fail("%s: num_weights must be non-negative, got %lld", op, (long long)V);
  if (padding_idx >= V) return nl_fail("%s: padding_idx %lld is out of range for %lld rows", op, (long long)padding_idx + 1, (long long)V);
  int64_t Dm = gy->shape[gy->ndim - 1], n = nl_numel(idx), ws[2] = {V, Dm};
  nl_tensor *ic = nn_contig(idx);
  if (!ic) return NULL;
  const int64_t *ix = L64(ic);
  for (int64_t i = 0; i < n; i++)
    if (ix[i] < 0 || ix[i] >= V) {
      nl_tensor_free(ic);
      return nl_fail("%s: index %lld is out of range for %lld rows (expected 1..%lld)", op, nl_one_based(ix[i]), (long long)V, (long long)V);
    }
  nl_tensor *gd = nn_f64(gy), *gw = nl_zeros(2, ws, NL_FLOAT64, nl_cpu());
  if (gd && gw) {
    const double *g = D(gd);
    double *o = D(gw);
    for (int64_t i = 0; i < n; i++) {
      if (ix[i] == padding_idx) continue;
      for (int64_t j = 0; j < Dm; j++) o[ix[i] * Dm + j] += g[i * Dm + j];
    }
  } else {
    nl_tensor_free(gw);
    gw = NULL;
  }
  nl_tensor_free(ic), nl_tensor_free(gd);
  return nn_to(gw, gy->dtype);
}

/* The device path of one_hot (cuda/nn_pad.cu; idx validated, n > 0 or C >= 0): the indices
 * are checked on the device, which leaves the first negative one and the largest value in
 * two int64 read back with one tiny copy, so the errors are the CPU's (same order, same
 * values); the result is a gather, one thread per element. */
/* The number of classes (*C < 0: the largest value + 1) and one_hot's output shape (idx's shape,
 * then C) given the largest index mx; -1 with the error when mx is out of range. */
static int nn_one_hot_shape(const char *op, const nl_tensor *idx, int64_t mx, int64_t *C, int64_t *shape) {
  if (*C < 0) *C = mx + 1;
  if (mx >= *C)
    return nl_failc("%s: class value %lld is out of range for %lld classes (expected 1..%lld)", op, (long long)mx + 1,
                    (long long)*C, (long long)*C);
  memcpy(shape, idx->shape, sizeof(int64_t) * (size_t)idx->ndim);
  shape[idx->ndim] = *C;
  return 0;
}

static nl_tensor *nn_one_hot_dev(const char *op, const nl_tensor *idx, int64_t n, int64_t C) {
  nl_device dev = nl_device_of(idx);
  nl_tensor *ic = nn_contig(idx);
  if (!ic) return NULL;
  int64_t first = n, mx = -1, two = 2;
  if (n > 0) {
    nl_tensor *h = nl_empty(1, &two, NL_INT64, nl_cpu()), *f = NULL, *hf = NULL;
    if (h) L64(h)[0] = n, L64(h)[1] = -1, f = nl_to_device(h, dev);
    nl_nn_kargs k = {0};
    k.out = f, k.in[0] = ic, k.nrm.R = n;
    if (f && !nl_nn_run(NL_NN_ONE_HOT_CHECK, &k, op)) hf = nl_to_device(f, nl_cpu());
    nl_tensor_free(h), nl_tensor_free(f);
    if (!hf) {
      nl_tensor_free(ic);
      return NULL;
    }
    first = L64(hf)[0], mx = L64(hf)[1];
    nl_tensor_free(hf);
  }
  if (first < n) {
    int64_t v = nn_elem_i64_dev(ic, n, first);
    nl_tensor_free(ic);
    return nl_fail("%s: class values must be non-negative (1-based: at least 1), got %lld", op, nl_one_based(v));
  }
  int64_t shape[NL_MAXDIM];
  if (nn_one_hot_shape(op, idx, mx, &C, shape)) {
    nl_tensor_free(ic);
    return NULL;
  }
  nl_tensor *y = nl_empty(idx->ndim + 1, shape, NL_INT64, dev);
  nl_nn_kargs k = {0};
  k.out = y, k.in[0] = ic, k.nrm.R = n, k.nrm.C = C;
  if (y && nl_nn_run(NL_NN_ONE_HOT, &k, op)) {
    nl_tensor_free(y);
    y = NULL;
  }
  nl_tensor_free(ic);
  return y;
}

static nl_tensor *nn_one_hot(const nl_tensor *idx, int64_t C) {
  const char *op = "one_hot";
  if (nn_check_long(op, "indices", idx)) return NULL;
  if (idx->ndim + 1 > NL_MAXDIM) return nl_fail("%s: indices %s have too many dims", op, SHP(idx));
  int64_t n = nl_numel(idx);
  if (C < 0 && n == 0) return nl_fail("%s: cannot infer the number of classes from an empty tensor", op);
  if (nn_dev(idx)) return nn_one_hot_dev(op, idx, n, C);
  nl_tensor *ic = nn_contig(idx);
  if (!ic) return NULL;
  const int64_t *ix = L64(ic);
  int64_t mx = -1;
  for (int64_t i = 0; i < n; i++) {
    if (ix[i] < 0) {
      int64_t bad = ix[i]; /* read before ic (which may own these values) is freed */
      nl_tensor_free(ic);
      return nl_fail("%s: class values must be non-negative (1-based: at least 1), got %lld", op, nl_one_based(bad));
    }
    mx = ix[i] > mx ? ix[i] : mx;
  }
  int64_t shape[NL_MAXDIM];
  if (nn_one_hot_shape(op, idx, mx, &C, shape)) {
    nl_tensor_free(ic);
    return NULL;
  }
  nl_tensor *y = nl_zeros(idx->ndim + 1, shape, NL_INT64, nl_cpu());
  if (y)
    for (int64_t i = 0; i < n; i++) L64(y)[i * C + ix[i]] = 1;
  nl_tensor_free(ic);
  return y;
}

nl_tensor *nl_one_hot(const nl_tensor *idx, int64_t C) { NN_DEVICE_SCOPE(nl_tensor *, nn_one_hot(idx, C)); }

/* ---- pad ---------------------------------------------------------------------------------- */
static int nn_pad_check(const char *op, const nl_tensor *x, int npad, const int64_t *pads, int mode, int64_t *oshape) {
  if (npad % 2 || npad / 2 > x->ndim)
    return nl_failc("%s: padding length %d must be even and at most 2 * dims of input %s", op, npad, SHP(x));
  if (mode < NL_PAD_CONSTANT || mode > NL_PAD_CIRCULAR) return nl_failc("%s: unknown mode %d", op, mode);
  _Static_assert((int)NL_PAD_CONSTANT == (int)NL_NN_PAD_CONSTANT && (int)NL_PAD_REFLECT == (int)NL_NN_PAD_REFLECT &&
                     (int)NL_PAD_REPLICATE == (int)NL_NN_PAD_REPLICATE && (int)NL_PAD_CIRCULAR == (int)NL_NN_PAD_CIRCULAR,
                 "nl_nn_pad.h restates nl_nn.h's pad modes");
  for (int i = 0; i < x->ndim; i++) oshape[i] = x->shape[i];
  for (int k = 0; k < npad / 2; k++) {
    int d = x->ndim - 1 - k;
    int64_t lo = pads[2 * k], hi = pads[2 * k + 1], n = x->shape[d];
    /* |pad| <= 2^40 keeps n + lo + hi from overflowing int64; the size check is nl_empty's */
    if (lo > ((int64_t)1 << 40) || lo < -((int64_t)1 << 40) || hi > ((int64_t)1 << 40) || hi < -((int64_t)1 << 40))
      return nl_failc("%s: padding (%lld, %lld) for dim %d of input %s is too large", op, (long long)lo,
                      (long long)hi, d + 1, SHP(x));
    if (mode != NL_PAD_CONSTANT) {
      if (lo < 0 || hi < 0) return nl_failc("%s: negative padding is only supported in constant mode", op);
      if (mode == NL_PAD_REFLECT && (lo >= n || hi >= n))
        return nl_failc("%s: padding (%lld, %lld) should be less than the size %lld of dim %d of input %s (reflect)", op,
                        (long long)lo, (long long)hi, (long long)n, d + 1, SHP(x));
      if (mode == NL_PAD_CIRCULAR && (lo > n || hi > n))
        return nl_failc("%s: padding (%lld, %lld) should be at most the size %lld of dim %d of input %s (circular: one wrap)",
                        op, (long long)lo, (long long)hi, (long long)n, d + 1, SHP(x));
      if (mode == NL_PAD_REPLICATE && n == 0 && lo + hi > 0)
        return nl_failc("%s: cannot replicate-pad the empty dim %d of input %s", op, d + 1, SHP(x));
    }
    oshape[d] = n + lo + hi;
    if (oshape[d] < 0)
      return nl_failc("%s: padding (%lld, %lld) makes dim %d of input %s negative", op, (long long)lo, (long long)hi, d + 1, SHP(x));
  }
  return 0;
}

/* The device path of pad (cuda/nn_pad.cu): gathers in x's dtype (float32/float64; other
 * dtypes through float64, as the CPU's buffers), the backward included (nl_nn_pad.h). */
static nl_tensor *nn_pad_dev(const char *op, const nl_tensor *x, const nl_tensor *gy, const nl_nn_pad *g, int mode,
                             double value) {
  const nl_tensor *src = gy ? gy : x;
  nl_dtype dt = src->dtype, kt = dt == NL_FLOAT32 || dt == NL_FLOAT64 ? dt : NL_FLOAT64;
  nl_tensor *in = nl_to_dtype((nl_tensor *)src, kt), *c = in ? nl_contiguous(in) : NULL;
  nl_tensor_free(in);
  nl_tensor *out = c ? nl_empty(g->nd, gy ? g->ish : g->osh, kt, nl_device_of(x)) : NULL;
  nl_nn_kargs a = {0};
  a.out = out, a.in[0] = c, a.pad = *g, a.kind = mode, a.sc[0] = value;
  if (out && nl_nn_run(gy ? NL_NN_PAD_BWD : NL_NN_PAD, &a, op)) {
    nl_tensor_free(out);
    out = NULL;
  }
  nl_tensor_free(c);
  return kt == dt ? out : nn_to(out, dt);
}

static nl_tensor *nn_pad(const char *op, const nl_tensor *x, const nl_tensor *gy, int npad, const int64_t *pads,
                         int mode, double value) {
  int64_t osh[NL_MAXDIM], lo[NL_MAXDIM] = {0};
  if (nn_pad_check(op, x, npad, pads, mode, osh)) return NULL;
  for (int k = 0; k < npad / 2; k++) lo[x->ndim - 1 - k] = pads[2 * k];
  if (gy) {
    if (!nl_device_eq(nl_device_of(gy), nl_device_of(x))) return nl_fail("%s: expected grad_output on the same device as input", op);
    int ok = gy->ndim == x->ndim && nl_dtype_is_float(gy->dtype);
    for (int i = 0; ok && i < x->ndim; i++) ok = gy->shape[i] == osh[i];
    if (!ok) return nl_fail("%s: expected a float grad_output of shape %s, got %s", op, nl_shape_str(x->ndim, osh, (char[160]){0}, 160), SHP(gy));
  }
  if (nn_dev(x)) {
    nl_nn_pad g = {x->ndim, {0}, {0}, {0}};
    for (int i = 0; i < x->ndim; i++) g.ish[i] = x->shape[i], g.osh[i] = osh[i], g.lo[i] = lo[i];
    return nn_pad_dev(op, x, gy, &g, mode, value);
  }
  nl_tensor *in = nn_f64(gy ? gy : x);
  nl_tensor *out = gy ? nl_zeros(x->ndim, x->shape, NL_FLOAT64, nl_cpu()) : nl_empty(x->ndim, osh, NL_FLOAT64, nl_cpu());
  if (!in || !out) {
    nl_tensor_free(in), nl_tensor_free(out);
    return NULL;
  }
  int64_t n = 1;
  for (int i = 0; i < x->ndim; i++) n *= osh[i];
  const double *s = D(in);
  double *o = D(out);
  for (int64_t i = 0; i < n; i++) {
    int64_t k = nl_nn_pad_src(i, x->ndim, x->shape, osh, lo, mode);
    if (gy) {
      if (k >= 0) o[k] += s[i];
    } else {
      o[i] = k >= 0 ? s[k] : value;
    }
  }
  nl_tensor_free(in);
  return nn_to(out, gy ? gy->dtype : x->dtype);
}

nl_tensor *nl_pad(const nl_tensor *x, int npad, const int64_t *pads, int mode, double value) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_pad("pad", x, NULL, npad, pads, mode, value));
}
nl_tensor *nl_pad_backward(const nl_tensor *gy, const nl_tensor *x, int npad, const int64_t *pads, int mode) {
  NN_DEVICE_SCOPE(nl_tensor *, nn_pad("pad_backward", x, gy, npad, pads, mode, 0));
}
