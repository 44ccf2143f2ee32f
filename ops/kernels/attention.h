/* Scaled dot-product attention over heads laid out as [B, S, H, D] (the layout of a
 * projection's output before the usual Transpose to [B, H, S, D]): the EmberAttention op
 * the attention pass (engine/passes/attention.c) makes of
 *   Transpose(q) . Transpose(k)^T, Div or Mul by a scalar, Add of a mask, Softmax,
 *   . Transpose(v), Transpose back.
 * y[b, i, h, :] = sum_j p_j v[b, j, h, :], p = softmax_j(s_j + mask[b, h, i, j]),
 * s_j = q[b, i, h, :] . k[b, j, h, :] divided by `scale` (divide = 1) or multiplied by it
 * (divide = 0). The mask (optional) is any float32 tensor that broadcasts to
 * [B, H, Sq, Sk], read through element strides that are 0 along its broadcast dims. */
#ifndef EMBER_K_ATTENTION_H
#define EMBER_K_ATTENTION_H
#include <stdint.h>

/* The shapes in one block the lowering can pass as a constant blob (the call's arguments
 * would not fit the lowering's 16 otherwise). Every field is 8 bytes or at the end, so
 * the layout is the same on the 32-bit bundle targets as on the host. */
typedef struct k_attn_geom {
    int64_t B, Sq, Sk, H, D, Dv;
    int64_t mst[4]; /* mask element strides along (b, h, i, j); 0 = broadcast */
    float scale;
    int32_t divide;
} k_attn_geom;

/* Strides of a mask of rank <= 4 with dims `dims` (right-aligned against [B, H, Sq, Sk],
 * numpy rules): row-major strides, 0 where the mask's dim is 1 or missing. */
static inline void k_attn_mask_strides(int rank, const int64_t *dims, int64_t mst[4])
{
    int64_t st = 1;
    for (int d = 3; d >= 0; d--) {
        int md = d - (4 - rank); /* the mask's own dim, or < 0 where it has none */
        int64_t n = md >= 0 ? dims[md] : 1;
        mst[d] = n == 1 ? 0 : st;
        st *= n;
    }
}

/* The geometry of Q, K, V [B, S, H, D] and a mask of rank mask_rank (< 0: none). */
static inline k_attn_geom k_attn_geom_of(const int64_t *qd, const int64_t *kd, const int64_t *vd, float scale,
                                         int divide, int mask_rank, const int64_t *mask_dims)
{
    k_attn_geom g = {.B = qd[0], .Sq = qd[1], .Sk = kd[1], .H = qd[2], .D = qd[3], .Dv = vd[3], .scale = scale,
                     .divide = divide != 0};
    if (mask_rank >= 0) k_attn_mask_strides(mask_rank, mask_dims, g.mst);
    return g;
}

/* Rows (b, h, i) of this share (ith of nth); `row` is Sk floats of scratch for this call.
 * mask may be NULL (no mask; g->mst unused). */
void k_attention_f32(const float *q, const float *k, const float *v, const float *mask, float *y,
                     const k_attn_geom *g, float *row, int ith, int nth);
#endif
