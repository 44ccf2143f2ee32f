/* The fusion pass: activations folded into Conv / Gemm / MatMul as "ember_activation"
 * attributes, MatMul + Add(bias) turned into Gemm. Graphs before and after on small
 * hand-built graphs (the interpreter's results must not change: the reference kernels
 * apply the fused activation with the elementwise kernels' own math), then the zoo:
 * fusion counts, and the cpu backend against the unoptimized interpreter. */
#include <criterion/criterion.h>
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

#define ZOO EMBER_SHARED_DIR "/models/"

/* ---- a graph builder ---- */

/* A float constant: `data`, or (NULL) a smooth deterministic pattern from `seed`. */
static int constant(ember_graph *g, const char *name, int rank, const int64_t *dims, const float *data,
                    float seed)
{
    int v = ember_graph_add_value(g, name);
    cr_assert_geq(v, 0);
    ember_value *val = &g->values[v];
    val->flags = EMBER_VALUE_CONST;
    val->dtype = EMBER_DT_FLOAT;
    val->shape.rank = rank;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= val->shape.dims[i] = dims[i];
    val->nbytes = (size_t)n * sizeof(float);
    val->data = ember_arena_alloc(&g->arena, val->nbytes ? val->nbytes : 1);
    float *d = val->data;
    for (int64_t i = 0; i < n; i++) d[i] = data ? data[i] : sinf(seed + 0.37f * (float)i);
    return v;
}

static ember_attr flt(const char *name, float v) { return (ember_attr){.name = name, .type = EMBER_ATTR_FLOAT, .f = v}; }
static ember_attr int1(const char *name, int64_t v) { return (ember_attr){.name = name, .type = EMBER_ATTR_INT, .i = v}; }

typedef void (*build_fn)(ember_graph *g);

static ember_graph *build(build_fn fn)
{
    ember_graph *g = ember_graph_new(NULL);
    g->opset = 13;
    fn(g);
    ut_graph_finish(g);
    return g;
}

/* Runs g on the interpreter with a deterministic feed (values in [-3, 3], so Clip and
 * HardSigmoid bounds are hit). out[i].data malloc'd. */
static void run(const ember_graph *g, ember_op_tensor *out)
{
    ember_op_tensor t[4], *p[4];
    cr_assert_leq(g->n_inputs, 4);
    for (int i = 0; i < g->n_inputs; i++) {
        const ember_value *v = &g->values[g->inputs[i]];
        ember_value_to_op_tensor(v, &t[i]);
        int64_t n = ember_shape_numel(&v->shape);
        float *d = malloc(sizeof(float) * (size_t)(n ? n : 1));
        for (int64_t k = 0; k < n; k++) d[k] = 3.0f * cosf(0.71f * (float)k + (float)i);
        t[i].data = d;
        t[i].nbytes = sizeof(float) * (size_t)n;
        p[i] = &t[i];
    }
    memset(out, 0, sizeof *out * (size_t)g->n_outputs);
    cr_assert_eq(ember_interp_run(g, NULL, p, g->n_inputs, out, g->n_outputs), EMBER_OK, "%s", ember_last_error());
    for (int i = 0; i < g->n_inputs; i++) free(t[i].data);
}

/* Applies the fusion pass (or, whole, the optimizer) to a fresh build; checks outputs
 * are bit-identical to the unfused graph's and names are kept. Returns the graph. */
