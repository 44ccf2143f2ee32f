/* Per-channel affine normalization over [N, C, sp] tensors. Portable C. */
#ifndef EMBER_K_BATCHNORM_H
#define EMBER_K_BATCHNORM_H
#include <stdint.h>

/* y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c]; rows (n, c) are split
 * between threads. */
void k_batchnorm_f32(const float *x, int64_t N, int64_t C, int64_t sp, const float *scale,
                     const float *bias, const float *mean, const float *var, float eps, float *y,
                     int ith, int nth);
/* Per-channel mean and population variance over N and sp (training mode). Channels are
 * split between threads. */
void k_channel_moments_f32(const float *x, int64_t N, int64_t C, int64_t sp, float *mean,
                           float *var, int ith, int nth);
#endif
