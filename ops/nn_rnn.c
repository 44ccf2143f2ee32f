/* RNN, GRU and LSTM (float32): one driver for the three. Per direction the input
 * projection of every time step is one gemm against a transposed copy of W; each step then
 * adds H_prev R^T (gemm) and applies the cell kernel row by row, so sequence_lens and the
 * reverse direction only change which rows are read and written. */
#include <ctype.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/rnn.h"
#include "nn_common.h"
#include "op_decls.h"

enum { RNN_PLAIN, RNN_GRU, RNN_LSTM };

typedef struct rnn_plan {
    int kind, G, dirs, layout, nact;
    int64_t seq, B, I, H;
    k_rnn_act act[6];
    float clip;
} rnn_plan;

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

/* Activation names with their alpha/beta defaults; alpha/beta lists are consumed in order
 * by the functions that take them. */
static ember_status read_acts(const ember_op_ctx *c, rnn_plan *p)
{
    static const int dflt[3][3] = {{K_ACT_TANH}, {K_ACT_SIGMOID, K_ACT_TANH},
                                   {K_ACT_SIGMOID, K_ACT_TANH, K_ACT_TANH}};
    int per = p->kind == RNN_PLAIN ? 1 : p->kind == RNN_GRU ? 2 : 3;
    p->nact = per * p->dirs;
    const ember_attr *names = ember_node_attr(c->node, "activations");
    const float *al = NULL, *be = NULL;
    int nal = ember_attr_floats(c->node, "activation_alpha", &al);
    int nbe = ember_attr_floats(c->node, "activation_beta", &be);
    int ia = 0, ib = 0;
    if (names && names->n != p->nact && !(names->n == per && p->dirs == 2))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "activations lists %d functions, expected %d",
                             names->n, p->nact);
    for (int k = 0; k < p->nact; k++) {
        k_rnn_act *a = &p->act[k];
        a->kind = dflt[p->kind][k % per];
        a->alpha = a->beta = 0.0f;
        if (!names) continue;
        const char *s = names->strings[k % names->n];
        static const struct { const char *name; int kind, na, nb; float a, b; } tab[] = {
            {"Sigmoid", K_ACT_SIGMOID, 0, 0, 0, 0}, {"Tanh", K_ACT_TANH, 0, 0, 0, 0},
            {"Relu", K_ACT_RELU, 0, 0, 0, 0}, {"Affine", K_ACT_AFFINE, 1, 1, 1.0f, 0.0f},
            {"LeakyRelu", K_ACT_LEAKY_RELU, 1, 0, 0.01f, 0}, {"ThresholdedRelu", K_ACT_THRESHOLDED_RELU, 1, 0, 1.0f, 0},
            {"ScaledTanh", K_ACT_SCALED_TANH, 1, 1, 1.0f, 1.0f}, {"HardSigmoid", K_ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
            {"Elu", K_ACT_ELU, 1, 0, 1.0f, 0}, {"Softsign", K_ACT_SOFTSIGN, 0, 0, 0, 0},
            {"Softplus", K_ACT_SOFTPLUS, 0, 0, 0, 0}};
        int found = 0;
        for (size_t t = 0; t < sizeof tab / sizeof tab[0]; t++)
            if (ieq(s, tab[t].name)) {
                a->kind = tab[t].kind;
                a->alpha = tab[t].na && al && ia < nal ? al[ia++] : tab[t].a;
                a->beta = tab[t].nb && be && ib < nbe ? be[ib++] : tab[t].b;
                found = 1;
            }
        if (!found) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "activation '%s' is not supported", s);
    }
    return EMBER_OK;
}

/* Expected shape check: input i (if present and its shape known) must be rank n with the
 * given dims (-1 = any). */
