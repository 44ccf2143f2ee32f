#include "softmax.h"

#include <math.h>

#include "elementwise_bcast.h"
#include "half.h"

#define K_ID(v) (v)
#define K_F16_LD(v) ember_half_to_float(v)
#define K_F16_ST(v) ember_float_to_half(v)
#define K_BF16_LD(v) ember_bf16_to_float(v)
#define K_BF16_ST(v) ember_float_to_bf16(v)

/* One lane = n elements `inner` apart. The max is subtracted first so exp never
 * overflows; Hardmax marks the first maximum. */
#define K_DEF_SOFTMAX(sfx, T, CT, LD, ST, EXP, LOG)                                   \
    void k_softmax_##sfx(int mode, const T *x, T *y, int64_t outer, int64_t n,        \
                         int64_t inner, int ith, int nth)                             \
    {                                                                                 \
        int64_t lo, hi;                                                               \
        k_share(outer, ith, nth, &lo, &hi);                                           \
        for (int64_t o = lo; o < hi; o++) {                                           \
            for (int64_t i = 0; i < inner; i++) {                                     \
                const T *xl = x + o * n * inner + i;                                  \
                T *yl = y + o * n * inner + i;                                        \
                CT mx = -INFINITY;                                                    \
                int64_t arg = 0;                                                      \
                for (int64_t k = 0; k < n; k++) {                                     \
                    CT v = LD(xl[k * inner]);                                         \
                    if (v > mx) mx = v, arg = k;                                      \
                }                                                                     \
                if (mode == K_HARDMAX) {                                              \
                    for (int64_t k = 0; k < n; k++) yl[k * inner] = ST((CT)(k == arg));  \
                    continue;                                                         \
                }                                                                     \
                if (isinf(mx)) mx = 0; /* all -inf (or +inf): let the NaNs/zeros show */ \
                CT sum = 0;                                                           \
                if (mode == K_SOFTMAX) {                                              \
                    for (int64_t k = 0; k < n; k++) {                                 \
                        CT e = EXP(LD(xl[k * inner]) - mx);                           \
                        yl[k * inner] = ST(e);                                        \
                        sum += e;                                                     \
                    }                                                                 \
                    for (int64_t k = 0; k < n; k++)                                   \
                        yl[k * inner] = ST(LD(yl[k * inner]) / sum);                  \
                } else {                                                              \
                    for (int64_t k = 0; k < n; k++) sum += EXP(LD(xl[k * inner]) - mx); \
                    CT lse = mx + LOG(sum);                                           \
                    for (int64_t k = 0; k < n; k++)                                   \
                        yl[k * inner] = ST(LD(xl[k * inner]) - lse);                  \
                }                                                                     \
            }                                                                         \
        }                                                                             \
    }

K_DEF_SOFTMAX(f32, float, float, K_ID, K_ID, expf, logf)
K_DEF_SOFTMAX(f64, double, double, K_ID, K_ID, exp, log)
K_DEF_SOFTMAX(f16, uint16_t, float, K_F16_LD, K_F16_ST, expf, logf)
K_DEF_SOFTMAX(bf16, uint16_t, float, K_BF16_LD, K_BF16_ST, expf, logf)
