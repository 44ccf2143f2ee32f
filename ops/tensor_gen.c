/* Ops that produce structured tensors: ConstantOfShape, Range, EyeLike, Trilu, OneHot,
 * plus the small per-matrix/per-sequence ops ReverseSequence and Det. */
#include <math.h>
#include <string.h>

#include "kernels/copy.h"
#include "kernels/det.h"
#include "kernels/eyelike.h"
#include "kernels/onehot.h"
#include "kernels/range.h"
#include "kernels/reversesequence.h"
#include "kernels/trilu.h"
#include "op.h"
#include "op_decls.h"
#include "tensor_util.h"

/* ---- ConstantOfShape ---- */

static ember_status cos_value(const ember_op_ctx *c, ember_dtype *dt, const void **v)
{
    static const float zero = 0.0f;
    const ember_attr *a = ember_node_attr(c->node, "value");
    *dt = EMBER_DT_FLOAT;
    *v = &zero;
    if (!a || !a->t) return EMBER_OK;
    if (ember_dtype_size(a->t->dtype) == 0)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "value has unsupported type %s", ember_dtype_name(a->t->dtype));
    int64_t n = 1;
    for (int k = 0; k < a->t->rank; k++) n *= a->t->dims[k];
    if (n != 1) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "value must hold one element, it has %lld", (long long)n);
    *dt = a->t->dtype;
    *v = a->t->data;
    return EMBER_OK;
}

ember_status ember_infer_constantofshape(ember_op_ctx *c)
{
    ember_dtype dt;
    const void *v;
    TRY(cos_value(c, &dt, &v));
    int64_t dims[EMBER_MAX_RANK];
    int n;
    TRY(tu_read_ints(c, 0, "input", dims, EMBER_MAX_RANK, &n));
    if (n < 0) {
        int len = tu_len(c, 0);
        for (int k = 0; k < EMBER_MAX_RANK; k++) dims[k] = -1;
        if (len > EMBER_MAX_RANK) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "rank %d exceeds %d", len, EMBER_MAX_RANK);
        ember_op_set_out(c, 0, dt, len, dims);
        return EMBER_OK;
    }
    for (int k = 0; k < n; k++)
        if (dims[k] < 0)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "shape has negative dimension %lld", (long long)dims[k]);
    ember_op_set_out(c, 0, dt, n, dims);
    return EMBER_OK;
}

ember_status ember_run_constantofshape(ember_op_ctx *c)
{
    ember_dtype dt;
    const void *v;
    TRY(cos_value(c, &dt, &v));
    k_fill(c->out[0]->data, v, ember_op_numel(c->out[0]), ember_dtype_size(dt));
    return EMBER_OK;
}

/* ---- Range ---- */

ember_status ember_infer_range(ember_op_ctx *c)
{
    for (int i = 0; i < 3; i++) {
        static const char *names[3] = {"start", "limit", "delta"};
        TRY(tu_need(c, i, names[i]));
        const ember_op_tensor *t = c->in[i];
        if (t->dtype != c->in[0]->dtype)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%s is %s, start is %s", names[i],
                                 ember_dtype_name(t->dtype), ember_dtype_name(c->in[0]->dtype));
        if (t->rank > 1 || (t->rank == 1 && t->dims[0] > 1))
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%s must be a scalar", names[i]);
    }
    ember_dtype dt = c->in[0]->dtype;
    if (dt != EMBER_DT_FLOAT && dt != EMBER_DT_DOUBLE && dt != EMBER_DT_INT16 && dt != EMBER_DT_INT32 &&
        dt != EMBER_DT_INT64 && !(dt == EMBER_DT_UNDEFINED && !c->running))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "type %s", ember_dtype_name(dt));
    int64_t n = -1;
    if (c->in[0]->data && c->in[1]->data && c->in[2]->data) {
        double start = ember_op_get_double(c->in[0], 0), limit = ember_op_get_double(c->in[1], 0),
               delta = ember_op_get_double(c->in[2], 0);
        if (delta == 0) return ember_op_fail(c, EMBER_E_INVALID_ARG, "delta is 0");
        double cnt = ceil((limit - start) / delta);
        if (!(cnt < 9e15)) return ember_op_fail(c, EMBER_E_INVALID_ARG, "range is too long");
        n = cnt > 0 ? (int64_t)cnt : 0;
        if (ember_dtype_is_int(dt)) {
            /* Integer ranges count exactly. */
            int64_t s = ember_op_get_int(c->in[0], 0), l = ember_op_get_int(c->in[1], 0),
                    d = ember_op_get_int(c->in[2], 0), diff = l - s;
            n = diff / d + ((diff % d) != 0 && ((diff < 0) == (d < 0)) ? 1 : 0);
            if (n < 0) n = 0;
        }
    }
    ember_op_set_out(c, 0, dt, 1, &n);
    return EMBER_OK;
}

