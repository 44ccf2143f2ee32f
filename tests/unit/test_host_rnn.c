/* The OpenBLAS fast paths for LSTM, GRU and RNN against the reference kernels: random
 * configurations (forward, reverse, bidirectional; layout 0 and 1; batch 1-3; with and
 * without biases and initial states; every subset of the optional outputs), the cases they
 * must decline, and the lstm_kws model through the cpu backend. The fast path is driven as
 * the cpu backend drives it: infer, prepare (constants only), run. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember.h"
#include "importers/onnx.h"
#include "op_harness.h"
#include "ops/host.h"
#include "test_util.h"

extern const ember_host_kernel ember_host_openblas_lstm;
extern const ember_host_kernel ember_host_openblas_gru;
extern const ember_host_kernel ember_host_openblas_rnn;

#define RTOL 1e-4f
#define ATOL 1e-5f

static uint32_t rng = 4242;
enum { LSTM, GRU, RNN };
static const char *const op_names[] = {"LSTM", "GRU", "RNN"};
static const ember_host_kernel *kernel_of(int kind)
{
    return kind == LSTM ? &ember_host_openblas_lstm : kind == GRU ? &ember_host_openblas_gru : &ember_host_openblas_rnn;
}

/* Runs op_type through the fast path k: outputs o with want[o] get malloc'd data in got[o]
 * (the others are left out, as absent optional outputs). Returns the prepare status. */
static ember_status run_fast(const ember_host_kernel *k, const char *op_type, int opset, const harness_in *ins,
                             int n_in, const ember_attr *attrs, int n_attrs, int threads, const int *want, int n_out,
                             ember_op_tensor *got)
{
    ember_node node = {.name = "n0", .op_type = op_type, .domain = "", .op = ember_op_lookup("", op_type),
                       .opset = opset, .n_inputs = n_in, .n_outputs = n_out, .n_attrs = n_attrs,
                       .attrs = (ember_attr *)attrs};
    ember_op_tensor t[8], *pin[8], *pout[3];
    for (int i = 0; i < n_in; i++) {
        pin[i] = ins[i].data ? &t[i] : NULL;
        if (!pin[i]) continue;
        t[i] = ut_op_tensor(ins[i].dtype, ins[i].rank, ins[i].dims, (void *)ins[i].data);
    }
    for (int o = 0; o < n_out; o++) {
        memset(&got[o], 0, sizeof got[o]);
        got[o].rank = -1;
        pout[o] = want[o] ? &got[o] : NULL;
    }
    ember_op_ctx c = {.node = &node, .opset = opset, .running = true, .n_in = n_in, .n_out = n_out, .in = pin,
                      .out = pout};
    cr_assert_eq(ember_op_table[node.op].infer(&c), EMBER_OK, "%s", ember_last_error());
    for (int i = 0; i < n_in; i++)
        if (pin[i] && !ins[i].is_const) t[i].data = NULL;
    void *state = NULL;
    c.scratch_bytes = 0;
    ember_status s = k->prepare(&c, threads, &state);
    if (s != EMBER_OK) {
        ember_error_clear();
        return s;
    }
    for (int i = 0; i < n_in; i++)
        if (pin[i]) t[i].data = (void *)ins[i].data;
    for (int o = 0; o < n_out; o++) {
        if (!pout[o]) continue;
        got[o].nbytes = (size_t)ember_op_numel(&got[o]) * sizeof(float);
        got[o].data = malloc(got[o].nbytes ? got[o].nbytes : 1);
        memset(got[o].data, 0xff, got[o].nbytes); /* NaN: every element must be written */
    }
    void *scratch = c.scratch_bytes ? malloc(c.scratch_bytes) : NULL;
    if (scratch) memset(scratch, 0xff, c.scratch_bytes);
    c.scratch = scratch;
    ember_threadpool *pool = NULL; /* the run's threads, as the executor gives them */
    if (threads >= 2) cr_assert_eq(ember_threadpool_create(threads, &pool), EMBER_OK);
    c.pool = pool;
    cr_assert_eq(k->run(&c, state), EMBER_OK, "%s", ember_last_error());
    /* a second run on the same state and dirty scratch gives the same result */
    ember_op_tensor again[3];
    for (int o = 0; o < n_out; o++) {
        if (!pout[o]) continue;
        again[o] = got[o];
        again[o].data = malloc(got[o].nbytes ? got[o].nbytes : 1);
        pout[o] = &again[o];
    }
    cr_assert_eq(k->run(&c, state), EMBER_OK, "%s", ember_last_error());
    for (int o = 0; o < n_out; o++) {
        if (!pout[o]) continue;
        cr_assert(memcmp(again[o].data, got[o].data, got[o].nbytes) == 0, "output %d differs on a second run", o);
        free(again[o].data);
    }
    if (k->release) k->release(state);
    ember_threadpool_free(pool);
    free(scratch);
    return EMBER_OK;
}

