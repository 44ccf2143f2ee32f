/* The direct conv on a zero-padded input copy (ops/host/conv_direct.c) against the
 * reference Conv: kws_dscnn's first conv (1 -> 64, 10x4, stride 2, pads 5/1) and
 * neighbours: 1-4 input channels, kernels 1x1 to 5x5 and 4x16 (up to the 64-tap limit),
 * strides 1 and 2, symmetric, asymmetric and map-wider pads, maps of 1 to 256 output
 * pixels (every register-tile remainder), 64 to 256 output channels (panels), batch 2,
 * bias or none, Relu / Clip, and the output in NCHW, NHWC or nChw16c (layout chaining,
 * ops/host.h); the shape rule and what it must decline. Tolerance (conv_host_check.h):
 * |y - ref| <= 1e-4 max|ref| + 1e-5 per element. EMBER_CONV_DIRECT=all lifts the rule. */
#include "conv_host_check.h"

extern const ember_host_kernel ember_host_conv_direct;

static uint32_t rng = 9091u;

typedef struct dcase {
    int64_t N, C, H, W, KH, KW, stride, pads[4]; /* pads: top, left, bottom, right */
} dcase;

static void check(const dcase *g, int64_t M, int bias, const char *act, int ly)
{
    conv_check cc = {.N = g->N, .C = g->C, .M = M, .H = g->H, .W = g->W, .KH = g->KH, .KW = g->KW,
                     .stride = g->stride, .pads = {g->pads[0], g->pads[1], g->pads[2], g->pads[3]}, .bias = bias,
                     .act = act, .threads = 1, .ly = ly};
    conv_host_check(&ember_host_conv_direct, &cc, &rng);
}

static void all_shapes(void) { cr_assert_eq(setenv("EMBER_CONV_DIRECT", "all", 1), 0); }

static const dcase geo[] = {
    {.N = 1, .C = 1, .H = 49, .W = 10, .KH = 10, .KW = 4, .stride = 2, .pads = {5, 1, 5, 1}}, /* kws: 25x5 */
    {.N = 2, .C = 3, .H = 8, .W = 9, .KH = 3, .KW = 3, .stride = 1, .pads = {1, 1, 1, 1}},    /* batch */
    {.N = 1, .C = 2, .H = 11, .W = 13, .KH = 5, .KW = 5, .stride = 2, .pads = {0, 2, 1, 0}},  /* asymmetric */
    {.N = 1, .C = 4, .H = 5, .W = 4, .KH = 4, .KW = 4, .stride = 1, .pads = {2, 2, 1, 1}},    /* 64 taps */
    {.N = 1, .C = 1, .H = 3, .W = 2, .KH = 3, .KW = 3, .stride = 1, .pads = {3, 0, 2, 4}},    /* pads > map */
    {.N = 1, .C = 1, .H = 1, .W = 1, .KH = 1, .KW = 1, .stride = 1, .pads = {0, 0, 0, 0}},    /* one pixel */
    {.N = 1, .C = 1, .H = 16, .W = 16, .KH = 4, .KW = 16, .stride = 1, .pads = {0, 0, 3, 15}}, /* 256 pixels */
    {.N = 2, .C = 3, .H = 7, .W = 5, .KH = 2, .KW = 3, .stride = 2, .pads = {1, 0, 0, 1}},
};

/* Every geometry with 64, 128 and 256 output channels, in each output layout. */
Test(host_conv_direct, shapes_vs_reference, .init = all_shapes)
{
    static const int64_t ms[] = {64, 128, 256};
    int i = 0;
    for (size_t g = 0; g < sizeof geo / sizeof *geo; g++)
        for (size_t m = 0; m < sizeof ms / sizeof *ms; m++, i++) {
            const char *act = i % 3 == 0 ? NULL : i % 3 == 1 ? "Relu" : "Clip";
            check(&geo[g], ms[m], i % 2, act, LP);
            check(&geo[g], ms[m], (i + 1) % 2, act, LH);
            check(&geo[g], ms[m], 1, act, LB);
        }
}

/* Maps of 1 to 13 pixels in one row, every filter row inside the input (every remainder
 * of the 6-pixel tiles, twice, with all taps counting), and 2 to 26 in two rows. */
Test(host_conv_direct, tile_remainders, .init = all_shapes)
{
    for (int64_t w = 1; w <= 13; w++) {
        dcase g = {.N = 1, .C = 2, .H = 3, .W = w, .KH = 3, .KW = 3, .stride = 1, .pads = {0, 1, 0, 1}};
        check(&g, 64, 1, "Relu", w % 2 ? LB : LH);
        g.H = 4;
        check(&g, 128, w % 2, NULL, w % 3 ? LP : LB);
    }
}

static ember_status prepare_status(int64_t C, int64_t M, int64_t hw, int64_t kh, int64_t stride, int64_t dil,
                                   int64_t group, const char *precision)
{
    return conv_host_prepare_status(&ember_host_conv_direct, C, M, hw, kh, stride, dil, kh / 2, group, precision);
}

Test(host_conv_direct, declines)
{
    ember_status ok = __builtin_cpu_supports("avx512f") ? EMBER_OK : EMBER_E_UNSUPPORTED;
    cr_assert_eq(unsetenv("EMBER_CONV_DIRECT"), 0);
    cr_expect_eq(prepare_status(1, 64, 10, 3, 1, 1, 1, NULL), ok, "the shape rule takes a small first conv");
    cr_expect_eq(prepare_status(3, 64, 32, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "1024 pixels: oneDNN's");
    cr_expect_eq(prepare_status(8, 64, 8, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "72 taps");
    cr_assert_eq(setenv("EMBER_CONV_DIRECT", "all", 1), 0);
    cr_expect_eq(prepare_status(1, 64, 10, 3, 1, 1, 1, NULL), ok);
    cr_expect_eq(prepare_status(1, 32, 10, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "32 output channels");
    cr_expect_eq(prepare_status(3, 64, 17, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "289 pixels");
    cr_expect_eq(prepare_status(1, 64, 10, 3, 1, 2, 1, NULL), EMBER_E_UNSUPPORTED, "dilation 2");
    cr_expect_eq(prepare_status(2, 64, 10, 3, 1, 1, 2, NULL), EMBER_E_UNSUPPORTED, "2 groups");
    cr_expect_eq(prepare_status(1, 64, 10, 3, 1, 1, 1, "bf16"), EMBER_E_UNSUPPORTED, "bf16");
    cr_assert_eq(setenv("EMBER_CONV_DIRECT", "0", 1), 0);
    cr_expect_eq(prepare_status(1, 64, 10, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "EMBER_CONV_DIRECT=0");
    cr_assert_eq(unsetenv("EMBER_CONV_DIRECT"), 0);
}