ember_status ember_run_range(ember_op_ctx *c)
{
    ember_op_tensor *o = c->out[0];
    int64_t n = o->dims[0];
    switch (o->dtype) {
    case EMBER_DT_FLOAT:
        k_range_f32(o->data, *(float *)c->in[0]->data, *(float *)c->in[2]->data, n);
        break;
    case EMBER_DT_DOUBLE:
        k_range_f64(o->data, *(double *)c->in[0]->data, *(double *)c->in[2]->data, n);
        break;
    case EMBER_DT_INT16:
        k_range_i16(o->data, *(int16_t *)c->in[0]->data, *(int16_t *)c->in[2]->data, n);
        break;
    case EMBER_DT_INT32:
        k_range_i32(o->data, *(int32_t *)c->in[0]->data, *(int32_t *)c->in[2]->data, n);
        break;
    default: k_range_i64(o->data, *(int64_t *)c->in[0]->data, *(int64_t *)c->in[2]->data, n); break;
    }
    return EMBER_OK;
}

/* ---- EyeLike ---- */

static ember_dtype eyelike_dtype(const ember_op_ctx *c)
{
    return (ember_dtype)ember_attr_int(c->node, "dtype", c->in[0]->dtype);
}

ember_status ember_infer_eyelike(ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "input"));
    const ember_op_tensor *x = c->in[0];
    if (x->rank >= 0 && x->rank != 2)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input must be 2-D, it has rank %d", x->rank);
    ember_dtype dt = eyelike_dtype(c);
    TRY(tu_need_sized(c, dt, "output"));
    unsigned char one[16];
    if (dt != EMBER_DT_UNDEFINED) TRY(tu_from_double(c, dt, 1.0, one));
    int map[2] = {0, 1};
    tu_set_out_map(c, 0, x, x->rank, NULL, x->rank == 2 ? map : NULL);
    c->out[0]->dtype = dt;
    return EMBER_OK;
}

ember_status ember_run_eyelike(ember_op_ctx *c)
{
    ember_op_tensor *o = c->out[0];
    unsigned char one[16];
    TRY(tu_from_double(c, o->dtype, 1.0, one));
    k_eyelike(o->data, o->dims[0], o->dims[1], ember_attr_int(c->node, "k", 0), one, ember_dtype_size(o->dtype));
    return EMBER_OK;
}

/* ---- Trilu ---- */

ember_status ember_infer_trilu(ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "input"));
    const ember_op_tensor *x = c->in[0];
    TRY(tu_need_sized(c, x->dtype, "input"));
    if (x->rank >= 0 && x->rank < 2)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input must have rank >= 2, it has %d", x->rank);
    if (ember_op_in(c, 1)) {
        int64_t k;
        int n;
        TRY(tu_read_ints(c, 1, "k", &k, 1, &n));
        if (c->running && n != 1) return ember_op_fail(c, EMBER_E_INVALID_ARG, "k must hold one value");
    }
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    if (x->rank >= 0) memcpy(c->out[0]->syms, x->syms, sizeof x->syms);
    return EMBER_OK;
}

ember_status ember_run_trilu(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int64_t k = ember_op_in(c, 1) ? ember_op_get_int(c->in[1], 0) : 0;
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
    int64_t n = ember_op_numel(x), batch = (rows * cols) != 0 ? n / (rows * cols) : 0;
    k_trilu(x->data, c->out[0]->data, batch, rows, cols, k, ember_attr_int(c->node, "upper", 1) != 0,
            ember_dtype_size(x->dtype), 0, 1);
    return EMBER_OK;
}

/* ---- OneHot ---- */

ember_status ember_infer_onehot(ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "indices"));
    TRY(tu_need(c, 1, "depth"));
    TRY(tu_need(c, 2, "values"));
    const ember_op_tensor *ind = c->in[0], *depth = c->in[1], *vals = c->in[2];
    TRY(tu_need_sized(c, vals->dtype, "values"));
    if (vals->rank >= 0 && ember_op_numel(vals) >= 0 && ember_op_numel(vals) != 2)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "values must hold [off, on]");
    if (ember_dtype_size(ind->dtype) == 0 && c->running)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "indices of type %s", ember_dtype_name(ind->dtype));
    if (ind->rank < 0) {
        ember_op_set_out(c, 0, vals->dtype, -1, NULL);
        return EMBER_OK;
    }
    int r = ind->rank + 1, axis;
    if (r > EMBER_MAX_RANK) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "rank %d exceeds %d", r, EMBER_MAX_RANK);
    int64_t a = ember_attr_int(c->node, "axis", -1);
    TRY(ember_op_axis(c, a, r, "axis", &axis));
    int64_t d = -1;
    if (depth->data && ember_op_numel(depth) == 1) {
        d = (int64_t)ember_op_get_double(depth, 0);
        if (d < 1) return ember_op_fail(c, EMBER_E_INVALID_ARG, "depth %lld is not positive", (long long)d);
    } else if (c->running) {
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "depth must hold one value");
    }
    int64_t dims[EMBER_MAX_RANK];
    for (int k = 0, j = 0; k < r; k++) dims[k] = k == axis ? d : ind->dims[j++];
    ember_op_set_out(c, 0, vals->dtype, r, dims);
    for (int k = 0, j = 0; k < r; k++)
        if (k != axis) c->out[0]->syms[k] = ind->syms[j++];
    if (c->running) c->scratch_bytes = (size_t)ember_op_numel(ind) * sizeof(int64_t) + 1;
    return EMBER_OK;
}

