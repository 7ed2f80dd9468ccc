/* optim.cu: fused optimizer steps on CUDA (NL_NN_OPTIM of nn/nl_nn_kernel.h).
 *
 * One launch per parameter tensor (the front end, nn/optim_update.c, loops over the group
 * and stages contiguous tensors exactly as on the CPU). The element formulas are
 * nn/optim_update.c's, operation for operation, with the same scalars rounded to T on the
 * host side's values (passed as doubles, cast here like the CPU's (T) casts), so float64
 * trajectories match the CPU's to rounding of sqrt/division (IEEE on both) and float32 ones
 * to float rounding. FMA contraction is disabled (__fadd_rn-free code compiled with
 * -fmad=true would fuse a*b+c): the kernels use explicit __dmul_rn/__fmul_rn where a fused
 * multiply-add would change the rounding. */
#include "nl_cu.cuh"
#include "nl_cuda_nn.h" /* nn/nl_nn_kernel.h and the kernels' declarations */

/* Exact (unfused) multiply so that x*y + z rounds like the CPU's separate operations. */
__device__ __forceinline__ float nl_mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double nl_mul(double a, double b) { return __dmul_rn(a, b); }
/* Correctly rounded square roots in T (the CPU's sqrtf / sqrt). */
__device__ __forceinline__ float nl_sqrt(float a) { return sqrtf(a); }
__device__ __forceinline__ double nl_sqrt(double a) { return sqrt(a); }

template <typename T>
__global__ void nl_sgd_k(int64_t ne, T *P, const T *G, T *B, T wd, T mom, T damp1, T nlr, int f) {
  const bool use_wd = f & NL_NN_F_WD, use_mom = f & NL_NN_F_MOM, fst = f & NL_NN_F_FIRST;
  const bool nes = f & NL_NN_F_NESTEROV, mx = f & NL_NN_F_MAXIMIZE;
  NL_CU_LOOP(j, ne) {
    T d = mx ? -G[j] : G[j];
    if (use_wd) d = d + nl_mul(wd, P[j]);
    if (!use_mom) {
      P[j] = P[j] + nl_mul(nlr, d);
    } else if (fst) {
      B[j] = d;
      d = nes ? d + nl_mul(mom, d) : d;
      P[j] = P[j] + nl_mul(nlr, d);
    } else {
      T b = nl_mul(B[j], mom) + nl_mul(damp1, d);
      B[j] = b;
      d = nes ? d + nl_mul(mom, b) : b;
      P[j] = P[j] + nl_mul(nlr, d);
    }
  }
}

/* sc: nss, bc2s, eps, b1, b2, ob1, ob2, wd, decay */
template <typename T>
__global__ void nl_adam_k(int64_t ne, T *P, const T *G, T *M, T *V, T *VM, T nss, T bc2s, T eps,
                          T b1, T b2, T ob1, T ob2, T wd, T decay, int f) {
  const bool dec = f & NL_NN_F_DECOUPLED, cwd = !dec && (f & NL_NN_F_WD);
  const bool mx = f & NL_NN_F_MAXIMIZE, ams = f & NL_NN_F_AMSGRAD;
  NL_CU_LOOP(j, ne) {
    T g = mx ? -G[j] : G[j];
    T p = P[j];
    if (dec) p = nl_mul(p, decay);
    if (cwd) g = g + nl_mul(wd, p);
    T m = nl_mul(M[j], b1) + nl_mul(ob1, g);
    T v = nl_mul(V[j], b2) + nl_mul(nl_mul(ob2, g), g);
    M[j] = m;
    V[j] = v;
    if (ams) {
      T vm = VM[j];
      vm = (vm > v || isnan(vm)) ? vm : v; /* torch.maximum propagates NaN */
      VM[j] = vm;
      v = vm;
    }
    T denom = nl_sqrt(v) / bc2s + eps;
    P[j] = p + nl_mul(nss, m / denom);
  }
}

