/* Elementwise unary ops: math and activations, Not/BitwiseNot, Clip, IsNaN/IsInf and
 * inference-mode Dropout. unop_of() says what each op is; one infer/run pair serves
 * the plain ones. */
#include <math.h>
#include <string.h>

#include "elementwise.h"
#include "kernels/cast.h"
#include "kernels/unary.h"
#include "op_decls.h"

typedef struct unop_info {
    int kop;        /* enum k_unop */
    unsigned types; /* allowed dtype classes */
    const char *a_name, *b_name; /* float attributes feeding alpha and beta */
    float a_def, b_def;
} unop_info;

static ember_status unop_of(const ember_op_ctx *c, unop_info *u)
{
    memset(u, 0, sizeof *u);
    u->types = EW_FLOAT;
    switch (c->node->op) {
    case EMBER_OP_ABS: u->kop = K_ABS, u->types = EW_NUM; break;
    case EMBER_OP_NEG: u->kop = K_NEG, u->types = EW_NUM; break;
    case EMBER_OP_SIGN: u->kop = K_SIGN, u->types = EW_NUM; break;
    case EMBER_OP_RELU: u->kop = K_RELU, u->types = EW_FLOAT | EW_SINT; break;
    case EMBER_OP_NOT: u->kop = K_NOT, u->types = EW_BOOL; break;
    case EMBER_OP_BITWISE_NOT: u->kop = K_BNOT, u->types = EW_INT; break;
    case EMBER_OP_SQRT: u->kop = K_SQRT; break;
    case EMBER_OP_RECIPROCAL: u->kop = K_RECIP; break;
    case EMBER_OP_EXP: u->kop = K_EXP; break;
    case EMBER_OP_LOG: u->kop = K_LOG; break;
    case EMBER_OP_CEIL: u->kop = K_CEIL; break;
    case EMBER_OP_FLOOR: u->kop = K_FLOOR; break;
    case EMBER_OP_ROUND: u->kop = K_ROUND; break;
    case EMBER_OP_SIN: u->kop = K_SIN; break;
    case EMBER_OP_COS: u->kop = K_COS; break;
    case EMBER_OP_TAN: u->kop = K_TAN; break;
    case EMBER_OP_ASIN: u->kop = K_ASIN; break;
    case EMBER_OP_ACOS: u->kop = K_ACOS; break;
    case EMBER_OP_ATAN: u->kop = K_ATAN; break;
    case EMBER_OP_SINH: u->kop = K_SINH; break;
    case EMBER_OP_COSH: u->kop = K_COSH; break;
    case EMBER_OP_ASINH: u->kop = K_ASINH; break;
    case EMBER_OP_ACOSH: u->kop = K_ACOSH; break;
    case EMBER_OP_ATANH: u->kop = K_ATANH; break;
    case EMBER_OP_ERF: u->kop = K_ERF; break;
    case EMBER_OP_SIGMOID: u->kop = K_SIGMOID; break;
    case EMBER_OP_TANH: u->kop = K_TANH; break;
    case EMBER_OP_SOFTPLUS: u->kop = K_SOFTPLUS; break;
    case EMBER_OP_SOFTSIGN: u->kop = K_SOFTSIGN; break;
    case EMBER_OP_MISH: u->kop = K_MISH; break;
    case EMBER_OP_HARD_SWISH: u->kop = K_HARDSWISH; break;
    case EMBER_OP_ELU: u->kop = K_ELU, u->a_name = "alpha", u->a_def = 1.0f; break;
    case EMBER_OP_SELU:
        u->kop = K_SELU, u->a_name = "alpha", u->a_def = 1.67326319217681884765625f;
        u->b_name = "gamma", u->b_def = 1.05070102214813232421875f;
        break;
    case EMBER_OP_LEAKY_RELU: u->kop = K_LEAKYRELU, u->a_name = "alpha", u->a_def = 0.01f; break;
    case EMBER_OP_HARD_SIGMOID:
        u->kop = K_HARDSIGMOID, u->a_name = "alpha", u->a_def = 0.2f;
        u->b_name = "beta", u->b_def = 0.5f;
        break;
    case EMBER_OP_THRESHOLDED_RELU: u->kop = K_THRESHRELU, u->a_name = "alpha", u->a_def = 1.0f; break;
    case EMBER_OP_CELU: u->kop = K_CELU, u->a_name = "alpha", u->a_def = 1.0f; break;
    case EMBER_OP_SHRINK:
        u->kop = K_SHRINK, u->a_name = "lambd", u->a_def = 0.5f;
        u->b_name = "bias", u->b_def = 0.0f;
        break;
    default: return ember_op_fail(c, EMBER_E_INTERNAL, "not a unary op");
    }
    return EMBER_OK;
}

