/* Winograd F(4x4, 3x3) convolution for float32 3x3 convs with stride 1, dilation 1, one
 * group and channel counts in whole 16-float vectors, with AVX-512 (declines elsewhere,
 * in bf16, and with EMBER_WINOGRAD=0; EMBER_WINOGRAD=all takes every shape it can, for
 * tests and measurements). oneDNN's direct convs already run these shapes near the FMA
 * peak, so only fewer multiplies help: a 6x6 input tile gives a 4x4 output tile with 36
 * products per (c, m) where the direct conv does 144.
 *
 *   prepare: U[xi][c][m] = (G g G^T)[xi] for each 3x3 filter g (in double), xi < 36.
 *   run, per block of up to TMAX tiles of a thread's share, in its own scratch:
 *     V[xi][t][c]  = (B^T d B)[xi] over the tile's 6x6 input patch, 16 channels a vector;
 *     Mo[xi][t][m] = sum_c V[xi][t][c] U[xi][c][m]: 36 GEMMs (T x C) . (C x M) with
 *                    register tiles of 24 tiles x 16 columns up to 6 x 64;
 *     (V and Mo are stored [t][16-channel block][xi][16]: winograd_avx512.c)
 *     y = A^T Mo A (4x4 outputs per tile) + bias (+ residual), activation, stored.
 * Input, residual and output may each be in NCHW (gathered / scattered a vector of
 * channels at a time: slow, only when a neighbour is not a host kernel), NHWC or nChw16c;
 * the last two chain with oneDNN's convs (ops/host.h), which pick NHWC on these shapes,
 * so no reorder runs between them. Output edges past the map (sizes not multiples of 4)
 * are computed and not stored; input edges are masked loads (the pads read as zeros).
 *
 * Threads: shares run on the run's threads, which in a program with oneDNN steps are
 * oneDNN's OpenMP team (engine/exec.c's runner): on the pool's own workers, asleep
 * behind spinning OpenMP threads, cifar_resnet8's convs at 2 threads took 19-33 us each
 * against 11-13 us on the team (1 thread: 11-20 us). A thread takes at least 8 tiles. (Splitting the output channels between the threads
 * where there are fewer tiles, each transforming the same inputs and streaming its half
 * of U, ran cifar's 8x8 64-channel conv 9.9 -> 7.8 us alone at 2 threads, but 13.8 ->
 * 15.8 us in the model: dropped.)
 *
 * Measurements (shared 2-core AVX-512 Xeon, medians, microbenchmark of the kernel
 * alone; N 1, pad 1, Relu, NHWC chained; against onednn_conv's brgconv on the same
 * layout; C = M; 1 thread, then 2):
 *   C16 32x32    15.7 vs   39 us     10.0 vs  30 us
 *   C32 16x16    11.5 vs   34 us      7.0 vs  24 us
 *   C64 8x8       9.9 vs   32 us      7.8 vs  19 us
 *   C64 56x56     536 vs 1524 us      268 vs 788 us
 *   C128 28x28    746 vs 1421 us      405 vs 734 us
 *   C128 14x14    220 vs  330 us      178 vs 183 us
 *   C128 8x8       85 vs  112 us       67 vs  66 us
 *   C256 14x14    870 vs 1327 us      660 vs 684 us
 *   C256 7x7      422 vs  350 us      342 vs 173 us
 *   C512 7x7     1794 vs 1469 us      961 vs 759 us
 *   C512 14x14   7692 vs 5416 us (1 thread, an earlier version)
 * U grows as C M (590 KB at 64 x 64, 2.4 MB at 128, 9.4 MB at 256, 38 MB at 512) and
 * every block of tiles streams all of it, so with U past the L2 cache Winograd needs
 * many tiles per thread to win. In resnet18 (1 thread) the 256-channel convs that won
 * alone lost in the model (1.47 -> 1.8 ms each: U no longer stays cached between runs);
 * its 64-channel convs ran 1.43 -> 0.60 ms and 128-channel ones 1.41 -> 1.07 ms. Hence
 * wino_shape_wins: C M <= 64 x 64 always; C M <= 128 x 128 with >= 16 tiles per thread;
 * nothing bigger. Whole models (ember bench, medians, EMBER_WINOGRAD=0 as the baseline):
 * cifar_resnet8 1 thread 0.194 -> 0.128 ms, 2 threads 0.144 -> 0.107 ms; resnet18
 * 28.1 -> 22.6 ms and 15.1 -> 12.1 ms; squeezenet1_1 5.5 -> 4.6 ms and 3.1 -> 2.7 ms;
 * resnet50 (build/zoo) 62.4 -> 61 ms at 1 thread (its 64- and 128-channel 3x3 convs).
 *
 * Numerics: the transforms' constants (1/4, 1/6, 1/12, 1/24 and 2, 4, 5, 8) grow the
 * rounding error to ~1e-6 of the output's scale (tests/unit/test_host_winograd.c checks
 * against the reference Conv within 1e-4 max|ref| + 1e-5). */
