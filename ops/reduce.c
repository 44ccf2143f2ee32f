/* Reduce* ops, ArgMax/ArgMin and CumSum. */
#include <string.h>

#include "elementwise.h"
#include "kernels/cast.h"
#include "kernels/cumsum.h"
#include "kernels/reduce.h"
#include "op_decls.h"

typedef struct reduce_info {
    int acc, fin;   /* enum k_racc, k_rfin */
    bool two_pass;  /* LogSumExp: a max pass provides the shift */
    bool axes_input; /* axes come from input 1 rather than the attribute */
} reduce_info;

static void reduce_of(const ember_op_ctx *c, reduce_info *r)
{
    memset(r, 0, sizeof *r);
    r->axes_input = c->opset >= 18;
    switch (c->node->op) {
    case EMBER_OP_REDUCE_SUM: r->acc = K_RACC_SUM, r->axes_input = c->opset >= 13; break;
    case EMBER_OP_REDUCE_MEAN: r->acc = K_RACC_SUM, r->fin = K_RFIN_MEAN; break;
    case EMBER_OP_REDUCE_MAX: r->acc = K_RACC_MAX; break;
    case EMBER_OP_REDUCE_MIN: r->acc = K_RACC_MIN; break;
    case EMBER_OP_REDUCE_PROD: r->acc = K_RACC_PROD; break;
    case EMBER_OP_REDUCE_L1: r->acc = K_RACC_ABS; break;
    case EMBER_OP_REDUCE_L2: r->acc = K_RACC_SQ, r->fin = K_RFIN_SQRT; break;
    case EMBER_OP_REDUCE_LOG_SUM: r->acc = K_RACC_SUM, r->fin = K_RFIN_LOG; break;
    case EMBER_OP_REDUCE_LOG_SUM_EXP:
        r->acc = K_RACC_EXP, r->fin = K_RFIN_LOG_SHIFT, r->two_pass = true;
        break;
    default: r->acc = K_RACC_SQ; break; /* ReduceSumSquare */
    }
}

/* Which axes are reduced. *known false: they come from an input not known yet.
 * *noop: empty axes with noop_with_empty_axes, i.e. the identity. */
static ember_status reduce_axes(const ember_op_ctx *c, const reduce_info *r, int rank,
                                bool *mask, bool *known, bool *noop)
{
    const int64_t *axes = NULL;
    int n = 0;
    *known = true;
    *noop = false;
    const ember_op_tensor *ta = r->axes_input ? ember_op_in(c, 1) : NULL;
    if (ta) {
        TRY(ew_check_dtype(c, "axes", ta->dtype, EW_SINT));
        if (!ta->data) {
            *known = false;
            return EMBER_OK;
        }
        if (ta->rank > 1) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "axes must be 1-D");
        n = (int)ember_op_numel(ta);
    } else if (!r->axes_input) {
        n = ember_attr_ints(c->node, "axes", &axes);
        if (n < 0) n = 0;
    }
    if (n > EMBER_MAX_RANK)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "axes has %d entries", n);
    for (int d = 0; d < rank; d++) mask[d] = n == 0;
    if (n == 0) {
        *noop = ember_attr_int(c->node, "noop_with_empty_axes", 0) != 0;
        if (*noop)
            for (int d = 0; d < rank; d++) mask[d] = false;
        return EMBER_OK;
    }
    for (int i = 0; i < n; i++) {
        int64_t v = ta ? ember_op_get_int(ta, i) : axes[i];
        int ax;
        TRY(ember_op_axis(c, v, rank, "axis", &ax));
        if (mask[ax])
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "axis %lld is listed twice", (long long)v);
        mask[ax] = true;
    }
    return EMBER_OK;
}

/* Integer inputs accumulate exactly in int64 for the ops where that is meaningful. */
static bool reduce_int_path(ember_dtype dt, const reduce_info *r)
{
    unsigned cls = ew_dtype_class(dt);
    if (!(cls & EW_INT) || dt == EMBER_DT_UINT64) return false;
    return r->fin == K_RFIN_NONE || r->fin == K_RFIN_MEAN;
}

ember_status ember_infer_reduce(ember_op_ctx *c)
{
    reduce_info r;
    reduce_of(c, &r);
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs an input");
    TRY(ew_check_dtype(c, "input", x->dtype, EW_NUM));
    bool keep = ember_attr_int(c->node, "keepdims", 1) != 0;
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    bool mask[EMBER_MAX_RANK], known, noop;
    TRY(reduce_axes(c, &r, x->rank, mask, &known, &noop));
    if (!known) {
        int64_t dims[EMBER_MAX_RANK];
        for (int d = 0; d < x->rank; d++) dims[d] = -1;
        ember_op_set_out(c, 0, x->dtype, keep ? x->rank : -1, dims);
        return EMBER_OK;
    }
    int64_t dims[EMBER_MAX_RANK];
    int32_t syms[EMBER_MAX_RANK];
    int orank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (mask[d] && !keep) continue;
        syms[orank] = mask[d] ? -1 : x->syms[d];
        dims[orank++] = mask[d] ? 1 : x->dims[d];
    }
    ember_op_set_out(c, 0, x->dtype, orank, dims);
    if (c->out[0]) memcpy(c->out[0]->syms, syms, sizeof(int32_t) * (size_t)orank);
    int64_t ny = ember_op_numel(c->out[0]);
    int64_t nx = ember_op_numel(x);
    if (ny >= 0 && nx >= 0 && !noop) {
        c->scratch_bytes = (size_t)ny * 8 * (r.two_pass ? 2 : 1);
        if (!(ew_dtype_class(x->dtype) & EW_FLOAT) && !reduce_int_path(x->dtype, &r))
            c->scratch_bytes += (size_t)nx * sizeof(double);
    }
    return EMBER_OK;
}

