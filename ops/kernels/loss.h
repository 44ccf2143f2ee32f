/* NegativeLogLikelihoodLoss over log-probabilities laid out [N, C, D] (D = product of
 * the trailing dims), targets [N, D] (int32 or int64). Targets equal to ignore_index
 * (when has_ignore) contribute 0 loss and 0 weight. reduction: K_LOSS_NONE writes
 * out[N*D]; K_LOSS_SUM / K_LOSS_MEAN write out[0] (mean divides by the summed weights).
 * Returns 0, or 1 + the flat index of the first target outside [0, C). */
#ifndef EMBER_K_LOSS_H
#define EMBER_K_LOSS_H
#include <stdint.h>

enum k_loss_reduction { K_LOSS_NONE, K_LOSS_SUM, K_LOSS_MEAN };

#define K_NLL_DECL(sfx, T)                                                          \
    int64_t k_nll_##sfx(const T *logp, const void *target, int target_is_i64,       \
                        const T *weight, int64_t N, int64_t C, int64_t D, int has_ignore, \
                        int64_t ignore_index, int reduction, T *out);
K_NLL_DECL(f32, float)
K_NLL_DECL(f64, double)
#undef K_NLL_DECL
#endif