static ember_status need_shape(const ember_op_ctx *c, int i, const char *what, int n, const int64_t *d)
{
    const ember_op_tensor *t = ember_op_in(c, i);
    if (!t || t->rank < 0) return EMBER_OK;
    if (t->rank != n) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%s has rank %d, expected %d", what, t->rank, n);
    for (int k = 0; k < n; k++)
        if (d[k] >= 0 && t->dims[k] >= 0 && t->dims[k] != d[k])
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "%s dim %d is %lld, expected %lld", what, k,
                                 (long long)t->dims[k], (long long)d[k]);
    if (i != 4) TRY(nn_need_f32(c, t, what)); /* input 4 is the int32 sequence_lens */
    return EMBER_OK;
}

static ember_status rnn_plan_build(ember_op_ctx *c, rnn_plan *p, int kind)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->G = kind == RNN_PLAIN ? 1 : kind == RNN_GRU ? 3 : 4;
    const ember_op_tensor *x = ember_op_in(c, 0), *w = ember_op_in(c, 1), *r = ember_op_in(c, 2);
    if (!x || !w || !r) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs X, W and R");
    TRY(nn_need_f32(c, x, "X"));
    const char *dir = ember_attr_string(c->node, "direction", "forward");
    if (strcmp(dir, "bidirectional") == 0) p->dirs = 2;
    else if (strcmp(dir, "forward") == 0 || strcmp(dir, "reverse") == 0) p->dirs = 1;
    else return ember_op_fail(c, EMBER_E_INVALID_MODEL, "unknown direction '%s'", dir);
    p->layout = c->opset >= 14 ? (int)ember_attr_int(c->node, "layout", 0) : 0;
    if (p->layout != 0 && p->layout != 1)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "layout must be 0 or 1");
    p->clip = ember_attr_float(c->node, "clip", 0.0f);
    if (ember_node_attr(c->node, "clip") && p->clip <= 0.0f)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "clip must be positive");
    TRY(read_acts(c, p));
    p->H = ember_attr_int(c->node, "hidden_size", -1);
    if (p->H < 0 && r->rank == 3) p->H = r->dims[2];
    if (x->rank >= 0 && x->rank != 3) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "X must have rank 3");
    p->seq = x->rank == 3 ? x->dims[p->layout ? 1 : 0] : -1;
    p->B = x->rank == 3 ? x->dims[p->layout ? 0 : 1] : -1;
    p->I = x->rank == 3 ? x->dims[2] : -1;
    int64_t GH = p->H >= 0 ? p->G * p->H : -1;
    int64_t dw[3] = {p->dirs, GH, p->I}, dr[3] = {p->dirs, GH, p->H}, db[2] = {p->dirs, 2 * GH};
    int64_t dl[1] = {p->B}, dp[2] = {p->dirs, 3 * p->H};
    int64_t dh[3] = {p->dirs, p->B, p->H};
    if (p->layout) dh[0] = p->B, dh[1] = p->dirs;
    TRY(need_shape(c, 1, "W", 3, dw));
    TRY(need_shape(c, 2, "R", 3, dr));
    TRY(need_shape(c, 3, "B", 2, db));
    TRY(need_shape(c, 4, "sequence_lens", 1, dl));
    TRY(need_shape(c, 5, "initial_h", 3, dh));
    if (kind == RNN_LSTM) {
        TRY(need_shape(c, 6, "initial_c", 3, dh));
        TRY(need_shape(c, 7, "P", 2, dp));
    }
    const ember_op_tensor *sl = ember_op_in(c, 4);
    if (sl && sl->dtype != EMBER_DT_INT32)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "sequence_lens must be int32");
    return EMBER_OK;
}

