/* Attention recognition: the scaled dot-product attention of BERT-style encoders, as
 * exported from PyTorch,
 *
 *   qt = Transpose(q, [0,2,1,3])   kt = Transpose(k, [0,2,3,1])   vt = Transpose(v, [0,2,1,3])
 *   s  = MatMul(qt, kt);  s2 = Div(s, c) | Mul(s, c) | s   (c a float32 scalar constant)
 *   s3 = Add(s2, mask) | Add(mask, s2) | Where(c, s2, fill) | Where(c, fill, s2) | s2
 *   p  = Softmax(s3, last axis);  o = MatMul(p, vt);  y = Transpose(o, [0,2,1,3])
 *
 * with q, k, v of rank 4 ([B, S, H, D], static float32) and mask any static float32 value
 * of rank <= 4 that broadcasts to the scores' [B, H, Sq, Sk] without growing them (a model
 * input, HuggingFace's (1 - attention_mask[:, None, None, :]) * -10000 chain, a constant
 * causal mask; for Where, a bool condition and fill -inf or finfo.min: see match_where),
 * becomes y = EmberAttention(q, k, v[, mask]) (ops/attention.c), in place of
 * the last Transpose. s, s2, s3, p and o must be read only inside the pattern; the three
 * input Transposes are left to dce once nothing reads them (the mask is shared between
 * layers: it stays as it is).
 * The fused kernels never materialize the transposed heads, and the host path runs the
 * heads in parallel with no step boundaries between the products and the softmax.
 * Results agree with the unfused graph to the dot products' summation order. */
#include "../passes.h"
#include "../status.h"
#include "match.h"

/* Node i is a Transpose with exactly `perm` (rank 4); its input, else -1. */
static int transpose_of(ember_edit *e, int i, const int64_t *perm)
{
    if (i < 0 || !ember_match_op(e, i, EMBER_OP_TRANSPOSE)) return -1;
    const int64_t *p;
    if (ember_attr_ints(&e->g->nodes[i], "perm", &p) != 4) return -1;
    for (int k = 0; k < 4; k++)
        if (p[k] != perm[k]) return -1;
    return ember_edit_resolve(e, e->g->nodes[i].inputs[0]);
}

static int producer(ember_edit *e, int v)
{
    int p = e->g->values[v].producer;
    return p >= 0 && !e->dead[p] ? p : -1;
}

/* v is a static float32 rank-4 value; its dims in d. */
static bool heads(const ember_graph *g, int v, int64_t *d)
{
    const ember_value *val = &g->values[v];
    if (val->dtype != EMBER_DT_FLOAT || val->shape.rank != 4 || !ember_shape_is_static(&val->shape)) return false;
    for (int k = 0; k < 4; k++) d[k] = val->shape.dims[k];
    return true;
}

typedef struct attn_match {
    int q, k, v, mask, last;
    int where, fill_slot, cond; /* a masked_fill Where (node, its fill's input slot, its condition), else -1 */
    float scale;
    int divide;
    int dead[5], n_dead;
} attn_match;

/* The scores s, read only by node `reader`: [Div|Mul by a scalar] of MatMul(qt, kt). */
static bool match_scores(ember_edit *e, const ember_readers *rd, int s, int reader, attn_match *m)
{
    static const int64_t heads_first[4] = {0, 2, 1, 3}, keys_last[4] = {0, 2, 3, 1};
    const ember_graph *g = e->g;
    int mm1 = producer(e, s);
    if (mm1 < 0 || ember_match_sole_reader(e, rd, s) != reader) return false;
    if (ember_match_op(e, mm1, EMBER_OP_DIV) || ember_match_op(e, mm1, EMBER_OP_MUL)) {
        const ember_node *sn = &g->nodes[mm1];
        if (sn->n_inputs != 2) return false;
        int a = ember_edit_resolve(e, sn->inputs[0]), b = ember_edit_resolve(e, sn->inputs[1]), x;
        m->divide = sn->op == EMBER_OP_DIV;
        if (ember_match_scalar(g, b, &m->scale)) x = a;
        else if (!m->divide && ember_match_scalar(g, a, &m->scale)) x = b;
        else return false;
        m->dead[m->n_dead++] = mm1;
        int scaler = mm1;
        mm1 = producer(e, x);
        if (mm1 < 0 || ember_match_sole_reader(e, rd, x) != scaler) return false;
    }
    if (!ember_match_op(e, mm1, EMBER_OP_MATMUL) || g->nodes[mm1].n_inputs != 2) return false;
    m->q = transpose_of(e, producer(e, ember_edit_resolve(e, g->nodes[mm1].inputs[0])), heads_first);
    m->k = transpose_of(e, producer(e, ember_edit_resolve(e, g->nodes[mm1].inputs[1])), keys_last);
    if (m->q < 0 || m->k < 0) return false;
    m->dead[m->n_dead++] = mm1;
    return true;
}

