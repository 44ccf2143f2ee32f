/* The 1x1 conv on packed weights (ops/host/conv1x1.c) against the reference Conv: channel
 * counts on and off the 16-float vector and the 64-channel panel, maps with partial
 * register tiles, strides 1 and 2, batch 2, bias or none, Relu / Clip, a residual (input
 * 3, ember_sum_input), 1 and 2 threads (split by panels and by rows), src / residual /
 * dst each in NCHW, NHWC or nChw16c (layout chaining, ops/host.h), the residual in dst's
 * own memory; the shape rule; and what it must decline. Tolerance: |y - ref| <= 1e-4
 * max|ref| + 1e-5 per element (fused multiply-adds in another order than the reference).
 * EMBER_CONV1X1=all lifts the shape rule so that every shape it can compute is tested (the
 * small-map tiles too, where the layouts allow; EMBER_CONV1X1_SMALL=0 keeps them out). */
#include "conv_host_check.h"

extern const ember_host_kernel ember_host_conv1x1;

static uint32_t rng = 4242u;

typedef struct ccase {
    int64_t N, C, M, H, W, stride;
    int bias;
    const char *act; /* NULL: none */
    int sum, threads;
    int lx, lr, ly; /* layouts of src, residual, dst */
    int inplace;    /* the residual in dst's memory (needs lr == ly) */
} ccase;

static void check(const ccase *k)
{
    conv_check cc = {.N = k->N, .C = k->C, .M = k->M, .H = k->H, .W = k->W, .KH = 1, .KW = 1, .stride = k->stride,
                     .bias = k->bias, .act = k->act, .sum = k->sum, .threads = k->threads, .lx = k->lx, .lr = k->lr,
                     .ly = k->ly, .inplace = k->inplace};
    conv_host_check(&ember_host_conv1x1, &cc, &rng);
}

static void all_shapes(void) { cr_assert_eq(setenv("EMBER_CONV1X1", "all", 1), 0); }

/* Channels on and off the vector (NHWC and NCHW only) and the panel, maps with 1-5 rows
 * left over after the 6-pixel tiles, strides 1 and 2. */
Test(host_conv1x1, shapes_vs_reference, .init = all_shapes)
{
    static const int64_t cm[][2] = {{64, 64}, {64, 256}, {256, 64}, {48, 80}, {16, 1030}, {512, 1024}};
    static const int64_t maps[][2] = {{7, 7}, {14, 14}, {5, 3}, {1, 4}};
    int i = 0;
    for (size_t a = 0; a < sizeof cm / sizeof cm[0]; a++)
        for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++)
            for (int64_t stride = 1; stride <= 2; stride++, i++) {
                int blocked_ok = cm[a][0] % 16 == 0 && cm[a][1] % 16 == 0;
                ccase k = {.N = 1, .C = cm[a][0], .M = cm[a][1], .H = maps[m][0], .W = maps[m][1], .stride = stride,
                           .bias = i % 2, .act = i % 3 ? "Relu" : NULL, .sum = i % 4 == 1, .threads = 1 + i % 2,
                           .lx = blocked_ok && i % 5 == 0 ? LB : LH, .lr = LH, .ly = LH};
                check(&k);
            }
}

Test(host_conv1x1, batch_threads_clip, .init = all_shapes)
{
    ccase k = {.N = 2, .C = 96, .M = 128, .H = 9, .W = 7, .stride = 1, .bias = 1, .act = "Clip", .sum = 1,
               .threads = 2, .lx = LH, .lr = LH, .ly = LH};
    check(&k);
    k.threads = 1;
    check(&k);
    k = (ccase){.N = 2, .C = 64, .M = 64, .H = 8, .W = 8, .stride = 2, .bias = 1, .threads = 2}; /* one panel: rows */
    check(&k);
}

/* Every combination of src, residual and dst layouts; then the residual in dst's memory. */
Test(host_conv1x1, layouts_and_inplace, .init = all_shapes)
{
    for (int lx = 0; lx < 3; lx++)
        for (int lr = 0; lr < 3; lr++)
            for (int ly = 0; ly < 3; ly++) {
                ccase k = {.N = 2, .C = 32, .M = 80, .H = 5, .W = 6, .stride = 1 + lx % 2, .bias = 1, .act = "Relu",
                           .sum = 1, .threads = 1 + (lx + lr + ly) % 2, .lx = lx, .lr = lr, .ly = ly};
                check(&k);
            }
    for (int l = 0; l < 3; l++) {
        ccase k = {.N = 1, .C = 64, .M = 192, .H = 7, .W = 7, .stride = 1, .bias = 1, .act = "Relu", .sum = 1,
                   .threads = 2, .lx = LH, .lr = l, .ly = l, .inplace = 1};
        check(&k);
    }
}

/* Narrow outputs (M <= 32: 16- and 32-channel panels, 24- and 12-pixel tiles) through the
 * general tiles (NCHW, nChw16c, stride 2, C off 8/16/32) and the flat tiles (NHWC both
 * sides at stride 1 with C in {8, 16, 32}; nChw8c with 8 channels read as NHWC), with
 * pixel counts off the tiles, a residual, 1 and 2 threads. */
