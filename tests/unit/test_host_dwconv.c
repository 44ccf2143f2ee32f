/* The depthwise conv (ops/host/dwconv.c) against the reference Conv: channel counts on and
 * off the 16-float vector (tails in NHWC), maps from 1x1 up, with and without an
 * interior, tall and wide (the 16/8/4/2/1-row tiles and the 4x2, 2x4, 1x8 tiles of the
 * rows left), 3x3 filters at strides 1 and 2 (the tiles that reuse loads) and 5x5, 1x3,
 * 3x1 (the plain tiles), asymmetric pads, batch 2, bias or none, Relu / Clip, 1 and 2
 * threads, src and dst each in NCHW, NHWC, nChw16c or nChw8c (8 channels a pixel at
 * stride 1: two pixels a vector); the shape rule; what it must decline. Tolerance:
 * |y - ref| <= 1e-4 max|ref| + 1e-5 per element. EMBER_DWCONV=all lifts the shape rule,
 * =noseg keeps to the older tiles. */
#include "conv_host_check.h"

extern const ember_host_kernel ember_host_dwconv;

static uint32_t rng = 777u;

typedef struct dcase {
    int64_t N, C, H, W, KH, KW, stride, pads[4];
    int bias;
    const char *act;
    int threads, lx, ly;
} dcase;

static void check(const dcase *k)
{
    conv_check cc = {.N = k->N, .C = k->C, .M = k->C, .H = k->H, .W = k->W, .KH = k->KH, .KW = k->KW,
                     .stride = k->stride, .bias = k->bias, .act = k->act, .threads = k->threads, .lx = k->lx,
                     .ly = k->ly, .group = k->C};
    memcpy(cc.pads, k->pads, sizeof cc.pads);
    conv_host_check(&ember_host_dwconv, &cc, &rng);
}

static void all_shapes(void) { cr_assert_eq(setenv("EMBER_DWCONV", "all", 1), 0); }

/* The layouts a channel count allows. */
static int layout_ok(int64_t C, int l) { return l == LP || l == LH || (l == LB && C % 16 == 0) || (l == LB8 && C % 8 == 0); }

Test(host_dwconv, shapes_vs_reference, .init = all_shapes)
{
    static const int64_t chans[] = {16, 64, 8, 24, 5, 40};
    static const int64_t maps[][2] = {{25, 5}, {7, 7}, {40, 3}, {3, 40}, {1, 1}, {2, 9}, {19, 13}};
    static const int64_t kern[][3] = {{3, 3, 1}, {3, 3, 2}, {5, 5, 1}, {1, 3, 1}, {3, 1, 2}};
    int i = 0;
    for (size_t a = 0; a < sizeof chans / sizeof chans[0]; a++)
        for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++)
            for (size_t f = 0; f < sizeof kern / sizeof kern[0]; f++, i++) {
                int64_t C = chans[a], ph = kern[f][0] / 2, pw = kern[f][1] / 2;
                int lx = (int)(i % 4), ly = (int)((i / 4) % 4);
                if (!layout_ok(C, lx)) lx = LH;
                if (!layout_ok(C, ly)) ly = LH;
                dcase k = {.N = 1, .C = C, .H = maps[m][0], .W = maps[m][1], .KH = kern[f][0], .KW = kern[f][1],
                           .stride = kern[f][2], .pads = {ph, pw, ph, pw}, .bias = i % 2,
                           .act = i % 3 == 0 ? "Relu" : i % 3 == 1 ? "Clip" : NULL, .threads = 1 + i % 2,
                           .lx = lx, .ly = ly};
                if (k.H + 2 * ph < k.KH || k.W + 2 * pw < k.KW) continue;
                check(&k);
            }
}

/* Every pair of src / dst layouts on a map with an interior, at both strides: two pixels
 * a vector where both sides hold 8 channels a pixel (nChw8c; NHWC with C = 8). */
