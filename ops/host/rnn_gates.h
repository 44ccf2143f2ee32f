/* Sigmoid and tanh for the host RNN kernels' gates (openblas_rnn.c, lstm_fused.c), in
 * two forms that compute the same formulas: plain C that loops auto-vectorize (selects on
 * bit patterns, as in ../kernels/fast_math.h) and AVX-512 intrinsics for the fused LSTM
 * step, which keeps a panel's sums in registers. The reference kernels keep fast_math.h.
 *
 * Why not fast_math.h's k_fsigmoid / k_ftanh: their exponential (degree-7 Taylor, clamps
 * by selects, e^{-|x|} and a select per sigmoid, two more selects in tanh) was ~330
 * vector instructions for a fused panel's five gates, and without -ffp-contract the
 * multiply-adds stay separate; lstm_kws 1 thread: 2.13 us a step, 0.5 of it the gates.
 * Here:
 *   sigmoid(x) = 1 / (1 + 2^n p(r)): x clamped to [-87.3, 87.3] (beyond, 1 / (1 + e) is
 *     0 or 1 in float anyway: 1.2e-38 at -87.3), n = round(-x / ln 2), r = -x - n ln 2
 *     (ln 2 in two parts, the first exact in 9 bits), p a degree-6 fit of e^r on
 *     [-ln2/2, ln2/2] (relative error 2e-9 before rounding);
 *   tanh(x) = sign(x) (-m) / (2 + m) with m = e^{-2|x|} - 1 = 2^n (1 + q) - 1 computed as
 *     2^n q + (2^n - 1), q = expm1(r) = r + r^2 Q(r), Q a degree-4 fit (expm1's relative
 *     error 1.3e-8): exact-enough near 0 with no separate small-x branch; |x| clamped at
 *     10 (tanh is 1 in float from 9.02).
 * About 20 vector instructions a gate. Max error against double-precision libm over every
 * 7th float with |x| <= 88 (tests/unit/test_rnn_gates.c checks bounds a little above
 * these on both forms): sigmoid 1.6e-7 relative, tanh 1.9e-7 relative (1.5e-7
 * absolute); fast_math.h's were 3e-7. NaN in, NaN out; +-inf give the limits. The
 * AVX-512 form divides as the C form does, so the two differ only where a multiply-add
 * is fused in one and rounded twice in the other: rcp14 and a Newton step measured no
 * faster in the fused step (the five divisions of a panel are ~3% of it: 1.69 -> 1.65
 * us a step with multiplies in their place). */
#ifndef EMBER_HOST_RNN_GATES_H
#define EMBER_HOST_RNN_GATES_H
#include <stdint.h>

#include "../kernels/fast_math.h"

#define RNN_LOG2E 1.44269504088896341f
#define RNN_MAGIC 12582912.0f /* 1.5 * 2^23: x + RNN_MAGIC rounds x to an integer */
#define RNN_LN2_HI 0.693359375f
#define RNN_LN2_LO (-2.12194440e-4f)
#define RNN_SIG_CLAMP 87.3f
#define RNN_SIG_CLAMP_BITS 0x42ae999au /* bits of 87.3f */
#define RNN_TANH_CLAMP 10.0f
#define RNN_TANH_CLAMP_BITS 0x41200000u /* bits of 10.0f */
/* e^r ~ 1 + r (1 + r (P2 + r (P3 + r (P4 + r (P5 + r P6))))) */
#define RNN_P2 0.49999994f
#define RNN_P3 0.16666432f
#define RNN_P4 0.041668002f
#define RNN_P5 0.0083741555f
#define RNN_P6 0.0013843654f
/* (e^r - 1 - r) / r^2 ~ Q0 + r (Q1 + r (Q2 + r (Q3 + r Q4))) */
#define RNN_Q0 0.49999997f
#define RNN_Q1 0.16666543f
#define RNN_Q2 0.041667200f
#define RNN_Q3 0.0083665140f
#define RNN_Q4 0.0013882522f

/* 2^n for the integer n held in t = n + RNN_MAGIC (n within the normal exponents). */
static inline float rnn_pow2(float t) { return k_ffrom((k_fbits(t) - 0x4B400000u + 127u) << 23); }

/* 1 + e^{-x}: the sigmoid is its reciprocal. */
static inline float rnn_sigmoid_den(float x)
{
    uint32_t ux = k_fbits(x), ua = ux & 0x7fffffffu;
    uint32_t over = (ua > RNN_SIG_CLAMP_BITS) & (ua <= K_FBITS_INF); /* NaN passes through */
    x = k_fsel(over, k_ffrom(RNN_SIG_CLAMP_BITS | (ux & 0x80000000u)), x);
    float t = x * -RNN_LOG2E + RNN_MAGIC, n = t - RNN_MAGIC;
    float r = -x - n * RNN_LN2_HI;
    r = r - n * RNN_LN2_LO;
    float p = RNN_P6 * r + RNN_P5;
    p = p * r + RNN_P4;
    p = p * r + RNN_P3;
    p = p * r + RNN_P2;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return 1.0f + p * rnn_pow2(t);
}

