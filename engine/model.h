/* Internal layout of the public handles. */
#ifndef EMBER_MODEL_H
#define EMBER_MODEL_H
#include <pthread.h>

#include "../importers/onnx.h"
#include "graph.h"

struct ember_model {
    ember_graph *graph;
    ember_model_meta meta;
    char last_error[2048];
};

struct ember_session {
    const ember_model *model;
    pthread_mutex_t lock; /* guards last_error: runs may fail on several threads at once */
    char last_error[2048];
};

/* Load-time shape and dtype inference over the whole graph (iterative, topological).
 * Fills every value's dtype/shape as far as it can be known. */
ember_status ember_graph_infer(ember_graph *g);
struct ember_op_tensor;
/* The op's view of a value: dtype, shape, symbolic dims, constant data if any. */
void ember_value_to_op_tensor(const ember_value *v, struct ember_op_tensor *t);
/* The same for node `ni` alone (its inputs' values must be up to date). */
ember_status ember_graph_infer_node(ember_graph *g, int ni);
#endif
