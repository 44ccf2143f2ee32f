/* Index-driven writes: ScatterElements (and its deprecated alias Scatter) and ScatterND. */
#include <string.h>

#include "kernels/copy.h"
#include "kernels/scatter.h"
#include "op.h"
#include "op_decls.h"
#include "tensor_util.h"

/* The reduction attribute (opset 16+) checked against the data type. */
static ember_status scatter_reduction(const ember_op_ctx *c, ember_dtype dt, int *op)
{
    const char *r = c->opset >= 16 ? ember_attr_string(c->node, "reduction", "none") : "none";
    if (strcmp(r, "none") == 0) *op = K_REDUCE_NONE;
    else if (strcmp(r, "add") == 0) *op = K_REDUCE_ADD;
    else if (strcmp(r, "mul") == 0) *op = K_REDUCE_MUL;
    else if (strcmp(r, "max") == 0) *op = K_REDUCE_MAX;
    else if (strcmp(r, "min") == 0) *op = K_REDUCE_MIN;
    else return ember_op_fail(c, EMBER_E_INVALID_MODEL, "reduction '%s' is not none, add, mul, max or min", r);
    if (*op != K_REDUCE_NONE && dt != EMBER_DT_UNDEFINED && tu_elem_kind(dt) >= K_ELEM_BOOL)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "reduction '%s' on %s data", r, ember_dtype_name(dt));
    return EMBER_OK;
}

static ember_status scatter_common(ember_op_ctx *c, int *op)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *u = ember_op_in(c, 2);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need_index_type(c, 1, "indices"));
    TRY(tu_need(c, 2, "updates"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    if (u->dtype != x->dtype && u->dtype != EMBER_DT_UNDEFINED && x->dtype != EMBER_DT_UNDEFINED)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "updates are %s, data is %s", ember_dtype_name(u->dtype),
                             ember_dtype_name(x->dtype));
    TRY(scatter_reduction(c, x->dtype, op));
    ember_op_set_out(c, 0, x->dtype, x->rank, x->dims);
    if (x->rank >= 0) memcpy(c->out[0]->syms, x->syms, sizeof x->syms);
    return EMBER_OK;
}

ember_status ember_infer_scatterelements(ember_op_ctx *c)
{
    int op = 0, axis = 0;
    TRY(scatter_common(c, &op));
    const ember_op_tensor *ind = c->in[1], *u = c->in[2];
    TRY(tu_elements_check(c, c->in[0], ind, &axis));
    if (ind->rank >= 0 && u->rank >= 0) {
        bool same = ind->rank == u->rank;
        for (int k = 0; same && k < ind->rank; k++)
            same = ind->dims[k] < 0 || u->dims[k] < 0 || ind->dims[k] == u->dims[k];
        if (!same) return ember_op_fail(c, EMBER_E_INVALID_ARG, "updates and indices differ in shape");
    }
    return EMBER_OK;
}

ember_status ember_run_scatterelements(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *ind = c->in[1], *u = c->in[2];
    int op = 0, axis = 0;
    TRY(scatter_reduction(c, x->dtype, &op));
    TRY(tu_elements_check(c, x, ind, &axis));
    TRY(tu_check_indices(c, ind, x->dims[axis], "index"));
    memcpy(c->out[0]->data, x->data, c->out[0]->nbytes);
    int64_t st[EMBER_MAX_RANK];
    k_contiguous_strides(x->rank, x->dims, st);
    k_scatter_elements(c->out[0]->data, u->data, ind->data, ind->dtype == EMBER_DT_INT64, ind->rank,
                       ind->dims, st, axis, x->dims[axis], ember_dtype_size(x->dtype), tu_elem_kind(x->dtype), op);
    return EMBER_OK;
}

ember_status ember_infer_scatternd(ember_op_ctx *c)
{
    int op = 0;
    TRY(scatter_common(c, &op));
    const ember_op_tensor *x = c->in[0], *ind = c->in[1], *u = c->in[2];
    if (x->rank == 0 || ind->rank == 0)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "data and indices must have rank >= 1");
    if (x->rank < 0 || ind->rank < 0 || u->rank < 0 || ind->dims[ind->rank - 1] < 0) return EMBER_OK;
    int64_t k = ind->dims[ind->rank - 1];
    if (k < 1 || k > x->rank)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "index tuples have length %lld for data of rank %d",
                             (long long)k, x->rank);
    int ur = ind->rank - 1 + x->rank - (int)k;
    bool ok = u->rank == ur;
    for (int j = 0; ok && j < ur; j++) {
        int64_t want = j < ind->rank - 1 ? ind->dims[j] : x->dims[j - (ind->rank - 1) + k];
        ok = want < 0 || u->dims[j] < 0 || want == u->dims[j];
    }
    if (!ok) return ember_op_fail(c, EMBER_E_INVALID_ARG, "updates shape does not match indices and data");
    return EMBER_OK;
}

ember_status ember_run_scatternd(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *ind = c->in[1], *u = c->in[2];
    int op = 0;
    TRY(scatter_reduction(c, x->dtype, &op));
    int k = (int)ind->dims[ind->rank - 1];
    TRY(tu_nd_check_indices(c, ind, x->dims, k));
    memcpy(c->out[0]->data, x->data, c->out[0]->nbytes);
    int64_t st[EMBER_MAX_RANK], slab = 1, n = 1;
    k_contiguous_strides(x->rank, x->dims, st);
    for (int j = k; j < x->rank; j++) slab *= x->dims[j];
    for (int j = 0; j < ind->rank - 1; j++) n *= ind->dims[j];
    k_scatter_nd(c->out[0]->data, u->data, ind->data, ind->dtype == EMBER_DT_INT64, n, k, x->dims, st, slab,
                 ember_dtype_size(x->dtype), tu_elem_kind(x->dtype), op);
    return EMBER_OK;
}
