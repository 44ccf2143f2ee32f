/* Linear (de)quantization and requantization. Tensors are viewed as [outer, C, inner] with
 * per-channel parameters indexed by C (C = 1 for per-tensor); the outer * C rows are split
 * between threads. Rounding is half to even,
 * results saturate to [qmin, qmax]. Portable C. */
#ifndef EMBER_K_QUANT_H
#define EMBER_K_QUANT_H
#include <stdint.h>

/* q = saturate(round(x / scale[c]) + zp[c]) written as int32 (the caller narrows). */
void k_quantize_f32(const float *x, int64_t outer, int64_t C, int64_t inner, const float *scale,
                    const int32_t *zp, int32_t qmin, int32_t qmax, int32_t *q, int ith, int nth);
/* y = (q - zp[c]) * scale[c]. */
void k_dequantize_f32(const int32_t *q, int64_t outer, int64_t C, int64_t inner,
                      const float *scale, const int32_t *zp, float *y, int ith, int nth);
/* q = saturate(round(acc * mult[c]) + zp) for an accumulator of [outer, C, inner]. */
void k_requantize_i32(const int32_t *acc, int64_t outer, int64_t C, int64_t inner,
                      const float *mult, int32_t zp, int32_t qmin, int32_t qmax, int32_t *q, int ith, int nth);
/* Round half to even. */
float k_round_even(float x);
#endif
