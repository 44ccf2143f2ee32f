#include "quant.h"

#include <math.h>

#include "gemm.h"

float k_round_even(float x)
{
    float r = floorf(x), d = x - r;
    if (d > 0.5f || (d == 0.5f && fmodf(r, 2.0f) != 0.0f)) r += 1.0f;
    return r;
}

static int32_t sat(float v, int32_t qmin, int32_t qmax)
{
    if (!(v >= (float)qmin)) return qmin; /* NaN too */
    if (v > (float)qmax) return qmax;
    return (int32_t)v;
}

void k_quantize_f32(const float *x, int64_t outer, int64_t C, int64_t inner, const float *scale,
                    const int32_t *zp, int32_t qmin, int32_t qmax, int32_t *q, int ith, int nth)
{
    int64_t lo, hi;
    k_share(outer * C, ith, nth, &lo, &hi);
    for (int64_t row = lo; row < hi; row++) {
        int64_t c = row % C, base = row * inner;
        float s = scale[c], z = (float)zp[c];
        for (int64_t i = 0; i < inner; i++) q[base + i] = sat(k_round_even(x[base + i] / s) + z, qmin, qmax);
    }
}

void k_dequantize_f32(const int32_t *q, int64_t outer, int64_t C, int64_t inner,
                      const float *scale, const int32_t *zp, float *y, int ith, int nth)
{
    int64_t lo, hi;
    k_share(outer * C, ith, nth, &lo, &hi);
    for (int64_t row = lo; row < hi; row++) {
        int64_t c = row % C, base = row * inner;
        float s = scale[c];
        int32_t z = zp[c];
        for (int64_t i = 0; i < inner; i++) y[base + i] = (float)(q[base + i] - z) * s;
    }
}

void k_requantize_i32(const int32_t *acc, int64_t outer, int64_t C, int64_t inner,
                      const float *mult, int32_t zp, int32_t qmin, int32_t qmax, int32_t *q,
                      int ith, int nth)
{
    int64_t lo, hi;
    k_share(outer * C, ith, nth, &lo, &hi);
    for (int64_t row = lo; row < hi; row++) {
        int64_t c = row % C, base = row * inner;
        float m = mult[c];
        for (int64_t i = 0; i < inner; i++)
            q[base + i] = sat(k_round_even((float)acc[base + i] * m) + (float)zp, qmin, qmax);
    }
}
