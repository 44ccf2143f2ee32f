/* Depthwise float32 convolutions (group = C = M, one filter per channel) with AVX-512,
 * on channels-last layouts: NHWC, nChw16c and nChw8c (declines elsewhere, in bf16, and
 * with EMBER_DWCONV=0; EMBER_DWCONV=all takes every shape it can, for tests;
 * EMBER_DWCONV=noseg keeps to the older tiles and their shape rule, to measure). Channels
 * lie along the vector (16, or 8 with nChw8c on a side). 3x3 filters at stride 1 or 2
 * (nearly all depthwise convs) run the row-segment tiles of dwconv_seg.c: 3 or 2 output
 * rows by up to 8 columns, or at stride 1 with 16-lane chunks output rows rolled down
 * segments of up to 6 columns, the map's edges compiled into the tile (dw_seg_ok says
 * when).
 * Elsewhere (the older tiles) a register tile is a column of
 * up to 8 output pixels, one above the other: for a column inside the map every filter
 * tap is one input pixel per output pixel, so the tile is KH x KW broadcasts-free fused
 * multiply-adds per pixel straight from the input tensor, with no bounds checks and no
 * copy; at the left and right edges a tile skips the filter columns outside the map
 * (the same for the whole column), and the top and bottom rows whose filter rows leave
 * the map run as tiles of one pixel with those filter rows skipped. Bias first, Relu /
 * Clip before the one store. With 8 channels a pixel on both sides and stride 1, one
 * vector holds two neighbouring output pixels, whose taps are two neighbouring input
 * pixels: one load each.
 *
 * Why not oneDNN: its jit depthwise kernels ran these at 20-60 GFLOP/s on one thread
 * here (kws_dscnn's 64 channels at 25x5 in nChw16c: 2.5 us each; vww_mobilenet025's 8
 * channels at 48x48 in nChw8c: 7.7 us); see dw_shape_wins for where this one is used.
 * (A first version copied each band of input rows into a zero-padded scratch so that
 * no tap needed a check, with tiles of 8 pixels along a row: the copy and the per-pixel
 * bookkeeping cost twice the multiply-adds, 3.3 us on kws_dscnn's layers.)
 *
 * Input and output may each be in any of the three layouts (the output follows the
 * input's: layout chaining, ops/host.h), or NCHW (a scalar loop: only when a neighbour
 * is not a host kernel). Threads split bands of 8 output rows (per image and chunk of
 * channels; per image with an NHWC input to the segment tiles). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/activation.h"
#include "../nn_common.h"
#include "dwconv_seg.h"
#include "onednn.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DW_AVX512 1
#define AVX512 __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline))
#endif

#define DW_MAX_TAPS 49 /* filters up to 7x7 */
#define DW_TILE 16     /* output vectors a register tile computes, at most */

/* Element (n, c, y, x) of a tensor at n * sn + (c / block) * scb + (c % block) * sc +
 * y * sy + x * sx. NHWC: one block of all C channels; NCHW: blocks of one channel. */
typedef struct dw_io {
    int layout; /* 0: NCHW, else a oneDNN format tag */
    int64_t block, sn, scb, sc, sy, sx;
} dw_io;

typedef struct dwconv {
    int64_t N, C, H, W, OH, OW, KH, KW, sy, sx, pt, pl; /* strides, top and left pads */
    int64_t lanes, chunks; /* channels per vector (16, or 8 with nChw8c), C / lanes rounded up */
    float *w;              /* [chunks][KH * KW][16] (8 lanes: repeated in lanes 8-15) */
    float *bias;           /* [chunks][16], as w */
    int act;
    float lo, hi; /* the activation as a clamp */
    dw_io src, dst;
    int seg; /* the row-segment tiles take it (dw_seg_ok) */
    /* For the segment tiles, set with the layouts (dw_seg_plan), so that a run divides
     * nothing (the divisions of the chunk offsets and the band split were ~0.05 us of a
     * 0.9 us layer on kws_dscnn): whether both sides step evenly from chunk to chunk
     * (NHWC, or blocks of `lanes`) and those steps; whether every chunk has 16 lanes; the
     * activation for dw_seg_pick. */
    int seg_even, seg_full, seg_act;
    int64_t seg_cin, seg_cout, seg_q; /* ... and the widest segment (dw_seg_plan) */
} dwconv;

/* Whether the row-segment tiles (dwconv_seg.c) compute this conv: 3x3 at stride 1 or 2
 * in both directions, at most one input column outside the map on either side (pl: the
 * left pad; W, OW: input and output columns). */
static int dw_seg_shape(int64_t KH, int64_t KW, int64_t sy, int64_t sx, int64_t pl, int64_t W, int64_t OW)
{
    return KH == 3 && KW == 3 && sy == sx && (sy == 1 || sy == 2) && pl <= 1 && (OW - 1) * sx - pl + 3 - W <= 1;
}

/* Whether the older tiles beat the segment tiles: one chunk of channels on a map past
 * L1 (H x W x 16 floats > 32 KB), where the older tiles' columns of 8 output rows
 * stream the interior well (vww_mobilenet025, microbenchmark, us: 16 channels 48x48 at
 * stride 2 2.2 vs 2.6; 8 channels 48x48 in pairs 4.15 vs 4.7 with the segment tiles
 * taking pairs). With more chunks the segment tiles won everywhere (NHWC: all chunks at
 * each tile position; 32 channels 24x24 3.4 vs 3.7). */
