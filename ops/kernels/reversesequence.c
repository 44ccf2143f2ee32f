#include "reversesequence.h"

#include <string.h>

#include "copy.h"

void k_reverse_sequence(const void *src, void *dst, int64_t steps, int64_t batch,
                        int64_t tstride, int64_t bstride, const int64_t *lens, size_t inner,
                        size_t es, int ith, int nth)
{
    const unsigned char *s = src;
    unsigned char *d = dst;
    int64_t lo, hi;
    k_share(batch, ith, nth, &lo, &hi);
    for (int64_t b = lo; b < hi; b++)
        for (int64_t t = 0; t < steps; t++) {
            int64_t from = t < lens[b] ? lens[b] - 1 - t : t;
            memcpy(d + (size_t)(t * tstride + b * bstride) * es, s + (size_t)(from * tstride + b * bstride) * es,
                   inner);
        }
}
