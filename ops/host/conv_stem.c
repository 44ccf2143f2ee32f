/* Direct convolution for a network's first layer ("stem"): float32, 1-4 input channels
 * read in the model input's own NCHW layout, up to 64 output channels, kernels up to
 * 16 x 16, any pads, strides 1 or 2, no dilation, one group, bias, Relu / Clip; with
 * AVX-512 (declines elsewhere, in bf16, and with EMBER_CONV_STEM=0).
 *
 * Channels lie along the vector, 4 of them x 4 output pixels, and a tap's input for 4
 * consecutive pixels is one 128-bit broadcast load feeding the FMAs of all the group's
 * channels (2 for 8 channels, 4 for 16: stem_tile); a few shuffles per 4 pixels at the
 * end make the tile's output pixel-major (NHWC, nChw16c, nChw8c). (The first version put
 * 16 pixels along the vector and broadcast the weights: at stride 2 every tap needed two
 * loads and a two-source permute on port 5, the second FMA port, the pads masked loads
 * through per-block tables, and the 8 x 16 result 24 shuffles of transpose: 11.2 us on
 * vww_mobilenet025's 3 -> 8 stride-2 conv in the model, 9.9 alone; this kernel 7.7
 * alone, see stem_shape_wins.)
 *
 * The input rows go through a ring in scratch (per channel KH + sy rows, rounded up to a
 * power of 2; one ring per thread), each row copied once with its pads as zeros
 * (columns) and, at stride 2, split into its even then its odd columns, so that
 * consecutive output pixels read consecutive floats for every tap: a tap is [ring row +
 * column offset + pixel], from a table of offsets per ring phase built at prepare. Rows
 * off the input (the top and bottom pads) are skipped, not read. The copy is whole-vector
 * loads, permutes (stride 2) and aligned stores, for the next output row before this
 * one's tiles (their loads never wait on its stores): 2 rows x 3 channels x 3 chunks of
 * 32 columns per output row of vww's conv.
 *
 * Where vww's 7.7 us go (alone, 1 thread): the tiles ~5.9 (~170 GFLOP/s; the core's
 * FMA peak is ~215, a bare FMA loop with a broadcast load per FMA reached 185), the copy
 * ~1.35 (~3 cycles per 32 columns even from L1, more from L2; copying one chunk per tap
 * inside the tap loop instead was slower, as was prefetching the input rows ahead, +0.4
 * us), the rest ~0.4 (zeroing the ring, the row loop).
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
#define MAX_K 16         /* kernel rows and columns, at most */
#define MAX_TW 48        /* output pixels of a tile, at most */
#define SHARE_MACS 65536 /* multiply-adds per thread, at least */

enum { L_PLAIN, L_NHWC, L_B16, L_B8 }; /* output layout: NCHW, NHWC, nChw16c, nChw8c (M == 8) */

/* Tile widths (output pixels) a group may use: 16 channels (as many accumulators), 8
 * channels (half as many). A row takes the width that computes the fewest pixels past
 * OW, the wider one on a tie (more independent FMA chains, fewer tile calls). */
static const int tw16[] = {8, 12, 16, 24};
static const int tw8[] = {16, 24, 32, 48};
#define N16 ((int)(sizeof tw16 / sizeof *tw16))
#define N8 ((int)(sizeof tw8 / sizeof *tw8))

typedef struct stem_group {
    int64_t m0;   /* first output channel */
    int G, mg;    /* channels computed (16 or 8), stored (weights zero past mg) */
    int tw, tile; /* tile width (pixels), its index in tw16 / tw8 */
} stem_group;

typedef struct conv_stem {
    int64_t N, C, M, H, W, OH, OW, KH, KW, sy, sx, pt, pl;
    int64_t taps;      /* C KH KW */
    int64_t lrow;      /* floats of a ring row: the padded row (sx 1), its even then odd columns (sx 2) */
    int64_t slots;     /* ring rows per channel: a power of 2 >= KH + sy */
    int64_t xe, xo;    /* where in a ring row the input row's even and odd columns go (sx 1: xe, all) */
    int64_t ring;      /* floats of one thread's ring: [C][slots] rows */
    int64_t k0;        /* input columns copied in whole vectors; then the tail: */
    uint16_t ma, mb, me, mo; /* its loads' masks, its stores' (sx 2: even, odd columns) */
    int32_t *off;      /* [slots phases][taps]: tap t of output pixel 0 in the ring (taps [KH][C][KW]) */
    int ngroups;
    stem_group g[MAX_GROUPS];
    float *w;          /* [ngroups][taps * 64]: tap t's weights in the group's lanes at 4 G t */
    float *bias;       /* [ngroups][64], in lanes */
    int act;           /* 0; 1: max(x, lo); 2: clamp to [lo, hi] */
    float lo, hi;
    int layout, blocks_wanted, threads;
    int64_t spx, sch;  /* output strides of a pixel and of a channel (floats) */
} conv_stem;

