/* Conv and ConvTranspose (float32): im2col + the blocked sgemm, with direct paths for
 * pointwise and depthwise 2-D convolutions; Conv applies the activation the fusion pass
 * may have attached, and before it adds the residual the fusion pass may have attached
 * as an extra input ("ember_sum_input": its index, of the output's shape), as the Add
 * it replaces would have (bit-identical). */
#include <string.h>

#include "kernels/activation.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "nn_common.h"
#include "op_decls.h"


/* Shared checks of X [N, C, ...] and W; fills what is known. Returns with p->w.nd = 0
 * when the ranks are unknown. */
static ember_status conv_prepare(ember_op_ctx *c, nn_conv_plan *p, int transpose, int xi, int wi,
                                 int bi)
{
    memset(p, 0, sizeof *p);
    const ember_op_tensor *x = ember_op_in(c, xi), *w = ember_op_in(c, wi);
    const ember_op_tensor *b = bi >= 0 ? ember_op_in(c, bi) : NULL;
    if (!x || !w) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs X and W");
    int rank = x->rank >= 0 ? x->rank : w->rank;
    if (rank < 0) return EMBER_OK;
    if (rank < 3)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input has rank %d, needs at least 3", rank);
    if ((x->rank >= 0 && x->rank != rank) || (w->rank >= 0 && w->rank != rank))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "X has rank %d but W has rank %d", x->rank,
                             w->rank);
    int nd = rank - 2;
    int64_t kernel[K_CONV_MAX_SP];
    for (int i = 0; i < nd && i < K_CONV_MAX_SP; i++) kernel[i] = w->rank >= 0 ? w->dims[2 + i] : -1;
    TRY(nn_window_read(c, nd, kernel, &p->w));
    p->G = ember_attr_int(c->node, "group", 1);
    if (p->G < 1) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "group %lld is invalid", (long long)p->G);
    p->N = x->rank >= 0 ? x->dims[0] : -1;
    p->C = x->rank >= 0 ? x->dims[1] : -1;
    int64_t w0 = w->rank >= 0 ? w->dims[0] : -1, w1 = w->rank >= 0 ? w->dims[1] : -1;
    /* Conv: W [M, C/G, k...]; ConvTranspose: W [C, M/G, k...]. */
    if (!transpose) {
        p->M = w0;
        if (p->C >= 0 && w1 >= 0 && p->C != w1 * p->G)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL,
                                 "X has %lld channels but W expects %lld x group %lld",
                                 (long long)p->C, (long long)w1, (long long)p->G);
        if (p->M >= 0 && p->M % p->G)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%lld output channels do not split into %lld groups",
                                 (long long)p->M, (long long)p->G);
    } else {
        p->M = w1 >= 0 ? w1 * p->G : -1;
        if (p->C >= 0 && w0 >= 0 && p->C != w0)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "X has %lld channels but W has %lld",
                                 (long long)p->C, (long long)w0);
        if (p->C >= 0 && p->C % p->G)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%lld input channels do not split into %lld groups",
                                 (long long)p->C, (long long)p->G);
    }
    if (b && b->rank >= 0 && (b->rank != 1 || (p->M >= 0 && b->dims[0] >= 0 && b->dims[0] != p->M)))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "bias must be a vector of %lld values",
                             (long long)p->M);
    for (int i = 0; i < nd; i++) p->in[i] = x->rank >= 0 ? x->dims[2 + i] : -1;
    return EMBER_OK;
}

static int known(const int64_t *d, int n)
{
    for (int i = 0; i < n; i++)
        if (d[i] < 0) return 0;
    return 1;
}

void nn_conv_set_out(ember_op_ctx *c, const nn_conv_plan *p, ember_dtype dt)
{
    if (p->w.nd == 0) {
        ember_op_set_out(c, 0, dt, -1, NULL);
        return;
    }
    int64_t dims[EMBER_MAX_RANK] = {p->N, p->M};
    memcpy(dims + 2, p->out, sizeof(int64_t) * (size_t)p->w.nd);
    ember_op_set_out(c, 0, dt, p->w.nd + 2, dims);
}

static ember_status check_f32(ember_op_ctx *c)
{
    TRY(nn_need_f32(c, c->in[0], "X"));
    TRY(nn_need_f32(c, c->in[1], "W"));
    if (ember_op_in(c, 2)) TRY(nn_need_f32(c, c->in[2], "B"));
    return EMBER_OK;
}

