/* nl_io.h: checkpoint files (safetensors, .npy), the strict JSON parser/writer behind their
 * headers, and the atomic file writer. CPU-side; no Lua here.
 *
 * Every function that can fail returns NULL or -1 with nl_error() set; messages name the
 * file ("torch.load: x.safetensors: ...") and the problem. */
#ifndef NL_IO_H
#define NL_IO_H
#include <stdio.h>

#include "nl_tensor.h"

/* ---- JSON (io_json.c) ------------------------------------------------------------------ */
typedef enum { NL_JNULL, NL_JBOOL, NL_JNUM, NL_JSTR, NL_JARR, NL_JOBJ } nl_jtype;

typedef struct nl_json {
  nl_jtype type;
  bool b;
  bool is_int;        /* a number written without '.', 'e' that fits int64 */
  int64_t i;
  double d;
  char *s;            /* NUL-terminated decoded string (may hold NULs: use len) */
  size_t len;
  size_t pos, end;    /* source span [pos, end) of the value (strings: including quotes) */
  int n;              /* array / object: number of items */
  struct nl_json *items;  /* array items or object values */
  char **keys;            /* object keys (decoded) */
  size_t *keylens;
} nl_json;

/* Parses src[0, n) strictly (RFC 8259; no duplicate keys; depth <= 64; trailing whitespace
 * allowed). Returns NULL with nl_error() "at byte K: problem". Free with nl_json_free. */
nl_json *nl_json_parse(const char *src, size_t n);
void nl_json_free(nl_json *j);
/* Object member by key, or NULL. */
const nl_json *nl_json_get(const nl_json *obj, const char *key);
/* True when s[0, n) is valid UTF-8 (JSON strings must be). */
bool nl_utf8_valid(const char *s, size_t n);

/* A growable byte buffer for writing JSON. Allocation failure sets b->oom. */
typedef struct nl_buf { char *p; size_t n, cap; bool oom; } nl_buf;
void nl_buf_put(nl_buf *b, const void *s, size_t n);
void nl_buf_puts(nl_buf *b, const char *s);
void nl_buf_printf(nl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal with quotes and escapes (s must be valid UTF-8). */
void nl_buf_jstr(nl_buf *b, const char *s, size_t n);
void nl_buf_free(nl_buf *b);

/* ---- atomic writes (io_file.c) --------------------------------------------------------- */
/* Writes go to "path.tmp.<pid>" in the same folder; commit fsyncs it, renames it over path
 * and fsyncs the folder; abort (or any failure) removes it, leaving the old file intact.
 * Env NNLUA_FAULT_WRITE_AFTER=n makes writes fail with ENOSPC after n bytes (for tests). */
typedef struct nl_awriter {
  int fd;
  char *path, *tmp;
  const char *op;     /* "torch.save" */
  uint64_t written, fault_after;
  bool fault;
} nl_awriter;
int nl_awrite_open(nl_awriter *w, const char *op, const char *path);
int nl_awrite(nl_awriter *w, const void *p, size_t n);
int nl_awrite_commit(nl_awriter *w);
void nl_awrite_abort(nl_awriter *w);
/* Test hook: writes fail with ENOSPC after `after` bytes (-1: back to the env variable). */
void nl_io_set_fault(int64_t after);

/* ---- safetensors (io_safetensors.c) ---------------------------------------------------- */
/* Writes n tensors (any device, any layout; copied contiguous to the CPU) named names[i],
 * plus string metadata (nmeta pairs), adding "format": "pt", per-tensor CRC32s
 * ("nnlua.crc32") and a header CRC32 ("nnlua.header_crc32"). Atomic. */
int nl_safetensors_save(const char *path, int n, const char *const *names, nl_tensor *const *ts,
                        int nmeta, const char *const *mkeys, const char *const *mvals);

typedef struct nl_st_file {
  int n;              /* tensors, in header order */
  char **names;
  nl_tensor **tensors;
  int nmeta;
  char **mkeys, **mvals;
} nl_st_file;
/* Reads and validates the whole file (sizes, JSON, dtypes, shapes, offsets, checksums)
 * before returning anything. Tensors are on the CPU. */
nl_st_file *nl_safetensors_load(const char *path);
void nl_st_file_free(nl_st_file *f);

/* ---- .npy (io_npy.c) ------------------------------------------------------------------- */
int nl_npy_save(const char *path, nl_tensor *t);
nl_tensor *nl_npy_load(const char *path);

/* CRC32 (zlib's polynomial) of n bytes continuing from crc (start with 0). */
uint32_t nl_crc32(uint32_t crc, const void *p, size_t n);
#endif
