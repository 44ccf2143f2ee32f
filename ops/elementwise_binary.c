/* Broadcasting binary ops (Add ... BitShift, PRelu), the variadic Max/Min/Sum/Mean and
 * Where. One infer/run pair serves every binary op; binop_of() says what each one is. */
#include <stdio.h>
#include <string.h>

#include "elementwise.h"
#include "kernels/binary.h"
#include "kernels/cast.h"
#include "kernels/unary.h"
#include "op_decls.h"

typedef struct binop_info {
    int kop;        /* enum k_binop */
    unsigned types; /* allowed operand dtype classes */
} binop_info;

static ember_status binop_of(const ember_op_ctx *c, binop_info *bi)
{
    const ember_node *n = c->node;
    bi->types = EW_NUM;
    switch (n->op) {
    case EMBER_OP_ADD: case EMBER_OP_SUM: bi->kop = K_ADD; break;
    case EMBER_OP_SUB: bi->kop = K_SUB; break;
    case EMBER_OP_MUL: bi->kop = K_MUL; break;
    case EMBER_OP_DIV: bi->kop = K_DIV; break;
    case EMBER_OP_POW: bi->kop = K_POW; break;
    case EMBER_OP_MAX: bi->kop = K_MAX; break;
    case EMBER_OP_MIN: bi->kop = K_MIN; break;
    case EMBER_OP_MEAN: bi->kop = K_ADD, bi->types = EW_FLOAT; break;
    case EMBER_OP_PRELU: bi->kop = K_PRELU; break;
    case EMBER_OP_MOD: {
        int64_t f = ember_attr_int(n, "fmod", 0);
        if (f != 0 && f != 1)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute fmod must be 0 or 1, got %lld",
                                 (long long)f);
        bi->kop = f ? K_FMOD : K_MOD;
        break;
    }
    case EMBER_OP_EQUAL: bi->kop = K_EQ, bi->types = EW_NUM | EW_BOOL; break;
    case EMBER_OP_GREATER: bi->kop = K_GT; break;
    case EMBER_OP_LESS: bi->kop = K_LT; break;
    case EMBER_OP_GREATER_OR_EQUAL: bi->kop = K_GE; break;
    case EMBER_OP_LESS_OR_EQUAL: bi->kop = K_LE; break;
    case EMBER_OP_AND: bi->kop = K_AND, bi->types = EW_BOOL; break;
    case EMBER_OP_OR: bi->kop = K_OR, bi->types = EW_BOOL; break;
    case EMBER_OP_XOR: bi->kop = K_XOR, bi->types = EW_BOOL; break;
    case EMBER_OP_BITWISE_AND: bi->kop = K_BAND, bi->types = EW_INT; break;
    case EMBER_OP_BITWISE_OR: bi->kop = K_BOR, bi->types = EW_INT; break;
    case EMBER_OP_BITWISE_XOR: bi->kop = K_BXOR, bi->types = EW_INT; break;
    case EMBER_OP_BIT_SHIFT: {
        const char *d = ember_attr_string(n, "direction", NULL);
        if (!d || (strcmp(d, "LEFT") != 0 && strcmp(d, "RIGHT") != 0))
            return ember_op_fail(c, EMBER_E_INVALID_MODEL,
                                 "attribute direction must be \"LEFT\" or \"RIGHT\", got %s%s%s",
                                 d ? "\"" : "", d ? d : "nothing", d ? "\"" : "");
        bi->kop = strcmp(d, "LEFT") == 0 ? K_SHL : K_SHR;
        bi->types = EW_UINT;
        break;
    }
    default:
        return ember_op_fail(c, EMBER_E_INTERNAL, "not a binary op");
    }
    return EMBER_OK;
}

/* Pow allows a differently typed exponent; it is computed in double then. */
static bool pow_mixed(const ember_op_ctx *c, int kop)
{
    return kop == K_POW && c->in[0]->dtype != c->in[1]->dtype;
}

ember_status ember_infer_binary(ember_op_ctx *c)
{
    binop_info bi = {0};
    TRY(binop_of(c, &bi));
    const ember_op_tensor *a = ember_op_in(c, 0), *b = ember_op_in(c, 1);
    if (!a || !b) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs two inputs");
    TRY(ew_check_dtype(c, "input A", a->dtype, bi.types));
    TRY(ew_check_dtype(c, "input B", b->dtype, bi.types));
    if (bi.kop != K_POW) TRY(ew_same_dtype(c, "input A", a->dtype, "input B", b->dtype));
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(ember_op_broadcast(c, a, b, &rank, dims));
    if (bi.kop == K_PRELU && rank >= 0) {
        /* slope broadcasts to X, never the other way round */
        bool ok = rank == a->rank;
        for (int d = 0; ok && d < rank; d++)
            if (a->dims[d] >= 0 && dims[d] >= 0 && a->dims[d] != dims[d]) ok = false;
        if (!ok)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL,
                                 "slope (rank %d) does not broadcast to the shape of X (rank %d)",
                                 b->rank, a->rank);
        memcpy(dims, a->dims, sizeof dims);
    }
    ember_dtype odt = k_binop_is_bool(bi.kop) ? EMBER_DT_BOOL : a->dtype;
    ember_op_set_out(c, 0, odt, rank, dims);
    const ember_op_tensor *ins[2] = {a, b};
    ew_broadcast_syms(c->out[0], ins, 2);
    if (pow_mixed(c, bi.kop) && a->dtype != EMBER_DT_UNDEFINED && b->dtype != EMBER_DT_UNDEFINED) {
        TRY(ew_check_dtype(c, "input A", a->dtype, EW_NUM));
        int64_t na = ember_op_numel(a), nb = ember_op_numel(b), ny = ember_op_numel(c->out[0]);
        if (na >= 0 && nb >= 0 && ny >= 0) c->scratch_bytes = (size_t)(na + nb + ny) * sizeof(double);
    }
    return EMBER_OK;
}