Test(host_dwconv, layouts_pairs_and_threads, .init = all_shapes)
{
    static const int64_t chans[] = {8, 16, 32};
    for (size_t a = 0; a < 3; a++)
        for (int lx = 0; lx < 4; lx++)
            for (int ly = 0; ly < 4; ly++)
                for (int64_t stride = 1; stride <= 2; stride++) {
                    int64_t C = chans[a];
                    if (!layout_ok(C, lx) || !layout_ok(C, ly)) continue;
                    dcase k = {.N = 2, .C = C, .H = 21, .W = 11 + stride, .KH = 3, .KW = 3, .stride = stride,
                               .pads = {1, 1, 1, 1}, .bias = 1, .act = "Relu", .threads = 1 + (lx + ly) % 2,
                               .lx = lx, .ly = ly};
                    check(&k);
                }
}

/* The row-segment tiles (ops/host/dwconv_seg.c; 3x3 at strides 1 and 2): maps 1..8 rows
 * by 3, 5, 6, 9, 17 columns and the transposes (one segment of 1-8 columns, or 2-3
 * segments of 4-8; both edges in one segment; an odd last row, computed twice; one
 * row, which the plain tiles take), pads on both sides, on the bottom / right only
 * (the last input column inside or one past) and on the top / left only; channel tails
 * (5, 24 in NHWC), 8-lane vectors (nChw8c at stride 2, or 8 channels on one side only),
 * all src / dst layouts in turn, no activation, Relu and Clip. */
Test(host_dwconv, small_maps_row_segments, .init = all_shapes)
{
    static const int64_t cols[] = {3, 5, 6, 9, 17};
    static const int64_t pads[][4] = {{1, 1, 1, 1}, {0, 0, 1, 1}, {1, 1, 0, 0}};
    static const int64_t chans[] = {16, 24, 8, 32, 5};
    int i = 0;
    for (int64_t h = 1; h <= 8; h++)
        for (size_t w = 0; w < sizeof cols / sizeof cols[0]; w++)
            for (int t = 0; t < 2; t++)
                for (int64_t stride = 1; stride <= 2; stride++)
                    for (size_t p = 0; p < sizeof pads / sizeof pads[0]; p++, i++) {
                        int64_t C = chans[i % 5], H = t ? cols[w] : h, W = t ? h : cols[w];
                        int lx = (int)(i % 4), ly = (int)((i / 4) % 4);
                        if (!layout_ok(C, lx)) lx = LH;
                        if (!layout_ok(C, ly)) ly = LH;
                        dcase k = {.N = 1 + i % 7 / 6, .C = C, .H = H, .W = W, .KH = 3, .KW = 3, .stride = stride,
                                   .bias = i % 2, .act = i % 3 == 0 ? "Relu" : i % 3 == 1 ? "Clip" : NULL,
                                   .threads = 1 + i % 5 / 4, .lx = lx, .ly = ly};
                        memcpy(k.pads, pads[p], sizeof k.pads);
                        if (H + k.pads[0] + k.pads[2] < 3 || W + k.pads[1] + k.pads[3] < 3) continue;
                        check(&k);
                    }
}

/* Rows rolled down a segment (stride 1, up to 6 columns, every chunk 16 lanes): kws_dscnn's
 * 64 channels at 25x5 in nChw16c with Relu (one call for all 4 chunks), 2 to 31 rows (each
 * count of rows left after the 3-row steps, and maps shorter than the filter's reach),
 * 1-6, 9-12 (2 segments) and 17 and 29 columns (3, 5 segments: up to 6 columns on maps
 * of up to 1024 pixels), pads on both sides, top / left only, bottom / right
 * only and 2 rows on top (rows skipped), 16-64 channels in NHWC and nChw16c on either
 * side, no activation, Relu, Clip, bands on 2 threads; and the chunks that keep the 3-row
 * tiles beside them (24 channels in NHWC: a chunk of 8 lanes; nChw8c). */
