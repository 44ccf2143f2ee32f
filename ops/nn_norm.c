/* BatchNormalization, InstanceNormalization, LayerNormalization, LRN and
 * MeanVarianceNormalization (float32). */
#include <string.h>

#include "kernels/batchnorm.h"
#include "kernels/norm.h"
#include "nn_common.h"
#include "op_decls.h"

/* Input i must be float32 and, when its shape is known, a vector of n (n -1 = unknown). */
static ember_status need_vec(const ember_op_ctx *c, int i, int64_t n, const char *what)
{
    const ember_op_tensor *t = ember_op_in(c, i);
    if (!t) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %s is required", what);
    TRY(nn_need_f32(c, t, what));
    if (t->rank >= 0 && (t->rank != 1 || (n >= 0 && t->dims[0] >= 0 && t->dims[0] != n)))
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "%s must be a vector of %lld values", what,
                             (long long)n);
    return EMBER_OK;
}

/* Batch statistics are used in opset 14+ training_mode and in opset 6 without is_test. */
static int bn_training(const ember_op_ctx *c)
{
    if (c->opset < 7) return ember_attr_int(c->node, "is_test", 0) == 0;
    return c->opset >= 14 && ember_attr_int(c->node, "training_mode", 0) != 0;
}

ember_status ember_infer_batch_normalization(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input X");
    TRY(nn_need_f32(c, x, "X"));
    if (x->rank >= 0 && x->rank < 2)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "X has rank %d, needs at least 2", x->rank);
    if (c->opset < 9 && ember_attr_int(c->node, "spatial", 1) == 0)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "spatial = 0 is not supported");
    int64_t C = x->rank >= 2 ? x->dims[1] : -1;
    static const char *names[4] = {"scale", "B", "mean", "var"};
    for (int i = 0; i < 4; i++) TRY(need_vec(c, 1 + i, C, names[i]));
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    int extra = 0;
    for (int o = 1; o < c->n_out; o++)
        if (c->out[o]) extra = o;
    if (extra) {
        if (!bn_training(c) || c->opset < 14 || extra > 2)
            return ember_op_fail(c, EMBER_E_UNSUPPORTED,
                                 "training outputs other than running mean/var (opset 14+ "
                                 "training_mode) are not supported");
        int64_t d[1] = {C};
        ember_op_set_out(c, 1, EMBER_DT_FLOAT, 1, d);
        ember_op_set_out(c, 2, EMBER_DT_FLOAT, 1, d);
    }
    if (bn_training(c) && C >= 0) c->scratch_bytes = (size_t)(2 * C) * sizeof(float);
    return EMBER_OK;
}

ember_status ember_run_batch_normalization(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int64_t N = x->dims[0], C = x->dims[1], sp = nn_prod(x->dims, 2, x->rank);
    float eps = ember_attr_float(c->node, "epsilon", 1e-5f);
    const float *scale = c->in[1]->data, *bias = c->in[2]->data;
    const float *mean = c->in[3]->data, *var = c->in[4]->data;
    if (bn_training(c)) {
        float *bm = c->scratch, *bv = bm + C;
        float mom = ember_attr_float(c->node, "momentum", 0.9f);
        k_channel_moments_f32(x->data, N, C, sp, bm, bv, 0, 1);
        for (int o = 1; o <= 2; o++) {
            if (o >= c->n_out || !c->out[o]) continue;
            const float *run = o == 1 ? mean : var, *cur = o == 1 ? bm : bv;
            float *dst = c->out[o]->data;
            for (int64_t i = 0; i < C; i++) dst[i] = run[i] * mom + cur[i] * (1.0f - mom);
        }
        mean = bm;
        var = bv;
    }
    k_batchnorm_f32(x->data, N, C, sp, scale, bias, mean, var, eps, c->out[0]->data, 0, 1);
    return EMBER_OK;
}

