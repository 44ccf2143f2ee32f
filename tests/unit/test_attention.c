/* Attention fusion (engine/passes/attention.c, ops/attention.c, ops/host/attention.c):
 * the pass on hand-built BERT-style attention blocks (Div, Mul or no scalar; Sq != Sk;
 * Dv != D; additive masks of every broadcast shape, as graph inputs, a constant causal
 * mask and HuggingFace's computed (1 - attention_mask) * -10000 / finfo.min chain)
 * against the interpreter on the unfused graph, the cases it must leave alone, the
 * mask's shape errors, and the host fast path against the reference kernel (random
 * shapes and masks, fully masked rows, 1-3 threads). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/graph_edit.h"
#include "engine/model.h"
#include "engine/passes.h"
#include "host_harness.h"

#include "passes_check.h"

/* The additive mask before the Softmax (always the value named "mask"). */
enum {
    M_NONE,
    M_PAD,    /* input [B, 1, 1, Sk] */
    M_CAUSAL, /* constant [1, 1, Sq, Sk]: -FLT_MAX above the diagonal */
    M_FULL,   /* input [B, H, Sq, Sk] */
    M_HF,     /* from an int64 attention_mask [B, Sk]: (1 - Cast(Unsqueeze(m, [1, 2]))) * -10000 */
    M_HF_MIN, /* the same times finfo(float32).min, as newer exports have it */
    M_ROWS,   /* input [Sq, Sk] (rank 2) */
    M_GROWS,  /* input [2, 1, 1, Sk] with B = 1: the Add would grow the scores */
    /* Where(cond, scores, fill) (or Where(cond, fill, scores) with mask_first), cond a bool
     * value named "mask": */
    M_WHERE_INF,     /* input [B, 1, 1, Sk], fill -inf */
    M_WHERE_MIN,     /* constant causal [1, 1, Sq, Sk], fill finfo.min */
    M_WHERE_10K,     /* input [B, 1, 1, Sk], fill -10000: not the sum of a mask, left alone */
};

/* The block's spelling: scale 0 none, 1 Div, 2 Mul (scalar first); the shapes; what
 * should stop the fusion (0 nothing, 1 Softmax over axis 2, 2 a wrong perm on k, 3 the
 * probabilities also a graph output, 4 the scalar after the mask's Add); the mask; and
 * whether the mask is the Add's first operand. */
typedef struct attn_case {
    int scale, B, Sq, Sk, H, D, Dv, spoil, mask, mask_first;
} attn_case;

static int constant(ember_graph *g, const char *name, ember_dtype dt, int rank, const int64_t *dims, const void *data)
{
    int x = ember_graph_add_value(g, name);
    ember_value *val = &g->values[x];
    val->flags = EMBER_VALUE_CONST;
    val->dtype = dt;
    val->shape.rank = rank;
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= val->shape.dims[d] = dims[d];
    val->nbytes = (size_t)n * ember_dtype_size(dt);
    val->data = ember_arena_alloc(&g->arena, val->nbytes);
    memcpy(val->data, data, val->nbytes);
    return x;
}

static int scalar(ember_graph *g, const char *name, float v) { return constant(g, name, EMBER_DT_FLOAT, 0, NULL, &v); }

