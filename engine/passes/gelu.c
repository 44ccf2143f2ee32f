/* GELU recognition: the elementwise spellings of GELU become one Gelu node (opset-20
 * op; any model opset: the node is internal).
 *
 *   exact:  c = Erf(Div(x, sqrt 2) | Mul(x, 1 / sqrt 2))
 *   tanh:   c = Tanh(Mul(Add(x, Mul(Pow(x, 3) | Mul(Mul(x, x), x), 0.044715)), sqrt(2 / pi)))
 *   then    a = Add(c, 1) and y = x * a * 0.5 in any association:
 *           Mul(Mul(x, a), 0.5), Mul(Mul(a, 0.5), x), Mul(Mul(x, 0.5), a)
 *
 * (binary operands in either order, constants float32 scalars within rel 1e-5). The
 * last Mul becomes Gelu(x) in place, keeping its output; every other node of the
 * pattern must have its output read only inside the pattern and not be a graph output.
 * The Gelu kernel evaluates the same formula in one pass: results agree to rounding. */
#include <string.h>

#include "../passes.h"
#include "../status.h"
#include "match.h"

#define SQRT2 1.4142135623730951
#define SQRT2_PI 0.7978845608028654

typedef struct gelu_match {
    int x, last;
    int dead[12];
    int n_dead;
} gelu_match;

/* Binary node i of op `op` whose operands are `known` and a scalar near `c`. */
static bool with_scalar(ember_edit *e, int i, int op, int known, double c)
{
    if (!ember_match_op(e, i, op)) return false;
    int o = ember_match_other(e, i, known);
    return o >= 0 && ember_match_scalar_near(e->g, o, c);
}

/* The producer of v, when it is read by nothing else (v must be sole-read by `reader`). */
static int feeding(ember_edit *e, const ember_readers *rd, int v, int reader)
{
    int p = e->g->values[v].producer;
    if (p < 0 || e->dead[p] || ember_match_sole_reader(e, rd, v) != reader) return -1;
    return p;
}

/* x for Erf's input producer u: Div(x, sqrt 2) or Mul(x, 1/sqrt 2). */
static int erf_arg(ember_edit *e, int u)
{
    const ember_graph *g = e->g;
    if (u < 0 || g->nodes[u].n_inputs != 2) return -1;
    int a = ember_edit_resolve(e, g->nodes[u].inputs[0]), b = ember_edit_resolve(e, g->nodes[u].inputs[1]);
    if (ember_match_op(e, u, EMBER_OP_DIV)) return ember_match_scalar_near(g, b, SQRT2) ? a : -1;
    if (!ember_match_op(e, u, EMBER_OP_MUL)) return -1;
    if (ember_match_scalar_near(g, b, 1.0 / SQRT2)) return a;
    if (ember_match_scalar_near(g, a, 1.0 / SQRT2)) return b;
    return -1;
}

/* x for Tanh's input producer w (see the header), recording the nodes it passes. */
static int tanh_arg(ember_edit *e, const ember_readers *rd, int w, gelu_match *m)
{
    const ember_graph *g = e->g;
    if (w < 0 || !ember_match_op(e, w, EMBER_OP_MUL) || g->nodes[w].n_inputs != 2) return -1;
    int s = -1;
    for (int k = 0; k < 2; k++) {
        int in = ember_edit_resolve(e, g->nodes[w].inputs[k]);
        if (ember_match_scalar_near(g, ember_edit_resolve(e, g->nodes[w].inputs[1 - k]), SQRT2_PI)) s = in;
    }
    int sn = s >= 0 ? feeding(e, rd, s, w) : -1;
    if (sn < 0 || !ember_match_op(e, sn, EMBER_OP_ADD) || g->nodes[sn].n_inputs != 2) return -1;
    for (int k = 0; k < 2; k++) {
        int x = ember_edit_resolve(e, g->nodes[sn].inputs[k]), q = ember_edit_resolve(e, g->nodes[sn].inputs[1 - k]);
        int qn = feeding(e, rd, q, sn);
        if (qn < 0 || !ember_match_op(e, qn, EMBER_OP_MUL)) continue;
        int cube = -1;
        for (int j = 0; j < 2; j++)
            if (ember_match_scalar_near(g, ember_edit_resolve(e, g->nodes[qn].inputs[1 - j]), 0.044715))
                cube = ember_edit_resolve(e, g->nodes[qn].inputs[j]);
        int cn = cube >= 0 ? feeding(e, rd, cube, qn) : -1;
        if (cn < 0) continue;
        int n0 = m->n_dead;
        if (with_scalar(e, cn, EMBER_OP_POW, x, 3.0) &&
            ember_edit_resolve(e, g->nodes[cn].inputs[0]) == x) {
            m->dead[m->n_dead++] = cn;
        } else if (ember_match_op(e, cn, EMBER_OP_MUL)) {
            /* Mul(Mul(x, x), x) in either order */
            int sq = ember_match_other(e, cn, x);
            int sqn = sq >= 0 ? feeding(e, rd, sq, cn) : -1;
            if (sqn < 0 || !ember_match_op(e, sqn, EMBER_OP_MUL) ||
                ember_edit_resolve(e, g->nodes[sqn].inputs[0]) != x ||
                ember_edit_resolve(e, g->nodes[sqn].inputs[1]) != x)
                continue;
            m->dead[m->n_dead++] = cn;
            m->dead[m->n_dead++] = sqn;
        } else {
            continue;
        }
        if (m->n_dead == n0) continue;
        m->dead[m->n_dead++] = qn;
        m->dead[m->n_dead++] = sn;
        m->dead[m->n_dead++] = w;
        return x;
    }
    return -1;
}

