#include "trilu.h"

#include <string.h>

#include "copy.h"

void k_trilu(const void *src, void *dst, int64_t batch, int64_t rows, int64_t cols, int64_t k,
             int upper, size_t es, int ith, int nth)
{
    const unsigned char *s = src;
    unsigned char *d = dst;
    int64_t first, last;
    k_share(batch * rows, ith, nth, &first, &last);
    for (int64_t r = first; r < last; r++) {
        int64_t i = r % rows;
        /* Row i keeps columns [lo, hi): one zeroed run and one copied run per side. */
        int64_t lo = upper ? i + k : 0, hi = upper ? cols : i + k + 1;
        lo = lo < 0 ? 0 : lo > cols ? cols : lo;
        hi = hi < 0 ? 0 : hi > cols ? cols : hi;
        if (hi < lo) hi = lo;
        size_t row = (size_t)(r * cols) * es;
        memset(d + row, 0, (size_t)lo * es);
        memcpy(d + row + (size_t)lo * es, s + row + (size_t)lo * es, (size_t)(hi - lo) * es);
        memset(d + row + (size_t)hi * es, 0, (size_t)(cols - hi) * es);
    }
}
