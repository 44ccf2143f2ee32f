/* im2col / col2im and the direct depthwise kernel. For each window tap the valid range
 * of the innermost output index is computed once, so the inner loops carry no bounds
 * checks. */
#include "conv.h"

#include <string.h>

#include "gemm.h"

/* Output indices o in [*lo, *hi) for which o * s - pb + t * d lies in [0, n). */
static void valid_range(int64_t n, int64_t out, int64_t s, int64_t off, int64_t *lo, int64_t *hi)
{
    /* need 0 <= o*s + off < n */
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = n - off <= 0 ? 0 : (n - off + s - 1) / s;
    if (b > out) b = out;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* Taps per row and positions per column of a geometry. */
static int64_t taps(const k_conv_geom *g)
{
    int64_t t = 1;
    for (int i = 0; i < g->nd; i++) t *= g->k[i];
    return t;
}
static int64_t prod(const int64_t *d, int nd)
{
    int64_t t = 1;
    for (int i = 0; i < nd; i++) t *= d[i];
    return t;
}

/* Walks every (row, outer output position) of the im2col matrix: the callback macro body
 * gets `xrow` (image row offset in elements, or -1 when the row is all padding), `dst`
 * offset of the column run, and the valid [lo, hi) range of the last output dim with the
 * image offset `off` of its first element. Written once as a macro so the float and int
 * versions share it. */
#define IM2COL_BODY(T)                                                                          \
    int nd = g->nd;                                                                             \
    int64_t kt = taps(g), np = prod(g->out, nd), isp = prod(g->in, nd);                         \
    int64_t lo, hi;                                                                             \
    k_share(C * kt, ith, nth, &lo, &hi);                                                        \
    int64_t L = nd - 1, ow = g->out[L], iw = g->in[L], sw = g->s[L];                            \
    for (int64_t row = lo; row < hi; row++) {                                                   \
        int64_t c = row / kt, t = row % kt, tap[K_CONV_MAX_SP];                                 \
        for (int i = nd - 1; i >= 0; i--) {                                                     \
            tap[i] = t % g->k[i];                                                               \
            t /= g->k[i];                                                                       \
        }                                                                                       \
        const T *xc = x + c * isp;                                                              \
        T *dst = col + row * np;                                                                \
        int64_t off = tap[L] * g->d[L] - g->pb[L], a, b;                                        \
        valid_range(iw, ow, sw, off, &a, &b);                                                   \
        int64_t o[K_CONV_MAX_SP] = {0};                                                         \
        for (int64_t pos = 0; pos < np; pos += ow) {                                            \
            int64_t base = 0, inside = 1;                                                       \
            for (int i = 0; i < L; i++) {                                                       \
                int64_t ii = o[i] * g->s[i] - g->pb[i] + tap[i] * g->d[i];                      \
                if (ii < 0 || ii >= g->in[i]) inside = 0;                                       \
                base = base * g->in[i] + ii;                                                    \
            }                                                                                   \
            T *d = dst + pos;                                                                   \
            if (!inside) {                                                                      \
                memset(d, 0, sizeof(T) * (size_t)ow);                                           \
            } else {                                                                            \
                const T *xr = xc + base * iw + off;                                             \
                for (int64_t q = 0; q < a; q++) d[q] = 0;                                       \
                if (sw == 1)                                                                    \
                    memcpy(d + a, xr + a, sizeof(T) * (size_t)(b - a));                         \
                else                                                                            \
                    for (int64_t q = a; q < b; q++) d[q] = xr[q * sw];                          \
                for (int64_t q = b; q < ow; q++) d[q] = 0;                                      \
            }                                                                                   \
            for (int i = L - 1; i >= 0; i--) {                                                  \
                if (++o[i] < g->out[i]) break;                                                  \
                o[i] = 0;                                                                       \
            }                                                                                   \
        }                                                                                       \
    }

void k_im2col_f32(const float *x, int64_t C, const k_conv_geom *g, float *col, int ith, int nth)
{
    IM2COL_BODY(float)
}

void k_im2col_i32(const int32_t *x, int64_t C, const k_conv_geom *g, int32_t *col, int ith,
                  int nth)
{
    IM2COL_BODY(int32_t)
}

void k_col2im_f32(const float *col, int64_t C, const k_conv_geom *g, float *y, int ith, int nth)
{
    int nd = g->nd;
    int64_t kt = taps(g), np = prod(g->out, nd), isp = prod(g->in, nd);
    int64_t clo, chi;
    k_share(C, ith, nth, &clo, &chi);
    int64_t L = nd - 1, ow = g->out[L], iw = g->in[L], sw = g->s[L];
    for (int64_t row = clo * kt; row < chi * kt; row++) {
        int64_t c = row / kt, t = row % kt, tap[K_CONV_MAX_SP];
        for (int i = nd - 1; i >= 0; i--) {
            tap[i] = t % g->k[i];
            t /= g->k[i];
        }
        float *yc = y + c * isp;
        const float *src = col + row * np;
        int64_t off = tap[L] * g->d[L] - g->pb[L], a, b;
        valid_range(iw, ow, sw, off, &a, &b);
        int64_t o[K_CONV_MAX_SP] = {0};
        for (int64_t pos = 0; pos < np; pos += ow) {
            int64_t base = 0, inside = 1;
            for (int i = 0; i < L; i++) {
                int64_t ii = o[i] * g->s[i] - g->pb[i] + tap[i] * g->d[i];
                if (ii < 0 || ii >= g->in[i]) inside = 0;
                base = base * g->in[i] + ii;
            }
            if (inside) {
                float *yr = yc + base * iw + off;
                const float *s = src + pos;
                for (int64_t q = a; q < b; q++) yr[q * sw] += s[q];
            }
            for (int i = L - 1; i >= 0; i--) {
                if (++o[i] < g->out[i]) break;
                o[i] = 0;
            }
        }
    }
}

void k_conv_dw2d_f32(const float *x, const float *w, const float *bias, int64_t C, int64_t mult,
                     const k_conv_geom *g, float *y, int ith, int nth)
{
    int64_t ih = g->in[0], iw = g->in[1], oh = g->out[0], ow = g->out[1];
    int64_t kh = g->k[0], kw = g->k[1], sh = g->s[0], sw = g->s[1];
    int64_t lo, hi;
    k_share(C * mult, ith, nth, &lo, &hi);
    for (int64_t oc = lo; oc < hi; oc++) {
        const float *xc = x + (oc / mult) * ih * iw, *wc = w + oc * kh * kw;
        float *yc = y + oc * oh * ow;
        float b0 = bias ? bias[oc] : 0.0f;
        for (int64_t i = 0; i < oh * ow; i++) yc[i] = b0;
        for (int64_t ki = 0; ki < kh; ki++) {
            int64_t offh = ki * g->d[0] - g->pb[0], ha, hb;
            valid_range(ih, oh, sh, offh, &ha, &hb);
            for (int64_t kj = 0; kj < kw; kj++) {
                float wv = wc[ki * kw + kj];
                int64_t offw = kj * g->d[1] - g->pb[1], wa, wb;
                valid_range(iw, ow, sw, offw, &wa, &wb);
                for (int64_t r = ha; r < hb; r++) {
                    const float *xr = xc + (r * sh + offh) * iw + offw;
                    float *yr = yc + r * ow;
                    if (sw == 1)
                        for (int64_t q = wa; q < wb; q++) yr[q] += wv * xr[q];
                    else
                        for (int64_t q = wa; q < wb; q++) yr[q] += wv * xr[q * sw];
                }
            }
        }
    }
}
