/* The operator interface: every op is one row of ops/ops.def with
 *   - an attribute schema, checked once at import ("axis:i perm:ints mode:s ..."),
 *   - infer(): shape/dtype rule and validation ("prepare"); runs at load time with
 *     partially known inputs (dims -1, data NULL) and again at run time with everything
 *     known; it must never read in[i]->data when it is NULL,
 *   - run(): the interpreter's invoke; computes outputs from inputs with the pure
 *     kernels of ops/kernels/ (no allocation: outputs and scratch are already allocated).
 * Nothing outside ops/ names an op. */
#ifndef EMBER_OP_H
#define EMBER_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../engine/graph.h"
#include "../engine/status.h"
#include "../engine/threadpool.h"
#include "ember.h"

/* A tensor as seen by an op. In infer, dims may be -1 (unknown), rank -1 (unknown) and
 * data NULL (not known yet); in run, everything is known. */
typedef struct ember_op_tensor {
    ember_dtype dtype;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    void *data;
    size_t nbytes;
    int32_t syms[EMBER_MAX_RANK]; /* symbolic dims (infer only), -1 if none */
} ember_op_tensor;

typedef struct ember_op_ctx {
    const ember_node *node;
    const ember_graph *graph;
    int opset;                 /* the node's domain opset */
    bool running;              /* false in load-time inference, true at run time */
    int n_in, n_out;
    ember_op_tensor **in;      /* in[i] NULL = optional input absent */
    ember_op_tensor **out;     /* out[i] NULL = optional output not wanted */
    size_t scratch_bytes;      /* infer may request scratch; run gets it in `scratch` */
    void *scratch;
    /* interpreter hook for ops with subgraphs (If/Loop/Scan); NULL when unavailable */
    void *interp;
    /* run() only: the run's intra-op threads (engine/threadpool.h); NULL = this thread */
    ember_threadpool *pool;
} ember_op_ctx;

typedef ember_status (*ember_op_infer_fn)(ember_op_ctx *c);
typedef ember_status (*ember_op_run_fn)(ember_op_ctx *c);

typedef struct ember_op_desc {
    const char *name;       /* ONNX op_type */
    const char *domain;     /* "" = ai.onnx */
    int since;              /* first opset version we support */
    const char *attrs;      /* schema: space-separated "name:type", type in
                               i f s t g ints floats strings */
    ember_op_infer_fn infer;
    ember_op_run_fn run;
} ember_op_desc;

enum ember_op {
#define EMBER_OP(e, name, since, attrs, infer, run) EMBER_OP_##e,
#include "ops.def"
#undef EMBER_OP
    EMBER_OP_COUNT
};

extern const ember_op_desc ember_op_table[EMBER_OP_COUNT];

/* Op index for (domain, op_type), or -1. */
int ember_op_lookup(const char *domain, const char *op_type);
/* Checks a node's attributes against its op's schema; error names node, attr, types. */
ember_status ember_op_check_attrs(const ember_node *n);

/* Helpers for infer/run. All errors name the node and op. */
ember_status ember_op_fail(const ember_op_ctx *c, ember_status s, const char *fmt, ...)
    EMBER_PRINTF(3, 4);
/* Sets out[i] dtype/rank/dims (syms reset to -1). */
void ember_op_set_out(ember_op_ctx *c, int i, ember_dtype dt, int rank, const int64_t *dims);
int64_t ember_op_numel(const ember_op_tensor *t); /* -1 if unknown */
/* Normalizes a possibly negative axis for rank r; fails naming the attribute. */
ember_status ember_op_axis(const ember_op_ctx *c, int64_t axis, int rank, const char *what,
                           int *out /* out: axis in [0, rank) */);
/* Numpy broadcasting of a and b into out (dims may be -1 in infer). */
ember_status ember_op_broadcast(const ember_op_ctx *c, const ember_op_tensor *a,
                                const ember_op_tensor *b, int *rank, int64_t *dims);
/* Reads element i of an integer tensor (int32/int64/...) as int64. */
int64_t ember_op_get_int(const ember_op_tensor *t, int64_t i);
double ember_op_get_double(const ember_op_tensor *t, int64_t i);
bool ember_dtype_is_float(ember_dtype dt);
bool ember_dtype_is_int(ember_dtype dt);

/* Runs fn(ctx, ith, nth) over the run's threads: one share per `grain` units of `work`
 * (elements, multiply-adds...), at most one per thread; tiny jobs stay on this thread. */
static inline void ember_op_parallel(const ember_op_ctx *c, ember_task_fn fn, void *ctx, int64_t work,
                                     int64_t grain)
{
    ember_threadpool_run(c->pool, fn, ctx, ember_threadpool_shares(c->pool, work, grain));
}

/* Input i if present (non-NULL), else NULL; out-of-range i gives NULL. */
static inline ember_op_tensor *ember_op_in(const ember_op_ctx *c, int i)
{
    return i < c->n_in ? c->in[i] : NULL;
}

/* Require input i present with known data (for shape-carrying inputs such as Reshape's
 * shape). In infer with data unknown, returns false (caller leaves output unknown). */
static inline bool ember_op_in_known(const ember_op_ctx *c, int i)
{
    return i < c->n_in && c->in[i] && c->in[i]->data;
}
#endif
