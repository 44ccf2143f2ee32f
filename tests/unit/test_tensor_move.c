/* Transpose, Concat, Split, Slice, Expand, Tile, Pad, DepthToSpace, SpaceToDepth. */
#include <criterion/criterion.h>

#include "op_harness.h"
#include "test_util.h"

static const float X24[24] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

Test(tensor_move, transpose_default_and_perm)
{
    harness_in in = {EMBER_DT_FLOAT, 2, {2, 3}, X24, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Transpose", 13, &in, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 0, 3, 1, 4, 2, 5);
    free(out.data);
    in = (harness_in){EMBER_DT_FLOAT, 3, {2, 3, 4}, X24, 0};
    int64_t perm[3] = {1, 0, 2};
    ember_attr a = harness_attr_ints("perm", perm, 3);
    cr_assert_eq(harness_run("Transpose", 13, &in, 1, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 3);
    CHECK_F(out, 0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23);
    free(out.data);
    int64_t bad[3] = {0, 0, 1};
    a = harness_attr_ints("perm", bad, 3);
    cr_assert_eq(harness_run("Transpose", 13, &in, 1, &a, 1, &out, 1), EMBER_E_INVALID_MODEL);
}

Test(tensor_move, transpose_int64_elements)
{
    int64_t x[6] = {10, 11, 12, 13, 14, 15};
    harness_in in = {EMBER_DT_INT64, 2, {3, 2}, x, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Transpose", 13, &in, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_arr_eq(out.data, ((int64_t[]){10, 12, 14, 11, 13, 15}), 6 * sizeof(int64_t));
    free(out.data);
}

Test(tensor_move, concat_axis1_and_mismatch)
{
    float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
    harness_in in[2] = {{EMBER_DT_FLOAT, 2, {2, 2}, a, 0}, {EMBER_DT_FLOAT, 2, {2, 1}, b, 0}};
    ember_attr at = harness_attr_int("axis", -1);
    ember_op_tensor out;
    cr_assert_eq(harness_run("Concat", 13, in, 2, &at, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 2, 5, 3, 4, 6);
    free(out.data);
    at = harness_attr_int("axis", 0);
    cr_assert_eq(harness_run("Concat", 13, in, 2, &at, 1, &out, 1), EMBER_E_INVALID_ARG);
}

Test(tensor_move, split_attr_input_and_equal)
{
    harness_in in[2] = {{EMBER_DT_FLOAT, 1, {6}, X24, 0}, {0}};
    int64_t sp[2] = {2, 4};
    ember_attr a = harness_attr_ints("split", sp, 2);
    ember_op_tensor out[3];
    cr_assert_eq(harness_run("Split", 11, in, 1, &a, 1, out, 2), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out[0], 0, 1);
    CHECK_F(out[1], 2, 3, 4, 5);
    free(out[0].data), free(out[1].data);
    in[1] = (harness_in){EMBER_DT_INT64, 1, {2}, sp, 1};
    cr_assert_eq(harness_run("Split", 13, in, 2, NULL, 0, out, 2), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out[1], 2, 3, 4, 5);
    free(out[0].data), free(out[1].data);
    cr_assert_eq(harness_run("Split", 13, in, 1, NULL, 0, out, 3), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out[2], 4, 5);
    for (int i = 0; i < 3; i++) free(out[i].data);
    int64_t bad[2] = {2, 3};
    in[1].data = bad;
    cr_assert_eq(harness_run("Split", 13, in, 2, NULL, 0, out, 2), EMBER_E_INVALID_ARG);
}

Test(tensor_move, slice_attributes_before_opset10)
{
    harness_in in = {EMBER_DT_FLOAT, 3, {2, 3, 4}, X24, 0};
    int64_t s[1] = {1}, e[1] = {1000}, ax[1] = {1};
    ember_attr a[3] = {harness_attr_ints("starts", s, 1), harness_attr_ints("ends", e, 1),
                       harness_attr_ints("axes", ax, 1)};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Slice", 9, &in, 1, a, 3, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[1], 2);
    CHECK_F(out, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23);
    free(out.data);
}

Test(tensor_move, slice_negative_steps_and_extreme_ends)
{
    int64_t s[1] = {-1}, e[1] = {INT64_MIN}, st[1] = {-3}, ax[1] = {0};
    harness_in in[5] = {{EMBER_DT_FLOAT, 1, {10}, X24, 0}, {EMBER_DT_INT64, 1, {1}, s, 1},
                        {EMBER_DT_INT64, 1, {1}, e, 1}, {EMBER_DT_INT64, 1, {1}, ax, 1},
                        {EMBER_DT_INT64, 1, {1}, st, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Slice", 13, in, 5, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 9, 6, 3, 0);
    free(out.data);
    s[0] = 7, e[0] = INT64_MAX, st[0] = 1;
    cr_assert_eq(harness_run("Slice", 13, in, 5, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 7, 8, 9);
    free(out.data);
    s[0] = 20; /* start clamps to the end: empty */
    cr_assert_eq(harness_run("Slice", 13, in, 5, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 0);
    free(out.data);
    st[0] = 0;
    cr_assert_eq(harness_run("Slice", 13, in, 5, NULL, 0, &out, 1), EMBER_E_INVALID_MODEL);
}

Test(tensor_move, expand_and_tile)
{
    float x[3] = {1, 2, 3};
    int64_t shape[3] = {2, 1, 2};
    harness_in in[2] = {{EMBER_DT_FLOAT, 2, {3, 1}, x, 0}, {EMBER_DT_INT64, 1, {3}, shape, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Expand", 13, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 3);
    cr_assert_eq(out.dims[1], 3);
    CHECK_F(out, 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3);
    free(out.data);
    float t[4] = {1, 2, 3, 4};
    int64_t rep[2] = {1, 2};
    harness_in tin[2] = {{EMBER_DT_FLOAT, 2, {2, 2}, t, 0}, {EMBER_DT_INT64, 1, {2}, rep, 1}};
    cr_assert_eq(harness_run("Tile", 13, tin, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 2, 1, 2, 3, 4, 3, 4);
    free(out.data);
    rep[0] = 2, rep[1] = 1;
    cr_assert_eq(harness_run("Tile", 13, tin, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 2, 3, 4, 1, 2, 3, 4);
    free(out.data);
}

static ember_status pad1d(const float *x, int n, int64_t b, int64_t e, const char *mode, ember_op_tensor *out)
{
    int64_t pads[2] = {b, e};
    harness_in in[2] = {{EMBER_DT_FLOAT, 1, {n}, x, 0}, {EMBER_DT_INT64, 1, {2}, pads, 1}};
    ember_attr a = harness_attr_string("mode", mode);
    return harness_run("Pad", 13, in, 2, &a, 1, out, 1);
}

Test(tensor_move, pad_modes_1d)
{
    float x[3] = {1, 2, 3};
    ember_op_tensor out;
    cr_assert_eq(pad1d(x, 3, 2, 1, "reflect", &out), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 3, 2, 1, 2, 3, 2);
    free(out.data);
    cr_assert_eq(pad1d(x, 3, 2, 1, "edge", &out), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 1, 1, 1, 2, 3, 3);
    free(out.data);
    cr_assert_eq(pad1d(x, 3, -1, 1, "constant", &out), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 2, 3, 0);
    free(out.data);
    cr_assert_eq(pad1d(x, 3, 0, 0, "wrap", &out), EMBER_E_UNSUPPORTED);
}

Test(tensor_move, pad_reflect_2d_corners)
{
    float x[4] = {1, 2, 3, 4};
    int64_t pads[4] = {1, 1, 0, 0};
    harness_in in[2] = {{EMBER_DT_FLOAT, 2, {2, 2}, x, 0}, {EMBER_DT_INT64, 1, {4}, pads, 1}};
    ember_attr a = harness_attr_string("mode", "reflect");
    ember_op_tensor out;
    cr_assert_eq(harness_run("Pad", 11, in, 2, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 3);
    cr_assert_eq(out.dims[1], 3);
    CHECK_F(out, 4, 3, 4, 2, 1, 2, 4, 3, 4);
    free(out.data);
}

Test(tensor_move, pad_attributes_before_opset11)
{
    float x[3] = {1, 2, 3};
    int64_t pads[2] = {1, 0};
    harness_in in = {EMBER_DT_FLOAT, 1, {3}, x, 0};
    ember_attr a[2] = {harness_attr_ints("pads", pads, 2), harness_attr_float("value", 9.5f)};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Pad", 2, &in, 1, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 9.5f, 1, 2, 3);
    free(out.data);
}

Test(tensor_move, pad_constant_value_input)
{
    int32_t x[2] = {7, 8}, v = -1;
    int64_t pads[2] = {0, 2};
    harness_in in[3] = {{EMBER_DT_INT32, 1, {2}, x, 0}, {EMBER_DT_INT64, 1, {2}, pads, 1},
                        {EMBER_DT_INT32, 0, {0}, &v, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Pad", 13, in, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_arr_eq(out.data, ((int32_t[]){7, 8, -1, -1}), 4 * sizeof(int32_t));
    free(out.data);
}

Test(tensor_move, depth_to_space_modes_and_space_to_depth)
{
    harness_in in = {EMBER_DT_FLOAT, 4, {1, 8, 1, 1}, X24, 0};
    ember_attr a[2] = {harness_attr_int("blocksize", 2), harness_attr_string("mode", "DCR")};
    ember_op_tensor out;
    cr_assert_eq(harness_run("DepthToSpace", 13, &in, 1, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[1], 2);
    cr_assert_eq(out.dims[2], 2);
    CHECK_F(out, 0, 2, 4, 6, 1, 3, 5, 7);
    free(out.data);
    a[1] = harness_attr_string("mode", "CRD");
    cr_assert_eq(harness_run("DepthToSpace", 13, &in, 1, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    CHECK_F(out, 0, 1, 2, 3, 4, 5, 6, 7);
    free(out.data);
    in = (harness_in){EMBER_DT_FLOAT, 4, {1, 2, 2, 2}, X24, 0};
    cr_assert_eq(harness_run("SpaceToDepth", 13, &in, 1, a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[1], 8);
    CHECK_F(out, 0, 4, 1, 5, 2, 6, 3, 7);
    free(out.data);
    in.dims[2] = 3;
    cr_assert_eq(harness_run("SpaceToDepth", 13, &in, 1, a, 1, &out, 1), EMBER_E_INVALID_ARG);
}

Test(tensor_move, pad_axes_input_opset18)
{
    float x[4] = {1, 2, 3, 4};
    int64_t pads[2] = {1, 0}, axes[1] = {-1};
    harness_in in[4] = {{EMBER_DT_FLOAT, 2, {2, 2}, x, 0}, {EMBER_DT_INT64, 1, {2}, pads, 1}, {0},
                        {EMBER_DT_INT64, 1, {1}, axes, 1}};
    ember_attr a = harness_attr_string("mode", "edge");
    ember_op_tensor out;
    cr_assert_eq(harness_run("Pad", 18, in, 4, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 2);
    cr_assert_eq(out.dims[1], 3);
    CHECK_F(out, 1, 1, 2, 3, 3, 4);
    free(out.data);
    cr_assert_eq(harness_run("Pad", 13, in, 4, &a, 1, &out, 1), EMBER_E_INVALID_MODEL);
}
