/* TopK, and the index sort it shares with Unique and NonMaxSuppression. */
#ifndef EMBER_K_TOPK_H
#define EMBER_K_TOPK_H
#include <stddef.h>
#include <stdint.h>

/* Sorts idx[0..n) in place (heapsort, no allocation) so that before(ctx, idx[a], idx[b])
 * holds for a < b; `before` must be a strict total order. */
void k_sort_indices(int64_t *idx, int64_t n, int (*before)(const void *ctx, int64_t a, int64_t b),
                    const void *ctx);

/* For each (o, i) of src viewed as (outer, n, inner): the k largest (or smallest) elements
 * along n, sorted, ties to the lower index; values go to vals (same element kind and size
 * es) and positions to idx, both viewed as (outer, k, inner). work holds n int64 per thread; outer rows are
 * shared between threads. */
void k_topk(const void *src, int elem, size_t es, void *vals, int64_t *idx, int64_t outer,
            int64_t n, int64_t inner, int64_t k, int largest, int64_t *work, int ith, int nth);
#endif
