/* Pointwise (1x1) float32 convolutions as a GEMM on packed weights, with AVX-512 (declines
 * elsewhere, in bf16, and with EMBER_CONV1X1=0). A 1x1 conv on channels-last pixels is
 * Y[pixels, M] = X[pixels, C] . W^T[C, M]: the weights are packed once into panels of 64
 * output channels ([M/64][C][64], gemm_panels.h's layout) and each register tile computes
 * 6 output pixels x 64 channels in 24 accumulators over all of C, with the bias loaded
 * first and the residual (a fused Add, input 3) and the activation (Relu, Clip) applied
 * before the one store. Strided convs (ResNet's downsample) read every s-th pixel.
 *
 * Why not oneDNN: on this CPU (two 512-bit FMA ports) oneDNN 2.6's brgemm 1x1 convs ran
 * resnet50's 1x1 layers at 100-145 GFLOP/s on one thread (layer4: ~100) where the tiles
 * here reach 165-185; see conv1x1_shape_wins for where each is used.
 *
 * Blocking: a block of pixel rows is multiplied by every panel before the next block, so
 * the block of X stays in L2 while the panels stream; when all of X fits (layer4: 49
 * pixels x 2048 channels) every panel is read from memory once. The run's threads (on
 * oneDNN's OpenMP team in programs with oneDNN steps: engine/exec.c) take panels, or row
 * blocks when there are fewer panels than threads; each output element is one sum over
 * C in channel order whatever the split.
 *
 * Small maps in one-thread programs (kws_dscnn, vww_mobilenet025) take pw_small.c's tiles:
 * weights resident in L1 per panel, pixels at constant offsets, a tile per map remainder.
 *
 * Layouts (ops/host.h chaining): input, residual and output each in NHWC or nChw16c, as
 * oneDNN's neighbouring convs write them, or NCHW (gathered and scattered a vector at a
 * time: slow, only when a neighbour is not a host kernel). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/activation.h"
#include "../nn_common.h"
#include "gemm_panels.h"
#include "pw_small.h"
#include "onednn.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define C1_AVX512 1
#endif

#define NR 64            /* output channels per panel, at most */
#define MR 6             /* pixels per register tile with 64-channel panels */
#define C1_ROWS_MAX 24   /* pixels per register tile with 16-channel panels */
#define BLOCK_BYTES (512 * 1024) /* X rows per block: at most this many bytes of them */
#define C1_BLOCK_MAX 384         /* and at most this many (their offsets are on the stack) */

enum { L_PLAIN, L_NHWC, L_BLOCKED }; /* a tensor's layout: NCHW, NHWC, nChw16c */

/* Element (image n, channel c, pixel q of the map) at n * sn + (c / 16) * scb +
 * (c % 16) * sc + q * sq. */
typedef struct c1_io {
    int layout;
    int64_t sn, scb, sc, sq;
} c1_io;

typedef struct conv1x1 {
    int64_t N, C, M, H, W, OH, OW, sy, sx; /* sy, sx: strides */
    int64_t pixels, panels;                /* N * OH * OW; M / nr rounded up */
    int64_t nr, mr;                        /* panel width: 64, or 16 / 32 for narrow M; tile rows */
    int flat;                              /* runs c1_flat (set with the layouts) */
    int small_wanted, small;               /* c1_small's shapes; and it runs (set with the layouts) */
    float *w;                              /* [panels][C][nr] */
    float *bias;                           /* [panels * nr], zeros when absent */
    int64_t *koff;                         /* [C]: offset of channel k in the input layout */
    int sum, act;
    float lo, hi;                          /* the activation as a clamp (Relu: 0, +inf) */
    int blocks_wanted;                     /* the node is marked ember_channel_blocks */
    int64_t block_rows;
    c1_io src, dst, res;
} conv1x1;

static void io_set(c1_io *io, int layout, int64_t C, int64_t HW)
{
    io->layout = layout;
    io->sn = C * HW;
    if (layout == L_NHWC) io->scb = 16, io->sc = 1, io->sq = C;
    else if (layout == L_BLOCKED) io->scb = 16 * HW, io->sc = 1, io->sq = 16;
    else io->scb = 16 * HW, io->sc = HW, io->sq = 1;
}

