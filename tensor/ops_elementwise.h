/* ops_elementwise.h: front ends of the elementwise family (conventions in nl_ops.h).
 *
 * Operands that may be a tensor or a number are passed as nl_arg: numbers take part in type
 * promotion as PyTorch's "wrapped numbers" (an integer with an int32 tensor stays int32, a
 * float with an int tensor gives the default dtype). Result dtypes follow PyTorch's
 * result_type: dimensioned tensors > 0-d tensors > numbers, unless a lower participant is of
 * a higher category (bool < integer < float).
 *
 * Every function with an `out` parameter writes into out when it is not NULL (out must have
 * the result's shape, or zero elements: it is then resized; the result dtype must be
 * castable to out's dtype) and returns out with one more reference. */
#ifndef NL_OPS_ELEMENTWISE_H
#define NL_OPS_ELEMENTWISE_H
#include "nl_kernel.h"
#include "nl_tensor.h"

enum { NL_ARG_NONE = 0, NL_ARG_TENSOR, NL_ARG_FLOAT, NL_ARG_INT, NL_ARG_BOOL };

typedef struct nl_arg {
  int kind;            /* NL_ARG_* */
  const nl_tensor *t;  /* NL_ARG_TENSOR */
  double v;            /* the number (all number kinds) */
  int64_t iv;          /* exact value for NL_ARG_INT / NL_ARG_BOOL */
} nl_arg;

static inline nl_arg nl_arg_tensor(const nl_tensor *t) { nl_arg a = {NL_ARG_TENSOR, t, 0, 0}; return a; }
static inline nl_arg nl_arg_float(double v) { nl_arg a = {NL_ARG_FLOAT, NULL, v, (int64_t)v}; return a; }
static inline nl_arg nl_arg_int(int64_t v) { nl_arg a = {NL_ARG_INT, NULL, (double)v, v}; return a; }
static inline nl_arg nl_arg_bool(bool v) { nl_arg a = {NL_ARG_BOOL, NULL, v ? 1 : 0, v ? 1 : 0}; return a; }
static inline nl_arg nl_arg_none(void) { nl_arg a = {NL_ARG_NONE, NULL, 0, 0}; return a; }

/* PyTorch's result_type over n operands (NL_ARG_NONE entries are skipped). */
nl_dtype nl_result_type(int n, const nl_arg *args);
/* PyTorch's can_cast: float -> int/bool and int -> bool are not allowed. */
bool nl_can_cast(nl_dtype from, nl_dtype to);
/* The user-facing name of an elementwise op ("floor_divide" for NL_OP_FLOORDIV). */
const char *nl_elementwise_name(nl_op op);

/* ---- unary: NEG .. ISINF of ops.def -------------------------------------------------- */
/* Float-only ops (exp, sin, ...) promote integer and bool inputs to the default dtype;
 * neg abs relu sign floor ceil round trunc keep integer dtypes; logical_not isnan isinf
 * give bool. */
nl_tensor *nl_unary(nl_op op, const nl_tensor *a);
nl_tensor *nl_unary_out(nl_op op, const nl_tensor *a, nl_tensor *out);
int nl_unary_(nl_op op, nl_tensor *a); /* in place; bumps a's version */

/* ---- binary: ADD .. LOGICAL_OR of ops.def, with broadcasting --------------------------- */
/* alpha scales b for ADD and SUB (an integer for integer results), ignored otherwise.
 * Comparisons and logical ops give bool; DIV of integers is true division (default dtype).
 * Integer FLOORDIV / REMAINDER / FMOD by zero fail ("floor_divide: integer division by
 * zero"); POW of integers with a negative number exponent fails. */
nl_tensor *nl_binary(nl_op op, const nl_tensor *a, const nl_tensor *b, double alpha);
/* a op v (or v op a when scalar_first); v is an integer when v_is_int. */
nl_tensor *nl_binary_scalar(nl_op op, const nl_tensor *a, double v, bool v_is_int, bool scalar_first);
/* The general form: tensors or numbers on either side (at least one tensor), optional out. */
nl_tensor *nl_binary_ex(nl_op op, nl_arg a, nl_arg b, double alpha, nl_tensor *out);
/* self <- self op b; the broadcast shape must be self's shape. Bumps self's version. */
int nl_binary_(nl_op op, nl_tensor *self, nl_arg b, double alpha);

