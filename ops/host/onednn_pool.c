/* oneDNN pool fast paths: MaxPool / AveragePool (2-D float32, no Indices output; pads,
 * auto_pad, ceil_mode, dilations, count_include_pad) and GlobalAveragePool, on NCHW
 * tensors as the arena holds them. Only shapes whose every window oneDNN computes exactly
 * as the reference (ops/kernels/pool.c) are taken:
 *   - no window without a tap inside the image (the reference gives -inf / 0 there),
 *   - average with count_include_pad: no window reaching past the end pad (ceil_mode can
 *     make one; the reference then divides by the taps inside the padded extent, oneDNN
 *     by the whole window).
 * Layout chaining (ops/host.h): given a chained (blocked) input the pool runs in that
 * layout, and writes it as well when every reader takes it, else reorders to NCHW. A
 * chained bf16 input (onednn.h) makes it a bf16 pool; the reorder to NCHW converts.
 *
 * GlobalAveragePool is taken at every size: a float32 input chained in nChw16c, nChw8c or
 * nhwc is summed here in that layout (the conv before it then skips its reorder to NCHW:
 * kws_dscnn's last 1x1 conv 8.6 -> 6.9 us); a plain input runs oneDNN's pool when large,
 * else the reference kernel, which wins there (below). */
#include <stdlib.h>
#include <string.h>

#include "../nn_common.h"
#include "onednn.h"

typedef struct pool_state {
    onednn_prim prim;
    int threads;
    /* Layout chaining (ops/host.h): the geometry, to build the primitive again on a
     * chained input's layout; `alt` is that primitive for layout alt_layout (built when
     * asked whether the layout is accepted). With in_layout set the pool runs in it and,
     * unless out_layout is set too, reorders its output to NCHW through scratch. */
    dnnl_alg_kind_t alg;
    dnnl_dims_t src_d, dst_d, ds, dk, dd, dl, dr;
    onednn_prim alt, out_reorder;
    int alt_layout, in_layout, out_layout;
    dnnl_memory_desc_t user_dst_md;
    /* GlobalAveragePool: gap_layout is the float32 layout the input is summed in here (0:
     * the primitive above if there is one, else the reference kernel); n, c, hw its
     * shape. */
    int global, gap_layout;
    int64_t n, c, hw;
    /* MaxPool on an nhwc input: computed here (own_nhwc), written nhwc when the output is
     * chained (out_layout), else NCHW. */
    int own_nhwc;
} pool_state;

static void pool_release(void *p)
{
    pool_state *s = p;
    if (!s) return;
    onednn_prim_destroy(&s->prim);
    onednn_prim_destroy(&s->alt);
    onednn_prim_destroy(&s->out_reorder);
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
    for (int i = 0; i < 2; i++) {
        st->ds[i] = s[i], st->dk[i] = k[i], st->dd[i] = d[i] - 1, st->dl[i] = pb[i], st->dr[i] = pr[i];
    }
    st->src_d[0] = st->dst_d[0] = x->dims[0];
    st->src_d[1] = st->dst_d[1] = x->dims[1];
    st->src_d[2] = in[0], st->src_d[3] = in[1], st->dst_d[2] = out[0], st->dst_d[3] = out[1];
    st->alg = alg;
    dnnl_dim_t *src_d = st->src_d, *dst_d = st->dst_d, *ds = st->ds, *dk = st->dk, *dd = st->dd,
               *dl = st->dl, *dr = st->dr;
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
    st->user_dst_md = st->prim.dst_md;
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
    pool_state *st = NULL;
    /* The reference's one pass over each plane wins on small plain tensors: measured at
     * one thread, 512x7x7 (resnet18) 11.6 us vs 29.6 us with oneDNN, 1280x7x7
     * (mobilenet_v2) 26 vs 41 us, 1000x13x13 (squeezenet1_1) 82 vs 53 us; oneDNN's fixed
     * cost is ~25 us. Small ones still take the node, for their chained inputs. */
    if (ember_op_numel(x) >= 131072) {
        int64_t in[2] = {x->dims[2], x->dims[3]}, one[2] = {1, 1}, zero[2] = {0, 0};
        ember_status es = pool_create(c, threads, dnnl_pooling_avg_exclude_padding, in, in, one, one, zero,
                                      zero, one, (void **)&st);
        if (es != EMBER_OK && es != EMBER_E_UNSUPPORTED) return es;
        ember_error_clear();
    }
    if (!st && !(st = calloc(1, sizeof *st)))
        return ember_error(EMBER_E_NO_MEMORY, "out of memory for a global pool");
    st->global = 1;
    st->n = x->dims[0];
    st->c = x->dims[1];
    st->hw = x->dims[2] * x->dims[3];
    *state = st;
    return EMBER_OK;
}

