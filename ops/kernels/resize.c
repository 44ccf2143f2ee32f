#include "resize.h"

#include <math.h>

#include "gemm.h"

int k_resize_taps(int mode) { return mode == K_RS_NEAREST ? 1 : mode == K_RS_LINEAR ? 2 : 4; }

/* Source coordinate of output index x; sets *outside for tf_crop_and_resize. */
static double source_coord(const k_resize_axis *a, int64_t x, int *outside)
{
    double in = (double)a->in, ow = a->scale * in, s = a->scale, r;
    *outside = 0;
    switch (a->ctm) {
    case K_CT_ALIGN_CORNERS: r = ow == 1.0 ? 0.0 : (double)x * (in - 1) / (ow - 1); break;
    case K_CT_ASYMMETRIC: r = (double)x / s; break;
    case K_CT_TF_HALF_PIXEL_FOR_NN: r = ((double)x + 0.5) / s; break;
    case K_CT_PYTORCH_HALF_PIXEL: r = ow == 1.0 ? -0.5 : ((double)x + 0.5) / s - 0.5; break;
    case K_CT_TF_CROP_AND_RESIZE:
        if (ow == 1.0) r = (a->roi_end - a->roi_start) * (in - 1) / 2;
        else r = (double)x * (a->roi_end - a->roi_start) * (in - 1) / (ow - 1);
        r += a->roi_start * (in - 1);
        *outside = r < 0 || r > in - 1;
        break;
    default: r = ((double)x + 0.5) / s - 0.5; break;
    }
    return r;
}

static int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

int k_resize_table(const k_resize_axis *a, int64_t *idx, float *w, unsigned char *outside)
{
    int taps = k_resize_taps(a->mode), identity = a->in == a->out;
    for (int64_t x = 0; x < a->out; x++) {
        int out;
        double r = source_coord(a, x, &out);
        outside[x] = (unsigned char)out;
        if (out) identity = 0;
        double base = floor(r), ratio = r - base;
        int64_t *ix = idx + x * taps;
        float *wx = w + x * taps;
        if (a->mode == K_RS_NEAREST) {
            double v;
            switch (a->nearest) {
            case K_NM_ROUND_PREFER_CEIL: v = ratio == 0.5 ? base + 1 : floor(r + 0.5); break;
            case K_NM_FLOOR: v = base; break;
            case K_NM_CEIL: v = ceil(r); break;
            case K_NM_SIMPLE: v = a->scale < 1.0 ? ceil(r) : base; break;
            default: v = ratio == 0.5 ? base : floor(r + 0.5); break;
            }
            ix[0] = clamp_index((int64_t)v, a->in);
            wx[0] = 1.0f;
            if (ix[0] != x) identity = 0;
            continue;
        }
        double c[4];
        if (a->mode == K_RS_LINEAR) {
            c[0] = 1.0 - ratio;
            c[1] = ratio;
        } else {
            double A = a->cubic_a, t = ratio + 1, u = 1 - ratio, v = 2 - ratio;
            c[0] = ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
            c[1] = ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1;
            c[2] = ((A + 2) * u - (A + 3)) * u * u + 1;
            c[3] = ((A * v - 5 * A) * v + 8 * A) * v - 4 * A;
        }
        /* The reference takes the taps nearest r from the edge-padded input (pad = taps/2). */
        int64_t pad = taps / 2, lo = (int64_t)base - (taps / 2 - 1);
        if (lo < -pad) lo = -pad;
        if (lo + taps - 1 > a->in - 1 + pad) lo = a->in - 1 + pad - (taps - 1);
        double sum = 0.0;
        for (int t = 0; t < taps; t++) {
            int64_t s = lo + t;
            if (a->exclude_outside && (s < 0 || s >= a->in)) c[t] = 0.0;
            sum += c[t];
        }
        for (int t = 0; t < taps; t++) {
            ix[t] = clamp_index(lo + t, a->in);
            wx[t] = (float)(a->exclude_outside && sum != 0.0 ? c[t] / sum : c[t]);
            if (wx[t] != 0.0f && !(ix[t] == x && wx[t] == 1.0f)) identity = 0;
        }
    }
    return identity;
}

void k_resize_pass_f32(const float *x, int64_t outer, int64_t in, int64_t inner, int64_t out,
                       int taps, const int64_t *idx, const float *w, const unsigned char *outside,
                       float extrap, float *y, int ith, int nth)
{
    int64_t lo, hi;
    k_share(outer, ith, nth, &lo, &hi);
    for (int64_t o = lo; o < hi; o++) {
        const float *xo = x + o * in * inner;
        for (int64_t q = 0; q < out; q++) {
            float *yr = y + (o * out + q) * inner;
            if (outside[q]) {
                for (int64_t i = 0; i < inner; i++) yr[i] = extrap;
                continue;
            }
            const float *x0 = xo + idx[q * taps] * inner;
            float w0 = w[q * taps];
            for (int64_t i = 0; i < inner; i++) yr[i] = w0 * x0[i];
            for (int t = 1; t < taps; t++) {
                const float *xt = xo + idx[q * taps + t] * inner;
                float wt = w[q * taps + t];
                if (wt == 0.0f) continue;
                for (int64_t i = 0; i < inner; i++) yr[i] += wt * xt[i];
            }
        }
    }
}
