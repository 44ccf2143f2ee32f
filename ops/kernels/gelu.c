#include "gelu.h"

#include <math.h>

#include "fast_math.h"
#include "gemm.h"

void k_gelu_f32(const float *x, float *y, int64_t n, int approximate, int ith, int nth)
{
    int64_t lo, hi;
    k_share(n, ith, nth, &lo, &hi);
    if (approximate) {
        const float k0 = 0.7978845608028654f, k1 = 0.044715f; /* sqrt(2 / pi) */
        for (int64_t i = lo; i < hi; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.0f + k_ftanh(k0 * (v + k1 * v * v * v)));
        }
        return;
    }
    const float r2 = 0.7071067811865476f; /* 1 / sqrt(2) */
    for (int64_t i = lo; i < hi; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + k_ferf(v * r2));
    }
}

void k_silu_f32(const float *x, float *y, int64_t n, int ith, int nth)
{
    int64_t lo, hi;
    k_share(n, ith, nth, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) y[i] = x[i] * k_fsigmoid(x[i]); /* vectorized (fast_math.h) */
}
