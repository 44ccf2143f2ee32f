/* The packed-weights Gemm fast path (ops/host/gemm_packed.c) against the interpreter's
 * Gemm: random shapes around the tile sizes (rows not a multiple of 8, columns not a
 * multiple of 32), both transB, the bias forms it takes, beta, every fused activation,
 * 1-3 threads (splits by column panels and by row blocks), bert_tiny_like's shapes, and
 * the cases it leaves to OpenBLAS. On hosts without AVX-512 it declines everything, and
 * the tests check only that. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "host_harness.h"
#include "ops/host/gemm_act.h"

static uint32_t rng = 4242;

static const char *const acts[] = {NULL, "Relu", "Clip", "Sigmoid", "LeakyRelu", "HardSigmoid", "Tanh",
                                   "Gelu", "GeluTanh", "SiLU"};
#define N_ACTS ((int)(sizeof acts / sizeof *acts))

static harness_in f32_in(int rank, int64_t d0, int64_t d1, const float *data, int is_const)
{
    harness_in h = {.dtype = EMBER_DT_FLOAT, .rank = rank, .data = data, .is_const = is_const};
    h.dims[0] = d0, h.dims[1] = d1;
    return h;
}

/* One Gemm through both paths; returns the fast path's prepare status. cform: 0 no C,
 * 1 scalar, 2 [N], 3 [1, N], 4 [M, N]. */
static ember_status check_gemm(int64_t M, int64_t N, int64_t K, int tb, int cform, float beta, float alpha, int act,
                               int threads)
{
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_GEMM, "packed_gemm");
    float *A = ut_rand_buf(&rng, M * K, 1.0f), *B = ut_rand_buf(&rng, K * N, 1.0f), *C = ut_rand_buf(&rng, M * N, 1.0f);
    harness_in ins[3] = {f32_in(2, M, K, A, 0), f32_in(2, tb ? N : K, tb ? K : N, B, 1), f32_in(0, 0, 0, C, 1)};
    if (cform == 2) ins[2] = f32_in(1, N, 0, C, 1);
    if (cform == 3) ins[2] = f32_in(2, 1, N, C, 1);
    if (cform == 4) ins[2] = f32_in(2, M, N, C, 1);
    ember_attr attrs[8];
    int na = 0;
    attrs[na++] = harness_attr_int("transB", tb);
    attrs[na++] = harness_attr_float("beta", beta);
    attrs[na++] = harness_attr_float("alpha", alpha);
    if (acts[act]) attrs[na++] = harness_attr_string("ember_activation", acts[act]);
    if (act == 2) {
        attrs[na++] = harness_attr_float("ember_act_min", -0.3f);
        attrs[na++] = harness_attr_float("ember_act_max", 0.4f);
    }
    if (act == 4) attrs[na++] = harness_attr_float("ember_act_alpha", 0.1f);
    if (act == 5) {
        attrs[na++] = harness_attr_float("ember_act_alpha", 0.3f);
        attrs[na++] = harness_attr_float("ember_act_beta", 0.6f);
    }
    int n_in = cform ? 3 : 2;
    ember_op_tensor got;
    ember_status s = harness_run_host(k, "Gemm", ins, n_in, attrs, na, threads, &got);
    if (s == EMBER_OK) {
        ember_op_tensor ref;
        cr_assert_eq(harness_run("Gemm", 13, ins, n_in, attrs, na, &ref, 1), EMBER_OK, "%s", ember_last_error());
        char what[160];
        snprintf(what, sizeof what, "Gemm M%lld N%lld K%lld tB%d C%d beta %g act %s threads %d", (long long)M,
                 (long long)N, (long long)K, tb, cform, beta, acts[act] ? acts[act] : "-", threads);
        ut_assert_op_close(&ref, &got, what, 1e-4f, 1e-4f, "packed_gemm");
        free(ref.data);
        free(got.data);
    }
    free(A);
    free(B);
    free(C);
    return s;
}

static bool have_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

Test(host_packed_gemm, random_shapes)
{
    int taken = 0;
    for (int it = 0; it < 250; it++) {
        int64_t M = ut_irand(&rng, 1, 40), N = ut_irand(&rng, 1, 100), K = ut_irand(&rng, 1, 70);
        if (it % 20 == 3) M = ut_irand(&rng, 100, 300), N = ut_irand(&rng, 30, 200), K = ut_irand(&rng, 50, 200);
        int tb = ut_irand(&rng, 0, 1), cform = ut_irand(&rng, 0, 3), act = ut_irand(&rng, 0, N_ACTS - 1);
        int threads = ut_irand(&rng, 1, 3);
        float beta = it % 3 ? 0.5f + ut_frand(&rng) : it % 6 ? 1.0f : 0.0f;
        ember_status s = check_gemm(M, N, K, tb, cform, beta, 1.0f, act, threads);
        cr_assert(s == EMBER_OK || (s == EMBER_E_UNSUPPORTED && !have_avx512()), "M%lld N%lld K%lld: %s",
                  (long long)M, (long long)N, (long long)K, ember_last_error());
        taken += s == EMBER_OK;
    }
    if (have_avx512()) cr_expect_eq(taken, 250);
}

