/* OpenBLAS fast paths for LSTM, GRU and RNN (float32). The reference driver (ops/nn_rnn.c)
 * transposes W and R on every run and does each step's H_{t-1} R^T with the portable
 * k_sgemm, which for batch 1 is a slow GEMV. Here the weights are packed once at prepare
 * and each run does:
 *   - the input projection of every time step and both directions in one cblas_sgemm:
 *     X [S*B, I] x W^T [I, dirs*G*H], onto rows that start as the biases (Wb + Rb; for
 *     GRU's h gate Wb only, Rb_h goes inside the reset product as in the spec);
 *   - per step and direction one GEMV over R^T packed at prepare (batch 1) or one
 *     cblas_sgemm of H_{t-1} x R^T
 *     accumulated onto that step's slice of the projection (GRU: into a separate buffer
 *     for the h gate, which the reset gate multiplies);
 *   - the gate nonlinearities in one vectorized loop (rnn_gates.h's sigmoid and tanh,
 *     within a few ulp of the reference's libm forms).
 *
 * Declined (the reference kernel runs): anything but float32; W or R not constant;
 * activations other than the defaults (RNN: Tanh or Relu); clip; input_forget; peepholes
 * that are not constant zeros; sequence_lens that is not constant or not all equal to the
 * sequence length; ops under OPENBLAS_MIN_MACS multiply-adds in all. layout = 1 only moves
 * rows (batch-major X and Y), handled by strides.
 *
 * OpenBLAS runs on one thread, as in openblas_gemm.c (its own pool would compete with
 * oneDNN's and the run's); every product of lstm_kws is under 1M multiply-adds. */
#include <cblas.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../host.h"
#include "../nn_common.h"
#include "gemm_panels.h"
#include "lstm_fused.h"
#include "rnn_gates.h"

/* Multiply-adds per op below which the reference kernel is as fast or faster. */
#define OPENBLAS_MIN_MACS 512.0

enum { K_RNN, K_GRU, K_LSTM };
enum { A_TANH, A_RELU }; /* RNN's activation per direction */

typedef struct blas_rnn {
    int kind, G, dirs, reverse, layout, lbr;
    int64_t S, B, In, H;
    int act[2];             /* RNN only */
    float *wt;   /* [I, dirs*G*H]: W transposed, directions side by side */
    float *wp;   /* or W^T in gemm_panels.h's panels (AVX-512 hosts): the projection there */
    float *r;    /* [dirs, G*H, H]: R as given */
    float *rt;   /* batch 1: R^T in panels for the per-step GEMV, see pack_panels */
    float *rf;   /* batch-1 LSTM, H a multiple of 16: R^T in fused-gate panels (lstm_fused.h) */
    float *bias; /* [dirs*G*H]: Wb + Rb (GRU h gate: Wb), zeros without B */
    float *rbh;  /* GRU: [dirs, H] Rb of the h gate */
} blas_rnn;

/* Columns per panel of gemm_panels.h's packing (the input projection's W^T). */
#define PROJ_PW 64
/* Columns per R^T panel (batch-1 GEMV): four AVX-512 registers of sums. */
#define RNN_PW 64
#define RNN_PANELS(n) (((n) + RNN_PW - 1) / RNN_PW)

static void single_thread(void)
{
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

static void rnn_free(void *p)
{
    blas_rnn *s = p;
    if (!s) return;
    free(s->wt);
    free(s->wp);
    free(s->r);
    free(s->rt);
    free(s->rf);
    free(s->bias);
    free(s->rbh);
    free(s);
}

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
    return *a == *b;
}

/* The activations attribute, if any, must name the defaults (RNN: Tanh or Relu per
 * direction). Returns false to decline. */
