#include "gather.h"

#include <string.h>

#include "copy.h"

void k_gather(const void *src, void *dst, const void *idx, int idx64, int64_t n_idx,
              int64_t outer, int64_t axis_dim, size_t inner, int ith, int nth)
{
    const unsigned char *s = src;
    unsigned char *d = dst;
    int64_t lo, hi;
    k_share(outer, ith, nth, &lo, &hi);
    for (int64_t o = lo; o < hi; o++)
        for (int64_t j = 0; j < n_idx; j++) {
            int64_t v = k_index_at(idx, idx64, j, axis_dim);
            memcpy(d + (size_t)(o * n_idx + j) * inner, s + (size_t)(o * axis_dim + v) * inner, inner);
        }
}

void k_gather_elements(const void *src, void *dst, const void *idx, int idx64, int rank,
                       const int64_t *idims, const int64_t *sstride, int axis, int64_t axis_dim,
                       size_t es)
{
    int64_t n = 1;
    for (int k = 0; k < rank; k++) n *= idims[k];
    if (n == 0) return;
    int64_t pos[K_COPY_MAX_RANK] = {0};
    int64_t base = 0; /* offset of pos without the axis term */
    const unsigned char *s = src;
    unsigned char *d = dst;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = k_index_at(idx, idx64, i, axis_dim);
        memcpy(d + (size_t)i * es, s + (size_t)(base + v * sstride[axis]) * es, es);
        for (int k = rank - 1; k >= 0; k--) {
            pos[k]++;
            if (k != axis) base += sstride[k];
            if (pos[k] < idims[k]) break;
            if (k != axis) base -= sstride[k] * idims[k];
            pos[k] = 0;
        }
    }
}

void k_gather_nd(const void *src, void *dst, const void *idx, int idx64, int64_t batches,
                 int64_t queries, int k, const int64_t *kdims, const int64_t *kstride,
                 int64_t batch_stride, size_t slab, size_t es, int ith, int nth)
{
    const unsigned char *s = src;
    unsigned char *d = dst;
    int64_t lo, hi;
    k_share(batches * queries, ith, nth, &lo, &hi);
    for (int64_t row = lo; row < hi; row++) {
        int64_t off = row / queries * batch_stride;
        for (int j = 0; j < k; j++) off += k_index_at(idx, idx64, row * k + j, kdims[j]) * kstride[j];
        memcpy(d + (size_t)row * slab, s + (size_t)off * es, slab);
    }
}

void k_compress(const void *src, void *dst, const uint8_t *cond, int64_t n_cond, int64_t outer,
                int64_t axis_dim, size_t inner)
{
    const unsigned char *s = src;
    unsigned char *d = dst;
    int64_t lim = n_cond < axis_dim ? n_cond : axis_dim;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < lim; j++)
            if (cond[j]) {
                memcpy(d, s + (size_t)(o * axis_dim + j) * inner, inner);
                d += inner;
            }
}
