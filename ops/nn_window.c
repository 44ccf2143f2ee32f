/* Window geometry shared by Conv, ConvTranspose and the pools. */
#include <math.h>
#include <string.h>

#include "kernels/half.h"

#include "nn_common.h"

static ember_status read_ints(const ember_op_ctx *c, const char *name, int n, int64_t dflt,
                              int64_t *dst, int64_t min)
{
    const int64_t *v;
    int cnt = ember_attr_ints(c->node, name, &v);
    for (int i = 0; i < n; i++) dst[i] = dflt;
    if (cnt < 0) return EMBER_OK;
    if (cnt != n)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute '%s' has %d values, expected %d",
                             name, cnt, n);
    for (int i = 0; i < n; i++) {
        if (v[i] < min)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute '%s' value %lld is below %lld",
                                 name, (long long)v[i], (long long)min);
        dst[i] = v[i];
    }
    return EMBER_OK;
}

ember_status nn_window_read(const ember_op_ctx *c, int nd, const int64_t *kernel, nn_window *w)
{
    memset(w, 0, sizeof *w);
    if (nd < 1 || nd > K_CONV_MAX_SP)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "%d spatial dimensions are not supported", nd);
    w->nd = nd;
    const int64_t *ks;
    int nk = ember_attr_ints(c->node, "kernel_shape", &ks);
    if (nk < 0 && !kernel)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute 'kernel_shape' is required");
    TRY(read_ints(c, "kernel_shape", nd, 1, w->k, 1));
    if (kernel)
        for (int i = 0; i < nd; i++) {
            if (nk >= 0 && kernel[i] >= 0 && kernel[i] != w->k[i])
                return ember_op_fail(c, EMBER_E_INVALID_MODEL,
                                     "kernel_shape[%d] = %lld disagrees with the weights (%lld)", i,
                                     (long long)w->k[i], (long long)kernel[i]);
            if (nk < 0) w->k[i] = kernel[i];
        }
    TRY(read_ints(c, "strides", nd, 1, w->s, 1));
    TRY(read_ints(c, "dilations", nd, 1, w->d, 1));
    int64_t pads[2 * K_CONV_MAX_SP];
    TRY(read_ints(c, "pads", 2 * nd, 0, pads, 0));
    for (int i = 0; i < nd; i++) w->pb[i] = pads[i], w->pe[i] = pads[nd + i];
    const char *ap = ember_attr_string(c->node, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") == 0 || ap[0] == '\0') w->auto_pad = NN_PAD_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0) w->auto_pad = NN_PAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0) w->auto_pad = NN_PAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0) w->auto_pad = NN_PAD_VALID;
    else return ember_op_fail(c, EMBER_E_INVALID_MODEL, "unknown auto_pad '%s'", ap);
    if (w->auto_pad != NN_PAD_NOTSET && ember_node_attr(c->node, "pads")) {
        for (int i = 0; i < 2 * nd; i++)
            if (pads[i] != 0)
                return ember_op_fail(c, EMBER_E_INVALID_MODEL, "pads and auto_pad %s are both set", ap);
    }
    if (w->auto_pad == NN_PAD_VALID)
        for (int i = 0; i < nd; i++) w->pb[i] = w->pe[i] = 0;
    w->ceil_mode = (int)ember_attr_int(c->node, "ceil_mode", 0) != 0;
    return EMBER_OK;
}

ember_status nn_window_out(const ember_op_ctx *c, nn_window *w, const int64_t *in, int64_t *out)
{
    for (int i = 0; i < w->nd; i++) {
        if (in[i] < 0) {
            out[i] = -1;
            continue;
        }
        int64_t span = (w->k[i] - 1) * w->d[i] + 1;
        if (w->auto_pad == NN_PAD_SAME_UPPER || w->auto_pad == NN_PAD_SAME_LOWER) {
            int64_t o = (in[i] + w->s[i] - 1) / w->s[i];
            int64_t total = (o - 1) * w->s[i] + span - in[i];
            if (total < 0) total = 0;
            int64_t small = total / 2;
            w->pb[i] = w->auto_pad == NN_PAD_SAME_UPPER ? small : total - small;
            w->pe[i] = total - w->pb[i];
            out[i] = o;
            continue;
        }
        int64_t avail = in[i] + w->pb[i] + w->pe[i] - span;
        if (avail < 0)
            return ember_op_fail(c, EMBER_E_INVALID_ARG,
                                 "spatial dim %d: window of %lld exceeds the padded input of %lld", i,
                                 (long long)span, (long long)(in[i] + w->pb[i] + w->pe[i]));
        int64_t o = w->ceil_mode ? (avail + w->s[i] - 1) / w->s[i] + 1 : avail / w->s[i] + 1;
        /* A last window starting inside the end padding is dropped (as in PyTorch/ORT). */
        if (w->ceil_mode && (o - 1) * w->s[i] >= in[i] + w->pb[i]) o--;
        out[i] = o;
    }
    return EMBER_OK;
}

void nn_window_geom(const nn_window *w, const int64_t *in, const int64_t *out, k_conv_geom *g)
{
    memset(g, 0, sizeof *g);
    g->nd = w->nd;
    for (int i = 0; i < w->nd; i++) {
        g->in[i] = in[i];
        g->out[i] = out[i];
        g->k[i] = w->k[i];
        g->s[i] = w->s[i];
        g->d[i] = w->d[i];
        g->pb[i] = w->pb[i];
    }
}

ember_status nn_need_f32(const ember_op_ctx *c, const ember_op_tensor *t, const char *what)
{
    if (t->dtype != EMBER_DT_FLOAT)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "%s of type %s is not supported (float32 only)",
                             what, ember_dtype_name(t->dtype));
    return EMBER_OK;
}

ember_status nn_need_rank(const ember_op_ctx *c, int i, int rank, const char *what)
{
    const ember_op_tensor *t = ember_op_in(c, i);
    if (!t) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %s is required", what);
    if (t->rank >= 0 && t->rank != rank)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %s has rank %d, expected %d", what,
                             t->rank, rank);
    return EMBER_OK;
}

int64_t nn_prod(const int64_t *dims, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= dims[i];
    return p;
}

bool nn_f32_convertible(ember_dtype dt)
{
    return dt == EMBER_DT_FLOAT || dt == EMBER_DT_FLOAT16 || dt == EMBER_DT_BFLOAT16 ||
           dt == EMBER_DT_INT8 || dt == EMBER_DT_UINT8;
}

void nn_to_f32(const ember_op_tensor *t, float *dst)
{
    int64_t n = ember_op_numel(t);
    for (int64_t i = 0; i < n; i++) dst[i] = (float)ember_op_get_double(t, i);
}

void nn_from_f32(const float *src, int64_t n, ember_op_tensor *t)
{
    for (int64_t i = 0; i < n; i++) {
        float v = src[i];
        switch (t->dtype) {
        case EMBER_DT_FLOAT: ((float *)t->data)[i] = v; break;
        case EMBER_DT_FLOAT16: ((uint16_t *)t->data)[i] = ember_float_to_half(v); break;
        case EMBER_DT_BFLOAT16: ((uint16_t *)t->data)[i] = ember_float_to_bf16(v); break;
        case EMBER_DT_UINT8: {
            float r = nearbyintf(v);
            ((uint8_t *)t->data)[i] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
            break;
        }
        case EMBER_DT_INT8: {
            float r = nearbyintf(v);
            ((int8_t *)t->data)[i] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
            break;
        }
        default: break;
        }
    }
}