static ember_graph *fused(build_fn fn, bool whole, int *removed)
{
    ember_graph *ref = build(fn), *g = build(fn);
    int before = g->n_nodes;
    ember_pass_stats st = {0, 0};
    if (whole) {
        cr_assert_eq(ember_graph_optimize(g, NULL), EMBER_OK, "%s", ember_last_error());
        st.removed = before - g->n_nodes;
    } else {
        cr_assert_eq(ember_pass_fuse(g, &st), EMBER_OK, "%s", ember_last_error());
        cr_assert_eq(ember_graph_infer(g), EMBER_OK, "%s", ember_last_error());
        cr_assert_eq(g->n_nodes, before - st.removed);
        ember_pass_stats again = {0, 0};
        cr_assert_eq(ember_pass_fuse(g, &again), EMBER_OK);
        cr_expect_eq(again.removed, 0, "fusion is not idempotent");
    }
    *removed = st.removed;
    cr_assert_eq(ref->n_outputs, g->n_outputs);
    for (int o = 0; o < ref->n_outputs; o++)
        cr_assert_str_eq(ref->values[ref->outputs[o]].name, g->values[g->outputs[o]].name);
    ember_op_tensor a[4], b[4];
    run(ref, a);
    run(g, b);
    for (int o = 0; o < ref->n_outputs; o++) {
        int64_t n = ember_op_numel(&a[o]);
        cr_assert_eq(n, ember_op_numel(&b[o]));
        const float *x = a[o].data, *y = b[o].data;
        for (int64_t k = 0; k < n; k++) {
            if (whole) /* BN folding and Gemm's bias order reassociate */
                cr_assert(fabsf(x[k] - y[k]) <= 1e-5f + 1e-4f * fabsf(x[k]), "output %d[%lld]: %g vs %g", o,
                          (long long)k, x[k], y[k]);
            else
                cr_assert(x[k] == y[k] || (isnan(x[k]) && isnan(y[k])), "output %d[%lld]: %.9g vs %.9g", o,
                          (long long)k, x[k], y[k]);
        }
        free(a[o].data);
        free(b[o].data);
    }
    ember_graph_free(ref);
    return g;
}

static int count_op(const ember_graph *g, int op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) c += g->nodes[i].op == op;
    return c;
}

/* The node producing graph output o. */
static const ember_node *producer_of_output(const ember_graph *g, int o)
{
    int p = g->values[g->outputs[o]].producer;
    cr_assert_geq(p, 0);
    return &g->nodes[p];
}

static const char *act_of(const ember_node *n) { return ember_attr_string(n, "ember_activation", NULL); }

/* ---- Conv + activation ---- */

static const int64_t XD[4] = {1, 3, 6, 6}, WD[4] = {4, 3, 3, 3}, BD[1] = {4};

static int conv(ember_graph *g, const char *out)
{
    int x = g->n_inputs ? g->inputs[0] : ut_input(g, "x", 4, XD);
    int ins[3] = {x, constant(g, "w", 4, WD, NULL, 0.5f), constant(g, "b", 1, BD, NULL, 1.5f)};
    return ut_node(g, "Conv", 13, ins, 3, out, NULL, 0);
}

static void build_conv_relu(ember_graph *g)
{
    int c = conv(g, "c");
    ut_output(g, ut_node(g, "Relu", 13, &c, 1, "y", NULL, 0));
}

Test(fuse, conv_relu)
{
    int removed;
    ember_graph *g = fused(build_conv_relu, false, &removed);
    cr_expect_eq(removed, 1);
    cr_assert_eq(g->n_nodes, 1);
    const ember_node *n = producer_of_output(g, 0);
    cr_expect_eq(n->op, EMBER_OP_CONV);
    cr_expect_str_eq(act_of(n), "Relu");
    ember_graph_free(g);
}

/* Relu6 as mobilenet_v2 exports it: Clip with constant bounds as inputs (opset 11+). */
static void build_conv_clip(ember_graph *g)
{
    int c = conv(g, "c");
    float lo = 0.0f, hi = 6.0f;
    int ins[3] = {c, constant(g, "lo", 0, NULL, &lo, 0), constant(g, "hi", 0, NULL, &hi, 0)};
    ut_output(g, ut_node(g, "Clip", 13, ins, 3, "y", NULL, 0));
}

Test(fuse, conv_clip_constant_bounds)
{
    int removed;
    ember_graph *g = fused(build_conv_clip, false, &removed);
    cr_expect_eq(removed, 1);
    const ember_node *n = producer_of_output(g, 0);
    cr_expect_str_eq(act_of(n), "Clip");
    cr_expect_eq(ember_attr_float(n, "ember_act_min", -1), 0.0f);
    cr_expect_eq(ember_attr_float(n, "ember_act_max", -1), 6.0f);
    ember_graph_free(g);
}

/* Clip with a max only, then opset 6 Clip with attributes. */
static void build_conv_clip_max_only(ember_graph *g)
{
    int c = conv(g, "c");
    float hi = 0.5f;
    int ins[3] = {c, -1, constant(g, "hi", 1, (int64_t[]){1}, &hi, 0)};
    ut_output(g, ut_node(g, "Clip", 13, ins, 3, "y", NULL, 0));
}

