/* conv_tmpl.h: the conv kernels for one element type, included by conv.c twice with
 *   T (float/double), S (suffix), GEMM (nn_sgemm/cblas_dgemm, cblas_sgemm's signature).
 * All tensors are contiguous. Geometry in nn_conv_geo (conv.c): x (N, C, H, W),
 * w (O, Cg, kh, kw), y (N, O, Ho, Wo); K = Cg*kh*kw rows of the column matrix. */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

/* The output columns ow whose input column iw = ow*sw + base lies in [0, W): [*lo, *hi). */
#ifndef NN_OW_RANGE
#define NN_OW_RANGE
static inline void nn_ow_range(int64_t base, int64_t sw, int64_t W, int64_t Wo, int64_t *lo, int64_t *hi) {
  int64_t a = base >= 0 ? 0 : (-base + sw - 1) / sw;
  int64_t b = W - 1 - base < 0 ? 0 : (W - 1 - base) / sw + 1;
  if (b > Wo) b = Wo;
  if (a > b) a = b;
  *lo = a, *hi = b;
}
#endif

/* col (K, Ho*Wo, row stride ld) <- the receptive fields of x (Cg, H, W); zeros where padding.
 * The valid output columns of each kernel offset are computed once (no per-element bounds
 * checks); stride 1 copies them with memcpy. */
static void CAT(im2col, S)(const T *x, T *col, const nn_conv_geo *g, int64_t ld) {
  int64_t HW = ld;
  for (int64_t kj = 0; kj < g->kw; kj++) {
    int64_t base = kj * g->dw - g->pw, lo, hi;
    nn_ow_range(base, g->sw, g->W, g->Wo, &lo, &hi);
    for (int64_t c = 0; c < g->Cg; c++)
      for (int64_t ki = 0; ki < g->kh; ki++) {
        T *row = col + ((c * g->kh + ki) * g->kw + kj) * HW;
        const T *xc = x + c * g->H * g->W;
        for (int64_t oh = 0; oh < g->Ho; oh++) {
          int64_t ih = oh * g->sh - g->ph + ki * g->dh;
          T *r = row + oh * g->Wo;
          if (ih < 0 || ih >= g->H) {
            memset(r, 0, sizeof(T) * (size_t)g->Wo);
            continue;
          }
          const T *xr = xc + ih * g->W; /* input column of ow: base + ow*sw */
          for (int64_t ow = 0; ow < lo; ow++) r[ow] = 0;
          if (g->sw == 1) {
            /* short rows (LeNet's 28 or 10): an inline loop beats a memcpy call per row */
            if (hi - lo <= 64)
              for (int64_t ow = lo; ow < hi; ow++) r[ow] = xr[base + ow];
            else if (hi > lo)
              memcpy(r + lo, xr + base + lo, sizeof(T) * (size_t)(hi - lo));
          } else {
            for (int64_t ow = lo; ow < hi; ow++) r[ow] = xr[base + ow * g->sw];
          }
          for (int64_t ow = hi; ow < g->Wo; ow++) r[ow] = 0;
        }
      }
  }
}

/* x (Cg, H, W) += the columns of col (K, Ho*Wo, row stride ld) (the adjoint of im2col). */
static void CAT(col2im, S)(const T *col, T *x, const nn_conv_geo *g, int64_t ld) {
  int64_t HW = ld;
  for (int64_t c = 0; c < g->Cg; c++)
    for (int64_t ki = 0; ki < g->kh; ki++)
      for (int64_t kj = 0; kj < g->kw; kj++) {
        int64_t base = kj * g->dw - g->pw, lo, hi;
        nn_ow_range(base, g->sw, g->W, g->Wo, &lo, &hi);
        const T *row = col + ((c * g->kh + ki) * g->kw + kj) * HW;
        T *xc = x + c * g->H * g->W;
        for (int64_t oh = 0; oh < g->Ho; oh++) {
          int64_t ih = oh * g->sh - g->ph + ki * g->dh;
          if (ih < 0 || ih >= g->H) continue;
          const T *r = row + oh * g->Wo;
          T *xr = xc + ih * g->W; /* input column of ow: base + ow*sw */
          if (g->sw == 1)
            for (int64_t ow = lo; ow < hi; ow++) xr[base + ow] += r[ow];
          else
            for (int64_t ow = lo; ow < hi; ow++) xr[base + ow * g->sw] += r[ow];
        }
      }
}

/* ---- batched variants (g->bat, see conv.c): nb samples per GEMM ------------------------------
 * The columns of nb samples side by side: col (K, nb*HW), gy/y as (Og, nb*HW). One GEMM per
 * chunk and group instead of one per sample: with few output pixels (ResNet's deep layers:
 * HW = 4..64) a per-sample GEMM re-packs the whole weight for a handful of columns. */
static void CAT(gather_gy, S)(const T *gy, T *gb, const nn_conv_geo *g, int64_t n0, int64_t m, int64_t gi) {
  int64_t HW = g->Ho * g->Wo, L = m * HW; /* gb (Og, m*HW) <- gy[n0+j, gi*Og + o] */
  for (int64_t j = 0; j < m; j++)
    for (int64_t o = 0; o < g->Og; o++)
      memcpy(gb + o * L + j * HW, gy + ((n0 + j) * g->O + gi * g->Og + o) * HW, sizeof(T) * (size_t)HW);
}