static void st_release(void *p)
{
    conv_stem *s = p;
    if (!s) return;
    free(s->off);
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
    s->sch = layout == L_PLAIN ? s->OH * s->OW : 1;
}

/* Output channel m of pixel (oy, ox) of image n (m a group's first channel). */
static float *out_at(const conv_stem *s, float *y, int64_t n, int64_t m, int64_t oy, int64_t ox)
{
    if (s->layout == L_PLAIN) return y + ((n * s->M + m) * s->OH + oy) * s->OW + ox;
    if (s->layout == L_B16) return y + (((n * (s->M / 16) + m / 16) * s->OH + oy) * s->OW + ox) * 16 + m % 16;
    return y + ((n * s->OH + oy) * s->OW + ox) * s->M + m;
}

/* Kernel rows [*ky0, *ky1) of output row oy that lie in the input. */
static void valid_ky(const conv_stem *s, int64_t oy, int64_t *ky0, int64_t *ky1)
{
    int64_t iy0 = oy * s->sy - s->pt, a = 0, b = s->KH;
    while (a < b && iy0 + a < 0) a++;
    while (b > a && iy0 + b - 1 >= s->H) b--;
    *ky0 = a, *ky1 = b;
}

#ifdef ST_AVX512
#define ST_TARGET __attribute__((target("avx512f")))
#define ST_INLINE __attribute__((always_inline, target("avx512f"))) static inline

/* What a tile computes and where it goes. */
typedef struct stem_args {
    const float *base;   /* the thread's ring + the tile's first pixel */
    const int32_t *off;  /* the row's tap offsets (its ring phase) */
    const float *w;      /* the group's weights [taps][4 G] */
    const float *bias;   /* [4 G], in the weights' lanes */
    int64_t t0, t1;      /* taps [t0, t1): the kernel rows inside the input */
    float *dst;          /* the output at the tile's first pixel and the group's first channel */
    int64_t spx, sch;    /* output strides */
    int np, mg;          /* pixels and channels to store */
    int act;
    float lo, hi;
} stem_args;

/* The tile: J accumulators, every tap one FMA each, over the tile's pixels in quads:
 * acc[H q + h] (H = G / 4) holds pixels 4q .. 4q + 3 x channels 4h .. 4h + 3 (lane 4 m +
 * p), so the 4 pixels' inputs are one 128-bit broadcast load for H FMAs. (With 8
 * channels as 2 pixels x 8 channels, a 64-bit broadcast load per FMA, vww's 48-pixel tile
 * took 133 ns, this way 120; 16 channels with the pixel's input broadcast into each FMA,
 * a load per FMA too: cifar_resnet8's 3 -> 16 conv alone 6.40 us, this way 6.27,
 * mobilenet_v2's 3 -> 32 174 -> 164, shufflenet_v2's 3 -> 24 140 -> 132.) At the end
 * the H vectors of a quad go back to pixel-major order: acc[j] then holds pixel j (G 16)
 * or pixels 2j and 2j + 1 (G 8). GCC's tune=sapphirerapids: 2% slower here. */
