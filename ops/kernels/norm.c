#include "norm.h"

#include <math.h>

#include "gemm.h"

/* Sum with 8 partial sums: vectorizes without reassociation flags, and keeps float
 * rounding error near that of a pairwise sum for long rows. */
static float k_rowsum8(const float *p, int64_t n, float shift)
{
    float s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) s[j] += p[i + j] - shift;
    float t = 0;
    for (; i < n; i++) t += p[i] - shift;
    return t + ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static float k_rowsq8(const float *p, int64_t n, float m)
{
    float s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) s[j] += (p[i + j] - m) * (p[i + j] - m);
    float t = 0;
    for (; i < n; i++) t += (p[i] - m) * (p[i] - m);
    return t + ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* Two passes in float (mean, then the variance of the centred values, so no
 * cancellation); the mean is taken relative to the row's first value, which keeps it
 * accurate for rows far from zero. */
void k_norm_rows_f32(const float *x, int64_t rows, int64_t cols, float eps, const float *scale,
                     const float *bias, int64_t per_row, float *y, float *mean_out, float *inv_out,
                     int ith, int nth)
{
    int64_t lo, hi;
    k_share(rows, ith, nth, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float x0 = cols ? xr[0] : 0.0f;
        float mf = cols ? x0 + k_rowsum8(xr, cols, x0) / (float)cols : 0.0f;
        float var = cols ? k_rowsq8(xr, cols, mf) / (float)cols : 0.0f;
        float inv = 1.0f / sqrtf(var + eps);
        if (mean_out) mean_out[r] = mf;
        if (inv_out) inv_out[r] = inv;
        if (per_row) {
            int64_t c = r % per_row;
            float a = scale[c] * inv, b = bias ? bias[c] : 0.0f;
            for (int64_t i = 0; i < cols; i++) yr[i] = (xr[i] - mf) * a + b;
        } else if (bias) {
            for (int64_t i = 0; i < cols; i++) yr[i] = (xr[i] - mf) * inv * scale[i] + bias[i];
        } else {
            for (int64_t i = 0; i < cols; i++) yr[i] = (xr[i] - mf) * inv * scale[i];
        }
    }
}

/* Index into the kept-axes array of the element at odometer position o. */
static int64_t kept_index(int rank, const int64_t *dims, const int *reduce, const int64_t *o)
{
    int64_t k = 0;
    for (int i = 0; i < rank; i++)
        if (!reduce[i]) k = k * dims[i] + o[i];
    return k;
}

static int step(int rank, const int64_t *dims, int64_t *o)
{
    for (int i = rank - 1; i >= 0; i--) {
        if (++o[i] < dims[i]) return 1;
        o[i] = 0;
    }
    return 0;
}

void k_mvn_f32(const float *x, int rank, const int64_t *dims, const int *reduce, float eps,
               double *acc, float *y)
{
    int64_t total = 1, kept = 1;
    for (int i = 0; i < rank; i++) {
        total *= dims[i];
        if (!reduce[i]) kept *= dims[i];
    }
    if (total == 0) return;
    double cnt = (double)(total / kept);
    for (int64_t k = 0; k < 2 * kept; k++) acc[k] = 0.0;
    int64_t o[8] = {0};
    int64_t i = 0;
    do {
        int64_t k = kept_index(rank, dims, reduce, o);
        acc[2 * k] += x[i];
        acc[2 * k + 1] += (double)x[i] * x[i];
        i++;
    } while (step(rank, dims, o));
    for (int64_t k = 0; k < kept; k++) {
        double m = acc[2 * k] / cnt, v = acc[2 * k + 1] / cnt - m * m;
        acc[2 * k] = m;
        acc[2 * k + 1] = sqrt(v > 0 ? v : 0) + eps;
    }
    for (int d = 0; d < rank; d++) o[d] = 0;
    i = 0;
    do {
        int64_t k = kept_index(rank, dims, reduce, o);
        y[i] = (float)((x[i] - acc[2 * k]) / acc[2 * k + 1]);
        i++;
    } while (step(rank, dims, o));
}

void k_lrn_f32(const float *x, int64_t N, int64_t C, int64_t sp, int64_t size, float alpha,
               float beta, float bias, float *y, int ith, int nth)
{
    int64_t lo, hi;
    k_share(N, ith, nth, &lo, &hi);
    int64_t before = (size - 1) / 2, after = size / 2;
    for (int64_t n = lo; n < hi; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t c0 = c - before < 0 ? 0 : c - before, c1 = c + after >= C ? C - 1 : c + after;
            const float *xc = x + (n * C + c) * sp;
            float *yc = y + (n * C + c) * sp;
            for (int64_t i = 0; i < sp; i++) {
                float s = 0.0f;
                for (int64_t k = c0; k <= c1; k++) {
                    float v = x[(n * C + k) * sp + i];
                    s += v * v;
                }
                yc[i] = xc[i] / powf(bias + alpha / (float)size * s, beta);
            }
        }
}
