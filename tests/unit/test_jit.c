/* The JIT (jit/, ops/lower/): programs compiled to one native function must give the
 * interpreter's outputs within rtol 1e-4 / atol 1e-5 — the zoo models that lower fully,
 * and a small hand-built graph per lowered op. Built with LLVM (EMBER_LLVM, the default);
 * the JIT is opt-in at run time, so every test here sets EMBER_JIT=1. */
#ifdef EMBER_JIT
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember.h"
#include "ember_onnx.pb-c.h"
#include "engine/program.h"
#include "importers/onnx.h"
#include "jit/jit.h"
#include "onnx_build.h"
#include "test_util.h"

#define RTOL 1e-4
#define ATOL 1e-5

/* ---- a tiny ONNX builder; everything it allocates is freed by pool_free ---- */

#define CAP 32
#define DT_FLOAT 1 /* TensorProto.DataType */
#define DT_INT64 7

static uint32_t rng = 12345;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* A graph input [dims] named `name`. */
static void input(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims)
{
    g->input[g->n_input++] = vi_float(name, rank, dims);
}

static void init_raw(Onnx__GraphProto *g, const char *name, int dt, int rank, const int64_t *dims,
                     const void *raw, size_t nraw)
{
    Onnx__TensorProto *t = P(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = S(name);
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = (size_t)rank;
    t->dims = P(sizeof(int64_t) * (size_t)(rank + 1));
    if (rank) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    t->has_raw_data = 1;
    t->raw_data.len = nraw;
    t->raw_data.data = memcpy(P(nraw), raw, nraw);
    g->initializer[g->n_initializer++] = t;
}

/* A float initializer of random values. */
static void weight(Onnx__GraphProto *g, const char *name, int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *d = P(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = frand();
    init_raw(g, name, DT_FLOAT, rank, dims, d, sizeof(float) * (size_t)n);
}

static void ints_init(Onnx__GraphProto *g, const char *name, int n, const int64_t *v)
{
    int64_t d = n;
    init_raw(g, name, DT_INT64, 1, &d, v, sizeof(int64_t) * (size_t)n);
}

static void float_init(Onnx__GraphProto *g, const char *name, float v)
{
    init_raw(g, name, DT_FLOAT, 0, NULL, &v, sizeof v);
}

static void attr_i(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static void attr_f(Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

static void attr_ints(Onnx__NodeProto *n, const char *name, int k, const int64_t *v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)k;
    a->ints = memcpy(P(sizeof(int64_t) * (size_t)k), v, sizeof(int64_t) * (size_t)k);
}

static void output(Onnx__GraphProto *g, const char *name) { g->output[g->n_output++] = vi_float(name, -1, NULL); }

/* ---- running and comparing ---- */

static void random_inputs(const ember_model *m, ember_tensor *in, int *n)
{
    *n = ember_model_num_inputs(m);
    cr_assert_leq(*n, 8);
    for (int i = 0; i < *n; i++) {
        ember_io_info info;
        cr_assert_eq(ember_model_input_info(m, i, &info), EMBER_OK);
        cr_assert_eq(info.dtype, EMBER_DT_FLOAT);
        memset(&in[i], 0, sizeof in[i]);
        in[i].dtype = info.dtype;
        in[i].rank = info.rank;
        int64_t k = 1;
        for (int d = 0; d < info.rank; d++) k *= (in[i].dims[d] = info.dims[d] > 0 ? info.dims[d] : 1);
        in[i].nbytes = (size_t)k * sizeof(float);
        float *x = malloc(in[i].nbytes ? in[i].nbytes : 1);
        for (int64_t e = 0; e < k; e++) x[e] = 2.0f * frand();
        in[i].data = x;
    }
}

/* Builds m's program with the JIT (it must compile fully), runs it and the interpreter on
 * the same inputs, compares. */
static void jit_matches_interp(ember_model *m, const char *what)
{
    ember_tensor in[8], ref[8], got[8];
    int ni, no = ember_model_num_outputs(m);
    cr_assert_leq(no, 8);
    random_inputs(m, in, &ni);
    ember_program *p;
    cr_assert_eq(ember_program_build(m, in, ni, NULL, &p), EMBER_OK, "%s: %s", what, ember_last_error());
    const uint8_t *consts;
    cr_assert_not_null(ember_jit_entry(p, &consts), "%s: not JIT-compiled: %s", what, ember_jit_why());
    void *arena = aligned_alloc(64, p->arena_bytes ? (p->arena_bytes + 63) & ~(size_t)63 : 64);
    cr_assert_eq(ember_program_run(p, arena, in, ni, got, no, NULL), EMBER_OK, "%s: %s", what, ember_last_error());
    ember_session *si;
    cr_assert_eq(ember_session_create(m, "interp", &si), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_run(si, in, ni, ref, no), EMBER_OK, "%s: %s", what, ember_last_error());
    for (int o = 0; o < no; o++) {
        cr_assert_eq(ref[o].nbytes, got[o].nbytes, "%s output %d: %zu vs %zu bytes", what, o, ref[o].nbytes,
                     got[o].nbytes);
        cr_assert_eq(ref[o].rank, got[o].rank);
        const float *x = ref[o].data, *y = got[o].data;
        for (size_t k = 0; k < ref[o].nbytes / 4; k++)
            cr_assert(x[k] == y[k] || fabs((double)x[k] - y[k]) <= ATOL + RTOL * fabs((double)x[k]),
                      "%s output %d[%zu]: interp %.9g, jit %.9g", what, o, k, x[k], y[k]);
        ember_tensor_release(&ref[o]);
        ember_tensor_release(&got[o]);
    }
    for (int i = 0; i < ni; i++) ember_tensor_release(&in[i]);
    ember_session_free(si);
    free(arena);
    ember_program_free(p);
    ember_model_free(m);
}

/* The JIT is opt-in (EMBER_JIT=1); every test here wants it. */
static void jit_on(void) { setenv("EMBER_JIT", "1", 1); }
TestSuite(jit, .init = jit_on);

/* ---- the zoo ---- */

Test(jit, zoo_kws_dscnn) { jit_matches_interp(ut_load_zoo("kws_dscnn"), "kws_dscnn"); }
Test(jit, zoo_cifar_resnet8) { jit_matches_interp(ut_load_zoo("cifar_resnet8"), "cifar_resnet8"); }
Test(jit, zoo_vww_mobilenet025) { jit_matches_interp(ut_load_zoo("vww_mobilenet025"), "vww_mobilenet025"); }
Test(jit, zoo_ad_autoencoder) { jit_matches_interp(ut_load_zoo("ad_autoencoder"), "ad_autoencoder"); }

/* Without EMBER_JIT=1 (unset or 0) the executor runs; an op without a lowering keeps it
 * too, and says which. */
Test(jit, env_off_and_unlowered_op)
{
    ember_program *p;
    const uint8_t *consts;
    ember_model *m = ut_load_zoo("kws_dscnn");
    const char *off[2] = {"0", NULL};
    for (int k = 0; k < 2; k++) {
        if (off[k]) setenv("EMBER_JIT", off[k], 1);
        else unsetenv("EMBER_JIT");
        cr_assert_eq(ember_program_build(m, NULL, 0, NULL, &p), EMBER_OK, "%s", ember_last_error());
        cr_assert_null(ember_jit_entry(p, &consts));
        ember_program_free(p);
    }
    ember_model_free(m);
    setenv("EMBER_JIT", "1", 1);

    Onnx__GraphProto *g = graph_new("jit_test", CAP);
    int64_t d[2] = {4, 6};
    input(g, "x", 2, d);
    node_csv(g, "CumSum", "x,ax", "y");
    int64_t ax = 1;
    init_raw(g, "ax", DT_INT64, 0, NULL, &ax, sizeof ax);
    output(g, "y");
    m = model_built_load(g, 14);
    cr_assert_eq(ember_program_build(m, NULL, 0, NULL, &p), EMBER_OK, "%s", ember_last_error());
    cr_assert_null(ember_jit_entry(p, &consts));
    cr_assert(strstr(ember_jit_why(), "CumSum"), "why: %s", ember_jit_why());
    ember_program_free(p);
    ember_model_free(m);
}

/* ---- one graph per lowered op ---- */

static ember_model *unary_model(const char *op, int opset)
{
    Onnx__GraphProto *g = graph_new("jit_test", CAP);
    int64_t d[4] = {2, 3, 5, 7};
    input(g, "x", 4, d);
    Onnx__NodeProto *n = node_csv(g, op, "x", "y");
    if (strcmp(op, "LeakyRelu") == 0 || strcmp(op, "Elu") == 0) attr_f(n, "alpha", 0.3f);
    if (strcmp(op, "HardSigmoid") == 0) attr_f(n, "alpha", 0.25f), attr_f(n, "beta", 0.4f);
    output(g, "y");
    return model_built_load(g, opset);
}

Test(jit, unary_ops)
{
    const char *ops[] = {"Relu", "Sigmoid", "Tanh", "Exp", "Abs", "Neg", "Floor", "Ceil", "LeakyRelu",
                         "Elu", "HardSigmoid", "HardSwish", "Softplus", "Erf", "Sin", "Sign"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) jit_matches_interp(unary_model(ops[i], 14), ops[i]);
}

Test(jit, clip)
{
    Onnx__GraphProto *g = graph_new("jit_test", CAP);
    int64_t d[2] = {6, 9};
    input(g, "x", 2, d);
    float_init(g, "lo", -0.5f);
    float_init(g, "hi", 0.75f);
    node_csv(g, "Clip", "x,lo,hi", "y");
    output(g, "y");
    jit_matches_interp(model_built_load(g, 13), "Clip(13)");
    g = graph_new("jit_test", CAP);
    input(g, "x", 2, d);
    Onnx__NodeProto *n = node_csv(g, "Clip", "x", "y");
    attr_f(n, "min", -0.25f);
    attr_f(n, "max", 0.5f);
    output(g, "y");
    jit_matches_interp(model_built_load(g, 6), "Clip(6)");
}

static ember_model *binary_model(const char *op, int ra, const int64_t *da, int rb, const int64_t *db, int b_const)
{
    Onnx__GraphProto *g = graph_new("jit_test", CAP);
    input(g, "a", ra, da);
    if (b_const) weight(g, "b", rb, db);
    else input(g, "b", rb, db);
    node_csv(g, op, "a,b", "y");
    output(g, "y");
    return model_built_load(g, 14);
}

Test(jit, binary_ops)
{
    const char *ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
    int64_t a[4] = {2, 3, 4, 5}, same[4] = {2, 3, 4, 5}, row[1] = {5}, mid[4] = {1, 3, 1, 5}, col[3] = {3, 4, 1};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        jit_matches_interp(binary_model(ops[i], 4, a, 4, same, 0), ops[i]);
        jit_matches_interp(binary_model(ops[i], 4, a, 1, row, 1), ops[i]);
        jit_matches_interp(binary_model(ops[i], 4, a, 4, mid, 0), ops[i]);
        jit_matches_interp(binary_model(ops[i], 4, a, 3, col, 1), ops[i]);
    }
}

/* Conv [1, C, H, W] with weights [M, C/G, k, k]; act: an activation node after it (fused
 * by the optimizer) or NULL. */
static ember_model *conv_model(int64_t C, int64_t M, int64_t G, int64_t k, int64_t s, int64_t pad, int bias,
                               const char *act)
{
    Onnx__GraphProto *g = graph_new("jit_test", CAP);
    int64_t x[4] = {2, C, 11, 9}, w[4] = {M, C / G, k, k}, b[1] = {M};
    input(g, "x", 4, x);
    weight(g, "w", 4, w);
    if (bias) weight(g, "b", 1, b);
    Onnx__NodeProto *n = node_csv(g, "Conv", bias ? "x,w,b" : "x,w", act ? "c" : "y");
    int64_t ks[2] = {k, k}, st[2] = {s, s}, pads[4] = {pad, pad, pad, pad};
    attr_ints(n, "kernel_shape", 2, ks);
    attr_ints(n, "strides", 2, st);
    attr_ints(n, "pads", 4, pads);
    attr_i(n, "group", G);
    if (act) node_csv(g, act, "c", "y");
    output(g, "y");
    return model_built_load(g, 13);
}

Test(jit, conv)
{
    jit_matches_interp(conv_model(3, 8, 1, 3, 1, 1, 1, NULL), "conv 3x3");
    jit_matches_interp(conv_model(4, 6, 1, 3, 2, 0, 0, NULL), "conv 3x3 s2 no bias");
    jit_matches_interp(conv_model(4, 6, 2, 3, 1, 1, 1, "Relu"), "grouped conv + relu");
    jit_matches_interp(conv_model(6, 6, 6, 3, 1, 1, 1, "Relu"), "depthwise + relu");
    jit_matches_interp(conv_model(4, 8, 4, 3, 2, 1, 0, NULL), "depthwise x2 s2");
    jit_matches_interp(conv_model(5, 7, 1, 1, 1, 0, 1, "Sigmoid"), "pointwise + sigmoid");
}

/* Conv + Add(residual) + Relu: the fusion pass may fold the Add into the Conv as a
 * residual input ("ember_sum_input"). */
Test(jit, conv_residual)
{
    for (int dw = 0; dw < 2; dw++) {
        Onnx__GraphProto *g = graph_new("jit_test", CAP);
        int64_t x[4] = {2, 4, 8, 8}, w[4] = {4, dw ? 1 : 4, 3, 3}, b[1] = {4};
        input(g, "x", 4, x);
        input(g, "r", 4, x);
        weight(g, "w", 4, w);
        weight(g, "b", 1, b);
        Onnx__NodeProto *n = node_csv(g, "Conv", "x,w,b", "c");
        int64_t ks[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
        attr_ints(n, "kernel_shape", 2, ks);
        attr_ints(n, "pads", 4, pads);
        attr_i(n, "group", dw ? 4 : 1);
        node_csv(g, "Add", "c,r", "s");
        node_csv(g, "Relu", "s", "y");
        output(g, "y");
        jit_matches_interp(model_built_load(g, 13), dw ? "depthwise conv + residual + relu" : "conv + residual + relu");
    }
}

Test(jit, gemm_matmul)
{
    Onnx__GraphProto *g = graph_new("jit_test", CAP);
    int64_t a[2] = {5, 7}, b[2] = {4, 7}, c[1] = {4};
    input(g, "a", 2, a);
    weight(g, "b", 2, b);
    weight(g, "c", 1, c);
    Onnx__NodeProto *n = node_csv(g, "Gemm", "a,b,c", "y");
    attr_i(n, "transB", 1);
    attr_f(n, "alpha", 0.5f);
    attr_f(n, "beta", 2.0f);
    output(g, "y");
    jit_matches_interp(model_built_load(g, 13), "Gemm transB");

    g = graph_new("jit_test", CAP);
    int64_t a2[2] = {7, 5}, b2[2] = {7, 3}, c2[2] = {5, 1};
    input(g, "a", 2, a2);
    input(g, "b", 2, b2);
    weight(g, "c", 2, c2);
    n = node_csv(g, "Gemm", "a,b,c", "g");
    attr_i(n, "transA", 1);
    node_csv(g, "Relu", "g", "y");
    output(g, "y");
    jit_matches_interp(model_built_load(g, 13), "Gemm transA + relu");

    g = graph_new("jit_test", CAP);
    int64_t ma[3] = {2, 3, 4}, mb[2] = {4, 5};
    input(g, "a", 3, ma);
    weight(g, "b", 2, mb);
    node_csv(g, "MatMul", "a,b", "y");
    output(g, "y");
    jit_matches_interp(model_built_load(g, 13), "MatMul folded batch");

    g = graph_new("jit_test", CAP);
    int64_t ba[3] = {2, 3, 4}, bb[3] = {2, 4, 5};
    input(g, "a", 3, ba);
    input(g, "b", 3, bb);
    node_csv(g, "MatMul", "a,b", "y");
    output(g, "y");
    jit_matches_interp(model_built_load(g, 13), "MatMul batched");
}

static ember_model *pool_model(const char *op, int64_t k, int64_t s, int64_t pad, int cip)
{
    Onnx__GraphProto *g = graph_new("jit_test", CAP);
    int64_t x[4] = {2, 3, 10, 9};
    input(g, "x", 4, x);
    Onnx__NodeProto *n = node_csv(g, op, "x", "y");
    if (k) {
        int64_t ks[2] = {k, k}, st[2] = {s, s}, pads[4] = {pad, pad, pad, pad};
        attr_ints(n, "kernel_shape", 2, ks);
        attr_ints(n, "strides", 2, st);
        attr_ints(n, "pads", 4, pads);
        if (cip) attr_i(n, "count_include_pad", 1);
    }
    output(g, "y");
    return model_built_load(g, 13);
}

Test(jit, pools)
{
    jit_matches_interp(pool_model("MaxPool", 3, 2, 1, 0), "MaxPool");
    jit_matches_interp(pool_model("AveragePool", 3, 2, 1, 0), "AveragePool");
    jit_matches_interp(pool_model("AveragePool", 2, 1, 1, 1), "AveragePool count_include_pad");
    jit_matches_interp(pool_model("GlobalAveragePool", 0, 0, 0, 0), "GlobalAveragePool");
    jit_matches_interp(pool_model("GlobalMaxPool", 0, 0, 0, 0), "GlobalMaxPool");
}

Test(jit, softmax)
{
    const char *ops[] = {"Softmax", "LogSoftmax"};
    for (int i = 0; i < 2; i++)
        for (int64_t axis = -1; axis <= 1; axis++) {
            Onnx__GraphProto *g = graph_new("jit_test", CAP);
            int64_t x[3] = {3, 4, 6};
            input(g, "x", 3, x);
            attr_i(node_csv(g, ops[i], "x", "y"), "axis", axis);
            output(g, "y");
            jit_matches_interp(model_built_load(g, 13), ops[i]);
        }
}

Test(jit, reshapes_transpose_concat)
{
    Onnx__GraphProto *g = graph_new("jit_test", CAP);
    int64_t x[4] = {2, 3, 4, 5}, shape[2] = {6, 20}, axes[1] = {1}, perm[4] = {0, 2, 3, 1};
    input(g, "x", 4, x);
    /* Exp between the shape ops keeps the optimizer from collapsing them. */
    ints_init(g, "shape", 2, shape);
    node_csv(g, "Reshape", "x,shape", "r");
    node_csv(g, "Exp", "r", "e");
    ints_init(g, "axes", 1, axes);
    node_csv(g, "Unsqueeze", "e,axes", "u");
    node_csv(g, "Neg", "u", "f");
    node_csv(g, "Squeeze", "f,axes", "s");
    node_csv(g, "Abs", "s", "t");
    attr_i(node_csv(g, "Flatten", "t", "y"), "axis", 1);
    output(g, "y");
    jit_matches_interp(model_built_load(g, 13), "Reshape/Unsqueeze/Squeeze/Flatten");

    g = graph_new("jit_test", CAP);
    input(g, "x", 4, x);
    attr_ints(node_csv(g, "Transpose", "x", "y"), "perm", 4, perm);
    output(g, "y");
    jit_matches_interp(model_built_load(g, 13), "Transpose");

    g = graph_new("jit_test", CAP);
    int64_t a[3] = {2, 3, 4}, b[3] = {2, 1, 4}, c[3] = {2, 5, 4};
    input(g, "a", 3, a);
    input(g, "b", 3, b);
    weight(g, "c", 3, c);
    attr_i(node_csv(g, "Concat", "a,b,c", "y"), "axis", 1);
    output(g, "y");
    jit_matches_interp(model_built_load(g, 13), "Concat");
}

/* Gather with constant indices (negative ones too) on either axis. */
Test(jit, gather)
{
    int64_t x[3] = {3, 4, 5}, idx[3] = {2, -1, 0};
    for (int axis = 0; axis < 3; axis++) {
        Onnx__GraphProto *g = graph_new("jit_test", CAP);
        input(g, "x", 3, x);
        int64_t d = axis == 2 ? 3 : 2;
        init_raw(g, "i", DT_INT64, 1, &d, idx, sizeof(int64_t) * (size_t)d);
        attr_i(node_csv(g, "Gather", "x,i", "y"), "axis", axis);
        output(g, "y");
        jit_matches_interp(model_built_load(g, 13), "Gather");
    }
}

static void attr_s(Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)S(v);
}

/* LSTM: forward/reverse/bidirectional, layout 0/1, biases, peepholes, initial states given
 * as graph inputs or absent, clip, Y / Y_h / Y_c, against the reference driver. */
Test(jit, lstm)
{
    static const struct {
        const char *dir;
        int layout, bias, peep, init, clip, outs;
    } cfg[] = {{"forward", 0, 1, 0, 0, 0, 3}, {"reverse", 0, 1, 1, 1, 0, 3}, {"bidirectional", 0, 0, 1, 1, 1, 3},
               {"bidirectional", 1, 1, 0, 1, 0, 3}, {"forward", 1, 0, 0, 0, 0, 1}};
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        int64_t T = 5, B = 2, I = 3, H = 4, D = strcmp(cfg[k].dir, "bidirectional") == 0 ? 2 : 1;
        Onnx__GraphProto *g = graph_new("jit_test", CAP);
        int64_t xd[3] = {T, B, I}, hd[3] = {D, B, H};
        if (cfg[k].layout) {
            xd[0] = B, xd[1] = T;
            hd[0] = B, hd[1] = D;
        }
        int64_t wd[3] = {D, 4 * H, I}, rd[3] = {D, 4 * H, H}, bd[2] = {D, 8 * H}, pd[2] = {D, 3 * H};
        input(g, "x", 3, xd);
        weight(g, "w", 3, wd);
        weight(g, "r", 3, rd);
        char ins[128];
        snprintf(ins, sizeof ins, "x,w,r,%s,", cfg[k].bias ? "b" : "");
        if (cfg[k].bias) weight(g, "b", 2, bd);
        if (cfg[k].init) {
            input(g, "h0", 3, hd);
            input(g, "c0", 3, hd);
            strcat(ins, ",h0,c0");
        } else {
            strcat(ins, ",,");
        }
        if (cfg[k].peep) {
            weight(g, "p", 2, pd);
            strcat(ins, ",p");
        }
        Onnx__NodeProto *n = node_csv(g, "LSTM", ins, "y");
        /* Empty names mark absent optional inputs (strtok skipped them). */
        n->n_input = 0;
        char buf[128];
        snprintf(buf, sizeof buf, "%s", ins);
        for (char *p = buf, *e; p; p = e ? e + 1 : NULL) {
            e = strchr(p, ',');
            if (e) *e = 0;
            n->input[n->n_input++] = S(p);
        }
        n->output = P(3 * sizeof(char *));
        n->n_output = 0;
        const char *outs[3] = {"y", "yh", "yc"};
        for (int o = 0; o < cfg[k].outs; o++) {
            n->output[n->n_output++] = S(outs[o]);
            output(g, outs[o]);
        }
        attr_i(n, "hidden_size", H);
        attr_s(n, "direction", cfg[k].dir);
        if (cfg[k].layout) attr_i(n, "layout", 1);
        if (cfg[k].clip) attr_f(n, "clip", 0.5f);
        char what[96];
        snprintf(what, sizeof what, "LSTM %s layout %d bias %d peep %d init %d clip %d", cfg[k].dir, cfg[k].layout,
                 cfg[k].bias, cfg[k].peep, cfg[k].init, cfg[k].clip);
        jit_matches_interp(model_built_load(g, 14), what);
    }
}

Test(jit, zoo_lstm_kws) { jit_matches_interp(ut_load_zoo("lstm_kws"), "lstm_kws"); }
#else
typedef int ember_test_jit_off; /* EMBER_JIT=OFF: nothing to test */
#endif

/* Every step kind of an elementwise chain (the fusion pass makes one EmberElementwiseChain
 * of it), run by the loop the module builder generates from the program and, with
 * EMBER_JIT_GENERATE=0, by the chain kernel: both against the interpreter. */
static ember_model *chain_model(void)
{
    Onnx__GraphProto *g = graph_new("jit_test", CAP);
    int64_t d[3] = {3, 7, 19}; /* 399 elements: not a multiple of any vector width */
    input(g, "x", 3, d);
    input(g, "x2", 3, d);
    static const struct { const char *op, *ins; float c; } steps[] = {
        {"Relu", "r", 0}, {"Add", "r,c", 0.5f}, {"Sub", "r,x2", 0}, {"Sub", "c,r", 2.0f}, {"Mul", "r,x2", 0},
        {"Div", "r,c", 3.0f}, {"Abs", "r", 0}, {"Add", "r,c", 1.0f}, {"Div", "c,r", 1.5f}, {"Max", "r,c", 0.1f},
        {"Min", "r,c", 5.0f}, {"Neg", "r", 0}, {"Exp", "r", 0}, {"Tanh", "r", 0}, {"Sigmoid", "r", 0},
        {"Sqrt", "r", 0}, {"Erf", "r", 0}, {"Mul", "r,c", -2.5f}, {"Clip", "r,lo,hi", 0},
    };
    float_init(g, "lo", -0.3f);
    float_init(g, "hi", 0.9f);
    char prev[16] = "x", cur[16], cname[16], ins[64];
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        snprintf(cur, sizeof cur, "%s", s + 1 == sizeof steps / sizeof *steps ? "y" : "");
        if (!cur[0]) snprintf(cur, sizeof cur, "t%zu", s);
        snprintf(cname, sizeof cname, "c%zu", s);
        if (strchr(steps[s].ins, 'c') && strcmp(steps[s].op, "Clip") != 0) float_init(g, cname, steps[s].c);
        /* "r" is the running value, "c" this step's constant */
        const char *p = steps[s].ins;
        size_t k = 0;
        while (*p && k + 20 < sizeof ins) {
            const char *tok = *p == 'r' ? prev : *p == 'c' && strcmp(steps[s].op, "Clip") != 0 ? cname : NULL;
            if (tok) {
                k += (size_t)snprintf(ins + k, sizeof ins - k, "%s", tok);
                p++;
            } else {
                while (*p && *p != ',') ins[k++] = *p++;
            }
            if (*p == ',') ins[k++] = *p++;
        }
        ins[k] = 0;
        node_csv(g, steps[s].op, ins, cur);
        snprintf(prev, sizeof prev, "%s", cur);
    }
    output(g, "y");
    return model_built_load(g, 13);
}

