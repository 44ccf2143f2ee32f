#include <stdio.h>

#include <criterion/criterion.h>
#include <math.h>

#include "op_harness.h"
#include "test_util.h"

#define IN(dt, r, data, ...) ((harness_in){dt, r, {__VA_ARGS__}, data, 0})

static ember_op_tensor run1(const char *op, int opset, harness_in x, const ember_attr *attrs,
                            int n_attrs)
{
    ember_op_tensor out;
    ember_status s = harness_run(op, opset, &x, 1, attrs, n_attrs, &out, 1);
    cr_assert_eq(s, EMBER_OK, "%s: %s", op, ember_last_error());
    return out;
}

Test(elementwise_unary, relu_sigmoid_tanh)
{
    float x[3] = {-1, 0, 2};
    ember_op_tensor y = run1("Relu", 14, IN(EMBER_DT_FLOAT, 1, x, 3), NULL, 0);
    float r[3] = {0, 0, 2};
    ut_expect_f32_eq(&y, r, 3, 1e-5);
    free(y.data);
    y = run1("Sigmoid", 13, IN(EMBER_DT_FLOAT, 1, x, 3), NULL, 0);
    float s[3] = {0.26894142f, 0.5f, 0.88079708f};
    ut_expect_f32_eq(&y, s, 3, 1e-5);
    free(y.data);
    float big[2] = {-1000, 1000};
    y = run1("Sigmoid", 13, IN(EMBER_DT_FLOAT, 1, big, 2), NULL, 0);
    float sb[2] = {0, 1};
    ut_expect_f32_eq(&y, sb, 2, 1e-5);
    free(y.data);
}

Test(elementwise_unary, round_half_to_even)
{
    float x[6] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f};
    ember_op_tensor y = run1("Round", 11, IN(EMBER_DT_FLOAT, 1, x, 6), NULL, 0);
    float want[6] = {0, 2, 2, -0.0f, -2, 2};
    ut_expect_f32_eq(&y, want, 6, 1e-5);
    free(y.data);
}

Test(elementwise_unary, activations_with_attributes)
{
    float x[2] = {-1, 2};
    ember_attr a = harness_attr_float("alpha", 0.1f);
    ember_op_tensor y = run1("LeakyRelu", 16, IN(EMBER_DT_FLOAT, 1, x, 2), &a, 1);
    float lr[2] = {-0.1f, 2};
    ut_expect_f32_eq(&y, lr, 2, 1e-5);
    free(y.data);
    y = run1("Elu", 6, IN(EMBER_DT_FLOAT, 1, x, 2), NULL, 0); /* alpha 1 */
    float elu[2] = {expf(-1) - 1, 2};
    ut_expect_f32_eq(&y, elu, 2, 1e-5);
    free(y.data);
    y = run1("HardSigmoid", 6, IN(EMBER_DT_FLOAT, 1, x, 2), NULL, 0); /* 0.2x + 0.5, clamped */
    float hs[2] = {0.3f, 0.9f};
    ut_expect_f32_eq(&y, hs, 2, 1e-5);
    free(y.data);
    ember_attr sh[2] = {harness_attr_float("lambd", 1.5f), harness_attr_float("bias", 0.5f)};
    float xs[3] = {-2, 1, 3};
    y = run1("Shrink", 9, IN(EMBER_DT_FLOAT, 1, xs, 3), sh, 2);
    float shw[3] = {-1.5f, 0, 2.5f};
    ut_expect_f32_eq(&y, shw, 3, 1e-5);
    free(y.data);
}

Test(elementwise_unary, integer_abs_neg_wrap)
{
    int32_t x[3] = {-5, 7, INT32_MIN};
    ember_op_tensor y = run1("Abs", 13, IN(EMBER_DT_INT32, 1, x, 3), NULL, 0);
    int32_t want[3] = {5, 7, INT32_MIN};
    cr_assert_arr_eq(y.data, want, sizeof want);
    free(y.data);
    y = run1("Neg", 13, IN(EMBER_DT_INT32, 1, x, 3), NULL, 0);
    int32_t want2[3] = {5, -7, INT32_MIN};
    cr_assert_arr_eq(y.data, want2, sizeof want2);
    free(y.data);
}

Test(elementwise_unary, float_only_ops_refuse_ints)
{
    int32_t x[1] = {1};
    harness_in in = IN(EMBER_DT_INT32, 1, x, 1);
    ember_op_tensor y;
    cr_assert_eq(harness_run("Exp", 13, &in, 1, NULL, 0, &y, 1), EMBER_E_UNSUPPORTED);
    cr_assert(strstr(ember_last_error(), "int32") != NULL, "%s", ember_last_error());
}

