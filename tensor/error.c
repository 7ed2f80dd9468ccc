/* error.c: the thread-local message of the last failure (see nl_error in nl_tensor.h). */
#include <stdarg.h>
#include <stdio.h>

#include "nl_tensor.h"

static _Thread_local char nl_errbuf[512];

const char *nl_error(void) { return nl_errbuf[0] ? nl_errbuf : "unknown error"; }

static void nl_vset(const char *fmt, va_list ap) { vsnprintf(nl_errbuf, sizeof nl_errbuf, fmt, ap); }

void *nl_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nl_vset(fmt, ap);
  va_end(ap);
  return NULL;
}

int nl_failc(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nl_vset(fmt, ap);
  va_end(ap);
  return -1;
}
