/* Lowering of the nn ops (float32): Conv (im2col + sgemm, direct pointwise/depthwise),
 * Gemm, MatMul, the pools, Softmax/LogSoftmax, with the activation the fusion pass may
 * have attached (and Conv's fused residual). Mirrors the reference glue (ops/nn_*.c, ops/softmax.c) call for call. */
#include <string.h>

#include "../kernels/activation.h"
#include "../kernels/binary.h"
#include "../kernels/pool.h"
#include "../kernels/softmax.h"
#include "../kernels/unary.h"
#include "../nn_common.h"
#include "lower.h"

#define F (int64_t)sizeof(float)

static ember_status oom(void) { return ember_error(EMBER_E_NO_MEMORY, "out of memory lowering the program"); }

static ember_status all_f32(const ember_op_ctx *c)
{
    for (int i = 0; i < c->n_in; i++)
        if (c->in[i] && c->in[i]->dtype != EMBER_DT_FLOAT)
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input %d is %s; lowered for float32 only", i,
                                 ember_dtype_name(c->in[i]->dtype));
    for (int o = 0; o < c->n_out; o++)
        if (o > 0 && c->out[o]) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "output %d is not lowered", o);
    return EMBER_OK;
}

static ember_status act_call(ember_lowered *L, const ember_op_ctx *c, int64_t off, int64_t n)
{
    int act;
    float aa, ab;
    TRY(nn_fused_act(c, &act, &aa, &ab));
    if (act == K_ACT_NONE) return EMBER_OK;
    return EMBER_LCALL(L, "k_activation_f32", LOUT(c, 0, off * F), LI(n), LI(act), LF(aa), LF(ab), LI(0), LI(1));
}

/* y[off..off+n) += residual[off..off+n) (the Add a fused residual replaces: y + r). */
static ember_status residual_call(ember_lowered *L, const ember_op_ctx *c, int ri, int64_t off, int64_t n)
{
    if (ri < 0) return EMBER_OK;
    k_bcast bc;
    memset(&bc, 0, sizeof bc);
    int rank = 1;
    const int64_t *dims[2] = {&n, &n};
    int ranks[2] = {1, 1};
    k_bcast_init(&bc, rank, &n, 2, ranks, dims);
    int bl = ember_lower_blob(L, &bc, sizeof bc);
    if (bl < 0) return oom();
    return EMBER_LCALL(L, "k_binary_f32", LI(K_ADD), LOUT(c, 0, off * F), LIN(c, ri, off * F), LOUT(c, 0, off * F),
                       ember_larg_blob(bl), LI(0), LI(1));
}

#define CONV_COL_TILE_BYTES (32 * 1024)

/* One group's im2col + GEMM, tile by tile: tile rows [r0, r0 + nr) of the outermost
 * output dim are the same window walk with that dim's extent nr and its padding moved by
 * r0 strides, and their GEMM writes columns [r0 * row_cols, ...) of the output rows. */
static ember_status conv_tiles(ember_lowered *L, const ember_op_ctx *c, const k_conv_geom *g,
                               int64_t xoff, int64_t yoff, int64_t gi, int64_t K, int64_t Cg, int64_t Mg,
                               int64_t outsp, int64_t tile_rows, double beta)
{
    int64_t rows_out = g->out[0], row_cols = outsp / rows_out;
    for (int64_t r0 = 0; r0 < rows_out; r0 += tile_rows) {
        int64_t nr = rows_out - r0 < tile_rows ? rows_out - r0 : tile_rows;
        k_conv_geom t = *g;
        t.out[0] = nr;
        t.pb[0] = g->pb[0] - r0 * g->s[0];
        int bt = ember_lower_blob(L, &t, sizeof t);
        if (bt < 0) return oom();
        TRY(EMBER_LCALL(L, "k_im2col_f32", LIN(c, 0, xoff * F), LI(Cg), ember_larg_blob(bt),
                        ember_larg_scratch(0), LI(0), LI(1)));
        TRY(EMBER_LCALL(L, "k_sgemm", LI(0), LI(0), LI(Mg), LI(nr * row_cols), LI(K), LF(1.0),
                        LIN(c, 1, gi * Mg * K * F), LI(K), ember_larg_scratch(0), LI(nr * row_cols),
                        LF(beta), LOUT(c, 0, (yoff + r0 * row_cols) * F), LI(outsp), LI(0), LI(1)));
    }
    return EMBER_OK;
}

