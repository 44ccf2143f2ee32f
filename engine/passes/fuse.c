/* Operator fusion for the kernels that can finish their own output:
 *   Conv / Gemm / MatMul -> activation   the activation node goes; the producer gets
 *       "ember_activation" (STRING, the activation's ONNX op name) and its parameters:
 *       "ember_act_min"/"ember_act_max" (Clip, constant bounds; an absent bound is left
 *       out), "ember_act_alpha"/"ember_act_beta" (LeakyRelu, HardSigmoid). Activations:
 *       Relu, Clip, Sigmoid, LeakyRelu, HardSigmoid, Tanh, on float32; Gelu (named
 *       "GeluTanh" when approximate = "tanh") into Gemm / MatMul only.
 *   Gemm / MatMul -> Mul(y, Sigmoid(y))  SiLU: both go, "ember_activation" = "SiLU".
 *   MatMul(A, W) -> Add(bias)            rank-2 A and W, a constant bias that broadcasts
 *       to [M, N] without growing it: the pair becomes Gemm(A, W, bias) (opset >= 7).
 *   Conv -> Add(other)                   a residual of the output's shape and float32,
 *       computed before the Conv (node order): the Add goes; the Conv gets `other` as
 *       input 3 (input 2, the bias, absent when it was) and "ember_sum_input" (INT, 3);
 *       its kernels add it before any activation, which may then be fused as above. Not
 *       into a Conv that already has an activation or a residual, nor when the sum
 *       reaches a BatchNormalization (BN folding would not scale the residual).
 * Either only when the intermediate value has no other reader and is not a graph
 * output (the fused node takes over the activation's output value, name included).
 * An activation also fuses through a Reshape between it and its producer (the
 * matmul-bias pass puts one after each Gemm it makes): elementwise math commutes with a
 * reshape, so the Reshape then produces the activation's output.
 * The ops' reference kernels apply the activation themselves (ops/kernels/activation.c)
 * with the elementwise kernels' math, so the result is bit-identical.
 *
 * BN folding treats Conv / Gemm / MatMul as linear: an activation is not fused while a
 * BatchNormalization could still fold through it (its output reaches a BN through
 * layout-only nodes or an Add), so BN folding never scales through a fused activation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../graph_edit.h"
#include "../passes.h"
#include "../status.h"

static bool fusable_producer(int op)
{
    return op == EMBER_OP_CONV || op == EMBER_OP_GEMM || op == EMBER_OP_MATMUL;
}

static bool is_reshape(int op) { return op == EMBER_OP_RESHAPE; }

static bool is_activation(int op)
{
    return op == EMBER_OP_RELU || op == EMBER_OP_CLIP || op == EMBER_OP_SIGMOID || op == EMBER_OP_LEAKY_RELU ||
           op == EMBER_OP_HARD_SIGMOID || op == EMBER_OP_TANH || op == EMBER_OP_GELU;
}

/* Gelu and SiLU are applied by the reference kernels (ops/kernels/activation.c) only:
 * oneDNN convolutions would fall back to the slow reference Conv, so those two fuse
 * into Gemm / MatMul alone. */
static bool takes_activation(int producer_op, int act_op)
{
    return act_op != EMBER_OP_GELU || producer_op != EMBER_OP_CONV;
}

/* Nodes a BatchNormalization may be folded through (or after removing). */
static bool bn_transparent(int op)
{
    return op == EMBER_OP_IDENTITY || op == EMBER_OP_DROPOUT || op == EMBER_OP_RESHAPE ||
           op == EMBER_OP_SQUEEZE || op == EMBER_OP_UNSQUEEZE || op == EMBER_OP_FLATTEN ||
           op == EMBER_OP_TRANSPOSE || op == EMBER_OP_ADD;
}

/* Per value: a BatchNormalization reads it, directly or through bn_transparent nodes.
 * One sweep in reverse topological order. NULL on out of memory. */
static unsigned char *reaches_bn(const ember_graph *g)
{
    unsigned char *r = calloc((size_t)(g->n_values ? g->n_values : 1), 1);
    if (!r) return NULL;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const ember_node *n = &g->nodes[i];
        bool mark = n->op == EMBER_OP_BATCH_NORMALIZATION;
        if (!mark && bn_transparent(n->op))
            for (int o = 0; o < n->n_outputs; o++) mark |= n->outputs[o] >= 0 && r[n->outputs[o]];
        if (!mark) continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) r[n->inputs[k]] = 1;
    }
    return r;
}

