/* oneDNN Conv fast path: 2-D float32 convolutions (groups, depthwise, strides, dilations,
 * pads and auto_pad as the reference resolves them, bias, a fused activation as an
 * eltwise post-op). The arena holds NCHW tensors. Per shape the primitive either reads
 * and writes NCHW directly, or runs on oneDNN's preferred blocked layout with src and
 * dst reordered through scratch on every call (see conv_choose_layout). Weights are
 * reordered once, at prepare, into the layout the primitive wants. Layout chaining
 * (ops/host.h) drops the src reorder when the producer already wrote that layout (and
 * starts it from the producer's layout when that is another one), and the dst reorder
 * when every reader takes it (a blocked layout of the NCHW size only).
 * A fused residual (input 3, "ember_sum_input", engine/passes/fuse.c) is a sum post-op
 * ahead of the activation: it is copied (or reordered) into dst before the convolution,
 * unless the memory plan put dst in the residual's own buffer; chained, it comes in dst's
 * layout.
 * bf16 (onednn.h): the primitive's src, weights and dst are bfloat16 in the layouts
 * oneDNN picks; the src/dst reorders to and from the arena's fp32 NCHW convert, and a
 * chained value stays bf16 from one oneDNN step to the next. */
#include <stdlib.h>
#include <string.h>

#include "../nn_common.h"
#include "onednn.h"

typedef struct conv_state {
    onednn_prim conv;
    int blocked;                       /* src and/or dst go through reorders */
    int reorder_src, reorder_dst;      /* which of them, now (layout chaining clears them) */
    int chained;                       /* src or dst is in a chained layout */
    int bf16;                          /* src, weights, dst in bfloat16 (onednn.h) */
    int sum;                           /* input 3 is a residual added before the activation */
    int res_chained;                   /* it comes in conv.dst_md's layout */
    onednn_prim res_reorder;           /* NCHW residual -> conv.dst_md, when they differ */
    onednn_prim src_reorder, dst_reorder;
    dnnl_memory_desc_t user_src_md, user_dst_md, bias_md, weights_md;
    int src_from;                      /* chained layout that src_reorder starts from (0: NCHW) */
    dnnl_memory_desc_t src_from_md;    /* its descriptor, when src_from != 0 */
    size_t src_off, dst_off, dnnl_off; /* scratch layout when blocked */
    void *weights;                     /* owned, in the primitive's layout */
    float *bias;                       /* owned copy of a constant bias, or NULL */
    int bias_input;                    /* bias comes from input 2 at run time */
    int threads;
} conv_state;