static void build_conv_clip6(ember_graph *g)
{
    int c = conv(g, "c");
    ember_attr a[2] = {flt("min", -1.0f), flt("max", 2.0f)};
    ut_output(g, ut_node(g, "Clip", 6, &c, 1, "y", a, 2));
}

Test(fuse, conv_clip_other_forms)
{
    int removed;
    ember_graph *g = fused(build_conv_clip_max_only, false, &removed);
    cr_expect_eq(removed, 1);
    const ember_node *n = producer_of_output(g, 0);
    cr_expect_null(ember_node_attr(n, "ember_act_min"));
    cr_expect_eq(ember_attr_float(n, "ember_act_max", -1), 0.5f);
    ember_graph_free(g);
    g = fused(build_conv_clip6, false, &removed);
    cr_expect_eq(removed, 1);
    n = producer_of_output(g, 0);
    cr_expect_eq(ember_attr_float(n, "ember_act_min", 0), -1.0f);
    cr_expect_eq(ember_attr_float(n, "ember_act_max", 0), 2.0f);
    ember_graph_free(g);
}

/* ---- Gemm / MatMul + every activation ---- */

static const char *const acts[] = {"Relu", "Sigmoid", "LeakyRelu", "HardSigmoid", "Tanh"};
static int cur_act;

static void act_attrs(ember_attr *a, int *n)
{
    *n = 0;
    if (strcmp(acts[cur_act], "LeakyRelu") == 0) a[(*n)++] = flt("alpha", 0.3f);
    if (strcmp(acts[cur_act], "HardSigmoid") == 0) a[(*n)++] = flt("alpha", 0.25f), a[(*n)++] = flt("beta", 0.4f);
}

static void build_gemm_act(ember_graph *g)
{
    int a = ut_input(g, "a", 2, (int64_t[]){5, 7});
    int ins[3] = {a, constant(g, "w", 2, (int64_t[]){6, 7}, NULL, 0.1f), constant(g, "c", 1, (int64_t[]){6}, NULL, 2)};
    ember_attr ga[3] = {int1("transB", 1), flt("alpha", 0.7f), flt("beta", 1.3f)};
    int y = ut_node(g, "Gemm", 13, ins, 3, "gm", ga, 3);
    ember_attr aa[2];
    int na;
    act_attrs(aa, &na);
    ut_output(g, ut_node(g, acts[cur_act], 13, &y, 1, "y", aa, na));
}

static void build_matmul_act(ember_graph *g)
{
    int a = ut_input(g, "a", 3, (int64_t[]){2, 5, 7});
    int ins[2] = {a, constant(g, "w", 3, (int64_t[]){2, 7, 4}, NULL, 0.3f)};
    int y = ut_node(g, "MatMul", 13, ins, 2, "mm", NULL, 0);
    ember_attr aa[2];
    int na;
    act_attrs(aa, &na);
    ut_output(g, ut_node(g, acts[cur_act], 13, &y, 1, "y", aa, na));
}

Test(fuse, gemm_and_matmul_every_activation)
{
    for (cur_act = 0; cur_act < (int)(sizeof acts / sizeof *acts); cur_act++) {
        build_fn fns[2] = {build_gemm_act, build_matmul_act};
        for (int k = 0; k < 2; k++) {
            int removed;
            ember_graph *g = fused(fns[k], false, &removed);
            cr_expect_eq(removed, 1, "%s", acts[cur_act]);
            const ember_node *n = producer_of_output(g, 0);
            cr_expect_eq(n->op, k == 0 ? EMBER_OP_GEMM : EMBER_OP_MATMUL);
            cr_expect_str_eq(act_of(n), acts[cur_act]);
            if (cur_act == 2) cr_expect_eq(ember_attr_float(n, "ember_act_alpha", 0), 0.3f);
            if (cur_act == 3) {
                cr_expect_eq(ember_attr_float(n, "ember_act_alpha", 0), 0.25f);
                cr_expect_eq(ember_attr_float(n, "ember_act_beta", 0), 0.4f);
            }
            ember_graph_free(g);
        }
    }
}

/* ---- what must not fuse ---- */