Test(elementwise_unary, clip_inputs_and_attributes)
{
    float x[4] = {-3, -1, 1, 3}, lo[1] = {-2};
    harness_in ins[3] = {IN(EMBER_DT_FLOAT, 1, x, 4), IN(EMBER_DT_FLOAT, 0, lo, 0), {0}};
    ember_op_tensor y;
    cr_assert_eq(harness_run("Clip", 13, ins, 3, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    float want[4] = {-2, -1, 1, 3};
    ut_expect_f32_eq(&y, want, 4, 1e-5);
    free(y.data);
    ember_attr at[2] = {harness_attr_float("min", -0.5f), harness_attr_float("max", 2)};
    y = run1("Clip", 6, IN(EMBER_DT_FLOAT, 1, x, 4), at, 2);
    float want2[4] = {-0.5f, -0.5f, 1, 2};
    ut_expect_f32_eq(&y, want2, 4, 1e-5);
    free(y.data);
    int8_t xi[3] = {-100, 5, 100}, hi[1] = {10};
    harness_in ins2[3] = {IN(EMBER_DT_INT8, 1, xi, 3), {0}, IN(EMBER_DT_INT8, 0, hi, 0)};
    cr_assert_eq(harness_run("Clip", 13, ins2, 3, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    int8_t want3[3] = {-100, 5, 10};
    cr_assert_arr_eq(y.data, want3, 3);
    free(y.data);
}

Test(elementwise_unary, isinf_isnan)
{
    float x[4] = {INFINITY, -INFINITY, NAN, 1};
    ember_attr a = harness_attr_int("detect_positive", 0);
    ember_op_tensor y = run1("IsInf", 10, IN(EMBER_DT_FLOAT, 1, x, 4), &a, 1);
    cr_assert_eq(y.dtype, EMBER_DT_BOOL);
    uint8_t want[4] = {0, 1, 0, 0};
    cr_assert_arr_eq(y.data, want, 4);
    free(y.data);
    y = run1("IsNaN", 13, IN(EMBER_DT_FLOAT, 1, x, 4), NULL, 0);
    uint8_t want2[4] = {0, 0, 1, 0};
    cr_assert_arr_eq(y.data, want2, 4);
    free(y.data);
}

Test(elementwise_unary, not_bool)
{
    uint8_t x[2] = {0, 1};
    ember_op_tensor y = run1("Not", 1, IN(EMBER_DT_BOOL, 1, x, 2), NULL, 0);
    uint8_t want[2] = {1, 0};
    cr_assert_arr_eq(y.data, want, 2);
    free(y.data);
}

Test(elementwise_unary, cast_conversions)
{
    float x[4] = {1.7f, -1.7f, 0, 1e10f};
    ember_attr to = harness_attr_int("to", EMBER_DT_INT32);
    ember_op_tensor y = run1("Cast", 13, IN(EMBER_DT_FLOAT, 1, x, 4), &to, 1);
    cr_assert_eq(y.dtype, EMBER_DT_INT32);
    int32_t want[4] = {1, -1, 0, INT32_MAX}; /* out of range saturates */
    cr_assert_arr_eq(y.data, want, sizeof want);
    free(y.data);
    to = harness_attr_int("to", EMBER_DT_FLOAT16);
    y = run1("Cast", 13, IN(EMBER_DT_FLOAT, 1, x, 3), &to, 1);
    cr_assert_eq(((uint16_t *)y.data)[2], 0);
    cr_assert_eq(((uint16_t *)y.data)[0], 0x3ECD); /* 1.7 rounded to half */
    free(y.data);
    int64_t xi[3] = {0, -3, 1};
    to = harness_attr_int("to", EMBER_DT_BOOL);
    y = run1("Cast", 13, IN(EMBER_DT_INT64, 1, xi, 3), &to, 1);
    uint8_t wb[3] = {0, 1, 1};
    cr_assert_arr_eq(y.data, wb, 3);
    free(y.data);
    to = harness_attr_int("to", EMBER_DT_STRING);
    harness_in in = IN(EMBER_DT_FLOAT, 1, x, 4);
    cr_assert_eq(harness_run("Cast", 13, &in, 1, &to, 1, &y, 1), EMBER_E_UNSUPPORTED);
}

Test(elementwise_unary, cast_like_takes_target_type)
{
    double x[2] = {1.5, -2.25};
    float like[1] = {0};
    harness_in ins[2] = {IN(EMBER_DT_DOUBLE, 1, x, 2), IN(EMBER_DT_FLOAT, 1, like, 1)};
    ember_op_tensor y;
    cr_assert_eq(harness_run("CastLike", 15, ins, 2, NULL, 0, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(y.dtype, EMBER_DT_FLOAT);
    float want[2] = {1.5f, -2.25f};
    ut_expect_f32_eq(&y, want, 2, 1e-5);
    free(y.data);
}

Test(elementwise_unary, dropout_inference_is_identity_with_true_mask)
{
    float x[3] = {1, 2, 3};
    harness_in in = IN(EMBER_DT_FLOAT, 1, x, 3);
    ember_op_tensor y[2];
    cr_assert_eq(harness_run("Dropout", 13, &in, 1, NULL, 0, y, 2), EMBER_OK, "%s", ember_last_error());
    ut_expect_f32_eq(&y[0], x, 3, 1e-5);
    cr_assert_eq(y[1].dtype, EMBER_DT_BOOL);
    uint8_t m[3] = {1, 1, 1};
    cr_assert_arr_eq(y[1].data, m, 3);
    free(y[0].data);
    free(y[1].data);
    uint8_t train[1] = {1};
    float ratio[1] = {0.5f};
    harness_in ins[3] = {in, IN(EMBER_DT_FLOAT, 0, ratio, 0), IN(EMBER_DT_BOOL, 0, train, 0)};
    cr_assert_eq(harness_run("Dropout", 13, ins, 3, NULL, 0, y, 1), EMBER_E_UNSUPPORTED);
}
