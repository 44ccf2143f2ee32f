/* Optimization passes on the model zoo: each pass alone, then the whole optimizer, must
 * leave the graph's outputs equal to the unoptimized graph's on the interpreter
 * (test_data_set_0 inputs), within rtol 1e-4 / atol 1e-5 (BN folding reassociates
 * float math; every other pass is exact), and must change the graph as expected.
 * Also home of the run-and-compare helpers test_passes.c uses. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph_edit.h"
#include "engine/interp.h"
#include "engine/model.h"
#include "engine/passes.h"
#include "importers/onnx.h"
#include "test_util.h"
#include "passes_check.h"

#define MODELS EMBER_SHARED_DIR "/models/"
#define RTOL 1e-4
#define ATOL 1e-5

/* ---- helpers shared with test_passes.c and test_attention.c (passes_check.h) ---- */

int passes_count_op(const ember_graph *g, int op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) c += g->nodes[i].op == op;
    return c;
}

/* Runs g on the interpreter; asserts success. */
void passes_run(const ember_graph *g, ember_op_tensor *const *in, int n_in, passes_outs *out)
{
    cr_assert_leq(g->n_outputs, 16);
    memset(out, 0, sizeof *out);
    out->n = g->n_outputs;
    cr_assert_eq(ember_interp_run(g, NULL, in, n_in, out->t, out->n), EMBER_OK, "%s", ember_last_error());
}

void passes_outs_free(passes_outs *o)
{
    for (int i = 0; i < o->n; i++) free(o->t[i].data);
    o->n = 0;
}

/* Same dtypes and shapes; floats within RTOL/ATOL (NaN matches NaN), everything else
 * bit-equal. False with a message in msg when they differ. */
static bool outs_match(const passes_outs *ref, const passes_outs *got, char *msg, size_t len)
{
    if (ref->n != got->n) return snprintf(msg, len, "output count %d vs %d", ref->n, got->n), false;
    for (int o = 0; o < ref->n; o++) {
        const ember_op_tensor *r = &ref->t[o], *g = &got->t[o];
        if (r->dtype != g->dtype || r->rank != g->rank ||
            memcmp(r->dims, g->dims, sizeof(int64_t) * (size_t)(r->rank > 0 ? r->rank : 0)) != 0)
            return snprintf(msg, len, "output %d: dtype or shape differs", o), false;
        int64_t n = ember_op_numel(r);
        if (r->dtype != EMBER_DT_FLOAT) {
            if (n > 0 && memcmp(r->data, g->data, (size_t)n * ember_dtype_size(r->dtype)) != 0)
                return snprintf(msg, len, "output %d: values differ", o), false;
            continue;
        }
        const float *a = r->data, *b = g->data;
        for (int64_t i = 0; i < n; i++) {
            if (a[i] == b[i] || (isnan(a[i]) && isnan(b[i]))) continue;
            if (!(fabs((double)a[i] - b[i]) <= ATOL + RTOL * fabs((double)a[i])))
                return snprintf(msg, len, "output %d element %lld: %.9g vs %.9g (rtol %g atol %g)", o,
                                (long long)i, a[i], b[i], RTOL, ATOL),
                       false;
        }
    }
    return true;
}

void passes_compare(const passes_outs *ref, const passes_outs *got, const char *what)
{
    char msg[256];
    cr_assert(outs_match(ref, got, msg, sizeof msg), "%s: %s", what, msg);
}

/* Output names, order, dtypes and (known) shapes are the graph's interface. */
void passes_check_interface(const ember_graph *before, const ember_graph *after)
{
    cr_assert_eq(before->n_inputs, after->n_inputs);
    cr_assert_eq(before->n_outputs, after->n_outputs);
    for (int i = 0; i < before->n_outputs; i++) {
        const ember_value *a = &before->values[before->outputs[i]], *b = &after->values[after->outputs[i]];
        cr_assert_str_eq(a->name, b->name);
        cr_assert_eq(a->dtype, b->dtype, "output '%s' dtype", a->name);
        if (a->shape.rank >= 0) cr_assert_eq(a->shape.rank, b->shape.rank, "output '%s' rank", a->name);
    }
    for (int i = 0; i < before->n_inputs; i++)
        cr_assert_str_eq(before->values[before->inputs[i]].name, after->values[after->inputs[i]].name);
}

/* ---- the zoo ---- */

typedef struct feed {
    ember_tensor t[16];
    ember_op_tensor ot[16];
    ember_op_tensor *p[16];
    int n;
} feed;