/* The case's mask value (named "mask"); the nodes computing it in *n_nodes. */
static int build_mask(ember_graph *g, const attn_case *c, int *n_nodes)
{
    *n_nodes = 0;
    switch (c->mask) {
    case M_PAD: return ut_input(g, "mask", 4, (int64_t[]){c->B, 1, 1, c->Sk});
    case M_FULL: return ut_input(g, "mask", 4, (int64_t[]){c->B, c->H, c->Sq, c->Sk});
    case M_ROWS: return ut_input(g, "mask", 2, (int64_t[]){c->Sq, c->Sk});
    case M_GROWS: return ut_input(g, "mask", 4, (int64_t[]){2, 1, 1, c->Sk});
    case M_WHERE_INF:
    case M_WHERE_10K: {
        int x = ut_input(g, "mask", 4, (int64_t[]){c->B, 1, 1, c->Sk});
        g->values[x].dtype = EMBER_DT_BOOL;
        return x;
    }
    case M_WHERE_MIN: { /* keep (true) on and below the diagonal; masked_fill's sense flipped by mask_first */
        bool *m = malloc(sizeof(bool) * (size_t)(c->Sq * c->Sk));
        for (int i = 0; i < c->Sq; i++)
            for (int j = 0; j < c->Sk; j++) m[i * c->Sk + j] = (j <= i + c->Sk - c->Sq) != c->mask_first;
        int x = constant(g, "mask", EMBER_DT_BOOL, 4, (int64_t[]){1, 1, c->Sq, c->Sk}, m);
        free(m);
        return x;
    }
    case M_CAUSAL: {
        float *m = malloc(sizeof(float) * (size_t)(c->Sq * c->Sk));
        for (int i = 0; i < c->Sq; i++)
            for (int j = 0; j < c->Sk; j++) m[i * c->Sk + j] = j <= i + c->Sk - c->Sq ? 0.0f : -FLT_MAX;
        int x = constant(g, "mask", EMBER_DT_FLOAT, 4, (int64_t[]){1, 1, c->Sq, c->Sk}, m);
        free(m);
        return x;
    }
    case M_HF:
    case M_HF_MIN: {
        int am = ut_input(g, "attention_mask", 2, (int64_t[]){c->B, c->Sk});
        g->values[am].dtype = EMBER_DT_INT64;
        int axes = constant(g, "axes", EMBER_DT_INT64, 1, (int64_t[]){2}, (int64_t[]){1, 2});
        int u = ut_node(g, "Unsqueeze", 13, (int[]){am, axes}, 2, "ext", NULL, 0);
        ember_attr to = {.name = "to", .type = EMBER_ATTR_INT, .i = EMBER_DT_FLOAT};
        int f = ut_node(g, "Cast", 13, &u, 1, "ext_f", &to, 1);
        int inv = ut_node(g, "Sub", 13, (int[]){scalar(g, "one", 1.0f), f}, 2, "inv", NULL, 0);
        *n_nodes = 4;
        return ut_node(g, "Mul", 13, (int[]){inv, scalar(g, "big", c->mask == M_HF ? -10000.0f : -FLT_MAX)}, 2,
                       "mask", NULL, 0);
    }
    }
    return -1;
}

static ember_graph *build(const attn_case *c, int *mask_nodes)
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
    int mask = build_mask(g, c, mask_nodes);
    if (mask >= 0 && c->spoil == 4) s = ut_node(g, "Add", 13, (int[]){s, mask}, 2, "s3", NULL, 0);
    if (c->scale == 1) s = ut_node(g, "Div", 13, (int[]){s, scalar(g, "c", 8.0f)}, 2, "s2", NULL, 0);
    if (c->scale == 2) s = ut_node(g, "Mul", 13, (int[]){scalar(g, "c", 0.125f), s}, 2, "s2", NULL, 0);
    if (c->mask >= M_WHERE_INF) {
        float fill = c->mask == M_WHERE_INF ? -INFINITY : c->mask == M_WHERE_MIN ? -FLT_MAX : -10000.0f;
        int f = scalar(g, "fill", fill);
        s = ut_node(g, "Where", 16, c->mask_first ? (int[]){mask, f, s} : (int[]){mask, s, f}, 3, "s3", NULL, 0);
    } else if (mask >= 0 && c->spoil != 4) {
        s = ut_node(g, "Add", 13, c->mask_first ? (int[]){mask, s} : (int[]){s, mask}, 2, "s3", NULL, 0);
    }
    ember_attr axis = {.name = "axis", .type = EMBER_ATTR_INT, .i = c->spoil == 1 ? 2 : -1};
    int p = ut_node(g, "Softmax", 13, &s, 1, "p", &axis, 1);
    int o = ut_node(g, "MatMul", 13, (int[]){p, vt}, 2, "o", NULL, 0);
    int y = ut_node(g, "Transpose", 13, &o, 1, "y", &phf, 1);
    ut_output(g, y);
    if (c->spoil == 3) ut_output(g, p);
    ut_graph_finish(g);
    return g;
}

/* q, k, v: smooth values; a float mask: small biases with every fifth key at -10000 (no
 * row fully masked); attention_mask: batch b keeps its first Sk - 3b keys; a bool
 * condition: two keys of every three true. */
