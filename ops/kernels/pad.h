/* Pad: constant, reflect and edge modes, with negative pads cropping. */
#ifndef EMBER_K_PAD_H
#define EMBER_K_PAD_H
#include <stddef.h>
#include <stdint.h>

enum k_pad_mode { K_PAD_CONSTANT, K_PAD_REFLECT, K_PAD_EDGE };

/* dst (odims, odims[k] = idims[k] + begin[k] + end[k]) from src (idims). For reflect and
 * edge every dim with output > 0 must keep at least one input element. `value` is one
 * element (constant mode). */
void k_pad(const void *src, void *dst, int rank, const int64_t *idims, const int64_t *odims,
           const int64_t *begin, const int64_t *end, int mode, const void *value, size_t es);
#endif
