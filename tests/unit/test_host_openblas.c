/* The OpenBLAS fast paths for Gemm and MatMul against the reference kernels: random
 * shapes, transposes, alpha/beta, every broadcast form of Gemm's C, fused activations,
 * batched MatMul with broadcasting. The fast path is driven as the cpu backend drives it:
 * infer, prepare (constants only), run. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "ember.h"
#include "host_harness.h"

static uint32_t rng = 12345;

static harness_in f32_in(int rank, const int64_t *dims, const float *data, int is_const)
{
    harness_in h = {.dtype = EMBER_DT_FLOAT, .rank = rank, .data = data, .is_const = is_const};
    for (int i = 0; i < rank; i++) h.dims[i] = dims[i];
    return h;
}

/* Activation attributes as the fusion pass writes them. */
static const char *const act_names[] = {NULL, "Relu", "Clip", "Sigmoid", "LeakyRelu", "HardSigmoid", "Tanh"};

static int add_act(ember_attr *attrs, int n, int act)
{
    if (!act_names[act]) return n;
    attrs[n++] = harness_attr_string("ember_activation", act_names[act]);
    if (act == 2) attrs[n++] = harness_attr_float("ember_act_min", -0.3f), attrs[n++] = harness_attr_float("ember_act_max", 0.4f);
    if (act == 4) attrs[n++] = harness_attr_float("ember_act_alpha", 0.1f);
    if (act == 5) attrs[n++] = harness_attr_float("ember_act_alpha", 0.3f), attrs[n++] = harness_attr_float("ember_act_beta", 0.6f);
    return n;
}

Test(host_openblas, gemm_random)
{
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_GEMM, "openblas_gemm");
    int taken = 0, declined = 0;
    for (int it = 0; it < 300; it++) {
        int64_t M = ut_irand(&rng, 1, 40), N = ut_irand(&rng, 1, 40), K = ut_irand(&rng, 1, 40);
        if (it % 10 == 0) M = 1; /* GEMV, as in the MLPs */
        if (it % 25 == 7) /* big enough to be split between the run's threads (3, below) */
            M = ut_irand(&rng, 150, 300), N = ut_irand(&rng, 8, 200), K = ut_irand(&rng, 100, 200);
        int ta = ut_irand(&rng, 0, 1), tb = ut_irand(&rng, 0, 1), cform = ut_irand(&rng, 0, 6),
            act = ut_irand(&rng, 0, 6), threads = ut_irand(&rng, 0, 2);
        float alpha = it % 3 ? 0.5f + ut_frand(&rng) : 1.0f, beta = it % 4 ? ut_frand(&rng) * 2 : 1.0f;
        if (it % 17 == 0) beta = 0.0f;
        if (it % 25 == 7) threads = 3;
        int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N};
        /* C: absent, scalar, [1], [N], [1, N], [M, 1], [M, N] */
        static const int crank[7] = {-1, 0, 1, 1, 2, 2, 2};
        int64_t cd[2] = {0, 0};
        if (cform == 2) cd[0] = 1;
        if (cform == 3) cd[0] = N;
        if (cform == 4) cd[0] = 1, cd[1] = N;
        if (cform == 5) cd[0] = M, cd[1] = 1;
        if (cform == 6) cd[0] = M, cd[1] = N;
        int64_t cn = crank[cform] < 0 ? 0 : crank[cform] == 0 ? 1 : crank[cform] == 1 ? cd[0] : cd[0] * cd[1];
        float *A = ut_rand_buf(&rng, M * K, 1.0f), *B = ut_rand_buf(&rng, K * N, 1.0f),
              *C = crank[cform] >= 0 ? ut_rand_buf(&rng, cn, 1.0f) : NULL;
        harness_in ins[3] = {f32_in(2, ad, A, 0), f32_in(2, bd, B, it % 2), f32_in(crank[cform] < 0 ? 0 : crank[cform], cd, C, 1)};
        ember_attr attrs[8];
        int na = 0;
        attrs[na++] = harness_attr_int("transA", ta);
        attrs[na++] = harness_attr_int("transB", tb);
        attrs[na++] = harness_attr_float("alpha", alpha);
        attrs[na++] = harness_attr_float("beta", beta);
        na = add_act(attrs, na, act);
        ember_op_tensor ref, got;
        cr_assert_eq(harness_run("Gemm", 13, ins, C ? 3 : 2, attrs, na, &ref, 1), EMBER_OK, "%s", ember_last_error());
        ember_status s = harness_run_host(k, "Gemm", ins, C ? 3 : 2, attrs, na, threads, &got);
        char what[160];
        snprintf(what, sizeof what, "Gemm M%lld N%lld K%lld tA%d tB%d C%d act %s alpha %g beta %g", (long long)M,
                 (long long)N, (long long)K, ta, tb, cform, act_names[act] ? act_names[act] : "-", alpha, beta);
        if (M * N * K < 512) {
            cr_expect_eq(s, EMBER_E_UNSUPPORTED, "%s: tiny products stay on the reference kernel", what);
            declined++;
        } else {
            cr_assert_eq(s, EMBER_OK, "%s: %s", what, ember_last_error());
            ut_assert_op_close(&ref, &got, what, 1e-4f, 1e-4f, "openblas");
            free(got.data);
            taken++;
        }
        free(ref.data);
        free(A);
        free(B);
        free(C);
    }
    cr_expect_gt(taken, 100);
    cr_expect_gt(declined, 0);
}

