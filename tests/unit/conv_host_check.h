/* One check for our own conv host kernels (ops/host/winograd_conv.c, conv1x1.c) against
 * the reference Conv: random input, weights, bias and residual; the reference run; the
 * kernel driven as engine/program.c drives it (prepare on constants only, the layouts
 * of src / residual / dst set through the chaining calls, run on arena-like buffers,
 * optionally the residual in dst's memory, 1 or more threads); and an element-wise
 * comparison |y - ref| <= 1e-4 max|ref| + 1e-5. */
#ifndef EMBER_TEST_CONV_HOST_CHECK_H
#define EMBER_TEST_CONV_HOST_CHECK_H
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout_util.h"
#include "op_harness.h"
#include "ops/host.h"
#include "test_util.h"

typedef struct conv_check {
    int64_t N, C, M, H, W, KH, KW, stride, pads[4]; /* pads: top, left, bottom, right */
    int bias;
    const char *act; /* NULL: none; "Relu", "Clip" (-0.5, 0.75), "LeakyRelu" (0.1) */
    int sum, threads;
    int lx, lr, ly; /* layouts of src, residual, dst (layout_util.h) */
    int inplace;    /* the residual in dst's memory (needs lr == ly) */
    int64_t group;  /* 0 or 1: a dense conv; C = M: depthwise */
} conv_check;

static void cc_set_layouts(const ember_host_kernel *h, const conv_check *k, void *state, size_t *sb)
{
    if (k->lx) {
        cr_assert(h->accepts_layout(state, 0, layout_codes[k->lx]));
        cr_assert_eq(h->set_layout(state, 0, 0, layout_codes[k->lx], sb), EMBER_OK);
    }
    if (k->sum && k->lr) {
        cr_assert(h->accepts_layout(state, 3, layout_codes[k->lr]));
        cr_assert_eq(h->set_layout(state, 0, 3, layout_codes[k->lr], sb), EMBER_OK);
    }
    if (k->ly) {
        cr_assert_neq(h->out_layout(state, 0), 0);
        cr_assert_eq(h->set_layout(state, 1, 0, layout_codes[k->ly], sb), EMBER_OK);
    }
    if (k->inplace) cr_assert(h->inplace_input(state, 3));
}

/* Elements of y off the reference by more than the tolerance (the first few logged). */
static int cc_compare(const float *y, const float *rf, int64_t n, float *worst, float *tol)
{
    float big = 0;
    for (int64_t i = 0; i < n; i++) big = fmaxf(big, fabsf(rf[i]));
    *tol = 1e-4f * big + 1e-5f, *worst = 0;
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(y[i] - rf[i]);
        if (!(d <= *tol) && bad++ < 5)
            cr_log_error("element %lld: %.8g, reference %.8g", (long long)i, (double)y[i], (double)rf[i]);
        if (d > *worst || isnan(d)) *worst = d;
    }
    return bad;
}

