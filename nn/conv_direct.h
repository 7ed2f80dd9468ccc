/* conv_direct.h: direct float32 convolution for small channel counts (conv_direct.c), used by
 * conv.c's CPU path when nl_conv_direct_ok says the geometry suits it. All tensors contiguous:
 * x (N, C, H, W), w (O, C, kh, kw), b (O) or NULL, y / gy (N, O, Ho, Wo); stride 1, dilation 1,
 * groups 1, top/left padding ph/pw. Each returns 0, or -1 with the error set. */
#ifndef NL_CONV_DIRECT_H
#define NL_CONV_DIRECT_H
#include <stdbool.h>
#include <stdint.h>

/* Stride-1, dilation-1, groups-1 geometry: x (N, C, H, W), w (O, C, kh, kw), y (N, O, Ho, Wo),
 * top/left padding ph/pw (bottom/right follow from Ho and Wo). */
typedef struct nl_conv_direct_geo {
  int64_t N, C, H, W, O, kh, kw, Ho, Wo, ph, pw;
} nl_conv_direct_geo;

/* Whether the direct kernels take this convolution (sh..G: its stride, dilation and groups). */
bool nl_conv_direct_ok(const nl_conv_direct_geo *g, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t G);
/* y = conv2d(x, w) + b */
int nl_conv_direct_fwd(const float *x, const float *w, const float *b, float *y, const nl_conv_direct_geo *g);
/* gx = the input gradient of gy (gx is overwritten) */
int nl_conv_direct_bwd_input(const float *gy, const float *w, float *gx, const nl_conv_direct_geo *g);
/* gw (O, C, kh, kw) = the weight gradient of gy (overwritten) */
int nl_conv_direct_bwd_weight(const float *gy, const float *x, float *gw, const nl_conv_direct_geo *g);
#endif
