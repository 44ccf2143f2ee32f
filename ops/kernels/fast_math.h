/* Float exp/erf/tanh/sigmoid written so that loops calling them auto-vectorize: no libm
 * calls, and every select done on bit patterns with integer compares (gcc will not
 * if-convert float compares under its default -ftrapping-math; integer ones it will),
 * no float->int conversion. glibc's expf/erff/tanhf are scalar calls and
 * were most of bert_tiny_like's GELU and Softmax time and lstm_kws's gate time.
 *
 * Accuracy (checked against double-precision libm over [-5, 5] and the exp range, see
 * tests/unit/test_fast_math.c): k_fexp within 2e-7 relative on [-87.3, 88.3]; k_ferf
 * within 2e-7 absolute and relative; k_ftanh / k_fsigmoid within 3e-7 relative. NaN in,
 * NaN out. Plain portable C (also compiled to bitcode). */
#ifndef EMBER_K_FAST_MATH_H
#define EMBER_K_FAST_MATH_H
#include <stdint.h>
#include <string.h>

/* Inputs in [K_FEXP_LO, K_FEXP_HI] give 2^n with n in [-126, 127]: a normal scale. */
#define K_FEXP_LO (-87.33f)
#define K_FEXP_HI 88.37f
#define K_FBITS_LO 0x42aea8f6u /* bits of 87.33f */
#define K_FBITS_HI 0x42b0bd71u /* bits of 88.37f */
#define K_FBITS_INF 0x7f800000u

static inline uint32_t k_fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static inline float k_ffrom(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
/* c (0 or 1) ? a : b, bitwise. */
static inline float k_fsel(uint32_t c, float a, float b)
{
    uint32_t m = 0u - c;
    return k_ffrom((k_fbits(a) & m) | (k_fbits(b) & ~m));
}

/* e^x for x in [K_FEXP_LO, K_FEXP_HI]; 0 below (the true value is a denormal under
 * 1.2e-38); x clamped to K_FEXP_HI above (callers that can see such inputs fix those
 * elements up with expf, as k_unary_f32's Exp does). */
static inline float k_fexp(float x)
{
    uint32_t ux = k_fbits(x), ua = ux & 0x7fffffffu, neg = ux >> 31;
    uint32_t num = ua <= K_FBITS_INF;
    uint32_t below = neg & (ua > K_FBITS_LO) & num, above = (neg ^ 1u) & (ua > K_FBITS_HI) & num;
    float xc = k_fsel(below, K_FEXP_LO, k_fsel(above, K_FEXP_HI, x));
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick: the sum's low mantissa bits hold n. */
    float t = xc * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    /* ln 2 in two parts (the first exact in 9 bits) keeps r accurate. */
    float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6.0f + r * (1.0f / 24.0f +
              r * (1.0f / 120.0f + r * (1.0f / 720.0f + r * (1.0f / 5040.0f)))))));
    float s = k_ffrom((k_fbits(t) - 0x4B400000u + 127u) << 23);
    return k_fsel(below, 0.0f, p * s);
}

/* erf: x P(x^2) below 1; 1 - e^{-x^2} Q(1/|x|) up to 3.92, where erf rounds to 1 in
 * float. P and Q are least-squares fits (Chebyshev nodes) of erf(x)/x on [0, 1] and of
 * erfc(x) e^{x^2} on [1, 4], relative error 2e-9 and 2e-8 before float rounding. */
static inline float k_ferf(float x)
{
    uint32_t ux = k_fbits(x), ua = ux & 0x7fffffffu;
    float x2 = x * x;
    float p = 7.93335130e-05f;
    p = p * x2 - 8.03480914e-04f;
    p = p * x2 + 5.19121485e-03f;
    p = p * x2 - 2.68553980e-02f;
    p = p * x2 + 1.12836257e-01f;
    p = p * x2 - 3.76126289e-01f;
    p = p * x2 + 1.12837923e+00f;
    float small = x * p;
    uint32_t is_small = ua < 0x3f800000u; /* |x| < 1 */
    float a1 = k_fsel(is_small, 1.0f, k_ffrom(ua));
    float u = 1.0f / a1;
    float q = 2.82213576e-02f;
    q = q * u - 1.65852576e-01f;
    q = q * u + 4.04780447e-01f;
    q = q * u - 4.90995049e-01f;
    q = q * u + 1.98827311e-01f;
    q = q * u + 2.52409875e-01f;
    q = q * u - 3.83803964e-01f;
    q = q * u + 2.23218165e-02f;
    q = q * u + 5.61540842e-01f;
    q = q * u + 1.33515219e-04f;
    float big = 1.0f - k_fexp(-(a1 * a1)) * q;
    uint32_t one = (ua > 0x407ae148u) & (ua <= K_FBITS_INF); /* 3.92 < |x|, not NaN */
    big = k_fsel(one, 1.0f, big);
    big = k_ffrom(k_fbits(big) | (ux & 0x80000000u));
    return k_fsel(is_small, small, big);
}

/* tanh = sign(x) (1 - e^{-2|x|}) / (1 + e^{-2|x|}); near 0, where that loses relative
 * precision, the Taylor series to x^7 (next term under 1e-11 relative for |x| < 1/16). */
static inline float k_ftanh(float x)
{
    uint32_t ux = k_fbits(x), ua = ux & 0x7fffffffu;
    float e = k_fexp(-2.0f * k_ffrom(ua));
    float big = k_ffrom(k_fbits((1.0f - e) / (1.0f + e)) | (ux & 0x80000000u));
    float x2 = x * x;
    float small = x * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f)))); /* keeps -0 */
    return k_fsel(ua < 0x3d800000u, small, big); /* |x| < 1/16 */
}

/* 1 / (1 + e^{-x}) without overflow: e^{-|x|} on either side. */
static inline float k_fsigmoid(float x)
{
    uint32_t ux = k_fbits(x);
    float e = k_fexp(-k_ffrom(ux & 0x7fffffffu));
    float d = 1.0f / (1.0f + e);
    return k_fsel(ux >> 31, e * d, d);
}
#endif