/* Reads <dir>/input_N.pb for N = 0, 1, ... */
static bool load_feed(const char *dir, feed *fd)
{
    memset(fd, 0, sizeof *fd);
    for (;; fd->n++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/input_%d.pb", dir, fd->n);
        size_t size;
        void *buf = ut_slurp(path, &size);
        if (!buf) break;
        ember_tensor *t = &fd->t[fd->n];
        bool ok = fd->n < 16 && ember_onnx_read_tensor(buf, size, t, NULL) == EMBER_OK;
        free(buf);
        if (!ok) return false;
        ember_op_tensor *o = &fd->ot[fd->n];
        memset(o, 0, sizeof *o);
        o->dtype = t->dtype;
        o->rank = t->rank;
        memcpy(o->dims, t->dims, sizeof o->dims);
        for (int k = 0; k < EMBER_MAX_RANK; k++) o->syms[k] = -1;
        o->data = t->data;
        o->nbytes = t->nbytes;
        fd->p[fd->n] = o;
    }
    return true;
}

static void free_feed(feed *fd)
{
    for (int i = 0; i < fd->n; i++) ember_tensor_release(&fd->t[i]);
}

static bool reshape_like(int op)
{
    return op == EMBER_OP_RESHAPE || op == EMBER_OP_SQUEEZE || op == EMBER_OP_UNSQUEEZE || op == EMBER_OP_FLATTEN;
}

/* No Transpose feeds a Transpose, and no statically shaped reshape-like node feeds
 * another. */
static void check_no_chains(const ember_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ember_node *n = &g->nodes[i];
        int p = n->n_inputs ? g->values[n->inputs[0]].producer : -1;
        if (p < 0) continue;
        if (n->op == EMBER_OP_TRANSPOSE)
            cr_expect_neq(g->nodes[p].op, EMBER_OP_TRANSPOSE, "transposes '%s' -> '%s' left", g->nodes[p].name, n->name);
        if (reshape_like(n->op) && reshape_like(g->nodes[p].op) &&
            ember_shape_is_static(&g->values[n->outputs[0]].shape) &&
            ember_shape_is_static(&g->values[g->nodes[p].inputs[0]].shape))
            cr_expect(0, "reshapes '%s' -> '%s' left", g->nodes[p].name, n->name);
    }
}

static const char *models[] = {"resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x1_0",
                               "bert_tiny_like", "kws_dscnn", "cifar_resnet8", "vww_mobilenet025",
                               "ad_autoencoder", "lstm_kws"};

/* Each pass alone on a fresh copy, then the full optimizer. */
static void check_model(const char *name)
{
    feed fd;
    char dir[512];
    snprintf(dir, sizeof dir, MODELS "%s/test_data_set_0", name);
    cr_assert(load_feed(dir, &fd) && fd.n > 0, "%s: cannot read the inputs", name);
    ember_model *base = ut_load_zoo(name);
    passes_outs ref;
    passes_run(base->graph, fd.p, fd.n, &ref);
    static ember_status (*const fns[])(ember_graph *, ember_pass_stats *) = {
#define X(e, n, fn) fn,
        EMBER_PASSES(X)
#undef X
    };
    for (int p = 0; p < EMBER_PASS_COUNT; p++) {
        ember_model *m = ut_load_zoo(name);
        ember_graph *g = m->graph;
        int before = g->n_nodes, ids = passes_count_op(g, EMBER_OP_IDENTITY);
        ember_pass_stats st = {0, 0};
        cr_assert_eq(fns[p](g, &st), EMBER_OK, "%s: %s", ember_pass_name(p), ember_last_error());
        cr_assert_eq(ember_graph_infer(g), EMBER_OK, "%s", ember_last_error());
        cr_assert_eq(g->n_nodes, before - st.removed, "%s: %s", name, ember_pass_name(p));
        if (p == EMBER_PASS_IDENTITY) cr_expect_eq(st.removed, ids);
        if (p == EMBER_PASS_IDENTITY || p == EMBER_PASS_FOLD)
            cr_expect_eq(passes_count_op(g, EMBER_OP_IDENTITY), 0, "%s", name);
        if (p == EMBER_PASS_FOLD) cr_expect_eq(passes_count_op(g, EMBER_OP_CONSTANT), 0, "%s", name);
        if (p == EMBER_PASS_RESHAPE) check_no_chains(g);
        /* A second application finds nothing: each pass reaches its own fixed point. */
        ember_pass_stats again = {0, 0};
        if (p != EMBER_PASS_BN_FOLD) {
            cr_assert_eq(fns[p](g, &again), EMBER_OK);
            cr_expect_eq(again.removed, 0, "%s: %s not idempotent", name, ember_pass_name(p));
        }
        passes_check_interface(base->graph, g);
        passes_outs got;
        char what[128];
        snprintf(what, sizeof what, "%s after %s", name, ember_pass_name(p));
        passes_run(g, fd.p, fd.n, &got);
        passes_compare(&ref, &got, what);
        passes_outs_free(&got);
        ember_model_free(m);
    }
    ember_model *m = ut_load_zoo(name);
    ember_optimize_report r;
    cr_assert_eq(ember_graph_optimize(m->graph, &r), EMBER_OK, "%s: %s", name, ember_last_error());
    const ember_graph *g = m->graph;
    cr_assert_eq(r.nodes_after, g->n_nodes);
    cr_assert_leq(r.rounds, EMBER_OPTIMIZE_MAX_ROUNDS);
    fprintf(stderr, "%-20s %5d nodes -> %5d (%d rounds)\n", name, r.nodes_before, r.nodes_after, r.rounds);
    for (int op = 0; op < EMBER_OP_COUNT; op++) {
        if (op == EMBER_OP_IDENTITY || op == EMBER_OP_CONSTANT || op == EMBER_OP_DROPOUT || op == EMBER_OP_SHAPE)
            cr_expect_eq(passes_count_op(g, op), 0, "%s: %s left", name, ember_op_table[op].name);
    }
    cr_expect_eq(passes_count_op(g, EMBER_OP_BATCH_NORMALIZATION), 0, "%s: BN left", name);
    check_no_chains(g);
    passes_check_interface(base->graph, g);
    passes_outs got;
    passes_run(g, fd.p, fd.n, &got);
    passes_compare(&ref, &got, name);
    /* Optimizing an optimized graph changes nothing. */
    cr_assert_eq(ember_graph_optimize(m->graph, &r), EMBER_OK);
    cr_expect_eq(r.nodes_after, r.nodes_before, "%s: second optimize removed nodes", name);
    passes_outs_free(&got);
    passes_outs_free(&ref);
    ember_model_free(m);
    ember_model_free(base);
    free_feed(&fd);
}

