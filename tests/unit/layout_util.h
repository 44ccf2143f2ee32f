/* Test helpers for host kernels that read and write chained layouts (ops/host.h): random
 * data and conversions between NCHW and NHWC / nChw16c / nChw8c. */
#ifndef EMBER_TEST_LAYOUT_UTIL_H
#define EMBER_TEST_LAYOUT_UTIL_H
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdlib.h>

enum { LP = 0, LH = 1, LB = 2, LB8 = 3 }; /* NCHW, NHWC, nChw16c, nChw8c */
static const int layout_codes[4] = {0, dnnl_nhwc, dnnl_nChw16c, dnnl_nChw8c};

/* Uniform in [-1, 1], from a fixed seed per test file. */
static inline float lu_rnd_float(uint32_t *rng)
{
    *rng = *rng * 1664525u + 1013904223u;
    return (float)((*rng >> 8) % 20001u) / 10000.0f - 1.0f;
}
static inline float *lu_rnd_buf(uint32_t *rng, int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; p && i < n; i++) p[i] = lu_rnd_float(rng);
    return p;
}

/* Offset of element (n, c, y, x) of an [N, C, H, W] tensor in layout l. */
static inline int64_t lu_at(int l, int64_t C, int64_t H, int64_t W, int64_t n, int64_t c, int64_t y, int64_t x)
{
    if (l == LH) return ((n * H + y) * W + x) * C + c;
    if (l == LB) return (((n * (C / 16) + c / 16) * H + y) * W + x) * 16 + c % 16;
    if (l == LB8) return (((n * (C / 8) + c / 8) * H + y) * W + x) * 8 + c % 8;
    return ((n * C + c) * H + y) * W + x;
}

/* NCHW src -> dst in layout l (to = 1), or back (to = 0: src in l, dst NCHW). */
static inline void lu_convert(const float *src, float *dst, int l, int to, int64_t N, int64_t C, int64_t H, int64_t W)
{
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++) {
                    int64_t p = lu_at(LP, C, H, W, n, c, y, x), q = lu_at(l, C, H, W, n, c, y, x);
                    if (to) dst[q] = src[p];
                    else dst[p] = src[q];
                }
}
#endif
