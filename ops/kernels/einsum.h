/* Einsum as one walk over the label space: every distinct label is a loop, output labels
 * outermost (in output order), summed labels inside. Each operand steps by its own
 * stride per label (0 when it lacks the label; a repeated label in one term has the
 * strides added, which walks the diagonal). The output is contiguous over its labels. */
#ifndef EMBER_K_EINSUM_H
#define EMBER_K_EINSUM_H
#include <stdint.h>

#define K_EINSUM_MAX_IN 8
#define K_EINSUM_MAX_LABELS 32

typedef struct k_einsum {
    int n_in, n_labels, n_out; /* labels [0, n_out) are the output's, in its order */
    int64_t dims[K_EINSUM_MAX_LABELS];
    int64_t st[K_EINSUM_MAX_IN][K_EINSUM_MAX_LABELS];
} k_einsum;

void k_einsum_f32(const k_einsum *e, const float *const *in, float *out);
void k_einsum_f64(const k_einsum *e, const double *const *in, double *out);
void k_einsum_i32(const k_einsum *e, const int32_t *const *in, int32_t *out);
void k_einsum_i64(const k_einsum *e, const int64_t *const *in, int64_t *out);
#endif
