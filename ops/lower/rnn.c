/* Lowering of LSTM (float32): the reference driver's computation (ops/nn_rnn.c) as kernel
 * calls. Per direction: the input projection of every step is one k_sgemm against W read
 * transposed (no transposed copy of the weights), biases pre-copied into it; each step adds
 * H_prev R^T onto its slice and runs k_lstm_cell_f32 row by row, writing the new h and c
 * over the old ones (the cell reads c_prev[j] before writing c[j]; h_prev is consumed by the
 * sgemm before the cell runs), then copies h into Y. Declines sequence_lens (per-row
 * lengths) and non-default layouts of the optional outputs it cannot place. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/rnn.h"
#include "lower.h"

#define F (int64_t)sizeof(float)

static ember_status oom(void) { return ember_error(EMBER_E_NO_MEMORY, "out of memory lowering the program"); }

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

/* Activation name (any case) -> kernel id, with the ONNX defaults of alpha/beta (as ops/nn_rnn.c). */
static int act_kind(const char *s, float *a, float *b)
{
    static const struct { const char *name; int kind; float a, b; } tab[] = {
        {"Sigmoid", K_ACT_SIGMOID, 0, 0}, {"Tanh", K_ACT_TANH, 0, 0}, {"Relu", K_ACT_RELU, 0, 0},
        {"Affine", K_ACT_AFFINE, 1.0f, 0.0f}, {"LeakyRelu", K_ACT_LEAKY_RELU, 0.01f, 0},
        {"ThresholdedRelu", K_ACT_THRESHOLDED_RELU, 1.0f, 0}, {"ScaledTanh", K_ACT_SCALED_TANH, 1.0f, 1.0f},
        {"HardSigmoid", K_ACT_HARD_SIGMOID, 0.2f, 0.5f}, {"Elu", K_ACT_ELU, 1.0f, 0},
        {"Softsign", K_ACT_SOFTSIGN, 0, 0}, {"Softplus", K_ACT_SOFTPLUS, 0, 0}};
    for (size_t t = 0; t < sizeof tab / sizeof tab[0]; t++)
        if (ieq(s, tab[t].name)) {
            *a = tab[t].a;
            *b = tab[t].b;
            return tab[t].kind;
        }
    return -1;
}

/* Fills act[0 .. 3*dirs) like the reference; only names and the default alpha/beta (an
 * explicit activation_alpha/beta list is declined, as is an unknown name). */
static ember_status lstm_acts(const ember_op_ctx *c, int dirs, k_rnn_act *act)
{
    if (ember_node_attr(c->node, "activation_alpha") || ember_node_attr(c->node, "activation_beta"))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "activation_alpha/beta are not lowered");
    const ember_attr *names = ember_node_attr(c->node, "activations");
    static const int dflt[3] = {K_ACT_SIGMOID, K_ACT_TANH, K_ACT_TANH};
    for (int k = 0; k < 3 * dirs; k++) {
        memset(&act[k], 0, sizeof act[k]);
        act[k].kind = dflt[k % 3];
        if (!names) continue;
        if (names->type != EMBER_ATTR_STRINGS || names->n < 1)
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "activations not lowered");
        int kind = act_kind(names->strings[k % names->n], &act[k].alpha, &act[k].beta);
        if (kind < 0) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "activation '%s' is not lowered", names->strings[k % names->n]);
        act[k].kind = kind;
    }
    return EMBER_OK;
}

