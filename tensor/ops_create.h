/* ops_create.h: creation front ends beyond nl_empty/nl_zeros/nl_full (ops_create.c). */
#ifndef NL_OPS_CREATE_H
#define NL_OPS_CREATE_H
#include "nl_tensor.h"

/* start, start+step, ... < stop (> stop for a negative step); ceil((stop-start)/step)
 * elements, as PyTorch. Errors for step 0 and a step of the wrong sign. */
nl_tensor *nl_arange(double start, double stop, double step, nl_dtype dt, nl_device dev);
/* n points from a to b inclusive (PyTorch's two-sided formula, ends exact). */
nl_tensor *nl_linspace(double a, double b, int64_t n, nl_dtype dt, nl_device dev);
/* (n, m) with ones on the diagonal. */
nl_tensor *nl_eye(int64_t n, int64_t m, nl_dtype dt, nl_device dev);
#endif
