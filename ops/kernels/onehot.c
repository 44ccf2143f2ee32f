#include "onehot.h"

#include <string.h>

#include "copy.h"

void k_onehot(void *dst, const int64_t *idx, int64_t outer, int64_t depth, int64_t inner,
              const void *off, const void *on, size_t es)
{
    unsigned char *d = dst;
    k_fill(d, off, outer * depth * inner, es);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t v = idx[o * inner + i];
            if (v >= 0 && v < depth) memcpy(d + (size_t)((o * depth + v) * inner + i) * es, on, es);
        }
}
