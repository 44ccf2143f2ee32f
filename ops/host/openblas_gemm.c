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
 *   - products under OPENBLAS_MT_MACS run on one OpenBLAS thread: two threads were slower
 *     up to 2.1M MACs ([128,128,128]: 36.9 vs 34.5 us) and faster from 4.2M
 *     ([64,128]x[128,512]: 48.7 vs 67.5 us);
 *   - larger ones use the session's thread count (<= 0: every core).
 * OpenBLAS keeps one global thread count; a call sets it when it differs (a 2 ns check).
 * Sessions running at once may see each other's setting: speed changes, results do not
 * (the product's K order does not depend on the split). */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>

#include "../host.h"
#include "../kernels/activation.h"
#include "../nn_common.h"

/* Multiply-adds per sgemm call below which the reference kernel is as fast or faster. */
#define OPENBLAS_MIN_MACS 512.0
/* ... below which one OpenBLAS thread beats several. */
#define OPENBLAS_MT_MACS 3e6

typedef struct blas_gemm {
    int threads; /* OpenBLAS threads per call, > 0 */
    int act;
    float act_a, act_b;
} blas_gemm;

static void use_threads(int want)
{
    if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
}

static bool fits_int(int64_t x) { return x >= 0 && x <= INT_MAX; }

/* Common checks; *st gets a new state. EMBER_E_UNSUPPORTED declines. */
static ember_status take(ember_op_ctx *c, int threads, int64_t M, int64_t N, int64_t K, void **st)
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
    s->threads = macs < OPENBLAS_MT_MACS ? 1 : threads > 0 ? threads : openblas_get_num_procs();
    if (s->threads < 1) s->threads = 1;
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
    return take(c, threads, c->out[0]->dims[0], c->out[0]->dims[1], a->dims[ta ? 0 : 1], state);
}

static ember_status gemm_run(ember_op_ctx *c, void *state)
{
    const blas_gemm *s = state;
    const ember_op_tensor *a = c->in[0], *b = c->in[1], *cc = ember_op_in(c, 2);
    int ta = ember_attr_int(c->node, "transA", 0) != 0, tb = ember_attr_int(c->node, "transB", 0) != 0;
    float alpha = ember_attr_float(c->node, "alpha", 1.0f), beta = ember_attr_float(c->node, "beta", 1.0f);
    int64_t M = c->out[0]->dims[0], N = c->out[0]->dims[1], K = a->dims[ta ? 0 : 1];
    float *y = c->out[0]->data;
    float kbeta = 0.0f;
    if (cc && beta != 0.0f) {
        /* Y starts as beta * C broadcast to [M, N] (scalar, [N], [1, N], [M, 1], [M, N]). */
        const float *cd = cc->data;
        int64_t cm = cc->rank == 2 ? cc->dims[0] : 1, cn = cc->rank >= 1 ? cc->dims[cc->rank - 1] : 1;
        for (int64_t i = 0; i < M; i++) {
            const float *row = cd + (cm == 1 ? 0 : i) * cn;
            float *yr = y + i * N;
            if (cn == 1)
                for (int64_t j = 0; j < N; j++) yr[j] = beta * row[0];
            else
                for (int64_t j = 0; j < N; j++) yr[j] = beta * row[j];
        }
        kbeta = 1.0f;
    }
    use_threads(s->threads);
    if (M > 0 && N > 0)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M,
                    (int)N, (int)K, alpha, a->data, (int)a->dims[1], b->data, (int)b->dims[1], kbeta, y, (int)N);
    if (s->act != K_ACT_NONE) k_activation_f32(y, M * N, s->act, s->act_a, s->act_b, 0, 1);
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
    return take(c, threads, M, mm.N, mm.K, state);
}

static ember_status matmul_run(ember_op_ctx *c, void *state)
{
    const blas_gemm *s = state;
    const ember_op_tensor *a = c->in[0], *b = c->in[1];
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(nn_matmul_plan(c, a, b, &mm, &rank, dims));
    int64_t M, N = mm.N, K = mm.K, batch;
    nn_mm_calls(&mm, &M, &batch);
    float *y = c->out[0]->data;
    const float *ad = a->data, *bd = b->data;
    use_threads(s->threads);
    for (int64_t i = 0; i < batch && M > 0 && N > 0; i++) {
        int64_t ai, bi;
        nn_mm_batch(&mm, i, &ai, &bi);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, ad + ai * M * K,
                    (int)K, bd + bi * K * N, (int)N, 0.0f, y + i * M * N, (int)N);
    }
    if (s->act != K_ACT_NONE) k_activation_f32(y, batch * M * N, s->act, s->act_a, s->act_b, 0, 1);
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
