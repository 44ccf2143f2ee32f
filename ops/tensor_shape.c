/* Ops that only change how a tensor's shape is read: Reshape, Flatten, Squeeze, Unsqueeze
 * (their data is copied unchanged), and Shape and Size, which report it. */
#include <string.h>

#include "op.h"
#include "op_decls.h"
#include "tensor_util.h"

/* Checks an output shape against the input's element count when both are known. */
static ember_status same_count(const ember_op_ctx *c, const ember_op_tensor *x, int rank,
                               const int64_t *dims)
{
    int64_t in = ember_op_numel(x), out = 1;
    for (int k = 0; k < rank; k++) {
        if (dims[k] < 0) return EMBER_OK;
        out *= dims[k];
    }
    if (in >= 0 && in != out)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "cannot reshape %lld elements into %lld",
                             (long long)in, (long long)out);
    return EMBER_OK;
}

ember_status ember_infer_reshape(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need(c, 1, "shape"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    int64_t shape[EMBER_MAX_RANK];
    int n;
    TRY(tu_read_ints(c, 1, "shape", shape, EMBER_MAX_RANK, &n));
    if (n < 0) {
        int len = tu_len(c, 1);
        if (len > EMBER_MAX_RANK)
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "target rank %d exceeds %d", len, EMBER_MAX_RANK);
        int64_t dims[EMBER_MAX_RANK];
        for (int k = 0; k < EMBER_MAX_RANK; k++) dims[k] = -1;
        ember_op_set_out(c, 0, x->dtype, len, dims);
        return EMBER_OK;
    }
    bool allowzero = c->opset >= 14 && ember_attr_int(c->node, "allowzero", 0) != 0;
    int64_t dims[EMBER_MAX_RANK];
    int map[EMBER_MAX_RANK];
    int infer_at = -1;
    int64_t known = 1; /* product of the dims other than -1, or -1 when one is unknown */
    for (int k = 0; k < n; k++) {
        map[k] = -1;
        dims[k] = shape[k];
        if (shape[k] == -1) {
            if (infer_at >= 0)
                return ember_op_fail(c, EMBER_E_INVALID_MODEL, "shape has more than one -1");
            infer_at = k;
            continue;
        }
        if (shape[k] < -1)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "shape has invalid dimension %lld",
                                 (long long)shape[k]);
        if (shape[k] == 0 && !allowzero) {
            if (x->rank >= 0 && k >= x->rank)
                return ember_op_fail(c, EMBER_E_INVALID_MODEL,
                                     "shape[%d] is 0 (copy) but the input has rank %d", k, x->rank);
            dims[k] = x->rank >= 0 ? x->dims[k] : -1;
            if (x->rank >= 0) map[k] = k;
        }
        if (dims[k] < 0 || known < 0) known = -1;
        else known *= dims[k];
    }
    if (allowzero && infer_at >= 0)
        for (int k = 0; k < n; k++)
            if (shape[k] == 0)
                return ember_op_fail(c, EMBER_E_INVALID_MODEL, "allowzero with both 0 and -1 in shape");
    if (infer_at >= 0) {
        int64_t total = ember_op_numel(x);
        if (total >= 0 && known >= 0) {
            if (known == 0 || total % known != 0)
                return ember_op_fail(c, EMBER_E_INVALID_ARG, "cannot reshape %lld elements to a shape "
                                     "with a -1 and the other dimensions multiplying to %lld",
                                     (long long)total, (long long)known);
            dims[infer_at] = total / known;
        }
    }
    TRY(same_count(c, x, n, dims));
    tu_set_out_map(c, 0, x, n, dims, map);
    return EMBER_OK;
}

ember_status ember_run_reshape(ember_op_ctx *c) { return tu_run_copy(c); }

ember_status ember_infer_flatten(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "input"));
    TRY(tu_need_sized(c, x->dtype, "input"));
    int64_t axis = ember_attr_int(c->node, "axis", 1);
    int64_t dims[2] = {-1, -1};
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, 2, dims);
        return EMBER_OK;
    }
    if (axis < -x->rank || axis > x->rank || (axis < 0 && c->opset < 11))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "axis %lld is out of range for rank %d",
                             (long long)axis, x->rank);
    if (axis < 0) axis += x->rank;
    dims[0] = dims[1] = 1;
    for (int k = 0; k < x->rank; k++) {
        int64_t *d = &dims[k < axis ? 0 : 1];
        if (x->dims[k] < 0 || *d < 0) *d = -1;
        else *d *= x->dims[k];
    }
    ember_op_set_out(c, 0, x->dtype, 2, dims);
    return EMBER_OK;
}

