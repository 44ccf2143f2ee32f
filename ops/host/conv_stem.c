/* Direct convolution for a network's first layer ("stem"): float32, 1-4 input channels
 * read in the model input's own NCHW layout, up to 64 output channels, kernels up to
 * 16 x 16, any pads, strides 1 or 2, no dilation (the tap tables would take it: not
 * tested), one group, bias, Relu / Clip; with AVX-512 (declines elsewhere, in bf16, and
 * with EMBER_CONV_STEM=0).
 *
 * Pixels lie along the vector, not channels (with 8 output channels a channel vector is
 * half empty: an earlier kernel built so lost to oneDNN). A tile is 16 consecutive output
 * pixels of R rows x G output channels (G = 16, R = 1, or G = 8, R = 2: 16 accumulators);
 * each tap (c, ky, kx) is R vectors of 16 input values and G R FMAs with the tap's
 * weights broadcast. With stride 1 a tap's vector is one load from the input row; with
 * stride 2 two loads and one two-source permute picking every other column. Where a
 * tap's columns run off the row (the pads), the loads are masked and the permute puts
 * the columns in their lanes, zeros elsewhere (a table per block of 16 pixels and kx,
 * built at prepare); rows off the input skip their taps. (A first version copied the
 * padded, even/odd-split input rows into scratch so that every tap was one load: on
 * vww_mobilenet025's 3 -> 8 stride-2 conv the copy took 3 of its 11.5 us, the permutes
 * here cost ~1 us.) The accumulators are transposed into the layout the next layer
 * reads (NHWC, nChw16c, nChw8c with 8 channels) or stored as they are (NCHW). Channels
 * past 16 take more passes (groups of 16, then 8).
 *
 * Why: see stem_shape_wins for where it is used and the measurements. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/activation.h"
#include "../nn_common.h"
#include "onednn.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ST_AVX512 1
#endif

#define MAX_C 4
#define MAX_M 64
#define MAX_GROUPS (MAX_M / 8)
#define MAX_K 16             /* kernel rows and columns, at most */
#define SHARE_MACS 65536     /* multiply-adds per thread, at least */

enum { L_PLAIN, L_NHWC, L_B16, L_B8 }; /* output layout: NCHW, NHWC, nChw16c, nChw8c (M == 8) */

typedef struct stem_group {
    int64_t m0; /* first output channel */
    int G, mg;  /* lanes computed (8 or 16; weights zero past mg), channels stored */
} stem_group;

/* Where a block of 16 output pixels reads for one tap: with stride 1 the 16 input
 * columns from `at` on, with stride 2 every other one of the 32 from `at` on (a
 * permute), each masked where it is a pad. */
typedef struct stem_tap {
    int64_t at;      /* from the tile's first input row (channel 0) to the tap's first column */
    uint16_t la, lb; /* the columns inside the row among those 16 and the next 16 */
} stem_tap;

typedef struct conv_stem {
    int64_t N, C, M, H, W, OH, OW, KH, KW, sy, sx, dy, dx, pt, pl;
    int64_t taps;                 /* C KH KW */
    int64_t blocks;               /* of 16 output pixels in a row */
    stem_tap *tap;                /* [blocks][KH][C][KW]: where block b's pixels read for a tap */
    unsigned char *plain;         /* [blocks]: no tap of block b reads a pad (all its loads whole) */
    int64_t row0, row1;           /* output rows whose taps all lie in the input */
    int ngroups;
    stem_group g[MAX_GROUPS];
    float *w;                     /* [ngroups][taps][16]: group g's taps ([KH][C][KW]) at w + g taps 16, G wide */
    float *bias;                  /* [ngroups][16] */
    int act;                      /* 0; 1: max(x, lo); 2: clamp to [lo, hi] */
    float lo, hi;
    int layout, blocks_wanted, threads;
    int64_t spx, srow, sch;       /* output strides of a pixel, a row, a channel (floats) */
} conv_stem;

static void st_release(void *p)
{
    conv_stem *s = p;
    if (!s) return;
    free(s->tap);
    free(s->plain);
    free(s->w);
    free(s->bias);
    free(s);
}

