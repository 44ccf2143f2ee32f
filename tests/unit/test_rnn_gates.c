/* The host RNN gates' sigmoid and tanh (ops/host/rnn_gates.h), plain C and AVX-512 forms,
 * against double-precision libm: every 127th float with |x| <= 88 (about 18M inputs) and a
 * dense grid on [-12, 12], within the bounds below (measured over every 7th float: sigmoid
 * 1.6e-7 relative, tanh 1.9e-7 relative and 1.5e-7 absolute); the special values; and the
 * two forms within a few ulp of each other (they differ only in fused multiply-adds). */
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
