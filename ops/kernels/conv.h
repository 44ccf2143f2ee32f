/* Convolution building blocks: im2col / col2im over N spatial dims (a fast path for 2-D)
 * and a direct depthwise 2-D convolution. Portable C, no allocation. */
#ifndef EMBER_K_CONV_H
#define EMBER_K_CONV_H
#include <stdint.h>

#define K_CONV_MAX_SP 6

/* Window geometry: the image has `in` spatial dims, the windowed grid has `out`; window
 * position o covers image index o * s - pb + t * d for tap t < k. */
typedef struct k_conv_geom {
    int nd;
    int64_t in[K_CONV_MAX_SP], out[K_CONV_MAX_SP], k[K_CONV_MAX_SP];
    int64_t s[K_CONV_MAX_SP], d[K_CONV_MAX_SP], pb[K_CONV_MAX_SP];
} k_conv_geom;

/* col[(c, taps) row][out position] = x[c][window tap] or 0 outside; C channels. Rows are
 * split between threads. */
void k_im2col_f32(const float *x, int64_t C, const k_conv_geom *g, float *col, int ith, int nth);
void k_im2col_i32(const int32_t *x, int64_t C, const k_conv_geom *g, int32_t *col, int ith,
                  int nth);
/* The adjoint: y[c][window tap] += col[(c, taps)][out position] (y is the image, already
 * initialized). Channels are split between threads. */
void k_col2im_f32(const float *col, int64_t C, const k_conv_geom *g, float *y, int ith, int nth);
/* Depthwise 2-D: y[oc] = bias[oc] + sum over taps w[oc] * x[oc / mult]; C * mult output
 * channels; bias may be NULL. */
void k_conv_dw2d_f32(const float *x, const float *w, const float *bias, int64_t C, int64_t mult,
                     const k_conv_geom *g, float *y, int ith, int nth);
#endif
