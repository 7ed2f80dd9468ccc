/* ops.c: op names and dispatch to the backend kernel tables. */
#include <ctype.h>
#include <string.h>

#include "nl_cuda.h"
#include "nl_iter.h"
#include "nl_kernel.h"

#define NL_OP(name, family) #name,
static const char *const nl_op_upper[] = {
#include "ops.def"
};
#undef NL_OP
_Static_assert(sizeof nl_op_upper / sizeof *nl_op_upper == NL_OP_COUNT, "ops.def and the name table disagree");

static char nl_op_lower[NL_OP_COUNT][24];

const char *nl_op_name(nl_op op) {
  if ((unsigned)op >= NL_OP_COUNT) return "?";
  if (!nl_op_lower[op][0]) {
    const char *s = nl_op_upper[op];
    size_t i = 0;
    for (; s[i] && i < sizeof nl_op_lower[op] - 1; i++) nl_op_lower[op][i] = (char)tolower((unsigned char)s[i]);
    nl_op_lower[op][i] = 0;
  }
  return nl_op_lower[op];
}

const nl_backend *nl_cuda_backend;
int (*nl_cross_device_copy)(nl_tensor *dst, const nl_tensor *src);

int nl_broadcast_shape_check(const nl_tensor *a, const nl_tensor *b, int64_t *out) {
  return nl_broadcast_shape("broadcast", a->ndim, a->shape, b->ndim, b->shape, out);
}

int nl_run(nl_op op, const nl_kargs *a) {
  nl_device dev = nl_device_of(a->out);
  /* Every operand must live on out's device (front ends that check earlier give their own
   * message; this is the central backstop: "add: expected all tensors on the same device,
   * got cpu and cuda:0"). */
  const nl_tensor *ops[5] = {a->in[0], a->in[1], a->in[2], a->in[3], a->out2};
  for (int k = 0; k < 5; k++)
    if (ops[k] && !nl_device_eq(nl_device_of(ops[k]), dev)) {
      char d1[32], d2[32];
      nl_device_name(dev, d1, sizeof d1);
      nl_device_name(nl_device_of(ops[k]), d2, sizeof d2);
      return nl_failc("%s: expected all tensors on the same device, got %s and %s", nl_op_name(op), d1, d2);
    }
  const nl_backend *be = dev.type == NL_CPU ? &nl_cpu_backend : nl_cuda_backend;
  if (!be) return nl_failc("%s: nnlua was built without CUDA support", nl_op_name(op));
  nl_kernel_fn fn = be->kernels[op];
  if (!fn) return nl_failc("%s is not implemented on %s", nl_op_name(op), be->name);
  fn(a);
  if (dev.type == NL_CUDA && nl_cuda_take_error()) return -1; /* launch or cuBLAS failure */
  return 0;
}
