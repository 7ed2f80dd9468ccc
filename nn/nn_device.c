/* nn_device.c: the host round trip of nn_device.h (CUDA arguments of front ends without a
 * dedicated device path). */
#include "nn_device.h"

#include "nn_util.h"

int nn_any_dev_(int n, const nl_tensor *const *ts) {
  for (int i = 0; i < n; i++)
    if (ts[i] && nl_device_of(ts[i]).type != NL_CPU) return 1;
  return 0;
}

#define NN_HMAX 6
typedef struct nn_host {
  nl_device dev;
  nl_tensor *h[NN_HMAX];
} nn_host;

/* Checks that the n tensors (NULLs skipped) share one device and copies them to the CPU. */
static int nn_host_begin(const char *op, nn_host *H, int n, const nl_tensor *const *ts) {
  int first = -1;
  for (int i = 0; i < NN_HMAX; i++) H->h[i] = NULL;
  for (int i = 0; i < n; i++) {
    if (!ts[i]) continue;
    if (first < 0) {
      first = i;
      H->dev = nl_device_of(ts[i]);
    } else if (!nl_device_eq(nl_device_of(ts[i]), H->dev)) {
      char d1[32], d2[32];
      nl_device_name(H->dev, d1, sizeof d1);
      nl_device_name(nl_device_of(ts[i]), d2, sizeof d2);
      return nl_failc("%s: expected all tensors on the same device, got %s and %s", op, d1, d2);
    }
  }
  for (int i = 0; i < n; i++) {
    if (!ts[i]) continue;
    H->h[i] = nl_to_device((nl_tensor *)ts[i], nl_cpu());
    if (!H->h[i]) {
      for (int j = 0; j < i; j++) nl_tensor_free(H->h[j]);
      return -1;
    }
  }
  return 0;
}
static void nn_host_end(nn_host *H) {
  for (int i = 0; i < NN_HMAX; i++) nl_tensor_free(H->h[i]);
}
/* Moves the host result r to H's device (consumes r; NULL passes through). */
static nl_tensor *nn_back(const nn_host *H, nl_tensor *r) {
  if (!r) return NULL;
  nl_tensor *d = nl_to_device(r, H->dev);
  nl_tensor_free(r);
  return d;
}
/* Moves the results of an int-returning front end back: out[i] (may be NULL pointers). */
static int nn_back_all(const nn_host *H, int st, int n, nl_tensor ***outs, nl_tensor **res) {
  int bad = st;
  for (int i = 0; i < n; i++) {
    if (!outs[i]) continue;
    nl_tensor *d = st ? NULL : nn_back(H, res[i]);
    if (!st && res[i] && !d) bad = -1;
    *outs[i] = d;
  }
  if (bad && !st)
    for (int i = 0; i < n; i++)
      if (outs[i]) { nl_tensor_free(*outs[i]); *outs[i] = NULL; }
  return bad ? -1 : 0;
}
#define NN_BEGIN(op, ...)                                                                \
  nn_host H;                                                                             \
  const nl_tensor *ts_[] = {__VA_ARGS__};                                                \
  if (nn_host_begin(op, &H, (int)(sizeof ts_ / sizeof ts_[0]), ts_) < 0)

nl_tensor *nn_host_pad(const nl_tensor *x, const nl_tensor *gy, int npad, const int64_t *pads, int mode,
                       double value) {
  NN_BEGIN(gy ? "pad_backward" : "pad", x, gy) return NULL;
  nl_tensor *r = gy ? nl_pad_backward(H.h[1], H.h[0], npad, pads, mode) : nl_pad(H.h[0], npad, pads, mode, value);
  r = nn_back(&H, r);
  nn_host_end(&H);
  return r;
}

nl_tensor *nn_host_one_hot(const nl_tensor *idx, int64_t C) {
  NN_BEGIN("one_hot", idx) return NULL;
  nl_tensor *r = nn_back(&H, nl_one_hot(H.h[0], C));
  nn_host_end(&H);
  return r;
}

nl_tensor *nn_host_adaptive_avg(const nl_tensor *x, const nl_tensor *gy, int64_t oh, int64_t ow) {
  NN_BEGIN(gy ? "adaptive_avg_pool2d_backward" : "adaptive_avg_pool2d", x, gy) return NULL;
  nl_tensor *r = gy ? nl_adaptive_avg_pool2d_backward(H.h[1], H.h[0]) : nl_adaptive_avg_pool2d(H.h[0], oh, ow);
  r = nn_back(&H, r);
  nn_host_end(&H);
  return r;
}

int nn_host_adaptive_max(const nl_tensor *x, int64_t oh, int64_t ow, nl_tensor **y, nl_tensor **idx) {
  NN_BEGIN("adaptive_max_pool2d", x) return -1;
  nl_tensor *r[2] = {NULL, NULL};
  int st = nl_adaptive_max_pool2d(H.h[0], oh, ow, y ? &r[0] : NULL, idx ? &r[1] : NULL);
  nl_tensor **o[2] = {y, idx};
  st = nn_back_all(&H, st, 2, o, r);
  nn_host_end(&H);
  return st;
}

int nn_host_max_pool1d(const nl_tensor *x, const nl_pool_params *p, nl_tensor **y, nl_tensor **idx) {
  NN_BEGIN("max_pool1d", x) return -1;
  nl_tensor *r[2] = {NULL, NULL};
  int st = nl_max_pool1d(H.h[0], p, y ? &r[0] : NULL, idx ? &r[1] : NULL);
  nl_tensor **o[2] = {y, idx};
  st = nn_back_all(&H, st, 2, o, r);
  nn_host_end(&H);
  return st;
}

nl_tensor *nn_host_max_pool1d_backward(const nl_tensor *gy, const nl_tensor *x, const nl_tensor *idx) {
  NN_BEGIN("max_pool1d_backward", gy, x, idx) return NULL;
  nl_tensor *r = nn_back(&H, nl_max_pool1d_backward(H.h[0], H.h[1], H.h[2]));
  nn_host_end(&H);
  return r;
}
