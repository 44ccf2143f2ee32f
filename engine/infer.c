/* Load-time shape and dtype inference: runs every op's infer rule once, in topological
 * order, with whatever is known (constants, declared input shapes, symbolic dims). */
#include <stdlib.h>
#include <string.h>

#include "../ops/op.h"
#include "model.h"

void ember_value_to_op_tensor(const ember_value *v, ember_op_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->dtype = v->dtype;
    t->rank = v->shape.rank;
    for (int i = 0; i < EMBER_MAX_RANK; i++) {
        t->dims[i] = v->shape.dims[i];
        t->syms[i] = v->shape.syms[i];
    }
    t->data = v->data;
    t->nbytes = v->nbytes;
}

ember_status ember_graph_infer_node(ember_graph *g, int ni)
{
    ember_op_tensor ins[64], outs[64];
    ember_op_tensor *pin[64], *pout[64];
    ember_node *n = &g->nodes[ni];
    if (n->op < 0) return EMBER_OK;
    if (n->n_inputs > 64 || n->n_outputs > 64)
        return ember_error(EMBER_E_UNSUPPORTED, "node '%s' (%s) has more than 64 inputs or outputs",
                           n->name, n->op_type);
    for (int i = 0; i < n->n_inputs; i++) {
        pin[i] = n->inputs[i] >= 0 ? &ins[i] : NULL;
        if (pin[i]) ember_value_to_op_tensor(&g->values[n->inputs[i]], &ins[i]);
    }
    for (int o = 0; o < n->n_outputs; o++) {
        memset(&outs[o], 0, sizeof outs[o]);
        outs[o].rank = -1;
        for (int k = 0; k < EMBER_MAX_RANK; k++) outs[o].syms[k] = -1;
        pout[o] = n->outputs[o] >= 0 ? &outs[o] : NULL;
    }
    ember_op_ctx c = {.node = n, .graph = g, .opset = n->opset, .running = false,
                      .n_in = n->n_inputs, .n_out = n->n_outputs, .in = pin, .out = pout};
    TRY(ember_op_table[n->op].infer(&c));
    for (int o = 0; o < n->n_outputs; o++) {
        if (n->outputs[o] < 0) continue;
        ember_value *v = &g->values[n->outputs[o]];
        /* A declared output type wins over an unknown inferred one, not over a known one. */
        if (outs[o].dtype != EMBER_DT_UNDEFINED) v->dtype = outs[o].dtype;
        if (outs[o].rank >= 0) {
            v->shape.rank = outs[o].rank;
            for (int k = 0; k < EMBER_MAX_RANK; k++) {
                v->shape.dims[k] = k < outs[o].rank ? outs[o].dims[k] : 0;
                v->shape.syms[k] = k < outs[o].rank ? outs[o].syms[k] : -1;
            }
        }
        /* Only Constant hands out data here (graph-lifetime attribute memory); it lets
         * shape rules downstream read e.g. a Reshape target. The value is not marked
         * CONST: the node still runs. */
        if (outs[o].data && outs[o].rank >= 0) {
            v->data = outs[o].data;
            v->nbytes = (size_t)ember_shape_numel(&v->shape) * ember_dtype_size(v->dtype);
        }
    }
    return EMBER_OK;
}

ember_status ember_graph_infer(ember_graph *g)
{
    for (int ni = 0; ni < g->n_nodes; ni++) TRY(ember_graph_infer_node(g, ni));
    return EMBER_OK;
}
