/* MaxPool on an nhwc-chained input (ops/host/onednn_pool.c, max_nhwc_share) against the
 * reference kernel: random 2-D geometries (kernel, strides, dilations, pads, ceil_mode,
 * batch), output chained nhwc or written NCHW, on one thread and on a pool of two. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl_types.h>

#include "engine/threadpool.h"
#include "ops/host.h"
#include "op_harness.h"
#include "test_util.h"

extern const ember_host_kernel ember_host_onednn_max_pool;

/* One case: returns 0 when the host path declined or the reference refused the shape. */
static int check_case(uint32_t *rs, int threads)
{
    int64_t N = ut_irand(rs, 1, 2), C = ut_irand(rs, 1, 3) * ut_irand(rs, 1, 24), H = ut_irand(rs, 1, 17),
            W = ut_irand(rs, 1, 17);
    int64_t k[2] = {ut_irand(rs, 1, 4), ut_irand(rs, 1, 4)}, s[2] = {ut_irand(rs, 1, 3), ut_irand(rs, 1, 3)},
            d[2] = {ut_irand(rs, 1, 2), ut_irand(rs, 1, 2)},
            pads[4] = {ut_irand(rs, 0, 2), ut_irand(rs, 0, 2), ut_irand(rs, 0, 2), ut_irand(rs, 0, 2)};
    int ceil = ut_irand(rs, 0, 1), chain_out = ut_irand(rs, 0, 1);
    ember_attr attrs[5] = {harness_attr_ints("kernel_shape", k, 2), harness_attr_ints("strides", s, 2),
                           harness_attr_ints("dilations", d, 2), harness_attr_ints("pads", pads, 4),
                           harness_attr_int("ceil_mode", ceil)};
    int64_t xd[4] = {N, C, H, W};
    float *x = ut_rand_buf(rs, N * C * H * W, 1.0f);
    harness_in hin[1] = {{EMBER_DT_FLOAT, 4, {N, C, H, W}, x, 0}};
    ember_op_tensor ref;
    if (harness_run("MaxPool", 12, hin, 1, attrs, 5, &ref, 1) != EMBER_OK) {
        ember_error_clear();
        free(x);
        return 0;
    }
    static int idx[2] = {0, 1};
    ember_node node;
    memset(&node, 0, sizeof node);
    node.name = "mp", node.op_type = "MaxPool", node.domain = "", node.op = EMBER_OP_MAX_POOL, node.opset = 12;
    node.attrs = attrs, node.n_attrs = 5, node.inputs = idx, node.outputs = idx + 1;
    node.n_inputs = node.n_outputs = 1;
    ember_op_tensor in = ut_op_tensor(EMBER_DT_FLOAT, 4, xd, NULL), out = ut_op_tensor(EMBER_DT_FLOAT, 4, ref.dims, NULL);
    ember_op_tensor *pin[1] = {&in}, *pout[1] = {&out};
    ember_op_ctx c = {.node = &node, .opset = 12, .running = true, .n_in = 1, .n_out = 1, .in = pin, .out = pout};
    const ember_host_kernel *kern = &ember_host_onednn_max_pool;
    void *state = NULL;
    /* Prepared for one thread (programs take this path only then), run on a pool of
     * `threads`, whose shares it still splits rows between. */
    if (kern->prepare(&c, 1, &state) != EMBER_OK) { /* a window in the padding */
        ember_error_clear();
        free(x);
        free(ref.data);
        return 0;
    }
    size_t scratch_bytes = c.scratch_bytes;
    cr_assert(kern->accepts_layout(state, 0, dnnl_nhwc));
    cr_assert_eq(kern->set_layout(state, 0, 0, dnnl_nhwc, &scratch_bytes), EMBER_OK, "%s", ember_last_error());
    if (chain_out) {
        cr_assert_eq(kern->out_layout(state, 0), dnnl_nhwc);
        cr_assert_eq(kern->set_layout(state, 1, 0, dnnl_nhwc, &scratch_bytes), EMBER_OK);
    }
    /* nhwc copy of x */
    float *xl = malloc(sizeof(float) * (size_t)(N * C * H * W));
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t p = 0; p < H * W; p++) xl[(n * H * W + p) * C + ch] = x[(n * C + ch) * H * W + p];
    int64_t OH = ref.dims[2], OW = ref.dims[3], yn = N * C * OH * OW;
    float *y = malloc(sizeof(float) * (size_t)(yn ? yn : 1));
    void *scratch = NULL;
    if (scratch_bytes) cr_assert_eq(posix_memalign(&scratch, 64, scratch_bytes), 0);
    ember_threadpool *pool = NULL;
    if (threads > 1) cr_assert_eq(ember_threadpool_create(threads, &pool), EMBER_OK);
    in.data = xl, out.data = y;
    c.scratch = scratch, c.scratch_bytes = scratch_bytes, c.pool = pool;
    cr_assert_eq(kern->run(&c, state), EMBER_OK, "%s", ember_last_error());
    const float *r = ref.data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t p = 0; p < OH * OW; p++) {
                float got = chain_out ? y[(n * OH * OW + p) * C + ch] : y[(n * C + ch) * OH * OW + p];
                float want = r[(n * C + ch) * OH * OW + p];
                cr_assert_eq(got, want,
                             "%lldx%lldx%lldx%lld k%lldx%lld s%lldx%lld d%lldx%lld pads %lld,%lld,%lld,%lld ceil %d "
                             "%s out, %d threads: [%lld,%lld,%lld] is %g, the reference %g",
                             (long long)N, (long long)C, (long long)H, (long long)W, (long long)k[0], (long long)k[1],
                             (long long)s[0], (long long)s[1], (long long)d[0], (long long)d[1], (long long)pads[0],
                             (long long)pads[1], (long long)pads[2], (long long)pads[3], ceil,
                             chain_out ? "nhwc" : "NCHW", threads, (long long)n, (long long)ch, (long long)p,
                             (double)got, (double)want);
            }
    kern->release(state);
    ember_threadpool_free(pool);
    free(scratch);
    free(y);
    free(xl);
    free(x);
    free(ref.data);
    return 1;
}

