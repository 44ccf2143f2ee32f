/* Pad: pads/value attributes before opset 11, inputs from 11 on. */
#include <string.h>

#include "kernels/pad.h"
#include "op.h"
#include "op_decls.h"
#include "tensor_util.h"

static ember_status pad_mode(const ember_op_ctx *c, int *mode)
{
    const char *m = ember_attr_string(c->node, "mode", "constant");
    if (strcmp(m, "constant") == 0) *mode = K_PAD_CONSTANT;
    else if (strcmp(m, "reflect") == 0) *mode = K_PAD_REFLECT;
    else if (strcmp(m, "edge") == 0) *mode = K_PAD_EDGE;
    else return ember_op_fail(c, EMBER_E_UNSUPPORTED, "mode '%s' is not constant, reflect or edge", m);
    return EMBER_OK;
}

/* pads as [begin_0.., end_0..]; *n = -1 when not known yet. */
static ember_status pad_amounts(const ember_op_ctx *c, int rank, int64_t *pads, int *n)
{
    if (c->opset < 11) {
        const int64_t *v;
        *n = ember_attr_ints(c->node, "pads", &v);
        if (*n < 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute 'pads' is missing");
        if (*n > 2 * EMBER_MAX_RANK) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "too many pads");
        memcpy(pads, v, sizeof(int64_t) * (size_t)*n);
        return EMBER_OK;
    }
    TRY(tu_read_ints(c, 1, "pads", pads, 2 * EMBER_MAX_RANK, n));
    if (!ember_op_in(c, 3)) return EMBER_OK;
    if (c->opset < 18) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "the axes input needs opset 18");
    /* Opset 18: pads name only the listed axes; spread them over every dim. */
    int axes[EMBER_MAX_RANK * 2], na;
    TRY(tu_axes(c, "axes", 0, 3, rank, axes, &na));
    if (*n < 0 || na < 0) {
        *n = -1;
        return EMBER_OK;
    }
    if (*n != 2 * na) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "pads has %d values for %d axes", *n, na);
    int64_t full[2 * EMBER_MAX_RANK] = {0};
    for (int k = 0; k < na; k++) full[axes[k]] = pads[k], full[axes[k] + rank] = pads[k + na];
    memcpy(pads, full, sizeof(int64_t) * (size_t)(2 * rank));
    *n = 2 * rank;
    return EMBER_OK;
}

ember_status ember_infer_pad(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    int mode = K_PAD_CONSTANT, n = 0;
    TRY(pad_mode(c, &mode));
    int64_t pads[2 * EMBER_MAX_RANK];
    TRY(pad_amounts(c, x->rank, pads, &n));
    const ember_op_tensor *v = ember_op_in(c, 2);
    if (c->opset >= 11 && v) {
        if (v->dtype != x->dtype && v->dtype != EMBER_DT_UNDEFINED && x->dtype != EMBER_DT_UNDEFINED)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "constant_value is %s, data is %s",
                                 ember_dtype_name(v->dtype), ember_dtype_name(x->dtype));
        if (c->running && ember_op_numel(v) != 1)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "constant_value must hold one value");
    }
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    int64_t dims[EMBER_MAX_RANK];
    int map[EMBER_MAX_RANK];
    if (n >= 0 && n != 2 * x->rank)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "pads has %d values for rank %d", n, x->rank);
    for (int k = 0; k < x->rank; k++) {
        map[k] = -1;
        if (n < 0 || x->dims[k] < 0) {
            dims[k] = -1;
            continue;
        }
        int64_t b = pads[k], e = pads[k + x->rank];
        dims[k] = x->dims[k] + b + e;
        if (b == 0 && e == 0) map[k] = k;
        if (dims[k] < 0)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "pads crop dimension %d of size %lld below zero", k,
                                 (long long)x->dims[k]);
        if (mode != K_PAD_CONSTANT && dims[k] > 0 && x->dims[k] - (b < 0 ? -b : 0) - (e < 0 ? -e : 0) <= 0)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "%s padding of dimension %d has no input left to read",
                                 mode == K_PAD_EDGE ? "edge" : "reflect", k);
    }
    tu_set_out_map(c, 0, x, x->rank, dims, map);
    return EMBER_OK;
}

ember_status ember_run_pad(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int mode = K_PAD_CONSTANT, n = 0;
    TRY(pad_mode(c, &mode));
    int64_t pads[2 * EMBER_MAX_RANK];
    TRY(pad_amounts(c, x->rank, pads, &n));
    size_t es = ember_dtype_size(x->dtype);
    unsigned char value[16] = {0};
    const ember_op_tensor *v = ember_op_in(c, 2);
    if (c->opset >= 11 && v) memcpy(value, v->data, es);
    else if (c->opset < 11) TRY(tu_from_double(c, x->dtype, ember_attr_float(c->node, "value", 0.0f), value));
    k_pad(x->data, c->out[0]->data, x->rank, x->dims, c->out[0]->dims, pads, pads + x->rank, mode, value, es);
    return EMBER_OK;
}