ST_INLINE void stem_tile(const stem_args *a, const int G, const int J)
{
    const int H = G / 4;
    const float *base = a->base, *w = a->w;
    const int32_t *off = a->off;
    int64_t t0 = a->t0, t1 = a->t1;
    __m512 acc[24], bv[4];
#pragma GCC unroll 4
    for (int h = 0; h < H; h++) bv[h] = _mm512_loadu_ps(a->bias + 16 * h);
#pragma GCC unroll 24
    for (int j = 0; j < J; j++) acc[j] = bv[j % H];
    for (int64_t t = t0; t < t1; t++) {
        const float *p = base + off[t];
        __m512 wv[4];
#pragma GCC unroll 4
        for (int h = 0; h < H; h++) wv[h] = _mm512_load_ps(w + 4 * G * t + 16 * h);
#pragma GCC unroll 12
        for (int q = 0; q < J / H; q++) {
            __m512 x = _mm512_broadcast_f32x4(_mm_loadu_ps(p + 4 * q));
#pragma GCC unroll 4
            for (int h = 0; h < H; h++) acc[H * q + h] = _mm512_fmadd_ps(x, wv[h], acc[H * q + h]);
        }
    }
    int act = a->act, np = a->np, mg = a->mg;
    if (act) {
        __m512 lo = _mm512_set1_ps(a->lo), hi = _mm512_set1_ps(a->hi);
#pragma GCC unroll 24
        for (int j = 0; j < J; j++) {
            acc[j] = _mm512_max_ps(acc[j], lo);
            if (act == 2) acc[j] = _mm512_min_ps(acc[j], hi);
        }
    }
    /* channels 0-3 and 4-7 of a quad to pixels 4q, 4q + 1 and 4q + 2, 4q + 3 x 8 channels */
    const __m512i i0 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const __m512i i1 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
#pragma GCC unroll 12
    for (int q = 0; q < J / H; q++) {
        __m512 *v = acc + H * q, c0 = v[0], c1 = v[1];
        v[0] = _mm512_permutex2var_ps(c0, i0, c1);
        v[1] = _mm512_permutex2var_ps(c0, i1, c1);
        if (G == 16) { /* and channels 8-15 likewise, then pixel by pixel: 8 shuffles per 4 pixels */
            __m512 c2 = v[2], c3 = v[3], l01 = v[0], l23 = v[1];
            __m512 h01 = _mm512_permutex2var_ps(c2, i0, c3), h23 = _mm512_permutex2var_ps(c2, i1, c3);
            v[0] = _mm512_shuffle_f32x4(l01, h01, 0x44);
            v[1] = _mm512_shuffle_f32x4(l01, h01, 0xEE);
            v[2] = _mm512_shuffle_f32x4(l23, h23, 0x44);
            v[3] = _mm512_shuffle_f32x4(l23, h23, 0xEE);
        }
    }
    float *dst = a->dst;
    int64_t spx = a->spx, sch = a->sch;
    __mmask16 k = (__mmask16)((1u << mg) - 1);
    if (sch != 1) { /* NCHW: through a pixel-major copy (no zoo model's first conv writes it) */
        float tmp[MAX_TW * 16];
        int nq = np < 16 * J / G ? np : 16 * J / G;
#pragma GCC unroll 24
        for (int j = 0; j < J; j++) _mm512_storeu_ps(tmp + 16 * j, acc[j]);
        for (int m = 0; m < mg; m++)
            for (int q = 0; q < nq; q++) dst[m * sch + q] = tmp[q * G + m];
    } else if (G == 16) {
#pragma GCC unroll 24
        for (int j = 0; j < J; j++)
            if (j < np) _mm512_mask_storeu_ps(dst + j * spx, k, acc[j]);
    } else if (spx == 8 && mg == 8 && np == 2 * J) { /* 8 channels: pixels contiguous */
#pragma GCC unroll 24
        for (int j = 0; j < J; j++) _mm512_storeu_ps(dst + 16 * j, acc[j]);
    } else {
#pragma GCC unroll 24
        for (int j = 0; j < J; j++) {
            if (2 * j < np) _mm512_mask_storeu_ps(dst + 2 * j * spx, k, acc[j]);
            /* lanes 8.. at pixel 2j + 1: the masked-off ones fall on pixel 2j's, in the tensor */
            if (2 * j + 1 < np) _mm512_mask_storeu_ps(dst + (2 * j + 1) * spx - 8, (__mmask16)(k << 8), acc[j]);
        }
    }
}

typedef void (*stem_tile_fn)(const stem_args *);
#define ST_TILE(G, TW)                                                                                         \
    static ST_TARGET void tile_##G##_##TW(const stem_args *a) { stem_tile(a, G, G == 16 ? TW : TW / 2); }
ST_TILE(16, 8)
ST_TILE(16, 12)
ST_TILE(16, 16)
ST_TILE(16, 24)
ST_TILE(8, 16)
ST_TILE(8, 24)
ST_TILE(8, 32)
ST_TILE(8, 48)
static const stem_tile_fn tiles16[N16] = {tile_16_8, tile_16_12, tile_16_16, tile_16_24};
static const stem_tile_fn tiles8[N8] = {tile_8_16, tile_8_24, tile_8_32, tile_8_48};

