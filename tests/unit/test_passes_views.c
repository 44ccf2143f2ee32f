/* Zero-copy views and Concat parts (engine/plan.h) through the cpu backend: the planner
 * must place them as described, and the program's outputs must equal the interpreter's
 * bit for bit (only copies are skipped: no arithmetic changes). Hand-built ONNX models,
 * with edge cases: a Concat input read again after the Concat, a view of a Concat output,
 * a view whose input dies before the view's reader, and Concats that must not be split
 * (batch 2: slices not contiguous; a graph input as an input). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"
#include "ember_onnx.pb-c.h"
#include "engine/program.h"
#include "onnx_build.h"

#define CAP 16

static void shape_init(Onnx__GraphProto *g, const char *name, int n, const int64_t *v)
{
    Onnx__TensorProto *t = P(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = S(name);
    t->has_data_type = 1;
    t->data_type = 7; /* int64 */
    t->n_dims = 1;
    t->dims = P(sizeof(int64_t));
    t->dims[0] = n;
    t->has_raw_data = 1;
    t->raw_data.len = sizeof(int64_t) * (size_t)n;
    t->raw_data.data = memcpy(P(t->raw_data.len), v, t->raw_data.len);
    g->initializer[g->n_initializer++] = t;
}

/* Node `op` reading the comma-separated `ins`, writing `out`; axis >= -9 sets "axis". */
static void node(Onnx__GraphProto *g, const char *op, const char *ins, const char *out, int64_t axis)
{
    Onnx__NodeProto *n = node_csv(g, op, ins, out);
    if (axis >= -9) {
        Onnx__AttributeProto *a = attr(n, "axis", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
        a->has_i = 1;
        a->i = axis;
    }
}

/* Runs m on the cpu backend and the interpreter with the same inputs; equal bits. */
static void cpu_equals_interp(const ember_model *m)
{
    ember_tensor in[4], a[4], b[4];
    int ni = ember_model_num_inputs(m), no = ember_model_num_outputs(m);
    for (int i = 0; i < ni; i++) {
        ember_io_info info;
        cr_assert_eq(ember_model_input_info(m, i, &info), EMBER_OK);
        memset(&in[i], 0, sizeof in[i]);
        in[i].dtype = EMBER_DT_FLOAT;
        in[i].rank = info.rank;
        int64_t k = 1;
        for (int d = 0; d < info.rank; d++) k *= in[i].dims[d] = info.dims[d];
        in[i].nbytes = sizeof(float) * (size_t)k;
        float *x = malloc(in[i].nbytes);
        for (int64_t e = 0; e < k; e++) x[e] = (float)((e * 37 + i * 11) % 23) / 7.0f - 1.5f;
        in[i].data = x;
    }
    ember_session *sc, *si;
    cr_assert_eq(ember_session_create(m, "cpu", &sc), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_create(m, "interp", &si), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_run(sc, in, ni, a, no), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_run(si, in, ni, b, no), EMBER_OK, "%s", ember_last_error());
    for (int o = 0; o < no; o++) {
        cr_assert_eq(a[o].nbytes, b[o].nbytes);
        cr_assert(memcmp(a[o].data, b[o].data, a[o].nbytes) == 0, "output %d differs from the interpreter", o);
        ember_tensor_release(&a[o]);
        ember_tensor_release(&b[o]);
    }
    for (int i = 0; i < ni; i++) free(in[i].data);
    ember_session_free(sc);
    ember_session_free(si);
}

static ember_program *build(const ember_model *m)
{
    ember_program *p;
    cr_assert_eq(ember_program_build(m, NULL, 0, NULL, &p), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_plan_verify(p->g, &p->plan), EMBER_OK, "%s", ember_last_error());
    return p;
}

static int value(const ember_program *p, const char *name)
{
    int v = ember_graph_find(p->g, name);
    cr_assert_geq(v, 0, "no value %s", name);
    return v;
}

/* x -> a = Relu(x), b = Sigmoid(x); c = Concat(a, b); v = Reshape(c) -> y1 = Tanh(v);
 * a read again after the Concat (y2 = Add(a, x)); w = Reshape(b2) with b2 dead before
 * w's reader runs. */
Test(passes_views, concat_parts_and_views_match_the_interpreter)
{
    int64_t xd[4] = {1, 8, 4, 4}, flat[2] = {1, 256}, flat2[2] = {1, 128};
    Onnx__GraphProto *g = graph_new("views", CAP);
    g->input[g->n_input++] = vi_float("x", 4, xd);
    shape_init(g, "s256", 2, flat);
    shape_init(g, "s128", 2, flat2);
    node(g, "Relu", "x", "a", -10);
    node(g, "Sigmoid", "x", "b", -10);
    node(g, "Concat", "a,b", "c", 1);
    node(g, "Reshape", "c,s256", "v", -10);
    node(g, "Tanh", "v", "y1", -10);
    node(g, "Add", "a,x", "y2", -10);
    node(g, "Neg", "x", "b2", -10);
    node(g, "Reshape", "b2,s128", "w", -10);
    node(g, "Abs", "w", "y3", -10);
    g->output[g->n_output++] = vi_float("y1", -1, NULL);
    g->output[g->n_output++] = vi_float("y2", -1, NULL);
    g->output[g->n_output++] = vi_float("y3", -1, NULL);
    ember_model *m = model_built_load(g, 13);
    ember_program *p = build(m);
    int a = value(p, "a"), b = value(p, "b"), c = value(p, "c"), v = value(p, "v"), w = value(p, "w");
    cr_expect_eq(p->plan.part_of[a], c);
    cr_expect_eq(p->plan.part_of[b], c);
    cr_expect_eq(p->plan.view[c], 2);
    cr_expect_eq(p->plan.offset[b], p->plan.offset[c] + 512);
    cr_expect_eq(p->plan.view[v], 1);
    cr_expect_eq(p->plan.offset[v], p->plan.offset[c]);
    cr_expect_eq(p->plan.view[w], 1);
    ember_program_free(p);
    cpu_equals_interp(m);
    ember_model_free(m);
}

/* Batch 2: a's and b's rows interleave in c, so no parts; a graph input in a Concat
 * stays in caller memory, so that Concat copies too. */
Test(passes_views, concats_that_must_copy)
{
    int64_t xd[4] = {2, 8, 4, 4}, zd[4] = {1, 8, 4, 4};
    Onnx__GraphProto *g = graph_new("views", CAP);
    g->input[g->n_input++] = vi_float("x", 4, xd);
    g->input[g->n_input++] = vi_float("z", 4, zd);
    node(g, "Relu", "x", "a", -10);
    node(g, "Sigmoid", "x", "b", -10);
    node(g, "Concat", "a,b", "c", 1);
    node(g, "Tanh", "c", "y1", -10);
    node(g, "Relu", "z", "r", -10);
    node(g, "Concat", "r,z", "d", 1);
    node(g, "Neg", "d", "y2", -10);
    g->output[g->n_output++] = vi_float("y1", -1, NULL);
    g->output[g->n_output++] = vi_float("y2", -1, NULL);
    ember_model *m = model_built_load(g, 13);
    ember_program *p = build(m);
    cr_expect_eq(p->plan.part_of[value(p, "a")], -1);
    cr_expect_eq(p->plan.view[value(p, "c")], 0);
    cr_expect_eq(p->plan.part_of[value(p, "r")], -1);
    cr_expect_eq(p->plan.view[value(p, "d")], 0);
    ember_program_free(p);
    cpu_equals_interp(m);
    ember_model_free(m);
}
