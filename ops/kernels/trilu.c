#include "trilu.h"

#include <string.h>

void k_trilu(const void *src, void *dst, int64_t batch, int64_t rows, int64_t cols, int64_t k,
             int upper, size_t es)
{
    const unsigned char *s = src;
    unsigned char *d = dst;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < rows; i++) {
            /* Row i keeps columns [lo, hi): one zeroed run and one copied run per side. */
            int64_t lo = upper ? i + k : 0, hi = upper ? cols : i + k + 1;
            lo = lo < 0 ? 0 : lo > cols ? cols : lo;
            hi = hi < 0 ? 0 : hi > cols ? cols : hi;
            if (hi < lo) hi = lo;
            size_t row = (size_t)((b * rows + i) * cols) * es;
            memset(d + row, 0, (size_t)lo * es);
            memcpy(d + row + (size_t)lo * es, s + row + (size_t)lo * es, (size_t)(hi - lo) * es);
            memset(d + row + (size_t)hi * es, 0, (size_t)(cols - hi) * es);
        }
}
