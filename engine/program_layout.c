/* Layouts between host fast paths (split from program.c): layout chaining, and the
 * channel-blocked regions that let a Concat stay in place in oneDNN's blocked layout. */
#include "program_layout.h"

#include <stdlib.h>
#include <string.h>

#include "graph_edit.h"

static int is_graph_output(const ember_graph *g, int v)
{
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == v) return 1;
    return 0;
}

/* The step (before `before`) whose node writes value u, and which output it is; -1 if none. */
static int producer_step(const ember_program *p, int u, int before, int *out_idx)
{
    for (int sj = 0; sj < before; sj++) {
        const ember_node *pn = &p->g->nodes[p->steps[sj].node];
        for (int o = 0; o < pn->n_outputs; o++)
            if (pn->outputs[o] == u) {
                *out_idx = o;
                return sj;
            }
    }
    return -1;
}

/* An in-place Concat (plan.view 2) of batch-1 4-D tensors along channels, in a
 * channel-blocked layout ([C/b][H][W][b]) with every part's channel count a multiple of
 * b: each part's blocked bytes are then exactly its slice of the Concat output in that
 * layout. So when every part's producer offers the same such layout and is the part's
 * only writer, with the Concat its only reader, the parts are written blocked and the
 * Concat output reaches its readers blocked (when all of them take it). Otherwise all
 * stays plain, as before. Called at the Concat's step: its producers are chained. */
static ember_status chain_concat(ember_program *p, int si)
{
    const ember_graph *g = p->g;
    const ember_node *n = &g->nodes[p->steps[si].node];
    if (n->op != EMBER_OP_CONCAT || n->n_outputs != 1 || n->n_inputs < 1 || !p->plan.view) return EMBER_OK;
    int c = n->outputs[0];
    if (c < 0 || p->plan.view[c] != 2 || p->plan.part_of[c] >= 0 || p->plan.offset[c] < 0 || is_graph_output(g, c))
        return EMBER_OK;
    const ember_shape *cs = &g->values[c].shape;
    int64_t axis = ember_attr_int(n, "axis", 0);
    if (axis < 0) axis += cs->rank;
    if (cs->rank != 4 || axis != 1 || cs->dims[0] != 1) return EMBER_OK;
    int layout = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        int u = n->inputs[k], o = 0;
        if (u < 0 || p->plan.part_of[u] != c || is_graph_output(g, u)) return EMBER_OK;
        int sj = producer_step(p, u, si, &o);
        const ember_host_kernel *h = sj >= 0 ? p->steps[sj].host : NULL;
        if (!h || !h->out_layout || !h->accepts_layout || !h->set_layout) return EMBER_OK;
        int l = h->out_layout(p->steps[sj].host_state, o);
        int b = ember_host_layout_channel_block(l);
        const ember_shape *us = &g->values[u].shape;
        if (b <= 0 || (layout && l != layout) || us->rank != 4 || us->dims[0] != 1 || us->dims[1] % b != 0)
            return EMBER_OK;
        layout = l;
        for (int r = 0; r < p->n_steps; r++) { /* the Concat is the part's only reader */
            const ember_node *rn = &g->nodes[p->steps[r].node];
            for (int q = 0; q < rn->n_inputs; q++)
                if (rn->inputs[q] == u && r != si) return EMBER_OK;
        }
    }
    int readers = 0;
    for (int sj = 0; sj < p->n_steps; sj++) {
        const ember_step *r = &p->steps[sj];
        const ember_node *rn = &g->nodes[r->node];
        for (int k = 0; k < rn->n_inputs; k++) {
            if (rn->inputs[k] != c) continue;
            readers++;
            if (sj <= si || !r->host || !r->host->out_layout || !r->host->accepts_layout || !r->host->set_layout ||
                !r->host->accepts_layout(r->host_state, k, layout))
                return EMBER_OK;
        }
    }
    if (readers == 0) return EMBER_OK;
    for (int k = 0; k < n->n_inputs; k++) {
        int o = 0, sj = producer_step(p, n->inputs[k], si, &o);
        ember_step *w = &p->steps[sj];
        TRY(w->host->set_layout(w->host_state, 1, o, layout, &w->scratch_bytes));
    }
    for (int sj = si + 1; sj < p->n_steps; sj++) {
        ember_step *r = &p->steps[sj];
        const ember_node *rn = &g->nodes[r->node];
        for (int k = 0; k < rn->n_inputs; k++)
            if (rn->inputs[k] == c) TRY(r->host->set_layout(r->host_state, 0, k, layout, &r->scratch_bytes));
    }
    return EMBER_OK;
}

/* Layout chaining (ops/host.h): a value written by a host step in a layout of its own
 * and read only by host steps that take it in that layout stays in it, so neither side
 * converts. Values read by a reference kernel, graph outputs and constants stay plain.
 * In step order, so a step's output layout may follow its chained inputs.
 * EMBER_LAYOUT_CHAIN=0 turns it off (for comparisons and measurements). */
