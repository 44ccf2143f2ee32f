/* Shared helpers for the tensor and control op groups. */
#include "tensor_util.h"

#include "kernels/copy.h"
#include "kernels/half.h"

#include <string.h>

ember_status tu_need(const ember_op_ctx *c, int i, const char *what)
{
    if (!ember_op_in(c, i)) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input '%s' is missing", what);
    return EMBER_OK;
}

int tu_len(const ember_op_ctx *c, int i)
{
    const ember_op_tensor *t = ember_op_in(c, i);
    if (!t || t->rank < 0) return -1;
    if (t->rank == 0) return 1;
    return t->dims[0] < 0 ? -1 : (int)t->dims[0];
}

ember_status tu_read_ints(const ember_op_ctx *c, int i, const char *what, int64_t *vals, int max,
                          int *n)
{
    const ember_op_tensor *t = ember_op_in(c, i);
    *n = -1;
    if (!t) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input '%s' is missing", what);
    if (t->dtype != EMBER_DT_UNDEFINED && !ember_dtype_is_int(t->dtype))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input '%s' must be an integer tensor, not %s",
                             what, ember_dtype_name(t->dtype));
    if (t->rank > 1)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input '%s' must be 1-D, it has rank %d", what,
                             t->rank);
    if (!t->data || t->rank < 0) return EMBER_OK;
    int64_t count = ember_op_numel(t);
    if (count < 0) return EMBER_OK;
    if (count > max)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input '%s' has %lld values, at most %d are supported",
                             what, (long long)count, max);
    for (int64_t k = 0; k < count; k++) vals[k] = ember_op_get_int(t, k);
    *n = (int)count;
    return EMBER_OK;
}

ember_status tu_need_index_type(const ember_op_ctx *c, int i, const char *what)
{
    const ember_op_tensor *t = ember_op_in(c, i);
    if (!t) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input '%s' is missing", what);
    if (t->dtype == EMBER_DT_UNDEFINED || t->dtype == EMBER_DT_INT32 || t->dtype == EMBER_DT_INT64)
        return EMBER_OK;
    return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input '%s' must be int32 or int64, not %s", what,
                         ember_dtype_name(t->dtype));
}

ember_status tu_check_indices(const ember_op_ctx *c, const ember_op_tensor *t, int64_t limit,
                              const char *what)
{
    int64_t n = ember_op_numel(t);
    for (int64_t k = 0; k < n; k++) {
        int64_t v = ember_op_get_int(t, k);
        if (v < -limit || v >= limit)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "%s %lld is out of range [%lld, %lld)", what,
                                 (long long)v, (long long)-limit, (long long)limit);
    }
    return EMBER_OK;
}

ember_status tu_need_sized(const ember_op_ctx *c, ember_dtype dt, const char *what)
{
    if (dt == EMBER_DT_UNDEFINED && !c->running) return EMBER_OK;
    if (ember_dtype_size(dt) == 0)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "%s has unsupported type %s", what,
                             ember_dtype_name(dt));
    return EMBER_OK;
}

ember_status tu_axes(const ember_op_ctx *c, const char *attr, int input_from, int i, int rank,
                     int *axes, int *n)
{
    int64_t raw[EMBER_MAX_RANK * 2];
    int count;
    if (c->opset < input_from) {
        const int64_t *v;
        count = ember_attr_ints(c->node, attr, &v);
        if (count < 0) {
            *n = 0;
            return EMBER_OK;
        }
        if (count > (int)(sizeof raw / sizeof raw[0]))
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute '%s' has too many values", attr);
        memcpy(raw, v, sizeof(int64_t) * (size_t)count);
    } else {
        if (!ember_op_in(c, i)) {
            *n = 0;
            return EMBER_OK;
        }
        TRY(tu_read_ints(c, i, attr, raw, (int)(sizeof raw / sizeof raw[0]), &count));
        if (count < 0) {
            *n = -1;
            return EMBER_OK;
        }
    }
    if (rank < 0) {
        *n = -1;
        return EMBER_OK;
    }
    for (int k = 0; k < count; k++) {
        TRY(ember_op_axis(c, raw[k], rank, attr, &axes[k]));
        for (int j = 0; j < k; j++)
            if (axes[j] == axes[k])
                return ember_op_fail(c, EMBER_E_INVALID_MODEL, "'%s' names axis %d twice", attr, axes[k]);
    }
    *n = count;
    return EMBER_OK;
}