ember_status nn_conv_plan_build(ember_op_ctx *c, nn_conv_plan *p, int xi, int wi, int bi)
{
    TRY(conv_prepare(c, p, 0, xi, wi, bi));
    int nd = p->w.nd;
    if (nd == 0) return EMBER_OK;
    if (known(p->w.k, nd)) TRY(nn_window_out(c, &p->w, p->in, p->out));
    else
        for (int i = 0; i < nd; i++) p->out[i] = -1;
    if (p->C < 0 || p->M < 0 || !known(p->out, nd)) return EMBER_OK;
    p->Cg = p->C / p->G;
    p->Mg = p->M / p->G;
    p->kt = nn_prod(p->w.k, 0, nd);
    p->insp = nn_prod(p->in, 0, nd);
    p->outsp = nn_prod(p->out, 0, nd);
    p->pointwise = 1;
    for (int i = 0; i < nd; i++)
        if (p->w.k[i] != 1 || p->w.s[i] != 1 || p->w.pb[i] != 0 || p->w.pe[i] != 0) p->pointwise = 0;
    p->depthwise = nd == 2 && p->Cg == 1 && !p->pointwise;
    return EMBER_OK;
}

/* The fused residual input (ember_sum_input), or NULL when none. */
static const ember_op_tensor *sum_input(const ember_op_ctx *c, ember_status *st)
{
    *st = EMBER_OK;
    const ember_attr *a = c->node ? ember_node_attr(c->node, "ember_sum_input") : NULL;
    if (!a) return NULL;
    const ember_op_tensor *r =
        a->type == EMBER_ATTR_INT && a->i >= 3 && a->i < c->n_in ? ember_op_in(c, (int)a->i) : NULL;
    if (!r) *st = ember_op_fail(c, EMBER_E_INVALID_MODEL, "ember_sum_input names no input");
    else if (r->dtype != EMBER_DT_FLOAT)
        *st = ember_op_fail(c, EMBER_E_INVALID_MODEL, "the fused residual is not float32");
    return r;
}

ember_status ember_infer_conv(ember_op_ctx *c)
{
    nn_conv_plan p;
    if (!ember_op_in(c, 0) || !ember_op_in(c, 1))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs X and W");
    TRY(check_f32(c));
    TRY(nn_conv_plan_build(c, &p, 0, 1, 2));
    if (p.outsp > 0 && !p.pointwise && !p.depthwise)
        c->scratch_bytes = (size_t)(p.Cg * p.kt * p.outsp) * sizeof(float);
    nn_conv_set_out(c, &p, EMBER_DT_FLOAT);
    ember_status st;
    const ember_op_tensor *r = sum_input(c, &st);
    TRY(st);
    if (r && r->rank >= 0 && c->out[0]->rank >= 0) {
        int same = r->rank == c->out[0]->rank;
        for (int i = 0; same && i < r->rank; i++)
            same = r->dims[i] < 0 || c->out[0]->dims[i] < 0 || r->dims[i] == c->out[0]->dims[i];
        if (!same) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "the fused residual's shape is not the output's");
    }
    return EMBER_OK;
}

ember_status ember_run_conv(ember_op_ctx *c)
{
    nn_conv_plan p;
    TRY(nn_conv_plan_build(c, &p, 0, 1, 2));
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const ember_op_tensor *bt = ember_op_in(c, 2);
    const float *bias = bt ? bt->data : NULL;
    float *y = c->out[0]->data, *col = c->scratch;
    ember_status rst;
    const ember_op_tensor *rt = sum_input(c, &rst);
    TRY(rst);
    if (rt && ember_op_numel(rt) != p.N * p.M * p.outsp)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "the fused residual's shape is not the output's");
    const float *res = rt ? rt->data : NULL;
    k_conv_geom g;
    nn_window_geom(&p.w, p.in, p.out, &g);
    int64_t K = p.Cg * p.kt;
    int act;
    float aa, ab;
    TRY(nn_fused_act(c, &act, &aa, &ab));
    for (int64_t n = 0; n < p.N; n++) {
        if (p.depthwise) {
            for (int64_t gi = 0; gi < p.G; gi++)
                k_conv_dw2d_f32(x + (n * p.C + gi) * p.insp, w + gi * p.Mg * p.kt,
                                bias ? bias + gi * p.Mg : NULL, 1, p.Mg, &g,
                                y + (n * p.M + gi * p.Mg) * p.outsp, 0, 1);
            if (res) {
                float *yn = y + n * p.M * p.outsp;
                const float *rn = res + n * p.M * p.outsp;
                for (int64_t i = 0; i < p.M * p.outsp; i++) yn[i] = yn[i] + rn[i];
            }
            if (act != K_ACT_NONE) k_activation_f32(y + n * p.M * p.outsp, p.M * p.outsp, act, aa, ab, 0, 1);
            continue;
        }
        for (int64_t gi = 0; gi < p.G; gi++) {
            const float *xg = x + (n * p.C + gi * p.Cg) * p.insp;
            float *yg = y + (n * p.M + gi * p.Mg) * p.outsp;
            const float *B = xg;
            if (!p.pointwise) {
                k_im2col_f32(xg, p.Cg, &g, col, 0, 1);
                B = col;
            }
            float beta = 0.0f;
            if (bias) {
                for (int64_t m = 0; m < p.Mg; m++)
                    for (int64_t q = 0; q < p.outsp; q++) yg[m * p.outsp + q] = bias[gi * p.Mg + m];
                beta = 1.0f;
            }
            k_sgemm(0, 0, p.Mg, p.outsp, K, 1.0f, w + gi * p.Mg * K, K, B, p.outsp, beta, yg,
                    p.outsp, 0, 1);
            if (res) {
                const float *rg = res + (n * p.M + gi * p.Mg) * p.outsp;
                for (int64_t i = 0; i < p.Mg * p.outsp; i++) yg[i] = yg[i] + rg[i];
            }
            if (act != K_ACT_NONE) k_activation_f32(yg, p.Mg * p.outsp, act, aa, ab, 0, 1);
        }
    }
    return EMBER_OK;
}

