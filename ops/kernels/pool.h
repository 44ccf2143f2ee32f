/* Pooling over N spatial dims: max (with optional argmax), average, Lp; global pools;
 * max-unpool. Rows are the N*C planes, split between threads. Portable C. */
#ifndef EMBER_K_POOL_H
#define EMBER_K_POOL_H
#include <stdint.h>

#include "conv.h"

enum { K_POOL_MAX = 0, K_POOL_AVG = 1, K_POOL_LP = 2 };

/* y[row][o] = pool over the window taps inside the image. pe: end pads (used by average
 * with count_include_pad, whose divisor counts taps inside the padded extent). idx (max
 * only, may be NULL): flattened input index of the max, row-major over the whole tensor, or
 * column-major within the plane when col_major. p: the Lp exponent. */
void k_pool_f32(const float *x, int64_t rows, const k_conv_geom *g, const int64_t *pe, int mode,
                int count_include_pad, float p, int col_major, float *y, int64_t *idx, int ith,
                int nth);
/* y[row] = mean / max / Lp norm of the plane of sp elements. */
void k_global_pool_f32(const float *x, int64_t rows, int64_t sp, int mode, float p, float *y,
                       int ith, int nth);
#endif
