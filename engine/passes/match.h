/* Pattern-matching helpers shared by the recognition passes (layernorm.c, gelu.c,
 * elementwise_fuse.c): who reads a value, and small constant checks.
 *
 * The reader index is built once per pass over the live graph; passes rewrite only the
 * last node of a matched pattern and kill the others, so an index entry stays right for
 * every value a later match looks at (killed readers are skipped). */
#ifndef EMBER_PASSES_MATCH_H
#define EMBER_PASSES_MATCH_H
#include <stdbool.h>

#include "../graph_edit.h"

typedef struct ember_readers {
    int *start; /* per value: first index into node[] (n_values + 1 entries) */
    int *node;  /* reading node per input slot (a node reading v twice appears twice) */
} ember_readers;

ember_status ember_readers_build(const ember_graph *g, ember_readers *r);
void ember_readers_free(ember_readers *r);

/* The only live node reading v (through a single input slot), when v is not pinned (a
 * graph output or read by a subgraph); else -1. */
int ember_match_sole_reader(const ember_edit *e, const ember_readers *r, int v);
/* Live reading nodes of v (slots counted once per node) into out[0..max); the count, or
 * -1 when there are more than max or v is pinned. */
int ember_match_readers(const ember_edit *e, const ember_readers *r, int v, int *out, int max);

/* v is a float32 constant holding a single element (any rank); its value in *out. */
bool ember_match_scalar(const ember_graph *g, int v, float *out);
/* v is a float32 single-element constant within rel 1e-5 of want. */
bool ember_match_scalar_near(const ember_graph *g, int v, double want);
/* Node i is live, of op `op`, with one output that is float32. */
bool ember_match_op(const ember_edit *e, int i, int op);
/* Binary node i: the input that is not `known` (resolved), or -1 when neither or both are. */
int ember_match_other(ember_edit *e, int i, int known);
#endif
