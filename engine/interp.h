/* The reference interpreter: runs a graph node by node with the ops' run functions.
 * Simple and exact; the correctness oracle for every other backend. */
#ifndef EMBER_INTERP_H
#define EMBER_INTERP_H
#include "../ops/op.h"

/* Runs g. inputs[i] feed g->inputs[i] (read only); outputs[i] receive g->outputs[i] with
 * malloc'd data owned by the caller. `outer` resolves values captured from enclosing
 * graphs (NULL at top level). */
typedef struct ember_interp_frame ember_interp_frame;
ember_status ember_interp_run(const ember_graph *g, ember_interp_frame *outer,
                              ember_op_tensor *const *inputs, int n_inputs,
                              ember_op_tensor *outputs, int n_outputs);

/* For ops with subgraph attributes (If, Loop, Scan): runs subgraph `body` from within
 * the op whose context is `c`, so the body sees the values of the enclosing graphs.
 * out: outputs[i] with malloc'd data owned by the caller. */
ember_status ember_interp_subgraph(const ember_op_ctx *c, const ember_graph *body,
                                   ember_op_tensor *const *inputs, int n_inputs,
                                   ember_op_tensor *outputs, int n_outputs);
#endif
