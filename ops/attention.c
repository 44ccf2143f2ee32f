/* EmberAttention (internal, made by engine/passes/attention.c): inputs Q [B, Sq, H, D],
 * K [B, Sk, H, D], V [B, Sk, H, Dv] (float32) and an optional additive mask (float32, rank
 * <= 4, broadcasting to the scores' [B, H, Sq, Sk]), output [B, Sq, H, Dv]; attributes
 * "scale" (float) and "divide" (int: 1 divides the scores by scale, 0 multiplies). See
 * ops/kernels/attention.h for the arithmetic. */
#include <stdio.h>

#include "kernels/attention.h"
#include "op_decls.h"

/* "2x3x5" into buf (unknown dims as ?). */
static const char *dims_str(const ember_op_tensor *t, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    if (t->rank == 0) snprintf(buf, len, "a scalar");
    for (int d = 0; d < t->rank && at < len; d++) {
        int w = t->dims[d] >= 0 ? snprintf(buf + at, len - at, "%s%lld", d ? "x" : "", (long long)t->dims[d])
                                : snprintf(buf + at, len - at, "%s?", d ? "x" : "");
        if (w < 0) break;
        at += (size_t)w;
    }
    return buf;
}

/* The mask broadcasts (numpy rules) to the scores [B, H, Sq, Sk] without growing them. */
static ember_status check_mask(ember_op_ctx *c, const ember_op_tensor *m, const int64_t *scores)
{
    if (m->dtype != EMBER_DT_FLOAT)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "mask of type %s is not supported (float32)",
                             ember_dtype_name(m->dtype));
    if (m->rank < 0) return EMBER_OK;
    bool bad = m->rank > 4;
    for (int d = 0; d < m->rank && !bad; d++) {
        int64_t md = m->dims[d], sd = scores[d + 4 - m->rank];
        bad = md >= 0 && sd >= 0 && md != 1 && md != sd;
    }
    if (!bad) return EMBER_OK;
    char a[96];
    return ember_op_fail(c, EMBER_E_INVALID_MODEL,
                         "mask %s does not broadcast to the scores' %lldx%lldx%lldx%lld ([B, H, Sq, Sk])",
                         dims_str(m, a, sizeof a), (long long)scores[0], (long long)scores[1],
                         (long long)scores[2], (long long)scores[3]);
}

ember_status ember_infer_attention(ember_op_ctx *c)
{
    if (c->n_in < 3 || c->n_in > 4 || !c->in[0] || !c->in[1] || !c->in[2])
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs Q, K and V (and an optional mask)");
    const ember_op_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2], *mask = ember_op_in(c, 3);
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
        if (mask) TRY(check_mask(c, mask, (int64_t[4]){-1, -1, -1, -1}));
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
    if (mask) TRY(check_mask(c, mask, (int64_t[4]){q->dims[0], q->dims[2], q->dims[1], k->dims[1]}));
    int64_t dims[4] = {q->dims[0], q->dims[1], q->dims[2], v->dims[3]};
    ember_op_set_out(c, 0, EMBER_DT_FLOAT, 4, dims);
    if (c->out[0]) c->out[0]->syms[0] = q->syms[0], c->out[0]->syms[1] = q->syms[1];
    if (k->dims[1] >= 0) c->scratch_bytes = (size_t)k->dims[1] * sizeof(float);
    return EMBER_OK;
}

/* The kernel's geometry from the node's tensors (all dims known). */
static k_attn_geom geom_of(const ember_op_ctx *c)
{
    const ember_op_tensor *mask = ember_op_in(c, 3);
    return k_attn_geom_of(c->in[0]->dims, c->in[1]->dims, c->in[2]->dims, ember_attr_float(c->node, "scale", 1.0f),
                          ember_attr_int(c->node, "divide", 0) != 0, mask ? mask->rank : -1,
                          mask ? mask->dims : NULL);
}

ember_status ember_run_attention(ember_op_ctx *c)
{
    const ember_op_tensor *mask = ember_op_in(c, 3);
    if (c->in[1]->dims[1] > 0 && !c->scratch) return ember_op_fail(c, EMBER_E_INTERNAL, "no scratch for the scores");
    k_attn_geom g = geom_of(c);
    k_attention_f32(c->in[0]->data, c->in[1]->data, c->in[2]->data, mask ? mask->data : NULL, c->out[0]->data, &g,
                    c->scratch, 0, 1);
    return EMBER_OK;
}