typedef struct rnn_case {
    int kind, dirs, reverse, layout, lbr;
    int64_t S, B, I, H;
    int bias, h0, c0, peep_zero, lens_full, explicit_acts, relu, hidden_attr;
    int h0_const, threads;
    int want[3];
    /* decline triggers */
    int clip, input_forget, peep, lens_vary, lens_input, w_input, odd_act;
} rnn_case;

static void describe(const rnn_case *k, char *buf, size_t n)
{
    snprintf(buf, n,
             "%s dirs %d%s layout %d S%lld B%lld I%lld H%lld bias %d h0 %d c0 %d lbr %d P0 %d lens %d acts %d relu %d "
             "want %d%d%d threads %d",
             op_names[k->kind], k->dirs, k->reverse ? " reverse" : "", k->layout, (long long)k->S, (long long)k->B,
             (long long)k->I, (long long)k->H, k->bias, k->h0, k->c0, k->lbr, k->peep_zero, k->lens_full,
             k->explicit_acts, k->relu, k->want[0], k->want[1], k->want[2], k->threads);
}

/* Builds the node for case k, runs the reference and the fast path, compares the wanted
 * outputs. Returns the fast path's prepare status. */
static ember_status check_case(const rnn_case *k)
{
    int64_t S = k->S, B = k->B, I = k->I, H = k->H, D = k->dirs;
    int G = k->kind == LSTM ? 4 : k->kind == GRU ? 3 : 1;
    int64_t GH = G * H;
    /* weights at the usual initialization scale, so that pre-activations stay O(1) */
    float *x = ut_rand_buf(&rng, S * B * I, 1.5f), *w = ut_rand_buf(&rng, D * GH * I, 1.5f / sqrtf((float)I)),
          *r = ut_rand_buf(&rng, D * GH * H, 1.5f / sqrtf((float)H));
    float *bias = k->bias ? ut_rand_buf(&rng, D * 2 * GH, 0.5f) : NULL;
    float *h0 = k->h0 ? ut_rand_buf(&rng, D * B * H, 0.8f) : NULL,
          *c0 = k->c0 ? ut_rand_buf(&rng, D * B * H, 0.8f) : NULL;
    float *p = NULL;
    if (k->peep_zero || k->peep) {
        p = calloc((size_t)(D * 3 * H), sizeof(float));
        if (k->peep) p[ut_irand(&rng, 0, (int)(D * 3 * H - 1))] = 0.3f;
    }
    int32_t lens[3];
    for (int64_t b = 0; b < B; b++) lens[b] = (int32_t)S;
    if (k->lens_vary) lens[0] = (int32_t)(S - 1);
    int has_lens = k->lens_full || k->lens_vary || k->lens_input;

    harness_in ins[8];
    memset(ins, 0, sizeof ins);
    int64_t xd[3] = {S, B, I}, hd[3] = {D, B, H};
    if (k->layout) xd[0] = B, xd[1] = S, hd[0] = B, hd[1] = D;
    ins[0] = (harness_in){.dtype = EMBER_DT_FLOAT, .rank = 3, .dims = {xd[0], xd[1], xd[2]}, .data = x};
    ins[1] = (harness_in){.dtype = EMBER_DT_FLOAT, .rank = 3, .dims = {D, GH, I}, .data = w, .is_const = !k->w_input};
    ins[2] = (harness_in){.dtype = EMBER_DT_FLOAT, .rank = 3, .dims = {D, GH, H}, .data = r, .is_const = 1};
    ins[3] = (harness_in){.dtype = EMBER_DT_FLOAT, .rank = 2, .dims = {D, 2 * GH}, .data = bias, .is_const = 1};
    ins[4] = (harness_in){.dtype = EMBER_DT_INT32, .rank = 1, .dims = {B}, .data = has_lens ? lens : NULL,
                          .is_const = !k->lens_input};
    ins[5] = (harness_in){.dtype = EMBER_DT_FLOAT, .rank = 3, .dims = {hd[0], hd[1], hd[2]}, .data = h0,
                          .is_const = k->h0_const};
    int n_in = 6, n_out = k->kind == LSTM ? 3 : 2;
    if (k->kind == LSTM) {
        ins[6] = (harness_in){.dtype = EMBER_DT_FLOAT, .rank = 3, .dims = {hd[0], hd[1], hd[2]}, .data = c0,
                              .is_const = k->h0_const};
        ins[7] = (harness_in){.dtype = EMBER_DT_FLOAT, .rank = 2, .dims = {D, 3 * H}, .data = p, .is_const = 1};
        n_in = 8;
    }
    while (n_in > 3 && !ins[n_in - 1].data) n_in--;

    ember_attr attrs[12];
    int na = 0;
    const char *dir = D == 2 ? "bidirectional" : k->reverse ? "reverse" : "forward";
    attrs[na++] = harness_attr_string("direction", dir);
    if (k->hidden_attr) attrs[na++] = harness_attr_int("hidden_size", H);
    if (k->layout) attrs[na++] = harness_attr_int("layout", 1);
    if (k->kind == GRU) attrs[na++] = harness_attr_int("linear_before_reset", k->lbr);
    if (k->clip) attrs[na++] = harness_attr_float("clip", 0.7f);
    if (k->input_forget) attrs[na++] = harness_attr_int("input_forget", 1);
    static const char *lstm_acts[] = {"Sigmoid", "Tanh", "Tanh", "sigmoid", "tanh", "TANH"};
    static const char *gru_acts[] = {"Sigmoid", "Tanh", "Sigmoid", "Tanh"};
    static const char *rnn_tanh[] = {"Tanh", "Tanh"}, *rnn_relu[] = {"Relu", "Tanh"};
    static const char *odd_lstm[] = {"HardSigmoid", "Tanh", "Tanh", "Sigmoid", "Tanh", "Tanh"};
    static const char *odd_rnn[] = {"Affine", "Affine"};
    static float alphas[] = {0.4f, 0.3f}, betas[] = {0.1f, 0.2f};
    if (k->explicit_acts || k->relu || k->odd_act) {
        ember_attr a = {0};
        a.name = "activations";
        a.type = EMBER_ATTR_STRINGS;
        int per = k->kind == LSTM ? 3 : k->kind == GRU ? 2 : 1;
        a.n = per * (int)D;
        if (k->kind == LSTM) a.strings = k->odd_act ? odd_lstm : lstm_acts;
        else if (k->kind == GRU) a.strings = gru_acts;
        else a.strings = k->odd_act ? odd_rnn : k->relu ? rnn_relu : rnn_tanh;
        attrs[na++] = a;
        if (k->odd_act) {
            attrs[na++] = harness_attr_floats("activation_alpha", alphas, 2);
            attrs[na++] = harness_attr_floats("activation_beta", betas, 2);
        }
    }

    char what[256];
    describe(k, what, sizeof what);
    ember_op_tensor ref[3], got[3];
    cr_assert_eq(harness_run(op_names[k->kind], 14, ins, n_in, attrs, na, ref, n_out), EMBER_OK, "%s: %s", what,
                 ember_last_error());
    ember_status s = run_fast(kernel_of(k->kind), op_names[k->kind], 14, ins, n_in, attrs, na, k->threads, k->want,
                              n_out, got);
    if (s == EMBER_OK) {
        static const char *const out_names[] = {"Y", "Y_h", "Y_c"};
        for (int o = 0; o < n_out; o++) {
            if (!k->want[o]) continue;
            char w2[300];
            snprintf(w2, sizeof w2, "%s: %s", what, out_names[o]);
            ut_assert_op_close(&ref[o], &got[o], w2, RTOL, ATOL, "fast");
            free(got[o].data);
        }
    }
    for (int o = 0; o < n_out; o++) free(ref[o].data);
    free(x), free(w), free(r), free(bias), free(h0), free(c0), free(p);
    return s;
}