static bool default_acts(const ember_op_ctx *c, blas_rnn *s)
{
    const ember_attr *names = ember_node_attr(c->node, "activations");
    s->act[0] = s->act[1] = A_TANH;
    if (!names) return true;
    int per = s->kind == K_RNN ? 1 : s->kind == K_GRU ? 2 : 3;
    if (names->n <= 0 || !names->strings) return false;
    if (names->n != per * s->dirs && !(names->n == per && s->dirs == 2)) return false;
    static const char *const dflt[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    for (int k = 0; k < per * s->dirs; k++) {
        const char *n = names->strings[k % names->n];
        if (!n) return false;
        if (s->kind == K_RNN) {
            if (ieq(n, "Tanh")) s->act[k] = A_TANH;
            else if (ieq(n, "Relu")) s->act[k] = A_RELU;
            else return false;
        } else if (!ieq(n, dflt[s->kind][k % per])) {
            return false;
        }
    }
    return true;
}

static bool is_f32(const ember_op_tensor *t) { return !t || t->dtype == EMBER_DT_FLOAT; }

static bool all_zero(const float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (p[i] != 0.0f) return false;
    return true;
}

static ember_status rnn_prepare(ember_op_ctx *c, int threads, void **state, int kind)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *w = ember_op_in(c, 1), *r = ember_op_in(c, 2);
    const ember_op_tensor *bt = ember_op_in(c, 3), *slt = ember_op_in(c, 4), *h0 = ember_op_in(c, 5);
    const ember_op_tensor *c0 = kind == K_LSTM ? ember_op_in(c, 6) : NULL;
    const ember_op_tensor *pt = kind == K_LSTM ? ember_op_in(c, 7) : NULL;
    if (!x || !w || !r || !w->data || !r->data) return EMBER_E_UNSUPPORTED;
    if (!is_f32(x) || !is_f32(w) || !is_f32(r) || !is_f32(bt) || !is_f32(h0) || !is_f32(c0) || !is_f32(pt))
        return EMBER_E_UNSUPPORTED;
    for (int o = 0; o < c->n_out; o++)
        if (c->out[o] && c->out[o]->dtype != EMBER_DT_FLOAT) return EMBER_E_UNSUPPORTED;
    if (x->rank != 3 || w->rank != 3 || r->rank != 3) return EMBER_E_UNSUPPORTED;
    if (ember_node_attr(c->node, "clip")) return EMBER_E_UNSUPPORTED;
    if (kind == K_LSTM && ember_attr_int(c->node, "input_forget", 0) != 0) return EMBER_E_UNSUPPORTED;
    blas_rnn tmp = {.kind = kind, .G = kind == K_RNN ? 1 : kind == K_GRU ? 3 : 4};
    const char *dir = ember_attr_string(c->node, "direction", "forward");
    if (strcmp(dir, "bidirectional") == 0) tmp.dirs = 2;
    else if (strcmp(dir, "forward") == 0 || strcmp(dir, "reverse") == 0) tmp.dirs = 1;
    else return EMBER_E_UNSUPPORTED;
    tmp.reverse = strcmp(dir, "reverse") == 0;
    tmp.layout = c->opset >= 14 ? (int)ember_attr_int(c->node, "layout", 0) : 0;
    if (tmp.layout != 0 && tmp.layout != 1) return EMBER_E_UNSUPPORTED;
    tmp.lbr = kind == K_GRU && ember_attr_int(c->node, "linear_before_reset", 0) != 0;
    if (!default_acts(c, &tmp)) return EMBER_E_UNSUPPORTED;
    tmp.S = x->dims[tmp.layout ? 1 : 0];
    tmp.B = x->dims[tmp.layout ? 0 : 1];
    tmp.In = x->dims[2];
    tmp.H = r->dims[2];
    int64_t S = tmp.S, B = tmp.B, In = tmp.In, H = tmp.H, D = tmp.dirs, GH = tmp.G * H;
    if (S <= 0 || B <= 0 || In <= 0 || H <= 0) return EMBER_E_UNSUPPORTED;
    /* Shapes as the reference checked them (infer ran first), restated defensively. */
    if (w->dims[0] != D || w->dims[1] != GH || w->dims[2] != In || r->dims[0] != D || r->dims[1] != GH)
        return EMBER_E_UNSUPPORTED;
    if (bt && (bt->rank != 2 || bt->dims[0] != D || bt->dims[1] != 2 * GH)) return EMBER_E_UNSUPPORTED;
    int64_t hd[3] = {D, B, H};
    if (tmp.layout) hd[0] = B, hd[1] = D;
    const ember_op_tensor *hc[2] = {h0, c0};
    for (int k = 0; k < 2; k++)
        if (hc[k] && (hc[k]->rank != 3 || hc[k]->dims[0] != hd[0] || hc[k]->dims[1] != hd[1] || hc[k]->dims[2] != H))
            return EMBER_E_UNSUPPORTED;
    /* Peepholes: only constant zeros (same as none). */
    if (pt && (!pt->data || pt->rank != 2 || pt->dims[0] != D || pt->dims[1] != 3 * H ||
               !all_zero(pt->data, D * 3 * H)))
        return EMBER_E_UNSUPPORTED;
    /* sequence_lens: only constant and all equal to S (same as none). */
    if (slt) {
        if (!slt->data || slt->dtype != EMBER_DT_INT32 || slt->rank != 1 || slt->dims[0] != B)
            return EMBER_E_UNSUPPORTED;
        const int32_t *lens = slt->data;
        for (int64_t b = 0; b < B; b++)
            if (lens[b] != S) return EMBER_E_UNSUPPORTED;
    }
    /* A bias that is not constant would need combining per run: rare, declined. */
    if (bt && !bt->data) return EMBER_E_UNSUPPORTED;
    /* cblas takes int sizes. */
    int64_t rows = S * B;
    if (rows > INT_MAX || D * GH > INT_MAX || In > INT_MAX || H > INT_MAX || rows * D * GH > INT_MAX / 2)
        return EMBER_E_UNSUPPORTED;
    double proj = (double)rows * (double)(D * GH) * (double)In;
    double step = (double)B * (double)GH * (double)H; /* per step and direction */
    if (proj + step * (double)S * (double)D < OPENBLAS_MIN_MACS) return EMBER_E_UNSUPPORTED;

    blas_rnn *s = calloc(1, sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    *s = tmp;
    (void)threads;
    s->wt = malloc(sizeof(float) * (size_t)(In * D * GH));
    s->r = malloc(sizeof(float) * (size_t)(D * GH * H));
    size_t rt_bytes = sizeof(float) * (size_t)(D * RNN_PANELS(GH) * RNN_PW * H);
    size_t rf_bytes = sizeof(float) * ember_lstm_fused_floats(D, H);
    int fused = kind == K_LSTM && B == 1 && H % EMBER_LSTM_UNITS == 0;
    s->rt = B == 1 && !fused ? aligned_alloc(64, (rt_bytes + 63) & ~(size_t)63) : NULL;
    s->rf = fused ? aligned_alloc(64, (rf_bytes + 63) & ~(size_t)63) : NULL;
    s->bias = calloc(ember_panels_size(1, D * GH), sizeof(float)); /* padded for the panels */
    s->rbh = kind == K_GRU ? calloc((size_t)(D * H), sizeof(float)) : NULL;
    if (!s->wt || !s->r || !s->bias || (kind == K_GRU && !s->rbh) || (B == 1 && !s->rt && !s->rf)) {
        rnn_free(s);
        return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    }
    const float *wd = w->data;
    for (int64_t d = 0; d < D; d++)
        for (int64_t j = 0; j < GH; j++)
            for (int64_t i = 0; i < In; i++) s->wt[i * D * GH + d * GH + j] = wd[(d * GH + j) * In + i];
    memcpy(s->r, r->data, sizeof(float) * (size_t)(D * GH * H));
    if (s->rf) ember_lstm_fused_pack(s->r, D, H, s->rf);
    if (ember_panels_available() && In <= 1024 && (s->wp = aligned_alloc(64, ember_panels_size(In, D * GH) * sizeof(float))))
        ember_panels_pack(s->wt, D * GH, 0, In, D * GH, 1.0f, s->wp);
    if (s->rt) {
        /* Panel p of direction d: columns [p * RNN_PW, +RNN_PW) of R^T, H rows of RNN_PW
         * contiguous floats (zeros past G*H). */
        memset(s->rt, 0, rt_bytes);
        for (int64_t d = 0; d < D; d++)
            for (int64_t j = 0; j < GH; j++)
                for (int64_t k = 0; k < H; k++)
                    s->rt[((d * RNN_PANELS(GH) + j / RNN_PW) * H + k) * RNN_PW + j % RNN_PW] =
                        s->r[(d * GH + j) * H + k];
    }
    if (bt) {
        const float *bd = bt->data;
        for (int64_t d = 0; d < D; d++) {
            const float *wb = bd + d * 2 * GH, *rb = wb + GH;
            for (int64_t j = 0; j < GH; j++)
                s->bias[d * GH + j] = wb[j] + (kind == K_GRU && j >= 2 * H ? 0.0f : rb[j]);
            if (kind == K_GRU)
                for (int64_t j = 0; j < H; j++) s->rbh[d * H + j] = rb[2 * H + j];
        }
    }
    /* scratch: the projection [S*B, D*GH], h and c [B, H], GRU's h-gate products [B, GH]
     * and reset rows [B, H]; LSTM: a second h [B, H] (lstm_team). */
    int64_t floats = rows * D * GH + 2 * B * H + (kind == K_GRU ? B * GH + B * H : B * H);
    c->scratch_bytes = sizeof(float) * (size_t)floats;
    *state = s;
    return EMBER_OK;
}

/* Gate nonlinearities from rnn_gates.h (the fused LSTM step's, lstm_fused.c, in plain
 * C): branch-free, so each gate loop below is one vectorized pass (glibc's expf/tanhf
 * calls were most of lstm_kws's time); within 2e-7 relative of double-precision libm. */
static inline float sigm(float x) { return rnn_sigmoid(x); }
static inline float tanh_e(float x) { return rnn_tanh(x); }

/* The per-step loops are small (lstm_kws: a 256 x 64 GEMV and 64 gate columns per
 * step), so they get one copy per vector width where the compiler can make them (the
 * best is picked when the library loads); elsewhere the plain build. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(EMBER_NO_CLONES)
#define RNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RNN_CLONES
#endif

/* out[n - n0] = beta * out[n - n0] + sum_k h[k] R^T[k][n] for n in [n0, n0 + N), R^T in
 * panels (pack_panels in rnn_prepare): a whole panel keeps its RNN_PW sums in registers
 * across all k while reading the panel once, front to back (lstm_kws: R^T is 256 KB, so
 * a step is bound by streaming it from L2; rows of an unpacked R^T scaled and added took
 * 3.2 us a step, panels 1.7). Partial panels (GRU's gate blocks when H is not a multiple
 * of RNN_PW) take the plain loop. */
RNN_CLONES static void gemv_panels(int64_t n0, int64_t N, int64_t H, const float *restrict rp,
                                   const float *restrict h, float beta, float *restrict out)
{
    for (int64_t p = n0 / RNN_PW; p * RNN_PW < n0 + N; p++) {
        const float *restrict b = rp + p * H * RNN_PW;
        int64_t c0 = p * RNN_PW, i0 = c0 < n0 ? n0 - c0 : 0, i1 = c0 + RNN_PW > n0 + N ? n0 + N - c0 : RNN_PW;
        float *restrict o = out + c0 - n0;
        if (i0 == 0 && i1 == RNN_PW) {
            float acc[RNN_PW];
            for (int i = 0; i < RNN_PW; i++) acc[i] = beta == 0.0f ? 0.0f : o[i];
            for (int64_t k = 0; k < H; k++) {
                float hk = h[k];
                for (int i = 0; i < RNN_PW; i++) acc[i] += hk * b[k * RNN_PW + i];
            }
            for (int i = 0; i < RNN_PW; i++) o[i] = acc[i];
            continue;
        }
        for (int64_t i = i0; i < i1; i++) o[i] = beta == 0.0f ? 0.0f : o[i];
        for (int64_t k = 0; k < H; k++)
            for (int64_t i = i0; i < i1; i++) o[i] += h[k] * b[k * RNN_PW + i];
    }
}

/* Direction d's rows [n0, n0 + N) of R: out[B, N] (row stride ldo) = beta * out + h[B, H] R_rows^T. */
static void rec_product(const blas_rnn *s, int64_t d, int64_t n0, int64_t N, const float *h, float beta,
                        float *out, int64_t ldo)
{
    int64_t H = s->H, GH = s->G * H;
    if (s->B == 1) {
        gemv_panels(n0, N, H, s->rt + d * RNN_PANELS(GH) * RNN_PW * H, h, beta, out);
        return;
    }
    const float *R = s->r + d * GH * H + n0 * H;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->B, (int)N, (int)H, 1.0f, h, (int)H, R, (int)H,
                beta, out, (int)ldo);
}

