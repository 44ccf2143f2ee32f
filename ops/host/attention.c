/* Host fast path for EmberAttention (ops/attention.c): per (batch, head), two OpenBLAS
 * products read the heads in place through their leading dimensions, so none of the
 * four Transposes of the unfused graph is ever materialized:
 *   S = scale * Q_bh K_bh^T   (sgemm, transB; Q_bh row i at q + ((b Sq + i) H + h) D)
 *   P = softmax rows of S     (softmax_rows.h)
 *   Y_bh = P V_bh             (sgemm written straight into [B, Sq, H, Dv])
 * The scalar is sgemm's alpha (1 / scale for a Div): within a rounding of the unfused
 * graph's separate Div. Shares are whole (batch, head) pairs, so bert_tiny_like's two
 * heads run one per thread with no hand-over between the steps; each share has its own
 * S and P in the step's scratch. bert_tiny_like per layer, 1 thread: the unfused
 * attention (3 Transposes, 2 MatMuls, Div, Softmax, the Transpose back) ~30 us. */
#include <cblas.h>
#include <stdlib.h>

#include "../host.h"
#include "softmax_rows.h"

typedef struct attn_plan {
    int64_t B, Sq, Sk, H, D, Dv;
    float alpha;
    int shares;
} attn_plan;

typedef struct attn_job {
    const attn_plan *s;
    const float *q, *k, *v;
    float *y, *scratch;
} attn_job;

static void attn_share(void *ctx, int ith, int nth)
{
    const attn_job *j = ctx;
    const attn_plan *s = j->s;
    int64_t pairs = s->B * s->H, per = pairs / nth, extra = pairs % nth;
    int64_t lo = ith * per + (ith < extra ? ith : extra), hi = lo + per + (ith < extra);
    float *S = j->scratch + (size_t)ith * 2 * (size_t)(s->Sq * s->Sk), *P = S + s->Sq * s->Sk;
    int ldq = (int)(s->H * s->D), ldv = (int)(s->H * s->Dv);
    for (int64_t bh = lo; bh < hi; bh++) {
        int64_t b = bh / s->H, h = bh % s->H;
        const float *q = j->q + b * s->Sq * ldq + h * s->D, *k = j->k + b * s->Sk * ldq + h * s->D;
        const float *v = j->v + b * s->Sk * ldv + h * s->Dv;
        float *y = j->y + b * s->Sq * ldv + h * s->Dv;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->Sq, (int)s->Sk, (int)s->D, s->alpha, q, ldq, k,
                    ldq, 0.0f, S, (int)s->Sk);
        ember_softmax_rows_f32(S, P, s->Sq, s->Sk);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->Sq, (int)s->Dv, (int)s->Sk, 1.0f, P,
                    (int)s->Sk, v, ldv, 0.0f, y, ldv);
    }
}

static ember_status attn_prepare(ember_op_ctx *c, int threads, void **state)
{
    const ember_op_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
    int64_t B = q->dims[0], Sq = q->dims[1], H = q->dims[2], D = q->dims[3], Sk = k->dims[1], Dv = v->dims[3];
    /* the softmax rows want a vector's worth of keys; everything must fit sgemm's ints */
    if (Sk < 16 || B < 1 || Sq < 1 || H < 1 || D < 1 || Dv < 1 || H * D > 1 << 30 || H * Dv > 1 << 30 ||
        Sq * Sk > 1 << 26)
        return EMBER_E_UNSUPPORTED;
    attn_plan *s = malloc(sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    float scale = ember_attr_float(c->node, "scale", 1.0f);
    *s = (attn_plan){.B = B, .Sq = Sq, .Sk = Sk, .H = H, .D = D, .Dv = Dv,
                     .alpha = ember_attr_int(c->node, "divide", 0) ? 1.0f / scale : scale,
                     .shares = threads < 1 ? 1 : threads};
    if (s->shares > B * H) s->shares = (int)(B * H);
    c->scratch_bytes = (size_t)s->shares * 2 * (size_t)(Sq * Sk) * sizeof(float);
    *state = s;
    return EMBER_OK;
}

static ember_status attn_run(ember_op_ctx *c, void *state)
{
    const attn_plan *s = state;
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1); /* as openblas_gemm.c */
    attn_job j = {.s = s, .q = c->in[0]->data, .k = c->in[1]->data, .v = c->in[2]->data, .y = c->out[0]->data,
                  .scratch = c->scratch};
    int shares = ember_threadpool_shares(c->pool, s->B * s->H, 1);
    ember_threadpool_run(c->pool, attn_share, &j, shares < s->shares ? shares : s->shares);
    return EMBER_OK;
}

const ember_host_kernel ember_host_attention = {
    .name = "attention",
    .op = EMBER_OP_EMBER_ATTENTION,
    .prepare = attn_prepare,
    .run = attn_run,
    .release = free,
};
