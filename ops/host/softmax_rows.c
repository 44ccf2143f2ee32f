/* Host fast path for Softmax (float32, along the last axis): the reference kernel
 * (ops/kernels/softmax.c) is portable C built for SSE2, and its running max is a float
 * compare chain that does not vectorize at all. Here each row gets
 *   - its max as an integer max over order-preserving keys of the float bits (integer
 *     compares vectorize under gcc's default -ftrapping-math, float ones do not),
 *   - e^(x - max) by fast_math.h's k_fexp (as the reference), summed in 16 partial sums,
 *   - one multiply by 1 / sum,
 * compiled once per vector width (picked when the library loads). bert_tiny_like's
 * attention Softmax ([1,2,64,64]) took 28 us per call on the reference kernel (1 thread).
 * Rows holding +-inf or only -inf take the reference kernel, which defines those cases;
 * NaN rows come out NaN either way. Results differ from the reference only in the
 * summation order (within float rounding). */
#include <math.h>
#include <stdlib.h>

#include "../host.h"
#include "../kernels/fast_math.h"
#include "../kernels/softmax.h"
#include "softmax_rows.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(EMBER_NO_CLONES)
#if defined(__clang__)
#define ROWS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else /* gcc keeps ISO C's -ffp-contract=off under -std=c11: exp's polynomial wants FMAs */
#define ROWS_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=fast")))
#endif
#else
#define ROWS_CLONES
#endif

/* Rows below this many elements per share are not worth a thread hand-over. */
#define SOFTMAX_SHARE_ELEMS 4096

typedef struct softmax_rows {
    int64_t outer, n;
} softmax_rows;

/* A signed integer that orders like the float (NaNs at the ends, by sign). */
static inline int32_t order_key(float f)
{
    int32_t b = (int32_t)k_fbits(f);
    return b ^ ((b >> 31) & 0x7fffffff);
}

static inline float from_key(int32_t k) { return k_ffrom((uint32_t)(k ^ ((k >> 31) & 0x7fffffff))); }

/* Rows in blocks, each phase over the whole block: a row of bert's 64 elements is 4
 * vectors, too short to hide the latency of exp's polynomial and of the reductions, while
 * consecutive rows' work is independent. */
#define ROWS_BLOCK 32

ROWS_CLONES static void softmax_row_block(const float *x, float *y, int64_t rows, int64_t n)
{
    for (int64_t r0 = 0; r0 < rows; r0 += ROWS_BLOCK) {
        int64_t nb = rows - r0 < ROWS_BLOCK ? rows - r0 : ROWS_BLOCK;
        const float *restrict xb = x + r0 * n;
        float *restrict yb = y + r0 * n;
        float mx[ROWS_BLOCK], inv[ROWS_BLOCK];
        int special = 0;
        for (int64_t r = 0; r < nb; r++) {
            int32_t kmax = INT32_MIN;
            for (int64_t i = 0; i < n; i++) {
                int32_t k = order_key(xb[r * n + i]);
                kmax = k > kmax ? k : kmax;
            }
            mx[r] = from_key(kmax);
            special |= isinf(mx[r]) || isnan(mx[r]);
        }
        if (special) { /* +inf present, all -inf, or NaN: the reference's semantics */
            k_softmax_f32(K_SOFTMAX, xb, yb, nb, n, 1, 0, 1);
            continue;
        }
        for (int64_t r = 0; r < nb; r++)
            for (int64_t i = 0; i < n; i++) yb[r * n + i] = k_fexp(xb[r * n + i] - mx[r]);
        for (int64_t r = 0; r < nb; r++) {
            const float *yr = yb + r * n;
            float s[16] = {0};
            int64_t i = 0;
            for (; i + 16 <= n; i += 16)
                for (int j = 0; j < 16; j++) s[j] += yr[i + j];
            float sum = 0.0f;
            for (; i < n; i++) sum += yr[i];
            for (int w = 8; w > 0; w >>= 1) /* pairwise: a 16-add chain per row cost more than the sum */
                for (int j = 0; j < w; j++) s[j] += s[j + w];
            inv[r] = 1.0f / (sum + s[0]);
        }
        for (int64_t r = 0; r < nb; r++)
            for (int64_t i = 0; i < n; i++) yb[r * n + i] *= inv[r];
    }
}

void ember_softmax_rows_f32(const float *x, float *y, int64_t rows, int64_t n) { softmax_row_block(x, y, rows, n); }

typedef struct softmax_job {
    const float *x;
    float *y;
    int64_t outer, n;
} softmax_job;

static void softmax_share(void *ctx, int ith, int nth)
{
    const softmax_job *j = ctx;
    int64_t per = j->outer / nth, extra = j->outer % nth;
    int64_t lo = ith * per + (ith < extra ? ith : extra), hi = lo + per + (ith < extra);
    if (lo < hi) softmax_row_block(j->x + lo * j->n, j->y + lo * j->n, hi - lo, j->n);
}

static ember_status softmax_prepare(ember_op_ctx *c, int threads, void **state)
{
    (void)threads;
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x || x->dtype != EMBER_DT_FLOAT || x->rank < 1 || !c->out[0] || c->out[0]->dtype != EMBER_DT_FLOAT)
        return EMBER_E_UNSUPPORTED;
    /* From opset 13 along `axis` alone; before, over the trailing block from `axis`:
     * either way the rows are the last axis when axis is the last one. */
    int64_t axis = ember_attr_int(c->node, "axis", c->opset < 13 ? 1 : -1);
    if (axis < 0) axis += x->rank;
    if (axis != x->rank - 1) return EMBER_E_UNSUPPORTED;
    int64_t n = x->dims[x->rank - 1], outer = 1;
    for (int d = 0; d < x->rank - 1; d++) outer *= x->dims[d];
    if (n < 16 || outer < 1) return EMBER_E_UNSUPPORTED;
    softmax_rows *s = malloc(sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    s->outer = outer;
    s->n = n;
    *state = s;
    return EMBER_OK;
}

static ember_status softmax_run(ember_op_ctx *c, void *state)
{
    const softmax_rows *s = state;
    softmax_job j = {.x = c->in[0]->data, .y = c->out[0]->data, .outer = s->outer, .n = s->n};
    int shares = ember_threadpool_shares(c->pool, s->outer * s->n, SOFTMAX_SHARE_ELEMS);
    ember_threadpool_run(c->pool, softmax_share, &j, shares < s->outer ? shares : (int)s->outer);
    return EMBER_OK;
}

const ember_host_kernel ember_host_softmax_rows = {
    .name = "softmax_rows",
    .op = EMBER_OP_SOFTMAX,
    .prepare = softmax_prepare,
    .run = softmax_run,
    .release = free,
};
