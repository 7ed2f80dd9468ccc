/* nl_tensor.h: the C tensor library's public types and API (no Lua here).
 *
 * A tensor is a strided view over a refcounted storage. Views (transpose, narrow, select,
 * view, expand, ...) share the storage and only change offset/shape/stride. Every function
 * that can fail returns NULL (or a negative status) and leaves a message in nl_error(); it
 * checks all of its arguments before allocating anything, so a failed call leaks nothing.
 * Kernels (tensor/cpu, cuda/) never fail: the front ends validate for them.
 *
 * Reference counting: functions returning nl_tensor* return a NEW reference that the caller
 * owns and must nl_tensor_free(). Arguments are borrowed.
 */
#ifndef NL_TENSOR_H
#define NL_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NL_MAXDIM 8

/* Keep this order: type promotion (nl_promote) ranks float > int > bool by category. */
typedef enum nl_dtype {
  NL_FLOAT32 = 0,
  NL_FLOAT64,
  NL_INT64,
  NL_INT32,
  NL_UINT8,
  NL_BOOL,
  NL_FLOAT16,  /* CUDA only */
  NL_BFLOAT16, /* CUDA only */
  NL_NDTYPES
} nl_dtype;

typedef enum nl_devtype { NL_CPU = 0, NL_CUDA = 1 } nl_devtype;

typedef struct nl_device {
  nl_devtype type;
  int index; /* CUDA ordinal; 0 on CPU */
} nl_device;

/* A release callback for storages that wrap memory nnlua did not allocate. */
typedef void (*nl_release_fn)(void *data, void *ctx);

typedef struct nl_storage {
  int refcount;
  void *data;
  size_t nbytes;
  nl_device device;
  /* Bumped by every in-place write through any view: autograd compares it with the value
   * recorded when a tensor was saved for backward. */
  uint64_t version;
  bool external;         /* wraps caller memory (nl_storage_wrap): never freed by nnlua */
  nl_release_fn release; /* external only: called with (data, release_ctx) at the end */
  void *release_ctx;
} nl_storage;

struct nl_node; /* autograd/ */

typedef struct nl_tensor {
  int refcount;
  nl_storage *storage;
  int64_t offset; /* in elements */
  int ndim;
  int64_t shape[NL_MAXDIM];
  int64_t stride[NL_MAXDIM]; /* in elements; 0 for broadcast (expanded) dims */
  nl_dtype dtype;
  bool is_view;
  /* autograd (see autograd/): grad_fn == NULL and requires_grad => leaf */
  bool requires_grad;
  bool retains_grad;
  struct nl_tensor *grad;
  struct nl_node *grad_fn;
  int output_nr; /* which output of grad_fn this tensor is */
  int lua_slot;  /* vm/ltensor.c: index of its userdata in the Lua cache table, or 0 */
  void *ag_meta; /* autograd/: struct nl_ag_meta (grad accumulator, hooks), or NULL */
} nl_tensor;

/* ---- errors ---------------------------------------------------------------------------- */
/* The message of the last failure in this thread ("matmul: cannot multiply ..."). */
const char *nl_error(void);
/* Sets the message (printf-style) and returns NULL, so `return nl_fail(...)` works. */
void *nl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, returning -1 for status-returning functions. */
int nl_failc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- dtypes and devices ---------------------------------------------------------------- */
const char *nl_dtype_name(nl_dtype dt);          /* "float32" */
int nl_dtype_from_name(const char *name);        /* -1 when unknown; accepts "float", "long" ... */
/* element sizes in nl_dtype order (dtype.c checks the order); inline: every kernel set-up asks */
static const unsigned char nl_dtype_sizes[NL_NDTYPES] = {4, 8, 8, 4, 1, 1, 2, 2};
static inline size_t nl_dtype_size(nl_dtype dt) { return nl_dtype_sizes[dt]; }
bool nl_dtype_is_float(nl_dtype dt);
bool nl_dtype_is_int(nl_dtype dt);               /* int64 int32 uint8 (not bool) */
nl_dtype nl_promote(nl_dtype a, nl_dtype b);     /* PyTorch's promote_types */
nl_dtype nl_default_dtype(void);
void nl_set_default_dtype(nl_dtype dt);
/* "cpu", "cuda", "cuda:1" -> device; -1 with nl_error() on a bad string. */
int nl_device_parse(const char *s, nl_device *out);
void nl_device_name(nl_device d, char *buf, size_t n); /* "cpu", "cuda:0" */
bool nl_device_eq(nl_device a, nl_device b);
/* The 1-based value a Lua user wrote for a 0-based index, for error messages. The Lua side
 * subtracted 1 with int64 wrap-around (math.mininteger - 1 is math.maxinteger), so adding 1
 * back wraps the same way instead of overflowing. */
