/* Normalizations, recurrent layers, Resize and quantization on hand-computed cases. */
#include <criterion/criterion.h>
#include <math.h>

#include "op_harness.h"
#include "test_util.h"

#define F32(r, ...) EMBER_DT_FLOAT, r, {__VA_ARGS__}

Test(nn_norm, batchnorm_inference)
{
    float x[4] = {1, 2, 3, 4}, s[2] = {1, 2}, b[2] = {0, 1}, m[2] = {1, 3}, v[2] = {4, 1};
    float want[4] = {0, 0.5f, 1, 3};
    ember_attr a = harness_attr_float("epsilon", 0.0f);
    harness_in in[5] = {{F32(4, 1, 2, 1, 2), x, 0}, {F32(1, 2), s, 1}, {F32(1, 2), b, 1},
                        {F32(1, 2), m, 1}, {F32(1, 2), v, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("BatchNormalization", 15, in, 5, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    ut_assert_f32_close(&out, want, 4);
    free(out.data);
}

Test(nn_norm, batchnorm_wrong_channel_count)
{
    float x[4] = {0}, p[3] = {0};
    harness_in in[5] = {{F32(4, 1, 2, 1, 2), x, 0}, {F32(1, 3), p, 1}, {F32(1, 3), p, 1},
                        {F32(1, 3), p, 1}, {F32(1, 3), p, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("BatchNormalization", 15, in, 5, NULL, 0, &out, 1), EMBER_E_INVALID_ARG);
}

Test(nn_norm, layernorm_with_stats)
{
    float x[4] = {1, 3, 2, 2}, s[2] = {1, 2}, b[2] = {0, 1};
    float r = 1.0f / sqrtf(2.0f);
    float want[4] = {-r, 2 * r + 1, 0, 1}, wm[2] = {2, 2}, wi[2] = {r, 1};
    ember_attr a = harness_attr_float("epsilon", 1.0f);
    harness_in in[3] = {{F32(2, 2, 2), x, 0}, {F32(1, 2), s, 1}, {F32(1, 2), b, 1}};
    ember_op_tensor out[3];
    cr_assert_eq(harness_run("LayerNormalization", 17, in, 3, &a, 1, out, 3), EMBER_OK, "%s", ember_last_error());
    ut_assert_f32_close(&out[0], want, 4);
    cr_assert_eq(out[1].rank, 2);
    cr_assert_eq(out[1].dims[1], 1);
    ut_assert_f32_close(&out[1], wm, 2);
    ut_assert_f32_close(&out[2], wi, 2);
    for (int i = 0; i < 3; i++) free(out[i].data);
}

Test(nn_norm, instance_norm)
{
    float x[4] = {1, 3, 5, 5}, s[2] = {2, 1}, b[2] = {0, 7};
    float want[4] = {-2, 2, 7, 7};
    ember_attr a = harness_attr_float("epsilon", 0.0f);
    harness_in in[3] = {{F32(3, 1, 2, 2), x, 0}, {F32(1, 2), s, 1}, {F32(1, 2), b, 1}};
    ember_op_tensor out;
    /* channel 1 has zero variance: 0 / 0 would be NaN, so give it a tiny epsilon */
    a = harness_attr_float("epsilon", 1e-12f);
    cr_assert_eq(harness_run("InstanceNormalization", 6, in, 3, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    ut_assert_f32_close(&out, want, 4);
    free(out.data);
}

Test(nn_norm, lrn_size_one)
{
    /* size 1: y = x / (bias + alpha * x^2) ^ beta = 2 / (1 + 1 * 4) ^ 1 */
    float x[2] = {2, 0};
    ember_attr a[4] = {harness_attr_int("size", 1), harness_attr_float("alpha", 1.0f),
                       harness_attr_float("beta", 1.0f), harness_attr_float("bias", 1.0f)};
    harness_in in = {F32(3, 1, 1, 2), x, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("LRN", 13, &in, 1, a, 4, &out, 1), EMBER_OK, "%s", ember_last_error());
    float want[2] = {0.4f, 0};
    ut_assert_f32_close(&out, want, 2);
    free(out.data);
}

Test(nn_rnn, relu_rnn_two_steps)
{
    float x[2] = {1, 2}, w[1] = {2}, r[1] = {0.5f};
    static const char *acts[1] = {"Relu"};
    ember_attr a[2] = {harness_attr_int("hidden_size", 1), {0}};
    a[1].name = "activations", a[1].type = EMBER_ATTR_STRINGS, a[1].strings = acts, a[1].n = 1;
    harness_in in[3] = {{F32(3, 2, 1, 1), x, 0}, {F32(3, 1, 1, 1), w, 1}, {F32(3, 1, 1, 1), r, 1}};
    ember_op_tensor out[2];
    cr_assert_eq(harness_run("RNN", 14, in, 3, a, 2, out, 2), EMBER_OK, "%s", ember_last_error());
    float wy[2] = {2, 5}, wh[1] = {5};
    cr_assert_eq(out[0].rank, 4);
    ut_assert_f32_close(&out[0], wy, 2);
    ut_assert_f32_close(&out[1], wh, 1);
    free(out[0].data);
    free(out[1].data);
}

Test(nn_rnn, lstm_zero_weights_initial_c)
{
    float x[1] = {3}, w[4] = {0}, r[4] = {0}, b[8] = {0}, h0[1] = {0}, c0[1] = {1};
    int32_t lens[1] = {1};
    ember_attr a = harness_attr_int("hidden_size", 1);
    harness_in in[7] = {{F32(3, 1, 1, 1), x, 0}, {F32(3, 1, 4, 1), w, 1}, {F32(3, 1, 4, 1), r, 1},
                        {F32(2, 1, 8), b, 1}, {EMBER_DT_INT32, 1, {1}, lens, 0},
                        {F32(3, 1, 1, 1), h0, 0}, {F32(3, 1, 1, 1), c0, 0}};
    ember_op_tensor out[3];
    cr_assert_eq(harness_run("LSTM", 14, in, 7, &a, 1, out, 3), EMBER_OK, "%s", ember_last_error());
    /* gates all sigmoid(0) = 0.5, candidate tanh(0) = 0: c = 0.5, h = 0.5 tanh(0.5) */
    float wh[1] = {0.5f * tanhf(0.5f)}, wc[1] = {0.5f};
    ut_assert_f32_close(&out[1], wh, 1);
    ut_assert_f32_close(&out[2], wc, 1);
    for (int i = 0; i < 3; i++) free(out[i].data);
}

Test(nn_rnn, gru_keeps_half_of_state)
{
    float x[1] = {3}, w[3] = {0}, r[3] = {0}, h0[1] = {1};
    ember_attr a = harness_attr_int("hidden_size", 1);
    harness_in in[6] = {{F32(3, 1, 1, 1), x, 0}, {F32(3, 1, 3, 1), w, 1}, {F32(3, 1, 3, 1), r, 1},
                        {0}, {0}, {F32(3, 1, 1, 1), h0, 0}};
    in[3].data = NULL;
    in[4].data = NULL;
    ember_op_tensor out[2];
    cr_assert_eq(harness_run("GRU", 14, in, 6, &a, 1, out, 2), EMBER_OK, "%s", ember_last_error());
    float wh[1] = {0.5f};
    ut_assert_f32_close(&out[1], wh, 1);
    free(out[0].data);
    free(out[1].data);
}

Test(nn_rnn, sequence_lens_out_of_range)
{
    float x[2] = {1, 2}, w[1] = {1}, r[1] = {1};
    int32_t lens[1] = {5};
    harness_in in[5] = {{F32(3, 2, 1, 1), x, 0}, {F32(3, 1, 1, 1), w, 1}, {F32(3, 1, 1, 1), r, 1},
                        {0}, {EMBER_DT_INT32, 1, {1}, lens, 0}};
    in[3].data = NULL;
    ember_attr a = harness_attr_int("hidden_size", 1);
    ember_op_tensor out;
    cr_assert_eq(harness_run("RNN", 14, in, 5, &a, 1, &out, 1), EMBER_E_INVALID_ARG);
}

Test(nn_resize, nearest_half_pixel_scales)
{
    float x[2] = {1, 2}, sc[4] = {1, 1, 2, 2}, roi[1] = {0};
    harness_in in[3] = {{F32(4, 1, 1, 1, 2), x, 0}, {F32(1, 0), roi, 1}, {F32(1, 4), sc, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Resize", 13, in, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[2], 2);
    cr_assert_eq(out.dims[3], 4);
    float want[8] = {1, 1, 2, 2, 1, 1, 2, 2};
    ut_assert_f32_close(&out, want, 8);
    free(out.data);
}

Test(nn_resize, linear_align_corners_sizes)
{
    float x[2] = {1, 3}, roi[1] = {0};
    int64_t sizes[4] = {1, 1, 1, 3};
    ember_attr a[2] = {harness_attr_string("mode", "linear"),
                       harness_attr_string("coordinate_transformation_mode", "align_corners")};
    harness_in in[4] = {{F32(4, 1, 1, 1, 2), x, 0}, {F32(1, 0), roi, 1}, {0}, {EMBER_DT_INT64, 1, {4}, sizes, 1}};
    in[2].data = NULL;
    ember_op_tensor out;
    cr_assert_eq(harness_run("Resize", 13, in, 4, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    float want[3] = {1, 2, 3};
    ut_assert_f32_close(&out, want, 3);
    free(out.data);
}

Test(nn_quant, quantize_rounds_half_to_even_and_saturates)
{
    float x[5] = {0, 1, 2.5f, -1, 300}, s[1] = {2};
    uint8_t z[1] = {128}, want[5] = {128, 128, 129, 128, 255};
    harness_in in[3] = {{F32(1, 5), x, 0}, {F32(0, 0), s, 1}, {EMBER_DT_UINT8, 0, {0}, z, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("QuantizeLinear", 13, in, 3, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dtype, EMBER_DT_UINT8);
    cr_assert_arr_eq(out.data, want, 5);
    free(out.data);
}

Test(nn_quant, dequantize_per_axis)
{
    int8_t x[4] = {2, 4, -2, 6};
    float s[2] = {0.5f, 2}, want[4] = {1, 2, -4, 12};
    int8_t z[2] = {0, 0};
    ember_attr a = harness_attr_int("axis", 0);
    harness_in in[3] = {{EMBER_DT_INT8, 2, {2, 2}, x, 0}, {F32(1, 2), s, 1}, {EMBER_DT_INT8, 1, {2}, z, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("DequantizeLinear", 13, in, 3, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    ut_assert_f32_close(&out, want, 4);
    free(out.data);
}

Test(nn_quant, matmul_integer_zero_points)
{
    uint8_t a[2] = {11, 12}, b[2] = {3, 4}, za[1] = {10}, zb[1] = {2};
    harness_in in[4] = {{EMBER_DT_UINT8, 2, {1, 2}, a, 0}, {EMBER_DT_UINT8, 2, {2, 1}, b, 0},
                        {EMBER_DT_UINT8, 0, {0}, za, 1}, {EMBER_DT_UINT8, 0, {0}, zb, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("MatMulInteger", 10, in, 4, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dtype, EMBER_DT_INT32);
    /* (11-10)*(3-2) + (12-10)*(4-2) = 5 */
    cr_assert_eq(((int32_t *)out.data)[0], 5);
    free(out.data);
}
