/* If, Loop and Scan with small hand-built bodies. */
#include <criterion/criterion.h>

#include "op_harness.h"

/* A stand-alone body graph; freed by the test. */
static int bv(ember_graph *g, const char *name, ember_dtype dt, int rank, int64_t d0, uint32_t flags)
{
    int v = ember_graph_add_value(g, name);
    g->values[v].dtype = dt;
    g->values[v].shape.rank = rank;
    g->values[v].shape.dims[0] = d0;
    for (int k = 0; k < EMBER_MAX_RANK; k++) g->values[v].shape.syms[k] = -1;
    g->values[v].flags = flags;
    if (flags & EMBER_VALUE_INPUT) g->inputs[g->n_inputs++] = v;
    return v;
}

static void bnode(ember_graph *g, const char *op, const int *ins, int nin, const int *outs, int nout,
                  const ember_attr *attrs, int na)
{
    char name[16];
    snprintf(name, sizeof name, "b%d", g->n_nodes);
    ember_attr *copy = NULL;
    if (na) {
        copy = ember_arena_alloc(&g->arena, sizeof(ember_attr) * (size_t)na);
        memcpy(copy, attrs, sizeof(ember_attr) * (size_t)na);
    }
    int ni = ember_graph_add_node(g, name, op, "", ins, nin, outs, nout, copy, na);
    g->nodes[ni].opset = g->opset;
    g->nodes[ni].op = ember_op_lookup("", op);
}

static ember_graph *body_new(int opset)
{
    ember_graph *g = ember_graph_new(NULL);
    g->opset = opset;
    g->inputs = malloc(sizeof(int) * 8);
    g->outputs = malloc(sizeof(int) * 8);
    return g;
}

static void body_out(ember_graph *g, int v)
{
    g->values[v].flags |= EMBER_VALUE_OUTPUT;
    g->outputs[g->n_outputs++] = v;
}

static ember_attr graph_attr(const char *name, ember_graph *g)
{
    ember_attr a = {0};
    a.name = name, a.type = EMBER_ATTR_GRAPH, a.g = g;
    return a;
}

/* A branch that returns the constant floats vals[0..n). */
static ember_graph *const_branch(float *vals, int n)
{
    ember_graph *g = body_new(13);
    int o = bv(g, "o", EMBER_DT_FLOAT, 1, n, 0);
    ember_attr a = harness_attr_floats("value_floats", vals, n);
    bnode(g, "Constant", NULL, 0, &o, 1, &a, 1);
    body_out(g, o);
    cr_assert_eq(ember_graph_toposort(g), EMBER_OK, "%s", ember_last_error());
    return g;
}