static inline long long nl_one_based(int64_t zero_based) { return (long long)(int64_t)((uint64_t)zero_based + 1u); }
static inline nl_device nl_cpu(void) { nl_device d = {NL_CPU, 0}; return d; }
/* Where the creation functions (torch.zeros, tensor, rand, ... without device=) put their
 * tensors: the CPU unless torch.set_default_device chose another. Process-wide, like the
 * default dtype; the caller checks that the device exists. */
nl_device nl_default_device(void);
void nl_set_default_device(nl_device d);

/* ---- storage and memory ---------------------------------------------------------------- */
nl_storage *nl_storage_new(size_t nbytes, nl_device dev);
/* Wraps caller-owned memory (no copy). release(data, ctx) runs when the last view dies. */
nl_storage *nl_storage_wrap(void *data, size_t nbytes, nl_device dev, nl_release_fn release,
                            void *ctx);
void nl_storage_retain(nl_storage *s);
void nl_storage_release(nl_storage *s);
/* Bytes of tensor memory currently allocated by nnlua on the CPU (for the Lua GC policy). */
size_t nl_cpu_bytes_in_use(void);

/* ---- construction ---------------------------------------------------------------------- */
/* Contiguous, uninitialised. shape may be NULL when ndim == 0 (a scalar). */
nl_tensor *nl_empty(int ndim, const int64_t *shape, nl_dtype dt, nl_device dev);
nl_tensor *nl_zeros(int ndim, const int64_t *shape, nl_dtype dt, nl_device dev);
nl_tensor *nl_full(int ndim, const int64_t *shape, double v, nl_dtype dt, nl_device dev);
nl_tensor *nl_empty_like(const nl_tensor *t);
/* A scalar (0-d) tensor holding v. */
nl_tensor *nl_scalar(double v, nl_dtype dt, nl_device dev);
/* Wraps an existing buffer without copying. strides NULL means contiguous. */
nl_tensor *nl_from_blob(void *data, int ndim, const int64_t *shape, const int64_t *strides,
                        nl_dtype dt, nl_device dev, nl_release_fn release, void *ctx);
/* A new tensor header over t's storage (refcount +1 on the storage). */
nl_tensor *nl_view_of(const nl_tensor *t, int ndim, const int64_t *shape,
                      const int64_t *stride, int64_t offset);

void nl_tensor_retain(nl_tensor *t);
void nl_tensor_free(nl_tensor *t); /* drops one reference; NULL is fine */

/* ---- inspection ------------------------------------------------------------------------ */
/* inline (hot: several calls per op) */
static inline int64_t nl_numel(const nl_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}
static inline bool nl_is_contiguous(const nl_tensor *t) {
  int64_t st = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != st) return false;
    st *= t->shape[i];
  }
  return true;
}
static inline nl_device nl_device_of(const nl_tensor *t) { return t->storage->device; }
/* Pointer to element 0 of the view (data + offset * element size). CPU or device memory. */
static inline void *nl_data(const nl_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)nl_dtype_size(t->dtype);
}
/* "[2, 3]" into buf; returns buf. */
char *nl_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);
/* Records an in-place write through t (bumps the shared version counter). */
static inline void nl_bump_version(nl_tensor *t) { t->storage->version++; }

/* Reads element at flat (row-major, logical) index i as double; CPU only, for printing,
 * item() and tests. */
double nl_get_flat(const nl_tensor *t, int64_t i);
int64_t nl_get_flat_i64(const nl_tensor *t, int64_t i);

#ifdef __cplusplus
}
#endif
#endif
