/* The cpu backend against the reference interpreter, symbolic shapes, profiling. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember.h"
#include "importers/onnx.h"
#include "test_util.h"

#define ZOO EMBER_SHARED_DIR "/models/"
#define SYM_MLP EMBER_SOURCE_DIR "/tests/data/sym_mlp.onnx"

/* Runs a zoo model on both backends from its reference inputs; outputs must agree within
 * the passes' tolerance (BN folding reassociates float math). */
static void cpu_matches_interp(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, ZOO "%s/model.onnx", name);
    ember_model *m;
    cr_assert_eq(ember_model_load(path, &m), EMBER_OK, "%s", ember_last_error());
    int ni = ember_model_num_inputs(m), no = ember_model_num_outputs(m);
    ember_tensor in[8], a[8], b[8];
    for (int i = 0; i < ni; i++) {
        ut_load_zoo_pb(name, "input", i, &in[i]);
    }
    ember_session *si, *sc;
    cr_assert_eq(ember_session_create(m, "interp", &si), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "cpu", &sc), EMBER_OK, "%s", ember_last_error());
    cr_assert_str_eq(ember_session_backend(sc), "cpu", "%s fell back: %s", name, ember_session_backend(sc));
    cr_assert_eq(ember_session_run(si, in, ni, a, no), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_run(sc, in, ni, b, no), EMBER_OK, "%s", ember_last_error());
    for (int o = 0; o < no; o++) {
        cr_assert_eq(a[o].nbytes, b[o].nbytes);
        cr_assert_eq(a[o].rank, b[o].rank);
        const float *x = a[o].data, *y = b[o].data;
        for (size_t k = 0; k < a[o].nbytes / 4; k++)
            cr_assert(fabsf(x[k] - y[k]) <= 1e-5f + 1e-4f * fabsf(x[k]), "%s output %d[%zu]: interp %g, cpu %g",
                      name, o, k, x[k], y[k]);
        ember_tensor_release(&a[o]);
        ember_tensor_release(&b[o]);
    }
    for (int i = 0; i < ni; i++) ember_tensor_release(&in[i]);
    ember_session_free(si);
    ember_session_free(sc);
    ember_model_free(m);
}

Test(session, cpu_matches_interp_resnet18, .timeout = 120) { cpu_matches_interp("resnet18"); }
Test(session, cpu_matches_interp_mobilenet_v2, .timeout = 120) { cpu_matches_interp("mobilenet_v2"); }
Test(session, cpu_matches_interp_squeezenet1_1, .timeout = 120) { cpu_matches_interp("squeezenet1_1"); }
Test(session, cpu_matches_interp_shufflenet, .timeout = 120) { cpu_matches_interp("shufflenet_v2_x1_0"); }
Test(session, cpu_matches_interp_bert_tiny_like, .timeout = 120) { cpu_matches_interp("bert_tiny_like"); }
Test(session, cpu_matches_interp_kws_dscnn) { cpu_matches_interp("kws_dscnn"); }
Test(session, cpu_matches_interp_cifar_resnet8) { cpu_matches_interp("cifar_resnet8"); }
Test(session, cpu_matches_interp_vww_mobilenet025) { cpu_matches_interp("vww_mobilenet025"); }
Test(session, cpu_matches_interp_ad_autoencoder) { cpu_matches_interp("ad_autoencoder"); }
Test(session, cpu_matches_interp_lstm_kws) { cpu_matches_interp("lstm_kws"); }

/* Y = Relu(X W + B) * 2, computed directly from the definition. */
static void sym_mlp_expected(const float *x, int batch, float *y)
{
    const float bias[3] = {0.1f, -0.2f, 0.3f};
    for (int r = 0; r < batch; r++)
        for (int j = 0; j < 3; j++) {
            float acc = 0;
            for (int k = 0; k < 4; k++) acc += x[r * 4 + k] * ((float)(k * 3 + j) / 10 - 0.5f);
            acc += bias[j];
            y[r * 3 + j] = (acc > 0 ? acc : 0) * 2;
        }
}

Test(session, symbolic_batch_compiles_per_shape)
{
    ember_model *m;
    ember_session *s;
    cr_assert_eq(ember_model_load(SYM_MLP, &m), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "cpu", &s), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_compile_ms(s), 0.0, "nothing to compile before the batch is known");
    const int batches[] = {2, 5, 1, 2};
    for (int t = 0; t < 4; t++) {
        int n = batches[t];
        float x[5 * 4], want[5 * 3];
        for (int i = 0; i < n * 4; i++) x[i] = (float)((i * 7 + t) % 11) / 5 - 1;
        sym_mlp_expected(x, n, want);
        ember_tensor in = {EMBER_DT_FLOAT, 2, {n, 4}, x, sizeof(float) * (size_t)n * 4}, out;
        cr_assert_eq(ember_session_run(s, &in, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
        cr_assert_eq(out.dims[0], n);
        cr_assert_eq(out.dims[1], 3);
        const float *y = out.data;
        for (int i = 0; i < n * 3; i++)
            cr_assert(fabsf(y[i] - want[i]) <= 1e-5f, "batch %d, element %d: %g vs %g", n, i, y[i], want[i]);
        ember_tensor_release(&out);
    }
    float x[8] = {0};
    ember_tensor bad = {EMBER_DT_FLOAT, 2, {2, 5}, x, sizeof x}, out;
    cr_assert_eq(ember_session_run(s, &bad, 1, &out, 1), EMBER_E_INVALID_ARG);
    ember_session_free(s);
    ember_model_free(m);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

Test(session, profiling_records_every_kernel)
{
    ember_model *m;
    ember_session *s;
    cr_assert_eq(ember_model_load(SYM_MLP, &m), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "cpu", &s), EMBER_OK, "%s", ember_last_error());
    float x[4] = {1, -2, 3, -4};
    ember_tensor in = {EMBER_DT_FLOAT, 2, {1, 4}, x, sizeof x}, out;
    cr_assert_eq(ember_session_write_trace(s, "/dev/null"), EMBER_E_INVALID_ARG, "no profile yet");
    cr_assert_eq(ember_session_run(s, &in, 1, &out, 1), EMBER_OK); /* not recorded */
    ember_tensor_release(&out);
    cr_assert_eq(ember_session_set_profiling(s, 1), EMBER_OK);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ember_session_run(s, &in, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
        ember_tensor_release(&out);
    }
    cr_assert_eq(ember_session_set_profiling(s, 0), EMBER_OK);
    cr_assert_eq(ember_session_run(s, &in, 1, &out, 1), EMBER_OK); /* not recorded */
    ember_tensor_release(&out);
    char path[] = "/tmp/ember_trace_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(ember_session_write_trace(s, path), EMBER_OK, "%s", ember_last_error());
    FILE *f = fopen(path, "r");
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    cr_assert(strstr(buf, "\"traceEvents\"") != NULL);
    /* After fusion or not, MatMul runs once per recorded run, under its ONNX node name. */
    cr_assert_eq(count(buf, "\"name\":\"matmul\""), 3, "%s", buf);
    int events = count(buf, "\"ph\":\"X\"");
    cr_assert(events >= 3 && events % 3 == 0, "%d events", events);
    ember_session_free(s);

    cr_assert_eq(ember_session_create(m, "interp", &s), EMBER_OK);
    cr_assert_eq(ember_session_set_profiling(s, 1), EMBER_E_UNSUPPORTED);
    ember_session_free(s);
    ember_model_free(m);
}