/* From a = Add(c, 1), the Mul that completes x * a * 0.5; sets m->last. */
static bool product(ember_edit *e, const ember_readers *rd, int a, gelu_match *m)
{
    const ember_graph *g = e->g;
    int x = m->x;
    int p1 = ember_match_sole_reader(e, rd, a);
    if (!ember_match_op(e, p1, EMBER_OP_MUL)) return false;
    int o = ember_match_other(e, p1, a);
    if (o < 0) return false;
    int y1 = g->nodes[p1].outputs[0];
    if (o == x || ember_match_scalar_near(g, o, 0.5)) {
        /* (x * a) * 0.5 or (a * 0.5) * x */
        int p2 = ember_match_sole_reader(e, rd, y1);
        if (!ember_match_op(e, p2, EMBER_OP_MUL)) return false;
        int o2 = ember_match_other(e, p2, y1);
        if (o == x ? !ember_match_scalar_near(g, o2, 0.5) : o2 != x) return false;
        m->dead[m->n_dead++] = p1;
        m->last = p2;
        return true;
    }
    /* (x * 0.5) * a */
    int h = feeding(e, rd, o, p1);
    if (h < 0 || !with_scalar(e, h, EMBER_OP_MUL, x, 0.5)) return false;
    m->dead[m->n_dead++] = h;
    m->last = p1;
    return true;
}

/* Matches the pattern through Erf or Tanh node i. */
static bool match_gelu(ember_edit *e, const ember_readers *rd, int i, gelu_match *m)
{
    const ember_graph *g = e->g;
    const ember_node *n = &g->nodes[i];
    memset(m, 0, sizeof *m);
    if (n->n_inputs != 1 || n->inputs[0] < 0) return false;
    int u = ember_edit_resolve(e, n->inputs[0]);
    int un = feeding(e, rd, u, i);
    bool exact = n->op == EMBER_OP_ERF;
    m->x = exact ? erf_arg(e, un) : tanh_arg(e, rd, un, m);
    if (m->x < 0 || g->values[m->x].dtype != EMBER_DT_FLOAT) return false;
    if (exact) m->dead[m->n_dead++] = un;
    m->dead[m->n_dead++] = i;
    int add = ember_match_sole_reader(e, rd, n->outputs[0]);
    if (!with_scalar(e, add, EMBER_OP_ADD, n->outputs[0], 1.0)) return false;
    m->dead[m->n_dead++] = add;
    if (!product(e, rd, g->nodes[add].outputs[0], m)) return false;
    /* Same shape in and out: x must not be broadcast by the constants. */
    const ember_shape *xs = &g->values[m->x].shape, *ys = &g->values[g->nodes[m->last].outputs[0]].shape;
    if (xs->rank != ys->rank) return false;
    for (int k = 0; k < xs->rank; k++)
        if (xs->dims[k] != ys->dims[k]) return false;
    return true;
}

ember_status ember_pass_gelu(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    ember_readers rd;
    ember_status s = ember_readers_build(g, &rd);
    for (int i = 0; i < g->n_nodes && s == EMBER_OK; i++) {
        if (e.dead[i] || !(ember_match_op(&e, i, EMBER_OP_ERF) || ember_match_op(&e, i, EMBER_OP_TANH))) continue;
        gelu_match m;
        if (!match_gelu(&e, &rd, i, &m)) continue;
        bool exact = g->nodes[i].op == EMBER_OP_ERF;
        for (int k = 0; k < m.n_dead; k++) ember_edit_kill(&e, m.dead[k]);
        s = ember_edit_set_inputs(&e, m.last, &m.x, 1);
        if (s != EMBER_OK) break;
        ember_edit_set_op(g, m.last, EMBER_OP_GELU);
        ember_edit_clear_attrs(g, m.last);
        const char *mode = exact ? "none" : "tanh";
        ember_attr a = {.name = "approximate", .type = EMBER_ATTR_STRING, .s = mode, .s_len = strlen(mode)};
        s = ember_edit_set_attr(g, m.last, &a);
        st->removed += m.n_dead;
        st->changed++;
    }
    ember_readers_free(&rd);
    return ember_edit_finish(&e, s);
}
