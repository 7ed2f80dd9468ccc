/* io_safetensors.c: torch.save / torch.load's file format.
 *
 * Layout (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
 * N bytes of JSON header (padded with spaces so N % 8 == 0, like the reference writer), then
 * the raw little-endian tensor bytes, contiguous, in header order:
 *   {"__metadata__": {"format": "pt", ..., "nnlua.crc32": "{\"name\": \"1a2b3c4d\"}",
 *                     "nnlua.header_crc32": "5e6f7a8b"},
 *    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
 * nnlua.crc32 holds each tensor's CRC32; nnlua.header_crc32 is the CRC32 of the N header
 * bytes with its own 8 hex digits read as "00000000". Python readers ignore both.
 * Load validates everything (sizes, JSON, dtypes, shapes, offsets, checksums) before it
 * allocates a tensor, and reports "torch.load: <path>: <problem>". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nl_io.h"
#include "nl_ops.h"

#define NL_ST_MAX_HEADER (100u << 20)

/* ---- dtypes ------------------------------------------------------------------------------ */
/* File dtypes: the six nnlua CPU dtypes, the CUDA half types, and integer types that load
 * into the nearest wider nnlua dtype. */
typedef enum { ST_F32, ST_F64, ST_I64, ST_I32, ST_U8, ST_BOOL, ST_F16, ST_BF16, ST_I8, ST_I16,
               ST_U16, ST_U32, ST_U64, ST_N } nl_stdt;
static const char *const nl_st_names[ST_N] = {"F32", "F64", "I64", "I32", "U8", "BOOL", "F16",
                                               "BF16", "I8", "I16", "U16", "U32", "U64"};
static const int nl_st_size[ST_N] = {4, 8, 8, 4, 1, 1, 2, 2, 1, 2, 2, 4, 8};
/* nnlua dtype a file dtype loads as (on the CPU; F16/BF16 become float32 there) */
static const nl_dtype nl_st_load[ST_N] = {NL_FLOAT32, NL_FLOAT64, NL_INT64, NL_INT32, NL_UINT8,
                                          NL_BOOL, NL_FLOAT32, NL_FLOAT32, NL_INT32, NL_INT32,
                                          NL_INT32, NL_INT64, NL_INT64};
static const char *const nl_st_pretty[ST_N] = {"float32", "float64", "int64", "int32", "uint8",
                                                "bool", "float16", "bfloat16", "int8", "int16",
                                                "uint16", "uint32", "uint64"};

static int nl_st_from_dtype(nl_dtype dt) { return (int)dt; /* the first 8 match nl_dtype */ }

static float nl_half_to_float(uint16_t h) {
  uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1F, m = h & 0x3FF, bits;
  if (e == 0) {
    if (m == 0) bits = s;
    else { /* subnormal: normalise */
      e = 113;
      while (!(m & 0x400)) { m <<= 1; e--; }
      bits = s | (e << 23) | ((m & 0x3FF) << 13);
    }
  } else if (e == 31) bits = s | 0x7F800000u | (m << 13);
  else bits = s | ((e + 112) << 23) | (m << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* float32 -> float16 bits, round to nearest even (exact for values that came from float16). */
static uint16_t nl_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t s = (x >> 16) & 0x8000, e = (x >> 23) & 0xFF, m = x & 0x7FFFFF;
  if (e == 0xFF) return (uint16_t)(s | 0x7C00 | (m ? 0x200 : 0));
  int ne = (int)e - 127 + 15;
  if (ne >= 31) return (uint16_t)(s | 0x7C00);
  if (ne <= 0) {
    if (ne < -10) return (uint16_t)s;
    m |= 0x800000;
    int shift = 14 - ne;
    uint32_t hm = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (hm & 1))) hm++;
    return (uint16_t)(s | hm);
  }
  uint32_t hm = m >> 13, rem = m & 0x1FFF;
  uint32_t r = s | ((uint32_t)ne << 10) | hm;
  if (rem > 0x1000 || (rem == 0x1000 && (hm & 1))) r++;
  return (uint16_t)r;
}

static uint16_t nl_float_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((x >> 16) | 0x40);
  x += 0x7FFF + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

