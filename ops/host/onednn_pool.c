/* oneDNN pool fast paths: MaxPool / AveragePool (2-D float32, no Indices output; pads,
 * auto_pad, ceil_mode, dilations, count_include_pad) and GlobalAveragePool, on NCHW
 * tensors as the arena holds them. Only shapes whose every window oneDNN computes exactly
 * as the reference (ops/kernels/pool.c) are taken:
 *   - no window without a tap inside the image (the reference gives -inf / 0 there),
 *   - average with count_include_pad: no window reaching past the end pad (ceil_mode can
 *     make one; the reference then divides by the taps inside the padded extent, oneDNN
 *     by the whole window). */
#include <stdlib.h>
#include <string.h>

#include "../nn_common.h"
#include "onednn.h"

typedef struct pool_state {
    onednn_prim prim;
    int threads;
} pool_state;

static void pool_release(void *p)
{
    pool_state *s = p;
    if (!s) return;
    onednn_prim_destroy(&s->prim);
    free(s);
}

/* True when window position o of a dim has a tap inside [0, n). */
static int window_hits(int64_t o, int64_t s, int64_t pb, int64_t d, int64_t k, int64_t n)
{
    int64_t start = o * s - pb;
    for (int64_t t = 0; t < k; t++) {
        int64_t i = start + t * d;
        if (i >= 0 && i < n) return 1;
    }
    return 0;
}

static ember_status pool_create(ember_op_ctx *c, int threads, dnnl_alg_kind_t alg, const int64_t *in,
                                const int64_t *k, const int64_t *s, const int64_t *d, const int64_t *pb,
                                const int64_t *pr, const int64_t *out, void **state)
{
    const ember_op_tensor *x = c->in[0];
    dnnl_engine_t e;
    TRY(onednn_engine(&e));
    pool_state *st = calloc(1, sizeof *st);
    if (!st) return ember_error(EMBER_E_NO_MEMORY, "out of memory for a oneDNN pool");
    st->threads = onednn_threads(threads);
    onednn_set_threads(st->threads);
    dnnl_dims_t src_d = {x->dims[0], x->dims[1], in[0], in[1]};
    dnnl_dims_t dst_d = {x->dims[0], x->dims[1], out[0], out[1]};
    dnnl_dims_t ds = {s[0], s[1]}, dk = {k[0], k[1]}, dd = {d[0] - 1, d[1] - 1};
    dnnl_dims_t dl = {pb[0], pb[1]}, dr = {pr[0], pr[1]};
    dnnl_pooling_v2_desc_t pd_desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    ember_status es = EMBER_OK;
    dnnl_status_t r = dnnl_memory_desc_init_by_tag(&st->prim.src_md, 4, src_d, dnnl_f32, dnnl_nchw);
    if (r == dnnl_success) r = dnnl_memory_desc_init_by_tag(&st->prim.dst_md, 4, dst_d, dnnl_f32, dnnl_nchw);
    if (r == dnnl_success) {
        r = dnnl_pooling_v2_forward_desc_init(&pd_desc, dnnl_forward_inference, alg, &st->prim.src_md,
                                              &st->prim.dst_md, ds, dk, dd, dl, dr);
        if (r != dnnl_success) { /* oneDNN refuses the geometry (e.g. a pad not below the window) */
            pool_release(st);
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "oneDNN refuses this pooling (%s)",
                                 dnnl_status2str(r));
        }
    }
    if (r == dnnl_success) r = dnnl_primitive_attr_create(&attr);
    if (r == dnnl_success) r = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (r != dnnl_success) es = onednn_fail(c, "dnnl_pooling_v2_forward_desc_init", r);
    if (es == EMBER_OK) {
        r = dnnl_primitive_desc_create(&pd, &pd_desc, attr, e, NULL);
        if (r == dnnl_unimplemented)
            es = ember_op_fail(c, EMBER_E_UNSUPPORTED, "oneDNN has no pooling for this shape");
        else if (r != dnnl_success)
            es = onednn_fail(c, "dnnl_primitive_desc_create", r);
    }
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (es == EMBER_OK) es = onednn_prim_create(c, pd, &st->prim);
    if (es != EMBER_OK) {
        pool_release(st);
        return es;
    }
    c->scratch_bytes = st->prim.scratch_bytes;
    *state = st;
    return EMBER_OK;
}

