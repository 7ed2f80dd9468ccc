/* ops_linalg.h: front ends of the linalg family (conventions in nl_ops.h).
 *
 * Every product runs through one kernel, NL_OP_GEMM (tensor/cpu/gemm.c): nl_sgemm (nnlua's
 * AVX-512 kernel or OpenBLAS, nl_sgemm.h) for float32, OpenBLAS dgemm for float64, a plain
 * loop for integer dtypes. Inputs must have the
 * same dtype and device (PyTorch's rule for mm/matmul); errors name the op and both shapes:
 * "matmul: cannot multiply shapes [2, 3] and [4, 5] (3 ~= 4)". */
#ifndef NL_OPS_LINALG_H
#define NL_OPS_LINALG_H
#include <stdbool.h>

#include "nl_tensor.h"

/* PyTorch's matmul: 1-D.1-D -> 0-d dot; 2-D.1-D -> mv; 1-D.2-D -> (1, K)@(K, N) then the
 * 1 is removed; 2-D.2-D -> mm; N-D: batched over the broadcast of the leading dims. */
nl_tensor *nl_matmul(const nl_tensor *a, const nl_tensor *b);
nl_tensor *nl_mm(const nl_tensor *a, const nl_tensor *b);   /* (M, K) @ (K, N) -> (M, N) */
nl_tensor *nl_bmm(const nl_tensor *a, const nl_tensor *b);  /* (B, M, K) @ (B, K, N) -> (B, M, N) */
nl_tensor *nl_mv(const nl_tensor *a, const nl_tensor *v);   /* (M, K) @ (K) -> (M) */
nl_tensor *nl_dot(const nl_tensor *a, const nl_tensor *b);  /* (K) . (K) -> 0-d */
nl_tensor *nl_outer(const nl_tensor *a, const nl_tensor *b); /* (M) x (N) -> (M, N), promotes */
/* beta * input + alpha * (m1 @ m2); input broadcasts to (M, N). beta == 0 ignores input
 * (NaN in it does not propagate), as PyTorch. */
nl_tensor *nl_addmm(const nl_tensor *input, const nl_tensor *m1, const nl_tensor *m2, double beta,
                    double alpha);

/* Can a rows x cols matrix with element strides (sr, sc) go to BLAS without a copy?
 * Row-major: NoTrans with ld = sr when its rows are dense, Trans with ld = sc when its
 * columns are (a transposed view). Shared by the front ends and the GEMM kernels. */
bool nl_gemm_layout(int64_t rows, int64_t cols, int64_t sr, int64_t sc, bool *trans, int64_t *ld);

/* Threads of the CPU kernels (OpenMP) and of OpenBLAS, set together. OpenBLAS is never
 * called inside an OpenMP parallel region, so the two pools never run at once. */
void nl_set_num_threads(int n);
int nl_get_num_threads(void);
#endif