/* ---- save -------------------------------------------------------------------------------- */
static int nl_name_ok(const char *op, const char *name) {
  if (!nl_utf8_valid(name, strlen(name)))
    return nl_failc("%s: tensor name is not valid UTF-8", op);
  if (strcmp(name, "__metadata__") == 0)
    return nl_failc("%s: '__metadata__' is reserved and cannot name a tensor", op);
  return 0;
}

int nl_safetensors_save(const char *path, int n, const char *const *names, nl_tensor *const *ts,
                        int nmeta, const char *const *mkeys, const char *const *mvals) {
  const char *op = "torch.save";
  /* check every argument first */
  for (int i = 0; i < n; i++) {
    if (nl_name_ok(op, names[i]) < 0) return -1;
    for (int k = 0; k < i; k++)
      if (strcmp(names[i], names[k]) == 0)
        return nl_failc("%s: two tensors are both named '%s'", op, names[i]);
  }
  for (int i = 0; i < nmeta; i++) {
    if (!nl_utf8_valid(mkeys[i], strlen(mkeys[i])) || !nl_utf8_valid(mvals[i], strlen(mvals[i])))
      return nl_failc("%s: metadata '%s' is not valid UTF-8", op, mkeys[i]);
    if (!strcmp(mkeys[i], "format") || !strcmp(mkeys[i], "nnlua.crc32") || !strcmp(mkeys[i], "nnlua.header_crc32"))
      return nl_failc("%s: metadata key '%s' is reserved", op, mkeys[i]);
  }
  int rc = -1;
  nl_tensor **cpu = calloc((size_t)n + 1, sizeof *cpu);
  void **bufs = calloc((size_t)n + 1, sizeof *bufs); /* converted bytes of half tensors */
  uint64_t *beg = calloc((size_t)n + 1, sizeof *beg), *len = calloc((size_t)n + 1, sizeof *len);
  nl_buf h = {0};
  if (!cpu || !bufs || !beg || !len) { nl_fail("%s: out of memory", op); goto done; }

  /* CPU contiguous copies; half types go through float32 and are encoded here */
  uint64_t off = 0;
  for (int i = 0; i < n; i++) {
    nl_tensor *t = ts[i];
    bool half = t->dtype == NL_FLOAT16 || t->dtype == NL_BFLOAT16;
    nl_tensor *a = half ? nl_to_dtype(t, NL_FLOAT32) : (nl_tensor_retain(t), t);
    if (!a) goto done;
    nl_tensor *b = nl_to_device(a, nl_cpu());
    nl_tensor_free(a);
    if (!b) goto done;
    cpu[i] = nl_contiguous(b);
    nl_tensor_free(b);
    if (!cpu[i]) goto done;
    int64_t ne = nl_numel(cpu[i]);
    len[i] = (uint64_t)ne * (half ? 2u : nl_dtype_size(t->dtype));
    if (half) {
      uint16_t *hb = malloc(len[i] ? len[i] : 1);
      if (!hb) { nl_fail("%s: out of memory", op); goto done; }
      const float *src = nl_data(cpu[i]);
      for (int64_t k = 0; k < ne; k++)
        hb[k] = t->dtype == NL_FLOAT16 ? nl_float_to_half(src[k]) : nl_float_to_bf16(src[k]);
      bufs[i] = hb;
    }
    beg[i] = off;
    off += len[i];
  }

  /* header */
  nl_buf_puts(&h, "{\"__metadata__\":{\"format\":\"pt\"");
  for (int i = 0; i < nmeta; i++) {
    nl_buf_put(&h, ",", 1);
    nl_buf_jstr(&h, mkeys[i], strlen(mkeys[i]));
    nl_buf_put(&h, ":", 1);
    nl_buf_jstr(&h, mvals[i], strlen(mvals[i]));
  }
  {
    nl_buf c = {0};
    nl_buf_put(&c, "{", 1);
    for (int i = 0; i < n; i++) {
      const void *p = bufs[i] ? bufs[i] : nl_data(cpu[i]);
      if (i) nl_buf_put(&c, ",", 1);
      nl_buf_jstr(&c, names[i], strlen(names[i]));
      nl_buf_printf(&c, ":\"%08x\"", nl_crc32(0, p, len[i]));
    }
    nl_buf_put(&c, "}", 1);
    nl_buf_puts(&h, ",\"nnlua.crc32\":");
    nl_buf_jstr(&h, c.p, c.n);
    if (c.oom) h.oom = true;
    nl_buf_free(&c);
  }
  nl_buf_puts(&h, ",\"nnlua.header_crc32\":\"");
  size_t crcpos = h.n;
  nl_buf_puts(&h, "00000000\"}");
  for (int i = 0; i < n; i++) {
    nl_buf_put(&h, ",", 1);
    nl_buf_jstr(&h, names[i], strlen(names[i]));
    nl_buf_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", nl_st_names[nl_st_from_dtype(ts[i]->dtype)]);
    for (int d = 0; d < cpu[i]->ndim; d++)
      nl_buf_printf(&h, "%s%lld", d ? "," : "", (long long)cpu[i]->shape[d]);
    nl_buf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)beg[i],
                  (unsigned long long)(beg[i] + len[i]));
  }
  nl_buf_put(&h, "}", 1);
  while (h.n % 8) nl_buf_put(&h, " ", 1);
  if (h.oom) { nl_fail("%s: out of memory", op); goto done; }
  {
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", nl_crc32(0, h.p, h.n));
    memcpy(h.p + crcpos, hex, 8);
  }

  nl_awriter w;
  if (nl_awrite_open(&w, op, path) < 0) goto done;
  unsigned char lenb[8];
  for (int k = 0; k < 8; k++) lenb[k] = (unsigned char)((uint64_t)h.n >> (8 * k));
  if (nl_awrite(&w, lenb, 8) < 0 || nl_awrite(&w, h.p, h.n) < 0) goto done;
  for (int i = 0; i < n; i++)
    if (nl_awrite(&w, bufs[i] ? bufs[i] : nl_data(cpu[i]), len[i]) < 0) goto done;
  if (nl_awrite_commit(&w) < 0) goto done;
  rc = 0;