static rnn_case random_case(int kind, int it)
{
    rnn_case k = {.kind = kind};
    k.dirs = ut_irand(&rng, 1, 2);
    k.reverse = k.dirs == 1 && ut_irand(&rng, 0, 1);
    k.layout = ut_irand(&rng, 0, 3) == 0;
    k.lbr = kind == GRU && ut_irand(&rng, 0, 1);
    k.S = ut_irand(&rng, 1, 9);
    k.B = ut_irand(&rng, 1, 3);
    k.I = ut_irand(&rng, 1, 14);
    k.H = ut_irand(&rng, 1, 20);
    if (it % 7 == 0) k.H = ut_irand(&rng, 24, 40); /* bigger recurrent products */
    k.bias = ut_irand(&rng, 0, 3) != 0;
    k.h0 = ut_irand(&rng, 0, 1);
    k.c0 = kind == LSTM && ut_irand(&rng, 0, 1);
    k.h0_const = ut_irand(&rng, 0, 1);
    k.peep_zero = kind == LSTM && ut_irand(&rng, 0, 4) == 0;
    k.lens_full = ut_irand(&rng, 0, 4) == 0;
    k.explicit_acts = ut_irand(&rng, 0, 3) == 0;
    k.relu = kind == RNN && ut_irand(&rng, 0, 3) == 0;
    k.hidden_attr = ut_irand(&rng, 0, 1);
    k.threads = ut_irand(&rng, 0, 2);
    do {
        for (int o = 0; o < 3; o++) k.want[o] = ut_irand(&rng, 0, 1);
        if (kind != LSTM) k.want[2] = 0;
    } while (!k.want[0] && !k.want[1] && !k.want[2]);
    if (it % 5 == 0) k.want[0] = k.want[1] = 1, k.want[2] = kind == LSTM; /* every output */
    return k;
}