/* Input rows [p0, p1) (padded row numbers, all channels) of image x into the ring: at
 * stride 1 column x to padded column pl + x, at stride 2 the even padded columns to one
 * part of the row and the odd ones to another (xe, xo: where the input's even and odd
 * columns start, aligned so the whole vectors' stores are). Pads are never written
 * (zeroed once). Inlined, with its masks from prepare (a call per row with its own setup
 * cost vww ~0.2 us more). */
ST_INLINE void copy_rows(const conv_stem *s, const float *x, int64_t p0, int64_t p1, float *ring)
{
    const int64_t W = s->W, C = s->C, hw = s->H * s->W, rs = s->slots * s->lrow, lrow = s->lrow, xe = s->xe, xo = s->xo;
    const int64_t mask = s->slots - 1, pt = s->pt, k0 = s->k0;
    const __mmask16 ma = s->ma, mb = s->mb, me = s->me, mo = s->mo;
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t pr = p0; pr < p1; pr++) {
        const float *src = x + (pr - pt) * W;
        float *row = ring + (pr & mask) * lrow;
        for (int64_t c = 0; c < C; c++, src += hw, row += rs) {
            if (s->sx == 1) {
                for (int64_t k = 0; k < k0; k += 16) _mm512_storeu_ps(row + xe + k, _mm512_loadu_ps(src + k));
                if (ma) _mm512_mask_storeu_ps(row + xe + k0, ma, _mm512_maskz_loadu_ps(ma, src + k0));
                continue;
            }
            float *de = row + xe, *dodd = row + xo;
            for (int64_t k = 0; k < k0; k += 32) {
                __m512 a = _mm512_loadu_ps(src + k), b = _mm512_loadu_ps(src + k + 16);
                _mm512_storeu_ps(de + k / 2, _mm512_permutex2var_ps(a, ev, b));
                _mm512_storeu_ps(dodd + k / 2, _mm512_permutex2var_ps(a, od, b));
            }
            if (ma) { /* the masked-off lanes never fault (past the tensor's end a slow assist, once a run at most) */
                __m512 a = _mm512_maskz_loadu_ps(ma, src + k0), b = _mm512_maskz_loadu_ps(mb, src + k0 + 16);
                _mm512_mask_storeu_ps(de + k0 / 2, me, _mm512_permutex2var_ps(a, ev, b));
                _mm512_mask_storeu_ps(dodd + k0 / 2, mo, _mm512_permutex2var_ps(a, od, b));
            }
        }
    }
}

typedef struct stem_job {
    const conv_stem *s;
    const float *x;
    float *y, *scratch;
} stem_job;

/* Output rows [r0, r1) of the batch (image n row oy is row n OH + oy) with ring `ring`.
 * Each row's tiles run after the input rows of the next output row are copied too, so
 * that the copy's stores are done when the tiles load those floats again. */
static ST_TARGET void stem_rows(const stem_job *jb, float *ring, int64_t r0, int64_t r1)
{
    const conv_stem *s = jb->s;
    const int64_t OH = s->OH, OW = s->OW, sy = s->sy, mask = s->slots - 1, taps = s->taps, per = s->C * s->KW;
    memset(ring, 0, (size_t)s->ring * sizeof(float));
    int64_t n = r0 / OH, oy = r0 % OH, next = 0; /* next: the first padded row not in the ring yet */
    stem_args a = {.spx = s->spx, .sch = s->sch, .act = s->act, .lo = s->lo, .hi = s->hi};
    for (int64_t r = r0; r < r1; r++) {
        const float *x = jb->x + n * s->C * s->H * s->W;
        int64_t ky0, ky1, ny0, ny1, pr0 = oy * sy;
        valid_ky(s, oy, &ky0, &ky1);
        int64_t hi = pr0 + ky1;
        if (r + 1 < r1 && oy + 1 < OH) {
            valid_ky(s, oy + 1, &ny0, &ny1);
            if (ny1 > ny0) hi = pr0 + sy + ny1;
        }
        copy_rows(s, x, next > pr0 + ky0 ? next : pr0 + ky0, hi, ring);
        if (hi > next) next = hi;
        a.off = s->off + (pr0 & mask) * taps;
        a.t0 = ky0 * per, a.t1 = ky1 * per;
        for (int gi = 0; gi < s->ngroups; gi++) {
            const stem_group *g = &s->g[gi];
            stem_tile_fn fn = g->G == 16 ? tiles16[g->tile] : tiles8[g->tile];
            a.w = s->w + gi * taps * 64, a.bias = s->bias + gi * 64, a.mg = g->mg;
            for (int64_t ox = 0; ox < OW; ox += g->tw) {
                a.base = ring + ox;
                a.dst = out_at(s, jb->y, n, g->m0, oy, ox);
                a.np = OW - ox < g->tw ? (int)(OW - ox) : g->tw;
                fn(&a);
            }
        }
        if (++oy == OH) oy = 0, n++, next = 0;
    }
}

