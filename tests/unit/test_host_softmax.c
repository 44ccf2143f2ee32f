/* The Softmax host fast path (ops/host/softmax_rows.c) against the reference kernel run
 * by the interpreter: random shapes and scales, 1-3 threads, rows with -inf, all -inf,
 * +inf and NaN, the pre-13 axis semantics, and the cases it must decline. Driven as the
 * cpu backend drives it: infer, prepare, run with the run's pool. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"
#include "ops/host.h"
#include "test_util.h"

static uint32_t rng = 777;

static const ember_host_kernel *softmax_kernel(void)
{
    int n = 0;
    const ember_host_kernel *const *ks = ember_host_kernels_for(EMBER_OP_SOFTMAX, &n);
    for (int i = 0; i < n; i++)
        if (strcmp(ks[i]->name, "softmax_rows") == 0) return ks[i];
    cr_assert_fail("no softmax_rows host kernel");
    return NULL;
}

/* Softmax of x [rank, dims] (opset, axis attribute when has_axis) through the fast path;
 * returns the prepare status, *y the result (malloc'd) when it took the node. */
static ember_status run_fast(const float *x, int rank, const int64_t *dims, int opset, int has_axis, int64_t axis,
                             int threads, float **y)
{
    ember_attr attr = harness_attr_int("axis", axis);
    ember_node node = {.name = "sm", .op_type = "Softmax", .domain = "", .op = EMBER_OP_SOFTMAX, .opset = opset,
                       .n_inputs = 1, .n_outputs = 1, .n_attrs = has_axis, .attrs = &attr};
    ember_op_tensor in = ut_op_tensor(EMBER_DT_FLOAT, rank, dims, (void *)x), out, *pin = &in, *pout = &out;
    memset(&out, 0, sizeof out);
    out.rank = -1;
    ember_op_ctx c = {.node = &node, .opset = opset, .running = true, .n_in = 1, .n_out = 1, .in = &pin, .out = &pout};
    cr_assert_eq(ember_op_table[EMBER_OP_SOFTMAX].infer(&c), EMBER_OK, "%s", ember_last_error());
    in.data = NULL; /* prepare sees constants only */
    void *state = NULL;
    const ember_host_kernel *k = softmax_kernel();
    ember_status s = k->prepare(&c, threads, &state);
    if (s != EMBER_OK) return s;
    in.data = (void *)x;
    *y = malloc((size_t)ember_op_numel(&out) * sizeof(float));
    out.data = *y;
    ember_threadpool *pool = NULL;
    if (threads > 1) cr_assert_eq(ember_threadpool_create(threads, &pool), EMBER_OK);
    c.pool = pool;
    cr_assert_eq(k->run(&c, state), EMBER_OK, "%s", ember_last_error());
    ember_threadpool_free(pool);
    k->release(state);
    return EMBER_OK;
}

/* The interpreter's Softmax of the same input. */
static float *run_ref(const float *x, int rank, const int64_t *dims, int opset, int has_axis, int64_t axis)
{
    harness_in in = {.dtype = EMBER_DT_FLOAT, .rank = rank, .data = x};
    memcpy(in.dims, dims, sizeof(int64_t) * (size_t)rank);
    ember_attr attr = harness_attr_int("axis", axis);
    ember_op_tensor ref;
    cr_assert_eq(harness_run("Softmax", opset, &in, 1, &attr, has_axis, &ref, 1), EMBER_OK, "%s", ember_last_error());
    return ref.data;
}

/* Equal within rtol 1e-5 / atol 1e-7 (the summation order differs), NaN where the
 * reference has NaN. */
static void expect_close(const float *ref, const float *got, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        if (isnan(ref[i])) {
            cr_assert(isnan(got[i]), "%s: element %lld: reference NaN, fast path %g", what, (long long)i, got[i]);
            continue;
        }
        cr_assert(fabsf(ref[i] - got[i]) <= 1e-7f + 1e-5f * fabsf(ref[i]),
                  "%s: element %lld: reference %.9g, fast path %.9g", what, (long long)i, ref[i], got[i]);
    }
}