/* v is a float32 static value of rank <= 4 that broadcasts to `to` (numpy rules) without
 * growing it: the additive mask (BERT's [B,1,1,Sk] padding mask, a causal [1,1,Sq,Sk]...). */
static bool mask_fits(const ember_graph *g, int v, const int64_t *to)
{
    const ember_value *val = &g->values[v];
    if (val->dtype != EMBER_DT_FLOAT || val->shape.rank < 0 || val->shape.rank > 4 ||
        !ember_shape_is_static(&val->shape))
        return false;
    for (int d = 0; d < val->shape.rank; d++) {
        int64_t md = val->shape.dims[d];
        if (md != 1 && md != to[d + 4 - val->shape.rank]) return false;
    }
    return true;
}

/* Where(c, s2, fill) | Where(c, fill, s2) with fill a float32 scalar constant that is
 * -inf or at most -2^127 (PyTorch's masked_fill with float('-inf') or finfo.min): for any
 * score below 2^102 in magnitude (half the float spacing just below 2^127), s2 + fill
 * rounds to fill exactly, so the Where is the additive mask Where(c, 0, fill) (resp.
 * Where(c, fill, 0)), which the Where node itself becomes (ember_pass_attention). Only a
 * masked score of +inf or NaN would differ (the sum is NaN where the Where gives fill).
 * Other fills (-10000, -1e9) do not absorb the scores: left alone. */
static bool match_where(ember_edit *e, const ember_readers *rd, int sm, int s, int wh, attn_match *m)
{
    const ember_graph *g = e->g;
    const ember_node *wn = &g->nodes[wh];
    if (wn->n_inputs != 3 || ember_match_sole_reader(e, rd, s) != sm) return false;
    int c = ember_edit_resolve(e, wn->inputs[0]);
    const ember_value *cv = &g->values[c];
    if (cv->dtype != EMBER_DT_BOOL || cv->shape.rank < 0 || cv->shape.rank > 4 || !ember_shape_is_static(&cv->shape))
        return false;
    for (int o = 1; o <= 2; o++) {
        float fill;
        int f = ember_edit_resolve(e, wn->inputs[o]);
        if (!ember_match_scalar(g, f, &fill) || !(fill <= -0x1p127f) || g->values[f].shape.rank > cv->shape.rank)
            continue;
        if (match_scores(e, rd, ember_edit_resolve(e, wn->inputs[3 - o]), wh, m)) {
            m->where = wh, m->fill_slot = o, m->cond = c, m->mask = s;
            return true;
        }
        m->n_dead = 1, m->scale = 1.0f, m->divide = 0;
    }
    return false;
}

