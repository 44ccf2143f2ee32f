#include "topk.h"

#include <string.h>

#include "copy.h"

static void sift(int64_t *h, int64_t root, int64_t n, int (*before)(const void *, int64_t, int64_t),
                 const void *ctx)
{
    for (;;) {
        int64_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && before(ctx, h[child], h[child + 1])) child++;
        if (!before(ctx, h[root], h[child])) return;
        int64_t t = h[root];
        h[root] = h[child];
        h[child] = t;
        root = child;
    }
}

void k_sort_indices(int64_t *idx, int64_t n, int (*before)(const void *ctx, int64_t a, int64_t b),
                    const void *ctx)
{
    for (int64_t i = n / 2 - 1; i >= 0; i--) sift(idx, i, n, before, ctx);
    for (int64_t end = n - 1; end > 0; end--) {
        int64_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t;
        sift(idx, 0, end, before, ctx);
    }
}

typedef struct topk_row {
    const void *src;
    int elem, largest;
    int64_t base, inner;
} topk_row;

static int topk_before(const void *ctx, int64_t a, int64_t b)
{
    const topk_row *r = ctx;
    int c = k_cmp_elem(r->src, r->base + a * r->inner, r->src, r->base + b * r->inner, r->elem);
    if (c != 0) return r->largest ? c > 0 : c < 0;
    return a < b;
}

void k_topk(const void *src, int elem, size_t es, void *vals, int64_t *idx, int64_t outer,
            int64_t n, int64_t inner, int64_t k, int largest, int64_t *work, int ith, int nth)
{
    const unsigned char *s = src;
    unsigned char *v = vals;
    int64_t lo, hi;
    k_share(outer, ith, nth, &lo, &hi);
    for (int64_t o = lo; o < hi; o++)
        for (int64_t i = 0; i < inner; i++) {
            topk_row r = {src, elem, largest, o * n * inner + i, inner};
            for (int64_t j = 0; j < n; j++) work[j] = j;
            k_sort_indices(work, n, topk_before, &r);
            for (int64_t t = 0; t < k; t++) {
                int64_t at = (o * k + t) * inner + i;
                idx[at] = work[t];
                memcpy(v + (size_t)at * es, s + (size_t)(r.base + work[t] * inner) * es, es);
            }
        }
}
