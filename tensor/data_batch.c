/* data_batch.c: batched gather + built-in transforms, and the worker-thread epoch. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_batch.h"

/* The shape of a sample while it flows through the transforms. */
typedef struct { int u8; int has_c; int64_t c, h, w; } nl_sshape;

static int nl_sample_shape(const nl_pipeline *p, nl_sshape *s) {
  const nl_tensor *t = p->src[p->tsrc];
  char sh[128];
  if ((t->ndim != 3 && t->ndim != 4) || (t->dtype != NL_UINT8 && t->dtype != NL_FLOAT32))
    return nl_failc("transforms: batched transforms need uint8 or float32 samples of shape (H, W) or (C, H, W), got %s %s",
                    nl_dtype_name(t->dtype), nl_shape_str(t->ndim - 1, t->shape + 1, sh, sizeof sh));
  s->u8 = t->dtype == NL_UINT8;
  s->has_c = t->ndim == 4;
  s->c = s->has_c ? t->shape[1] : 1;
  s->h = t->shape[t->ndim - 2];
  s->w = t->shape[t->ndim - 1];
  return 0;
}

int nl_pipeline_check(const nl_pipeline *p) {
  if (p->tsrc < 0 || p->ntf == 0) return 0;
  nl_sshape s;
  if (nl_sample_shape(p, &s) < 0) return -1;
  for (int i = 0; i < p->ntf; i++) {
    const nl_tf *tf = &p->tf[i];
    switch (tf->kind) {
    case NL_TF_CROP:
      if (tf->h > s.h + 2 * tf->pad || tf->w > s.w + 2 * tf->pad)
        return nl_failc("RandomCrop: required crop size (%lld, %lld) is larger than the (padded) input image size (%lld, %lld)",
                        (long long)tf->h, (long long)tf->w, (long long)(s.h + 2 * tf->pad), (long long)(s.w + 2 * tf->pad));
      s.h = tf->h; s.w = tf->w;
      break;
    case NL_TF_FLIP: break;
    case NL_TF_TOTENSOR: s.u8 = 0; s.has_c = 1; break;
    case NL_TF_NORMALIZE:
      if (s.u8) return nl_failc("Normalize: expected a float tensor, got uint8 (put ToTensor first)");
      if ((tf->nmean != 1 && tf->nmean != s.c) || (tf->nstd != 1 && tf->nstd != s.c))
        return nl_failc("Normalize: %d means and %d stds for %lld channels", tf->nmean, tf->nstd, (long long)s.c);
      for (int c = 0; c < tf->nstd; c++)
        if (tf->std[c] == 0) return nl_failc("Normalize: std evaluated to zero after conversion, leading to division by zero");
      break;
    }
  }
  return 0;
}

/* Transforms one batch buffer of n samples in place or into a new buffer (*buf updated). */
static int nl_apply(const nl_pipeline *p, int64_t n, uint64_t seed, void **buf, nl_sshape *s) {
  uint64_t rng = seed;
  for (int i = 0; i < p->ntf; i++) {
    const nl_tf *tf = &p->tf[i];
    size_t es = s->u8 ? 1 : 4;
    if (tf->kind == NL_TF_CROP) {
      /* (n, C, H, W) -> (n, C, h, w); pixels from outside the input are 0 (zero padding) */
      int64_t H = s->h, W = s->w, h = tf->h, w = tf->w, pad = tf->pad;
      uint8_t *out = calloc((size_t)(n * s->c * h * w), es), *in = *buf;
      if (!out) return nl_failc("RandomCrop: out of memory");
      for (int64_t b = 0; b < n; b++) {
        int64_t top = nl_sm_below(&rng, H + 2 * pad - h + 1) - pad;
        int64_t left = nl_sm_below(&rng, W + 2 * pad - w + 1) - pad;
        for (int64_t c = 0; c < s->c; c++)
          for (int64_t y = 0; y < h; y++) {
            int64_t sy = top + y;
            if (sy < 0 || sy >= H) continue;
            int64_t x0 = left < 0 ? -left : 0, x1 = left + w > W ? W - left : w;
            if (x1 <= x0) continue;
            memcpy(out + (((b * s->c + c) * h + y) * w + x0) * es,
                   in + (((b * s->c + c) * H + sy) * W + left + x0) * es, (size_t)(x1 - x0) * es);
          }
      }
      free(in);
      *buf = out; s->h = h; s->w = w;
    } else if (tf->kind == NL_TF_FLIP) {
      uint8_t *d = *buf, tmp[4];
      for (int64_t b = 0; b < n; b++) {
        if (!(nl_sm_uniform(&rng) < tf->p)) continue;
        for (int64_t r = 0; r < s->c * s->h; r++) {
          uint8_t *row = d + ((b * s->c * s->h) + r) * s->w * es;
          for (int64_t x = 0, y = s->w - 1; x < y; x++, y--) {
            memcpy(tmp, row + x * es, es); memcpy(row + x * es, row + y * es, es); memcpy(row + y * es, tmp, es);
          }
        }
      }
    } else if (tf->kind == NL_TF_TOTENSOR) {
      if (s->u8) {
        size_t m = (size_t)(n * s->c * s->h * s->w);
        float *out = malloc(m * sizeof(float));
        const uint8_t *in = *buf;
        if (!out) return nl_failc("ToTensor: out of memory");
        for (size_t k = 0; k < m; k++) out[k] = (float)in[k] / 255.0f;
        free(*buf);
        *buf = out;
      }
      s->u8 = 0; s->has_c = 1;
    } else { /* normalize: (x - mean[c]) / std[c] in float32 like PyTorch's sub_/div_ */
      float *d = *buf;
      int64_t plane = s->h * s->w;
      for (int64_t b = 0; b < n; b++)
        for (int64_t c = 0; c < s->c; c++) {
          float m = (float)tf->mean[tf->nmean == 1 ? 0 : c], sd = (float)tf->std[tf->nstd == 1 ? 0 : c];
          float *q = d + (b * s->c + c) * plane;
          for (int64_t k = 0; k < plane; k++) q[k] = (q[k] - m) / sd;
        }
    }
  }
  return 0;
}

