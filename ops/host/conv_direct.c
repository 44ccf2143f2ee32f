/* Direct convolutions with few taps a pixel on small maps: float32, one group, input in
 * the model's NCHW, C * KH * KW <= 64 taps, M a multiple of 64, maps of <= 256 output
 * pixels, with AVX-512 (declines elsewhere, in bf16, and with EMBER_CONV_DIRECT=0).
 * Each run copies the input into scratch with its pads as zeros ([C][H + pads][W +
 * pads], a few KB), so that every tap of every output pixel is a load at a constant
 * offset from the pixel's corner: a register tile of R output pixels (any R: pixels in
 * raster order, each with its own corner) x 64 output channels walks the taps through a
 * table of offsets, one broadcast a pixel and 4 weight vectors a tap; bias and Relu / Clip
 * fused, written in NHWC or nChw16c for the next layer (or NCHW through a small buffer,
 * when the reader is not a host kernel).
 *
 * Why: kws_dscnn's first conv (1 -> 64, 10x4 filter, stride 2, 49x10 -> 25x5) ran 5.5 us
 * in oneDNN (~115 GFLOP/s). conv_stem.c puts pixels along the vector, and a row of 5
 * pixels fills a third of it (18.4 us); im2col + pw_small.c's GEMM took 7.2 us (the copy
 * of 125 x 40 taps by masked stores, and K padded from 40 to 48). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/activation.h"
#include "../nn_common.h"
#include "onednn.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CD_AVX512 1
#endif

#define MAX_TAPS 64    /* C * KH * KW, at most */
#define MAX_PIXELS 256 /* output pixels of an image, at most */
#define MR 6           /* pixels a register tile */

enum { L_PLAIN, L_NHWC, L_B16 }; /* output layout: NCHW, NHWC, nChw16c */

typedef struct conv_direct {
    int64_t N, C, M, H, W, OH, OW, KH, KW, sy, sx, pt, pl;
    int64_t Hp, Wp, K;           /* the padded input's rows and columns; taps a pixel */
    int64_t panels;              /* M / 64 */
    float *w;                    /* [panels][K][64] */
    float *bias;                 /* [M] */
    int64_t toff[MAX_TAPS];      /* tap k's offset from a pixel's corner in the padded input */
    int64_t corner[MAX_PIXELS];  /* output pixel q's corner (tap 0) in the padded input */
    float lo, hi;                /* the activation as a clamp (-inf, +inf: none) */
    int layout;
} conv_direct;

static void cd_release(void *p)
{
    conv_direct *s = p;
    if (!s) return;
    free(s->w);
    free(s->bias);
    free(s);
}

#ifdef CD_AVX512
/* R pixels (corners co) x 64 channels: the sums over the K taps, then bias and clamp;
 * vector v of pixel i to y + v * yvs + i * yps. */
#define CD_TILE(R, MIN)                                                                                          \
    __attribute__((target("avx512f"))) static void tile_##R##_##MIN(const conv_direct *s, const float *xp,           \
                                                            const int64_t *co, const float *w,              \
                                                            const float *bias, float *y, int64_t yvs,       \
                                                            int64_t yps)                                    \
    {                                                                                                       \
        __m512 acc[R][4];                                                                                   \
        for (int v = 0; v < 4; v++) _Pragma("GCC unroll 8") for (int i = 0; i < R; i++) acc[i][v] = _mm512_setzero_ps(); \
        const float *px[R];                                                                                 \
        for (int i = 0; i < R; i++) px[i] = xp + co[i];                                                     \
        int64_t K = s->K;                                                                                   \
        if (K < 1) __builtin_unreachable();                                                                 \
        for (int64_t k = 0; k < K; k++, w += 64) {                                                          \
            __m512 wv[4];                                                                                   \
            for (int v = 0; v < 4; v++) wv[v] = _mm512_load_ps(w + 16 * v);                                 \
            int64_t o = s->toff[k];                                                                         \
            _Pragma("GCC unroll 8") for (int i = 0; i < R; i++) {                                           \
                __m512 b = _mm512_set1_ps(px[i][o]);                                                        \
                for (int v = 0; v < 4; v++) acc[i][v] = _mm512_fmadd_ps(b, wv[v], acc[i][v]);               \
            }                                                                                               \
        }                                                                                                   \
        __m512 lo = _mm512_set1_ps(s->lo), hi = _mm512_set1_ps(s->hi);                                      \
        for (int v = 0; v < 4; v++) {                                                                       \
            __m512 b = _mm512_loadu_ps(bias + 16 * v);                                                      \
            _Pragma("GCC unroll 8") for (int i = 0; i < R; i++)                                             \
            {                                                                                               \
                __m512 r = _mm512_max_ps(_mm512_add_ps(acc[i][v], b), lo);                                   \
                _mm512_storeu_ps(y + v * yvs + i * yps, MIN ? _mm512_min_ps(r, hi) : r);                      \
            }                                                                                               \
        }                                                                                                   \
    }