static int layout_code(int l)
{
    return l == L_NHWC ? dnnl_nhwc : l == L_B16 ? dnnl_nChw16c : l == L_B8 ? dnnl_nChw8c : 0;
}

static void st_set_out(conv_stem *s, int layout)
{
    s->layout = layout;
    s->spx = layout == L_PLAIN ? 1 : layout == L_B16 ? 16 : s->M; /* nChw8c: only with M == 8, as NHWC */
    s->srow = s->OW * s->spx;
    s->sch = layout == L_PLAIN ? s->OH * s->OW : 1;
}

/* Output channel m of pixel (oy, ox) of image n (m a group's first channel). */
static float *out_at(const conv_stem *s, float *y, int64_t n, int64_t m, int64_t oy, int64_t ox)
{
    if (s->layout == L_PLAIN) return y + ((n * s->M + m) * s->OH + oy) * s->OW + ox;
    if (s->layout == L_B16) return y + (((n * (s->M / 16) + m / 16) * s->OH + oy) * s->OW + ox) * 16 + m % 16;
    return y + ((n * s->OH + oy) * s->OW + ox) * s->M + m;
}

#ifdef ST_AVX512
#define ST_TARGET __attribute__((target("avx512f")))
#define ST_INLINE __attribute__((always_inline, target("avx512f"))) static inline

/* 16 pixels x 16 channels (a[m], pixels along) to pixel vectors at dst + p spx, p < np:
 * 4 rounds of 16 two-source shuffles. */
ST_INLINE void store_t16(const __m512 *a, float *dst, int np, int64_t spx)
{
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]);
    }
    /* u[4q + j], lane L: pixel 4L + j, channels 4q .. 4q + 3 */
    for (int q = 0; q < 4; q++) {
        u[4 * q + 0] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0x44);
        u[4 * q + 1] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0xEE);
        u[4 * q + 2] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0x44);
        u[4 * q + 3] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        __m512 w0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88), w1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
        __m512 w2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
        __m512 w3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
        __m512 p[4] = {_mm512_shuffle_f32x4(w0, w2, 0x88), _mm512_shuffle_f32x4(w1, w3, 0x88),
                       _mm512_shuffle_f32x4(w0, w2, 0xDD), _mm512_shuffle_f32x4(w1, w3, 0xDD)};
        for (int l = 0; l < 4; l++)
            if (4 * l + j < np) _mm512_storeu_ps(dst + (4 * l + j) * spx, p[l]);
    }
}

ST_INLINE void store_half(float *d, __m512 v, int hi)
{
    _mm256_storeu_ps(d, hi ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)) : _mm512_castps512_ps256(v));
}

/* 16 pixels x 8 channels: 3 rounds of 8 shuffles, then a 256-bit store per pixel. */
ST_INLINE void store_t8(const __m512 *a, float *dst, int np, int64_t spx)
{
    __m512 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]);
    }
    for (int q = 0; q < 2; q++) {
        u[4 * q + 0] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0x44);
        u[4 * q + 1] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0xEE);
        u[4 * q + 2] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0x44);
        u[4 * q + 3] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0xEE);
    }
    const __m512i i01 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i i23 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int j = 0; j < 4; j++) {
        __m512 p01 = _mm512_permutex2var_ps(u[j], i01, u[4 + j]); /* pixels j, 4 + j */
        __m512 p23 = _mm512_permutex2var_ps(u[j], i23, u[4 + j]); /* pixels 8 + j, 12 + j */
        if (j < np) store_half(dst + j * spx, p01, 0);
        if (4 + j < np) store_half(dst + (4 + j) * spx, p01, 1);
        if (8 + j < np) store_half(dst + (8 + j) * spx, p23, 0);
        if (12 + j < np) store_half(dst + (12 + j) * spx, p23, 1);
    }
}

