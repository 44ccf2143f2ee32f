/* Window pooling. Per output position the valid tap range of every dim is computed once,
 * so the tap loops need no bounds checks. */
#include "pool.h"

#include <math.h>

#include "gemm.h"

/* Taps t in [*lo, *hi) with start + t * d in [0, n). */
static void tap_range(int64_t start, int64_t d, int64_t k, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t a = start >= 0 ? 0 : (-start + d - 1) / d;
    int64_t b = n - start <= 0 ? 0 : (n - start + d - 1) / d;
    if (b > k) b = k;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

void k_pool_f32(const float *x, int64_t rows, const k_conv_geom *g, const int64_t *pe, int mode,
                int count_include_pad, float p, int col_major, float *y, int64_t *idx, int ith,
                int nth)
{
    int nd = g->nd;
    int64_t isp = 1, osp = 1;
    for (int i = 0; i < nd; i++) isp *= g->in[i], osp *= g->out[i];
    int64_t lo, hi;
    k_share(rows, ith, nth, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const float *xr = x + r * isp;
        int64_t o[K_CONV_MAX_SP] = {0};
        for (int64_t pos = 0; pos < osp; pos++) {
            int64_t start[K_CONV_MAX_SP], tlo[K_CONV_MAX_SP], thi[K_CONV_MAX_SP], t[K_CONV_MAX_SP];
            int64_t count = 1, padded = 1;
            for (int i = 0; i < nd; i++) {
                start[i] = o[i] * g->s[i] - g->pb[i];
                tap_range(start[i], g->d[i], g->k[i], g->in[i], &tlo[i], &thi[i]);
                count *= thi[i] - tlo[i];
                int64_t plo, phi;
                tap_range(start[i] + g->pb[i], g->d[i], g->k[i], g->in[i] + g->pb[i] + pe[i], &plo, &phi);
                padded *= phi - plo;
                t[i] = tlo[i];
            }
            float acc = mode == K_POOL_MAX ? -INFINITY : 0.0f;
            int64_t best = -1;
            if (count > 0) {
                for (;;) {
                    int64_t off = 0;
                    for (int i = 0; i < nd; i++) off = off * g->in[i] + start[i] + t[i] * g->d[i];
                    float v = xr[off];
                    if (mode == K_POOL_MAX) {
                        if (v > acc || best < 0) acc = v, best = off;
                    } else if (mode == K_POOL_AVG) {
                        acc += v;
                    } else {
                        acc += powf(fabsf(v), p);
                    }
                    int i = nd - 1;
                    for (; i >= 0; i--) {
                        if (++t[i] < thi[i]) break;
                        t[i] = tlo[i];
                    }
                    if (i < 0) break;
                }
            }
            if (mode == K_POOL_AVG)
                acc = count_include_pad ? acc / (float)padded : (count ? acc / (float)count : 0.0f);
            else if (mode == K_POOL_LP)
                acc = powf(acc, 1.0f / p);
            y[r * osp + pos] = acc;
            if (idx) {
                int64_t b = best < 0 ? 0 : best;
                if (col_major) {
                    /* Re-express the plane offset with the first spatial dim fastest. */
                    int64_t rest = b, cm = 0, mul = 1, coord[K_CONV_MAX_SP];
                    for (int i = nd - 1; i >= 0; i--) coord[i] = rest % g->in[i], rest /= g->in[i];
                    for (int i = 0; i < nd; i++) cm += coord[i] * mul, mul *= g->in[i];
                    b = cm;
                }
                idx[r * osp + pos] = r * isp + b;
            }
            for (int i = nd - 1; i >= 0; i--) {
                if (++o[i] < g->out[i]) break;
                o[i] = 0;
            }
        }
    }
}

void k_global_pool_f32(const float *x, int64_t rows, int64_t sp, int mode, float p, float *y,
                       int ith, int nth)
{
    int64_t lo, hi;
    k_share(rows, ith, nth, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const float *xr = x + r * sp;
        if (mode == K_POOL_MAX) {
            float m = sp ? xr[0] : -INFINITY;
            for (int64_t i = 1; i < sp; i++) m = xr[i] > m ? xr[i] : m;
            y[r] = m;
        } else if (mode == K_POOL_AVG) {
            /* Eight partial sums: the loop vectorizes and is not bound by the add latency
             * of one running sum (kws_dscnn's 64 x 125 pool: 3.1 us before). */
            float a[8] = {0}, s = 0.0f;
            int64_t i = 0;
            for (; i + 8 <= sp; i += 8)
                for (int j = 0; j < 8; j++) a[j] += xr[i + j];
            for (; i < sp; i++) s += xr[i];
            s += ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
            y[r] = s / (float)sp;
        } else {
            float s = 0.0f;
            for (int64_t i = 0; i < sp; i++) s += powf(fabsf(xr[i]), p);
            y[r] = powf(s, 1.0f / p);
        }
    }
}
