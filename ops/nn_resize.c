/* Resize (opsets 10, 11, 13) and Upsample (7, 9): separable passes of kernels/resize.c,
 * innermost axis first so an out-of-range outer coordinate gives exactly the
 * extrapolation value, as in the ONNX reference. float32 natively; float16, bfloat16, int8
 * and uint8 staged through float. */
#include <math.h>
#include <string.h>

#include "kernels/resize.h"
#include "nn_common.h"
#include "op_decls.h"

typedef struct resize_plan {
    int rank, upsample;
    k_resize_axis ax[EMBER_MAX_RANK];
    int64_t out[EMBER_MAX_RANK];
    int known;           /* output shape known */
    float extrap;
} resize_plan;

static int pick(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* A non-empty input i with known data (Resize passes empty tensors for absent ones). */
static const ember_op_tensor *nonempty(const ember_op_ctx *c, int i)
{
    const ember_op_tensor *t = ember_op_in(c, i);
    if (!t) return NULL;
    if (t->rank == 1 && t->dims[0] == 0) return NULL;
    return t;
}

static ember_status resize_plan_build(ember_op_ctx *c, resize_plan *p, int upsample)
{
    memset(p, 0, sizeof *p);
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input X");
    if (!nn_f32_convertible(x->dtype))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input of type %s is not supported",
                             ember_dtype_name(x->dtype));
    p->rank = x->rank;
    p->upsample = upsample;
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                       "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const char *ms = ember_attr_string(c->node, "mode", "nearest");
    int mode = pick(ms, modes, 3);
    if (upsample && strcmp(ms, "bilinear") == 0) mode = K_RS_LINEAR;
    if (mode < 0 || (upsample && mode == K_RS_CUBIC) || (c->opset < 11 && mode == K_RS_CUBIC))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "unknown mode '%s'", ms);
    int old = upsample || c->opset < 11;
    int ctm = K_CT_ASYMMETRIC, nm = K_NM_SIMPLE;
    if (!old) {
        const char *cs = ember_attr_string(c->node, "coordinate_transformation_mode", "half_pixel");
        const char *ns = ember_attr_string(c->node, "nearest_mode", "round_prefer_floor");
        ctm = pick(cs, ctms, 6);
        nm = pick(ns, nms, 4);
        if (ctm < 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "unknown coordinate_transformation_mode '%s'", cs);
        if (nm < 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "unknown nearest_mode '%s'", ns);
    }
    p->extrap = ember_attr_float(c->node, "extrapolation_value", 0.0f);
    if (x->rank < 0) return EMBER_OK;
    int r = x->rank;
    /* Where the scales / sizes / roi come from in each version. */
    const ember_op_tensor *scales = NULL, *sizes = NULL, *roi = NULL;
    const float *ascales = NULL;
    if (upsample && c->opset < 9) {
        int n = ember_attr_floats(c->node, "scales", &ascales);
        if (n != r) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute 'scales' needs %d values", r);
    } else if (old) {
        scales = ember_op_in(c, 1);
        if (!scales) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input 'scales' is required");
    } else {
        roi = nonempty(c, 1);
        scales = nonempty(c, 2);
        sizes = nonempty(c, 3);
        if (scales && sizes)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "only one of scales and sizes may be given");
        if (!scales && !sizes) {
            /* With unknown data an empty-looking input may still be filled in at run time. */
            if (!c->running) return EMBER_OK;
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs scales or sizes");
        }
    }
    const ember_op_tensor *src = sizes ? sizes : scales;
    if (src) {
        if (src->rank != 1 || (src->dims[0] >= 0 && src->dims[0] != r))
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "%s must hold %d values", sizes ? "sizes" : "scales", r);
        if (sizes && sizes->dtype != EMBER_DT_INT64)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "sizes must be int64");
        if (!sizes && src->dtype != EMBER_DT_FLOAT)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "scales must be float32");
        if (!src->data) return EMBER_OK; /* shape known only at run time */
    }
    if (roi && ctm == K_CT_TF_CROP_AND_RESIZE) {
        if (roi->rank != 1 || (roi->dims[0] >= 0 && roi->dims[0] != 2 * r))
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "roi must hold %d values", 2 * r);
        if (!roi->data) return EMBER_OK;
    }
    p->known = 1;
    for (int i = 0; i < r; i++) {
        k_resize_axis *a = &p->ax[i];
        a->mode = mode;
        a->ctm = ctm;
        a->nearest = nm;
        a->exclude_outside = (int)ember_attr_int(c->node, "exclude_outside", 0) != 0;
        a->cubic_a = ember_attr_float(c->node, "cubic_coeff_a", -0.75f);
        a->roi_start = 0.0;
        a->roi_end = 1.0;
        if (roi && ctm == K_CT_TF_CROP_AND_RESIZE) {
            a->roi_start = ember_op_get_double(roi, i);
            a->roi_end = ember_op_get_double(roi, r + i);
        }
        a->in = x->dims[i];
        if (sizes) {
            int64_t s = ember_op_get_int(sizes, i);
            if (s < 0) return ember_op_fail(c, EMBER_E_INVALID_ARG, "sizes[%d] = %lld is negative", i, (long long)s);
            a->out = s;
            a->scale = a->in > 0 ? (double)s / (double)a->in : 1.0;
        } else {
            double s = ascales ? ascales[i] : ember_op_get_double(scales, i);
            if (!(s > 0) || (upsample && s < 1))
                return ember_op_fail(c, EMBER_E_INVALID_ARG, "scale %g for axis %d is invalid", s, i);
            a->scale = s;
            a->out = a->in < 0 ? -1 : (int64_t)floor((double)(float)s * (double)a->in);
        }
        if (a->out < 0 && a->in >= 0) a->out = 0;
        p->out[i] = a->out;
        if (a->out < 0) p->known = 0;
    }
    return EMBER_OK;
}

