#include "nonzero.h"

#include "copy.h"

static int is_nonzero(const unsigned char *p, size_t es, int is_float)
{
    /* Little-endian: the sign bit is the top bit of the last byte. */
    for (size_t b = 0; b < es; b++) {
        unsigned char v = p[b];
        if (is_float && b == es - 1) v &= 0x7f;
        if (v) return 1;
    }
    return 0;
}

int64_t k_nonzero_count(const void *src, int64_t n, size_t es, int is_float)
{
    const unsigned char *s = src;
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++) cnt += is_nonzero(s + (size_t)i * es, es, is_float);
    return cnt;
}

void k_nonzero(const void *src, int rank, const int64_t *dims, size_t es, int is_float,
               int64_t nnz, int64_t *out)
{
    const unsigned char *s = src;
    int64_t n = 1, pos[K_COPY_MAX_RANK] = {0}, t = 0;
    for (int d = 0; d < rank; d++) n *= dims[d];
    for (int64_t i = 0; i < n; i++) {
        if (is_nonzero(s + (size_t)i * es, es, is_float)) {
            for (int d = 0; d < rank; d++) out[d * nnz + t] = pos[d];
            t++;
        }
        for (int d = rank - 1; d >= 0; d--) {
            if (++pos[d] < dims[d]) break;
            pos[d] = 0;
        }
    }
}