/* The conv output is read twice / is a graph output itself. */
static void build_shared(ember_graph *g)
{
    int c = conv(g, "c");
    ut_output(g, ut_node(g, "Relu", 13, &c, 1, "y", NULL, 0));
    ut_output(g, ut_node(g, "Sigmoid", 13, &c, 1, "z", NULL, 0));
}

static void build_conv_output(ember_graph *g)
{
    int c = conv(g, "c");
    ut_output(g, c);
    ut_output(g, ut_node(g, "Relu", 13, &c, 1, "y", NULL, 0));
}

/* Clip bounds computed at run time; Relu after an Add; a second activation after a
 * fused one; an activation followed by BatchNormalization (BN folding treats the
 * producer as linear). */
static void build_unfusable(ember_graph *g)
{
    int c = conv(g, "c");
    int lo = ut_input(g, "lo", 0, NULL);
    int ins[2] = {c, lo};
    ut_output(g, ut_node(g, "Clip", 13, ins, 2, "y1", NULL, 0));
    int sum[2] = {g->inputs[0], g->inputs[0]};
    int s = ut_node(g, "Add", 13, sum, 2, "s", NULL, 0);
    ut_output(g, ut_node(g, "Relu", 13, &s, 1, "y2", NULL, 0));
    int ins2[3] = {g->inputs[0], constant(g, "w2", 4, WD, NULL, 0.9f), -1};
    int c2 = ut_node(g, "Conv", 13, ins2, 2, "c2", NULL, 0);
    int r = ut_node(g, "Relu", 13, &c2, 1, "r2", NULL, 0);
    ut_output(g, ut_node(g, "Sigmoid", 13, &r, 1, "y3", NULL, 0));
    int ins3[2] = {g->inputs[0], constant(g, "w3", 4, WD, NULL, 1.9f)};
    int c3 = ut_node(g, "Conv", 13, ins3, 2, "c3", NULL, 0);
    int r3 = ut_node(g, "Relu", 13, &c3, 1, "r3", NULL, 0);
    int bn[5] = {r3, constant(g, "sc", 1, BD, NULL, 1), constant(g, "bb", 1, BD, NULL, 2),
                 constant(g, "mn", 1, BD, NULL, 3), constant(g, "vr", 1, BD, (float[]){1, 2, 3, 4}, 0)};
    ut_output(g, ut_node(g, "BatchNormalization", 13, bn, 5, "y4", NULL, 0));
}

Test(fuse, not_fused)
{
    int removed;
    ember_graph *g = fused(build_shared, false, &removed);
    cr_expect_eq(removed, 0);
    ember_graph_free(g);
    g = fused(build_conv_output, false, &removed);
    cr_expect_eq(removed, 0);
    ember_graph_free(g);
    g = fused(build_unfusable, false, &removed);
    cr_expect_eq(removed, 1, "only Relu(c2) fuses");
    cr_expect_eq(count_op(g, EMBER_OP_SIGMOID), 1);
    cr_expect_eq(count_op(g, EMBER_OP_CLIP), 1);
    cr_expect_eq(count_op(g, EMBER_OP_RELU), 2);
    ember_graph_free(g);
    /* Through the whole optimizer the BN after Relu(c3) must still give the same numbers. */
    g = fused(build_unfusable, true, &removed);
    ember_graph_free(g);
}

/* ---- MatMul + Add(bias) -> Gemm ---- */

static void build_matmul_add_relu(ember_graph *g)
{
    int a = ut_input(g, "a", 2, (int64_t[]){3, 8});
    int ins[2] = {a, constant(g, "w", 2, (int64_t[]){8, 5}, NULL, 0.2f)};
    int m = ut_node(g, "MatMul", 13, ins, 2, "m", NULL, 0);
    int add[2] = {constant(g, "bias", 1, (int64_t[]){5}, NULL, 1.0f), m}; /* bias first */
    int s = ut_node(g, "Add", 13, add, 2, "s", NULL, 0);
    ut_output(g, ut_node(g, "Relu", 13, &s, 1, "y", NULL, 0));
}

