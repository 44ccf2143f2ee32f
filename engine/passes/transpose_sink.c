/* Transpose sinking: a Transpose whose output only an elementwise node reads moves below
 * that node, so that it can meet another Transpose and cancel (transpose-reshape pass),
 * and so that elementwise chains are no longer cut by it:
 *   f(Transpose(x, p))                 -> Transpose(f(x), p)       f unary (Relu, Exp, ...)
 *   g(Transpose(x, p), c)              -> Transpose(g(x, c'), p)   c a float32 constant
 *   g(Transpose(a, p), Transpose(b, p)) -> Transpose(g(a, b), p)
 * for binary g (Add, Sub, Mul, Div, Max, Min, Pow, PRelu) in either operand order. c' is
 * c brought to the full rank (leading 1s, as broadcasting does) and permuted by the
 * inverse of p, so element for element the same numbers meet: results are exact.
 * The two nodes swap what they compute, keeping their places in the order and their
 * outputs: the Transpose's node computes f(x) into its old output value, the elementwise
 * node transposes that into its own output (graph outputs keep their producer's slot).
 * Each step moves a Transpose down one node or removes one, so rounds end. */
#include <string.h>

#include "../passes.h"
#include "../status.h"
#include "match.h"

static bool is_unary(int op)
{
    switch (op) {
    case EMBER_OP_RELU: case EMBER_OP_NEG: case EMBER_OP_ABS: case EMBER_OP_SQRT: case EMBER_OP_EXP:
    case EMBER_OP_LOG: case EMBER_OP_TANH: case EMBER_OP_SIGMOID: case EMBER_OP_ERF: case EMBER_OP_LEAKY_RELU:
    case EMBER_OP_ELU: case EMBER_OP_GELU: case EMBER_OP_RECIPROCAL: case EMBER_OP_SOFTPLUS:
    case EMBER_OP_HARD_SIGMOID: case EMBER_OP_CEIL: case EMBER_OP_FLOOR:
        return true;
    default: return false;
    }
}

static bool is_binary(int op)
{
    return op == EMBER_OP_ADD || op == EMBER_OP_SUB || op == EMBER_OP_MUL || op == EMBER_OP_DIV ||
           op == EMBER_OP_MAX || op == EMBER_OP_MIN || op == EMBER_OP_POW || op == EMBER_OP_PRELU;
}

/* Transpose node t's perm (rank r), from its attribute or the reversal default. */
static bool perm_of(const ember_graph *g, const ember_node *t, int in, int64_t *perm, int *r)
{
    const int64_t *p;
    int cnt = ember_attr_ints(t, "perm", &p);
    int rank = cnt >= 0 ? cnt : g->values[in].shape.rank;
    if (rank < 1 || rank > EMBER_MAX_RANK || (cnt >= 0 && g->values[in].shape.rank != rank)) return false;
    unsigned seen = 0;
    for (int i = 0; i < rank; i++) {
        perm[i] = cnt >= 0 ? p[i] : rank - 1 - i;
        if (perm[i] < 0 || perm[i] >= rank || (seen >> perm[i] & 1u)) return false;
        seen |= 1u << perm[i];
    }
    *r = rank;
    return true;
}

/* A live float32 Transpose producing v (resolved) whose only reader is node u; its
 * index, or -1. */
static int sole_transpose(ember_edit *e, const ember_readers *rd, int v, int u)
{
    int t = e->g->values[v].producer;
    if (t < 0 || !ember_match_op(e, t, EMBER_OP_TRANSPOSE) || e->g->nodes[t].n_inputs != 1) return -1;
    return ember_match_sole_reader(e, rd, v) == u ? t : -1;
}

/* The computations of nodes a and b trade places (not their outputs, not their inputs). */
static void swap_compute(ember_graph *g, int a, int b)
{
    ember_node *x = &g->nodes[a], *y = &g->nodes[b];
#define SWAP(T, f) do { T tmp_ = x->f; x->f = y->f; y->f = tmp_; } while (0)
    SWAP(const char *, name);
    SWAP(const char *, op_type);
    SWAP(const char *, domain);
    SWAP(int, op);
    SWAP(int, opset);
    SWAP(int, n_attrs);
    SWAP(ember_attr *, attrs);
#undef SWAP
}

/* Constant c (float32, rank <= r) as the operand of g(x, .) instead of g(Transpose(x, p), .):
 * padded to rank r with leading 1s, then dims and data permuted by p's inverse. */
static int permuted_const(ember_edit *e, int c, const int64_t *perm, int r)
{
    const ember_value *cv = &e->g->values[c];
    int cr = cv->shape.rank;
    if (cr > r || !ember_shape_is_static(&cv->shape)) return -1;
    int64_t numel = ember_shape_numel(&cv->shape);
    if (numel == 1) return c; /* a single element broadcasts the same either way */
    int64_t full[EMBER_MAX_RANK], dims[EMBER_MAX_RANK], inv[EMBER_MAX_RANK];
    for (int k = 0; k < r; k++) full[k] = k < r - cr ? 1 : cv->shape.dims[k - (r - cr)];
    for (int k = 0; k < r; k++) inv[perm[k]] = k;
    /* Output dim k of the new constant is old dim inv[k]: transposing it by p gives back full. */
    for (int k = 0; k < r; k++) dims[k] = full[inv[k]];
    int nc = ember_edit_new_const(e, cv->name, "sunk", EMBER_DT_FLOAT, r, dims, NULL);
    if (nc < 0) return -2;
    const float *src = cv->data;
    float *dst = e->g->values[nc].data;
    int64_t sstride[EMBER_MAX_RANK], idx[EMBER_MAX_RANK] = {0};
    for (int k = r - 1, s = 1; k >= 0; k--) sstride[k] = s, s *= (int)full[k];
    for (int64_t o = 0; o < numel; o++) {
        int64_t off = 0;
        for (int k = 0; k < r; k++) off += idx[k] * sstride[inv[k]];
        dst[o] = src[off];
        for (int k = r - 1; k >= 0 && ++idx[k] == dims[k]; k--) idx[k] = 0;
    }
    return nc;
}

