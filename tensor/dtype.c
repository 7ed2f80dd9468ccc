/* dtype.c: dtype names, sizes, PyTorch's type promotion; device strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl_tensor.h"

/* names in nl_dtype order (the sizes are nl_dtype_sizes in nl_tensor.h) */
static const char *const nl_dtype_names[NL_NDTYPES] = {
    [NL_FLOAT32] = "float32", [NL_FLOAT64] = "float64", [NL_INT64] = "int64",     [NL_INT32] = "int32",
    [NL_UINT8] = "uint8",     [NL_BOOL] = "bool",       [NL_FLOAT16] = "float16", [NL_BFLOAT16] = "bfloat16",
};

static nl_dtype nl_default = NL_FLOAT32;

const char *nl_dtype_name(nl_dtype dt) { return (unsigned)dt < NL_NDTYPES ? nl_dtype_names[dt] : "?"; }
_Static_assert(sizeof nl_dtype_sizes == NL_NDTYPES, "nl_dtype_sizes (nl_tensor.h): one size per dtype");
bool nl_dtype_is_float(nl_dtype dt) {
  return dt == NL_FLOAT32 || dt == NL_FLOAT64 || dt == NL_FLOAT16 || dt == NL_BFLOAT16;
}
bool nl_dtype_is_int(nl_dtype dt) { return dt == NL_INT64 || dt == NL_INT32 || dt == NL_UINT8; }
nl_dtype nl_default_dtype(void) { return nl_default; }
void nl_set_default_dtype(nl_dtype dt) { nl_default = dt; }

int nl_dtype_from_name(const char *s) {
  static const struct { const char *alias; nl_dtype dt; } aliases[] = {
      {"float", NL_FLOAT32}, {"double", NL_FLOAT64}, {"long", NL_INT64}, {"int", NL_INT32},
      {"byte", NL_UINT8},    {"half", NL_FLOAT16},   {"torch.float32", NL_FLOAT32},
  };
  for (int i = 0; i < NL_NDTYPES; i++)
    if (strcmp(s, nl_dtype_names[i]) == 0) return i;
  for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
    if (strcmp(s, aliases[i].alias) == 0) return (int)aliases[i].dt;
  return -1;
}

/* PyTorch's promote_types: bool < uint8 < int32 < int64 < float16/bfloat16 < float32 < float64
 * with the special cases float16+bfloat16 -> float32. */
static int nl_rank(nl_dtype d) {
  switch (d) {
  case NL_BOOL: return 0;
  case NL_UINT8: return 1;
  case NL_INT32: return 2;
  case NL_INT64: return 3;
  case NL_FLOAT16: case NL_BFLOAT16: return 4;
  case NL_FLOAT32: return 5;
  case NL_FLOAT64: return 6;
  default: return 0;
  }
}

nl_dtype nl_promote(nl_dtype a, nl_dtype b) {
  if (a == b) return a;
  if ((a == NL_FLOAT16 && b == NL_BFLOAT16) || (a == NL_BFLOAT16 && b == NL_FLOAT16)) return NL_FLOAT32;
  return nl_rank(a) >= nl_rank(b) ? a : b;
}

int nl_device_parse(const char *s, nl_device *out) {
  if (strcmp(s, "cpu") == 0) { out->type = NL_CPU; out->index = 0; return 0; }
  if (strncmp(s, "cuda", 4) == 0) {
    out->type = NL_CUDA;
    out->index = 0;
    if (s[4] == 0) return 0;
    if (s[4] == ':' && s[5] >= '0' && s[5] <= '9') {
      char *end;
      long i = strtol(s + 5, &end, 10);
      if (*end == 0 && i < 64) { out->index = (int)i; return 0; }
    }
  }
  return nl_failc("unknown device '%s' (expected \"cpu\", \"cuda\" or \"cuda:N\")", s);
}

void nl_device_name(nl_device d, char *buf, size_t n) {
  if (d.type == NL_CPU) snprintf(buf, n, "cpu");
  else snprintf(buf, n, "cuda:%d", d.index);
}

static nl_device nl_default_dev = {NL_CPU, 0};
nl_device nl_default_device(void) { return nl_default_dev; }
void nl_set_default_device(nl_device d) { nl_default_dev = d; }

bool nl_device_eq(nl_device a, nl_device b) { return a.type == b.type && a.index == b.index; }
