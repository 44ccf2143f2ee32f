/* Index-driven reads: Gather, GatherElements, GatherND, Compress. */
#include <string.h>

#include "kernels/copy.h"
#include "kernels/gather.h"
#include "op.h"
#include "op_decls.h"
#include "tensor_util.h"

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int k = from; k < to; k++) {
        if (d[k] < 0) return -1;
        p *= d[k];
    }
    return p;
}

ember_status ember_infer_gather(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *ind = ember_op_in(c, 1);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need_index_type(c, 1, "indices"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    if (x->rank == 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "data must have rank >= 1");
    if (x->rank < 0 || ind->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), x->rank, "axis", &axis));
    int r = x->rank - 1 + ind->rank;
    if (r > EMBER_MAX_RANK) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "output rank %d exceeds %d", r, EMBER_MAX_RANK);
    int map[EMBER_MAX_RANK];
    int64_t dims[EMBER_MAX_RANK];
    for (int k = 0; k < r; k++) {
        if (k < axis) map[k] = k;
        else if (k < axis + ind->rank) map[k] = -1, dims[k] = ind->dims[k - axis];
        else map[k] = k - ind->rank + 1;
    }
    tu_set_out_map(c, 0, x, r, dims, map);
    for (int k = 0; k < ind->rank; k++) c->out[0]->syms[axis + k] = ind->syms[k];
    return EMBER_OK;
}

ember_status ember_run_gather(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *ind = c->in[1];
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), x->rank, "axis", &axis));
    TRY(tu_check_indices(c, ind, x->dims[axis], "index"));
    size_t inner = (size_t)prod(x->dims, axis + 1, x->rank) * ember_dtype_size(x->dtype);
    k_gather(x->data, c->out[0]->data, ind->data, ind->dtype == EMBER_DT_INT64, ember_op_numel(ind),
             prod(x->dims, 0, axis), x->dims[axis], inner, 0, 1);
    return EMBER_OK;
}

/* GatherElements and ScatterElements share this: data and indices of equal rank, indices
 * no larger than data off the axis. */
ember_status tu_elements_check(const ember_op_ctx *c, const ember_op_tensor *x,
                               const ember_op_tensor *ind, int *axis)
{
    *axis = -1;
    if (x->rank == 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "data must have rank >= 1");
    if (x->rank < 0 || ind->rank < 0) return EMBER_OK;
    if (x->rank != ind->rank)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "indices have rank %d, data rank %d", ind->rank, x->rank);
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), x->rank, "axis", axis));
    for (int k = 0; k < x->rank; k++)
        if (k != *axis && x->dims[k] >= 0 && ind->dims[k] > x->dims[k])
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "indices dimension %d is %lld, larger than data's %lld",
                                 k, (long long)ind->dims[k], (long long)x->dims[k]);
    return EMBER_OK;
}

ember_status ember_infer_gatherelements(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *ind = ember_op_in(c, 1);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need_index_type(c, 1, "indices"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    int axis;
    TRY(tu_elements_check(c, x, ind, &axis));
    ember_op_set_out(c, 0, x->dtype, ind->rank, ind->dims);
    if (ind->rank >= 0) memcpy(c->out[0]->syms, ind->syms, sizeof ind->syms);
    return EMBER_OK;
}

ember_status ember_run_gatherelements(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *ind = c->in[1];
    int axis;
    TRY(tu_elements_check(c, x, ind, &axis));
    TRY(tu_check_indices(c, ind, x->dims[axis], "index"));
    int64_t st[EMBER_MAX_RANK];
    k_contiguous_strides(x->rank, x->dims, st);
    k_gather_elements(x->data, c->out[0]->data, ind->data, ind->dtype == EMBER_DT_INT64, ind->rank,
                      ind->dims, st, axis, x->dims[axis], ember_dtype_size(x->dtype));
    return EMBER_OK;
}

/* GatherND / ScatterND: checks each index tuple component j against dims[b + j]. */
ember_status tu_nd_check_indices(const ember_op_ctx *c, const ember_op_tensor *ind, const int64_t *dims,
                                 int k)
{
    int64_t n = ember_op_numel(ind);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = ember_op_get_int(ind, i), d = dims[i % k];
        if (v < -d || v >= d)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "index %lld is out of range for a dimension of size %lld",
                                 (long long)v, (long long)d);
    }
    return EMBER_OK;
}

static ember_status gathernd_check(const ember_op_ctx *c, const ember_op_tensor *x,
                                   const ember_op_tensor *ind, int *b, int *k)
{
    *b = c->opset >= 12 ? (int)ember_attr_int(c->node, "batch_dims", 0) : 0;
    *k = -1;
    if (x->rank == 0 || ind->rank == 0)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "data and indices must have rank >= 1");
    if (x->rank < 0 || ind->rank < 0 || ind->dims[ind->rank - 1] < 0) return EMBER_OK;
    if (*b < 0 || *b >= x->rank || *b >= ind->rank)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "batch_dims %d is out of range", *b);
    int64_t kk = ind->dims[ind->rank - 1];
    if (kk < 1 || kk > x->rank - *b)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "index tuples have length %lld, must be in [1, %d]",
                             (long long)kk, x->rank - *b);
    for (int j = 0; j < *b; j++)
        if (x->dims[j] >= 0 && ind->dims[j] >= 0 && x->dims[j] != ind->dims[j])
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "batch dimension %d is %lld in data and %lld in indices",
                                 j, (long long)x->dims[j], (long long)ind->dims[j]);
    *k = (int)kk;
    return EMBER_OK;
}

