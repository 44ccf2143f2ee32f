#include "eyelike.h"

#include <string.h>

void k_eyelike(void *dst, int64_t rows, int64_t cols, int64_t k, const void *one, size_t es)
{
    unsigned char *d = dst;
    memset(d, 0, (size_t)(rows * cols) * es);
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < cols) memcpy(d + (size_t)(i * cols + j) * es, one, es);
    }
}
