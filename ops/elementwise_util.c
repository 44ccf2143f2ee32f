/* Shared glue of the elementwise family: dtype classes and kernel dispatch. */
#include "elementwise.h"

#include "kernels/binary.h"
#include "kernels/unary.h"

unsigned ew_dtype_class(ember_dtype dt)
{
    switch (dt) {
    case EMBER_DT_FLOAT: case EMBER_DT_DOUBLE: case EMBER_DT_FLOAT16: case EMBER_DT_BFLOAT16:
        return EW_FLOAT;
    case EMBER_DT_INT8: case EMBER_DT_INT16: case EMBER_DT_INT32: case EMBER_DT_INT64:
        return EW_SINT;
    case EMBER_DT_UINT8: case EMBER_DT_UINT16: case EMBER_DT_UINT32: case EMBER_DT_UINT64:
        return EW_UINT;
    case EMBER_DT_BOOL: return EW_BOOL;
    default: return 0;
    }
}

ember_status ew_check_dtype(const ember_op_ctx *c, const char *what, ember_dtype dt,
                            unsigned allowed)
{
    if (dt == EMBER_DT_UNDEFINED) return EMBER_OK;
    if (ew_dtype_class(dt) & allowed) return EMBER_OK;
    return ember_op_fail(c, EMBER_E_UNSUPPORTED, "%s has type %s, which this op does not support",
                         what, ember_dtype_name(dt));
}

ember_status ew_same_dtype(const ember_op_ctx *c, const char *wa, ember_dtype a,
                           const char *wb, ember_dtype b)
{
    if (a == EMBER_DT_UNDEFINED || b == EMBER_DT_UNDEFINED || a == b) return EMBER_OK;
    return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%s has type %s but %s has type %s", wa,
                         ember_dtype_name(a), wb, ember_dtype_name(b));
}

void ew_broadcast_syms(ember_op_tensor *out, const ember_op_tensor *const *ins, int n)
{
    if (!out || out->rank < 0) return;
    for (int d = 0; d < out->rank; d++) {
        out->syms[d] = -1;
        for (int k = 0; k < n && out->syms[d] < 0; k++) {
            const ember_op_tensor *t = ins[k];
            if (!t || t->rank < 0) continue;
            int id = d - (out->rank - t->rank);
            if (id >= 0 && t->syms[id] >= 0 && t->dims[id] == out->dims[d])
                out->syms[d] = t->syms[id];
        }
    }
}

void ew_bcast_for(k_bcast *b, const ember_op_tensor *out, const ember_op_tensor *const *ins,
                  int n)
{
    int ranks[K_BCAST_MAX_IN];
    const int64_t *dims[K_BCAST_MAX_IN];
    for (int k = 0; k < n; k++) {
        ranks[k] = ins[k]->rank;
        dims[k] = ins[k]->dims;
    }
    k_bcast_init(b, out->rank, out->dims, n, ranks, dims);
}

void ew_binary(ember_dtype dt, int op, const void *a, const void *b, void *y, const k_bcast *bc)
{
    switch (dt) {
    case EMBER_DT_FLOAT: k_binary_f32(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_DOUBLE: k_binary_f64(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_FLOAT16: k_binary_f16(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_BFLOAT16: k_binary_bf16(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_INT8: k_binary_i8(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_INT16: k_binary_i16(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_INT32: k_binary_i32(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_INT64: k_binary_i64(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_BOOL:
    case EMBER_DT_UINT8: k_binary_u8(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_UINT16: k_binary_u16(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_UINT32: k_binary_u32(op, a, b, y, bc, 0, 1); break;
    case EMBER_DT_UINT64: k_binary_u64(op, a, b, y, bc, 0, 1); break;
    default: break;
    }
}

void ew_unary(ember_dtype dt, int op, const void *x, void *y, int64_t n, double alpha,
              double beta)
{
    switch (dt) {
    case EMBER_DT_FLOAT: k_unary_f32(op, x, y, n, (float)alpha, (float)beta, 0, 1); break;
    case EMBER_DT_DOUBLE: k_unary_f64(op, x, y, n, alpha, beta, 0, 1); break;
    case EMBER_DT_FLOAT16: k_unary_f16(op, x, y, n, (float)alpha, (float)beta, 0, 1); break;
    case EMBER_DT_BFLOAT16: k_unary_bf16(op, x, y, n, (float)alpha, (float)beta, 0, 1); break;
    case EMBER_DT_INT8: k_unary_i8(op, x, y, n, 0, 1); break;
    case EMBER_DT_INT16: k_unary_i16(op, x, y, n, 0, 1); break;
    case EMBER_DT_INT32: k_unary_i32(op, x, y, n, 0, 1); break;
    case EMBER_DT_INT64: k_unary_i64(op, x, y, n, 0, 1); break;
    case EMBER_DT_BOOL:
    case EMBER_DT_UINT8: k_unary_u8(op, x, y, n, 0, 1); break;
    case EMBER_DT_UINT16: k_unary_u16(op, x, y, n, 0, 1); break;
    case EMBER_DT_UINT32: k_unary_u32(op, x, y, n, 0, 1); break;
    case EMBER_DT_UINT64: k_unary_u64(op, x, y, n, 0, 1); break;
    default: break;
    }
}