ember_status ember_infer_gathernd(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *ind = ember_op_in(c, 1);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need_index_type(c, 1, "indices"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    int b, k;
    TRY(gathernd_check(c, x, ind, &b, &k));
    if (k < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    int r = ind->rank - 1 + x->rank - b - k;
    int64_t dims[EMBER_MAX_RANK];
    int map[EMBER_MAX_RANK];
    for (int j = 0; j < r; j++) {
        map[j] = j < ind->rank - 1 ? -1 : j - (ind->rank - 1) + b + k;
        dims[j] = j < ind->rank - 1 ? ind->dims[j] : 0;
    }
    tu_set_out_map(c, 0, x, r, dims, map);
    return EMBER_OK;
}

ember_status ember_run_gathernd(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *ind = c->in[1];
    int b, k;
    TRY(gathernd_check(c, x, ind, &b, &k));
    TRY(tu_nd_check_indices(c, ind, x->dims + b, k));
    int64_t st[EMBER_MAX_RANK];
    k_contiguous_strides(x->rank, x->dims, st);
    size_t es = ember_dtype_size(x->dtype);
    int64_t batches = prod(x->dims, 0, b), queries = prod(ind->dims, b, ind->rank - 1);
    int64_t batch_stride = b > 0 ? st[b - 1] : 0;
    size_t slab = (size_t)prod(x->dims, b + k, x->rank) * es;
    k_gather_nd(x->data, c->out[0]->data, ind->data, ind->dtype == EMBER_DT_INT64, batches, queries, k,
                x->dims + b, st + b, batch_stride, slab, es, 0, 1);
    return EMBER_OK;
}

/* Compress: axis < 0 when absent (the input is flattened). */
static ember_status compress_axis(const ember_op_ctx *c, const ember_op_tensor *x, int *axis)
{
    *axis = -1;
    const ember_attr *a = ember_node_attr(c->node, "axis");
    if (!a || x->rank < 0) return EMBER_OK;
    if (a->i < 0 && c->opset < 11)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "negative axis needs opset 11");
    return ember_op_axis(c, a->i, x->rank, "axis", axis);
}

static int64_t compress_count(const ember_op_tensor *cond, int64_t dim)
{
    int64_t n = ember_op_numel(cond), cnt = 0;
    if (dim >= 0 && n > dim) n = dim;
    for (int64_t j = 0; j < n; j++) cnt += ((const uint8_t *)cond->data)[j] != 0;
    return cnt;
}

ember_status ember_infer_compress(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *cond = ember_op_in(c, 1);
    TRY(tu_need(c, 0, "input"));
    TRY(tu_need(c, 1, "condition"));
    TRY(tu_need_sized(c, x->dtype, "input"));
    if (cond->dtype != EMBER_DT_BOOL && cond->dtype != EMBER_DT_UNDEFINED)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "condition must be bool, not %s", ember_dtype_name(cond->dtype));
    if (cond->rank > 1) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "condition must be 1-D");
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, ember_node_attr(c->node, "axis") ? -1 : 1, (int64_t[1]){-1});
        return EMBER_OK;
    }
    int axis;
    TRY(compress_axis(c, x, &axis));
    int64_t dim = axis < 0 ? ember_op_numel(x) : x->dims[axis];
    int64_t cnt = cond->data && cond->rank >= 0 && ember_op_numel(cond) >= 0 ? compress_count(cond, dim) : -1;
    /* A longer condition is fine as long as it selects nothing past the end (as numpy). */
    if (c->running)
        for (int64_t j = dim; j < ember_op_numel(cond); j++)
            if (((const uint8_t *)cond->data)[j])
                return ember_op_fail(c, EMBER_E_INVALID_ARG, "condition selects position %lld of a dimension of %lld",
                                     (long long)j, (long long)dim);
    if (axis < 0) {
        ember_op_set_out(c, 0, x->dtype, 1, &cnt);
        return EMBER_OK;
    }
    int map[EMBER_MAX_RANK];
    int64_t dims[EMBER_MAX_RANK];
    for (int k = 0; k < x->rank; k++) map[k] = k;
    map[axis] = -1;
    dims[axis] = cnt;
    tu_set_out_map(c, 0, x, x->rank, dims, map);
    return EMBER_OK;
}

ember_status ember_run_compress(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *cond = c->in[1];
    int axis;
    TRY(compress_axis(c, x, &axis));
    size_t es = ember_dtype_size(x->dtype);
    if (axis < 0)
        k_compress(x->data, c->out[0]->data, cond->data, ember_op_numel(cond), 1, ember_op_numel(x), es);
    else
        k_compress(x->data, c->out[0]->data, cond->data, ember_op_numel(cond), prod(x->dims, 0, axis),
                   x->dims[axis], (size_t)prod(x->dims, axis + 1, x->rank) * es);
    return EMBER_OK;
}
