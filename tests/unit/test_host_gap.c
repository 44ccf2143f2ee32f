/* GlobalAveragePool on the host (ops/host/onednn_pool.c) against the reference kernel:
 * plain inputs of every size (small ones on the reference, large ones on oneDNN) and
 * inputs chained in nChw16c (AVX-512, 4 partial sums: pixel counts off 4 too), nChw8c
 * and nhwc, summed in that layout; also with the
 * output in the input's own memory and split over a thread pool. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl_types.h>

#include "engine/threadpool.h"
#include "ops/host.h"
#include "op_harness.h"
#include "test_util.h"

extern const ember_host_kernel ember_host_onednn_global_average_pool;

static ember_node gap_node(void)
{
    static int idx[2] = {0, 1};
    ember_node n;
    memset(&n, 0, sizeof n);
    n.name = "gap";
    n.op_type = "GlobalAveragePool";
    n.domain = "";
    n.op = EMBER_OP_GLOBAL_AVERAGE_POOL;
    n.opset = 13;
    n.inputs = idx;
    n.outputs = idx + 1;
    n.n_inputs = n.n_outputs = 1;
    return n;
}

/* x (NCHW) copied into `layout` (0: as it is); the padded lanes of a last, partial
 * channel block are NaN so that reading one shows. */
static float *to_layout(const float *x, const int64_t *d, int layout, size_t *bytes)
{
    int64_t N = d[0], C = d[1], HW = d[2] * d[3];
    int b = ember_host_layout_channel_block(layout);
    int64_t cp = b ? (C + b - 1) / b * b : C;
    *bytes = sizeof(float) * (size_t)(N * cp * HW);
    float *y = malloc(*bytes);
    for (int64_t i = 0; i < N * cp * HW; i++) y[i] = NAN;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < HW; p++) {
                int64_t at = layout == 0 ? (n * C + c) * HW + p
                             : b         ? ((n * (cp / b) + c / b) * HW + p) * b + c % b
                                         : (n * HW + p) * C + c; /* nhwc */
                y[at] = x[(n * C + c) * HW + p];
            }
    return y;
}

/* Prepares the host GAP on shape d, chains its input in `layout` (0: none), runs it
 * (with `threads` pool threads; in_place: the output in the input's memory) and checks
 * the result against the reference kernel on the NCHW input. */
static void check_gap(const int64_t *d, int layout, int threads, int in_place)
{
    int64_t n = d[0] * d[1] * d[2] * d[3], yd[4] = {d[0], d[1], 1, 1};
    uint32_t rs = 7u + (uint32_t)layout;
    float *x = ut_rand_buf(&rs, n, 1.0f);
    harness_in hin[1] = {{EMBER_DT_FLOAT, 4, {d[0], d[1], d[2], d[3]}, x, 0}};
    ember_op_tensor ref;
    cr_assert_eq(harness_run("GlobalAveragePool", 13, hin, 1, NULL, 0, &ref, 1), EMBER_OK);
    ember_node node = gap_node();
    ember_op_tensor in = ut_op_tensor(EMBER_DT_FLOAT, 4, d, NULL), out = ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL);
    ember_op_tensor *pin[1] = {&in}, *pout[1] = {&out};
    ember_op_ctx c = {.node = &node, .opset = 13, .running = true, .n_in = 1, .n_out = 1, .in = pin, .out = pout};
    const ember_host_kernel *k = &ember_host_onednn_global_average_pool;
    void *state = NULL;
    cr_assert_eq(k->prepare(&c, threads, &state), EMBER_OK, "%s", ember_last_error());
    size_t scratch_bytes = c.scratch_bytes;
    if (layout) {
        cr_assert(k->accepts_layout(state, 0, layout), "layout %d refused", layout);
        cr_assert_eq(k->set_layout(state, 0, 0, layout, &scratch_bytes), EMBER_OK, "%s", ember_last_error());
        cr_assert_eq(k->out_layout(state, 0), 0, "the output stays plain");
    }
    size_t bytes;
    float *xl = to_layout(x, d, layout, &bytes);
    float *y = in_place ? xl : malloc(sizeof(float) * (size_t)(d[0] * d[1]));
    void *scratch = NULL;
    if (scratch_bytes) cr_assert_eq(posix_memalign(&scratch, 64, scratch_bytes), 0);
    ember_threadpool *pool = NULL;
    if (threads > 1) cr_assert_eq(ember_threadpool_create(threads, &pool), EMBER_OK);
    in.data = xl;
    out.data = y;
    c.scratch = scratch;
    c.scratch_bytes = scratch_bytes;
    c.pool = pool;
    cr_assert_eq(k->run(&c, state), EMBER_OK, "%s", ember_last_error());
    const float *r = ref.data;
    for (int64_t i = 0; i < d[0] * d[1]; i++)
        cr_assert(fabsf(y[i] - r[i]) <= 1e-6f + 1e-5f * fabsf(r[i]),
                  "%lldx%lldx%lldx%lld layout %d, %d threads%s: channel %lld is %g, the reference %g",
                  (long long)d[0], (long long)d[1], (long long)d[2], (long long)d[3], layout, threads,
                  in_place ? ", in place" : "", (long long)i, (double)y[i], (double)r[i]);
    k->release(state);
    ember_threadpool_free(pool);
    free(scratch);
    if (!in_place) free(y);
    free(xl);
    free(x);
    free(ref.data);
}