ember_status ember_infer_instance_normalization(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input X");
    TRY(nn_need_f32(c, x, "X"));
    if (x->rank >= 0 && x->rank < 3)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "X has rank %d, needs at least 3", x->rank);
    int64_t C = x->rank >= 2 ? x->dims[1] : -1;
    TRY(need_vec(c, 1, C, "scale"));
    TRY(need_vec(c, 2, C, "B"));
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    return EMBER_OK;
}

ember_status ember_run_instance_normalization(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int64_t C = x->dims[1];
    k_norm_rows_f32(x->data, x->dims[0] * C, nn_prod(x->dims, 2, x->rank),
                    ember_attr_float(c->node, "epsilon", 1e-5f), c->in[1]->data, c->in[2]->data,
                    C, c->out[0]->data, NULL, NULL, 0, 1);
    return EMBER_OK;
}

/* LayerNormalization: scale and bias broadcast to the normalized shape dims[axis:]. */
static ember_status ln_check_param(const ember_op_ctx *c, int i, const ember_op_tensor *x, int axis,
                                   int *exact)
{
    const ember_op_tensor *t = ember_op_in(c, i);
    *exact = 1;
    if (!t) return EMBER_OK;
    TRY(nn_need_f32(c, t, i == 1 ? "Scale" : "B"));
    if (t->rank < 0 || x->rank < 0) return EMBER_OK;
    int nr = x->rank - axis;
    if (t->rank > nr)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "%s has rank %d, more than the %d normalized dims",
                             i == 1 ? "Scale" : "B", t->rank, nr);
    if (t->rank != nr) *exact = 0;
    for (int k = 0; k < t->rank; k++) {
        int64_t d = t->dims[k], w = x->dims[x->rank - t->rank + k];
        if (d >= 0 && w >= 0 && d != w) {
            if (d != 1)
                return ember_op_fail(c, EMBER_E_INVALID_ARG, "%s dim %d is %lld, expected %lld or 1",
                                     i == 1 ? "Scale" : "B", k, (long long)d, (long long)w);
            *exact = 0;
        }
    }
    return EMBER_OK;
}

static ember_status ln_prepare(ember_op_ctx *c, int *axis, int *exact_s, int *exact_b)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x || !ember_op_in(c, 1))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs X and Scale");
    TRY(nn_need_f32(c, x, "X"));
    *axis = 0;
    *exact_s = *exact_b = 1;
    if (x->rank < 0) return EMBER_OK;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", -1), x->rank, "axis", axis));
    TRY(ln_check_param(c, 1, x, *axis, exact_s));
    TRY(ln_check_param(c, 2, x, *axis, exact_b));
    return EMBER_OK;
}

ember_status ember_infer_layer_normalization(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int axis = 0, es = 0, eb = 0;
    TRY(ln_prepare(c, &axis, &es, &eb));
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    int64_t d[EMBER_MAX_RANK];
    for (int i = 0; i < x->rank; i++) d[i] = i < axis ? x->dims[i] : 1;
    ember_op_set_out(c, 1, EMBER_DT_FLOAT, x->rank, d);
    ember_op_set_out(c, 2, EMBER_DT_FLOAT, x->rank, d);
    int64_t cols = x->rank >= 0 ? nn_prod(x->dims, axis, x->rank) : -1;
    if (cols >= 0 && (!es || !eb)) c->scratch_bytes = (size_t)(2 * cols) * sizeof(float);
    return EMBER_OK;
}

/* Expands a broadcast parameter to the full normalized shape. */
static void ln_expand(const ember_op_tensor *t, const ember_op_tensor *x, int axis, float *dst)
{
    int nr = x->rank - axis;
    int64_t cols = nn_prod(x->dims, axis, x->rank), o[EMBER_MAX_RANK] = {0};
    const float *v = t->data;
    for (int64_t i = 0; i < cols; i++) {
        int64_t k = 0;
        for (int d = nr - t->rank; d < nr; d++) {
            int64_t td = t->dims[d - (nr - t->rank)];
            k = k * td + (td == 1 ? 0 : o[d]);
        }
        dst[i] = v[k];
        for (int d = nr - 1; d >= 0; d--) {
            if (++o[d] < x->dims[axis + d]) break;
            o[d] = 0;
        }
    }
}

