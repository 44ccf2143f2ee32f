/* Index-driven reads: Gather, GatherElements, GatherND, Compress. Indices are int32 or
 * int64 (idx64), already checked to lie in [-dim, dim); negative ones count from the end. */
#ifndef EMBER_K_GATHER_H
#define EMBER_K_GATHER_H
#include <stddef.h>
#include <stdint.h>

static inline int64_t k_index_at(const void *idx, int idx64, int64_t i, int64_t dim)
{
    int64_t v = idx64 ? ((const int64_t *)idx)[i] : ((const int32_t *)idx)[i];
    return v < 0 ? v + dim : v;
}

/* dst[o, j, :] = src[o, idx[j], :] with `inner` bytes per [:] block; rows o are shared
 * between threads. */
void k_gather(const void *src, void *dst, const void *idx, int idx64, int64_t n_idx,
              int64_t outer, int64_t axis_dim, size_t inner, int ith, int nth);

/* dst (shaped like idx, `rank` dims idims, contiguous) from src with strides sstride:
 * along `axis` the position comes from idx. */
void k_gather_elements(const void *src, void *dst, const void *idx, int idx64, int rank,
                       const int64_t *idims, const int64_t *sstride, int axis, int64_t axis_dim,
                       size_t es);

/* For each batch b and query q: reads the slab at src + b*batch_stride + sum_j idx[b,q,j] *
 * kstride[j] (elements), `slab` bytes long. kdims bound each index. Rows (b, q) are
 * shared between threads. */
void k_gather_nd(const void *src, void *dst, const void *idx, int idx64, int64_t batches,
                 int64_t queries, int k, const int64_t *kdims, const int64_t *kstride,
                 int64_t batch_stride, size_t slab, size_t es, int ith, int nth);

/* Keeps the positions j < n_cond along the axis where cond[j] != 0. */
void k_compress(const void *src, void *dst, const uint8_t *cond, int64_t n_cond, int64_t outer,
                int64_t axis_dim, size_t inner);
#endif
