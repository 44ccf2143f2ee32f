/* Dead-code elimination: one backward sweep over the topological order marks what
 * reaches a graph output (or a value a subgraph reads); everything else goes. */
#include <stdlib.h>

#include "../graph_edit.h"
#include "../passes.h"
#include "../status.h"

ember_status ember_pass_dce(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    unsigned char *live = calloc((size_t)(g->n_values ? g->n_values : 1), 1);
    if (!live) {
        ember_edit_abort(&e);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory in dead-code elimination");
    }
    for (int v = 0; v < g->n_values; v++) live[v] = e.pinned[v];
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const ember_node *n = &g->nodes[i];
        bool used = false;
        for (int o = 0; o < n->n_outputs; o++)
            if (n->outputs[o] >= 0 && live[n->outputs[o]]) used = true;
        if (!used) {
            ember_edit_kill(&e, i);
            st->removed++;
            continue;
        }
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) live[n->inputs[k]] = 1;
        for (int k = 0; k < n->n_implicit; k++)
            if (n->implicit[k] >= 0) live[n->implicit[k]] = 1;
    }
    /* Constants nothing reads any more give their data back to the graph (the arena
     * keeps the bytes; the value stays as an unreferenced, non-constant entry). */
    for (int v = 0; v < g->n_values; v++) {
        ember_value *val = &g->values[v];
        if (live[v] || !(val->flags & EMBER_VALUE_CONST) || (val->flags & EMBER_VALUE_INPUT)) continue;
        val->flags &= ~(uint32_t)EMBER_VALUE_CONST;
        val->data = NULL;
        val->nbytes = 0;
        st->changed++;
    }
    free(live);
    return ember_edit_commit(&e);
}