static const int64_t shapes[][4] = {{1, 64, 25, 5}, {2, 32, 7, 7}, {1, 16, 1, 1}, {1, 1024, 14, 14}};

Test(host_gap, plain_any_size)
{
    for (int s = 0; s < 4; s++) check_gap(shapes[s], 0, 1, 0);
    int64_t odd[4] = {3, 5, 3, 2};
    check_gap(odd, 0, 1, 0);
}

Test(host_gap, chained_layouts)
{
    const int layouts[3] = {dnnl_nChw16c, dnnl_nChw8c, dnnl_nhwc};
    for (int l = 0; l < 3; l++)
        for (int s = 0; s < 4; s++)
            for (int t = 1; t <= 2; t++) check_gap(shapes[s], layouts[l], t, 0);
    int64_t c24[4] = {2, 24, 3, 3}, c5[4] = {1, 5, 4, 4};
    check_gap(c24, dnnl_nChw8c, 2, 0);
    check_gap(c24, dnnl_nhwc, 1, 0);
    check_gap(c5, dnnl_nhwc, 1, 0);
    int64_t hw3[4] = {1, 32, 3, 1}, hw6[4] = {2, 16, 2, 3}; /* pixel counts off the 4 partial sums */
    check_gap(hw3, dnnl_nChw16c, 1, 0);
    check_gap(hw6, dnnl_nChw16c, 2, 0);
}

Test(host_gap, chained_in_place)
{
    const int layouts[3] = {dnnl_nChw16c, dnnl_nChw8c, dnnl_nhwc};
    for (int l = 0; l < 3; l++)
        for (int s = 0; s < 4; s++) check_gap(shapes[s], layouts[l], 2, 1);
}

Test(host_gap, bf16_layout_refused_when_small)
{
    int64_t d[4] = {1, 64, 25, 5}, yd[4] = {1, 64, 1, 1};
    ember_node node = gap_node();
    ember_op_tensor in = ut_op_tensor(EMBER_DT_FLOAT, 4, d, NULL), out = ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL);
    ember_op_tensor *pin[1] = {&in}, *pout[1] = {&out};
    ember_op_ctx c = {.node = &node, .opset = 13, .running = true, .n_in = 1, .n_out = 1, .in = pin, .out = pout};
    void *state = NULL;
    const ember_host_kernel *k = &ember_host_onednn_global_average_pool;
    cr_assert_eq(k->prepare(&c, 1, &state), EMBER_OK, "%s", ember_last_error());
    cr_expect_not(k->accepts_layout(state, 0, dnnl_nChw16c | 0x100000), "a bf16 layout needs oneDNN's pool");
    cr_expect_not(k->accepts_layout(state, 0, dnnl_nchw), "nchw is plain");
    k->release(state);
}
