/* io_file.c: atomic file writes (temporary file in the same folder, fsync, rename, fsync of
 * the folder) and the CRC32 used by checkpoints.
 *
 * A failure at any step removes the temporary file and reports
 * "<op>: cannot write '<path>': <strerror>" so the previous file at path stays intact.
 * A process killed mid-save (SIGKILL, power loss) cannot remove its "<path>.tmp.<pid>"; the
 * next save to the same path removes such files whose process no longer exists, so repeated
 * crashes do not fill the folder (spec/checkpoint_kill_spec.lua). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nl_io.h"

uint32_t nl_crc32(uint32_t crc, const void *p, size_t n) {
  const unsigned char *b = p;
  while (n > 0) { /* zlib's crc32 takes a uInt length */
    uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
    crc = (uint32_t)crc32(crc, b, k);
    b += k;
    n -= k;
  }
  return crc;
}

/* Test hook (torch._C._io_fault): >= 0 overrides NNLUA_FAULT_WRITE_AFTER; -1 = use the env. */
static int64_t nl_fault_override = -1;
void nl_io_set_fault(int64_t after) { nl_fault_override = after < -1 ? -1 : after; }

static char *nl_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static int nl_awfail(nl_awriter *w, int err) {
  nl_failc("%s: cannot write '%s': %s", w->op, w->path ? w->path : "?", strerror(err));
  nl_awrite_abort(w);
  return -1;
}

/* 1 when process pid is gone: kill(pid, 0) says ESRCH, or Linux lists it as a zombie (dead,
 * not yet reaped by its parent). EPERM (someone else's live process) counts as alive. */
static int nl_pid_gone(long pid) {
  if (kill((pid_t)pid, 0) != 0) return errno == ESRCH;
  char p[64], buf[256];
  snprintf(p, sizeof p, "/proc/%ld/stat", pid);
  FILE *f = fopen(p, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *rp = strrchr(buf, ')'); /* "pid (comm) S ...": comm may hold spaces */
  return rp && rp[1] == ' ' && rp[2] == 'Z';
}

/* Removes "<base>.tmp.<pid>" files in path's folder left by processes that no longer exist.
 * Best effort: an unreadable folder is simply skipped. */
static void nl_sweep_stale_tmp(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t dlen = slash ? (size_t)(slash - path) : 0, blen = strlen(base);
  char *dir = malloc(dlen + 2);
  if (!dir) return;
  if (!slash) strcpy(dir, ".");
  else if (dlen == 0) strcpy(dir, "/");
  else { memcpy(dir, path, dlen); dir[dlen] = 0; }
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      const char *n = e->d_name;
      if (strncmp(n, base, blen) != 0 || strncmp(n + blen, ".tmp.", 5) != 0) continue;
      const char *digits = n + blen + 5;
      char *end;
      errno = 0;
      long pid = strtol(digits, &end, 10);
      if (end == digits || *end || errno || pid <= 0 || pid == (long)getpid()) continue;
      if (!nl_pid_gone(pid)) continue;
      size_t m = strlen(dir) + strlen(n) + 2;
      char *full = malloc(m);
      if (!full) break;
      snprintf(full, m, "%s/%s", dir, n);
      unlink(full);
      free(full);
    }
    closedir(d);
  }
  free(dir);
}

int nl_awrite_open(nl_awriter *w, const char *op, const char *path) {
  memset(w, 0, sizeof *w);
  w->fd = -1;
  w->op = op;
  w->path = nl_strdup(path);
  size_t n = strlen(path) + 40;
  w->tmp = malloc(n);
  if (!w->path || !w->tmp) return nl_awfail(w, ENOMEM);
  snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
  nl_sweep_stale_tmp(path);
  const char *f = getenv("NNLUA_FAULT_WRITE_AFTER");
  if (nl_fault_override >= 0) {
    w->fault = true;
    w->fault_after = (uint64_t)nl_fault_override;
  } else if (f && *f) {
    w->fault = true;
    w->fault_after = strtoull(f, NULL, 10);
  }
  w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (w->fd < 0) {
    int e = errno;
    free(w->tmp); /* nothing to remove */
    w->tmp = NULL;
    return nl_awfail(w, e);
  }
  return 0;
}

int nl_awrite(nl_awriter *w, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    size_t k = n > (1u << 30) ? (1u << 30) : n;
    if (w->fault) { /* test hook: pretend the disk fills up after fault_after bytes */
      if (w->written >= w->fault_after) return nl_awfail(w, ENOSPC);
      if (w->written + k > w->fault_after) k = (size_t)(w->fault_after - w->written);
    }
    ssize_t r = write(w->fd, c, k);
    if (r < 0) {
      if (errno == EINTR) continue;
      return nl_awfail(w, errno);
    }
    c += r;
    n -= (size_t)r;
    w->written += (uint64_t)r;
  }
  return 0;
}

int nl_awrite_commit(nl_awriter *w) {
  if (fsync(w->fd) < 0) return nl_awfail(w, errno);
  int fd = w->fd;
  w->fd = -1;
  if (close(fd) < 0) return nl_awfail(w, errno);
  if (rename(w->tmp, w->path) < 0) return nl_awfail(w, errno);
  free(w->tmp);
  w->tmp = NULL;
  /* fsync the folder so the rename itself survives a crash */
  char *dir = nl_strdup(w->path);
  if (dir) {
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = 0;
    else *slash = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd); /* some file systems refuse fsync on folders; the data is already safe */
      close(dfd);
    }
    free(dir);
  }
  free(w->path);
  w->path = NULL;
  return 0;
}

void nl_awrite_abort(nl_awriter *w) {
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  if (w->tmp) unlink(w->tmp);
  free(w->tmp);
  free(w->path);
  w->tmp = w->path = NULL;
}
