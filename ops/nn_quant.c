/* Linear quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
 * MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv. Integer products subtract the
 * zero points into int32 scratch and run the int32 gemm; QLinear ops requantize in float
 * with round-half-to-even, as the ONNX reference does. */
#include <math.h>
#include <string.h>

#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/quant.h"
#include "nn_common.h"
#include "op_decls.h"

static int is_q8(ember_dtype dt) { return dt == EMBER_DT_UINT8 || dt == EMBER_DT_INT8; }

static void qrange(ember_dtype dt, int32_t *lo, int32_t *hi)
{
    *lo = dt == EMBER_DT_INT8 ? -128 : 0;
    *hi = dt == EMBER_DT_INT8 ? 127 : 255;
}

/* Copies an int tensor's values minus zero points into dst (zp: per element of the axis
 * `ax` of size C when zpn == C > 1, else one value). */
static void widen(const ember_op_tensor *t, const ember_op_tensor *zp, int64_t inner_per_zp,
                  int64_t zpn, int32_t *dst)
{
    int64_t n = ember_op_numel(t);
    for (int64_t i = 0; i < n; i++) {
        int32_t z = 0;
        if (zp) z = (int32_t)ember_op_get_int(zp, zpn > 1 ? (i / inner_per_zp) % zpn : 0);
        dst[i] = (int32_t)ember_op_get_int(t, i) - z;
    }
}

static void narrow(const int32_t *src, int64_t n, ember_op_tensor *t)
{
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == EMBER_DT_UINT8) ((uint8_t *)t->data)[i] = (uint8_t)src[i];
        else if (t->dtype == EMBER_DT_INT8) ((int8_t *)t->data)[i] = (int8_t)src[i];
        else ((int32_t *)t->data)[i] = src[i];
    }
}

/* Scale (input si) and zero point (zi, optional) of a (de)quantization of x: per tensor, or
 * per axis from opset 13. Sets *C and *axis (axis -1 = per tensor). */
static ember_status qparams(const ember_op_ctx *c, const ember_op_tensor *x, int si, int zi,
                            int64_t *C, int *axis)
{
    const ember_op_tensor *s = ember_op_in(c, si), *z = ember_op_in(c, zi);
    if (!s) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs a scale input");
    TRY(nn_need_f32(c, s, "scale"));
    *C = 1;
    *axis = -1;
    if (s->rank < 0) return EMBER_OK;
    if (s->rank > 1 || (s->rank == 1 && c->opset < 13 && s->dims[0] != 1))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "scale must be a scalar%s",
                             c->opset >= 13 ? " or a vector" : "");
    if (s->rank == 1 && c->opset >= 13 && x->rank >= 0) {
        TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 1), x->rank, "axis", axis));
        *C = s->dims[0];
        if (x->dims[*axis] >= 0 && *C >= 0 && *C != x->dims[*axis] && *C != 1)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "scale has %lld values for an axis of %lld",
                                 (long long)*C, (long long)x->dims[*axis]);
    }
    if (z && z->rank >= 0 && ember_op_numel(z) >= 0 && ember_op_numel(z) != *C && ember_op_numel(z) != 1)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "zero point and scale sizes differ");
    return EMBER_OK;
}

/* Outer/inner extents around the quantization axis. */
static void split(const ember_op_tensor *x, int axis, int64_t *outer, int64_t *C, int64_t *inner)
{
    if (axis < 0 || *C == 1) {
        *outer = 1;
        *C = 1;
        *inner = ember_op_numel(x);
        return;
    }
    *outer = nn_prod(x->dims, 0, axis);
    *inner = nn_prod(x->dims, axis + 1, x->rank);
}

ember_status ember_infer_quantize_linear(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *z = ember_op_in(c, 2);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input x");
    TRY(nn_need_f32(c, x, "x"));
    if (z && !is_q8(z->dtype))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "zero point type %s is not supported", ember_dtype_name(z->dtype));
    int64_t C = 0;
    int axis;
    TRY(qparams(c, x, 1, 2, &C, &axis));
    ember_op_set_out(c, 0, z ? z->dtype : EMBER_DT_UINT8, x->rank, x->dims);
    int64_t n = ember_op_numel(x);
    if (n >= 0 && C >= 0) c->scratch_bytes = (size_t)(n + 2 * C) * 4;
    return EMBER_OK;
}

