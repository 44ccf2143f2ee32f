/* EmberAttention (internal, made by engine/passes/attention.c): inputs Q [B, Sq, H, D],
 * K [B, Sk, H, D], V [B, Sk, H, Dv] (float32), output [B, Sq, H, Dv]; attributes
 * "scale" (float) and "divide" (int: 1 divides the scores by scale, 0 multiplies). See
 * ops/kernels/attention.h for the arithmetic. */
#include "kernels/attention.h"
#include "op_decls.h"

ember_status ember_infer_attention(ember_op_ctx *c)
{
    if (c->n_in != 3 || !c->in[0] || !c->in[1] || !c->in[2])
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs Q, K and V");
    const ember_op_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    static const char *const names[3] = {"Q", "K", "V"};
    for (int i = 0; i < 3; i++) {
        if (c->in[i]->dtype != EMBER_DT_FLOAT)
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "%s of type %s is not supported (float32)", names[i],
                                 ember_dtype_name(c->in[i]->dtype));
        if (c->in[i]->rank >= 0 && c->in[i]->rank != 4)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%s has rank %d, expected 4 ([B, S, H, D])", names[i],
                                 c->in[i]->rank);
    }
    if (q->rank < 0 || k->rank < 0 || v->rank < 0) {
        ember_op_set_out(c, 0, EMBER_DT_FLOAT, -1, NULL);
        return EMBER_OK;
    }
    /* B and H agree everywhere, D between Q and K, S between K and V (unknown dims pass) */
    for (int d = 0; d < 4; d++) {
        int64_t a = q->dims[d], b = k->dims[d], cv = v->dims[d];
        bool bad = false;
        if (d == 0 || d == 2) bad = (a >= 0 && b >= 0 && a != b) || (a >= 0 && cv >= 0 && a != cv);
        if (d == 1) bad = b >= 0 && cv >= 0 && b != cv;
        if (d == 3) bad = a >= 0 && b >= 0 && a != b;
        if (bad)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "Q %lldx%lldx%lldx%lld, K %lldx%lldx%lldx%lld and V "
                                 "%lldx%lldx%lldx%lld do not agree", (long long)q->dims[0], (long long)q->dims[1],
                                 (long long)q->dims[2], (long long)q->dims[3], (long long)k->dims[0],
                                 (long long)k->dims[1], (long long)k->dims[2], (long long)k->dims[3],
                                 (long long)v->dims[0], (long long)v->dims[1], (long long)v->dims[2],
                                 (long long)v->dims[3]);
    }
    int64_t dims[4] = {q->dims[0], q->dims[1], q->dims[2], v->dims[3]};
    ember_op_set_out(c, 0, EMBER_DT_FLOAT, 4, dims);
    if (c->out[0]) c->out[0]->syms[0] = q->syms[0], c->out[0]->syms[1] = q->syms[1];
    if (k->dims[1] >= 0) c->scratch_bytes = (size_t)k->dims[1] * sizeof(float);
    return EMBER_OK;
}

ember_status ember_run_attention(ember_op_ctx *c)
{
    const ember_op_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    if (k->dims[1] > 0 && !c->scratch) return ember_op_fail(c, EMBER_E_INTERNAL, "no scratch for the scores");
    k_attention_f32(q->data, k->data, v->data, c->out[0]->data, q->dims[0], q->dims[1], k->dims[1], q->dims[2],
                    q->dims[3], v->dims[3], ember_attr_float(c->node, "scale", 1.0f),
                    ember_attr_int(c->node, "divide", 0) != 0, c->scratch, 0, 1);
    return EMBER_OK;
}
