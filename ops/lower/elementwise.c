/* Lowering of the elementwise ops (float32): unary math and activations, Clip, and the
 * broadcasting binary arithmetic. The same kernels as ops/elementwise_*.c, so the same
 * numbers. */
#include <string.h>

#include "../kernels/binary.h"
#include "../kernels/unary.h"
#include "lower.h"

static ember_status need_f32(const ember_op_ctx *c, const ember_op_tensor *t)
{
    if (t && t->dtype == EMBER_DT_FLOAT) return EMBER_OK;
    return ember_op_fail(c, EMBER_E_UNSUPPORTED, "lowered for float32 only, got %s",
                         t ? ember_dtype_name(t->dtype) : "nothing");
}

/* k_unop and its float parameters, as ops/elementwise_unary.c reads them. */
static int unop_of(const ember_node *n, float *a, float *b)
{
    *a = *b = 0.0f;
    switch (n->op) {
    case EMBER_OP_ABS: return K_ABS;
    case EMBER_OP_NEG: return K_NEG;
    case EMBER_OP_SIGN: return K_SIGN;
    case EMBER_OP_RELU: return K_RELU;
    case EMBER_OP_SQRT: return K_SQRT;
    case EMBER_OP_RECIPROCAL: return K_RECIP;
    case EMBER_OP_EXP: return K_EXP;
    case EMBER_OP_LOG: return K_LOG;
    case EMBER_OP_CEIL: return K_CEIL;
    case EMBER_OP_FLOOR: return K_FLOOR;
    case EMBER_OP_ROUND: return K_ROUND;
    case EMBER_OP_SIN: return K_SIN;
    case EMBER_OP_COS: return K_COS;
    case EMBER_OP_TAN: return K_TAN;
    case EMBER_OP_ASIN: return K_ASIN;
    case EMBER_OP_ACOS: return K_ACOS;
    case EMBER_OP_ATAN: return K_ATAN;
    case EMBER_OP_SINH: return K_SINH;
    case EMBER_OP_COSH: return K_COSH;
    case EMBER_OP_ASINH: return K_ASINH;
    case EMBER_OP_ACOSH: return K_ACOSH;
    case EMBER_OP_ATANH: return K_ATANH;
    case EMBER_OP_ERF: return K_ERF;
    case EMBER_OP_SIGMOID: return K_SIGMOID;
    case EMBER_OP_TANH: return K_TANH;
    case EMBER_OP_SOFTPLUS: return K_SOFTPLUS;
    case EMBER_OP_SOFTSIGN: return K_SOFTSIGN;
    case EMBER_OP_MISH: return K_MISH;
    case EMBER_OP_HARD_SWISH: return K_HARDSWISH;
    case EMBER_OP_ELU: *a = ember_attr_float(n, "alpha", 1.0f); return K_ELU;
    case EMBER_OP_SELU:
        *a = ember_attr_float(n, "alpha", 1.67326319217681884765625f);
        *b = ember_attr_float(n, "gamma", 1.05070102214813232421875f);
        return K_SELU;
    case EMBER_OP_LEAKY_RELU: *a = ember_attr_float(n, "alpha", 0.01f); return K_LEAKYRELU;
    case EMBER_OP_HARD_SIGMOID:
        *a = ember_attr_float(n, "alpha", 0.2f);
        *b = ember_attr_float(n, "beta", 0.5f);
        return K_HARDSIGMOID;
    case EMBER_OP_THRESHOLDED_RELU: *a = ember_attr_float(n, "alpha", 1.0f); return K_THRESHRELU;
    case EMBER_OP_CELU: *a = ember_attr_float(n, "alpha", 1.0f); return K_CELU;
    case EMBER_OP_SHRINK:
        *a = ember_attr_float(n, "lambd", 0.5f);
        *b = ember_attr_float(n, "bias", 0.0f);
        return K_SHRINK;
    default: return -1;
    }
}

ember_status ember_lower_unary(ember_lowered *L, const ember_op_ctx *c)
{
    TRY(need_f32(c, c->in[0]));
    float a, b;
    int op = unop_of(c->node, &a, &b);
    if (op < 0) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "no unary lowering");
    return EMBER_LCALL(L, "k_unary_f32", LI(op), LIN(c, 0, 0), LOUT(c, 0, 0),
                       LI(ember_op_numel(c->in[0])), LF(a), LF(b), LI(0), LI(1));
}

ember_status ember_lower_clip(ember_lowered *L, const ember_op_ctx *c)
{
    TRY(need_f32(c, c->in[0]));
    ember_larg lo = LNULL, hi = LNULL;
    if (c->opset < 11) {
        const ember_attr *amin = ember_node_attr(c->node, "min"), *amax = ember_node_attr(c->node, "max");
        int bl;
        if (amin) {
            if ((bl = ember_lower_blob(L, &amin->f, sizeof(float))) < 0) goto oom;
            lo = ember_larg_blob(bl);
        }
        if (amax) {
            if ((bl = ember_lower_blob(L, &amax->f, sizeof(float))) < 0) goto oom;
            hi = ember_larg_blob(bl);
        }
    } else {
        const ember_op_tensor *t;
        if ((t = ember_op_in(c, 1)) && ember_op_numel(t) == 1) lo = LIN(c, 1, 0);
        if ((t = ember_op_in(c, 2)) && ember_op_numel(t) == 1) hi = LIN(c, 2, 0);
    }
    return EMBER_LCALL(L, "k_clip_f32", LIN(c, 0, 0), LOUT(c, 0, 0), LI(ember_op_numel(c->in[0])),
                       lo, hi, LI(0), LI(1));
oom:
    return ember_error(EMBER_E_NO_MEMORY, "out of memory lowering the program");
}

ember_status ember_lower_binary(ember_lowered *L, const ember_op_ctx *c)
{
    int op;
    switch (c->node->op) {
    case EMBER_OP_ADD: op = K_ADD; break;
    case EMBER_OP_SUB: op = K_SUB; break;
    case EMBER_OP_MUL: op = K_MUL; break;
    case EMBER_OP_DIV: op = K_DIV; break;
    case EMBER_OP_POW: op = K_POW; break;
    case EMBER_OP_MAX: op = K_MAX; break;
    case EMBER_OP_MIN: op = K_MIN; break;
    default: return ember_op_fail(c, EMBER_E_UNSUPPORTED, "no binary lowering");
    }
    if (c->n_in != 2 || !c->in[0] || !c->in[1])
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "lowered with two inputs only");
    TRY(need_f32(c, c->in[0]));
    TRY(need_f32(c, c->in[1]));
    const ember_op_tensor *o = c->out[0];
    if (o->rank > K_BCAST_MAX_RANK)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "rank %d is beyond the broadcast kernel", o->rank);
    k_bcast bc;
    memset(&bc, 0, sizeof bc);
    int ranks[2] = {c->in[0]->rank, c->in[1]->rank};
    const int64_t *dims[2] = {c->in[0]->dims, c->in[1]->dims};
    k_bcast_init(&bc, o->rank, o->dims, 2, ranks, dims);
    int bl = ember_lower_blob(L, &bc, sizeof bc);
    if (bl < 0) return ember_error(EMBER_E_NO_MEMORY, "out of memory lowering the program");
    return EMBER_LCALL(L, "k_binary_f32", LI(op), LIN(c, 0, 0), LIN(c, 1, 0), LOUT(c, 0, 0),
                       ember_larg_blob(bl), LI(0), LI(1));
}