static void conv_release(void *p)
{
    conv_state *s = p;
    if (!s) return;
    onednn_prim_destroy(&s->conv);
    onednn_prim_destroy(&s->src_reorder);
    onednn_prim_destroy(&s->dst_reorder);
    onednn_prim_destroy(&s->res_reorder);
    free(s->weights);
    free(s->bias);
    free(s);
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Which layout to run a shape in. Measured per layer on resnet18, mobilenet_v2 and
 * squeezenet1_1 (AVX-512, 2 cores): with NCHW in and out oneDNN can only use its
 * im2col + sgemm convolution ("gemm:jit"); with format any it picks the brgemm / direct
 * kernels on NHWC or nChw16c, which even with a reorder of src and dst on every call were
 * faster on almost every layer (resnet18 convs 24.0 -> 14.4 ms, mobilenet_v2 42.6 ->
 * 7.5 ms, squeezenet1_1 8.3 -> 4.8 ms). The few layers where NCHW won were 1x1 convs
 * with a small output, by under 15%, within the noise. So: blocked. The environment
 * variable EMBER_ONEDNN_CONV_LAYOUT=nchw|blocked overrides it, for measurements. */
static int conv_choose_layout(const nn_conv_plan *p)
{
    const char *force = getenv("EMBER_ONEDNN_CONV_LAYOUT");
    if (force && strcmp(force, "nchw") == 0) return 0;
    if (force && strcmp(force, "blocked") == 0) return 1;
    (void)p;
    return 1;
}

/* conv_build's `blocked` for channel-blocked src and dst (nChw16c or nChw8c). */
enum { CONV_CHANNEL_BLOCKS = 2, CONV_SMALL_CHANNELS = 3 };

/* Convolutions with 8 channels on a side in nChw8c (a first layer with 1-4 input
 * channels reading the model's NCHW input directly, with no reorder). With AVX-512 the default
 * NHWC kernels run those at a fraction of their vector width; on vww_mobilenet025 (1
 * thread) the first conv (3 -> 8 channels, 96x96, with its NCHW -> NHWC input reorder)
 * went 31.7 -> 21.7 us and the 8-channel depthwise 3x3 at 48x48 15.8 -> 9.4 us (AVX2
 * direct kernels on nChw8c). A 16-channel depthwise conv stays in nChw8c as well
 * (features.3: its stride-2 output is a quarter of its input, so the change back to
 * NHWC, one reorder (see conv_accepts_layout), moves to the smaller tensor; 13.1 ->
 * 5.8 us, the 1x1 conv after it 7.6 -> 10.8 us). EMBER_ONEDNN_SMALL_CONV=0 turns it
 * off, for measurements. */
static int conv_small_depthwise(const nn_conv_plan *p)
{
    return p->G == p->C && p->M == p->C && p->C == 16;
}

/* Stride-1 depthwise and pointwise convs on few pixels (<= 128) and channels (32-64, in
 * whole blocks of 16) in nChw16c: there oneDNN's direct jit_dw / jit_1x1 kernels beat
 * the brgemm ones on NHWC, whose fixed cost dominates so little work. kws_dscnn (64
 * channels, 25x5) 0.056 -> 0.048 ms at 1 thread (its depthwise convs 4.1 -> 2.5 us).
 * Not wider (1 thread): mobilenet_v2's 7x7 stage (160-1280 channels) got ~2% slower,
 * resnet18 4% and cifar_resnet8 1% with dense 3x3 and stride-2 1x1 convs included,
 * vww_mobilenet025's 12x12 stage (144 pixels, 32-64 channels) and its lone stride-2
 * depthwise conv to 6x6 (two reorders around it) 0-2% slower. One thread only: at 2
 * threads kws_dscnn went 0.052 -> 0.07 ms (these kernels split so little work badly). */
static int conv_channel_block(void);

static int conv_small_separable(const nn_conv_plan *p, int threads)
{
    if (threads != 1) return 0;
    int dw = p->G == p->C && p->M == p->C, pw = p->G == 1 && p->w.k[0] == 1 && p->w.k[1] == 1;
    return (dw || pw) && p->w.s[0] == 1 && p->w.s[1] == 1 && p->C % 16 == 0 && p->M % 16 == 0 && p->C >= 32 && p->C <= 64 && p->M <= 64 &&
           p->outsp <= 128 && conv_channel_block() == 16;
}

/* A one-channel first layer feeding such small separable convs: read straight from the
 * model's input (one channel: NCHW is NHWC) and written in nChw16c for them, by oneDNN's
 * direct kernel, instead of brgemm on NHWC and a reorder after it. kws_dscnn (1 -> 64
 * channels, 25x5, 1 thread): 0.045 -> 0.042 ms. Not for 3-channel first layers
 * (cifar_resnet8's 3 -> 16 at 32x32 got slower: 0.166 -> 0.171 ms). */
static int conv_small_first(const nn_conv_plan *p, int threads)
{
    return threads == 1 && p->C == 1 && p->G == 1 && p->M % 16 == 0 && p->outsp <= 128 &&
           conv_channel_block() == 16;
}

static int conv_small_channels(const nn_conv_plan *p, int threads)
{
    const char *v = getenv("EMBER_ONEDNN_SMALL_CONV");
    if (v && strcmp(v, "0") == 0) return 0;
    return p->C == 8 || p->M == 8 || conv_small_depthwise(p) || conv_small_separable(p, threads) ||
           conv_small_first(p, threads);
}

/* The channel block of oneDNN's native blocked layout on this CPU: 16 with AVX-512. */
static int conv_channel_block(void)
{
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), avx512 = (unsigned)dnnl_cpu_isa_avx512_core;
    return (isa & avx512) == avx512 ? 16 : 8;
}