static void CAT(conv_fwd_bat, S)(const T *x, const T *w, const T *b, T *y, const nn_conv_geo *g) {
  int64_t K = g->Cg * g->kh * g->kw, HW = g->Ho * g->Wo, nb = nn_conv_chunk(g, K, HW);
  T *col = malloc(sizeof(T) * (size_t)(K * nb * HW > 0 ? K * nb * HW : 1));
  T *yb = malloc(sizeof(T) * (size_t)(g->Og * nb * HW > 0 ? g->Og * nb * HW : 1));
  for (int64_t n0 = 0; n0 < g->N && HW > 0; n0 += nb) {
    int64_t m = g->N - n0 < nb ? g->N - n0 : nb, L = m * HW;
    for (int64_t gi = 0; gi < g->G && g->Og > 0; gi++) {
      if (K > 0) {
        for (int64_t j = 0; j < m; j++)
          CAT(im2col, S)(x + ((n0 + j) * g->C + gi * g->Cg) * g->H * g->W, col + j * HW, g, L);
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->Og, (int)L, (int)K, 1,
             w + gi * g->Og * K, (int)K, col, (int)L, 0, yb, (int)L);
      } else {
        memset(yb, 0, sizeof(T) * (size_t)(g->Og * L));
      }
      for (int64_t j = 0; j < m; j++)
        for (int64_t o = 0; o < g->Og; o++) {
          T *yo = y + ((n0 + j) * g->O + gi * g->Og + o) * HW;
          const T *src = yb + o * L + j * HW;
          T bo = b ? b[gi * g->Og + o] : 0;
          for (int64_t i = 0; i < HW; i++) yo[i] = src[i] + bo;
        }
    }
  }
  free(col);
  free(yb);
}

static void CAT(conv_bwd_input_bat, S)(const T *gy, const T *w, T *gx, const nn_conv_geo *g) {
  int64_t K = g->Cg * g->kh * g->kw, HW = g->Ho * g->Wo, nb = nn_conv_chunk(g, K, HW);
  if (K == 0 || HW == 0 || g->Og == 0) return; /* gx stays zero */
  T *col = malloc(sizeof(T) * (size_t)(K * nb * HW));
  T *gb = malloc(sizeof(T) * (size_t)(g->Og * nb * HW));
  for (int64_t n0 = 0; n0 < g->N; n0 += nb) {
    int64_t m = g->N - n0 < nb ? g->N - n0 : nb, L = m * HW;
    for (int64_t gi = 0; gi < g->G; gi++) {
      CAT(gather_gy, S)(gy, gb, g, n0, m, gi);
      GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)L, (int)g->Og, 1,
           w + gi * g->Og * K, (int)K, gb, (int)L, 0, col, (int)L);
      for (int64_t j = 0; j < m; j++)
        CAT(col2im, S)(col + j * HW, gx + ((n0 + j) * g->C + gi * g->Cg) * g->H * g->W, g, L);
    }
  }
  free(col);
  free(gb);
}

static void CAT(conv_bwd_weight_bat, S)(const T *gy, const T *x, T *gw, const nn_conv_geo *g) {
  int64_t K = g->Cg * g->kh * g->kw, HW = g->Ho * g->Wo, nb = nn_conv_chunk(g, K, HW);
  memset(gw, 0, sizeof(T) * (size_t)(g->O * K));
  if (K == 0 || HW == 0 || g->Og == 0) return;
  T *col = malloc(sizeof(T) * (size_t)(K * nb * HW));
  T *gb = malloc(sizeof(T) * (size_t)(g->Og * nb * HW));
  for (int64_t n0 = 0; n0 < g->N; n0 += nb) {
    int64_t m = g->N - n0 < nb ? g->N - n0 : nb, L = m * HW;
    for (int64_t gi = 0; gi < g->G; gi++) {
      for (int64_t j = 0; j < m; j++)
        CAT(im2col, S)(x + ((n0 + j) * g->C + gi * g->Cg) * g->H * g->W, col + j * HW, g, L);
      CAT(gather_gy, S)(gy, gb, g, n0, m, gi);
      GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->Og, (int)K, (int)L, 1, gb, (int)L,
           col, (int)L, 1, gw + gi * g->Og * K, (int)K);
    }
  }
  free(col);
  free(gb);
}

