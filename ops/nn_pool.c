/* MaxPool, AveragePool, LpPool, the global pools and MaxUnpool. Kernels compute in
 * float32; float16/bfloat16/int8/uint8 inputs are staged through scratch. */
#include <string.h>

#include "kernels/pool.h"
#include "nn_common.h"
#include "op_decls.h"

typedef struct pool_plan {
    nn_window w;
    int64_t rows, insp, outsp;
    int64_t in[K_CONV_MAX_SP], out[K_CONV_MAX_SP];
    int rank;
} pool_plan;

/* Checks X, reads the window and computes the output shape (rank -1 when unknown). */
static ember_status pool_plan_build(ember_op_ctx *c, pool_plan *p, int allow_int)
{
    memset(p, 0, sizeof *p);
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input X");
    if (!nn_f32_convertible(x->dtype) ||
        (!allow_int && (x->dtype == EMBER_DT_INT8 || x->dtype == EMBER_DT_UINT8)))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input of type %s is not supported",
                             ember_dtype_name(x->dtype));
    p->rank = x->rank;
    if (x->rank < 0) return EMBER_OK;
    if (x->rank < 3)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input has rank %d, needs at least 3", x->rank);
    int nd = x->rank - 2;
    TRY(nn_window_read(c, nd, NULL, &p->w));
    if (c->node->op == EMBER_OP_AVERAGE_POOL && c->opset < 19)
        for (int i = 0; i < nd; i++) p->w.d[i] = 1; /* no dilations before opset 19 */
    memcpy(p->in, x->dims + 2, sizeof(int64_t) * (size_t)nd);
    TRY(nn_window_out(c, &p->w, p->in, p->out));
    p->rows = x->dims[0] * x->dims[1];
    p->insp = nn_prod(p->in, 0, nd);
    p->outsp = nn_prod(p->out, 0, nd);
    return EMBER_OK;
}

static void pool_out_dims(const ember_op_tensor *x, const pool_plan *p, int64_t *dims)
{
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    memcpy(dims + 2, p->out, sizeof(int64_t) * (size_t)p->w.nd);
}

static ember_status pool_infer(ember_op_ctx *c, int allow_int)
{
    pool_plan p;
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(pool_plan_build(c, &p, allow_int));
    if (p.rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        ember_op_set_out(c, 1, EMBER_DT_INT64, -1, NULL);
        return EMBER_OK;
    }
    int64_t dims[EMBER_MAX_RANK];
    pool_out_dims(x, &p, dims);
    ember_op_set_out(c, 0, x->dtype, p.rank, dims);
    if (c->n_out > 1 && c->out[1]) {
        if (c->node->op != EMBER_OP_MAX_POOL)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "has one output only");
        ember_op_set_out(c, 1, EMBER_DT_INT64, p.rank, dims);
    }
    if (x->dtype != EMBER_DT_FLOAT && p.rows >= 0 && p.insp >= 0 && p.outsp >= 0)
        c->scratch_bytes = (size_t)(p.rows * (p.insp + p.outsp)) * sizeof(float);
    return EMBER_OK;
}

static ember_status pool_run(ember_op_ctx *c, int mode)
{
    pool_plan p;
    TRY(pool_plan_build(c, &p, mode == K_POOL_MAX));
    const ember_op_tensor *x = c->in[0];
    const float *xf = x->data;
    float *yf = c->out[0]->data;
    if (x->dtype != EMBER_DT_FLOAT) {
        float *s = c->scratch;
        nn_to_f32(x, s);
        xf = s;
        yf = s + p.rows * p.insp;
    }
    k_conv_geom g;
    nn_window_geom(&p.w, p.in, p.out, &g);
    int cip = (int)ember_attr_int(c->node, "count_include_pad", 0) != 0;
    float lp = (float)ember_attr_int(c->node, "p", 2);
    int col_major = (int)ember_attr_int(c->node, "storage_order", 0) == 1;
    int64_t *idx = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    k_pool_f32(xf, p.rows, &g, p.w.pe, mode, cip, lp, col_major, yf, idx, 0, 1);
    if (x->dtype != EMBER_DT_FLOAT) nn_from_f32(yf, p.rows * p.outsp, c->out[0]);
    return EMBER_OK;
}

ember_status ember_infer_max_pool(ember_op_ctx *c) { return pool_infer(c, 1); }
ember_status ember_run_max_pool(ember_op_ctx *c) { return pool_run(c, K_POOL_MAX); }
ember_status ember_infer_average_pool(ember_op_ctx *c) { return pool_infer(c, 0); }
ember_status ember_run_average_pool(ember_op_ctx *c) { return pool_run(c, K_POOL_AVG); }
ember_status ember_infer_lp_pool(ember_op_ctx *c) { return pool_infer(c, 0); }
ember_status ember_run_lp_pool(ember_op_ctx *c) { return pool_run(c, K_POOL_LP); }

/* Global pools: [N, C, ...] -> [N, C, 1, ...]. */
static ember_status global_infer(ember_op_ctx *c, int allow_int)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input X");
    if (!nn_f32_convertible(x->dtype) ||
        (!allow_int && (x->dtype == EMBER_DT_INT8 || x->dtype == EMBER_DT_UINT8)))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input of type %s is not supported",
                             ember_dtype_name(x->dtype));
    if (x->rank >= 0 && x->rank < 3)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input has rank %d, needs at least 3", x->rank);
    int64_t dims[EMBER_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    ember_op_set_out(c, 0, x->dtype, x->rank, dims);
    int64_t n = ember_op_numel(x);
    if (x->dtype != EMBER_DT_FLOAT && n >= 0 && x->rank >= 2)
        c->scratch_bytes = (size_t)(n + x->dims[0] * x->dims[1]) * sizeof(float);
    return EMBER_OK;
}