/* One row of a tile: np pixels x mg channels from a[m] (pixels along the vector). */
ST_INLINE void store_row(const conv_stem *s, const __m512 *a, float *dst, int np, int G, int mg)
{
    if (s->sch != 1) { /* NCHW: a channel's pixels are consecutive */
        __mmask16 k = (__mmask16)((1u << np) - 1);
        for (int m = 0; m < mg; m++) _mm512_mask_storeu_ps(dst + m * s->sch, k, a[m]);
    } else if (mg == G && G == 16) {
        store_t16(a, dst, np, s->spx);
    } else if (mg == G) {
        store_t8(a, dst, np, s->spx);
    } else { /* a partial group (M not a multiple of 8): not a shape the zoo has */
        float tmp[16][16];
        for (int m = 0; m < mg; m++) _mm512_storeu_ps(tmp[m], a[m]);
        for (int p = 0; p < np; p++)
            for (int m = 0; m < mg; m++) dst[p * s->spx + m] = tmp[m][p];
    }
}

/* x + at as an address only: at may point into the pads, before or after the tensor,
 * where tap_load's masks read nothing (masked-off lanes never fault; where the tensor
 * starts or ends right at an unmapped page, those few loads take a microcode assist:
 * +0.2 us on vww's first conv, +0.5 us on cifar's, measured with guard pages). */
static inline const float *pad_addr(const float *x, int64_t at)
{
    return (const float *)((uintptr_t)x + (uintptr_t)(at * (int64_t)sizeof(float)));
}

/* Tap e of a tile whose first input row (in channel 0) starts at x + at: 16 input
 * values, pixels along (SX constant). */
ST_INLINE __m512 tap_load(const stem_tap *e, const float *x, int64_t at, const int SX, const int PLAIN)
{
    const float *p = pad_addr(x, at + e->at);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    if (PLAIN) /* a block with no pads: unmasked loads (the masks took ~25% of the loop) */
        return SX == 1 ? _mm512_loadu_ps(p) : _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
    if (SX == 1) return _mm512_maskz_loadu_ps((__mmask16)e->la, p);
    return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps((__mmask16)e->la, p), even,
                                  _mm512_maskz_loadu_ps((__mmask16)e->lb, p + 16));
}

/* The tile: output rows oy .. oy + R - 1 of image x (kernel rows [ky0, ky1), the ones
 * inside the input for all R rows), block b, group weights w ([KH][C][KW][G]); dst the
 * output at (oy, the block's first pixel, the group's first channel). */
ST_INLINE void stem_tile(const conv_stem *s, const float *x, int64_t oy, int64_t ky0, int64_t ky1, int64_t b,
                         const float *w, const float *bias, float *dst, int np, int mg, const int G, const int R,
                         const int SX, const int PLAIN)
{
    __m512 acc[2][16];
#pragma GCC unroll 2
    for (int r = 0; r < R; r++)
#pragma GCC unroll 16
        for (int m = 0; m < G; m++) acc[r][m] = _mm512_set1_ps(bias[m]);
    int64_t per = s->C * s->KW, t1 = ky1 * per, rstep = s->sy * s->W;
    const stem_tap *e = s->tap + b * s->taps;
    int64_t at = (oy * s->sy - s->pt) * s->W; /* may be < 0: the taps read from ky0 on */
    w += ky0 * per * G;
    for (int64_t t = ky0 * per; t < t1; t++, w += G) {
        __m512 v[2];
#pragma GCC unroll 2
        for (int r = 0; r < R; r++) v[r] = tap_load(e + t, x, at + r * rstep, SX, PLAIN);
#pragma GCC unroll 16
        for (int m = 0; m < G; m++) {
            __m512 bw = _mm512_set1_ps(w[m]);
#pragma GCC unroll 2
            for (int r = 0; r < R; r++) acc[r][m] = _mm512_fmadd_ps(v[r], bw, acc[r][m]);
        }
    }
    if (s->act) {
        __m512 lo = _mm512_set1_ps(s->lo), hi = _mm512_set1_ps(s->hi);
#pragma GCC unroll 2
        for (int r = 0; r < R; r++)
#pragma GCC unroll 16
            for (int m = 0; m < G; m++) {
                acc[r][m] = _mm512_max_ps(acc[r][m], lo);
                if (s->act == 2) acc[r][m] = _mm512_min_ps(acc[r][m], hi);
            }
    }
#pragma GCC unroll 2
    for (int r = 0; r < R; r++) {
        __m512 out[16]; /* a copy: store_row takes its address, and an address-taken acc stayed in memory */
#pragma GCC unroll 16
        for (int m = 0; m < G; m++) out[m] = acc[r][m];
        store_row(s, out, dst + r * s->srow, np, G, mg);
    }
}