static void feed(const ember_graph *g, ember_op_tensor *t, ember_op_tensor **p)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const ember_value *v = &g->values[g->inputs[i]];
        ember_value_to_op_tensor(v, &t[i]);
        int64_t n = ember_shape_numel(&v->shape);
        t[i].nbytes = ember_dtype_size(v->dtype) * (size_t)n;
        t[i].data = malloc(t[i].nbytes);
        if (v->dtype == EMBER_DT_INT64) {
            int64_t *d = t[i].data, sk = v->shape.dims[1];
            for (int64_t k = 0; k < n; k++) d[k] = k % sk < sk - 3 * (k / sk);
        } else if (v->dtype == EMBER_DT_BOOL) { /* [B, 1, 1, Sk]: some keys of each batch */
            bool *d = t[i].data;
            for (int64_t k = 0; k < n; k++) d[k] = k % 3 != 1;
        } else {
            float *d = t[i].data;
            bool mask = strcmp(v->name, "mask") == 0;
            for (int64_t k = 0; k < n; k++)
                d[k] = mask && k % 5 == 0 ? -10000.0f : (mask ? 0.5f : 2.0f) * sinf(0.37f * (float)k + (float)i);
        }
        p[i] = &t[i];
    }
}

/* Runs the pass (and dce) on the case; checks the fusion happened or not, and the
 * interpreter's results against the unfused graph's. */
static void check_case(const attn_case *c, int want_fused)
{
    int mask_nodes;
    ember_graph *ref = build(c, &mask_nodes), *g = build(c, &mask_nodes);
    ember_pass_stats st = {0, 0};
    cr_assert_eq(ember_pass_attention(g, &st), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_pass_dce(g, &st), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_graph_infer(g), EMBER_OK, "%s", ember_last_error());
    char what[128];
    snprintf(what, sizeof what, "scale %d B%d Sq%d Sk%d H%d D%d Dv%d spoil %d mask %d%s", c->scale, c->B, c->Sq,
             c->Sk, c->H, c->D, c->Dv, c->spoil, c->mask, c->mask_first ? " first" : "");
    cr_assert_eq(passes_count_op(g, EMBER_OP_EMBER_ATTENTION), want_fused, "%s", what);
    if (want_fused) {
        int where = c->mask >= M_WHERE_INF;
        cr_expect_eq(g->n_nodes, 1 + mask_nodes + where, "%s: only the attention node (and the mask's) is left",
                     what);
        cr_expect_eq(passes_count_op(g, EMBER_OP_WHERE), where, "%s: the Where makes the mask", what);
        cr_expect_str_eq(g->values[g->outputs[0]].name, "y");
        for (int i = 0; i < g->n_nodes; i++) {
            const ember_node *n = &g->nodes[i];
            if (n->op != EMBER_OP_EMBER_ATTENTION) continue;
            cr_assert_eq(n->n_inputs, c->mask ? 4 : 3, "%s: attention inputs", what);
            if (c->mask && c->mask < M_WHERE_INF) cr_expect_str_eq(g->values[n->inputs[3]].name, "mask", "%s", what);
            if (c->mask >= M_WHERE_INF) { /* Where(cond, 0, fill) or Where(cond, fill, 0), of cond's shape */
                const ember_value *mv = &g->values[n->inputs[3]], *cv = &g->values[g->nodes[mv->producer].inputs[0]];
                cr_expect_str_eq(cv->name, "mask", "%s", what);
                cr_expect_eq(mv->shape.rank, cv->shape.rank, "%s", what);
                for (int d = 0; d < cv->shape.rank; d++) cr_expect_eq(mv->shape.dims[d], cv->shape.dims[d], "%s", what);
            }
        }
    } else if (c->mask) {
        cr_expect_eq(passes_count_op(g, c->mask >= M_WHERE_INF ? EMBER_OP_WHERE : EMBER_OP_ADD), 1,
                     "%s: the mask's node is still there", what);
    }
    passes_check_interface(ref, g);
    ember_op_tensor t[4], *p[4];
    cr_assert_leq(ref->n_inputs, 4);
    feed(ref, t, p);
    passes_outs a, b;
    passes_run(ref, p, ref->n_inputs, &a);
    passes_run(g, p, ref->n_inputs, &b);
    passes_compare(&a, &b, what);
    passes_outs_free(&a);
    passes_outs_free(&b);
    for (int i = 0; i < ref->n_inputs; i++) free(t[i].data);
    ember_graph_free(ref);
    ember_graph_free(g);
}

