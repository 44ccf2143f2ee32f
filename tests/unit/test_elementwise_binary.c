#include <stdio.h>

#include <criterion/criterion.h>
#include <math.h>

#include "op_harness.h"
#include "test_util.h"

#define IN(dt, r, data, ...) ((harness_in){dt, r, {__VA_ARGS__}, data, 0})

static ember_op_tensor run2(const char *op, int opset, harness_in a, harness_in b,
                            const ember_attr *attrs, int n_attrs)
{
    harness_in ins[2] = {a, b};
    ember_op_tensor out;
    ember_status s = harness_run(op, opset, ins, 2, attrs, n_attrs, &out, 1);
    cr_assert_eq(s, EMBER_OK, "%s: %s", op, ember_last_error());
    return out;
}

Test(elementwise_binary, add_broadcasts_row)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30};
    ember_op_tensor y = run2("Add", 14, IN(EMBER_DT_FLOAT, 2, a, 2, 3), IN(EMBER_DT_FLOAT, 1, b, 3), NULL, 0);
    cr_assert_eq(y.rank, 2);
    cr_assert_eq(y.dims[0], 2);
    cr_assert_eq(y.dims[1], 3);
    float want[6] = {11, 22, 33, 14, 25, 36};
    ut_expect_f32_eq(&y, want, 6, 1e-6);
    free(y.data);
}

Test(elementwise_binary, sub_broadcasts_both_ways)
{
    float a[2] = {1, 2}, b[3] = {10, 20, 30};
    ember_op_tensor y = run2("Sub", 14, IN(EMBER_DT_FLOAT, 2, a, 2, 1), IN(EMBER_DT_FLOAT, 2, b, 1, 3), NULL, 0);
    cr_assert_eq(y.dims[0], 2);
    cr_assert_eq(y.dims[1], 3);
    float want[6] = {-9, -19, -29, -8, -18, -28};
    ut_expect_f32_eq(&y, want, 6, 1e-6);
    free(y.data);
}

Test(elementwise_binary, broadcast_middle_axis)
{
    /* [2,1,2] * [3,1] -> [2,3,2] */
    float a[4] = {1, 2, 3, 4}, b[3] = {1, 10, 100};
    ember_op_tensor y = run2("Mul", 14, IN(EMBER_DT_FLOAT, 3, a, 2, 1, 2), IN(EMBER_DT_FLOAT, 2, b, 3, 1), NULL, 0);
    cr_assert_eq(y.rank, 3);
    float want[12] = {1, 2, 10, 20, 100, 200, 3, 4, 30, 40, 300, 400};
    ut_expect_f32_eq(&y, want, 12, 1e-6);
    free(y.data);
}

Test(elementwise_binary, int_div_truncates_and_survives_zero)
{
    int32_t a[6] = {7, -7, 7, -7, 5, INT32_MIN}, b[6] = {2, 2, -2, -2, 0, -1};
    ember_op_tensor y = run2("Div", 14, IN(EMBER_DT_INT32, 1, a, 6), IN(EMBER_DT_INT32, 1, b, 6), NULL, 0);
    int32_t want[6] = {3, -3, -3, 3, 0, INT32_MIN};
    cr_assert_arr_eq(y.data, want, sizeof want);
    free(y.data);
}

Test(elementwise_binary, mod_takes_divisor_sign)
{
    int64_t a[4] = {7, -7, 7, -7}, b[4] = {3, 3, -3, -3};
    ember_op_tensor y = run2("Mod", 13, IN(EMBER_DT_INT64, 1, a, 4), IN(EMBER_DT_INT64, 1, b, 4), NULL, 0);
    int64_t want[4] = {1, 2, -2, -1};
    cr_assert_arr_eq(y.data, want, sizeof want);
    free(y.data);
}

Test(elementwise_binary, mod_fmod_takes_dividend_sign)
{
    int64_t a[4] = {7, -7, 7, -7}, b[4] = {3, 3, -3, -3};
    ember_attr f = harness_attr_int("fmod", 1);
    ember_op_tensor y = run2("Mod", 13, IN(EMBER_DT_INT64, 1, a, 4), IN(EMBER_DT_INT64, 1, b, 4), &f, 1);
    int64_t want[4] = {1, -1, 1, -1};
    cr_assert_arr_eq(y.data, want, sizeof want);
    free(y.data);
    float fa[2] = {5.5f, -5.5f}, fb[2] = {2, 2};
    y = run2("Mod", 13, IN(EMBER_DT_FLOAT, 1, fa, 2), IN(EMBER_DT_FLOAT, 1, fb, 2), &f, 1);
    float fw[2] = {1.5f, -1.5f};
    ut_expect_f32_eq(&y, fw, 2, 1e-6);
    free(y.data);
}

