/* Lowering of data movement: the reshaping ops as a flat copy (the plan does not alias
 * them yet), Transpose and Concat as strided copies (k_copy_strided, as the reference). */
#include <string.h>

#include "../kernels/copy.h"
#include "../kernels/gather.h"
#include "lower.h"

ember_status ember_lower_copy(ember_lowered *L, const ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *y = c->out[0];
    size_t es = ember_dtype_size(x->dtype);
    int64_t n = ember_op_numel(x);
    if (!es || n < 0 || n != ember_op_numel(y) || x->dtype != y->dtype)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "not a plain copy");
    for (int o = 1; o < c->n_out; o++)
        if (c->out[o]) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "output %d is not lowered", o);
    if (n == 0) return EMBER_OK;
    int64_t one = 1;
    return ember_lower_copy_strided(L, LIN(c, 0, 0), LOUT(c, 0, 0), 1, &n, &one, &one, es);
}

ember_status ember_lower_transpose(ember_lowered *L, const ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int r = x->rank;
    int64_t perm[EMBER_MAX_RANK];
    const int64_t *pv;
    int np = ember_attr_ints(c->node, "perm", &pv);
    if (np >= 0 && np != r) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "perm has %d entries", np);
    for (int i = 0; i < r; i++) {
        perm[i] = np >= 0 ? pv[i] : r - 1 - i;
        if (perm[i] < 0) perm[i] += r;
        if (perm[i] < 0 || perm[i] >= r) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "bad perm");
    }
    int64_t xs[EMBER_MAX_RANK], ss[EMBER_MAX_RANK], ds[EMBER_MAX_RANK], od[EMBER_MAX_RANK];
    k_contiguous_strides(r, x->dims, xs);
    for (int i = 0; i < r; i++) {
        od[i] = x->dims[perm[i]];
        ss[i] = xs[perm[i]];
    }
    k_contiguous_strides(r, od, ds);
    if (ember_op_numel(x) == 0) return EMBER_OK;
    if (r == 0) {
        int64_t one = 1;
        return ember_lower_copy_strided(L, LIN(c, 0, 0), LOUT(c, 0, 0), 1, &one, &one, &one,
                                        ember_dtype_size(x->dtype));
    }
    return ember_lower_copy_strided(L, LIN(c, 0, 0), LOUT(c, 0, 0), r, od, ss, ds, ember_dtype_size(x->dtype));
}

ember_status ember_lower_concat(ember_lowered *L, const ember_op_ctx *c)
{
    const ember_op_tensor *o = c->out[0];
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), o->rank, "axis", &axis));
    size_t es = ember_dtype_size(o->dtype);
    int64_t ws[EMBER_MAX_RANK], ps[EMBER_MAX_RANK], off = 0;
    k_contiguous_strides(o->rank, o->dims, ws);
    for (int i = 0; i < c->n_in; i++) {
        const ember_op_tensor *t = c->in[i];
        if (!t) continue;
        if (ember_op_numel(t) > 0) {
            k_contiguous_strides(t->rank, t->dims, ps);
            TRY(ember_lower_copy_strided(L, LIN(c, i, 0), LOUT(c, 0, off * ws[axis] * (int64_t)es), o->rank,
                                         t->dims, ps, ws, es));
        }
        off += t->dims[axis];
    }
    return EMBER_OK;
}

/* Gather with constant indices (checked here, once): k_gather as the reference calls it.
 * Indices computed at run time are declined: the generated code has no error path for
 * an index out of range. */
ember_status ember_lower_gather(ember_lowered *L, const ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *ind = c->in[1];
    if (!ind->data) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "indices computed at run time are not lowered");
    if (ind->dtype != EMBER_DT_INT64 && ind->dtype != EMBER_DT_INT32)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "indices are %s", ember_dtype_name(ind->dtype));
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), x->rank, "axis", &axis));
    int64_t n_idx = ember_op_numel(ind), dim = x->dims[axis], outer = 1, inner = 1;
    for (int64_t i = 0; i < n_idx; i++) {
        int64_t v = ind->dtype == EMBER_DT_INT64 ? ((const int64_t *)ind->data)[i] : ((const int32_t *)ind->data)[i];
        if (v < -dim || v >= dim)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "index %lld is outside [-%lld, %lld)", (long long)v,
                                 (long long)dim, (long long)dim);
    }
    for (int d = 0; d < axis; d++) outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++) inner *= x->dims[d];
    if (n_idx == 0 || ember_op_numel(x) == 0) return EMBER_OK;
    return EMBER_LCALL(L, "k_gather", LIN(c, 0, 0), LOUT(c, 0, 0), LIN(c, 1, 0), LI(ind->dtype == EMBER_DT_INT64),
                       LI(n_idx), LI(outer), LI(dim), LI(inner * (int64_t)ember_dtype_size(x->dtype)), LI(0), LI(1));
}
