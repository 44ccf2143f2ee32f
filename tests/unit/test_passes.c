/* Optimization passes on small hand-built graphs: the graph before and after each pass
 * (node counts, op types, names kept) and the interpreter's results before and after
 * (helpers from test_passes_models.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/graph_edit.h"
#include "engine/model.h"
#include "engine/passes.h"
#include "test_util.h"

#include "passes_check.h"

/* ---- a graph builder ---- */

static int constant(ember_graph *g, const char *name, ember_dtype dt, int rank, const int64_t *dims,
                    const void *data)
{
    int v = ember_graph_add_value(g, name);
    cr_assert_geq(v, 0);
    ember_value *val = &g->values[v];
    val->flags = EMBER_VALUE_CONST;
    val->dtype = dt;
    val->shape.rank = rank;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= val->shape.dims[i] = dims[i];
    val->nbytes = (size_t)n * ember_dtype_size(dt);
    val->data = ember_arena_alloc(&g->arena, val->nbytes ? val->nbytes : 1);
    if (data) memcpy(val->data, data, val->nbytes);
    return v;
}

/* A float constant filled with a smooth deterministic pattern. */
static int weights(ember_graph *g, const char *name, int rank, const int64_t *dims, float seed)
{
    int v = constant(g, name, EMBER_DT_FLOAT, rank, dims, NULL);
    float *d = g->values[v].data;
    for (size_t i = 0; i < g->values[v].nbytes / 4; i++) d[i] = sinf(seed + 0.37f * (float)i);
    return v;
}

static ember_graph *begin(void)
{
    ember_graph *g = ember_graph_new(NULL);
    g->opset = 13;
    return g;
}

static ember_attr ints(const char *name, int64_t *v, int n)
{
    return (ember_attr){.name = name, .type = EMBER_ATTR_INTS, .ints = v, .n = n};
}
static ember_attr int1(const char *name, int64_t v) { return (ember_attr){.name = name, .type = EMBER_ATTR_INT, .i = v}; }
static ember_attr flt(const char *name, float v) { return (ember_attr){.name = name, .type = EMBER_ATTR_FLOAT, .f = v}; }

/* Feeds for every graph input: a deterministic pattern of the declared shape. */
typedef struct feeds {
    ember_op_tensor t[4], *p[4];
    int n;
} feeds;

static void make_feeds(const ember_graph *g, feeds *f)
{
    f->n = g->n_inputs;
    for (int i = 0; i < g->n_inputs; i++) {
        const ember_value *v = &g->values[g->inputs[i]];
        ember_value_to_op_tensor(v, &f->t[i]);
        int64_t n = ember_shape_numel(&v->shape);
        float *d = malloc(sizeof(float) * (size_t)(n ? n : 1));
        for (int64_t k = 0; k < n; k++) d[k] = cosf(0.11f * (float)k + (float)i);
        f->t[i].data = d;
        f->t[i].nbytes = sizeof(float) * (size_t)n;
        f->p[i] = &f->t[i];
    }
}

static void free_feeds(feeds *f)
{
    for (int i = 0; i < f->n; i++) free(f->t[i].data);
}

typedef void (*build_fn)(ember_graph *g);

/* Builds the graph twice, applies `pass` (or the whole optimizer when pass < 0) to
 * one, checks names and results, returns the optimized graph and the stats. */
static ember_graph *apply(build_fn build, int pass, ember_pass_stats *st, int *nodes_before)
{
    ember_graph *ref = begin(), *g = begin();
    build(ref);
    ut_graph_finish(ref);
    build(g);
    ut_graph_finish(g);
    *nodes_before = g->n_nodes;
    ember_pass_stats local = {0, 0};
    if (!st) st = &local;
    if (pass >= 0) {
        static ember_status (*const fns[])(ember_graph *, ember_pass_stats *) = {
#define X(e, n, fn) fn,
            EMBER_PASSES(X)
#undef X
        };
        cr_assert_eq(fns[pass](g, st), EMBER_OK, "%s", ember_last_error());
        cr_assert_eq(ember_graph_infer(g), EMBER_OK, "%s", ember_last_error());
    } else {
        ember_optimize_report r;
        cr_assert_eq(ember_graph_optimize(g, &r), EMBER_OK, "%s", ember_last_error());
        st->removed = r.nodes_before - r.nodes_after;
    }
    cr_assert_eq(g->n_nodes, *nodes_before - st->removed);
    passes_check_interface(ref, g);
    feeds f;
    make_feeds(ref, &f);
    passes_outs a, b;
    passes_run(ref, f.p, f.n, &a);
    passes_run(g, f.p, f.n, &b);
    passes_compare(&a, &b, pass >= 0 ? ember_pass_name(pass) : "optimize");
    passes_outs_free(&a);
    passes_outs_free(&b);
    free_feeds(&f);
    ember_graph_free(ref);
    return g;
}

static const int64_t D4[4] = {1, 3, 4, 5};

/* ---- identity ---- */

