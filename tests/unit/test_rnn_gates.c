/* The host RNN gates' sigmoid and tanh (ops/host/rnn_gates.h), plain C and AVX-512 forms,
 * against double-precision libm: every 127th float with |x| <= 88 (about 18M inputs) and a
 * dense grid on [-12, 12], within the bounds below (measured over every 7th float: sigmoid
 * 1.6e-7 relative, tanh 1.9e-7 relative and 1.5e-7 absolute); the special values; the
 * two forms within a few ulp of each other (they differ only in fused multiply-adds); and
 * the LSTM cell (three divisions) against the cell computed in double. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops/host/rnn_gates.h"

#define SIG_RTOL 2.5e-7
#define TANH_RTOL 3e-7
#define TANH_ATOL 2e-7

typedef struct gate_err {
    double sig_rel, tanh_rel, tanh_abs, sig_at, tanh_at;
} gate_err;

/* Below -87.3 the sigmoid is clamped (the true value is under 1.3e-38 there): checked
 * in absolute terms. */
static void account(gate_err *e, float x, float s, float t)
{
    double xd = x, rs = 1.0 / (1.0 + exp(-xd)), rt = tanh(xd);
    double es = fabs(s - rs), et = fabs(t - rt);
    if (xd >= -87.3) {
        if (es / rs > e->sig_rel) e->sig_rel = es / rs, e->sig_at = xd;
    } else {
        cr_expect_leq(es, 1.3e-38, "sigmoid(%g) = %g", xd, (double)s);
    }
    if (rt != 0.0 && et / fabs(rt) > e->tanh_rel) e->tanh_rel = et / fabs(rt), e->tanh_at = xd;
    if (rt == 0.0) cr_expect_eq(t, 0.0f);
    if (et > e->tanh_abs) e->tanh_abs = et;
}

static void expect_within(const gate_err *e, const char *form)
{
    cr_expect_leq(e->sig_rel, SIG_RTOL, "%s sigmoid: relative error %.3g at %.9g", form, e->sig_rel, e->sig_at);
    cr_expect_leq(e->tanh_rel, TANH_RTOL, "%s tanh: relative error %.3g at %.9g", form, e->tanh_rel, e->tanh_at);
    cr_expect_leq(e->tanh_abs, TANH_ATOL, "%s tanh: absolute error %.3g", form, e->tanh_abs);
}

/* The inputs: n_inputs() of them, input(i). */
#define SPARSE_STEP 127u
#define SPARSE_N (2 * (0x42b00000u / SPARSE_STEP + 1)) /* |x| <= 88 */
#define DENSE_N 240001u                                   /* [-12, 12] step 1e-4 */
static float input(uint32_t i)
{
    if (i < SPARSE_N) {
        uint32_t b = (i / 2) * SPARSE_STEP | (i % 2 ? 0x80000000u : 0u);
        float x;
        memcpy(&x, &b, sizeof x);
        return x;
    }
    return (float)(-12.0 + 1e-4 * (double)(i - SPARSE_N));
}

Test(rnn_gates, plain_c_within_bounds)
{
    gate_err e = {0};
    for (uint32_t i = 0; i < SPARSE_N + DENSE_N; i++) {
        float x = input(i);
        account(&e, x, rnn_sigmoid(x), rnn_tanh(x));
    }
    expect_within(&e, "plain C");
}

#if defined(__x86_64__) && defined(__GNUC__)
/* ulps between two finite floats of the same sign */
static uint32_t ulps(float a, float b)
{
    uint32_t ua = k_fbits(a), ub = k_fbits(b);
    return ua > ub ? ua - ub : ub - ua;
}

__attribute__((target("avx512f"))) static void avx512_cases(void)
{
    gate_err e = {0};
    uint32_t worst = 0;
    float x[16], s[16], t[16];
    for (uint32_t i = 0; i < SPARSE_N + DENSE_N; i += 16) {
        for (uint32_t j = 0; j < 16; j++) x[j] = input(i + j < SPARSE_N + DENSE_N ? i + j : 0);
        _mm512_storeu_ps(s, rnn_sigmoid16(_mm512_loadu_ps(x)));
        _mm512_storeu_ps(t, rnn_tanh16(_mm512_loadu_ps(x)));
        for (int j = 0; j < 16; j++) {
            account(&e, x[j], s[j], t[j]);
            uint32_t d = ulps(s[j], rnn_sigmoid(x[j])), dt = ulps(t[j], rnn_tanh(x[j]));
            worst = d > worst ? d : worst;
            worst = dt > worst ? dt : worst;
        }
    }
    expect_within(&e, "AVX-512");
    cr_expect_leq(worst, 4u, "AVX-512 and plain C forms %u ulp apart", worst);
    /* special values: lanes 0-7 */
    const float sp[8] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e3f, -1e3f, 1e-40f};
    memset(x, 0, sizeof x);
    memcpy(x, sp, sizeof sp);
    _mm512_storeu_ps(s, rnn_sigmoid16(_mm512_loadu_ps(x)));
    _mm512_storeu_ps(t, rnn_tanh16(_mm512_loadu_ps(x)));
    for (int j = 0; j < 8; j++) {
        float ps = rnn_sigmoid(sp[j]), pt = rnn_tanh(sp[j]);
        cr_expect(isnan(ps) ? isnan(s[j]) : ulps(s[j], ps) <= 4, "sigmoid(%g): %g vs plain C %g", sp[j], s[j], ps);
        cr_expect(isnan(pt) ? isnan(t[j]) : ulps(t[j], pt) <= 4, "tanh(%g): %g vs plain C %g", sp[j], t[j], pt);
    }
}

