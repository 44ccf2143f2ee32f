#include "unique.h"

#include "copy.h"
#include "topk.h"

typedef struct items {
    const void *src;
    int elem;
    int64_t outer, n, inner;
} items;

static int item_cmp(const items *it, int64_t a, int64_t b)
{
    for (int64_t o = 0; o < it->outer; o++)
        for (int64_t i = 0; i < it->inner; i++) {
            int64_t base = o * it->n * it->inner + i;
            int c = k_cmp_elem(it->src, base + a * it->inner, it->src, base + b * it->inner, it->elem);
            if (c) return c;
        }
    return 0;
}

static int item_before(const void *ctx, int64_t a, int64_t b)
{
    int c = item_cmp(ctx, a, b);
    return c ? c < 0 : a < b;
}

int64_t k_unique(const void *src, int elem, int64_t outer, int64_t n, int64_t inner, int sorted,
                 int64_t *first, int64_t *counts, int64_t *inverse, int64_t *work)
{
    items it = {src, elem, outer, n, inner};
    int64_t *order = work, *group = work + n, *gfirst = work + 2 * n, *pos = work + 3 * n;
    for (int64_t j = 0; j < n; j++) order[j] = j;
    k_sort_indices(order, n, item_before, &it);
    /* Groups of equal items in ascending order; the first of each is its first occurrence. */
    int64_t u = 0;
    for (int64_t p = 0; p < n; p++) {
        int64_t j = order[p];
        if (p == 0 || item_cmp(&it, order[p - 1], j) != 0) {
            gfirst[u] = j;
            counts[u] = 0;
            u++;
        }
        group[j] = u - 1;
        counts[u - 1]++;
    }
    if (sorted) {
        for (int64_t g = 0; g < u; g++) pos[g] = g;
    } else {
        int64_t next = 0;
        for (int64_t j = 0; j < n; j++)
            if (gfirst[group[j]] == j) pos[group[j]] = next++;
    }
    /* counts is in group order; permute it through inverse's storage as scratch. */
    for (int64_t g = 0; g < u; g++) inverse[g] = counts[g];
    for (int64_t g = 0; g < u; g++) {
        first[pos[g]] = gfirst[g];
        counts[pos[g]] = inverse[g];
    }
    for (int64_t j = 0; j < n; j++) inverse[j] = pos[group[j]];
    return u;
}