/* Scratch: per axis idx/w/outside tables, then two ping-pong buffers, then a float copy
 * of a non-float input. */
static size_t table_bytes(const resize_plan *p)
{
    size_t b = 0;
    for (int i = 0; i < p->rank; i++) {
        int t = k_resize_taps(p->ax[i].mode);
        b += (size_t)p->ax[i].out * (size_t)t * (sizeof(int64_t) + sizeof(float)) + (size_t)p->ax[i].out;
        b = (b + 7) & ~(size_t)7;
    }
    return b;
}

static int64_t max_buffer(const resize_plan *p)
{
    /* Axis k is done after the axes above it: dims [in.. k-1 | out k..]. */
    int64_t best = 0;
    for (int k = p->rank - 1; k >= 0; k--) {
        int64_t n = 1;
        for (int i = 0; i < p->rank; i++) n *= i < k ? p->ax[i].in : p->ax[i].out;
        if (n > best) best = n;
    }
    return best;
}

static ember_status resize_infer(ember_op_ctx *c, int upsample)
{
    resize_plan p;
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(resize_plan_build(c, &p, upsample));
    if (p.rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    if (!p.known) {
        int64_t d[EMBER_MAX_RANK];
        for (int i = 0; i < p.rank; i++) d[i] = -1;
        ember_op_set_out(c, 0, x->dtype, p.rank, d);
        return EMBER_OK;
    }
    ember_op_set_out(c, 0, x->dtype, p.rank, p.out);
    if (ember_op_numel(x) >= 0) {
        int64_t n = x->dtype == EMBER_DT_FLOAT ? 0 : ember_op_numel(x);
        c->scratch_bytes = table_bytes(&p) + (size_t)(2 * max_buffer(&p) + n) * sizeof(float);
    }
    return EMBER_OK;
}

static ember_status resize_run(ember_op_ctx *c, int upsample)
{
    resize_plan p;
    TRY(resize_plan_build(c, &p, upsample));
    const ember_op_tensor *x = c->in[0];
    ember_op_tensor *y = c->out[0];
    int r = p.rank;
    unsigned char *s = c->scratch;
    int64_t *idx[EMBER_MAX_RANK];
    float *w[EMBER_MAX_RANK];
    unsigned char *outside[EMBER_MAX_RANK];
    int identity[EMBER_MAX_RANK];
    for (int i = 0; i < r; i++) {
        int t = k_resize_taps(p.ax[i].mode);
        idx[i] = (int64_t *)s;
        s += (size_t)p.ax[i].out * (size_t)t * sizeof(int64_t);
        w[i] = (float *)s;
        s += (size_t)p.ax[i].out * (size_t)t * sizeof(float);
        outside[i] = s;
        s += (size_t)p.ax[i].out;
        s = (unsigned char *)c->scratch + ((size_t)(s - (unsigned char *)c->scratch + 7) & ~(size_t)7);
        identity[i] = k_resize_table(&p.ax[i], idx[i], w[i], outside[i]);
    }
    int64_t mb = max_buffer(&p);
    float *buf[2] = {(float *)s, (float *)s + mb}, *staged = (float *)s + 2 * mb;
    const float *cur = x->data;
    if (x->dtype != EMBER_DT_FLOAT) {
        nn_to_f32(x, staged);
        cur = staged;
    }
    int64_t dims[EMBER_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)r);
    int which = 0;
    for (int k = r - 1; k >= 0; k--) {
        if (identity[k]) continue;
        int64_t outer = nn_prod(dims, 0, k), inner = nn_prod(dims, k + 1, r);
        k_resize_pass_f32(cur, outer, p.ax[k].in, inner, p.ax[k].out, k_resize_taps(p.ax[k].mode),
                          idx[k], w[k], outside[k], p.extrap, buf[which], 0, 1);
        dims[k] = p.ax[k].out;
        cur = buf[which];
        which ^= 1;
    }
    int64_t n = ember_op_numel(y);
    if (y->dtype == EMBER_DT_FLOAT) memcpy(y->data, cur, (size_t)n * sizeof(float));
    else nn_from_f32(cur, n, y);
    return EMBER_OK;
}

ember_status ember_infer_resize(ember_op_ctx *c) { return resize_infer(c, 0); }
ember_status ember_run_resize(ember_op_ctx *c) { return resize_run(c, 0); }
ember_status ember_infer_upsample(ember_op_ctx *c) { return resize_infer(c, 1); }
ember_status ember_run_upsample(ember_op_ctx *c) { return resize_run(c, 1); }