ember_status ember_run_quantize_linear(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *s = c->in[1], *z = ember_op_in(c, 2);
    int64_t C, outer, inner;
    int axis;
    TRY(qparams(c, x, 1, 2, &C, &axis));
    split(x, axis, &outer, &C, &inner);
    int32_t *q = c->scratch, *zp = q + outer * C * inner;
    for (int64_t k = 0; k < C; k++) zp[k] = z ? (int32_t)ember_op_get_int(z, ember_op_numel(z) > 1 ? k : 0) : 0;
    float *sc = (float *)(zp + C);
    for (int64_t k = 0; k < C; k++) sc[k] = ((const float *)s->data)[ember_op_numel(s) > 1 ? k : 0];
    int32_t lo, hi;
    qrange(c->out[0]->dtype, &lo, &hi);
    k_quantize_f32(x->data, outer, C, inner, sc, zp, lo, hi, q, 0, 1);
    narrow(q, outer * C * inner, c->out[0]);
    return EMBER_OK;
}

ember_status ember_infer_dequantize_linear(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input x");
    if (!is_q8(x->dtype) && x->dtype != EMBER_DT_INT32)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "input type %s is not supported", ember_dtype_name(x->dtype));
    int64_t C = 0;
    int axis;
    TRY(qparams(c, x, 1, 2, &C, &axis));
    ember_op_set_out(c, 0, EMBER_DT_FLOAT, x->rank, x->dims);
    int64_t n = ember_op_numel(x);
    if (n >= 0 && C >= 0) c->scratch_bytes = (size_t)(n + 2 * C) * 4;
    return EMBER_OK;
}

ember_status ember_run_dequantize_linear(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *s = c->in[1];
    int64_t C, outer, inner;
    int axis;
    TRY(qparams(c, x, 1, 2, &C, &axis));
    split(x, axis, &outer, &C, &inner);
    int32_t *q = c->scratch, *zp = q + outer * C * inner;
    widen(x, NULL, 1, 1, q);
    const ember_op_tensor *z = ember_op_in(c, 2);
    for (int64_t k = 0; k < C; k++) zp[k] = z ? (int32_t)ember_op_get_int(z, ember_op_numel(z) > 1 ? k : 0) : 0;
    float *sc = (float *)(zp + C);
    for (int64_t k = 0; k < C; k++) sc[k] = ((const float *)s->data)[ember_op_numel(s) > 1 ? k : 0];
    k_dequantize_f32(q, outer, C, inner, sc, zp, c->out[0]->data, 0, 1);
    return EMBER_OK;
}

ember_status ember_infer_dynamic_quantize_linear(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    if (!x) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs input x");
    TRY(nn_need_f32(c, x, "x"));
    ember_op_set_out(c, 0, EMBER_DT_UINT8, x->rank, x->dims);
    ember_op_set_out(c, 1, EMBER_DT_FLOAT, 0, NULL);
    ember_op_set_out(c, 2, EMBER_DT_UINT8, 0, NULL);
    int64_t n = ember_op_numel(x);
    if (n >= 0) c->scratch_bytes = (size_t)n * 4;
    return EMBER_OK;
}

ember_status ember_run_dynamic_quantize_linear(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    const float *xv = x->data;
    int64_t n = ember_op_numel(x);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        lo = xv[i] < lo ? xv[i] : lo;
        hi = xv[i] > hi ? xv[i] : hi;
    }
    float scale = (hi - lo) / 255.0f;
    int32_t zp = 0;
    if (scale > 0.0f) {
        float z = k_round_even(-lo / scale);
        zp = z < 0 ? 0 : z > 255 ? 255 : (int32_t)z;
    }
    int32_t *q = c->scratch;
    if (scale > 0.0f) {
        k_quantize_f32(xv, 1, 1, n, &scale, &zp, 0, 255, q, 0, 1);
    } else {
        for (int64_t i = 0; i < n; i++) q[i] = zp;
    }
    narrow(q, n, c->out[0]);
    if (c->n_out > 1 && c->out[1]) *(float *)c->out[1]->data = scale;
    if (c->n_out > 2 && c->out[2]) *(uint8_t *)c->out[2]->data = (uint8_t)zp;
    return EMBER_OK;
}

