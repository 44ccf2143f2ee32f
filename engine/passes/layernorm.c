/* LayerNormalization recognition: the opset-14 decomposition exporters write,
 *
 *   m = ReduceMean(x, axes)            axes: the trailing dims, keepdims = 1
 *   d = Sub(x, m)
 *   q = Pow(d, 2) | Mul(d, d)
 *   v = ReduceMean(q, axes)
 *   s = Sqrt(Add(v, eps))              eps: a float32 scalar constant
 *   n = Div(d, s) | Mul(d, Reciprocal(s))
 *   y = Add(Mul(n, gamma), beta)       both optional; constants broadcasting over the
 *                                      normalized dims only
 *
 * becomes one LayerNormalization(x, gamma, beta) node (axis = first reduced dim,
 * epsilon = eps; gamma is a ones constant when the pattern had none). The last node of
 * the pattern is rewritten in place, so it keeps its output value, name included; every
 * intermediate must be read only inside the pattern and be no graph output. Float32 only.
 * The LayerNormalization kernel computes the same mean and variance with the reciprocal
 * square root multiplied instead of divided: results agree to float rounding. */
#include <stdlib.h>
#include <string.h>

#include "../passes.h"
#include "../status.h"
#include "match.h"

/* The reduced axes of a ReduceMean node form the trailing dims [first, rank): first, or
 * -1. keepdims must be 1; axes come from the attribute or (opset 18) a constant input. */
static int trailing_axes(ember_edit *e, int i, int rank)
{
    const ember_graph *g = e->g;
    const ember_node *n = &g->nodes[i];
    if (ember_attr_int(n, "keepdims", 1) != 1) return -1;
    int64_t ax[EMBER_MAX_RANK];
    int na = 0;
    if (n->n_inputs >= 2 && n->inputs[1] >= 0) {
        int a = ember_edit_resolve(e, n->inputs[1]);
        if (!ember_value_is_const(g, a) || g->values[a].dtype != EMBER_DT_INT64) return -1;
        int64_t cnt = ember_shape_numel(&g->values[a].shape);
        if (cnt < 1 || cnt > rank) return -1;
        memcpy(ax, g->values[a].data, sizeof(int64_t) * (size_t)cnt);
        na = (int)cnt;
    } else {
        const int64_t *v;
        int cnt = ember_attr_ints(n, "axes", &v);
        if (cnt < 1 || cnt > rank) return -1;
        memcpy(ax, v, sizeof(int64_t) * (size_t)cnt);
        na = cnt;
    }
    bool hit[EMBER_MAX_RANK] = {false};
    for (int k = 0; k < na; k++) {
        int64_t a = ax[k] < 0 ? ax[k] + rank : ax[k];
        if (a < 0 || a >= rank || hit[a]) return -1;
        hit[a] = true;
    }
    int first = rank - na;
    for (int k = first; k < rank; k++)
        if (!hit[k]) return -1;
    return first;
}

/* A constant that broadcasts over dims [axis, rank) of x only (so the op's output keeps
 * x's shape). */
static bool param_fits(const ember_graph *g, int v, const ember_shape *xs, int axis)
{
    if (!ember_value_is_const_f32(g, v)) return false;
    const ember_shape *s = &g->values[v].shape;
    if (s->rank > xs->rank - axis) return false;
    for (int k = 0; k < s->rank; k++) {
        int64_t d = s->dims[k], w = xs->dims[xs->rank - s->rank + k];
        if (d != w && d != 1) return false;
    }
    return true;
}

typedef struct ln_match {
    int x, axis, gamma, beta, last;
    float eps;
    int dead[12];
    int n_dead;
} ln_match;

