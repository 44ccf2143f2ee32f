/* The fake bundle's code: y = w * x, through the activations arena like a real program.
 * Freestanding (no libc headers, as bundle kernels are), calling memcpy, expf and logf so
 * that nm -u shows the kinds of symbols a real bundle may import. */
#include "fake.h"

int fake(const uint8_t *constant_weights, uint8_t *mutable_weights, uint8_t *activations)
{
    float w[6], x[6], t[6];
    __builtin_memcpy(w, constant_weights, sizeof w);
    __builtin_memcpy(x, mutable_weights + fake_X_OFFSET, sizeof x);
    for (int i = 0; i < 6; i++)
        t[i] = w[i] * __builtin_logf(__builtin_expf(x[i]));
    __builtin_memcpy(activations, t, sizeof t);
    __builtin_memcpy(mutable_weights + fake_Y_OFFSET, activations, sizeof t);
    return 0;
}
