/* optim_update.c: multi-tensor optimizer steps (see optim_update.h for the contract).
 *
 * Each step function: validate every slot of the group (param, grad, states: same shape,
 * dtype float32/float64 and device as the param), then per parameter run one fused
 * elementwise kernel over contiguous data (OpenMP above NL_OPTIM_GRAIN elements). The element
 * formulas follow PyTorch 1.13's _single_tensor_<name> op by op (same association, scalars
 * rounded to the tensor's dtype like PyTorch's CPU kernels do), so float64 trajectories agree
 * to rounding and float32 ones to float rounding. */
#include <math.h>
#include <stdlib.h>

#include "optim_update.h"

#include "../tensor/nl_ops.h"
#include "nl_nn_kernel.h"
#include "nn_util.h"
#include "../tensor/nl_iter.h" /* NL_OMP_FOR_IF */

#define NL_OPTIM_GRAIN 32768
#define NL_OPTIM_SLOTS 5 /* param, grad and up to three state tensors */

/* ---- validation and contiguous staging ---------------------------------------------------- */
typedef struct nl_slot {
  nl_tensor *t[NL_OPTIM_SLOTS];   /* caller's tensors (NULL: unused) */
  nl_tensor *c[NL_OPTIM_SLOTS];   /* contiguous versions (own references) */
} nl_slot;

static const char *const nl_slot_names[NL_OPTIM_SLOTS] = {"param", "grad", "state", "state", "state"};

/* Checks tensor k of parameter i against the parameter. */
static int nl_check_slot(const char *op, int i, int k, const nl_tensor *p, const nl_tensor *t) {
  char a[96], b[96];
  if (t->dtype != p->dtype)
    return nl_failc("%s: %s %d has dtype %s but the parameter has dtype %s", op, nl_slot_names[k],
                    i + 1, nl_dtype_name(t->dtype), nl_dtype_name(p->dtype));
  if (!nl_device_eq(nl_device_of(t), nl_device_of(p)))
    return nl_failc("%s: %s %d is on another device than its parameter", op, nl_slot_names[k], i + 1);
  if (t->ndim != p->ndim) goto shape;
  for (int d = 0; d < t->ndim; d++)
    if (t->shape[d] != p->shape[d]) goto shape;
  return 0;
shape:
  return nl_failc("%s: %s %d has shape %s but the parameter has shape %s", op, nl_slot_names[k],
                  i + 1, nl_shape_str(t->ndim, t->shape, a, sizeof a),
                  nl_shape_str(p->ndim, p->shape, b, sizeof b));
}

/* Validates a whole group: lists[k][i] is tensor k of parameter i (lists[k] NULL or entries
 * NULL for unused states; need[k] says the entry is required). */
static int nl_check_group(const char *op, int n, nl_tensor *const *lists[NL_OPTIM_SLOTS],
                          const bool need[NL_OPTIM_SLOTS]) {
  if (n < 0) return nl_failc("%s: negative tensor count %d", op, n);
  for (int i = 0; i < n; i++) {
    const nl_tensor *p = lists[0][i];
    if (!p) return nl_failc("%s: parameter %d is missing", op, i + 1);
    if (p->dtype != NL_FLOAT32 && p->dtype != NL_FLOAT64)
      return nl_failc("%s: parameter %d has dtype %s (expected float32 or float64)", op, i + 1,
                      nl_dtype_name(p->dtype));
    for (int k = 1; k < NL_OPTIM_SLOTS; k++) {
      const nl_tensor *t = lists[k] ? lists[k][i] : NULL;
      if (!t) {
        if (need[k]) return nl_failc("%s: %s %d is missing", op, nl_slot_names[k], i + 1);
        continue;
      }
      if (nl_check_slot(op, i, k, p, t) < 0) return -1;
    }
  }
  return 0;
}

/* Contiguous versions of parameter i's tensors. */
static int nl_stage(nl_slot *s, int i, nl_tensor *const *lists[NL_OPTIM_SLOTS]) {
  for (int k = 0; k < NL_OPTIM_SLOTS; k++) {
    s->t[k] = lists[k] ? lists[k][i] : NULL;
    s->c[k] = NULL;
  }
  for (int k = 0; k < NL_OPTIM_SLOTS; k++) {
    if (!s->t[k]) continue;
    s->c[k] = nl_contiguous(s->t[k]);
    if (!s->c[k]) {
      for (int j = 0; j < k; j++) nl_tensor_free(s->c[j]);
      return -1;
    }
  }
  return 0;
}

/* Writes temporaries back into non-contiguous originals (all but the grad), bumps the
 * version counters of the written tensors and drops the temporaries. */
