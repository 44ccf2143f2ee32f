/* The first-layer direct conv (ops/host/conv_stem.c) against the reference Conv: 1-4
 * input channels, output channels 1, 3, 8, 16 and more (groups of 16 and 8 lanes, the
 * last one partial), kernels 1x1 to 7x7 and kws_dscnn's 10x4, strides 1 and 2, pads
 * (also asymmetric, and wider than the map), maps with odd widths (blocks of 16 pixels
 * with a tail, narrower than one block), batch 2, 1 and 2 threads, bias or none, Relu /
 * Clip, and the output in NCHW, NHWC, nChw16c or nChw8c (layout chaining, ops/host.h);
 * the shape rule and what it must decline. The output widths reach every tile width
 * (8, 12, 16, 24 pixels with 16 channels; 16, 24, 32, 48 with 8), the input widths every
 * tail of the ring copy (none, < 16, > 16 columns), the left pads both parities at
 * stride 2 and more than a vector. Tolerance (conv_host_check.h): |y - ref| <=
 * 1e-4 max|ref| + 1e-5 per element. EMBER_CONV_STEM=all lifts the shape rule. */
#include "conv_host_check.h"

extern const ember_host_kernel ember_host_conv_stem;

static uint32_t rng = 777u;

typedef struct scase {
    int64_t N, C, H, W, KH, KW, stride, pads[4]; /* pads: top, left, bottom, right */
} scase;

static void check(const scase *g, int64_t M, int bias, const char *act, int threads, int ly)
{
    conv_check cc = {.N = g->N, .C = g->C, .M = M, .H = g->H, .W = g->W, .KH = g->KH, .KW = g->KW,
                     .stride = g->stride, .pads = {g->pads[0], g->pads[1], g->pads[2], g->pads[3]}, .bias = bias,
                     .act = act, .threads = threads, .ly = ly};
    conv_host_check(&ember_host_conv_stem, &cc, &rng);
}

static void all_shapes(void) { cr_assert_eq(setenv("EMBER_CONV_STEM", "all", 1), 0); }

/* The zoo's first layers and their neighbours. */
static const scase geo[] = {
    {.N = 1, .C = 3, .H = 32, .W = 32, .KH = 3, .KW = 3, .stride = 1, .pads = {1, 1, 1, 1}},  /* cifar_resnet8 */
    {.N = 1, .C = 3, .H = 96, .W = 96, .KH = 3, .KW = 3, .stride = 2, .pads = {1, 1, 1, 1}},  /* vww_mobilenet025 */
    {.N = 1, .C = 3, .H = 23, .W = 21, .KH = 3, .KW = 3, .stride = 2, .pads = {1, 1, 1, 1}},  /* odd: tails */
    {.N = 1, .C = 3, .H = 30, .W = 37, .KH = 7, .KW = 7, .stride = 2, .pads = {3, 3, 3, 3}},  /* resnet */
    {.N = 1, .C = 1, .H = 49, .W = 10, .KH = 10, .KW = 4, .stride = 2, .pads = {4, 1, 5, 1}}, /* kws */
    {.N = 2, .C = 4, .H = 9, .W = 35, .KH = 5, .KW = 5, .stride = 1, .pads = {0, 0, 0, 0}},  /* batch, no pads */
    {.N = 1, .C = 2, .H = 6, .W = 3, .KH = 1, .KW = 1, .stride = 1, .pads = {0, 0, 0, 0}},
    {.N = 1, .C = 3, .H = 4, .W = 2, .KH = 3, .KW = 3, .stride = 1, .pads = {2, 0, 1, 2}},   /* pads > the map */
    {.N = 2, .C = 2, .H = 17, .W = 50, .KH = 3, .KW = 2, .stride = 2, .pads = {0, 1, 2, 0}}, /* asymmetric */
    {.N = 1, .C = 2, .H = 13, .W = 40, .KH = 3, .KW = 3, .stride = 2, .pads = {2, 2, 0, 2}},  /* even left pad */
    {.N = 2, .C = 1, .H = 9, .W = 19, .KH = 1, .KW = 1, .stride = 2, .pads = {0, 0, 0, 0}},  /* rows skipped */
    {.N = 1, .C = 3, .H = 5, .W = 6, .KH = 5, .KW = 5, .stride = 2, .pads = {4, 17, 3, 18}}, /* pads > a vector */
    {.N = 1, .C = 4, .H = 7, .W = 33, .KH = 3, .KW = 3, .stride = 1, .pads = {0, 16, 1, 5}},
};

