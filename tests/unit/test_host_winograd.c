/* The Winograd F(4x4, 3x3) conv (ops/host/winograd_conv.c) against the reference Conv:
 * channel counts 16-64 (mixed too), maps of 32x32 down to 5x5 (partial tiles), pads 0
 * and 1, bias or none, Relu / Clip / LeakyRelu, a residual (input 3, ember_sum_input),
 * batch 2, 1 and 2 threads, src / residual / dst each in NCHW, NHWC or nChw16c (layout
 * chaining, ops/host.h), the residual in dst's own memory; and the shapes it must
 * decline. Tolerance: |y - ref| <= 1e-4 max|ref| + 1e-5 per element (the transforms'
 * rounding is ~1e-6 of the output's scale). EMBER_WINOGRAD=all lifts the kernel's
 * shape rule so that every shape it can compute is tested. */
#include "conv_host_check.h"

extern const ember_host_kernel ember_host_winograd_conv;

static uint32_t rng = 2024u;

typedef struct wcase {
    int64_t N, C, M, H, W, pad;
    int bias;
    const char *act; /* NULL: none */
    int sum, threads;
    int lx, lr, ly; /* layouts of src, residual, dst */
    int inplace;    /* the residual in dst's memory (needs lr == ly) */
    int asym;       /* pads top 1, left 0, bottom 0, right 1 instead of `pad` all round */
} wcase;

static void check(const wcase *k)
{
    conv_check cc = {.N = k->N, .C = k->C, .M = k->M, .H = k->H, .W = k->W, .KH = 3, .KW = 3, .stride = 1,
                     .pads = {k->pad, k->pad, k->pad, k->pad}, .bias = k->bias, .act = k->act, .sum = k->sum,
                     .threads = k->threads, .lx = k->lx, .lr = k->lr, .ly = k->ly, .inplace = k->inplace};
    if (k->asym) cc.pads[0] = 1, cc.pads[1] = 0, cc.pads[2] = 0, cc.pads[3] = 1; /* top, left, bottom, right */
    conv_host_check(&ember_host_winograd_conv, &cc, &rng);
}

static void all_shapes(void) { cr_assert_eq(setenv("EMBER_WINOGRAD", "all", 1), 0); }

Test(host_winograd, shapes_vs_reference, .init = all_shapes)
{
    static const int64_t cm[][2] = {{16, 16}, {32, 32}, {64, 64}, {16, 32}, {64, 16}};
    static const int64_t maps[] = {32, 16, 8, 7, 5};
    int i = 0;
    for (size_t a = 0; a < sizeof cm / sizeof cm[0]; a++)
        for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++)
            for (int64_t pad = 0; pad <= 1; pad++, i++) {
                wcase k = {.N = 1, .C = cm[a][0], .M = cm[a][1], .H = maps[m], .W = maps[m], .pad = pad,
                           .bias = i % 2, .act = i % 3 ? "Relu" : NULL, .sum = i % 4 == 1, .threads = 1,
                           .lx = LH, .lr = LH, .ly = LH};
                check(&k);
            }
}

Test(host_winograd, batch_threads_rectangular, .init = all_shapes)
{
    wcase k = {.N = 2, .C = 32, .M = 16, .H = 13, .W = 10, .pad = 1, .bias = 1, .act = "Relu", .sum = 1, .threads = 2,
               .lx = LH, .lr = LH, .ly = LH};
    check(&k);
    k.threads = 1;
    check(&k);
    k = (wcase){.N = 2, .C = 16, .M = 64, .H = 32, .W = 32, .pad = 1, .bias = 1, .threads = 2};
    check(&k);
    /* too few tiles for two threads: one share */
    k = (wcase){.N = 1, .C = 64, .M = 64, .H = 8, .W = 8, .pad = 1, .bias = 1, .act = "Relu", .sum = 1, .threads = 2,
                .lx = LH, .lr = LH, .ly = LH};
    check(&k);
    k.M = 96, k.lx = LB, k.lr = LP, k.ly = LP;
    check(&k);
    /* channel counts without GEMM tiles of their own (winograd_avx512.c builds 16/32/64) */
    k = (wcase){.N = 1, .C = 48, .M = 80, .H = 12, .W = 12, .pad = 1, .bias = 1, .threads = 1, .lx = LH, .lr = LH,
                .ly = LH};
    check(&k);
    k.C = 128, k.M = 16;
    check(&k);
}