ember_status ember_lower_conv(ember_lowered *L, const ember_op_ctx *c)
{
    TRY(all_f32(c));
    nn_conv_plan p;
    TRY(nn_conv_plan_build((ember_op_ctx *)c, &p, 0, 1, 2));
    if (p.w.nd == 0 || p.outsp <= 0) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "shape not known");
    int has_bias = ember_op_in(c, 2) != NULL;
    /* A residual the fusion pass attached ("ember_sum_input": its input index), added
     * before the activation. */
    int ri = -1;
    const ember_attr *sa = ember_node_attr(c->node, "ember_sum_input");
    if (sa) {
        if (sa->type != EMBER_ATTR_INT || sa->i < 3 || sa->i >= c->n_in || !c->in[sa->i] ||
            ember_op_numel(c->in[sa->i]) != p.N * p.M * p.outsp)
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "fused residual not lowered");
        ri = (int)sa->i;
    } else if (c->n_in > 3) {
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "%d inputs", c->n_in);
    }
    k_conv_geom g;
    memset(&g, 0, sizeof g);
    nn_window_geom(&p.w, p.in, p.out, &g);
    int bg = p.depthwise ? ember_lower_blob(L, &g, sizeof g) : 0;
    if (bg < 0) return oom();
    int64_t K = p.Cg * p.kt;
    /* im2col in tiles of whole rows of the outermost output dim: a tile's column matrix
     * stays under CONV_COL_TILE_BYTES (at least one row), so a bundle's arena carries a
     * small scratch instead of the whole K x positions matrix (cifar_resnet8: 576 KiB). */
    int64_t rows_out = g.out[0], row_cols = p.outsp / (rows_out ? rows_out : 1);
    int64_t tile_rows = CONV_COL_TILE_BYTES / (K * row_cols * F);
    if (tile_rows < 1) tile_rows = 1;
    if (tile_rows > rows_out) tile_rows = rows_out;
    size_t scratch = p.depthwise || p.pointwise ? 0 : (size_t)(K * tile_rows * row_cols * F);
    if (scratch < L->scratch) L->scratch = scratch;
    for (int64_t n = 0; n < p.N; n++) {
        if (p.depthwise) {
            /* One call over every group: channel oc reads plane oc / Mg (same sums as the
             * per-group calls of the reference glue). */
            TRY(EMBER_LCALL(L, "k_conv_dw2d_f32", LIN(c, 0, n * p.C * p.insp * F), LIN(c, 1, 0),
                            has_bias ? LIN(c, 2, 0) : LNULL, LI(p.G), LI(p.Mg), ember_larg_blob(bg),
                            LOUT(c, 0, n * p.M * p.outsp * F), LI(0), LI(1)));
            TRY(residual_call(L, c, ri, n * p.M * p.outsp, p.M * p.outsp));
            TRY(act_call(L, c, n * p.M * p.outsp, p.M * p.outsp));
            continue;
        }
        for (int64_t gi = 0; gi < p.G; gi++) {
            int64_t xoff = (n * p.C + gi * p.Cg) * p.insp, yoff = (n * p.M + gi * p.Mg) * p.outsp;
            double beta = 0.0;
            if (has_bias) {
                int64_t dims[2] = {p.Mg, p.outsp}, ss[2] = {1, 0}, ds[2] = {p.outsp, 1};
                TRY(ember_lower_copy_strided(L, LIN(c, 2, gi * p.Mg * F), LOUT(c, 0, yoff * F), 2, dims, ss,
                                             ds, sizeof(float)));
                beta = 1.0;
            }
            if (p.pointwise) {
                TRY(EMBER_LCALL(L, "k_sgemm", LI(0), LI(0), LI(p.Mg), LI(p.outsp), LI(K), LF(1.0),
                                LIN(c, 1, gi * p.Mg * K * F), LI(K), LIN(c, 0, xoff * F), LI(p.outsp),
                                LF(beta), LOUT(c, 0, yoff * F), LI(p.outsp), LI(0), LI(1)));
            } else {
                TRY(conv_tiles(L, c, &g, xoff, yoff, gi, K, p.Cg, p.Mg, p.outsp, tile_rows, beta));
            }
            TRY(residual_call(L, c, ri, yoff, p.Mg * p.outsp));
            TRY(act_call(L, c, yoff, p.Mg * p.outsp));
        }
    }
    return EMBER_OK;
}

ember_status ember_lower_gemm(ember_lowered *L, const ember_op_ctx *c)
{
    TRY(all_f32(c));
    const ember_op_tensor *a = c->in[0], *b = c->in[1], *cc = ember_op_in(c, 2);
    int ta = ember_attr_int(c->node, "transA", 0) != 0, tb = ember_attr_int(c->node, "transB", 0) != 0;
    double alpha = ember_attr_float(c->node, "alpha", 1.0f), beta = ember_attr_float(c->node, "beta", 1.0f);
    if (a->rank != 2 || b->rank != 2) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "needs 2-D A and B");
    int64_t M = c->out[0]->dims[0], N = c->out[0]->dims[1], K = a->dims[ta ? 0 : 1];
    double kbeta = 0.0;
    if (cc && beta != 0.0) {
        int64_t cm = cc->rank == 2 ? cc->dims[0] : 1, cn = cc->rank >= 1 ? cc->dims[cc->rank - 1] : 1;
        int64_t dims[2] = {M, N}, ss[2] = {cm == 1 ? 0 : cn, cn == 1 ? 0 : 1}, ds[2] = {N, 1};
        TRY(ember_lower_copy_strided(L, LIN(c, 2, 0), LOUT(c, 0, 0), 2, dims, ss, ds, sizeof(float)));
        if ((float)beta != 1.0f)
            TRY(EMBER_LCALL(L, "k_unary_f32", LI(K_SCALE), LOUT(c, 0, 0), LOUT(c, 0, 0), LI(M * N),
                            LF((float)beta), LF(0.0), LI(0), LI(1)));
        kbeta = 1.0;
    }
    TRY(EMBER_LCALL(L, "k_sgemm", LI(ta), LI(tb), LI(M), LI(N), LI(K), LF((float)alpha), LIN(c, 0, 0),
                    LI(a->dims[1]), LIN(c, 1, 0), LI(b->dims[1]), LF((float)kbeta), LOUT(c, 0, 0), LI(N),
                    LI(0), LI(1)));
    return act_call(L, c, 0, M * N);
}

