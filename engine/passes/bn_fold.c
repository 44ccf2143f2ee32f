/* BatchNormalization folding. At inference BN is y = x * a + b per channel (axis 1),
 * a = scale / sqrt(var + eps), b = bias - mean * a. When x comes from a linear op with
 * constant weights whose output channel is that axis, and nothing else reads x, the
 * scale goes into the weights and b into the bias:
 *   Conv(X, W, B)          W[m,...] *= a[m],      B' = B * a + b
 *   Gemm(A, B, C) (rank 2)  column n of op(B) *= a[n], C' = beta * C * a + b, beta = 1
 *   MatMul(A, W) + Add(bias) (rank 2)  W[:, n] *= a[n], bias' = bias * a + b
 *   MatMul(A, W) (rank 2)   W[:, n] *= a[n], and the BN becomes Add(x, b)
 * The math runs in double; weights shared with other nodes are copied first. The
 * result differs from the unfolded graph by float rounding only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../graph_edit.h"
#include "../passes.h"
#include "../status.h"

typedef struct bn {
    int node, x, y; /* the BN node, its input and output */
    int64_t C;
    double *a, *b;
} bn;

/* Reads the BN at node i; false when it is not an inference BN with constant params. */
static bool bn_read(ember_edit *e, int i, bn *out)
{
    const ember_graph *g = e->g;
    const ember_node *n = &g->nodes[i];
    if (n->n_inputs < 5 || n->outputs[0] < 0) return false;
    if (n->opset >= 14 && ember_attr_int(n, "training_mode", 0) != 0) return false;
    if (n->opset < 9 && ember_attr_int(n, "spatial", 1) == 0) return false;
    for (int o = 1; o < n->n_outputs; o++)
        if (n->outputs[o] >= 0 && (e->uses[n->outputs[o]] || e->pinned[n->outputs[o]])) return false;
    int p[4];
    int64_t C = -1;
    for (int k = 0; k < 4; k++) {
        p[k] = ember_edit_resolve(e, n->inputs[1 + k]);
        if (!ember_value_is_const_f32(g, p[k]) || g->values[p[k]].shape.rank != 1) return false;
        int64_t len = g->values[p[k]].shape.dims[0];
        if (C >= 0 && len != C) return false;
        C = len;
    }
    int x = ember_edit_resolve(e, n->inputs[0]);
    const ember_shape *xs = &g->values[x].shape;
    if (g->values[x].dtype != EMBER_DT_FLOAT || xs->rank < 2 || xs->dims[1] != C) return false;
    const float *scale = g->values[p[0]].data, *bias = g->values[p[1]].data;
    const float *mean = g->values[p[2]].data, *var = g->values[p[3]].data;
    double eps = ember_attr_float(n, "epsilon", 1e-5f);
    out->a = malloc(sizeof(double) * (size_t)(C ? C : 1));
    out->b = malloc(sizeof(double) * (size_t)(C ? C : 1));
    if (!out->a || !out->b) {
        free(out->a);
        free(out->b);
        return false;
    }
    for (int64_t c = 0; c < C; c++) {
        out->a[c] = scale[c] / sqrt((double)var[c] + eps);
        out->b[c] = bias[c] - mean[c] * out->a[c];
    }
    out->node = i;
    out->x = x;
    out->y = n->outputs[0];
    out->C = C;
    return true;
}

/* A constant that may be rewritten in place: v itself if nothing else sees it, else a
 * fresh copy. -1 on out of memory. */
static int writable(ember_edit *e, int v, const char *tag)
{
    if (ember_edit_exclusive(e, v)) return v;
    ember_value *val = &e->g->values[v];
    return ember_edit_new_const(e, val->name, tag, val->dtype, val->shape.rank, val->shape.dims, val->data);
}

/* Scales the output-channel "columns" of a constant: element at (outer, c, inner) is
 * multiplied by a[c], for a layout [outer, C, inner]. */
static void scale_channels(float *w, int64_t outer, int64_t C, int64_t inner, const double *a)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < inner; i++) {
                float *p = &w[(o * C + c) * inner + i];
                *p = (float)(*p * a[c]);
            }
}

