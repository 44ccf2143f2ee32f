/* Graph mutation for the optimization passes (engine/passes/).
 *
 * A pass opens an edit, walks the nodes in topological order and records changes:
 * nodes are marked dead (never moved mid-pass, so node indices stay valid), and a
 * value that stops existing is "replaced" by another through a union-find style
 * map instead of rewriting every consumer at once. Commit rewrites all inputs and
 * compacts the node array in one O(nodes + values) sweep. Everything a pass allocates
 * for the graph (new constants, attribute arrays) goes into the graph's arena.
 *
 * Pinned values (graph outputs, values captured by name from subgraphs) keep their
 * name and their producer: they are never replaced, only taken over by renaming. */
#ifndef EMBER_GRAPH_EDIT_H
#define EMBER_GRAPH_EDIT_H
#include <stdbool.h>
#include <stdio.h>

#include "../ops/op.h"
#include "graph.h"

typedef struct ember_edit {
    ember_graph *g;
    unsigned char *dead;   /* per node */
    unsigned char *pinned; /* per value */
    int *repl;             /* per value: the value now standing for it (itself when none) */
    int *uses;             /* per value: inputs of live nodes that resolve to it */
    int cap_nodes, cap_values;
    int killed;            /* nodes marked dead so far */
} ember_edit;

/* Opens an edit on a topologically sorted graph. */
ember_status ember_edit_begin(ember_graph *g, ember_edit *e);
/* Applies replacements to every input, drops dead nodes, recomputes producers and
 * checks the order is still topological; frees the edit either way. */
ember_status ember_edit_commit(ember_edit *e);
/* Frees the edit without touching the graph further (after an error). */
void ember_edit_abort(ember_edit *e);
/* The end of a pass: commits when s is EMBER_OK, else aborts and returns s. */
ember_status ember_edit_finish(ember_edit *e, ember_status s);
/* Sets n attributes on node (stops at the first failure). */
ember_status ember_edit_set_attrs(ember_graph *g, int node, const ember_attr *attrs, int n);

/* The value v currently stands for (follows replacements). */
int ember_edit_resolve(ember_edit *e, int v);
/* Marks node dead; its inputs lose a use, its outputs lose their producer. */
void ember_edit_kill(ember_edit *e, int node);
/* Every use of `from` becomes a use of `to`. Refused (false) when `from` is pinned. */
bool ember_edit_replace(ember_edit *e, int from, int to);
/* Points input `slot` of `node` at v, keeping use counts right. */
void ember_edit_set_input(ember_edit *e, int node, int slot, int v);
/* Gives `node` a new input list (arena copy); use counts follow. */
ember_status ember_edit_set_inputs(ember_edit *e, int node, const int *inputs, int n);
/* Removes `node`, whose output `out` equals its input `in`, so that readers of `out`
 * read `in`. A pinned `out` keeps its name: the producer of `in` is made to produce
 * it instead (or it becomes a copy of a constant `in`). False when neither is
 * possible; the node then stays. */
bool ember_edit_bypass(ember_edit *e, int node, int in, int out);
/* Node `keep` takes over value `v` (from a node already killed) as its output `slot`;
 * the value it produced there before is left unproduced and must have no readers. */
void ember_edit_take_output(ember_edit *e, int keep, int slot, int v);
/* Adds a constant value named "<base>__<tag>_N" (first free N). data is copied into the
 * arena (NULL: zeros). Returns the value index, or -1 with the error set. */
int ember_edit_new_const(ember_edit *e, const char *base, const char *tag, ember_dtype dt,
                         int rank, const int64_t *dims, const void *data);
/* The constant data of v may be changed in place: nothing else reads or names it. */
bool ember_edit_exclusive(ember_edit *e, int v);

/* v is a constant with data (an initializer or a folded value). */
bool ember_value_is_const(const ember_graph *g, int v);
/* v is a float32 constant. */
bool ember_value_is_const_f32(const ember_graph *g, int v);
/* All dims known (rank known too). */
bool ember_shape_is_static(const ember_shape *s);
/* The node holds a subgraph attribute (If/Loop/Scan bodies). */
bool ember_node_has_subgraph(const ember_node *n);
/* Replaces (or adds) an attribute of a node; the attribute array is copied to the arena. */
ember_status ember_edit_set_attr(ember_graph *g, int node, const ember_attr *a);
/* Drops every attribute of a node (when it changes op). */
void ember_edit_clear_attrs(ember_graph *g, int node);
/* Turns node into op `op` (enum ember_op), keeping name and outputs. */
void ember_edit_set_op(ember_graph *g, int node, int op);

/* Fast non-cryptographic hash, chained through h. */
uint64_t ember_hash_bytes(uint64_t h, const void *p, size_t n);
uint64_t ember_hash_u64(uint64_t h, uint64_t x);

/* One line per node: name, op type, inputs and outputs with dtypes and shapes. */
void ember_graph_print(const ember_graph *g, FILE *f);
#endif