static int nl_unstage(nl_slot *s) {
  int st = 0;
  for (int k = 0; k < NL_OPTIM_SLOTS; k++) {
    if (!s->t[k]) continue;
    if (k != 1) {
      if (s->c[k] != s->t[k] && st == 0) st = nl_copy_(s->t[k], s->c[k]);
      nl_bump_version(s->t[k]);
    }
    nl_tensor_free(s->c[k]);
  }
  return st;
}

/* sqrtf for float lanes (vectorisable, correctly rounded like (float)sqrt(double)). */
#define NL_SQRT(x) _Generic((x), float: sqrtf, default: sqrt)(x)

#define NL_PTR(T, s, k) ((s).c[k] ? (T *)nl_data((s).c[k]) : (T *)NULL)

/* Runs BODY(T) for every CPU parameter after staging; BODY sees `s` (the slot), `ne`
 * (elements). A CUDA parameter runs one fused kernel instead (cuda/optim.cu): DEV(&s, i) fills
 * the kernel's scalars from the same host-side values and launches it. */
#define NL_FOR_PARAMS(n, lists, BODY, DEV)                              \
  for (int i = 0; i < (n); i++) {                                       \
    nl_slot s;                                                          \
    if (nl_stage(&s, i, lists) < 0) return -1;                          \
    int64_t ne = nl_numel(s.c[0]);                                      \
    if (nn_dev(s.c[0])) {                                               \
      if (DEV(&s, i) < 0) { nl_unstage(&s); return -1; }                \
    } else if (s.c[0]->dtype == NL_FLOAT32) { BODY(float) }            \
    else { BODY(double) }                                               \
    if (nl_unstage(&s) < 0) return -1;                                  \
  }

/* Device step of kind with scalars sc[0..nsc) and flags on slot s. */
static int nl_dev_step(const char *op, nl_slot *s, int kind, const double *sc, int nsc, int flags) {
  nl_nn_kargs a = {0};
  for (int k = 0; k < NL_OPTIM_SLOTS; k++) a.io[k] = s->c[k];
  for (int k = 0; k < nsc; k++) a.sc[k] = sc[k];
  a.kind = kind;
  a.flags = flags;
  return nl_nn_run(NL_NN_OPTIM, &a, op);
}

/* ---- SGD ------------------------------------------------------------------------------------ */
/* Three loops (no momentum / first step / later steps) so that no store is conditional and
 * each loop vectorises; compiled per ISA (NN_CLONES) with FMA contraction off for this file
 * (CMakeLists.txt), so every clone gives the baseline's bits. */
typedef struct nl_sgd_k {
  double wd, mom, damp1, nlr;
  bool use_wd, use_mom, fst, nes, mx;
} nl_sgd_k;
#define NL_SGD_SPAN(T, S)                                                                   \
  NN_CLONES static void nl_sgd_span_##S(T *restrict P, const T *restrict G, T *restrict B,  \
                                        int64_t lo, int64_t hi, const nl_sgd_k *k) {       \
    const T wd = (T)k->wd, mom = (T)k->mom, damp1 = (T)k->damp1, nlr = (T)k->nlr;           \
    const bool use_wd = k->use_wd, nes = k->nes, mx = k->mx;                                \
    if (!k->use_mom) {                                                                      \
      for (int64_t j = lo; j < hi; j++) {                                                   \
        T d = mx ? -G[j] : G[j];                                                            \
        if (use_wd) d = d + wd * P[j];                                                      \
        P[j] = P[j] + nlr * d;                                                              \
      }                                                                                     \
    } else if (k->fst) { /* buf = clone(d) */                                               \
      for (int64_t j = lo; j < hi; j++) {                                                   \
        T d = mx ? -G[j] : G[j];                                                            \
        if (use_wd) d = d + wd * P[j];                                                      \
        B[j] = d;                                                                           \
        d = nes ? d + mom * d : d;                                                          \
        P[j] = P[j] + nlr * d;                                                              \
      }                                                                                     \
    } else {                                                                                \
      for (int64_t j = lo; j < hi; j++) {                                                   \
        T d = mx ? -G[j] : G[j];                                                            \
        if (use_wd) d = d + wd * P[j];                                                      \
        T b = B[j] * mom + damp1 * d;                                                       \
        B[j] = b;                                                                           \
        d = nes ? d + mom * b : b;                                                          \
        P[j] = P[j] + nlr * d;                                                              \
      }                                                                                     \
    }                                                                                       \
  }
NL_SGD_SPAN(float, float)
NL_SGD_SPAN(double, double)

