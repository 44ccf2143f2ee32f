/* Elementwise fusion: a chain of float32 elementwise nodes, each the only reader of the
 * previous one's output, becomes one EmberElementwiseChain node whose kernel
 * (ops/kernels/elementwise_chain.c) makes one pass over memory instead of one per node.
 *
 * A link is a unary op (Relu, Neg, Abs, Sqrt, Exp, Tanh, Sigmoid, Erf), Clip with
 * constant scalar bounds, or a binary op (Add, Sub, Mul, Div, Max, Min with two inputs)
 * whose other operand is a float32 scalar constant or a tensor of exactly the chain's
 * shape (at most K_EWC_MAX_INPUTS - 1 such tensors per chain). The chain starts at a node
 * whose running input has the output's shape, and needs two links at least. The last
 * node becomes the chain (keeping its output); the others must have no other reader and
 * be no graph output. Same math per element as the separate kernels, in float32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../ops/kernels/elementwise_chain.h"
#include "../passes.h"
#include "../status.h"
#include "match.h"

#define MAX_STEPS 32

static int unary_code(int op)
{
    switch (op) {
    case EMBER_OP_RELU: return K_EWC_RELU;
    case EMBER_OP_NEG: return K_EWC_NEG;
    case EMBER_OP_ABS: return K_EWC_ABS;
    case EMBER_OP_SQRT: return K_EWC_SQRT;
    case EMBER_OP_EXP: return K_EWC_EXP;
    case EMBER_OP_TANH: return K_EWC_TANH;
    case EMBER_OP_SIGMOID: return K_EWC_SIGMOID;
    case EMBER_OP_ERF: return K_EWC_ERF;
    default: return -1;
    }
}

/* Binary opcode with the running value on the left (swap: on the right). */
static int binary_code(int op, bool swap)
{
    switch (op) {
    case EMBER_OP_ADD: return K_EWC_ADD;
    case EMBER_OP_SUB: return swap ? K_EWC_RSUB : K_EWC_SUB;
    case EMBER_OP_MUL: return K_EWC_MUL;
    case EMBER_OP_DIV: return swap ? K_EWC_RDIV : K_EWC_DIV;
    case EMBER_OP_MAX: return K_EWC_MAX;
    case EMBER_OP_MIN: return K_EWC_MIN;
    default: return -1;
    }
}

typedef struct chain {
    int ins[K_EWC_MAX_INPUTS], n_ins;
    int64_t prog[3 * MAX_STEPS];
    float consts[2 * MAX_STEPS];
    int n_steps, n_consts;
    int nodes[MAX_STEPS];
} chain;

static bool same_shape(const ember_shape *a, const ember_shape *b)
{
    if (a->rank != b->rank) return false;
    for (int k = 0; k < a->rank; k++)
        if (a->dims[k] != b->dims[k]) return false;
    return true;
}