/* A float32 constant scalar (one element), or absent (v < 0). */
static bool const_bound(const ember_graph *g, int v, float *out, bool *present)
{
    *present = v >= 0;
    if (v < 0) return true;
    if (!ember_value_is_const_f32(g, v) || ember_shape_numel(&g->values[v].shape) != 1) return false;
    *out = *(const float *)g->values[v].data;
    return true;
}

/* The producer's attributes for activation node `act`; false when its parameters are not
 * constant. */
static bool activation_attrs(ember_edit *e, int act, ember_attr *attrs, int *n)
{
    const ember_graph *g = e->g;
    const ember_node *a = &g->nodes[act];
    *n = 0;
    const char *name = ember_op_table[a->op].name;
    if (a->op == EMBER_OP_GELU) {
        const char *mode = ember_attr_string(a, "approximate", "none");
        if (strcmp(mode, "none") != 0 && strcmp(mode, "tanh") != 0) return false;
        if (strcmp(mode, "tanh") == 0) name = "GeluTanh";
    }
    attrs[(*n)++] = (ember_attr){.name = "ember_activation", .type = EMBER_ATTR_STRING, .s = name,
                                 .s_len = strlen(name)};
    switch (a->op) {
    case EMBER_OP_CLIP: {
        float lo = -INFINITY, hi = INFINITY;
        bool has_lo, has_hi;
        if (a->opset < 11) {
            const ember_attr *amin = ember_node_attr(a, "min"), *amax = ember_node_attr(a, "max");
            has_lo = amin != NULL, has_hi = amax != NULL;
            if (amin) lo = amin->f;
            if (amax) hi = amax->f;
        } else {
            int vlo = a->n_inputs > 1 && a->inputs[1] >= 0 ? ember_edit_resolve(e, a->inputs[1]) : -1;
            int vhi = a->n_inputs > 2 && a->inputs[2] >= 0 ? ember_edit_resolve(e, a->inputs[2]) : -1;
            if (!const_bound(g, vlo, &lo, &has_lo) || !const_bound(g, vhi, &hi, &has_hi)) return false;
        }
        if (has_lo) attrs[(*n)++] = (ember_attr){.name = "ember_act_min", .type = EMBER_ATTR_FLOAT, .f = lo};
        if (has_hi) attrs[(*n)++] = (ember_attr){.name = "ember_act_max", .type = EMBER_ATTR_FLOAT, .f = hi};
        break;
    }
    case EMBER_OP_LEAKY_RELU:
        attrs[(*n)++] = (ember_attr){.name = "ember_act_alpha", .type = EMBER_ATTR_FLOAT,
                                     .f = ember_attr_float(a, "alpha", 0.01f)};
        break;
    case EMBER_OP_HARD_SIGMOID:
        attrs[(*n)++] = (ember_attr){.name = "ember_act_alpha", .type = EMBER_ATTR_FLOAT,
                                     .f = ember_attr_float(a, "alpha", 0.2f)};
        attrs[(*n)++] = (ember_attr){.name = "ember_act_beta", .type = EMBER_ATTR_FLOAT,
                                     .f = ember_attr_float(a, "beta", 0.5f)};
        break;
    default: break;
    }
    return true;
}

/* The value `v` feeding node `reader` comes from a live producer of op class `want` whose
 * output 0 it is, read by nothing else and not pinned: that producer, else -1. */
static int sole_producer(ember_edit *e, int v, bool (*want)(int op))
{
    const ember_graph *g = e->g;
    int p = g->values[v].producer;
    if (p < 0 || e->dead[p] || !want(g->nodes[p].op) || g->nodes[p].outputs[0] != v) return -1;
    if (e->uses[v] != 1 || e->pinned[v]) return -1;
    return p;
}

static ember_status fuse_activation(ember_edit *e, int i, const unsigned char *to_bn, bool *done)
{
    ember_graph *g = e->g;
    const ember_node *a = &g->nodes[i];
    *done = false;
    if (a->n_inputs < 1 || a->inputs[0] < 0 || a->n_outputs != 1 || a->outputs[0] < 0) return EMBER_OK;
    int x = ember_edit_resolve(e, a->inputs[0]), y = a->outputs[0];
    int p = sole_producer(e, x, fusable_producer);
    /* Through a Reshape (the matmul-bias pass puts one after its Gemm): an elementwise
     * activation commutes with it, so the Reshape then produces the activation's output. */
    int via = p < 0 ? sole_producer(e, x, is_reshape) : -1;
    if (via >= 0 && g->nodes[via].n_inputs >= 1 && g->nodes[via].inputs[0] >= 0)
        p = sole_producer(e, ember_edit_resolve(e, g->nodes[via].inputs[0]), fusable_producer);
    if (p < 0 || g->values[x].dtype != EMBER_DT_FLOAT || to_bn[y]) return EMBER_OK;
    if (ember_node_attr(&g->nodes[p], "ember_activation") || !takes_activation(g->nodes[p].op, a->op))
        return EMBER_OK;
    ember_attr attrs[3];
    int n;
    if (!activation_attrs(e, i, attrs, &n)) return EMBER_OK;
    TRY(ember_edit_set_attrs(g, p, attrs, n));
    ember_edit_kill(e, i);
    ember_edit_take_output(e, via >= 0 ? via : p, 0, y);
    *done = true;
    return EMBER_OK;
}

