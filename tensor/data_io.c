/* data_io.c: IDX and CIFAR-10 readers and a small PNG writer/reader over zlib. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data_io.h"

/* Reads the whole (possibly gzipped) file. *n gets its size. NULL with nl_error() on failure. */
static uint8_t *nl_slurp(const char *path, size_t *n) {
  gzFile f = gzopen(path, "rb");
  if (!f) return nl_fail("cannot open %s", path);
  gzbuffer(f, 1 << 17);
  size_t cap = 1 << 20, len = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf) { gzclose(f); return nl_fail("out of memory reading %s", path); }
    if (len == cap) {
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) { free(buf); gzclose(f); return nl_fail("out of memory reading %s", path); }
      buf = nb; cap *= 2;
    }
    unsigned want = (unsigned)((cap - len) > (1u << 30) ? (1u << 30) : (cap - len));
    int got = gzread(f, buf + len, want);
    if (got < 0) {
      int err; const char *msg = gzerror(f, &err);
      nl_fail("cannot read %s: %s", path, msg);
      free(buf); gzclose(f); return NULL;
    }
    if (got == 0) break;
    len += (size_t)got;
  }
  gzclose(f);
  *n = len;
  return buf;
}

static uint32_t nl_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void nl_free_blob(void *data, void *ctx) { (void)ctx; free(data); }

nl_tensor *nl_read_idx(const char *path, int expect_ndim, int64_t expect_n) {
  size_t n;
  uint8_t *buf = nl_slurp(path, &n);
  if (!buf) return NULL;
  if (n < 4 || buf[0] != 0 || buf[1] != 0 || buf[2] != 0x08 || buf[3] < 1 || buf[3] > 4 ||
      (expect_ndim > 0 && buf[3] != expect_ndim)) {
    nl_fail("%s: not an IDX file of unsigned bytes with %d dims: expected magic number 0x%08x (%d), got %s0x%08x",
            path, expect_ndim, 0x800 + expect_ndim, 0x800 + expect_ndim, n < 4 ? "a file shorter than 4 bytes, " : "",
            n < 4 ? 0u : nl_be32(buf));
    free(buf); return NULL;
  }
  int ndim = buf[3];
  if (n < 4 + 4 * (size_t)ndim) { nl_fail("%s: truncated IDX header (%zu bytes)", path, n); free(buf); return NULL; }
  int64_t shape[4];
  char sh[128];
  size_t hdr = 4 + 4 * (size_t)ndim;
  /* Four 32-bit dims can overflow int64: the product is checked as it is multiplied out. */
  uint64_t count = 1;
  int zero = 0, over = 0;
  for (int d = 0; d < ndim; d++) { shape[d] = nl_be32(buf + 4 + 4 * d); zero |= shape[d] == 0; }
  for (int d = 0; d < ndim && !zero && !over; d++) {
    if (count > (uint64_t)INT64_MAX / (uint64_t)shape[d]) over = 1;
    else count *= (uint64_t)shape[d];
  }
  if (zero) count = 0;
  nl_shape_str(ndim, shape, sh, sizeof sh);
  if (over) {
    nl_fail("%s: truncated: header dims %s need more than 2^63 data bytes, the file has %zu", path, sh, n - hdr);
    free(buf); return NULL;
  }
  if (expect_n >= 0 && shape[0] != expect_n) {
    nl_fail("%s: expected %lld items, the header says %lld (dims %s)", path, (long long)expect_n, (long long)shape[0], sh);
    free(buf); return NULL;
  }
  if (n - hdr != (size_t)count) {
    nl_fail("%s: %s: header dims %s need %lld data bytes, the file has %zu", path,
            n - hdr < (size_t)count ? "truncated" : "trailing bytes", sh, (long long)count, n - hdr);
    free(buf); return NULL;
  }
  memmove(buf, buf + hdr, (size_t)count);
  nl_tensor *t = nl_from_blob(buf, ndim, shape, NULL, NL_UINT8, nl_cpu(), nl_free_blob, NULL);
  if (!t) free(buf);
  return t;
}