#include <stdlib.h>
#include <string.h>

#include "../kernels/activation.h"
#include "../nn_common.h"
#include "onednn.h"
#include "winograd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define WINO_AVX512 1
#endif


#define TMAX 24            /* tiles per block, at most: a multiple of 24, 12, 8 and 6 */
#define MIN_SHARE_TILES 8  /* tiles per thread, at least */
#define SHARE_MACS 65536   /* GEMM multiply-adds per thread, at least */

static void wino_release(void *p)
{
    wino_conv *s = p;
    if (!s) return;
    free(s->u);
    free(s->bias);
    free(s);
}

static void io_set(wino_io *io, int layout, int64_t C, int64_t H, int64_t W)
{
    io->layout = layout;
    io->sn = C * H * W;
    if (layout == L_NHWC) io->scb = 16, io->sc = 1, io->sy = W * C, io->sx = C;
    else if (layout == L_BLOCKED) io->scb = 16 * H * W, io->sc = 1, io->sy = 16 * W, io->sx = 16;
    else io->scb = 16 * H * W, io->sc = H * W, io->sy = W, io->sx = 1;
}

static int layout_code(int l) { return l == L_NHWC ? dnnl_nhwc : l == L_BLOCKED ? dnnl_nChw16c : 0; }
static int layout_of(int code) { return code == dnnl_nhwc ? L_NHWC : code == dnnl_nChw16c ? L_BLOCKED : -1; }