/* Share ith of nth: output rows, each thread with its own ring. */
static void stem_share(void *ctx, int ith, int nth)
{
    const stem_job *j = ctx;
    int64_t r0, r1;
    ember_host_share(j->s->N * j->s->OH, 1, ith, nth, &r0, &r1);
    if (r0 < r1) stem_rows(j, j->scratch + ith * j->s->ring, r0, r1);
}
#endif

static int pick_tile(int64_t OW, const int *tw, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if ((OW + tw[i] - 1) / tw[i] * tw[i] <= (OW + tw[best] - 1) / tw[best] * tw[best]) best = i;
    return best;
}
/* Where it beats oneDNN. The first version (16 pixels along the vector) alone (1 thread,
 * us, vs onednn_conv, each writing the layout it offers; 3x3 pad 1 unless said): 3 -> 8
 * s2 96x96 (vww_mobilenet025) 10.8 vs 15.7; 3 -> 16 s1 32x32 (cifar_resnet8) 7.3 vs
 * 10.1; 1 -> 8 s2 96x96 4.9 vs 8.7; 1 -> 16 s1 32x32 3.5 vs 5.4; 4 -> 8 s2 96x96 14.4 vs
 * 22.5; 3 -> 16 s2 224x224 143 vs 172; 3 -> 8 5x5 s1 64x64 37 vs 88; but 3 -> 16 7x7 s2
 * 112x112 141 vs 113; in the models, shufflenet_v2 (3 -> 24 s2 224x224) and mobilenet_v2
 * (3 -> 32) gained too (their readers wanted no reorder of oneDNN's own output layout).
 * Not 64 channels (squeezenet1_1's 3 -> 64 s2 unpadded: 620 vs 440-478; kws_dscnn's 1 ->
 * 64 10x4 on a 5-pixel-wide map: 18.4 vs 6.3) nor resnet18's 7x7 (3 -> 64: 2540-2720 vs
 * 1940-1960). This version against the first, alone (the minimum of 300-3000 runs of one
 * prepared kernel, us, both measured again side by side; the numbers above are older):
 * 3 -> 8 s2 96x96 9.9 -> 7.7; 3 -> 16 s1 32x32 7.0 -> 6.3; 1 -> 8 s2 96x96 4.5 -> 3.3;
 * 1 -> 16 s1 32x32 3.2 -> 2.9; 4 -> 8 s2 96x96 12.5 -> 10.0; 3 -> 8 5x5 s1 64x64 33.1 ->
 * 29.6; 4 -> 16 5x5 s1 64x64 84 -> 76; 4 -> 32 5x5 s2 64x64 52 -> 42; 3 -> 16 s2 224x224
 * 93 -> 83; 3 -> 24 s2 224x224 147 -> 132; 3 -> 32 s2 224x224 189 -> 165; but 3 -> 16
 * 7x7 s2 112x112 121 -> 138 (outside the rule: 147 taps of 4 weight vectors each).
 * In the models (ember profile, the first conv, 1 thread, means of 300-3000 runs, 3-6
 * runs alternated, the quietest): vww_mobilenet025 11.3-11.4 -> 9.2-9.3 (the whole model,
 * ember bench medians, 117.2-118.2 -> 115.2-116.8 us), cifar_resnet8 8.0-8.1 -> 7.1-7.3,
 * mobilenet_v2 252-273 -> 236-250, shufflenet_v2 197-213 -> 191-201. 2 threads could not
 * be measured there (the second core was busy). */
static int stem_shape_wins(int64_t C, int64_t M, int64_t KH, int64_t KW)
{
    return C <= 4 && M % 8 == 0 && M <= 32 && KH <= 5 && KW <= 5;
}