/* Float32 NCHW input and a single float32 output. */
static ember_status pool_check(const ember_op_ctx *c)
{
    if (!onednn_enabled()) return ember_error(EMBER_E_UNSUPPORTED, "oneDNN: off (EMBER_ONEDNN=0)");
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x || c->n_in != 1 || !c->out[0] || (c->n_out > 1 && c->out[1]))
        return ember_error(EMBER_E_UNSUPPORTED, "oneDNN pool: one input, one output (no Indices)");
    if (x->dtype != EMBER_DT_FLOAT || c->out[0]->dtype != EMBER_DT_FLOAT)
        return ember_error(EMBER_E_UNSUPPORTED, "oneDNN pool: float32 only");
    if (x->rank != 4 || c->out[0]->rank != 4)
        return ember_error(EMBER_E_UNSUPPORTED, "oneDNN pool: 2-D only");
    if (ember_op_numel(x) <= 0) return ember_error(EMBER_E_UNSUPPORTED, "oneDNN pool: empty input");
    return EMBER_OK;
}

static ember_status window_prepare(ember_op_ctx *c, int threads, void **state)
{
    *state = NULL;
    TRY(pool_check(c));
    const ember_op_tensor *x = c->in[0];
    int avg = c->node->op == EMBER_OP_AVERAGE_POOL;
    nn_window w;
    TRY(nn_window_read(c, 2, NULL, &w));
    if (avg && c->opset < 19) w.d[0] = w.d[1] = 1; /* as the reference: no dilations before 19 */
    int64_t in[2] = {x->dims[2], x->dims[3]}, out[2], pr[2];
    TRY(nn_window_out(c, &w, in, out));
    int cip = avg && ember_attr_int(c->node, "count_include_pad", 0) != 0;
    for (int i = 0; i < 2; i++) {
        if (out[i] != c->out[0]->dims[2 + i] || out[i] < 1)
            return ember_error(EMBER_E_UNSUPPORTED, "oneDNN pool: output shape disagrees");
        for (int64_t o = 0; o < out[i]; o++)
            if (!window_hits(o, w.s[i], w.pb[i], w.d[i], w.k[i], in[i]))
                return ember_error(EMBER_E_UNSUPPORTED, "oneDNN pool: a window lies in the padding");
        pr[i] = onednn_pad_r(in[i], w.k[i], w.s[i], w.d[i], w.pb[i], w.pe[i], out[i]);
        if (cip && pr[i] > w.pe[i])
            return ember_error(EMBER_E_UNSUPPORTED,
                               "oneDNN pool: count_include_pad with a window past the end pad");
    }
    dnnl_alg_kind_t alg = !avg ? dnnl_pooling_max
                          : cip ? dnnl_pooling_avg_include_padding
                                : dnnl_pooling_avg_exclude_padding;
    return pool_create(c, threads, alg, in, w.k, w.s, w.d, w.pb, pr, out, state);
}

static ember_status global_prepare(ember_op_ctx *c, int threads, void **state)
{
    *state = NULL;
    TRY(pool_check(c));
    const ember_op_tensor *x = c->in[0];
    /* The reference's one pass over each plane wins on small tensors: measured at one
     * thread, 512x7x7 (resnet18) 11.6 us vs 29.6 us here, 1280x7x7 (mobilenet_v2) 26 vs
     * 41 us, 1000x13x13 (squeezenet1_1) 82 vs 53 us; oneDNN's fixed cost is ~25 us. */
    if (ember_op_numel(x) < 131072)
        return ember_error(EMBER_E_UNSUPPORTED, "oneDNN pool: small global pool (the reference is faster)");
    int64_t in[2] = {x->dims[2], x->dims[3]}, one[2] = {1, 1}, zero[2] = {0, 0};
    return pool_create(c, threads, dnnl_pooling_avg_exclude_padding, in, in, one, one, zero, zero,
                       one, state);
}

static ember_status pool_run(ember_op_ctx *c, void *state)
{
    pool_state *st = state;
    if (c->in[0]->data == c->out[0]->data) return ember_op_table[c->node->op].run(c);
    onednn_set_threads(st->threads);
    onednn_arg a[3] = {{DNNL_ARG_SRC, &st->prim.src_md, c->in[0]->data},
                       {DNNL_ARG_DST, &st->prim.dst_md, c->out[0]->data},
                       {DNNL_ARG_SCRATCHPAD, &st->prim.scratch_md, c->scratch}};
    return onednn_execute(c, st->prim.prim, a, st->prim.scratch_bytes ? 3 : 2);
}

const ember_host_kernel ember_host_onednn_max_pool = {
    .name = "onednn_pool",
    .op = EMBER_OP_MAX_POOL,
    .prepare = window_prepare,
    .run = pool_run,
    .release = pool_release,
};

const ember_host_kernel ember_host_onednn_average_pool = {
    .name = "onednn_pool",
    .op = EMBER_OP_AVERAGE_POOL,
    .prepare = window_prepare,
    .run = pool_run,
    .release = pool_release,
};

const ember_host_kernel ember_host_onednn_global_average_pool = {
    .name = "onednn_pool",
    .op = EMBER_OP_GLOBAL_AVERAGE_POOL,
    .prepare = global_prepare,
    .run = pool_run,
    .release = pool_release,
};