ember_status ember_run_flatten(ember_op_ctx *c) { return tu_run_copy(c); }

ember_status ember_infer_squeeze(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    int axes[EMBER_MAX_RANK * 2], n;
    TRY(tu_axes(c, "axes", 13, 1, x->rank, axes, &n));
    if (n < 0 || x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    bool drop[EMBER_MAX_RANK] = {false};
    for (int k = 0; k < n; k++) {
        if (x->dims[axes[k]] >= 0 && x->dims[axes[k]] != 1)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "cannot squeeze axis %d of size %lld", axes[k],
                                 (long long)x->dims[axes[k]]);
        drop[axes[k]] = true;
    }
    if (n == 0) {
        /* No axes: every size-1 dim goes, so all dims must be known. */
        for (int k = 0; k < x->rank; k++) {
            if (x->dims[k] < 0) {
                ember_op_set_out(c, 0, x->dtype, -1, NULL);
                return EMBER_OK;
            }
            drop[k] = x->dims[k] == 1;
        }
    }
    int map[EMBER_MAX_RANK], r = 0;
    for (int k = 0; k < x->rank; k++)
        if (!drop[k]) map[r++] = k;
    tu_set_out_map(c, 0, x, r, NULL, map);
    return EMBER_OK;
}

ember_status ember_run_squeeze(ember_op_ctx *c) { return tu_run_copy(c); }

ember_status ember_infer_unsqueeze(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    if (c->opset >= 13) TRY(tu_need(c, 1, "axes"));
    else if (!ember_node_attr(c->node, "axes"))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute 'axes' is missing");
    int len = c->opset >= 13 ? tu_len(c, 1) : ember_attr_ints(c->node, "axes", &(const int64_t *){0});
    if (x->rank < 0 || len < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    int r = x->rank + len;
    if (r > EMBER_MAX_RANK)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "output rank %d exceeds %d", r, EMBER_MAX_RANK);
    int axes[EMBER_MAX_RANK * 2], n;
    TRY(tu_axes(c, "axes", 13, 1, r, axes, &n));
    if (n < 0) {
        ember_op_set_out(c, 0, x->dtype, r, (int64_t[EMBER_MAX_RANK]){-1, -1, -1, -1, -1, -1, -1, -1});
        return EMBER_OK;
    }
    bool add[EMBER_MAX_RANK] = {false};
    for (int k = 0; k < n; k++) add[axes[k]] = true;
    int map[EMBER_MAX_RANK];
    int64_t dims[EMBER_MAX_RANK];
    for (int k = 0, j = 0; k < r; k++) {
        map[k] = add[k] ? -1 : j++;
        dims[k] = 1;
    }
    tu_set_out_map(c, 0, x, r, dims, map);
    return EMBER_OK;
}

ember_status ember_run_unsqueeze(ember_op_ctx *c) { return tu_run_copy(c); }

/* Shape's [start, end) window (opset 15), clamped to [0, rank]. */
static void shape_window(const ember_op_ctx *c, int rank, int *start, int *end)
{
    int64_t s = 0, e = rank;
    if (c->opset >= 15) {
        s = ember_attr_int(c->node, "start", 0);
        e = ember_attr_int(c->node, "end", rank);
    }
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    s = s < 0 ? 0 : s > rank ? rank : s;
    e = e < 0 ? 0 : e > rank ? rank : e;
    *start = (int)s;
    *end = (int)(e > s ? e : s);
}

ember_status ember_infer_shape(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "data"));
    int64_t len = -1;
    if (x->rank >= 0) {
        int s, e;
        shape_window(c, x->rank, &s, &e);
        len = e - s;
    }
    ember_op_set_out(c, 0, EMBER_DT_INT64, 1, &len);
    return EMBER_OK;
}

ember_status ember_run_shape(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int s, e;
    shape_window(c, x->rank, &s, &e);
    int64_t *o = c->out[0]->data;
    for (int k = s; k < e; k++) o[k - s] = x->dims[k];
    return EMBER_OK;
}

ember_status ember_infer_size(ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "data"));
    ember_op_set_out(c, 0, EMBER_DT_INT64, 0, NULL);
    return EMBER_OK;
}

ember_status ember_run_size(ember_op_ctx *c)
{
    *(int64_t *)c->out[0]->data = ember_op_numel(c->in[0]);
    return EMBER_OK;
}