static ember_status rnn_infer(ember_op_ctx *c, int kind)
{
    rnn_plan p;
    TRY(rnn_plan_build(c, &p, kind));
    int64_t y[4] = {p.seq, p.dirs, p.B, p.H}, yh[3] = {p.dirs, p.B, p.H};
    if (p.layout) {
        y[0] = p.B, y[1] = p.seq, y[2] = p.dirs;
        yh[0] = p.B, yh[1] = p.dirs;
    }
    ember_op_set_out(c, 0, EMBER_DT_FLOAT, 4, y);
    ember_op_set_out(c, 1, EMBER_DT_FLOAT, 3, yh);
    if (kind == RNN_LSTM) ember_op_set_out(c, 2, EMBER_DT_FLOAT, 3, yh);
    if (p.seq >= 0 && p.B >= 0 && p.I >= 0 && p.H >= 0) {
        int64_t GH = p.G * p.H;
        int64_t floats = p.I * GH + p.H * GH + p.seq * p.B * GH + 2 * p.B * GH + 6 * p.B * p.H;
        c->scratch_bytes = (size_t)floats * sizeof(float);
    }
    return EMBER_OK;
}

/* Writes matrix m [rows, cols] transposed into t [cols, rows]. */
static void transpose(const float *m, int64_t rows, int64_t cols, float *t)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
}