static void conv_host_check(const ember_host_kernel *h, const conv_check *k, uint32_t *rng)
{
    int64_t OH = (k->H + k->pads[0] + k->pads[2] - k->KH) / k->stride + 1;
    int64_t OW = (k->W + k->pads[1] + k->pads[3] - k->KW) / k->stride + 1;
    int64_t xn = k->N * k->C * k->H * k->W, yn = k->N * k->M * OH * OW, g = k->group > 1 ? k->group : 1;
    float *x = lu_rnd_buf(rng, xn), *w = lu_rnd_buf(rng, k->M * k->C / g * k->KH * k->KW), *b = lu_rnd_buf(rng, k->M);
    float *r = lu_rnd_buf(rng, yn);
    int64_t ks[2] = {k->KH, k->KW}, st[2] = {k->stride, k->stride};
    int64_t pads[4] = {k->pads[0], k->pads[1], k->pads[2], k->pads[3]};
    ember_attr attrs[9];
    int na = 0;
    if (g > 1) attrs[na++] = harness_attr_int("group", g);
    attrs[na++] = harness_attr_ints("kernel_shape", ks, 2);
    attrs[na++] = harness_attr_ints("strides", st, 2);
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
                         {EMBER_DT_FLOAT, 4, {k->M, k->C / g, k->KH, k->KW}, w, 1},
                         {EMBER_DT_FLOAT, 1, {k->M}, k->bias ? b : NULL, 1},
                         {EMBER_DT_FLOAT, 4, {k->N, k->M, OH, OW}, r, 0}};
    ember_op_tensor ref;
    cr_assert_eq(harness_run("Conv", 13, hin, n_in, attrs, na, &ref, 1), EMBER_OK, "reference: %s",
                 ember_last_error());

    int idx[4] = {0, 1, 2, 3};
    ember_node node = {.name = "n0", .op_type = "Conv", .domain = "", .op = EMBER_OP_CONV, .opset = 13,
                       .n_inputs = n_in, .n_outputs = 1, .n_attrs = na, .attrs = attrs, .inputs = idx, .outputs = idx};
    int64_t xd[4] = {k->N, k->C, k->H, k->W}, wd[4] = {k->M, k->C / g, k->KH, k->KW}, bd[1] = {k->M};
    int64_t yd[4] = {k->N, k->M, OH, OW};
    ember_op_tensor t[4] = {ut_op_tensor(EMBER_DT_FLOAT, 4, xd, NULL), ut_op_tensor(EMBER_DT_FLOAT, 4, wd, w),
                            ut_op_tensor(EMBER_DT_FLOAT, 1, bd, b), ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL)};
    ember_op_tensor yt = ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL);
    ember_op_tensor *pin[4] = {&t[0], &t[1], k->bias ? &t[2] : NULL, &t[3]}, *pout[1] = {&yt};
    ember_op_ctx c = {.node = &node, .opset = 13, .running = true, .n_in = n_in, .n_out = 1, .in = pin, .out = pout};
    void *state = NULL;
    ember_status s = h->prepare(&c, k->threads, &state);
    if (!__builtin_cpu_supports("avx512f")) { /* declines without AVX-512: nothing to test */
        cr_expect_eq(s, EMBER_E_UNSUPPORTED);
        ember_error_clear();
        free(x), free(w), free(b), free(r), free(ref.data);
        return;
    }
    cr_assert_eq(s, EMBER_OK, "prepare: %s", ember_last_error());
    size_t sb = c.scratch_bytes;
    cc_set_layouts(h, k, state, &sb);
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
    float worst, tol;
    int bad = cc_compare(y, ref.data, yn, &worst, &tol);
    cr_expect_eq(bad, 0,
                 "N%lld C%lld M%lld %lldx%lld kernel %lldx%lld stride %lld pads %lld,%lld,%lld,%lld bias %d act %s "
                 "sum %d threads %d layouts %d/%d/%d inplace %d group %lld: %d elements off, max |d| %g > %g",
                 (long long)k->N, (long long)k->C, (long long)k->M, (long long)k->H, (long long)k->W,
                 (long long)k->KH, (long long)k->KW, (long long)k->stride, (long long)k->pads[0],
                 (long long)k->pads[1], (long long)k->pads[2], (long long)k->pads[3], k->bias,
                 k->act ? k->act : "-", k->sum, k->threads, k->lx, k->lr, k->ly, k->inplace, (long long)g, bad, (double)worst,
                 (double)tol);
    h->release(state);
    free(scratch), free(x), free(w), free(b), free(r), free(xl), free(rl), free(yl), free(y), free(ref.data);
}
/* What kernel h's prepare answers for a C -> M conv of kernel kh x kh on an hw x hw map
 * (stride, dilation, pads all round, groups; precision "bf16" or NULL). */
static ember_status conv_host_prepare_status(const ember_host_kernel *h, int64_t C, int64_t M, int64_t hw, int64_t kh,
                                             int64_t stride, int64_t dil, int64_t pad, int64_t group,
                                             const char *precision)
{
    int64_t xd[4] = {1, C, hw, hw}, wd[4] = {M, C / group, kh, kh}, ks[2] = {kh, kh}, st[2] = {stride, stride};
    int64_t dl[2] = {dil, dil}, pads[4] = {pad, pad, pad, pad}, od = (hw + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
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
    ember_status s = h->prepare(&c, 1, &state);
    h->release(state);
    ember_error_clear();
    free(w);
    return s;
}
#endif
