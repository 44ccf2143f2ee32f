/* Cell math of RNN, GRU and LSTM (one batch row at a time; the matrix products are done
 * with k_sgemm by the caller). Portable C. */
#ifndef EMBER_K_RNN_H
#define EMBER_K_RNN_H
#include <stdint.h>

enum {
    K_ACT_SIGMOID, K_ACT_TANH, K_ACT_RELU, K_ACT_AFFINE, K_ACT_LEAKY_RELU, K_ACT_THRESHOLDED_RELU,
    K_ACT_SCALED_TANH, K_ACT_HARD_SIGMOID, K_ACT_ELU, K_ACT_SOFTSIGN, K_ACT_SOFTPLUS
};

typedef struct k_rnn_act {
    int kind;
    float alpha, beta;
} k_rnn_act;

float k_rnn_act_apply(const k_rnn_act *a, float x);

/* RNN: h = f(clip(g)) for H values of pre-activations g (biases included). clip <= 0: none. */
void k_rnn_cell_f32(const float *g, const k_rnn_act *f, float clip, int64_t H, float *h);
/* LSTM: g holds the 4H pre-activations in ONNX order i, o, f, c (biases and H R^T included);
 * p: peepholes (3H: i, o, f) or NULL; act: f, g, h. Writes h and c from c_prev. */
void k_lstm_cell_f32(const float *g, const float *c_prev, const float *p, const k_rnn_act act[3],
                     float clip, int input_forget, int64_t H, float *h, float *c);
/* GRU, first half: xw (3H: z, r, h input parts with biases) and hr (H R^T of z, r plus their
 * recurrent biases, in place) -> hr[0..2H) = z, r activated. */
void k_gru_zr_f32(const float *xw, float *hr, const k_rnn_act *f, float clip, int64_t H);
/* GRU, second half: hr_h = the recurrent part of the h gate ((r . h_prev) R_h^T + Rb_h, or
 * h_prev R_h^T + Rb_h when linear_before_reset, in which case r multiplies it here). */
void k_gru_h_f32(const float *xw, const float *zr, const float *hr_h, const float *h_prev,
                 const k_rnn_act *g, float clip, int linear_before_reset, int64_t H, float *h);
#endif