Test(host_dwconv, rolled_rows, .init = all_shapes)
{
    static const int64_t rows[] = {2, 3, 4, 5, 6, 7, 8, 25, 31};
    static const int64_t cols[] = {1, 2, 3, 4, 5, 6, 9, 10, 12, 17, 29};
    static const int64_t pads[][4] = {{1, 1, 1, 1}, {1, 1, 0, 0}, {0, 0, 1, 1}, {2, 1, 0, 1}};
    static const int64_t chans[] = {64, 16, 32, 48};
    static const char *acts[] = {"Relu", NULL, "Clip"};
    int i = 0;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
            for (size_t p = 0; p < sizeof pads / sizeof pads[0]; p++, i++) {
                dcase k = {.N = 1 + i % 9 / 8, .C = chans[i % 4], .H = rows[r], .W = cols[c], .KH = 3, .KW = 3,
                           .stride = 1, .bias = i % 5 != 4, .act = acts[i % 3], .threads = 1 + i % 7 / 6,
                           .lx = i % 4 == 0 || i % 6 < 3 ? LB : LH, .ly = i % 4 == 0 || i % 5 < 3 ? LB : LH};
                memcpy(k.pads, pads[p], sizeof k.pads);
                if (k.H + k.pads[0] + k.pads[2] < 3 || k.W + k.pads[1] + k.pads[3] < 3) continue;
                check(&k);
                if (i % 3 == 0) { /* beside: chunks of fewer lanes */
                    k.C = 24, k.lx = LH, k.ly = i % 2 ? LH : LB8;
                    check(&k);
                }
            }
}

/* Maps the shape rule now hands the segment tiles whatever their size with over 16
 * channels (14 segments a row at 112 columns, 7 at stride 2), on one thread as the rule
 * wants, and on two (bands of rows) with the rule lifted. */
Test(host_dwconv, big_maps_row_segments)
{
    static const int64_t maps[][3] = {{112, 112, 2}, {57, 111, 1}, {7, 7, 1}};
    for (size_t m = 0; m < 3; m++)
        for (int l = 0; l < 2; l++) {
            if (l) cr_assert_eq(setenv("EMBER_DWCONV", "all", 1), 0);
            else cr_assert_eq(unsetenv("EMBER_DWCONV"), 0);
            dcase k = {.N = 1, .C = 32 + 64 * (int64_t)m, .H = maps[m][0], .W = maps[m][1], .KH = 3, .KW = 3,
                       .stride = maps[m][2], .pads = {1, 1, 1, 1}, .bias = 1, .act = "Clip", .threads = 1 + l,
                       .lx = l ? LB : LH, .ly = l ? LH : LB};
            check(&k);
        }
    cr_assert_eq(unsetenv("EMBER_DWCONV"), 0);
}

/* The older tiles on 3x3 convs: one chunk of channels on maps past L1, which they keep
 * (16 channels, 8 in pairs or not), and, with EMBER_DWCONV=noseg, every shape and layout
 * pair their rule takes (one thread; 4+ output rows and columns). */
Test(host_dwconv, older_tiles_3x3)
{
    for (int64_t stride = 1; stride <= 2; stride++)
        for (int l = 0; l < 3; l++) {
            cr_assert_eq(setenv("EMBER_DWCONV", "all", 1), 0);
            int64_t C = l == 2 ? 8 : 16;
            dcase k = {.N = 1, .C = C, .H = 40, .W = 36, .KH = 3, .KW = 3, .stride = stride, .pads = {1, 1, 1, 1},
                       .bias = 1, .act = "Relu", .threads = 1 + l % 2, .lx = l == 2 ? LB8 : LH, .ly = l ? LB8 : LB};
            check(&k);
        }
    cr_assert_eq(setenv("EMBER_DWCONV", "noseg", 1), 0);
    static const int64_t chans[] = {16, 64, 8, 24, 40};
    static const int64_t maps[][2] = {{25, 5}, {6, 6}, {12, 12}, {9, 13}};
    int i = 0;
    for (size_t a = 0; a < sizeof chans / sizeof chans[0]; a++)
        for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++)
            for (int64_t stride = 1; stride <= 2; stride++, i++) {
                int64_t C = chans[a];
                int lx = (int)(i % 4), ly = (int)((i / 4) % 4);
                if (!layout_ok(C, lx)) lx = LH;
                if (!layout_ok(C, ly)) ly = LH;
                dcase k = {.N = 1, .C = C, .H = maps[m][0] * stride, .W = maps[m][1] * stride, .KH = 3, .KW = 3,
                           .stride = stride, .pads = {1, 1, 1, 1}, .bias = i % 2,
                           .act = i % 3 == 0 ? "Relu" : i % 3 == 1 ? "Clip" : NULL, .threads = 1, .lx = lx, .ly = ly};
                check(&k);
            }
    cr_assert_eq(unsetenv("EMBER_DWCONV"), 0);
}