#define NL_CIFAR_REC 3073
nl_tensor *nl_read_cifar(int npaths, const char *const *paths, nl_tensor **labels) {
  uint8_t *bufs[16];
  size_t lens[16];
  int64_t total = 0;
  if (npaths < 1 || npaths > 16) return nl_fail("CIFAR10: expected 1 to 16 batch files, got %d", npaths);
  for (int i = 0; i < npaths; i++) {
    bufs[i] = nl_slurp(paths[i], &lens[i]);
    if (bufs[i] && (lens[i] == 0 || lens[i] % NL_CIFAR_REC != 0)) {
      nl_fail("%s: not a CIFAR-10 binary batch: expected records of %d bytes (1 label + 3x32x32 pixels), "
              "the file has %zu bytes (%zu records and %zu bytes)", paths[i], NL_CIFAR_REC, lens[i],
              lens[i] / NL_CIFAR_REC, lens[i] % NL_CIFAR_REC);
      free(bufs[i]); bufs[i] = NULL;
    }
    if (!bufs[i]) { while (i--) free(bufs[i]); return NULL; }
    total += (int64_t)(lens[i] / NL_CIFAR_REC);
  }
  int64_t ishape[4] = {total, 3, 32, 32};
  nl_tensor *img = nl_empty(4, ishape, NL_UINT8, nl_cpu());
  nl_tensor *lab = nl_empty(1, &total, NL_INT64, nl_cpu());
  int64_t k = 0;
  const char *bad = NULL;
  int badv = 0;
  if (img && lab) {
    uint8_t *ip = nl_data(img);
    int64_t *lp = nl_data(lab);
    for (int i = 0; i < npaths; i++)
      for (size_t r = 0; r < lens[i] / NL_CIFAR_REC; r++, k++) {
        const uint8_t *rec = bufs[i] + r * NL_CIFAR_REC;
        if (rec[0] > 9 && !bad) { bad = paths[i]; badv = rec[0]; }
        lp[k] = rec[0] + 1;
        memcpy(ip + k * 3072, rec + 1, 3072);
      }
  }
  for (int i = 0; i < npaths; i++) free(bufs[i]);
  if (!img || !lab || bad) {
    if (bad) nl_fail("%s: not a CIFAR-10 binary batch: label byte %d outside 0..9", bad, badv);
    nl_tensor_free(img); nl_tensor_free(lab);
    return NULL;
  }
  *labels = lab;
  return img;
}

/* ---- PNG -------------------------------------------------------------------------------- */
static void nl_put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

static int nl_png_chunk(FILE *f, const char *type, const uint8_t *d, uint32_t n) {
  uint8_t hdr[8];
  nl_put32(hdr, n);
  memcpy(hdr + 4, type, 4);
  uLong crc = crc32(0, (const Bytef *)type, 4);
  if (n) crc = crc32(crc, d, n);
  uint8_t c[4];
  nl_put32(c, (uint32_t)crc);
  return fwrite(hdr, 1, 8, f) == 8 && (n == 0 || fwrite(d, 1, n, f) == n) && fwrite(c, 1, 4, f) == 4;
}

int nl_png_write(const char *path, const uint8_t *pix, int64_t h, int64_t w, int channels) {
  if (channels != 1 && channels != 3 && channels != 4)
    return nl_failc("save_image: expected 1, 3 or 4 channels, got %d", channels);
  if (h < 1 || w < 1 || h > (1 << 24) || w > (1 << 24))
    return nl_failc("save_image: image size %lldx%lld outside 1..16777216", (long long)h, (long long)w);
  size_t row = (size_t)w * channels, raw_n = (size_t)h * (row + 1);
  uint8_t *raw = malloc(raw_n);
  uLongf zn = compressBound(raw_n);
  uint8_t *z = malloc(zn);
  if (!raw || !z) { free(raw); free(z); return nl_failc("save_image: out of memory"); }
  for (int64_t y = 0; y < h; y++) { /* filter type 0 (None) on every row */
    raw[y * (row + 1)] = 0;
    memcpy(raw + y * (row + 1) + 1, pix + y * row, row);
  }
  int zs = compress2(z, &zn, raw, raw_n, 6);
  free(raw);
  if (zs != Z_OK) { free(z); return nl_failc("save_image: zlib compress failed (%d)", zs); }
  FILE *f = fopen(path, "wb");
  if (!f) { free(z); return nl_failc("save_image: cannot open %s for writing", path); }
  static const uint8_t sig[8] = {137, 'P', 'N', 'G', 13, 10, 26, 10};
  uint8_t ihdr[13];
  nl_put32(ihdr, (uint32_t)w);
  nl_put32(ihdr + 4, (uint32_t)h);
  ihdr[8] = 8;                                                 /* bit depth */
  ihdr[9] = channels == 1 ? 0 : channels == 3 ? 2 : 6;         /* colour type */
  ihdr[10] = ihdr[11] = ihdr[12] = 0;                          /* deflate, filter 0, no interlace */
  int ok = fwrite(sig, 1, 8, f) == 8 && nl_png_chunk(f, "IHDR", ihdr, 13) &&
           nl_png_chunk(f, "IDAT", z, (uint32_t)zn) && nl_png_chunk(f, "IEND", NULL, 0);
  free(z);
  if (fclose(f) != 0) ok = 0;
  return ok ? 0 : nl_failc("save_image: cannot write %s", path);
}