/* Rank 3: stays MatMul + Add. */
static void build_matmul3_add(ember_graph *g)
{
    int a = ut_input(g, "a", 3, (int64_t[]){2, 3, 8});
    int ins[2] = {a, constant(g, "w", 2, (int64_t[]){8, 5}, NULL, 0.2f)};
    int m = ut_node(g, "MatMul", 13, ins, 2, "m", NULL, 0);
    int add[2] = {m, constant(g, "bias", 1, (int64_t[]){5}, NULL, 1.0f)};
    ut_output(g, ut_node(g, "Add", 13, add, 2, "y", NULL, 0));
}

Test(fuse, matmul_add_becomes_gemm)
{
    int removed;
    ember_graph *g = fused(build_matmul_add_relu, true, &removed);
    cr_expect_eq(removed, 2);
    cr_assert_eq(g->n_nodes, 1);
    const ember_node *n = producer_of_output(g, 0);
    cr_expect_eq(n->op, EMBER_OP_GEMM);
    cr_expect_str_eq(act_of(n), "Relu");
    ember_graph_free(g);
    g = fused(build_matmul3_add, false, &removed);
    cr_expect_eq(removed, 0);
    cr_expect_eq(count_op(g, EMBER_OP_MATMUL), 1);
    ember_graph_free(g);
}

/* ---- Conv + Add(residual) -> Conv with a sum input ---- */

static const int64_t YD[4] = {1, 4, 4, 4};

/* Add(r, Conv) + Relu, the residual first; a second block whose residual is a Conv
 * computed after the Add's own Conv (the sum goes into the later one). */
static void build_conv_add_relu(ember_graph *g)
{
    int c = conv(g, "c");
    int r = ut_input(g, "r", 4, YD);
    int add[2] = {r, c};
    int s = ut_node(g, "Add", 13, add, 2, "s", NULL, 0);
    ut_output(g, ut_node(g, "Relu", 13, &s, 1, "y", NULL, 0));
    int ins2[2] = {g->inputs[0], constant(g, "w2", 4, WD, NULL, 0.9f)};
    int c2 = ut_node(g, "Conv", 13, ins2, 2, "c2", NULL, 0);
    int ins3[2] = {g->inputs[0], constant(g, "w3", 4, WD, NULL, 1.3f)};
    int c3 = ut_node(g, "Conv", 13, ins3, 2, "c3", NULL, 0);
    int add2[2] = {c2, c3};
    ut_output(g, ut_node(g, "Add", 13, add2, 2, "y2", NULL, 0));
}

/* Not fused: a broadcast (bias-like) addend; a Conv with an activation already; a sum
 * that reaches a BatchNormalization. */
static void build_conv_add_unfusable(ember_graph *g)
{
    int c = conv(g, "c");
    int add[2] = {c, constant(g, "k", 3, (int64_t[]){4, 1, 1}, NULL, 0.3f)};
    ut_output(g, ut_node(g, "Add", 13, add, 2, "y", NULL, 0));
    int ins2[2] = {g->inputs[0], constant(g, "w2", 4, WD, NULL, 0.9f)};
    int c2 = ut_node(g, "Conv", 13, ins2, 2, "c2", NULL, 0);
    int r2 = ut_node(g, "Relu", 13, &c2, 1, "r2", NULL, 0);
    int add2[2] = {r2, ut_input(g, "r", 4, YD)};
    ut_output(g, ut_node(g, "Add", 13, add2, 2, "y2", NULL, 0));
    int ins3[2] = {g->inputs[0], constant(g, "w3", 4, WD, NULL, 1.9f)};
    int c3 = ut_node(g, "Conv", 13, ins3, 2, "c3", NULL, 0);
    int add3[2] = {c3, g->inputs[1]};
    int s3 = ut_node(g, "Add", 13, add3, 2, "s3", NULL, 0);
    int bn[5] = {s3, constant(g, "sc", 1, BD, NULL, 1), constant(g, "bb", 1, BD, NULL, 2),
                 constant(g, "mn", 1, BD, NULL, 3), constant(g, "vr", 1, BD, (float[]){1, 2, 3, 4}, 0)};
    ut_output(g, ut_node(g, "BatchNormalization", 13, bn, 5, "y3", NULL, 0));
}