/* Pads on one side only, or none, or wider than the filter's reach. */
Test(host_dwconv, pads, .init = all_shapes)
{
    static const int64_t pads[][4] = {{0, 0, 0, 0}, {1, 0, 0, 1}, {0, 1, 1, 0}, {2, 2, 2, 2}, {1, 1, 0, 0}};
    for (size_t p = 0; p < sizeof pads / sizeof pads[0]; p++)
        for (int64_t stride = 1; stride <= 2; stride++) {
            dcase k = {.N = 1, .C = 32, .H = 12, .W = 10, .KH = 3, .KW = 3, .stride = stride, .bias = 1,
                       .act = "Clip", .threads = 2, .lx = LB, .ly = LH};
            memcpy(k.pads, pads[p], sizeof k.pads);
            check(&k);
        }
}

static ember_status prepare_status(int64_t C, int64_t hw, int64_t kh, int64_t stride, int64_t dil, int64_t group,
                                   const char *precision)
{
    return conv_host_prepare_status(&ember_host_dwconv, C, C, hw, kh, stride, dil, kh / 2, group, precision);
}

Test(host_dwconv, declines)
{
    ember_status ok = __builtin_cpu_supports("avx512f") ? EMBER_OK : EMBER_E_UNSUPPORTED;
    cr_assert_eq(unsetenv("EMBER_DWCONV"), 0);
    cr_expect_eq(prepare_status(64, 12, 3, 1, 1, 64, NULL), ok, "the shape rule takes 64 channels at 12x12");
    cr_expect_eq(prepare_status(96, 112, 3, 2, 1, 96, NULL), ok, "3x3 on a map past the caches: segment tiles");
    cr_expect_eq(prepare_status(256, 3, 3, 1, 1, 256, NULL), ok, "256 channels on 3x3: segment tiles");
    cr_expect_eq(prepare_status(96, 112, 5, 2, 1, 96, NULL), EMBER_E_UNSUPPORTED, "5x5 on a map past the caches");
    cr_expect_eq(prepare_status(256, 5, 5, 1, 1, 256, NULL), EMBER_E_UNSUPPORTED, "256 channels, 5x5");
    cr_expect_eq(prepare_status(16, 112, 3, 2, 1, 16, NULL), EMBER_E_UNSUPPORTED, "16 channels past the caches");
    cr_assert_eq(setenv("EMBER_DWCONV", "all", 1), 0);
    cr_expect_eq(prepare_status(96, 112, 3, 2, 1, 96, NULL), ok);
    cr_expect_eq(prepare_status(64, 12, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "a dense conv");
    cr_expect_eq(prepare_status(64, 12, 3, 1, 1, 32, NULL), EMBER_E_UNSUPPORTED, "2 channels a group");
    cr_expect_eq(prepare_status(64, 12, 3, 1, 2, 64, NULL), EMBER_E_UNSUPPORTED, "dilation 2");
    cr_expect_eq(prepare_status(64, 12, 3, 1, 1, 64, "bf16"), EMBER_E_UNSUPPORTED, "bf16");
    cr_assert_eq(setenv("EMBER_DWCONV", "noseg", 1), 0);
    cr_expect_eq(prepare_status(64, 12, 3, 1, 1, 64, NULL), ok, "EMBER_DWCONV=noseg: the older rule");
    cr_expect_eq(prepare_status(256, 3, 3, 1, 1, 256, NULL), EMBER_E_UNSUPPORTED, "EMBER_DWCONV=noseg: 256ch 3x3");
    cr_assert_eq(setenv("EMBER_DWCONV", "0", 1), 0);
    cr_expect_eq(prepare_status(64, 12, 3, 1, 1, 64, NULL), EMBER_E_UNSUPPORTED, "EMBER_DWCONV=0");
    cr_assert_eq(unsetenv("EMBER_DWCONV"), 0);
}
