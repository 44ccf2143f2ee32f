/* GridSample (4-D) and RoiAlign sampling kernels. Portable C. */
#ifndef EMBER_K_GRID_SAMPLE_H
#define EMBER_K_GRID_SAMPLE_H
#include <stdint.h>

enum { K_GS_BILINEAR, K_GS_NEAREST, K_GS_BICUBIC };
enum { K_GS_ZEROS, K_GS_BORDER, K_GS_REFLECTION };

/* y[n][c][ho][wo] = x[n][c] sampled at grid[n][ho][wo] = (x, y) in [-1, 1]. Batches split
 * between threads. */
void k_grid_sample_f32(const float *x, int64_t N, int64_t C, int64_t H, int64_t W,
                       const float *grid, int64_t Ho, int64_t Wo, int mode, int padding,
                       int align_corners, float *y, int ith, int nth);

/* RoiAlign: y[r][c][ph][pw] = average (or max) of bilinear samples of x[batch[r]][c] in
 * bin (ph, pw) of roi r (x1, y1, x2, y2). half_pixel: shift coordinates by -0.5. Rois
 * split between threads. */
void k_roi_align_f32(const float *x, int64_t C, int64_t H, int64_t W, const float *rois,
                     const int64_t *batch, int64_t R, int64_t ph, int64_t pw, int64_t sampling,
                     float spatial_scale, int half_pixel, int max_mode, float *y, int ith, int nth);
#endif