static void build_identity(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4);
    int a = ut_node(g, "Identity", 13, &x, 1, "a", NULL, 0);
    int r = ut_node(g, "Relu", 13, &a, 1, "r", NULL, 0);
    int y = ut_node(g, "Identity", 13, &r, 1, "y", NULL, 0); /* graph output: the Relu takes its name */
    ut_output(g, y);
    int d = ut_node(g, "Dropout", 13, &r, 1, "d", NULL, 0);
    int s = ut_node(g, "Sigmoid", 13, &d, 1, "s", NULL, 0);
    ut_output(g, s);
    int z = ut_node(g, "Identity", 13, &x, 1, "z", NULL, 0); /* input -> output: must stay */
    ut_output(g, z);
    int64_t one = 1;
    int w = constant(g, "w", EMBER_DT_FLOAT, 1, &one, (float[]){2.0f});
    int c = ut_node(g, "Identity", 13, &w, 1, "c", NULL, 0); /* constant -> output: becomes a constant */
    ut_output(g, c);
}

Test(passes, identity_and_dropout_removed_output_names_kept)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_identity, EMBER_PASS_IDENTITY, &st, &before);
    cr_expect_eq(before, 7);
    cr_expect_eq(st.removed, 4);
    cr_expect_eq(passes_count_op(g, EMBER_OP_IDENTITY), 1);
    cr_expect_eq(passes_count_op(g, EMBER_OP_DROPOUT), 0);
    int y = ember_graph_find(g, "y");
    cr_assert_geq(g->values[y].producer, 0);
    cr_expect_eq(g->nodes[g->values[y].producer].op, EMBER_OP_RELU);
    cr_expect(ember_value_is_const(g, ember_graph_find(g, "c")));
    ember_graph_free(g);
}

static void build_dropout_mask(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4);
    int outs[2] = {ember_graph_value(g, "d"), ember_graph_value(g, "mask")};
    int ni = ember_graph_add_node(g, "drop", "Dropout", "", &x, 1, outs, 2, NULL, 0);
    g->nodes[ni].opset = 13;
    g->nodes[ni].op = EMBER_OP_DROPOUT;
    ut_output(g, outs[0]);
    ut_output(g, outs[1]);
}

Test(passes, dropout_with_read_mask_stays)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_dropout_mask, EMBER_PASS_IDENTITY, &st, &before);
    cr_expect_eq(st.removed, 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_DROPOUT), 1);
    ember_graph_free(g);
}

/* ---- constant folding ---- */

static void build_fold(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4);
    int64_t three = 3;
    int a = weights(g, "a", 1, &three, 0.5f);
    ember_attr val = flt("value_float", 2.0f);
    int k = ut_node(g, "Constant", 13, NULL, 0, "k", &val, 1);
    int ak = ut_node(g, "Mul", 13, (int[]){a, k}, 2, "ak", NULL, 0);
    int sh = ut_node(g, "Shape", 13, &x, 1, "sh", NULL, 0); /* static: folds */
    int64_t idx = 1;
    int i1 = constant(g, "i1", EMBER_DT_INT64, 0, NULL, &idx);
    int c = ut_node(g, "Gather", 13, (int[]){sh, i1}, 2, "c", NULL, 0);
    int64_t m1 = -1, one = 1;
    int neg = constant(g, "neg", EMBER_DT_INT64, 1, &one, &m1);
    ember_attr ax = int1("axis", 0);
    int cu = ut_node(g, "Unsqueeze", 13, (int[]){c, constant(g, "ax0", EMBER_DT_INT64, 1, &one, (int64_t[]){0})}, 2, "cu", NULL, 0);
    int tgt = ut_node(g, "Concat", 13, (int[]){cu, neg}, 2, "tgt", &ax, 1);
    int r = ut_node(g, "Reshape", 13, (int[]){x, tgt}, 2, "r", NULL, 0);
    int64_t bshape[3] = {3, 1, 1};
    int ak3 = ut_node(g, "Reshape", 13, (int[]){ak, constant(g, "s3", EMBER_DT_INT64, 1, &three, bshape)}, 2, "ak3", NULL, 0);
    int y = ut_node(g, "Add", 13, (int[]){ut_node(g, "Reshape", 13, (int[]){r, constant(g, "s4", EMBER_DT_INT64, 1, &three, (int64_t[]){3, 4, 5})}, 2, "r3", NULL, 0), ak3}, 2, "y", NULL, 0);
    ut_output(g, y);
    /* 128 MiB of zeros: stays a run-time node. */
    int64_t big[2] = {1 << 12, 1 << 13};
    int bs = constant(g, "bigshape", EMBER_DT_INT64, 1, (int64_t[]){2}, big);
    int z = ut_node(g, "ConstantOfShape", 13, &bs, 1, "z", NULL, 0);
    int zs = ut_node(g, "ReduceSum", 13, &z, 1, "zs", NULL, 0);
    ut_output(g, zs);
}

Test(passes, fold_constants_and_static_shape_chains, .timeout = 60)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_fold, EMBER_PASS_FOLD, &st, &before);
    /* Constant, Mul, Shape, Gather, Unsqueeze, Concat, the ak Reshape fold. */
    cr_expect_eq(st.removed, 7);
    cr_expect_eq(passes_count_op(g, EMBER_OP_CONSTANT), 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_SHAPE), 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_CONSTANT_OF_SHAPE), 1);
    int tgt = ember_graph_find(g, "tgt");
    cr_assert(ember_value_is_const(g, tgt));
    const int64_t *t = g->values[tgt].data;
    cr_expect(t[0] == 3 && t[1] == -1);
    /* The reshapes after it now have static shapes. */
    const ember_value *r = &g->values[ember_graph_find(g, "r")];
    cr_expect(r->shape.rank == 2 && r->shape.dims[0] == 3 && r->shape.dims[1] == 20);
    ember_graph_free(g);
}