static bool is_gemm_or_matmul(int op) { return op == EMBER_OP_GEMM || op == EMBER_OP_MATMUL; }

/* Mul(y, Sigmoid(y)) after a Gemm / MatMul producing y (read by those two alone): the
 * producer gets ember_activation "SiLU". */
static ember_status fuse_silu(ember_edit *e, int i, const unsigned char *to_bn, bool *done)
{
    ember_graph *g = e->g;
    const ember_node *mul = &g->nodes[i];
    *done = false;
    if (mul->n_inputs != 2 || mul->n_outputs != 1 || mul->outputs[0] < 0 || to_bn[mul->outputs[0]]) return EMBER_OK;
    for (int side = 0; side < 2; side++) {
        int y = ember_edit_resolve(e, mul->inputs[side]), sv = ember_edit_resolve(e, mul->inputs[1 - side]);
        int sg = g->values[sv].producer;
        if (sg < 0 || e->dead[sg] || g->nodes[sg].op != EMBER_OP_SIGMOID || g->nodes[sg].n_inputs != 1 ||
            ember_edit_resolve(e, g->nodes[sg].inputs[0]) != y || e->uses[sv] != 1 || e->pinned[sv])
            continue;
        int p = g->values[y].producer, via = -1;
        if (e->uses[y] != 2 || e->pinned[y] || g->values[y].dtype != EMBER_DT_FLOAT || p < 0 || e->dead[p]) continue;
        if (g->nodes[p].op == EMBER_OP_RESHAPE && g->nodes[p].inputs[0] >= 0) { /* as in fuse_activation */
            via = p;
            p = sole_producer(e, ember_edit_resolve(e, g->nodes[via].inputs[0]), is_gemm_or_matmul);
        }
        if (p < 0 || e->dead[p] || !is_gemm_or_matmul(g->nodes[p].op) ||
            g->nodes[via >= 0 ? via : p].outputs[0] != y || ember_node_attr(&g->nodes[p], "ember_activation"))
            continue;
        ember_attr a = {.name = "ember_activation", .type = EMBER_ATTR_STRING, .s = "SiLU", .s_len = 4};
        TRY(ember_edit_set_attr(g, p, &a));
        int out = mul->outputs[0];
        ember_edit_kill(e, i);
        ember_edit_kill(e, sg);
        ember_edit_take_output(e, via >= 0 ? via : p, 0, out);
        *done = true;
        return EMBER_OK;
    }
    return EMBER_OK;
}

static bool is_matmul(int op) { return op == EMBER_OP_MATMUL; }
static bool is_conv(int op) { return op == EMBER_OP_CONV; }

/* Add(Conv(X, W, B), R) -> Conv(X, W, B, R) with ember_sum_input = 3. */
static ember_status conv_add_residual(ember_edit *e, int i, const unsigned char *to_bn, bool *done)
{
    ember_graph *g = e->g;
    const ember_node *add = &g->nodes[i];
    *done = false;
    if (add->n_inputs != 2 || add->n_outputs != 1 || add->outputs[0] < 0) return EMBER_OK;
    int y = add->outputs[0];
    const ember_shape *ys = &g->values[y].shape;
    if (g->values[y].dtype != EMBER_DT_FLOAT || !ember_shape_is_static(ys) || to_bn[y]) return EMBER_OK;
    for (int side = 0; side < 2; side++) {
        int cv = ember_edit_resolve(e, add->inputs[side]), r = ember_edit_resolve(e, add->inputs[1 - side]);
        int q = sole_producer(e, cv, is_conv);
        if (q < 0 || r == cv) continue;
        const ember_node *conv = &g->nodes[q];
        if (conv->n_inputs < 2 || conv->n_inputs > 3 || conv->n_outputs != 1 ||
            ember_node_attr(conv, "ember_activation") || ember_node_attr(conv, "ember_sum_input"))
            continue;
        /* The residual must exist when the Conv runs, in the Add's shape exactly. */
        int rp = g->values[r].producer;
        if (rp >= q || g->values[r].dtype != EMBER_DT_FLOAT) continue;
        const ember_shape *cs = &g->values[cv].shape, *rs = &g->values[r].shape;
        bool same = cs->rank == ys->rank && rs->rank == ys->rank;
        for (int k = 0; same && k < ys->rank; k++) same = cs->dims[k] == ys->dims[k] && rs->dims[k] == ys->dims[k];
        if (!same) continue;
        int ins[4] = {ember_edit_resolve(e, conv->inputs[0]), ember_edit_resolve(e, conv->inputs[1]),
                      conv->n_inputs > 2 && conv->inputs[2] >= 0 ? ember_edit_resolve(e, conv->inputs[2]) : -1, r};
        TRY(ember_edit_set_inputs(e, q, ins, 4));
        ember_attr a = {.name = "ember_sum_input", .type = EMBER_ATTR_INT, .i = 3};
        TRY(ember_edit_set_attr(g, q, &a));
        ember_edit_kill(e, i);
        ember_edit_take_output(e, q, 0, y);
        *done = true;
        return EMBER_OK;
    }
    return EMBER_OK;
}