/* ConvTranspose output size and pads (ONNX reference rules). */
static ember_status convt_plan_build(ember_op_ctx *c, nn_conv_plan *p)
{
    if (!ember_op_in(c, 0) || !ember_op_in(c, 1))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs X and W");
    TRY(check_f32(c));
    TRY(conv_prepare(c, p, 1, 0, 1, 2));
    int nd = p->w.nd;
    if (nd == 0) return EMBER_OK;
    int64_t opad[K_CONV_MAX_SP] = {0}, oshape[K_CONV_MAX_SP];
    const int64_t *v;
    int n = ember_attr_ints(c->node, "output_padding", &v);
    if (n >= 0) {
        if (n != nd) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "output_padding needs %d values", nd);
        memcpy(opad, v, sizeof(int64_t) * (size_t)nd);
    }
    int ns = ember_attr_ints(c->node, "output_shape", &v);
    if (ns >= 0) {
        if (ns != nd && ns != nd + 2)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "output_shape needs %d values", nd);
        memcpy(oshape, v + (ns - nd), sizeof(int64_t) * (size_t)nd);
    }
    for (int i = 0; i < nd; i++) {
        if (p->in[i] < 0 || p->w.k[i] < 0) {
            p->out[i] = -1;
            continue;
        }
        int64_t full = p->w.s[i] * (p->in[i] - 1) + opad[i] + (p->w.k[i] - 1) * p->w.d[i] + 1;
        int same = p->w.auto_pad == NN_PAD_SAME_UPPER || p->w.auto_pad == NN_PAD_SAME_LOWER;
        if (ns >= 0 || same) {
            int64_t o = ns >= 0 ? oshape[i] : p->in[i] * p->w.s[i];
            int64_t total = full - o;
            if (total < 0) total = 0;
            if (p->w.auto_pad == NN_PAD_SAME_UPPER) p->w.pb[i] = total / 2;
            else p->w.pb[i] = total - total / 2;
            p->w.pe[i] = total - p->w.pb[i];
            p->out[i] = o;
        } else {
            p->out[i] = full - p->w.pb[i] - p->w.pe[i];
        }
        if (p->out[i] < 1)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "output spatial dim %d would be %lld", i,
                                 (long long)p->out[i]);
    }
    if (p->C < 0 || p->M < 0 || !known(p->out, nd) || !known(p->in, nd)) return EMBER_OK;
    p->Cg = p->C / p->G;
    p->Mg = p->M / p->G;
    p->kt = nn_prod(p->w.k, 0, nd);
    p->insp = nn_prod(p->in, 0, nd);
    p->outsp = nn_prod(p->out, 0, nd);
    c->scratch_bytes = (size_t)(p->Mg * p->kt * p->insp) * sizeof(float);
    return EMBER_OK;
}

ember_status ember_infer_conv_transpose(ember_op_ctx *c)
{
    nn_conv_plan p;
    TRY(convt_plan_build(c, &p));
    nn_conv_set_out(c, &p, EMBER_DT_FLOAT);
    return EMBER_OK;
}

ember_status ember_run_conv_transpose(ember_op_ctx *c)
{
    nn_conv_plan p;
    TRY(convt_plan_build(c, &p));
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const ember_op_tensor *bt = ember_op_in(c, 2);
    const float *bias = bt ? bt->data : NULL;
    float *y = c->out[0]->data, *col = c->scratch;
    /* The image is the output; the window grid is the input. */
    k_conv_geom g;
    nn_window_geom(&p.w, p.out, p.in, &g);
    int64_t R = p.Mg * p.kt;
    for (int64_t n = 0; n < p.N; n++)
        for (int64_t gi = 0; gi < p.G; gi++) {
            const float *xg = x + (n * p.C + gi * p.Cg) * p.insp;
            float *yg = y + (n * p.M + gi * p.Mg) * p.outsp;
            k_sgemm(1, 0, R, p.insp, p.Cg, 1.0f, w + gi * p.Cg * R, R, xg, p.insp, 0.0f, col,
                    p.insp, 0, 1);
            for (int64_t m = 0; m < p.Mg; m++)
                for (int64_t q = 0; q < p.outsp; q++)
                    yg[m * p.outsp + q] = bias ? bias[gi * p.Mg + m] : 0.0f;
            k_col2im_f32(col, p.Mg, &g, yg, 0, 1);
        }
    return EMBER_OK;
}
