/* Transpose and reshape elimination.
 *   Transpose(Transpose(x, p1), p2) = Transpose(x, q), q[j] = p1[p2[j]]; gone when q
 *   is the identity. A Transpose with the identity perm goes too, and one that moves
 *   only dimensions of size 1 (static shapes) becomes a Reshape, which the program runs
 *   as a view of its input's bytes (PyTorch's LSTM exports wrap batch-1 sequences in
 *   two such Transposes: lstm_kws 2.6 us of copies).
 *   A chain of Reshape / Squeeze / Unsqueeze / Flatten only changes the shape, so with
 *   static shapes its last node becomes one Reshape of the chain's source to the final
 *   shape (or goes, when that is the source's shape).
 * Rewritten nodes read an earlier value and the same data; intermediates that are
 * still read elsewhere stay (dce removes the rest). One topological sweep suffices:
 * a node's producer has already been rewritten when the node is visited. */
#include <string.h>

#include "../graph_edit.h"
#include "../passes.h"
#include "../status.h"

/* The perm of Transpose node n, or false when its input rank is unknown. */
static bool get_perm(ember_edit *e, const ember_node *n, int64_t *perm, int *rank)
{
    const int64_t *p;
    int cnt = ember_attr_ints(n, "perm", &p);
    int r = cnt >= 0 ? cnt : e->g->values[ember_edit_resolve(e, n->inputs[0])].shape.rank;
    if (r < 0 || r > EMBER_MAX_RANK) return false;
    for (int i = 0; i < r; i++) {
        perm[i] = cnt >= 0 ? p[i] : r - 1 - i;
        if (perm[i] < 0 || perm[i] >= r) return false;
    }
    *rank = r;
    return true;
}

static bool is_identity_perm(const int64_t *perm, int r)
{
    for (int i = 0; i < r; i++)
        if (perm[i] != i) return false;
    return true;
}

/* Returns the node producing v if it is live and one of `ops`' kind, else -1. */
static int live_producer(ember_edit *e, int v, bool (*kind)(int op))
{
    int p = e->g->values[v].producer;
    return p >= 0 && !e->dead[p] && kind(e->g->nodes[p].op) ? p : -1;
}

static bool is_transpose(int op) { return op == EMBER_OP_TRANSPOSE; }

static bool is_reshape_like(int op)
{
    return op == EMBER_OP_RESHAPE || op == EMBER_OP_SQUEEZE || op == EMBER_OP_UNSQUEEZE ||
           op == EMBER_OP_FLATTEN;
}

static bool same_shape(const ember_shape *a, const ember_shape *b)
{
    return a->rank == b->rank && memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) == 0;
}

/* The perm keeps the order of every dimension of `in` larger than 1. */
static bool moves_only_unit_dims(const ember_shape *in, const int64_t *perm, int r)
{
    int64_t last = -1;
    for (int j = 0; j < r; j++) {
        if (in->dims[perm[j]] == 1) continue;
        if (perm[j] < last) return false;
        last = perm[j];
    }
    return true;
}

static int reshape(ember_edit *e, int i);

/* Node i (a Transpose of `in`) becomes Reshape(in, its output's shape), joined at once
 * to a reshape chain above it. */
static int transpose_to_reshape(ember_edit *e, int i, int in)
{
    ember_graph *g = e->g;
    int out = g->nodes[i].outputs[0];
    const ember_shape *os = &g->values[out].shape;
    int64_t len = os->rank;
    int shape = ember_edit_new_const(e, g->values[out].name, "shape", EMBER_DT_INT64, 1, &len, os->dims);
    int ins[2] = {in, shape};
    if (shape < 0 || ember_edit_set_inputs(e, i, ins, 2) != EMBER_OK) return -1;
    ember_edit_set_op(g, i, EMBER_OP_RESHAPE);
    ember_edit_clear_attrs(g, i);
    return reshape(e, i) < 0 ? -1 : 2;
}