/* chunks of NL_OPTIM_GRAIN / 4 elements over the threads above NL_OPTIM_GRAIN */
#define NL_SGD_BODY(T)                                                                      \
  {                                                                                         \
    T *P = NL_PTR(T, s, 0), *G = NL_PTR(T, s, 1), *B = NL_PTR(T, s, 2);                     \
    nl_sgd_k k = {h->weight_decay, h->momentum, 1 - h->dampening, -h->lr, h->weight_decay != 0, \
                  h->momentum != 0, first ? first[i] : false, h->nesterov, h->maximize};    \
    int64_t ch = NL_OPTIM_GRAIN / 4, nch = (ne + ch - 1) / ch;                              \
    NL_OMP_FOR_IF(ne >= NL_OPTIM_GRAIN,                                                     \
    for (int64_t c = 0; c < nch; c++) {                                                     \
      int64_t lo = c * ch, hi = lo + ch < ne ? lo + ch : ne;                                \
      nl_sgd_span_##T(P, G, B, lo, hi, &k);                                                 \
    });                                                                                     \
  }

int nl_sgd_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                nl_tensor *const *bufs, const bool *first, const nl_sgd_hp *h) {
  nl_tensor *const *lists[NL_OPTIM_SLOTS] = {params, grads, h->momentum != 0 ? bufs : NULL, NULL, NULL};
  const bool need[NL_OPTIM_SLOTS] = {true, true, h->momentum != 0, false, false};
  if (nl_check_group("sgd_step", n, lists, need) < 0) return -1;
#define NL_SGD_DEV(sp, i)                                                                        \
  nl_dev_step("sgd_step", sp, NL_NN_OPT_SGD,                                                     \
              (double[]){h->weight_decay, h->momentum, 1 - h->dampening, -h->lr}, 4,             \
              (h->weight_decay != 0 ? NL_NN_F_WD : 0) | (h->momentum != 0 ? NL_NN_F_MOM : 0) |   \
              (first && first[i] ? NL_NN_F_FIRST : 0) | (h->nesterov ? NL_NN_F_NESTEROV : 0) |   \
              (h->maximize ? NL_NN_F_MAXIMIZE : 0))
  NL_FOR_PARAMS(n, lists, NL_SGD_BODY, NL_SGD_DEV)
  return 0;
}

/* ---- Adam / AdamW ----------------------------------------------------------------------------- */
#define NL_ADAM_BODY(T)                                                                       \
  {                                                                                           \
    T *P = NL_PTR(T, s, 0), *G = NL_PTR(T, s, 1), *M = NL_PTR(T, s, 2), *V = NL_PTR(T, s, 3); \
    T *VM = NL_PTR(T, s, 4);                                                                  \
    const double step = steps[i];                                                             \
    const double bc1 = 1 - pow(h->beta1, step), bc2 = 1 - pow(h->beta2, step);                \
    const T nss = (T)-(h->lr / bc1), bc2s = (T)sqrt(bc2), eps = (T)h->eps;                    \
    const T b1 = (T)h->beta1, b2 = (T)h->beta2, ob1 = (T)(1 - h->beta1), ob2 = (T)(1 - h->beta2); \
    const T wd = (T)h->weight_decay, decay = (T)(1 - h->lr * h->weight_decay);                \
    const bool cwd = !h->decoupled && h->weight_decay != 0, dec = h->decoupled;               \
    const bool mx = h->maximize, ams = h->amsgrad;                                            \
    NL_OMP_FOR_IF(ne >= NL_OPTIM_GRAIN,                    \
    for (int64_t j = 0; j < ne; j++) {                                                        \
      T g = mx ? -G[j] : G[j];                                                                \
      T p = P[j];                                                                             \
      if (dec) p = p * decay;                                                                 \
      if (cwd) g = g + wd * p;                                                                \
      T m = M[j] * b1 + ob1 * g;                                                              \
      T v = V[j] * b2 + ob2 * g * g;                                                          \
      M[j] = m;                                                                               \
      V[j] = v;                                                                               \
      if (ams) {                                                                              \
        T vm = VM[j];                                                                         \
        vm = (vm > v || isnan(vm)) ? vm : v; /* torch.maximum propagates NaN */               \
        VM[j] = vm;                                                                           \
        v = vm;                                                                               \
      }                                                                                       \
      T denom = NL_SQRT(v) / bc2s + eps;                                                         \
      P[j] = p + nss * (m / denom);                                                           \
    });                                                                                         \
  }