Test(control_ops, if_picks_branch)
{
    float tv[2] = {1, 2}, ev[1] = {3};
    ember_graph *tg = const_branch(tv, 2), *eg = const_branch(ev, 1);
    ember_attr a[2] = {graph_attr("then_branch", tg), graph_attr("else_branch", eg)};
    uint8_t cond = 1;
    harness_in in = {EMBER_DT_BOOL, 0, {0}, &cond, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("If", 13, &in, 1, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 2);
    cr_assert_arr_eq(out.data, tv, sizeof tv);
    free(out.data);
    cond = 0;
    cr_assert_eq(harness_run("If", 13, &in, 1, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 1);
    cr_assert_arr_eq(out.data, ev, sizeof ev);
    free(out.data);
    ember_graph_free(tg);
    ember_graph_free(eg);
}

/* Loop body: y_out = y + y, scan_out = y_out, cond passed through. */
static ember_graph *doubling_body(void)
{
    ember_graph *g = body_new(13);
    int it = bv(g, "it", EMBER_DT_INT64, 0, 0, EMBER_VALUE_INPUT);
    int ci = bv(g, "cond_in", EMBER_DT_BOOL, 0, 0, EMBER_VALUE_INPUT);
    int y = bv(g, "y_in", EMBER_DT_FLOAT, 1, 1, EMBER_VALUE_INPUT);
    int co = bv(g, "cond_out", EMBER_DT_BOOL, 0, 0, 0);
    int yo = bv(g, "y_out", EMBER_DT_FLOAT, 1, 1, 0);
    int so = bv(g, "scan_out", EMBER_DT_FLOAT, 1, 1, 0);
    (void)it;
    bnode(g, "Identity", &ci, 1, &co, 1, NULL, 0);
    bnode(g, "Add", (int[]){y, y}, 2, &yo, 1, NULL, 0);
    bnode(g, "Identity", &yo, 1, &so, 1, NULL, 0);
    body_out(g, co);
    body_out(g, yo);
    body_out(g, so);
    cr_assert_eq(ember_graph_toposort(g), EMBER_OK, "%s", ember_last_error());
    return g;
}

Test(control_ops, loop_carries_and_stacks)
{
    ember_graph *body = doubling_body();
    ember_attr a = graph_attr("body", body);
    int64_t m = 3;
    uint8_t cond = 1;
    float y = 1;
    harness_in in[3] = {{EMBER_DT_INT64, 0, {0}, &m, 0}, {EMBER_DT_BOOL, 0, {0}, &cond, 0},
                        {EMBER_DT_FLOAT, 1, {1}, &y, 0}};
    ember_op_tensor out[2];
    cr_assert_eq(harness_run("Loop", 13, in, 3, &a, 1, out, 2), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(((float *)out[0].data)[0], 8.0f);
    cr_assert_eq(out[1].rank, 2);
    cr_assert_eq(out[1].dims[0], 3);
    cr_assert_eq(out[1].dims[1], 1);
    cr_assert_arr_eq(out[1].data, ((float[]){2, 4, 8}), 3 * sizeof(float));
    free(out[0].data), free(out[1].data);
    /* Zero trips: the initial value comes back, the scan output is empty. */
    m = 0;
    cr_assert_eq(harness_run("Loop", 13, in, 3, &a, 1, out, 2), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(((float *)out[0].data)[0], 1.0f);
    cr_assert_eq(out[1].dims[0], 0);
    free(out[0].data), free(out[1].data);
    /* A false condition stops before the first trip even without a trip count. */
    cond = 0;
    in[0].data = NULL;
    cr_assert_eq(harness_run("Loop", 13, in, 3, &a, 1, out, 2), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(((float *)out[0].data)[0], 1.0f);
    free(out[0].data), free(out[1].data);
    ember_graph_free(body);
}

Test(control_ops, scan_reverse_input_and_output_axis)
{
    ember_graph *g = body_new(11);
    int si = bv(g, "sum_in", EMBER_DT_FLOAT, 1, 2, EMBER_VALUE_INPUT);
    int nx = bv(g, "next", EMBER_DT_FLOAT, 1, 2, EMBER_VALUE_INPUT);
    int so = bv(g, "sum_out", EMBER_DT_FLOAT, 1, 2, 0);
    int sc = bv(g, "scan_out", EMBER_DT_FLOAT, 1, 2, 0);
    bnode(g, "Add", (int[]){si, nx}, 2, &so, 1, NULL, 0);
    bnode(g, "Identity", &so, 1, &sc, 1, NULL, 0);
    body_out(g, so);
    body_out(g, sc);
    cr_assert_eq(ember_graph_toposort(g), EMBER_OK, "%s", ember_last_error());
    int64_t dirs[1] = {1}, oax[1] = {1};
    ember_attr a[4] = {graph_attr("body", g), harness_attr_int("num_scan_inputs", 1),
                       harness_attr_ints("scan_input_directions", dirs, 1), harness_attr_ints("scan_output_axes", oax, 1)};
    float init[2] = {0, 0}, x[6] = {1, 2, 3, 4, 5, 6};
    harness_in in[2] = {{EMBER_DT_FLOAT, 1, {2}, init, 0}, {EMBER_DT_FLOAT, 2, {3, 2}, x, 0}};
    ember_op_tensor out[2];
    cr_assert_eq(harness_run("Scan", 11, in, 2, a, 4, out, 2), EMBER_OK, "%s", ember_last_error());
    cr_assert_arr_eq(out[0].data, ((float[]){9, 12}), 2 * sizeof(float));
    cr_assert_eq(out[1].dims[0], 2);
    cr_assert_eq(out[1].dims[1], 3);
    cr_assert_arr_eq(out[1].data, ((float[]){5, 8, 9, 6, 10, 12}), 6 * sizeof(float));
    free(out[0].data), free(out[1].data);
    ember_graph_free(g);
}