/* The ring's geometry and the tap offsets of each ring phase (ph: the slot holding
 * the output row's kernel row 0). Taps in [KH][C][KW] order: the rows inside the input
 * are one range. */
static ember_status st_plan(ember_op_ctx *c, conv_stem *s)
{
    int64_t owt = 0;
    for (int gi = 0; gi < s->ngroups; gi++) {
        int64_t tw = s->g[gi].tw, t = (s->OW + tw - 1) / tw * tw;
        if (t > owt) owt = t;
    }
    int64_t lp = s->sx * (owt - 1) + s->KW; /* padded columns read */
    if (lp < s->pl + s->W) lp = s->pl + s->W;
    int64_t pe, po; /* where padded columns 0 (even) and 1 (odd) lie in a ring row */
    if (s->sx == 1) {
        pe = po = (16 - s->pl % 16) % 16;
        s->xe = s->xo = pe + s->pl;
        s->lrow = (pe + lp + 15) / 16 * 16;
    } else { /* input column 0 is padded column pl: the first even one if pl is even */
        int64_t n = (lp + 1) / 2, se = (s->pl + 1) / 2, so = s->pl / 2; /* the first input column among each */
        pe = (16 - se % 16) % 16;
        po = (pe + n + 15) / 16 * 16 + (16 - so % 16) % 16;
        s->lrow = (po + n + 15) / 16 * 16;
        s->xe = s->pl % 2 ? po + so : pe + se;
        s->xo = s->pl % 2 ? pe + se : po + so;
    }
    int r = (int)(s->W % (s->sx == 2 ? 32 : 16));
    s->k0 = s->W - r;
    s->ma = (uint16_t)(r >= 16 ? 0xffff : (1u << r) - 1), s->mb = (uint16_t)(r > 16 ? (1u << (r - 16)) - 1 : 0);
    s->me = (uint16_t)((1u << (r + 1) / 2) - 1), s->mo = (uint16_t)((1u << r / 2) - 1);
    for (s->slots = 1; s->slots < s->KH + s->sy; s->slots *= 2) {}
    s->ring = s->C * s->slots * s->lrow;
    if (s->ring * s->threads > (1ll << 28)) return EMBER_E_UNSUPPORTED;
    s->off = malloc((size_t)(s->slots * s->taps) * sizeof *s->off);
    if (!s->off) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for stem conv tap offsets");
    for (int64_t ph = 0; ph < s->slots; ph++)
        for (int64_t t = 0; t < s->taps; t++) {
            int64_t kx = t % s->KW, ci = t / s->KW % s->C, ky = t / (s->KW * s->C);
            int64_t col = s->sx == 2 ? (kx % 2 ? po : pe) + kx / 2 : pe + kx;
            s->off[ph * s->taps + t] = (int32_t)((ci * s->slots + (ph + ky) % s->slots) * s->lrow + col);
        }
    c->scratch_bytes = (size_t)(s->ring * s->threads) * sizeof(float);
    return EMBER_OK;
}

