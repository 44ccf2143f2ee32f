/* Static memory planning: every intermediate tensor of a fully shaped graph gets an
 * offset in one activations arena, from liveness over the graph's node order.
 *
 * Step i is g->nodes[i]. A value is live from the step of its producer through the step
 * of its last consumer (an output nobody reads is live at its producer's step only).
 * Only intermediates are planned: values produced by a node that are not graph outputs.
 * Graph inputs, graph outputs and constants live in caller or constant memory and get
 * offset -1. Values that a subgraph may capture stay live to the last step.
 *
 * In-place: an output may share an input's buffer when the caller's predicate allows it
 * for (node, input slot, output slot), the input dies at that node and both have the same
 * byte size. Shared buffers form chains; alias_of points at the chain's first value (the
 * one that owns the buffer), so offset[v] == offset[alias_of[v]].
 *
 * Views: the output of a Reshape, Flatten, Squeeze, Unsqueeze or Identity whose input is
 * an intermediate of the same byte size is that input's bytes. It shares the input's
 * buffer (alias_of, view[v] = 1) whatever the input's lifetime, and the buffer lives until
 * the last reader of either; the step computes nothing (the executor skips it). Graph
 * inputs, outputs and constants are never viewed (they are not in the arena). In-place
 * sharing needs the whole buffer to die at the node, views included.
 *
 * Concat parts: when a Concat's output C is an intermediate whose inputs are contiguous
 * slices of it (all dims before the axis are 1) and every input is an intermediate of a
 * size that is a multiple of the alignment, read by this Concat once and no other Concat,
 * each input is planned straight into its slice of C (part_of[u] = C, offset[u] inside
 * C's range): the producers write into the Concat output and the Concat step computes
 * nothing (view[C] = 2). C's buffer lives from the first part's producer on. */
#ifndef EMBER_PLAN_H
#define EMBER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "graph.h"

#define EMBER_PLAN_ALIGN 64

typedef struct ember_plan {
    size_t arena_bytes; /* planned size */
    size_t lower_bound; /* max over steps of the bytes live at that step (same order,
                           aligned sizes, a shared buffer counted once) */
    size_t align;       /* every arena offset and arena size is a multiple of this */
    int n_values;       /* = g->n_values */
    int64_t *offset;    /* per value: arena offset, or -1 when not in the arena */
    size_t *size;       /* per value: bytes (aligned size for arena values; raw size for
                           others when their shape is known, else 0) */
    int *first, *last;  /* per value: live steps (node indices), -1 if not planned */
    int *alias_of;      /* per value: value owning the buffer it shares (in-place), else -1 */
    unsigned char *view; /* per value: 1 when it is a view, 2 a Concat output assembled in place */
    int *part_of;       /* per value: the Concat output it is a slice of, else -1 */
} ember_plan;

/* May node `n` write output slot `out_idx` into the buffer of input slot `in_idx`? The
 * planner has already checked liveness and sizes; this answers only whether the kernel
 * tolerates the overlap (elementwise ops reading element i before writing element i). */
typedef bool (*ember_inplace_fn)(void *ctx, const ember_node *n, int in_idx, int out_idx);

/* Plans g (nodes in topological order, shapes inferred). inplace_ok NULL: no sharing;
 * else it is called with ctx.
 * Every planned value needs a fully known shape and a fixed-size dtype; otherwise
 * EMBER_E_UNSUPPORTED names the value (bind the input shapes and infer first).
 * On success *out owns arrays (free with ember_plan_free); on failure *out is zeroed. */
ember_status ember_plan_memory(const ember_graph *g, ember_inplace_fn inplace_ok, void *ctx, ember_plan *out);
void ember_plan_free(ember_plan *p); /* NULL-safe; frees the arrays, keeps the struct */

/* Checks a plan against its graph independently of how it was made: planned lifetimes
 * cover every producer and consumer, no two buffers live at the same step overlap in the
 * arena (values sharing a buffer by alias hand it over at one step only), every buffer is
 * aligned and fits in arena_bytes, nothing caller-owned is in the arena. The error names
 * the values involved. */
ember_status ember_plan_verify(const ember_graph *g, const ember_plan *p);

/* Summary: arena bytes, lower bound, their ratio, buffer and in-place counts, and the ten
 * largest buffers with their offsets and live steps. */
void ember_plan_print(const ember_graph *g, const ember_plan *p, FILE *f);
#endif
