/* The reference interpreter. Per run: one state slot per value; each node's inputs are
 * checked by its infer rule with real shapes, its outputs allocated, then its run
 * function called. Intermediates are freed after their last use, so long chains run in
 * bounded memory. */
#include "interp.h"

#include <stdlib.h>
#include <string.h>

struct ember_interp_frame {
    const ember_graph *g;
    ember_op_tensor *vals;      /* per value */
    struct ember_interp_frame *outer;
};

/* Finds a value captured from an enclosing graph by name. */
static ember_op_tensor *outer_lookup(ember_interp_frame *f, const char *name)
{
    for (; f; f = f->outer) {
        int v = ember_graph_find(f->g, name);
        if (v >= 0 && (f->vals[v].data || f->vals[v].nbytes == 0) && f->vals[v].rank >= 0)
            return &f->vals[v];
    }
    return NULL;
}

static void set_from_value(ember_op_tensor *t, const ember_value *v)
{
    memset(t, 0, sizeof *t);
    t->dtype = v->dtype;
    t->rank = v->shape.rank;
    memcpy(t->dims, v->shape.dims, sizeof t->dims);
    t->data = v->data;
    t->nbytes = v->nbytes;
    for (int i = 0; i < EMBER_MAX_RANK; i++) t->syms[i] = -1;
}

static size_t tensor_bytes(const ember_op_tensor *t)
{
    int64_t n = ember_op_numel(t);
    return n < 0 ? 0 : (size_t)n * ember_dtype_size(t->dtype);
}