/* sc: wd, alpha, 1-alpha, eps, momentum, -lr */
template <typename T>
__global__ void nl_rmsprop_k(int64_t ne, T *P, const T *G, T *SQ, T *GA, T *B, T wd, T a, T oa,
                             T eps, T mom, T nlr, int f) {
  const bool use_wd = f & NL_NN_F_WD, cen = f & NL_NN_F_CENTERED, use_mom = f & NL_NN_F_MOM;
  const bool mx = f & NL_NN_F_MAXIMIZE;
  NL_CU_LOOP(j, ne) {
    T g = mx ? -G[j] : G[j];
    if (use_wd) g = g + nl_mul(wd, P[j]);
    T sq = nl_mul(SQ[j], a) + nl_mul(nl_mul(oa, g), g);
    SQ[j] = sq;
    T avg;
    if (cen) {
      T ga = nl_mul(GA[j], a) + nl_mul(oa, g);
      GA[j] = ga;
      avg = nl_sqrt(sq + nl_mul(nl_mul((T)-1, ga), ga));
    } else {
      avg = nl_sqrt(sq);
    }
    avg = avg + eps;
    if (use_mom) {
      T b = nl_mul(B[j], mom) + g / avg;
      B[j] = b;
      P[j] = P[j] + nl_mul(nlr, b);
    } else {
      P[j] = P[j] + nl_mul(nlr, g / avg);
    }
  }
}

/* sc: -clr, wd, eps */
template <typename T>
__global__ void nl_adagrad_k(int64_t ne, T *P, const T *G, T *S, T nclr, T wd, T eps, int f) {
  const bool use_wd = f & NL_NN_F_WD, mx = f & NL_NN_F_MAXIMIZE;
  NL_CU_LOOP(j, ne) {
    T g = mx ? -G[j] : G[j];
    if (use_wd) g = g + nl_mul(wd, P[j]);
    T sum = S[j] + nl_mul(nl_mul((T)1, g), g);
    S[j] = sum;
    T sd = nl_sqrt(sum) + eps;
    P[j] = P[j] + nl_mul(nclr, g / sd);
  }
}

/* sc: wd, rho, 1-rho, eps, -lr */
template <typename T>
__global__ void nl_adadelta_k(int64_t ne, T *P, const T *G, T *SQ, T *AD, T wd, T rho, T orho,
                              T eps, T nlr, int f) {
  const bool use_wd = f & NL_NN_F_WD, mx = f & NL_NN_F_MAXIMIZE;
  NL_CU_LOOP(j, ne) {
    T g = mx ? -G[j] : G[j];
    if (use_wd) g = g + nl_mul(wd, P[j]);
    T sq = nl_mul(SQ[j], rho) + nl_mul(nl_mul(orho, g), g);
    SQ[j] = sq;
    T sd = nl_sqrt(sq + eps);
    T delta = nl_mul(nl_sqrt(AD[j] + eps) / sd, g);
    AD[j] = nl_mul(AD[j], rho) + nl_mul(nl_mul(orho, delta), delta);
    P[j] = P[j] + nl_mul(nlr, delta);
  }
}

#define NL_IO(T, k) (a->io[k] ? (T *)nl_data(a->io[k]) : (T *)NULL)

template <typename T> static void nl_optim_run(const nl_nn_kargs *a) {
  int64_t ne = nl_numel(a->io[0]);
  if (ne == 0) return;
  unsigned nb = nl_cu_blocks(ne);
  const double *s = a->sc;
  T *P = NL_IO(T, 0), *G = NL_IO(T, 1), *S1 = NL_IO(T, 2), *S2 = NL_IO(T, 3), *S3 = NL_IO(T, 4);
  switch (a->kind) {
  case NL_NN_OPT_SGD:
    nl_sgd_k<T><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(ne, P, G, S1, (T)s[0], (T)s[1], (T)s[2], (T)s[3], a->flags);
    break;
  case NL_NN_OPT_ADAM:
    nl_adam_k<T><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(ne, P, G, S1, S2, S3, (T)s[0], (T)s[1], (T)s[2], (T)s[3],
                                                           (T)s[4], (T)s[5], (T)s[6], (T)s[7], (T)s[8], a->flags);
    break;
  case NL_NN_OPT_RMSPROP:
    nl_rmsprop_k<T><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(ne, P, G, S1, S2, S3, (T)s[0], (T)s[1], (T)s[2], (T)s[3],
                                                              (T)s[4], (T)s[5], a->flags);
    break;
  case NL_NN_OPT_ADAGRAD:
    nl_adagrad_k<T><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(ne, P, G, S1, (T)s[0], (T)s[1], (T)s[2], a->flags);
    break;
  default:
    nl_adadelta_k<T><<<nb, NL_CU_THREADS, 0, nl_cu_stream()>>>(ne, P, G, S1, S2, (T)s[0], (T)s[1], (T)s[2], (T)s[3],
                                                               (T)s[4], a->flags);
    break;
  }
  nl_cu_check_launch("optimizer step");
}

void nl_cuda_nn_optim(const nl_nn_kargs *a) {
  if (a->io[0]->dtype == NL_FLOAT32) nl_optim_run<float>(a);
  else nl_optim_run<double>(a);
}