static int layout_code(int l) { return l == L_NHWC ? dnnl_nhwc : l == L_BLOCKED ? dnnl_nChw16c : 0; }
static int layout_of(int code) { return code == dnnl_nhwc ? L_NHWC : code == dnnl_nChw16c ? L_BLOCKED : -1; }

static void c1_release(void *p)
{
    conv1x1 *s = p;
    if (!s) return;
    free(s->w);
    free(s->bias);
    free(s->koff);
    free(s);
}

#ifdef C1_AVX512
/* Where output pixels [i0, i1) (of the whole batch) read their input and write their
 * output and residual: one division for the first, then a walk along rows (a per-pixel
 * division was ~1 us of kws_dscnn's 7 us pointwise convs). */
static void pixel_offsets(const conv1x1 *s, int64_t i0, int64_t i1, int64_t *in, int64_t *out, int64_t *res)
{
    int64_t ohw = s->OH * s->OW, n = i0 / ohw, q = i0 % ohw, oy = q / s->OW, ox = q % s->OW;
    for (int64_t i = 0; i < i1 - i0; i++) {
        in[i] = n * s->src.sn + (oy * s->sy * s->W + ox * s->sx) * s->src.sq;
        out[i] = n * s->dst.sn + q * s->dst.sq;
        res[i] = n * s->res.sn + q * s->res.sq;
        q++;
        if (++ox == s->OW) {
            ox = 0;
            if (++oy == s->OH) oy = 0, q = 0, n++;
        }
    }
}

/* 16 channels starting at c0 (a multiple of 16) of one pixel at offset `at` of t. */
__attribute__((target("avx512f"))) static inline __m512 io_load(const c1_io *io, const float *t, int64_t at,
                                                                 int64_t c0, __mmask16 m)
{
    const float *p = t + at + (c0 / 16) * io->scb;
    if (io->sc == 1) return _mm512_maskz_loadu_ps(m, p);
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)io->sc));
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, p, 4);
}

__attribute__((target("avx512f"))) static inline void io_store(const c1_io *io, float *t, int64_t at, int64_t c0,
                                                                __mmask16 m, __m512 v)
{
    float *p = t + at + (c0 / 16) * io->scb;
    if (io->sc == 1) {
        _mm512_mask_storeu_ps(p, m, v);
        return;
    }
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32((int)io->sc));
    _mm512_mask_i32scatter_ps(p, m, idx, v, 4);
}

/* R pixels (input offsets xo) x one panel of V vectors: the sums over all C, then bias,
 * residual, clamp and store. `contig`: channel k of a pixel is at xo + k (NHWC input). */