Test(elementwise_binary, mod_rejects_bad_fmod)
{
    int32_t a[1] = {1};
    harness_in ins[2] = {IN(EMBER_DT_INT32, 1, a, 1), IN(EMBER_DT_INT32, 1, a, 1)};
    ember_attr f = harness_attr_int("fmod", 2);
    ember_op_tensor y;
    cr_assert_eq(harness_run("Mod", 13, ins, 2, &f, 1, &y, 1), EMBER_E_INVALID_MODEL);
}

Test(elementwise_binary, pow_integer_and_mixed_types)
{
    int64_t a[2] = {2, -3}, b[2] = {10, 3};
    ember_op_tensor y = run2("Pow", 15, IN(EMBER_DT_INT64, 1, a, 2), IN(EMBER_DT_INT64, 1, b, 2), NULL, 0);
    int64_t want[2] = {1024, -27};
    cr_assert_arr_eq(y.data, want, sizeof want);
    free(y.data);
    /* int base, float exponent: computed in floating point, truncated to int */
    int64_t base[2] = {2, 3};
    float e[2] = {0.5f, 2};
    y = run2("Pow", 15, IN(EMBER_DT_INT64, 1, base, 2), IN(EMBER_DT_FLOAT, 1, e, 2), NULL, 0);
    cr_assert_eq(y.dtype, EMBER_DT_INT64);
    int64_t want2[2] = {1, 9};
    cr_assert_arr_eq(y.data, want2, sizeof want2);
    free(y.data);
}

Test(elementwise_binary, comparisons_give_bool)
{
    float a[3] = {1, 2, 3}, b[1] = {2};
    ember_op_tensor y = run2("Greater", 13, IN(EMBER_DT_FLOAT, 1, a, 3), IN(EMBER_DT_FLOAT, 0, b, 0), NULL, 0);
    cr_assert_eq(y.dtype, EMBER_DT_BOOL);
    uint8_t want[3] = {0, 0, 1};
    cr_assert_arr_eq(y.data, want, 3);
    free(y.data);
    y = run2("LessOrEqual", 16, IN(EMBER_DT_FLOAT, 1, a, 3), IN(EMBER_DT_FLOAT, 0, b, 0), NULL, 0);
    uint8_t want2[3] = {1, 1, 0};
    cr_assert_arr_eq(y.data, want2, 3);
    free(y.data);
}

Test(elementwise_binary, logical_xor_broadcast)
{
    uint8_t a[4] = {0, 1, 0, 1}, b[2] = {0, 1};
    ember_op_tensor y = run2("Xor", 7, IN(EMBER_DT_BOOL, 2, a, 2, 2), IN(EMBER_DT_BOOL, 2, b, 2, 1), NULL, 0);
    uint8_t want[4] = {0, 1, 1, 0};
    cr_assert_arr_eq(y.data, want, 4);
    free(y.data);
}

Test(elementwise_binary, bitshift_directions)
{
    uint8_t a[3] = {1, 255, 16}, b[3] = {3, 1, 9};
    ember_attr l = harness_attr_string("direction", "LEFT");
    ember_op_tensor y = run2("BitShift", 11, IN(EMBER_DT_UINT8, 1, a, 3), IN(EMBER_DT_UINT8, 1, b, 3), &l, 1);
    uint8_t want[3] = {8, 254, 0};
    cr_assert_arr_eq(y.data, want, 3);
    free(y.data);
    ember_attr r = harness_attr_string("direction", "RIGHT");
    y = run2("BitShift", 11, IN(EMBER_DT_UINT8, 1, a, 3), IN(EMBER_DT_UINT8, 1, b, 3), &r, 1);
    uint8_t want2[3] = {0, 127, 0};
    cr_assert_arr_eq(y.data, want2, 3);
    free(y.data);
}