done:
  for (int i = 0; cpu && i < n; i++) nl_tensor_free(cpu[i]);
  for (int i = 0; bufs && i < n; i++) free(bufs[i]);
  free(cpu);
  free(bufs);
  free(beg);
  free(len);
  nl_buf_free(&h);
  return rc;
}

/* ---- load -------------------------------------------------------------------------------- */
typedef struct { const char *name; int dt; int ndim; int64_t shape[NL_MAXDIM]; uint64_t b, e;
                 int64_t numel; uint32_t crc; bool has_crc; } nl_st_entry;

static int nl_cmp_entry(const void *a, const void *b) {
  const nl_st_entry *x = *(nl_st_entry *const *)a, *y = *(nl_st_entry *const *)b;
  return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e);
}

static int nl_parse_hex8(const char *s, size_t n, uint32_t *out) {
  if (n != 8) return -1;
  uint32_t v = 0;
  for (int k = 0; k < 8; k++) {
    char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static int nl_read_at(int fd, void *p, size_t n, uint64_t off) {
  char *c = p;
  while (n > 0) {
    ssize_t r = pread(fd, c, n > (1u << 30) ? (1u << 30) : n, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    c += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return 0;
}

/* Converts n elements of file dtype dt in src into dst (nnlua dtype nl_st_load[dt]). */
static int nl_st_convert(int dt, const unsigned char *src, void *dst, int64_t n, const char *path, const char *name) {
  for (int64_t k = 0; k < n; k++) {
    const unsigned char *p = src + k * nl_st_size[dt];
    switch (dt) {
      case ST_F16: { uint16_t v; memcpy(&v, p, 2); ((float *)dst)[k] = nl_half_to_float(v); break; }
      case ST_BF16: { uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 24; float f; memcpy(&f, &v, 4); ((float *)dst)[k] = f; break; }
      case ST_I8: ((int32_t *)dst)[k] = (int8_t)p[0]; break;
      case ST_I16: { int16_t v; memcpy(&v, p, 2); ((int32_t *)dst)[k] = v; break; }
      case ST_U16: { uint16_t v; memcpy(&v, p, 2); ((int32_t *)dst)[k] = v; break; }
      case ST_U32: { uint32_t v; memcpy(&v, p, 4); ((int64_t *)dst)[k] = v; break; }
      case ST_U64: {
        uint64_t v;
        memcpy(&v, p, 8);
        if (v > (uint64_t)INT64_MAX)
          return nl_failc("torch.load: %s: tensor '%s' (uint64) holds %llu, which does not fit int64", path, name, (unsigned long long)v);
        ((int64_t *)dst)[k] = (int64_t)v;
        break;
      }
      default: break;
    }
  }
  return 0;
}

void nl_st_file_free(nl_st_file *f) {
  if (!f) return;
  for (int i = 0; i < f->n; i++) {
    free(f->names ? f->names[i] : NULL);
    nl_tensor_free(f->tensors ? f->tensors[i] : NULL);
  }
  for (int i = 0; i < f->nmeta; i++) {
    free(f->mkeys[i]);
    free(f->mvals[i]);
  }
  free(f->names);
  free(f->tensors);
  free(f->mkeys);
  free(f->mvals);
  free(f);
}

static char *nl_dupn(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) { memcpy(d, s, n); d[n] = 0; }
  return d;
}

#define FAIL(...) do { nl_fail("torch.load: %s: " __VA_ARGS__); goto done; } while (0)

nl_st_file *nl_safetensors_load(const char *path) {
  nl_st_file *res = NULL, *out = NULL;
  nl_json *hj = NULL, *cj = NULL;
  nl_st_entry *ents = NULL, **order = NULL;
  char *hdr = NULL;
  unsigned char *tmp = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nl_fail("torch.load: cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0) FAIL("%s", path, strerror(errno));
  if (!S_ISREG(st.st_mode)) FAIL("not a regular file", path);
  uint64_t fsize = (uint64_t)st.st_size;
  if (fsize < 8) FAIL("file is too small to be a safetensors file (%llu bytes, need at least 8)", path, (unsigned long long)fsize);
  unsigned char lb[8];
  if (nl_read_at(fd, lb, 8, 0) < 0) FAIL("read error: %s", path, strerror(errno ? errno : EIO));
  uint64_t hn = 0;
  for (int k = 7; k >= 0; k--) hn = hn << 8 | lb[k];
  if (hn > NL_ST_MAX_HEADER) FAIL("header length %llu is larger than the 100 MB limit (damaged file?)", path, (unsigned long long)hn);
  if (hn + 8 > fsize) FAIL("header length %llu extends beyond the end of the file (%llu bytes): truncated or damaged", path, (unsigned long long)hn, (unsigned long long)fsize);
  if (hn < 2) FAIL("header length %llu is too small for a JSON header", path, (unsigned long long)hn);
  hdr = malloc(hn);
  if (!hdr) FAIL("out of memory for the header", path);
  if (nl_read_at(fd, hdr, hn, 8) < 0) FAIL("read error: %s", path, strerror(errno ? errno : EIO));
  hj = nl_json_parse(hdr, hn);
  if (!hj) {
    char m[256];
    snprintf(m, sizeof m, "%s", nl_error());
    FAIL("header is not valid JSON (%s)", path, m);
  }
  if (hj->type != NL_JOBJ) FAIL("header is not a JSON object", path);

  /* metadata: string -> string */
  const nl_json *meta = nl_json_get(hj, "__metadata__");
  bool ours = false;
  if (meta) {
    if (meta->type != NL_JOBJ) FAIL("__metadata__ is not an object", path);
    for (int k = 0; k < meta->n; k++) {
      if (meta->items[k].type != NL_JSTR) FAIL("__metadata__ value '%s' is not a string", path, meta->keys[k]);
      if (strncmp(meta->keys[k], "nnlua.", 6) == 0) ours = true;
    }
  }
  const nl_json *crcs = NULL;
  if (ours) { /* written by nnlua: the header checksum covers every header byte */
    const nl_json *hc = nl_json_get(meta, "nnlua.header_crc32");
    uint32_t want;
    if (!hc || nl_parse_hex8(hc->s, hc->len, &want) < 0) FAIL("header checksum (nnlua.header_crc32) is missing or malformed: damaged header", path);
    memcpy(hdr + hc->pos + 1, "00000000", 8);
    uint32_t got = nl_crc32(0, hdr, hn);
    if (got != want) FAIL("header checksum mismatch (stored %08x, computed %08x): the header is damaged", path, want, got);
    const nl_json *cs = nl_json_get(meta, "nnlua.crc32");
    if (!cs) FAIL("tensor checksums (nnlua.crc32) are missing", path);
    cj = nl_json_parse(cs->s, cs->len);
    if (!cj || cj->type != NL_JOBJ) FAIL("nnlua.crc32 is not a JSON object", path);
    crcs = cj;
  }

  /* entries */
  int ne = hj->n - (meta ? 1 : 0);
  ents = calloc((size_t)ne + 1, sizeof *ents);
  order = calloc((size_t)ne + 1, sizeof *order);
  if (!ents || !order) FAIL("out of memory", path);
  int m = 0;
  for (int k = 0; k < hj->n; k++) {
    if (&hj->items[k] == meta) continue;
    nl_st_entry *e = &ents[m];
    const nl_json *v = &hj->items[k];
    const char *name = e->name = hj->keys[k];
    order[m++] = e;
    if (v->type != NL_JOBJ) FAIL("tensor '%s' is not described by a JSON object", path, name);
    const nl_json *dt = nl_json_get(v, "dtype"), *sh = nl_json_get(v, "shape"), *of = nl_json_get(v, "data_offsets");
    if (!dt || dt->type != NL_JSTR) FAIL("tensor '%s' has no dtype", path, name);
    e->dt = -1;
    for (int d = 0; d < ST_N; d++)
      if (strcmp(dt->s, nl_st_names[d]) == 0) e->dt = d;
    if (e->dt < 0) FAIL("tensor '%s' has dtype '%s', which nnlua cannot load (known: F32 F64 I64 I32 U8 BOOL F16 BF16 I8 I16 U16 U32 U64)", path, name, dt->s);
    if (!sh || sh->type != NL_JARR) FAIL("tensor '%s' has no shape", path, name);
    if (sh->n > NL_MAXDIM) FAIL("tensor '%s' has %d dims (nnlua supports at most %d)", path, name, sh->n, NL_MAXDIM);
    e->ndim = sh->n;
    uint64_t numel = 1;
    bool ovf = false;
    for (int d = 0; d < sh->n; d++) {
      const nl_json *x = &sh->items[d];
      if (x->type != NL_JNUM || !x->is_int || x->i < 0) FAIL("tensor '%s' has a bad shape (entry %d is not a non-negative integer)", path, name, d + 1);
      e->shape[d] = x->i;
      if (__builtin_mul_overflow(numel, (uint64_t)x->i, &numel)) ovf = true;
    }
    uint64_t nbytes;
    if (ovf || numel > (uint64_t)INT64_MAX || __builtin_mul_overflow(numel, (uint64_t)nl_st_size[e->dt], &nbytes))
      FAIL("tensor '%s' has a shape whose size overflows", path, name);
    e->numel = (int64_t)numel;
    if (!of || of->type != NL_JARR || of->n != 2 || of->items[0].type != NL_JNUM || !of->items[0].is_int ||
        of->items[1].type != NL_JNUM || !of->items[1].is_int || of->items[0].i < 0 || of->items[1].i < 0)
      FAIL("tensor '%s' has no valid data_offsets (expected [begin, end] with non-negative integers)", path, name);
    e->b = (uint64_t)of->items[0].i;
    e->e = (uint64_t)of->items[1].i;
    char sb[160];
    nl_shape_str(e->ndim, e->shape, sb, sizeof sb);
    if (e->e < e->b) FAIL("tensor '%s' data_offsets [%llu, %llu] end before they begin", path, name, (unsigned long long)e->b, (unsigned long long)e->e);
    if (e->e - e->b != nbytes)
      FAIL("tensor '%s' data_offsets [%llu, %llu] do not match shape %s %s (%llu bytes)", path, name,
           (unsigned long long)e->b, (unsigned long long)e->e, sb, nl_st_pretty[e->dt], (unsigned long long)nbytes);
    if (crcs) {
      const nl_json *c = nl_json_get(crcs, name);
      if (!c || c->type != NL_JSTR || nl_parse_hex8(c->s, c->len, &e->crc) < 0) FAIL("tensor '%s' has no checksum in nnlua.crc32", path, name);
      e->has_crc = true;
    }
  }
  /* offsets: sorted, contiguous from 0, ending at the end of the file */
  qsort(order, (size_t)ne, sizeof *order, nl_cmp_entry);
  uint64_t dsize = fsize - 8 - hn, pos = 0;
  for (int k = 0; k < ne; k++) {
    nl_st_entry *e = order[k];
    if (e->b < pos)
      FAIL("tensor '%s' data_offsets [%llu, %llu] overlap tensor '%s' [%llu, %llu]", path, e->name,
           (unsigned long long)e->b, (unsigned long long)e->e, order[k - 1]->name,
           (unsigned long long)order[k - 1]->b, (unsigned long long)order[k - 1]->e);
    if (e->b > pos) FAIL("gap in the data before tensor '%s' (bytes %llu to %llu belong to no tensor)", path, e->name, (unsigned long long)pos, (unsigned long long)e->b);
    if (e->e > dsize)
      FAIL("tensor '%s' data_offsets [%llu, %llu] extend beyond the data (%llu bytes): the file is truncated or damaged", path,
           e->name, (unsigned long long)e->b, (unsigned long long)e->e, (unsigned long long)dsize);
    pos = e->e;
  }
  if (pos != dsize) FAIL("%llu bytes after the last tensor's data (the header accounts for %llu of %llu data bytes)", path,
                         (unsigned long long)(dsize - pos), (unsigned long long)pos, (unsigned long long)dsize);

  /* everything checks out: read the tensors */
  res = calloc(1, sizeof *res);
  if (!res) FAIL("out of memory", path);
  res->names = calloc((size_t)ne + 1, sizeof *res->names);
  res->tensors = calloc((size_t)ne + 1, sizeof *res->tensors);
  int nm = meta ? meta->n : 0;
  res->mkeys = calloc((size_t)nm + 1, sizeof *res->mkeys);
  res->mvals = calloc((size_t)nm + 1, sizeof *res->mvals);
  if (!res->names || !res->tensors || !res->mkeys || !res->mvals) FAIL("out of memory", path);
  for (int k = 0; k < nm; k++) {
    res->mkeys[k] = nl_dupn(meta->keys[k], meta->keylens[k]);
    res->mvals[k] = nl_dupn(meta->items[k].s, meta->items[k].len);
    res->nmeta++;
    if (!res->mkeys[k] || !res->mvals[k]) FAIL("out of memory", path);
  }
  for (int k = 0; k < ne; k++) {
    nl_st_entry *e = &ents[k];
    res->n++;
    res->names[k] = nl_dupn(e->name, strlen(e->name));
    if (!res->names[k]) FAIL("out of memory", path);
    nl_tensor *t = nl_empty(e->ndim, e->shape, nl_st_load[e->dt], nl_cpu());
    if (!t) FAIL("tensor '%s': cannot allocate", path, e->name);
    res->tensors[k] = t;
    size_t nb = (size_t)(e->e - e->b);
    bool direct = e->dt <= ST_BOOL;
    void *dst = direct ? nl_data(t) : (tmp = malloc(nb ? nb : 1));
    if (!dst) FAIL("out of memory", path);
    if (nl_read_at(fd, dst, nb, 8 + hn + e->b) < 0) FAIL("read error in tensor '%s': %s", path, e->name, strerror(errno ? errno : EIO));
    uint32_t got = nl_crc32(0, dst, nb);
    if (e->has_crc && got != e->crc)
      FAIL("tensor '%s' checksum mismatch (stored %08x, computed %08x): the data is damaged", path, e->name, e->crc, got);
    if (e->dt == ST_BOOL) { /* any nonzero byte is true; keep the storage canonical */
      unsigned char *p = dst;
      for (size_t i = 0; i < nb; i++) p[i] = p[i] != 0;
    }
    if (!direct) {
      if (nl_st_convert(e->dt, tmp, nl_data(t), e->numel, path, e->name) < 0) goto done;
      free(tmp);
      tmp = NULL;
    }
  }
  out = res;
  res = NULL;
done:
  if (fd >= 0) close(fd);
  free(hdr);
  free(tmp);
  free(ents);
  free(order);
  nl_json_free(hj);
  nl_json_free(cj);
  nl_st_file_free(res);
  return out;
}
