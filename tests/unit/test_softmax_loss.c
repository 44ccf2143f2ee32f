#include <stdio.h>

#include <criterion/criterion.h>
#include <math.h>

#include "op_harness.h"
#include "test_util.h"

#define IN(dt, r, data, ...) ((harness_in){dt, r, {__VA_ARGS__}, data, 0})

Test(softmax, last_axis_opset13)
{
    float x[4] = {0, logf(3), 5, 5};
    harness_in in = IN(EMBER_DT_FLOAT, 2, x, 2, 2);
    ember_op_tensor y;
    cr_assert_eq(harness_run("Softmax", 13, &in, 1, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    float want[4] = {0.25f, 0.75f, 0.5f, 0.5f};
    ut_expect_f32_eq(&y, want, 4, 1e-5);
    free(y.data);
    cr_assert_eq(harness_run("LogSoftmax", 13, &in, 1, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    float lw[4] = {logf(0.25f), logf(0.75f), logf(0.5f), logf(0.5f)};
    ut_expect_f32_eq(&y, lw, 4, 1e-5);
    free(y.data);
}

Test(softmax, axis0_runs_down_columns)
{
    float x[4] = {0, 5, logf(3), 5};
    ember_attr a = harness_attr_int("axis", 0);
    harness_in in = IN(EMBER_DT_FLOAT, 2, x, 2, 2);
    ember_op_tensor y;
    cr_assert_eq(harness_run("Softmax", 13, &in, 1, &a, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    float want[4] = {0.25f, 0.5f, 0.75f, 0.5f};
    ut_expect_f32_eq(&y, want, 4, 1e-5);
    free(y.data);
}

Test(softmax, legacy_opset_coerces_to_2d)
{
    /* [1,2,2] with axis 1 before opset 13: one softmax over all four values */
    float x[4] = {0, 0, 0, 0};
    harness_in in = IN(EMBER_DT_FLOAT, 3, x, 1, 2, 2);
    ember_op_tensor y;
    cr_assert_eq(harness_run("Softmax", 11, &in, 1, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    float want[4] = {0.25f, 0.25f, 0.25f, 0.25f};
    ut_expect_f32_eq(&y, want, 4, 1e-5);
    free(y.data);
    /* from opset 13 the same input reduces along the last axis only */
    cr_assert_eq(harness_run("Softmax", 13, &in, 1, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    float want13[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    ut_expect_f32_eq(&y, want13, 4, 1e-5);
    free(y.data);
}

Test(softmax, hardmax_first_max_wins)
{
    float x[6] = {1, 3, 3, 2, 0, -1};
    harness_in in = IN(EMBER_DT_FLOAT, 2, x, 2, 3);
    ember_op_tensor y;
    cr_assert_eq(harness_run("Hardmax", 13, &in, 1, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    float want[6] = {0, 1, 0, 1, 0, 0};
    ut_expect_f32_eq(&y, want, 6, 1e-5);
    free(y.data);
}

Test(softmax, nll_mean_with_weight_and_ignore_index)
{
    /* N=3, C=2 log-probs; targets {0, 1, 1}; the last is ignored */
    float lp[6] = {-1, -2, -3, -4, -5, -6}, w[2] = {2, 0.5f};
    int64_t t[3] = {0, 1, 1};
    harness_in ins[3] = {IN(EMBER_DT_FLOAT, 2, lp, 3, 2), IN(EMBER_DT_INT64, 1, t, 3), IN(EMBER_DT_FLOAT, 1, w, 2)};
    ember_attr ii = harness_attr_int("ignore_index", 1);
    ember_op_tensor y;
    /* ignore_index 1 drops rows 1 and 2: loss = (1*2) / 2 = 1 */
    cr_assert_eq(harness_run("NegativeLogLikelihoodLoss", 13, ins, 3, &ii, 1, &y, 1), EMBER_OK, "%s",
                 ember_last_error());
    cr_assert_eq(y.rank, 0);
    cr_assert_float_eq(((float *)y.data)[0], 1, 1e-6);
    free(y.data);
    /* without ignore_index: (1*2 + 4*0.5 + 6*0.5) / (2 + 0.5 + 0.5) = 7/3 */
    cr_assert_eq(harness_run("NegativeLogLikelihoodLoss", 13, ins, 3, NULL, 0, &y, 1), EMBER_OK, "%s",
                 ember_last_error());
    cr_assert_float_eq(((float *)y.data)[0], 7.0f / 3, 1e-6);
    free(y.data);
}

Test(softmax, nll_rejects_out_of_range_target)
{
    float lp[2] = {-1, -2};
    int64_t t[1] = {2};
    harness_in ins[2] = {IN(EMBER_DT_FLOAT, 2, lp, 1, 2), IN(EMBER_DT_INT64, 1, t, 1)};
    ember_op_tensor y;
    cr_assert_eq(harness_run("NegativeLogLikelihoodLoss", 13, ins, 2, NULL, 0, &y, 1), EMBER_E_INVALID_ARG);
    cr_assert(strstr(ember_last_error(), "outside") != NULL, "%s", ember_last_error());
}

Test(softmax, sce_sum_and_log_prob)
{
    float x[4] = {0, logf(3), 0, 0}; /* softmax rows: {0.25, 0.75}, {0.5, 0.5} */
    int64_t t[2] = {1, 0};
    harness_in ins[2] = {IN(EMBER_DT_FLOAT, 2, x, 2, 2), IN(EMBER_DT_INT64, 1, t, 2)};
    ember_attr r = harness_attr_string("reduction", "sum");
    ember_op_tensor y[2];
    cr_assert_eq(harness_run("SoftmaxCrossEntropyLoss", 13, ins, 2, &r, 1, y, 2), EMBER_OK, "%s",
                 ember_last_error());
    cr_assert_float_eq(((float *)y[0].data)[0], -logf(0.75f) - logf(0.5f), 1e-5);
    float lp[4] = {logf(0.25f), logf(0.75f), logf(0.5f), logf(0.5f)};
    ut_expect_f32_eq(&y[1], lp, 4, 1e-5);
    free(y[0].data);
    free(y[1].data);
    ember_attr none = harness_attr_string("reduction", "none");
    cr_assert_eq(harness_run("SoftmaxCrossEntropyLoss", 13, ins, 2, &none, 1, y, 1), EMBER_OK, "%s",
                 ember_last_error());
    cr_assert_eq(y[0].rank, 1);
    float per[2] = {-logf(0.75f), -logf(0.5f)};
    ut_expect_f32_eq(&y[0], per, 2, 1e-5);
    free(y[0].data);
}
