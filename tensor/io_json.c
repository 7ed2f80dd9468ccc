/* io_json.c: a small strict JSON parser and writer for checkpoint headers.
 *
 * Strict means RFC 8259 exactly: no comments, no trailing commas, no leading zeros, no
 * control characters or invalid UTF-8 in strings, no lone surrogates, plus two limits of our
 * own: nesting depth <= 64 and no duplicate keys in an object (a damaged header must not
 * silently pick one of two values). Every value records its source span for checksums. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nl_io.h"

#define NL_JSON_MAXDEPTH 64

typedef struct { const char *s; size_t n, i; } nl_jp;

static void *nl_jfail(nl_jp *p, const char *what) {
  return nl_fail("malformed JSON at byte %zu: %s", p->i, what);
}

static void nl_jws(nl_jp *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
    p->i++;
}

bool nl_utf8_valid(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    int k;
    uint32_t cp;
    if (c < 0x80) { i++; continue; }
    else if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
    else return false;
    for (int j = 1; j <= k; j++) {
      if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += (size_t)k + 1;
  }
  return true;
}

static int nl_jhex4(nl_jp *p, uint32_t *out) {
  if (p->i + 4 > p->n) return -1;
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    char c = p->s[p->i + k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return -1;
  }
  p->i += 4;
  *out = v;
  return 0;
}

static void nl_put_utf8(nl_buf *b, uint32_t cp) {
  char t[4];
  size_t n;
  if (cp < 0x80) { t[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { t[0] = (char)(0xC0 | (cp >> 6)); t[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    t[0] = (char)(0xE0 | (cp >> 12)); t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    t[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    t[0] = (char)(0xF0 | (cp >> 18)); t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    t[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); t[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  nl_buf_put(b, t, n);
}

/* Parses a string at p->i (the opening quote); returns a malloc'd copy in *out. */
static int nl_jstring(nl_jp *p, char **out, size_t *outlen) {
  nl_buf b = {0};
  p->i++; /* '"' */
  size_t run = p->i;
  for (;;) {
    if (p->i >= p->n) { nl_buf_free(&b); nl_jfail(p, "unterminated string"); return -1; }
    unsigned char c = (unsigned char)p->s[p->i];
    if (c == '"') break;
    if (c < 0x20) { nl_buf_free(&b); nl_jfail(p, "control character in string"); return -1; }
    if (c != '\\') { p->i++; continue; }
    nl_buf_put(&b, p->s + run, p->i - run);
    p->i++;
    if (p->i >= p->n) { nl_buf_free(&b); nl_jfail(p, "unterminated string"); return -1; }
    char e = p->s[p->i++];
    switch (e) {
      case '"': nl_buf_put(&b, "\"", 1); break;
      case '\\': nl_buf_put(&b, "\\", 1); break;
      case '/': nl_buf_put(&b, "/", 1); break;
      case 'b': nl_buf_put(&b, "\b", 1); break;
      case 'f': nl_buf_put(&b, "\f", 1); break;
      case 'n': nl_buf_put(&b, "\n", 1); break;
      case 'r': nl_buf_put(&b, "\r", 1); break;
      case 't': nl_buf_put(&b, "\t", 1); break;
      case 'u': {
        uint32_t cp, lo;
        if (nl_jhex4(p, &cp) < 0) { nl_buf_free(&b); nl_jfail(p, "bad \\u escape"); return -1; }
        if (cp >= 0xDC00 && cp <= 0xDFFF) { nl_buf_free(&b); nl_jfail(p, "lone low surrogate"); return -1; }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (p->i + 2 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') {
            nl_buf_free(&b); nl_jfail(p, "lone high surrogate"); return -1;
          }
          p->i += 2;
          if (nl_jhex4(p, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
            nl_buf_free(&b); nl_jfail(p, "bad surrogate pair"); return -1;
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        nl_put_utf8(&b, cp);
        break;
      }
      default: nl_buf_free(&b); p->i--; nl_jfail(p, "bad escape in string"); return -1;
    }
    run = p->i;
  }
  nl_buf_put(&b, p->s + run, p->i - run);
  p->i++; /* closing quote */
  nl_buf_put(&b, "", 1); /* NUL */
  if (b.oom) { nl_buf_free(&b); nl_fail("out of memory parsing JSON"); return -1; }
  if (!nl_utf8_valid(b.p, b.n - 1)) { nl_buf_free(&b); nl_jfail(p, "invalid UTF-8 in string"); return -1; }
  *out = b.p;
  *outlen = b.n - 1;
  return 0;
}

static int nl_jnumber(nl_jp *p, nl_json *v) {
  size_t st = p->i;
  bool isint = true;
  if (p->i < p->n && p->s[p->i] == '-') p->i++;
  if (p->i >= p->n) { nl_jfail(p, "bad number"); return -1; }
  if (p->s[p->i] == '0') {
    p->i++;
    if (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') { nl_jfail(p, "leading zero in number"); return -1; }
  } else if (p->s[p->i] >= '1' && p->s[p->i] <= '9') {
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
  } else { nl_jfail(p, "bad number"); return -1; }
  if (p->i < p->n && p->s[p->i] == '.') {
    isint = false;
    p->i++;
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') { nl_jfail(p, "bad fraction in number"); return -1; }
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
  }
  if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
    isint = false;
    p->i++;
    if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') { nl_jfail(p, "bad exponent in number"); return -1; }
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') p->i++;
  }
  char tmp[64];
  size_t len = p->i - st;
  if (len >= sizeof tmp) { p->i = st; nl_jfail(p, "number too long"); return -1; }
  memcpy(tmp, p->s + st, len);
  tmp[len] = 0;
  v->type = NL_JNUM;
  v->d = strtod(tmp, NULL);
  if (isint) {
    errno = 0;
    long long ll = strtoll(tmp, NULL, 10);
    if (errno == 0) { v->is_int = true; v->i = ll; }
  }
  return 0;
}

static int nl_jvalue(nl_jp *p, nl_json *v, int depth);

static int nl_jcontainer(nl_jp *p, nl_json *v, int depth, bool obj) {
  if (depth >= NL_JSON_MAXDEPTH) { nl_jfail(p, "nesting deeper than 64"); return -1; }
  char close = obj ? '}' : ']';
  int cap = 0;
  v->type = obj ? NL_JOBJ : NL_JARR;
  p->i++;
  nl_jws(p);
  if (p->i < p->n && p->s[p->i] == close) { p->i++; return 0; }
  for (;;) {
    if (v->n == cap) {
      int nc = cap ? cap * 2 : 4;
      nl_json *ni = realloc(v->items, sizeof *ni * (size_t)nc);
      if (ni) v->items = ni;
      char **nk = obj ? realloc(v->keys, sizeof *nk * (size_t)nc) : NULL;
      if (nk) v->keys = nk;
      size_t *nl = obj ? realloc(v->keylens, sizeof *nl * (size_t)nc) : NULL;
      if (nl) v->keylens = nl;
      if (!ni || (obj && (!nk || !nl))) { nl_fail("out of memory parsing JSON"); return -1; }
      cap = nc;
    }
    nl_json *it = &v->items[v->n];
    memset(it, 0, sizeof *it);
    if (obj) {
      v->keys[v->n] = NULL;
      nl_jws(p);
      if (p->i >= p->n || p->s[p->i] != '"') { v->n++; nl_jfail(p, "expected a string key"); return -1; }
      size_t kl;
      if (nl_jstring(p, &v->keys[v->n], &kl) < 0) { v->n++; return -1; }
      v->keylens[v->n] = kl;
      v->n++;
      for (int k = 0; k < v->n - 1; k++)
        if (v->keylens[k] == kl && memcmp(v->keys[k], v->keys[v->n - 1], kl) == 0) {
          nl_fail("malformed JSON at byte %zu: duplicate key \"%s\"", p->i, v->keys[k]);
          return -1;
        }
      nl_jws(p);
      if (p->i >= p->n || p->s[p->i] != ':') { nl_jfail(p, "expected ':'"); return -1; }
      p->i++;
    } else {
      v->n++;
    }
    if (nl_jvalue(p, it, depth + 1) < 0) return -1;
    nl_jws(p);
    if (p->i >= p->n) { nl_jfail(p, obj ? "unterminated object" : "unterminated array"); return -1; }
    if (p->s[p->i] == ',') { p->i++; nl_jws(p); if (p->i < p->n && p->s[p->i] == close) { nl_jfail(p, "trailing comma"); return -1; } continue; }
    if (p->s[p->i] == close) { p->i++; return 0; }
    nl_jfail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    return -1;
  }
}

static int nl_jvalue(nl_jp *p, nl_json *v, int depth) {
  nl_jws(p);
  v->pos = p->i;
  if (p->i >= p->n) { nl_jfail(p, "unexpected end of input"); return -1; }
  char c = p->s[p->i];
  int r;
  if (c == '{' || c == '[') r = nl_jcontainer(p, v, depth, c == '{');
  else if (c == '"') { v->type = NL_JSTR; r = nl_jstring(p, &v->s, &v->len); }
  else if (c == '-' || (c >= '0' && c <= '9')) r = nl_jnumber(p, v);
  else if (p->n - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0) { v->type = NL_JBOOL; v->b = true; p->i += 4; r = 0; }
  else if (p->n - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0) { v->type = NL_JBOOL; p->i += 5; r = 0; }
  else if (p->n - p->i >= 4 && memcmp(p->s + p->i, "null", 4) == 0) { v->type = NL_JNULL; p->i += 4; r = 0; }
  else { nl_jfail(p, "unexpected character"); return -1; }
  v->end = p->i;
  return r;
}

static void nl_json_clear(nl_json *j) {
  free(j->s);
  for (int k = 0; k < j->n; k++) {
    nl_json_clear(&j->items[k]);
    if (j->keys) free(j->keys[k]);
  }
  free(j->items);
  free(j->keys);
  free(j->keylens);
}

void nl_json_free(nl_json *j) {
  if (!j) return;
  nl_json_clear(j);
  free(j);
}

nl_json *nl_json_parse(const char *src, size_t n) {
  nl_jp p = {src, n, 0};
  nl_json *j = calloc(1, sizeof *j);
  if (!j) return nl_fail("out of memory parsing JSON");
  if (nl_jvalue(&p, j, 0) < 0) { nl_json_free(j); return NULL; }
  nl_jws(&p);
  if (p.i != n) { nl_jfail(&p, "trailing characters after the value"); nl_json_free(j); return NULL; }
  return j;
}

const nl_json *nl_json_get(const nl_json *obj, const char *key) {
  if (!obj || obj->type != NL_JOBJ) return NULL;
  size_t kl = strlen(key);
  for (int k = 0; k < obj->n; k++)
    if (obj->keylens[k] == kl && memcmp(obj->keys[k], key, kl) == 0) return &obj->items[k];
  return NULL;
}

/* ---- writer ------------------------------------------------------------------------------ */
void nl_buf_put(nl_buf *b, const void *s, size_t n) {
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->n + n) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) { b->oom = true; return; }
    b->p = np;
    b->cap = nc;
  }
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
}

void nl_buf_puts(nl_buf *b, const char *s) { nl_buf_put(b, s, strlen(s)); }

void nl_buf_printf(nl_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (k < 0) { b->oom = true; return; }
  if ((size_t)k < sizeof tmp) { nl_buf_put(b, tmp, (size_t)k); return; }
  char *big = malloc((size_t)k + 1);
  if (!big) { b->oom = true; return; }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)k + 1, fmt, ap);
  va_end(ap);
  nl_buf_put(b, big, (size_t)k);
  free(big);
}

void nl_buf_jstr(nl_buf *b, const char *s, size_t n) {
  nl_buf_put(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    nl_buf_put(b, s + run, i - run);
    if (c == '"') nl_buf_puts(b, "\\\"");
    else if (c == '\\') nl_buf_puts(b, "\\\\");
    else if (c == '\n') nl_buf_puts(b, "\\n");
    else if (c == '\t') nl_buf_puts(b, "\\t");
    else if (c == '\r') nl_buf_puts(b, "\\r");
    else nl_buf_printf(b, "\\u%04x", c);
    run = i + 1;
  }
  nl_buf_put(b, s + run, n - run);
  nl_buf_put(b, "\"", 1);
}

void nl_buf_free(nl_buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}