/* Every geometry with each output channel count, in each layout that holds it. */
Test(host_conv_stem, shapes_vs_reference, .init = all_shapes)
{
    static const int64_t ms[] = {1, 3, 8, 16};
    int i = 0;
    for (size_t g = 0; g < sizeof geo / sizeof *geo; g++)
        for (size_t m = 0; m < sizeof ms / sizeof *ms; m++, i++) {
            int64_t M = ms[m];
            const char *act = i % 3 == 0 ? NULL : i % 3 == 1 ? "Relu" : "Clip";
            check(&geo[g], M, i % 2, act, 1 + i % 2, LP);
            check(&geo[g], M, (i + 1) % 2, act, 1 + (i + 1) % 2, LH);
            if (M % 16 == 0) check(&geo[g], M, 1, act, 1 + i % 2, LB);
            if (M == 8) check(&geo[g], M, 1, act, 2 - i % 2, LB8);
        }
}

/* Channels past one group of 16 lanes (16 + 8, 16 + 16, 4 x 16, 16 + a partial 8). */
Test(host_conv_stem, channel_groups, .init = all_shapes)
{
    static const int64_t ms[] = {20, 24, 32, 64};
    for (size_t m = 0; m < sizeof ms / sizeof *ms; m++)
        for (int g = 0; g < 3; g++) {
            int64_t M = ms[m];
            check(&geo[g + 2], M, 1, "Relu", 1 + g % 2, LH);
            check(&geo[g + 2], M, 0, "Clip", 2 - g % 2, LP);
            if (M % 16 == 0) check(&geo[g + 2], M, 1, NULL, 2, LB);
        }
}

/* Threads split the rows of the whole batch: more threads than row pairs, odd rows. */
Test(host_conv_stem, threads, .init = all_shapes)
{
    scase g = {.N = 3, .C = 3, .H = 7, .W = 40, .KH = 3, .KW = 3, .stride = 1, .pads = {1, 1, 1, 1}};
    for (int t = 1; t <= 4; t++) {
        check(&g, 8, 1, "Relu", t, LB8);
        check(&g, 16, 1, "Clip", t, LH);
    }
    g.stride = 2, g.H = 64, g.W = 64;
    for (int t = 1; t <= 3; t++) check(&g, 8, 1, "Relu", t, LH);
}

static ember_status prepare_status(int64_t C, int64_t M, int64_t hw, int64_t kh, int64_t stride, int64_t dil,
                                   int64_t group, const char *precision)
{
    return conv_host_prepare_status(&ember_host_conv_stem, C, M, hw, kh, stride, dil, kh / 2, group, precision);
}