/* 1 removed, 2 rewritten, 0 unchanged, -1 error. */
static int transpose(ember_edit *e, int i)
{
    ember_graph *g = e->g;
    const ember_node *n = &g->nodes[i];
    int64_t p2[EMBER_MAX_RANK], p1[EMBER_MAX_RANK], q[EMBER_MAX_RANK];
    int r2, r1;
    if (n->n_inputs < 1 || n->outputs[0] < 0 || !get_perm(e, n, p2, &r2)) return 0;
    int in = ember_edit_resolve(e, n->inputs[0]);
    if (is_identity_perm(p2, r2)) return ember_edit_bypass(e, i, in, n->outputs[0]) ? 1 : 0;
    int t = live_producer(e, in, is_transpose);
    if (t < 0 || !get_perm(e, &g->nodes[t], p1, &r1) || r1 != r2) {
        const ember_shape *is = &g->values[in].shape, *os = &g->values[n->outputs[0]].shape;
        if (is->rank == r2 && ember_shape_is_static(is) && ember_shape_is_static(os) && n->opset >= 5 &&
            moves_only_unit_dims(is, p2, r2))
            return transpose_to_reshape(e, i, in);
        return 0;
    }
    int src = ember_edit_resolve(e, g->nodes[t].inputs[0]);
    for (int j = 0; j < r2; j++) q[j] = p1[p2[j]];
    if (is_identity_perm(q, r2)) return ember_edit_bypass(e, i, src, n->outputs[0]) ? 1 : 0;
    ember_attr a = {.name = "perm", .type = EMBER_ATTR_INTS, .ints = q, .n = r2};
    if (ember_edit_set_attr(g, i, &a) != EMBER_OK) return -1;
    ember_edit_set_input(e, i, 0, src);
    return 2;
}

/* The node is a Reshape whose shape input already says exactly `s` (no 0 / -1). */
static bool reshape_says(ember_edit *e, const ember_node *n, const ember_shape *s)
{
    if (n->op != EMBER_OP_RESHAPE || n->n_inputs < 2) return false;
    int v = ember_edit_resolve(e, n->inputs[1]);
    const ember_value *val = &e->g->values[v];
    if (!ember_value_is_const(e->g, v) || val->dtype != EMBER_DT_INT64 || val->shape.rank != 1 ||
        val->shape.dims[0] != s->rank)
        return false;
    return memcmp(val->data, s->dims, sizeof(int64_t) * (size_t)s->rank) == 0;
}

static int reshape(ember_edit *e, int i)
{
    ember_graph *g = e->g;
    const ember_node *n = &g->nodes[i];
    if (n->n_inputs < 1 || n->outputs[0] < 0 || n->opset < 5) return 0;
    int in = ember_edit_resolve(e, n->inputs[0]), out = n->outputs[0];
    const ember_shape *os = &g->values[out].shape;
    if (!ember_shape_is_static(os) || !ember_shape_is_static(&g->values[in].shape)) return 0;
    for (int d = 0; d < os->rank; d++)
        if (os->dims[d] == 0) return 0; /* a 0 in a Reshape target means "copy" */
    if (same_shape(&g->values[in].shape, os)) return ember_edit_bypass(e, i, in, out) ? 1 : 0;
    int src = in, p;
    while ((p = live_producer(e, src, is_reshape_like)) >= 0 && g->nodes[p].n_inputs >= 1) {
        int up = ember_edit_resolve(e, g->nodes[p].inputs[0]);
        if (up < 0 || !ember_shape_is_static(&g->values[up].shape)) break;
        src = up;
    }
    if (src == in) return 0;
    if (same_shape(&g->values[src].shape, os)) return ember_edit_bypass(e, i, src, out) ? 1 : 0;
    if (reshape_says(e, n, os)) {
        ember_edit_set_input(e, i, 0, src);
        return 2;
    }
    int64_t len = os->rank;
    int shape = ember_edit_new_const(e, g->values[out].name, "shape", EMBER_DT_INT64, 1, &len, os->dims);
    int ins[2] = {src, shape};
    if (shape < 0 || ember_edit_set_inputs(e, i, ins, 2) != EMBER_OK) return -1;
    ember_edit_set_op(g, i, EMBER_OP_RESHAPE);
    ember_edit_clear_attrs(g, i);
    return 2;
}

ember_status ember_pass_reshape(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    for (int i = 0; i < g->n_nodes; i++) {
        int op = g->nodes[i].op, r = 0;
        if (is_transpose(op)) r = transpose(&e, i);
        else if (is_reshape_like(op)) r = reshape(&e, i);
        if (r < 0) {
            /* What was rewritten so far is consistent: keep it. */
            ember_status s = ember_error(EMBER_E_NO_MEMORY, "out of memory rewriting node '%s'", g->nodes[i].name);
            ember_edit_commit(&e);
            return s;
        }
        st->removed += r == 1;
        st->changed += r == 2;
    }
    return ember_edit_commit(&e);
}