/* The common rule: one input, output of the same shape (and dtype unless out_dt set). */
static ember_status same_shape_out(ember_op_ctx *c, unsigned types, ember_dtype out_dt)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs an input");
    TRY(ew_check_dtype(c, "input", x->dtype, types));
    ember_op_set_out(c, 0, out_dt ? out_dt : x->dtype, x->rank, x->dims);
    if (c->out[0]) memcpy(c->out[0]->syms, x->syms, sizeof x->syms);
    return EMBER_OK;
}

ember_status ember_infer_unary(ember_op_ctx *c)
{
    unop_info u;
    TRY(unop_of(c, &u));
    if (u.kop == K_CELU && ember_attr_float(c->node, "alpha", 1.0f) == 0.0f)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute alpha must not be 0");
    return same_shape_out(c, u.types, EMBER_DT_UNDEFINED);
}

ember_status ember_run_unary(ember_op_ctx *c)
{
    unop_info u;
    TRY(unop_of(c, &u));
    double alpha = u.a_name ? ember_attr_float(c->node, u.a_name, u.a_def) : 0;
    double beta = u.b_name ? ember_attr_float(c->node, u.b_name, u.b_def) : 0;
    ew_unary(c->in[0]->dtype, u.kop, c->in[0]->data, c->out[0]->data, ember_op_numel(c->in[0]),
             alpha, beta);
    return EMBER_OK;
}

/* Clip: bounds are attributes before opset 11, optional scalar inputs from 11. */
ember_status ember_infer_clip(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(same_shape_out(c, c->opset < 11 ? EW_FLOAT : EW_NUM, EMBER_DT_UNDEFINED));
    for (int i = 1; i <= 2 && c->opset >= 11; i++) {
        const ember_op_tensor *b = ember_op_in(c, i);
        if (!b) continue;
        const char *what = i == 1 ? "min" : "max";
        TRY(ew_same_dtype(c, "input", x->dtype, what, b->dtype));
        if (ember_op_numel(b) > 1 || (b->rank > 1))
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "%s must be a scalar", what);
    }
    return EMBER_OK;
}

