/* io_npy.c: one tensor in NumPy's .npy format.
 *
 * Writing: format 1.0 ("\x93NUMPY" 1 0, uint16 header length, a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a '\n'
 * so the data starts on a 64-byte boundary), C order, little-endian.
 * Reading also accepts format 2.0/3.0 (uint32 header length), fortran_order True (the data
 * is transposed back into C order), big-endian dtypes (byte-swapped), and integer/half types
 * nnlua lacks, widened to the nearest dtype: i1 i2 u2 -> int32, u4 u8 -> int64 (u8 values
 * must fit), f2 -> float32. Anything else (complex, object, strings, structured) is a clear
 * error. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nl_io.h"
#include "nl_ops.h"

static const char *const nl_npy_descr[] = {"<f4", "<f8", "<i8", "<i4", "|u1", "|b1"};

int nl_npy_save(const char *path, nl_tensor *t) {
  const char *op = "torch.save";
  /* half types (CUDA only) are written as float32 */
  nl_dtype dt = (t->dtype == NL_FLOAT16 || t->dtype == NL_BFLOAT16) ? NL_FLOAT32 : t->dtype;
  nl_tensor *a = nl_to_dtype(t, dt);
  if (!a) return -1;
  nl_tensor *b = nl_to_device(a, nl_cpu());
  nl_tensor_free(a);
  if (!b) return -1;
  nl_tensor *c = nl_contiguous(b);
  nl_tensor_free(b);
  if (!c) return -1;
  nl_buf h = {0};
  nl_buf_printf(&h, "{'descr': '%s', 'fortran_order': False, 'shape': (", nl_npy_descr[dt]);
  for (int d = 0; d < c->ndim; d++) nl_buf_printf(&h, "%s%lld", d ? ", " : "", (long long)c->shape[d]);
  nl_buf_puts(&h, c->ndim == 1 ? ",), }" : "), }");
  while ((10 + h.n + 1) % 64) nl_buf_put(&h, " ", 1);
  nl_buf_put(&h, "\n", 1);
  int rc = -1;
  if (h.oom || h.n > 65535) { nl_fail("%s: cannot build the .npy header for '%s'", op, path); goto done; }
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(h.n & 0xFF), (unsigned char)(h.n >> 8)};
  nl_awriter w;
  if (nl_awrite_open(&w, op, path) < 0) goto done;
  if (nl_awrite(&w, pre, 10) < 0 || nl_awrite(&w, h.p, h.n) < 0 ||
      nl_awrite(&w, nl_data(c), (size_t)nl_numel(c) * nl_dtype_size(dt)) < 0 || nl_awrite_commit(&w) < 0)
    goto done;
  rc = 0;
done:
  nl_buf_free(&h);
  nl_tensor_free(c);
  return rc;
}

/* ---- reading ------------------------------------------------------------------------------ */
typedef struct { const char *s; size_t n, i; } nl_pyp;

static void nl_pyws(nl_pyp *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}
static bool nl_pyeat(nl_pyp *p, char c) {
  nl_pyws(p);
  if (p->i < p->n && p->s[p->i] == c) { p->i++; return true; }
  return false;
}
/* a quoted string without escapes into out (at most cap-1 chars) */
static bool nl_pystr(nl_pyp *p, char *out, size_t cap) {
  nl_pyws(p);
  if (p->i >= p->n || (p->s[p->i] != '\'' && p->s[p->i] != '"')) return false;
  char q = p->s[p->i++];
  size_t k = 0;
  while (p->i < p->n && p->s[p->i] != q) {
    if (p->s[p->i] == '\\' || k + 1 >= cap) return false;
    out[k++] = p->s[p->i++];
  }
  if (p->i >= p->n) return false;
  p->i++;
  out[k] = 0;
  return true;
}

#define NFAIL(...) do { nl_fail("torch.load: %s: " __VA_ARGS__); goto done; } while (0)