/* Add(MatMul(A, W), bias) -> Gemm(A, W, bias). */
static ember_status matmul_add_to_gemm(ember_edit *e, int i, bool *done)
{
    ember_graph *g = e->g;
    const ember_node *add = &g->nodes[i];
    *done = false;
    if (add->n_inputs != 2 || add->n_outputs != 1 || add->outputs[0] < 0) return EMBER_OK;
    int y = add->outputs[0];
    const ember_shape *ys = &g->values[y].shape;
    if (g->values[y].dtype != EMBER_DT_FLOAT || ys->rank != 2 || !ember_shape_is_static(ys)) return EMBER_OK;
    for (int side = 0; side < 2; side++) {
        int m = ember_edit_resolve(e, add->inputs[side]), bias = ember_edit_resolve(e, add->inputs[1 - side]);
        int q = sole_producer(e, m, is_matmul);
        if (q < 0 || g->nodes[q].opset < 7 || ember_node_attr(&g->nodes[q], "ember_activation")) continue;
        const ember_node *mm = &g->nodes[q];
        int A = ember_edit_resolve(e, mm->inputs[0]), W = ember_edit_resolve(e, mm->inputs[1]);
        const ember_shape *ms = &g->values[m].shape, *bs = &g->values[bias].shape;
        if (g->values[A].shape.rank != 2 || g->values[W].shape.rank != 2 || ms->rank != 2 ||
            ms->dims[0] != ys->dims[0] || ms->dims[1] != ys->dims[1])
            continue;
        if (!ember_value_is_const_f32(g, bias) || bs->rank > 2) continue;
        bool fits = true; /* unidirectional broadcast to [M, N] */
        for (int k = 0; k < bs->rank; k++) {
            int64_t d = bs->dims[k], w = ys->dims[2 - bs->rank + k];
            fits &= d == 1 || d == w;
        }
        if (!fits) continue;
        int ins[3] = {A, W, bias};
        TRY(ember_edit_set_inputs(e, q, ins, 3));
        ember_edit_set_op(g, q, EMBER_OP_GEMM);
        ember_edit_clear_attrs(g, q);
        ember_edit_kill(e, i);
        ember_edit_take_output(e, q, 0, y);
        *done = true;
        return EMBER_OK;
    }
    return EMBER_OK;
}

ember_status ember_pass_fuse(ember_graph *g, ember_pass_stats *st)
{
    unsigned char *to_bn = reaches_bn(g);
    if (!to_bn) return ember_error(EMBER_E_NO_MEMORY, "out of memory in the fusion pass");
    ember_edit e;
    ember_status s = ember_edit_begin(g, &e);
    if (s != EMBER_OK) {
        free(to_bn);
        return s;
    }
    for (int i = 0; i < g->n_nodes && s == EMBER_OK; i++) {
        if (e.dead[i] || ember_node_has_subgraph(&g->nodes[i])) continue;
        bool done = false;
        int op = g->nodes[i].op;
        if (is_activation(op)) s = fuse_activation(&e, i, to_bn, &done);
        else if (op == EMBER_OP_MUL) {
            s = fuse_silu(&e, i, to_bn, &done);
            st->removed += done; /* the Sigmoid went too */
        } else if (op == EMBER_OP_ADD) {
            s = matmul_add_to_gemm(&e, i, &done);
            if (s == EMBER_OK && !done) s = conv_add_residual(&e, i, to_bn, &done);
        }
        st->removed += done;
    }
    free(to_bn);
    return ember_edit_finish(&e, s);
}