Test(host_conv1x1, narrow_panels_and_flat, .init = all_shapes)
{
    static const int64_t cm[][2] = {{8, 16}, {16, 32}, {32, 32}, {32, 24}, {8, 5}, {12, 20}, {16, 16}};
    static const int64_t maps[][2] = {{48, 48}, {7, 5}, {1, 1}, {5, 7}};
    int i = 0;
    for (size_t a = 0; a < sizeof cm / sizeof cm[0]; a++)
        for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++)
            for (int64_t stride = 1; stride <= 2; stride++, i++) {
                int blocked_ok = cm[a][0] % 16 == 0 && cm[a][1] % 16 == 0;
                int lx = i % 3 == 0 ? LP : blocked_ok && i % 3 == 1 ? LB : LH;
                int ly = i % 4 == 0 ? LP : LH;
                ccase k = {.N = 1 + i % 2, .C = cm[a][0], .M = cm[a][1], .H = maps[m][0], .W = maps[m][1],
                           .stride = stride, .bias = i % 2, .act = i % 3 ? "Relu" : "Clip", .sum = i % 5 == 1,
                           .threads = 1 + i % 2, .lx = lx, .lr = LH, .ly = ly};
                check(&k);
                k.lx = LH, k.ly = LH, k.stride = 1; /* the flat tiles where C allows */
                check(&k);
            }
    ccase k = {.N = 1, .C = 8, .M = 16, .H = 9, .W = 11, .stride = 1, .bias = 1, .act = "Relu", .threads = 1,
               .lx = LB8, .lr = LH, .ly = LH};
    check(&k);
}

/* The small-map tiles (c1_small: stride 1, C % 16 == 0, M % 32 == 0, src and dst in NHWC or
 * nChw16c): every tile height from 1 to 12 pixels (maps of 1..13 pixels, and 25x5 = 20
 * tiles of 6 and one of 5), 64-channel panels (M % 64 == 0, maps over 12 pixels) and
 * 32-channel ones, a residual in either layout and in dst's memory, no activation / Relu
 * / Clip, batch 2, 1 and 2 threads (panels split); then the same shapes through the
 * general tiles. */
static void small_maps(void)
{
    static const int64_t cm[][2] = {{64, 64}, {32, 96}, {128, 128}, {256, 32}, {16, 64}};
    static const int64_t maps[][2] = {{25, 5}, {6, 6}, {3, 3}, {1, 1}, {2, 1}, {1, 3}, {2, 2}, {1, 5},
                                      {2, 3}, {7, 1}, {2, 4}, {3, 3}, {5, 2}, {11, 1}, {3, 4}, {13, 1}};
    int i = 0;
    for (size_t a = 0; a < sizeof cm / sizeof cm[0]; a++)
        for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++, i++) {
            int lx = i % 2 ? LB : LH, ly = i % 3 ? LB : LH;
            ccase k = {.N = 1 + (i % 7 == 3), .C = cm[a][0], .M = cm[a][1], .H = maps[m][0], .W = maps[m][1],
                       .stride = 1, .bias = i % 4 != 1, .act = i % 3 == 0 ? NULL : i % 3 == 1 ? "Relu" : "Clip",
                       .sum = i % 2 == 0, .threads = 1 + (i % 5 == 2), .lx = lx, .lr = i % 4 ? ly : LH + LB - ly,
                       .ly = ly, .inplace = 0};
            k.inplace = k.sum && k.lr == k.ly && i % 8 == 0;
            check(&k);
        }
}

Test(host_conv1x1, small_map_tiles, .init = all_shapes) { small_maps(); }

Test(host_conv1x1, small_map_shapes_on_the_general_tiles, .init = all_shapes)
{
    cr_assert_eq(setenv("EMBER_CONV1X1_SMALL", "0", 1), 0);
    small_maps();
    cr_assert_eq(unsetenv("EMBER_CONV1X1_SMALL"), 0);
}

/* prepare's answer for a C -> M conv on a 14x14 map (kernel kh, stride, pads, groups). */
static ember_status prepare_status(int64_t C, int64_t M, int64_t hw, int64_t kh, int64_t pad, int64_t group,
                                   const char *precision)
{
    return conv_host_prepare_status(&ember_host_conv1x1, C, M, hw, kh, 1, 1, pad, group, precision);
}

Test(host_conv1x1, declines)
{
    ember_status ok = __builtin_cpu_supports("avx512f") ? EMBER_OK : EMBER_E_UNSUPPORTED;
    cr_assert_eq(unsetenv("EMBER_CONV1X1"), 0);
    cr_expect_eq(prepare_status(512, 1024, 14, 1, 0, 1, NULL), ok, "the shape rule takes layer3's downsample");
    cr_expect_eq(prepare_status(64, 256, 14, 1, 0, 1, NULL), EMBER_E_UNSUPPORTED, "the shape rule: oneDNN's");
    cr_expect_eq(prepare_status(16, 32, 14, 1, 0, 1, NULL), ok, "the shape rule takes narrow convs");
    cr_expect_eq(prepare_status(128, 128, 6, 1, 0, 1, NULL), ok, "the shape rule takes small maps");
    cr_expect_eq(prepare_status(128, 128, 14, 1, 0, 1, NULL), EMBER_E_UNSUPPORTED, "too big for c1_small");
    cr_assert_eq(setenv("EMBER_CONV1X1", "all", 1), 0);
    cr_expect_eq(prepare_status(64, 256, 14, 1, 0, 1, NULL), ok);
    cr_expect_eq(prepare_status(64, 64, 14, 3, 1, 1, NULL), EMBER_E_UNSUPPORTED, "3x3");
    cr_expect_eq(prepare_status(64, 64, 14, 1, 1, 1, NULL), EMBER_E_UNSUPPORTED, "pads");
    cr_expect_eq(prepare_status(64, 64, 14, 1, 0, 2, NULL), EMBER_E_UNSUPPORTED, "2 groups");
    cr_expect_eq(prepare_status(64, 64, 14, 1, 0, 1, "bf16"), EMBER_E_UNSUPPORTED, "bf16");
    cr_assert_eq(setenv("EMBER_CONV1X1", "0", 1), 0);
    cr_expect_eq(prepare_status(512, 1024, 14, 1, 0, 1, NULL), EMBER_E_UNSUPPORTED, "EMBER_CONV1X1=0");
}