#define C1_TILE(R, V)                                                                                       \
    __attribute__((target("avx512f"))) static void tile_##R##_##V(                                          \
        const conv1x1 *s, const float *x, const int64_t *xo, const float *panel, const float *bias,        \
        const float *res, const int64_t *ro, float *y, const int64_t *yo, int64_t c0, int contig,          \
        const float *pf, int64_t pf_lines)                                                                  \
    {                                                                                                       \
        __m512 acc[R][V];                                                                                   \
        for (int v = 0; v < V; v++) {                                                                       \
            __m512 b = _mm512_loadu_ps(bias + 16 * v);                                                      \
            _Pragma("GCC unroll 24") for (int i = 0; i < R; i++) acc[i][v] = b;                             \
        }                                                                                                   \
        const float *xp[R];                                                                                 \
        for (int i = 0; i < R; i++) xp[i] = x + xo[i];                                                      \
        const int64_t *ko = s->koff; /* contig: the loop is unswitched, k itself the offset */               \
        for (int64_t k = 0; k < s->C; k++, panel += 16 * V) {                                              \
            __m512 w[V];                                                                                    \
            for (int v = 0; v < V; v++) w[v] = _mm512_load_ps(panel + 16 * v);                             \
            if (k < pf_lines) _mm_prefetch((const char *)(pf + 16 * k), _MM_HINT_T1);                     \
            int64_t o = contig ? k : ko[k];                                                                 \
            _Pragma("GCC unroll 24") for (int i = 0; i < R; i++) {                                          \
                __m512 a = _mm512_set1_ps(xp[i][o]);                                                        \
                for (int v = 0; v < V; v++) acc[i][v] = _mm512_fmadd_ps(a, w[v], acc[i][v]);                \
            }                                                                                               \
        }                                                                                                   \
        for (int64_t k = s->C; k < pf_lines; k++) _mm_prefetch((const char *)(pf + 16 * k), _MM_HINT_T1);   \
        __m512 lo = _mm512_set1_ps(s->lo), hi = _mm512_set1_ps(s->hi);                                      \
        for (int v = 0; v < V; v++) {                                                                       \
            int64_t c = c0 + 16 * v, left = s->M - c;                                                       \
            if (left <= 0) break;                                                                           \
            __mmask16 m = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);                              \
            _Pragma("GCC unroll 24") for (int i = 0; i < R; i++) {                                          \
                __m512 r = acc[i][v];                                                                       \
                if (res) r = _mm512_add_ps(r, io_load(&s->res, res, ro[i], c, m));                           \
                if (s->act) r = _mm512_min_ps(_mm512_max_ps(r, lo), hi);                                     \
                io_store(&s->dst, y, yo[i], c, m, r);                                                       \
            }                                                                                               \
        }                                                                                                   \
    }
C1_TILE(6, 4)
C1_TILE(4, 4)
C1_TILE(2, 4)
C1_TILE(1, 4)
C1_TILE(12, 2)
C1_TILE(8, 2)
C1_TILE(4, 2)
C1_TILE(2, 2)
C1_TILE(1, 2)
C1_TILE(24, 1)
C1_TILE(16, 1)
C1_TILE(8, 1)
C1_TILE(4, 1)
C1_TILE(2, 1)
C1_TILE(1, 1)

typedef void (*c1_tile_fn)(const conv1x1 *, const float *, const int64_t *, const float *, const float *,
                           const float *, const int64_t *, float *, const int64_t *, int64_t, int, const float *,
                           int64_t);

/* The biggest tile of at most `left` rows for the panel width, and its rows. */
static c1_tile_fn c1_tile_for(int64_t nr, int64_t left, int *rows)
{
    static const struct {
        int64_t nr;
        int rows;
        c1_tile_fn fn;
    } tiles[] = {{64, 6, tile_6_4},   {64, 4, tile_4_4},   {64, 2, tile_2_4},  {64, 1, tile_1_4},
                 {32, 12, tile_12_2}, {32, 8, tile_8_2},   {32, 4, tile_4_2},  {32, 2, tile_2_2},
                 {32, 1, tile_1_2},   {16, 24, tile_24_1}, {16, 16, tile_16_1}, {16, 8, tile_8_1},
                 {16, 4, tile_4_1},   {16, 2, tile_2_1},   {16, 1, tile_1_1}};
    for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++)
        if (tiles[i].nr == nr && tiles[i].rows <= left) {
            *rows = tiles[i].rows;
            return tiles[i].fn;
        }
    *rows = 1;
    return tile_1_4;
}

typedef struct c1_job {
    const conv1x1 *s;
    const float *x, *res;
    float *y;
} c1_job;

/* Output pixels [r0, r1) x panels [p0, p1): row blocks outer, panels inner. The tiles
 * of a panel prefetch the next panel into L2 between them, a share each, so its first
 * tile does not wait on memory (the weights of a ResNet do not stay in L2 from one run
 * to the next: layer4's 1x1 convs have 4-8 MB each, and only 9 tiles of 6 pixels read
 * each panel). */