Test(attention, pass_fuses_bert_blocks)
{
    static const attn_case cases[] = {
        {1, 1, 64, 64, 2, 64, 64, 0, M_NONE, 0}, /* bert_tiny_like */
        {2, 2, 7, 7, 3, 5, 5, 0, M_NONE, 0},     /* Mul, scalar first */
        {0, 1, 5, 9, 2, 4, 4, 0, M_NONE, 0},     /* no scalar, Sq != Sk */
        {1, 2, 6, 11, 1, 8, 3, 0, M_NONE, 0},    /* Dv != D */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i], 1);
}

Test(attention, pass_fuses_masked_blocks)
{
    static const attn_case cases[] = {
        {1, 2, 20, 20, 2, 8, 8, 0, M_PAD, 0},    /* BERT's padding mask */
        {1, 2, 20, 20, 2, 8, 8, 0, M_PAD, 1},    /* Add(mask, scores) */
        {2, 1, 6, 9, 3, 4, 5, 0, M_CAUSAL, 0},   /* constant causal mask, Sq != Sk, Mul */
        {1, 2, 7, 17, 2, 4, 4, 0, M_FULL, 1},    /* the scores' own shape */
        {0, 2, 5, 6, 2, 4, 3, 0, M_FULL, 0},     /* no scalar */
        {1, 2, 16, 16, 2, 8, 8, 0, M_HF, 0},     /* HuggingFace's chain, -10000 */
        {1, 2, 16, 16, 2, 8, 8, 0, M_HF_MIN, 1}, /* ... finfo.min */
        {2, 1, 6, 10, 2, 4, 4, 0, M_ROWS, 0},    /* rank 2 */
        {1, 2, 18, 18, 2, 8, 8, 0, M_WHERE_INF, 0}, /* Where(cond, scores, -inf) */
        {2, 2, 18, 18, 2, 8, 8, 0, M_WHERE_INF, 1}, /* Where(cond, -inf, scores) */
        {1, 1, 9, 12, 2, 4, 4, 0, M_WHERE_MIN, 0},  /* causal constant, finfo.min */
        {1, 1, 9, 12, 2, 4, 4, 0, M_WHERE_MIN, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i], 1);
}