Test(fuse, conv_add_residual)
{
    int removed;
    ember_graph *g = fused(build_conv_add_relu, false, &removed);
    cr_expect_eq(removed, 3, "both Adds and the Relu");
    cr_assert_eq(g->n_nodes, 3);
    cr_expect_eq(count_op(g, EMBER_OP_ADD), 0);
    const ember_node *n = producer_of_output(g, 0);
    cr_expect_eq(n->op, EMBER_OP_CONV);
    cr_expect_str_eq(act_of(n), "Relu");
    cr_expect_eq(ember_attr_int(n, "ember_sum_input", 0), 3);
    cr_assert_eq(n->n_inputs, 4);
    cr_expect_str_eq(g->values[n->inputs[3]].name, "r");
    n = producer_of_output(g, 1);
    cr_expect_eq(ember_attr_int(n, "ember_sum_input", 0), 3);
    cr_assert_eq(n->n_inputs, 4);
    cr_expect_lt(n->inputs[2], 0, "no bias");
    cr_expect_str_eq(g->values[n->inputs[3]].name, "c2");
    cr_expect_null(act_of(n));
    ember_graph_free(g);
    g = fused(build_conv_add_relu, true, &removed);
    ember_graph_free(g);
}

Test(fuse, conv_add_not_fused)
{
    int removed;
    ember_graph *g = fused(build_conv_add_unfusable, false, &removed);
    cr_expect_eq(removed, 1, "only Relu(c2) fuses");
    cr_expect_eq(count_op(g, EMBER_OP_ADD), 3);
    for (int i = 0; i < g->n_nodes; i++) cr_expect_null(ember_node_attr(&g->nodes[i], "ember_sum_input"));
    ember_graph_free(g);
    g = fused(build_conv_add_unfusable, true, &removed);
    for (int i = 0; i < g->n_nodes; i++) cr_expect_null(ember_node_attr(&g->nodes[i], "ember_sum_input"));
    ember_graph_free(g);
}

/* ---- the zoo ---- */

static void expect_close(const ember_tensor *a, const ember_tensor *b, const char *what, int o)
{
    cr_assert_eq(a->nbytes, b->nbytes);
    cr_assert_eq(a->dtype, EMBER_DT_FLOAT);
    const float *x = a->data, *y = b->data;
    for (size_t k = 0; k < a->nbytes / 4; k++)
        cr_assert(fabsf(x[k] - y[k]) <= 1e-5f + 1e-4f * fabsf(x[k]), "%s output %d[%zu]: %g vs %g", what, o, k,
                  x[k], y[k]);
}

/* Optimizes the model's graph; counts fused nodes per activation. Then compares the
 * unoptimized interpreter with (1) the interpreter on the optimized graph and (2) the
 * cpu backend, on the model's reference inputs. */
static void zoo_check(const char *name, int *fused_count, int *left_acts)
{
    ember_model *m = ut_load_zoo(name);
    cr_assert_eq(ember_graph_optimize(m->graph, NULL), EMBER_OK, "%s", ember_last_error());
    const ember_graph *g = m->graph;
    *fused_count = 0;
    for (int i = 0; i < g->n_nodes; i++) *fused_count += act_of(&g->nodes[i]) != NULL;
    *left_acts = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        int op = g->nodes[i].op;
        if (op == EMBER_OP_RELU || op == EMBER_OP_CLIP || op == EMBER_OP_SIGMOID || op == EMBER_OP_TANH ||
            op == EMBER_OP_LEAKY_RELU || op == EMBER_OP_HARD_SIGMOID)
            (*left_acts)++;
    }
    fprintf(stderr, "fusion: %-20s %3d activations fused, %3d left, %d Gemm\n", name, *fused_count, *left_acts,
            count_op(g, EMBER_OP_GEMM));

    ember_model *base = ut_load_zoo(name);
    int ni = ember_model_num_inputs(base), no = ember_model_num_outputs(base);
    cr_assert_leq(ni, 8);
    cr_assert_leq(no, 8);
    ember_tensor in[8], ref[8], got[8];
    ember_op_tensor ot[8], *op[8], oo[8];
    for (int i = 0; i < ni; i++) {
        ut_load_zoo_pb(name, "input", i, &in[i]);
        memset(&ot[i], 0, sizeof ot[i]);
        ot[i].dtype = in[i].dtype;
        ot[i].rank = in[i].rank;
        memcpy(ot[i].dims, in[i].dims, sizeof ot[i].dims);
        for (int k = 0; k < EMBER_MAX_RANK; k++) ot[i].syms[k] = -1;
        ot[i].data = in[i].data;
        ot[i].nbytes = in[i].nbytes;
        op[i] = &ot[i];
    }
    ember_session *si, *sc;
    cr_assert_eq(ember_session_create(base, "interp", &si), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(base, "cpu", &sc), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_run(si, in, ni, ref, no), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_run(sc, in, ni, got, no), EMBER_OK, "%s", ember_last_error());
    memset(oo, 0, sizeof oo);
    cr_assert_eq(ember_interp_run(g, NULL, op, ni, oo, no), EMBER_OK, "%s", ember_last_error());
    for (int o = 0; o < no; o++) {
        expect_close(&ref[o], &got[o], "cpu backend", o);
        ember_tensor t = {oo[o].dtype, oo[o].rank, {0}, oo[o].data, ref[o].nbytes};
        expect_close(&ref[o], &t, "interpreter on the fused graph", o);
        free(oo[o].data);
        ember_tensor_release(&ref[o]);
        ember_tensor_release(&got[o]);
    }
    for (int i = 0; i < ni; i++) ember_tensor_release(&in[i]);
    ember_session_free(si);
    ember_session_free(sc);
    ember_model_free(base);
    ember_model_free(m);
}