/* Reorder primitive from `from` to `to` (nothing to do when they are equal). */
static ember_status make_reorder(const ember_op_ctx *c, dnnl_engine_t e, const dnnl_memory_desc_t *from,
                                 const dnnl_memory_desc_t *to, onednn_prim *r)
{
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr;
    DNNL_TRY(c, dnnl_primitive_attr_create(&attr));
    dnnl_status_t s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&pd, from, e, to, e, attr);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return onednn_fail(c, "dnnl_reorder_primitive_desc_create", s);
    return onednn_prim_create(c, pd, r);
}

static ember_status conv_build(ember_op_ctx *c, const nn_conv_plan *p, int blocked, conv_state *st)
{
    dnnl_engine_t e;
    TRY(onednn_engine(&e));
    const ember_op_tensor *w = c->in[1], *b = ember_op_in(c, 2);
    dnnl_dims_t src_d = {p->N, p->C, p->in[0], p->in[1]};
    dnnl_dims_t dst_d = {p->N, p->M, p->out[0], p->out[1]};
    dnnl_dims_t w_d = {p->G, p->Mg, p->Cg, p->w.k[0], p->w.k[1]};
    dnnl_dims_t b_d = {p->M};
    dnnl_dims_t strides = {p->w.s[0], p->w.s[1]}, dil = {p->w.d[0] - 1, p->w.d[1] - 1};
    dnnl_dims_t pl = {p->w.pb[0], p->w.pb[1]}, pr;
    for (int i = 0; i < 2; i++)
        pr[i] = onednn_pad_r(p->in[i], p->w.k[i], p->w.s[i], p->w.d[i], p->w.pb[i], p->w.pe[i], p->out[i]);
    int wnd = p->G > 1 ? 5 : 4;
    dnnl_memory_desc_t src_md, dst_md, w_any, w_user, b_md;
    dnnl_format_tag_t act_tag = blocked ? dnnl_format_tag_any : dnnl_nchw, src_tag = act_tag, dst_tag = act_tag;
    if (blocked == CONV_CHANNEL_BLOCKS) { /* each side whose channels fill whole blocks */
        int cb = conv_channel_block();
        dnnl_format_tag_t tag = cb == 16 ? dnnl_nChw16c : dnnl_nChw8c;
        if (p->C % cb == 0) src_tag = tag;
        if (p->M % cb == 0) dst_tag = tag;
    }
    if (blocked == CONV_SMALL_CHANNELS) {
        if (p->C <= 4 && p->G == 1 && p->M == 8) { /* a first layer on the model's NCHW input */
            src_tag = dnnl_nchw;
            dst_tag = dnnl_nChw8c;
        }
        if (p->C == 8) src_tag = dnnl_nChw8c;
        if (p->M == 8) dst_tag = dnnl_nChw8c;
        if (conv_small_depthwise(p)) src_tag = dst_tag = dnnl_nChw8c;
        if (conv_small_separable(p, st->threads)) src_tag = dst_tag = dnnl_nChw16c;
        if (conv_small_first(p, st->threads)) src_tag = dnnl_nchw, dst_tag = dnnl_nChw16c;
    }
    /* bf16: src, weights and dst in bfloat16 (oneDNN accumulates in fp32); the bias
     * stays fp32. The user (arena) side stays fp32 NCHW, so the reorders convert. */
    dnnl_data_type_t dt = st->bf16 ? dnnl_bf16 : dnnl_f32;
    DNNL_TRY(c, dnnl_memory_desc_init_by_tag(&st->user_src_md, 4, src_d, dnnl_f32, dnnl_nchw));
    DNNL_TRY(c, dnnl_memory_desc_init_by_tag(&st->user_dst_md, 4, dst_d, dnnl_f32, dnnl_nchw));
    DNNL_TRY(c, dnnl_memory_desc_init_by_tag(&src_md, 4, src_d, dt, src_tag));
    DNNL_TRY(c, dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_d, dt, dst_tag));
    dnnl_dims_t w_d4 = {p->M, p->Cg, p->w.k[0], p->w.k[1]};
    const dnnl_dim_t *wd = p->G > 1 ? w_d : w_d4;
    DNNL_TRY(c, dnnl_memory_desc_init_by_tag(&w_any, wnd, wd, dt, dnnl_format_tag_any));
    DNNL_TRY(c, dnnl_memory_desc_init_by_tag(&w_user, wnd, wd, dnnl_f32, p->G > 1 ? dnnl_goihw : dnnl_oihw));
    DNNL_TRY(c, dnnl_memory_desc_init_by_tag(&b_md, 1, b_d, dnnl_f32, dnnl_x));
    st->bias_md = b_md;

    dnnl_convolution_desc_t cd;
    dnnl_status_t s = dnnl_dilated_convolution_forward_desc_init(
        &cd, dnnl_forward_inference, dnnl_convolution_direct, &src_md, &w_any, b ? &b_md : NULL,
        &dst_md, strides, dil, pl, pr);
    if (s != dnnl_success) /* oneDNN refuses the geometry */
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "oneDNN refuses this convolution (%s)",
                             dnnl_status2str(s));
    dnnl_primitive_attr_t attr;
    dnnl_post_ops_t po;
    DNNL_TRY(c, dnnl_primitive_attr_create(&attr));
    s = dnnl_post_ops_create(&po);
    if (s != dnnl_success) {
        dnnl_primitive_attr_destroy(attr);
        return onednn_fail(c, "dnnl_post_ops_create", s);
    }
    ember_status es = EMBER_OK;
    if (st->sum && (s = dnnl_post_ops_append_sum(po, 1.0f)) != dnnl_success)
        es = onednn_fail(c, "dnnl_post_ops_append_sum", s);
    if (es == EMBER_OK) es = onednn_activation_post_ops(c, po);
    if (es == EMBER_OK) {
        s = dnnl_primitive_attr_set_post_ops(attr, po);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
        if (s != dnnl_success) es = onednn_fail(c, "dnnl_primitive_attr_set_post_ops", s);
    }
    dnnl_primitive_desc_t pd = NULL;
    if (es == EMBER_OK) {
        s = dnnl_primitive_desc_create(&pd, &cd, attr, e, NULL);
        if (s == dnnl_unimplemented)
            es = ember_op_fail(c, EMBER_E_UNSUPPORTED, "oneDNN has no convolution for this shape");
        else if (s != dnnl_success)
            es = onednn_fail(c, "dnnl_primitive_desc_create", s);
    }
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    if (es != EMBER_OK) return es;
    if (blocked >= CONV_CHANNEL_BLOCKS) { /* only oneDNN's own kernels, not its reference */
        const char *impl = NULL;
        if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl ||
            strncmp(impl, "ref", 3) == 0 || strncmp(impl, "gemm:", 5) == 0) {
            dnnl_primitive_desc_destroy(pd);
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "oneDNN conv: no channel-blocked kernel");
        }
    }

    /* The layouts the primitive settled on. */
    st->weights_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    st->conv.src_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    st->conv.dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    TRY(onednn_prim_create(c, pd, &st->conv));

    /* Weights: reorder once into the primitive's layout. */
    st->weights = onednn_alloc(dnnl_memory_desc_get_size(&st->weights_md));
    if (!st->weights) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for oneDNN weights");
    onednn_prim wr = {0};
    TRY(make_reorder(c, e, &w_user, &st->weights_md, &wr));
    void *wscratch = wr.scratch_bytes ? onednn_alloc(wr.scratch_bytes) : NULL;
    onednn_arg wargs[3] = {{DNNL_ARG_FROM, &w_user, w->data},
                           {DNNL_ARG_TO, &st->weights_md, st->weights},
                           {DNNL_ARG_SCRATCHPAD, &wr.scratch_md, wscratch}};
    es = onednn_execute(c, wr.prim, wargs, wr.scratch_bytes ? 3 : 2);
    free(wscratch);
    onednn_prim_destroy(&wr);
    if (es != EMBER_OK) return es;

    /* Bias: a copy of a constant one; otherwise read from the input at run time. */
    if (b && b->data) {
        st->bias = onednn_alloc((size_t)p->M * sizeof(float));
        if (!st->bias) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for oneDNN bias");
        memcpy(st->bias, b->data, (size_t)p->M * sizeof(float));
    } else if (b) {
        st->bias_input = 1;
    }

    /* A layout that puts the bytes where NCHW does (NHWC with one channel, or one pixel)
     * is read and written in place: the arena's tensor simply is in it. */
    if (onednn_same_bytes(&st->conv.src_md, &st->user_src_md)) st->user_src_md = st->conv.src_md;
    if (onednn_same_bytes(&st->conv.dst_md, &st->user_dst_md)) st->user_dst_md = st->conv.dst_md;

    /* Blocked (or bf16): src and dst reorders, their buffers in scratch ahead of oneDNN's
     * own. fp32 NCHW needs none: then the primitive's descriptors are the user's. */
    st->reorder_src = !dnnl_memory_desc_equal(&st->conv.src_md, &st->user_src_md);
    st->reorder_dst = !dnnl_memory_desc_equal(&st->conv.dst_md, &st->user_dst_md);
    st->blocked = st->reorder_src || st->reorder_dst;
    size_t scratch = 0;
    if (st->blocked) {
        if (st->reorder_src) TRY(make_reorder(c, e, &st->user_src_md, &st->conv.src_md, &st->src_reorder));
        if (st->reorder_dst) TRY(make_reorder(c, e, &st->conv.dst_md, &st->user_dst_md, &st->dst_reorder));
        if (st->sum && !dnnl_memory_desc_equal(&st->conv.dst_md, &st->user_dst_md))
            TRY(make_reorder(c, e, &st->user_dst_md, &st->conv.dst_md, &st->res_reorder));
        st->src_off = 0;
        st->dst_off = align64(dnnl_memory_desc_get_size(&st->conv.src_md));
        scratch = st->dst_off + align64(dnnl_memory_desc_get_size(&st->conv.dst_md));
        size_t rs = st->src_reorder.scratch_bytes > st->dst_reorder.scratch_bytes
                        ? st->src_reorder.scratch_bytes : st->dst_reorder.scratch_bytes;
        if (st->res_reorder.scratch_bytes > rs) rs = st->res_reorder.scratch_bytes;
        if (rs > st->conv.scratch_bytes) st->conv.scratch_bytes = rs; /* shared, used in turn */
    }
    st->dnnl_off = scratch;
    c->scratch_bytes = scratch + align64(st->conv.scratch_bytes);
    return EMBER_OK;
}

