/* Softmax, LogSoftmax and Hardmax along the middle axis of an [outer, n, inner] view.
 * float16/bfloat16 compute in float. Outer rows are split by (ith, nth). */
#ifndef EMBER_K_SOFTMAX_H
#define EMBER_K_SOFTMAX_H
#include <stdint.h>

enum k_softmax_mode { K_SOFTMAX, K_LOGSOFTMAX, K_HARDMAX };

#define K_SOFTMAX_DECL(sfx, T)                                                      \
    void k_softmax_##sfx(int mode, const T *x, T *y, int64_t outer, int64_t n,      \
                         int64_t inner, int ith, int nth);
K_SOFTMAX_DECL(f32, float)
K_SOFTMAX_DECL(f64, double)
K_SOFTMAX_DECL(f16, uint16_t)
K_SOFTMAX_DECL(bf16, uint16_t)
#undef K_SOFTMAX_DECL
#endif