Test(attention, pass_leaves_other_blocks)
{
    static const attn_case cases[] = {
        {1, 1, 8, 8, 2, 4, 4, 1, M_NONE, 0}, /* Softmax over the queries */
        {1, 1, 8, 8, 2, 4, 4, 2, M_NONE, 0}, /* k^T through two Transposes */
        {1, 1, 8, 8, 2, 4, 4, 3, M_NONE, 0}, /* the probabilities are an output too */
        {1, 1, 8, 8, 2, 4, 4, 4, M_PAD, 0},   /* Add(scores, mask), then the scalar */
        {0, 1, 8, 8, 2, 4, 4, 0, M_GROWS, 0}, /* the mask broadcasts the scores to B = 2 */
        {1, 2, 8, 8, 2, 4, 4, 0, M_WHERE_10K, 0}, /* Where with a fill that is not absorbing */
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

/* Host path vs reference kernel with a mask (all through the 4th input): a mask shape per
 * iteration, and in the shapes that hold whole rows, row 0 of every (b, h) masked by
 * -10000 everywhere, row 1 by finfo(float32).min everywhere and row 2 by -inf everywhere.
 * Tolerance rtol 1e-4 / atol 1e-5, NaN matching NaN (the -inf rows are NaN in both, as
 * the unfused Softmax gives them), except the -10000 rows: there every score is rounded
 * to the float spacing at 10000 (2^-10), so the two sides' scores, which differ in the
 * products' summation order, may round a spacing apart; each probability is then known to
 * about 2^-10 relative, and those rows' outputs are checked within 2e-3 max|v| instead. */
Test(attention, host_kernel_matches_reference_masked)
{
    uint32_t rng = 77;
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_EMBER_ATTENTION, "attention");
    for (int it = 0; it < 36; it++) {
        int64_t B = ut_irand(&rng, 1, 2), Sq = ut_irand(&rng, 3, 40), Sk = ut_irand(&rng, 16, 70),
                H = ut_irand(&rng, 1, 3), D = ut_irand(&rng, 1, 32), Dv = it % 3 ? D : ut_irand(&rng, 1, 32);
        int shape = it % 6, divide = it % 2, threads = ut_irand(&rng, 1, 3);
        const int64_t md[6][4] = {{B, 1, 1, Sk}, {1, 1, Sq, Sk}, {B, H, Sq, Sk}, {B, 1, Sq, 1}, {Sq, Sk}, {0}};
        static const int mrank[6] = {4, 4, 4, 4, 2, 0};
        int rank = mrank[shape];
        const int64_t *mdims = md[shape];
        int64_t mn = 1;
        for (int d = 0; d < rank; d++) mn *= mdims[d];
        float *q = ut_rand_buf(&rng, B * Sq * H * D, 2.0f), *kk = ut_rand_buf(&rng, B * Sk * H * D, 2.0f),
              *v = ut_rand_buf(&rng, B * Sk * H * Dv, 1.0f), *m = ut_rand_buf(&rng, mn, 2.0f);
        /* some keys masked, where the mask has keys (a key-broadcast or scalar mask of -10000
         * would mask whole rows: those are the special rows below) */
        for (int64_t e = 0; rank > 0 && mdims[rank - 1] == Sk && e < mn; e += 7) m[e] = -10000.0f;
        /* whole rows: the row index i is the mask's second-to-last dim, keys the last */
        bool rows = (shape == 1 || shape == 2 || shape == 4);
        int64_t mrows = rows ? mn / Sk : 0;
        for (int64_t r = 0; r < mrows; r++) {
            int64_t i = r % Sq;
            for (int64_t j = 0; j < Sk && i < 3; j++)
                m[r * Sk + j] = i == 0 ? -10000.0f : i == 1 ? -FLT_MAX : -INFINITY;
        }
        harness_in ins[4] = {{.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {B, Sq, H, D}, .data = q},
                             {.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {B, Sk, H, D}, .data = kk},
                             {.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {B, Sk, H, Dv}, .data = v},
                             {.dtype = EMBER_DT_FLOAT, .rank = rank, .data = m}};
        for (int d = 0; d < rank; d++) ins[3].dims[d] = mdims[d];
        ember_attr attrs[2] = {harness_attr_float("scale", divide ? 3.0f : 0.4f), harness_attr_int("divide", divide)};
        ember_op_tensor ref, got;
        cr_assert_eq(harness_run("EmberAttention", 13, ins, 4, attrs, 2, &ref, 1), EMBER_OK, "%s", ember_last_error());
        cr_assert_eq(harness_run_host(k, "EmberAttention", ins, 4, attrs, 2, threads, &got), EMBER_OK, "%s",
                     ember_last_error());
        char what[160];
        snprintf(what, sizeof what, "B%lld Sq%lld Sk%lld H%lld D%lld Dv%lld mask shape %d divide %d threads %d",
                 (long long)B, (long long)Sq, (long long)Sk, (long long)H, (long long)D, (long long)Dv, shape,
                 divide, threads);
        float vmax = 0.0f;
        for (int64_t e = 0; e < B * Sk * H * Dv; e++) vmax = fmaxf(vmax, fabsf(v[e]));
        const float *a = ref.data, *b = got.data;
        int nan_rows = 0;
        for (int64_t e = 0; e < B * Sq * H * Dv; e++) {
            int64_t i = e / (H * Dv) % Sq;
            if (rows && i == 2) {
                cr_assert(isnan(a[e]) && isnan(b[e]), "%s: element %lld (a -inf row): reference %g, host %g", what,
                          (long long)e, a[e], b[e]);
                nan_rows++;
                continue;
            }
            float tol = rows && i == 0 ? 2e-3f * vmax : 1e-5f + 1e-4f * fabsf(a[e]);
            cr_assert(fabsf(a[e] - b[e]) <= tol, "%s: element %lld: reference %.8g, host %.8g", what, (long long)e,
                      a[e], b[e]);
        }
        cr_assert_eq(nan_rows > 0, rows, "%s", what);
        free(ref.data);
        free(got.data);
        free(q);
        free(kk);
        free(v);
        free(m);
    }
}

/* A row masked everywhere by finfo.min gives the uniform average of V (softmax of equal
 * values), on both sides: checked against the mean computed here. */
Test(attention, fully_masked_min_row_is_uniform)
{
    uint32_t rng = 5;
    int64_t B = 1, Sq = 4, Sk = 24, H = 2, D = 8, Dv = 8;
    float *q = ut_rand_buf(&rng, B * Sq * H * D, 2.0f), *kk = ut_rand_buf(&rng, B * Sk * H * D, 2.0f),
          *v = ut_rand_buf(&rng, B * Sk * H * Dv, 1.0f), m[4 * 24];
    for (int64_t e = 0; e < Sq * Sk; e++) m[e] = e < Sk ? -FLT_MAX : 0.0f;
    harness_in ins[4] = {{.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {B, Sq, H, D}, .data = q},
                         {.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {B, Sk, H, D}, .data = kk},
                         {.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {B, Sk, H, Dv}, .data = v},
                         {.dtype = EMBER_DT_FLOAT, .rank = 2, .dims = {Sq, Sk}, .data = m}};
    ember_attr attrs[2] = {harness_attr_float("scale", 8.0f), harness_attr_int("divide", 1)};
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_EMBER_ATTENTION, "attention");
    ember_op_tensor out[2];
    cr_assert_eq(harness_run("EmberAttention", 13, ins, 4, attrs, 2, &out[0], 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(harness_run_host(k, "EmberAttention", ins, 4, attrs, 2, 2, &out[1]), EMBER_OK, "%s",
                 ember_last_error());
    for (int side = 0; side < 2; side++) {
        const float *y = out[side].data; /* row i = 0 of both heads: y[0, 0, h, :] */
        for (int64_t h = 0; h < H; h++)
            for (int64_t e = 0; e < Dv; e++) {
                double mean = 0;
                for (int64_t j = 0; j < Sk; j++) mean += v[(j * H + h) * Dv + e];
                mean /= (double)Sk;
                cr_assert(fabs(y[h * Dv + e] - mean) <= 1e-5 + 1e-4 * fabs(mean), "%s h%lld e%lld: %g, mean %g",
                          side ? "host" : "reference", (long long)h, (long long)e, y[h * Dv + e], mean);
            }
        free(out[side].data);
    }
    free(q);
    free(kk);
    free(v);
}

/* A mask that does not broadcast to [B, H, Sq, Sk], or of the wrong type or rank, is a
 * clear error naming the shapes. */
Test(attention, mask_shape_errors)
{
    float buf[2 * 3 * 7 * 9] = {0};
    harness_in ins[4] = {{.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {1, 7, 2, 4}, .data = buf},
                         {.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {1, 9, 2, 4}, .data = buf},
                         {.dtype = EMBER_DT_FLOAT, .rank = 4, .dims = {1, 9, 2, 4}, .data = buf},
                         {.dtype = EMBER_DT_FLOAT, .rank = 4, .data = buf}};
    static const struct {
        int rank;
        int64_t dims[5];
        ember_dtype dt;
        const char *msg;
    } bad[] = {
        {4, {1, 1, 3, 9}, EMBER_DT_FLOAT, "mask 1x1x3x9 does not broadcast to the scores' 1x2x7x9"},
        {4, {2, 1, 1, 9}, EMBER_DT_FLOAT, "mask 2x1x1x9 does not broadcast"},
        {2, {7, 8}, EMBER_DT_FLOAT, "mask 7x8 does not broadcast"},
        {5, {1, 1, 1, 1, 9}, EMBER_DT_FLOAT, "mask 1x1x1x1x9 does not broadcast"},
        {4, {1, 1, 1, 9}, EMBER_DT_INT64, "mask of type int64 is not supported"},
    };
    ember_attr attrs[1] = {harness_attr_float("scale", 2.0f)};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ins[3].rank = bad[i].rank;
        ins[3].dtype = bad[i].dt;
        memcpy(ins[3].dims, bad[i].dims, sizeof bad[i].dims);
        ember_op_tensor out;
        cr_assert_neq(harness_run("EmberAttention", 13, ins, 4, attrs, 1, &out, 1), EMBER_OK, "case %zu ran", i);
        cr_expect(strstr(ember_last_error(), bad[i].msg) != NULL, "case %zu: %s", i, ember_last_error());
    }
    /* and a good one still runs */
    ins[3].rank = 4, ins[3].dtype = EMBER_DT_FLOAT;
    memcpy(ins[3].dims, (int64_t[4]){1, 2, 1, 9}, sizeof(int64_t) * 4);
    ember_op_tensor out;
    cr_assert_eq(harness_run("EmberAttention", 13, ins, 4, attrs, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    free(out.data);
}