static void c1_block(const c1_job *j, int64_t r0, int64_t r1, int64_t p0, int64_t p1)
{
    const conv1x1 *s = j->s;
    int contig = s->src.layout == L_NHWC;
    int64_t xo[C1_BLOCK_MAX], yo[C1_BLOCK_MAX], ro[C1_BLOCK_MAX], nr = s->nr;
    int64_t lines = s->C * nr / 16; /* cache lines of a panel */
    for (int64_t b0 = r0; b0 < r1; b0 += s->block_rows) {
        int64_t b1 = b0 + s->block_rows < r1 ? b0 + s->block_rows : r1;
        pixel_offsets(s, b0, b1, xo, yo, ro);
        int64_t tiles = (b1 - b0 + s->mr - 1) / s->mr;
        for (int64_t p = p0; p < p1; p++) {
            const float *panel = s->w + p * s->C * nr, *bias = s->bias + p * nr;
            const float *next = p + 1 < p1 ? panel + s->C * nr : NULL;
            int64_t t = 0;
            for (int64_t r = b0; r < b1; t++) {
                int rows;
                c1_tile_fn tile = c1_tile_for(nr, b1 - r, &rows);
                int64_t l0 = next ? t * lines / tiles : 0, l1 = next ? (t + 1) * lines / tiles : 0;
                const float *pf = next ? next + 16 * l0 : NULL;
                const int64_t *xv = xo + (r - b0), *yv = yo + (r - b0), *rv = ro + (r - b0);
                tile(s, j->x, xv, panel, bias, j->res, rv, j->y, yv, p * nr, contig, pf, l1 - l0);
                r += rows;
            }
        }
    }
}

/* Narrow convs on NHWC at stride 1 (C in {8, 16, 32}, M <= 32: vww_mobilenet025's first
 * pointwise layers): the pixels are one flat [pixels][C] matrix, so a tile reads pixel
 * i's channel k at a constant offset from one pointer, where the general tiles keep a
 * pointer a pixel (24 of them spill) and compute every pixel's offsets. R pixels x V
 * vectors, the sums over CC channels unrolled, then bias, residual, clamp, store. */
#define C1_FLAT(R, V, CC)                                                                                   \
    __attribute__((target("avx512f"))) static void flat_##R##_##V##_##CC(const conv1x1 *s, const float *x,  \
                                                                         const float *res, float *y)       \
    {                                                                                                       \
        __m512 acc[R][V];                                                                                   \
        for (int v = 0; v < V; v++) {                                                                       \
            __m512 b = _mm512_loadu_ps(s->bias + 16 * v);                                                   \
            _Pragma("GCC unroll 24") for (int i = 0; i < R; i++) acc[i][v] = b;                             \
        }                                                                                                   \
        _Pragma("GCC unroll 32") for (int k = 0; k < CC; k++) {                                             \
            __m512 w[V];                                                                                    \
            for (int v = 0; v < V; v++) w[v] = _mm512_load_ps(s->w + (k * V + v) * 16);                     \
            _Pragma("GCC unroll 24") for (int i = 0; i < R; i++) {                                          \
                __m512 a = _mm512_set1_ps(x[i * CC + k]);                                                   \
                for (int v = 0; v < V; v++) acc[i][v] = _mm512_fmadd_ps(a, w[v], acc[i][v]);                \
            }                                                                                               \
        }                                                                                                   \
        __m512 lo = _mm512_set1_ps(s->lo), hi = _mm512_set1_ps(s->hi);                                      \
        for (int v = 0; v < V; v++) {                                                                       \
            int64_t left = s->M - 16 * v;                                                                   \
            __mmask16 m = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);                              \
            _Pragma("GCC unroll 24") for (int i = 0; i < R; i++) {                                          \
                __m512 r = acc[i][v];                                                                       \
                if (res) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, res + i * s->M + 16 * v));           \
                if (s->act) r = _mm512_min_ps(_mm512_max_ps(r, lo), hi);                                     \
                _mm512_mask_storeu_ps(y + i * s->M + 16 * v, m, r);                                         \
            }                                                                                               \
        }                                                                                                   \
    }
#define C1_FLATS(CC) C1_FLAT(24, 1, CC) C1_FLAT(1, 1, CC) C1_FLAT(12, 2, CC) C1_FLAT(1, 2, CC)
C1_FLATS(8)
C1_FLATS(16)
C1_FLATS(32)

