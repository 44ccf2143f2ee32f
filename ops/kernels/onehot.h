/* OneHot: out[o, v, i] = on where v == idx[o, i] (already wrapped into [0, depth) or out of
 * range, which leaves the row all off). */
#ifndef EMBER_K_ONEHOT_H
#define EMBER_K_ONEHOT_H
#include <stddef.h>
#include <stdint.h>

void k_onehot(void *dst, const int64_t *idx, int64_t outer, int64_t depth, int64_t inner,
              const void *off, const void *on, size_t es);
#endif