int nl_adam_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                 nl_tensor *const *exp_avgs, nl_tensor *const *exp_avg_sqs,
                 nl_tensor *const *max_exp_avg_sqs, const double *steps, const nl_adam_hp *h) {
  nl_tensor *const *lists[NL_OPTIM_SLOTS] = {params, grads, exp_avgs, exp_avg_sqs,
                                             h->amsgrad ? max_exp_avg_sqs : NULL};
  const bool need[NL_OPTIM_SLOTS] = {true, true, true, true, h->amsgrad};
  const char *op = h->decoupled ? "adamw_step" : "adam_step";
  if (nl_check_group(op, n, lists, need) < 0) return -1;
#define NL_ADAM_DEV(sp, i)                                                                       \
  nl_dev_step(op, sp, NL_NN_OPT_ADAM,                                                            \
              (double[]){-(h->lr / (1 - pow(h->beta1, steps[i]))), sqrt(1 - pow(h->beta2, steps[i])), \
                         h->eps, h->beta1, h->beta2, 1 - h->beta1, 1 - h->beta2, h->weight_decay, \
                         1 - h->lr * h->weight_decay}, 9,                                        \
              (h->weight_decay != 0 ? NL_NN_F_WD : 0) | (h->decoupled ? NL_NN_F_DECOUPLED : 0) | \
              (h->amsgrad ? NL_NN_F_AMSGRAD : 0) | (h->maximize ? NL_NN_F_MAXIMIZE : 0))
  NL_FOR_PARAMS(n, lists, NL_ADAM_BODY, NL_ADAM_DEV)
  return 0;
}

/* ---- RMSprop ---------------------------------------------------------------------------------- */
#define NL_RMSPROP_BODY(T)                                                                    \
  {                                                                                           \
    T *P = NL_PTR(T, s, 0), *G = NL_PTR(T, s, 1), *SQ = NL_PTR(T, s, 2), *GA = NL_PTR(T, s, 3); \
    T *B = NL_PTR(T, s, 4);                                                                   \
    const T wd = (T)h->weight_decay, a = (T)h->alpha, oa = (T)(1 - h->alpha);                 \
    const T eps = (T)h->eps, mom = (T)h->momentum, nlr = (T)-h->lr;                           \
    const bool use_wd = h->weight_decay != 0, cen = h->centered, use_mom = h->momentum > 0;   \
    const bool mx = h->maximize;                                                              \
    NL_OMP_FOR_IF(ne >= NL_OPTIM_GRAIN,                    \
    for (int64_t j = 0; j < ne; j++) {                                                        \
      T g = mx ? -G[j] : G[j];                                                                \
      if (use_wd) g = g + wd * P[j];                                                          \
      T sq = SQ[j] * a + oa * g * g;                                                          \
      SQ[j] = sq;                                                                             \
      T avg;                                                                                  \
      if (cen) {                                                                              \
        T ga = GA[j] * a + oa * g;                                                            \
        GA[j] = ga;                                                                           \
        avg = NL_SQRT(sq + (T)-1 * ga * ga);                                                     \
      } else {                                                                                \
        avg = NL_SQRT(sq);                                                                       \
      }                                                                                       \
      avg = avg + eps;                                                                        \
      if (use_mom) {                                                                          \
        T b = B[j] * mom + g / avg;                                                           \
        B[j] = b;                                                                             \
        P[j] = P[j] + nlr * b;                                                                \
      } else {                                                                                \
        P[j] = P[j] + nlr * (g / avg);                                                        \
      }                                                                                       \
    });                                                                                         \
  }

int nl_rmsprop_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                    nl_tensor *const *square_avgs, nl_tensor *const *grad_avgs,
                    nl_tensor *const *bufs, const nl_rmsprop_hp *h) {
  nl_tensor *const *lists[NL_OPTIM_SLOTS] = {params, grads, square_avgs,
                                             h->centered ? grad_avgs : NULL,
                                             h->momentum > 0 ? bufs : NULL};
  const bool need[NL_OPTIM_SLOTS] = {true, true, true, h->centered, h->momentum > 0};
  if (nl_check_group("rmsprop_step", n, lists, need) < 0) return -1;
#define NL_RMSPROP_DEV(sp, i)                                                                    \
  nl_dev_step("rmsprop_step", sp, NL_NN_OPT_RMSPROP,                                             \
              (double[]){h->weight_decay, h->alpha, 1 - h->alpha, h->eps, h->momentum, -h->lr}, 6, \
              (h->weight_decay != 0 ? NL_NN_F_WD : 0) | (h->centered ? NL_NN_F_CENTERED : 0) |   \
              (h->momentum > 0 ? NL_NN_F_MOM : 0) | (h->maximize ? NL_NN_F_MAXIMIZE : 0))
  NL_FOR_PARAMS(n, lists, NL_RMSPROP_BODY, NL_RMSPROP_DEV)
  return 0;
}