/* Channel blocks of a blocked (nChw16c / nChw8c) input, split over the run's threads. */
typedef struct gap_job {
    const pool_state *st;
    const float *x;
    float *y;
    int64_t blocks; /* per image */
    int b;          /* channels per block */
    int avx512;     /* gap_block_sum16 may run */
} gap_job;

/* Sums of the B channels of one block over its hw pixels (B a constant at each call, so
 * the lanes vectorize), in four partial sums: one chain of dependent adds made
 * kws_dscnn's 64 x 125 pool latency bound (0.6 us; 0.2 so). */
static inline void gap_block_sum(const float *xb, int64_t hw, int B, float *acc)
{
    float part[4][16];
    for (int r = 0; r < 4; r++)
        for (int k = 0; k < B; k++) part[r][k] = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= hw; i += 4)
        for (int r = 0; r < 4; r++)
            for (int k = 0; k < B; k++) part[r][k] += xb[(i + r) * B + k];
    for (; i < hw; i++)
        for (int k = 0; k < B; k++) part[0][k] += xb[i * B + k];
    for (int k = 0; k < B; k++) acc[k] = (part[0][k] + part[1][k]) + (part[2][k] + part[3][k]);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* gap_block_sum for 16 channels with AVX-512: one vector a pixel, four partial sums. */
__attribute__((target("avx512f"))) static void gap_block_sum16(const float *xb, int64_t hw, float *acc)
{
    __m512 p0 = _mm512_setzero_ps(), p1 = p0, p2 = p0, p3 = p0;
    int64_t i = 0;
    for (; i + 4 <= hw; i += 4) {
        p0 = _mm512_add_ps(p0, _mm512_loadu_ps(xb + i * 16));
        p1 = _mm512_add_ps(p1, _mm512_loadu_ps(xb + i * 16 + 16));
        p2 = _mm512_add_ps(p2, _mm512_loadu_ps(xb + i * 16 + 32));
        p3 = _mm512_add_ps(p3, _mm512_loadu_ps(xb + i * 16 + 48));
    }
    for (; i < hw; i++) p0 = _mm512_add_ps(p0, _mm512_loadu_ps(xb + i * 16));
    _mm512_storeu_ps(acc, _mm512_add_ps(_mm512_add_ps(p0, p1), _mm512_add_ps(p2, p3)));
}
#define GAP_AVX512 1
#endif

static void gap_blocked_share(void *ctx, int ith, int nth)
{
    const gap_job *j = ctx;
    const pool_state *st = j->st;
    int64_t total = st->n * j->blocks, per = (total + nth - 1) / nth;
    int64_t lo = per * ith, hi = lo + per < total ? lo + per : total;
    float inv = 1.0f / (float)st->hw, acc[16];
    for (int64_t nb = lo; nb < hi; nb++) {
        int64_t n = nb / j->blocks, c0 = nb % j->blocks * j->b;
        const float *xb = j->x + nb * st->hw * j->b;
#ifdef GAP_AVX512
        if (j->b == 16 && j->avx512) gap_block_sum16(xb, st->hw, acc);
        else
#endif
        if (j->b == 16) gap_block_sum(xb, st->hw, 16, acc);
        else gap_block_sum(xb, st->hw, 8, acc);
        /* The block is read before its outputs are written: in one thread they lie below
         * the next block's bytes even if the output shares the input's memory. */
        for (int k = 0; k < j->b && c0 + k < st->c; k++) j->y[n * st->c + c0 + k] = acc[k] * inv;
    }
}