ember_status ember_run_binary(ember_op_ctx *c)
{
    binop_info bi = {0};
    TRY(binop_of(c, &bi));
    ember_op_tensor *a = c->in[0], *b = c->in[1], *y = c->out[0];
    const ember_op_tensor *ins[2] = {a, b};
    k_bcast bc;
    ew_bcast_for(&bc, y, ins, 2);
    if (pow_mixed(c, bi.kop)) {
        int64_t na = ember_op_numel(a), nb = ember_op_numel(b), ny = ember_op_numel(y);
        double *da = c->scratch, *db = da + na, *dy = db + nb;
        k_cast(a->dtype, a->data, K_DT_DOUBLE, da, na, 0, 1);
        k_cast(b->dtype, b->data, K_DT_DOUBLE, db, nb, 0, 1);
        k_binary_f64(K_POW, da, db, dy, &bc, 0, 1);
        k_cast(K_DT_DOUBLE, dy, y->dtype, y->data, ny, 0, 1);
        return EMBER_OK;
    }
    ew_binary(a->dtype, bi.kop, a->data, b->data, y->data, &bc);
    return EMBER_OK;
}

/* Max, Min, Sum, Mean: any number of inputs, broadcast together. */
ember_status ember_infer_variadic(ember_op_ctx *c)
{
    binop_info bi = {0};
    TRY(binop_of(c, &bi));
    if (c->n_in < 1) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs at least one input");
    ember_op_tensor acc = {0};
    for (int i = 0; i < c->n_in; i++) {
        const ember_op_tensor *t = c->in[i];
        if (!t) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %d is missing", i);
        char what[32];
        snprintf(what, sizeof what, "input %d", i);
        TRY(ew_check_dtype(c, what, t->dtype, bi.types));
        TRY(ew_same_dtype(c, "input 0", c->in[0]->dtype, what, t->dtype));
        if (i == 0) {
            acc = *t;
            continue;
        }
        int rank;
        int64_t dims[EMBER_MAX_RANK];
        TRY(ember_op_broadcast(c, &acc, t, &rank, dims));
        acc.rank = rank;
        if (rank >= 0) memcpy(acc.dims, dims, sizeof dims);
    }
    ember_op_set_out(c, 0, c->in[0]->dtype, acc.rank, acc.dims);
    ew_broadcast_syms(c->out[0], (const ember_op_tensor *const *)c->in, c->n_in);
    return EMBER_OK;
}

ember_status ember_run_variadic(ember_op_ctx *c)
{
    binop_info bi = {0};
    TRY(binop_of(c, &bi));
    ember_op_tensor *y = c->out[0];
    if (c->n_in == 1) {
        memcpy(y->data, c->in[0]->data, y->nbytes);
        return EMBER_OK;
    }
    /* Both first operands broadcast straight to the final shape; later ones fold into
     * the output in place (y[i] only ever reads y[i]). */
    k_bcast bc;
    const ember_op_tensor *ins[2] = {c->in[0], c->in[1]};
    ew_bcast_for(&bc, y, ins, 2);
    ew_binary(y->dtype, bi.kop, ins[0]->data, ins[1]->data, y->data, &bc);
    for (int i = 2; i < c->n_in; i++) {
        ins[0] = y;
        ins[1] = c->in[i];
        ew_bcast_for(&bc, y, ins, 2);
        ew_binary(y->dtype, bi.kop, y->data, ins[1]->data, y->data, &bc);
    }
    if (c->node->op == EMBER_OP_MEAN)
        ew_unary(y->dtype, K_SCALE, y->data, y->data, ember_op_numel(y), 1.0 / c->n_in, 0);
    return EMBER_OK;
}

ember_status ember_infer_where(ember_op_ctx *c)
{
    const ember_op_tensor *cond = ember_op_in(c, 0), *x = ember_op_in(c, 1), *y = ember_op_in(c, 2);
    if (!cond || !x || !y) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs three inputs");
    TRY(ew_check_dtype(c, "condition", cond->dtype, EW_BOOL));
    TRY(ew_same_dtype(c, "X", x->dtype, "Y", y->dtype));
    TRY(ew_check_dtype(c, "X", x->dtype, EW_NUM | EW_BOOL));
    ember_op_tensor xy = *x;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(ember_op_broadcast(c, x, y, &rank, dims));
    xy.rank = rank;
    if (rank >= 0) memcpy(xy.dims, dims, sizeof dims);
    TRY(ember_op_broadcast(c, cond, &xy, &rank, dims));
    ember_op_set_out(c, 0, x->dtype, rank, dims);
    const ember_op_tensor *ins[3] = {cond, x, y};
    ew_broadcast_syms(c->out[0], ins, 3);
    return EMBER_OK;
}

ember_status ember_run_where(ember_op_ctx *c)
{
    const ember_op_tensor *ins[3] = {c->in[0], c->in[1], c->in[2]};
    k_bcast bc;
    ew_bcast_for(&bc, c->out[0], ins, 3);
    k_where(ember_dtype_size(c->out[0]->dtype), ins[0]->data, ins[1]->data, ins[2]->data,
            c->out[0]->data, &bc, 0, 1);
    return EMBER_OK;
}