static int64_t total_macs(const rnn_case *k)
{
    int G = k->kind == LSTM ? 4 : k->kind == GRU ? 3 : 1;
    return k->S * k->B * k->dirs * G * k->H * (k->I + k->H);
}

static void random_cases(int kind)
{
    int taken = 0, declined = 0;
    for (int it = 0; it < 250; it++) {
        rnn_case k = random_case(kind, it);
        ember_status s = check_case(&k);
        char what[256];
        describe(&k, what, sizeof what);
        if (total_macs(&k) < 512) {
            cr_expect_eq(s, EMBER_E_UNSUPPORTED, "%s: tiny ops stay on the reference kernel", what);
            declined++;
        } else {
            cr_assert_eq(s, EMBER_OK, "%s: declined", what);
            taken++;
        }
    }
    cr_expect_gt(taken, 150);
    cr_expect_gt(declined, 0);
}

Test(host_rnn, lstm_random) { random_cases(LSTM); }
Test(host_rnn, gru_random) { random_cases(GRU); }
Test(host_rnn, rnn_random) { random_cases(RNN); }

/* Products big enough for several OpenBLAS threads, and lstm_kws's shape at batch 3. */
Test(host_rnn, large_and_threaded)
{
    static const rnn_case cases[] = {
        {.kind = LSTM, .dirs = 1, .S = 3, .B = 3, .I = 16, .H = 512, .bias = 1, .h0 = 1, .c0 = 1, .threads = 2,
         .want = {1, 1, 1}},
        {.kind = LSTM, .dirs = 2, .S = 49, .B = 3, .I = 40, .H = 128, .bias = 1, .threads = 1, .want = {1, 1, 1}},
        {.kind = GRU, .dirs = 2, .S = 4, .B = 2, .I = 300, .H = 600, .bias = 1, .lbr = 1, .threads = 0,
         .want = {1, 1, 0}},
        {.kind = GRU, .dirs = 1, .S = 4, .B = 1, .I = 30, .H = 1100, .bias = 1, .h0 = 1, .threads = 2,
         .want = {1, 1, 0}},
        {.kind = RNN, .dirs = 2, .layout = 1, .S = 20, .B = 3, .I = 64, .H = 200, .bias = 1, .h0 = 1, .threads = 2,
         .want = {1, 1, 0}},
        /* Batch 1, H a multiple of 16: the gates fused into the product (lstm_fused.c), on one
         * thread (lstm_kws's shape, both directions; one 16-unit panel) and split between
         * threads (lstm_team): lstm_kws's shape, both directions, batch-major, 3 threads on
         * 16 panels and on 3, odd and even S. */
        {.kind = LSTM, .dirs = 1, .S = 49, .B = 1, .I = 40, .H = 128, .bias = 1, .threads = 1, .want = {1, 1, 1}},
        {.kind = LSTM, .dirs = 2, .S = 9, .B = 1, .I = 12, .H = 48, .bias = 1, .h0 = 1, .c0 = 1, .threads = 1,
         .want = {1, 1, 1}},
        {.kind = LSTM, .dirs = 1, .S = 5, .B = 1, .I = 8, .H = 16, .bias = 1, .threads = 2, .want = {1, 1, 1}},
        {.kind = LSTM, .dirs = 1, .S = 6, .B = 1, .I = 8, .H = 48, .bias = 1, .c0 = 1, .threads = 3,
         .want = {1, 1, 1}},
        {.kind = LSTM, .dirs = 1, .S = 49, .B = 1, .I = 40, .H = 128, .bias = 1, .threads = 2, .want = {1, 1, 1}},
        {.kind = LSTM, .dirs = 2, .S = 8, .B = 1, .I = 24, .H = 128, .bias = 1, .h0 = 1, .c0 = 1, .threads = 2,
         .want = {1, 1, 1}},
        {.kind = LSTM, .dirs = 1, .reverse = 1, .layout = 1, .S = 6, .B = 1, .I = 16, .H = 256, .h0 = 1,
         .threads = 3, .want = {1, 1, 1}},
        {.kind = LSTM, .dirs = 1, .S = 7, .B = 1, .I = 16, .H = 256, .bias = 1, .c0 = 1, .threads = 4,
         .want = {0, 1, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char what[256];
        describe(&cases[i], what, sizeof what);
        cr_assert_eq(check_case(&cases[i]), EMBER_OK, "%s: declined", what);
    }
}

/* What the fast paths leave to the reference kernel. */
Test(host_rnn, declines_the_unusual)
{
    rnn_case base = {.kind = LSTM, .dirs = 1, .S = 5, .B = 2, .I = 8, .H = 8, .bias = 1, .h0 = 1, .c0 = 1,
                     .want = {1, 1, 1}};
    cr_assert_eq(check_case(&base), EMBER_OK);
    for (int t = 0; t < 8; t++) {
        rnn_case k = base;
        switch (t) {
        case 0: k.clip = 1; break;
        case 1: k.input_forget = 1; break;
        case 2: k.peep = 1; break;
        case 3: k.lens_vary = 1; break;
        case 4: k.lens_input = 1; break; /* not known at prepare */
        case 5: k.w_input = 1; break;
        case 6: k.odd_act = 1; break;
        case 7: k.kind = RNN, k.odd_act = 1, k.want[2] = 0; break;
        }
        char what[256];
        describe(&k, what, sizeof what);
        cr_expect_eq(check_case(&k), EMBER_E_UNSUPPORTED, "%s: trigger %d taken", what, t);
    }
    /* other dtypes */
    double xd[2 * 8 * 8] = {0};
    float w[4 * 8 * 8] = {0}, r[4 * 8 * 8] = {0};
    harness_in ins[3] = {{.dtype = EMBER_DT_DOUBLE, .rank = 3, .dims = {2, 8, 8}, .data = xd},
                         {.dtype = EMBER_DT_FLOAT, .rank = 3, .dims = {1, 32, 8}, .data = w, .is_const = 1},
                         {.dtype = EMBER_DT_FLOAT, .rank = 3, .dims = {1, 32, 8}, .data = r, .is_const = 1}};
    ember_node node = {.name = "n0", .op_type = "LSTM", .domain = "", .op = EMBER_OP_LSTM, .opset = 14, .n_inputs = 3};
    ember_op_tensor t[3], *pin[3];
    for (int i = 0; i < 3; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].dtype = ins[i].dtype, t[i].rank = 3, t[i].data = (void *)ins[i].data;
        memcpy(t[i].dims, ins[i].dims, sizeof t[i].dims);
        pin[i] = &t[i];
    }
    ember_op_tensor y = {.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {2, 1, 8, 8}}, *pout[1] = {&y};
    ember_op_ctx c = {.node = &node, .opset = 14, .running = true, .n_in = 3, .n_out = 1, .in = pin, .out = pout};
    void *state = NULL;
    cr_expect_eq(ember_host_openblas_lstm.prepare(&c, 1, &state), EMBER_E_UNSUPPORTED);
}

/* ---- lstm_kws through the cpu backend ---- */

#define LSTM_KWS EMBER_SHARED_DIR "/models/lstm_kws"

Test(host_rnn, lstm_kws_matches_reference_outputs)
{
    ember_model *m;
    ember_session *s;
    cr_assert_eq(ember_model_load(LSTM_KWS "/model.onnx", &m), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "cpu", &s), EMBER_OK, "%s", ember_last_error());
    ember_tensor in, ref, out;
    ut_load_pb(LSTM_KWS "/test_data_set_0/input_0.pb", &in);
    ut_load_pb(LSTM_KWS "/test_data_set_0/output_0.pb", &ref);
    cr_assert_eq(ember_session_set_profiling(s, 1), EMBER_OK);
    cr_assert_eq(ember_session_run(s, &in, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, ref.rank);
    cr_assert_eq(out.nbytes, ref.nbytes);
    const float *o = out.data, *r = ref.data;
    for (size_t i = 0; i < ref.nbytes / 4; i++)
        cr_assert(fabsf(o[i] - r[i]) <= ATOL + RTOL * fabsf(r[i]), "output %zu: %.8g vs reference %.8g", i, o[i],
                  r[i]);
    /* the LSTM ran on the fast path */
    char path[] = "/tmp/ember_test_host_rnn_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(ember_session_write_profile(s, path), EMBER_OK, "%s", ember_last_error());
    char *prof = ut_read_text(path);
    cr_expect_not_null(strstr(prof, "openblas_lstm"), "profile:\n%s", prof);
    free(prof);
    remove(path);
    ember_tensor_release(&out);
    ember_tensor_release(&in);
    ember_tensor_release(&ref);
    ember_session_free(s);
    ember_model_free(m);
}