typedef void (*c1_flat_fn)(const conv1x1 *, const float *, const float *, float *);

/* The flat tiles for s (whole tile, one pixel), or 0 when s is not a flat conv. */
static int c1_flat_tiles(const conv1x1 *s, c1_flat_fn *tile, c1_flat_fn *one, int *rows)
{
    if (s->sy != 1 || s->sx != 1 || s->src.layout != L_NHWC || s->dst.layout != L_NHWC || s->M > 32 ||
        (s->sum && s->res.layout != L_NHWC))
        return 0;
    int v2 = s->nr == 32;
    *rows = v2 ? 12 : 24;
    switch (s->C) {
    case 8: *tile = v2 ? flat_12_2_8 : flat_24_1_8, *one = v2 ? flat_1_2_8 : flat_1_1_8; return 1;
    case 16: *tile = v2 ? flat_12_2_16 : flat_24_1_16, *one = v2 ? flat_1_2_16 : flat_1_1_16; return 1;
    case 32: *tile = v2 ? flat_12_2_32 : flat_24_1_32, *one = v2 ? flat_1_2_32 : flat_1_1_32; return 1;
    default: return 0;
    }
}

/* Pixels [r0, r1) of a flat conv. */
static void c1_flat(const c1_job *j, int64_t r0, int64_t r1)
{
    const conv1x1 *s = j->s;
    c1_flat_fn tile, one;
    int rows;
    c1_flat_tiles(s, &tile, &one, &rows);
    int64_t p = r0;
    for (; p + rows <= r1; p += rows) tile(s, j->x + p * s->C, j->res ? j->res + p * s->M : NULL, j->y + p * s->M);
    for (; p < r1; p++) one(s, j->x + p * s->C, j->res ? j->res + p * s->M : NULL, j->y + p * s->M);
}

/* Panels [p0, p1) of every image: panel outer, so its weights stay in L1 across the
 * image's pixel tiles. */
static void c1_small(const c1_job *j, int64_t p0, int64_t p1)
{
    const conv1x1 *s = j->s;
    ember_pw_small a = {.C = s->C, .xbs = s->src.scb, .xps = s->src.sq, .yvs = s->dst.scb, .yps = s->dst.sq,
                        .rvs = s->res.scb, .rps = s->res.sq, .lo = s->act ? s->lo : -INFINITY,
                        .hi = s->act ? s->hi : INFINITY};
    int64_t hw = s->OH * s->OW;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t p = p0; p < p1; p++) {
            int64_t cb = p * s->nr / 16; /* the panel's first channel block */
            ember_pw_small_panel(&a, s->nr, hw, j->x + n * s->src.sn, s->w + p * s->C * s->nr, s->bias + p * s->nr,
                                 j->res ? j->res + n * s->res.sn + cb * s->res.scb : NULL,
                                 j->y + n * s->dst.sn + cb * s->dst.scb);
        }
}

static void c1_share(void *ctx, int ith, int nth)
{
    const c1_job *j = ctx;
    const conv1x1 *s = j->s;
    int64_t r0 = 0, r1 = s->pixels, p0 = 0, p1 = s->panels;
    if (s->flat) {
        ember_host_share(s->pixels, s->mr, ith, nth, &r0, &r1);
        if (r0 < r1) c1_flat(j, r0, r1);
        return;
    }
    if (s->small) { /* one-thread programs: a second thread (if any) takes panels */
        ember_host_share(s->panels, 1, ith, nth, &p0, &p1);
        if (p0 < p1) c1_small(j, p0, p1);
        return;
    }
    if (nth > 1) {
        if (s->panels >= 2 * nth || s->panels % nth == 0) ember_host_share(s->panels, 1, ith, nth, &p0, &p1);
        else ember_host_share(s->pixels, s->mr, ith, nth, &r0, &r1); /* whole tiles of rows */
    }
    if (r0 < r1 && p0 < p1) c1_block(j, r0, r1, p0, p1);
}
#endif