static ember_status conv_prepare(ember_op_ctx *c, int threads, void **state)
{
    *state = NULL;
    if (!onednn_enabled()) return ember_error(EMBER_E_UNSUPPORTED, "oneDNN: off (EMBER_ONEDNN=0)");
    const ember_op_tensor *x = ember_op_in(c, 0), *w = ember_op_in(c, 1), *b = ember_op_in(c, 2);
    const ember_attr *sa = ember_node_attr(c->node, "ember_sum_input");
    int sum = sa && sa->type == EMBER_ATTR_INT && sa->i == 3 && c->n_in == 4 && ember_op_in(c, 3);
    if (!x || !w || c->n_in > (sum ? 4 : 3) || c->n_out != 1 || !c->out[0])
        return ember_error(EMBER_E_UNSUPPORTED, "oneDNN conv: needs X, W, optional B, one output");
    if (sum) {
        const ember_op_tensor *r = c->in[3], *y = c->out[0];
        int same = r->dtype == EMBER_DT_FLOAT && r->rank == y->rank;
        for (int i = 0; same && i < r->rank; i++) same = r->dims[i] == y->dims[i];
        if (!same) return ember_error(EMBER_E_UNSUPPORTED, "oneDNN conv: residual not of the output's shape");
    }
    if (x->dtype != EMBER_DT_FLOAT || w->dtype != EMBER_DT_FLOAT || (b && b->dtype != EMBER_DT_FLOAT) ||
        c->out[0]->dtype != EMBER_DT_FLOAT)
        return ember_error(EMBER_E_UNSUPPORTED, "oneDNN conv: float32 only");
    if (x->rank != 4 || w->rank != 4)
        return ember_error(EMBER_E_UNSUPPORTED, "oneDNN conv: 2-D only");
    if (!w->data) return ember_error(EMBER_E_UNSUPPORTED, "oneDNN conv: weights are not constant");
    nn_conv_plan p;
    TRY(nn_conv_plan_build(c, &p, 0, 1, 2));
    if (p.w.nd != 2 || p.outsp <= 0 || p.N <= 0 || p.C <= 0 || p.M <= 0)
        return ember_error(EMBER_E_UNSUPPORTED, "oneDNN conv: shape not fully known or empty");
    for (int i = 0; i < 2; i++)
        if (p.out[i] != c->out[0]->dims[2 + i])
            return ember_error(EMBER_E_UNSUPPORTED, "oneDNN conv: output shape disagrees");
    conv_state *st = calloc(1, sizeof *st);
    if (!st) return ember_error(EMBER_E_NO_MEMORY, "out of memory for oneDNN conv");
    st->threads = onednn_threads(threads);
    st->sum = sum;
    st->bf16 = onednn_want_bf16(c);
    onednn_set_threads(st->threads);
    int layout = conv_choose_layout(&p);
    /* Marked by the program builder (engine/program.c, mark_channel_blocks) so that an
     * in-place Concat can stay blocked; this layout, when oneDNN has a kernel for it. */
    const ember_attr *cba = ember_node_attr(c->node, "ember_channel_blocks");
    ember_status es = EMBER_E_UNSUPPORTED;
    if (layout == 1 && !st->bf16 && cba && cba->type == EMBER_ATTR_INT && cba->i == 1) {
        es = conv_build(c, &p, CONV_CHANNEL_BLOCKS, st);
        if (es == EMBER_E_UNSUPPORTED) ember_error_clear();
    }
    if (es == EMBER_E_UNSUPPORTED && layout == 1 && !st->bf16 && conv_small_channels(&p, st->threads)) {
        es = conv_build(c, &p, CONV_SMALL_CHANNELS, st);
        if (es == EMBER_E_UNSUPPORTED) ember_error_clear();
    }
    if (es == EMBER_E_UNSUPPORTED) es = conv_build(c, &p, layout, st);
    if (es != EMBER_OK) {
        conv_release(st);
        return es;
    }
    *state = st;
    return EMBER_OK;
}

