/* Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size: run-time results and load-time
 * shape inference. Expected values are worked out by hand. */
#include <criterion/criterion.h>

#include "engine/model.h"
#include "op_harness.h"

static const float X24[24] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

static void check_dims(const ember_op_tensor *t, int rank, const int64_t *dims)
{
    cr_assert_eq(t->rank, rank, "rank %d, expected %d", t->rank, rank);
    for (int k = 0; k < rank; k++)
        cr_assert_eq(t->dims[k], dims[k], "dim %d is %lld, expected %lld", k, (long long)t->dims[k], (long long)dims[k]);
}

Test(tensor_shape, reshape_zero_copies_and_minus_one_infers)
{
    int64_t shape[3] = {0, -1, 2};
    harness_in in[2] = {{EMBER_DT_FLOAT, 3, {2, 3, 4}, X24, 0}, {EMBER_DT_INT64, 1, {3}, shape, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Reshape", 13, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 3, (int64_t[]){2, 6, 2});
    cr_assert_arr_eq(out.data, X24, sizeof X24);
    free(out.data);
}

Test(tensor_shape, reshape_allowzero_keeps_zero)
{
    int64_t shape[2] = {0, 4};
    harness_in in[2] = {{EMBER_DT_FLOAT, 2, {0, 4}, X24, 0}, {EMBER_DT_INT64, 1, {2}, shape, 1}};
    ember_attr a = harness_attr_int("allowzero", 1);
    ember_op_tensor out;
    cr_assert_eq(harness_run("Reshape", 14, in, 2, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 2, (int64_t[]){0, 4});
    free(out.data);
}

Test(tensor_shape, reshape_rejects_wrong_count_and_two_minus_ones)
{
    int64_t bad[2] = {5, 5}, two[2] = {-1, -1};
    harness_in in[2] = {{EMBER_DT_FLOAT, 1, {24}, X24, 0}, {EMBER_DT_INT64, 1, {2}, bad, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Reshape", 13, in, 2, NULL, 0, &out, 1), EMBER_E_INVALID_ARG);
    cr_assert(strstr(ember_last_error(), "cannot reshape") != NULL, "%s", ember_last_error());
    in[1].data = two;
    cr_assert_eq(harness_run("Reshape", 13, in, 2, NULL, 0, &out, 1), EMBER_E_INVALID_MODEL);
}

Test(tensor_shape, flatten_axes)
{
    harness_in in = {EMBER_DT_FLOAT, 3, {2, 3, 4}, X24, 0};
    ember_op_tensor out;
    ember_attr a = harness_attr_int("axis", 0);
    cr_assert_eq(harness_run("Flatten", 13, &in, 1, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 2, (int64_t[]){1, 24});
    free(out.data);
    a = harness_attr_int("axis", -1);
    cr_assert_eq(harness_run("Flatten", 13, &in, 1, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 2, (int64_t[]){6, 4});
    free(out.data);
    a = harness_attr_int("axis", 3);
    cr_assert_eq(harness_run("Flatten", 9, &in, 1, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 2, (int64_t[]){24, 1});
    free(out.data);
    /* Negative axes arrived in opset 11. */
    a = harness_attr_int("axis", -1);
    cr_assert_eq(harness_run("Flatten", 9, &in, 1, &a, 1, &out, 1), EMBER_E_INVALID_MODEL);
}

Test(tensor_shape, squeeze_attr_before_13_input_after)
{
    harness_in in[2] = {{EMBER_DT_FLOAT, 4, {1, 3, 1, 2}, X24, 0}, {0}};
    int64_t axes[1] = {-2};
    ember_attr a = harness_attr_ints("axes", axes, 1);
    ember_op_tensor out;
    cr_assert_eq(harness_run("Squeeze", 11, in, 1, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 3, (int64_t[]){1, 3, 2});
    free(out.data);
    in[1] = (harness_in){EMBER_DT_INT64, 1, {1}, axes, 1};
    cr_assert_eq(harness_run("Squeeze", 13, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 3, (int64_t[]){1, 3, 2});
    free(out.data);
    /* No axes: every size-1 dim goes. */
    cr_assert_eq(harness_run("Squeeze", 13, in, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 2, (int64_t[]){3, 2});
    free(out.data);
    int64_t bad[1] = {1};
    in[1].data = bad;
    cr_assert_eq(harness_run("Squeeze", 13, in, 2, NULL, 0, &out, 1), EMBER_E_INVALID_ARG);
}

Test(tensor_shape, unsqueeze_axes_against_output_rank)
{
    int64_t axes[2] = {3, 0};
    harness_in in[2] = {{EMBER_DT_FLOAT, 2, {3, 2}, X24, 0}, {EMBER_DT_INT64, 1, {2}, axes, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Unsqueeze", 13, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 4, (int64_t[]){1, 3, 2, 1});
    free(out.data);
    ember_attr a = harness_attr_ints("axes", axes, 2);
    cr_assert_eq(harness_run("Unsqueeze", 11, in, 1, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 4, (int64_t[]){1, 3, 2, 1});
    free(out.data);
    int64_t dup[2] = {1, -3};
    in[1].data = dup;
    cr_assert_eq(harness_run("Unsqueeze", 13, in, 2, NULL, 0, &out, 1), EMBER_E_INVALID_MODEL);
}

Test(tensor_shape, shape_start_end_and_size)
{
    harness_in in = {EMBER_DT_FLOAT, 3, {2, 3, 4}, X24, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Shape", 13, &in, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_arr_eq(out.data, ((int64_t[]){2, 3, 4}), 3 * sizeof(int64_t));
    free(out.data);
    ember_attr a[2] = {harness_attr_int("start", -2), harness_attr_int("end", 10)};
    cr_assert_eq(harness_run("Shape", 15, &in, 1, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 1, (int64_t[]){2});
    cr_assert_arr_eq(out.data, ((int64_t[]){3, 4}), 2 * sizeof(int64_t));
    free(out.data);
    a[0] = harness_attr_int("start", 2), a[1] = harness_attr_int("end", 1);
    cr_assert_eq(harness_run("Shape", 15, &in, 1, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    check_dims(&out, 1, (int64_t[]){0});
    free(out.data);
    cr_assert_eq(harness_run("Size", 13, &in, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 0);
    cr_assert_eq(*(int64_t *)out.data, 24);
    free(out.data);
}

/* Builds graph: input x (declared shape, dims may be -1) -> op(x, const shape) -> y and
 * runs load-time inference; returns y's inferred shape. */
static ember_shape infer_one(const char *op, int opset, int xrank, const int64_t *xdims, const int64_t *cval,
                             int clen, const ember_attr *attrs, int n_attrs, ember_status *st)
{
    ember_graph *g = ember_graph_new(NULL);
    g->opset = opset;
    g->inputs = malloc(sizeof(int) * 2);
    g->outputs = malloc(sizeof(int) * 2);
    int x = ember_graph_add_value(g, "x");
    g->values[x].dtype = EMBER_DT_FLOAT;
    g->values[x].shape.rank = xrank;
    for (int k = 0; k < EMBER_MAX_RANK; k++) g->values[x].shape.syms[k] = -1;
    memcpy(g->values[x].shape.dims, xdims, sizeof(int64_t) * (size_t)xrank);
    g->values[x].flags = EMBER_VALUE_INPUT;
    g->inputs[g->n_inputs++] = x;
    int ins[2] = {x, -1}, n_in = 1;
    if (cval) {
        int cv = ember_graph_add_value(g, "c");
        ember_value *v = &g->values[cv];
        v->dtype = EMBER_DT_INT64;
        v->shape.rank = 1;
        v->shape.dims[0] = clen;
        v->flags = EMBER_VALUE_CONST;
        v->nbytes = sizeof(int64_t) * (size_t)clen;
        v->data = ember_arena_alloc(&g->arena, v->nbytes + 1);
        memcpy(v->data, cval, v->nbytes);
        ins[1] = cv, n_in = 2;
    }
    int y = ember_graph_add_value(g, "y");
    g->values[y].flags = EMBER_VALUE_OUTPUT;
    g->values[y].shape.rank = -1;
    g->outputs[g->n_outputs++] = y;
    ember_attr *copy = NULL;
    if (n_attrs) {
        copy = ember_arena_alloc(&g->arena, sizeof(ember_attr) * (size_t)n_attrs);
        memcpy(copy, attrs, sizeof(ember_attr) * (size_t)n_attrs);
    }
    int ni = ember_graph_add_node(g, "n0", op, "", ins, n_in, &y, 1, copy, n_attrs);
    g->nodes[ni].opset = opset;
    g->nodes[ni].op = ember_op_lookup("", op);
    *st = ember_graph_toposort(g);
    if (*st == EMBER_OK) *st = ember_graph_infer(g);
    ember_shape s = g->values[y].shape;
    ember_graph_free(g);
    return s;
}

Test(tensor_shape, load_time_reshape_uses_constant_target)
{
    ember_status st;
    int64_t target[2] = {0, -1};
    ember_shape s = infer_one("Reshape", 13, 3, (int64_t[]){-1, 3, 4}, target, 2, NULL, 0, &st);
    cr_assert_eq(st, EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(s.rank, 2);
    cr_assert_eq(s.dims[0], -1); /* copied from an unknown batch */
    cr_assert_eq(s.dims[1], -1); /* cannot be inferred while the batch is unknown */
    s = infer_one("Reshape", 13, 3, (int64_t[]){2, 3, 4}, target, 2, NULL, 0, &st);
    cr_assert_eq(s.rank, 2);
    cr_assert_eq(s.dims[1], 12);
}

Test(tensor_shape, load_time_slice_and_unknown_shapes)
{
    ember_status st;
    int64_t perm[3] = {2, 0, 1};
    ember_attr a = harness_attr_ints("perm", perm, 3);
    ember_shape s = infer_one("Transpose", 13, 3, (int64_t[]){-1, 3, 4}, NULL, 0, &a, 1, &st);
    cr_assert_eq(st, EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(s.rank, 3);
    cr_assert_eq(s.dims[0], 4);
    cr_assert_eq(s.dims[1], -1);
    cr_assert_eq(s.dims[2], 3);
    /* Shape of a partly known input: length known, values not. */
    s = infer_one("Shape", 13, 3, (int64_t[]){-1, 3, 4}, NULL, 0, NULL, 0, &st);
    cr_assert_eq(s.rank, 1);
    cr_assert_eq(s.dims[0], 3);
    /* Squeeze without axes needs every dim: rank stays unknown. */
    s = infer_one("Squeeze", 13, 3, (int64_t[]){-1, 1, 4}, NULL, 0, NULL, 0, &st);
    cr_assert_eq(st, EMBER_OK);
    cr_assert_eq(s.rank, -1);
}