ember_status ember_run_reduce(ember_op_ctx *c)
{
    reduce_info r;
    reduce_of(c, &r);
    const ember_op_tensor *x = c->in[0];
    ember_op_tensor *y = c->out[0];
    bool mask[EMBER_MAX_RANK], known, noop;
    TRY(reduce_axes(c, &r, x->rank, mask, &known, &noop));
    if (noop) {
        memcpy(y->data, x->data, y->nbytes);
        return EMBER_OK;
    }
    int64_t ny = ember_op_numel(y), nx = ember_op_numel(x);
    if (ny == 0) return EMBER_OK;
    /* accumulator strides: contiguous over kept axes, 0 over reduced ones */
    k_bcast bc = {.rank = x->rank, .n_in = 2};
    int64_t sa = 1, sx = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        bc.dims[d] = x->dims[d];
        bc.st[0][d] = mask[d] ? 0 : sa;
        bc.st[1][d] = sx;
        if (!mask[d]) sa *= x->dims[d];
        sx *= x->dims[d];
    }
    k_bcast_collapse(&bc);
    int64_t count = nx / ny;
    if (reduce_int_path(x->dtype, &r)) {
        int64_t *a = c->scratch;
        k_reduce_init_i64(r.acc, a, ny);
        switch (x->dtype) {
        case EMBER_DT_INT8: k_reduce_acc_i8(r.acc, x->data, a, &bc, 0, 1); break;
        case EMBER_DT_INT16: k_reduce_acc_i16(r.acc, x->data, a, &bc, 0, 1); break;
        case EMBER_DT_INT32: k_reduce_acc_i32(r.acc, x->data, a, &bc, 0, 1); break;
        case EMBER_DT_INT64: k_reduce_acc_i64(r.acc, x->data, a, &bc, 0, 1); break;
        case EMBER_DT_UINT8: k_reduce_acc_u8(r.acc, x->data, a, &bc, 0, 1); break;
        case EMBER_DT_UINT16: k_reduce_acc_u16(r.acc, x->data, a, &bc, 0, 1); break;
        default: k_reduce_acc_u32(r.acc, x->data, a, &bc, 0, 1); break;
        }
        k_reduce_finish_i64(r.fin, a, ny, count);
        k_cast(K_DT_INT64, a, y->dtype, y->data, ny, 0, 1);
        return EMBER_OK;
    }
    double *a = c->scratch, *shift = r.two_pass ? a + ny : NULL;
    const void *xd = x->data;
    ember_dtype xdt = x->dtype;
    if (!(ew_dtype_class(xdt) & EW_FLOAT)) {
        /* Integer inputs on the double path (uint64, or L2/log results) are widened. */
        double *wide = a + ny * (r.two_pass ? 2 : 1);
        k_cast(xdt, xd, K_DT_DOUBLE, wide, nx, 0, 1);
        xd = wide;
        xdt = EMBER_DT_DOUBLE;
    }
    for (int pass = r.two_pass ? 0 : 1; pass < 2; pass++) {
        int acc = pass == 0 ? K_RACC_MAX : r.acc;
        double *dst = pass == 0 ? shift : a;
        k_reduce_init_f64(acc, dst, ny);
        switch (xdt) {
        case EMBER_DT_FLOAT: k_reduce_acc_f32(acc, xd, dst, shift, &bc, 0, 1); break;
        case EMBER_DT_DOUBLE: k_reduce_acc_f64(acc, xd, dst, shift, &bc, 0, 1); break;
        case EMBER_DT_FLOAT16: k_reduce_acc_f16(acc, xd, dst, shift, &bc, 0, 1); break;
        default: k_reduce_acc_bf16(acc, xd, dst, shift, &bc, 0, 1); break;
        }
    }
    k_reduce_finish_f64(r.fin, a, shift, ny, count);
    k_cast(K_DT_DOUBLE, a, y->dtype, y->data, ny, 0, 1);
    return EMBER_OK;
}

/* [outer, n, inner] around axis */
static void split_at(const ember_op_tensor *x, int axis, int64_t *outer, int64_t *n, int64_t *inner)
{
    *outer = 1, *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++) *inner *= x->dims[d];
    *n = x->dims[axis];
}