static ember_status conv_run(ember_op_ctx *c, void *state)
{
    conv_state *st = state;
    void *x = c->in[0]->data, *y = c->out[0]->data;
    if (x == y) { /* oneDNN conv cannot run in place */
        if (st->chained)
            return ember_op_fail(c, EMBER_E_INTERNAL, "oneDNN conv: in place with a chained layout");
        return ember_op_table[c->node->op].run(c);
    }
    onednn_set_threads(st->threads);
    unsigned char *scratch = c->scratch;
    void *dscratch = st->conv.scratch_bytes ? scratch + st->dnnl_off : NULL;
    void *bias = st->bias_input ? c->in[2]->data : st->bias;
    void *src = x, *dst = y;
    if (st->reorder_dst) dst = scratch + st->dst_off;
    if (st->sum) { /* dst starts as the residual, in dst's layout */
        void *r = c->in[3]->data;
        const dnnl_memory_desc_t *rmd = st->res_chained ? &st->conv.dst_md : &st->user_dst_md;
        if (dnnl_memory_desc_equal(rmd, &st->conv.dst_md)) {
            if (r != dst) memcpy(dst, r, dnnl_memory_desc_get_size(&st->conv.dst_md));
        } else {
            onednn_arg ra[3] = {{DNNL_ARG_FROM, &st->user_dst_md, r},
                                {DNNL_ARG_TO, &st->conv.dst_md, dst},
                                {DNNL_ARG_SCRATCHPAD, &st->res_reorder.scratch_md, dscratch}};
            TRY(onednn_execute(c, st->res_reorder.prim, ra, st->res_reorder.scratch_bytes ? 3 : 2));
        }
    }
    if (st->reorder_src) {
        src = scratch + st->src_off;
        onednn_arg ra[3] = {{DNNL_ARG_FROM, st->src_from ? &st->src_from_md : &st->user_src_md, x},
                            {DNNL_ARG_TO, &st->conv.src_md, src},
                            {DNNL_ARG_SCRATCHPAD, &st->src_reorder.scratch_md, dscratch}};
        TRY(onednn_execute(c, st->src_reorder.prim, ra, st->src_reorder.scratch_bytes ? 3 : 2));
    }
    onednn_arg a[5] = {{DNNL_ARG_SRC, &st->conv.src_md, src},
                       {DNNL_ARG_WEIGHTS, &st->weights_md, st->weights},
                       {DNNL_ARG_DST, &st->conv.dst_md, dst}};
    int n = 3;
    if (st->conv.scratch_bytes) a[n++] = (onednn_arg){DNNL_ARG_SCRATCHPAD, &st->conv.scratch_md, dscratch};
    if (bias) a[n++] = (onednn_arg){DNNL_ARG_BIAS, &st->bias_md, bias};
    TRY(onednn_execute(c, st->conv.prim, a, n));
    if (st->reorder_dst) {
        onednn_arg ra[3] = {{DNNL_ARG_FROM, &st->conv.dst_md, dst},
                            {DNNL_ARG_TO, &st->user_dst_md, y},
                            {DNNL_ARG_SCRATCHPAD, &st->dst_reorder.scratch_md, dscratch}};
        TRY(onednn_execute(c, st->dst_reorder.prim, ra, st->dst_reorder.scratch_bytes ? 3 : 2));
    }
    return EMBER_OK;
}

