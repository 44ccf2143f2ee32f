/* The LayerNormalization host fast path (ops/host/layernorm_rows.c) against the
 * interpreter: random row counts and widths (a vector body and a tail), offsets far from
 * zero, with and without B, 1-3 threads, and the cases it leaves to the reference. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "host_harness.h"

static uint32_t rng = 99;

static harness_in f32_in(int rank, const int64_t *dims, const float *data, int is_const)
{
    harness_in h = {.dtype = EMBER_DT_FLOAT, .rank = rank, .data = data, .is_const = is_const};
    for (int i = 0; i < rank; i++) h.dims[i] = dims[i];
    return h;
}

Test(host_layernorm, random_rows)
{
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_LAYER_NORMALIZATION, "layernorm_rows");
    for (int it = 0; it < 100; it++) {
        int64_t dims[3] = {ut_irand(&rng, 1, 3), ut_irand(&rng, 1, 70), ut_irand(&rng, 16, 300)};
        int64_t n = dims[0] * dims[1] * dims[2], cols = dims[2];
        float *x = ut_rand_buf(&rng, n, it % 2 ? 3.0f : 0.5f);
        if (it % 5 == 0)
            for (int64_t i = 0; i < n; i++) x[i] += 100.0f; /* far from zero: the shifted mean */
        float *s = ut_rand_buf(&rng, cols, 1.0f), *b = ut_rand_buf(&rng, cols, 1.0f);
        int with_b = it % 3 != 0, threads = ut_irand(&rng, 1, 3);
        harness_in ins[3] = {f32_in(3, dims, x, 0), f32_in(1, &cols, s, it % 2), f32_in(1, &cols, b, 1)};
        ember_attr attrs[2] = {harness_attr_int("axis", it % 2 ? -1 : 2), harness_attr_float("epsilon", 1e-3f)};
        ember_op_tensor ref, got;
        cr_assert_eq(harness_run("LayerNormalization", 17, ins, with_b ? 3 : 2, attrs, 2, &ref, 1), EMBER_OK, "%s",
                     ember_last_error());
        cr_assert_eq(harness_run_host(k, "LayerNormalization", ins, with_b ? 3 : 2, attrs, 2, threads, &got), EMBER_OK,
                     "%s", ember_last_error());
        char what[96];
        snprintf(what, sizeof what, "LayerNormalization [%lld,%lld,%lld] bias %d threads %d", (long long)dims[0],
                 (long long)dims[1], (long long)dims[2], with_b, threads);
        ut_assert_op_close(&ref, &got, what, 1e-4f, 1e-5f, "layernorm_rows");
        free(ref.data);
        free(got.data);
        free(x);
        free(s);
        free(b);
    }
}

Test(host_layernorm, declines)
{
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_LAYER_NORMALIZATION, "layernorm_rows");
    float x[4 * 32] = {0}, s[32] = {0};
    int64_t d2[2] = {4, 32}, c32 = 32, one = 1, d8[2] = {16, 8}, c8 = 8;
    ember_op_tensor got;
    /* over more than the last axis */
    harness_in two_axes[2] = {f32_in(2, d2, x, 0), f32_in(2, d2, x, 1)};
    ember_attr axis0 = harness_attr_int("axis", 0);
    cr_expect_eq(harness_run_host(k, "LayerNormalization", two_axes, 2, &axis0, 1, 1, &got), EMBER_E_UNSUPPORTED);
    /* a broadcast Scale */
    harness_in bcast[2] = {f32_in(2, d2, x, 0), f32_in(1, &one, s, 1)};
    cr_expect_eq(harness_run_host(k, "LayerNormalization", bcast, 2, NULL, 0, 1, &got), EMBER_E_UNSUPPORTED);
    /* rows shorter than a vector */
    harness_in narrow[2] = {f32_in(2, d8, x, 0), f32_in(1, &c8, s, 1)};
    cr_expect_eq(harness_run_host(k, "LayerNormalization", narrow, 2, NULL, 0, 1, &got), EMBER_E_UNSUPPORTED);
    harness_in ok[2] = {f32_in(2, d2, x, 0), f32_in(1, &c32, s, 1)};
    cr_expect_eq(harness_run_host(k, "LayerNormalization", ok, 2, NULL, 0, 1, &got), EMBER_OK);
    free(got.data);
}