/* ---- Adagrad ---------------------------------------------------------------------------------- */
#define NL_ADAGRAD_BODY(T)                                                                    \
  {                                                                                           \
    T *P = NL_PTR(T, s, 0), *G = NL_PTR(T, s, 1), *S = NL_PTR(T, s, 2);                       \
    const double clr = h->lr / (1 + (steps[i] - 1) * h->lr_decay);                            \
    const T nclr = (T)-clr, wd = (T)h->weight_decay, eps = (T)h->eps;                         \
    const bool use_wd = h->weight_decay != 0, mx = h->maximize;                               \
    NL_OMP_FOR_IF(ne >= NL_OPTIM_GRAIN,                    \
    for (int64_t j = 0; j < ne; j++) {                                                        \
      T g = mx ? -G[j] : G[j];                                                                \
      if (use_wd) g = g + wd * P[j];                                                          \
      T sum = S[j] + (T)1 * g * g;                                                            \
      S[j] = sum;                                                                             \
      T std = NL_SQRT(sum) + eps;                                                                \
      P[j] = P[j] + nclr * (g / std);                                                         \
    });                                                                                         \
  }

int nl_adagrad_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                    nl_tensor *const *sums, const double *steps, const nl_adagrad_hp *h) {
  nl_tensor *const *lists[NL_OPTIM_SLOTS] = {params, grads, sums, NULL, NULL};
  const bool need[NL_OPTIM_SLOTS] = {true, true, true, false, false};
  if (nl_check_group("adagrad_step", n, lists, need) < 0) return -1;
#define NL_ADAGRAD_DEV(sp, i)                                                                    \
  nl_dev_step("adagrad_step", sp, NL_NN_OPT_ADAGRAD,                                             \
              (double[]){-(h->lr / (1 + (steps[i] - 1) * h->lr_decay)), h->weight_decay, h->eps}, 3, \
              (h->weight_decay != 0 ? NL_NN_F_WD : 0) | (h->maximize ? NL_NN_F_MAXIMIZE : 0))
  NL_FOR_PARAMS(n, lists, NL_ADAGRAD_BODY, NL_ADAGRAD_DEV)
  return 0;
}

/* ---- Adadelta --------------------------------------------------------------------------------- */
#define NL_ADADELTA_BODY(T)                                                                   \
  {                                                                                           \
    T *P = NL_PTR(T, s, 0), *G = NL_PTR(T, s, 1), *SQ = NL_PTR(T, s, 2), *AD = NL_PTR(T, s, 3); \
    const T wd = (T)h->weight_decay, rho = (T)h->rho, orho = (T)(1 - h->rho);                 \
    const T eps = (T)h->eps, nlr = (T)-h->lr;                                                 \
    const bool use_wd = h->weight_decay != 0, mx = h->maximize;                               \
    NL_OMP_FOR_IF(ne >= NL_OPTIM_GRAIN,                    \
    for (int64_t j = 0; j < ne; j++) {                                                        \
      T g = mx ? -G[j] : G[j];                                                                \
      if (use_wd) g = g + wd * P[j];                                                          \
      T sq = SQ[j] * rho + orho * g * g;                                                      \
      SQ[j] = sq;                                                                             \
      T std = NL_SQRT(sq + eps);                                                                 \
      T delta = NL_SQRT(AD[j] + eps) / std * g;                                                  \
      AD[j] = AD[j] * rho + orho * delta * delta;                                             \
      P[j] = P[j] + nlr * delta;                                                              \
    });                                                                                         \
  }

int nl_adadelta_step(int n, nl_tensor *const *params, nl_tensor *const *grads,
                     nl_tensor *const *square_avgs, nl_tensor *const *acc_deltas,
                     const nl_adadelta_hp *h) {
  nl_tensor *const *lists[NL_OPTIM_SLOTS] = {params, grads, square_avgs, acc_deltas, NULL};
  const bool need[NL_OPTIM_SLOTS] = {true, true, true, true, false};
  if (nl_check_group("adadelta_step", n, lists, need) < 0) return -1;
#define NL_ADADELTA_DEV(sp, i)                                                                   \
  nl_dev_step("adadelta_step", sp, NL_NN_OPT_ADADELTA,                                           \
              (double[]){h->weight_decay, h->rho, 1 - h->rho, h->eps, -h->lr}, 5,                \
              (h->weight_decay != 0 ? NL_NN_F_WD : 0) | (h->maximize ? NL_NN_F_MAXIMIZE : 0))
  NL_FOR_PARAMS(n, lists, NL_ADADELTA_BODY, NL_ADADELTA_DEV)
  return 0;
}
