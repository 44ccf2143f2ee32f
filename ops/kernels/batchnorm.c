#include "batchnorm.h"

#include <math.h>

#include "gemm.h"

void k_batchnorm_f32(const float *x, int64_t N, int64_t C, int64_t sp, const float *scale,
                     const float *bias, const float *mean, const float *var, float eps, float *y,
                     int ith, int nth)
{
    int64_t lo, hi;
    k_share(N * C, ith, nth, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t c = r % C;
        float a = scale[c] / sqrtf(var[c] + eps), b = bias[c] - mean[c] * a;
        const float *xr = x + r * sp;
        float *yr = y + r * sp;
        for (int64_t i = 0; i < sp; i++) yr[i] = xr[i] * a + b;
    }
}

void k_channel_moments_f32(const float *x, int64_t N, int64_t C, int64_t sp, float *mean,
                           float *var, int ith, int nth)
{
    int64_t lo, hi;
    k_share(C, ith, nth, &lo, &hi);
    double cnt = (double)(N * sp);
    for (int64_t c = lo; c < hi; c++) {
        double s = 0.0, q = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const float *xr = x + (n * C + c) * sp;
            for (int64_t i = 0; i < sp; i++) s += xr[i];
        }
        double m = cnt > 0 ? s / cnt : 0.0;
        for (int64_t n = 0; n < N; n++) {
            const float *xr = x + (n * C + c) * sp;
            for (int64_t i = 0; i < sp; i++) q += (xr[i] - m) * (xr[i] - m);
        }
        mean[c] = (float)m;
        var[c] = (float)(cnt > 0 ? q / cnt : 0.0);
    }
}
