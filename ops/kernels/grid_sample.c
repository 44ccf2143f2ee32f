/* GridSample follows the ONNX reference / ONNX Runtime: coordinates are denormalized,
 * rounded (nearest) and moved inside the border (border, reflection) before the taps are
 * read; taps outside the image read 0 (zeros) or are clamped / reflected again. */
#include "grid_sample.h"

#include <math.h>

#include "gemm.h"

static float denorm(float n, int64_t len, int align)
{
    return align ? (n + 1) / 2.0f * (float)(len - 1) : ((n + 1) * (float)len - 1) / 2.0f;
}

static float reflect(float x, float lo, float hi)
{
    float range = hi - lo;
    if (range <= 0.0f) return lo;
    if (x < lo) {
        float dx = lo - x;
        int n = (int)(dx / range);
        float r = dx - (float)n * range;
        return n % 2 == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        float dx = x - hi;
        int n = (int)(dx / range);
        float r = dx - (float)n * range;
        return n % 2 == 0 ? hi - r : lo + r;
    }
    return x;
}

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

typedef struct gs_img {
    const float *p;
    int64_t H, W;
    int padding;
    float border[4]; /* x_min, y_min, x_max, y_max */
} gs_img;

static float pixel(const gs_img *im, int64_t r, int64_t c)
{
    if (im->padding == K_GS_ZEROS) {
        if (c < 0 || c >= im->W || r < 0 || r >= im->H) return 0.0f;
    } else if (im->padding == K_GS_BORDER) {
        c = clampi(c, 0, im->W - 1);
        r = clampi(r, 0, im->H - 1);
    } else {
        c = (int64_t)reflect((float)c, im->border[0], im->border[2]);
        r = (int64_t)reflect((float)r, im->border[1], im->border[3]);
        c = clampi(c, 0, im->W - 1);
        r = clampi(r, 0, im->H - 1);
    }
    return im->p[r * im->W + c];
}

static void cubic_coeffs(float t, float c[4])
{
    const float A = -0.75f;
    float x = fabsf(t);
    c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    c[3] = ((A * (2 - x) - 5 * A) * (2 - x) + 8 * A) * (2 - x) - 4 * A;
}

void k_grid_sample_f32(const float *x, int64_t N, int64_t C, int64_t H, int64_t W,
                       const float *grid, int64_t Ho, int64_t Wo, int mode, int padding,
                       int align_corners, float *y, int ith, int nth)
{
    int64_t lo, hi;
    k_share(N, ith, nth, &lo, &hi);
    float xmin = align_corners ? 0.0f : -0.5f, ymin = xmin;
    float xmax = align_corners ? (float)(W - 1) : (float)W - 0.5f;
    float ymax = align_corners ? (float)(H - 1) : (float)H - 0.5f;
    for (int64_t n = lo; n < hi; n++)
        for (int64_t ch = 0; ch < C; ch++) {
            gs_img im = {x + (n * C + ch) * H * W, H, W, padding, {xmin, ymin, xmax, ymax}};
            float *yc = y + (n * C + ch) * Ho * Wo;
            const float *g = grid + n * Ho * Wo * 2;
            for (int64_t q = 0; q < Ho * Wo; q++) {
                float gx = denorm(g[2 * q], W, align_corners), gy = denorm(g[2 * q + 1], H, align_corners);
                if (mode == K_GS_NEAREST) {
                    gx = nearbyintf(gx);
                    gy = nearbyintf(gy);
                }
                if (gx < xmin || gx > xmax || gy < ymin || gy > ymax) {
                    if (padding == K_GS_BORDER) {
                        gx = gx < 0 ? 0 : gx > (float)(W - 1) ? (float)(W - 1) : gx;
                        gy = gy < 0 ? 0 : gy > (float)(H - 1) ? (float)(H - 1) : gy;
                    } else if (padding == K_GS_REFLECTION) {
                        gx = reflect(gx, xmin, xmax);
                        gy = reflect(gy, ymin, ymax);
                    }
                }
                float v;
                if (mode == K_GS_NEAREST) {
                    v = pixel(&im, (int64_t)gy, (int64_t)gx);
                } else if (mode == K_GS_BILINEAR) {
                    int64_t x1 = (int64_t)floorf(gx), y1 = (int64_t)floorf(gy);
                    float dx1 = gx - (float)x1, dx2 = (float)(x1 + 1) - gx;
                    float dy1 = gy - (float)y1, dy2 = (float)(y1 + 1) - gy;
                    v = dy2 * (dx2 * pixel(&im, y1, x1) + dx1 * pixel(&im, y1, x1 + 1)) +
                        dy1 * (dx2 * pixel(&im, y1 + 1, x1) + dx1 * pixel(&im, y1 + 1, x1 + 1));
                } else {
                    int64_t x0 = (int64_t)floorf(gx) - 1, y0 = (int64_t)floorf(gy) - 1;
                    float cx[4], cy[4], rows[4];
                    cubic_coeffs(gx - (float)x0 - 1, cx);
                    cubic_coeffs(gy - (float)y0 - 1, cy);
                    for (int i = 0; i < 4; i++) {
                        rows[i] = 0.0f;
                        for (int j = 0; j < 4; j++) rows[i] += cx[j] * pixel(&im, y0 + i, x0 + j);
                    }
                    v = cy[0] * rows[0] + cy[1] * rows[1] + cy[2] * rows[2] + cy[3] * rows[3];
                }
                yc[q] = v;
            }
        }
}