ember_status ember_run_clip(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    const void *lo = NULL, *hi = NULL;
    uint64_t lo_buf = 0, hi_buf = 0; /* attribute bounds converted to x's dtype */
    if (c->opset < 11) {
        const ember_attr *amin = ember_node_attr(c->node, "min"), *amax = ember_node_attr(c->node, "max");
        if (amin) k_cast(K_DT_FLOAT, &amin->f, x->dtype, &lo_buf, 1, 0, 1), lo = &lo_buf;
        if (amax) k_cast(K_DT_FLOAT, &amax->f, x->dtype, &hi_buf, 1, 0, 1), hi = &hi_buf;
    } else {
        const ember_op_tensor *b;
        if ((b = ember_op_in(c, 1)) && ember_op_numel(b) == 1) lo = b->data;
        if ((b = ember_op_in(c, 2)) && ember_op_numel(b) == 1) hi = b->data;
    }
    void *y = c->out[0]->data;
    int64_t n = ember_op_numel(x);
    switch (x->dtype) {
    case EMBER_DT_FLOAT: k_clip_f32(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_DOUBLE: k_clip_f64(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_FLOAT16: k_clip_f16(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_BFLOAT16: k_clip_bf16(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_INT8: k_clip_i8(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_INT16: k_clip_i16(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_INT32: k_clip_i32(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_INT64: k_clip_i64(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_UINT8: k_clip_u8(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_UINT16: k_clip_u16(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_UINT32: k_clip_u32(x->data, y, n, lo, hi, 0, 1); break;
    case EMBER_DT_UINT64: k_clip_u64(x->data, y, n, lo, hi, 0, 1); break;
    default: return ember_op_fail(c, EMBER_E_UNSUPPORTED, "unsupported type");
    }
    return EMBER_OK;
}

ember_status ember_infer_isnan(ember_op_ctx *c)
{
    return same_shape_out(c, EW_FLOAT, EMBER_DT_BOOL);
}

ember_status ember_run_isnan(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    uint8_t *y = c->out[0]->data;
    int64_t n = ember_op_numel(x);
    bool inf = c->node->op == EMBER_OP_IS_INF;
    int pos = (int)ember_attr_int(c->node, "detect_positive", 1) != 0;
    int neg = (int)ember_attr_int(c->node, "detect_negative", 1) != 0;
    switch (x->dtype) {
#define ISX_CASE(DT, sfx)                                                   \
    case DT:                                                                \
        if (inf) k_isinf_##sfx(x->data, y, n, pos, neg, 0, 1);               \
        else k_isnan_##sfx(x->data, y, n, 0, 1);                             \
        break;
        ISX_CASE(EMBER_DT_FLOAT, f32)
        ISX_CASE(EMBER_DT_DOUBLE, f64)
        ISX_CASE(EMBER_DT_FLOAT16, f16)
        ISX_CASE(EMBER_DT_BFLOAT16, bf16)
#undef ISX_CASE
    default: return ember_op_fail(c, EMBER_E_UNSUPPORTED, "unsupported type");
    }
    return EMBER_OK;
}

/* Dropout at inference is the identity; the optional mask is all true. Training mode
 * (opset 12+, a true training_mode input) would need random numbers: refused. */
static ember_status dropout_training(const ember_op_ctx *c, bool *training)
{
    *training = false;
    if (c->opset < 12 || !ember_op_in(c, 2)) return EMBER_OK;
    const ember_op_tensor *t = c->in[2];
    TRY(ew_check_dtype(c, "training_mode", t->dtype, EW_BOOL));
    if (!t->data) {
        if (c->running) return ember_op_fail(c, EMBER_E_INTERNAL, "training_mode has no data");
        return EMBER_OK;
    }
    if (ember_op_numel(t) != 1)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "training_mode must be a scalar");
    *training = ((const uint8_t *)t->data)[0] != 0;
    return EMBER_OK;
}

ember_status ember_infer_dropout(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(same_shape_out(c, EW_FLOAT, EMBER_DT_UNDEFINED));
    bool training;
    TRY(dropout_training(c, &training));
    if (training)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "training mode (random dropout) is not supported");
    if (c->n_out > 1 && c->out[1]) {
        ember_op_set_out(c, 1, c->opset >= 10 ? EMBER_DT_BOOL : x->dtype, x->rank, x->dims);
        memcpy(c->out[1]->syms, x->syms, sizeof x->syms);
    }
    return EMBER_OK;
}

ember_status ember_run_dropout(ember_op_ctx *c)
{
    memcpy(c->out[0]->data, c->in[0]->data, c->out[0]->nbytes);
    if (c->n_out > 1 && c->out[1]) {
        ember_op_tensor *m = c->out[1];
        uint8_t one = 1;
        int64_t n = ember_op_numel(m);
        size_t es = ember_dtype_size(m->dtype);
        if (n > 0) k_cast(K_DT_BOOL, &one, m->dtype, m->data, 1, 0, 1);
        for (int64_t i = 1; i < n; i++) memcpy((char *)m->data + i * es, m->data, es);
    }
    return EMBER_OK;
}
