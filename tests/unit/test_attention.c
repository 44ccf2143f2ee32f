/* Attention fusion (engine/passes/attention.c, ops/attention.c, ops/host/attention.c):
 * the pass on hand-built BERT-style attention blocks (Div, Mul or no scalar; Sq != Sk;
 * Dv != D) against the interpreter on the unfused graph, the cases it must leave alone,
 * and the host fast path against the reference kernel (random shapes, 1-3 threads). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph_edit.h"
#include "engine/model.h"
#include "engine/passes.h"
#include "host_harness.h"

#include "passes_check.h"

/* The block's spelling: scale 0 none, 1 Div, 2 Mul (scalar first); the shapes; what
 * should stop the fusion (0 nothing, 1 Softmax over axis 2, 2 a wrong perm on k, 3 the
 * probabilities also a graph output). */
typedef struct attn_case {
    int scale, B, Sq, Sk, H, D, Dv, spoil;
} attn_case;

static int scalar(ember_graph *g, const char *name, float v)
{
    int x = ember_graph_add_value(g, name);
    ember_value *val = &g->values[x];
    val->flags = EMBER_VALUE_CONST;
    val->dtype = EMBER_DT_FLOAT;
    val->shape.rank = 0;
    val->nbytes = sizeof(float);
    val->data = ember_arena_alloc(&g->arena, sizeof(float));
    memcpy(val->data, &v, sizeof v);
    return x;
}

static ember_graph *build(const attn_case *c)
{
    ember_graph *g = ember_graph_new(NULL);
    g->opset = 13;
    int64_t qd[4] = {c->B, c->Sq, c->H, c->D}, kd[4] = {c->B, c->Sk, c->H, c->D}, vd[4] = {c->B, c->Sk, c->H, c->Dv};
    int q = ut_input(g, "q", 4, qd), k = ut_input(g, "k", 4, kd), v = ut_input(g, "v", 4, vd);
    int64_t hf[4] = {0, 2, 1, 3}, kl[4] = {0, 2, 3, 1}, bad[4] = {0, 2, 1, 3};
    ember_attr phf = {.name = "perm", .type = EMBER_ATTR_INTS, .ints = hf, .n = 4};
    ember_attr pkl = {.name = "perm", .type = EMBER_ATTR_INTS, .ints = c->spoil == 2 ? bad : kl, .n = 4};
    int qt = ut_node(g, "Transpose", 13, &q, 1, "qt", &phf, 1);
    int kt = ut_node(g, "Transpose", 13, &k, 1, "kt", &pkl, 1);
    if (c->spoil == 2) { /* k^T spelled with a second Transpose: not the pattern (until composed) */
        int64_t sw[4] = {0, 1, 3, 2};
        ember_attr psw = {.name = "perm", .type = EMBER_ATTR_INTS, .ints = sw, .n = 4};
        kt = ut_node(g, "Transpose", 13, &kt, 1, "kt2", &psw, 1);
    }
    int vt = ut_node(g, "Transpose", 13, &v, 1, "vt", &phf, 1);
    int s = ut_node(g, "MatMul", 13, (int[]){qt, kt}, 2, "s", NULL, 0);
    if (c->scale == 1) s = ut_node(g, "Div", 13, (int[]){s, scalar(g, "c", 8.0f)}, 2, "s2", NULL, 0);
    if (c->scale == 2) s = ut_node(g, "Mul", 13, (int[]){scalar(g, "c", 0.125f), s}, 2, "s2", NULL, 0);
    ember_attr axis = {.name = "axis", .type = EMBER_ATTR_INT, .i = c->spoil == 1 ? 2 : -1};
    int p = ut_node(g, "Softmax", 13, &s, 1, "p", &axis, 1);
    int o = ut_node(g, "MatMul", 13, (int[]){p, vt}, 2, "o", NULL, 0);
    int y = ut_node(g, "Transpose", 13, &o, 1, "y", &phf, 1);
    ut_output(g, y);
    if (c->spoil == 3) ut_output(g, p);
    ut_graph_finish(g);
    return g;
}

static void feed(const ember_graph *g, ember_op_tensor *t, ember_op_tensor **p)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const ember_value *v = &g->values[g->inputs[i]];
        ember_value_to_op_tensor(v, &t[i]);
        int64_t n = ember_shape_numel(&v->shape);
        float *d = malloc(sizeof(float) * (size_t)n);
        for (int64_t k = 0; k < n; k++) d[k] = 2.0f * sinf(0.37f * (float)k + (float)i);
        t[i].data = d;
        t[i].nbytes = sizeof(float) * (size_t)n;
        p[i] = &t[i];
    }
}