void k_roi_align_f32(const float *x, int64_t C, int64_t H, int64_t W, const float *rois,
                     const int64_t *batch, int64_t R, int64_t ph, int64_t pw, int64_t sampling,
                     float spatial_scale, int half_pixel, int max_mode, float *y, int ith, int nth)
{
    int64_t lo, hi;
    k_share(R, ith, nth, &lo, &hi);
    float off = half_pixel ? 0.5f : 0.0f;
    for (int64_t r = lo; r < hi; r++) {
        const float *roi = rois + r * 4;
        float sw = roi[0] * spatial_scale - off, sh = roi[1] * spatial_scale - off;
        float ew = roi[2] * spatial_scale - off, eh = roi[3] * spatial_scale - off;
        float rw = ew - sw, rh = eh - sh;
        if (!half_pixel) {
            rw = rw > 1.0f ? rw : 1.0f;
            rh = rh > 1.0f ? rh : 1.0f;
        }
        float bh = rh / (float)ph, bw = rw / (float)pw;
        int64_t gh = sampling > 0 ? sampling : (int64_t)ceilf(rh / (float)ph);
        int64_t gw = sampling > 0 ? sampling : (int64_t)ceilf(rw / (float)pw);
        float count = (float)(gh * gw > 1 ? gh * gw : 1);
        for (int64_t c = 0; c < C; c++) {
            const float *img = x + (batch[r] * C + c) * H * W;
            for (int64_t py = 0; py < ph; py++)
                for (int64_t px = 0; px < pw; px++) {
                    float acc = 0.0f;
                    int first = 1;
                    for (int64_t iy = 0; iy < gh; iy++) {
                        float yy = sh + (float)py * bh + ((float)iy + 0.5f) * bh / (float)gh;
                        for (int64_t ix = 0; ix < gw; ix++) {
                            float xx = sw + (float)px * bw + ((float)ix + 0.5f) * bw / (float)gw;
                            float v = 0.0f;
                            if (!(yy < -1.0f || yy > (float)H || xx < -1.0f || xx > (float)W)) {
                                float yv = yy <= 0 ? 0 : yy, xv = xx <= 0 ? 0 : xx;
                                int64_t yl = (int64_t)yv, xl = (int64_t)xv, yh, xh;
                                if (yl >= H - 1) yh = yl = H - 1, yv = (float)yl;
                                else yh = yl + 1;
                                if (xl >= W - 1) xh = xl = W - 1, xv = (float)xl;
                                else xh = xl + 1;
                                float ly = yv - (float)yl, lx = xv - (float)xl, hy = 1 - ly, hx = 1 - lx;
                                float v1 = hy * hx * img[yl * W + xl], v2 = hy * lx * img[yl * W + xh];
                                float v3 = ly * hx * img[yh * W + xl], v4 = ly * lx * img[yh * W + xh];
                                if (max_mode) {
                                    v = v1 > v2 ? v1 : v2;
                                    v = v > v3 ? v : v3;
                                    v = v > v4 ? v : v4;
                                } else {
                                    v = v1 + v2 + v3 + v4;
                                }
                            }
                            if (max_mode) {
                                acc = first || v > acc ? v : acc;
                                first = 0;
                            } else {
                                acc += v;
                            }
                        }
                    }
                    y[((r * C + c) * ph + py) * pw + px] = max_mode ? acc : acc / count;
                }
        }
    }
}