/* ---- DCE ---- */

static void build_dce(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4);
    int64_t five = 5;
    int unused_w = weights(g, "unused_w", 1, &five, 1.0f);
    int dead = ut_node(g, "Relu", 13, &x, 1, "dead", NULL, 0);
    ut_node(g, "Mul", 13, (int[]){dead, unused_w}, 2, "dead2", NULL, 0);
    int y = ut_node(g, "Sigmoid", 13, &x, 1, "y", NULL, 0);
    ut_output(g, y);
}

Test(passes, dce_removes_unreachable_nodes_and_drops_constants)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_dce, EMBER_PASS_DCE, &st, &before);
    cr_expect_eq(st.removed, 2);
    cr_expect_eq(st.changed, 1);
    cr_expect_eq(g->n_nodes, 1);
    const ember_value *w = &g->values[ember_graph_find(g, "unused_w")];
    cr_expect(w->data == NULL && !(w->flags & EMBER_VALUE_CONST));
    ember_graph_free(g);
}

/* ---- CSE ---- */

static void build_cse(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4);
    int64_t wd[4] = {2, 3, 1, 1};
    int w1 = weights(g, "w1", 4, wd, 0.0f), w2 = weights(g, "w2", 4, wd, 0.0f); /* equal bytes */
    int64_t one[2] = {1, 1}, zero4[4] = {0, 0, 0, 0};
    ember_attr a1[2] = {ints("strides", one, 2), ints("pads", zero4, 4)};
    ember_attr a2[2] = {ints("pads", zero4, 4), ints("strides", one, 2)}; /* same, other order */
    int c1 = ut_node(g, "Conv", 13, (int[]){x, w1}, 2, "c1", a1, 2);
    int c2 = ut_node(g, "Conv", 13, (int[]){x, w2}, 2, "c2", a2, 2);
    int64_t two[2] = {2, 2};
    ember_attr a3 = ints("strides", two, 2);
    int c3 = ut_node(g, "Conv", 13, (int[]){x, w1}, 2, "c3", &a3, 1); /* different attribute */
    int r1 = ut_node(g, "Relu", 13, &c1, 1, "r1", NULL, 0), r2 = ut_node(g, "Relu", 13, &c2, 1, "r2", NULL, 0);
    ut_output(g, ut_node(g, "Add", 13, (int[]){r1, r2}, 2, "y", NULL, 0));
    ut_output(g, ut_node(g, "Relu", 13, &c3, 1, "y3", NULL, 0));
    ut_output(g, ut_node(g, "Relu", 13, &c3, 1, "y4", NULL, 0)); /* pinned: stays despite being equal */
}

Test(passes, cse_merges_equal_constants_and_nodes)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_cse, EMBER_PASS_CSE, &st, &before);
    cr_expect_eq(st.removed, 2); /* c2 and r2 */
    cr_expect_eq(st.changed, 1); /* w2 */
    cr_expect_eq(passes_count_op(g, EMBER_OP_CONV), 2);
    cr_expect_eq(passes_count_op(g, EMBER_OP_RELU), 3);
    ember_graph_free(g);
}

/* 200,000 nodes: a chain with every link duplicated, plus equal constants. */
static void build_big(ember_graph *g)
{
    int64_t d[1] = {4};
    int x = ut_input(g, "x", 1, d), cur = x;
    char name[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(name, sizeof name, "k%d", i);
        int k = constant(g, name, EMBER_DT_FLOAT, 1, d, (float[]){1, 2, 3, 4});
        snprintf(name, sizeof name, "a%d", i);
        int a = ut_node(g, "Add", 13, (int[]){cur, k}, 2, name, NULL, 0);
        snprintf(name, sizeof name, "b%d", i);
        int b = ut_node(g, "Add", 13, (int[]){cur, k}, 2, name, NULL, 0);
        snprintf(name, sizeof name, "m%d", i);
        int m = ut_node(g, "Mul", 13, (int[]){a, b}, 2, name, NULL, 0);
        snprintf(name, sizeof name, "t%d", i);
        cur = ut_node(g, "Tanh", 13, &m, 1, name, NULL, 0);
    }
    ut_output(g, cur);
}

Test(passes, optimizer_scales_to_200k_nodes, .timeout = 120)
{
    ember_graph *g = begin();
    build_big(g);
    ut_graph_finish(g);
    cr_assert_eq(g->n_nodes, 200000);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ember_optimize_report r;
    cr_assert_eq(ember_graph_optimize(g, &r), EMBER_OK, "%s", ember_last_error());
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    /* CSE merges each pair of Adds; then every Tanh -> next Add pair becomes one chain. */
    cr_expect_eq(r.pass[EMBER_PASS_ELEMENTWISE].removed, 49999);
    cr_expect_eq(g->n_nodes, 150000 - 49999);
    cr_expect_eq(r.pass[EMBER_PASS_CSE].removed, 50000);
    cr_expect_eq(r.pass[EMBER_PASS_CSE].changed, 49999);
    cr_expect_lt(s, 20.0, "optimizing 200k nodes took %.1f s", s);
    ember_graph_free(g);
}

