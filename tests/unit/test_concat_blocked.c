/* In-place Concats kept in oneDNN's channel-blocked layout (engine/program.c,
 * mark_channel_blocks and chain_concat): a hand-built SqueezeNet fire module (squeeze
 * conv, 1x1 and 3x3 expand convs, channel Concat read by a conv and a MaxPool). With
 * every part's channel count a multiple of 16 the convs are marked to run blocked and
 * the Concat stays in place; with 24 + 24 channels nothing is marked (the plain
 * fallback). Either way the outputs must match the reference interpreter's. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "ember_onnx.pb-c.h"
#include "engine/program.h"
#include "onnx_build.h"

#define CAP 16

/* A float32 conv weight [m, c, k, k] of small pseudo-random values. */
static void weight(Onnx__GraphProto *g, const char *name, int64_t m, int64_t c, int64_t k)
{
    Onnx__TensorProto *t = P(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = S(name);
    t->has_data_type = 1;
    t->data_type = 1;
    t->n_dims = 4;
    t->dims = P(4 * sizeof(int64_t));
    t->dims[0] = m, t->dims[1] = c, t->dims[2] = k, t->dims[3] = k;
    size_t n = (size_t)(m * c * k * k);
    float *w = P(n * sizeof(float));
    for (size_t i = 0; i < n; i++) w[i] = (float)((i * 29 + (size_t)m * 7) % 41) / 80.0f - 0.25f;
    t->has_raw_data = 1;
    t->raw_data.len = n * sizeof(float);
    t->raw_data.data = (uint8_t *)w;
    g->initializer[g->n_initializer++] = t;
}

static void ints_attr(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = strcmp(name, "pads") == 0 ? 4 : 2;
    a->ints = P(4 * sizeof(int64_t));
    for (size_t i = 0; i < a->n_ints; i++) a->ints[i] = v;
}

/* x [1, 8, 10, 10] -> squeeze 16 -> expand e1 (1x1), e3 (3x3) -> c = Concat -> y1 = Conv(c),
 * y2 = Conv(MaxPool(c)). */
static ember_model *fire(int64_t e1, int64_t e3)
{
    Onnx__GraphProto *g = graph_new("fire", CAP);
    int64_t xd[4] = {1, 8, 10, 10};
    g->input[g->n_input++] = vi_float("x", 4, xd);
    weight(g, "ws", 16, 8, 1);
    weight(g, "w1", e1, 16, 1);
    weight(g, "w3", e3, 16, 3);
    weight(g, "wq", 16, e1 + e3, 1);
    weight(g, "wq2", 16, e1 + e3, 1);
    node_csv(g, "Conv", "x,ws", "s");
    node_csv(g, "Relu", "s", "sr");
    node_csv(g, "Conv", "sr,w1", "a");
    node_csv(g, "Relu", "a", "ar");
    ints_attr(node_csv(g, "Conv", "sr,w3", "b"), "pads", 1);
    node_csv(g, "Relu", "b", "br");
    Onnx__NodeProto *cat = node_csv(g, "Concat", "ar,br", "c");
    Onnx__AttributeProto *ax = attr(cat, "axis", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    ax->has_i = 1;
    ax->i = 1;
    node_csv(g, "Conv", "c,wq", "y1");
    Onnx__NodeProto *mp = node_csv(g, "MaxPool", "c", "m");
    ints_attr(mp, "kernel_shape", 3);
    ints_attr(mp, "strides", 2);
    node_csv(g, "Conv", "m,wq2", "y2");
    int64_t y1d[4] = {1, 16, 10, 10}, y2d[4] = {1, 16, 4, 4};
    g->output[g->n_output++] = vi_float("y1", 4, y1d);
    g->output[g->n_output++] = vi_float("y2", 4, y2d);
    return model_built_load(g, 13);
}

/* The cpu backend's outputs against the interpreter's: rtol 1e-4, atol 1e-5 (oneDNN
 * sums in another order). */
static void cpu_matches_interp(const ember_model *m)
{
    ember_tensor in, a[2], b[2];
    memset(&in, 0, sizeof in);
    in.dtype = EMBER_DT_FLOAT;
    in.rank = 4;
    in.dims[0] = 1, in.dims[1] = 8, in.dims[2] = 10, in.dims[3] = 10;
    in.nbytes = 800 * sizeof(float);
    float *x = malloc(in.nbytes);
    for (int e = 0; e < 800; e++) x[e] = (float)((e * 37) % 23) / 7.0f - 1.5f;
    in.data = x;
    ember_session *sc, *si;
    cr_assert_eq(ember_session_create(m, "cpu", &sc), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "interp", &si), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_run(sc, &in, 1, a, 2), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_run(si, &in, 1, b, 2), EMBER_OK, "%s", ember_last_error());
    for (int o = 0; o < 2; o++) {
        cr_assert_eq(a[o].nbytes, b[o].nbytes);
        const float *g = a[o].data, *r = b[o].data;
        size_t n = a[o].nbytes / sizeof(float), bad = 0;
        for (size_t i = 0; i < n; i++)
            if (!(fabs((double)g[i] - r[i]) <= 1e-5 + 1e-4 * fabs((double)r[i]))) bad++;
        cr_expect_eq(bad, 0, "output %d: %zu of %zu elements differ from the interpreter", o, bad, n);
        ember_tensor_release(&a[o]);
        ember_tensor_release(&b[o]);
    }
    free(x);
    ember_session_free(sc);
    ember_session_free(si);
}

/* How many of the program's convs are marked to run channel-blocked; checks the Concat
 * is assembled in place. */
static int marked_convs(const ember_model *m)
{
    ember_program *p;
    cr_assert_eq(ember_program_build(m, NULL, 0, NULL, &p), EMBER_OK, "%s", ember_last_error());
    int c = ember_graph_find(p->g, "c");
    cr_assert_geq(c, 0);
    cr_expect_eq(p->plan.view[c], 2, "the Concat is not assembled in place");
    int marked = 0;
    for (int ni = 0; ni < p->g->n_nodes; ni++)
        marked += p->g->nodes[ni].op == EMBER_OP_CONV && ember_node_attr(&p->g->nodes[ni], "ember_channel_blocks");
    /* Chained, the expand convs write their slices blocked: no dst reorder left to drop. */
    for (int ni = 0; marked && ni < p->n_steps; ni++) {
        const ember_node *n = &p->g->nodes[p->steps[ni].node];
        const ember_step *s = &p->steps[ni];
        if (n->n_outputs < 1 || n->outputs[0] < 0 || p->plan.part_of[n->outputs[0]] != c) continue;
        cr_assert(s->host && s->host->out_layout, "a Concat part is not written by oneDNN");
        cr_expect_eq(s->host->out_layout(s->host_state, 0), 0, "a Concat part is not written blocked");
    }
    ember_program_free(p);
    return marked;
}

Test(concat_blocked, fire_module_blocked)
{
    ember_model *m = fire(32, 16);
    cr_expect_eq(marked_convs(m), 5);
    cpu_matches_interp(m);
    ember_model_free(m);
}

Test(concat_blocked, fire_module_plain_fallback)
{
    ember_model *m = fire(24, 24);
    cr_expect_eq(marked_convs(m), 0);
    cpu_matches_interp(m);
    ember_model_free(m);
}
