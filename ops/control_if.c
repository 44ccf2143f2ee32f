/* If, and the helpers every subgraph op shares. At run time the chosen branch runs inside
 * infer (its output shapes are known only afterwards) and its outputs are handed to the
 * interpreter as finished buffers; run has nothing left to do. */
#include <stdlib.h>
#include <string.h>

#include "../engine/interp.h"
#include "control_util.h"
#include "op.h"
#include "op_decls.h"

ember_status ctl_graph(const ember_op_ctx *c, const char *name, const ember_graph **g)
{
    const ember_attr *a = ember_node_attr(c->node, name);
    if (!a || a->type != EMBER_ATTR_GRAPH || !a->g)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "graph attribute '%s' is missing", name);
    *g = a->g;
    return EMBER_OK;
}

void ctl_declared_out(ember_op_ctx *c, int i, const ember_graph *g, int bo)
{
    if (i >= c->n_out || !c->out[i] || bo >= g->n_outputs) return;
    const ember_value *v = &g->values[g->outputs[bo]];
    ember_op_set_out(c, i, v->dtype, v->shape.rank, v->shape.dims);
}

void ctl_give(ember_op_ctx *c, int i, ember_op_tensor *t)
{
    if (i < c->n_out && c->out[i]) {
        ember_op_tensor *o = c->out[i];
        ember_op_set_out(c, i, t->dtype, t->rank, t->dims);
        o->data = t->data;
        o->nbytes = (size_t)ember_op_numel(t) * ember_dtype_size(t->dtype);
    } else {
        free(t->data);
    }
    t->data = NULL;
}

void ctl_free_all(ember_op_tensor *ts, int n)
{
    for (int i = 0; i < n; i++) {
        free(ts[i].data);
        ts[i].data = NULL;
    }
}

bool ctl_truth(const ember_op_tensor *t)
{
    return ember_op_get_double(t, 0) != 0;
}

ember_status ember_infer_if(ember_op_ctx *c)
{
    const ember_graph *tg = NULL, *eg = NULL;
    TRY(ctl_graph(c, "then_branch", &tg));
    TRY(ctl_graph(c, "else_branch", &eg));
    const ember_op_tensor *cond = ember_op_in(c, 0);
    if (!cond) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input 'cond' is missing");
    if (tg->n_outputs != c->n_out || eg->n_outputs != c->n_out)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "branches have %d and %d outputs, the node %d",
                             tg->n_outputs, eg->n_outputs, c->n_out);
    if (tg->n_inputs || eg->n_inputs)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "branches must not declare inputs");
    if (!c->running) {
        for (int i = 0; i < c->n_out; i++) {
            ctl_declared_out(c, i, tg, i);
            /* A shape is only certain when both branches declare the same one. */
            const ember_shape *a = &tg->values[tg->outputs[i]].shape, *b = &eg->values[eg->outputs[i]].shape;
            bool same = a->rank == b->rank;
            for (int k = 0; same && k < a->rank; k++) same = a->dims[k] == b->dims[k];
            if (!same && c->out[i]) c->out[i]->rank = -1;
        }
        return EMBER_OK;
    }
    if (ember_op_numel(cond) != 1)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "cond must hold one value");
    const ember_graph *g = ctl_truth(cond) ? tg : eg;
    ember_op_tensor outs[64];
    if (c->n_out > 64) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "more than 64 outputs");
    memset(outs, 0, sizeof outs);
    ember_status st = ember_interp_subgraph(c, g, NULL, 0, outs, c->n_out);
    if (st != EMBER_OK) return ember_error_prefix(st, "node '%s' (If), %s branch", c->node->name,
                                                   g == tg ? "then" : "else");
    for (int i = 0; i < c->n_out; i++) ctl_give(c, i, &outs[i]);
    return EMBER_OK;
}

ember_status ember_run_if(ember_op_ctx *c)
{
    (void)c;
    return EMBER_OK;
}