/* ---- BN folding ---- */

static int bn(ember_graph *g, int x, int64_t C, const char *out, float seed)
{
    char name[64];
    int p[4];
    const char *what[4] = {"scale", "bias", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s_%s", out, what[i]);
        p[i] = weights(g, name, 1, &C, seed + (float)i);
    }
    float *var = g->values[p[3]].data;
    for (int64_t c = 0; c < C; c++) var[c] = 0.5f + var[c] * var[c];
    ember_attr eps = flt("epsilon", 1e-3f);
    return ut_node(g, "BatchNormalization", 13, (int[]){x, p[0], p[1], p[2], p[3]}, 5, out, &eps, 1);
}

static void build_bn(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4);
    int64_t wd[4] = {6, 3, 3, 3}, one[2] = {1, 1}, pads[4] = {1, 1, 1, 1};
    int w = weights(g, "w", 4, wd, 0.3f); /* shared by two convs: copied, not changed */
    int64_t six = 6;
    int b = weights(g, "b", 1, &six, 0.9f);
    ember_attr at[2] = {ints("strides", one, 2), ints("pads", pads, 4)};
    int c1 = ut_node(g, "Conv", 13, (int[]){x, w, b}, 3, "c1", at, 2);
    int c2 = ut_node(g, "Conv", 13, (int[]){x, w}, 2, "c2", at, 2);
    int y1 = bn(g, c1, 6, "y1", 1.0f), y2 = bn(g, c2, 6, "y2", 2.0f);
    ut_output(g, y1);
    int s = ut_node(g, "Add", 13, (int[]){y1, y2}, 2, "s", NULL, 0);
    /* [1, 120] -> Gemm(transB) -> BN; MatMul -> BN; MatMul + Add -> BN */
    int64_t gd[2] = {8, 120}, md[2] = {120, 8}, eight = 8;
    ember_attr fa = int1("axis", 1);
    int f = ut_node(g, "Flatten", 13, &s, 1, "f", &fa, 1);
    ember_attr ga[3] = {int1("transB", 1), flt("beta", 0.5f), flt("alpha", 1.5f)};
    int gm = ut_node(g, "Gemm", 13, (int[]){f, weights(g, "gw", 2, gd, 0.1f), weights(g, "gc", 1, &eight, 0.2f)}, 3, "gm", ga, 3);
    ut_output(g, bn(g, gm, 8, "y3", 3.0f));
    int mm = ut_node(g, "MatMul", 13, (int[]){f, weights(g, "mw", 2, md, 0.4f)}, 2, "mm", NULL, 0);
    ut_output(g, bn(g, mm, 8, "y4", 4.0f));
    int mm2 = ut_node(g, "MatMul", 13, (int[]){f, weights(g, "mw2", 2, md, 0.5f)}, 2, "mm2", NULL, 0);
    int ad = ut_node(g, "Add", 13, (int[]){weights(g, "ab", 2, (int64_t[]){1, 8}, 0.6f), mm2}, 2, "ad", NULL, 0);
    ut_output(g, bn(g, ad, 8, "y5", 5.0f));
}

Test(passes, bn_folds_into_conv_gemm_matmul)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_bn, EMBER_PASS_BN_FOLD, &st, &before);
    cr_expect_eq(st.removed, 4); /* conv x2, gemm, matmul+add */
    cr_expect_eq(st.changed, 1); /* matmul: the BN became an Add */
    cr_expect_eq(passes_count_op(g, EMBER_OP_BATCH_NORMALIZATION), 0);
    /* The shared weight was copied for the first conv; then the second owned it alone. */
    const ember_node *c1 = &g->nodes[g->values[ember_graph_find(g, "y1")].producer];
    const ember_node *c2 = &g->nodes[g->values[ember_graph_find(g, "y2")].producer];
    cr_assert(c1->op == EMBER_OP_CONV && c2->op == EMBER_OP_CONV);
    cr_expect_neq(c1->inputs[1], c2->inputs[1]);
    cr_expect_eq(c2->n_inputs, 3, "a bias was added");
    ember_graph_free(g);
}

/* ---- transpose / reshape ---- */

