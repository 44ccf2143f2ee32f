/* Unique over n items, each item the (outer, inner) slice at one position of a tensor
 * viewed as (outer, n, inner). */
#ifndef EMBER_K_UNIQUE_H
#define EMBER_K_UNIQUE_H
#include <stdint.h>

/* Returns the number u of distinct items. first[g] is the first position of output item
 * g, counts[g] its count, inverse[j] the output item of position j. Output items are in
 * ascending order when sorted, else in order of first occurrence. work holds 4n int64;
 * first, counts and inverse hold n each. */
int64_t k_unique(const void *src, int elem, int64_t outer, int64_t n, int64_t inner, int sorted,
                 int64_t *first, int64_t *counts, int64_t *inverse, int64_t *work);
#endif
