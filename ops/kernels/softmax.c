#include "softmax.h"

#include <math.h>

#include "elementwise_bcast.h"
#include "fast_math.h"
#include "half.h"

#define K_ID(v) (v)
#define K_F16_LD(v) ember_half_to_float(v)
#define K_F16_ST(v) ember_float_to_half(v)
#define K_BF16_LD(v) ember_bf16_to_float(v)
#define K_BF16_ST(v) ember_float_to_bf16(v)

/* One lane = n elements `inner` apart. The max is subtracted first so exp never
 * overflows; Hardmax marks the first maximum. */
#define K_DEF_SOFTMAX(sfx, T, CT, LD, ST, EXP, LOG)                                   \
    void k_softmax_##sfx(int mode, const T *x, T *y, int64_t outer, int64_t n,        \
                         int64_t inner, int ith, int nth)                             \
    {                                                                                 \
        int64_t lo, hi;                                                               \
        k_share(outer, ith, nth, &lo, &hi);                                           \
        for (int64_t o = lo; o < hi; o++) {                                           \
            for (int64_t i = 0; i < inner; i++) {                                     \
                const T *xl = x + o * n * inner + i;                                  \
                T *yl = y + o * n * inner + i;                                        \
                CT mx = -INFINITY;                                                    \
                int64_t arg = 0;                                                      \
                for (int64_t k = 0; k < n; k++) {                                     \
                    CT v = LD(xl[k * inner]);                                         \
                    if (v > mx) mx = v, arg = k;                                      \
                }                                                                     \
                if (mode == K_HARDMAX) {                                              \
                    for (int64_t k = 0; k < n; k++) yl[k * inner] = ST((CT)(k == arg));  \
                    continue;                                                         \
                }                                                                     \
                if (isinf(mx)) mx = 0; /* all -inf (or +inf): let the NaNs/zeros show */ \
                CT sum = 0;                                                           \
                if (mode == K_SOFTMAX) {                                              \
                    for (int64_t k = 0; k < n; k++) {                                 \
                        CT e = EXP(LD(xl[k * inner]) - mx);                           \
                        yl[k * inner] = ST(e);                                        \
                        sum += e;                                                     \
                    }                                                                 \
                    for (int64_t k = 0; k < n; k++)                                   \
                        yl[k * inner] = ST(LD(yl[k * inner]) / sum);                  \
                } else {                                                              \
                    for (int64_t k = 0; k < n; k++) sum += EXP(LD(xl[k * inner]) - mx); \
                    CT lse = mx + LOG(sum);                                           \
                    for (int64_t k = 0; k < n; k++)                                   \
                        yl[k * inner] = ST(LD(xl[k * inner]) - lse);                  \
                }                                                                     \
            }                                                                         \
        }                                                                             \
    }

static void k_softmax_f32_lanes(int mode, const float *x, float *y, int64_t outer, int64_t n,
                                int64_t inner, int ith, int nth);
K_DEF_SOFTMAX(f32_lanes, float, float, K_ID, K_ID, expf, logf)

/* Sum with 8 partial sums: vectorizes without reassociation flags (a different
 * summation order than one running sum: within float rounding of it). */
static float k_sum8(const float *p, int64_t n)
{
    float s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) s[j] += p[i + j];
    float t = 0;
    for (; i < n; i++) t += p[i];
    return t + ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* float32 rows along the last axis (inner == 1, the usual case): vectorized exp. Other
 * layouts and Hardmax take the lane loop above. */
void k_softmax_f32(int mode, const float *x, float *y, int64_t outer, int64_t n, int64_t inner, int ith,
                   int nth)
{
    if (inner != 1 || mode == K_HARDMAX) {
        k_softmax_f32_lanes(mode, x, y, outer, n, inner, ith, nth);
        return;
    }
    int64_t lo, hi;
    k_share(outer, ith, nth, &lo, &hi);
    for (int64_t o = lo; o < hi; o++) {
        const float *xr = x + o * n;
        float *yr = y + o * n;
        float mx = -INFINITY;
        for (int64_t k = 0; k < n; k++) mx = xr[k] > mx ? xr[k] : mx;
        if (isinf(mx)) { /* all -inf, or +inf present: the lane loop's exact semantics */
            k_softmax_f32_lanes(mode, xr, yr, 1, n, 1, 0, 1);
            continue;
        }
        if (mode == K_SOFTMAX) {
            for (int64_t k = 0; k < n; k++) yr[k] = k_fexp(xr[k] - mx);
            float inv = 1.0f / k_sum8(yr, n);
            for (int64_t k = 0; k < n; k++) yr[k] *= inv;
        } else {
            for (int64_t k = 0; k < n; k++) yr[k] = k_fexp(xr[k] - mx);
            float lse = mx + logf(k_sum8(yr, n));
            for (int64_t k = 0; k < n; k++) yr[k] = xr[k] - lse;
        }
    }
}
K_DEF_SOFTMAX(f64, double, double, K_ID, K_ID, exp, log)
K_DEF_SOFTMAX(f16, uint16_t, float, K_F16_LD, K_F16_ST, expf, logf)
K_DEF_SOFTMAX(bf16, uint16_t, float, K_BF16_LD, K_BF16_ST, expf, logf)