ember_status ember_run_onehot(ember_op_ctx *c)
{
    const ember_op_tensor *ind = c->in[0], *vals = c->in[2];
    ember_op_tensor *o = c->out[0];
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", -1), o->rank, "axis", &axis));
    int64_t depth = o->dims[axis], n = ember_op_numel(ind), *idx = c->scratch;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = ember_dtype_is_float(ind->dtype) ? (int64_t)ember_op_get_double(ind, i) : ember_op_get_int(ind, i);
        idx[i] = v < 0 && c->opset >= 11 ? v + depth : v;
    }
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; k++) outer *= o->dims[k];
    for (int k = axis + 1; k < o->rank; k++) inner *= o->dims[k];
    size_t es = ember_dtype_size(o->dtype);
    k_onehot(o->data, idx, outer, depth, inner, vals->data, (const char *)vals->data + es, es);
    return EMBER_OK;
}

/* ---- ReverseSequence ---- */

static ember_status revseq_axes(const ember_op_ctx *c, int *tax, int *bax)
{
    *tax = (int)ember_attr_int(c->node, "time_axis", 0);
    *bax = (int)ember_attr_int(c->node, "batch_axis", 1);
    if (!((*tax == 0 && *bax == 1) || (*tax == 1 && *bax == 0)))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "time_axis and batch_axis must be 0 and 1 in some order");
    return EMBER_OK;
}

ember_status ember_infer_reversesequence(ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "input"));
    TRY(tu_need(c, 1, "sequence_lens"));
    const ember_op_tensor *x = c->in[0], *lens = c->in[1];
    TRY(tu_need_sized(c, x->dtype, "input"));
    int tax, bax;
    TRY(revseq_axes(c, &tax, &bax));
    if (lens->dtype != EMBER_DT_INT64 && lens->dtype != EMBER_DT_UNDEFINED)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "sequence_lens must be int64");
    if (x->rank >= 0 && x->rank < 2) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input must have rank >= 2");
    if (x->rank >= 0 && lens->rank >= 0 &&
        (lens->rank != 1 || (x->dims[bax] >= 0 && lens->dims[0] >= 0 && lens->dims[0] != x->dims[bax])))
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "sequence_lens must have one entry per batch");
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    if (x->rank >= 0) memcpy(c->out[0]->syms, x->syms, sizeof x->syms);
    return EMBER_OK;
}

ember_status ember_run_reversesequence(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *lens = c->in[1];
    int tax, bax;
    TRY(revseq_axes(c, &tax, &bax));
    const int64_t *l = lens->data;
    int64_t steps = x->dims[tax], batch = x->dims[bax];
    for (int64_t b = 0; b < batch; b++)
        if (l[b] < 0 || l[b] > steps)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "sequence length %lld is outside [0, %lld]",
                                 (long long)l[b], (long long)steps);
    int64_t st[EMBER_MAX_RANK];
    k_contiguous_strides(x->rank, x->dims, st);
    size_t es = ember_dtype_size(x->dtype);
    k_reverse_sequence(x->data, c->out[0]->data, steps, batch, st[tax], st[bax], l, (size_t)st[1] * es, es, 0, 1);
    return EMBER_OK;
}

/* ---- Det ---- */

ember_status ember_infer_det(ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "X"));
    const ember_op_tensor *x = c->in[0];
    if (x->dtype != EMBER_DT_FLOAT && x->dtype != EMBER_DT_DOUBLE && !(x->dtype == EMBER_DT_UNDEFINED && !c->running))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "type %s (float32 and float64 are supported)",
                             ember_dtype_name(x->dtype));
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    if (x->rank < 2) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input must have rank >= 2");
    int64_t m = x->dims[x->rank - 1];
    if (m >= 0 && x->dims[x->rank - 2] >= 0 && m != x->dims[x->rank - 2])
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "matrices are %lldx%lld, not square",
                             (long long)x->dims[x->rank - 2], (long long)m);
    int map[EMBER_MAX_RANK];
    for (int k = 0; k < x->rank - 2; k++) map[k] = k;
    tu_set_out_map(c, 0, x, x->rank - 2, NULL, map);
    if (c->running) c->scratch_bytes = (size_t)(m * m) * sizeof(double) + 1;
    return EMBER_OK;
}

ember_status ember_run_det(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int64_t m = x->dims[x->rank - 1];
    k_det(x->data, c->out[0]->data, x->dtype == EMBER_DT_DOUBLE, ember_op_numel(c->out[0]), m, c->scratch, 0, 1);
    return EMBER_OK;
}
