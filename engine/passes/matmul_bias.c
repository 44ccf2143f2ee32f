/* MatMul + bias on a batched input as a 2-D Gemm:
 *
 *   y = Add(MatMul(A[..., K], W[K, N]), bias)    A of rank >= 3, W and bias constant,
 *                                                bias of N or 1 elements
 * becomes
 *   A2 = Reshape(A, [M, K]);  Y2 = Gemm(A2, W, bias);  y = Reshape(Y2, shape of y)
 *
 * (M the product of A's leading dims): the bias is then added by the GEMM itself and an
 * activation after it can fuse into the Gemm (the fusion pass looks through the Reshape),
 * and the Reshapes cost nothing once the memory planner makes them views. The MatMul node
 * becomes the Gemm and the Add node the second Reshape (keeping y, name included); the
 * first Reshape is a new node placed right before the Gemm, so the node order otherwise
 * stays as it was. Only when the MatMul output is read by the Add alone and is no graph
 * output. Results are bit-identical: the same products and one bias addition each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../graph_edit.h"
#include "../passes.h"
#include "../status.h"

static ember_status oom(void) { return ember_error(EMBER_E_NO_MEMORY, "out of memory in the matmul-bias pass"); }

/* The MatMul node for Add node i, or -1; *bias gets the bias value. */
static int candidate(const ember_graph *g, const int *uses, const unsigned char *pinned, int i, int *bias)
{
    const ember_node *add = &g->nodes[i];
    if (add->op != EMBER_OP_ADD || add->n_inputs != 2 || add->n_outputs != 1 || add->outputs[0] < 0) return -1;
    const ember_value *y = &g->values[add->outputs[0]];
    if (y->dtype != EMBER_DT_FLOAT || y->shape.rank < 3 || !ember_shape_is_static(&y->shape)) return -1;
    for (int side = 0; side < 2; side++) {
        int m = add->inputs[side], b = add->inputs[1 - side];
        if (m < 0 || b < 0) continue;
        int q = g->values[m].producer;
        if (q < 0 || g->nodes[q].op != EMBER_OP_MATMUL || g->nodes[q].n_inputs != 2 || uses[m] != 1 || pinned[m] ||
            g->nodes[q].n_attrs > 0)
            continue;
        int A = g->nodes[q].inputs[0], W = g->nodes[q].inputs[1];
        const ember_shape *as = &g->values[A].shape, *ws = &g->values[W].shape, *ms = &g->values[m].shape;
        if (g->values[A].dtype != EMBER_DT_FLOAT || !ember_shape_is_static(as) || as->rank < 3) continue;
        if (!ember_value_is_const_f32(g, W) || ws->rank != 2 || as->dims[as->rank - 1] != ws->dims[0]) continue;
        if (ms->rank != y->shape.rank) continue;
        bool same = true;
        for (int k = 0; k < ms->rank; k++) same &= ms->dims[k] == y->shape.dims[k];
        if (!same || !ember_value_is_const_f32(g, b)) continue;
        const ember_shape *bs = &g->values[b].shape;
        int64_t bn = ember_shape_numel(bs), N = ws->dims[1];
        bool fits = bn == 1 || (bn == N && bs->rank >= 1 && bs->dims[bs->rank - 1] == N);
        if (!fits || bs->rank > 2) continue;
        *bias = b;
        return q;
    }
    return -1;
}

/* A new value named "<base>__<tag>_N" (first free N) of the given dtype and shape. */
static int new_value(ember_graph *g, const char *base, const char *tag, ember_dtype dt, int rank, const int64_t *dims)
{
    char name[512];
    for (int k = 0;; k++) {
        snprintf(name, sizeof name, "%s__%s_%d", base, tag, k);
        if (ember_graph_find(g, name) < 0) break;
    }
    int v = ember_graph_add_value(g, name);
    if (v < 0) return -1;
    ember_value *val = &g->values[v];
    val->dtype = dt;
    val->shape.rank = rank;
    for (int k = 0; k < rank; k++) {
        val->shape.dims[k] = dims[k];
        val->shape.syms[k] = -1;
    }
    return v;
}

static int new_shape_const(ember_graph *g, const char *base, int rank, const int64_t *dims)
{
    int64_t r = rank;
    int v = new_value(g, base, "shape", EMBER_DT_INT64, 1, &r);
    if (v < 0) return -1;
    void *d = ember_arena_alloc(&g->arena, sizeof(int64_t) * (size_t)rank);
    if (!d) return -1;
    memcpy(d, dims, sizeof(int64_t) * (size_t)rank);
    g->values[v].flags = EMBER_VALUE_CONST;
    g->values[v].data = d;
    g->values[v].nbytes = sizeof(int64_t) * (size_t)rank;
    return v;
}