static ember_status global_run(ember_op_ctx *c, int mode)
{
    const ember_op_tensor *x = c->in[0];
    int64_t rows = x->dims[0] * x->dims[1], sp = nn_prod(x->dims, 2, x->rank);
    const float *xf = x->data;
    float *yf = c->out[0]->data;
    if (x->dtype != EMBER_DT_FLOAT) {
        float *s = c->scratch;
        nn_to_f32(x, s);
        xf = s;
        yf = s + rows * sp;
    }
    k_global_pool_f32(xf, rows, sp, mode, (float)ember_attr_int(c->node, "p", 2), yf, 0, 1);
    if (x->dtype != EMBER_DT_FLOAT) nn_from_f32(yf, rows, c->out[0]);
    return EMBER_OK;
}

ember_status ember_infer_global_average_pool(ember_op_ctx *c) { return global_infer(c, 0); }
ember_status ember_run_global_average_pool(ember_op_ctx *c) { return global_run(c, K_POOL_AVG); }
ember_status ember_infer_global_max_pool(ember_op_ctx *c) { return global_infer(c, 1); }
ember_status ember_run_global_max_pool(ember_op_ctx *c) { return global_run(c, K_POOL_MAX); }
ember_status ember_infer_global_lp_pool(ember_op_ctx *c) { return global_infer(c, 0); }
ember_status ember_run_global_lp_pool(ember_op_ctx *c) { return global_run(c, K_POOL_LP); }

/* MaxUnpool: zeros with X scattered to the flattened positions in I. */
ember_status ember_infer_max_unpool(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *ind = ember_op_in(c, 1), *os = ember_op_in(c, 2);
    if (!x || !ind) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs X and I");
    TRY(nn_need_f32(c, x, "X"));
    if (ind->dtype != EMBER_DT_INT64)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "I must be int64");
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    if (x->rank < 3)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input has rank %d, needs at least 3", x->rank);
    if (ind->rank >= 0 && ind->rank != x->rank)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "I must have X's shape");
    int nd = x->rank - 2;
    nn_window w;
    TRY(nn_window_read(c, nd, NULL, &w));
    int64_t dims[EMBER_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    if (os) {
        if (os->rank != 1 || (os->dims[0] >= 0 && os->dims[0] != x->rank))
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "output_shape must hold %d values", x->rank);
        if (!ember_op_in_known(c, 2)) {
            for (int i = 0; i < x->rank; i++) dims[i] = -1;
        } else
            for (int i = 0; i < x->rank; i++) dims[i] = ember_op_get_int(os, i);
    } else {
        for (int i = 0; i < nd; i++)
            dims[2 + i] = x->dims[2 + i] < 0 ? -1
                          : (x->dims[2 + i] - 1) * w.s[i] + w.k[i] - w.pb[i] - w.pe[i];
    }
    ember_op_set_out(c, 0, x->dtype, x->rank, dims);
    return EMBER_OK;
}

ember_status ember_run_max_unpool(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *ind = c->in[1];
    ember_op_tensor *y = c->out[0];
    int nd = x->rank - 2;
    nn_window w;
    TRY(nn_window_read(c, nd, NULL, &w));
    /* Indices address the default output shape; an explicit output_shape keeps each
     * element's spatial coordinates. */
    int64_t dflt[K_CONV_MAX_SP];
    for (int i = 0; i < nd; i++) dflt[i] = (x->dims[2 + i] - 1) * w.s[i] + w.k[i] - w.pb[i] - w.pe[i];
    for (int i = 0; i < nd; i++)
        if (dflt[i] < 1) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "pads exceed the unpooled size");
    int64_t dsp = nn_prod(dflt, 0, nd), ysp = nn_prod(y->dims, 2, y->rank);
    int64_t planes = x->dims[0] * x->dims[1], per = nn_prod(x->dims, 2, x->rank);
    const float *xv = x->data;
    const int64_t *iv = ind->data;
    float *yv = y->data;
    memset(yv, 0, y->nbytes);
    for (int64_t pl = 0; pl < planes && pl < y->dims[0] * y->dims[1]; pl++)
        for (int64_t i = pl * per; i < (pl + 1) * per; i++) {
            int64_t off = iv[i] - pl * dsp;
            if (off < 0 || off >= dsp)
                return ember_op_fail(c, EMBER_E_INVALID_ARG, "index %lld is outside its plane",
                                     (long long)iv[i]);
            int64_t q = 0, mul = 1, rest = off, ok = 1;
            for (int d = nd - 1; d >= 0; d--) {
                int64_t coord = rest % dflt[d];
                rest /= dflt[d];
                if (coord >= y->dims[2 + d]) ok = 0;
                q += coord * mul;
                mul *= y->dims[2 + d];
            }
            if (!ok)
                return ember_op_fail(c, EMBER_E_INVALID_ARG, "index %lld does not fit output_shape",
                                     (long long)iv[i]);
            yv[pl * ysp + q] = xv[i];
        }
    return EMBER_OK;
}