Test(host_softmax, random_shapes_and_threads)
{
    for (int it = 0; it < 120; it++) {
        int rank = ut_irand(&rng, 1, 4);
        int64_t dims[4], n = 1;
        for (int d = 0; d < rank; d++) dims[d] = ut_irand(&rng, 1, 5);
        dims[rank - 1] = ut_irand(&rng, 16, 150); /* rows: the vector body and a tail */
        if (it % 10 == 0 && rank >= 2) dims[0] = ut_irand(&rng, 40, 90); /* more than one block of rows */
        for (int d = 0; d < rank; d++) n *= dims[d];
        float scale = it % 3 == 0 ? 30.0f : it % 3 == 1 ? 1.0f : 0.01f;
        float *x = ut_rand_buf(&rng, n, scale);
        int threads = ut_irand(&rng, 1, 3), opset = it % 4 == 3 ? 11 : 13;
        int has_axis = opset == 11 || it % 2, axis = opset == 11 || it % 4 == 1 ? rank - 1 : -1;
        float *y = NULL;
        cr_assert_eq(run_fast(x, rank, dims, opset, has_axis, axis, threads, &y), EMBER_OK, "%s", ember_last_error());
        float *ref = run_ref(x, rank, dims, opset, has_axis, axis);
        char what[96];
        snprintf(what, sizeof what, "rank %d n %lld opset %d threads %d", rank, (long long)dims[rank - 1], opset,
                 threads);
        expect_close(ref, y, n, what);
        free(ref);
        free(y);
        free(x);
    }
}

Test(host_softmax, infinities_and_nan)
{
    /* 8 rows of 40: finite; one -inf; all -inf; one +inf; two +inf; a NaN; -NaN; huge values */
    int64_t dims[2] = {8, 40};
    float x[8 * 40];
    for (int i = 0; i < 8 * 40; i++) x[i] = (float)((i * 37) % 19) - 9.0f;
    x[1 * 40 + 5] = -INFINITY;
    for (int i = 0; i < 40; i++) x[2 * 40 + i] = -INFINITY;
    x[3 * 40 + 7] = INFINITY;
    x[4 * 40 + 1] = INFINITY, x[4 * 40 + 30] = INFINITY;
    x[5 * 40 + 12] = NAN;
    x[6 * 40 + 20] = -NAN;
    for (int i = 0; i < 40; i++) x[7 * 40 + i] = 3e38f - (float)i * 1e37f;
    for (int threads = 1; threads <= 2; threads++) {
        float *y = NULL;
        cr_assert_eq(run_fast(x, 2, dims, 13, 0, -1, threads, &y), EMBER_OK);
        float *ref = run_ref(x, 2, dims, 13, 0, -1);
        expect_close(ref, y, 8 * 40, threads == 1 ? "specials, 1 thread" : "specials, 2 threads");
        free(ref);
        free(y);
    }
}

Test(host_softmax, declines)
{
    float x[4 * 32] = {0}, *y = NULL;
    int64_t d2[2] = {4, 32}, short_rows[2] = {32, 4};
    /* not the last axis (opset 13 axis 0; before 13 axis 0 is the whole tensor) */
    cr_expect_eq(run_fast(x, 2, d2, 13, 1, 0, 1, &y), EMBER_E_UNSUPPORTED);
    cr_expect_eq(run_fast(x, 2, d2, 11, 0, 1, 1, &y), EMBER_OK, "opset 11: default axis 1 of 2-D is the last");
    free(y);
    y = NULL;
    cr_expect_eq(run_fast(x, 2, d2, 11, 1, 0, 1, &y), EMBER_E_UNSUPPORTED);
    /* rows shorter than a vector stay on the reference kernel */
    cr_expect_eq(run_fast(x, 2, short_rows, 13, 0, -1, 1, &y), EMBER_E_UNSUPPORTED);
}
