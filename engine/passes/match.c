/* Pattern-matching helpers for the recognition passes. */
#include "match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../status.h"

ember_status ember_readers_build(const ember_graph *g, ember_readers *r)
{
    int nv = g->n_values;
    r->start = calloc((size_t)nv + 2, sizeof *r->start);
    int total = 0;
    for (int i = 0; i < g->n_nodes; i++) total += g->nodes[i].n_inputs;
    r->node = malloc(sizeof *r->node * (size_t)(total ? total : 1));
    if (!r->start || !r->node) {
        ember_readers_free(r);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory matching patterns");
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0) r->start[g->nodes[i].inputs[k] + 2]++;
    for (int v = 0; v < nv; v++) r->start[v + 2] += r->start[v + 1];
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0) r->node[r->start[g->nodes[i].inputs[k] + 1]++] = i;
    return EMBER_OK;
}

void ember_readers_free(ember_readers *r)
{
    free(r->start);
    free(r->node);
    r->start = NULL;
    r->node = NULL;
}

int ember_match_readers(const ember_edit *e, const ember_readers *r, int v, int *out, int max)
{
    if (v < 0 || v >= e->g->n_values || e->pinned[v]) return -1;
    int n = 0;
    for (int k = r->start[v]; k < r->start[v + 1]; k++) {
        int i = r->node[k];
        if (i < e->cap_nodes && e->dead[i]) continue;
        bool seen = false;
        for (int j = 0; j < n; j++) seen |= out[j] == i;
        if (seen) continue;
        if (n == max) return -1;
        out[n++] = i;
    }
    return n;
}

int ember_match_sole_reader(const ember_edit *e, const ember_readers *r, int v)
{
    int one;
    if (ember_match_readers(e, r, v, &one, 1) != 1) return -1;
    /* Read through one slot only (Mul(d, d) reads d twice: not "sole"). */
    const ember_node *n = &e->g->nodes[one];
    int slots = 0;
    for (int k = 0; k < n->n_inputs; k++) slots += n->inputs[k] == v;
    return slots == 1 ? one : -1;
}

bool ember_match_scalar(const ember_graph *g, int v, float *out)
{
    if (!ember_value_is_const_f32(g, v) || ember_shape_numel(&g->values[v].shape) != 1) return false;
    *out = *(const float *)g->values[v].data;
    return true;
}

bool ember_match_scalar_near(const ember_graph *g, int v, double want)
{
    float f;
    return ember_match_scalar(g, v, &f) && fabs((double)f - want) <= 1e-5 * fabs(want);
}

bool ember_match_op(const ember_edit *e, int i, int op)
{
    if (i < 0 || (i < e->cap_nodes && e->dead[i])) return false;
    const ember_node *n = &e->g->nodes[i];
    return n->op == op && n->n_outputs >= 1 && n->outputs[0] >= 0 &&
           e->g->values[n->outputs[0]].dtype == EMBER_DT_FLOAT && !ember_node_has_subgraph(n);
}

int ember_match_other(ember_edit *e, int i, int known)
{
    const ember_node *n = &e->g->nodes[i];
    if (n->n_inputs != 2 || n->inputs[0] < 0 || n->inputs[1] < 0) return -1;
    int a = ember_edit_resolve(e, n->inputs[0]), b = ember_edit_resolve(e, n->inputs[1]);
    if (a == known && b != known) return b;
    if (b == known && a != known) return a;
    return -1;
}
