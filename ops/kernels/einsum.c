#include "einsum.h"

/* Odometer over all labels, innermost label fastest; operand offsets follow by
 * increments, and a full turn of the summed labels carries into the output labels, so
 * output element o is finished after each n_sum steps. Integers accumulate in uint64_t
 * (wrapping, never undefined). */
#define K_DEF_EINSUM(sfx, T, AT)                                                      \
    void k_einsum_##sfx(const k_einsum *e, const T *const *in, T *out)                \
    {                                                                                 \
        int64_t n_out = 1, n_sum = 1;                                                 \
        for (int l = 0; l < e->n_labels; l++) {                                       \
            if (l < e->n_out) n_out *= e->dims[l];                                    \
            else n_sum *= e->dims[l];                                                 \
        }                                                                             \
        if (n_out == 0) return;                                                       \
        if (n_sum == 0) {                                                             \
            for (int64_t o = 0; o < n_out; o++) out[o] = 0;                           \
            return;                                                                   \
        }                                                                             \
        int64_t idx[K_EINSUM_MAX_LABELS] = {0}, off[K_EINSUM_MAX_IN] = {0};           \
        for (int64_t o = 0; o < n_out; o++) {                                         \
            AT acc = 0;                                                               \
            for (int64_t s = 0; s < n_sum; s++) {                                     \
                AT p = 1;                                                             \
                for (int k = 0; k < e->n_in; k++) p *= (AT)in[k][off[k]];             \
                acc += p;                                                             \
                for (int l = e->n_labels - 1; l >= 0; l--) {                          \
                    for (int k = 0; k < e->n_in; k++) off[k] += e->st[k][l];          \
                    if (++idx[l] < e->dims[l]) break;                                 \
                    for (int k = 0; k < e->n_in; k++) off[k] -= e->st[k][l] * e->dims[l]; \
                    idx[l] = 0;                                                       \
                }                                                                     \
            }                                                                         \
            out[o] = (T)acc;                                                          \
        }                                                                             \
    }

K_DEF_EINSUM(f32, float, double)
K_DEF_EINSUM(f64, double, double)
K_DEF_EINSUM(i32, int32_t, uint64_t)
K_DEF_EINSUM(i64, int64_t, uint64_t)