/* y, now the input of Transpose(y, perm) -> z, gets z's shape permuted back. */
static void unpermute_shape(ember_graph *g, int y, int z, const int64_t *perm, int r)
{
    const ember_shape *zs = &g->values[z].shape;
    ember_shape *ys = &g->values[y].shape;
    if (zs->rank != r) {
        ys->rank = -1;
        return;
    }
    ys->rank = r;
    for (int k = 0; k < r; k++) {
        ys->dims[perm[k]] = zs->dims[k];
        ys->syms[perm[k]] = zs->syms[k];
    }
}

/* Sinks the Transpose(s) feeding node u when it can: 1 when changed, 2 when one of two
 * Transposes went too, 0 not, -1 error. */
static int sink(ember_edit *e, const ember_readers *rd, int u)
{
    ember_graph *g = e->g;
    const ember_node *n = &g->nodes[u];
    if (!ember_match_op(e, u, n->op) || n->n_outputs != 1 || n->outputs[0] < 0) return 0;
    int64_t perm[EMBER_MAX_RANK], perm2[EMBER_MAX_RANK];
    int r, r2;
    if (is_unary(n->op) && n->n_inputs == 1) {
        int y = ember_edit_resolve(e, n->inputs[0]), t = sole_transpose(e, rd, y, u);
        if (t < 0) return 0;
        int x = ember_edit_resolve(e, g->nodes[t].inputs[0]);
        if (!perm_of(g, &g->nodes[t], x, perm, &r)) return 0;
        swap_compute(g, t, u);              /* t: f(x) -> y; u: Transpose(y) -> z */
        unpermute_shape(g, y, n->outputs[0], perm, r);
        return 1;
    }
    if (!is_binary(n->op) || n->n_inputs != 2) return 0;
    int a = ember_edit_resolve(e, n->inputs[0]), b = ember_edit_resolve(e, n->inputs[1]);
    if (a == b) return 0;
    int ta = sole_transpose(e, rd, a, u), tb = sole_transpose(e, rd, b, u);
    if (ta >= 0 && tb >= 0) { /* both transposed: by the same perm, at the same rank */
        int xa = ember_edit_resolve(e, g->nodes[ta].inputs[0]), xb = ember_edit_resolve(e, g->nodes[tb].inputs[0]);
        if (!perm_of(g, &g->nodes[ta], xa, perm, &r) || !perm_of(g, &g->nodes[tb], xb, perm2, &r2) || r != r2 ||
            memcmp(perm, perm2, sizeof(int64_t) * (size_t)r) != 0)
            return 0;
        int late = ta > tb ? ta : tb, early = ta > tb ? tb : ta, ly = g->nodes[late].outputs[0];
        int ins[2] = {xa, xb};
        if (ember_edit_set_inputs(e, late, ins, 2) != EMBER_OK) return -1;
        swap_compute(g, late, u);           /* late: g(xa, xb) -> ly; u: Transpose(ly) -> z */
        if (ember_edit_set_inputs(e, u, &ly, 1) != EMBER_OK) return -1;
        ember_edit_kill(e, early);
        g->values[ly].dtype = g->values[n->outputs[0]].dtype;
        unpermute_shape(g, ly, n->outputs[0], perm, r);
        return 2;
    }
    int side = ta >= 0 ? 0 : tb >= 0 ? 1 : -1;
    if (side < 0) return 0;
    int t = side == 0 ? ta : tb, y = side == 0 ? a : b, c = side == 0 ? b : a;
    if (!ember_value_is_const_f32(g, c) || g->values[y].dtype != EMBER_DT_FLOAT) return 0;
    int x = ember_edit_resolve(e, g->nodes[t].inputs[0]);
    if (!perm_of(g, &g->nodes[t], x, perm, &r)) return 0;
    if (n->op == EMBER_OP_PRELU && side != 0) return 0;
    int nc = permuted_const(e, c, perm, r);
    if (nc == -2) return -1;
    if (nc < 0) return 0;
    int ins[2] = {side == 0 ? x : nc, side == 0 ? nc : x};
    if (ember_edit_set_inputs(e, t, ins, 2) != EMBER_OK) return -1;
    swap_compute(g, t, u);                  /* t: g(x, c') -> y; u: Transpose(y) -> z */
    if (ember_edit_set_inputs(e, u, &y, 1) != EMBER_OK) return -1;
    unpermute_shape(g, y, n->outputs[0], perm, r);
    return 1;
}

ember_status ember_pass_transpose_sink(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    ember_readers rd;
    ember_status s = ember_readers_build(g, &rd);
    if (s != EMBER_OK) return ember_edit_finish(&e, s);
    for (int u = 0; u < g->n_nodes && s == EMBER_OK; u++) {
        if (ember_node_has_subgraph(&g->nodes[u])) continue;
        int r = sink(&e, &rd, u);
        if (r < 0) s = ember_error(EMBER_E_NO_MEMORY, "out of memory sinking a Transpose below '%s'", g->nodes[u].name);
        st->changed += r > 0;
        st->removed += r == 2;
    }
    ember_readers_free(&rd);
    return ember_edit_finish(&e, s);
}