/* One LSTM step's gates for one batch row, units [j0, j1): g = [i, o, f, c] pre-activations. */
RNN_CLONES static void lstm_gates(int64_t H, int64_t j0, int64_t j1, const float *restrict g, float *restrict h,
                                  float *restrict cc)
{
    const float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
    for (int64_t j = j0; j < j1; j++) h[j] = rnn_lstm_cell(gi[j], go[j], gf[j], gc[j], &cc[j]);
}

/* Batch-1 LSTM over two or more threads. A step's R^T is read from L2 (lstm_kws: 256 KB,
 * ~2 us a step on one core); split by hidden units, each thread reads only its rows, from
 * its own core's L2, and computes its units' gates. A job is (step t, unit block jb),
 * numbered t * nb + jb and claimed in that order from one counter; a job of step t
 * starts once every job of step t - 1 is done (h_{t-1} complete), so whoever claims
 * takes the next job and nothing waits for a share that has not started: a worker that
 * never wakes leaves the caller all the jobs. h is double-buffered (step t reads
 * hb[t % 2] whole and writes its units of hb[(t + 1) % 2]); c is per unit. */
typedef struct lstm_team {
    const blas_rnn *s;
    int64_t d, nb, jobs, ldg;
    int reverse;
    float *xw, *hb[2], *cs, *y;
    _Atomic int64_t next, done;
} lstm_team;

