/* Softmax, LogSoftmax, Hardmax. Before opset 13 the input is coerced to 2-D at `axis`
 * (default 1) and the op runs over the whole trailing block; from 13 it runs along
 * `axis` alone (default -1). */
#include <string.h>

#include "elementwise.h"
#include "kernels/softmax.h"
#include "op_decls.h"

static ember_status softmax_view(const ember_op_ctx *c, const ember_op_tensor *x,
                                 int64_t *outer, int64_t *n, int64_t *inner)
{
    bool legacy = c->opset < 13;
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", legacy ? 1 : -1),
                      x->rank == 0 ? 1 : x->rank, "axis", &axis));
    *outer = 1, *n = 1, *inner = 1;
    for (int d = 0; d < x->rank; d++) {
        if (d < axis) *outer *= x->dims[d];
        else if (d == axis || legacy) *n *= x->dims[d];
        else *inner *= x->dims[d];
    }
    return EMBER_OK;
}

ember_status ember_infer_softmax(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs an input");
    TRY(ew_check_dtype(c, "input", x->dtype, EW_FLOAT));
    if (x->rank >= 0) {
        int axis;
        TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", c->opset < 13 ? 1 : -1),
                          x->rank == 0 ? 1 : x->rank, "axis", &axis));
    }
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    if (c->out[0]) memcpy(c->out[0]->syms, x->syms, sizeof x->syms);
    return EMBER_OK;
}

/* float32 outer rows split between the run's threads (c->pool). */
typedef struct softmax_job {
    int mode;
    const float *x;
    float *y;
    int64_t outer, n, inner;
} softmax_job;

static void softmax_share(void *ctx, int ith, int nth)
{
    const softmax_job *j = ctx;
    k_softmax_f32(j->mode, j->x, j->y, j->outer, j->n, j->inner, ith, nth);
}

/* Shared with the losses: runs `mode` over [outer, n, inner]. */
ember_status ew_softmax(const ember_op_ctx *c, int mode, ember_dtype dt, const void *x, void *y,
                        int64_t outer, int64_t n, int64_t inner)
{
    switch (dt) {
    case EMBER_DT_FLOAT: {
        softmax_job j = {mode, x, y, outer, n, inner};
        int shares = ember_threadpool_shares(c->pool, outer * n * inner, 4096);
        ember_threadpool_run(c->pool, softmax_share, &j, (int)(shares < outer ? shares : outer ? outer : 1));
        break;
    }
    case EMBER_DT_DOUBLE: k_softmax_f64(mode, x, y, outer, n, inner, 0, 1); break;
    case EMBER_DT_FLOAT16: k_softmax_f16(mode, x, y, outer, n, inner, 0, 1); break;
    case EMBER_DT_BFLOAT16: k_softmax_bf16(mode, x, y, outer, n, inner, 0, 1); break;
    default: return ember_op_fail(c, EMBER_E_UNSUPPORTED, "unsupported type %s", ember_dtype_name(dt));
    }
    return EMBER_OK;
}

ember_status ember_run_softmax(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int64_t outer, n, inner;
    TRY(softmax_view(c, x, &outer, &n, &inner));
    int mode = c->node->op == EMBER_OP_LOG_SOFTMAX ? K_LOGSOFTMAX
             : c->node->op == EMBER_OP_HARDMAX     ? K_HARDMAX
                                                   : K_SOFTMAX;
    return ew_softmax(c, mode, x->dtype, x->data, c->out[0]->data, outer, n, inner);
}