static int dw_seg_loses(int64_t C, int64_t H, int64_t W) { return C <= 16 && H * W * 16 * 4 > 32768; }

static void io_set(dw_io *io, int layout, int64_t C, int64_t H, int64_t W)
{
    io->layout = layout;
    io->sn = C * H * W;
    int64_t b = layout == dnnl_nChw16c ? 16 : layout == dnnl_nChw8c ? 8 : 0;
    if (layout == dnnl_nhwc) io->block = C, io->scb = 0, io->sc = 1, io->sx = C;
    else if (b) io->block = b, io->scb = b * H * W, io->sc = 1, io->sx = b;
    else io->block = 1, io->scb = H * W, io->sc = 0, io->sx = 1;
    io->sy = io->sx * W;
}

static int64_t io_at(const dw_io *io, int64_t n, int64_t c, int64_t y, int64_t x)
{
    return n * io->sn + c / io->block * io->scb + c % io->block * io->sc + y * io->sy + x * io->sx;
}

static void dw_seg_plan(dwconv *s)
{
    int64_t L = s->lanes;
    s->seg_even = (s->src.layout == dnnl_nhwc || s->src.block == L) && (s->dst.layout == dnnl_nhwc || s->dst.block == L);
    s->seg_full = L == 16 && s->C % 16 == 0;
    s->seg_act = !s->act ? 0 : isinf(s->hi) && s->hi > 0 ? 2 : 1; /* Relu: no min with +inf */
    s->seg_cin = io_at(&s->src, 0, L, 0, 0) - io_at(&s->src, 0, 0, 0, 0);
    s->seg_cout = io_at(&s->dst, 0, L, 0, 0) - io_at(&s->dst, 0, 0, 0, 0);
    /* Segments narrow enough to roll their rows (dw_seg_rolls) on maps of up to 1024
     * pixels and 512 KB, where that beat the 2 x 8 tiles (us, one thread, 2 x 8 vs rolled
     * 6 columns; microbenchmark: 32ch 24x24 Relu 3.1 vs 2.25, 384ch 14x14 NHWC 12.7 vs
     * 11.7, 960ch 7x7 8.6 vs 6.0; in mobilenet_v2: 384-576ch 14x14 22-27 vs 18-25, 960ch
     * 7x7 12-13 vs 10.5-11). Bigger maps lost: 144ch 56x56 130 vs 166 and 32ch 112x112
     * 124 vs 145 in both layouts, and mobilenet_v2's 192ch 28x28 (600 KB) 28-36 vs 32-47,
     * though 26.5 vs 18.2 in nChw16c in the microbenchmark (not understood: a rolled
     * column strip runs chunk by chunk, so NHWC reads each strip once a chunk). */
    s->seg_q = s->sy == 1 && s->seg_full && s->H * s->W <= 1024 && s->C * s->H * s->W <= 128 * 1024
                   ? DW_SEG_ROLL_Q : DW_SEG_Q;
}

static void dw_release(void *p)
{
    dwconv *s = p;
    if (!s) return;
    free(s->w);
    free(s->bias);
    free(s);
}

/* Vector lanes a chunk of channels takes: 8 when either side blocks channels by 8. */
static int64_t dw_lanes(const dwconv *s) { return s->src.block == 8 || s->dst.block == 8 ? 8 : 16; }

/* Packs the filters for s->lanes channels a chunk (again after a layout change). */
static void dw_pack(dwconv *s, const float *w, const float *b)
{
    int64_t taps = s->KH * s->KW;
    memset(s->w, 0, (size_t)(s->C / 8 + 2) * (size_t)taps * 16 * sizeof(float));
    memset(s->bias, 0, (size_t)(s->C / 8 + 2) * 16 * sizeof(float));
    for (int64_t c = 0; c < s->C; c++) {
        int64_t ch = c / s->lanes, l = c % s->lanes;
        for (int rep = 0; rep < 16 / s->lanes; rep++) {
            for (int64_t t = 0; t < taps; t++) s->w[(ch * taps + t) * 16 + l + rep * 8] = w[c * taps + t];
            s->bias[ch * 16 + l + rep * 8] = b ? b[c] : 0.0f;
        }
    }
}

/* The plain loop: any layouts (NCHW too), one element at a time. */
static void dw_scalar(const dwconv *s, const float *x, float *y, int64_t n, int64_t c, int64_t oy)
{
    int64_t taps = s->KH * s->KW, ch = c / s->lanes, l = c % s->lanes;
    const float *w = s->w + ch * taps * 16 + l;
    for (int64_t ox = 0; ox < s->OW; ox++) {
        float acc = s->bias[ch * 16 + l];
        for (int64_t ky = 0; ky < s->KH; ky++) {
            int64_t iy = oy * s->sy - s->pt + ky;
            if (iy < 0 || iy >= s->H) continue;
            for (int64_t kx = 0; kx < s->KW; kx++) {
                int64_t ix = ox * s->sx - s->pl + kx;
                if (ix >= 0 && ix < s->W) acc += w[(ky * s->KW + kx) * 16] * x[io_at(&s->src, n, c, iy, ix)];
            }
        }
        if (s->act) acc = fminf(fmaxf(acc, s->lo), s->hi);
        y[io_at(&s->dst, n, c, oy, ox)] = acc;
    }
}

#ifdef DW_AVX512
/* A tile's R x Q results (vector (r, q) to out + r * ors + q * ocs): the clamp when `act`,
 * then whole stores (`full`) or stores under m. */