Test(jit, generated_elementwise_chain)
{
    ember_model *m = chain_model();
    ember_program *p;
    cr_assert_eq(ember_program_build(m, NULL, 0, NULL, &p), EMBER_OK, "%s", ember_last_error());
    int chains = 0;
    for (int i = 0; i < p->g->n_nodes; i++) chains += p->g->nodes[i].op == EMBER_OP_EMBER_ELEMENTWISE_CHAIN;
    cr_expect_eq(chains, 1, "the steps did not fuse into one chain");
    cr_expect_eq(p->g->n_nodes, 1);
    ember_program_free(p);
    ember_model_free(m);
    jit_matches_interp(chain_model(), "generated chain");
    setenv("EMBER_JIT_GENERATE", "0", 1);
    jit_matches_interp(chain_model(), "chain kernel");
    unsetenv("EMBER_JIT_GENERATE");
    /* Every bundle target's kernel bitcode has the scalar functions the loop calls. */
    static const char *targets[] = {"x86_64-linux-gnu", "aarch64-linux-gnu", "thumbv7em-none-eabihf",
                                    "riscv64-linux-gnu", "riscv32-unknown-elf"};
    m = chain_model();
    for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
        char dir[] = "/tmp/ember_chain_bundle_XXXXXX", path[128];
        cr_assert_not_null(mkdtemp(dir));
        ember_bundle_options o;
        ember_bundle_options_init(&o);
        o.target = targets[t];
        o.name = "chain";
        cr_assert_eq(ember_model_compile_bundle(m, &o, dir, NULL), EMBER_OK, "%s: %s", targets[t], ember_last_error());
        static const char *files[] = {"chain.o", "chain.h", "chain.weights.bin"};
        for (int f = 0; f < 3; f++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[f]);
            unlink(path);
        }
        rmdir(dir);
    }
    ember_model_free(m);
}