static void build_reshape(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4);
    int64_t p1[4] = {0, 2, 3, 1}, p2[4] = {0, 3, 1, 2}, p3[4] = {1, 0, 2, 3};
    ember_attr a1 = ints("perm", p1, 4), a2 = ints("perm", p2, 4), a3 = ints("perm", p3, 4);
    int t1 = ut_node(g, "Transpose", 13, &x, 1, "t1", &a1, 1);
    int t2 = ut_node(g, "Transpose", 13, &t1, 1, "t2", &a2, 1); /* cancels t1 */
    int t3 = ut_node(g, "Transpose", 13, &t2, 1, "t3", &a1, 1);
    int t4 = ut_node(g, "Transpose", 13, &t3, 1, "t4", &a3, 1); /* composes with t3 */
    ut_output(g, ut_node(g, "Relu", 13, &t4, 1, "y", NULL, 0));
    int64_t four = 4, s1[4] = {3, 20, 1, 1}, two = 2;
    int r1 = ut_node(g, "Reshape", 13, (int[]){x, constant(g, "s1", EMBER_DT_INT64, 1, &four, s1)}, 2, "r1", NULL, 0);
    int sq = ut_node(g, "Squeeze", 13, (int[]){r1, constant(g, "ax", EMBER_DT_INT64, 1, &two, (int64_t[]){2, 3})}, 2, "sq", NULL, 0);
    ember_attr fa = int1("axis", 0);
    int fl = ut_node(g, "Flatten", 13, &sq, 1, "fl", &fa, 1);
    ut_output(g, ut_node(g, "Sigmoid", 13, &fl, 1, "y2", NULL, 0));
    int64_t one = 1;
    int un = ut_node(g, "Unsqueeze", 13, (int[]){x, constant(g, "ax0", EMBER_DT_INT64, 1, &one, (int64_t[]){0})}, 2, "un", NULL, 0);
    int back = ut_node(g, "Squeeze", 13, (int[]){un, constant(g, "ax1", EMBER_DT_INT64, 1, &one, (int64_t[]){0})}, 2, "back", NULL, 0);
    ut_output(g, ut_node(g, "Tanh", 13, &back, 1, "y3", NULL, 0));
}

Test(passes, transposes_and_reshape_chains_collapse)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_reshape, EMBER_PASS_RESHAPE, &st, &before);
    cr_expect_eq(st.removed, 2); /* t2, back */
    cr_expect_eq(st.changed, 3); /* t4, sq, fl */
    ember_pass_stats d = {0, 0};
    cr_assert_eq(ember_pass_dce(g, &d), EMBER_OK);
    cr_expect_eq(passes_count_op(g, EMBER_OP_TRANSPOSE), 1);
    cr_expect_eq(passes_count_op(g, EMBER_OP_SQUEEZE) + passes_count_op(g, EMBER_OP_UNSQUEEZE), 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_FLATTEN), 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_RESHAPE), 1);
    const ember_node *t = &g->nodes[g->values[g->nodes[g->values[ember_graph_find(g, "y")].producer].inputs[0]].producer];
    const int64_t *perm;
    cr_assert_eq(ember_attr_ints(t, "perm", &perm), 4);
    cr_expect(perm[0] == 2 && perm[1] == 0 && perm[2] == 3 && perm[3] == 1);
    ember_graph_free(g);
}

/* A Transpose that moves only size-1 dims is a Reshape (a view); one that reorders
 * dims larger than 1 is not. */
static void build_unit_transposes(ember_graph *g)
{
    int64_t d[4] = {3, 1, 1, 5};
    int x = ut_input(g, "x", 4, d);
    int64_t p1[4] = {1, 0, 2, 3}, p2[4] = {2, 1, 3, 0};
    ember_attr a1 = ints("perm", p1, 4), a2 = ints("perm", p2, 4);
    int t1 = ut_node(g, "Transpose", 13, &x, 1, "t1", &a1, 1); /* [1, 3, 1, 5] */
    ut_output(g, ut_node(g, "Relu", 13, &t1, 1, "y", NULL, 0));
    int t2 = ut_node(g, "Transpose", 13, &x, 1, "t2", &a2, 1); /* [1, 1, 5, 3] */
    ut_output(g, ut_node(g, "Tanh", 13, &t2, 1, "y2", NULL, 0));
}

Test(passes, unit_dim_transposes_become_reshapes)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_unit_transposes, EMBER_PASS_RESHAPE, &st, &before);
    cr_expect_eq(st.changed, 1);
    cr_expect_eq(passes_count_op(g, EMBER_OP_TRANSPOSE), 1);
    cr_expect_eq(passes_count_op(g, EMBER_OP_RESHAPE), 1);
    const ember_node *r = &g->nodes[g->values[g->nodes[g->values[ember_graph_find(g, "y")].producer].inputs[0]].producer];
    cr_expect_eq(r->op, EMBER_OP_RESHAPE);
    ember_graph_free(g);
}

/* ---- the driver ---- */

Test(passes, optimize_all_at_once)
{
    int before;
    ember_graph *g = apply(build_bn, -1, NULL, &before);
    cr_expect_eq(passes_count_op(g, EMBER_OP_BATCH_NORMALIZATION), 0);
    ember_graph_free(g);
    g = apply(build_fold, -1, NULL, &before);
    cr_expect_eq(g->n_nodes, 4); /* Reshape, Add, ConstantOfShape, ReduceSum */
    ember_graph_free(g);
}

/* ---- LayerNormalization recognition ---- */

/* Which decomposition build_ln writes: bit 0 squares with Mul(d, d) instead of Pow,
 * bit 1 divides through Reciprocal + Mul, bit 2 leaves out gamma and beta, bit 3 makes
 * the deviation a graph output too (then nothing may change). */
static int ln_variant;

