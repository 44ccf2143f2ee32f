/* OpenBLAS fast paths for Gemm and MatMul (float32): cblas_sgemm with Gemm's bias C
 * (broadcast per the Gemm spec) and the activation the fusion pass attached. MatMul runs
 * one call over the folded batch when B has no batch dims, else one call per (possibly
 * broadcast) batch element.
 *
 * Measured on the 2-core x86-64 development machine (OpenBLAS 0.3.21, pthreads) against
 * the reference blocked k_sgemm (one thread): OpenBLAS is faster from a few hundred
 * multiply-adds up — 5-9x on bert_tiny_like's [64,128]x[128,128] / [64,64]x[64,64] /
 * [64,128]x[128,512], 7-9x on ad_autoencoder's [1,640]x[640,128]^T style GEMVs, 20x on
 * transposed-B products — and loses only on tiny products (1x4x4: 0.08 vs 0.02 us,
 * 1x16x16: 0.14 vs 0.12 us), where the call overhead dominates. So:
 *   - products under OPENBLAS_MIN_MACS multiply-adds per call stay on the reference kernel;
 *   - OpenBLAS itself always runs on one thread: its pthreads pool (busy-waiting for up
 *     to 2^28 cycles after each call by default) would otherwise compete with oneDNN's
 *     OpenMP team and the run's own pool. Products big enough to share are split instead
 *     between the run's pool threads (engine/threadpool.h), each calling single-threaded
 *     sgemm on a block of output columns (or rows, or batch elements): one share per
 *     OPENBLAS_SHARE_MACS multiply-adds, at most one per thread. The run's pool hands
 *     work over in about a microsecond where OpenBLAS's own threads took tens (two
 *     OpenBLAS threads lost to one below 2.1M MACs).
 * Each output element is one sgemm dot product over all of K whatever the split, so
 * results do not depend on the thread count beyond the kernel's own blocking. */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>

#include "../host.h"
#include "../kernels/activation.h"
#include "../kernels/fast_math.h"
#include "../nn_common.h"
#include "gemm_act.h"

/* Multiply-adds per sgemm call below which the reference kernel is as fast or faster. */
#define OPENBLAS_MIN_MACS 512.0
/* Multiply-adds per share when a product is split between the run's threads. */
#define OPENBLAS_SHARE_MACS 262144

typedef struct blas_gemm {
    int act;
    float act_a, act_b;
} blas_gemm;

static bool fits_int(int64_t x) { return x >= 0 && x <= INT_MAX; }