ember_status ember_infer_argmax(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs an input");
    TRY(ew_check_dtype(c, "input", x->dtype, EW_NUM));
    if (x->rank < 0) {
        ember_op_set_out(c, 0, EMBER_DT_INT64, -1, NULL);
        return EMBER_OK;
    }
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), x->rank, "axis", &axis));
    if (c->running && x->dims[axis] == 0)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "cannot take the arg-max of an empty axis");
    bool keep = ember_attr_int(c->node, "keepdims", 1) != 0;
    int64_t dims[EMBER_MAX_RANK];
    int orank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (d == axis && !keep) continue;
        dims[orank++] = d == axis ? 1 : x->dims[d];
    }
    ember_op_set_out(c, 0, EMBER_DT_INT64, orank, dims);
    return EMBER_OK;
}

ember_status ember_run_argmax(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), x->rank, "axis", &axis));
    int64_t outer, n, inner;
    split_at(x, axis, &outer, &n, &inner);
    int is_min = c->node->op == EMBER_OP_ARG_MIN;
    int last = ember_attr_int(c->node, "select_last_index", 0) != 0;
    int64_t *y = c->out[0]->data;
    const void *xd = x->data;
    switch (x->dtype) {
    case EMBER_DT_FLOAT: k_argmax_f32(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_DOUBLE: k_argmax_f64(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_FLOAT16: k_argmax_f16(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_BFLOAT16: k_argmax_bf16(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_INT8: k_argmax_i8(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_INT16: k_argmax_i16(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_INT32: k_argmax_i32(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_INT64: k_argmax_i64(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_UINT8: k_argmax_u8(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_UINT16: k_argmax_u16(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_UINT32: k_argmax_u32(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    case EMBER_DT_UINT64: k_argmax_u64(xd, y, outer, n, inner, is_min, last, 0, 1); break;
    default: return ember_op_fail(c, EMBER_E_UNSUPPORTED, "unsupported type");
    }
    return EMBER_OK;
}

static ember_status cumsum_axis(const ember_op_ctx *c, int rank, int *axis)
{
    const ember_op_tensor *a = c->in[1];
    if (ember_op_numel(a) != 1)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "axis must be a scalar");
    return ember_op_axis(c, ember_op_get_int(a, 0), rank, "axis", axis);
}

ember_status ember_infer_cumsum(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *a = ember_op_in(c, 1);
    if (!x || !a) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs x and axis");
    static const ember_dtype ok[] = {EMBER_DT_FLOAT, EMBER_DT_DOUBLE, EMBER_DT_FLOAT16,
                                     EMBER_DT_BFLOAT16, EMBER_DT_INT32, EMBER_DT_INT64,
                                     EMBER_DT_UINT32, EMBER_DT_UINT64};
    bool found = x->dtype == EMBER_DT_UNDEFINED;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) found |= x->dtype == ok[i];
    if (!found)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input has type %s, which CumSum does not support",
                             ember_dtype_name(x->dtype));
    TRY(ew_check_dtype(c, "axis", a->dtype, EW_SINT));
    if (a->data && x->rank >= 0) {
        int axis;
        TRY(cumsum_axis(c, x->rank, &axis));
    }
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    if (c->out[0]) memcpy(c->out[0]->syms, x->syms, sizeof x->syms);
    return EMBER_OK;
}

ember_status ember_run_cumsum(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int axis;
    TRY(cumsum_axis(c, x->rank, &axis));
    int64_t outer, n, inner;
    split_at(x, axis, &outer, &n, &inner);
    int ex = ember_attr_int(c->node, "exclusive", 0) != 0;
    int rev = ember_attr_int(c->node, "reverse", 0) != 0;
    void *y = c->out[0]->data;
    const void *xd = x->data;
    switch (x->dtype) {
    case EMBER_DT_FLOAT: k_cumsum_f32(xd, y, outer, n, inner, ex, rev, 0, 1); break;
    case EMBER_DT_DOUBLE: k_cumsum_f64(xd, y, outer, n, inner, ex, rev, 0, 1); break;
    case EMBER_DT_FLOAT16: k_cumsum_f16(xd, y, outer, n, inner, ex, rev, 0, 1); break;
    case EMBER_DT_BFLOAT16: k_cumsum_bf16(xd, y, outer, n, inner, ex, rev, 0, 1); break;
    case EMBER_DT_INT32: k_cumsum_i32(xd, y, outer, n, inner, ex, rev, 0, 1); break;
    case EMBER_DT_INT64: k_cumsum_i64(xd, y, outer, n, inner, ex, rev, 0, 1); break;
    case EMBER_DT_UINT32: k_cumsum_u32(xd, y, outer, n, inner, ex, rev, 0, 1); break;
    case EMBER_DT_UINT64: k_cumsum_u64(xd, y, outer, n, inner, ex, rev, 0, 1); break;
    default: return ember_op_fail(c, EMBER_E_UNSUPPORTED, "unsupported type");
    }
    return EMBER_OK;
}