Test(host_maxpool_nhwc, random_vs_reference)
{
    uint32_t rs = 2024u;
    int taken = 0;
    for (int i = 0; i < 300; i++) taken += check_case(&rs, 1 + i % 2);
    cr_assert_gt(taken, 100, "only %d of 300 cases ran", taken);
}

/* resnet's stem pool: 64x112x112, 3x3 stride 2, pads 1. */
Test(host_maxpool_nhwc, resnet_stem)
{
    uint32_t rs = 5u;
    int64_t xd[4] = {1, 64, 112, 112}, yd[4] = {1, 64, 56, 56}, k[2] = {3, 3}, s[2] = {2, 2}, p[4] = {1, 1, 1, 1};
    ember_attr attrs[3] = {harness_attr_ints("kernel_shape", k, 2), harness_attr_ints("strides", s, 2),
                           harness_attr_ints("pads", p, 4)};
    float *x = ut_rand_buf(&rs, 64 * 112 * 112, 1.0f);
    harness_in hin[1] = {{EMBER_DT_FLOAT, 4, {1, 64, 112, 112}, x, 0}};
    ember_op_tensor ref;
    cr_assert_eq(harness_run("MaxPool", 12, hin, 1, attrs, 3, &ref, 1), EMBER_OK);
    static int idx[2] = {0, 1};
    ember_node node;
    memset(&node, 0, sizeof node);
    node.name = "mp", node.op_type = "MaxPool", node.domain = "", node.op = EMBER_OP_MAX_POOL, node.opset = 12;
    node.attrs = attrs, node.n_attrs = 3, node.inputs = idx, node.outputs = idx + 1;
    node.n_inputs = node.n_outputs = 1;
    ember_op_tensor in = ut_op_tensor(EMBER_DT_FLOAT, 4, xd, NULL), out = ut_op_tensor(EMBER_DT_FLOAT, 4, yd, NULL);
    ember_op_tensor *pin[1] = {&in}, *pout[1] = {&out};
    ember_op_ctx c = {.node = &node, .opset = 12, .running = true, .n_in = 1, .n_out = 1, .in = pin, .out = pout};
    void *state = NULL;
    const ember_host_kernel *kern = &ember_host_onednn_max_pool;
    cr_assert_eq(kern->prepare(&c, 1, &state), EMBER_OK, "%s", ember_last_error());
    size_t sb = 0;
    cr_assert(kern->accepts_layout(state, 0, dnnl_nhwc));
    cr_assert_eq(kern->set_layout(state, 0, 0, dnnl_nhwc, &sb), EMBER_OK);
    float *xl = malloc(sizeof(float) * 64 * 112 * 112), *y = malloc(sizeof(float) * 64 * 56 * 56);
    for (int64_t ch = 0; ch < 64; ch++)
        for (int64_t q = 0; q < 112 * 112; q++) xl[q * 64 + ch] = x[ch * 112 * 112 + q];
    in.data = xl, out.data = y;
    cr_assert_eq(kern->run(&c, state), EMBER_OK);
    cr_assert(memcmp(y, ref.data, sizeof(float) * 64 * 56 * 56) == 0, "NCHW output differs from the reference");
    kern->release(state);
    free(xl), free(y), free(x), free(ref.data);
}
