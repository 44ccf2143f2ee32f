/* Helpers shared by the subgraph-running ops (ops/control_*.c). */
#ifndef EMBER_CONTROL_UTIL_H
#define EMBER_CONTROL_UTIL_H
#include "op.h"

/* The graph attribute `name`; fails when missing. */
ember_status ctl_graph(const ember_op_ctx *c, const char *name, const ember_graph **g);
/* Load-time output i: the dtype (and shape, when fully declared) of body output bo. */
void ctl_declared_out(ember_op_ctx *c, int i, const ember_graph *g, int bo);
/* Moves t (malloc'd data) into out[i], or frees it when out[i] is not wanted. */
void ctl_give(ember_op_ctx *c, int i, ember_op_tensor *t);
/* Frees the data of ts[0..n) and clears them. */
void ctl_free_all(ember_op_tensor *ts, int n);
/* Reads a one-element tensor as a truth value. */
bool ctl_truth(const ember_op_tensor *t);
#endif
