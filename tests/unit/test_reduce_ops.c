#include <stdio.h>

#include <criterion/criterion.h>
#include <math.h>

#include "op_harness.h"
#include "test_util.h"

#define IN(dt, r, data, ...) ((harness_in){dt, r, {__VA_ARGS__}, data, 0})
#define CONST_IN(dt, r, data, ...) ((harness_in){dt, r, {__VA_ARGS__}, data, 1})

static const float X23[6] = {1, 2, 3, 4, 5, 6}; /* [[1,2,3],[4,5,6]] */

Test(reduce, sum_axes_input_opset13)
{
    int64_t axes[1] = {1};
    harness_in ins[2] = {IN(EMBER_DT_FLOAT, 2, X23, 2, 3), CONST_IN(EMBER_DT_INT64, 1, axes, 1)};
    ember_attr k = harness_attr_int("keepdims", 0);
    ember_op_tensor y;
    cr_assert_eq(harness_run("ReduceSum", 13, ins, 2, &k, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(y.rank, 1);
    cr_assert_eq(y.dims[0], 2);
    float want[2] = {6, 15};
    ut_expect_f32_eq(&y, want, 2, 1e-5);
    free(y.data);
}

Test(reduce, mean_axes_attribute_keepdims)
{
    int64_t axes[1] = {0};
    ember_attr a = harness_attr_ints("axes", axes, 1);
    harness_in in = IN(EMBER_DT_FLOAT, 2, X23, 2, 3);
    ember_op_tensor y;
    cr_assert_eq(harness_run("ReduceMean", 11, &in, 1, &a, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(y.rank, 2);
    cr_assert_eq(y.dims[0], 1);
    cr_assert_eq(y.dims[1], 3);
    float want[3] = {2.5f, 3.5f, 4.5f};
    ut_expect_f32_eq(&y, want, 3, 1e-5);
    free(y.data);
}

Test(reduce, default_axes_reduce_everything)
{
    harness_in in = IN(EMBER_DT_FLOAT, 2, X23, 2, 3);
    ember_op_tensor y;
    cr_assert_eq(harness_run("ReduceMax", 13, &in, 1, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(y.rank, 2);
    cr_assert_eq(y.dims[0] * y.dims[1], 1);
    cr_assert_float_eq(((float *)y.data)[0], 6, 0);
    free(y.data);
    cr_assert_eq(harness_run("ReduceL2", 13, &in, 1, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_float_eq(((float *)y.data)[0], sqrtf(91), 1e-5);
    free(y.data);
}

Test(reduce, sum_noop_with_empty_axes)
{
    ember_attr a = harness_attr_int("noop_with_empty_axes", 1);
    harness_in in = IN(EMBER_DT_FLOAT, 2, X23, 2, 3);
    ember_op_tensor y;
    cr_assert_eq(harness_run("ReduceSum", 13, &in, 1, &a, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(y.dims[1], 3);
    ut_expect_f32_eq(&y, X23, 6, 1e-5);
    free(y.data);
}

Test(reduce, log_sum_exp_is_stable)
{
    float x[2] = {1000, 1000};
    int64_t axes[1] = {0};
    ember_attr a = harness_attr_ints("axes", axes, 1);
    harness_in in = IN(EMBER_DT_FLOAT, 1, x, 2);
    ember_op_tensor y;
    cr_assert_eq(harness_run("ReduceLogSumExp", 13, &in, 1, &a, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_float_eq(((float *)y.data)[0], 1000 + logf(2), 1e-3);
    free(y.data);
}

Test(reduce, int64_sum_is_exact)
{
    int64_t x[2] = {(int64_t)1 << 60, 1};
    harness_in in = IN(EMBER_DT_INT64, 1, x, 2);
    ember_op_tensor y;
    cr_assert_eq(harness_run("ReduceSum", 11, &in, 1, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(((int64_t *)y.data)[0], ((int64_t)1 << 60) + 1);
    free(y.data);
}

Test(reduce, middle_axis_of_3d)
{
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* [2,2,2] */
    int64_t axes[1] = {1};
    ember_attr a[2] = {harness_attr_ints("axes", axes, 1), harness_attr_int("keepdims", 0)};
    harness_in in = IN(EMBER_DT_FLOAT, 3, x, 2, 2, 2);
    ember_op_tensor y;
    cr_assert_eq(harness_run("ReduceProd", 11, &in, 1, a, 2, &y, 1), EMBER_OK, "%s", ember_last_error());
    float want[4] = {3, 8, 35, 48};
    ut_expect_f32_eq(&y, want, 4, 1e-5);
    free(y.data);
}

Test(reduce, duplicate_axes_rejected)
{
    int64_t axes[2] = {1, -1};
    ember_attr a = harness_attr_ints("axes", axes, 2);
    harness_in in = IN(EMBER_DT_FLOAT, 2, X23, 2, 3);
    ember_op_tensor y;
    cr_assert_eq(harness_run("ReduceMin", 11, &in, 1, &a, 1, &y, 1), EMBER_E_INVALID_MODEL);
    cr_assert(strstr(ember_last_error(), "twice") != NULL, "%s", ember_last_error());
}

Test(reduce, argmax_select_last_index)
{
    float x[6] = {3, 1, 3, 0, 2, 2};
    ember_attr a[2] = {harness_attr_int("axis", 1), harness_attr_int("select_last_index", 1)};
    harness_in in = IN(EMBER_DT_FLOAT, 2, x, 2, 3);
    ember_op_tensor y;
    cr_assert_eq(harness_run("ArgMax", 13, &in, 1, a, 2, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(y.dtype, EMBER_DT_INT64);
    cr_assert_eq(y.dims[1], 1);
    int64_t want[2] = {2, 2};
    cr_assert_arr_eq(y.data, want, sizeof want);
    free(y.data);
    cr_assert_eq(harness_run("ArgMin", 13, &in, 1, a, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    int64_t want2[2] = {1, 0};
    cr_assert_arr_eq(y.data, want2, sizeof want2);
    free(y.data);
}

Test(reduce, cumsum_exclusive_reverse)
{
    int32_t x[4] = {1, 2, 3, 4};
    int64_t axis[1] = {0};
    harness_in ins[2] = {IN(EMBER_DT_INT32, 1, x, 4), IN(EMBER_DT_INT64, 0, axis, 0)};
    ember_op_tensor y;
    cr_assert_eq(harness_run("CumSum", 14, ins, 2, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    int32_t inc[4] = {1, 3, 6, 10};
    cr_assert_arr_eq(y.data, inc, sizeof inc);
    free(y.data);
    ember_attr a[2] = {harness_attr_int("exclusive", 1), harness_attr_int("reverse", 1)};
    cr_assert_eq(harness_run("CumSum", 14, ins, 2, a, 2, &y, 1), EMBER_OK, "%s", ember_last_error());
    int32_t exrev[4] = {9, 7, 4, 0};
    cr_assert_arr_eq(y.data, exrev, sizeof exrev);
    free(y.data);
}