ember_status tu_run_copy(ember_op_ctx *c)
{
    if (c->out[0]->nbytes) memcpy(c->out[0]->data, c->in[0]->data, c->out[0]->nbytes);
    return EMBER_OK;
}

void tu_set_out_map(ember_op_ctx *c, int o, const ember_op_tensor *x, int rank,
                    const int64_t *dims, const int *map)
{
    int64_t d[EMBER_MAX_RANK] = {0};
    for (int k = 0; k < rank; k++) d[k] = map && map[k] >= 0 ? x->dims[map[k]] : dims[k];
    ember_op_set_out(c, o, x->dtype, rank, d);
    if (o >= c->n_out || !c->out[o] || !map) return;
    for (int k = 0; k < rank; k++)
        if (map[k] >= 0) c->out[o]->syms[k] = x->syms[map[k]];
}

bool tu_dims_known(const ember_op_tensor *t)
{
    return ember_op_numel(t) >= 0;
}

ember_status tu_from_double(const ember_op_ctx *c, ember_dtype dt, double v, void *out)
{
    switch (dt) {
    case EMBER_DT_FLOAT: *(float *)out = (float)v; break;
    case EMBER_DT_DOUBLE: *(double *)out = v; break;
    case EMBER_DT_FLOAT16: *(uint16_t *)out = ember_float_to_half((float)v); break;
    case EMBER_DT_BFLOAT16: *(uint16_t *)out = ember_float_to_bf16((float)v); break;
    case EMBER_DT_INT8: *(int8_t *)out = (int8_t)v; break;
    case EMBER_DT_INT16: *(int16_t *)out = (int16_t)v; break;
    case EMBER_DT_INT32: *(int32_t *)out = (int32_t)v; break;
    case EMBER_DT_INT64: *(int64_t *)out = (int64_t)v; break;
    case EMBER_DT_UINT8: *(uint8_t *)out = (uint8_t)v; break;
    case EMBER_DT_UINT16: *(uint16_t *)out = (uint16_t)v; break;
    case EMBER_DT_UINT32: *(uint32_t *)out = (uint32_t)v; break;
    case EMBER_DT_UINT64: *(uint64_t *)out = (uint64_t)v; break;
    case EMBER_DT_BOOL: *(uint8_t *)out = v != 0; break;
    default:
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "type %s holds no numbers", ember_dtype_name(dt));
    }
    return EMBER_OK;
}

int tu_elem_kind(ember_dtype dt)
{
    switch (dt) {
    case EMBER_DT_FLOAT: return K_ELEM_F32;
    case EMBER_DT_DOUBLE: return K_ELEM_F64;
    case EMBER_DT_FLOAT16: return K_ELEM_F16;
    case EMBER_DT_BFLOAT16: return K_ELEM_BF16;
    case EMBER_DT_INT8: return K_ELEM_I8;
    case EMBER_DT_INT16: return K_ELEM_I16;
    case EMBER_DT_INT32: return K_ELEM_I32;
    case EMBER_DT_INT64: return K_ELEM_I64;
    case EMBER_DT_UINT8: return K_ELEM_U8;
    case EMBER_DT_UINT16: return K_ELEM_U16;
    case EMBER_DT_UINT32: return K_ELEM_U32;
    case EMBER_DT_UINT64: return K_ELEM_U64;
    case EMBER_DT_BOOL: return K_ELEM_BOOL;
    default: return K_ELEM_OTHER;
    }
}
