/* Activations fused into the op before them (Conv, Gemm, MatMul): applied in place over
 * that op's output once it is computed. The math is the elementwise kernels' own
 * (unary.c), so a fused graph gives bit-identical results to the unfused one.
 * Portable C; elements are split by (ith, nth). */
#ifndef EMBER_K_ACTIVATION_H
#define EMBER_K_ACTIVATION_H
#include <stdint.h>

enum k_act {
    K_ACT_NONE,
    K_ACT_RELU,
    K_ACT_CLIP,        /* a = min, b = max (+-INFINITY when absent) */
    K_ACT_SIGMOID,
    K_ACT_LEAKYRELU,   /* a = alpha */
    K_ACT_HARDSIGMOID, /* a = alpha, b = beta */
    K_ACT_TANH,
    K_ACT_GELU,        /* exact (erf); the fusion pass names it "Gelu" */
    K_ACT_GELU_TANH,   /* Gelu with approximate = "tanh"; named "GeluTanh" */
    K_ACT_SILU,        /* x * sigmoid(x); named "SiLU" */
    K_ACT_COUNT
};

/* The kind for an ONNX op name ("Relu", "Clip", ...), or -1 when it is not one. */
int k_act_kind(const char *onnx_op);

/* y[i] = act(y[i]) for i in this share of [0, n). K_ACT_NONE does nothing. */
void k_activation_f32(float *y, int64_t n, int kind, float a, float b, int ith, int nth);
#endif
