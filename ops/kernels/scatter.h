/* Index-driven writes: ScatterElements and ScatterND with their reductions. The output
 * must already hold a copy of the data input. Single-threaded: duplicate indices make the
 * order of writes matter. */
#ifndef EMBER_K_SCATTER_H
#define EMBER_K_SCATTER_H
#include <stddef.h>
#include <stdint.h>

#include "copy.h"

enum k_reduce { K_REDUCE_NONE, K_REDUCE_ADD, K_REDUCE_MUL, K_REDUCE_MAX, K_REDUCE_MIN };

/* dst[i] = dst[i] (op) src[i] for n elements; K_REDUCE_NONE copies (any kind). */
void k_combine(void *dst, const void *src, int64_t n, size_t es, int elem, int op);

/* upd is shaped like idx (`rank` dims idims, contiguous); element i goes to dst at
 * sum_{k != axis} pos_k * dstride[k] + idx[i] * dstride[axis]. */
void k_scatter_elements(void *dst, const void *upd, const void *idx, int idx64, int rank,
                        const int64_t *idims, const int64_t *dstride, int axis, int64_t axis_dim,
                        size_t es, int elem, int op);

/* n index tuples of length k: slab t of `slab` elements from upd goes to dst at
 * sum_j idx[t, j] * kstride[j]. */
void k_scatter_nd(void *dst, const void *upd, const void *idx, int idx64, int64_t n, int k,
                  const int64_t *kdims, const int64_t *kstride, int64_t slab, size_t es, int elem,
                  int op);
#endif