static void lstm_team_share(void *ctx, int ith, int nth)
{
    lstm_team *tm = ctx;
    const blas_rnn *s = tm->s;
    int64_t H = s->H, GH = 4 * H, S = s->S, D = s->dirs, blk = H / tm->nb;
    (void)ith, (void)nth;
    for (;;) {
        int64_t k = atomic_fetch_add_explicit(&tm->next, 1, memory_order_relaxed);
        if (k >= tm->jobs) break;
        int64_t st = k / tm->nb, j0 = (k % tm->nb) * blk, j1 = j0 + blk;
        while (atomic_load_explicit(&tm->done, memory_order_acquire) < st * tm->nb) ember_cpu_relax();
        int64_t t = tm->reverse ? S - 1 - st : st;
        float *g0 = tm->xw + t * tm->ldg + tm->d * GH; /* batch 1: row t in either layout */
        const float *hp = tm->hb[st % 2];
        float *hn = tm->hb[(st + 1) % 2];
        ember_lstm_fused_step(s->rf + tm->d * ember_lstm_fused_floats(1, H), H, j0, j1, g0, hp, hn, tm->cs, st);
        if (tm->y) memcpy(tm->y + (t * D + tm->d) * H + j0, hn + j0, sizeof(float) * (size_t)(j1 - j0));
        atomic_fetch_add_explicit(&tm->done, 1, memory_order_release);
    }
}