typedef void (*stem_tile_fn)(const conv_stem *, const float *, int64_t, int64_t, int64_t, int64_t, const float *,
                             const float *, float *, int, int);
#define ST_TILE(G, R, SX, PLAIN)                                                                               \
    static ST_TARGET void tile_##G##_##R##_##SX##_##PLAIN(const conv_stem *s, const float *x, int64_t oy,         \
                                                          int64_t ky0, int64_t ky1, int64_t b, const float *w,    \
                                                          const float *bias, float *dst, int np, int mg)          \
    {                                                                                                          \
        stem_tile(s, x, oy, ky0, ky1, b, w, bias, dst, np, mg, G, R, SX, PLAIN);                               \
    }
#define ST_TILES(PLAIN)                                                                                        \
    ST_TILE(16, 1, 1, PLAIN)                                                                                   \
    ST_TILE(8, 2, 1, PLAIN)                                                                                    \
    ST_TILE(8, 1, 1, PLAIN)                                                                                    \
    ST_TILE(16, 1, 2, PLAIN)                                                                                   \
    ST_TILE(8, 2, 2, PLAIN)                                                                                    \
    ST_TILE(8, 1, 2, PLAIN)                                                                                    \
    static const stem_tile_fn tiles_##PLAIN[2][3] = {{tile_16_1_1_##PLAIN, tile_8_2_1_##PLAIN, tile_8_1_1_##PLAIN}, \
                                                     {tile_16_1_2_##PLAIN, tile_8_2_2_##PLAIN, tile_8_1_2_##PLAIN}};
ST_TILES(0)
ST_TILES(1)

typedef struct stem_job {
    const conv_stem *s;
    const float *x;
    float *y;
} stem_job;

/* Kernel rows [*ky0, *ky1) of output row oy that lie in the input. */
static void valid_ky(const conv_stem *s, int64_t oy, int64_t *ky0, int64_t *ky1)
{
    int64_t iy0 = oy * s->sy - s->pt, a = 0, b = s->KH;
    while (a < b && iy0 + a * s->dy < 0) a++;
    while (b > a && iy0 + (b - 1) * s->dy >= s->H) b--;
    *ky0 = a, *ky1 = b;
}

/* Output rows [r0, r1) of the batch (image n row oy is row n OH + oy): two at once where
 * both have every kernel row (a G = 8 tile computes both; G = 16 ones one each). */
static void stem_rows(const stem_job *j, int64_t r0, int64_t r1)
{
    const conv_stem *s = j->s;
    int sx2 = s->sx == 2;
    for (int64_t r = r0; r < r1;) {
        int64_t n = r / s->OH, oy = r % s->OH;
        const float *x = j->x + n * s->C * s->H * s->W;
        int step = r + 1 < r1 && oy >= s->row0 && oy + 1 < s->row1 ? 2 : 1;
        for (int gi = 0; gi < s->ngroups; gi++) {
            const stem_group *g = &s->g[gi];
            const float *w = s->w + gi * s->taps * 16, *bias = s->bias + gi * 16;
            int R = g->G == 8 ? step : 1, kind = g->G == 16 ? 0 : R == 2 ? 1 : 2;
            for (int64_t y = oy; y < oy + step; y += R) {
                int64_t ky0, ky1;
                valid_ky(s, y, &ky0, &ky1);
                for (int64_t b = 0; b < s->blocks; b++) {
                    int np = s->OW - 16 * b < 16 ? (int)(s->OW - 16 * b) : 16;
                    stem_tile_fn fn = s->plain[b] ? tiles_1[sx2][kind] : tiles_0[sx2][kind];
                    fn(s, x, y, ky0, ky1, b, w, bias, out_at(s, j->y, n, g->m0, y, 16 * b), np, g->mg);
                }
            }
        }
        r += step;
    }
}

/* Share ith of nth: whole pairs of output rows (R = 2 tiles). */
static void stem_share(void *ctx, int ith, int nth)
{
    const stem_job *j = ctx;
    int64_t r0, r1;
    ember_host_share(j->s->N * j->s->OH, 2, ith, nth, &r0, &r1);
    if (r0 < r1) stem_rows(j, r0, r1);
}

/* Where block bk's 16 pixels read for tap (ky, c, kx) (stem_tap): lane l reads column
 * sx (16 bk + l) - pl + kx dx, a pad where outside [0, W). True when there is none. */
static int tap_plan(conv_stem *s, int64_t bk, int64_t ky, int64_t c, int64_t kx)
{
    stem_tap *e = &s->tap[bk * s->taps + (ky * s->C + c) * s->KW + kx];
    int64_t e0 = s->sx * 16 * bk - s->pl + kx * s->dx;
    e->at = (c * s->H + ky * s->dy) * s->W + e0;
    e->la = e->lb = 0;
    for (int l = 0; l < 16; l++) {
        if (e0 + l >= 0 && e0 + l < s->W) e->la |= (uint16_t)(1u << l);
        if (e0 + 16 + l >= 0 && e0 + 16 + l < s->W) e->lb |= (uint16_t)(1u << l);
    }
    return e->la == 0xffff && (s->sx == 1 || e->lb == 0xffff); /* every column a load reads is in the row */
}
#endif


/* Where it beats oneDNN. Alone (1 thread, us, this kernel vs onednn_conv, each writing
 * the layout it offers; 3x3 pad 1 unless said): 3 -> 8 s2 96x96 (vww_mobilenet025) 10.8
 * vs 15.7; 3 -> 16 s1 32x32 (cifar_resnet8) 7.3 vs 10.1; 1 -> 8 s2 96x96 4.9 vs 8.7;
 * 1 -> 16 s1 32x32 3.5 vs 5.4; 4 -> 8 s2 96x96 14.4 vs 22.5; 3 -> 16 s2 224x224 143 vs
 * 172; 3 -> 8 5x5 s1 64x64 37 vs 88; but 3 -> 16 7x7 s2 112x112 141 vs 113. Inside the
 * models (ember profile, the first conv, us, 1 thread then 2): vww_mobilenet025 21.4 ->
 * 12.0 and 13.5 -> 8.2; cifar_resnet8 12.4 -> 8.3 and 12.6 -> 6.7; with a second pass
 * over 8 or 16 more channels, shufflenet_v2 (3 -> 24 s2 224x224) 272-283 -> 219-252 and
 * 166-171 -> 129-130, mobilenet_v2 (3 -> 32) 275-279 -> 267-275 and 173-196 -> 160-163
 * (whole models, 1 thread: 3.52 -> 3.44 ms and 6.23 -> 6.07 ms); alone these two were a
 * tie or a loss (211 vs 209, 269 vs 204 us): oneDNN's own output layout needed a reorder
 * for its readers there. Not 64 channels (squeezenet1_1's 3 -> 64 s2 unpadded: 620 vs
 * 440-478; kws_dscnn's 1 -> 64 10x4 on a 5-pixel-wide map: 18.4 vs 6.3) nor resnet18's 7x7
 * (3 -> 64: 2540-2720 vs 1940-1960). */
static int stem_shape_wins(int64_t C, int64_t M, int64_t KH, int64_t KW)
{
    return C <= 4 && M % 8 == 0 && M <= 32 && KH <= 5 && KW <= 5;
}

static ember_status st_prepare(ember_op_ctx *c, int threads, void **state)
{
    *state = NULL;
#ifndef ST_AVX512
    (void)c, (void)threads;
    return EMBER_E_UNSUPPORTED;
#else
    int enabled = ember_host_switch("EMBER_CONV_STEM");
    if (!enabled || !__builtin_cpu_supports("avx512f") || onednn_want_bf16(c)) return EMBER_E_UNSUPPORTED;
    const ember_op_tensor *w = ember_op_in(c, 1), *b = ember_op_in(c, 2);
    int sum;
    if (!onednn_conv_f32_operands(c, &sum) || sum || (b && !b->data)) return EMBER_E_UNSUPPORTED;
    const ember_op_tensor *y = c->out[0];
    nn_conv_plan p;
    TRY(nn_conv_plan_build(c, &p, 0, 1, 2));
    if (p.w.nd != 2 || p.outsp <= 0 || p.N <= 0 || p.G != 1 || p.C < 1 || p.C > MAX_C || p.M < 1 || p.M > MAX_M ||
        p.w.s[0] < 1 || p.w.s[0] > 2 || p.w.s[1] < 1 || p.w.s[1] > 2 || p.w.d[0] != 1 || p.w.d[1] != 1 ||
        p.w.k[0] > MAX_K || p.w.k[1] > MAX_K || p.out[0] != y->dims[2] || p.out[1] != y->dims[3] ||
        p.N * p.C * p.in[0] * p.in[1] > (1ll << 31) || p.N * p.M * p.outsp > (1ll << 31))
        return EMBER_E_UNSUPPORTED;
    if (enabled != 2 && !stem_shape_wins(p.C, p.M, p.w.k[0], p.w.k[1])) return EMBER_E_UNSUPPORTED;
    int act;
    float lo, hi;
    if (!onednn_conv_clamp(c, &act, &lo, &hi)) return EMBER_E_UNSUPPORTED;

    conv_stem *s = calloc(1, sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    s->N = p.N, s->C = p.C, s->M = p.M, s->H = p.in[0], s->W = p.in[1], s->OH = p.out[0], s->OW = p.out[1];
    s->KH = p.w.k[0], s->KW = p.w.k[1], s->sy = p.w.s[0], s->sx = p.w.s[1], s->dy = p.w.d[0], s->dx = p.w.d[1];
    s->pt = p.w.pb[0], s->pl = p.w.pb[1];
    s->taps = s->C * s->KH * s->KW;
    s->act = act == K_ACT_NONE ? 0 : act == K_ACT_RELU ? 1 : 2;
    s->lo = lo, s->hi = hi;
    const ember_attr *cba = ember_node_attr(c->node, "ember_channel_blocks");
    s->blocks_wanted = cba && cba->type == EMBER_ATTR_INT && cba->i == 1;
    st_set_out(s, L_PLAIN);
    s->blocks = (s->OW + 15) / 16;
    for (s->row0 = 0; s->row0 < s->OH && s->row0 * s->sy - s->pt < 0; s->row0++) {}
    for (s->row1 = s->OH; s->row1 > s->row0 && (s->row1 - 1) * s->sy - s->pt + (s->KH - 1) * s->dy >= s->H; s->row1--) {}
    for (int64_t m0 = 0; m0 < s->M; s->ngroups++) {
        int G = s->M - m0 > 8 ? 16 : 8;
        s->g[s->ngroups] = (stem_group){.m0 = m0, .G = G, .mg = (int)(s->M - m0 < G ? s->M - m0 : G)};
        m0 += G;
    }
    s->tap = malloc((size_t)(s->blocks * s->taps) * sizeof *s->tap);
    s->plain = malloc((size_t)s->blocks);
    s->w = aligned_alloc(64, (size_t)(s->ngroups * s->taps * 16) * sizeof(float));
    s->bias = calloc((size_t)s->ngroups * 16, sizeof(float));
    if (!s->tap || !s->plain || !s->w || !s->bias) {
        st_release(s);
        return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for stem conv weights");
    }
    memset(s->w, 0, (size_t)(s->ngroups * s->taps * 16) * sizeof(float));
    const float *wd = w->data; /* [M][C][KH][KW] */
    for (int gi = 0; gi < s->ngroups; gi++) {
        const stem_group *g = &s->g[gi];
        float *wg = s->w + gi * s->taps * 16;
        for (int64_t t = 0; t < s->taps; t++)
            for (int m = 0; m < g->mg; m++) { /* t in [KH][C][KW] order, wd's in [C][KH][KW] */
                int64_t kx = t % s->KW, ci = t / s->KW % s->C, ky = t / (s->KW * s->C);
                wg[t * g->G + m] = wd[(g->m0 + m) * s->taps + (ci * s->KH + ky) * s->KW + kx];
            }
        if (b)
            for (int m = 0; m < g->mg; m++) s->bias[gi * 16 + m] = ((const float *)b->data)[g->m0 + m];
    }
    for (int64_t bk = 0; bk < s->blocks; bk++) {
        s->plain[bk] = 1;
        for (int64_t ky = 0; ky < s->KH; ky++)
            for (int64_t ci = 0; ci < s->C; ci++)
                for (int64_t kx = 0; kx < s->KW; kx++) s->plain[bk] &= tap_plan(s, bk, ky, ci, kx);
    }
    s->threads = onednn_threads(threads);
    *state = s;
    return EMBER_OK;
#endif
}

static ember_status st_run(ember_op_ctx *c, void *state)
{
#ifdef ST_AVX512
    const conv_stem *s = state;
    stem_job j = {.s = s, .x = c->in[0]->data, .y = c->out[0]->data};
    if ((const void *)j.x == (void *)j.y) /* never planned so (no inplace_input) */
        return ember_op_fail(c, EMBER_E_INTERNAL, "stem conv: input and output share memory");
    double macs = (double)s->N * (double)s->OH * (double)s->OW * (double)s->taps * (double)s->M;
    int64_t want = (int64_t)(macs / SHARE_MACS), pairs = (s->N * s->OH + 1) / 2;
    if (want > s->threads) want = s->threads;
    if (want > pairs) want = pairs;
    if (want < 1) want = 1;
    ember_threadpool_run(c->pool, stem_share, &j, (int)want); /* the run's threads (exec.c's runner) */
    return EMBER_OK;
#else
    (void)state;
    return ember_op_fail(c, EMBER_E_INTERNAL, "stem conv is not built for this architecture");
#endif
}

/* Layout chaining (ops/host.h): the input stays NCHW (the model's); the output goes in
 * nChw8c for 8 channels (what oneDNN's small-channel convs read, onednn_conv.c: at
 * 8 channels the same bytes as NHWC), in nChw16c where the program marked a
 * channel-blocked region, NHWC otherwise. */
static int st_out_layout(void *state, int out_idx)
{
    const conv_stem *s = state;
    if (out_idx != 0) return 0;
    if (s->layout != L_PLAIN) return layout_code(s->layout);
    if (s->M == 8) return dnnl_nChw8c;
    if (s->blocks_wanted && s->M % 16 == 0) return dnnl_nChw16c;
    return dnnl_nhwc;
}

static int st_accepts_layout(void *state, int in_idx, int layout)
{
    (void)state, (void)in_idx, (void)layout;
    return 0;
}

static ember_status st_set_layout(void *state, int is_output, int idx, int layout, size_t *scratch_bytes)
{
    conv_stem *s = state;
    (void)scratch_bytes;
    int l = layout == dnnl_nhwc ? L_NHWC : layout == dnnl_nChw16c ? L_B16 : layout == dnnl_nChw8c ? L_B8 : -1;
    if (!is_output || idx != 0 || l < 0 || (l == L_B16 && s->M % 16) || (l == L_B8 && s->M != 8))
        return ember_error(EMBER_E_INTERNAL, "stem conv: layout %d was not offered", layout);
    st_set_out(s, l);
    return EMBER_OK;
}

const ember_host_kernel ember_host_conv_stem = {
    .name = "conv_stem",
    .op = EMBER_OP_CONV,
    .prepare = st_prepare,
    .run = st_run,
    .release = st_release,
    .out_layout = st_out_layout,
    .accepts_layout = st_accepts_layout,
    .set_layout = st_set_layout,
    .drops_input = ember_host_drops_conv_weights,
};