/* y = conv(x, w) + b. Parallel over the batch (BLAS single-threaded inside, see conv.c). */
static void CAT(conv_fwd, S)(const T *x, const T *w, const T *b, T *y, const nn_conv_geo *g) {
  if (g->bat) {
    CAT(conv_fwd_bat, S)(x, w, b, y, g);
    return;
  }
  int64_t K = g->Cg * g->kh * g->kw, HW = g->Ho * g->Wo;
  NL_OMP_REGION_IF(g->N > 1 && g->par, "omp parallel", {
    T *col = malloc(sizeof(T) * (size_t)(K * HW > 0 ? K * HW : 1));
    _Pragma("omp for schedule(static)")
    for (int64_t n = 0; n < g->N; n++) {
      for (int64_t gi = 0; gi < g->G; gi++) {
        const T *xg = x + (n * g->C + gi * g->Cg) * g->H * g->W;
        T *yg = y + (n * g->O + gi * g->Og) * HW;
        CAT(im2col, S)(xg, col, g, HW);
        if (g->Og > 0 && HW > 0)
          GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->Og, (int)HW, (int)K, 1,
               w + gi * g->Og * K, (int)(K > 0 ? K : 1), col, (int)HW, 0, yg, (int)HW);
        if (K == 0)
          for (int64_t i = 0; i < g->Og * HW; i++) yg[i] = 0;
      }
      if (b)
        for (int64_t o = 0; o < g->O; o++) {
          T *yo = y + (n * g->O + o) * HW;
          for (int64_t i = 0; i < HW; i++) yo[i] += b[o];
        }
    }
    free(col);
  });
}

/* gx (zeroed by the caller) += conv's input gradient of gy; also conv_transpose2d's forward. */
static void CAT(conv_bwd_input, S)(const T *gy, const T *w, T *gx, const nn_conv_geo *g) {
  if (g->bat) {
    CAT(conv_bwd_input_bat, S)(gy, w, gx, g);
    return;
  }
  int64_t K = g->Cg * g->kh * g->kw, HW = g->Ho * g->Wo;
  NL_OMP_REGION_IF(g->N > 1 && g->par, "omp parallel", {
    T *col = malloc(sizeof(T) * (size_t)(K * HW > 0 ? K * HW : 1));
    _Pragma("omp for schedule(static)")
    for (int64_t n = 0; n < g->N; n++)
      for (int64_t gi = 0; gi < g->G; gi++) {
        if (K == 0 || HW == 0) continue;
        const T *gyg = gy + (n * g->O + gi * g->Og) * HW;
        if (g->Og > 0)
          GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)HW, (int)g->Og, 1,
               w + gi * g->Og * K, (int)K, gyg, (int)HW, 0, col, (int)HW);
        else
          for (int64_t i = 0; i < K * HW; i++) col[i] = 0;
        CAT(col2im, S)(col, gx + (n * g->C + gi * g->Cg) * g->H * g->W, g, HW);
      }
    free(col);
  });
}

/* gw (O, K) = sum over n of gy[n] (Og, HW) @ col[n]^T; per-thread partial sums. */
static void CAT(conv_bwd_weight, S)(const T *gy, const T *x, T *gw, const nn_conv_geo *g) {
  if (g->bat) {
    CAT(conv_bwd_weight_bat, S)(gy, x, gw, g);
    return;
  }
  int64_t K = g->Cg * g->kh * g->kw, HW = g->Ho * g->Wo, WS = g->O * K;
  int nt = (g->N > 1 && g->par) ? omp_get_max_threads() : 1;
  T *part = calloc((size_t)(nt * WS > 0 ? nt * WS : 1), sizeof(T));
  NL_OMP_REGION_IF(nt > 1, "omp parallel num_threads(nt)", {
    T *col = malloc(sizeof(T) * (size_t)(K * HW > 0 ? K * HW : 1));
    T *acc = part + omp_get_thread_num() * WS;
    _Pragma("omp for schedule(static)")
    for (int64_t n = 0; n < g->N; n++)
      for (int64_t gi = 0; gi < g->G; gi++) {
        if (K == 0 || HW == 0 || g->Og == 0) continue;
        CAT(im2col, S)(x + (n * g->C + gi * g->Cg) * g->H * g->W, col, g, HW);
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->Og, (int)K, (int)HW, 1,
             gy + (n * g->O + gi * g->Og) * HW, (int)HW, col, (int)HW, 1, acc + gi * g->Og * K,
             (int)K);
      }
    free(col);
  });
  for (int64_t i = 0; i < WS; i++) {
    T s = 0;
    for (int t = 0; t < nt; t++) s += part[t * WS + i];
    gw[i] = s;
  }
  free(part);
}

/* gb[o] = sum of gy[:, o]. Each plane summed in 16 independent lanes of T (vector adds, no
 * latency-bound chain), the planes' sums accumulated in double. */
static void CAT(conv_bwd_bias, S)(const T *gy, T *gb, int64_t N, int64_t O, int64_t HW) {
  for (int64_t o = 0; o < O; o++) {
    double s = 0;
    for (int64_t n = 0; n < N; n++) {
      const T *p = gy + (n * O + o) * HW;
      T lane[16] = {0};
      int64_t i = 0;
      for (; i + 16 <= HW; i += 16)
        for (int l = 0; l < 16; l++) lane[l] += p[i + l];
      double ps = 0;
      for (int l = 0; l < 16; l++) ps += lane[l];
      for (; i < HW; i++) ps += p[i];
      s += ps;
    }
    gb[o] = (T)s;
  }
}
#undef CAT
#undef CAT_