static ember_status rnn_run(ember_op_ctx *c, int kind)
{
    rnn_plan p;
    TRY(rnn_plan_build(c, &p, kind));
    int64_t S = p.seq, B = p.B, I = p.I, H = p.H, G = p.G, GH = G * H;
    const float *x = c->in[0]->data, *w = c->in[1]->data, *r = c->in[2]->data;
    const ember_op_tensor *bt = ember_op_in(c, 3), *slt = ember_op_in(c, 4), *h0t = ember_op_in(c, 5);
    const ember_op_tensor *c0t = kind == RNN_LSTM ? ember_op_in(c, 6) : NULL;
    const ember_op_tensor *pt = kind == RNN_LSTM ? ember_op_in(c, 7) : NULL;
    const int32_t *lens = slt ? slt->data : NULL;
    for (int64_t b = 0; b < B && lens; b++)
        if (lens[b] < 0 || lens[b] > S)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "sequence_lens[%lld] = %d is outside [0, %lld]",
                                 (long long)b, lens[b], (long long)S);
    float *wt = c->scratch, *rt = wt + I * GH, *xw = rt + H * GH, *gates = xw + S * B * GH;
    float *hr = gates + B * GH, *hs = hr + B * GH, *cs = hs + B * H, *hn = cs + B * H;
    float *cn = hn + B * H, *rh = cn + B * H, *hrh = rh + B * H;
    float *y = c->n_out > 0 && c->out[0] ? c->out[0]->data : NULL;
    float *yh = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    float *yc = c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL;
    if (y) memset(y, 0, c->out[0]->nbytes);
    const char *dirname = ember_attr_string(c->node, "direction", "forward");
    int lbr = ember_attr_int(c->node, "linear_before_reset", 0) != 0;
    int input_forget = ember_attr_int(c->node, "input_forget", 0) != 0;
    int per = p.nact / p.dirs;
    for (int d = 0; d < p.dirs; d++) {
        int reverse = d == 1 || strcmp(dirname, "reverse") == 0;
        const float *bias = bt ? (const float *)bt->data + d * 2 * GH : NULL;
        transpose(w + d * GH * I, GH, I, wt);
        transpose(r + d * GH * H, GH, H, rt);
        /* xw = X W^T + Wb (+ Rb, except GRU's h gate whose Rb sits inside the reset product) */
        k_sgemm(0, 0, S * B, GH, I, 1.0f, x, I, wt, GH, 0.0f, xw, GH, 0, 1);
        if (bias)
            for (int64_t row = 0; row < S * B; row++)
                for (int64_t j = 0; j < GH; j++)
                    xw[row * GH + j] += bias[j] + (kind == RNN_GRU && j >= 2 * H ? 0.0f : bias[GH + j]);
        for (int64_t b = 0; b < B; b++) {
            int64_t o = p.layout ? (b * p.dirs + d) * H : (d * B + b) * H;
            for (int64_t j = 0; j < H; j++) {
                hs[b * H + j] = h0t ? ((const float *)h0t->data)[o + j] : 0.0f;
                cs[b * H + j] = c0t ? ((const float *)c0t->data)[o + j] : 0.0f;
            }
        }
        const float *peep = pt ? (const float *)pt->data + d * 3 * H : NULL;
        const k_rnn_act *act = &p.act[d * per];
        for (int64_t s = 0; s < S; s++) {
            /* Gather each row's time step (reverse runs backwards within its length). */
            for (int64_t b = 0; b < B; b++) {
                int64_t len = lens ? lens[b] : S, t = reverse ? len - 1 - s : s;
                if (s >= len) t = 0;
                int64_t row = p.layout ? b * S + t : t * B + b;
                memcpy(gates + b * GH, xw + row * GH, sizeof(float) * (size_t)GH);
            }
            if (kind == RNN_GRU) {
                k_sgemm(0, 0, B, 2 * H, H, 1.0f, hs, H, rt, GH, 0.0f, hr, GH, 0, 1);
                for (int64_t b = 0; b < B; b++) k_gru_zr_f32(gates + b * GH, hr + b * GH, &act[0], p.clip, H);
                const float *src = hs;
                if (!lbr) {
                    for (int64_t b = 0; b < B; b++)
                        for (int64_t j = 0; j < H; j++) rh[b * H + j] = hr[b * GH + H + j] * hs[b * H + j];
                    src = rh;
                }
                k_sgemm(0, 0, B, H, H, 1.0f, src, H, rt + 2 * H, GH, 0.0f, hrh, H, 0, 1);
                for (int64_t b = 0; b < B; b++) {
                    if (bias)
                        for (int64_t j = 0; j < H; j++) hrh[b * H + j] += bias[GH + 2 * H + j];
                    k_gru_h_f32(gates + b * GH, hr + b * GH, hrh + b * H, hs + b * H, &act[1], p.clip,
                                lbr, H, hn + b * H);
                }
            } else {
                k_sgemm(0, 0, B, GH, H, 1.0f, hs, H, rt, GH, 1.0f, gates, GH, 0, 1);
                for (int64_t b = 0; b < B; b++) {
                    if (kind == RNN_LSTM)
                        k_lstm_cell_f32(gates + b * GH, cs + b * H, peep, act, p.clip, input_forget, H,
                                        hn + b * H, cn + b * H);
                    else
                        k_rnn_cell_f32(gates + b * GH, &act[0], p.clip, H, hn + b * H);
                }
            }
            for (int64_t b = 0; b < B; b++) {
                int64_t len = lens ? lens[b] : S, t = reverse ? len - 1 - s : s;
                if (s >= len) continue;
                memcpy(hs + b * H, hn + b * H, sizeof(float) * (size_t)H);
                if (kind == RNN_LSTM) memcpy(cs + b * H, cn + b * H, sizeof(float) * (size_t)H);
                if (y) {
                    int64_t o = p.layout ? ((b * S + t) * p.dirs + d) * H : ((t * p.dirs + d) * B + b) * H;
                    memcpy(y + o, hn + b * H, sizeof(float) * (size_t)H);
                }
            }
        }
        for (int64_t b = 0; b < B; b++) {
            int64_t o = p.layout ? (b * p.dirs + d) * H : (d * B + b) * H;
            if (yh) memcpy(yh + o, hs + b * H, sizeof(float) * (size_t)H);
            if (yc) memcpy(yc + o, cs + b * H, sizeof(float) * (size_t)H);
        }
    }
    return EMBER_OK;
}

ember_status ember_infer_rnn(ember_op_ctx *c) { return rnn_infer(c, RNN_PLAIN); }
ember_status ember_run_rnn(ember_op_ctx *c) { return rnn_run(c, RNN_PLAIN); }
ember_status ember_infer_gru(ember_op_ctx *c) { return rnn_infer(c, RNN_GRU); }
ember_status ember_run_gru(ember_op_ctx *c) { return rnn_run(c, RNN_GRU); }
ember_status ember_infer_lstm(ember_op_ctx *c) { return rnn_infer(c, RNN_LSTM); }
ember_status ember_run_lstm(ember_op_ctx *c) { return rnn_run(c, RNN_LSTM); }
