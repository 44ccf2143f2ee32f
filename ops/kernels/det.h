/* Det: determinant of each n x n matrix by LU decomposition with partial pivoting, in
 * double. src/dst are float32 (is_f64 = 0) or float64; work holds n*n doubles per thread; matrices are shared between threads. */
#ifndef EMBER_K_DET_H
#define EMBER_K_DET_H
#include <stdint.h>

void k_det(const void *src, void *dst, int is_f64, int64_t batch, int64_t n, double *work, int ith,
           int nth);
#endif