/* ---- integer matrix products ---- */

/* Inputs of MatMulInteger (a 0, b 1, azp 2, bzp 3) and QLinearMatMul (a 0, as 1, azp 2,
 * b 3, bs 4, bzp 5, ys 6, yzp 7). */
typedef struct qmm_io {
    int a, b, azp, bzp;
} qmm_io;

static ember_status qmm_plan(ember_op_ctx *c, const qmm_io *io, nn_mm *mm, int *rank, int64_t *dims)
{
    const ember_op_tensor *a = ember_op_in(c, io->a), *b = ember_op_in(c, io->b);
    if (!a || !b) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs A and B");
    if (!is_q8(a->dtype) || !is_q8(b->dtype))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "operands of type %s x %s are not supported",
                             ember_dtype_name(a->dtype), ember_dtype_name(b->dtype));
    const ember_op_tensor *za = ember_op_in(c, io->azp), *zb = ember_op_in(c, io->bzp);
    if ((za && za->dtype != a->dtype) || (zb && zb->dtype != b->dtype))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "zero point types must match their operands");
    TRY(nn_matmul_plan(c, a, b, mm, rank, dims));
    /* Zero points: scalar, or per row of A (M) / per column of B (N). */
    if (za && ember_op_numel(za) > 1 && mm->M >= 0 && ember_op_numel(za) != mm->M)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "a_zero_point must be a scalar or hold M values");
    if (zb && ember_op_numel(zb) > 1 && mm->N >= 0 && ember_op_numel(zb) != mm->N)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "b_zero_point must be a scalar or hold N values");
    return EMBER_OK;
}

/* acc = (A - azp)(B - bzp) for every batch; scratch holds the widened operands. */
static void qmm_compute(ember_op_ctx *c, const qmm_io *io, const nn_mm *mm, int32_t *acc, int32_t *wa)
{
    const ember_op_tensor *a = c->in[io->a], *b = c->in[io->b];
    const ember_op_tensor *za = ember_op_in(c, io->azp), *zb = ember_op_in(c, io->bzp);
    int32_t *wb = wa + ember_op_numel(a);
    widen(a, za, mm->K, za ? ember_op_numel(za) : 1, wa);
    widen(b, zb, 1, zb ? ember_op_numel(zb) : 1, wb);
    for (int64_t i = 0; i < mm->batch; i++) {
        int64_t ai, bi;
        nn_mm_batch(mm, i, &ai, &bi);
        k_igemm(mm->M, mm->N, mm->K, wa + ai * mm->M * mm->K, mm->K, wb + bi * mm->K * mm->N, mm->N,
                acc + i * mm->M * mm->N, mm->N, 0, 1);
    }
}

ember_status ember_infer_matmul_integer(ember_op_ctx *c)
{
    qmm_io io = {0, 1, 2, 3};
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(qmm_plan(c, &io, &mm, &rank, dims));
    ember_op_set_out(c, 0, EMBER_DT_INT32, rank, dims);
    int64_t na = ember_op_numel(c->in[0]), nb = ember_op_numel(c->in[1]);
    if (na >= 0 && nb >= 0) c->scratch_bytes = (size_t)(na + nb) * 4;
    return EMBER_OK;
}

ember_status ember_run_matmul_integer(ember_op_ctx *c)
{
    qmm_io io = {0, 1, 2, 3};
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(qmm_plan(c, &io, &mm, &rank, dims));
    qmm_compute(c, &io, &mm, c->out[0]->data, c->scratch);
    return EMBER_OK;
}

/* Output requantization of the QLinear ops: y = round(acc * as * bs[c] / ys) + yzp. */
static ember_status qlinear_out(ember_op_ctx *c, int as_i, int bs_i, int ys_i, int yzp_i,
                                int64_t C_b, ember_dtype *dt)
{
    static const char *names[3] = {"a scale", "b scale", "y scale"};
    int idx[3] = {as_i, bs_i, ys_i};
    for (int k = 0; k < 3; k++) {
        const ember_op_tensor *t = ember_op_in(c, idx[k]);
        if (!t) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %s is required", names[k]);
        TRY(nn_need_f32(c, t, names[k]));
        int64_t n = ember_op_numel(t);
        if (n > 1 && !(k == 1 && (C_b < 0 || n == C_b)))
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "%s must be a scalar", names[k]);
    }
    const ember_op_tensor *yz = ember_op_in(c, yzp_i);
    *dt = yz ? yz->dtype : EMBER_DT_UINT8;
    if (!is_q8(*dt)) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "output type %s is not supported", ember_dtype_name(*dt));
    return EMBER_OK;
}

