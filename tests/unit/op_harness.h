/* Single-node graphs for kernel tests: build a node with given inputs and attributes,
 * run it through the interpreter and hand back the outputs. Header-only so every test
 * file can use it. */
#ifndef EMBER_OP_HARNESS_H
#define EMBER_OP_HARNESS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/interp.h"
#include "ops/op.h"

typedef struct harness_in {
    ember_dtype dtype;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    const void *data; /* NULL: optional input left out */
    int is_const;     /* make it an initializer (shape-carrying inputs) */
} harness_in;

/* Builds node `op_type` (opset `opset`) with inputs and attrs, runs it.
 * out: outs[0..n_out) with malloc'd data (free with free(outs[i].data)).
 * Returns the status; on failure ember_last_error() says why. */
static inline ember_status harness_run(const char *op_type, int opset, const harness_in *ins,
                                       int n_in, const ember_attr *attrs, int n_attrs,
                                       ember_op_tensor *outs, int n_out)
{
    ember_graph *g = ember_graph_new(NULL);
    g->opset = opset;
    int in_idx[16], out_idx[16], feed = 0;
    ember_op_tensor feeds[16], *pfeeds[16];
    g->inputs = malloc(sizeof(int) * 16);
    g->outputs = malloc(sizeof(int) * 16);
    for (int i = 0; i < n_in; i++) {
        if (!ins[i].data) {
            in_idx[i] = -1;
            continue;
        }
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        int v = ember_graph_add_value(g, name);
        ember_value *val = &g->values[v];
        val->dtype = ins[i].dtype;
        val->shape.rank = ins[i].rank;
        memcpy(val->shape.dims, ins[i].dims, sizeof ins[i].dims);
        int64_t n = 1;
        for (int k = 0; k < ins[i].rank; k++) n *= ins[i].dims[k];
        size_t nb = (size_t)n * ember_dtype_size(ins[i].dtype);
        if (ins[i].is_const) {
            val->flags = EMBER_VALUE_CONST;
            val->data = ember_arena_alloc(&g->arena, nb ? nb : 1);
            memcpy(val->data, ins[i].data, nb);
            val->nbytes = nb;
        } else {
            val->flags = EMBER_VALUE_INPUT;
            g->inputs[g->n_inputs++] = v;
            memset(&feeds[feed], 0, sizeof feeds[feed]);
            feeds[feed].dtype = ins[i].dtype;
            feeds[feed].rank = ins[i].rank;
            memcpy(feeds[feed].dims, ins[i].dims, sizeof ins[i].dims);
            feeds[feed].data = (void *)ins[i].data;
            feeds[feed].nbytes = nb;
            pfeeds[feed] = &feeds[feed];
            feed++;
        }
        in_idx[i] = v;
    }
    for (int o = 0; o < n_out; o++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", o);
        out_idx[o] = ember_graph_add_value(g, name);
        g->values[out_idx[o]].flags = EMBER_VALUE_OUTPUT;
        g->outputs[g->n_outputs++] = out_idx[o];
    }
    ember_attr *copy = NULL;
    if (n_attrs) {
        copy = ember_arena_alloc(&g->arena, sizeof(ember_attr) * (size_t)n_attrs);
        memcpy(copy, attrs, sizeof(ember_attr) * (size_t)n_attrs);
    }
    int ni = ember_graph_add_node(g, "n0", op_type, "", in_idx, n_in, out_idx, n_out, copy, n_attrs);
    ember_node *node = &g->nodes[ni];
    node->opset = opset;
    node->op = ember_op_lookup("", op_type);
    ember_status s = node->op < 0 ? ember_error(EMBER_E_UNSUPPORTED, "no op %s", op_type) : EMBER_OK;
    if (s == EMBER_OK) s = ember_op_check_attrs(node);
    if (s == EMBER_OK) s = ember_graph_toposort(g);
    if (s == EMBER_OK) s = ember_interp_run(g, NULL, pfeeds, feed, outs, n_out);
    ember_graph_free(g);
    return s;
}

/* Attribute builders (the strings/arrays must outlive the harness_run call). */
static inline ember_attr harness_attr_int(const char *name, int64_t v)
{
    ember_attr a = {0};
    a.name = name, a.type = EMBER_ATTR_INT, a.i = v;
    return a;
}
static inline ember_attr harness_attr_float(const char *name, float v)
{
    ember_attr a = {0};
    a.name = name, a.type = EMBER_ATTR_FLOAT, a.f = v;
    return a;
}
static inline ember_attr harness_attr_ints(const char *name, int64_t *v, int n)
{
    ember_attr a = {0};
    a.name = name, a.type = EMBER_ATTR_INTS, a.ints = v, a.n = n;
    return a;
}
static inline ember_attr harness_attr_floats(const char *name, float *v, int n)
{
    ember_attr a = {0};
    a.name = name, a.type = EMBER_ATTR_FLOATS, a.floats = v, a.n = n;
    return a;
}
static inline ember_attr harness_attr_string(const char *name, const char *s)
{
    ember_attr a = {0};
    a.name = name, a.type = EMBER_ATTR_STRING, a.s = s, a.s_len = strlen(s);
    return a;
}
#endif