Test(host_conv_stem, layouts_offered, .init = all_shapes)
{
    if (!__builtin_cpu_supports("avx512f")) return;
    static const int64_t ms[] = {8, 16, 24};
    static const int want[] = {dnnl_nChw8c, dnnl_nhwc, dnnl_nhwc};
    for (int i = 0; i < 3; i++) {
        int64_t xd[4] = {1, 3, 8, 8}, wd[4] = {ms[i], 3, 3, 3}, yd[4] = {1, ms[i], 8, 8}, ks[2] = {3, 3};
        int64_t st[2] = {1, 1}, pads[4] = {1, 1, 1, 1};
        float *w = calloc((size_t)(ms[i] * 27), sizeof(float));
        ember_attr attrs[3] = {harness_attr_ints("kernel_shape", ks, 2), harness_attr_ints("strides", st, 2),
                               harness_attr_ints("pads", pads, 4)};
        int idx[3] = {0, 1, 2};
        ember_node node = {.name = "n0", .op_type = "Conv", .domain = "", .op = EMBER_OP_CONV, .opset = 13,
                           .n_inputs = 2, .n_outputs = 1, .n_attrs = 3, .attrs = attrs, .inputs = idx, .outputs = idx};
        ember_op_tensor t[2] = {ut_op_tensor(EMBER_DT_FLOAT, 4, xd, NULL), ut_op_tensor(EMBER_DT_FLOAT, 4, wd, w)};
        ember_op_tensor yt = ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL), *pin[2] = {&t[0], &t[1]}, *pout[1] = {&yt};
        ember_op_ctx c = {.node = &node, .opset = 13, .running = true, .n_in = 2, .n_out = 1, .in = pin, .out = pout};
        void *state = NULL;
        cr_assert_eq(ember_host_conv_stem.prepare(&c, 1, &state), EMBER_OK, "prepare: %s", ember_last_error());
        cr_expect_eq(ember_host_conv_stem.out_layout(state, 0), want[i], "M %lld", (long long)ms[i]);
        cr_expect(!ember_host_conv_stem.accepts_layout(state, 0, dnnl_nhwc), "the input stays the model's NCHW");
        size_t sb = 0;
        cr_expect_eq(ember_host_conv_stem.set_layout(state, 1, 0, dnnl_nChw16c, &sb) == EMBER_OK, ms[i] % 16 == 0,
                      "nChw16c only with whole blocks of 16");
        ember_error_clear();
        ember_host_conv_stem.release(state);
        free(w);
    }
}

Test(host_conv_stem, declines)
{
    ember_status ok = __builtin_cpu_supports("avx512f") ? EMBER_OK : EMBER_E_UNSUPPORTED;
    cr_assert_eq(unsetenv("EMBER_CONV_STEM"), 0);
    cr_expect_eq(prepare_status(3, 8, 96, 3, 2, 1, 1, NULL), ok, "the shape rule takes vww's first conv");
    cr_expect_eq(prepare_status(3, 16, 32, 3, 1, 1, 1, NULL), ok, "and cifar_resnet8's");
    cr_expect_eq(prepare_status(3, 32, 224, 3, 2, 1, 1, NULL), ok, "and mobilenet_v2's");
    cr_expect_eq(prepare_status(3, 64, 224, 3, 2, 1, 1, NULL), EMBER_E_UNSUPPORTED, "the shape rule: oneDNN's");
    cr_expect_eq(prepare_status(3, 16, 112, 7, 2, 1, 1, NULL), EMBER_E_UNSUPPORTED, "and 7x7");
    cr_assert_eq(setenv("EMBER_CONV_STEM", "all", 1), 0);
    cr_expect_eq(prepare_status(3, 32, 32, 3, 2, 1, 1, NULL), ok);
    cr_expect_eq(prepare_status(5, 8, 16, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "5 input channels");
    cr_expect_eq(prepare_status(3, 72, 16, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "72 output channels");
    cr_expect_eq(prepare_status(3, 8, 16, 3, 3, 1, 1, NULL), EMBER_E_UNSUPPORTED, "stride 3");
    cr_expect_eq(prepare_status(3, 8, 16, 3, 1, 2, 1, NULL), EMBER_E_UNSUPPORTED, "dilation 2");
    cr_expect_eq(prepare_status(4, 8, 16, 3, 1, 1, 2, NULL), EMBER_E_UNSUPPORTED, "2 groups");
    cr_expect_eq(prepare_status(3, 8, 16, 3, 1, 1, 1, "bf16"), EMBER_E_UNSUPPORTED, "bf16");
    cr_assert_eq(setenv("EMBER_CONV_STEM", "0", 1), 0);
    cr_expect_eq(prepare_status(3, 8, 96, 3, 2, 1, 1, NULL), EMBER_E_UNSUPPORTED, "EMBER_CONV_STEM=0");
    cr_assert_eq(unsetenv("EMBER_CONV_STEM"), 0);
}
