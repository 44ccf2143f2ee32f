#include "scatter.h"

#include <string.h>

#include "copy.h"
#include "gather.h"
#include "half.h"

#define COMBINE_LOOP(T, op, d, s, n)                                       \
    do {                                                                   \
        T *dd = (T *)(d);                                                  \
        const T *ss = (const T *)(s);                                      \
        for (int64_t i = 0; i < (n); i++) {                                \
            T a = dd[i], b = ss[i];                                        \
            dd[i] = (op) == K_REDUCE_ADD ? (T)(a + b)                      \
                    : (op) == K_REDUCE_MUL ? (T)(a * b)                    \
                    : (op) == K_REDUCE_MAX ? (a > b ? a : b)               \
                                           : (a < b ? a : b);              \
        }                                                                  \
    } while (0)

static float combine_f(float a, float b, int op)
{
    switch (op) {
    case K_REDUCE_ADD: return a + b;
    case K_REDUCE_MUL: return a * b;
    case K_REDUCE_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

void k_combine(void *dst, const void *src, int64_t n, size_t es, int elem, int op)
{
    if (op == K_REDUCE_NONE) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    switch (elem) {
    case K_ELEM_F32: COMBINE_LOOP(float, op, dst, src, n); break;
    case K_ELEM_F64: COMBINE_LOOP(double, op, dst, src, n); break;
    case K_ELEM_I8: COMBINE_LOOP(int8_t, op, dst, src, n); break;
    case K_ELEM_I16: COMBINE_LOOP(int16_t, op, dst, src, n); break;
    case K_ELEM_I32: COMBINE_LOOP(int32_t, op, dst, src, n); break;
    case K_ELEM_I64: COMBINE_LOOP(int64_t, op, dst, src, n); break;
    case K_ELEM_U8: COMBINE_LOOP(uint8_t, op, dst, src, n); break;
    case K_ELEM_U16: COMBINE_LOOP(uint16_t, op, dst, src, n); break;
    case K_ELEM_U32: COMBINE_LOOP(uint32_t, op, dst, src, n); break;
    case K_ELEM_U64: COMBINE_LOOP(uint64_t, op, dst, src, n); break;
    case K_ELEM_F16: {
        uint16_t *d = dst;
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++)
            d[i] = ember_float_to_half(combine_f(ember_half_to_float(d[i]), ember_half_to_float(s[i]), op));
        break;
    }
    case K_ELEM_BF16: {
        uint16_t *d = dst;
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++)
            d[i] = ember_float_to_bf16(combine_f(ember_bf16_to_float(d[i]), ember_bf16_to_float(s[i]), op));
        break;
    }
    default: break;
    }
}

void k_scatter_elements(void *dst, const void *upd, const void *idx, int idx64, int rank,
                        const int64_t *idims, const int64_t *dstride, int axis, int64_t axis_dim,
                        size_t es, int elem, int op)
{
    int64_t n = 1;
    for (int k = 0; k < rank; k++) n *= idims[k];
    if (n == 0) return;
    int64_t pos[K_COPY_MAX_RANK] = {0};
    int64_t base = 0;
    unsigned char *d = dst;
    const unsigned char *u = upd;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = k_index_at(idx, idx64, i, axis_dim);
        k_combine(d + (size_t)(base + v * dstride[axis]) * es, u + (size_t)i * es, 1, es, elem, op);
        for (int k = rank - 1; k >= 0; k--) {
            pos[k]++;
            if (k != axis) base += dstride[k];
            if (pos[k] < idims[k]) break;
            if (k != axis) base -= dstride[k] * idims[k];
            pos[k] = 0;
        }
    }
}

void k_scatter_nd(void *dst, const void *upd, const void *idx, int idx64, int64_t n, int k,
                  const int64_t *kdims, const int64_t *kstride, int64_t slab, size_t es, int elem,
                  int op)
{
    unsigned char *d = dst;
    const unsigned char *u = upd;
    for (int64_t t = 0; t < n; t++) {
        int64_t off = 0;
        for (int j = 0; j < k; j++) off += k_index_at(idx, idx64, t * k + j, kdims[j]) * kstride[j];
        k_combine(d + (size_t)off * es, u + (size_t)(t * slab) * es, slab, es, elem, op);
    }
}
