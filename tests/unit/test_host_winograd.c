/* The Winograd F(4x4, 3x3) conv (ops/host/winograd_conv.c) against the reference Conv:
 * channel counts 16-64 (mixed too), maps of 32x32 down to 5x5 (partial tiles), pads 0
 * and 1, bias or none, Relu / Clip / LeakyRelu, a residual (input 3, ember_sum_input),
 * batch 2, 1 and 2 threads, src / residual / dst each in NCHW, NHWC or nChw16c (layout
 * chaining, ops/host.h), the residual in dst's own memory; and the shapes it must
 * decline. Tolerance: |y - ref| <= 1e-4 max|ref| + 1e-5 per element (the transforms'
 * rounding is ~1e-6 of the output's scale). EMBER_WINOGRAD=all lifts the kernel's
 * shape rule so that every shape it can compute is tested. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layout_util.h"
#include "op_harness.h"
#include "ops/host.h"
#include "test_util.h"

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
    int64_t pads[4] = {k->pad, k->pad, k->pad, k->pad}; /* top, left, bottom, right */
    if (k->asym) pads[0] = 1, pads[1] = 0, pads[2] = 0, pads[3] = 1;
    int64_t OH = k->H + pads[0] + pads[2] - 2, OW = k->W + pads[1] + pads[3] - 2;
    int64_t xn = k->N * k->C * k->H * k->W, yn = k->N * k->M * OH * OW;
    float *x = lu_rnd_buf(&rng, xn), *w = lu_rnd_buf(&rng, k->M * k->C * 9), *b = lu_rnd_buf(&rng, k->M);
    float *r = lu_rnd_buf(&rng, yn);
    int64_t ks[2] = {3, 3};
    ember_attr attrs[6];
    int na = 0;
    attrs[na++] = harness_attr_ints("kernel_shape", ks, 2);
    attrs[na++] = harness_attr_ints("pads", pads, 4);
    if (k->act) attrs[na++] = harness_attr_string("ember_activation", k->act);
    if (k->act && strcmp(k->act, "Clip") == 0) {
        attrs[na++] = harness_attr_float("ember_act_min", -0.5f);
        attrs[na++] = harness_attr_float("ember_act_max", 0.75f);
    }
    if (k->act && strcmp(k->act, "LeakyRelu") == 0) attrs[na++] = harness_attr_float("ember_act_alpha", 0.1f);
    if (k->sum) attrs[na++] = harness_attr_int("ember_sum_input", 3);
    int n_in = k->sum ? 4 : 3;
    harness_in hin[4] = {{EMBER_DT_FLOAT, 4, {k->N, k->C, k->H, k->W}, x, 0},
                         {EMBER_DT_FLOAT, 4, {k->M, k->C, 3, 3}, w, 1},
                         {EMBER_DT_FLOAT, 1, {k->M}, k->bias ? b : NULL, 1},
                         {EMBER_DT_FLOAT, 4, {k->N, k->M, OH, OW}, r, 0}};
    ember_op_tensor ref;
    cr_assert_eq(harness_run("Conv", 13, hin, n_in, attrs, na, &ref, 1), EMBER_OK, "reference: %s",
                 ember_last_error());

    /* The kernel, driven as engine/program.c does: prepare on constants only, the
     * layouts set, then run on the arena-like buffers. */
    int idx[4] = {0, 1, 2, 3};
    ember_node node = {.name = "n0", .op_type = "Conv", .domain = "", .op = EMBER_OP_CONV, .opset = 13,
                       .n_inputs = n_in, .n_outputs = 1, .n_attrs = na, .attrs = attrs, .inputs = idx, .outputs = idx};
    int64_t xd[4] = {k->N, k->C, k->H, k->W}, wd[4] = {k->M, k->C, 3, 3}, bd[1] = {k->M}, yd[4] = {k->N, k->M, OH, OW};
    ember_op_tensor t[4] = {ut_op_tensor(EMBER_DT_FLOAT, 4, xd, NULL), ut_op_tensor(EMBER_DT_FLOAT, 4, wd, w),
                            ut_op_tensor(EMBER_DT_FLOAT, 1, bd, b), ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL)};
    ember_op_tensor yt = ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL);
    ember_op_tensor *pin[4] = {&t[0], &t[1], k->bias ? &t[2] : NULL, &t[3]};
    ember_op_tensor *pout[1] = {&yt};
    ember_op_ctx c = {.node = &node, .opset = 13, .running = true, .n_in = n_in, .n_out = 1, .in = pin, .out = pout};
    void *state = NULL;
    ember_status s = ember_host_winograd_conv.prepare(&c, k->threads, &state);
    if (!__builtin_cpu_supports("avx512f")) { /* declines without AVX-512: nothing to test */
        cr_expect_eq(s, EMBER_E_UNSUPPORTED);
        ember_error_clear();
        free(x), free(w), free(b), free(r), free(ref.data);
        return;
    }
    cr_assert_eq(s, EMBER_OK, "prepare: %s", ember_last_error());
    size_t sb = c.scratch_bytes;
    const ember_host_kernel *h = &ember_host_winograd_conv;
    if (k->lx) {
        cr_assert(h->accepts_layout(state, 0, layout_codes[k->lx]));
        cr_assert_eq(h->set_layout(state, 0, 0, layout_codes[k->lx], &sb), EMBER_OK);
    }
    if (k->sum && k->lr) {
        cr_assert(h->accepts_layout(state, 3, layout_codes[k->lr]));
        cr_assert_eq(h->set_layout(state, 0, 3, layout_codes[k->lr], &sb), EMBER_OK);
    }
    if (k->ly) {
        cr_assert_neq(h->out_layout(state, 0), 0);
        cr_assert_eq(h->set_layout(state, 1, 0, layout_codes[k->ly], &sb), EMBER_OK);
    }
    if (k->inplace) cr_assert(h->inplace_input(state, 3));
    float *xl = malloc(sizeof(float) * (size_t)xn), *rl = malloc(sizeof(float) * (size_t)yn);
    float *yl = malloc(sizeof(float) * (size_t)yn), *y = malloc(sizeof(float) * (size_t)yn);
    lu_convert(x, xl, k->lx, 1, k->N, k->C, k->H, k->W);
    lu_convert(r, rl, k->lr, 1, k->N, k->M, OH, OW);
    for (int64_t i = 0; i < yn; i++) yl[i] = NAN;
    t[0].data = xl;
    t[3].data = rl;
    yt.data = k->inplace ? rl : yl;
    void *scratch = NULL;
    if (sb) cr_assert_eq(posix_memalign(&scratch, 64, sb), 0);
    c.scratch = scratch;
    ember_threadpool *pool = NULL;
    if (k->threads > 1) cr_assert_eq(ember_threadpool_create(k->threads, &pool), EMBER_OK);
    c.pool = pool;
    cr_assert_eq(h->run(&c, state), EMBER_OK, "run: %s", ember_last_error());
    ember_threadpool_free(pool);
    lu_convert(yt.data, y, k->ly, 0, k->N, k->M, OH, OW);

    const float *rf = ref.data;
    float big = 0;
    for (int64_t i = 0; i < yn; i++) big = fmaxf(big, fabsf(rf[i]));
    float tol = 1e-4f * big + 1e-5f, worst = 0;
    int bad = 0;
    for (int64_t i = 0; i < yn; i++) {
        float d = fabsf(y[i] - rf[i]);
        if (!(d <= tol) && bad++ < 5)
            cr_log_error("element %lld: %.8g, reference %.8g", (long long)i, (double)y[i], (double)rf[i]);
        if (d > worst || isnan(d)) worst = d;
    }
    cr_expect_eq(bad, 0,
                 "N%lld C%lld M%lld %lldx%lld pad %lld bias %d act %s sum %d threads %d layouts %d/%d/%d inplace %d: "
                 "%d elements off, max |d| %g > %g",
                 (long long)k->N, (long long)k->C, (long long)k->M, (long long)k->H, (long long)k->W, (long long)k->pad,
                 k->bias, k->act ? k->act : "-", k->sum, k->threads, k->lx, k->lr, k->ly, k->inplace, bad,
                 (double)worst, (double)tol);
    h->release(state);
    free(scratch), free(x), free(w), free(b), free(r), free(xl), free(rl), free(yl), free(y), free(ref.data);
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
    int64_t xd[4] = {1, C, 16, 16}, wd[4] = {M, C / group, kh, kh}, ks[2] = {kh, kh}, st[2] = {stride, stride};
    int64_t dl[2] = {dil, dil}, pads[4] = {1, 1, 1, 1}, od = (16 + 2 - dil * (kh - 1) - 1) / stride + 1;
    int64_t yd[4] = {1, M, od, od};
    float *w = calloc((size_t)(M * (C / group) * kh * kh), sizeof(float));
    ember_attr attrs[6] = {harness_attr_ints("kernel_shape", ks, 2), harness_attr_ints("strides", st, 2),
                           harness_attr_ints("dilations", dl, 2), harness_attr_ints("pads", pads, 4),
                           harness_attr_int("group", group)};
    int na = 5;
    if (precision) attrs[na++] = harness_attr_string("ember_precision", precision);
    int idx[3] = {0, 1, 2};
    ember_node node = {.name = "n0", .op_type = "Conv", .domain = "", .op = EMBER_OP_CONV, .opset = 13,
                       .n_inputs = 2, .n_outputs = 1, .n_attrs = na, .attrs = attrs, .inputs = idx, .outputs = idx};
    ember_op_tensor t[2] = {ut_op_tensor(EMBER_DT_FLOAT, 4, xd, NULL), ut_op_tensor(EMBER_DT_FLOAT, 4, wd, w)};
    ember_op_tensor yt = ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL), *pin[2] = {&t[0], &t[1]}, *pout[1] = {&yt};
    ember_op_ctx c = {.node = &node, .opset = 13, .running = true, .n_in = 2, .n_out = 1, .in = pin, .out = pout};
    void *state = NULL;
    ember_status s = ember_host_winograd_conv.prepare(&c, 1, &state);
    ember_host_winograd_conv.release(state);
    ember_error_clear();
    free(w);
    return s;
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
