#include "loss.h"

#define K_DEF_NLL(sfx, T)                                                             \
    int64_t k_nll_##sfx(const T *logp, const void *target, int target_is_i64,         \
                        const T *weight, int64_t N, int64_t C, int64_t D, int has_ignore, \
                        int64_t ignore_index, int reduction, T *out)                  \
    {                                                                                 \
        double total = 0, wsum = 0;                                                   \
        for (int64_t nn = 0; nn < N; nn++) {                                          \
            for (int64_t d = 0; d < D; d++) {                                         \
                int64_t p = nn * D + d;                                               \
                int64_t t = target_is_i64 ? ((const int64_t *)target)[p]              \
                                          : ((const int32_t *)target)[p];             \
                double loss = 0, w = 0;                                               \
                if (!(has_ignore && t == ignore_index)) {                             \
                    if (t < 0 || t >= C) return p + 1;                                \
                    w = weight ? (double)weight[t] : 1.0;                             \
                    loss = -(double)logp[(nn * C + t) * D + d] * w;                   \
                }                                                                     \
                if (reduction == K_LOSS_NONE) out[p] = (T)loss;                       \
                total += loss;                                                        \
                wsum += w;                                                            \
            }                                                                         \
        }                                                                             \
        if (reduction == K_LOSS_SUM) out[0] = (T)total;                               \
        if (reduction == K_LOSS_MEAN) out[0] = (T)(total / wsum);                     \
        return 0;                                                                     \
    }

K_DEF_NLL(f32, float)
K_DEF_NLL(f64, double)