static void build_ln(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4);
    int64_t one = 1, last[1] = {-1}, five = 5;
    ember_attr ax = ints("axes", last, 1);
    int m = ut_node(g, "ReduceMean", 13, &x, 1, "m", &ax, 1);
    int d = ut_node(g, "Sub", 13, (int[]){x, m}, 2, "d", NULL, 0);
    int two = constant(g, "two", EMBER_DT_FLOAT, 0, &one, (float[]){2.0f});
    int q = ln_variant & 1 ? ut_node(g, "Mul", 13, (int[]){d, d}, 2, "q", NULL, 0)
                           : ut_node(g, "Pow", 13, (int[]){d, two}, 2, "q", NULL, 0);
    int v = ut_node(g, "ReduceMean", 13, &q, 1, "v", &ax, 1);
    int eps = constant(g, "eps", EMBER_DT_FLOAT, 0, &one, (float[]){1e-5f});
    int ve = ut_node(g, "Add", 13, (int[]){v, eps}, 2, "ve", NULL, 0);
    int s = ut_node(g, "Sqrt", 13, &ve, 1, "s", NULL, 0);
    int n;
    if (ln_variant & 2) {
        int r = ut_node(g, "Reciprocal", 13, &s, 1, "r", NULL, 0);
        n = ut_node(g, "Mul", 13, (int[]){r, d}, 2, "n", NULL, 0);
    } else {
        n = ut_node(g, "Div", 13, (int[]){d, s}, 2, "n", NULL, 0);
    }
    if (!(ln_variant & 4)) {
        int gamma = weights(g, "gamma", 1, &five, 0.3f), beta = weights(g, "beta", 1, &five, 1.1f);
        int sc = ut_node(g, "Mul", 13, (int[]){gamma, n}, 2, "sc", NULL, 0);
        n = ut_node(g, "Add", 13, (int[]){sc, beta}, 2, "y", NULL, 0);
    }
    ut_output(g, ut_node(g, "Relu", 13, &n, 1, "out", NULL, 0));
    if (ln_variant & 8) ut_output(g, d);
}

Test(passes, layernorm_decompositions_recognized)
{
    for (ln_variant = 0; ln_variant < 8; ln_variant++) {
        ember_pass_stats st = {0, 0};
        int before;
        ember_graph *g = apply(build_ln, EMBER_PASS_LAYERNORM, &st, &before);
        cr_expect_eq(st.changed, 1, "variant %d", ln_variant);
        cr_expect_eq(passes_count_op(g, EMBER_OP_LAYER_NORMALIZATION), 1, "variant %d", ln_variant);
        cr_expect_eq(g->n_nodes, 2, "variant %d: LayerNormalization + Relu", ln_variant);
        const ember_node *ln = &g->nodes[0];
        cr_expect_eq(ember_attr_int(ln, "axis", 0), 3);
        cr_expect_float_eq(ember_attr_float(ln, "epsilon", 0), 1e-5f, 1e-12);
        cr_expect_eq(ln->n_inputs, ln_variant & 4 ? 2 : 3);
        ember_graph_free(g);
    }
    ln_variant = 8; /* the deviation is read outside the pattern */
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_ln, EMBER_PASS_LAYERNORM, &st, &before);
    cr_expect_eq(st.changed, 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_LAYER_NORMALIZATION), 0);
    ember_graph_free(g);
}

/* ---- GELU recognition, and its fusion after MatMul + bias ---- */

/* build_gelu's spelling: bits 0-1 the product order (0: (x * a) * 0.5, 1: (a * 0.5) * x,
 * 2: (x * 0.5) * a), bit 2 Mul by 1/sqrt 2 instead of Div by sqrt 2, bit 3 the tanh
 * approximation (bit 2 then cubes with Mul(Mul(x, x), x) instead of Pow). */
static int gelu_variant;

static int scalar(ember_graph *g, const char *name, float v)
{
    int64_t one = 1;
    return constant(g, name, EMBER_DT_FLOAT, 0, &one, &v);
}

static int gelu_tail(ember_graph *g, int x, int c)
{
    int a = ut_node(g, "Add", 13, (int[]){scalar(g, "one", 1.0f), c}, 2, "a", NULL, 0);
    int half = scalar(g, "half", 0.5f);
    switch (gelu_variant & 3) {
    case 0: return ut_node(g, "Mul", 13, (int[]){ut_node(g, "Mul", 13, (int[]){x, a}, 2, "xa", NULL, 0), half}, 2, "y", NULL, 0);
    case 1: return ut_node(g, "Mul", 13, (int[]){x, ut_node(g, "Mul", 13, (int[]){a, half}, 2, "ah", NULL, 0)}, 2, "y", NULL, 0);
    default: return ut_node(g, "Mul", 13, (int[]){ut_node(g, "Mul", 13, (int[]){half, x}, 2, "xh", NULL, 0), a}, 2, "y", NULL, 0);
    }
}