/* LayerNormalization rows split between the run's threads (c->pool). */
typedef struct ln_job {
    const float *x, *scale, *bias;
    int64_t rows, cols;
    float eps;
    float *y, *mean, *inv;
} ln_job;

static void ln_share(void *ctx, int ith, int nth)
{
    const ln_job *j = ctx;
    k_norm_rows_f32(j->x, j->rows, j->cols, j->eps, j->scale, j->bias, 0, j->y, j->mean, j->inv, ith, nth);
}

ember_status ember_run_layer_normalization(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *s = c->in[1], *b = ember_op_in(c, 2);
    int axis = 0, es = 0, eb = 0;
    TRY(ln_prepare(c, &axis, &es, &eb));
    int64_t rows = nn_prod(x->dims, 0, axis), cols = nn_prod(x->dims, axis, x->rank);
    const float *sv = s->data, *bv = b ? b->data : NULL;
    float *tmp = c->scratch;
    if (!es) ln_expand(s, x, axis, tmp), sv = tmp;
    if (b && !eb) ln_expand(b, x, axis, tmp + cols), bv = tmp + cols;
    float *mo = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    float *io = c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL;
    ln_job j = {x->data, sv, bv, rows, cols, ember_attr_float(c->node, "epsilon", 1e-5f), c->out[0]->data, mo, io};
    int shares = ember_threadpool_shares(c->pool, rows * cols, 4096);
    ember_threadpool_run(c->pool, ln_share, &j, (int)(shares < rows ? shares : rows ? rows : 1));
    return EMBER_OK;
}

ember_status ember_infer_lrn(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input X");
    TRY(nn_need_f32(c, x, "X"));
    if (x->rank >= 0 && x->rank < 3)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "X has rank %d, needs at least 3", x->rank);
    if (ember_attr_int(c->node, "size", 0) < 1)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute 'size' must be positive");
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    return EMBER_OK;
}

ember_status ember_run_lrn(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    k_lrn_f32(x->data, x->dims[0], x->dims[1], nn_prod(x->dims, 2, x->rank),
              ember_attr_int(c->node, "size", 1), ember_attr_float(c->node, "alpha", 1e-4f),
              ember_attr_float(c->node, "beta", 0.75f), ember_attr_float(c->node, "bias", 1.0f),
              c->out[0]->data, 0, 1);
    return EMBER_OK;
}

static ember_status mvn_axes(const ember_op_ctx *c, int rank, int *reduce)
{
    const int64_t *v;
    int n = ember_attr_ints(c->node, "axes", &v);
    static const int64_t dflt[3] = {0, 2, 3};
    if (n < 0) {
        if (rank != 4)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "default axes need a rank-4 input, got %d", rank);
        v = dflt, n = 3;
    }
    for (int i = 0; i < rank; i++) reduce[i] = 0;
    for (int i = 0; i < n; i++) {
        int a;
        TRY(ember_op_axis(c, v[i], rank, "axes", &a));
        reduce[a] = 1;
    }
    return EMBER_OK;
}

ember_status ember_infer_mean_variance_normalization(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input X");
    TRY(nn_need_f32(c, x, "X"));
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    if (x->rank < 0) return EMBER_OK;
    int reduce[EMBER_MAX_RANK];
    TRY(mvn_axes(c, x->rank, reduce));
    int64_t kept = 1;
    for (int i = 0; i < x->rank; i++)
        if (!reduce[i]) kept = x->dims[i] < 0 || kept < 0 ? -1 : kept * x->dims[i];
    if (kept >= 0) c->scratch_bytes = (size_t)(2 * kept) * sizeof(double);
    return EMBER_OK;
}

ember_status ember_run_mean_variance_normalization(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int reduce[EMBER_MAX_RANK];
    TRY(mvn_axes(c, x->rank, reduce));
    k_mvn_f32(x->data, x->rank, x->dims, reduce, 1e-9f, c->scratch, c->out[0]->data);
    return EMBER_OK;
}
