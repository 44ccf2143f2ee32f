/* Scaled dot-product attention over heads laid out as [B, S, H, D] (the layout of a
 * projection's output before the usual Transpose to [B, H, S, D]): the EmberAttention op
 * the attention pass (engine/passes/attention.c) makes of
 *   Transpose(q) . Transpose(k)^T, Div or Mul by a scalar, Softmax, . Transpose(v),
 *   Transpose back.
 * y[b, i, h, :] = sum_j p_j v[b, j, h, :], p = softmax_j(s_j), s_j = q[b, i, h, :] . k[b, j, h, :]
 * divided by `scale` (divide = 1) or multiplied by it (divide = 0). */
#ifndef EMBER_K_ATTENTION_H
#define EMBER_K_ATTENTION_H
#include <stdint.h>

/* Rows (b, h, i) of this share (ith of nth); `row` is Sk floats of scratch for this call. */
void k_attention_f32(const float *q, const float *k, const float *v, float *y, int64_t B, int64_t Sq, int64_t Sk,
                     int64_t H, int64_t D, int64_t Dv, float scale, int divide, float *row, int ith, int nth);
#endif