ember_status ember_lower_matmul(ember_lowered *L, const ember_op_ctx *c)
{
    TRY(all_f32(c));
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(nn_matmul_plan(c, c->in[0], c->in[1], &mm, &rank, dims));
    int64_t M, N = mm.N, K = mm.K, batch;
    nn_mm_calls(&mm, &M, &batch);
    for (int64_t i = 0; i < batch; i++) {
        int64_t ai, bi;
        nn_mm_batch(&mm, i, &ai, &bi);
        TRY(EMBER_LCALL(L, "k_sgemm", LI(0), LI(0), LI(M), LI(N), LI(K), LF(1.0), LIN(c, 0, ai * M * K * F),
                        LI(K), LIN(c, 1, bi * K * N * F), LI(N), LF(0.0), LOUT(c, 0, i * M * N * F), LI(N),
                        LI(0), LI(1)));
    }
    return act_call(L, c, 0, batch * M * N);
}

ember_status ember_lower_pool(ember_lowered *L, const ember_op_ctx *c)
{
    TRY(all_f32(c));
    const ember_op_tensor *x = c->in[0];
    if (x->rank < 3) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input rank %d", x->rank);
    int nd = x->rank - 2;
    nn_window w;
    TRY(nn_window_read(c, nd, NULL, &w));
    if (c->node->op == EMBER_OP_AVERAGE_POOL && c->opset < 19)
        for (int i = 0; i < nd; i++) w.d[i] = 1;
    int64_t in[K_CONV_MAX_SP], out[K_CONV_MAX_SP];
    memcpy(in, x->dims + 2, sizeof(int64_t) * (size_t)nd);
    TRY(nn_window_out(c, &w, in, out));
    k_conv_geom g;
    memset(&g, 0, sizeof g);
    nn_window_geom(&w, in, out, &g);
    int bg = ember_lower_blob(L, &g, sizeof g), bp = ember_lower_blob(L, w.pe, sizeof w.pe);
    if (bg < 0 || bp < 0) return oom();
    int mode = c->node->op == EMBER_OP_MAX_POOL ? K_POOL_MAX : K_POOL_AVG;
    int cip = (int)ember_attr_int(c->node, "count_include_pad", 0) != 0;
    float lp = (float)ember_attr_int(c->node, "p", 2);
    int col_major = (int)ember_attr_int(c->node, "storage_order", 0) == 1;
    return EMBER_LCALL(L, "k_pool_f32", LIN(c, 0, 0), LI(x->dims[0] * x->dims[1]), ember_larg_blob(bg),
                       ember_larg_blob(bp), LI(mode), LI(cip), LF(lp), LI(col_major), LOUT(c, 0, 0), LNULL,
                       LI(0), LI(1));
}

ember_status ember_lower_global_pool(ember_lowered *L, const ember_op_ctx *c)
{
    TRY(all_f32(c));
    const ember_op_tensor *x = c->in[0];
    if (x->rank < 3) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input rank %d", x->rank);
    int mode = c->node->op == EMBER_OP_GLOBAL_MAX_POOL ? K_POOL_MAX : K_POOL_AVG;
    return EMBER_LCALL(L, "k_global_pool_f32", LIN(c, 0, 0), LI(x->dims[0] * x->dims[1]),
                       LI(nn_prod(x->dims, 2, x->rank)), LI(mode), LF((float)ember_attr_int(c->node, "p", 2)),
                       LOUT(c, 0, 0), LI(0), LI(1));
}

ember_status ember_lower_softmax(ember_lowered *L, const ember_op_ctx *c)
{
    TRY(all_f32(c));
    const ember_op_tensor *x = c->in[0];
    int legacy = c->opset < 13, axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", legacy ? 1 : -1), x->rank == 0 ? 1 : x->rank, "axis",
                      &axis));
    int64_t outer = 1, n = 1, inner = 1;
    for (int d = 0; d < x->rank; d++) {
        if (d < axis) outer *= x->dims[d];
        else if (d == axis || legacy) n *= x->dims[d];
        else inner *= x->dims[d];
    }
    int mode = c->node->op == EMBER_OP_LOG_SOFTMAX ? K_LOGSOFTMAX : K_SOFTMAX;
    return EMBER_LCALL(L, "k_softmax_f32", LI(mode), LIN(c, 0, 0), LOUT(c, 0, 0), LI(outer), LI(n), LI(inner),
                       LI(0), LI(1));
}