ember_status ember_interp_run(const ember_graph *g, ember_interp_frame *outer,
                              ember_op_tensor *const *inputs, int n_inputs,
                              ember_op_tensor *outputs, int n_outputs)
{
    ember_status st = EMBER_OK;
    int nv = g->n_values;
    ember_interp_frame frame = {g, NULL, outer};
    ember_op_tensor *vals = calloc((size_t)(nv ? nv : 1), sizeof *vals);
    unsigned char *owned = calloc((size_t)(nv ? nv : 1), 1);
    int *uses = calloc((size_t)(nv ? nv : 1), sizeof *uses);
    if (!vals || !owned || !uses) {
        st = ember_error(EMBER_E_NO_MEMORY, "out of memory starting the interpreter");
        goto done;
    }
    frame.vals = vals;
    if (n_inputs != g->n_inputs || n_outputs != g->n_outputs) {
        st = ember_error(EMBER_E_INTERNAL, "graph '%s' takes %d inputs and %d outputs, got %d and %d",
                         g->name ? g->name : "", g->n_inputs, g->n_outputs, n_inputs, n_outputs);
        goto done;
    }
    for (int v = 0; v < nv; v++) {
        const ember_value *val = &g->values[v];
        vals[v].rank = -1;
        if (val->flags & EMBER_VALUE_CONST) set_from_value(&vals[v], val);
        else if (val->flags & EMBER_VALUE_OUTER) {
            ember_op_tensor *o = outer_lookup(outer, val->name);
            if (!o) {
                st = ember_error(EMBER_E_INVALID_MODEL, "subgraph reads '%s' from an enclosing graph, "
                                 "which has no such value", val->name);
                goto done;
            }
            vals[v] = *o;
        }
    }
    for (int i = 0; i < n_inputs; i++) vals[g->inputs[i]] = *inputs[i];
    /* Reference counts: graph outputs are never freed early. */
    for (int ni = 0; ni < g->n_nodes; ni++)
        for (int k = 0; k < g->nodes[ni].n_inputs; k++)
            if (g->nodes[ni].inputs[k] >= 0) uses[g->nodes[ni].inputs[k]]++;
    for (int o = 0; o < g->n_outputs; o++) uses[g->outputs[o]] += 1 << 20;
    /* Subgraphs may capture any value by name: keep everything alive then. */
    if (g->n_subgraphs)
        for (int v = 0; v < nv; v++) uses[v] += 1 << 20;

    ember_op_tensor *pin[64], *pout[64];
    for (int ni = 0; ni < g->n_nodes; ni++) {
        const ember_node *n = &g->nodes[ni];
        if (n->op < 0 || n->n_inputs > 64 || n->n_outputs > 64) {
            st = ember_error(EMBER_E_UNSUPPORTED, "node '%s' (%s) cannot run", n->name, n->op_type);
            goto done;
        }
        for (int k = 0; k < n->n_inputs; k++) pin[k] = n->inputs[k] >= 0 ? &vals[n->inputs[k]] : NULL;
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0) {
                pout[o] = NULL;
                continue;
            }
            memset(&vals[v], 0, sizeof vals[v]);
            vals[v].rank = -1;
            for (int k = 0; k < EMBER_MAX_RANK; k++) vals[v].syms[k] = -1;
            pout[o] = &vals[v];
        }
        ember_op_ctx c = {.node = n, .graph = g, .opset = n->opset, .running = true,
                          .n_in = n->n_inputs, .n_out = n->n_outputs, .in = pin, .out = pout,
                          .interp = &frame};
        st = ember_op_table[n->op].infer(&c);
        if (st != EMBER_OK) goto done;
        for (int o = 0; o < n->n_outputs; o++) {
            ember_op_tensor *t = pout[o];
            if (!t) continue;
            if (t->rank < 0 || ember_op_numel(t) < 0 || ember_dtype_size(t->dtype) == 0) {
                st = ember_error(EMBER_E_INTERNAL, "node '%s' (%s): output %d has no known shape or type at run time",
                                 n->name, n->op_type, o);
                goto done;
            }
            int64_t numel = ember_op_numel(t);
            size_t es = ember_dtype_size(t->dtype);
            if (numel > (int64_t)(((size_t)1 << 40) / es)) {
                st = ember_error(EMBER_E_INVALID_ARG, "node '%s' (%s): output %d would need %lld elements",
                                 n->name, n->op_type, o, (long long)numel);
                goto done;
            }
            /* Ops that produce their output themselves (subgraph ops) may set data in infer. */
            if (!t->data) {
                t->nbytes = tensor_bytes(t);
                t->data = calloc(t->nbytes ? t->nbytes : 1, 1);
                if (!t->data) {
                    st = ember_error(EMBER_E_NO_MEMORY, "node '%s' (%s): out of memory for a %zu-byte output",
                                     n->name, n->op_type, t->nbytes);
                    goto done;
                }
            }
            owned[n->outputs[o]] = 1;
        }
        void *scratch = NULL;
        if (c.scratch_bytes) {
            scratch = calloc(c.scratch_bytes, 1);
            if (!scratch) {
                st = ember_error(EMBER_E_NO_MEMORY, "node '%s' (%s): out of memory for %zu bytes of scratch",
                                 n->name, n->op_type, c.scratch_bytes);
                goto done;
            }
            c.scratch = scratch;
        }
        st = ember_op_table[n->op].run(&c);
        free(scratch);
        if (st != EMBER_OK) goto done;
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            if (v >= 0 && --uses[v] == 0 && owned[v]) {
                free(vals[v].data);
                vals[v].data = NULL;
                owned[v] = 0;
            }
        }
        /* Outputs nobody reads are dropped at once. */
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v >= 0 && uses[v] == 0 && owned[v]) {
                free(vals[v].data);
                vals[v].data = NULL;
                owned[v] = 0;
            }
        }
    }
    for (int o = 0; o < n_outputs; o++) {
        int v = g->outputs[o];
        ember_op_tensor *t = &vals[v];
        outputs[o] = *t;
        size_t nb = tensor_bytes(t);
        /* Hand over ownership; copy when the output is an input, a constant or repeated. */
        if (owned[v]) {
            owned[v] = 0;
        } else {
            void *copy = malloc(nb ? nb : 1);
            if (!copy) {
                st = ember_error(EMBER_E_NO_MEMORY, "out of memory copying output '%s'", g->values[v].name);
                for (int k = 0; k < o; k++) free(outputs[k].data);
                goto done;
            }
            if (nb) memcpy(copy, t->data, nb);
            outputs[o].data = copy;
        }
        outputs[o].nbytes = nb;
        /* A graph output listed twice must not share one buffer. */
        for (int k = 0; k < o; k++)
            if (outputs[k].data == outputs[o].data) {
                void *copy = malloc(nb ? nb : 1);
                if (!copy) {
                    st = ember_error(EMBER_E_NO_MEMORY, "out of memory copying output");
                    for (int j = 0; j < o; j++) free(outputs[j].data);
                    goto done;
                }
                if (nb) memcpy(copy, t->data, nb);
                outputs[o].data = copy;
            }
    }
done:
    if (owned)
        for (int v = 0; v < nv; v++)
            if (owned[v]) free(vals[v].data);
    free(vals);
    free(owned);
    free(uses);
    return st;
}

ember_status ember_interp_subgraph(const ember_op_ctx *c, const ember_graph *body,
                                   ember_op_tensor *const *inputs, int n_inputs,
                                   ember_op_tensor *outputs, int n_outputs)
{
    if (!c->interp)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "subgraphs run only in the interpreter");
    return ember_interp_run(body, (ember_interp_frame *)c->interp, inputs, n_inputs, outputs,
                            n_outputs);
}