ember_status ember_program_chain_layouts(ember_program *p)
{
    const char *env = getenv("EMBER_LAYOUT_CHAIN");
    if (env && strcmp(env, "0") == 0) return EMBER_OK;
    const ember_graph *g = p->g;
    for (int si = 0; si < p->n_steps; si++) {
        ember_step *s = &p->steps[si];
        const ember_host_kernel *h = s->host;
        if (!h) TRY(chain_concat(p, si));
        if (!h || !h->out_layout || !h->accepts_layout || !h->set_layout) continue;
        const ember_node *n = &g->nodes[s->node];
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0 || (g->values[v].flags & EMBER_VALUE_CONST) || p->plan.offset[v] < 0) continue;
            int layout = is_graph_output(g, v) ? 0 : h->out_layout(s->host_state, o);
            if (layout == 0) continue;
            int ok = 1, readers = 0;
            for (int sj = 0; sj < p->n_steps && ok; sj++) {
                const ember_step *r = &p->steps[sj];
                const ember_node *rn = &g->nodes[r->node];
                for (int k = 0; k < rn->n_inputs && ok; k++) {
                    if (rn->inputs[k] != v) continue;
                    readers++;
                    ok = sj > si && r->host && r->host->out_layout && r->host->accepts_layout &&
                         r->host->set_layout && r->host->accepts_layout(r->host_state, k, layout);
                }
            }
            if (!ok || readers == 0) continue;
            TRY(h->set_layout(s->host_state, 1, o, layout, &s->scratch_bytes));
            for (int sj = si + 1; sj < p->n_steps; sj++) {
                ember_step *r = &p->steps[sj];
                const ember_node *rn = &g->nodes[r->node];
                for (int k = 0; k < rn->n_inputs; k++)
                    if (rn->inputs[k] == v) TRY(r->host->set_layout(r->host_state, 0, k, layout, &r->scratch_bytes));
            }
        }
    }
    return EMBER_OK;
}

/* An in-place Concat (plan.view 2) along channels of batch-1 4-D tensors from convs, each
 * part's channel count a multiple of 16: one chain_concat can keep channel-blocked. */
static int blockable_concat(const ember_program *p, int ni)
{
    const ember_graph *g = p->g;
    const ember_node *n = &g->nodes[ni];
    if (n->op != EMBER_OP_CONCAT || n->n_outputs != 1 || n->n_inputs < 1) return 0;
    int c = n->outputs[0];
    if (c < 0 || p->plan.view[c] != 2 || p->plan.part_of[c] >= 0 || is_graph_output(g, c)) return 0;
    const ember_shape *cs = &g->values[c].shape;
    int64_t axis = ember_attr_int(n, "axis", 0);
    if (axis < 0) axis += cs->rank;
    if (cs->rank != 4 || axis != 1 || cs->dims[0] != 1) return 0;
    for (int k = 0; k < n->n_inputs; k++) {
        int u = n->inputs[k];
        if (u < 0 || p->plan.first[u] < 0 || g->nodes[p->plan.first[u]].op != EMBER_OP_CONV) return 0;
        const ember_shape *us = &g->values[u].shape;
        if (us->rank != 4 || us->dims[1] % 16 != 0) return 0;
    }
    return 1;
}

static int blocks_linked_op(int op)
{
    return op == EMBER_OP_CONV || op == EMBER_OP_MAX_POOL || op == EMBER_OP_AVERAGE_POOL;
}

/* oneDNN's convs each pick their own layout (NHWC mostly), in which a Concat's parts are
 * not consecutive bytes. So the convs of every region of convs and pools joined to a
 * blockable in-place Concat are marked ember_channel_blocks = 1: they then run
 * channel-blocked when they can (ops/host/onednn_conv.c), the whole region chains in
 * one layout and chain_concat can keep the Concat in it. Not for bf16 (see
 * ember_host_layout_channel_block) nor with EMBER_LAYOUT_CHAIN=0. */
ember_status ember_program_mark_channel_blocks(ember_program *p, int precision)
{
    const char *env = getenv("EMBER_LAYOUT_CHAIN");
    if (precision != EMBER_PRECISION_FP32 || (env && strcmp(env, "0") == 0)) return EMBER_OK;
    ember_graph *g = p->g;
    int any = 0;
    for (int ni = 0; ni < g->n_nodes && !any; ni++) any = blockable_concat(p, ni);
    if (!any) return EMBER_OK;
    int *label = malloc((size_t)g->n_nodes * sizeof *label);
    int *prod = malloc((size_t)(g->n_values ? g->n_values : 1) * sizeof *prod);
    unsigned char *seed = calloc((size_t)g->n_nodes, 1);
    if (!label || !prod || !seed) {
        free(label);
        free(prod);
        free(seed);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory building the program");
    }
    for (int v = 0; v < g->n_values; v++) prod[v] = -1;
    for (int ni = 0; ni < g->n_nodes; ni++)
        for (int o = 0; o < g->nodes[ni].n_outputs; o++)
            if (g->nodes[ni].outputs[o] >= 0) prod[g->nodes[ni].outputs[o]] = ni;
    for (int ni = 0; ni < g->n_nodes; ni++)
        label[ni] = blocks_linked_op(g->nodes[ni].op) || blockable_concat(p, ni) ? ni : -1;
    /* Regions: the smallest node index spreads over the values joining linked nodes. */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int ni = 0; ni < g->n_nodes; ni++) {
            const ember_node *n = &g->nodes[ni];
            for (int k = 0; k < n->n_inputs && label[ni] >= 0; k++) {
                int u = n->inputs[k], pj = u >= 0 ? prod[u] : -1;
                if (pj < 0 || pj == ni || label[pj] < 0 || label[pj] == label[ni]) continue;
                int m = label[pj] < label[ni] ? label[pj] : label[ni];
                label[pj] = label[ni] = m;
                changed = 1;
            }
        }
    }
    for (int ni = 0; ni < g->n_nodes; ni++)
        if (label[ni] >= 0 && g->nodes[ni].op == EMBER_OP_CONCAT) seed[label[ni]] = 1;
    ember_status st = EMBER_OK;
    ember_attr a = {.name = "ember_channel_blocks", .type = EMBER_ATTR_INT, .i = 1};
    for (int ni = 0; ni < g->n_nodes && st == EMBER_OK; ni++)
        if (g->nodes[ni].op == EMBER_OP_CONV && label[ni] >= 0 && seed[label[ni]]) st = ember_edit_set_attr(g, ni, &a);
    free(label);
    free(prod);
    free(seed);
    return st;
}