static void build_gelu(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4);
    int c;
    if (gelu_variant & 8) {
        int cube = gelu_variant & 4
                       ? ut_node(g, "Mul", 13, (int[]){ut_node(g, "Mul", 13, (int[]){x, x}, 2, "x2", NULL, 0), x}, 2, "x3", NULL, 0)
                       : ut_node(g, "Pow", 13, (int[]){x, scalar(g, "three", 3.0f)}, 2, "x3", NULL, 0);
        int q = ut_node(g, "Mul", 13, (int[]){scalar(g, "k1", 0.044715f), cube}, 2, "q", NULL, 0);
        int s = ut_node(g, "Add", 13, (int[]){x, q}, 2, "s", NULL, 0);
        int w = ut_node(g, "Mul", 13, (int[]){s, scalar(g, "k0", 0.7978845608f)}, 2, "w", NULL, 0);
        c = ut_node(g, "Tanh", 13, &w, 1, "c", NULL, 0);
    } else {
        int u = gelu_variant & 4 ? ut_node(g, "Mul", 13, (int[]){x, scalar(g, "r2", 0.70710678f)}, 2, "u", NULL, 0)
                                 : ut_node(g, "Div", 13, (int[]){x, scalar(g, "s2", 1.41421356f)}, 2, "u", NULL, 0);
        c = ut_node(g, "Erf", 13, &u, 1, "c", NULL, 0);
    }
    ut_output(g, ut_node(g, "Neg", 13, (int[]){gelu_tail(g, x, c)}, 1, "out", NULL, 0));
}

Test(passes, gelu_spellings_recognized)
{
    for (gelu_variant = 0; gelu_variant < 16; gelu_variant++) {
        if ((gelu_variant & 3) == 3) continue;
        ember_pass_stats st = {0, 0};
        int before;
        ember_graph *g = apply(build_gelu, EMBER_PASS_GELU, &st, &before);
        cr_expect_eq(st.changed, 1, "variant %d", gelu_variant);
        cr_expect_eq(g->n_nodes, 2, "variant %d: Gelu + Neg", gelu_variant);
        cr_assert_eq(g->nodes[0].op, EMBER_OP_GELU, "variant %d", gelu_variant);
        cr_expect_str_eq(ember_attr_string(&g->nodes[0], "approximate", ""), gelu_variant & 8 ? "tanh" : "none");
        cr_expect_str_eq(g->values[g->nodes[0].outputs[0]].name, "y");
        ember_graph_free(g);
    }
}

/* MatMul on a rank-3 input + bias + GELU spelled out, twice (second with SiLU). */
static void build_ffn(ember_graph *g)
{
    int64_t xd[3] = {2, 3, 4}, wd[2] = {4, 6}, n = 6, w2d[2] = {6, 5}, n2 = 5;
    int x = ut_input(g, "x", 3, xd);
    int m = ut_node(g, "MatMul", 13, (int[]){x, weights(g, "w", 2, wd, 0.2f)}, 2, "m", NULL, 0);
    int h = ut_node(g, "Add", 13, (int[]){weights(g, "b", 1, &n, 0.7f), m}, 2, "h", NULL, 0);
    int u = ut_node(g, "Div", 13, (int[]){h, scalar(g, "s2", 1.41421356f)}, 2, "u", NULL, 0);
    int c = ut_node(g, "Erf", 13, &u, 1, "c", NULL, 0);
    int a = ut_node(g, "Add", 13, (int[]){c, scalar(g, "one", 1.0f)}, 2, "a", NULL, 0);
    int y = ut_node(g, "Mul", 13, (int[]){ut_node(g, "Mul", 13, (int[]){h, a}, 2, "ha", NULL, 0), scalar(g, "half", 0.5f)}, 2, "y", NULL, 0);
    int m2 = ut_node(g, "MatMul", 13, (int[]){y, weights(g, "w2", 2, w2d, 0.5f)}, 2, "m2", NULL, 0);
    int h2 = ut_node(g, "Add", 13, (int[]){m2, weights(g, "b2", 1, &n2, 0.1f)}, 2, "h2", NULL, 0);
    int s = ut_node(g, "Sigmoid", 13, &h2, 1, "sg", NULL, 0);
    ut_output(g, ut_node(g, "Mul", 13, (int[]){h2, s}, 2, "out", NULL, 0));
}

Test(passes, matmul_bias_gelu_silu_fuse_into_gemm)
{
    int before;
    ember_graph *g = apply(build_ffn, -1, NULL, &before);
    cr_expect_eq(passes_count_op(g, EMBER_OP_MATMUL), 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_GEMM), 2);
    cr_expect_eq(passes_count_op(g, EMBER_OP_GELU), 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_ERF) + passes_count_op(g, EMBER_OP_SIGMOID), 0);
    cr_expect_eq(passes_count_op(g, EMBER_OP_ADD) + passes_count_op(g, EMBER_OP_MUL), 0);
    int acts = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const char *a = ember_attr_string(&g->nodes[i], "ember_activation", NULL);
        if (!a) continue;
        acts++;
        cr_expect(strcmp(a, "Gelu") == 0 || strcmp(a, "SiLU") == 0, "%s", a);
    }
    cr_expect_eq(acts, 2);
    ember_graph_free(g);
}

/* ---- elementwise chains ---- */

static void build_chain(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4), z = ut_input(g, "z", 4, D4);
    int a = ut_node(g, "Mul", 13, (int[]){x, scalar(g, "k", 1.5f)}, 2, "a", NULL, 0);
    int b = ut_node(g, "Sub", 13, (int[]){scalar(g, "one", 1.0f), a}, 2, "b", NULL, 0); /* swapped sides */
    int c = ut_node(g, "Add", 13, (int[]){b, z}, 2, "c", NULL, 0);                      /* same-shape tensor */
    int d = ut_node(g, "Sigmoid", 13, &c, 1, "d", NULL, 0);
    int e = ut_node(g, "Div", 13, (int[]){z, d}, 2, "e", NULL, 0);
    int f = ut_node(g, "Clip", 13, (int[]){e, scalar(g, "lo", -0.5f), scalar(g, "hi", 2.0f)}, 3, "f", NULL, 0);
    ut_output(g, f);
    ut_output(g, ut_node(g, "Exp", 13, &f, 1, "h", NULL, 0)); /* f is an output: the chain stops there */
}