/* New bias of shape [C] (or [M, C] when `old` varies along rows): beta * old * a + b,
 * `old` broadcasting like Gemm's C / a numpy add onto [M, C]. -1 when old does not fit. */
static int folded_bias(ember_edit *e, const bn *n, int old, double beta)
{
    const ember_graph *g = e->g;
    int64_t r0 = 1, r1 = 1;
    if (old >= 0) {
        const ember_shape *s = &g->values[old].shape;
        if (!ember_value_is_const_f32(g, old) || s->rank > 2) return -1;
        if (s->rank >= 1) r1 = s->dims[s->rank - 1];
        if (s->rank == 2) r0 = s->dims[0];
        if (r1 != 1 && r1 != n->C) return -1;
    }
    int64_t dims[2] = {r0, n->C};
    int v = ember_edit_new_const(e, g->values[n->y].name, "bnfold_bias", EMBER_DT_FLOAT, r0 > 1 ? 2 : 1,
                                 r0 > 1 ? dims : dims + 1, NULL);
    if (v < 0) return -1;
    float *dst = g->values[v].data;
    const float *src = old >= 0 ? g->values[old].data : NULL;
    for (int64_t m = 0; m < r0; m++)
        for (int64_t c = 0; c < n->C; c++) {
            double o = src ? beta * src[m * r1 + (r1 == 1 ? 0 : c)] : 0.0;
            dst[m * n->C + c] = (float)(o * n->a[c] + n->b[c]);
        }
    return v;
}

/* The BN's output is now produced by node p; the BN goes. */
static void absorb(ember_edit *e, const bn *n, int p)
{
    ember_edit_kill(e, n->node);
    ember_edit_take_output(e, p, 0, n->y);
}

static bool fold_conv(ember_edit *e, const bn *n, int p)
{
    ember_graph *g = e->g;
    const ember_node *conv = &g->nodes[p];
    int w = ember_edit_resolve(e, conv->inputs[1]);
    int b = conv->n_inputs > 2 ? ember_edit_resolve(e, conv->inputs[2]) : -1;
    if (!ember_value_is_const_f32(g, w) || g->values[w].shape.rank < 3 || g->values[w].shape.dims[0] != n->C)
        return false;
    if (b >= 0 && (!ember_value_is_const_f32(g, b) || g->values[b].shape.rank != 1)) return false;
    int nb = folded_bias(e, n, b, 1.0);
    int nw = nb >= 0 ? writable(e, w, "bnfold") : -1;
    if (nw < 0) return false;
    const ember_value *wv = &g->values[nw];
    scale_channels(wv->data, 1, n->C, ember_shape_numel(&wv->shape) / (n->C ? n->C : 1), n->a);
    int ins[3] = {ember_edit_resolve(e, g->nodes[p].inputs[0]), nw, nb};
    if (ember_edit_set_inputs(e, p, ins, 3) != EMBER_OK) return false;
    absorb(e, n, p);
    return true;
}

/* Scales the output columns of a rank-2 constant weight; trans: stored [N, K]. */
static int scaled_weight(ember_edit *e, const bn *n, int w, bool trans)
{
    const ember_graph *g = e->g;
    const ember_shape *s = &g->values[w].shape;
    if (!ember_value_is_const_f32(g, w) || s->rank != 2 || s->dims[trans ? 0 : 1] != n->C) return -1;
    int64_t K = s->dims[trans ? 1 : 0];
    int nw = writable(e, w, "bnfold");
    if (nw < 0) return -1;
    if (trans) scale_channels(g->values[nw].data, 1, n->C, K, n->a);
    else scale_channels(g->values[nw].data, K, n->C, 1, n->a);
    return nw;
}

static bool fold_gemm(ember_edit *e, const bn *n, int p)
{
    ember_graph *g = e->g;
    const ember_node *gm = &g->nodes[p];
    int c = gm->n_inputs > 2 ? ember_edit_resolve(e, gm->inputs[2]) : -1;
    double beta = ember_attr_float(gm, "beta", 1.0f);
    bool tb = ember_attr_int(gm, "transB", 0) != 0;
    int nc = folded_bias(e, n, c, c >= 0 ? beta : 0.0);
    int nw = nc >= 0 ? scaled_weight(e, n, ember_edit_resolve(e, gm->inputs[1]), tb) : -1;
    if (nw < 0) return false;
    int ins[3] = {ember_edit_resolve(e, g->nodes[p].inputs[0]), nw, nc};
    ember_attr one = {.name = "beta", .type = EMBER_ATTR_FLOAT, .f = 1.0f};
    if (ember_edit_set_inputs(e, p, ins, 3) != EMBER_OK || ember_edit_set_attr(g, p, &one) != EMBER_OK)
        return false;
    absorb(e, n, p);
    return true;
}