typedef struct mm_case {
    int ar, br;
    int64_t ad[4], bd[4];
} mm_case;

Test(host_openblas, matmul_shapes)
{
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_MATMUL, "openblas_matmul");
    static const mm_case cases[] = {
        {2, 2, {33, 17}, {17, 29}},                   /* plain */
        {3, 2, {3, 11, 16}, {16, 9}},                 /* batch folded into M */
        {3, 3, {3, 11, 16}, {3, 16, 9}},              /* batch */
        {4, 4, {1, 2, 64, 64}, {1, 2, 64, 64}},       /* bert_tiny_like attention */
        {3, 4, {2, 12, 10}, {3, 1, 10, 7}},           /* both broadcast */
        {2, 3, {12, 10}, {4, 10, 7}},                 /* a broadcast */
        {4, 3, {2, 1, 12, 10}, {3, 10, 7}},           /* b broadcast over a's batch */
        {1, 2, {40}, {40, 30}},                       /* 1-D a */
        {3, 1, {2, 30, 40}, {40}},                    /* 1-D b */
        {3, 2, {1, 64, 128}, {128, 512}},             /* bert FFN */
        {2, 2, {200, 150}, {150, 180}},               /* large: split by columns */
        {2, 2, {2000, 300}, {300, 16}},               /* narrow: split by rows */
        {3, 3, {5, 64, 64}, {5, 64, 64}},             /* split by batch */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const mm_case *mc = &cases[ci];
        int64_t na = 1, nb = 1;
        for (int d = 0; d < mc->ar; d++) na *= mc->ad[d];
        for (int d = 0; d < mc->br; d++) nb *= mc->bd[d];
        for (int act = 0; act < 7; act++) {
            float *A = ut_rand_buf(&rng, na, 1.0f), *B = ut_rand_buf(&rng, nb, 1.0f);
            harness_in ins[2] = {f32_in(mc->ar, mc->ad, A, 0), f32_in(mc->br, mc->bd, B, act % 2)};
            ember_attr attrs[4];
            int n = add_act(attrs, 0, act);
            ember_op_tensor ref, got;
            cr_assert_eq(harness_run("MatMul", 13, ins, 2, attrs, n, &ref, 1), EMBER_OK, "%s", ember_last_error());
            char what[64];
            snprintf(what, sizeof what, "MatMul case %zu act %s", ci, act_names[act] ? act_names[act] : "-");
            cr_assert_eq(harness_run_host(k, "MatMul", ins, 2, attrs, n, act % 4, &got), EMBER_OK, "%s: %s", what,
                         ember_last_error());
            ut_assert_op_close(&ref, &got, what, 1e-4f, 1e-4f, "openblas");
            free(got.data);
            free(ref.data);
            free(A);
            free(B);
        }
    }
}

Test(host_openblas, declines_other_dtypes_and_tiny_products)
{
    const ember_host_kernel *k = harness_host_kernel(EMBER_OP_MATMUL, "openblas_matmul");
    double a[64 * 64] = {0}, b[64 * 64] = {0};
    harness_in ins[2] = {{.dtype = EMBER_DT_DOUBLE, .rank = 2, .dims = {64, 64}, .data = a},
                         {.dtype = EMBER_DT_DOUBLE, .rank = 2, .dims = {64, 64}, .data = b}};
    ember_op_tensor got;
    cr_expect_eq(harness_run_host(k, "MatMul", ins, 2, NULL, 0, 1, &got), EMBER_E_UNSUPPORTED);
    float x[4] = {1, 2, 3, 4};
    harness_in tiny[2] = {f32_in(2, (int64_t[]){2, 2}, x, 0), f32_in(2, (int64_t[]){2, 2}, x, 0)};
    cr_expect_eq(harness_run_host(k, "MatMul", tiny, 2, NULL, 0, 1, &got), EMBER_E_UNSUPPORTED);
}

/* Building a cpu program leaves OpenBLAS on one thread (ops/host/registry.c: its idle
 * workers, spinning after load, shared the cores with the run's threads). */
Test(host_openblas, one_thread_after_a_program_is_built)
{
    ember_model *m = ut_load_zoo("kws_dscnn");
    ember_session *s;
    cr_assert_eq(ember_session_create(m, "cpu", &s), EMBER_OK, "%s", ember_last_error());
    cr_expect_eq(openblas_get_num_threads(), 1);
    ember_session_free(s);
    ember_model_free(m);
}
