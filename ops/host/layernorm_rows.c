/* Host fast path for LayerNormalization over the last axis (float32, Scale and B of
 * exactly [cols], no Mean / InvStdDev outputs): the transformer case. The reference
 * kernel (k_norm_rows_f32) is portable C built for SSE2 and takes a row at a time, and a
 * row of bert_tiny_like's 128 values is too short to hide its reductions' latency. Here
 * the same arithmetic (mean relative to the row's first value, then the variance of the
 * centred values, both in float) runs per block of rows, one phase over the whole block
 * at a time, compiled once per vector width with FMAs: bert_tiny_like's [1,64,128]
 * LayerNormalization 4.4 -> ~1.5 us (1 thread). Results differ from the reference only in
 * the summation order and the FMA roundings. */
#include <math.h>
#include <stdlib.h>

#include "../host.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(EMBER_NO_CLONES)
#if defined(__clang__)
#define LN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else /* gcc keeps ISO C's -ffp-contract=off under -std=c11 */
#define LN_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=fast")))
#endif
#else
#define LN_CLONES
#endif

#define LN_BLOCK 16          /* rows per phase */
#define LN_SHARE_ELEMS 4096  /* elements per share when rows are split between threads */

typedef struct ln_rows {
    int64_t rows, cols;
    float eps;
} ln_rows;

/* The 16 partial sums added pairwise: a chain of 16 dependent adds per row was most of
 * the kernel's time. */
static inline float tree16(float *s)
{
    for (int w = 8; w > 0; w >>= 1)
        for (int j = 0; j < w; j++) s[j] += s[j + w];
    return s[0];
}

/* Sum of p[0..n) - shift in 16 partial sums. */
static inline float sum_shifted(const float *restrict p, int64_t n, float shift)
{
    float s[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) s[j] += p[i + j] - shift;
    float t = 0.0f;
    for (; i < n; i++) t += p[i] - shift;
    return t + tree16(s);
}

static inline float sum_sq_centred(const float *restrict p, int64_t n, float m)
{
    float s[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) {
            float d = p[i + j] - m;
            s[j] += d * d;
        }
    float t = 0.0f;
    for (; i < n; i++) {
        float d = p[i] - m;
        t += d * d;
    }
    return t + tree16(s);
}

LN_CLONES static void ln_block(const float *x, float *y, int64_t rows, int64_t cols, float eps, const float *scale,
                               const float *bias)
{
    for (int64_t r0 = 0; r0 < rows; r0 += LN_BLOCK) {
        int64_t nb = rows - r0 < LN_BLOCK ? rows - r0 : LN_BLOCK;
        const float *xb = x + r0 * cols;
        float *yb = y + r0 * cols;
        float mean[LN_BLOCK], inv[LN_BLOCK];
        for (int64_t r = 0; r < nb; r++) {
            float x0 = xb[r * cols];
            mean[r] = x0 + sum_shifted(xb + r * cols, cols, x0) / (float)cols;
        }
        for (int64_t r = 0; r < nb; r++) inv[r] = sum_sq_centred(xb + r * cols, cols, mean[r]) / (float)cols;
        for (int64_t r = 0; r < nb; r++) inv[r] = 1.0f / sqrtf(inv[r] + eps);
        for (int64_t r = 0; r < nb; r++) {
            const float *restrict xr = xb + r * cols;
            float *restrict yr = yb + r * cols;
            float m = mean[r], a = inv[r];
            if (bias)
                for (int64_t i = 0; i < cols; i++) yr[i] = (xr[i] - m) * a * scale[i] + bias[i];
            else
                for (int64_t i = 0; i < cols; i++) yr[i] = (xr[i] - m) * a * scale[i];
        }
    }
}

typedef struct ln_job {
    const ln_rows *s;
    const float *x, *scale, *bias;
    float *y;
} ln_job;

static void ln_share(void *ctx, int ith, int nth)
{
    const ln_job *j = ctx;
    int64_t rows = j->s->rows, per = rows / nth, extra = rows % nth;
    int64_t lo = ith * per + (ith < extra ? ith : extra), hi = lo + per + (ith < extra);
    if (lo < hi)
        ln_block(j->x + lo * j->s->cols, j->y + lo * j->s->cols, hi - lo, j->s->cols, j->s->eps, j->scale, j->bias);
}

static bool exact_param(const ember_op_tensor *t, int64_t cols)
{
    return t && t->dtype == EMBER_DT_FLOAT && t->rank == 1 && t->dims[0] == cols;
}

static ember_status ln_prepare(ember_op_ctx *c, int threads, void **state)
{
    (void)threads;
    const ember_op_tensor *x = ember_op_in(c, 0), *sc = ember_op_in(c, 1), *b = ember_op_in(c, 2);
    if (!x || x->dtype != EMBER_DT_FLOAT || x->rank < 1 || !c->out[0] || c->out[0]->dtype != EMBER_DT_FLOAT)
        return EMBER_E_UNSUPPORTED;
    for (int o = 1; o < c->n_out; o++)
        if (c->out[o]) return EMBER_E_UNSUPPORTED; /* Mean / InvStdDev wanted: the reference */
    int64_t axis = ember_attr_int(c->node, "axis", -1);
    if (axis < 0) axis += x->rank;
    int64_t cols = x->dims[x->rank - 1], rows = 1;
    if (axis != x->rank - 1 || cols < 16 || !exact_param(sc, cols) || (b && !exact_param(b, cols)))
        return EMBER_E_UNSUPPORTED;
    for (int d = 0; d < x->rank - 1; d++) rows *= x->dims[d];
    ln_rows *s = malloc(sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    s->rows = rows;
    s->cols = cols;
    s->eps = ember_attr_float(c->node, "epsilon", 1e-5f);
    *state = s;
    return EMBER_OK;
}

static ember_status ln_run(ember_op_ctx *c, void *state)
{
    const ln_rows *s = state;
    const ember_op_tensor *b = ember_op_in(c, 2);
    ln_job j = {.s = s, .x = c->in[0]->data, .scale = c->in[1]->data, .bias = b ? b->data : NULL,
                .y = c->out[0]->data};
    int shares = ember_threadpool_shares(c->pool, s->rows * s->cols, LN_SHARE_ELEMS);
    ember_threadpool_run(c->pool, ln_share, &j, shares < s->rows ? shares : (int)s->rows);
    return EMBER_OK;
}

const ember_host_kernel ember_host_layernorm_rows = {
    .name = "layernorm_rows",
    .op = EMBER_OP_LAYER_NORMALIZATION,
    .prepare = ln_prepare,
    .run = ln_run,
    .release = free,
};
