/* oneDNN fast paths (ops/host/onednn_*.c) against the reference kernels: random 2-D
 * convolutions (groups, depthwise, strides, dilations, pads, auto_pad, bias, every fused
 * activation) and pools called through the host kernels' prepare/run, within rtol 1e-4 /
 * atol 1e-5; what they must decline; and the cpu backend on the model zoo against the
 * reference outputs (as `ember run MODEL --backend cpu --check DIR`). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/program.h"
#include "importers/onnx.h"
#include "ops/host.h"
#include "op_harness.h"
#include "test_util.h"

extern const ember_host_kernel ember_host_onednn_conv;
extern const ember_host_kernel ember_host_onednn_max_pool;
extern const ember_host_kernel ember_host_onednn_average_pool;
extern const ember_host_kernel ember_host_onednn_global_average_pool;

#define MODELS EMBER_SHARED_DIR "/models/"

static uint32_t rng_state = 12345u;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}
static int rnd_int(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }
static float rnd_float(void) { return (float)(rnd() % 20001u) / 10000.0f - 1.0f; }
static float *rnd_buf(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = rnd_float();
    return p;
}

static int64_t numel(const int64_t *d, int r)
{
    int64_t n = 1;
    for (int i = 0; i < r; i++) n *= d[i];
    return n;
}

/* A node for the host kernels: op, opset and attributes (inputs/outputs unused). */
static ember_node make_node(int op, const char *op_type, int opset, ember_attr *attrs, int n_attrs,
                            int n_in, int n_out)
{
    static int idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    ember_node n;
    memset(&n, 0, sizeof n);
    n.name = "n0";
    n.op_type = op_type;
    n.domain = "";
    n.op = op;
    n.opset = opset;
    n.attrs = attrs;
    n.n_attrs = n_attrs;
    n.inputs = idx;
    n.outputs = idx;
    n.n_inputs = n_in;
    n.n_outputs = n_out;
    return n;
}

/* Runs a host kernel's prepare (inputs[i].data kept only where is_const[i]) and, when it
 * takes the node, run; y gets the output. Returns prepare's status. */
static ember_status host_call(const ember_host_kernel *k, const ember_node *node, ember_op_tensor *ins,
                              const int *is_const, int n_in, ember_op_tensor *y, int threads)
{
    ember_op_tensor pins[8], *pin[8], *pout[2] = {y, NULL};
    for (int i = 0; i < n_in; i++) {
        pins[i] = ins[i];
        if (!is_const[i]) pins[i].data = NULL;
        pin[i] = ins[i].rank >= 0 ? &pins[i] : NULL;
    }
    void *ydata = y->data;
    y->data = NULL;
    ember_op_ctx c = {.node = node, .opset = node->opset, .running = true, .n_in = n_in,
                      .n_out = node->n_outputs, .in = pin, .out = pout};
    void *state = NULL;
    ember_status s = k->prepare(&c, threads, &state);
    y->data = ydata;
    if (s != EMBER_OK) {
        cr_assert_null(state);
        ember_error_clear();
        return s;
    }
    for (int i = 0; i < n_in; i++) pins[i].data = ins[i].data;
    size_t sb = c.scratch_bytes;
    void *scratch = NULL;
    if (sb) cr_assert_eq(posix_memalign(&scratch, 64, sb), 0);
    c.scratch = scratch;
    ember_status rs = k->run(&c, state);
    cr_assert_eq(rs, EMBER_OK, "run: %s", ember_last_error());
    k->release(state);
    free(scratch);
    return EMBER_OK;
}

static void expect_close(const float *got, const float *ref, int64_t n, const char *what)
{
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 5; i++) {
        float d = fabsf(got[i] - ref[i]);
        if (!(d <= 1e-5f + 1e-4f * fabsf(ref[i]))) {
            cr_log_error("%s: element %lld is %.8g, the reference %.8g", what, (long long)i,
                         (double)got[i], (double)ref[i]);
            bad++;
        }
    }
    cr_expect_eq(bad, 0, "%s differs from the reference", what);
}

/* ---- Conv ---- */

