/* The row softmax of the Softmax host path, for other host kernels (attention.c). */
#ifndef EMBER_HOST_SOFTMAX_ROWS_H
#define EMBER_HOST_SOFTMAX_ROWS_H
#include <stdint.h>

/* y[r, :] = softmax(x[r, :]) for rows x n floats (x and y must not overlap). */
void ember_softmax_rows_f32(const float *x, float *y, int64_t rows, int64_t n);
#endif