/* Rewrites MatMul q + Add i; appends the input Reshape and returns its index (or -1). */
static int rewrite(ember_graph *g, int q, int i, int bias)
{
    int A = g->nodes[q].inputs[0], W = g->nodes[q].inputs[1], y = g->nodes[i].outputs[0];
    const ember_shape *as = &g->values[A].shape;
    int64_t K = as->dims[as->rank - 1], M = 1, N = g->values[W].shape.dims[1];
    for (int k = 0; k + 1 < as->rank; k++) M *= as->dims[k];
    int64_t a2d[2] = {M, K}, y2d[2] = {M, N}, yd[EMBER_MAX_RANK];
    int yr = g->values[y].shape.rank;
    memcpy(yd, g->values[y].shape.dims, sizeof(int64_t) * (size_t)yr);
    const char *base = g->values[g->nodes[q].outputs[0]].name;
    int s_in = new_shape_const(g, base, 2, a2d), s_out = new_shape_const(g, base, yr, yd);
    int A2 = new_value(g, base, "a2d", EMBER_DT_FLOAT, 2, a2d), Y2 = new_value(g, base, "y2d", EMBER_DT_FLOAT, 2, y2d);
    if (s_in < 0 || s_out < 0 || A2 < 0 || Y2 < 0) return -1;
    char name[512];
    snprintf(name, sizeof name, "%s/ember_flatten", g->nodes[q].name);
    int rin[2] = {A, s_in};
    int r = ember_graph_add_node(g, name, "Reshape", "", rin, 2, &A2, 1, NULL, 0);
    if (r < 0) return -1;
    ember_edit_set_op(g, r, EMBER_OP_RESHAPE);
    g->nodes[r].opset = 13;
    int *gin = ember_arena_alloc(&g->arena, sizeof(int) * 3), *oin = ember_arena_alloc(&g->arena, sizeof(int) * 2);
    if (!gin || !oin) return -1;
    gin[0] = A2, gin[1] = W, gin[2] = bias;
    ember_node *mm = &g->nodes[q];
    mm->inputs = gin;
    mm->n_inputs = 3;
    mm->outputs[0] = Y2;
    ember_edit_set_op(g, q, EMBER_OP_GEMM);
    ember_edit_clear_attrs(g, q);
    if (mm->opset < 13) mm->opset = 13;
    oin[0] = Y2, oin[1] = s_out;
    ember_node *ad = &g->nodes[i];
    ad->inputs = oin;
    ad->n_inputs = 2;
    ember_edit_set_op(g, i, EMBER_OP_RESHAPE);
    ember_edit_clear_attrs(g, i);
    if (ad->opset < 13) ad->opset = 13;
    return r;
}

ember_status ember_pass_matmul_bias(ember_graph *g, ember_pass_stats *st)
{
    int nn = g->n_nodes, nv = g->n_values;
    int *uses = calloc((size_t)(nv ? nv : 1), sizeof *uses);
    unsigned char *pinned = calloc((size_t)(nv ? nv : 1), 1);
    int *before = malloc(sizeof *before * (size_t)(nn ? nn : 1)); /* node q -> new Reshape placed before it */
    if (!uses || !pinned || !before) {
        free(uses), free(pinned), free(before);
        return oom();
    }
    for (int i = 0; i < nn; i++) {
        before[i] = -1;
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0) uses[g->nodes[i].inputs[k]]++;
        for (int k = 0; k < g->nodes[i].n_implicit; k++) pinned[g->nodes[i].implicit[k]] = 1;
    }
    for (int o = 0; o < g->n_outputs; o++) pinned[g->outputs[o]] = 1;
    ember_status s = EMBER_OK;
    int added = 0;
    for (int i = 0; i < nn; i++) {
        if (ember_node_has_subgraph(&g->nodes[i])) continue;
        int bias, q = candidate(g, uses, pinned, i, &bias);
        if (q < 0) continue;
        int r = rewrite(g, q, i, bias);
        if (r < 0) {
            s = oom();
            break;
        }
        before[q] = r;
        added++;
        /* One node more (a negative removal keeps the counts adding up); two rewritten. */
        st->removed--;
        st->changed += 2;
    }
    free(uses);
    free(pinned);
    if (s == EMBER_OK && added) {
        /* New Reshapes go right before their Gemm. */
        ember_node *order = malloc(sizeof *order * (size_t)g->n_nodes);
        if (!order) s = oom();
        else {
            int w = 0;
            for (int i = 0; i < nn; i++) {
                if (before[i] >= 0) order[w++] = g->nodes[before[i]];
                order[w++] = g->nodes[i];
            }
            memcpy(g->nodes, order, sizeof *order * (size_t)w);
            free(order);
            for (int v = 0; v < g->n_values; v++) g->values[v].producer = -1;
            for (int i = 0; i < g->n_nodes; i++)
                for (int o = 0; o < g->nodes[i].n_outputs; o++)
                    if (g->nodes[i].outputs[o] >= 0) g->values[g->nodes[i].outputs[o]].producer = i;
        }
    }
    free(before);
    return s;
}