#define MODEL_TEST(id, idx) \
    Test(passes_models, id, .timeout = 600) { check_model(models[idx]); }
MODEL_TEST(resnet18, 0)
MODEL_TEST(mobilenet_v2, 1)
MODEL_TEST(squeezenet1_1, 2)
MODEL_TEST(shufflenet_v2_x1_0, 3)
MODEL_TEST(bert_tiny_like, 4)
MODEL_TEST(kws_dscnn, 5)
MODEL_TEST(cifar_resnet8, 6)
MODEL_TEST(vww_mobilenet025, 7)
MODEL_TEST(ad_autoencoder, 8)
MODEL_TEST(lstm_kws, 9)

/* The expected effect on models with something to remove. */
static ember_graph *optimized(const char *name, ember_model **m, ember_optimize_report *r)
{
    *m = ut_load_zoo(name);
    cr_assert_eq(ember_graph_optimize((*m)->graph, r), EMBER_OK, "%s", ember_last_error());
    return (*m)->graph;
}

Test(passes_models, shufflenet_shape_chains_fold)
{
    ember_model *m0 = ut_load_zoo("shufflenet_v2_x1_0"), *m;
    int shapes = passes_count_op(m0->graph, EMBER_OP_SHAPE);
    cr_assert_gt(shapes, 0);
    ember_optimize_report r;
    ember_graph *g = optimized("shufflenet_v2_x1_0", &m, &r);
    cr_expect_eq(passes_count_op(g, EMBER_OP_SHAPE), 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_GATHER), 0);
    /* Every Reshape now has a constant target shape. */
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == EMBER_OP_RESHAPE)
            cr_expect(ember_value_is_const(g, g->nodes[i].inputs[1]), "reshape '%s'", g->nodes[i].name);
    ember_model_free(m);
    ember_model_free(m0);
}

Test(passes_models, ad_autoencoder_bn_folds_into_gemm)
{
    ember_model *m0 = ut_load_zoo("ad_autoencoder"), *m;
    cr_assert_gt(passes_count_op(m0->graph, EMBER_OP_BATCH_NORMALIZATION), 0);
    ember_optimize_report r;
    ember_graph *g = optimized("ad_autoencoder", &m, &r);
    cr_expect_eq(passes_count_op(g, EMBER_OP_BATCH_NORMALIZATION), 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_GEMM), passes_count_op(m0->graph, EMBER_OP_GEMM));
    cr_expect_eq(r.pass[EMBER_PASS_BN_FOLD].removed, passes_count_op(m0->graph, EMBER_OP_BATCH_NORMALIZATION));
    ember_model_free(m);
    ember_model_free(m0);
}

Test(passes_models, graph_print_lists_every_node)
{
    ember_model *m;
    ember_optimize_report r;
    ember_graph *g = optimized("kws_dscnn", &m, &r);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ember_graph_print(g, f);
    ember_optimize_report_print(&r, f);
    fclose(f);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    cr_expect_eq(lines, g->n_nodes + 1 + EMBER_PASS_COUNT, "%s", buf);
    cr_expect(strstr(buf, "(Conv): ") != NULL, "%s", buf);
    cr_expect(strstr(buf, "float32[1,") != NULL, "%s", buf);
    cr_expect(strstr(buf, "constant-folding") != NULL, "%s", buf);
    free(buf);
    ember_model_free(m);
}

