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
#endif