/* Appends node i, whose running input is `run` (resolved), to c; false when it is no link. */
static bool add_link(ember_edit *e, chain *c, int i, int run)
{
    const ember_graph *g = e->g;
    const ember_node *n = &g->nodes[i];
    if (c->n_steps == MAX_STEPS || !ember_match_op(e, i, n->op) || n->n_outputs != 1) return false;
    const ember_shape *ys = &g->values[n->outputs[0]].shape;
    if (!same_shape(ys, &g->values[run].shape)) return false;
    int64_t *st = &c->prog[3 * c->n_steps];
    int u = unary_code(n->op);
    if (u >= 0) {
        if (n->n_inputs != 1) return false;
        st[0] = u, st[1] = K_EWC_CONST, st[2] = 0;
    } else if (n->op == EMBER_OP_CLIP) {
        float lo = -INFINITY, hi = INFINITY;
        if (n->opset < 11) {
            lo = ember_attr_float(n, "min", -INFINITY), hi = ember_attr_float(n, "max", INFINITY);
        } else {
            int vl = n->n_inputs > 1 ? ember_edit_resolve(e, n->inputs[1]) : -1;
            int vh = n->n_inputs > 2 ? ember_edit_resolve(e, n->inputs[2]) : -1;
            if ((vl >= 0 && !ember_match_scalar(g, vl, &lo)) || (vh >= 0 && !ember_match_scalar(g, vh, &hi)))
                return false;
        }
        st[0] = K_EWC_CLIP, st[1] = K_EWC_CONST, st[2] = c->n_consts;
        c->consts[c->n_consts++] = lo;
        c->consts[c->n_consts++] = hi;
    } else {
        if (n->n_inputs != 2 || n->inputs[0] < 0 || n->inputs[1] < 0) return false;
        int a = ember_edit_resolve(e, n->inputs[0]), b = ember_edit_resolve(e, n->inputs[1]);
        if (a == b) return false;
        bool swap = b == run;
        int other = swap ? a : b;
        int code = binary_code(n->op, swap);
        if (code < 0 || (!swap && a != run)) return false;
        float k;
        if (ember_match_scalar(g, other, &k)) {
            st[0] = code, st[1] = K_EWC_CONST, st[2] = c->n_consts;
            c->consts[c->n_consts++] = k;
        } else if (g->values[other].dtype == EMBER_DT_FLOAT && same_shape(&g->values[other].shape, ys)) {
            int slot = -1;
            for (int s = 1; s < c->n_ins; s++)
                if (c->ins[s] == other) slot = s;
            if (slot < 0) {
                if (c->n_ins == K_EWC_MAX_INPUTS || other == c->ins[0]) return false;
                slot = c->n_ins;
                c->ins[c->n_ins++] = other;
            }
            st[0] = code, st[1] = K_EWC_TENSOR, st[2] = slot;
        } else {
            return false;
        }
    }
    c->nodes[c->n_steps++] = i;
    return true;
}

static bool is_link_op(int op)
{
    return unary_code(op) >= 0 || op == EMBER_OP_CLIP || binary_code(op, false) >= 0;
}

ember_status ember_pass_elementwise_fuse(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    ember_readers rd;
    ember_status s = ember_readers_build(g, &rd);
    for (int i = 0; i < g->n_nodes && s == EMBER_OK; i++) {
        const ember_node *n = &g->nodes[i];
        if (e.dead[i] || !is_link_op(n->op) || n->n_inputs < 1 || n->inputs[0] < 0) continue;
        /* Not the middle of a chain: its running input must not come from a link that
         * would have started here already (chains are grown from their first node). */
        chain c;
        memset(&c, 0, sizeof c);
        bool started = false;
        for (int k = 0; k < n->n_inputs && k < 2 && !started; k++) {
            int x = ember_edit_resolve(&e, n->inputs[k]);
            if (x < 0 || g->values[x].dtype != EMBER_DT_FLOAT || ember_match_scalar(g, x, &(float){0})) continue;
            memset(&c, 0, sizeof c);
            c.ins[0] = x, c.n_ins = 1;
            started = add_link(&e, &c, i, x);
        }
        if (!started) continue;
        int last = i;
        for (;;) {
            int y = g->nodes[last].outputs[0];
            int r = ember_match_sole_reader(&e, &rd, y);
            if (r < 0 || !is_link_op(g->nodes[r].op)) break;
            chain save = c;
            if (!add_link(&e, &c, r, y)) {
                c = save;
                break;
            }
            last = r;
        }
        if (c.n_steps < 2) continue;
        for (int k = 0; k + 1 < c.n_steps; k++) ember_edit_kill(&e, c.nodes[k]);
        s = ember_edit_set_inputs(&e, last, c.ins, c.n_ins);
        if (s != EMBER_OK) break;
        ember_edit_set_op(g, last, EMBER_OP_EMBER_ELEMENTWISE_CHAIN);
        ember_edit_clear_attrs(g, last);
        ember_attr a[2] = {{.name = "program", .type = EMBER_ATTR_INTS, .ints = c.prog, .n = 3 * c.n_steps},
                           {.name = "constants", .type = EMBER_ATTR_FLOATS, .floats = c.consts, .n = c.n_consts}};
        s = ember_edit_set_attrs(g, last, a, 2);
        st->removed += c.n_steps - 1;
        st->changed++;
    }
    ember_readers_free(&rd);
    return ember_edit_finish(&e, s);
}