/* The mean of each channel of an input in gap_layout. */
static ember_status gap_run_chained(ember_op_ctx *c, const pool_state *st)
{
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    int b = ember_host_layout_channel_block(st->gap_layout);
    if (b) {
        gap_job j = {st, x, y, (st->c + b - 1) / b, b, __builtin_cpu_supports("avx512f")};
        size_t in_bytes = sizeof(float) * (size_t)(st->n * j.blocks * st->hw * b);
        size_t out_bytes = sizeof(float) * (size_t)(st->n * st->c);
        int shared = (const char *)y < (const char *)x + in_bytes && (const char *)x < (const char *)y + out_bytes;
        if (shared) gap_blocked_share(&j, 0, 1); /* threads would write over blocks others read */
        else ember_op_parallel(c, gap_blocked_share, &j, st->n * j.blocks * st->hw * b, 65536);
        return EMBER_OK;
    }
    /* nhwc: one row of C channels per pixel, summed into scratch (the output may share
     * the input's memory), then scaled into place. */
    float *acc = c->scratch;
    float inv = 1.0f / (float)st->hw;
    for (int64_t n = 0; n < st->n; n++) {
        const float *xn = x + n * st->hw * st->c;
        memset(acc, 0, sizeof *acc * (size_t)st->c);
        for (int64_t i = 0; i < st->hw; i++)
            for (int64_t k = 0; k < st->c; k++) acc[k] += xn[i * st->c + k];
        for (int64_t k = 0; k < st->c; k++) y[n * st->c + k] = acc[k] * inv;
    }
    return EMBER_OK;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* MaxPool over an nhwc input, output rows (image, output row) split over the run's
 * threads. Each output pixel's channels are the max over the window's taps inside the
 * image, the first tap taken as it is and the others where greater (as the reference:
 * ops/kernels/pool.c); every window has a tap (window_prepare). oneDNN's nhwc pool on
 * resnet's stem (64x112x112, 3x3 stride 2) measured 266 us with its input in L3 only (its
 * nChw16c one 226 us), this loop 128 us; with the input in DRAM only 209 vs 203 us. In
 * resnet18 (1 thread, loaded machine, 8 alternating runs) 744 -> 579 us median. */
#define OWN_NHWC_MAX_C 4096

typedef struct max_nhwc_job {
    const pool_state *st;
    const float *x;
    float *y;
    int nhwc_out;
} max_nhwc_job;

static void max_nhwc_share(void *ctx, int ith, int nth)
{
    const max_nhwc_job *j = ctx;
    const pool_state *st = j->st;
    int64_t C = st->src_d[1], H = st->src_d[2], W = st->src_d[3], OH = st->dst_d[2], OW = st->dst_d[3];
    int64_t rows = st->src_d[0] * OH, per = (rows + nth - 1) / nth;
    int64_t lo = per * ith, hi = lo + per < rows ? lo + per : rows;
    float tmp[OWN_NHWC_MAX_C];
    for (int64_t r = lo; r < hi; r++) {
        int64_t n = r / OH, oh = r % OH;
        const float *xn = j->x + n * H * W * C;
        int64_t h0 = oh * st->ds[0] - st->dl[0], dh = st->dd[0] + 1, dw = st->dd[1] + 1;
        for (int64_t ow = 0; ow < OW; ow++) {
            float *m = j->nhwc_out ? j->y + ((n * OH + oh) * OW + ow) * C : tmp;
            int64_t w0 = ow * st->ds[1] - st->dl[1];
            int first = 1;
            for (int64_t kh = 0; kh < st->dk[0]; kh++) {
                int64_t h = h0 + kh * dh;
                if (h < 0 || h >= H) continue;
                for (int64_t kw = 0; kw < st->dk[1]; kw++) {
                    int64_t w = w0 + kw * dw;
                    if (w < 0 || w >= W) continue;
                    const float *xp = xn + (h * W + w) * C;
                    if (first) {
                        memcpy(m, xp, sizeof *m * (size_t)C);
                        first = 0;
                    } else {
                        for (int64_t k = 0; k < C; k++) m[k] = xp[k] > m[k] ? xp[k] : m[k];
                    }
                }
            }
            if (!j->nhwc_out)
                for (int64_t k = 0; k < C; k++) j->y[((n * C + k) * OH + oh) * OW + ow] = m[k];
        }
    }
}