INLINE AVX512 void dw_store(const __m512 *acc, int R, int Q, float *out, int64_t ors, int64_t ocs, int act,
                            __m512 lo, __m512 hi, __mmask16 m, int full)
{
    for (int r = 0; r < R; r++)
        for (int q = 0; q < Q; q++) {
            __m512 v = act ? _mm512_min_ps(_mm512_max_ps(acc[r * Q + q], lo), hi) : acc[r * Q + q];
            float *o = out + r * ors + q * ocs;
            if (full) _mm512_storeu_ps(o, v);
            else _mm512_mask_storeu_ps(o, m, v);
        }
}

/* A tile of R x Q output vectors (R * Q <= DW_TILE): vector (r, q)'s tap (ky, kx) at
 * in + r * rs + q * cs + ky * iy + kx * ix (in: tap (0, 0) of vector (0, 0)), its result
 * at out + r * ors + q * ocs. Filter rows [k0, k1), filter columns in bit mask `cols`;
 * the taps' filters wv in registers. Loads and stores under m (whole vectors when
 * `full`). R, Q, KW, act and full are constants after inlining. */
INLINE AVX512 void dw_tile(const float *in, int64_t rs, int64_t cs, int64_t iy, int64_t ix, float *out, int64_t ors,
                           int64_t ocs, int R, int Q, int KW, int64_t k0, int64_t k1, unsigned cols,
                           const __m512 *wv, __m512 bias, int act, __m512 lo, __m512 hi, __mmask16 m,
                           int full)
{
    __m512 acc[DW_TILE];
    const float *p[DW_TILE];
    for (int r = 0; r < R; r++)
        for (int q = 0; q < Q; q++) acc[r * Q + q] = bias, p[r * Q + q] = in + r * rs + q * cs;
    for (int kx = 0; kx < KW; kx++) {
        if (!(cols >> kx & 1)) continue;
        for (int64_t ky = k0; ky < k1; ky++) {
            __m512 wk = wv[ky * KW + kx];
            int64_t o = ky * iy + kx * ix;
            for (int i = 0; i < R * Q; i++) {
                __m512 v = full ? _mm512_loadu_ps(p[i] + o) : _mm512_maskz_loadu_ps(m, p[i] + o);
                acc[i] = _mm512_fmadd_ps(v, wk, acc[i]);
            }
        }
    }
    dw_store(acc, R, Q, out, ors, ocs, act, lo, hi, m, full);
}

/* dw_tile for the interior with every tap inside and constant filter size and steps:
 * each input vector is loaded once and multiplied into every output vector that reads
 * it (a 3x3 filter at stride 1: 30 loads for 8 x 1 outputs instead of 72), as the loads,
 * not the multiply-adds, bounded the plain tile (~80 GFLOP/s on one thread). Output
 * vector (r, q) reads input rows r * RS + ky and input columns q * CS + kx (in units of
 * iy and ix). */
INLINE AVX512 void dw_tile_reuse(const float *in, int64_t iy, int64_t ix, float *out, int64_t ors, int64_t ocs,
                                 int R, int Q, int KH, int KW, int RS, int CS, const __m512 *wv, __m512 bias,
                                 int act, __m512 lo, __m512 hi, __mmask16 m, int full)
{
    __m512 acc[DW_TILE];
    for (int i = 0; i < R * Q; i++) acc[i] = bias;
#pragma GCC unroll 16
    for (int j = 0; j < (Q - 1) * CS + KW; j++)
#pragma GCC unroll 40
        for (int i = 0; i < (R - 1) * RS + KH; i++) {
            const float *p = in + i * iy + j * ix;
            dw_reuse_fma(acc, full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p), i, j, R, Q, RS, CS, KH, KW, wv);
        }
    dw_store(acc, R, Q, out, ors, ocs, act, lo, hi, m, full);
}

/* The filter columns of output column ox that lie inside the map, as bits. */
static inline unsigned dw_cols(const dwconv *s, int64_t ox)
{
    unsigned m = 0;
    for (int64_t kx = 0; kx < s->KW; kx++) {
        int64_t x = ox * s->sx - s->pl + kx;
        if (x >= 0 && x < s->W) m |= 1u << kx;
    }
    return m;
}

/* What a band's tiles share: where image n's chunk of channels starts, the steps, the
 * filters, the masks. */
typedef struct dw_band_ctx {
    const float *xb;
    float *yb;
    int64_t rs, iy, ix, ors, ocs; /* input row step (stride rows), input row, column; output row, column */
    __m512 bias, lo, hi;
    __mmask16 cm; /* the chunk's channels */
} dw_band_ctx;

/* Output vectors at rows [r0, r1) x columns [c0, c1) (column = one output pixel, or a
 * pair when vw = 2), every filter row and column inside the map: tiles of 8 rows x 1
 * column, then the rows left in tiles of 4 x 2, 2 x 4, 1 x 8. */