/* tanh(x) = the returned numerator / *den (den in [1, 2]). */
static inline float rnn_tanh_frac(float x, float *den)
{
    uint32_t ux = k_fbits(x), ua = ux & 0x7fffffffu;
    uint32_t over = (ua > RNN_TANH_CLAMP_BITS) & (ua <= K_FBITS_INF);
    float y = -2.0f * k_fsel(over, RNN_TANH_CLAMP, k_ffrom(ua)); /* -2|x| */
    float t = y * RNN_LOG2E + RNN_MAGIC, n = t - RNN_MAGIC;
    float r = y - n * RNN_LN2_HI;
    r = r - n * RNN_LN2_LO;
    float q = RNN_Q4 * r + RNN_Q3;
    q = q * r + RNN_Q2;
    q = q * r + RNN_Q1;
    q = q * r + RNN_Q0;
    q = (r * r) * q + r;
    float s = rnn_pow2(t), m = s * q + (s - 1.0f);
    *den = 2.0f + m;
    return k_ffrom(k_fbits(0.0f - m) | (ux & 0x80000000u)); /* +0 at x = 0 */
}

static inline float rnn_sigmoid(float x) { return 1.0f / rnn_sigmoid_den(x); }

static inline float rnn_tanh(float x)
{
    float den, num = rnn_tanh_frac(x, &den);
    return num / den;
}

/* One LSTM unit from its gates' pre-activations (i, o, f, c as in ONNX): updates *c,
 * returns h. sigmoid(i) tanh(c~) and sigmoid(o) tanh(c) as one division each (their
 * denominators multiplied, within [1, 2e38]): three divisions where there were five
 * (the fused step: 1.69 -> 1.67 us). */
static inline float rnn_lstm_cell(float gi, float go, float gf, float gc, float *c)
{
    float dc, nc = rnn_tanh_frac(gc, &dc);
    float cn = rnn_sigmoid(gf) * *c + nc / (rnn_sigmoid_den(gi) * dc);
    *c = cn;
    float dh, nh = rnn_tanh_frac(cn, &dh);
    return nh / (rnn_sigmoid_den(go) * dh);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RNN_V __attribute__((target("avx512f"), always_inline)) static inline

RNN_V __m512 rnn_sigmoid_den16(__m512 x)
{
    /* max/min return their second operand when one is NaN: x second, NaN passes */
    x = _mm512_min_ps(_mm512_set1_ps(RNN_SIG_CLAMP), _mm512_max_ps(_mm512_set1_ps(-RNN_SIG_CLAMP), x));
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(-RNN_LOG2E), _mm512_set1_ps(RNN_MAGIC));
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(RNN_MAGIC));
    __m512 r = _mm512_fnmsub_ps(n, _mm512_set1_ps(RNN_LN2_HI), x); /* -x - n ln2_hi */
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(RNN_LN2_LO), r);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(RNN_P6), r, _mm512_set1_ps(RNN_P5));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RNN_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RNN_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(RNN_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_scalef_ps(p, n));
}

RNN_V __m512 rnn_tanh_frac16(__m512 x, __m512 *den)
{
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(sign, _mm512_castps_si512(x)));
    __m512 y = _mm512_mul_ps(_mm512_set1_ps(-2.0f), _mm512_min_ps(_mm512_set1_ps(RNN_TANH_CLAMP), a));
    __m512 t = _mm512_fmadd_ps(y, _mm512_set1_ps(RNN_LOG2E), _mm512_set1_ps(RNN_MAGIC));
    __m512 n = _mm512_sub_ps(t, _mm512_set1_ps(RNN_MAGIC));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(RNN_LN2_HI), y);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(RNN_LN2_LO), r);
    __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(RNN_Q4), r, _mm512_set1_ps(RNN_Q3));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(RNN_Q2));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(RNN_Q1));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(RNN_Q0));
    q = _mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r);
    __m512 s = _mm512_scalef_ps(_mm512_set1_ps(1.0f), n);
    __m512 m = _mm512_fmadd_ps(s, q, _mm512_sub_ps(s, _mm512_set1_ps(1.0f)));
    *den = _mm512_add_ps(_mm512_set1_ps(2.0f), m);
    __m512 num = _mm512_sub_ps(_mm512_setzero_ps(), m);
    /* num | (x & sign) */
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(num), _mm512_castps_si512(x), sign, 0xF8));
}

RNN_V __m512 rnn_sigmoid16(__m512 x) { return _mm512_div_ps(_mm512_set1_ps(1.0f), rnn_sigmoid_den16(x)); }

RNN_V __m512 rnn_tanh16(__m512 x)
{
    __m512 den, num = rnn_tanh_frac16(x, &den);
    return _mm512_div_ps(num, den);
}

/* rnn_lstm_cell on 16 units: c[16] updated in place, h returned. */
RNN_V __m512 rnn_lstm_cell16(__m512 gi, __m512 go, __m512 gf, __m512 gc, float *c)
{
    __m512 dc, nc = rnn_tanh_frac16(gc, &dc);
    __m512 cn = _mm512_fmadd_ps(rnn_sigmoid16(gf), _mm512_loadu_ps(c),
                                _mm512_div_ps(nc, _mm512_mul_ps(rnn_sigmoid_den16(gi), dc)));
    _mm512_storeu_ps(c, cn);
    __m512 dh, nh = rnn_tanh_frac16(cn, &dh);
    return _mm512_div_ps(nh, _mm512_mul_ps(rnn_sigmoid_den16(go), dh));
}
#endif
#endif