/* Runs the pass (and dce) on the case; checks the fusion happened or not, and the
 * interpreter's results against the unfused graph's. */
static void check_case(const attn_case *c, int want_fused)
{
    ember_graph *ref = build(c), *g = build(c);
    ember_pass_stats st = {0, 0};
    cr_assert_eq(ember_pass_attention(g, &st), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_pass_dce(g, &st), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_graph_infer(g), EMBER_OK, "%s", ember_last_error());
    char what[96];
    snprintf(what, sizeof what, "scale %d B%d Sq%d Sk%d H%d D%d Dv%d spoil %d", c->scale, c->B, c->Sq, c->Sk, c->H,
             c->D, c->Dv, c->spoil);
    cr_assert_eq(passes_count_op(g, EMBER_OP_EMBER_ATTENTION), want_fused, "%s", what);
    if (want_fused) {
        cr_expect_eq(g->n_nodes, 1, "%s: only the attention node is left", what);
        cr_expect_str_eq(g->values[g->outputs[0]].name, "y");
    }
    passes_check_interface(ref, g);
    ember_op_tensor t[3], *p[3];
    feed(ref, t, p);
    passes_outs a, b;
    passes_run(ref, p, 3, &a);
    passes_run(g, p, 3, &b);
    passes_compare(&a, &b, what);
    passes_outs_free(&a);
    passes_outs_free(&b);
    for (int i = 0; i < 3; i++) free(t[i].data);
    ember_graph_free(ref);
    ember_graph_free(g);
}

Test(attention, pass_fuses_bert_blocks)
{
    static const attn_case cases[] = {
        {1, 1, 64, 64, 2, 64, 64, 0}, /* bert_tiny_like */
        {2, 2, 7, 7, 3, 5, 5, 0},     /* Mul, scalar first */
        {0, 1, 5, 9, 2, 4, 4, 0},     /* no scalar, Sq != Sk */
        {1, 2, 6, 11, 1, 8, 3, 0},    /* Dv != D */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i], 1);
}

Test(attention, pass_leaves_other_blocks)
{
    static const attn_case cases[] = {
        {1, 1, 8, 8, 2, 4, 4, 1}, /* Softmax over the queries */
        {1, 1, 8, 8, 2, 4, 4, 2}, /* k^T through two Transposes */
        {1, 1, 8, 8, 2, 4, 4, 3}, /* the probabilities are an output too */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i], 0);
}

Test(attention, host_kernel_matches_reference)
{
    uint32_t rng = 31;
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_EMBER_ATTENTION, "attention");
    for (int it = 0; it < 40; it++) {
        int64_t B = ut_irand(&rng, 1, 2), Sq = ut_irand(&rng, 1, 70), Sk = ut_irand(&rng, 16, 90),
                H = ut_irand(&rng, 1, 4), D = ut_irand(&rng, 1, 40), Dv = it % 3 ? D : ut_irand(&rng, 1, 40);
        if (it == 0) B = 1, Sq = Sk = 64, H = 2, D = Dv = 64;
        int divide = it % 2, threads = ut_irand(&rng, 1, 3);
        float *q = ut_rand_buf(&rng, B * Sq * H * D, 2.0f), *kk = ut_rand_buf(&rng, B * Sk * H * D, 2.0f),
              *v = ut_rand_buf(&rng, B * Sk * H * Dv, 1.0f);
        harness_in ins[3] = {{.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {B, Sq, H, D}, .data = q},
                             {.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {B, Sk, H, D}, .data = kk},
                             {.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {B, Sk, H, Dv}, .data = v}};
        ember_attr attrs[2] = {harness_attr_float("scale", divide ? 3.0f : 0.4f), harness_attr_int("divide", divide)};
        ember_op_tensor ref, got;
        cr_assert_eq(harness_run("EmberAttention", 13, ins, 3, attrs, 2, &ref, 1), EMBER_OK, "%s", ember_last_error());
        cr_assert_eq(harness_run_host(k, "EmberAttention", ins, 3, attrs, 2, threads, &got), EMBER_OK, "%s",
                     ember_last_error());
        char what[160];
        snprintf(what, sizeof what, "B%lld Sq%lld Sk%lld H%lld D%lld Dv%lld divide %d threads %d", (long long)B,
                 (long long)Sq, (long long)Sk, (long long)H, (long long)D, (long long)Dv, divide, threads);
        ut_assert_op_close(&ref, &got, what, 1e-4f, 1e-5f, "attention");
        free(ref.data);
        free(got.data);
        free(q);
        free(kk);
        free(v);
    }
}
