/* data_io.h: dataset file readers (IDX, CIFAR-10 binary) and a minimal PNG writer/reader,
 * all through zlib (gzopen reads plain and gzip files alike). Conventions of nl_tensor.h:
 * NULL / -1 with nl_error() naming the path and what was expected. */
#ifndef NL_DATA_IO_H
#define NL_DATA_IO_H
#include "nl_tensor.h"

/* An IDX file of unsigned bytes (magic 0x0000080<ndim>): a uint8 tensor of its dims.
 * expect_ndim > 0 checks the number of dims; expect_n >= 0 checks dim 0. */
nl_tensor *nl_read_idx(const char *path, int expect_ndim, int64_t expect_n);
/* CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes (3x32x32, CHW).
 * Returns images uint8 (N, 3, 32, 32); *labels gets int64 (N) holding label + 1 (1..10). */
nl_tensor *nl_read_cifar(int npaths, const char *const *paths, nl_tensor **labels);
/* 8-bit PNG of h x w pixels with channels 1 (gray), 3 (RGB) or 4 (RGBA); pix is HWC. */
int nl_png_write(const char *path, const uint8_t *pix, int64_t h, int64_t w, int channels);
/* Reads an 8-bit non-interlaced PNG (gray, RGB, RGBA; filters 0-4), checking every chunk's
 * CRC. Returns uint8 (H, W, C). For tests. */
nl_tensor *nl_png_read(const char *path);
#endif