static int nl_paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

nl_tensor *nl_png_read(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return nl_fail("png_read: cannot open %s", path);
  uint8_t *file = NULL, *idat = NULL;
  size_t n = 0, cap = 0, idat_n = 0;
  for (;;) {
    if (n == cap) { cap = cap ? cap * 2 : 65536; uint8_t *nf = realloc(file, cap); if (!nf) break; file = nf; }
    size_t got = fread(file + n, 1, cap - n, f);
    if (got == 0) break;
    n += got;
  }
  fclose(f);
  nl_tensor *t = NULL;
  const char *err = NULL;
  uint32_t w = 0, h = 0, ch = 0;
  if (!file || n < 8 || memcmp(file, "\x89PNG\r\n\x1a\n", 8) != 0) { err = "bad signature"; goto done; }
  idat = malloc(n);
  if (!idat) { err = "out of memory"; goto done; }
  for (size_t p = 8;;) {
    if (p + 12 > n) { err = "truncated chunk"; goto done; }
    uint32_t len = nl_be32(file + p);
    if (len > n - p - 12) { err = "truncated chunk"; goto done; }
    const uint8_t *type = file + p + 4, *d = file + p + 8;
    if ((uint32_t)crc32(crc32(0, type, 4), d, len) != nl_be32(d + len)) { err = "CRC mismatch"; goto done; }
    if (!memcmp(type, "IHDR", 4)) {
      if (len != 13) { err = "bad IHDR"; goto done; }
      w = nl_be32(d); h = nl_be32(d + 4);
      ch = d[9] == 0 ? 1 : d[9] == 2 ? 3 : d[9] == 6 ? 4 : 0;
      if (d[8] != 8 || !ch || d[12] != 0 || !w || !h) { err = "unsupported format (8-bit gray/RGB/RGBA only)"; goto done; }
      if (w > (1u << 24) || h > (1u << 24)) { err = "image size over 16777216"; goto done; }
    } else if (!memcmp(type, "IDAT", 4)) {
      memcpy(idat + idat_n, d, len); idat_n += len;
    } else if (!memcmp(type, "IEND", 4)) {
      break;
    }
    p += 12 + (size_t)len;
  }
  if (!ch) { err = "no IHDR"; goto done; }
  size_t row = (size_t)w * ch;
  uLongf raw_n = (uLongf)(h * (row + 1));
  /* deflate expands at most 1032:1: a header that claims more pixels than the compressed data
   * can hold is damaged, and must not size an allocation. */
  if (raw_n / 1032 > idat_n + 1) { err = "bad image data (IHDR size exceeds the compressed data)"; goto done; }
  uint8_t *raw = malloc(raw_n);
  int64_t shape[3] = {h, w, ch};
  t = raw ? nl_empty(3, shape, NL_UINT8, nl_cpu()) : NULL;
  if (!t || uncompress(raw, &raw_n, idat, idat_n) != Z_OK || raw_n != h * (row + 1)) {
    free(raw); nl_tensor_free(t); t = NULL; err = "bad image data"; goto done;
  }
  uint8_t *out = nl_data(t);
  for (uint32_t y = 0; y < h; y++) {
    const uint8_t *src = raw + y * (row + 1) + 1;
    uint8_t *cur = out + y * row, *prev = y ? cur - row : NULL;
    int ft = raw[y * (row + 1)];
    if (ft > 4) { free(raw); nl_tensor_free(t); t = NULL; err = "bad filter type"; goto done; }
    for (size_t x = 0; x < row; x++) {
      int a = x >= ch ? cur[x - ch] : 0, b = prev ? prev[x] : 0, c = (prev && x >= ch) ? prev[x - ch] : 0;
      int pr = ft == 0 ? 0 : ft == 1 ? a : ft == 2 ? b : ft == 3 ? (a + b) / 2 : nl_paeth(a, b, c);
      cur[x] = (uint8_t)(src[x] + pr);
    }
  }
  free(raw);
done:
  free(file); free(idat);
  if (err) return nl_fail("png_read: %s: %s", path, err);
  return t;
}
