/* ltensor.h: helpers shared by the Lua bindings (vm/l*.c). Only vm/ includes lua.h.
 *
 * Conventions of every binding:
 * - check all arguments first (luaL_* raise a Lua error before anything is allocated);
 * - call the C front end; a NULL/negative result becomes a Lua error with nl_error();
 * - nl_lua_push consumes the reference it is given (push the result of a front end directly);
 * - dims and indices are 1-based in Lua, negative from the end; 0-based in C. */
#ifndef NL_LTENSOR_H
#define NL_LTENSOR_H

#include <lauxlib.h>
#include <lua.h>

#include "../tensor/nl_tensor.h"

#define NL_TENSOR_MT "nnlua.Tensor"
#define NL_SIZE_MT "nnlua.Size"

/* The tensor at idx, or NULL when the value is not a tensor. */
nl_tensor *nl_lua_to(lua_State *L, int idx);
/* The tensor at idx, or a Lua error naming the argument. */
nl_tensor *nl_lua_check(lua_State *L, int idx);
/* Pushes t (consuming the caller's reference). The same nl_tensor always gets the same
 * userdata while one is alive, so t.grad == t.grad. t == NULL raises nl_error(). */
void nl_lua_push(lua_State *L, nl_tensor *t);
/* Raises nl_error() as a Lua error (never returns). */
int nl_lua_error(lua_State *L);
/* Raises nl_error() when status < 0. */
static inline void nl_lua_check_status(lua_State *L, int status) { if (status < 0) nl_lua_error(L); }

/* Lua dim (1-based, negative from the end) -> 0-based dim of a tensor with ndim dims. With
 * allow_end, ndim+1 is valid too (unsqueeze, stack). Raises a Lua error naming op. */
int nl_lua_dim(lua_State *L, const char *op, lua_Integer d, int ndim, int allow_end);
/* Shape from varargs at [idx, last] or one table / Size at idx. Returns ndim. */
int nl_lua_shape(lua_State *L, const char *op, int idx, int last, int64_t *shape);
/* Index of a trailing options table (string keys) among the arguments, or 0. */
int nl_lua_opts(lua_State *L);
/* Options: field of the options table at idx (0 = none) with a default. */
int nl_lua_opt_dtype(lua_State *L, int opts, const char *field, int def);   /* -1 allowed as def */
nl_device nl_lua_opt_device(lua_State *L, int opts, nl_device def);
int nl_lua_opt_bool(lua_State *L, int opts, const char *field, int def);
lua_Number nl_lua_opt_number(lua_State *L, int opts, const char *field, lua_Number def);
/* dtype from a string argument ("float32", torch.float64, "long", ...). */
nl_dtype nl_lua_checkdtype(lua_State *L, int idx);
nl_device nl_lua_checkdevice(lua_State *L, int idx);
/* Converts a tensor, number, boolean or nested table at idx into a tensor (new reference).
 * Numbers follow API.md: integers -> int64, floats -> default dtype, booleans -> bool. */
nl_tensor *nl_lua_totensor(lua_State *L, int idx, int dtype /* -1: infer */, nl_device dev);
/* Pushes a Size (a Lua table with the nnlua.Size metatable) for shape. */
void nl_lua_pushsize(lua_State *L, int ndim, const int64_t *shape);

/* Registration of functions: NL_BOTH = torch.name and t:name(), NL_FN = torch only,
 * NL_METHOD = t:name() only. Stack on entry to a family's open function: torch table at -2,
 * methods table at -1. */
enum { NL_BOTH = 3, NL_FN = 1, NL_METHOD = 2 };
typedef struct nl_lua_reg { const char *name; lua_CFunction fn; int where; } nl_lua_reg;
void nl_lua_register(lua_State *L, const nl_lua_reg *regs);
/* Attribute getters and setters (t.shape, t.grad = g): name -> C function(t). */
void nl_lua_getter(lua_State *L, const char *name, lua_CFunction fn);
void nl_lua_setter(lua_State *L, const char *name, lua_CFunction fn);

/* Families (each in its own vm/lt_*.c file). */
void nl_lua_open_create(lua_State *L);     /* lt_create.c: tensor, zeros, arange, rand, ... */
void nl_lua_open_math(lua_State *L);       /* lt_math.c: arithmetic, comparisons, metamethods */
void nl_lua_open_reduce(lua_State *L);     /* lt_reduce.c: sum, mean, max, softmax, ... */
void nl_lua_open_shape(lua_State *L);      /* lt_shape.c: view, reshape, transpose, cat, ... */
void nl_lua_open_index(lua_State *L);      /* lt_index.c: t[i], gather, scatter, masked_* */
void nl_lua_open_linalg(lua_State *L);     /* lt_linalg.c: matmul, mm, bmm, ... */
void nl_lua_open_convert(lua_State *L);    /* lt_convert.c: to, float, item, tolist, ... */
void nl_lua_open_util(lua_State *L);       /* lt_util.c: torch.time */
void nl_lua_open_print(lua_State *L);      /* lt_print.c: printer helpers, CPU memory probes */
void nl_lua_open_autograd(lua_State *L);   /* lautograd.c: requires_grad, grad, backward, hooks */
void nl_lua_open_io(lua_State *L);         /* lt_io.c: checkpoint files (torch.save / load) */
void nl_lua_open_nn(lua_State *L);         /* lnn.c: torch._nn.* (nn kernels, forward and backward) */
void nl_lua_open_print(lua_State *L);
void nl_lua_open_autograd(lua_State *L);  /* lautograd.c: requires_grad, grad, backward, hooks */      /* lt_print.c: printer helpers, CPU memory probes */
void nl_lua_open_optim(lua_State *L);     /* loptim.c: torch._optim multi-tensor optimizer steps */

/* Indexing hooks used by the metatable (lt_index.c): t[k] and t[k] = v with non-string k. */
int nl_lua_index_get(lua_State *L);   /* (t, k) -> value */
int nl_lua_index_set(lua_State *L);   /* (t, k, v) */

#endif
