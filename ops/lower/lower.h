/* Lowering hooks: how a node becomes calls of the portable kernels (ops/kernels/) with
 * constant shapes, for the code generators (the JIT in jit/, later the AOT bundle writer).
 * One hook per op, listed in ops/lower/lower.def; an op without a hook is not lowered
 * (the program stays on the executor).
 *
 * A hook sees the node with every input's and output's dtype and shape known and the data
 * of constant inputs set (other inputs' data is NULL), and appends kernel calls: the
 * kernel's symbol and its arguments, each a buffer reference (a value of the program's
 * graph plus a byte offset), the step's scratch region, NULL, an integer, a float, or a
 * parameter blob (bytes the hook fills, e.g. a k_bcast or k_conv_geom, that the kernel
 * reads through a pointer; the code generator makes it a constant the optimizer can see).
 * Integer and float arguments are converted to the kernel parameter's type by the code
 * generator, which reads the signatures from the kernels' bitcode. */
#ifndef EMBER_LOWER_H
#define EMBER_LOWER_H
#include <stddef.h>
#include <stdint.h>

#include "../op.h"

#define EMBER_LOWER_MAX_ARGS 16

typedef enum {
    EMBER_LARG_VALUE,   /* pointer: value `value` + byte offset `i` */
    EMBER_LARG_SCRATCH, /* pointer: the step's scratch + byte offset `i` */
    EMBER_LARG_NULL,    /* a null pointer */
    EMBER_LARG_INT,     /* integer `i` */
    EMBER_LARG_FLOAT,   /* floating-point `f` */
    EMBER_LARG_BLOB,    /* pointer to blob `value` (an index into the lowering's blobs) */
} ember_larg_kind;

typedef struct ember_larg {
    ember_larg_kind kind;
    int value;
    int64_t i;
    double f;
} ember_larg;

typedef struct ember_lcall {
    const char *fn; /* kernel symbol (static string) */
    int step;       /* program step it belongs to */
    int n_args;
    ember_larg args[EMBER_LOWER_MAX_ARGS];
} ember_lcall;

typedef struct ember_lblob {
    void *data; /* owned */
    size_t bytes;
} ember_lblob;

/* A lowered program: every step's calls in order, and the blobs they point to. */
typedef struct ember_lowered {
    int n_calls, cap_calls;
    ember_lcall *calls;
    int n_blobs, cap_blobs;
    ember_lblob *blobs;
    int step; /* the step being lowered (stamped on new calls) */
    /* The scratch bytes the step being lowered uses: set to the reference kernel's
     * request before its hook runs; a hook that needs less (its kernel calls skip the
     * reference glue's copies) lowers it, so a bundle's arena does not carry the rest. */
    size_t scratch;
    size_t *step_scratch; /* per program step, what `scratch` ended as (n_steps entries) */
    int n_steps;
} ember_lowered;

/* A hook: appends the calls computing c->node's outputs. EMBER_E_UNSUPPORTED (with a
 * message) declines: the node's configuration has no kernel form here. */
typedef ember_status (*ember_lower_fn)(ember_lowered *L, const ember_op_ctx *c);

/* The hook for op (enum ember_op), or NULL. */
ember_lower_fn ember_lower_for(int op);

/* Appends a call of fn with n args; fails only when out of memory. */
ember_status ember_lower_call(ember_lowered *L, const char *fn, int n, const ember_larg *args);
/* Copies `bytes` bytes into a new blob; its index, or -1 when out of memory. */
int ember_lower_blob(ember_lowered *L, const void *data, size_t bytes);
void ember_lowered_free(ember_lowered *L); /* frees the arrays, keeps the struct */

/* Appends k_copy_strided(src, dst, rank, dims, sstride, dstride, es) with the arrays as
 * blobs (strides in elements). */
ember_status ember_lower_copy_strided(ember_lowered *L, ember_larg src, ember_larg dst, int rank,
                                      const int64_t *dims, const int64_t *sstride,
                                      const int64_t *dstride, size_t es);

static inline ember_larg ember_larg_value(int value, int64_t byte_off)
{
    return (ember_larg){.kind = EMBER_LARG_VALUE, .value = value, .i = byte_off};
}
static inline ember_larg ember_larg_scratch(int64_t byte_off)
{
    return (ember_larg){.kind = EMBER_LARG_SCRATCH, .i = byte_off};
}
static inline ember_larg ember_larg_null(void) { return (ember_larg){.kind = EMBER_LARG_NULL}; }
static inline ember_larg ember_larg_int(int64_t v) { return (ember_larg){.kind = EMBER_LARG_INT, .i = v}; }
static inline ember_larg ember_larg_float(double v) { return (ember_larg){.kind = EMBER_LARG_FLOAT, .f = v}; }
static inline ember_larg ember_larg_blob(int blob) { return (ember_larg){.kind = EMBER_LARG_BLOB, .value = blob}; }

/* Shorthands for hooks: input k / output o of the node (+ byte offset). */
#define LIN(c, k, off) ember_larg_value((c)->node->inputs[k], (off))
#define LOUT(c, o, off) ember_larg_value((c)->node->outputs[o], (off))
#define LI(v) ember_larg_int(v)
#define LF(v) ember_larg_float(v)
#define LNULL ember_larg_null()

/* Appends a call; `...` are ember_larg values. */
#define EMBER_LCALL(L, fn, ...)                                                            \
    ember_lower_call((L), (fn), (int)(sizeof((ember_larg[]){__VA_ARGS__}) / sizeof(ember_larg)), \
                     (ember_larg[]){__VA_ARGS__})
#endif