Test(elementwise_binary, prelu_slope_broadcasts_to_x)
{
    float x[4] = {-2, 3, -4, 5}, s[2] = {0.5f, 0.25f};
    ember_op_tensor y = run2("PRelu", 16, IN(EMBER_DT_FLOAT, 2, x, 2, 2), IN(EMBER_DT_FLOAT, 1, s, 2), NULL, 0);
    float want[4] = {-1, 3, -2, 5};
    ut_expect_f32_eq(&y, want, 4, 1e-6);
    free(y.data);
    /* slope larger than X is not allowed */
    harness_in ins[2] = {IN(EMBER_DT_FLOAT, 1, s, 2), IN(EMBER_DT_FLOAT, 2, x, 2, 2)};
    cr_assert_eq(harness_run("PRelu", 16, ins, 2, NULL, 0, &y, 1), EMBER_E_INVALID_MODEL);
}

Test(elementwise_binary, where_three_way_broadcast)
{
    uint8_t c[2] = {1, 0};
    int64_t x[3] = {1, 2, 3}, yv[1] = {-1};
    harness_in ins[3] = {IN(EMBER_DT_BOOL, 2, c, 2, 1), IN(EMBER_DT_INT64, 1, x, 3), IN(EMBER_DT_INT64, 0, yv, 0)};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Where", 16, ins, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[0], 2);
    cr_assert_eq(out.dims[1], 3);
    int64_t want[6] = {1, 2, 3, -1, -1, -1};
    cr_assert_arr_eq(out.data, want, sizeof want);
    free(out.data);
}

Test(elementwise_binary, variadic_max_and_mean)
{
    float a[2] = {1, 5}, b[2] = {3, 0}, c[1] = {2};
    harness_in ins[3] = {IN(EMBER_DT_FLOAT, 1, a, 2), IN(EMBER_DT_FLOAT, 2, b, 2, 1), IN(EMBER_DT_FLOAT, 0, c, 0)};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Max", 13, ins, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    float want[4] = {3, 5, 2, 5};
    ut_expect_f32_eq(&out, want, 4, 1e-6);
    free(out.data);
    cr_assert_eq(harness_run("Mean", 13, ins, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    float want2[4] = {2, 10.0f / 3, 1, 7.0f / 3};
    ut_expect_f32_eq(&out, want2, 4, 1e-6);
    free(out.data);
    cr_assert_eq(harness_run("Sum", 13, ins, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    ut_expect_f32_eq(&out, a, 2, 1e-6);
    free(out.data);
}

Test(elementwise_binary, float16_add)
{
    uint16_t a[1] = {0x3E00 /* 1.5 */}, b[1] = {0x4080 /* 2.25 */};
    ember_op_tensor y = run2("Add", 14, IN(EMBER_DT_FLOAT16, 1, a, 1), IN(EMBER_DT_FLOAT16, 1, b, 1), NULL, 0);
    cr_assert_eq(((uint16_t *)y.data)[0], 0x4380 /* 3.75 */);
    free(y.data);
}

Test(elementwise_binary, empty_tensor)
{
    float a[1] = {0}, b[3] = {1, 2, 3};
    ember_op_tensor y = run2("Add", 14, IN(EMBER_DT_FLOAT, 2, a, 0, 3), IN(EMBER_DT_FLOAT, 1, b, 3), NULL, 0);
    cr_assert_eq(y.rank, 2);
    cr_assert_eq(y.dims[0], 0);
    free(y.data);
}

Test(elementwise_binary, rejects_mixed_types_and_bad_shapes)
{
    float a[2] = {1, 2};
    int64_t b[2] = {1, 2};
    float c[3] = {1, 2, 3};
    ember_op_tensor y;
    harness_in ins[2] = {IN(EMBER_DT_FLOAT, 1, a, 2), IN(EMBER_DT_INT64, 1, b, 2)};
    cr_assert_eq(harness_run("Add", 14, ins, 2, NULL, 0, &y, 1), EMBER_E_INVALID_MODEL);
    cr_assert(strstr(ember_last_error(), "int64") != NULL, "%s", ember_last_error());
    harness_in ins2[2] = {IN(EMBER_DT_FLOAT, 1, a, 2), IN(EMBER_DT_FLOAT, 1, c, 3)};
    cr_assert_neq(harness_run("Add", 14, ins2, 2, NULL, 0, &y, 1), EMBER_OK);
    cr_assert(strstr(ember_last_error(), "broadcast") != NULL, "%s", ember_last_error());
    harness_in ins3[2] = {IN(EMBER_DT_FLOAT, 1, a, 2), IN(EMBER_DT_FLOAT, 1, a, 2)};
    cr_assert_eq(harness_run("And", 7, ins3, 2, NULL, 0, &y, 1), EMBER_E_UNSUPPORTED);
}