static void nl_free_blob(void *data, void *ctx) { (void)ctx; free(data); }

static _Atomic int64_t nl_batch_fault = -1;
void nl_batch_set_fault(int64_t sample) { atomic_store(&nl_batch_fault, sample < -1 ? -1 : sample); }

int nl_pipeline_batch(const nl_pipeline *p, const int64_t *idx, int64_t n, uint64_t seed, nl_tensor **out) {
  for (int s = 0; s < p->nsrc; s++) out[s] = NULL;
  int64_t N = p->src[0]->shape[0];
  for (int64_t k = 0; k < n; k++)
    if (idx[k] < 0 || idx[k] >= N)
      return nl_failc("DataLoader: index %lld out of range for a dataset of %lld samples", nl_one_based(idx[k]), (long long)N);
  int64_t fault = atomic_load(&nl_batch_fault);
  if (fault >= 0)
    for (int64_t k = 0; k < n; k++)
      if (idx[k] == fault) goto oom;
  for (int s = 0; s < p->nsrc; s++) {
    const nl_tensor *src = p->src[s];
    size_t row = nl_dtype_size(src->dtype);
    for (int d = 1; d < src->ndim; d++) row *= (size_t)src->shape[d];
    uint8_t *buf = malloc(row * (size_t)n + 1);
    if (!buf) goto oom;
    const uint8_t *base = nl_data(src);
    for (int64_t k = 0; k < n; k++) memcpy(buf + row * k, base + row * idx[k], row);
    int64_t shape[NL_MAXDIM];
    int ndim = src->ndim;
    memcpy(shape, src->shape, sizeof shape);
    shape[0] = n;
    nl_dtype dt = src->dtype;
    if (s == p->tsrc && p->ntf > 0) {
      nl_sshape ss;
      void *vb = buf;
      if (nl_sample_shape(p, &ss) < 0 || nl_apply(p, n, seed, &vb, &ss) < 0) { free(vb); goto fail; }
      buf = vb;
      dt = ss.u8 ? src->dtype : NL_FLOAT32;
      ndim = ss.has_c ? 4 : 3;
      int64_t sh[4] = {n, ss.c, ss.h, ss.w};
      if (ss.has_c) memcpy(shape, sh, sizeof sh);
      else { shape[1] = ss.h; shape[2] = ss.w; }
    }
    out[s] = nl_from_blob(buf, ndim, shape, NULL, dt, nl_cpu(), nl_free_blob, NULL);
    if (!out[s]) { free(buf); goto fail; }
  }
  return 0;
oom:
  nl_fail("DataLoader: out of memory for a batch of %lld", (long long)n);
fail:
  for (int s = 0; s < p->nsrc; s++) { nl_tensor_free(out[s]); out[s] = NULL; }
  return -1;
}

/* ---- epochs in worker threads ------------------------------------------------------------ */
struct nl_epoch {
  nl_pipeline p;
  int nworkers, depth;
  int64_t nbatches, next_job, consumed;
  int64_t *idx, *off;
  uint64_t *seeds;
  nl_tensor **res;   /* nbatches * nsrc */
  char *done;        /* 0 pending, 1 ready, 2 failed */
  char err[512];
  int stop;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t th[64];
};