static ember_status pool_run(ember_op_ctx *c, void *state)
{
    pool_state *st = state;
    if (st->gap_layout) return gap_run_chained(c, st);
    if (st->own_nhwc) {
        max_nhwc_job j = {st, c->in[0]->data, c->out[0]->data, st->out_layout != 0};
        if (c->in[0]->data == c->out[0]->data)
            return ember_op_fail(c, EMBER_E_INTERNAL, "oneDNN pool: in place with a chained layout");
        ember_op_parallel(c, max_nhwc_share, &j, st->dst_d[0] * st->dst_d[1] * st->dst_d[2] * st->dst_d[3] * 9,
                          65536);
        return EMBER_OK;
    }
    if (st->global && !st->prim.prim) return ember_op_table[c->node->op].run(c);
    if (c->in[0]->data == c->out[0]->data) {
        if (st->in_layout || st->out_layout)
            return ember_op_fail(c, EMBER_E_INTERNAL, "oneDNN pool: in place with a chained layout");
        return ember_op_table[c->node->op].run(c);
    }
    onednn_set_threads(st->threads);
    unsigned char *scratch = c->scratch;
    int reorder = st->in_layout && !st->out_layout;
    size_t off = reorder ? align64(dnnl_memory_desc_get_size(&st->prim.dst_md)) : 0;
    void *dst = reorder ? scratch : c->out[0]->data;
    onednn_arg a[3] = {{DNNL_ARG_SRC, &st->prim.src_md, c->in[0]->data},
                       {DNNL_ARG_DST, &st->prim.dst_md, dst},
                       {DNNL_ARG_SCRATCHPAD, &st->prim.scratch_md, scratch ? scratch + off : NULL}};
    TRY(onednn_execute(c, st->prim.prim, a, st->prim.scratch_bytes ? 3 : 2));
    if (!reorder) return EMBER_OK;
    onednn_arg ra[3] = {{DNNL_ARG_FROM, &st->prim.dst_md, dst},
                        {DNNL_ARG_TO, &st->user_dst_md, c->out[0]->data},
                        {DNNL_ARG_SCRATCHPAD, &st->out_reorder.scratch_md, scratch + off}};
    return onednn_execute(c, st->out_reorder.prim, ra, st->out_reorder.scratch_bytes ? 3 : 2);
}

/* The pool's primitive with src and dst in `layout` (a layout code): into st->alt. */
static int pool_build_alt(pool_state *st, int layout)
{
    dnnl_engine_t e;
    if (onednn_engine(&e) != EMBER_OK) {
        ember_error_clear();
        return 0;
    }
    onednn_prim_destroy(&st->alt);
    st->alt_layout = 0;
    onednn_set_threads(st->threads); /* some kernels size their work split at creation */
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_pooling_v2_desc_t pd_desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t r = onednn_layout_md(&src_md, st->src_d, layout);
    if (r == dnnl_success) r = onednn_layout_md(&dst_md, st->dst_d, layout);
    if (r == dnnl_success)
        r = dnnl_pooling_v2_forward_desc_init(&pd_desc, dnnl_forward_inference, st->alg, &src_md, &dst_md,
                                              st->ds, st->dk, st->dd, st->dl, st->dr);
    if (r == dnnl_success) r = dnnl_primitive_attr_create(&attr);
    if (r == dnnl_success) r = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (r == dnnl_success) r = dnnl_primitive_desc_create(&pd, &pd_desc, attr, e, NULL);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (r != dnnl_success) return 0;
    /* Only oneDNN's own kernels for the layout (not its reference fallback). */
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    if (!impl || strstr(impl, "ref")) {
        dnnl_primitive_desc_destroy(pd);
        return 0;
    }
    onednn_prim alt = {0};
    alt.src_md = src_md;
    alt.dst_md = dst_md;
    if (dnnl_primitive_create(&alt.prim, pd) != dnnl_success) {
        dnnl_primitive_desc_destroy(pd);
        return 0;
    }
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (sp) alt.scratch_md = *sp;
    alt.scratch_bytes = sp ? dnnl_memory_desc_get_size(sp) : 0;
    dnnl_primitive_desc_destroy(pd);
    st->alt = alt;
    st->alt_layout = layout;
    return 1;
}

/* Layout chaining (ops/host.h). */
/* A float32 layout GlobalAveragePool sums in itself. */
static int gap_own_layout(int layout)
{
    return layout == (int)dnnl_nChw16c || layout == (int)dnnl_nChw8c || layout == (int)dnnl_nhwc;
}

/* An nhwc MaxPool this file computes itself (see max_nhwc_share). On one thread only:
 * with more, it runs on the run's pool right after a oneDNN conv whose OpenMP worker is
 * still spinning on the other core, and loses to oneDNN's own pool on that team
 * (resnet18's stem pool at 2 threads: 323-359 us here, 160-186 us oneDNN's). */
static int own_nhwc_max(const pool_state *st, int layout)
{
    return !st->global && st->alg == dnnl_pooling_max && layout == (int)dnnl_nhwc &&
           st->src_d[1] <= OWN_NHWC_MAX_C && st->threads == 1;
}

static int pool_out_layout(void *state, int out_idx)
{
    const pool_state *st = state;
    if (st->gap_layout) return 0;
    if (st->own_nhwc) return out_idx == 0 ? (int)dnnl_nhwc : 0;
    return out_idx == 0 && st->in_layout && onednn_layout_code(&st->prim.dst_md) == st->in_layout
               ? st->in_layout : 0;
}

