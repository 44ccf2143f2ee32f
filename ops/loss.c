/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (the latter = LogSoftmax over
 * the class axis, then NLL; its optional second output is that log-probability). */
#include <string.h>

#include "elementwise.h"
#include "kernels/loss.h"
#include "kernels/softmax.h"
#include "op_decls.h"

static ember_status loss_reduction(const ember_op_ctx *c, int *red)
{
    const char *s = ember_attr_string(c->node, "reduction", "mean");
    if (strcmp(s, "none") == 0) *red = K_LOSS_NONE;
    else if (strcmp(s, "sum") == 0) *red = K_LOSS_SUM;
    else if (strcmp(s, "mean") == 0) *red = K_LOSS_MEAN;
    else
        return ember_op_fail(c, EMBER_E_INVALID_MODEL,
                             "attribute reduction must be none, sum or mean, got \"%s\"", s);
    return EMBER_OK;
}

ember_status ember_infer_loss(ember_op_ctx *c)
{
    bool sce = c->node->op == EMBER_OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    const ember_op_tensor *x = ember_op_in(c, 0), *t = ember_op_in(c, 1), *w = ember_op_in(c, 2);
    if (!x || !t) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs and targets");
    int red = 0;
    TRY(loss_reduction(c, &red));
    if (x->dtype != EMBER_DT_UNDEFINED && x->dtype != EMBER_DT_FLOAT && x->dtype != EMBER_DT_DOUBLE)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input has type %s; only float32 and float64 "
                             "are supported", ember_dtype_name(x->dtype));
    if (t->dtype != EMBER_DT_UNDEFINED && t->dtype != EMBER_DT_INT32 && t->dtype != EMBER_DT_INT64)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "target must be int32 or int64, not %s",
                             ember_dtype_name(t->dtype));
    if (w) TRY(ew_same_dtype(c, "input", x->dtype, "weight", w->dtype));
    if (x->rank >= 0 && x->rank < 2)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input must be [N, C, ...], got rank %d", x->rank);
    if (x->rank >= 0 && t->rank >= 0) {
        bool ok = t->rank == x->rank - 1;
        for (int d = 0; ok && d < t->rank; d++) {
            int64_t xd = x->dims[d == 0 ? 0 : d + 1], td = t->dims[d];
            if (xd >= 0 && td >= 0 && xd != td) ok = false;
        }
        if (!ok) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "target shape does not match input [N, C, d1, ...]");
    }
    if (w && x->rank >= 0 && w->rank >= 0 &&
        (w->rank != 1 || (w->dims[0] >= 0 && x->dims[1] >= 0 && w->dims[0] != x->dims[1])))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "weight must be 1-D with C entries");
    int64_t dims[EMBER_MAX_RANK] = {0};
    if (red != K_LOSS_NONE) ember_op_set_out(c, 0, x->dtype, 0, dims);
    else if (t->rank >= 0) ember_op_set_out(c, 0, x->dtype, t->rank, t->dims);
    else ember_op_set_out(c, 0, x->dtype, -1, NULL);
    if (sce && c->n_out > 1 && c->out[1]) ember_op_set_out(c, 1, x->dtype, x->rank, x->dims);
    int64_t nx = ember_op_numel(x);
    if (sce && (c->n_out < 2 || !c->out[1]) && nx >= 0)
        c->scratch_bytes = (size_t)nx * ember_dtype_size(x->dtype);
    return EMBER_OK;
}

ember_status ember_run_loss(ember_op_ctx *c)
{
    bool sce = c->node->op == EMBER_OP_SOFTMAX_CROSS_ENTROPY_LOSS;
    const ember_op_tensor *x = c->in[0], *t = c->in[1], *w = ember_op_in(c, 2);
    int red = 0;
    TRY(loss_reduction(c, &red));
    int64_t N = x->dims[0], C = x->dims[1], D = 1;
    for (int d = 2; d < x->rank; d++) D *= x->dims[d];
    const void *logp = x->data;
    if (sce) {
        void *lp = (c->n_out > 1 && c->out[1]) ? c->out[1]->data : c->scratch;
        TRY(ew_softmax(c, K_LOGSOFTMAX, x->dtype, x->data, lp, N, C, D));
        logp = lp;
    }
    const ember_attr *ii = ember_node_attr(c->node, "ignore_index");
    int64_t bad;
    if (x->dtype == EMBER_DT_FLOAT)
        bad = k_nll_f32(logp, t->data, t->dtype == EMBER_DT_INT64, w ? w->data : NULL, N, C, D,
                        ii != NULL, ii ? ii->i : 0, red, c->out[0]->data);
    else
        bad = k_nll_f64(logp, t->data, t->dtype == EMBER_DT_INT64, w ? w->data : NULL, N, C, D,
                        ii != NULL, ii ? ii->i : 0, red, c->out[0]->data);
    if (bad)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "target %lld at position %lld is outside [0, %lld)",
                             (long long)ember_op_get_int(t, bad - 1), (long long)(bad - 1), (long long)C);
    return EMBER_OK;
}
