/* data_batch.h: the DataLoader's C fast path. A pipeline gathers samples by index from
 * contiguous CPU source tensors (first dim = samples) into new batch tensors and applies the
 * built-in transforms (RandomCrop, RandomHorizontalFlip, ToTensor, Normalize) to one source,
 * on the whole batch. An epoch runs batches in worker threads (pthreads) ahead of the
 * consumer, bounded by a queue depth, and hands them back in order.
 *
 * Randomness: each batch gets a 64-bit seed from the caller; a splitmix64 stream from that
 * seed drives its random transforms, so a batch is the same whichever thread makes it. */
#ifndef NL_DATA_BATCH_H
#define NL_DATA_BATCH_H
#include "nl_tensor.h"

#define NL_PIPE_MAXSRC 8
#define NL_PIPE_MAXTF 16
#define NL_PIPE_MAXCH 16

typedef enum { NL_TF_CROP, NL_TF_FLIP, NL_TF_TOTENSOR, NL_TF_NORMALIZE } nl_tf_kind;

typedef struct nl_tf {
  nl_tf_kind kind;
  int64_t h, w, pad; /* crop: output size and zero padding on each side */
  double p;          /* flip probability */
  int nmean, nstd;   /* normalize: 1 (broadcast) or C values */
  double mean[NL_PIPE_MAXCH], std[NL_PIPE_MAXCH];
} nl_tf;

typedef struct nl_pipeline {
  int nsrc;
  nl_tensor *src[NL_PIPE_MAXSRC]; /* contiguous CPU; the pipeline holds a reference */
  int tsrc;                       /* index of the transformed source, -1 for none */
  int ntf;
  nl_tf tf[NL_PIPE_MAXTF];
} nl_pipeline;

/* Checks the transforms against the sample shape of src[tsrc] (ndim 2 (H, W) or 3 (C, H, W),
 * uint8 or float32). 0 or -1 with nl_error() naming the transform and shapes. */
int nl_pipeline_check(const nl_pipeline *p);
/* One batch of n samples (0-based indices, checked against dim 0): out[s] gets a new tensor
 * per source. Thread-safe (reads the sources only). */
int nl_pipeline_batch(const nl_pipeline *p, const int64_t *idx, int64_t n, uint64_t seed, nl_tensor **out);
/* Test hook (data._C._batch_fault): from now on, a batch that holds dataset sample `sample`
 * (0-based; -1 turns it off) fails on whichever thread gathers it, exactly as when its buffer
 * cannot be allocated ("DataLoader: out of memory for a batch of N"). Lets the specs prove
 * that worker-thread failures come back to Lua as errors. */
void nl_batch_set_fault(int64_t sample);

typedef struct nl_epoch nl_epoch;
/* Batch k covers idx[off[k] .. off[k+1]) with seed seeds[k]. Arrays are copied. The epoch
 * retains the pipeline's sources; nworkers >= 1 threads keep at most depth batches ready. */
nl_epoch *nl_epoch_start(const nl_pipeline *p, int nworkers, int depth, int64_t nbatches,
                         const int64_t *idx, const int64_t *off, const uint64_t *seeds);
/* The next batch into out[0 .. nsrc): 1, 0 at the end, -1 with nl_error() when a worker failed. */
int nl_epoch_next(nl_epoch *e, nl_tensor **out);
/* Stops and joins the workers, frees batches not taken. */
void nl_epoch_free(nl_epoch *e);

/* splitmix64 step (also the DataLoader generator's core). */
static inline uint64_t nl_splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
/* Uniform double in [0, 1) and integer in [0, n). */
static inline double nl_sm_uniform(uint64_t *s) { return (double)(nl_splitmix64(s) >> 11) * 0x1.0p-53; }
static inline int64_t nl_sm_below(uint64_t *s, int64_t n) { return (int64_t)(nl_sm_uniform(s) * (double)n); }
#endif