static void *nl_worker(void *arg) {
  nl_epoch *e = arg;
  pthread_mutex_lock(&e->mu);
  for (;;) {
    while (!e->stop && e->next_job < e->nbatches && e->next_job >= e->consumed + e->depth)
      pthread_cond_wait(&e->cv, &e->mu);
    if (e->stop || e->next_job >= e->nbatches) break;
    int64_t k = e->next_job++;
    pthread_mutex_unlock(&e->mu);
    nl_tensor *out[NL_PIPE_MAXSRC];
    int st = nl_pipeline_batch(&e->p, e->idx + e->off[k], e->off[k + 1] - e->off[k], e->seeds[k], out);
    pthread_mutex_lock(&e->mu);
    if (st < 0) {
      if (!e->err[0]) snprintf(e->err, sizeof e->err, "%s", nl_error());
      e->done[k] = 2;
    } else {
      memcpy(e->res + k * e->p.nsrc, out, sizeof(nl_tensor *) * (size_t)e->p.nsrc);
      e->done[k] = 1;
    }
    pthread_cond_broadcast(&e->cv);
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

nl_epoch *nl_epoch_start(const nl_pipeline *p, int nworkers, int depth, int64_t nbatches,
                         const int64_t *idx, const int64_t *off, const uint64_t *seeds) {
  if (nworkers < 1 || nworkers > 64) return nl_fail("DataLoader: num_workers must be in 1..64, got %d", nworkers);
  nl_epoch *e = calloc(1, sizeof *e);
  if (!e) return nl_fail("DataLoader: out of memory");
  e->p = *p;
  e->nworkers = 0;
  e->depth = depth < 1 ? 1 : depth;
  e->nbatches = nbatches;
  int64_t nidx = off[nbatches];
  e->idx = malloc(sizeof(int64_t) * (size_t)(nidx + 1));
  e->off = malloc(sizeof(int64_t) * (size_t)(nbatches + 1));
  e->seeds = malloc(sizeof(uint64_t) * (size_t)(nbatches + 1));
  e->res = calloc((size_t)(nbatches * p->nsrc + 1), sizeof(nl_tensor *));
  e->done = calloc((size_t)nbatches + 1, 1);
  if (!e->idx || !e->off || !e->seeds || !e->res || !e->done) {
    free(e->idx); free(e->off); free(e->seeds); free(e->res); free(e->done); free(e);
    return nl_fail("DataLoader: out of memory");
  }
  memcpy(e->idx, idx, sizeof(int64_t) * (size_t)nidx);
  memcpy(e->off, off, sizeof(int64_t) * (size_t)(nbatches + 1));
  memcpy(e->seeds, seeds, sizeof(uint64_t) * (size_t)nbatches);
  for (int s = 0; s < p->nsrc; s++) nl_tensor_retain(e->p.src[s]);
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cv, NULL);
  for (int i = 0; i < nworkers; i++) {
    if (pthread_create(&e->th[i], NULL, nl_worker, e) != 0) break;
    e->nworkers++;
  }
  if (e->nworkers == 0) { nl_epoch_free(e); return nl_fail("DataLoader: cannot start worker threads"); }
  return e;
}

int nl_epoch_next(nl_epoch *e, nl_tensor **out) {
  pthread_mutex_lock(&e->mu);
  int64_t k = e->consumed;
  if (k >= e->nbatches) { pthread_mutex_unlock(&e->mu); return 0; }
  while (!e->done[k]) pthread_cond_wait(&e->cv, &e->mu);
  int st = 1;
  if (e->done[k] == 2) {
    nl_fail("%s", e->err);
    st = -1;
  } else {
    memcpy(out, e->res + k * e->p.nsrc, sizeof(nl_tensor *) * (size_t)e->p.nsrc);
    memset(e->res + k * e->p.nsrc, 0, sizeof(nl_tensor *) * (size_t)e->p.nsrc);
    e->consumed++;
  }
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  return st;
}

void nl_epoch_free(nl_epoch *e) {
  if (!e) return;
  pthread_mutex_lock(&e->mu);
  e->stop = 1;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  for (int i = 0; i < e->nworkers; i++) pthread_join(e->th[i], NULL);
  for (int64_t k = 0; k < e->nbatches * e->p.nsrc; k++) nl_tensor_free(e->res[k]);
  for (int s = 0; s < e->p.nsrc; s++) nl_tensor_free(e->p.src[s]);
  pthread_mutex_destroy(&e->mu);
  pthread_cond_destroy(&e->cv);
  free(e->idx); free(e->off); free(e->seeds); free(e->res); free(e->done);
  free(e);
}