Test(host_winograd, asymmetric_pads, .init = all_shapes)
{
    wcase k = {.N = 2, .C = 32, .M = 16, .H = 10, .W = 9, .asym = 1, .bias = 1, .act = "Relu", .sum = 1, .threads = 2,
               .lx = LH, .lr = LH, .ly = LH};
    check(&k);
    k.lx = LB, k.lr = LP, k.ly = LB, k.threads = 1;
    check(&k);
}

Test(host_winograd, activations, .init = all_shapes)
{
    static const char *acts[] = {"Relu", "Clip", "LeakyRelu"};
    for (int a = 0; a < 3; a++) {
        wcase k = {.N = 1, .C = 16, .M = 32, .H = 9, .W = 9, .pad = 1, .bias = 1, .act = acts[a], .sum = a == 1,
                   .threads = 1, .lx = LH, .lr = LH, .ly = LH};
        check(&k);
    }
}

/* Every combination of src, residual and dst layouts; then the residual in dst's memory. */
Test(host_winograd, layouts_and_inplace, .init = all_shapes)
{
    for (int lx = 0; lx < 3; lx++)
        for (int lr = 0; lr < 3; lr++)
            for (int ly = 0; ly < 3; ly++) {
                wcase k = {.N = 2, .C = 32, .M = 32, .H = 7, .W = 6, .pad = 1, .bias = 1, .act = "Relu", .sum = 1,
                           .threads = 1 + (lx + lr + ly) % 2, .lx = lx, .lr = lr, .ly = ly};
                check(&k);
            }
    for (int l = 0; l < 3; l++) {
        wcase k = {.N = 1, .C = 16, .M = 16, .H = 11, .W = 11, .pad = 1, .bias = 1, .act = "Relu", .sum = 1,
                   .threads = 2, .lx = LH, .lr = l, .ly = l, .inplace = 1};
        check(&k);
    }
}

/* What it must leave to oneDNN: other geometries, channel counts off the vector, bf16,
 * and everything with EMBER_WINOGRAD=0. */
static ember_status prepare_status(int64_t C, int64_t M, int64_t kh, int64_t stride, int64_t dil, int64_t group,
                                   const char *precision)
{
    return conv_host_prepare_status(&ember_host_winograd_conv, C, M, 16, kh, stride, dil, 1, group, precision);
}

Test(host_winograd, declines, .init = all_shapes)
{
    ember_status ok = __builtin_cpu_supports("avx512f") ? EMBER_OK : EMBER_E_UNSUPPORTED;
    cr_expect_eq(prepare_status(16, 16, 3, 1, 1, 1, NULL), ok);
    cr_expect_eq(prepare_status(16, 16, 3, 2, 1, 1, NULL), EMBER_E_UNSUPPORTED, "stride 2");
    cr_expect_eq(prepare_status(16, 16, 3, 1, 2, 1, NULL), EMBER_E_UNSUPPORTED, "dilation 2");
    cr_expect_eq(prepare_status(32, 32, 3, 1, 1, 2, NULL), EMBER_E_UNSUPPORTED, "2 groups");
    cr_expect_eq(prepare_status(16, 16, 5, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "5x5");
    cr_expect_eq(prepare_status(16, 16, 1, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "1x1");
    cr_expect_eq(prepare_status(8, 16, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "8 input channels");
    cr_expect_eq(prepare_status(16, 24, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "24 output channels");
    cr_expect_eq(prepare_status(16, 16, 3, 1, 1, 1, "bf16"), EMBER_E_UNSUPPORTED, "bf16");
    cr_assert_eq(setenv("EMBER_WINOGRAD", "0", 1), 0);
    cr_expect_eq(prepare_status(16, 16, 3, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "EMBER_WINOGRAD=0");
}
