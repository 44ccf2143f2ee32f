/* Strided n-d copies: the one data-movement primitive behind Transpose, Slice, Concat,
 * Split, Expand, Tile, Pad, DepthToSpace and friends. Portable C, no allocation. */
#ifndef EMBER_K_COPY_H
#define EMBER_K_COPY_H
#include <stddef.h>
#include <stdint.h>

/* Views with more dimensions than this must be split by the caller (Tile doubles the
 * rank of its view, so this is twice the engine's maximum rank). */
#define K_COPY_MAX_RANK 16

/* Copies a view of `rank` dims `dims`: element (i0..) goes from
 * src + sum(i_k * sstride[k]) * es to dst + sum(i_k * dstride[k]) * es. Strides are in
 * elements and may be negative (reversed views) or zero (broadcast reads).
 * This call does share `ith` of `nth` of the outermost dimension. */
void k_copy_strided(const void *src, void *dst, int rank, const int64_t *dims,
                    const int64_t *sstride, const int64_t *dstride, size_t es, int ith, int nth);

/* The rows [*lo, *hi) of n that thread share ith of nth works on. */
static inline void k_share(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi)
{
    int64_t per = (n + nth - 1) / nth;
    *lo = per * ith < n ? per * ith : n;
    *hi = *lo + per < n ? *lo + per : n;
}

/* Row-major strides (in elements) of a contiguous tensor. */
void k_contiguous_strides(int rank, const int64_t *dims, int64_t *strides);

/* Fills n elements of size es at dst with the element at value. */
void k_fill(void *dst, const void *value, int64_t n, size_t es);

/* Element kinds, for the kernels that compute on or compare values. */
enum k_elem {
    K_ELEM_F32, K_ELEM_F64, K_ELEM_F16, K_ELEM_BF16, K_ELEM_I8, K_ELEM_I16, K_ELEM_I32,
    K_ELEM_I64, K_ELEM_U8, K_ELEM_U16, K_ELEM_U32, K_ELEM_U64, K_ELEM_BOOL, K_ELEM_OTHER
};

/* Element i of p (kind elem) as a double (int64/uint64 beyond 2^53 round). */
double k_load_f64(const void *p, int elem, int64_t i);
/* Three-way comparison of element i of p with element j of q, exact for every kind; NaN
 * sorts above every number and equal to NaN. */
int k_cmp_elem(const void *p, int64_t i, const void *q, int64_t j, int elem);
#endif