#define CD_TILES(R) CD_TILE(R, 0) CD_TILE(R, 1)
CD_TILES(6)
CD_TILES(5)
CD_TILES(4)
CD_TILES(3)
CD_TILES(2)
CD_TILES(1)

typedef void (*cd_tile_fn)(const conv_direct *, const float *, const int64_t *, const float *, const float *, float *,
                           int64_t, int64_t);
/* [max only (no activation, Relu) / max and min (Clip)][pixels] */
static const cd_tile_fn tiles[2][MR + 1] = {{NULL, tile_1_0, tile_2_0, tile_3_0, tile_4_0, tile_5_0, tile_6_0},
                                            {NULL, tile_1_1, tile_2_1, tile_3_1, tile_4_1, tile_5_1, tile_6_1}};

/* The input of one image with zero pads, [C][Hp][Wp]. */
static void cd_pad(const conv_direct *s, const float *x, float *xp)
{
    memset(xp, 0, (size_t)(s->C * s->Hp * s->Wp) * sizeof(float));
    for (int64_t c = 0; c < s->C; c++)
        for (int64_t r = 0; r < s->H; r++)
            memcpy(xp + (c * s->Hp + s->pt + r) * s->Wp + s->pl, x + (c * s->H + r) * s->W, (size_t)s->W * sizeof(float));
}

/* Image n: each panel over all pixels (channels-last output), or MR pixels at a time
 * through a buffer transposed into NCHW. */
static void cd_image(const conv_direct *s, const float *x, float *y, float *xp)
{
    int64_t hw = s->OH * s->OW;
    int clip = s->hi < INFINITY;
    cd_pad(s, x, xp);
    if (s->layout != L_PLAIN) {
        int64_t yvs = s->layout == L_NHWC ? 16 : 16 * hw, yps = s->layout == L_NHWC ? s->M : 16;
        for (int64_t p = 0; p < s->panels; p++)
            for (int64_t q = 0; q < hw; q += MR) {
                int64_t r = hw - q < MR ? hw - q : MR;
                tiles[clip][r](s, xp, s->corner + q, s->w + p * s->K * 64, s->bias + p * 64, y + p * 4 * yvs + q * yps, yvs,
                         yps);
            }
        return;
    }
    float t[MR * 64];
    for (int64_t p = 0; p < s->panels; p++)
        for (int64_t q = 0; q < hw; q += MR) {
            int64_t r = hw - q < MR ? hw - q : MR;
            tiles[clip][r](s, xp, s->corner + q, s->w + p * s->K * 64, s->bias + p * 64, t, 16, 64);
            for (int64_t i = 0; i < r; i++)
                for (int64_t m = 0; m < 64; m++) y[(p * 64 + m) * hw + q + i] = t[i * 64 + m];
        }
}
#endif

/* Where it beats oneDNN: kws_dscnn's 1 -> 64 10x4 stride 2 (49x10 -> 25x5), 4.3 us in the
 * model against oneDNN's 5.5 (one thread; alone 4.0 us, 161 GFLOP/s), the model 38.9 ->
 * 37.4 us. The zoo's other first convs stay with conv_stem.c and oneDNN: larger maps (a
 * panel's pass over them leaves L1), M not a multiple of 64, or more taps (7x7 x 3). */
static int direct_shape_wins(int64_t K, int64_t M, int64_t pixels, int threads)
{
    return threads == 1 && K <= MAX_TAPS && M % 64 == 0 && M <= 256 && pixels <= MAX_PIXELS;
}