/* The filter transform G g G^T of one 3x3 filter (row-major) into 36 values. */
static void filter_transform(const float *g, double *u)
{
    static const double G[WT][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    double t[WT][3];
    for (int i = 0; i < WT; i++)
        for (int b = 0; b < 3; b++) t[i][b] = G[i][0] * g[b] + G[i][1] * g[3 + b] + G[i][2] * g[6 + b];
    for (int i = 0; i < WT; i++)
        for (int j = 0; j < WT; j++) u[i * WT + j] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
}

typedef struct wino_job {
    const wino_conv *s;
    const float *x, *bias, *res;
    float *y, *scratch;
    int T, shares; /* tiles per block; shares */
} wino_job;

static void share_range(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi)
{
    int64_t per = n / nth, extra = n % nth;
    *lo = ith * per + (ith < extra ? ith : extra);
    *hi = *lo + per + (ith < extra);
}

/* Share `sh` of the job's shares (a range of tiles), in scratch slot `slot`. */
static void wino_do_share(const wino_job *j, int sh, int slot)
{
    const wino_conv *s = j->s;
    float *v = j->scratch + (size_t)slot * s->share_floats, *mo = v + (size_t)WX * j->T * s->C;
    int64_t a0, a1;
    share_range(s->tiles, sh, j->shares, &a0, &a1);
    for (int64_t t0 = a0; t0 < a1; t0 += j->T) {
        int nt = (int)(a1 - t0 < j->T ? a1 - t0 : j->T);
        ember_winograd_block(s, j->x, t0, nt, j->T, 0, s->M / 16, v, mo, j->bias, j->res, j->y);
    }
}

/* Thread ith of nth (fewer than the shares if the team came out smaller). */
static void wino_share(void *ctx, int ith, int nth)
{
    const wino_job *j = ctx;
    for (int sh = ith; sh < j->shares; sh += nth) wino_do_share(j, sh, ith);
}



/* Where Winograd beats oneDNN's direct convolution (measurements at the top): with U
 * (36 C M floats) small, everywhere; with U past the L2 cache (C M > 64 x 64) only
 * where each thread's tiles make up for streaming U once per block; never with U at
 * 37 MB (512 x 512). */
static int wino_shape_wins(int64_t C, int64_t M, int64_t tiles, int threads)
{
    if (C * M <= 64 * 64) return 1;
    return C * M <= 128 * 128 && tiles / threads >= 16;
}

static ember_status wino_prepare(ember_op_ctx *c, int threads, void **state)
{
    *state = NULL;
#ifndef WINO_AVX512
    (void)c, (void)threads;
    return EMBER_E_UNSUPPORTED;
#else
    int mode = ember_host_switch("EMBER_WINOGRAD");
    if (!mode || !__builtin_cpu_supports("avx512f") || onednn_want_bf16(c)) return EMBER_E_UNSUPPORTED;
    const ember_op_tensor *w = ember_op_in(c, 1), *b = ember_op_in(c, 2);
    int sum;
    if (!onednn_conv_f32_operands(c, &sum)) return EMBER_E_UNSUPPORTED;
    const ember_op_tensor *y = c->out[0];
    nn_conv_plan p;
    TRY(nn_conv_plan_build(c, &p, 0, 1, 2));
    if (p.w.nd != 2 || p.outsp <= 0 || p.N <= 0 || p.G != 1 || p.w.k[0] != 3 || p.w.k[1] != 3 || p.w.s[0] != 1 ||
        p.w.s[1] != 1 || p.w.d[0] != 1 || p.w.d[1] != 1 || p.C % 16 != 0 || p.M % 16 != 0 ||
        p.out[0] != y->dims[2] || p.out[1] != y->dims[3] || p.C * p.M * WX > (1 << 26))
        return EMBER_E_UNSUPPORTED;
    int64_t tiles = p.N * ((p.out[0] + WO - 1) / WO) * ((p.out[1] + WO - 1) / WO);
    int nthreads = onednn_threads(threads);
    if (mode == 1 && !wino_shape_wins(p.C, p.M, tiles, nthreads)) return EMBER_E_UNSUPPORTED;
    int act;
    float aa, ab;
    if (nn_fused_act(c, &act, &aa, &ab) != EMBER_OK) {
        ember_error_clear();
        return EMBER_E_UNSUPPORTED;
    }
    if (act != K_ACT_NONE && act != K_ACT_RELU && act != K_ACT_CLIP && act != K_ACT_LEAKYRELU)
        return EMBER_E_UNSUPPORTED;

    wino_conv *s = calloc(1, sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    s->N = p.N, s->C = p.C, s->M = p.M, s->H = p.in[0], s->W = p.in[1], s->OH = p.out[0], s->OW = p.out[1];
    s->pt = p.w.pb[0], s->pl = p.w.pb[1];
    s->th = (s->OH + WO - 1) / WO, s->tw = (s->OW + WO - 1) / WO, s->tiles = tiles;
    s->sum = sum, s->act = act, s->act_a = aa, s->act_b = ab;
    const ember_attr *cba = ember_node_attr(c->node, "ember_channel_blocks");
    s->blocks_wanted = cba && cba->type == EMBER_ATTR_INT && cba->i == 1;
    io_set(&s->src, L_PLAIN, s->C, s->H, s->W);
    io_set(&s->dst, L_PLAIN, s->M, s->OH, s->OW);
    io_set(&s->res, L_PLAIN, s->M, s->OH, s->OW);
    s->u = aligned_alloc(64, (size_t)WX * s->C * s->M * sizeof(float));
    s->bias = calloc((size_t)s->M, sizeof(float));
    if (!s->u || !s->bias) {
        wino_release(s);
        return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for Winograd weights");
    }
    const float *wd = w->data;
    for (int64_t m = 0; m < s->M; m++)
        for (int64_t ci = 0; ci < s->C; ci++) {
            double u[WX];
            filter_transform(wd + (m * s->C + ci) * 9, u);
            for (int xi = 0; xi < WX; xi++) s->u[((size_t)xi * s->C + ci) * s->M + m] = (float)u[xi];
        }
    if (b && b->data) memcpy(s->bias, b->data, (size_t)s->M * sizeof(float));
    else if (b) s->bias_input = 1;
    s->threads = nthreads;
    s->max_shares = s->threads < s->tiles ? s->threads : (int)s->tiles;
    s->share_floats = (size_t)WX * TMAX * (s->C + s->M);
    c->scratch_bytes = (size_t)s->max_shares * s->share_floats * sizeof(float);
    *state = s;
    return EMBER_OK;
#endif
}

static ember_status wino_run(ember_op_ctx *c, void *state)
{
    const wino_conv *s = state;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    if ((const void *)x == (void *)y) /* never planned so (no inplace_input for input 0) */
        return ember_op_fail(c, EMBER_E_INTERNAL, "Winograd conv: input and output share memory");
    wino_job j = {.s = s, .x = x, .y = y, .scratch = c->scratch,
                  .bias = s->bias_input ? c->in[2]->data : s->bias, .res = s->sum ? c->in[3]->data : NULL};
    double macs = (double)s->tiles * WX * (double)s->C * (double)s->M;
    int want = macs / SHARE_MACS < s->threads ? (int)(macs / SHARE_MACS) : s->threads;
    if (want > s->tiles / MIN_SHARE_TILES) want = (int)(s->tiles / MIN_SHARE_TILES);
    if (want > ember_threadpool_size(c->pool)) want = ember_threadpool_size(c->pool);
    if (want < 1) want = 1;
    j.shares = want;
    /* blocks of TMAX tiles (a multiple of every register tile's rows), the last one shorter */
    int64_t per = (s->tiles + want - 1) / want;
    j.T = (int)(per < TMAX ? per : TMAX);
    ember_threadpool_run(c->pool, wino_share, &j, want); /* the run's threads (exec.c's runner) */
    return EMBER_OK;
}

/* Layout chaining (ops/host.h): each of src, residual and dst in NHWC or nChw16c as well
 * as NCHW. dst follows src's layout (the neighbours' choice), or the residual's; nChw16c
 * where the program marked the node for a channel-blocked region; NHWC otherwise. */
static int wino_out_layout(void *state, int out_idx)
{
    const wino_conv *s = state;
    if (out_idx != 0 || s->dst.layout != L_PLAIN) return 0; /* set already: nothing left to drop (as onednn_conv) */
    if (s->blocks_wanted) return dnnl_nChw16c;
    if (s->src.layout != L_PLAIN) return layout_code(s->src.layout);
    if (s->res.layout != L_PLAIN) return layout_code(s->res.layout);
    return dnnl_nhwc;
}

static int wino_accepts_layout(void *state, int in_idx, int layout)
{
    const wino_conv *s = state;
    return (in_idx == 0 || (in_idx == 3 && s->sum)) && layout_of(layout) > 0;
}

static ember_status wino_set_layout(void *state, int is_output, int idx, int layout, size_t *scratch_bytes)
{
    wino_conv *s = state;
    (void)scratch_bytes;
    int l = layout_of(layout);
    if (l <= 0 || (is_output ? idx != 0 : !wino_accepts_layout(s, idx, layout)))
        return ember_error(EMBER_E_INTERNAL, "Winograd conv: layout %d was not offered", layout);
    if (is_output) io_set(&s->dst, l, s->M, s->OH, s->OW);
    else if (idx == 0) io_set(&s->src, l, s->C, s->H, s->W);
    else io_set(&s->res, l, s->M, s->OH, s->OW);
    return EMBER_OK;
}

/* Each residual element is read just before the same element of dst is written, by the
 * same thread: dst may be the residual's memory when both have the same layout. */
static int wino_inplace_input(void *state, int in_idx)
{
    const wino_conv *s = state;
    return in_idx == 3 && s->sum && s->res.layout == s->dst.layout;
}

static int wino_drops_input(void *state, int in_idx)
{
    const wino_conv *s = state;
    return in_idx == 1 || (in_idx == 2 && !s->bias_input);
}

const ember_host_kernel ember_host_winograd_conv = {
    .name = "winograd_conv",
    .op = EMBER_OP_CONV,
    .prepare = wino_prepare,
    .run = wino_run,
    .release = wino_release,
    .out_layout = wino_out_layout,
    .accepts_layout = wino_accepts_layout,
    .set_layout = wino_set_layout,
    .drops_input = wino_drops_input,
    .inplace_input = wino_inplace_input,
};