enum { ACT_NONE, ACT_RELU, ACT_LEAKY, ACT_CLIP, ACT_SIGMOID, ACT_HARDSIGMOID, ACT_TANH, ACT_COUNT };
static const char *act_names[ACT_COUNT] = {NULL, "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "Tanh"};

static float apply_act(int act, float v, float a, float b)
{
    switch (act) {
    case ACT_RELU: return v > 0 ? v : 0;
    case ACT_LEAKY: return v >= 0 ? v : a * v;
    case ACT_CLIP: return v < a ? a : v > b ? b : v;
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case ACT_HARDSIGMOID: {
        float r = a * v + b;
        return r < 0 ? 0 : r > 1 ? 1 : r;
    }
    case ACT_TANH: return tanhf(v);
    default: return v;
    }
}

/* bf16 (ops/host/onednn.h): check_conv marks the node ember_precision = "bf16" and checks
 * against a bound of bf16's rounding instead of expect_close's fp32 tolerance. */
static int conv_bf16;
static int bf16_cases_off_fp32; /* cases whose result shows bf16 rounding (not fp32's) */

/* x and w each rounded to bf16 (relative 2^-9) make each product off by at most ~2^-8
 * of |x w|; fp32 accumulation adds little; the activations are at most 1-Lipschitz;
 * dst rounded to bf16 adds 2^-9 |y|. So |y - ref| <= 2^-8 S + 2^-9 |ref|, S the
 * convolution of |x| and |w|; checked with twice that margin. */
static void expect_bf16_close(const float *got, const float *ref, const float *s, int64_t n, const char *what)
{
    int bad = 0, off = 0;
    for (int64_t i = 0; i < n && bad < 5; i++) {
        float d = fabsf(got[i] - ref[i]);
        off |= !(d <= 1e-5f + 1e-4f * fabsf(ref[i]));
        if (!(d <= 1e-6f + 0x1p-7f * s[i] + 0x1p-8f * fabsf(ref[i]))) {
            cr_log_error("%s: element %lld is %.8g, the reference %.8g (bound from |x|*|w|: %.8g)", what,
                         (long long)i, (double)got[i], (double)ref[i], (double)s[i]);
            bad++;
        }
    }
    cr_expect_eq(bad, 0, "%s differs from the reference beyond bf16 rounding", what);
    bf16_cases_off_fp32 += off;
}

typedef struct conv_case {
    int64_t N, C, H, W, M, G, kh, kw, sh, sw, dh, dw, pads[4];
    const char *auto_pad; /* NULL: explicit pads */
    int bias, act;
    float a, b;
} conv_case;

/* Runs one case through the reference (activation applied here) and the fast path.
 * Returns the fast path's prepare status. */
static ember_status check_conv(const conv_case *cc, int threads)
{
    int64_t xd[4] = {cc->N, cc->C, cc->H, cc->W}, wd[4] = {cc->M, cc->C / cc->G, cc->kh, cc->kw}, bd[1] = {cc->M};
    float *x = rnd_buf(numel(xd, 4)), *w = rnd_buf(numel(wd, 4)), *b = rnd_buf(cc->M);
    int64_t ks[2] = {cc->kh, cc->kw}, st[2] = {cc->sh, cc->sw}, dl[2] = {cc->dh, cc->dw}, pads[4];
    memcpy(pads, cc->pads, sizeof pads);
    ember_attr attrs[12];
    int na = 0;
    attrs[na++] = harness_attr_ints("kernel_shape", ks, 2);
    attrs[na++] = harness_attr_ints("strides", st, 2);
    attrs[na++] = harness_attr_ints("dilations", dl, 2);
    attrs[na++] = harness_attr_int("group", cc->G);
    if (cc->auto_pad) attrs[na++] = harness_attr_string("auto_pad", cc->auto_pad);
    else attrs[na++] = harness_attr_ints("pads", pads, 4);
    harness_in hin[3] = {{EMBER_DT_FLOAT, 4, {cc->N, cc->C, cc->H, cc->W}, x, 0},
                         {EMBER_DT_FLOAT, 4, {wd[0], wd[1], wd[2], wd[3]}, w, 1},
                         {EMBER_DT_FLOAT, 1, {cc->M}, cc->bias ? b : NULL, 1}};
    ember_op_tensor ref;
    cr_assert_eq(harness_run("Conv", 13, hin, 3, attrs, na, &ref, 1), EMBER_OK, "reference: %s",
                 ember_last_error());
    int64_t yn = numel(ref.dims, ref.rank);
    float *r = ref.data;
    for (int64_t i = 0; i < yn; i++) r[i] = apply_act(cc->act, r[i], cc->a, cc->b);
    ember_op_tensor sabs = {0}; /* bf16: the convolution of |x| and |w|, for the bound */
    if (conv_bf16) {
        float *ax = malloc(sizeof(float) * (size_t)numel(xd, 4)), *aw = malloc(sizeof(float) * (size_t)numel(wd, 4));
        for (int64_t i = 0; i < numel(xd, 4); i++) ax[i] = fabsf(x[i]);
        for (int64_t i = 0; i < numel(wd, 4); i++) aw[i] = fabsf(w[i]);
        harness_in ahin[2] = {hin[0], hin[1]};
        ahin[0].data = ax;
        ahin[1].data = aw;
        cr_assert_eq(harness_run("Conv", 13, ahin, 2, attrs, na, &sabs, 1), EMBER_OK, "reference: %s",
                     ember_last_error());
        free(ax);
        free(aw);
    }
    /* The fused activation, as the fusion pass writes it. */
    if (cc->act != ACT_NONE) {
        attrs[na++] = harness_attr_string("ember_activation", act_names[cc->act]);
        if (cc->act == ACT_CLIP) {
            attrs[na++] = harness_attr_float("ember_act_min", cc->a);
            attrs[na++] = harness_attr_float("ember_act_max", cc->b);
        } else if (cc->act == ACT_LEAKY || cc->act == ACT_HARDSIGMOID) {
            attrs[na++] = harness_attr_float("ember_act_alpha", cc->a);
            if (cc->act == ACT_HARDSIGMOID) attrs[na++] = harness_attr_float("ember_act_beta", cc->b);
        }
    }
    if (conv_bf16) attrs[na++] = harness_attr_string("ember_precision", "bf16");
    ember_node node = make_node(EMBER_OP_CONV, "Conv", 13, attrs, na, cc->bias ? 3 : 2, 1);
    ember_op_tensor ins[3] = {ut_op_tensor(EMBER_DT_FLOAT, 4, xd, x), ut_op_tensor(EMBER_DT_FLOAT, 4, wd, w),
                              ut_op_tensor(EMBER_DT_FLOAT, 1, bd, b)};
    int is_const[3] = {0, 1, 1};
    float *y = malloc(sizeof(float) * (size_t)yn);
    for (int64_t i = 0; i < yn; i++) y[i] = NAN;
    ember_op_tensor yt = ut_op_tensor(EMBER_DT_FLOAT, ref.rank, ref.dims, y);
    ember_status s = host_call(&ember_host_onednn_conv, &node, ins, is_const, cc->bias ? 3 : 2, &yt, threads);
    if (s == EMBER_OK) {
        char what[256];
        snprintf(what, sizeof what,
                 "conv N%lld C%lld %lldx%lld M%lld G%lld k%lldx%lld s%lldx%lld d%lldx%lld pads %lld,%lld,%lld,%lld %s bias %d act %s",
                 (long long)cc->N, (long long)cc->C, (long long)cc->H, (long long)cc->W, (long long)cc->M,
                 (long long)cc->G, (long long)cc->kh, (long long)cc->kw, (long long)cc->sh, (long long)cc->sw,
                 (long long)cc->dh, (long long)cc->dw, (long long)pads[0], (long long)pads[1],
                 (long long)pads[2], (long long)pads[3], cc->auto_pad ? cc->auto_pad : "", cc->bias,
                 act_names[cc->act] ? act_names[cc->act] : "none");
        if (conv_bf16) expect_bf16_close(y, r, sabs.data, yn, what);
        else expect_close(y, r, yn, what);
    }
    free(sabs.data);
    free(ref.data);
    free(x);
    free(w);
    free(b);
    free(y);
    return s;
}

static void random_conv(conv_case *cc)
{
    memset(cc, 0, sizeof *cc);
    static const char *aps[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
    for (;;) {
        cc->N = rnd_int(1, 2);
        int kind = rnd_int(0, 2); /* 0 plain, 1 grouped, 2 depthwise (with multiplier) */
        cc->G = kind == 0 ? 1 : kind == 1 ? rnd_int(2, 4) : rnd_int(3, 24);
        int64_t cg = kind == 2 ? 1 : rnd_int(1, 12), mg = kind == 2 ? rnd_int(1, 2) : rnd_int(1, 12);
        cc->C = cg * cc->G;
        cc->M = mg * cc->G;
        cc->H = rnd_int(1, 17);
        cc->W = rnd_int(1, 17);
        cc->kh = rnd_int(1, 5);
        cc->kw = rnd_int(1, 5);
        cc->sh = rnd_int(1, 3);
        cc->sw = rnd_int(1, 3);
        cc->dh = rnd_int(1, 3) == 3 ? 2 : 1;
        cc->dw = rnd_int(1, 3) == 3 ? 2 : 1;
        if (rnd_int(0, 3) == 0) cc->auto_pad = aps[rnd_int(0, 2)];
        else
            for (int i = 0; i < 4; i++) cc->pads[i] = rnd_int(0, (int)(i % 2 ? cc->kw : cc->kh) - 1 + 1);
        cc->bias = rnd_int(0, 1);
        cc->act = rnd_int(0, ACT_COUNT - 1);
        cc->a = cc->act == ACT_CLIP ? -0.5f : cc->act == ACT_LEAKY ? 0.1f : 0.2f;
        cc->b = cc->act == ACT_CLIP ? 0.75f : 0.5f;
        /* The padded input must hold one window. */
        int64_t sh = (cc->kh - 1) * cc->dh + 1, sw = (cc->kw - 1) * cc->dw + 1;
        int64_t ph = cc->auto_pad ? (strcmp(cc->auto_pad, "VALID") ? sh : 0) : cc->pads[0] + cc->pads[2];
        int64_t pw = cc->auto_pad ? (strcmp(cc->auto_pad, "VALID") ? sw : 0) : cc->pads[1] + cc->pads[3];
        if (cc->H + ph >= sh && cc->W + pw >= sw) return;
    }
}

Test(host_onednn, conv_random_vs_reference)
{
    rng_state = 2024u;
    int taken = 0, acts[ACT_COUNT] = {0};
    for (int t = 0; t < 300; t++) {
        conv_case cc;
        random_conv(&cc);
        ember_status s = check_conv(&cc, t % 3);
        cr_expect(s == EMBER_OK, "case %d declined: %s", t, ember_status_name(s));
        if (s == EMBER_OK) taken++, acts[cc.act]++;
    }
    cr_log_info("oneDNN conv: %d of 300 random cases taken", taken);
    for (int a = 0; a < ACT_COUNT; a++) cr_expect_gt(acts[a], 0, "no case with activation %d", a);
}

/* The same random cases in bf16, on hosts that have it (else bf16 must be refused). A
 * case oneDNN has no bf16 kernel for may decline (the fp32 reference then runs); most
 * must be taken. */
Test(host_onednn, conv_random_bf16)
{
    if (ember_host_bf16_check() != EMBER_OK) {
        cr_log_info("no bf16 on this host: %s", ember_last_error());
        cr_expect_str_not_empty(ember_last_error());
        ember_error_clear();
        return;
    }
    rng_state = 2025u;
    conv_bf16 = 1;
    int taken = 0;
    for (int t = 0; t < 200; t++) {
        conv_case cc;
        random_conv(&cc);
        ember_status s = check_conv(&cc, t % 3);
        cr_expect(s == EMBER_OK || s == EMBER_E_UNSUPPORTED, "case %d: %s", t, ember_status_name(s));
        taken += s == EMBER_OK;
    }
    conv_bf16 = 0;
    cr_log_info("oneDNN bf16 conv: %d of 200 random cases taken, %d beyond fp32's tolerance", taken,
                bf16_cases_off_fp32);
    cr_expect_gt(taken, 150);
    cr_expect_gt(bf16_cases_off_fp32, taken / 2, "bf16 was asked for, but the results look fp32");
}

Test(host_onednn, conv_fixed_shapes)
{
    rng_state = 7u;
    /* resnet stem, depthwise 3x3 s2, pointwise, grouped with dilation, SAME_LOWER odd. */
    conv_case cs[] = {
        {1, 3, 32, 32, 16, 1, 7, 7, 2, 2, 1, 1, {3, 3, 3, 3}, NULL, 1, ACT_RELU, 0, 0},
        {2, 32, 15, 15, 32, 32, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, NULL, 1, ACT_CLIP, 0.0f, 6.0f},
        {1, 64, 7, 7, 128, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, NULL, 0, ACT_NONE, 0, 0},
        {1, 12, 11, 9, 8, 4, 3, 2, 1, 2, 2, 3, {0, 0, 0, 0}, "SAME_LOWER", 1, ACT_HARDSIGMOID, 0.2f, 0.5f},
        {1, 6, 10, 10, 6, 6, 5, 5, 3, 3, 1, 1, {2, 1, 0, 2}, NULL, 0, ACT_SIGMOID, 0, 0},
        {1, 4, 9, 9, 5, 1, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, "SAME_UPPER", 1, ACT_LEAKY, 0.01f, 0},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
        cr_expect_eq(check_conv(&cs[i], 0), EMBER_OK, "fixed case %zu declined", i);
}

/* Layouts picked for one thread: a one-channel first layer written in nChw16c
 * (kws_dscnn's), one channel or one pixel read or written in place of NCHW (same bytes). */
Test(host_onednn, conv_single_thread_layouts)
{
    rng_state = 11u;
    conv_case cs[] = {
        {1, 1, 49, 10, 64, 1, 10, 4, 2, 2, 1, 1, {4, 1, 5, 2}, NULL, 1, ACT_RELU, 0, 0},
        {1, 1, 20, 20, 32, 1, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, NULL, 1, ACT_NONE, 0, 0},
        {1, 48, 1, 1, 32, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, NULL, 1, ACT_RELU, 0, 0},
        {1, 16, 9, 9, 1, 1, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, NULL, 0, ACT_NONE, 0, 0},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
        for (int threads = 1; threads <= 2; threads++)
            cr_expect_eq(check_conv(&cs[i], threads), EMBER_OK, "case %zu, %d threads: declined", i, threads);
}

/* Calls prepare only: its status. */
static ember_status conv_prepare_status(ember_dtype dt, int rank, int w_const, const char *act)
{
    int64_t xd[5] = {1, 4, 8, 8, 8}, wd[5] = {4, 4, 3, 3, 3}, yd[5] = {1, 4, 6, 6, 6};
    float buf[4 * 4 * 27 * 2] = {0};
    ember_attr attrs[2];
    int na = 0;
    if (act) attrs[na++] = harness_attr_string("ember_activation", act);
    ember_node node = make_node(EMBER_OP_CONV, "Conv", 13, attrs, na, 2, 1);
    ember_op_tensor x = ut_op_tensor(dt, rank, xd, NULL), w = ut_op_tensor(dt, rank, wd, w_const ? buf : NULL),
                    y = ut_op_tensor(dt, rank, yd, NULL);
    ember_op_tensor *pin[2] = {&x, &w}, *pout[1] = {&y};
    ember_op_ctx c = {.node = &node, .opset = 13, .running = true, .n_in = 2, .n_out = 1, .in = pin, .out = pout};
    void *state = NULL;
    ember_status s = ember_host_onednn_conv.prepare(&c, 1, &state);
    ember_host_onednn_conv.release(state);
    ember_error_clear();
    return s;
}

Test(host_onednn, conv_declines)
{
    cr_expect_eq(conv_prepare_status(EMBER_DT_FLOAT, 4, 1, NULL), EMBER_OK);
    cr_expect_eq(conv_prepare_status(EMBER_DT_FLOAT, 4, 1, "Relu"), EMBER_OK);
    cr_expect_eq(conv_prepare_status(EMBER_DT_FLOAT, 5, 1, NULL), EMBER_E_UNSUPPORTED, "3-D conv");
    cr_expect_eq(conv_prepare_status(EMBER_DT_FLOAT, 3, 1, NULL), EMBER_E_UNSUPPORTED, "1-D conv");
    cr_expect_eq(conv_prepare_status(EMBER_DT_FLOAT, 4, 0, NULL), EMBER_E_UNSUPPORTED, "weights not constant");
    cr_expect_eq(conv_prepare_status(EMBER_DT_DOUBLE, 4, 1, NULL), EMBER_E_UNSUPPORTED, "float64");
    cr_expect_eq(conv_prepare_status(EMBER_DT_FLOAT16, 4, 1, NULL), EMBER_E_UNSUPPORTED, "float16");
    cr_expect_eq(conv_prepare_status(EMBER_DT_FLOAT, 4, 1, "Softsign"), EMBER_E_UNSUPPORTED,
                 "an activation with no eltwise");
}

/* ---- pools ---- */

typedef struct pool_case {
    int avg, opset;
    int64_t N, C, H, W, kh, kw, sh, sw, dh, dw, pads[4];
    const char *auto_pad;
    int ceil, cip;
} pool_case;

static ember_status check_pool(const pool_case *pc, int threads)
{
    int64_t xd[4] = {pc->N, pc->C, pc->H, pc->W};
    float *x = rnd_buf(numel(xd, 4));
    int64_t ks[2] = {pc->kh, pc->kw}, st[2] = {pc->sh, pc->sw}, dl[2] = {pc->dh, pc->dw}, pads[4];
    memcpy(pads, pc->pads, sizeof pads);
    ember_attr attrs[8];
    int na = 0;
    attrs[na++] = harness_attr_ints("kernel_shape", ks, 2);
    attrs[na++] = harness_attr_ints("strides", st, 2);
    if (!pc->avg || pc->opset >= 19) attrs[na++] = harness_attr_ints("dilations", dl, 2);
    if (pc->auto_pad) attrs[na++] = harness_attr_string("auto_pad", pc->auto_pad);
    else attrs[na++] = harness_attr_ints("pads", pads, 4);
    attrs[na++] = harness_attr_int("ceil_mode", pc->ceil);
    if (pc->avg) attrs[na++] = harness_attr_int("count_include_pad", pc->cip);
    const char *op = pc->avg ? "AveragePool" : "MaxPool";
    harness_in hin[1] = {{EMBER_DT_FLOAT, 4, {pc->N, pc->C, pc->H, pc->W}, x, 0}};
    ember_op_tensor ref;
    ember_status rs = harness_run(op, pc->opset, hin, 1, attrs, na, &ref, 1);
    if (rs != EMBER_OK) { /* a geometry the reference refuses: nothing to compare */
        ember_error_clear();
        free(x);
        return EMBER_E_INVALID_MODEL;
    }
    int64_t yn = numel(ref.dims, ref.rank);
    ember_node node = make_node(pc->avg ? EMBER_OP_AVERAGE_POOL : EMBER_OP_MAX_POOL, op, pc->opset, attrs, na, 1, 1);
    ember_op_tensor ins[1] = {ut_op_tensor(EMBER_DT_FLOAT, 4, xd, x)};
    int is_const[1] = {0};
    float *y = malloc(sizeof(float) * (size_t)(yn ? yn : 1));
    ember_op_tensor yt = ut_op_tensor(EMBER_DT_FLOAT, ref.rank, ref.dims, y);
    const ember_host_kernel *k = pc->avg ? &ember_host_onednn_average_pool : &ember_host_onednn_max_pool;
    ember_status s = host_call(k, &node, ins, is_const, 1, &yt, threads);
    if (s == EMBER_OK) {
        char what[256];
        snprintf(what, sizeof what, "%s opset %d %lldx%lld k%lldx%lld s%lldx%lld d%lldx%lld pads %lld,%lld,%lld,%lld %s ceil %d cip %d",
                 op, pc->opset, (long long)pc->H, (long long)pc->W, (long long)pc->kh, (long long)pc->kw,
                 (long long)pc->sh, (long long)pc->sw, (long long)pc->dh, (long long)pc->dw,
                 (long long)pads[0], (long long)pads[1], (long long)pads[2], (long long)pads[3],
                 pc->auto_pad ? pc->auto_pad : "", pc->ceil, pc->cip);
        expect_close(y, ref.data, yn, what);
    }
    free(ref.data);
    free(x);
    free(y);
    return s;
}

Test(host_onednn, pool_random_vs_reference)
{
    rng_state = 99u;
    static const char *aps[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
    int taken[2] = {0}, tried = 0, ceil_taken = 0, cip_taken = 0;
    for (int t = 0; t < 400; t++) {
        pool_case pc;
        memset(&pc, 0, sizeof pc);
        pc.avg = rnd_int(0, 1);
        pc.opset = pc.avg ? (rnd_int(0, 1) ? 19 : 11) : 12;
        pc.N = rnd_int(1, 2);
        pc.C = rnd_int(1, 20);
        pc.H = rnd_int(1, 20);
        pc.W = rnd_int(1, 20);
        pc.kh = rnd_int(1, 4);
        pc.kw = rnd_int(1, 4);
        pc.sh = rnd_int(1, 3);
        pc.sw = rnd_int(1, 3);
        pc.dh = rnd_int(0, 3) == 0 ? 2 : 1;
        pc.dw = rnd_int(0, 3) == 0 ? 2 : 1;
        if (rnd_int(0, 4) == 0) pc.auto_pad = aps[rnd_int(0, 2)];
        else
            for (int i = 0; i < 4; i++) pc.pads[i] = rnd_int(0, (int)(i % 2 ? pc.kw : pc.kh) - 1);
        pc.ceil = rnd_int(0, 1);
        pc.cip = rnd_int(0, 1);
        ember_status s = check_pool(&pc, t % 3);
        if (s == EMBER_E_INVALID_MODEL) continue;
        tried++;
        if (s == EMBER_OK) {
            taken[pc.avg]++;
            ceil_taken += pc.ceil;
            cip_taken += pc.avg && pc.cip;
        }
    }
    cr_log_info("oneDNN pools: %d max and %d average of %d cases taken", taken[0], taken[1], tried);
    cr_expect_gt(taken[0], tried / 4);
    cr_expect_gt(taken[1], tried / 4);
    cr_expect_gt(ceil_taken, 10);
    cr_expect_gt(cip_taken, 10);
}

Test(host_onednn, pool_fixed_and_declines)
{
    rng_state = 5u;
    /* resnet stem max pool; ceil_mode average with count_include_pad whose last window
     * fits the pads (taken) and one that overhangs (declined). */
    pool_case a = {0, 12, 1, 8, 112, 112, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, NULL, 0, 0};
    cr_expect_eq(check_pool(&a, 0), EMBER_OK);
    pool_case b = {1, 11, 1, 3, 9, 9, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, NULL, 1, 1};
    cr_expect_eq(check_pool(&b, 0), EMBER_OK);
    pool_case c = {1, 11, 1, 3, 10, 10, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, NULL, 1, 1};
    cr_expect_eq(check_pool(&c, 0), EMBER_E_UNSUPPORTED);
    pool_case d = {1, 11, 1, 3, 10, 10, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, NULL, 1, 0};
    cr_expect_eq(check_pool(&d, 0), EMBER_OK);
    /* MaxPool asked for Indices: declined. */
    int64_t xd[4] = {1, 2, 4, 4}, yd[4] = {1, 2, 2, 2}, ks[2] = {2, 2}, ss[2] = {2, 2};
    ember_attr attrs[2] = {harness_attr_ints("kernel_shape", ks, 2), harness_attr_ints("strides", ss, 2)};
    ember_node node = make_node(EMBER_OP_MAX_POOL, "MaxPool", 12, attrs, 2, 1, 2);
    ember_op_tensor x = ut_op_tensor(EMBER_DT_FLOAT, 4, xd, NULL), y = ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL),
                    i = ut_op_tensor(EMBER_DT_INT64, 4, yd, NULL);
    ember_op_tensor *pin[1] = {&x}, *pout[2] = {&y, &i};
    ember_op_ctx ctx = {.node = &node, .opset = 12, .running = true, .n_in = 1, .n_out = 2, .in = pin, .out = pout};
    void *state = NULL;
    cr_expect_eq(ember_host_onednn_max_pool.prepare(&ctx, 1, &state), EMBER_E_UNSUPPORTED);
    cr_expect_null(state);
    ember_error_clear();
}

Test(host_onednn, global_average_pool)
{
    rng_state = 11u;
    int64_t shapes[2][4] = {{1, 64, 64, 64}, {2, 1000, 13, 13}};
    for (int k = 0; k < 2; k++) {
        int64_t *xd = shapes[k], yd[4] = {xd[0], xd[1], 1, 1};
        float *x = rnd_buf(numel(xd, 4));
        harness_in hin[1] = {{EMBER_DT_FLOAT, 4, {xd[0], xd[1], xd[2], xd[3]}, x, 0}};
        ember_op_tensor ref;
        cr_assert_eq(harness_run("GlobalAveragePool", 13, hin, 1, NULL, 0, &ref, 1), EMBER_OK);
        ember_node node = make_node(EMBER_OP_GLOBAL_AVERAGE_POOL, "GlobalAveragePool", 13, NULL, 0, 1, 1);
        ember_op_tensor ins[1] = {ut_op_tensor(EMBER_DT_FLOAT, 4, xd, x)};
        int is_const[1] = {0};
        float *y = malloc(sizeof(float) * (size_t)numel(yd, 4));
        ember_op_tensor yt = ut_op_tensor(EMBER_DT_FLOAT, 4, yd, y);
        cr_expect_eq(host_call(&ember_host_onednn_global_average_pool, &node, ins, is_const, 1, &yt, 0), EMBER_OK);
        expect_close(y, ref.data, numel(yd, 4), "GlobalAveragePool");
        free(ref.data);
        free(x);
        free(y);
    }
    /* Small ones are taken too (for chained inputs) and run the reference kernel on a
     * plain input: tests/unit/test_host_gap.c. */
}

/* ---- layout chaining (ops/host.h) ---- */

/* A host kernel prepared on one node, as the program builder holds it. */
typedef struct chain_step {
    const ember_host_kernel *k;
    ember_node node;
    ember_op_tensor ins[4], out;
    ember_op_tensor *pin[4], *pout[1];
    int n_in;
    void *state;
    size_t scratch_bytes;
} chain_step;

static void chain_prepare(chain_step *s, const ember_host_kernel *k, int op, const char *op_type, ember_attr *attrs,
                          int na, int n_in)
{
    s->k = k;
    s->node = make_node(op, op_type, 13, attrs, na, n_in, 1);
    s->n_in = n_in;
    for (int i = 0; i < n_in; i++) s->pin[i] = &s->ins[i];
    s->pout[0] = &s->out;
    void *x = s->ins[0].data, *y = s->out.data, *r = n_in > 3 ? s->ins[3].data : NULL;
    s->ins[0].data = s->out.data = NULL;
    if (n_in > 3) s->ins[3].data = NULL;
    ember_op_ctx c = {.node = &s->node, .opset = 13, .running = true, .n_in = n_in, .n_out = 1,
                      .in = s->pin, .out = s->pout};
    cr_assert_eq(k->prepare(&c, 1, &s->state), EMBER_OK, "%s: %s", op_type, ember_last_error());
    s->scratch_bytes = c.scratch_bytes;
    s->ins[0].data = x;
    s->out.data = y;
    if (n_in > 3) s->ins[3].data = r;
}

static void chain_run(chain_step *s)
{
    void *scratch = NULL;
    if (s->scratch_bytes) cr_assert_eq(posix_memalign(&scratch, 64, s->scratch_bytes), 0);
    ember_op_ctx c = {.node = &s->node, .opset = 13, .running = true, .n_in = s->n_in, .n_out = 1,
                      .in = s->pin, .out = s->pout, .scratch_bytes = s->scratch_bytes, .scratch = scratch};
    cr_assert_eq(s->k->run(&c, s->state), EMBER_OK, "run: %s", ember_last_error());
    free(scratch);
}

/* Chains a -> b when both agree (as engine/program.c does); returns the layout or 0. */
static int chain_link(chain_step *a, chain_step *b)
{
    int l = a->k->out_layout(a->state, 0);
    if (!l || !b->k->accepts_layout(b->state, 0, l)) return 0;
    cr_assert_eq(a->k->set_layout(a->state, 1, 0, l, &a->scratch_bytes), EMBER_OK);
    cr_assert_eq(b->k->set_layout(b->state, 0, 0, l, &b->scratch_bytes), EMBER_OK);
    return l;
}

/* Conv(relu) -> Conv 1x1 -> MaxPool -> Conv, each edge in oneDNN's blocked layout, the
 * last output NCHW: the same as the reference chain. */
Test(host_onednn, layout_chain)
{
    rng_state = 21u;
    int64_t xd[4] = {1, 16, 12, 12}, ad[4] = {1, 32, 12, 12}, pd[4] = {1, 32, 6, 6}, cd[4] = {1, 16, 6, 6};
    int64_t wad[4] = {32, 16, 3, 3}, wbd[4] = {32, 32, 1, 1}, wcd[4] = {16, 32, 3, 3}, bd[1] = {32}, bcd[1] = {16};
    float *x = rnd_buf(numel(xd, 4)), *wa = rnd_buf(numel(wad, 4)), *wb = rnd_buf(numel(wbd, 4)),
          *wc = rnd_buf(numel(wcd, 4)), *ba = rnd_buf(32), *bc = rnd_buf(16);
    int64_t k3[2] = {3, 3}, k1[2] = {1, 1}, k2[2] = {2, 2}, one[2] = {1, 1}, p1[4] = {1, 1, 1, 1}, p0[4] = {0};
    ember_attr a3[5] = {harness_attr_ints("kernel_shape", k3, 2), harness_attr_ints("strides", one, 2),
                        harness_attr_ints("pads", p1, 4), harness_attr_string("ember_activation", "Relu")};
    ember_attr a1[3] = {harness_attr_ints("kernel_shape", k1, 2), harness_attr_ints("strides", one, 2),
                        harness_attr_ints("pads", p0, 4)};
    ember_attr ap[3] = {harness_attr_ints("kernel_shape", k2, 2), harness_attr_ints("strides", k2, 2),
                        harness_attr_ints("pads", p0, 4)};
    /* The reference chain. */
    ember_op_tensor ra, rb, rp, rc;
    harness_in ha[3] = {{EMBER_DT_FLOAT, 4, {1, 16, 12, 12}, x, 0}, {EMBER_DT_FLOAT, 4, {32, 16, 3, 3}, wa, 1},
                        {EMBER_DT_FLOAT, 1, {32}, ba, 1}};
    cr_assert_eq(harness_run("Conv", 13, ha, 3, a3, 3, &ra, 1), EMBER_OK);
    for (int64_t i = 0; i < numel(ad, 4); i++) ((float *)ra.data)[i] = fmaxf(((float *)ra.data)[i], 0.0f);
    harness_in hb[2] = {{EMBER_DT_FLOAT, 4, {1, 32, 12, 12}, ra.data, 0}, {EMBER_DT_FLOAT, 4, {32, 32, 1, 1}, wb, 1}};
    cr_assert_eq(harness_run("Conv", 13, hb, 2, a1, 3, &rb, 1), EMBER_OK);
    harness_in hp[1] = {{EMBER_DT_FLOAT, 4, {1, 32, 12, 12}, rb.data, 0}};
    cr_assert_eq(harness_run("MaxPool", 13, hp, 1, ap, 3, &rp, 1), EMBER_OK);
    harness_in hc[3] = {{EMBER_DT_FLOAT, 4, {1, 32, 6, 6}, rp.data, 0}, {EMBER_DT_FLOAT, 4, {16, 32, 3, 3}, wc, 1},
                        {EMBER_DT_FLOAT, 1, {16}, bc, 1}};
    cr_assert_eq(harness_run("Conv", 13, hc, 3, a3, 3, &rc, 1), EMBER_OK);
    for (int64_t i = 0; i < numel(cd, 4); i++) ((float *)rc.data)[i] = fmaxf(((float *)rc.data)[i], 0.0f);
    /* The host chain. */
    float *ya = malloc(sizeof(float) * 32 * 144), *yb = malloc(sizeof(float) * 32 * 144),
          *yp = malloc(sizeof(float) * 32 * 36), *yc = malloc(sizeof(float) * 16 * 36);
    chain_step A = {0}, B = {0}, P = {0}, C = {0};
    A.ins[0] = ut_op_tensor(EMBER_DT_FLOAT, 4, xd, x), A.ins[1] = ut_op_tensor(EMBER_DT_FLOAT, 4, wad, wa);
    A.ins[2] = ut_op_tensor(EMBER_DT_FLOAT, 1, bd, ba), A.out = ut_op_tensor(EMBER_DT_FLOAT, 4, ad, ya);
    chain_prepare(&A, &ember_host_onednn_conv, EMBER_OP_CONV, "Conv", a3, 4, 3);
    B.ins[0] = ut_op_tensor(EMBER_DT_FLOAT, 4, ad, ya), B.ins[1] = ut_op_tensor(EMBER_DT_FLOAT, 4, wbd, wb);
    B.out = ut_op_tensor(EMBER_DT_FLOAT, 4, ad, yb);
    chain_prepare(&B, &ember_host_onednn_conv, EMBER_OP_CONV, "Conv", a1, 3, 2);
    P.ins[0] = ut_op_tensor(EMBER_DT_FLOAT, 4, ad, yb), P.out = ut_op_tensor(EMBER_DT_FLOAT, 4, pd, yp);
    chain_prepare(&P, &ember_host_onednn_max_pool, EMBER_OP_MAX_POOL, "MaxPool", ap, 3, 1);
    C.ins[0] = ut_op_tensor(EMBER_DT_FLOAT, 4, pd, yp), C.ins[1] = ut_op_tensor(EMBER_DT_FLOAT, 4, wcd, wc);
    C.ins[2] = ut_op_tensor(EMBER_DT_FLOAT, 1, bcd, bc), C.out = ut_op_tensor(EMBER_DT_FLOAT, 4, cd, yc);
    chain_prepare(&C, &ember_host_onednn_conv, EMBER_OP_CONV, "Conv", a3, 4, 3);
    int l1 = chain_link(&A, &B), l2 = chain_link(&B, &P), l3 = chain_link(&P, &C);
    cr_log_info("layout chain: %d %d %d", l1, l2, l3);
    /* A layout is never 0 once offered, and an unchained pool offers none. */
    cr_expect(l2 == 0 || P.k->out_layout(P.state, 0) == l2 || l3 == 0);
    chain_run(&A);
    chain_run(&B);
    chain_run(&P);
    chain_run(&C);
    expect_close(yc, rc.data, numel(cd, 4), "conv -> conv -> maxpool -> conv, chained");
    /* An unchained pool output (chained input only) is NCHW. */
    if (l2) {
        chain_step Q = {0};
        float *yq = malloc(sizeof(float) * 32 * 36);
        Q.ins[0] = ut_op_tensor(EMBER_DT_FLOAT, 4, ad, yb), Q.out = ut_op_tensor(EMBER_DT_FLOAT, 4, pd, yq);
        chain_prepare(&Q, &ember_host_onednn_max_pool, EMBER_OP_MAX_POOL, "MaxPool", ap, 3, 1);
        cr_assert(Q.k->accepts_layout(Q.state, 0, l2));
        cr_assert_eq(Q.k->set_layout(Q.state, 0, 0, l2, &Q.scratch_bytes), EMBER_OK);
        chain_run(&Q);
        expect_close(yq, rp.data, numel(pd, 4), "maxpool, chained input, NCHW output");
        Q.k->release(Q.state);
        free(yq);
    }
    chain_step *all[4] = {&A, &B, &P, &C};
    for (int i = 0; i < 4; i++) all[i]->k->release(all[i]->state);
    free(ra.data), free(rb.data), free(rp.data), free(rc.data);
    free(x), free(wa), free(wb), free(wc), free(ba), free(bc);
    free(ya), free(yb), free(yp), free(yc);
}

/* A fused residual (input 3, ember_sum_input): Relu(Conv(x) + r), with r given in NCHW,
 * then with r written by another conv in the chained layout; each also with the output
 * written over the residual's own memory when the kernel offers it (inplace_input). */
Test(host_onednn, conv_sum_input)
{
    rng_state = 33u;
    int64_t xd[4] = {1, 32, 10, 10}, wd[4] = {32, 32, 3, 3}, bd[1] = {32}, w1d[4] = {32, 32, 1, 1};
    float *x = rnd_buf(numel(xd, 4)), *w = rnd_buf(numel(wd, 4)), *b = rnd_buf(32), *r = rnd_buf(numel(xd, 4)),
          *w1 = rnd_buf(numel(w1d, 4));
    int64_t k3[2] = {3, 3}, k1[2] = {1, 1}, one[2] = {1, 1}, p1[4] = {1, 1, 1, 1}, p0[4] = {0};
    ember_attr as[5] = {harness_attr_ints("kernel_shape", k3, 2), harness_attr_ints("strides", one, 2),
                        harness_attr_ints("pads", p1, 4), harness_attr_string("ember_activation", "Relu"),
                        harness_attr_int("ember_sum_input", 3)};
    ember_attr a1[3] = {harness_attr_ints("kernel_shape", k1, 2), harness_attr_ints("strides", one, 2),
                        harness_attr_ints("pads", p0, 4)};
    /* The reference: r1 = Conv1x1(r); y = Relu(Conv(x) + r1) (and with r itself). */
    ember_op_tensor rr1, ry, ry1;
    harness_in h1[2] = {{EMBER_DT_FLOAT, 4, {1, 32, 10, 10}, r, 0}, {EMBER_DT_FLOAT, 4, {32, 32, 1, 1}, w1, 1}};
    cr_assert_eq(harness_run("Conv", 13, h1, 2, a1, 3, &rr1, 1), EMBER_OK);
    harness_in hs[4] = {{EMBER_DT_FLOAT, 4, {1, 32, 10, 10}, x, 0}, {EMBER_DT_FLOAT, 4, {32, 32, 3, 3}, w, 1},
                        {EMBER_DT_FLOAT, 1, {32}, b, 1}, {EMBER_DT_FLOAT, 4, {1, 32, 10, 10}, r, 0}};
    cr_assert_eq(harness_run("Conv", 13, hs, 4, as, 5, &ry, 1), EMBER_OK, "%s", ember_last_error());
    hs[3].data = rr1.data;
    cr_assert_eq(harness_run("Conv", 13, hs, 4, as, 5, &ry1, 1), EMBER_OK, "%s", ember_last_error());
    /* The reference honours the sum itself. */
    {
        ember_op_tensor plain;
        cr_assert_eq(harness_run("Conv", 13, hs, 3, as, 3, &plain, 1), EMBER_OK);
        float *pp = plain.data;
        const float *rp = rr1.data;
        for (int64_t i = 0; i < numel(xd, 4); i++) pp[i] = fmaxf(pp[i] + rp[i], 0.0f);
        cr_expect_eq(memcmp(pp, ry1.data, sizeof(float) * (size_t)numel(xd, 4)), 0, "reference sum");
        free(plain.data);
    }
    float *y = malloc(sizeof(float) * (size_t)numel(xd, 4)), *t = malloc(sizeof(float) * (size_t)numel(xd, 4));
    for (int mode = 0; mode < 4; mode++) {
        int chained = mode & 1, in_place = mode >> 1;
        chain_step P = {0}, S = {0};
        P.ins[0] = ut_op_tensor(EMBER_DT_FLOAT, 4, xd, r), P.ins[1] = ut_op_tensor(EMBER_DT_FLOAT, 4, w1d, w1);
        P.out = ut_op_tensor(EMBER_DT_FLOAT, 4, xd, t);
        chain_prepare(&P, &ember_host_onednn_conv, EMBER_OP_CONV, "Conv", a1, 3, 2);
        S.ins[0] = ut_op_tensor(EMBER_DT_FLOAT, 4, xd, x), S.ins[1] = ut_op_tensor(EMBER_DT_FLOAT, 4, wd, w);
        S.ins[2] = ut_op_tensor(EMBER_DT_FLOAT, 1, bd, b);
        S.out = ut_op_tensor(EMBER_DT_FLOAT, 4, xd, y);
        S.ins[3] = ut_op_tensor(EMBER_DT_FLOAT, 4, xd, t);
        chain_prepare(&S, &ember_host_onednn_conv, EMBER_OP_CONV, "Conv", as, 5, 4);
        int l = 0;
        if (chained) {
            l = P.k->out_layout(P.state, 0);
            if (l && S.k->accepts_layout(S.state, 3, l)) {
                cr_assert_eq(P.k->set_layout(P.state, 1, 0, l, &P.scratch_bytes), EMBER_OK);
                cr_assert_eq(S.k->set_layout(S.state, 0, 3, l, &S.scratch_bytes), EMBER_OK);
            } else {
                l = 0;
            }
            cr_log_info("residual chained in layout %d", l);
        }
        if (in_place) {
            cr_assert(S.k->inplace_input && S.k->inplace_input(S.state, 3), "residual in place refused (layout %d)", l);
            cr_expect(!S.k->inplace_input(S.state, 0), "src offered in place");
            S.out.data = t;
        }
        chain_run(&P);
        chain_run(&S);
        expect_close(S.out.data, ry1.data, numel(xd, 4),
                     in_place ? (chained ? "conv + chained residual, in place" : "conv + residual, in place")
                              : (chained ? "conv + chained residual" : "conv + residual"));
        P.k->release(P.state);
        S.k->release(S.state);
    }
    free(rr1.data), free(ry.data), free(ry1.data);
    free(x), free(w), free(b), free(r), free(w1), free(y), free(t);
}

/* ---- the zoo on the cpu backend ---- */

/* Reads <dir>/<prefix>_N.pb for N = 0, 1, ...; returns the count. */
static int load_pbs(const char *dir, const char *prefix, ember_tensor *t, int max)
{
    int n = 0;
    for (; n < max; n++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, n);
        size_t size;
        void *buf = ut_slurp(path, &size);
        if (!buf) break;
        cr_assert_eq(ember_onnx_read_tensor(buf, size, &t[n], NULL), EMBER_OK, "%s: %s", path, ember_last_error());
        free(buf);
    }
    return n;
}

static void check_zoo(const char *name)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, MODELS "%s/model.onnx", name);
    snprintf(dir, sizeof dir, MODELS "%s/test_data_set_0", name);
    ember_tensor ins[8], refs[8], outs[8];
    int ni = load_pbs(dir, "input", ins, 8), no = load_pbs(dir, "output", refs, 8);
    cr_assert(ni > 0 && no > 0, "%s: no test data", name);
    ember_model *m;
    ember_session *s;
    cr_assert_eq(ember_model_load(path, &m), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "cpu", &s), EMBER_OK, "%s", ember_last_error());
    cr_expect_str_eq(ember_session_backend(s), "cpu");
    cr_assert_eq(ember_session_run(s, ins, ni, outs, no), EMBER_OK, "%s: %s", name, ember_last_error());
    for (int o = 0; o < no; o++) {
        cr_assert_eq(outs[o].dtype, EMBER_DT_FLOAT);
        cr_assert_eq(outs[o].nbytes, refs[o].nbytes, "%s: output %d size", name, o);
        const float *g = outs[o].data, *r = refs[o].data;
        int64_t n = (int64_t)(outs[o].nbytes / sizeof(float)), bad = 0;
        for (int64_t i = 0; i < n; i++)
            if (!(fabs((double)g[i] - r[i]) <= 1e-4 + 1e-3 * fabs((double)r[i]))) bad++;
        cr_expect_eq(bad, 0, "%s: output %d: %lld of %lld elements off (rtol 1e-3, atol 1e-4)", name, o,
                     (long long)bad, (long long)n);
        ember_tensor_release(&outs[o]);
        ember_tensor_release(&refs[o]);
    }
    for (int i = 0; i < ni; i++) ember_tensor_release(&ins[i]);
    ember_session_free(s);
    ember_model_free(m);
}