static void requantize(ember_op_ctx *c, const int32_t *acc, int64_t outer, int64_t C, int64_t inner,
                       int as_i, int bs_i, int ys_i, int yzp_i, float *mult, int32_t *q)
{
    const ember_op_tensor *bs = c->in[bs_i], *yz = ember_op_in(c, yzp_i);
    float as = *(const float *)c->in[as_i]->data, ys = *(const float *)c->in[ys_i]->data;
    int64_t nb = ember_op_numel(bs);
    for (int64_t k = 0; k < C; k++) mult[k] = as * ((const float *)bs->data)[nb > 1 ? k : 0] / ys;
    int32_t lo, hi, z = yz ? (int32_t)ember_op_get_int(yz, 0) : 0;
    qrange(c->out[0]->dtype, &lo, &hi);
    k_requantize_i32(acc, outer, C, inner, mult, z, lo, hi, q, 0, 1);
    narrow(q, outer * C * inner, c->out[0]);
}

ember_status ember_infer_qlinear_matmul(ember_op_ctx *c)
{
    qmm_io io = {0, 3, 2, 5};
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(qmm_plan(c, &io, &mm, &rank, dims));
    ember_dtype dt = EMBER_DT_UNDEFINED;
    TRY(qlinear_out(c, 1, 4, 6, 7, mm.N, &dt));
    ember_op_set_out(c, 0, dt, rank, dims);
    int64_t na = ember_op_numel(c->in[0]), nb = ember_op_numel(c->in[3]);
    if (na >= 0 && nb >= 0 && mm.batch >= 0)
        c->scratch_bytes = (size_t)(na + nb + 2 * mm.batch * mm.M * mm.N + mm.N) * 4;
    return EMBER_OK;
}

ember_status ember_run_qlinear_matmul(ember_op_ctx *c)
{
    qmm_io io = {0, 3, 2, 5};
    nn_mm mm;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    TRY(qmm_plan(c, &io, &mm, &rank, dims));
    int64_t no = mm.batch * mm.M * mm.N;
    int32_t *acc = c->scratch, *q = acc + no, *wa = q + no;
    float *mult = (float *)(wa + ember_op_numel(c->in[0]) + ember_op_numel(c->in[3]));
    qmm_compute(c, &io, &mm, acc, wa);
    int64_t nbs = ember_op_numel(c->in[4]);
    requantize(c, acc, mm.batch * mm.M, nbs > 1 ? mm.N : 1, nbs > 1 ? 1 : mm.N, 1, 4, 6, 7, mult, q);
    return EMBER_OK;
}

/* ---- integer convolutions ---- */

/* ConvInteger: x 0, w 1, xzp 2, wzp 3. QLinearConv: x 0, xs 1, xzp 2, w 3, ws 4, wzp 5,
 * ys 6, yzp 7, B 8. */
typedef struct qconv_io {
    int x, w, xzp, wzp, bias;
} qconv_io;

static ember_status qconv_plan(ember_op_ctx *c, const qconv_io *io, nn_conv_plan *p)
{
    const ember_op_tensor *x = ember_op_in(c, io->x), *w = ember_op_in(c, io->w);
    if (!x || !w) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs x and w");
    if (!is_q8(x->dtype) || !is_q8(w->dtype))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "operands of type %s x %s are not supported",
                             ember_dtype_name(x->dtype), ember_dtype_name(w->dtype));
    const ember_op_tensor *b = io->bias >= 0 ? ember_op_in(c, io->bias) : NULL;
    if (b && b->dtype != EMBER_DT_INT32) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "B must be int32");
    TRY(nn_conv_plan_build(c, p, io->x, io->w, io->bias));
    const ember_op_tensor *zx = ember_op_in(c, io->xzp), *zw = ember_op_in(c, io->wzp);
    if (zx && ember_op_numel(zx) > 1)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "x_zero_point must be a scalar");
    if (zw && ember_op_numel(zw) > 1 && p->M >= 0 && ember_op_numel(zw) != p->M)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "w_zero_point must be a scalar or hold M values");
    return EMBER_OK;
}

