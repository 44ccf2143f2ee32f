/* Index- and value-driven ops: Gather*, Scatter*, Compress, OneHot, TopK, NonZero, Unique,
 * NonMaxSuppression, and the generators Range, EyeLike, Trilu, ConstantOfShape,
 * ReverseSequence, Det. */
#include <criterion/criterion.h>

#include "op_harness.h"
#include "test_util.h"

static const float D6[6] = {1, 2, 3, 4, 5, 6};

Test(tensor_index, gather_negative_indices_and_axis)
{
    int32_t idx[2] = {0, -1};
    harness_in in[2] = {{EMBER_DT_FLOAT, 2, {3, 2}, D6, 0}, {EMBER_DT_INT32, 2, {1, 2}, idx, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Gather", 13, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 3);
    CHECK_F(out, 1, 2, 5, 6);
    free(out.data);
    int64_t one = 1;
    in[1] = (harness_in){EMBER_DT_INT64, 1, {1}, &one, 0};
    ember_attr a = harness_attr_int("axis", 1);
    cr_assert_eq(harness_run("Gather", 13, in, 2, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 2, 4, 6);
    free(out.data);
    int64_t three = 3;
    in[1].data = &three;
    cr_assert_eq(harness_run("Gather", 13, in, 2, NULL, 0, &out, 1), EMBER_E_INVALID_ARG);
    cr_assert(strstr(ember_last_error(), "out of range") != NULL, "%s", ember_last_error());
}

Test(tensor_index, gather_elements_and_nd)
{
    float d[4] = {1, 2, 3, 4};
    int64_t idx[4] = {0, 0, 1, 0};
    harness_in in[2] = {{EMBER_DT_FLOAT, 2, {2, 2}, d, 0}, {EMBER_DT_INT64, 2, {2, 2}, idx, 0}};
    ember_attr a = harness_attr_int("axis", 1);
    ember_op_tensor out;
    cr_assert_eq(harness_run("GatherElements", 13, in, 2, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 1, 4, 3);
    free(out.data);

    float x8[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t bi[2] = {1, 0};
    harness_in nd[2] = {{EMBER_DT_FLOAT, 3, {2, 2, 2}, x8, 0}, {EMBER_DT_INT64, 2, {2, 1}, bi, 0}};
    a = harness_attr_int("batch_dims", 1);
    cr_assert_eq(harness_run("GatherND", 13, nd, 2, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 2);
    CHECK_F(out, 2, 3, 4, 5);
    free(out.data);
    int64_t pairs[4] = {1, 0, 0, 1};
    harness_in nd0[2] = {{EMBER_DT_FLOAT, 2, {2, 2}, x8, 0}, {EMBER_DT_INT64, 2, {2, 2}, pairs, 0}};
    cr_assert_eq(harness_run("GatherND", 13, nd0, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 2, 1);
    free(out.data);
}

static ember_status scatter_el(const char *reduction, int opset, ember_op_tensor *out)
{
    static const float d[5] = {1, 2, 3, 4, 5}, u[2] = {10, 20};
    static const int64_t idx[2] = {1, 1};
    harness_in in[3] = {{EMBER_DT_FLOAT, 2, {1, 5}, d, 0}, {EMBER_DT_INT64, 2, {1, 2}, idx, 0},
                        {EMBER_DT_FLOAT, 2, {1, 2}, u, 0}};
    ember_attr a[2] = {harness_attr_int("axis", 1), harness_attr_string("reduction", reduction)};
    return harness_run("ScatterElements", opset, in, 3, a, 2, out, 1);
}

Test(tensor_index, scatter_elements_reductions)
{
    ember_op_tensor out;
    cr_assert_eq(scatter_el("add", 16, &out), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 32, 3, 4, 5);
    free(out.data);
    cr_assert_eq(scatter_el("mul", 16, &out), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 400, 3, 4, 5);
    free(out.data);
    cr_assert_eq(scatter_el("none", 16, &out), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 20, 3, 4, 5);
    free(out.data);
    cr_assert_eq(scatter_el("avg", 16, &out), EMBER_E_INVALID_MODEL);
}

Test(tensor_index, scatter_nd_and_scatter_alias)
{
    float d[8] = {1, 2, 3, 4, 5, 6, 7, 8}, u[4] = {9, 10, 11, 12};
    int64_t idx[4] = {4, 3, 1, 7};
    harness_in in[3] = {{EMBER_DT_FLOAT, 1, {8}, d, 0}, {EMBER_DT_INT64, 2, {4, 1}, idx, 0},
                        {EMBER_DT_FLOAT, 1, {4}, u, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("ScatterND", 13, in, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 11, 3, 10, 9, 6, 7, 12);
    free(out.data);
    /* Scatter (opset 9) is ScatterElements without reduction. */
    in[1].rank = 1, in[1].dims[0] = 4;
    cr_assert_eq(harness_run("Scatter", 9, in, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 11, 3, 10, 9, 6, 7, 12);
    free(out.data);
}

Test(tensor_index, compress_with_and_without_axis)
{
    uint8_t c3[3] = {0, 1, 1}, c5[5] = {0, 1, 0, 0, 1};
    harness_in in[2] = {{EMBER_DT_FLOAT, 2, {3, 2}, D6, 0}, {EMBER_DT_BOOL, 1, {3}, c3, 0}};
    ember_attr a = harness_attr_int("axis", 0);
    ember_op_tensor out;
    cr_assert_eq(harness_run("Compress", 11, in, 2, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 3, 4, 5, 6);
    free(out.data);
    in[1] = (harness_in){EMBER_DT_BOOL, 1, {5}, c5, 0};
    cr_assert_eq(harness_run("Compress", 11, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 2, 5);
    free(out.data);
}

Test(tensor_index, onehot_negative_and_out_of_range)
{
    int64_t idx[3] = {0, -1, 5};
    float depth = 3, vals[2] = {0, 1};
    harness_in in[3] = {{EMBER_DT_INT64, 1, {3}, idx, 0}, {EMBER_DT_FLOAT, 0, {0}, &depth, 1},
                        {EMBER_DT_FLOAT, 1, {2}, vals, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("OneHot", 11, in, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 0, 0, 0, 0, 1, 0, 0, 0);
    free(out.data);
    ember_attr a = harness_attr_int("axis", 0);
    cr_assert_eq(harness_run("OneHot", 11, in, 3, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 0, 0, 0, 0, 0, 0, 1, 0);
    free(out.data);
}

Test(tensor_index, topk_largest_smallest_ties)
{
    float x[5] = {3, 1, 2, 2, 5};
    int64_t k = 2;
    harness_in in[2] = {{EMBER_DT_FLOAT, 1, {5}, x, 0}, {EMBER_DT_INT64, 1, {1}, &k, 1}};
    ember_op_tensor out[2];
    cr_assert_eq(harness_run("TopK", 11, in, 2, NULL, 0, out, 2), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out[0], 5, 3);
    CHECK_I64(out[1], 4, 0);
    free(out[0].data), free(out[1].data);
    ember_attr a = harness_attr_int("largest", 0);
    cr_assert_eq(harness_run("TopK", 11, in, 2, &a, 1, out, 2), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out[0], 1, 2);
    CHECK_I64(out[1], 1, 2);
    free(out[0].data), free(out[1].data);
    a = harness_attr_int("k", 3);
    cr_assert_eq(harness_run("TopK", 1, in, 1, &a, 1, out, 2), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out[0], 5, 3, 2);
    CHECK_I64(out[1], 4, 0, 2);
    free(out[0].data), free(out[1].data);
    k = 6;
    cr_assert_eq(harness_run("TopK", 11, in, 2, NULL, 0, out, 2), EMBER_E_INVALID_ARG);
}

Test(tensor_index, nonzero_ignores_negative_zero)
{
    float x[4] = {1, 0, 2, -0.0f};
    harness_in in = {EMBER_DT_FLOAT, 2, {2, 2}, x, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("NonZero", 13, &in, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 2);
    cr_assert_eq(out.dims[1], 2);
    CHECK_I64(out, 0, 1, 0, 0);
    free(out.data);
}

Test(tensor_index, unique_sorted_and_first_occurrence)
{
    float x[6] = {2, 1, 1, 3, 4, 3};
    harness_in in = {EMBER_DT_FLOAT, 1, {6}, x, 0};
    ember_attr a = harness_attr_int("sorted", 0);
    ember_op_tensor out[4];
    cr_assert_eq(harness_run("Unique", 11, &in, 1, &a, 1, out, 4), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out[0], 2, 1, 3, 4);
    CHECK_I64(out[1], 0, 1, 3, 4);
    CHECK_I64(out[2], 0, 1, 1, 2, 3, 2);
    CHECK_I64(out[3], 1, 2, 2, 1);
    for (int i = 0; i < 4; i++) free(out[i].data);
    cr_assert_eq(harness_run("Unique", 11, &in, 1, NULL, 0, out, 4), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out[0], 1, 2, 3, 4);
    CHECK_I64(out[1], 1, 0, 3, 4);
    CHECK_I64(out[2], 1, 0, 0, 2, 3, 2);
    CHECK_I64(out[3], 2, 1, 2, 1);
    for (int i = 0; i < 4; i++) free(out[i].data);
}

Test(tensor_index, nms_suppresses_overlap)
{
    float boxes[12] = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 2, 1, 3}, scores[3] = {0.9f, 0.8f, 0.7f};
    int64_t max_out = 3;
    float iou = 0.5f;
    harness_in in[4] = {{EMBER_DT_FLOAT, 3, {1, 3, 4}, boxes, 0}, {EMBER_DT_FLOAT, 3, {1, 1, 3}, scores, 0},
                        {EMBER_DT_INT64, 1, {1}, &max_out, 0}, {EMBER_DT_FLOAT, 1, {1}, &iou, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("NonMaxSuppression", 11, in, 4, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 2);
    CHECK_I64(out, 0, 0, 0, 0, 0, 2);
    free(out.data);
    max_out = 1;
    cr_assert_eq(harness_run("NonMaxSuppression", 11, in, 4, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_I64(out, 0, 0, 0);
    free(out.data);
}

Test(tensor_index, range_int_and_float)
{
    int32_t s = 10, l = 4, d = -3;
    harness_in in[3] = {{EMBER_DT_INT32, 0, {0}, &s, 0}, {EMBER_DT_INT32, 0, {0}, &l, 0}, {EMBER_DT_INT32, 0, {0}, &d, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Range", 11, in, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_T(int32_t, out, 10, 7);
    free(out.data);
    float fs = 0, fl = 1, fd = 0.25f;
    harness_in fin[3] = {{EMBER_DT_FLOAT, 0, {0}, &fs, 0}, {EMBER_DT_FLOAT, 0, {0}, &fl, 0}, {EMBER_DT_FLOAT, 0, {0}, &fd, 0}};
    cr_assert_eq(harness_run("Range", 11, fin, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 0, 0.25f, 0.5f, 0.75f);
    free(out.data);
    fd = 0;
    cr_assert_eq(harness_run("Range", 11, fin, 3, NULL, 0, &out, 1), EMBER_E_INVALID_ARG);
}

Test(tensor_index, eyelike_trilu_constantofshape)
{
    harness_in in = {EMBER_DT_FLOAT, 2, {2, 3}, D6, 0};
    ember_attr a[2] = {harness_attr_int("k", 1), harness_attr_int("dtype", EMBER_DT_INT32)};
    ember_op_tensor out;
    cr_assert_eq(harness_run("EyeLike", 13, &in, 1, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dtype, EMBER_DT_INT32);
    CHECK_T(int32_t, out, 0, 1, 0, 0, 0, 1);
    free(out.data);

    float m[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t k = -1;
    harness_in tin[2] = {{EMBER_DT_FLOAT, 2, {3, 3}, m, 0}, {EMBER_DT_INT64, 0, {0}, &k, 0}};
    cr_assert_eq(harness_run("Trilu", 14, tin, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 2, 3, 0, 5, 6, 0, 0, 9);
    free(out.data);
    ember_attr up = harness_attr_int("upper", 0);
    cr_assert_eq(harness_run("Trilu", 14, tin, 2, &up, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 0, 0, 0, 4, 0, 0, 7, 8, 0);
    free(out.data);

    int64_t shape[2] = {2, 3};
    int32_t seven = 7;
    ember_const_tensor ct = {.dtype = EMBER_DT_INT32, .rank = 1, .dims = {1}, .data = &seven, .nbytes = 4};
    ember_attr va = {0};
    va.name = "value", va.type = EMBER_ATTR_TENSOR, va.t = &ct;
    harness_in sin = {EMBER_DT_INT64, 1, {2}, shape, 0};
    cr_assert_eq(harness_run("ConstantOfShape", 9, &sin, 1, &va, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dtype, EMBER_DT_INT32);
    CHECK_T(int32_t, out, 7, 7, 7, 7, 7, 7);
    free(out.data);
    cr_assert_eq(harness_run("ConstantOfShape", 9, &sin, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 0, 0, 0, 0, 0, 0);
    free(out.data);
}

Test(tensor_index, reverse_sequence_and_det)
{
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    int64_t lens[2] = {4, 2};
    harness_in in[2] = {{EMBER_DT_FLOAT, 2, {4, 2}, x, 0}, {EMBER_DT_INT64, 1, {2}, lens, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("ReverseSequence", 10, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 6, 3, 4, 1, 2, 5, 0, 7);
    free(out.data);
    lens[1] = 5;
    cr_assert_eq(harness_run("ReverseSequence", 10, in, 2, NULL, 0, &out, 1), EMBER_E_INVALID_ARG);

    float m[13] = {1, 2, 3, 4, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    harness_in d2 = {EMBER_DT_FLOAT, 2, {2, 2}, m, 0};
    cr_assert_eq(harness_run("Det", 11, &d2, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 0);
    cr_assert_float_eq(((float *)out.data)[0], -2.0f, 1e-6);
    free(out.data);
    harness_in d3 = {EMBER_DT_FLOAT, 2, {3, 3}, m + 4, 0};
    cr_assert_eq(harness_run("Det", 11, &d3, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_float_eq(((float *)out.data)[0], 24.0f, 1e-5);
    free(out.data);
}
