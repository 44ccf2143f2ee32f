#include "copy.h"

#include <string.h>

#include "half.h"

void k_contiguous_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

void k_fill(void *dst, const void *value, int64_t n, size_t es)
{
    unsigned char *d = dst;
    const unsigned char *v = value;
    int zero = 1;
    for (size_t b = 0; b < es; b++) zero &= v[b] == 0;
    if (zero) {
        memset(d, 0, (size_t)n * es);
        return;
    }
    for (int64_t i = 0; i < n; i++) memcpy(d + (size_t)i * es, v, es);
}

/* Merges adjacent dims that are contiguous in both views and drops size-1 dims, so a
 * transpose of a big inner block becomes a loop of memcpys. Returns the new rank. */
static int simplify(int rank, const int64_t *dims, const int64_t *ss, const int64_t *ds,
                    int64_t *od, int64_t *oss, int64_t *ods)
{
    int r = 0;
    for (int k = 0; k < rank; k++) {
        if (dims[k] == 1) continue;
        if (r > 0 && oss[r - 1] == ss[k] * dims[k] && ods[r - 1] == ds[k] * dims[k]) {
            od[r - 1] *= dims[k];
            oss[r - 1] = ss[k];
            ods[r - 1] = ds[k];
            continue;
        }
        od[r] = dims[k], oss[r] = ss[k], ods[r] = ds[k];
        r++;
    }
    return r;
}

/* One innermost row: a memcpy when contiguous on both sides, else an element loop. */
static void copy_row(const unsigned char *sp, unsigned char *dp, int64_t n, int64_t sst,
                     int64_t dst, size_t es)
{
    if (sst == 1 && dst == 1) {
        memcpy(dp, sp, (size_t)n * es);
        return;
    }
    switch (es) {
    case 1: for (int64_t i = 0; i < n; i++) dp[i * dst] = sp[i * sst]; break;
    case 2:
        for (int64_t i = 0; i < n; i++) ((uint16_t *)dp)[i * dst] = ((const uint16_t *)sp)[i * sst];
        break;
    case 4:
        for (int64_t i = 0; i < n; i++) ((uint32_t *)dp)[i * dst] = ((const uint32_t *)sp)[i * sst];
        break;
    case 8:
        for (int64_t i = 0; i < n; i++) ((uint64_t *)dp)[i * dst] = ((const uint64_t *)sp)[i * sst];
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dp + i * dst * (int64_t)es, sp + i * sst * (int64_t)es, es);
    }
}

void k_copy_strided(const void *src, void *dst, int rank, const int64_t *dims,
                    const int64_t *sstride, const int64_t *dstride, size_t es, int ith, int nth)
{
    for (int k = 0; k < rank; k++)
        if (dims[k] == 0) return;
    int64_t d[K_COPY_MAX_RANK], ss[K_COPY_MAX_RANK], ds[K_COPY_MAX_RANK];
    int r = simplify(rank, dims, sstride, dstride, d, ss, ds);
    const unsigned char *s = src;
    unsigned char *o = dst;
    if (r == 0) {
        if (ith == 0) memcpy(o, s, es);
        return;
    }
    int64_t n = d[r - 1], rs = ss[r - 1], rd = ds[r - 1];
    int L = r - 1; /* dims walked by the counter; the last one is the row */
    if (L == 0) {
        if (ith == 0) copy_row(s, o, n, rs, rd, es);
        return;
    }
    int64_t lo, hi;
    k_share(d[0], ith, nth, &lo, &hi);
    if (lo >= hi) return;
    int64_t idx[K_COPY_MAX_RANK] = {0};
    idx[0] = lo;
    int64_t so = lo * ss[0], doff = lo * ds[0];
    for (;;) {
        copy_row(s + so * (int64_t)es, o + doff * (int64_t)es, n, rs, rd, es);
        int k = L - 1;
        for (; k > 0; k--) {
            idx[k]++;
            so += ss[k], doff += ds[k];
            if (idx[k] < d[k]) break;
            so -= ss[k] * d[k], doff -= ds[k] * d[k];
            idx[k] = 0;
        }
        if (k == 0) {
            if (++idx[0] >= hi) return;
            so += ss[0], doff += ds[0];
        }
    }
}

double k_load_f64(const void *p, int elem, int64_t i)
{
    switch (elem) {
    case K_ELEM_F32: return ((const float *)p)[i];
    case K_ELEM_F64: return ((const double *)p)[i];
    case K_ELEM_F16: return ember_half_to_float(((const uint16_t *)p)[i]);
    case K_ELEM_BF16: return ember_bf16_to_float(((const uint16_t *)p)[i]);
    case K_ELEM_I8: return ((const int8_t *)p)[i];
    case K_ELEM_I16: return ((const int16_t *)p)[i];
    case K_ELEM_I32: return ((const int32_t *)p)[i];
    case K_ELEM_I64: return (double)((const int64_t *)p)[i];
    case K_ELEM_U8: case K_ELEM_BOOL: return ((const uint8_t *)p)[i];
    case K_ELEM_U16: return ((const uint16_t *)p)[i];
    case K_ELEM_U32: return ((const uint32_t *)p)[i];
    case K_ELEM_U64: return (double)((const uint64_t *)p)[i];
    default: return 0.0;
    }
}

int k_cmp_elem(const void *p, int64_t i, const void *q, int64_t j, int elem)
{
    if (elem == K_ELEM_I64) {
        int64_t a = ((const int64_t *)p)[i], b = ((const int64_t *)q)[j];
        return (a > b) - (a < b);
    }
    if (elem == K_ELEM_U64) {
        uint64_t a = ((const uint64_t *)p)[i], b = ((const uint64_t *)q)[j];
        return (a > b) - (a < b);
    }
    double a = k_load_f64(p, elem, i), b = k_load_f64(q, elem, j);
    int na = a != a, nb = b != b;
    if (na || nb) return na - nb;
    return (a > b) - (a < b);
}