static int pool_accepts_layout(void *state, int in_idx, int layout)
{
    pool_state *st = state;
    if (st->gap_layout) return in_idx == 0 && layout == st->gap_layout;
    if (st->global && in_idx == 0 && !st->in_layout && gap_own_layout(layout)) return 1;
    if (st->global && !st->prim.prim) return 0;
    if (in_idx == 0 && !st->in_layout && own_nhwc_max(st, layout)) return 1;
    if (in_idx != 0 || layout == 0 || st->in_layout) return st->in_layout && st->in_layout == layout;
    return (st->alt_layout == layout && st->alt.prim) || pool_build_alt(st, layout);
}

static ember_status pool_set_layout(void *state, int is_output, int idx, int layout, size_t *scratch_bytes)
{
    pool_state *st = state;
    if (is_output) {
        if (pool_out_layout(st, idx) != layout)
            return ember_error(EMBER_E_INTERNAL, "oneDNN pool: layout %d was not offered", layout);
        st->out_layout = layout;
        return EMBER_OK;
    }
    if (!pool_accepts_layout(st, idx, layout))
        return ember_error(EMBER_E_INTERNAL, "oneDNN pool: layout %d was not offered", layout);
    if (st->gap_layout || st->own_nhwc) return EMBER_OK;
    if (own_nhwc_max(st, layout)) {
        st->own_nhwc = 1;
        st->in_layout = layout;
        return EMBER_OK;
    }
    if (st->global && gap_own_layout(layout)) {
        st->gap_layout = layout;
        size_t need = layout == (int)dnnl_nhwc ? align64(sizeof(float) * (size_t)st->c) : 0;
        if (need > *scratch_bytes) *scratch_bytes = need;
        return EMBER_OK;
    }
    if (st->in_layout) return EMBER_OK;
    dnnl_engine_t e;
    TRY(onednn_engine(&e));
    /* The output reorder to NCHW, used unless the output is chained too. */
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success)
        return ember_error(EMBER_E_NO_MEMORY, "oneDNN pool: out of memory");
    dnnl_status_t r = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (r == dnnl_success) r = dnnl_reorder_primitive_desc_create(&pd, &st->alt.dst_md, e, &st->user_dst_md, e, attr);
    dnnl_primitive_attr_destroy(attr);
    if (r == dnnl_success) {
        const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (sp) st->out_reorder.scratch_md = *sp;
        st->out_reorder.scratch_bytes = sp ? dnnl_memory_desc_get_size(sp) : 0;
        r = dnnl_primitive_create(&st->out_reorder.prim, pd);
        dnnl_primitive_desc_destroy(pd);
    }
    if (r != dnnl_success)
        return ember_error(EMBER_E_INTERNAL, "oneDNN pool: output reorder (%s)", dnnl_status2str(r));
    onednn_prim_destroy(&st->prim);
    st->prim = st->alt;
    memset(&st->alt, 0, sizeof st->alt);
    st->in_layout = layout;
    size_t rs = st->out_reorder.scratch_bytes > st->prim.scratch_bytes ? st->out_reorder.scratch_bytes
                                                                        : st->prim.scratch_bytes;
    size_t need = align64(dnnl_memory_desc_get_size(&st->prim.dst_md)) + rs;
    if (need > *scratch_bytes) *scratch_bytes = need;
    return EMBER_OK;
}

/* The three pool ops differ only in their op and how a step is prepared. */
#define ONEDNN_POOL_KERNEL(sym, op_enum, prep)   \
    const ember_host_kernel sym = {              \
        .name = "onednn_pool",                   \
        .op = op_enum,                           \
        .prepare = prep,                         \
        .run = pool_run,                         \
        .release = pool_release,                 \
        .out_layout = pool_out_layout,           \
        .accepts_layout = pool_accepts_layout,   \
        .set_layout = pool_set_layout,           \
    }

ONEDNN_POOL_KERNEL(ember_host_onednn_max_pool, EMBER_OP_MAX_POOL, window_prepare);
ONEDNN_POOL_KERNEL(ember_host_onednn_average_pool, EMBER_OP_AVERAGE_POOL, window_prepare);
ONEDNN_POOL_KERNEL(ember_host_onednn_global_average_pool, EMBER_OP_GLOBAL_AVERAGE_POOL, global_prepare);