/* MatMul(A, W) producing the BN input directly: the BN turns into Add(x, b). */
static bool fold_matmul(ember_edit *e, const bn *n, int p)
{
    ember_graph *g = e->g;
    if (g->values[n->x].shape.rank != 2 || g->nodes[n->node].opset < 7) return false;
    int nb = folded_bias(e, n, -1, 0.0);
    int nw = nb >= 0 ? scaled_weight(e, n, ember_edit_resolve(e, g->nodes[p].inputs[1]), false) : -1;
    if (nw < 0) return false;
    ember_edit_set_input(e, p, 1, nw);
    int ins[2] = {n->x, nb};
    if (ember_edit_set_inputs(e, n->node, ins, 2) != EMBER_OK) return false;
    ember_edit_set_op(g, n->node, EMBER_OP_ADD);
    ember_edit_clear_attrs(g, n->node);
    g->nodes[n->node].n_outputs = 1; /* the unread training outputs go */
    return true;
}

/* Add(MatMul(A, W), bias) (either operand order) producing the BN input. */
static bool fold_matmul_add(ember_edit *e, const bn *n, int p)
{
    ember_graph *g = e->g;
    const ember_node *add = &g->nodes[p];
    if (add->n_inputs != 2 || g->values[n->x].shape.rank != 2) return false;
    for (int side = 0; side < 2; side++) {
        int m = ember_edit_resolve(e, add->inputs[side]), bias = ember_edit_resolve(e, add->inputs[1 - side]);
        int q = g->values[m].producer;
        if (q < 0 || e->dead[q] || g->nodes[q].op != EMBER_OP_MATMUL || e->uses[m] != 1 || e->pinned[m] ||
            !ember_value_is_const_f32(g, bias) || g->values[m].shape.rank != 2)
            continue;
        int nb = folded_bias(e, n, bias, 1.0);
        int nw = nb >= 0 ? scaled_weight(e, n, ember_edit_resolve(e, g->nodes[q].inputs[1]), false) : -1;
        if (nw < 0) return false;
        ember_edit_set_input(e, q, 1, nw);
        ember_edit_set_input(e, p, 1 - side, nb);
        absorb(e, n, p);
        return true;
    }
    return false;
}

static bool has_fused_attr(const ember_node *n)
{
    for (int a = 0; a < n->n_attrs; a++)
        if (strncmp(n->attrs[a].name, "ember_", 6) == 0) return true;
    return false;
}

ember_status ember_pass_bn_fold(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    for (int i = 0; i < g->n_nodes; i++) {
        bn n;
        if (g->nodes[i].op != EMBER_OP_BATCH_NORMALIZATION || !bn_read(&e, i, &n)) continue;
        int p = g->values[n.x].producer;
        bool done = false;
        /* A producer with anything fused into it (activation, residual sum) is no longer
         * the plain linear op BN folding assumes. */
        if (p >= 0 && !e.dead[p] && e.uses[n.x] == 1 && !e.pinned[n.x] && !has_fused_attr(&g->nodes[p])) {
            switch (g->nodes[p].op) {
            case EMBER_OP_CONV: done = fold_conv(&e, &n, p); break;
            case EMBER_OP_GEMM: done = fold_gemm(&e, &n, p); break;
            case EMBER_OP_MATMUL: done = fold_matmul(&e, &n, p); break;
            case EMBER_OP_ADD: done = fold_matmul_add(&e, &n, p); break;
            default: break;
            }
        }
        free(n.a);
        free(n.b);
        if (done) {
            bool gone = g->nodes[i].op != EMBER_OP_ADD;
            st->removed += gone;
            st->changed += !gone;
        }
    }
    return ember_edit_commit(&e);
}