static size_t qconv_scratch(const nn_conv_plan *p)
{
    if (p->w.nd == 0 || p->outsp <= 0) return 0;
    int64_t n = p->N * p->C * p->insp + p->M * p->Cg * p->kt + p->Cg * p->kt * p->outsp;
    return (size_t)n * 4;
}

/* acc [N, M, outsp] = conv(x - xzp, w - wzp) (+ B). */
static void qconv_compute(ember_op_ctx *c, const qconv_io *io, const nn_conv_plan *p, int32_t *acc,
                          int32_t *s)
{
    const ember_op_tensor *x = c->in[io->x], *w = c->in[io->w];
    const ember_op_tensor *zx = ember_op_in(c, io->xzp), *zw = ember_op_in(c, io->wzp);
    const ember_op_tensor *b = io->bias >= 0 ? ember_op_in(c, io->bias) : NULL;
    int64_t K = p->Cg * p->kt;
    int32_t *wx = s, *ww = wx + p->N * p->C * p->insp, *col = ww + p->M * K;
    widen(x, zx, 1, 1, wx);
    widen(w, zw, K, zw ? ember_op_numel(zw) : 1, ww);
    k_conv_geom g;
    nn_window_geom(&p->w, p->in, p->out, &g);
    for (int64_t n = 0; n < p->N; n++)
        for (int64_t gi = 0; gi < p->G; gi++) {
            int32_t *yg = acc + (n * p->M + gi * p->Mg) * p->outsp;
            k_im2col_i32(wx + (n * p->C + gi * p->Cg) * p->insp, p->Cg, &g, col, 0, 1);
            k_igemm(p->Mg, p->outsp, K, ww + gi * p->Mg * K, K, col, p->outsp, yg, p->outsp, 0, 1);
            if (b)
                for (int64_t m = 0; m < p->Mg; m++)
                    for (int64_t q = 0; q < p->outsp; q++)
                        yg[m * p->outsp + q] += ((const int32_t *)b->data)[gi * p->Mg + m];
        }
}

ember_status ember_infer_conv_integer(ember_op_ctx *c)
{
    qconv_io io = {0, 1, 2, 3, -1};
    nn_conv_plan p;
    TRY(qconv_plan(c, &io, &p));
    nn_conv_set_out(c, &p, EMBER_DT_INT32);
    c->scratch_bytes = qconv_scratch(&p);
    return EMBER_OK;
}

ember_status ember_run_conv_integer(ember_op_ctx *c)
{
    qconv_io io = {0, 1, 2, 3, -1};
    nn_conv_plan p;
    TRY(qconv_plan(c, &io, &p));
    qconv_compute(c, &io, &p, c->out[0]->data, c->scratch);
    return EMBER_OK;
}

ember_status ember_infer_qlinear_conv(ember_op_ctx *c)
{
    qconv_io io = {0, 3, 2, 5, 8};
    nn_conv_plan p;
    TRY(qconv_plan(c, &io, &p));
    ember_dtype dt = EMBER_DT_UNDEFINED;
    TRY(qlinear_out(c, 1, 4, 6, 7, p.M, &dt));
    nn_conv_set_out(c, &p, dt);
    size_t s = qconv_scratch(&p);
    if (s) c->scratch_bytes = s + (size_t)(2 * p.N * p.M * p.outsp + p.M) * 4;
    return EMBER_OK;
}

ember_status ember_run_qlinear_conv(ember_op_ctx *c)
{
    qconv_io io = {0, 3, 2, 5, 8};
    nn_conv_plan p;
    TRY(qconv_plan(c, &io, &p));
    int64_t no = p.N * p.M * p.outsp;
    int32_t *acc = c->scratch, *q = acc + no;
    float *mult = (float *)(q + no);
    qconv_compute(c, &io, &p, acc, (int32_t *)(mult + p.M));
    int64_t nws = ember_op_numel(c->in[4]);
    requantize(c, acc, p.N, nws > 1 ? p.M : 1, nws > 1 ? p.outsp : p.M * p.outsp, 1, 4, 6, 7, mult, q);
    return EMBER_OK;
}
