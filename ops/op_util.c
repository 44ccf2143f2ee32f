/* Helpers shared by every op's infer/run. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kernels/half.h"
#include "op.h"

ember_status ember_op_fail(const ember_op_ctx *c, ember_status s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ember_error(s, "node '%s' (%s): %s", c->node->name, c->node->op_type, msg);
}

void ember_op_set_out(ember_op_ctx *c, int i, ember_dtype dt, int rank, const int64_t *dims)
{
    if (i >= c->n_out || !c->out[i]) return;
    ember_op_tensor *t = c->out[i];
    t->dtype = dt;
    t->rank = rank;
    for (int k = 0; k < EMBER_MAX_RANK; k++) {
        t->dims[k] = (rank > 0 && k < rank && dims) ? dims[k] : 0;
        t->syms[k] = -1;
    }
}

int64_t ember_op_numel(const ember_op_tensor *t)
{
    if (t->rank < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0) return -1;
        n *= t->dims[i];
    }
    return n;
}

ember_status ember_op_axis(const ember_op_ctx *c, int64_t axis, int rank, const char *what, int *out)
{
    if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%s %lld is out of range for rank %d", what,
                             (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return EMBER_OK;
}

ember_status ember_op_broadcast(const ember_op_ctx *c, const ember_op_tensor *a,
                                const ember_op_tensor *b, int *rank, int64_t *dims)
{
    if (a->rank < 0 || b->rank < 0) {
        *rank = -1;
        return EMBER_OK;
    }
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        int64_t d;
        if (da == db) d = da;
        else if (da == 1) d = db;
        else if (db == 1) d = da;
        else if (da < 0 || db < 0) d = da < 0 ? db : da; /* unknown: the known one wins */
        else
            return ember_op_fail(c, EMBER_E_INVALID_ARG,
                                 "shapes cannot be broadcast: dimension %d is %lld in one input "
                                 "and %lld in the other",
                                 i, (long long)da, (long long)db);
        dims[i] = d;
    }
    *rank = r;
    return EMBER_OK;
}

int64_t ember_op_get_int(const ember_op_tensor *t, int64_t i)
{
    const void *p = t->data;
    switch (t->dtype) {
    case EMBER_DT_INT64: return ((const int64_t *)p)[i];
    case EMBER_DT_INT32: return ((const int32_t *)p)[i];
    case EMBER_DT_INT16: return ((const int16_t *)p)[i];
    case EMBER_DT_INT8: return ((const int8_t *)p)[i];
    case EMBER_DT_UINT8: return ((const uint8_t *)p)[i];
    case EMBER_DT_UINT16: return ((const uint16_t *)p)[i];
    case EMBER_DT_UINT32: return ((const uint32_t *)p)[i];
    case EMBER_DT_UINT64: return (int64_t)((const uint64_t *)p)[i];
    case EMBER_DT_BOOL: return ((const uint8_t *)p)[i] != 0;
    default: return (int64_t)ember_op_get_double(t, i);
    }
}

double ember_op_get_double(const ember_op_tensor *t, int64_t i)
{
    const void *p = t->data;
    switch (t->dtype) {
    case EMBER_DT_FLOAT: return ((const float *)p)[i];
    case EMBER_DT_DOUBLE: return ((const double *)p)[i];
    case EMBER_DT_FLOAT16: return ember_half_to_float(((const uint16_t *)p)[i]);
    case EMBER_DT_BFLOAT16: return ember_bf16_to_float(((const uint16_t *)p)[i]);
    case EMBER_DT_UINT64: return (double)((const uint64_t *)p)[i];
    default: return (double)ember_op_get_int(t, i);
    }
}

bool ember_dtype_is_float(ember_dtype dt)
{
    return dt == EMBER_DT_FLOAT || dt == EMBER_DT_DOUBLE || dt == EMBER_DT_FLOAT16 ||
           dt == EMBER_DT_BFLOAT16;
}

bool ember_dtype_is_int(ember_dtype dt)
{
    switch (dt) {
    case EMBER_DT_INT8: case EMBER_DT_INT16: case EMBER_DT_INT32: case EMBER_DT_INT64:
    case EMBER_DT_UINT8: case EMBER_DT_UINT16: case EMBER_DT_UINT32: case EMBER_DT_UINT64:
        return true;
    default: return false;
    }
}

size_t ember_dtype_size(ember_dtype dt)
{
    switch (dt) {
    case EMBER_DT_FLOAT: case EMBER_DT_INT32: case EMBER_DT_UINT32: return 4;
    case EMBER_DT_DOUBLE: case EMBER_DT_INT64: case EMBER_DT_UINT64: return 8;
    case EMBER_DT_FLOAT16: case EMBER_DT_BFLOAT16: case EMBER_DT_INT16: case EMBER_DT_UINT16: return 2;
    case EMBER_DT_INT8: case EMBER_DT_UINT8: case EMBER_DT_BOOL: return 1;
    default: return 0;
    }
}

const char *ember_dtype_name(ember_dtype dt)
{
    switch (dt) {
    case EMBER_DT_FLOAT: return "float32";
    case EMBER_DT_UINT8: return "uint8";
    case EMBER_DT_INT8: return "int8";
    case EMBER_DT_UINT16: return "uint16";
    case EMBER_DT_INT16: return "int16";
    case EMBER_DT_INT32: return "int32";
    case EMBER_DT_INT64: return "int64";
    case EMBER_DT_STRING: return "string";
    case EMBER_DT_BOOL: return "bool";
    case EMBER_DT_FLOAT16: return "float16";
    case EMBER_DT_DOUBLE: return "float64";
    case EMBER_DT_UINT32: return "uint32";
    case EMBER_DT_UINT64: return "uint64";
    case EMBER_DT_BFLOAT16: return "bfloat16";
    default: return "unknown";
    }
}
