/* Exact GELU, x * Phi(x), for the GEMM epilogues (gemm_act.h) on AVX-512 hosts, written
 * as x * (1 - c) for x >= 0 and x * c below, where c = erfc(|x| / sqrt 2) / 2 =
 * e^R(t) / 2 and R is a degree-10 least-squares polynomial (Chebyshev nodes) of
 * log(erfc(t)) on t in [0, 4] (c is taken as 0 beyond). No division, no branch select
 * chains: half the work of fast_math.h's two-branch erf (bert_tiny_like's ff1 output,
 * 64 x 512: 26 -> 14 us). Accuracy against double-precision GELU over [-12, 12]: within
 * 3.9e-7 absolute (fast_math.h's erf form: 4.5e-7) and 3e-6 relative wherever |GELU| >
 * 1e-6, where 1 + erf(x) cancels in the erf form. NaN gives NaN, +inf inf, -inf NaN
 * (-inf * 0, as the erf form). */
#include <stdbool.h>
#include <stdint.h>

#include "gemm_act.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static inline __m512 gelu16(__m512 x)
{
    const __m512 four = _mm512_set1_ps(4.0f);
    __m512 t = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.7071067811865476f));
    __mmask16 big = _mm512_cmp_ps_mask(t, four, _CMP_GT_OQ);
    t = _mm512_min_ps(t, four); /* NaN -> 4: x carries the NaN */
    static const float rc[11] = {-3.4003207e-07f, 7.7920986e-06f, -7.6371674e-05f, 4.0229710e-04f,
                                 -1.0384775e-03f, -8.1005885e-04f, 2.0026725e-02f,  -1.0322018e-01f,
                                 -6.3650668e-01f, -1.1283903e+00f, 1.7997296e-07f};
    __m512 r = _mm512_set1_ps(rc[0]);
    for (int i = 1; i < 11; i++) r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(rc[i]));
    /* e^r for r in [-17.6, 0]: 2^n e^f, |f| <= ln2 / 2, ln 2 in two parts */
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(r, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), r);
    f = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), f);
    static const float ec[8] = {1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f,
                                1.0f / 6.0f,    0.5f,          1.0f,          1.0f};
    __m512 p = _mm512_set1_ps(ec[0]);
    for (int i = 1; i < 8; i++) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(ec[i]));
    __m512 c = _mm512_maskz_mul_ps((__mmask16)~big, _mm512_scalef_ps(p, n), _mm512_set1_ps(0.5f));
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mul_ps(x, _mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_set1_ps(1.0f), c), c));
}

__attribute__((target("avx512f"))) static void gelu_rows(float *y, int64_t rows, int64_t cols, int64_t ld)
{
    for (int64_t r = 0; r < rows; r++) {
        float *p = y + r * ld;
        int64_t i = 0;
        for (; i + 16 <= cols; i += 16) _mm512_storeu_ps(p + i, gelu16(_mm512_loadu_ps(p + i)));
        if (i < cols) {
            __mmask16 m = (__mmask16)((1u << (cols - i)) - 1);
            _mm512_mask_storeu_ps(p + i, m, gelu16(_mm512_maskz_loadu_ps(m, p + i)));
        }
    }
}

bool ember_gelu_rows_avx512(float *y, int64_t rows, int64_t cols, int64_t ld)
{
    if (!__builtin_cpu_supports("avx512f")) return false;
    gelu_rows(y, rows, cols, ld);
    return true;
}
#else
bool ember_gelu_rows_avx512(float *y, int64_t rows, int64_t cols, int64_t ld)
{
    (void)y, (void)rows, (void)cols, (void)ld;
    return false;
}
#endif
