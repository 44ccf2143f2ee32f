/* EyeLike: zeros with `one` on the diagonal shifted by k. */
#ifndef EMBER_K_EYELIKE_H
#define EMBER_K_EYELIKE_H
#include <stddef.h>
#include <stdint.h>

void k_eyelike(void *dst, int64_t rows, int64_t cols, int64_t k, const void *one, size_t es);
#endif
