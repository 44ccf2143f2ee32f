/* Constant folding. One topological sweep reaches the fixed point: a folded node's
 * outputs become constants at once, and every node that is not folded has its shapes
 * re-inferred, so Shape -> Gather -> Concat -> Reshape chains fold in the same sweep.
 * Evaluation goes through the op table exactly as the interpreter does it (infer with
 * running = true, then run), so folded values are bit-identical to run-time ones. */
#include <stdlib.h>
#include <string.h>

#include "../graph_edit.h"
#include "../model.h"
#include "../passes.h"

/* Ops whose result depends only on the input's shape, not its data. */
static bool shape_only_op(int op) { return op == EMBER_OP_SHAPE || op == EMBER_OP_SIZE; }

static bool foldable(ember_edit *e, const ember_node *n)
{
    const ember_graph *g = e->g;
    /* Random ops have no row in the op table (op < 0); subgraph ops run bodies. */
    if (n->op < 0 || ember_node_has_subgraph(n) || n->n_inputs > 64 || n->n_outputs > 64) return false;
    if (shape_only_op(n->op))
        return n->n_inputs >= 1 && n->inputs[0] >= 0 && ember_shape_is_static(&g->values[n->inputs[0]].shape);
    for (int k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] >= 0 && !ember_value_is_const(g, n->inputs[k])) return false;
    return true;
}

/* Evaluates node ni; on success its outputs are constants in the arena and the node is
 * dead. Returns false (graph untouched) when the node cannot or should not fold. */
static bool fold_node(ember_edit *e, int ni, ember_status *fatal)
{
    ember_graph *g = e->g;
    const ember_node *n = &g->nodes[ni];
    ember_op_tensor ins[64], outs[64], *pin[64], *pout[64];
    for (int k = 0; k < n->n_inputs; k++) {
        pin[k] = n->inputs[k] >= 0 ? &ins[k] : NULL;
        if (!pin[k]) continue;
        ember_value_to_op_tensor(&g->values[n->inputs[k]], &ins[k]);
        for (int d = 0; d < EMBER_MAX_RANK; d++) ins[k].syms[d] = -1;
        if (shape_only_op(n->op)) {
            ins[k].data = NULL;
            ins[k].nbytes = 0;
        }
    }
    for (int o = 0; o < n->n_outputs; o++) {
        memset(&outs[o], 0, sizeof outs[o]);
        outs[o].rank = -1;
        for (int d = 0; d < EMBER_MAX_RANK; d++) outs[o].syms[d] = -1;
        pout[o] = n->outputs[o] >= 0 ? &outs[o] : NULL;
    }
    ember_op_ctx c = {.node = n, .graph = g, .opset = n->opset, .running = true,
                      .n_in = n->n_inputs, .n_out = n->n_outputs, .in = pin, .out = pout};
    if (ember_op_table[n->op].infer(&c) != EMBER_OK) return false;
    size_t total = 0;
    for (int o = 0; o < n->n_outputs; o++) {
        if (!pout[o]) continue;
        int64_t numel = ember_op_numel(pout[o]);
        size_t es = ember_dtype_size(pout[o]->dtype);
        if (numel < 0 || es == 0 || pout[o]->data) return false;
        if ((uint64_t)numel > EMBER_FOLD_MAX_BYTES / es) return false;
        total += (size_t)numel * es;
    }
    if (total > EMBER_FOLD_MAX_BYTES) return false;
    for (int o = 0; o < n->n_outputs; o++) {
        if (!pout[o]) continue;
        pout[o]->nbytes = (size_t)ember_op_numel(pout[o]) * ember_dtype_size(pout[o]->dtype);
        pout[o]->data = ember_arena_alloc(&g->arena, pout[o]->nbytes ? pout[o]->nbytes : 1);
        if (!pout[o]->data) {
            *fatal = ember_error(EMBER_E_NO_MEMORY, "out of memory folding node '%s'", n->name);
            return false;
        }
    }
    void *scratch = NULL;
    if (c.scratch_bytes && !(scratch = c.scratch = calloc(c.scratch_bytes, 1))) return false;
    ember_status s = ember_op_table[n->op].run(&c);
    free(scratch);
    if (s != EMBER_OK) return false;
    for (int o = 0; o < n->n_outputs; o++) {
        if (!pout[o]) continue;
        ember_value *v = &g->values[n->outputs[o]];
        v->dtype = pout[o]->dtype;
        v->shape.rank = pout[o]->rank;
        for (int d = 0; d < EMBER_MAX_RANK; d++) {
            v->shape.dims[d] = d < pout[o]->rank ? pout[o]->dims[d] : 0;
            v->shape.syms[d] = -1;
        }
        v->data = pout[o]->data;
        v->nbytes = pout[o]->nbytes;
        v->flags |= EMBER_VALUE_CONST;
    }
    ember_edit_kill(e, ni);
    return true;
}

ember_status ember_pass_fold(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    ember_status fatal = EMBER_OK;
    for (int i = 0; i < g->n_nodes && fatal == EMBER_OK; i++) {
        if (foldable(&e, &g->nodes[i])) {
            if (fold_node(&e, i, &fatal)) {
                st->removed++;
                continue;
            }
            /* The node just stays; its run-time error will be reported at run time. */
            if (fatal == EMBER_OK) ember_error_clear();
        }
        /* Not folded: refresh its shapes from inputs that may have just become constant.
         * A failure here only means the shapes stay as they were. */
        if (ember_graph_infer_node(g, i) != EMBER_OK) ember_error_clear();
    }
    if (fatal != EMBER_OK) {
        ember_edit_commit(&e);
        return fatal;
    }
    return ember_edit_commit(&e);
}