/* Matches the pattern rooted at ReduceMean node r1. */
static bool match_ln(ember_edit *e, const ember_readers *rd, int r1, ln_match *m)
{
    const ember_graph *g = e->g;
    const ember_node *n1 = &g->nodes[r1];
    if (!ember_match_op(e, r1, EMBER_OP_REDUCE_MEAN) || n1->n_inputs < 1 || n1->inputs[0] < 0) return false;
    int x = ember_edit_resolve(e, n1->inputs[0]);
    const ember_shape *xs = &g->values[x].shape;
    if (g->values[x].dtype != EMBER_DT_FLOAT || !ember_shape_is_static(xs) || xs->rank < 1) return false;
    int axis = trailing_axes(e, r1, xs->rank);
    if (axis < 0) return false;
    memset(m, 0, sizeof *m);
    m->x = x, m->axis = axis, m->gamma = m->beta = -1;
    m->dead[m->n_dead++] = r1;
    int mean = n1->outputs[0];
    int sub = ember_match_sole_reader(e, rd, mean);
    if (!ember_match_op(e, sub, EMBER_OP_SUB) || g->nodes[sub].n_inputs != 2 ||
        ember_edit_resolve(e, g->nodes[sub].inputs[0]) != x || ember_edit_resolve(e, g->nodes[sub].inputs[1]) != mean)
        return false;
    m->dead[m->n_dead++] = sub;
    int d = g->nodes[sub].outputs[0];
    if (!ember_shape_is_static(&g->values[d].shape) || g->values[d].shape.rank != xs->rank) return false;
    int rs[2];
    if (ember_match_readers(e, rd, d, rs, 2) != 2) return false;
    /* One reader squares d, the other divides it by the deviation. */
    int sq = -1, dv = -1;
    for (int k = 0; k < 2; k++) {
        const ember_node *r = &g->nodes[rs[k]];
        if (r->n_inputs != 2) return false;
        int a = ember_edit_resolve(e, r->inputs[0]), b = ember_edit_resolve(e, r->inputs[1]);
        if (ember_match_op(e, rs[k], EMBER_OP_POW) && a == d && ember_match_scalar_near(g, b, 2.0)) sq = rs[k];
        else if (ember_match_op(e, rs[k], EMBER_OP_MUL) && a == d && b == d) sq = rs[k];
        else if ((ember_match_op(e, rs[k], EMBER_OP_DIV) && a == d) || ember_match_op(e, rs[k], EMBER_OP_MUL)) dv = rs[k];
    }
    if (sq < 0 || dv < 0) return false;
    m->dead[m->n_dead++] = sq;
    int r2 = ember_match_sole_reader(e, rd, g->nodes[sq].outputs[0]);
    if (!ember_match_op(e, r2, EMBER_OP_REDUCE_MEAN) || trailing_axes(e, r2, xs->rank) != axis) return false;
    m->dead[m->n_dead++] = r2;
    int var = g->nodes[r2].outputs[0];
    int add = ember_match_sole_reader(e, rd, var);
    if (!ember_match_op(e, add, EMBER_OP_ADD)) return false;
    int epsv = ember_match_other(e, add, var);
    if (epsv < 0 || !ember_match_scalar(g, epsv, &m->eps) || !(m->eps >= 0)) return false;
    m->dead[m->n_dead++] = add;
    int sqrt = ember_match_sole_reader(e, rd, g->nodes[add].outputs[0]);
    if (!ember_match_op(e, sqrt, EMBER_OP_SQRT)) return false;
    m->dead[m->n_dead++] = sqrt;
    int sd = g->nodes[sqrt].outputs[0];
    const ember_node *dn = &g->nodes[dv];
    if (dn->op == EMBER_OP_DIV) {
        if (ember_edit_resolve(e, dn->inputs[1]) != sd || ember_match_sole_reader(e, rd, sd) != dv) return false;
    } else {
        int rec = ember_match_sole_reader(e, rd, sd);
        if (!ember_match_op(e, rec, EMBER_OP_RECIPROCAL) || ember_match_other(e, dv, d) != g->nodes[rec].outputs[0] ||
            ember_match_sole_reader(e, rd, g->nodes[rec].outputs[0]) != dv)
            return false;
        m->dead[m->n_dead++] = rec;
    }
    int last = dv, y = g->nodes[dv].outputs[0];
    /* Optional scale, then optional shift. */
    int nx = ember_match_sole_reader(e, rd, y);
    if (ember_match_op(e, nx, EMBER_OP_MUL)) {
        int gm = ember_match_other(e, nx, y);
        if (gm >= 0 && param_fits(g, gm, xs, axis)) {
            m->gamma = gm;
            m->dead[m->n_dead++] = last;
            last = nx, y = g->nodes[nx].outputs[0];
            nx = ember_match_sole_reader(e, rd, y);
        }
    }
    if (ember_match_op(e, nx, EMBER_OP_ADD)) {
        int bt = ember_match_other(e, nx, y);
        if (bt >= 0 && param_fits(g, bt, xs, axis)) {
            m->beta = bt;
            m->dead[m->n_dead++] = last;
            last = nx;
        }
    }
    m->last = last;
    return true;
}

ember_status ember_pass_layernorm(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    ember_readers rd;
    ember_status s = ember_readers_build(g, &rd);
    for (int i = 0; i < g->n_nodes && s == EMBER_OK; i++) {
        if (e.dead[i] || g->nodes[i].op != EMBER_OP_REDUCE_MEAN) continue;
        ln_match m;
        if (!match_ln(&e, &rd, i, &m)) continue;
        int gamma = m.gamma, beta = m.beta;
        if (gamma < 0) {
            const ember_shape *xs = &g->values[m.x].shape;
            int nr = xs->rank - m.axis;
            int64_t cols = 1;
            for (int k = m.axis; k < xs->rank; k++) cols *= xs->dims[k];
            float *ones = malloc(sizeof(float) * (size_t)cols);
            if (!ones) {
                s = ember_error(EMBER_E_NO_MEMORY, "out of memory in the layernorm pass");
                break;
            }
            for (int64_t k = 0; k < cols; k++) ones[k] = 1.0f;
            gamma = ember_edit_new_const(&e, g->values[m.x].name, "ln_scale", EMBER_DT_FLOAT, nr,
                                         xs->dims + m.axis, ones);
            free(ones);
            if (gamma < 0) {
                s = EMBER_E_NO_MEMORY; /* the error is set */
                break;
            }
        }
        for (int k = 0; k < m.n_dead; k++) ember_edit_kill(&e, m.dead[k]);
        int ins[3] = {m.x, gamma, beta};
        s = ember_edit_set_inputs(&e, m.last, ins, beta >= 0 ? 3 : 2);
        if (s != EMBER_OK) break;
        ember_edit_set_op(g, m.last, EMBER_OP_LAYER_NORMALIZATION);
        ember_edit_clear_attrs(g, m.last);
        ember_attr a[2] = {{.name = "axis", .type = EMBER_ATTR_INT, .i = m.axis},
                           {.name = "epsilon", .type = EMBER_ATTR_FLOAT, .f = m.eps}};
        s = ember_edit_set_attrs(g, m.last, a, 2);
        st->removed += m.n_dead;
        st->changed++;
    }
    ember_readers_free(&rd);
    return ember_edit_finish(&e, s);
}