static ember_status cd_prepare(ember_op_ctx *c, int threads, void **state)
{
    *state = NULL;
#ifndef CD_AVX512
    (void)c, (void)threads;
    return EMBER_E_UNSUPPORTED;
#else
    int enabled, sum;
    nn_conv_plan p;
    TRY(onednn_own_conv_start(c, "EMBER_CONV_DIRECT", &enabled, &sum, &p));
    if (sum) return EMBER_E_UNSUPPORTED;
    const ember_op_tensor *w = ember_op_in(c, 1), *b = ember_op_in(c, 2), *y = c->out[0];
    int64_t K = p.C * p.w.k[0] * p.w.k[1], hw = p.out[0] * p.out[1];
    int64_t Hp = p.in[0] + p.w.pb[0] + p.w.pe[0], Wp = p.in[1] + p.w.pb[1] + p.w.pe[1];
    if (p.w.nd != 2 || p.outsp <= 0 || p.N <= 0 || p.G != 1 || p.M % 64 || p.w.d[0] != 1 || p.w.d[1] != 1 ||
        K > MAX_TAPS || hw > MAX_PIXELS || p.out[0] != y->dims[2] || p.out[1] != y->dims[3] ||
        p.C * Hp * Wp > (1 << 20) || p.N * p.C * p.in[0] * p.in[1] > (1ll << 31))
        return EMBER_E_UNSUPPORTED;
    if (enabled != 2 && !direct_shape_wins(K, p.M, hw, threads)) return EMBER_E_UNSUPPORTED;
    int act;
    float lo, hi;
    if (!onednn_conv_clamp(c, &act, &lo, &hi)) return EMBER_E_UNSUPPORTED;

    conv_direct *s = calloc(1, sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    s->N = p.N, s->C = p.C, s->M = p.M, s->H = p.in[0], s->W = p.in[1], s->OH = p.out[0], s->OW = p.out[1];
    s->KH = p.w.k[0], s->KW = p.w.k[1], s->sy = p.w.s[0], s->sx = p.w.s[1], s->pt = p.w.pb[0], s->pl = p.w.pb[1];
    s->Hp = Hp, s->Wp = Wp, s->K = K, s->panels = s->M / 64;
    s->lo = act == K_ACT_NONE ? -INFINITY : lo, s->hi = act == K_ACT_NONE ? INFINITY : hi;
    for (int64_t ci = 0, k = 0; ci < s->C; ci++)
        for (int64_t ky = 0; ky < s->KH; ky++)
            for (int64_t kx = 0; kx < s->KW; kx++) s->toff[k++] = (ci * Hp + ky) * Wp + kx;
    for (int64_t q = 0; q < hw; q++) s->corner[q] = q / s->OW * s->sy * Wp + q % s->OW * s->sx;
    s->w = aligned_alloc(64, (size_t)(s->M * K) * sizeof(float));
    s->bias = calloc((size_t)s->M, sizeof(float));
    if (!s->w || !s->bias) {
        cd_release(s);
        return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for direct conv weights");
    }
    const float *wd = w->data; /* [M][C][KH][KW]: row m is output channel m's K taps */
    for (int64_t q = 0; q < s->panels; q++)
        for (int64_t k = 0; k < K; k++)
            for (int64_t m = 0; m < 64; m++) s->w[(q * K + k) * 64 + m] = wd[(q * 64 + m) * K + k];
    if (b) memcpy(s->bias, b->data, (size_t)s->M * sizeof(float));
    c->scratch_bytes = (size_t)(s->C * Hp * Wp) * sizeof(float);
    *state = s;
    return EMBER_OK;
#endif
}

static ember_status cd_run(ember_op_ctx *c, void *state)
{
#ifdef CD_AVX512
    const conv_direct *s = state;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    if (!c->scratch) return ember_op_fail(c, EMBER_E_INTERNAL, "direct conv: no scratch");
    for (int64_t n = 0; n < s->N; n++) /* one thread: the shape rule's programs */
        cd_image(s, x + n * s->C * s->H * s->W, y + n * s->M * s->OH * s->OW, c->scratch);
    return EMBER_OK;
#else
    (void)state;
    return ember_op_fail(c, EMBER_E_INTERNAL, "direct conv is not built for this architecture");
#endif
}

/* Layout chaining (ops/host.h): the input stays NCHW (the model's); the output goes in
 * nChw16c (kws_dscnn: 37.4 us against 38.2 with NHWC, which its depthwise and pointwise
 * readers then follow). */
static int cd_out_layout(void *state, int out_idx)
{
    const conv_direct *s = state;
    if (out_idx != 0 || s->layout != L_PLAIN) return 0;
    return dnnl_nChw16c;
}

static int cd_accepts_layout(void *state, int in_idx, int layout)
{
    (void)state, (void)in_idx, (void)layout;
    return 0;
}

static ember_status cd_set_layout(void *state, int is_output, int idx, int layout, size_t *scratch_bytes)
{
    conv_direct *s = state;
    (void)scratch_bytes;
    int l = layout == dnnl_nhwc ? L_NHWC : layout == dnnl_nChw16c ? L_B16 : -1;
    if (!is_output || idx != 0 || l < 0)
        return ember_error(EMBER_E_INTERNAL, "direct conv: layout %d was not offered", layout);
    s->layout = l;
    return EMBER_OK;
}

const ember_host_kernel ember_host_conv_direct = {
    .name = "conv_direct",
    .op = EMBER_OP_CONV,
    .prepare = cd_prepare,
    .run = cd_run,
    .release = cd_release,
    .out_layout = cd_out_layout,
    .accepts_layout = cd_accepts_layout,
    .set_layout = cd_set_layout,
    .drops_input = ember_host_drops_conv_weights,
};