/* Unit blocks for the team: whole fused panels (lstm_fused.h), at least two; 0 = no team.
 * EMBER_RNN_TEAM=0 turns it off, for measurements. */
static int64_t lstm_team_blocks(const blas_rnn *s, const ember_op_ctx *c)
{
    const char *env = getenv("EMBER_RNN_TEAM");
    if (env && strcmp(env, "0") == 0) return 0;
    int threads = ember_threadpool_size(c->pool);
    if (!s->rf || threads < 2) return 0;
    int64_t panels = s->H / EMBER_LSTM_UNITS, nb = panels < threads ? panels : threads;
    while (panels % nb) nb--; /* whole panels per block */
    return nb >= 2 ? nb : 0;
}

static ember_status rnn_run(ember_op_ctx *c, void *state)
{
    const blas_rnn *s = state;
    const ember_op_tensor *x = c->in[0], *h0t = ember_op_in(c, 5);
    const ember_op_tensor *c0t = s->kind == K_LSTM ? ember_op_in(c, 6) : NULL;
    int64_t S = s->S, B = s->B, In = s->In, H = s->H, D = s->dirs, GH = s->G * H, DGH = D * GH;
    if (x->dims[s->layout ? 1 : 0] != S || x->dims[s->layout ? 0 : 1] != B || x->dims[2] != In)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "X's shape changed since the program was built");
    float *xw = c->scratch, *hs = xw + S * B * DGH, *cs = hs + B * H, *hr = cs + B * H, *rh = hr + B * GH;
    float *y = c->n_out > 0 && c->out[0] ? c->out[0]->data : NULL;
    float *yh = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    float *yc = s->kind == K_LSTM && c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL;

    /* The team's jobs wait for each other: have the workers up while the projection runs. */
    if (lstm_team_blocks(s, c)) ember_threadpool_wake(c->pool);
    /* Input projection, all steps and directions: rows (t, b) for layout 0, (b, t) for 1,
     * which is X's own row order either way. */
    if (s->wp) {
        /* The bias loaded into the register tiles; 49 x 40 x 512 (lstm_kws): ~17 -> ~11
         * us. One panel of W^T (gemm_panels.h: 64 columns, In rows) at a time over all
         * rows, so it stays in L1 across the row tiles rather than streaming from L2 for
         * each: 13.4 -> 12.7 us (the same product alone, best of 3000, on a later day). */
        for (int64_t n0 = 0; n0 < DGH; n0 += PROJ_PW)
            ember_panels_gemm(x->data, In, s->wp + n0 * In, s->bias + n0, xw + n0, DGH, S * B,
                              DGH - n0 < PROJ_PW ? DGH - n0 : PROJ_PW, In);
    } else {
        for (int64_t row = 0; row < S * B; row++) memcpy(xw + row * DGH, s->bias, sizeof(float) * (size_t)DGH);
        single_thread();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(S * B), (int)DGH, (int)In, 1.0f, x->data,
                    (int)In, s->wt, (int)DGH, 1.0f, xw, (int)DGH);
    }

    /* Step t's slice of direction d: row b at g0 + b * ldg. */
    int64_t ldg = s->layout ? S * DGH : DGH;
    for (int64_t d = 0; d < D; d++) {
        int reverse = d == 1 || s->reverse;
        for (int64_t b = 0; b < B; b++) {
            int64_t o = s->layout ? (b * D + d) * H : (d * B + b) * H;
            if (h0t) memcpy(hs + b * H, (const float *)h0t->data + o, sizeof(float) * (size_t)H);
            else memset(hs + b * H, 0, sizeof(float) * (size_t)H);
            if (c0t) memcpy(cs + b * H, (const float *)c0t->data + o, sizeof(float) * (size_t)H);
            else memset(cs + b * H, 0, sizeof(float) * (size_t)H);
        }
        int64_t nb = lstm_team_blocks(s, c);
        if (nb) {
            lstm_team tm = {.s = s, .d = d, .nb = nb, .jobs = S * nb, .ldg = DGH, .reverse = reverse, .xw = xw,
                            .hb = {hs, hr}, .cs = cs, .y = y};
            atomic_init(&tm.next, 0);
            atomic_init(&tm.done, 0);
            ember_threadpool_run(c->pool, lstm_team_share, &tm, (int)nb);
            if (S % 2) memcpy(hs, hr, sizeof(float) * (size_t)H);
        }
        for (int64_t st = 0; st < S && !nb; st++) {
            int64_t t = reverse ? S - 1 - st : st;
            float *g0 = xw + (s->layout ? t : t * B) * DGH + d * GH;
            if (s->rf) { /* h double-buffered: the step reads all of h_{t-1} while writing h_t */
                ember_lstm_fused_step(s->rf + d * ember_lstm_fused_floats(1, H), H, 0, H, g0, hs, hr, cs, st);
                memcpy(hs, hr, sizeof(float) * (size_t)H);
            } else if (s->kind == K_LSTM) {
                rec_product(s, d, 0, GH, hs, 1.0f, g0, ldg);
                for (int64_t b = 0; b < B; b++) lstm_gates(H, 0, H, g0 + b * ldg, hs + b * H, cs + b * H);
            } else if (s->kind == K_RNN) {
                rec_product(s, d, 0, H, hs, 1.0f, g0, ldg);
                for (int64_t b = 0; b < B; b++) {
                    const float *g = g0 + b * ldg;
                    float *h = hs + b * H;
                    if (s->act[d] == A_RELU)
                        for (int64_t j = 0; j < H; j++) h[j] = g[j] > 0.0f ? g[j] : 0.0f;
                    else
                        for (int64_t j = 0; j < H; j++) h[j] = tanh_e(g[j]);
                }
            } else {
                const float *rbh = s->rbh + d * H;
                if (s->lbr) {
                    /* hr = h R^T for all three gates; r multiplies (h R_h^T + Rb_h). */
                    rec_product(s, d, 0, GH, hs, 0.0f, hr, GH);
                    for (int64_t b = 0; b < B; b++) {
                        const float *g = g0 + b * ldg, *q = hr + b * GH;
                        float *h = hs + b * H;
                        for (int64_t j = 0; j < H; j++) {
                            float z = sigm(g[j] + q[j]), r = sigm(g[H + j] + q[H + j]);
                            float hh = tanh_e(g[2 * H + j] + r * (q[2 * H + j] + rbh[j]));
                            h[j] = (1.0f - z) * hh + z * h[j];
                        }
                    }
                } else {
                    /* z, r onto the slice; then (r . h) R_h^T + Rb_h. */
                    rec_product(s, d, 0, 2 * H, hs, 1.0f, g0, ldg);
                    for (int64_t b = 0; b < B; b++) {
                        float *g = g0 + b * ldg;
                        const float *h = hs + b * H;
                        for (int64_t j = 0; j < 2 * H; j++) g[j] = sigm(g[j]);
                        for (int64_t j = 0; j < H; j++) rh[b * H + j] = g[H + j] * h[j];
                    }
                    rec_product(s, d, 2 * H, H, rh, 0.0f, hr, H);
                    for (int64_t b = 0; b < B; b++) {
                        const float *g = g0 + b * ldg, *q = hr + b * H;
                        float *h = hs + b * H;
                        for (int64_t j = 0; j < H; j++) {
                            float hh = tanh_e(g[2 * H + j] + (q[j] + rbh[j]));
                            h[j] = (1.0f - g[j]) * hh + g[j] * h[j];
                        }
                    }
                }
            }
            if (y) {
                if (s->layout)
                    for (int64_t b = 0; b < B; b++)
                        memcpy(y + ((b * S + t) * D + d) * H, hs + b * H, sizeof(float) * (size_t)H);
                else
                    memcpy(y + (t * D + d) * B * H, hs, sizeof(float) * (size_t)(B * H));
            }
        }
        for (int64_t b = 0; b < B; b++) {
            int64_t o = s->layout ? (b * D + d) * H : (d * B + b) * H;
            if (yh) memcpy(yh + o, hs + b * H, sizeof(float) * (size_t)H);
            if (yc) memcpy(yc + o, cs + b * H, sizeof(float) * (size_t)H);
        }
    }
    return EMBER_OK;
}

static ember_status lstm_prepare(ember_op_ctx *c, int threads, void **state)
{
    return rnn_prepare(c, threads, state, K_LSTM);
}
static ember_status gru_prepare(ember_op_ctx *c, int threads, void **state)
{
    return rnn_prepare(c, threads, state, K_GRU);
}
static ember_status plain_prepare(ember_op_ctx *c, int threads, void **state)
{
    return rnn_prepare(c, threads, state, K_RNN);
}

const ember_host_kernel ember_host_openblas_lstm = {
    .name = "openblas_lstm",
    .op = EMBER_OP_LSTM,
    .prepare = lstm_prepare,
    .run = rnn_run,
    .release = rnn_free,
};

const ember_host_kernel ember_host_openblas_gru = {
    .name = "openblas_gru",
    .op = EMBER_OP_GRU,
    .prepare = gru_prepare,
    .run = rnn_run,
    .release = rnn_free,
};

const ember_host_kernel ember_host_openblas_rnn = {
    .name = "openblas_rnn",
    .op = EMBER_OP_RNN,
    .prepare = plain_prepare,
    .run = rnn_run,
    .release = rnn_free,
};