Test(host_packed_gemm, bert_shapes)
{
    /* q/k/v/o, ff1 + GELU, ff2 of bert_tiny_like, at 1 and 2 threads */
    static const int64_t shapes[][3] = {{64, 128, 128}, {64, 512, 128}, {64, 128, 512}};
    for (int i = 0; i < 3; i++)
        for (int threads = 1; threads <= 2; threads++) {
            ember_status s = check_gemm(shapes[i][0], shapes[i][1], shapes[i][2], 0, 2, 1.0f, 1.0f, i == 1 ? 7 : 0,
                                        threads);
            cr_assert(s == EMBER_OK || !have_avx512());
        }
}

/* One-row products (batch-1 Linear layers: ad_autoencoder's 640 -> 128 -> ... -> 640, a
 * classifier's 64 -> 10), with bias and Relu, at 1 and 2 threads. */
Test(host_packed_gemm, one_row_shapes)
{
    static const int64_t shapes[][3] = {{1, 128, 640}, {1, 640, 128}, {1, 8, 128}, {1, 10, 64}, {2, 300, 33}};
    for (int i = 0; i < 5; i++)
        for (int threads = 1; threads <= 2; threads++) {
            ember_status s = check_gemm(shapes[i][0], shapes[i][1], shapes[i][2], 1, 2, 1.0f, 1.0f, i % 2, threads);
            cr_assert(s == EMBER_OK || !have_avx512(), "M%lld N%lld K%lld: %s", (long long)shapes[i][0],
                      (long long)shapes[i][1], (long long)shapes[i][2], ember_last_error());
        }
}

Test(host_packed_gemm, declines)
{
    /* bias varying along rows, alpha != 1: OpenBLAS's */
    cr_expect_eq(check_gemm(16, 40, 20, 0, 4, 1.0f, 1.0f, 0, 1), EMBER_E_UNSUPPORTED);
    cr_expect_eq(check_gemm(16, 40, 20, 0, 2, 1.0f, 0.5f, 0, 1), EMBER_E_UNSUPPORTED);
    /* weights past L2 or long panels: OpenBLAS blocks those */
    cr_expect_eq(check_gemm(8, 8, 1100, 0, 0, 1.0f, 1.0f, 0, 1), EMBER_E_UNSUPPORTED);
    cr_expect_eq(check_gemm(8, 600, 500, 1, 0, 1.0f, 1.0f, 0, 1), EMBER_E_UNSUPPORTED);
    /* B computed at run time */
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_GEMM, "packed_gemm");
    float a[16 * 8] = {0}, b[8 * 8] = {0};
    harness_in ins[2] = {f32_in(2, 16, 8, a, 0), f32_in(2, 8, 8, b, 0)};
    ember_op_tensor got;
    cr_expect_eq(harness_run_host(k, "Gemm", ins, 2, NULL, 0, 1, &got), EMBER_E_UNSUPPORTED);
}

Test(host_packed_gemm, gelu_epilogue_accuracy)
{
    /* The AVX-512 GELU of the epilogues against double-precision x * Phi(x) over [-12, 12]
     * (rows with a tail of 7 columns), and its special values. */
    enum { ROWS = 100, COLS = 2007, LD = 2010 };
    float *y = malloc(sizeof(float) * ROWS * LD);
    for (int i = 0; i < ROWS * LD; i++) y[i] = -12.0f + 24.0f * (float)i / (float)(ROWS * LD);
    float *x = malloc(sizeof(float) * ROWS * LD);
    memcpy(x, y, sizeof(float) * ROWS * LD);
    if (!ember_gelu_rows_avx512(y, ROWS, COLS, LD)) {
        cr_expect(!have_avx512());
        free(x);
        free(y);
        return;
    }
    for (int r = 0; r < ROWS; r++)
        for (int i = 0; i < LD; i++) {
            int k = r * LD + i;
            if (i >= COLS) {
                cr_assert_eq(y[k], x[k], "column %d past the row was written", i);
                continue;
            }
            double v = x[k], want = 0.5 * v * erfc(-v / sqrt(2.0));
            cr_assert(fabs(y[k] - want) <= 5e-7 + 1e-6 * fabs(want), "GELU(%.9g): %.9g, want %.9g", v, y[k], want);
        }
    float sp[5] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f};
    ember_gelu_rows_avx512(sp, 1, 5, 5);
    cr_expect(isnan(sp[0]));
    cr_expect(isinf(sp[1]) && sp[1] > 0);
    cr_expect(isnan(sp[2]), "-inf * Phi(-inf) is -inf * 0, as the erf form");
    cr_expect(sp[3] == 0.0f && sp[4] == 0.0f);
    free(x);
    free(y);
}
