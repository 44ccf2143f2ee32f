/* ReverseSequence: for batch b the first lens[b] steps along time are reversed, the rest
 * copied. Strides are in elements; each (time, batch) cell is `inner` bytes; batch items are shared between threads. */
#ifndef EMBER_K_REVERSESEQUENCE_H
#define EMBER_K_REVERSESEQUENCE_H
#include <stddef.h>
#include <stdint.h>

void k_reverse_sequence(const void *src, void *dst, int64_t steps, int64_t batch,
                        int64_t tstride, int64_t bstride, const int64_t *lens, size_t inner,
                        size_t es, int ith, int nth);
#endif
