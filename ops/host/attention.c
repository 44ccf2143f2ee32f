/* Host fast path for EmberAttention (ops/attention.c): per (batch, head), two products
 * read the heads in place through their leading dimensions, so none of the four
 * Transposes of the unfused graph is ever materialized:
 *   S = scale * Q_bh K_bh^T   (Q_bh row i at q + ((b Sq + i) H + h) D)
 *   S += mask rows            (optional; a broadcast row is the same pointer again)
 *   P = softmax rows of S     (softmax_rows.h)
 *   Y_bh = P V_bh             (written straight into [B, Sq, H, Dv])
 * On AVX-512 hosts the products are gemm_packed.c's register tiles, each head's K^T and V
 * packed into the share's scratch first (sgemm packs them on every call anyway, and its
 * transposed-B path is slow on 64 x 64 heads); elsewhere OpenBLAS sgemm. The scalar
 * (1 / scale for a Div) goes into the product, packed into K^T or as sgemm's alpha:
 * within a rounding of the unfused graph's separate Div. Shares are whole (batch, head)
 * pairs, so bert_tiny_like's two heads run one per thread with no hand-over between the
 * steps; each share has its own S, P and packed heads in the step's scratch.
 * bert_tiny_like per layer, 1 thread: the unfused attention (3 Transposes, 2 MatMuls,
 * Div, Softmax, the Transpose back) ~30 us; with sgemm 24 us; with the tiles ~14 us. */
#include <cblas.h>
#include <stdlib.h>

#include "../host.h"
#include "../kernels/attention.h"
#include "gemm_panels.h"
#include "softmax_rows.h"

typedef struct attn_plan {
    int64_t B, Sq, Sk, H, D, Dv;
    int64_t mst[4];       /* mask element strides along (b, h, i, j), 0 = broadcast */
    float alpha;
    int shares;
    int panels;           /* AVX-512 panel products (gemm_panels.h) instead of sgemm */
    size_t share_floats;  /* scratch per share: S, P and, with panels, K^T and V packed */
} attn_plan;

typedef struct attn_job {
    const attn_plan *s;
    const float *q, *k, *v, *mask;
    float *y, *scratch;
} attn_job;

/* S[i, :] += the mask's row (b, h, i): after the scalar, before the softmax, as the
 * unfused graph's Add. Keys either walk the row (stride 1) or share one value. */
static void add_mask(float *S, const float *m, const int64_t *mst, int64_t Sq, int64_t Sk)
{
    for (int64_t i = 0; i < Sq; i++) {
        float *restrict r = S + i * Sk;
        const float *restrict mr = m + i * mst[2];
        if (mst[3]) {
            for (int64_t j = 0; j < Sk; j++) r[j] += mr[j];
        } else {
            float c = mr[0];
            for (int64_t j = 0; j < Sk; j++) r[j] += c;
        }
    }
}

static void attn_share(void *ctx, int ith, int nth)
{
    const attn_job *j = ctx;
    const attn_plan *s = j->s;
    int64_t pairs = s->B * s->H, per = pairs / nth, extra = pairs % nth;
    int64_t lo = ith * per + (ith < extra ? ith : extra), hi = lo + per + (ith < extra);
    float *S = j->scratch + (size_t)ith * s->share_floats, *P = S + s->Sq * s->Sk, *pk = P + s->Sq * s->Sk;
    float *pv = pk + ember_panels_size(s->D, s->Sk);
    int ldq = (int)(s->H * s->D), ldv = (int)(s->H * s->Dv);
    for (int64_t bh = lo; bh < hi; bh++) {
        int64_t b = bh / s->H, h = bh % s->H;
        const float *q = j->q + b * s->Sq * ldq + h * s->D, *k = j->k + b * s->Sk * ldq + h * s->D;
        const float *v = j->v + b * s->Sk * ldv + h * s->Dv;
        float *y = j->y + b * s->Sq * ldv + h * s->Dv;
        const float *m = j->mask ? j->mask + b * s->mst[0] + h * s->mst[1] : NULL;
        if (s->panels) { /* packing a head costs less than sgemm's own packing of it */
            ember_panels_pack(k, ldq, 1, s->D, s->Sk, s->alpha, pk);
            ember_panels_gemm(q, ldq, pk, NULL, S, s->Sk, s->Sq, s->Sk, s->D);
            if (m) add_mask(S, m, s->mst, s->Sq, s->Sk);
            ember_softmax_rows_f32(S, P, s->Sq, s->Sk);
            ember_panels_pack(v, ldv, 0, s->Sk, s->Dv, 1.0f, pv);
            ember_panels_gemm(P, s->Sk, pv, NULL, y, ldv, s->Sq, s->Dv, s->Sk);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->Sq, (int)s->Sk, (int)s->D, s->alpha, q, ldq, k,
                    ldq, 0.0f, S, (int)s->Sk);
        if (m) add_mask(S, m, s->mst, s->Sq, s->Sk);
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
    if (Sk < 16 || B < 1 || Sq < 1 || H < 1 || D < 1 || Dv < 1 || H * D > 1 << 26 || H * Dv > 1 << 26 ||
        Sq * Sk > 1 << 26)
        return EMBER_E_UNSUPPORTED;
    attn_plan *s = malloc(sizeof *s);
    if (!s) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    float scale = ember_attr_float(c->node, "scale", 1.0f);
    *s = (attn_plan){.B = B, .Sq = Sq, .Sk = Sk, .H = H, .D = D, .Dv = Dv,
                     .alpha = ember_attr_int(c->node, "divide", 0) ? 1.0f / scale : scale,
                     .shares = threads < 1 ? 1 : threads};
    const ember_op_tensor *mask = ember_op_in(c, 3);
    if (mask) k_attn_mask_strides(mask->rank, mask->dims, s->mst);
    if (s->shares > B * H) s->shares = (int)(B * H);
    s->panels = ember_panels_available() && Sk <= 1024 && D <= 1024; /* gemm_packed.c's K limit */
    s->share_floats = 2 * (size_t)(Sq * Sk) + (s->panels ? ember_panels_size(D, Sk) + ember_panels_size(Sk, Dv) : 0);
    c->scratch_bytes = (size_t)s->shares * s->share_floats * sizeof(float);
    *state = s;
    return EMBER_OK;
}

static ember_status attn_run(ember_op_ctx *c, void *state)
{
    const attn_plan *s = state;
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1); /* as openblas_gemm.c */
    attn_job j = {.s = s, .q = c->in[0]->data, .k = c->in[1]->data, .v = c->in[2]->data,
                  .mask = ember_op_in(c, 3) ? ember_op_in(c, 3)->data : NULL, .y = c->out[0]->data,
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
