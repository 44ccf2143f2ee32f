#include "rnn.h"

#include <math.h>

float k_rnn_act_apply(const k_rnn_act *a, float x)
{
    switch (a->kind) {
    case K_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case K_ACT_TANH: return tanhf(x);
    case K_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case K_ACT_AFFINE: return a->alpha * x + a->beta;
    case K_ACT_LEAKY_RELU: return x >= 0.0f ? x : a->alpha * x;
    case K_ACT_THRESHOLDED_RELU: return x > a->alpha ? x : 0.0f;
    case K_ACT_SCALED_TANH: return a->alpha * tanhf(a->beta * x);
    case K_ACT_HARD_SIGMOID: {
        float v = a->alpha * x + a->beta;
        return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    case K_ACT_ELU: return x >= 0.0f ? x : a->alpha * (expf(x) - 1.0f);
    case K_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case K_ACT_SOFTPLUS: return logf(1.0f + expf(x));
    default: return x;
    }
}

static float clipf(float x, float clip)
{
    if (clip <= 0.0f) return x;
    return x < -clip ? -clip : x > clip ? clip : x;
}

void k_rnn_cell_f32(const float *g, const k_rnn_act *f, float clip, int64_t H, float *h)
{
    for (int64_t j = 0; j < H; j++) h[j] = k_rnn_act_apply(f, clipf(g[j], clip));
}

void k_lstm_cell_f32(const float *g, const float *c_prev, const float *p, const k_rnn_act act[3],
                     float clip, int input_forget, int64_t H, float *h, float *c)
{
    const float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
    for (int64_t j = 0; j < H; j++) {
        float vi = gi[j] + (p ? p[j] * c_prev[j] : 0.0f);
        float vf = gf[j] + (p ? p[2 * H + j] * c_prev[j] : 0.0f);
        float it = k_rnn_act_apply(&act[0], clipf(vi, clip));
        float ft = input_forget ? 1.0f - it : k_rnn_act_apply(&act[0], clipf(vf, clip));
        float ct = k_rnn_act_apply(&act[1], clipf(gc[j], clip));
        float cn = ft * c_prev[j] + it * ct;
        float vo = go[j] + (p ? p[H + j] * cn : 0.0f);
        float ot = k_rnn_act_apply(&act[0], clipf(vo, clip));
        c[j] = cn;
        h[j] = ot * k_rnn_act_apply(&act[2], cn);
    }
}

void k_gru_zr_f32(const float *xw, float *hr, const k_rnn_act *f, float clip, int64_t H)
{
    for (int64_t j = 0; j < 2 * H; j++) hr[j] = k_rnn_act_apply(f, clipf(xw[j] + hr[j], clip));
}

void k_gru_h_f32(const float *xw, const float *zr, const float *hr_h, const float *h_prev,
                 const k_rnn_act *g, float clip, int linear_before_reset, int64_t H, float *h)
{
    const float *z = zr, *r = zr + H, *xh = xw + 2 * H;
    for (int64_t j = 0; j < H; j++) {
        float rec = linear_before_reset ? r[j] * hr_h[j] : hr_h[j];
        float hh = k_rnn_act_apply(g, clipf(xh[j] + rec, clip));
        h[j] = (1.0f - z[j]) * hh + z[j] * h_prev[j];
    }
}