Test(fuse_models, mobilenet_v2_every_clip_fused, .timeout = 300)
{
    ember_model *m0 = ut_load_zoo("mobilenet_v2");
    int clips = count_op(m0->graph, EMBER_OP_CLIP);
    ember_model_free(m0);
    cr_assert_gt(clips, 0);
    int fused_n, left;
    zoo_check("mobilenet_v2", &fused_n, &left);
    cr_expect_eq(fused_n, clips);
    cr_expect_eq(left, 0);
}

Test(fuse_models, resnet18_every_conv_relu_fused, .timeout = 300)
{
    /* Relus after a Conv (after BN folding) go; so do the residual Adds (into the block's
     * last Conv as a sum input) and the Relus after them. */
    ember_model *m = ut_load_zoo("resnet18");
    ember_graph *g = m->graph;
    cr_assert_eq(ember_graph_optimize(g, NULL), EMBER_OK, "%s", ember_last_error());
    int relus = 0, adds = 0, sums = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ember_node *n = &g->nodes[i];
        adds += n->op == EMBER_OP_ADD;
        if (n->op == EMBER_OP_CONV && ember_node_attr(n, "ember_sum_input")) {
            sums++;
            cr_expect_eq(n->n_inputs, 4);
            const ember_attr *a = ember_node_attr(n, "ember_activation");
            cr_expect(a && strcmp(a->s, "Relu") == 0, "Conv '%s': the Relu after the Add is fused", n->name);
        }
        if (n->op != EMBER_OP_RELU) continue;
        relus++;
        int p = g->values[n->inputs[0]].producer;
        cr_expect(p < 0 || g->nodes[p].op != EMBER_OP_CONV, "Relu '%s' after Conv '%s' not fused",
                  n->name, g->nodes[p].name);
    }
    cr_expect_eq(relus, 0);
    cr_expect_eq(adds, 0);
    cr_expect_eq(sums, 8, "one residual per basic block");
    ember_model_free(m);
    int fused_n, left;
    zoo_check("resnet18", &fused_n, &left);
    cr_expect_gt(fused_n, 0);
}

#define ZOO_TEST(id, model)                                      \
    Test(fuse_models, id, .timeout = 300)                        \
    {                                                            \
        int fused_n, left;                                       \
        zoo_check(model, &fused_n, &left);                       \
    }
ZOO_TEST(squeezenet1_1, "squeezenet1_1")
ZOO_TEST(shufflenet_v2_x1_0, "shufflenet_v2_x1_0")
ZOO_TEST(bert_tiny_like, "bert_tiny_like")
ZOO_TEST(kws_dscnn, "kws_dscnn")
ZOO_TEST(cifar_resnet8, "cifar_resnet8")
ZOO_TEST(vww_mobilenet025, "vww_mobilenet025")
ZOO_TEST(ad_autoencoder, "ad_autoencoder")
ZOO_TEST(lstm_kws, "lstm_kws")