/* Layout chaining (ops/host.h): src and dst as the primitive wants them, when that is a
 * blocked layout of the NCHW size. */
static int conv_out_layout(void *state, int out_idx)
{
    const conv_state *st = state;
    return out_idx == 0 && st->reorder_dst ? onednn_layout_code(&st->conv.dst_md) : 0;
}

static int conv_accepts_layout(void *state, int in_idx, int layout)
{
    const conv_state *st = state;
    if (in_idx == 3 && st->sum && layout != 0) /* the residual: in dst's layout */
        return st->res_reorder.prim && onednn_layout_code(&st->conv.dst_md) == layout;
    if (in_idx != 0 || layout == 0 || !st->reorder_src || st->src_from) return 0;
    if (onednn_layout_code(&st->conv.src_md) == layout) return 1;
    /* Another layout of src's data type: src_reorder can start from it as well as from
     * NCHW, so a change of layout between two oneDNN steps is one reorder, not two (one
     * to NCHW and one back out of it). */
    int bf16 = st->conv.src_md.data_type == dnnl_bf16;
    return bf16 == !!(layout & ONEDNN_LAYOUT_BF16);
}

static ember_status conv_set_layout(void *state, int is_output, int idx, int layout, size_t *scratch_bytes)
{
    conv_state *st = state;
    if (is_output ? conv_out_layout(st, idx) != layout : !conv_accepts_layout(st, idx, layout))
        return ember_error(EMBER_E_INTERNAL, "oneDNN conv: layout %d was not offered", layout);
    if (is_output) {
        st->reorder_dst = 0;
    } else if (idx == 3) {
        st->res_chained = 1;
    } else if (onednn_layout_code(&st->conv.src_md) == layout) {
        st->reorder_src = 0;
    } else { /* src_reorder from `layout` instead of NCHW */
        dnnl_engine_t e;
        dnnl_primitive_desc_t pd = NULL;
        dnnl_primitive_attr_t attr = NULL;
        TRY(onednn_engine(&e));
        dnnl_status_t s = onednn_layout_md(&st->src_from_md, st->user_src_md.dims, layout);
        if (s == dnnl_success) s = dnnl_primitive_attr_create(&attr);
        if (s == dnnl_success) s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
        if (s == dnnl_success) s = dnnl_reorder_primitive_desc_create(&pd, &st->src_from_md, e, &st->conv.src_md, e, attr);
        if (attr) dnnl_primitive_attr_destroy(attr);
        const dnnl_memory_desc_t *sp = s == dnnl_success ? dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0) : NULL;
        onednn_prim r = {0};
        if (sp) r.scratch_md = *sp;
        r.scratch_bytes = sp ? dnnl_memory_desc_get_size(sp) : 0;
        if (s == dnnl_success) s = dnnl_primitive_create(&r.prim, pd);
        if (pd) dnnl_primitive_desc_destroy(pd);
        if (s != dnnl_success)
            return ember_error(EMBER_E_INTERNAL, "oneDNN conv: no reorder from layout %d (%s)", layout,
                               dnnl_status2str(s));
        onednn_prim_destroy(&st->src_reorder);
        st->src_reorder = r;
        if (r.scratch_bytes > st->conv.scratch_bytes) { /* shared with the others, used in turn */
            st->conv.scratch_bytes = r.scratch_bytes;
            *scratch_bytes = st->dnnl_off + align64(r.scratch_bytes);
        }
        st->src_from = layout;
    }
    st->chained = 1;
    return EMBER_OK;
}

/* The residual may already be dst's memory: then the copy into dst is skipped and the
 * sum post-op reads it in place. Not when it would need a reorder into dst (oneDNN
 * reorders do not run in place); with a dst reorder the primitive writes scratch. */
static int conv_inplace_input(void *state, int in_idx)
{
    const conv_state *st = state;
    if (in_idx != 3 || !st->sum) return 0;
    if (st->reorder_dst) return 1;
    return dnnl_memory_desc_equal(st->res_chained ? &st->conv.dst_md : &st->user_dst_md, &st->conv.dst_md);
}

/* Weights are reordered into st->weights at prepare; a constant bias is copied. */
static int conv_drops_input(void *state, int in_idx)
{
    const conv_state *st = state;
    return in_idx == 1 || (in_idx == 2 && !st->bias_input);
}

const ember_host_kernel ember_host_onednn_conv = {
    .name = "onednn_conv",
    .op = EMBER_OP_CONV,
    .prepare = conv_prepare,
    .run = conv_run,
    .release = conv_release,
    .out_layout = conv_out_layout,
    .accepts_layout = conv_accepts_layout,
    .set_layout = conv_set_layout,
    .drops_input = conv_drops_input,
    .inplace_input = conv_inplace_input,
};
