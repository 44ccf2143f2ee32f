/* NonZero: coordinates of the non-zero elements, row-major order. Float kinds (is_float)
 * ignore the sign bit so -0.0 counts as zero. */
#ifndef EMBER_K_NONZERO_H
#define EMBER_K_NONZERO_H
#include <stddef.h>
#include <stdint.h>

int64_t k_nonzero_count(const void *src, int64_t n, size_t es, int is_float);
/* out is (rank, nnz): out[d * nnz + t] = coordinate d of the t-th non-zero. */
void k_nonzero(const void *src, int rank, const int64_t *dims, size_t es, int is_float,
               int64_t nnz, int64_t *out);
#endif