static ember_status st_prepare(ember_op_ctx *c, int threads, void **state)
{
    *state = NULL;
#ifndef ST_AVX512
    (void)c, (void)threads;
    return EMBER_E_UNSUPPORTED;
#else
    int enabled, sum;
    nn_conv_plan p;
    TRY(onednn_own_conv_start(c, "EMBER_CONV_STEM", &enabled, &sum, &p));
    if (sum) return EMBER_E_UNSUPPORTED;
    const ember_op_tensor *w = ember_op_in(c, 1), *b = ember_op_in(c, 2), *y = c->out[0];
    if (p.w.nd != 2 || p.outsp <= 0 || p.N <= 0 || p.G != 1 || p.C < 1 || p.C > MAX_C || p.M < 1 || p.M > MAX_M ||
        p.w.s[0] < 1 || p.w.s[0] > 2 || p.w.s[1] < 1 || p.w.s[1] > 2 || p.w.d[0] != 1 || p.w.d[1] != 1 ||
        p.w.k[0] > MAX_K || p.w.k[1] > MAX_K || p.w.pb[0] < 0 || p.w.pb[1] < 0 || p.out[0] != y->dims[2] ||
        p.out[1] != y->dims[3] || p.N * p.C * p.in[0] * p.in[1] > (1ll << 31) || p.N * p.M * p.outsp > (1ll << 31) ||
        p.in[1] > 4096)
        return EMBER_E_UNSUPPORTED;
    if (enabled != 2 && !stem_shape_wins(p.C, p.M, p.w.k[0], p.w.k[1])) return EMBER_E_UNSUPPORTED;
    int act;
    float lo, hi;
    if (!onednn_conv_clamp(c, &act, &lo, &hi)) return EMBER_E_UNSUPPORTED;

    conv_stem *s = calloc(1, sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    s->N = p.N, s->C = p.C, s->M = p.M, s->H = p.in[0], s->W = p.in[1], s->OH = p.out[0], s->OW = p.out[1];
    s->KH = p.w.k[0], s->KW = p.w.k[1], s->sy = p.w.s[0], s->sx = p.w.s[1];
    s->pt = p.w.pb[0], s->pl = p.w.pb[1];
    s->taps = s->C * s->KH * s->KW;
    s->act = act == K_ACT_NONE ? 0 : act == K_ACT_RELU ? 1 : 2;
    s->lo = lo, s->hi = hi;
    s->threads = onednn_threads(threads);
    const ember_attr *cba = ember_node_attr(c->node, "ember_channel_blocks");
    s->blocks_wanted = cba && cba->type == EMBER_ATTR_INT && cba->i == 1;
    st_set_out(s, L_PLAIN);
    for (int64_t m0 = 0; m0 < s->M; s->ngroups++) {
        int G = s->M - m0 > 8 ? 16 : 8, tile = G == 16 ? pick_tile(s->OW, tw16, N16) : pick_tile(s->OW, tw8, N8);
        s->g[s->ngroups] = (stem_group){.m0 = m0, .G = G, .mg = (int)(s->M - m0 < G ? s->M - m0 : G),
                                        .tw = G == 16 ? tw16[tile] : tw8[tile], .tile = tile};
        m0 += G;
    }
    s->w = aligned_alloc(64, (size_t)(s->ngroups * s->taps * 64) * sizeof(float));
    s->bias = calloc((size_t)s->ngroups * 64, sizeof(float));
    if (!s->w || !s->bias) {
        st_release(s);
        return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for stem conv weights");
    }
    memset(s->w, 0, (size_t)(s->ngroups * s->taps * 64) * sizeof(float));
    const float *wd = w->data; /* [M][C][KH][KW] */
    for (int gi = 0; gi < s->ngroups; gi++) {
        const stem_group *g = &s->g[gi];
        float *wg = s->w + gi * s->taps * 64;
        for (int l = 0; l < 4 * g->G; l++) { /* vector l / 16, lane l % 16 = 4 m + p: channel 4 (l / 16) + m */
            int m = 4 * (l / 16) + l % 16 / 4;
            if (m >= g->mg) continue;
            for (int64_t t = 0; t < s->taps; t++) { /* t in [KH][C][KW] order, wd's in [C][KH][KW] */
                int64_t kx = t % s->KW, ci = t / s->KW % s->C, ky = t / (s->KW * s->C);
                wg[t * 4 * g->G + l] = wd[(g->m0 + m) * s->taps + (ci * s->KH + ky) * s->KW + kx];
            }
            if (b) s->bias[gi * 64 + l] = ((const float *)b->data)[g->m0 + m];
        }
    }
    ember_status st = st_plan(c, s);
    if (st != EMBER_OK) {
        st_release(s);
        return st;
    }
    *state = s;
    return EMBER_OK;
#endif
}

static ember_status st_run(ember_op_ctx *c, void *state)
{
#ifdef ST_AVX512
    const conv_stem *s = state;
    stem_job j = {.s = s, .x = c->in[0]->data, .y = c->out[0]->data, .scratch = c->scratch};
    if ((const void *)j.x == (void *)j.y) /* never planned so (no inplace_input) */
        return ember_op_fail(c, EMBER_E_INTERNAL, "stem conv: input and output share memory");
    if (!j.scratch) return ember_op_fail(c, EMBER_E_INTERNAL, "stem conv: no scratch");
    double macs = (double)s->N * (double)s->OH * (double)s->OW * (double)s->taps * (double)s->M;
    int64_t want = (int64_t)(macs / SHARE_MACS), rows = s->N * s->OH;
    if (want > s->threads) want = s->threads;
    if (want > rows) want = rows;
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
