/* CumSum over an [outer, n, inner] view: y[o, k, i] = sum of x[o, j, i] for j <= k
 * (j < k when exclusive; j >= k / j > k when reverse). Integers wrap, float16/bfloat16
 * accumulate in float. Outer rows are split by (ith, nth). */
#ifndef EMBER_K_CUMSUM_H
#define EMBER_K_CUMSUM_H
#include <stdint.h>

#define K_CUMSUM_DECL(sfx, T)                                                       \
    void k_cumsum_##sfx(const T *x, T *y, int64_t outer, int64_t n, int64_t inner,  \
                        int exclusive, int reverse, int ith, int nth);
K_CUMSUM_DECL(f32, float)
K_CUMSUM_DECL(f64, double)
K_CUMSUM_DECL(f16, uint16_t)
K_CUMSUM_DECL(bf16, uint16_t)
K_CUMSUM_DECL(i32, int32_t)
K_CUMSUM_DECL(i64, int64_t)
K_CUMSUM_DECL(u32, uint32_t)
K_CUMSUM_DECL(u64, uint64_t)
#undef K_CUMSUM_DECL
#endif