INLINE AVX512 void dw_inner(const dwconv *s, const dw_band_ctx *b, int64_t r0, int64_t r1, int64_t px0, int64_t c0,
                            int64_t c1, int vw, int KH, int KW, int SY, int SX, const __m512 *wv, int act,
                            __mmask16 m, int full)
{
    int64_t cs = vw * s->sx * b->ix, ocs = vw * b->ocs;
    unsigned all = (1u << KW) - 1;
#define DW_AT(r, c) b->xb + ((r) * s->sy - s->pt) * b->iy + ((px0 + (c) * vw) * s->sx - s->pl) * b->ix
#define DW_OUT(r, c) b->yb + (r) * b->ors + (px0 + (c) * vw) * b->ocs
#define DW_T(R, Q, r, c)                                                                                  \
    do {                                                                                                  \
        if (SY)                                                                                           \
            dw_tile_reuse(DW_AT(r, c), b->iy, b->ix, DW_OUT(r, c), b->ors, ocs, R, Q, KH, KW, SY, vw * SX, \
                          wv, b->bias, act, b->lo, b->hi, m, full);                                        \
        else                                                                                              \
            dw_tile(DW_AT(r, c), b->rs, cs, b->iy, b->ix, DW_OUT(r, c), b->ors, ocs, R, Q, KW, 0, KH, all, \
                    wv, b->bias, act, b->lo, b->hi, m, full);                                             \
    } while (0)
    int64_t r = r0;
    for (; r + 16 <= r1; r += 16)
        for (int64_t c = c0; c < c1; c++) DW_T(16, 1, r, c);
    for (; r + 8 <= r1; r += 8)
        for (int64_t c = c0; c < c1; c++) DW_T(8, 1, r, c);
    if (r + 4 <= r1) {
        int64_t c = c0;
        for (; c + 2 <= c1; c += 2) DW_T(4, 2, r, c);
        if (c < c1) DW_T(4, 1, r, c);
        r += 4;
    }
    if (r + 2 <= r1) {
        int64_t c = c0;
        for (; c + 4 <= c1; c += 4) DW_T(2, 4, r, c);
        for (; c < c1; c++) DW_T(2, 1, r, c);
        r += 2;
    }
    if (r < r1) {
        int64_t c = c0;
        for (; c + 8 <= c1; c += 8) DW_T(1, 8, r, c);
        for (; c < c1; c++) DW_T(1, 1, r, c);
    }
#undef DW_T
}

/* Output rows [oy0, oy1) of image n for channels [c0, c0 + lanes). KH, KW, act: the
 * filter size and whether there is an activation, constant when known. */
INLINE AVX512 void dw_band_k(const dwconv *s, const float *x, float *y, int64_t n, int64_t c0, int64_t oy0,
                             int64_t oy1, int KH, int KW, int SY, int SX, int act)
{
    int64_t taps = (int64_t)KH * KW, ch = c0 / s->lanes, left = s->C - c0, L = s->lanes;
    __m512 wv[DW_MAX_TAPS];
    for (int64_t t = 0; t < taps; t++) wv[t] = _mm512_load_ps(s->w + (ch * taps + t) * 16);
    dw_band_ctx b = {.xb = x + n * s->src.sn + c0 / s->src.block * s->src.scb + c0 % s->src.block,
                     .yb = y + n * s->dst.sn + c0 / s->dst.block * s->dst.scb + c0 % s->dst.block,
                     .rs = s->sy * s->src.sy, .iy = s->src.sy, .ix = s->src.sx, .ors = s->dst.sy, .ocs = s->dst.sx,
                     .bias = _mm512_load_ps(s->bias + ch * 16), .lo = _mm512_set1_ps(s->lo),
                     .hi = _mm512_set1_ps(s->hi), .cm = (__mmask16)((1u << (left < L ? left : L)) - 1)};
    /* Rows and columns whose filter rows / columns all lie inside the map. */
    int64_t ra = (s->pt + s->sy - 1) / s->sy, rb = s->H + s->pt - KH >= 0 ? (s->H + s->pt - KH) / s->sy + 1 : 0;
    int64_t ca = (s->pl + s->sx - 1) / s->sx, cb = s->W + s->pl - KW >= 0 ? (s->W + s->pl - KW) / s->sx + 1 : 0;
    if (rb > s->OH) rb = s->OH;
    if (ra > rb) ra = rb = s->OH;
    if (cb > s->OW) cb = s->OW;
    if (ca > cb) ca = cb = s->OW;
    int64_t ia = ra > oy0 ? ra : oy0, ib = rb < oy1 ? rb : oy1; /* this band's interior rows */
    if (ia > ib) ia = ib = oy1;
    int pairs = L == 8 && b.cm == 0xff && s->sx == 1 && s->src.sx == 8 && s->dst.sx == 8;
    int full = b.cm == 0xffff;
    if (ia < ib && pairs) { /* pairs of interior columns, a last odd one alone */
        int64_t np = (cb - ca) / 2;
        dw_inner(s, &b, ia, ib, ca, 0, np, 2, KH, KW, SY, SX, wv, act, 0xffff, 1);
        if (ca + 2 * np < cb) dw_inner(s, &b, ia, ib, ca + 2 * np, 0, 1, 1, KH, KW, SY, SX, wv, act, b.cm, 0);
    } else if (ia < ib && full) {
        dw_inner(s, &b, ia, ib, ca, 0, cb - ca, 1, KH, KW, SY, SX, wv, act, 0xffff, 1);
    } else if (ia < ib) {
        dw_inner(s, &b, ia, ib, ca, 0, cb - ca, 1, KH, KW, SY, SX, wv, act, b.cm, 0);
    }
    /* Edge columns of the interior rows: tiles of 8, 4, 2, 1 rows, filter columns
     * outside skipped. */
    for (int64_t ox = 0; ox < s->OW && ia < ib; ox++) {
        if (ox == ca) ox = cb;
        if (ox >= s->OW) break;
        unsigned cols = dw_cols(s, ox);
        int64_t r = ia;
#define DW_EDGE_COL(R)                                                                                    \
    dw_tile(b.xb + (r * s->sy - s->pt) * b.iy + (ox * s->sx - s->pl) * b.ix, b.rs, 0, b.iy, b.ix,          \
            b.yb + r * b.ors + ox * b.ocs, b.ors, 0, R, 1, KW, 0, KH, cols, wv, b.bias, act, b.lo, b.hi, b.cm, \
            0)
        for (; r + 8 <= ib; r += 8) DW_EDGE_COL(8);
        if (r + 4 <= ib) DW_EDGE_COL(4), r += 4;
        if (r + 2 <= ib) DW_EDGE_COL(2), r += 2;
        if (r < ib) DW_EDGE_COL(1);
#undef DW_EDGE_COL
    }
    /* Edge rows: tiles of 8 columns, filter rows (and at the corners columns) outside
     * skipped. */
    for (int64_t oy = oy0; oy < oy1; oy++) {
        if (oy == ia) oy = ib;
        if (oy >= oy1) break;
        int64_t iy0 = oy * s->sy - s->pt, k0 = iy0 < 0 ? -iy0 : 0, k1 = s->H - iy0 < KH ? s->H - iy0 : KH;
        const float *in = b.xb + iy0 * b.iy;
        float *out = b.yb + oy * b.ors;
        for (int64_t ox = 0; ox < s->OW;) {
            int64_t xi = (ox * s->sx - s->pl) * b.ix;
            if (ox >= ca && ox + 8 <= cb) {
                dw_tile(in + xi, 0, s->sx * b.ix, b.iy, b.ix, out + ox * b.ocs, 0, b.ocs, 1, 8, KW, k0, k1,
                        (1u << KW) - 1, wv, b.bias, act, b.lo, b.hi, b.cm, 0);
                ox += 8;
            } else {
                dw_tile(in + xi, 0, 0, b.iy, b.ix, out + ox * b.ocs, 0, 0, 1, 1, KW, k0, k1, dw_cols(s, ox), wv,
                        b.bias, act, b.lo, b.hi, b.cm, 0);
                ox++;
            }
        }
    }
}

