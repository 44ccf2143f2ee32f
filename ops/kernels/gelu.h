/* GELU and SiLU, the activations exporters spell out elementwise.
 * GELU, y = x * Phi(x) (ONNX Gelu, opset 20): exact, 0.5 x (1 + erf(x / sqrt 2)), or the
 * tanh approximation, 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
 * erf, tanh and sigmoid come from fast_math.h (vectorizable, within a few ulp of libm),
 * as in the elementwise kernels. Portable C; elements are split by (ith, nth). */
#ifndef EMBER_K_GELU_H
#define EMBER_K_GELU_H
#include <stdint.h>

/* y may equal x (in place). approximate: 0 exact, 1 tanh. */
void k_gelu_f32(const float *x, float *y, int64_t n, int approximate, int ith, int nth);
/* SiLU (swish), y = x * sigmoid(x) = x / (1 + exp(-x)); y may equal x. */
void k_silu_f32(const float *x, float *y, int64_t n, int ith, int nth);
#endif