/* ---- every conformance model the interpreter passes, optimized ---- */

#ifndef EMBER_ONNX_TESTDATA
#define EMBER_ONNX_TESTDATA "/usr/share/libonnx-testdata/data"
#endif

/* Optimizes one backend-test model and compares with the unoptimized run. Returns 1
 * when checked, 0 when the model or its data is out of scope, -1 on a mismatch. */
static int check_conformance_model(const char *dir, char *msg, size_t len)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    ember_model *ref_m, *m;
    if (ember_model_load(path, &ref_m) != EMBER_OK) return 0;
    if (ember_model_load(path, &m) != EMBER_OK) {
        ember_model_free(ref_m);
        return 0;
    }
    feed fd;
    passes_outs ref = {0}, got = {0};
    int rc = 0;
    snprintf(path, sizeof path, "%s/test_data_set_0", dir);
    if (!load_feed(path, &fd) || fd.n != ref_m->graph->n_inputs || ref_m->graph->n_outputs > 16) goto done;
    ref.n = got.n = ref_m->graph->n_outputs;
    if (ember_interp_run(ref_m->graph, NULL, fd.p, fd.n, ref.t, ref.n) != EMBER_OK) {
        ref.n = got.n = 0;
        goto done;
    }
    rc = -1;
    ember_optimize_report r;
    if (ember_graph_optimize(m->graph, &r) != EMBER_OK) {
        snprintf(msg, len, "optimize: %s", ember_last_error());
        got.n = 0;
        goto done;
    }
    if (ember_interp_run(m->graph, NULL, fd.p, fd.n, got.t, got.n) != EMBER_OK) {
        snprintf(msg, len, "run after optimize: %s", ember_last_error());
        got.n = 0;
        goto done;
    }
    rc = outs_match(&ref, &got, msg, len) ? 1 : -1;
done:
    passes_outs_free(&ref);
    passes_outs_free(&got);
    free_feed(&fd);
    ember_model_free(ref_m);
    ember_model_free(m);
    return rc;
}

Test(passes_models, conformance_models_unchanged_by_optimizer, .timeout = 900)
{
    static const char *suites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
    int checked = 0, failed = 0;
    for (size_t s = 0; s < sizeof suites / sizeof *suites; s++) {
        char path[1024];
        snprintf(path, sizeof path, EMBER_SOURCE_DIR "/tests/conformance/%s.expect", suites[s]);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char line[256];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = 0;
            if (!line[0] || line[0] == '#') continue;
            char dir[1024], msg[512] = "";
            snprintf(dir, sizeof dir, EMBER_ONNX_TESTDATA "/%s/%s", suites[s], line);
            int rc = check_conformance_model(dir, msg, sizeof msg);
            checked += rc != 0;
            if (rc < 0) {
                failed++;
                cr_log_error("%s/%s: %s", suites[s], line, msg);
            }
        }
        fclose(f);
    }
    /* The test data is a declared dependency (scripts/install-deps.sh): missing is a failure. */
    cr_assert_gt(checked, 0, "no ONNX backend test data under " EMBER_ONNX_TESTDATA);
    cr_expect_eq(failed, 0, "%d of %d conformance models changed results when optimized", failed, checked);
    fprintf(stderr, "conformance models optimized and checked: %d\n", checked);
}

/* bert_tiny_like spells LayerNorm and GELU out (opset 14): each LayerNorm becomes one node,
 * both GELUs fuse into their Gemm, and every MatMul with a bias is a Gemm. */
Test(passes_models, bert_layernorm_gelu_recognized)
{
    ember_model *m;
    ember_optimize_report r;
    ember_graph *g = optimized("bert_tiny_like", &m, &r);
    cr_expect_eq(passes_count_op(g, EMBER_OP_LAYER_NORMALIZATION), 5);
    cr_expect_eq(passes_count_op(g, EMBER_OP_REDUCE_MEAN) + passes_count_op(g, EMBER_OP_POW) +
                     passes_count_op(g, EMBER_OP_SQRT) + passes_count_op(g, EMBER_OP_ERF),
                 0);
    int gelu = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const char *a = ember_attr_string(&g->nodes[i], "ember_activation", "");
        gelu += g->nodes[i].op == EMBER_OP_GEMM && strcmp(a, "Gelu") == 0;
    }
    cr_expect_eq(gelu, 2);
    cr_expect_eq(passes_count_op(g, EMBER_OP_GEMM), 13); /* 12 projections + the pooler */
    ember_model_free(m);
}