static int dw_seg_ok(const dwconv *s)
{
    return dw_seg_shape(s->KH, s->KW, s->sy, s->sx, s->pl, s->W, s->OW) && !dw_seg_loses(s->C, s->H, s->W);
}

/* Whether a segment tile runs every chunk of channels at each position (an NHWC input,
 * whose chunks of a pixel lie side by side: its loads then step by 64 bytes from tile to
 * tile, which the hardware prefetchers follow; a column of tiles per chunk stepped by
 * 2 * stride rows of C channels, kilobytes, and lost to the old tiles in vww_mobilenet025),
 * rather than one. The output must step evenly too. */
static int dw_seg_inner(const dwconv *s)
{
    return s->src.layout == dnnl_nhwc && (s->dst.layout == dnnl_nhwc || s->dst.block == s->lanes);
}

/* Whether the segment tiles take a band of `rows` rows: three or more, one pixel a vector
 * (the pairs of 8-lane pixels run the old tiles). */
static int dw_seg_takes(const dwconv *s, int64_t rows)
{
    int pairs = s->lanes == 8 && s->C >= 8 && s->sx == 1 && s->src.sx == 8 && s->dst.sx == 8;
    return s->seg && !pairs && rows >= 3;
}

/* Output rows [oy0, oy1) (three or more) of image n for chunks [k0, k1) of channels, one
 * pixel a vector, in tiles of 3 or 2 rows x a segment of up to s->seg_q columns (or rows
 * rolled down the segment: dwconv_seg.c): rows split into segments of equal width
 * (within one), so a row of up to seg_q columns is one segment and wider ones have
 * seg_q / 2 to seg_q columns each. `inner`: each tile runs all the chunks in turn (dw_seg_inner), else the
 * chunks one after another, each segment by segment. Set up once for all the chunks
 * (one call per chunk, with its divisions, cost ~0.1 us a layer on kws_dscnn's 1.0). */