Test(rnn_gates, avx512_within_bounds_and_near_plain_c)
{
    if (!__builtin_cpu_supports("avx512f")) return; /* the fused step does not use them there */
    avx512_cases();
}
#endif

/* The cell's c and h against double precision from the same float inputs: pre-activations
 * in [-12, 12] (and a few at +-100), c in [-6, 6]. Errors relative to 1 + |c|, the scale
 * of the sums c comes from; measured 2.4e-7 for c and 1.8e-7 for h, both forms. */
#define CELL_TOL 5e-7
static uint32_t cell_rng = 99;
static float cell_rand(float lo, float hi)
{
    cell_rng = cell_rng * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(cell_rng >> 8) * (1.0f / 16777216.0f);
}
static void cell_ref(const float *g, float c, double *cn, double *h)
{
    double sg[4];
    for (int q = 0; q < 4; q++) sg[q] = q == 3 ? tanh((double)g[q]) : 1.0 / (1.0 + exp(-(double)g[q]));
    *cn = sg[2] * c + sg[0] * sg[3];
    *h = sg[1] * tanh(*cn);
}

Test(rnn_gates, lstm_cell_against_double)
{
    double worst_c = 0, worst_h = 0;
    for (int n = 0; n < 200000; n++) {
        float g[4], c = cell_rand(-6.0f, 6.0f);
        for (int q = 0; q < 4; q++) g[q] = n % 97 == 0 ? (cell_rng & (8u << q) ? 100.0f : -100.0f) : cell_rand(-12.0f, 12.0f);
        double rc, rh;
        cell_ref(g, c, &rc, &rh);
        float cc = c, h = rnn_lstm_cell(g[0], g[1], g[2], g[3], &cc);
        double ec = fabs(cc - rc) / (1.0 + fabs(c)), eh = fabs(h - rh) / (1.0 + fabs(c));
        worst_c = ec > worst_c ? ec : worst_c;
        worst_h = eh > worst_h ? eh : worst_h;
        cr_assert(isfinite(cc) && isfinite(h), "cell(%g %g %g %g, c %g): c %g h %g", g[0], g[1], g[2], g[3], c, cc, h);
    }
    cr_expect_leq(worst_c, CELL_TOL, "c: error %.3g of 1 + |c|", worst_c);
    cr_expect_leq(worst_h, CELL_TOL, "h: error %.3g of 1 + |c|", worst_h);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) static void cell16_cases(void)
{
    double worst = 0;
    for (int n = 0; n < 20000; n++) {
        float g[4][16], c[16], c2[16], h[16];
        for (int j = 0; j < 16; j++) {
            c[j] = c2[j] = cell_rand(-6.0f, 6.0f);
            for (int q = 0; q < 4; q++) g[q][j] = n % 97 == 0 ? (j & (1 << q) ? 100.0f : -100.0f) : cell_rand(-12.0f, 12.0f);
        }
        _mm512_storeu_ps(h, rnn_lstm_cell16(_mm512_loadu_ps(g[0]), _mm512_loadu_ps(g[1]), _mm512_loadu_ps(g[2]),
                                            _mm512_loadu_ps(g[3]), c2));
        for (int j = 0; j < 16; j++) {
            double rc, rh;
            const float gj[4] = {g[0][j], g[1][j], g[2][j], g[3][j]};
            cell_ref(gj, c[j], &rc, &rh);
            double ec = fabs(c2[j] - rc) / (1.0 + fabs(c[j])), eh = fabs(h[j] - rh) / (1.0 + fabs(c[j]));
            worst = ec > worst ? ec : worst;
            worst = eh > worst ? eh : worst;
        }
    }
    cr_expect_leq(worst, CELL_TOL, "AVX-512 cell: error %.3g of 1 + |c|", worst);
}

Test(rnn_gates, lstm_cell16_against_double)
{
    if (!__builtin_cpu_supports("avx512f")) return;
    cell16_cases();
}
#endif

Test(rnn_gates, special_values)
{
    cr_expect_eq(rnn_sigmoid(0.0f), 0.5f);
    cr_expect_eq(rnn_sigmoid(INFINITY), 1.0f);
    cr_expect_leq(rnn_sigmoid(-INFINITY), 1.3e-38f);
    cr_expect(isnan(rnn_sigmoid(NAN)));
    cr_expect_eq(k_fbits(rnn_tanh(0.0f)), k_fbits(0.0f));
    cr_expect_eq(k_fbits(rnn_tanh(-0.0f)), k_fbits(-0.0f));
    cr_expect_eq(rnn_tanh(INFINITY), 1.0f);
    cr_expect_eq(rnn_tanh(-INFINITY), -1.0f);
    cr_expect_eq(rnn_tanh(1e-40f), 1e-40f);
    cr_expect(isnan(rnn_tanh(NAN)));
}
