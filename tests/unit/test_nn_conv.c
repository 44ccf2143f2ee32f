/* Conv, ConvTranspose, Gemm, MatMul and pools on hand-computed cases. */
#include <criterion/criterion.h>
#include <math.h>

#include "op_harness.h"
#include "test_util.h"

#define F32(r, ...) EMBER_DT_FLOAT, r, {__VA_ARGS__}

Test(nn_conv, valid_2x2_kernel)
{
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, want[4] = {12, 16, 24, 28};
    harness_in in[2] = {{F32(4, 1, 1, 3, 3), x, 0}, {F32(4, 1, 1, 2, 2), w, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Conv", 13, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 4);
    cr_assert_eq(out.dims[2], 2);
    ut_assert_f32_close(&out, want, 4);
    free(out.data);
}

Test(nn_conv, pads_strides_bias)
{
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[4] = {1, 1, 1, 1}, b[1] = {10};
    float want[4] = {11, 15, 21, 38};
    int64_t pads[4] = {1, 1, 1, 1}, strides[2] = {2, 2};
    ember_attr a[2] = {harness_attr_ints("pads", pads, 4), harness_attr_ints("strides", strides, 2)};
    harness_in in[3] = {{F32(4, 1, 1, 3, 3), x, 0}, {F32(4, 1, 1, 2, 2), w, 1}, {F32(1, 1), b, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Conv", 13, in, 3, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    ut_assert_f32_close(&out, want, 4);
    free(out.data);
}

Test(nn_conv, depthwise_groups)
{
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, w[8] = {1, 1, 1, 1, 1, 1, 1, 1}, want[2] = {10, 26};
    ember_attr a = harness_attr_int("group", 2);
    harness_in in[2] = {{F32(4, 1, 2, 2, 2), x, 0}, {F32(4, 2, 1, 2, 2), w, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Conv", 13, in, 2, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[1], 2);
    ut_assert_f32_close(&out, want, 2);
    free(out.data);
}

Test(nn_conv, same_upper_keeps_size)
{
    float x[25] = {0}, w[9] = {0};
    ember_attr a[2] = {harness_attr_string("auto_pad", "SAME_UPPER"), harness_attr_ints("strides", (int64_t[]){2, 2}, 2)};
    harness_in in[2] = {{F32(4, 1, 1, 5, 5), x, 0}, {F32(4, 1, 1, 3, 3), w, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Conv", 13, in, 2, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dims[2], 3);
    cr_assert_eq(out.dims[3], 3);
    free(out.data);
}

/* A multi-channel convolution large enough to use full register tiles, checked against
 * a direct loop written here. */
Test(nn_conv, matches_direct_loops)
{
    enum { C = 3, M = 9, H = 7, W = 11, K = 3 };
    static float x[C * H * W], w[M * C * K * K], want[M * H * W];
    for (int i = 0; i < C * H * W; i++) x[i] = (float)((i * 7) % 13) - 6.0f;
    for (int i = 0; i < M * C * K * K; i++) w[i] = (float)((i * 5) % 11) * 0.25f - 1.0f;
    for (int m = 0; m < M; m++)
        for (int oh = 0; oh < H; oh++)
            for (int ow = 0; ow < W; ow++) {
                float s = 0;
                for (int c = 0; c < C; c++)
                    for (int i = 0; i < K; i++)
                        for (int j = 0; j < K; j++) {
                            int ih = oh - 1 + i, iw = ow - 1 + j;
                            if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                s += x[(c * H + ih) * W + iw] * w[((m * C + c) * K + i) * K + j];
                        }
                want[(m * H + oh) * W + ow] = s;
            }
    int64_t pads[4] = {1, 1, 1, 1};
    ember_attr a = harness_attr_ints("pads", pads, 4);
    harness_in in[2] = {{F32(4, 1, C, H, W), x, 0}, {F32(4, M, C, K, K), w, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Conv", 13, in, 2, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    ut_assert_f32_close(&out, want, M * H * W);
    free(out.data);
}

Test(nn_conv, channel_mismatch_is_rejected)
{
    float x[18] = {0}, w[4] = {0};
    harness_in in[2] = {{F32(4, 1, 2, 3, 3), x, 0}, {F32(4, 1, 1, 2, 2), w, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Conv", 13, in, 2, NULL, 0, &out, 1), EMBER_E_INVALID_MODEL);
    cr_assert(strstr(ember_last_error(), "channels") != NULL, "%s", ember_last_error());
}

Test(nn_conv, transpose_1d)
{
    float x[2] = {1, 2}, w[2] = {1, 1}, want[3] = {1, 3, 2};
    harness_in in[2] = {{F32(3, 1, 1, 2), x, 0}, {F32(3, 1, 1, 2), w, 1}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("ConvTranspose", 13, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    ut_assert_f32_close(&out, want, 3);
    free(out.data);
}

Test(nn_gemm, alpha_beta_vector_bias)
{
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, cb[2] = {1, 2};
    float want[4] = {9, 12, 21, 24};
    ember_attr at = harness_attr_float("alpha", 2.0f);
    harness_in in[3] = {{F32(2, 2, 3), a, 0}, {F32(2, 3, 2), b, 0}, {F32(1, 2), cb, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Gemm", 13, in, 3, &at, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    ut_assert_f32_close(&out, want, 4);
    free(out.data);
}

Test(nn_gemm, transposes)
{
    float at_[6] = {1, 4, 2, 5, 3, 6}, bt[6] = {1, 0, 1, 0, 1, 1}, want[4] = {4, 5, 10, 11};
    ember_attr a[2] = {harness_attr_int("transA", 1), harness_attr_int("transB", 1)};
    harness_in in[2] = {{F32(2, 3, 2), at_, 0}, {F32(2, 2, 3), bt, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Gemm", 13, in, 2, a, 2, &out, 1), EMBER_OK, "%s", ember_last_error());
    ut_assert_f32_close(&out, want, 4);
    free(out.data);
}

Test(nn_gemm, inner_mismatch_is_rejected)
{
    float a[6] = {0}, b[6] = {0};
    harness_in in[2] = {{F32(2, 2, 3), a, 0}, {F32(2, 2, 3), b, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Gemm", 13, in, 2, NULL, 0, &out, 1), EMBER_E_INVALID_ARG);
}

Test(nn_matmul, vector_times_matrix)
{
    float a[2] = {1, 2}, b[6] = {1, 2, 3, 4, 5, 6}, want[3] = {9, 12, 15};
    harness_in in[2] = {{F32(1, 2), a, 0}, {F32(2, 2, 3), b, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("MatMul", 13, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 1);
    ut_assert_f32_close(&out, want, 3);
    free(out.data);
}

Test(nn_matmul, batch_broadcast)
{
    /* A [2,1,1,2] x B [3,2,1] -> [2,3,1,1] */
    float a[4] = {1, 2, 3, 4}, b[6] = {1, 0, 0, 1, 1, 1};
    float want[6] = {1, 2, 3, 3, 4, 7};
    harness_in in[2] = {{F32(4, 2, 1, 1, 2), a, 0}, {F32(3, 3, 2, 1), b, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("MatMul", 13, in, 2, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 4);
    cr_assert_eq(out.dims[0], 2);
    cr_assert_eq(out.dims[1], 3);
    ut_assert_f32_close(&out, want, 6);
    free(out.data);
}

Test(nn_matmul, int_operands_unsupported)
{
    int32_t a[2] = {1, 2}, b[2] = {3, 4};
    harness_in in[2] = {{EMBER_DT_INT32, 1, {2}, a, 0}, {EMBER_DT_INT32, 1, {2}, b, 0}};
    ember_op_tensor out;
    cr_assert_eq(harness_run("MatMul", 13, in, 2, NULL, 0, &out, 1), EMBER_E_UNSUPPORTED);
}

Test(nn_pool, maxpool_with_indices)
{
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i;
    int64_t k[2] = {2, 2};
    ember_attr a[2] = {harness_attr_ints("kernel_shape", k, 2), harness_attr_ints("strides", k, 2)};
    harness_in in = {F32(4, 1, 1, 4, 4), x, 0};
    ember_op_tensor out[2];
    cr_assert_eq(harness_run("MaxPool", 12, &in, 1, a, 2, out, 2), EMBER_OK, "%s", ember_last_error());
    float want[4] = {5, 7, 13, 15};
    ut_assert_f32_close(&out[0], want, 4);
    int64_t wi[4] = {5, 7, 13, 15};
    cr_assert_eq(out[1].dtype, EMBER_DT_INT64);
    cr_assert_arr_eq(out[1].data, wi, sizeof wi);
    free(out[0].data);
    free(out[1].data);
}

Test(nn_pool, average_count_include_pad)
{
    float x[4] = {1, 2, 3, 4};
    int64_t k[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
    ember_attr a[3] = {harness_attr_ints("kernel_shape", k, 2), harness_attr_ints("pads", pads, 4),
                       harness_attr_int("count_include_pad", 0)};
    harness_in in = {F32(4, 1, 1, 2, 2), x, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("AveragePool", 11, &in, 1, a, 3, &out, 1), EMBER_OK, "%s", ember_last_error());
    float want[4] = {2.5f, 2.5f, 2.5f, 2.5f};
    ut_assert_f32_close(&out, want, 4);
    free(out.data);
    a[2] = harness_attr_int("count_include_pad", 1);
    cr_assert_eq(harness_run("AveragePool", 11, &in, 1, a, 3, &out, 1), EMBER_OK, "%s", ember_last_error());
    float want2[4] = {10.0f / 9, 10.0f / 9, 10.0f / 9, 10.0f / 9};
    ut_assert_f32_close(&out, want2, 4);
    free(out.data);
}

Test(nn_pool, global_average_and_max)
{
    float x[8] = {1, 2, 3, 4, -1, -2, -3, -4};
    harness_in in = {F32(4, 1, 2, 2, 2), x, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("GlobalAveragePool", 13, &in, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 4);
    cr_assert_eq(out.dims[3], 1);
    float want[2] = {2.5f, -2.5f};
    ut_assert_f32_close(&out, want, 2);
    free(out.data);
    cr_assert_eq(harness_run("GlobalMaxPool", 13, &in, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    float want2[2] = {4, -1};
    ut_assert_f32_close(&out, want2, 2);
    free(out.data);
}

Test(nn_pool, missing_kernel_shape_is_rejected)
{
    float x[4] = {0};
    harness_in in = {F32(4, 1, 1, 2, 2), x, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("MaxPool", 12, &in, 1, NULL, 0, &out, 1), EMBER_E_INVALID_MODEL);
    cr_assert(strstr(ember_last_error(), "kernel_shape") != NULL);
}