/* ---- ternary --------------------------------------------------------------------------- */
/* cond (bool) ? a : b, all three broadcast; a and b tensors or numbers. */
nl_tensor *nl_where(const nl_tensor *cond, nl_arg a, nl_arg b);
/* min(max(x, lo), hi); lo or hi may be NL_ARG_NONE (not both). Type promotion over all. */
nl_tensor *nl_clamp(const nl_tensor *x, nl_arg lo, nl_arg hi, nl_tensor *out);
int nl_clamp_(nl_tensor *x, nl_arg lo, nl_arg hi);
/* start + weight * (end - start); start and end of one float dtype, weight a number or a
 * tensor of that dtype. */
nl_tensor *nl_lerp(const nl_tensor *start, const nl_tensor *end, nl_arg weight, nl_tensor *out);

/* ---- whole-tensor comparisons ------------------------------------------------------- */
/* 1 when same shape and equal values (after promotion), 0 when not, -1 on error. */
int nl_equal(const nl_tensor *a, const nl_tensor *b);
/* |a - b| <= atol + rtol * |b| elementwise (broadcast), NaN equal when equal_nan. */
nl_tensor *nl_isclose(const nl_tensor *a, const nl_tensor *b, double rtol, double atol, bool equal_nan);
/* 1 when every element is close, 0 when not, -1 on error (dtypes must match). */
int nl_allclose(const nl_tensor *a, const nl_tensor *b, double rtol, double atol, bool equal_nan);

/* ---- short names for autograd and C users ------------------------------------------- */
#define NL_EW_UNARY_NAMES(X)                                                              \
  X(neg, NEG) X(abs, ABS) X(exp, EXP) X(log, LOG) X(log1p, LOG1P) X(expm1, EXPM1)         \
  X(sqrt, SQRT) X(rsqrt, RSQRT) X(sin, SIN) X(cos, COS) X(tan, TAN) X(tanh, TANH)         \
  X(sigmoid, SIGMOID) X(relu, RELU) X(sign, SIGN) X(floor, FLOOR) X(ceil, CEIL)           \
  X(round, ROUND) X(trunc, TRUNC) X(logical_not, LOGICAL_NOT) X(isnan, ISNAN) X(isinf, ISINF)
#define NL_EW_UNARY_DEF(n, OP) \
  static inline nl_tensor *nl_##n(const nl_tensor *a) { return nl_unary(NL_OP_##OP, a); }
NL_EW_UNARY_NAMES(NL_EW_UNARY_DEF)
#undef NL_EW_UNARY_DEF

#define NL_EW_BINARY_NAMES(X)                                                             \
  X(mul, MUL) X(div, DIV) X(pow, POW) X(maximum, MAXIMUM) X(minimum, MINIMUM)             \
  X(fmod, FMOD) X(remainder, REMAINDER) X(floor_divide, FLOORDIV) X(eq, EQ) X(ne, NE)     \
  X(lt, LT) X(le, LE) X(gt, GT) X(ge, GE) X(logical_and, LOGICAL_AND) X(logical_or, LOGICAL_OR)
#define NL_EW_BINARY_DEF(n, OP)                                                          \
  static inline nl_tensor *nl_##n(const nl_tensor *a, const nl_tensor *b) {             \
    return nl_binary(NL_OP_##OP, a, b, 1);                                               \
  }
NL_EW_BINARY_NAMES(NL_EW_BINARY_DEF)
#undef NL_EW_BINARY_DEF
static inline nl_tensor *nl_add(const nl_tensor *a, const nl_tensor *b, double alpha) {
  return nl_binary(NL_OP_ADD, a, b, alpha);
}
static inline nl_tensor *nl_sub(const nl_tensor *a, const nl_tensor *b, double alpha) {
  return nl_binary(NL_OP_SUB, a, b, alpha);
}

#endif
