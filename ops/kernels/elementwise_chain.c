#include "elementwise_chain.h"

#include <math.h>

#include "fast_math.h"
#include "gemm.h"

#define BLOCK 256

/* The fast_math.h forms, as the elementwise kernels (k_unary_f32) use them. */
float k_ewc_exp_f32(float x)
{
    float r = k_fexp(x);
    return x < K_FEXP_LO || x > K_FEXP_HI ? expf(x) : r;
}
float k_ewc_tanh_f32(float x) { return k_ftanh(x); }
float k_ewc_sigmoid_f32(float x) { return k_fsigmoid(x); }
float k_ewc_erf_f32(float x) { return k_ferf(x); }

void k_elementwise_chain_f32(const float *x0, const float *x1, const float *x2, const float *x3, float *y,
                             int64_t n, const int64_t *prog, int n_steps, const float *consts, int ith, int nth)
{
    const float *ins[K_EWC_MAX_INPUTS] = {x0, x1, x2, x3};
    int64_t lo, hi;
    k_share(n, ith, nth, &lo, &hi);
    float r[BLOCK];
    for (int64_t b0 = lo; b0 < hi; b0 += BLOCK) {
        int m = (int)(hi - b0 < BLOCK ? hi - b0 : BLOCK);
        const float *x = ins[0] + b0;
        for (int i = 0; i < m; i++) r[i] = x[i];
        for (int s = 0; s < n_steps; s++) {
            int op = (int)prog[3 * s], kind = (int)prog[3 * s + 1];
            int64_t arg = prog[3 * s + 2];
            if (op < K_EWC_BINARY_END) {
                /* Constants broadcast through a zero stride. */
                const float *o = kind == K_EWC_TENSOR ? ins[arg] + b0 : consts + arg;
                int64_t st = kind == K_EWC_TENSOR ? 1 : 0;
                switch (op) {
                case K_EWC_ADD: for (int i = 0; i < m; i++) r[i] = r[i] + o[i * st]; break;
                case K_EWC_SUB: for (int i = 0; i < m; i++) r[i] = r[i] - o[i * st]; break;
                case K_EWC_RSUB: for (int i = 0; i < m; i++) r[i] = o[i * st] - r[i]; break;
                case K_EWC_MUL: for (int i = 0; i < m; i++) r[i] = r[i] * o[i * st]; break;
                case K_EWC_DIV: for (int i = 0; i < m; i++) r[i] = r[i] / o[i * st]; break;
                case K_EWC_RDIV: for (int i = 0; i < m; i++) r[i] = o[i * st] / r[i]; break;
                case K_EWC_MAX: for (int i = 0; i < m; i++) r[i] = fmaxf(r[i], o[i * st]); break;
                case K_EWC_MIN: for (int i = 0; i < m; i++) r[i] = fminf(r[i], o[i * st]); break;
                default: break;
                }
                continue;
            }
            switch (op) {
            case K_EWC_RELU: for (int i = 0; i < m; i++) r[i] = r[i] > 0.0f ? r[i] : 0.0f; break;
            case K_EWC_NEG: for (int i = 0; i < m; i++) r[i] = -r[i]; break;
            case K_EWC_ABS: for (int i = 0; i < m; i++) r[i] = fabsf(r[i]); break;
            case K_EWC_SQRT: for (int i = 0; i < m; i++) r[i] = sqrtf(r[i]); break;
            case K_EWC_EXP: for (int i = 0; i < m; i++) r[i] = k_ewc_exp_f32(r[i]); break;
            case K_EWC_TANH: for (int i = 0; i < m; i++) r[i] = k_ewc_tanh_f32(r[i]); break;
            case K_EWC_ERF: for (int i = 0; i < m; i++) r[i] = k_ewc_erf_f32(r[i]); break;
            case K_EWC_SIGMOID: for (int i = 0; i < m; i++) r[i] = k_ewc_sigmoid_f32(r[i]); break;
            case K_EWC_CLIP: {
                float a = consts[arg], b = consts[arg + 1];
                for (int i = 0; i < m; i++) {
                    float v = r[i] < a ? a : r[i];
                    r[i] = v > b ? b : v;
                }
                break;
            }
            default: break;
            }
        }
        float *yo = y + b0;
        for (int i = 0; i < m; i++) yo[i] = r[i];
    }
}