/* Where the tiles beat oneDNN's 1x1 convs inside a model (resnet50, 1 thread, sum over
 * the blocks, us, tiles vs oneDNN): wide outputs from few pixels, whose weights stream
 * from memory: layer4 conv3 (512 -> 2048, 7x7) 2794 vs 3160, layer4 downsample (1024 ->
 * 2048, stride 2) 1915 vs 2022, layer3 downsample (512 -> 1024, stride 2) 1424 vs 1476.
 * Elsewhere oneDNN's brgemm kernels were as fast or faster: layer3 conv3 (256 -> 1024)
 * 1.00x, layer4 conv1 (2048 -> 512) 1.04x, layer1-2 1.06-1.17x, mobilenet_v2's and
 * shufflenet_v2's pointwise convs 1.07x and 1.14x, kws_dscnn's 64 -> 64 (nChw16c) 1.07x.
 * And narrow convs (C, M <= 32) on maps that stay in cache, in one-thread programs, on
 * the flat tiles: vww_mobilenet025's 8 -> 16 at 48x48 8.8 -> ~4.5 us, 16 -> 32 at 24x24
 * 7.3 -> ~4 us, 32 -> 32 at 24x24 8.8 -> ~6 us (the model 149 -> 139 us). At 2 threads
 * the model got slower (146 -> 164 us: oneDNN's depthwise neighbours then reorder to
 * their nChw8c), and mobilenet_v2's 32 -> 16 at 112x112 ~1% slower. */
static int conv1x1_shape_wins(int64_t C, int64_t M, int64_t pixels, int threads)
{
    return (C >= 512 && M >= 1024 && pixels <= 196 && pixels >= MR) ||
           (C <= 32 && M <= 32 && pixels <= 4096 && threads == 1);
}

/* Where c1_small beats oneDNN's jit 1x1 convs in the models (one thread, us, tiles vs
 * oneDNN, nChw16c): kws_dscnn's 64 -> 64 at 25x5 ~5.9 vs 6.9 (the model 41.0 -> 39.1 with
 * the first version of the tiles, ~6.1 us); vww_mobilenet025's 64 -> 64 at 12x12, 128 ->
 * 128 at 6x6 (five: ~7.2 vs 7.9), 128 -> 256 and 256 -> 256 at 3x3 (the model 127 -> 119). These are <= 2M multiply-adds with <= 256 KB of
 * weights. Larger layers lost to oneDNN's brgemm kernels: mobilenet_v2's at 14x14 (64 ->
 * 384 .. 576 -> 96: 2-10% slower, a panel of 384-576 input channels no longer stays in
 * L1), squeezenet's 64 -> 256 at 13x13 about even. */
static int c1_small_wins(int64_t C, int64_t M, int64_t hw, int threads)
{
    return threads == 1 && C >= 32 && M >= 32 && C * M <= 256 * 256 && C * M * hw <= (1 << 21);
}

