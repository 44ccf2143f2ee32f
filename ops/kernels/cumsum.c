#include "cumsum.h"

#include "elementwise_bcast.h"
#include "half.h"

#define K_ID(v) (v)
#define K_F16_LD(v) ember_half_to_float(v)
#define K_F16_ST(v) ember_float_to_half(v)
#define K_BF16_LD(v) ember_bf16_to_float(v)
#define K_BF16_ST(v) ember_float_to_bf16(v)

/* Walks k forwards or backwards; each step adds the previous x (exclusive) or the
 * current one (inclusive) to the running sum of each inner lane, which lives in y. */
#define K_DEF_CUMSUM(sfx, T, CT, LD, ST, ADD)                                         \
    void k_cumsum_##sfx(const T *x, T *y, int64_t outer, int64_t n, int64_t inner,    \
                        int exclusive, int reverse, int ith, int nth)                 \
    {                                                                                 \
        int64_t lo, hi;                                                               \
        k_share(outer, ith, nth, &lo, &hi);                                           \
        for (int64_t o = lo; o < hi; o++) {                                           \
            const T *xo = x + o * n * inner;                                          \
            T *yo = y + o * n * inner;                                                \
            for (int64_t s = 0; s < n; s++) {                                         \
                int64_t k = reverse ? n - 1 - s : s, prev = reverse ? k + 1 : k - 1;  \
                for (int64_t i = 0; i < inner; i++) {                                 \
                    CT acc = s == 0 ? (CT)0 : LD(yo[prev * inner + i]);               \
                    if (exclusive) {                                                  \
                        if (s > 0) acc = ADD(acc, LD(xo[prev * inner + i]));          \
                    } else {                                                          \
                        acc = ADD(acc, LD(xo[k * inner + i]));                        \
                    }                                                                 \
                    yo[k * inner + i] = ST(acc);                                      \
                }                                                                     \
            }                                                                         \
        }                                                                             \
    }

#define K_FADD(a, b) ((a) + (b))
#define K_WRAP_ADD(a, b) ((uint64_t)(a) + (uint64_t)(b))

K_DEF_CUMSUM(f32, float, float, K_ID, K_ID, K_FADD)
K_DEF_CUMSUM(f64, double, double, K_ID, K_ID, K_FADD)
K_DEF_CUMSUM(f16, uint16_t, float, K_F16_LD, K_F16_ST, K_FADD)
K_DEF_CUMSUM(bf16, uint16_t, float, K_BF16_LD, K_BF16_ST, K_FADD)
K_DEF_CUMSUM(i32, int32_t, int32_t, K_ID, K_ID, (int32_t)K_WRAP_ADD)
K_DEF_CUMSUM(i64, int64_t, int64_t, K_ID, K_ID, (int64_t)K_WRAP_ADD)
K_DEF_CUMSUM(u32, uint32_t, uint32_t, K_ID, K_ID, (uint32_t)K_WRAP_ADD)
K_DEF_CUMSUM(u64, uint64_t, uint64_t, K_ID, K_ID, (uint64_t)K_WRAP_ADD)
