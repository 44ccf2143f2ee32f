/* Row normalizations (instance / layer norm), mean-variance normalization over arbitrary
 * axes, and local response normalization. Portable C. */
#ifndef EMBER_K_NORM_H
#define EMBER_K_NORM_H
#include <stdint.h>

/* Each row of `cols` values: y = (x - mean) / sqrt(var + eps) * s + b where s, b are
 * scale[col], bias[col] when per_row == 0 (layer norm) or scale[row % per_row],
 * bias[row % per_row] otherwise (instance norm). bias may be NULL. mean_out / inv_out
 * (may be NULL) receive the row mean and 1 / sqrt(var + eps). */
void k_norm_rows_f32(const float *x, int64_t rows, int64_t cols, float eps, const float *scale,
                     const float *bias, int64_t per_row, float *y, float *mean_out, float *inv_out,
                     int ith, int nth);
/* Mean-variance normalization over the axes flagged in `reduce` (rank dims):
 * y = (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + eps). acc: scratch of 2 * (kept elements)
 * doubles. Single-threaded (the reduction crosses rows). */
void k_mvn_f32(const float *x, int rank, const int64_t *dims, const int *reduce, float eps,
               double *acc, float *y);
/* y[n][c] = x[n][c] / (bias + alpha / size * sum_{c' in window} x[n][c']^2) ^ beta with the
 * window [c - (size-1)/2, c + size/2] clipped to [0, C). Rows n are split between threads. */
void k_lrn_f32(const float *x, int64_t N, int64_t C, int64_t sp, int64_t size, float alpha,
               float beta, float bias, float *y, int ith, int nth);
#endif