static ember_status c1_prepare(ember_op_ctx *c, int threads, void **state)
{
    *state = NULL;
#ifndef C1_AVX512
    (void)c, (void)threads;
    return EMBER_E_UNSUPPORTED;
#else
    int enabled, sum;
    nn_conv_plan p;
    TRY(onednn_own_conv_start(c, "EMBER_CONV1X1", &enabled, &sum, &p));
    const ember_op_tensor *w = ember_op_in(c, 1), *b = ember_op_in(c, 2), *y = c->out[0];
    if (p.w.nd != 2 || p.outsp <= 0 || p.N <= 0 || p.G != 1 || p.w.k[0] != 1 || p.w.k[1] != 1 || p.w.pb[0] ||
        p.w.pb[1] || p.w.pe[0] || p.w.pe[1] || p.out[0] != y->dims[2] || p.out[1] != y->dims[3] ||
        p.C * p.M > (1 << 26) || p.N * p.C * p.in[0] * p.in[1] > (1ll << 31))
        return EMBER_E_UNSUPPORTED;
    int64_t hw = p.out[0] * p.out[1];
    int small = ember_host_switch("EMBER_CONV1X1_SMALL") && p.w.s[0] == 1 && p.w.s[1] == 1 && p.C % 16 == 0 &&
                p.M % 32 == 0 && (enabled == 2 || c1_small_wins(p.C, p.M, hw, threads));
    if (enabled != 2 && !small && !conv1x1_shape_wins(p.C, p.M, p.N * p.outsp, threads)) return EMBER_E_UNSUPPORTED;
    int act;
    float lo, hi;
    if (!onednn_conv_clamp(c, &act, &lo, &hi)) return EMBER_E_UNSUPPORTED;

    conv1x1 *s = calloc(1, sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    s->N = p.N, s->C = p.C, s->M = p.M, s->H = p.in[0], s->W = p.in[1], s->OH = p.out[0], s->OW = p.out[1];
    s->sy = p.w.s[0], s->sx = p.w.s[1];
    s->nr = s->M <= 16 ? 16 : s->M <= 32 ? 32 : NR, s->mr = s->nr == 16 ? 24 : s->nr == 32 ? 12 : MR;
    s->small_wanted = small;
    if (small && (s->M % 64 || hw <= 12)) s->nr = 32, s->mr = 12; /* small maps: one tile a panel */
    s->pixels = s->N * s->OH * s->OW, s->panels = (s->M + s->nr - 1) / s->nr;
    s->sum = sum;
    s->act = act != K_ACT_NONE;
    s->lo = lo, s->hi = hi;
    const ember_attr *cba = ember_node_attr(c->node, "ember_channel_blocks");
    s->blocks_wanted = cba && cba->type == EMBER_ATTR_INT && cba->i == 1;
    int64_t rows = BLOCK_BYTES / (s->C * (int64_t)sizeof(float));
    rows = (rows + s->mr - 1) / s->mr * s->mr;
    s->block_rows = rows < s->mr ? s->mr : rows > C1_BLOCK_MAX ? C1_BLOCK_MAX : rows;
    io_set(&s->src, L_PLAIN, s->C, s->H * s->W);
    io_set(&s->dst, L_PLAIN, s->M, s->OH * s->OW);
    io_set(&s->res, L_PLAIN, s->M, s->OH * s->OW);
    s->w = aligned_alloc(64, (size_t)(s->panels * s->C * s->nr) * sizeof(float));
    s->bias = calloc((size_t)(s->panels * s->nr), sizeof(float));
    s->koff = malloc((size_t)s->C * sizeof *s->koff);
    if (!s->w || !s->bias || !s->koff) {
        c1_release(s);
        return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for packed 1x1 conv weights");
    }
    if (s->nr == NR) ember_panels_pack(w->data, s->C, 1, s->C, s->M, 1.0f, s->w); /* W [M, C]: B = W^T */
    else /* panels [panels][C][nr], zero padded */
        for (int64_t q = 0; q < s->panels; q++)
            for (int64_t k = 0; k < s->C; k++)
                for (int64_t m = q * s->nr; m < (q + 1) * s->nr; m++)
                    s->w[(q * s->C + k) * s->nr + m % s->nr] = m < s->M ? ((const float *)w->data)[m * s->C + k] : 0.0f;
    if (b) memcpy(s->bias, b->data, (size_t)s->M * sizeof(float));
    for (int64_t k = 0; k < s->C; k++) s->koff[k] = (k / 16) * s->src.scb + (k % 16) * s->src.sc;
    *state = s;
    return EMBER_OK;
#endif
}

static ember_status c1_run(ember_op_ctx *c, void *state)
{
#ifdef C1_AVX512
    const conv1x1 *s = state;
    c1_job j = {.s = s, .x = c->in[0]->data, .y = c->out[0]->data, .res = s->sum ? c->in[3]->data : NULL};
    if ((const void *)j.x == (void *)j.y) /* never planned so (no inplace_input for input 0) */
        return ember_op_fail(c, EMBER_E_INTERNAL, "1x1 conv: input and output share memory");
    double macs = (double)s->pixels * (double)s->C * (double)s->M;
    int want = ember_threadpool_shares(c->pool, macs > 1e15 ? INT64_MAX : (int64_t)macs, 65536);
    ember_threadpool_run(c->pool, c1_share, &j, want); /* the run's threads (exec.c's runner) */
    return EMBER_OK;
#else
    (void)state;
    return ember_op_fail(c, EMBER_E_INTERNAL, "1x1 conv is not built for this architecture");
#endif
}

/* Layout chaining (ops/host.h): dst follows an already chained side (src, then the
 * residual), nChw16c in a region the program marked for channel blocks, NHWC otherwise. */
static int c1_out_layout(void *state, int out_idx)
{
    const conv1x1 *s = state;
    if (out_idx != 0 || s->dst.layout != L_PLAIN) return 0; /* set already: nothing left to drop (as onednn_conv) */
    int l = s->blocks_wanted           ? L_BLOCKED
            : s->src.layout != L_PLAIN ? s->src.layout
            : s->res.layout != L_PLAIN ? s->res.layout
                                       : L_NHWC;
    return layout_code(l == L_BLOCKED && s->M % 16 ? L_NHWC : l);
}

/* A layout of `channels` channels as one of ours: nChw8c with 8 channels has NHWC's bytes
 * (a dwconv.c or oneDNN neighbour with 8 channels writes it). */
static int layout_of_channels(int code, int64_t channels)
{
    return code == dnnl_nChw8c && channels == 8 ? L_NHWC : layout_of(code);
}

static int c1_accepts_layout(void *state, int in_idx, int layout)
{
    const conv1x1 *s = state;
    int l = layout_of_channels(layout, in_idx == 0 ? s->C : s->M);
    if (l == L_BLOCKED && (in_idx == 0 ? s->C : s->M) % 16 != 0) return 0;
    return (in_idx == 0 || (in_idx == 3 && s->sum)) && l > 0;
}

static ember_status c1_set_layout(void *state, int is_output, int idx, int layout, size_t *scratch_bytes)
{
    conv1x1 *s = state;
    (void)scratch_bytes;
    int l = layout_of_channels(layout, is_output || idx == 3 ? s->M : s->C);
    if (l <= 0 || (is_output ? idx != 0 || (l == L_BLOCKED && s->M % 16) : !c1_accepts_layout(s, idx, layout)))
        return ember_error(EMBER_E_INTERNAL, "1x1 conv: layout %d was not offered", layout);
    if (is_output) {
        io_set(&s->dst, l, s->M, s->OH * s->OW);
    } else if (idx == 0) {
        io_set(&s->src, l, s->C, s->H * s->W);
        for (int64_t k = 0; k < s->C; k++) s->koff[k] = (k / 16) * s->src.scb + (k % 16) * s->src.sc;
    } else {
        io_set(&s->res, l, s->M, s->OH * s->OW);
    }
#ifdef C1_AVX512
    c1_flat_fn tile, one;
    int rows;
    s->flat = c1_flat_tiles(s, &tile, &one, &rows);
    s->small = !s->flat && s->small_wanted && s->src.layout != L_PLAIN && s->dst.layout != L_PLAIN &&
               (!s->sum || s->res.layout != L_PLAIN);
#endif
    return EMBER_OK;
}

/* Each residual element is read just before the same element of dst is written, by the
 * same thread: dst may be the residual's memory when both have the same layout. */
static int c1_inplace_input(void *state, int in_idx)
{
    const conv1x1 *s = state;
    return in_idx == 3 && s->sum && s->res.layout == s->dst.layout;
}

const ember_host_kernel ember_host_conv1x1 = {
    .name = "conv1x1",
    .op = EMBER_OP_CONV,
    .prepare = c1_prepare,
    .run = c1_run,
    .release = c1_release,
    .out_layout = c1_out_layout,
    .accepts_layout = c1_accepts_layout,
    .set_layout = c1_set_layout,
    .drops_input = ember_host_drops_conv_weights,
    .inplace_input = c1_inplace_input,
};