Test(passes, elementwise_chains_become_one_loop)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_chain, EMBER_PASS_ELEMENTWISE, &st, &before);
    cr_expect_eq(st.changed, 1);
    cr_expect_eq(st.removed, 5);
    cr_assert_eq(g->n_nodes, 2);
    cr_expect_eq(g->nodes[0].op, EMBER_OP_EMBER_ELEMENTWISE_CHAIN);
    cr_expect_eq(g->nodes[0].n_inputs, 2); /* x, z */
    cr_expect_str_eq(g->values[g->nodes[0].outputs[0]].name, "f");
    cr_expect_eq(g->nodes[1].op, EMBER_OP_EXP);
    ember_graph_free(g);
}

/* ---- transpose sinking ---- */

/* x -> Transpose p -> Relu -> Add bias[3] -> Mul 0.5 -> Max(c[1,4,5,3], .) -> Transpose p^-1
 * -> Sigmoid: the two Transposes meet and cancel. Sub(Transpose(x2), Transpose(x3)) -> Exp:
 * one Transpose instead of two, last. A LeakyRelu over a Transpose that is also a graph
 * output stays put. */
static void build_sink(ember_graph *g)
{
    int x = ut_input(g, "x", 4, D4), x2 = ut_input(g, "x2", 4, D4), x3 = ut_input(g, "x3", 4, D4);
    int64_t p[4] = {0, 2, 3, 1}, q[4] = {0, 3, 1, 2}, three = 3, full[4] = {1, 4, 5, 3}, one = 1;
    ember_attr ap = ints("perm", p, 4), aq = ints("perm", q, 4);
    int t1 = ut_node(g, "Transpose", 13, &x, 1, "t1", &ap, 1);
    int r = ut_node(g, "Relu", 13, &t1, 1, "r", NULL, 0);
    int a = ut_node(g, "Add", 13, (int[]){r, weights(g, "bias", 1, &three, 0.3f)}, 2, "a", NULL, 0);
    int m = ut_node(g, "Mul", 13, (int[]){a, constant(g, "half", EMBER_DT_FLOAT, 1, &one, (float[]){0.5f})}, 2, "m", NULL, 0);
    int mx = ut_node(g, "Max", 13, (int[]){weights(g, "floor", 4, full, 1.1f), m}, 2, "mx", NULL, 0);
    int t2 = ut_node(g, "Transpose", 13, &mx, 1, "t2", &aq, 1);
    ut_output(g, ut_node(g, "Sigmoid", 13, &t2, 1, "y", NULL, 0));
    int u1 = ut_node(g, "Transpose", 13, &x3, 1, "u1", &ap, 1);
    int u2 = ut_node(g, "Transpose", 13, &x2, 1, "u2", &ap, 1);
    int d = ut_node(g, "Sub", 13, (int[]){u2, u1}, 2, "d", NULL, 0);
    ut_output(g, ut_node(g, "Exp", 13, &d, 1, "y2", NULL, 0));
    int v = ut_node(g, "Transpose", 13, &x2, 1, "v", &aq, 1);
    ut_output(g, v);
    ember_attr al = flt("alpha", 0.2f);
    ut_output(g, ut_node(g, "LeakyRelu", 13, &v, 1, "y3", &al, 1));
}

Test(passes, transposes_sink_and_cancel)
{
    ember_pass_stats st = {0, 0};
    int before;
    ember_graph *g = apply(build_sink, EMBER_PASS_TRANSPOSE_SINK, &st, &before);
    /* Below r, a, m, mx; u1 + u2 below d (u1 goes), then below Exp; t2 below Sigmoid. */
    cr_expect_eq(st.changed, 7);
    cr_expect_eq(st.removed, 1);
    cr_expect_eq(passes_count_op(g, EMBER_OP_TRANSPOSE), 4);
    /* y2 is now Transpose(Exp(Sub(x2, x))): the Transpose moved past Sub, then Exp. */
    const ember_node *last = &g->nodes[g->values[ember_graph_find(g, "y2")].producer];
    cr_expect_eq(last->op, EMBER_OP_TRANSPOSE);
    /* LeakyRelu still reads the pinned Transpose output. */
    const ember_node *lr = &g->nodes[g->values[ember_graph_find(g, "y3")].producer];
    cr_expect_eq(lr->op, EMBER_OP_LEAKY_RELU);
    cr_expect_eq(lr->inputs[0], ember_graph_find(g, "v"));
    ember_graph_free(g);
    /* The whole optimizer: t1 and t2 cancel; results still equal (apply checks them). */
    g = apply(build_sink, -1, NULL, &before);
    cr_expect_eq(passes_count_op(g, EMBER_OP_TRANSPOSE), 2, "left: the one after Sub, and v");
    ember_graph_free(g);
}