Test(host_onednn, zoo_resnet18, .timeout = 120) { check_zoo("resnet18"); }

/* resnet18's program writes each residual conv's output over the residual it adds (no
 * copy), and the replanned memory still passes the independent plan check; zoo_resnet18
 * checks its outputs against the reference. */
Test(host_onednn, resnet18_residuals_in_place, .timeout = 120)
{
    ember_model *m;
    cr_assert_eq(ember_model_load(MODELS "resnet18/model.onnx", &m), EMBER_OK, "%s", ember_last_error());
    ember_program_options o = {.threads = 1, .optimize = 1};
    ember_program *p;
    cr_assert_eq(ember_program_build(m, NULL, 0, &o, &p), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_plan_verify(p->g, &p->plan), EMBER_OK, "%s", ember_last_error());
    int sums = 0, shared = 0;
    for (int i = 0; i < p->n_steps; i++) {
        const ember_node *n = &p->g->nodes[i];
        if (!ember_node_attr(n, "ember_sum_input")) continue;
        sums++;
        int64_t oy = p->plan.offset[n->outputs[0]], or = p->plan.offset[n->inputs[3]];
        if (p->steps[i].host && oy >= 0 && oy == or) shared++;
        else cr_log_info("not in place: %s (host %s)", n->name, p->steps[i].host ? p->steps[i].host->name : "none");
    }
    cr_log_info("resnet18: %d of %d residual convs in place", shared, sums);
    cr_expect_gt(sums, 0);
    cr_expect_eq(shared, sums, "%d of %d residual convs write over their residual", shared, sums);
    ember_program_free(p);
    ember_model_free(m);
}
Test(host_onednn, zoo_mobilenet_v2, .timeout = 120) { check_zoo("mobilenet_v2"); }
Test(host_onednn, zoo_squeezenet1_1, .timeout = 120) { check_zoo("squeezenet1_1"); }
Test(host_onednn, zoo_kws_dscnn, .timeout = 120) { check_zoo("kws_dscnn"); }
Test(host_onednn, zoo_cifar_resnet8, .timeout = 120) { check_zoo("cifar_resnet8"); }
Test(host_onednn, zoo_vww_mobilenet025, .timeout = 120) { check_zoo("vww_mobilenet025"); }
