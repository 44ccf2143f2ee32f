#include "activation.h"

#include <string.h>

#include "gelu.h"
#include "gemm.h"
#include "unary.h"

int k_act_kind(const char *onnx_op)
{
    static const char *const names[K_ACT_COUNT] = {
        [K_ACT_RELU] = "Relu",           [K_ACT_CLIP] = "Clip",
        [K_ACT_SIGMOID] = "Sigmoid",     [K_ACT_LEAKYRELU] = "LeakyRelu",
        [K_ACT_HARDSIGMOID] = "HardSigmoid", [K_ACT_TANH] = "Tanh",
        [K_ACT_GELU] = "Gelu",           [K_ACT_GELU_TANH] = "GeluTanh",
        [K_ACT_SILU] = "SiLU",
    };
    if (!onnx_op) return -1;
    for (int k = K_ACT_NONE + 1; k < K_ACT_COUNT; k++)
        if (strcmp(onnx_op, names[k]) == 0) return k;
    return -1;
}

void k_activation_f32(float *y, int64_t n, int kind, float a, float b, int ith, int nth)
{
    int64_t lo, hi;
    k_share(n, ith, nth, &lo, &hi);
    float *p = y + lo;
    int64_t m = hi - lo;
    switch (kind) {
    case K_ACT_RELU: k_unary_f32(K_RELU, p, p, m, 0, 0, 0, 1); break;
    case K_ACT_CLIP: k_clip_f32(p, p, m, &a, &b, 0, 1); break;
    case K_ACT_SIGMOID: k_unary_f32(K_SIGMOID, p, p, m, 0, 0, 0, 1); break;
    case K_ACT_LEAKYRELU: k_unary_f32(K_LEAKYRELU, p, p, m, a, 0, 0, 1); break;
    case K_ACT_HARDSIGMOID: k_unary_f32(K_HARDSIGMOID, p, p, m, a, b, 0, 1); break;
    case K_ACT_TANH: k_unary_f32(K_TANH, p, p, m, 0, 0, 0, 1); break;
    case K_ACT_GELU: k_gelu_f32(p, p, m, 0, 0, 1); break;
    case K_ACT_GELU_TANH: k_gelu_f32(p, p, m, 1, 0, 1); break;
    case K_ACT_SILU: k_silu_f32(p, p, m, 0, 1); break;
    default: break;
    }
}