static AVX512 void dw_band_seg(const dwconv *s, const float *x, float *y, int64_t n, int64_t k0, int64_t k1,
                               int inner, int64_t oy0, int64_t oy1)
{
    int64_t L = s->lanes, S = s->sy, nseg = (s->OW + s->seg_q - 1) / s->seg_q;
    /* One segment of rolled rows: all the chunks in one call reads as chunk by chunk. */
    int64_t nch = inner || (s->seg_even && nseg == 1 && dw_seg_rolls((int)S, (int)s->OW, s->seg_full)) ? k1 - k0 : 1;
    const float *xb = x + n * s->src.sn + (k0 ? io_at(&s->src, 0, k0 * L, 0, 0) : 0);
    float *yb = y + n * s->dst.sn + (k0 ? io_at(&s->dst, 0, k0 * L, 0, 0) : 0);
    dw_seg_args a = {.w = s->w + k0 * 9 * 16, .bias = s->bias + k0 * 16, .iy = s->src.sy, .ix = s->src.sx,
                     .ors = s->dst.sy, .ocs = s->dst.sx, .H = s->H, .pt = s->pt, .lo = s->lo, .hi = s->hi,
                     .nch = nch, .cin = s->seg_cin, .cout = s->seg_cout, .m = (uint16_t)((1u << L) - 1)};
    for (int64_t k = k0; k < k1; k += nch) {
        int64_t left = s->C - (k + nch - 1) * L;
        a.mlast = (uint16_t)((1u << (left < L ? left : L)) - 1);
        for (int64_t g = 0; g < nseg; g++) {
            int64_t q0 = nseg == 1 ? 0 : g * s->OW / nseg, q1 = nseg == 1 ? s->OW : (g + 1) * s->OW / nseg;
            int64_t i0 = q0 * S - s->pl, i1 = (q1 - 1) * S - s->pl + 3;
            dw_seg_fn fn = dw_seg_pick((int)S, s->seg_act, (int)(q1 - q0), i0 < 0, i1 > s->W, s->seg_full);
            fn(xb + i0 * a.ix, yb + q0 * a.ocs, &a, oy0, oy1);
        }
        if (k + nch >= k1) break;
        if (s->seg_even) xb += s->seg_cin, yb += s->seg_cout; /* the next chunk (one at a time here) */
        else xb = x + io_at(&s->src, n, (k + 1) * L, 0, 0), yb = y + io_at(&s->dst, n, (k + 1) * L, 0, 0);
        a.w += 9 * 16, a.bias += 16;
    }
}

static AVX512 void dw_band(const dwconv *s, const float *x, float *y, int64_t n, int64_t c0, int64_t oy0, int64_t oy1)
{
    if (dw_seg_takes(s, oy1 - oy0)) {
        dw_band_seg(s, x, y, n, c0 / s->lanes, c0 / s->lanes + 1, 0, oy0, oy1);
        return;
    }
    /* 3x3 at stride 1 or 2 in both directions, with or without an activation: the
     * constant shapes of the reusing tiles; anything else runs the plain tiles. */
    int k3 = s->KH == 3 && s->KW == 3, st = s->sy == s->sx && (s->sy == 1 || s->sy == 2) ? (int)s->sy : 0;
    if (k3 && st == 1 && s->act) dw_band_k(s, x, y, n, c0, oy0, oy1, 3, 3, 1, 1, 1);
    else if (k3 && st == 1) dw_band_k(s, x, y, n, c0, oy0, oy1, 3, 3, 1, 1, 0);
    else if (k3 && st == 2 && s->act) dw_band_k(s, x, y, n, c0, oy0, oy1, 3, 3, 2, 2, 1);
    else if (k3 && st == 2) dw_band_k(s, x, y, n, c0, oy0, oy1, 3, 3, 2, 2, 0);
    else dw_band_k(s, x, y, n, c0, oy0, oy1, (int)s->KH, (int)s->KW, 0, 0, s->act);
}
#endif

typedef struct dw_job {
    const dwconv *s;
    const float *x;
    float *y;
} dw_job;

/* Items: (image, chunk of channels, band of output rows), bands innermost: whole maps
 * when there are enough chunks to go round, else bands of 8 rows or more. */
static void dw_share(void *ctx, int ith, int nth)
{
    const dw_job *j = ctx;
    const dwconv *s = j->s;
    int vector = s->src.sc == 1 && s->dst.sc == 1;
#ifdef DW_AVX512
    /* One thread, small maps: whole maps, no divisions. (Bigger maps keep bands of rows:
     * mobilenet_v2's 32ch 112x112 ran 125 -> 149 us as whole maps.) */
    if (nth == 1 && vector && dw_seg_takes(s, s->OH) && s->H * s->W <= 1024) {
        for (int64_t n = 0; n < s->N; n++) dw_band_seg(s, j->x, j->y, n, 0, s->chunks, dw_seg_inner(s), 0, s->OH);
        return;
    }
    if (vector && dw_seg_inner(s) && dw_seg_takes(s, s->OH)) { /* items: (image, band of 8+ rows or all) */
        int64_t want = (4 * nth + s->N - 1) / s->N, rows = (s->OH + want - 1) / want, lo, hi;
        rows = rows < 8 ? 8 : rows;
        int64_t bands = s->OH / rows > 1 ? s->OH / rows : 1; /* the last takes the rows left */
        ember_host_share(s->N * bands, 1, ith, nth, &lo, &hi);
        for (int64_t it = lo; it < hi; it++) {
            int64_t b = it % bands, n = it / bands, oy0 = b * rows, oy1 = b + 1 < bands ? oy0 + rows : s->OH;
            dw_band_seg(s, j->x, j->y, n, 0, s->chunks, 1, oy0, oy1);
        }
        return;
    }
#endif
    int64_t per = s->N * s->chunks, want = (4 * nth + per - 1) / per, rows = (s->OH + want - 1) / want;
    rows = rows < 8 ? 8 : rows;
    int64_t lo, hi, bands = (s->OH + rows - 1) / rows;
    ember_host_share(s->N * s->chunks * bands, 1, ith, nth, &lo, &hi);
#ifdef DW_AVX512
    if (vector && bands == 1 && dw_seg_takes(s, s->OH)) { /* whole maps: the chunks of an image in one call */
        for (int64_t it = lo; it < hi;) {
            int64_t n = it / s->chunks, k0 = it % s->chunks, k1 = k0 + hi - it < s->chunks ? k0 + hi - it : s->chunks;
            dw_band_seg(s, j->x, j->y, n, k0, k1, 0, 0, s->OH);
            it += k1 - k0;
        }
        return;
    }
#endif
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it % bands, ch = it / bands % s->chunks, n = it / bands / s->chunks, c0 = ch * s->lanes;
        int64_t oy0 = b * rows, oy1 = oy0 + rows < s->OH ? oy0 + rows : s->OH;
#ifdef DW_AVX512
        if (vector) {
            dw_band(s, j->x, j->y, n, c0, oy0, oy1);
            continue;
        }
#endif
        for (int64_t oy = oy0; oy < oy1; oy++)
            for (int64_t c = c0; c < c0 + s->lanes && c < s->C; c++) dw_scalar(s, j->x, j->y, n, c, oy);
    }
}


