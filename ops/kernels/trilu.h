/* Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of each matrix;
 * rows (batch * rows of them) are shared between threads. */
#ifndef EMBER_K_TRILU_H
#define EMBER_K_TRILU_H
#include <stddef.h>
#include <stdint.h>

void k_trilu(const void *src, void *dst, int64_t batch, int64_t rows, int64_t cols, int64_t k,
             int upper, size_t es, int ith, int nth);
#endif