static bool match_attention(ember_edit *e, const ember_readers *rd, int sm, attn_match *m)
{
    static const int64_t heads_first[4] = {0, 2, 1, 3};
    const ember_graph *g = e->g;
    const ember_node *n = &g->nodes[sm];
    if (n->n_inputs != 1 || n->n_outputs != 1) return false;
    int s = ember_edit_resolve(e, n->inputs[0]);
    if (g->values[s].shape.rank != 4) return false;
    int64_t axis = ember_attr_int(n, "axis", n->opset < 13 ? 1 : -1);
    if (axis != -1 && axis != 3) return false;
    m->n_dead = 0;
    m->dead[m->n_dead++] = sm;
    m->scale = 1.0f;
    m->divide = 0;
    m->mask = m->where = -1;
    /* Add(scores, mask) in either order, after the scalar (a scalar after the mask would
     * scale the mask too: not this op) */
    int add = producer(e, s);
    if (add >= 0 && ember_match_op(e, add, EMBER_OP_ADD)) {
        const ember_node *an = &g->nodes[add];
        if (an->n_inputs != 2 || ember_match_sole_reader(e, rd, s) != sm) return false;
        m->dead[m->n_dead++] = add;
        for (int o = 0; o < 2 && m->mask < 0; o++) {
            if (match_scores(e, rd, ember_edit_resolve(e, an->inputs[o]), add, m))
                m->mask = ember_edit_resolve(e, an->inputs[1 - o]);
            else
                m->n_dead = 2, m->scale = 1.0f, m->divide = 0;
        }
        if (m->mask < 0) return false;
    } else if (add >= 0 && ember_match_op(e, add, EMBER_OP_WHERE)) {
        if (!match_where(e, rd, sm, s, add, m)) return false;
    } else if (!match_scores(e, rd, s, sm, m)) {
        return false;
    }
    /* p . vt, then the Transpose back */
    int p = n->outputs[0];
    int mm2 = ember_match_sole_reader(e, rd, p);
    if (mm2 < 0 || !ember_match_op(e, mm2, EMBER_OP_MATMUL) || g->nodes[mm2].n_inputs != 2 ||
        ember_edit_resolve(e, g->nodes[mm2].inputs[0]) != p)
        return false;
    m->v = transpose_of(e, producer(e, ember_edit_resolve(e, g->nodes[mm2].inputs[1])), heads_first);
    if (m->v < 0) return false;
    m->dead[m->n_dead++] = mm2;
    m->last = ember_match_sole_reader(e, rd, g->nodes[mm2].outputs[0]);
    if (transpose_of(e, m->last, heads_first) != g->nodes[mm2].outputs[0]) return false;
    /* shapes: q [B,Sq,H,D], k [B,Sk,H,D], v [B,Sk,H,Dv], y [B,Sq,H,Dv], mask to [B,H,Sq,Sk] */
    int64_t qd[4], kd[4], vd[4], yd[4];
    if (!heads(g, m->q, qd) || !heads(g, m->k, kd) || !heads(g, m->v, vd) ||
        !heads(g, g->nodes[m->last].outputs[0], yd))
        return false;
    int64_t scores[4] = {qd[0], qd[2], qd[1], kd[1]};
    if (m->mask >= 0 && m->where < 0 && !mask_fits(g, m->mask, scores)) return false;
    if (m->where >= 0) { /* the condition's shape is the mask's */
        const ember_shape *cs = &g->values[m->cond].shape;
        for (int d = 0; d < cs->rank; d++)
            if (cs->dims[d] != 1 && cs->dims[d] != scores[d + 4 - cs->rank]) return false;
    }
    return qd[0] == kd[0] && qd[0] == vd[0] && qd[2] == kd[2] && qd[2] == vd[2] && qd[3] == kd[3] && kd[1] == vd[1] &&
           yd[0] == qd[0] && yd[1] == qd[1] && yd[2] == qd[2] && yd[3] == vd[3];
}

ember_status ember_pass_attention(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    ember_readers rd;
    ember_status s = ember_readers_build(g, &rd);
    for (int i = 0; i < g->n_nodes && s == EMBER_OK; i++) {
        if (e.dead[i] || !ember_match_op(&e, i, EMBER_OP_SOFTMAX)) continue;
        attn_match m;
        if (!match_attention(&e, &rd, i, &m)) continue;
        if (m.where >= 0) { /* the Where becomes the additive mask: 0 where the score was kept */
            float zero = 0.0f;
            int z = ember_edit_new_const(&e, g->values[m.mask].name, "attn_keep", EMBER_DT_FLOAT, 0, NULL, &zero);
            if (z < 0) {
                s = EMBER_E_NO_MEMORY;
                break;
            }
            ember_edit_set_input(&e, m.where, 3 - m.fill_slot, z);
            g->values[m.mask].shape = g->values[m.cond].shape; /* the fill is a scalar of no higher rank */
        }
        for (int k = 0; k < m.n_dead; k++) ember_edit_kill(&e, m.dead[k]);
        int ins[4] = {m.q, m.k, m.v, m.mask};
        s = ember_edit_set_inputs(&e, m.last, ins, m.mask >= 0 ? 4 : 3);
        if (s != EMBER_OK) break;
        ember_edit_set_op(g, m.last, EMBER_OP_EMBER_ATTENTION);
        ember_edit_clear_attrs(g, m.last);
        ember_attr attrs[2] = {{.name = "scale", .type = EMBER_ATTR_FLOAT, .f = m.scale},
                               {.name = "divide", .type = EMBER_ATTR_INT, .i = m.divide}};
        s = ember_edit_set_attrs(g, m.last, attrs, 2);
        st->removed += m.n_dead;
        st->changed++;
    }
    ember_readers_free(&rd);
    return ember_edit_finish(&e, s);
}