/* Where it beat oneDNN's depthwise convs inside a model (1 thread, us per conv, this
 * kernel vs oneDNN's, `ember profile`, lower of two runs on a shared 2-core VM). With
 * the row-segment tiles (3x3 at strides 1 and 2, 3+ output rows, more than 16 channels
 * or a map within L1: dw_seg_loses), every such layer of the zoo, any map and channel
 * count: mobilenet_v2's 17 (32 channels 112x112 146 vs 227, 96 channels 112x112 stride
 * 2 229 vs 242, 144 channels 56x56 137 vs 163, 960 channels 7x7 11.2 vs 16.8),
 * shufflenet_v2's 232 channels 7x7 (2.7-3.0 vs 4.4-5.2) and 24 channels 56x56 stride 2
 * (19.9 vs 23.9), vww_mobilenet025's 256 channels 3x3 (0.5 vs 1.4) and 128 channels
 * 6x6 to 3x3 (0.45 vs 1.4). Otherwise (the older tiles): maps that stay in the caches,
 * with up to 128 channels (before the segment tiles: shufflenet_v2 58 channels 28x28
 * 15.7 vs 18.1, vww's 8 channels 48x48 in pairs 5.7 vs 7.4); they lost on big maps,
 * whose rows stream from memory (mobilenet_v2 96 channels 112x112 stride 2: 515 vs 265),
 * and on many channels on few pixels, where most outputs are at the edges (vww's 256
 * channels 3x3: 2.0 vs 1.6). */
static int dw_shape_wins(const nn_conv_plan *p, int seg)
{
    if (seg && dw_seg_shape(p->w.k[0], p->w.k[1], p->w.s[0], p->w.s[1], p->w.pb[1], p->in[1], p->out[1]) && p->out[0] >= 3 &&
        !dw_seg_loses(p->C, p->in[0], p->in[1]))
        return 1;
    return p->C <= 128 && p->N * p->C * p->in[0] * p->in[1] * (int64_t)sizeof(float) <= 512 * 1024 &&
           p->out[0] >= 4 && p->out[1] >= 4;
}

/* Whether input 0 comes from a Conv and output 0 goes only to Convs, pools or
 * GlobalAveragePool: host kernels that hand their layouts on (ops/host.h). Otherwise a
 * side stays NCHW, which only the scalar loop reads (shufflenet_v2's channel shuffle
 * before a depthwise conv: 569 vs oneDNN's 35 us). True when there is no graph (unit
 * tests drive the layouts themselves). */
static int dw_neighbours_chain(const ember_op_ctx *c)
{
    const ember_graph *g = c->graph;
    if (!g) return 1;
    int x = c->node->inputs[0], y = c->node->outputs[0], from_conv = 0;
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == y) return 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ember_node *n = &g->nodes[i];
        for (int o = 0; o < n->n_outputs; o++)
            if (n->outputs[o] == x) from_conv = n->op == EMBER_OP_CONV;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == y && n->op != EMBER_OP_CONV && n->op != EMBER_OP_MAX_POOL &&
                n->op != EMBER_OP_AVERAGE_POOL && n->op != EMBER_OP_GLOBAL_AVERAGE_POOL)
                return 0;
    }
    return from_conv;
}

/* One thread only. In programs run on 2 threads (vww_mobilenet025, 2-core VM) these
 * layers ran slower than oneDNN's, whether split over both threads (24x24x32: 9.0 us)
 * or on one (6.8 us; 3.9 us in a 1-thread program) against oneDNN's 6.1-6.6 us; the
 * other core's OpenMP worker, spinning between oneDNN's steps, is the likely cost. Small
 * models run on one thread whatever the count asked (engine/program_tune.c), so
 * kws_dscnn keeps it at 2 threads too. */
static int dw_threads_win(int threads) { return threads == 1; }

