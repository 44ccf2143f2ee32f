/* Checking graph passes (defined in test_passes_models.c): run a graph on the reference
 * interpreter, compare two runs' outputs, check a rewritten graph kept its interface. */
#ifndef EMBER_TEST_PASSES_CHECK_H
#define EMBER_TEST_PASSES_CHECK_H
#include "engine/graph.h"
#include "ops/op.h"

typedef struct passes_outs {
    ember_op_tensor t[16];
    int n;
} passes_outs;
int passes_count_op(const ember_graph *g, int op);
void passes_run(const ember_graph *g, ember_op_tensor *const *in, int n_in, passes_outs *out);
void passes_outs_free(passes_outs *o);
void passes_compare(const passes_outs *ref, const passes_outs *got, const char *what);
void passes_check_interface(const ember_graph *before, const ember_graph *after);
#endif