/* Common checks; *st gets a new state. EMBER_E_UNSUPPORTED declines. */
static ember_status take(ember_op_ctx *c, int64_t M, int64_t N, int64_t K, void **st)
{
    if (!fits_int(M) || !fits_int(N) || !fits_int(K) || !fits_int(M * N)) return EMBER_E_UNSUPPORTED;
    double macs = (double)M * (double)N * (double)K;
    if (macs < OPENBLAS_MIN_MACS) return EMBER_E_UNSUPPORTED;
    blas_gemm *s = calloc(1, sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    ember_status r = nn_fused_act(c, &s->act, &s->act_a, &s->act_b);
    if (r != EMBER_OK) {
        free(s);
        return r;
    }
    *st = s;
    return EMBER_OK;
}

static bool all_f32(const ember_op_ctx *c, int n)
{
    for (int i = 0; i < n && i < c->n_in; i++)
        if (c->in[i] && c->in[i]->dtype != EMBER_DT_FLOAT) return false;
    return c->out[0] && c->out[0]->dtype == EMBER_DT_FLOAT;
}

/* ---- Gemm ---- */

static ember_status gemm_prepare(ember_op_ctx *c, int threads, void **state)
{
    const ember_op_tensor *a = ember_op_in(c, 0), *b = ember_op_in(c, 1);
    if (!a || !b || !all_f32(c, 3) || a->rank != 2 || b->rank != 2 || c->out[0]->rank != 2)
        return EMBER_E_UNSUPPORTED;
    int ta = ember_attr_int(c->node, "transA", 0) != 0;
    (void)threads;
    return take(c, c->out[0]->dims[0], c->out[0]->dims[1], a->dims[ta ? 0 : 1], state);
}

/* One product split between threads: share ith of nth takes a range of batch elements,
 * of output columns (multiples of 16, sgemm's panel width) or of output rows. */
typedef struct mm_job {
    const blas_gemm *s;
    int ta, tb;
    int64_t M, N, K, batch, lda, ldb;
    float alpha;
    const float *a, *b;
    float *y;
    const nn_mm *mm;               /* MatMul: batch offsets; NULL for Gemm */
    const ember_op_tensor *bias;   /* Gemm's C, or NULL */
    float beta;
} mm_job;

/* Y[rows, cols] starts as beta * C broadcast to [M, N] (scalar, [N], [1, N], [M, 1], [M, N]). */
static void fill_bias(const mm_job *j, int64_t r0, int64_t r1, int64_t c0, int64_t c1)
{
    const ember_op_tensor *cc = j->bias;
    const float *cd = cc->data;
    int64_t cm = cc->rank == 2 ? cc->dims[0] : 1, cn = cc->rank >= 1 ? cc->dims[cc->rank - 1] : 1;
    for (int64_t i = r0; i < r1; i++) {
        const float *row = cd + (cm == 1 ? 0 : i) * cn;
        float *yr = j->y + i * j->N;
        if (cn == 1)
            for (int64_t k = c0; k < c1; k++) yr[k] = j->beta * row[0];
        else
            for (int64_t k = c0; k < c1; k++) yr[k] = j->beta * row[k];
    }
}

/* The fused activation over a block of output rows. GELU (bert_tiny_like's ff1) and the
 * sigmoid-based ones are arithmetic-heavy: here they get one copy per vector width
 * (picked when the library loads), which the portable kernels cannot have; results are
 * the same functions of fast_math.h as ops/kernels/gelu.c. Exact GELU on AVX-512 hosts
 * takes gelu_avx512.c instead (26 -> 14 us on bert's ff1 output, as accurate). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(EMBER_NO_CLONES)
#if defined(__clang__)
#define GEMM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else /* gcc keeps ISO C's -ffp-contract=off under -std=c11: the polynomials want FMAs (GELU 40 -> 26 us on ff1) */
#define GEMM_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=fast")))
#endif
#else
#define GEMM_CLONES
#endif

GEMM_CLONES static void act_rows(float *y, int64_t rows, int64_t cols, int64_t ld, int act, float act_a, float act_b)
{
    for (int64_t r = 0; r < rows; r++) {
        float *restrict p = y + r * ld;
        switch (act) {
        case K_ACT_GELU:
            for (int64_t i = 0; i < cols; i++) p[i] = 0.5f * p[i] * (1.0f + k_ferf(p[i] * 0.7071067811865476f));
            break;
        case K_ACT_GELU_TANH:
            for (int64_t i = 0; i < cols; i++) {
                float v = p[i];
                p[i] = 0.5f * v * (1.0f + k_ftanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
            }
            break;
        case K_ACT_SILU:
            for (int64_t i = 0; i < cols; i++) p[i] = p[i] * k_fsigmoid(p[i]);
            break;
        default: k_activation_f32(p, cols, act, act_a, act_b, 0, 1); break;
        }
    }
}

void ember_gemm_act_rows(float *y, int64_t rows, int64_t cols, int64_t ld, int act, float act_a, float act_b)
{
    if (act == K_ACT_GELU && ember_gelu_rows_avx512(y, rows, cols, ld)) return;
    act_rows(y, rows, cols, ld, act, act_a, act_b);
}

static void mm_share(void *ctx, int ith, int nth)
{
    const mm_job *j = ctx;
    int64_t b0 = 0, b1 = j->batch, r0 = 0, r1 = j->M, c0 = 0, c1 = j->N;
    if (nth > 1) {
        if (j->batch >= nth) ember_host_share(j->batch, 1, ith, nth, &b0, &b1);
        else if (j->N >= 32 * (int64_t)nth) ember_host_share(j->N, 16, ith, nth, &c0, &c1);
        else ember_host_share(j->M, 1, ith, nth, &r0, &r1);
    }
    if (r0 >= r1 || c0 >= c1) return;
    float kbeta = 0.0f;
    if (j->bias) {
        fill_bias(j, r0, r1, c0, c1);
        kbeta = 1.0f;
    }
    for (int64_t i = b0; i < b1; i++) {
        int64_t ai = 0, bi = 0;
        if (j->mm) nn_mm_batch(j->mm, i, &ai, &bi);
        const float *a = j->a + ai * j->M * j->K + (j->ta ? r0 : r0 * j->lda);
        const float *b = j->b + bi * j->K * j->N + (j->tb ? c0 * j->ldb : c0);
        float *y = j->y + i * j->M * j->N + r0 * j->N + c0;
        if (r1 - r0 == 1 && !j->ta) /* one row: sgemv (sgemm packs all of B first, 2-3x slower) */
            cblas_sgemv(CblasRowMajor, j->tb ? CblasNoTrans : CblasTrans, j->tb ? (int)(c1 - c0) : (int)j->K,
                        j->tb ? (int)j->K : (int)(c1 - c0), j->alpha, b, (int)j->ldb, a, 1, kbeta, y, 1);
        else
            cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans,
                        (int)(r1 - r0), (int)(c1 - c0), (int)j->K, j->alpha, a, (int)j->lda, b, (int)j->ldb,
                        kbeta, y, (int)j->N);
        if (j->s->act != K_ACT_NONE)
            ember_gemm_act_rows(y, r1 - r0, c1 - c0, j->N, j->s->act, j->s->act_a, j->s->act_b);
    }
}

static void run_job(ember_op_ctx *c, mm_job *j)
{
    if (j->M <= 0 || j->N <= 0 || j->batch <= 0) return;
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
    double macs = (double)j->batch * (double)j->M * (double)j->N * (double)j->K;
    ember_op_parallel(c, mm_share, j, macs > 1e15 ? INT64_MAX : (int64_t)macs, OPENBLAS_SHARE_MACS);
}

static ember_status gemm_run(ember_op_ctx *c, void *state)
{
    const ember_op_tensor *a = c->in[0], *b = c->in[1], *cc = ember_op_in(c, 2);
    int ta = ember_attr_int(c->node, "transA", 0) != 0, tb = ember_attr_int(c->node, "transB", 0) != 0;
    float beta = ember_attr_float(c->node, "beta", 1.0f);
    mm_job j = {.s = state, .ta = ta, .tb = tb, .M = c->out[0]->dims[0], .N = c->out[0]->dims[1],
                .K = a->dims[ta ? 0 : 1], .batch = 1, .lda = a->dims[1], .ldb = b->dims[1],
                .alpha = ember_attr_float(c->node, "alpha", 1.0f), .a = a->data, .b = b->data,
                .y = c->out[0]->data, .bias = cc && beta != 0.0f ? cc : NULL, .beta = beta};
    run_job(c, &j);
    return EMBER_OK;
}

/* ---- MatMul ---- */

static ember_status matmul_prepare(ember_op_ctx *c, int threads, void **state)
{
    const ember_op_tensor *a = ember_op_in(c, 0), *b = ember_op_in(c, 1);
    if (!a || !b || !all_f32(c, 2)) return EMBER_E_UNSUPPORTED;
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    if (nn_matmul_plan(c, a, b, &mm, &rank, dims) != EMBER_OK || mm.batch < 0) return EMBER_E_UNSUPPORTED;
    /* One call per batch element, or one call over the folded batch. */
    int64_t M, calls;
    nn_mm_calls(&mm, &M, &calls);
    (void)threads;
    return take(c, M, mm.N, mm.K, state);
}

static ember_status matmul_run(ember_op_ctx *c, void *state)
{
    const ember_op_tensor *a = c->in[0], *b = c->in[1];
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(nn_matmul_plan(c, a, b, &mm, &rank, dims));
    int64_t M, batch;
    nn_mm_calls(&mm, &M, &batch);
    mm_job j = {.s = state, .M = M, .N = mm.N, .K = mm.K, .batch = batch, .lda = mm.K, .ldb = mm.N,
                .alpha = 1.0f, .a = a->data, .b = b->data, .y = c->out[0]->data, .mm = &mm};
    run_job(c, &j);
    return EMBER_OK;
}

const ember_host_kernel ember_host_openblas_gemm = {
    .name = "openblas_gemm",
    .op = EMBER_OP_GEMM,
    .prepare = gemm_prepare,
    .run = gemm_run,
    .release = free,
};

const ember_host_kernel ember_host_openblas_matmul = {
    .name = "openblas_matmul",
    .op = EMBER_OP_MATMUL,
    .prepare = matmul_prepare,
    .run = matmul_run,
    .release = free,
};