nl_tensor *nl_npy_load(const char *path) {
  nl_tensor *out = NULL, *raw = NULL;
  unsigned char *buf = NULL;
  char *hdr = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nl_fail("torch.load: cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) NFAIL("not a regular file", path);
  uint64_t fsize = (uint64_t)st.st_size;
  unsigned char pre[12];
  if (fsize < 10 || pread(fd, pre, 10, 0) != 10) NFAIL("file is too small to be a .npy file (%llu bytes)", path, (unsigned long long)fsize);
  if (memcmp(pre, "\x93NUMPY", 6) != 0) NFAIL("not a .npy file (bad magic)", path);
  int major = pre[6];
  uint64_t hl, hstart;
  if (major == 1) { hl = pre[8] | (uint64_t)pre[9] << 8; hstart = 10; }
  else if (major == 2 || major == 3) {
    if (fsize < 12 || pread(fd, pre, 12, 0) != 12) NFAIL("file is truncated in the .npy preamble", path);
    hl = pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
    hstart = 12;
  } else NFAIL("unsupported .npy format version %d.%d", path, pre[6], pre[7]);
  if (hl > (100u << 20) || hstart + hl > fsize) NFAIL("header length %llu extends beyond the end of the file (%llu bytes)", path, (unsigned long long)hl, (unsigned long long)fsize);
  hdr = malloc(hl + 1);
  if (!hdr || pread(fd, hdr, hl, (off_t)hstart) != (ssize_t)hl) NFAIL("cannot read the header", path);
  hdr[hl] = 0;

  /* {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } in any key order */
  nl_pyp p = {hdr, hl, 0};
  char descr[32] = "", key[32];
  int fortran = -1, ndim = -1;
  int64_t shape[NL_MAXDIM];
  if (!nl_pyeat(&p, '{')) NFAIL("malformed .npy header (expected a dict)", path);
  while (!nl_pyeat(&p, '}')) {
    if (!nl_pystr(&p, key, sizeof key) || !nl_pyeat(&p, ':')) NFAIL("malformed .npy header near byte %zu", path, p.i);
    if (!strcmp(key, "descr")) {
      nl_pyws(&p);
      if (p.i < p.n && p.s[p.i] == '[') NFAIL("structured dtypes are not supported", path);
      if (!nl_pystr(&p, descr, sizeof descr)) NFAIL("malformed 'descr' in the .npy header", path);
    } else if (!strcmp(key, "fortran_order")) {
      nl_pyws(&p);
      if (p.n - p.i >= 4 && !memcmp(p.s + p.i, "True", 4)) { fortran = 1; p.i += 4; }
      else if (p.n - p.i >= 5 && !memcmp(p.s + p.i, "False", 5)) { fortran = 0; p.i += 5; }
      else NFAIL("malformed 'fortran_order' in the .npy header", path);
    } else if (!strcmp(key, "shape")) {
      if (!nl_pyeat(&p, '(')) NFAIL("malformed 'shape' in the .npy header", path);
      ndim = 0;
      while (!nl_pyeat(&p, ')')) {
        nl_pyws(&p);
        if (p.i >= p.n || p.s[p.i] < '0' || p.s[p.i] > '9') NFAIL("malformed 'shape' in the .npy header", path);
        if (ndim >= NL_MAXDIM) NFAIL("array has more than %d dims", path, NL_MAXDIM);
        errno = 0;
        char *endp;
        long long v = strtoll(p.s + p.i, &endp, 10);
        if (errno) NFAIL("shape entry too large", path);
        p.i = (size_t)(endp - p.s);
        shape[ndim++] = v;
        if (!nl_pyeat(&p, ',') && !(nl_pyws(&p), p.i < p.n && p.s[p.i] == ')')) NFAIL("malformed 'shape' in the .npy header", path);
      }
    } else NFAIL("unknown key '%s' in the .npy header", path, key);
    if (!nl_pyeat(&p, ',')) { if (!nl_pyeat(&p, '}')) NFAIL("malformed .npy header near byte %zu", path, p.i); break; }
  }
  if (!descr[0] || fortran < 0 || ndim < 0) NFAIL("the .npy header lacks descr, fortran_order or shape", path);

  /* dtype */
  char order = descr[0], kind = descr[1];
  int isz = atoi(descr + 2);
  if (order != '<' && order != '>' && order != '|' && order != '=') NFAIL("unsupported dtype '%s'", path, descr);
  if (kind == 'c') NFAIL("complex dtype '%s' is not supported", path, descr);
  if (kind == 'O') NFAIL("object arrays ('%s') are not supported (they hold pickled Python objects)", path, descr);
  if (kind == 'U' || kind == 'S' || kind == 'a' || kind == 'V') NFAIL("string/void dtype '%s' is not supported", path, descr);
  if (kind == 'M' || kind == 'm') NFAIL("datetime dtype '%s' is not supported", path, descr);
  int dt = -1;
  if (kind == 'f' && (isz == 2 || isz == 4)) dt = NL_FLOAT32;
  else if (kind == 'f' && isz == 8) dt = NL_FLOAT64;
  else if (kind == 'i' && (isz == 1 || isz == 2 || isz == 4)) dt = NL_INT32;
  else if (kind == 'i' && isz == 8) dt = NL_INT64;
  else if (kind == 'u' && isz == 1) dt = NL_UINT8;
  else if (kind == 'u' && isz == 2) dt = NL_INT32;
  else if (kind == 'u' && (isz == 4 || isz == 8)) dt = NL_INT64;
  else if (kind == 'b' && isz == 1) dt = NL_BOOL;
  if (dt < 0) NFAIL("unsupported dtype '%s'", path, descr);
  bool swap = order == '>' && isz > 1;

  uint64_t numel = 1, nb;
  for (int d = 0; d < ndim; d++)
    if (__builtin_mul_overflow(numel, (uint64_t)shape[d], &numel)) NFAIL("shape overflows", path);
  if (__builtin_mul_overflow(numel, (uint64_t)isz, &nb)) NFAIL("shape overflows", path);
  uint64_t dstart = hstart + hl;
  if (fsize - dstart < nb) NFAIL("file is truncated: %llu data bytes, shape needs %llu", path, (unsigned long long)(fsize - dstart), (unsigned long long)nb);
  if (fsize - dstart > nb) NFAIL("%llu unexpected bytes after the data", path, (unsigned long long)(fsize - dstart - nb));

  buf = malloc(nb ? nb : 1);
  if (!buf) NFAIL("out of memory", path);
  for (uint64_t o = 0; o < nb;) {
    ssize_t r = pread(fd, buf + o, nb - o > (1u << 30) ? (1u << 30) : nb - o, (off_t)(dstart + o));
    if (r <= 0) NFAIL("read error", path);
    o += (uint64_t)r;
  }
  if (swap)
    for (uint64_t k = 0; k < numel; k++)
      for (int a = 0, b = isz - 1; a < b; a++, b--) {
        unsigned char x = buf[k * isz + a];
        buf[k * isz + a] = buf[k * isz + b];
        buf[k * isz + b] = x;
      }
  /* Fortran order: the bytes are the C-order layout of the reversed shape */
  int64_t rshape[NL_MAXDIM];
  for (int d = 0; d < ndim; d++) rshape[d] = fortran ? shape[ndim - 1 - d] : shape[d];
  raw = nl_empty(ndim, rshape, (nl_dtype)dt, nl_cpu());
  if (!raw) goto done;
  void *dst = nl_data(raw);
  for (uint64_t k = 0; k < numel; k++) {
    const unsigned char *s = buf + k * isz;
    switch (kind) {
      case 'f':
        if (isz == 2) {
          uint16_t h; memcpy(&h, s, 2);
          uint32_t sg = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1F, m = h & 0x3FF, bits;
          if (e == 0) {
            if (m == 0) bits = sg;
            else { e = 113; while (!(m & 0x400)) { m <<= 1; e--; } bits = sg | (e << 23) | ((m & 0x3FF) << 13); }
          } else if (e == 31) bits = sg | 0x7F800000u | (m << 13);
          else bits = sg | ((e + 112) << 23) | (m << 13);
          memcpy((float *)dst + k, &bits, 4);
        } else memcpy((char *)dst + k * isz, s, isz);
        break;
      case 'i':
        if (isz == 1) ((int32_t *)dst)[k] = (int8_t)s[0];
        else if (isz == 2) { int16_t v; memcpy(&v, s, 2); ((int32_t *)dst)[k] = v; }
        else memcpy((char *)dst + k * isz, s, isz);
        break;
      case 'u':
        if (isz == 1) ((uint8_t *)dst)[k] = s[0];
        else if (isz == 2) { uint16_t v; memcpy(&v, s, 2); ((int32_t *)dst)[k] = v; }
        else if (isz == 4) { uint32_t v; memcpy(&v, s, 4); ((int64_t *)dst)[k] = v; }
        else {
          uint64_t v; memcpy(&v, s, 8);
          if (v > (uint64_t)INT64_MAX) NFAIL("uint64 value %llu does not fit int64", path, (unsigned long long)v);
          ((int64_t *)dst)[k] = (int64_t)v;
        }
        break;
      default: ((uint8_t *)dst)[k] = s[0] != 0; break; /* bool */
    }
  }
  if (fortran && ndim > 1) {
    int64_t stride[NL_MAXDIM];
    for (int d = 0; d < ndim; d++) stride[d] = raw->stride[ndim - 1 - d];
    nl_tensor *v = nl_view_of(raw, ndim, shape, stride, 0);
    if (!v) goto done;
    out = nl_clone(v);
    nl_tensor_free(v);
  } else {
    out = raw;
    raw = NULL;
  }
done:
  if (fd >= 0) close(fd);
  free(hdr);
  free(buf);
  nl_tensor_free(raw);
  return out;
}
