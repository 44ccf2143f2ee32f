/* Identity removal: Identity, and Dropout at inference, copy their input. */
#include "../graph_edit.h"
#include "../passes.h"

/* Dropout is the identity unless training_mode (opset 12+, input 2) may be true, and
 * its mask output must be unread for the node to go. */
static bool dropout_is_identity(ember_edit *e, const ember_node *n)
{
    const ember_graph *g = e->g;
    if (n->n_inputs > 2 && n->inputs[2] >= 0 && n->opset >= 12) {
        int t = ember_edit_resolve(e, n->inputs[2]);
        if (!ember_value_is_const(g, t) || g->values[t].nbytes < 1) return false;
        if (((const unsigned char *)g->values[t].data)[0] != 0) return false;
    }
    for (int o = 1; o < n->n_outputs; o++) {
        int m = n->outputs[o];
        if (m >= 0 && (e->uses[m] > 0 || e->pinned[m])) return false;
    }
    return true;
}

ember_status ember_pass_identity(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    for (int i = 0; i < g->n_nodes; i++) {
        const ember_node *n = &g->nodes[i];
        if (n->n_inputs < 1 || n->inputs[0] < 0 || n->n_outputs < 1 || n->outputs[0] < 0) continue;
        bool drop = n->op == EMBER_OP_IDENTITY ||
                    (n->op == EMBER_OP_DROPOUT && dropout_is_identity(&e, n));
        if (drop && ember_edit_bypass(&e, i, n->inputs[0], n->outputs[0])) st->removed++;
    }
    return ember_edit_commit(&e);
}
