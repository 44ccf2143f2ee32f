/* Batch-1 LSTM step with the gate nonlinearities fused into the recurrent product.
 * R^T is packed so that one panel holds all four gates of 16 hidden units (64 columns):
 * a panel's 64 sums stay in registers across the H rows and its units' gates are
 * computed as soon as they are complete, while the next panel streams in. A step is
 * bound by reading R^T from L2 (lstm_kws: H = 128, 256 KB; one core streams it at ~47 B
 * a cycle, 1.55 us, where the multiply-adds alone would take 0.6 us). Measured on
 * lstm_kws's weights and input projection, one thread, per step (the best of 400 runs of
 * its 49 steps in a test program):
 *   - gates after the whole product: +0.6 us; fused with fast_math.h's sigmoid/tanh
 *     (~330 vector instructions a panel, no multiply-add contraction in ISO C): 2.13 us
 *     in all, the product alone 1.64;
 *   - rnn_gates.h's gates on the registers (~100 instructions a panel): 1.75;
 *   - and each step reading the panels in the reverse order of the previous one (the
 *     last 48 KB read are still in L1): 1.69 (the product alone so: 1.55);
 *   - the cell in three divisions instead of five (rnn_lstm_cell16): 1.67.
 * Tried, no gain: rcp14 and a Newton step instead of the divisions; eight accumulators
 * (two rows at a time) instead of four; a panel's gates in four pieces between chunks of
 * the next panel's rows (1.69 -> 1.68; earlier, with fast_math.h's gates, 2%); the row
 * loop unrolled by 4 (1.69 -> 1.75); software prefetch of the panels' next rows (product
 * alone 1.64 -> 1.79-1.92: the prefetches take load slots); the next steps' input
 * projection interleaved into the panels (a 4-row block every fourth step: 1.68 -> 2.09
 * a step, worse than the separate GEMM's 0.26).
 * The gate formulas are those of the unfused path (gemv_panels + lstm_gates in
 * openblas_rnn.c), the sums in k order or its reverse, fused multiply-adds on AVX-512. */
#include "lstm_fused.h"

#include "rnn_gates.h"

#define PANEL (4 * EMBER_LSTM_UNITS)

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(EMBER_NO_CLONES)
#define LSTM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LSTM_CLONES
#endif

size_t ember_lstm_fused_floats(int64_t dirs, int64_t H)
{
    return (size_t)dirs * (size_t)H / EMBER_LSTM_UNITS * (size_t)H * PANEL;
}

void ember_lstm_fused_pack(const float *r, int64_t dirs, int64_t H, float *out)
{
    int64_t panels = H / EMBER_LSTM_UNITS;
    for (int64_t d = 0; d < dirs; d++)
        for (int64_t p = 0; p < panels; p++) {
            float *o = out + (d * panels + p) * H * PANEL;
            for (int64_t k = 0; k < H; k++)
                for (int q = 0; q < 4; q++)
                    for (int j = 0; j < EMBER_LSTM_UNITS; j++)
                        o[k * PANEL + q * EMBER_LSTM_UNITS + j] =
                            r[(d * 4 * H + q * H + p * EMBER_LSTM_UNITS + j) * H + k];
        }
}

/* The gates of 16 units from their 64 sums (gates i, o, f, c as in openblas_rnn.c's
 * lstm_gates). */
static inline __attribute__((always_inline)) void gates16(const float *restrict acc, int64_t u, float *restrict h_next, float *restrict c)
{
    for (int j = 0; j < EMBER_LSTM_UNITS; j++)
        h_next[u + j] = rnn_lstm_cell(acc[j], acc[EMBER_LSTM_UNITS + j], acc[2 * EMBER_LSTM_UNITS + j],
                                      acc[3 * EMBER_LSTM_UNITS + j], &c[u + j]);
}

LSTM_CLONES static void step_portable(const float *restrict panels, int64_t H, int64_t u0, int64_t u1,
                                      const float *restrict g, const float *restrict h_prev,
                                      float *restrict h_next, float *restrict c)
{
    for (int64_t u = u0; u < u1; u += EMBER_LSTM_UNITS) {
        const float *restrict b = panels + u / EMBER_LSTM_UNITS * H * PANEL;
        float acc[PANEL];
        for (int q = 0; q < 4; q++)
            for (int j = 0; j < EMBER_LSTM_UNITS; j++) acc[q * EMBER_LSTM_UNITS + j] = g[q * H + u + j];
        for (int64_t k = 0; k < H; k++) {
            float hk = h_prev[k];
            for (int i = 0; i < PANEL; i++) acc[i] += hk * b[k * PANEL + i];
        }
        gates16(acc, u, h_next, c);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Panel p's product, rows k = k0, k0 + dk, ... (H of them), onto the four registers. */
#define PANEL_ROWS(b, k0, dk)                                                  \
    for (int64_t k = (k0), n_ = 0; n_ < H; n_++, k += (dk)) {                  \
        const float *restrict row = (b) + k * PANEL;                           \
        __m512 hk = _mm512_set1_ps(h_prev[k]);                                 \
        a0 = _mm512_fmadd_ps(hk, _mm512_load_ps(row), a0);                     \
        a1 = _mm512_fmadd_ps(hk, _mm512_load_ps(row + 16), a1);                \
        a2 = _mm512_fmadd_ps(hk, _mm512_load_ps(row + 32), a2);                \
        a3 = _mm512_fmadd_ps(hk, _mm512_load_ps(row + 48), a3);                \
    }

/* The product with fused multiply-adds (ISO C builds do not contract a * b + c: a
 * multiply and an add are twice the vector instructions, 2.65 -> ~1.8 us a step on
 * lstm_kws), the gates on the registers (rnn_gates.h). Even steps read the panels first
 * to last, each from its last row to its first; odd steps the exact reverse. Each step
 * so starts on the lines the previous one read last, still in L1 (48 KB of the 256 KB),
 * and its first panel takes h_prev in the order the previous step finished it: the sums
 * over the units done early need not wait for the last panel's gates. */
__attribute__((target("avx512f"))) static void step_avx512(const float *restrict panels, int64_t H, int64_t u0,
                                                            int64_t u1, const float *restrict g,
                                                            const float *restrict h_prev, float *restrict h_next,
                                                            float *restrict c, int odd)
{
    int64_t n = (u1 - u0) / EMBER_LSTM_UNITS;
    for (int64_t i = 0; i < n; i++) {
        int64_t u = u0 + (odd ? n - 1 - i : i) * EMBER_LSTM_UNITS;
        const float *restrict b = panels + u / EMBER_LSTM_UNITS * H * PANEL;
        __m512 a0 = _mm512_loadu_ps(g + u), a1 = _mm512_loadu_ps(g + H + u);
        __m512 a2 = _mm512_loadu_ps(g + 2 * H + u), a3 = _mm512_loadu_ps(g + 3 * H + u);
        if (odd) PANEL_ROWS(b, 0, 1)
        else PANEL_ROWS(b, H - 1, -1)
        _mm512_storeu_ps(h_next + u, rnn_lstm_cell16(a0, a1, a2, a3, c + u));
    }
}
#endif

void ember_lstm_fused_step(const float *panels, int64_t H, int64_t u0, int64_t u1, const float *g,
                           const float *h_prev, float *h_next, float *c, int64_t step)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) {
        step_avx512(panels, H, u0, u1, g, h_prev, h_next, c, (int)(step & 1));
        return;
    }
#endif
    step_portable(panels, H, u0, u1, g, h_prev, h_next, c);
}
