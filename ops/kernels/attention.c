#include "attention.h"

#include "elementwise_bcast.h"
#include "softmax.h"

/* One row at a time, each step in the order the unfused graph takes it (the dot product,
 * then the scalar, then the mask's Add, then Softmax's kernel), so the results agree with
 * it to the dot products' summation order. */
void k_attention_f32(const float *q, const float *k, const float *v, const float *mask, float *y,
                     const k_attn_geom *g, float *row, int ith, int nth)
{
    const int64_t B = g->B, Sq = g->Sq, Sk = g->Sk, H = g->H, D = g->D, Dv = g->Dv;
    const float scale = g->scale;
    const int divide = g->divide != 0;
    int64_t lo, hi;
    k_share(B * H * Sq, ith, nth, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        int64_t b = r / (H * Sq), h = r / Sq % H, i = r % Sq;
        const float *qr = q + ((b * Sq + i) * H + h) * D;
        for (int64_t j = 0; j < Sk; j++) {
            const float *kr = k + ((b * Sk + j) * H + h) * D;
            float s = 0.0f;
            for (int64_t d = 0; d < D; d++) s += qr[d] * kr[d];
            row[j] = divide ? s / scale : s * scale;
        }
        if (mask) {
            const float *mr = mask + b * g->mst[0] + h * g->mst[1] + i * g->mst[2];
            for (int64_t j = 0; j < Sk; j++) row[j] += mr[j * g->mst[3]];
        }
        k_softmax_f32(K_SOFTMAX, row, row, 1, Sk, 1, 0, 1);
        float *yr = y + ((b * Sq + i) * H + h) * Dv;
        for (int64_t e = 0; e < Dv; e++) yr[e] = 0.0f;
        for (int64_t j = 0; j < Sk; j++) {
            const float *vr = v + ((b * Sk + j) * H + h) * Dv;
            float p = row[j];
            for (int64_t e = 0; e < Dv; e++) yr[e] += p * vr[e];
        }
    }
}