ember_status ember_lower_lstm(ember_lowered *L, const ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *w = c->in[1], *r = c->in[2];
    for (int i = 0; i < c->n_in; i++)
        if (c->in[i] && i != 4 && c->in[i]->dtype != EMBER_DT_FLOAT)
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input %d is not float32", i);
    if (ember_op_in(c, 4)) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "sequence_lens is not lowered");
    if (x->rank != 3 || w->rank != 3 || r->rank != 3) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "ranks");
    const char *dir = ember_attr_string(c->node, "direction", "forward");
    int dirs = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
    int layout = c->opset >= 14 ? (int)ember_attr_int(c->node, "layout", 0) : 0;
    int64_t S = x->dims[layout ? 1 : 0], B = x->dims[layout ? 0 : 1], I = x->dims[2], H = r->dims[2];
    int64_t GH = 4 * H;
    if (w->dims[0] != dirs || w->dims[1] != GH || w->dims[2] != I || r->dims[1] != GH)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "W/R shapes");
    float clip = ember_attr_float(c->node, "clip", 0.0f);
    int input_forget = ember_attr_int(c->node, "input_forget", 0) != 0;
    k_rnn_act act[6];
    TRY(lstm_acts(c, dirs, act));
    const ember_op_tensor *bt = ember_op_in(c, 3), *h0 = ember_op_in(c, 5), *c0 = ember_op_in(c, 6);
    const ember_op_tensor *pt = ember_op_in(c, 7);
    int has_y = c->n_out > 0 && c->out[0], has_yh = c->n_out > 1 && c->out[1], has_yc = c->n_out > 2 && c->out[2];
    if (S <= 0 || B <= 0 || H <= 0) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "empty sequence");
    /* Scratch: xw [S*B, GH], hs [B, H], cs [B, H]. */
    int64_t o_xw = 0, o_hs = S * B * GH * F, o_cs = o_hs + B * H * F;
    size_t need = (size_t)(o_cs + B * H * F);
    if (need > L->scratch) return ember_op_fail(c, EMBER_E_INTERNAL, "scratch too small");
    L->scratch = need;
    float zero = 0.0f;
    int bz = ember_lower_blob(L, &zero, sizeof zero);
    if (bz < 0) return oom();
    for (int d = 0; d < dirs; d++) {
        int reverse = d == 1 || strcmp(dir, "reverse") == 0;
        int ba = ember_lower_blob(L, &act[3 * d], 3 * sizeof act[0]);
        if (ba < 0) return oom();
        /* xw = bias (Wb + Rb, as the reference adds them) broadcast over rows, then
         * xw += X W_d^T. */
        double beta = 0.0;
        if (bt) {
            if (!bt->data) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "B is not a constant");
            const float *bias = (const float *)bt->data + d * 2 * GH;
            float *sum = malloc(sizeof(float) * (size_t)GH);
            if (!sum) return oom();
            for (int64_t j = 0; j < GH; j++) sum[j] = bias[j] + bias[GH + j];
            int bb = ember_lower_blob(L, sum, sizeof(float) * (size_t)GH);
            free(sum);
            if (bb < 0) return oom();
            int64_t dims[2] = {S * B, GH}, ss[2] = {0, 1}, ds[2] = {GH, 1};
            TRY(ember_lower_copy_strided(L, ember_larg_blob(bb), ember_larg_scratch(o_xw), 2, dims, ss, ds,
                                         sizeof(float)));
            beta = 1.0;
        }
        /* X rows: layout 0 is [S, B, I] (row t*B+b), layout 1 is [B, S, I] (row b*S+t). */
        TRY(EMBER_LCALL(L, "k_sgemm", LI(0), LI(1), LI(S * B), LI(GH), LI(I), LF(1.0), LIN(c, 0, 0), LI(I),
                        LIN(c, 1, d * GH * I * F), LI(I), LF(beta), ember_larg_scratch(o_xw), LI(GH), LI(0),
                        LI(1)));
        /* Initial state (zeros when absent). */
        for (int64_t b = 0; b < B; b++) {
            int64_t o = layout ? (b * dirs + d) * H : (d * B + b) * H, one = 1, zs = 0, n = H;
            TRY(ember_lower_copy_strided(L, h0 ? LIN(c, 5, o * F) : ember_larg_blob(bz),
                                         ember_larg_scratch(o_hs + b * H * F), 1, &n, h0 ? &one : &zs, &one,
                                         sizeof(float)));
            TRY(ember_lower_copy_strided(L, c0 ? LIN(c, 6, o * F) : ember_larg_blob(bz),
                                         ember_larg_scratch(o_cs + b * H * F), 1, &n, c0 ? &one : &zs, &one,
                                         sizeof(float)));
        }
        for (int64_t s = 0; s < S; s++) {
            int64_t t = reverse ? S - 1 - s : s;
            for (int64_t b = 0; b < B; b++) {
                int64_t row = layout ? b * S + t : t * B + b;
                /* gates(row) += h_prev R_d^T */
                TRY(EMBER_LCALL(L, "k_sgemm", LI(0), LI(1), LI(1), LI(GH), LI(H), LF(1.0),
                                ember_larg_scratch(o_hs + b * H * F), LI(H), LIN(c, 2, d * GH * H * F), LI(H),
                                LF(1.0), ember_larg_scratch(o_xw + row * GH * F), LI(GH), LI(0), LI(1)));
                TRY(EMBER_LCALL(L, "k_lstm_cell_f32", ember_larg_scratch(o_xw + row * GH * F),
                                ember_larg_scratch(o_cs + b * H * F), pt ? LIN(c, 7, d * 3 * H * F) : LNULL,
                                ember_larg_blob(ba), LF(clip), LI(input_forget), LI(H),
                                ember_larg_scratch(o_hs + b * H * F), ember_larg_scratch(o_cs + b * H * F)));
                if (has_y) {
                    int64_t o = layout ? ((b * S + t) * dirs + d) * H : ((t * dirs + d) * B + b) * H, one = 1,
                            n = H;
                    TRY(ember_lower_copy_strided(L, ember_larg_scratch(o_hs + b * H * F), LOUT(c, 0, o * F), 1, &n,
                                                 &one, &one, sizeof(float)));
                }
            }
        }
        for (int64_t b = 0; b < B; b++) {
            int64_t o = layout ? (b * dirs + d) * H : (d * B + b) * H, one = 1, n = H;
            if (has_yh)
                TRY(ember_lower_copy_strided(L, ember_larg_scratch(o_hs + b * H * F), LOUT(c, 1, o * F), 1, &n, &one,
                                             &one, sizeof(float)));
            if (has_yc)
                TRY(ember_lower_copy_strided(L, ember_larg_scratch(o_cs + b * H * F), LOUT(c, 2, o * F), 1, &n, &one,
                                             &one, sizeof(float)));
        }
    }
    return EMBER_OK;
}