static ember_status dw_prepare(ember_op_ctx *c, int threads, void **state)
{
    *state = NULL;
#ifndef DW_AVX512
    (void)c, (void)threads;
    return EMBER_E_UNSUPPORTED;
#else
    int enabled, sum;
    nn_conv_plan p;
    TRY(onednn_own_conv_start(c, "EMBER_DWCONV", &enabled, &sum, &p));
    if (sum) return EMBER_E_UNSUPPORTED;
    const char *sw = getenv("EMBER_DWCONV"); /* "noseg": the older tiles only (to measure) */
    int seg = !(sw && strcmp(sw, "noseg") == 0);
    const ember_op_tensor *w = ember_op_in(c, 1), *b = ember_op_in(c, 2), *y = c->out[0];
    if (p.w.nd != 2 || p.outsp <= 0 || p.N <= 0 || p.C <= 0 || p.G != p.C || p.M != p.C || p.w.d[0] != 1 ||
        p.w.d[1] != 1 || p.w.k[0] * p.w.k[1] > DW_MAX_TAPS || p.w.k[1] > 16 || p.out[0] != y->dims[2] || p.out[1] != y->dims[3] ||
        p.N * p.C * p.in[0] * p.in[1] > (1ll << 31))
        return EMBER_E_UNSUPPORTED;
    if (enabled != 2 && (!dw_shape_wins(&p, seg) || !dw_neighbours_chain(c) || !dw_threads_win(threads)))
        return EMBER_E_UNSUPPORTED;
    int act;
    float lo, hi;
    if (!onednn_conv_clamp(c, &act, &lo, &hi)) return EMBER_E_UNSUPPORTED;

    dwconv *s = calloc(1, sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    s->N = p.N, s->C = p.C, s->H = p.in[0], s->W = p.in[1], s->OH = p.out[0], s->OW = p.out[1];
    s->KH = p.w.k[0], s->KW = p.w.k[1], s->sy = p.w.s[0], s->sx = p.w.s[1], s->pt = p.w.pb[0], s->pl = p.w.pb[1];
    s->act = act != K_ACT_NONE;
    s->lo = lo, s->hi = hi;
    io_set(&s->src, 0, s->C, s->H, s->W);
    io_set(&s->dst, 0, s->C, s->OH, s->OW);
    s->lanes = 16, s->chunks = (s->C + 15) / 16;
    size_t chunks_max = (size_t)(s->C / 8 + 2); /* chunks of 8 lanes, with room */
    s->w = aligned_alloc(64, chunks_max * (size_t)(s->KH * s->KW) * 16 * sizeof(float));
    s->bias = aligned_alloc(64, chunks_max * 16 * sizeof(float));
    if (!s->w || !s->bias) {
        dw_release(s);
        return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for depthwise conv filters");
    }
    dw_pack(s, w->data, b ? b->data : NULL);
    s->seg = seg && dw_seg_ok(s);
    dw_seg_plan(s);
    *state = s;
    return EMBER_OK;
#endif
}

static ember_status dw_run(ember_op_ctx *c, void *state)
{
    const dwconv *s = state;
    dw_job j = {.s = s, .x = c->in[0]->data, .y = c->out[0]->data};
    if ((const void *)j.x == (void *)j.y) /* never planned so (no inplace_input) */
        return ember_op_fail(c, EMBER_E_INTERNAL, "depthwise conv: input and output share memory");
    int64_t macs = s->N * s->C * s->OH * s->OW * s->KH * s->KW;
    ember_threadpool_run(c->pool, dw_share, &j, ember_threadpool_shares(c->pool, macs, 65536));
    return EMBER_OK;
}

static int dw_layout_ok(const dwconv *s, int layout)
{
    return layout == dnnl_nhwc || (layout == dnnl_nChw16c && s->C % 16 == 0) ||
           (layout == dnnl_nChw8c && s->C % 8 == 0);
}

/* Layout chaining (ops/host.h): the output follows the input's chained layout, else
 * NHWC. */
static int dw_out_layout(void *state, int out_idx)
{
    const dwconv *s = state;
    if (out_idx != 0 || s->dst.layout) return 0; /* set already: nothing left to drop (as onednn_conv) */
    return s->src.layout ? s->src.layout : dnnl_nhwc;
}

static int dw_accepts_layout(void *state, int in_idx, int layout)
{
    return in_idx == 0 && dw_layout_ok(state, layout);
}

/* Once the program has dropped the constant filters the packed ones are the only copy,
 * so a change of lanes (nChw8c on a side) regroups them. */
static ember_status dw_set_layout(void *state, int is_output, int idx, int layout, size_t *scratch_bytes)
{
    dwconv *s = state;
    (void)scratch_bytes;
    if (idx != 0 || !dw_layout_ok(s, layout))
        return ember_error(EMBER_E_INTERNAL, "depthwise conv: layout %d was not offered", layout);
    if (is_output) io_set(&s->dst, layout, s->C, s->OH, s->OW);
    else io_set(&s->src, layout, s->C, s->H, s->W);
    int64_t lanes = dw_lanes(s);
    if (lanes != s->lanes) { /* regroup the packed filters: unpack lane by lane */
        int64_t taps = s->KH * s->KW;
        float *w = malloc((size_t)(s->C * taps) * sizeof(float)), *b = malloc((size_t)s->C * sizeof(float));
        if (!w || !b) {
            free(w), free(b);
            return ember_error(EMBER_E_NO_MEMORY, "out of memory for depthwise conv filters");
        }
        for (int64_t c = 0; c < s->C; c++) {
            int64_t ch = c / s->lanes, l = c % s->lanes;
            for (int64_t t = 0; t < taps; t++) w[c * taps + t] = s->w[(ch * taps + t) * 16 + l];
            b[c] = s->bias[ch * 16 + l];
        }
        s->lanes = lanes, s->chunks = (s->C + lanes - 1) / lanes;
        dw_pack(s, w, b);
        free(w), free(b);
    }
    dw_seg_plan(s);
    return EMBER_OK;
}

const ember_host_kernel ember_host_dwconv = {
    .name = "dwconv",
    .op = EMBER_OP_CONV,
    .prepare = dw_prepare,
    .run = dw_run,
    .release = dw_release,
    .out_layout = dw_out_layout,
    .accepts_layout = dw_accepts_layout,
    .set_layout = dw_set_layout,
    .drops_input = ember_host_drops_conv_weights,
};
