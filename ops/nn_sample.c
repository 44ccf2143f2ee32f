/* GridSample (opset 16, 4-D) and RoiAlign (opsets 10, 16), float32. */
#include <string.h>

#include "kernels/grid_sample.h"
#include "nn_common.h"
#include "op_decls.h"

static ember_status gs_modes(const ember_op_ctx *c, int *mode, int *pad)
{
    const char *m = ember_attr_string(c->node, "mode", "bilinear");
    const char *p = ember_attr_string(c->node, "padding_mode", "zeros");
    if (strcmp(m, "bilinear") == 0 || strcmp(m, "linear") == 0) *mode = K_GS_BILINEAR;
    else if (strcmp(m, "nearest") == 0) *mode = K_GS_NEAREST;
    else if (strcmp(m, "bicubic") == 0 || strcmp(m, "cubic") == 0) *mode = K_GS_BICUBIC;
    else return ember_op_fail(c, EMBER_E_INVALID_MODEL, "unknown mode '%s'", m);
    if (strcmp(p, "zeros") == 0) *pad = K_GS_ZEROS;
    else if (strcmp(p, "border") == 0) *pad = K_GS_BORDER;
    else if (strcmp(p, "reflection") == 0) *pad = K_GS_REFLECTION;
    else return ember_op_fail(c, EMBER_E_INVALID_MODEL, "unknown padding_mode '%s'", p);
    return EMBER_OK;
}

ember_status ember_infer_grid_sample(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *g = ember_op_in(c, 1);
    if (!x || !g) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs X and grid");
    TRY(nn_need_f32(c, x, "X"));
    TRY(nn_need_f32(c, g, "grid"));
    int mode, pad;
    TRY(gs_modes(c, &mode, &pad));
    if ((x->rank >= 0 && x->rank != 4) || (g->rank >= 0 && g->rank != 4))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "only 4-D inputs (N, C, H, W) are supported");
    if (g->rank == 4 && g->dims[3] >= 0 && g->dims[3] != 2)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "grid's last dim must be 2");
    if (x->rank == 4 && g->rank == 4 && x->dims[0] >= 0 && g->dims[0] >= 0 && x->dims[0] != g->dims[0])
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "X and grid batch sizes differ");
    int64_t d[4] = {x->rank == 4 ? x->dims[0] : -1, x->rank == 4 ? x->dims[1] : -1,
                    g->rank == 4 ? g->dims[1] : -1, g->rank == 4 ? g->dims[2] : -1};
    ember_op_set_out(c, 0, EMBER_DT_FLOAT, 4, d);
    return EMBER_OK;
}

ember_status ember_run_grid_sample(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *g = c->in[1];
    int mode, pad;
    TRY(gs_modes(c, &mode, &pad));
    k_grid_sample_f32(x->data, x->dims[0], x->dims[1], x->dims[2], x->dims[3], g->data, g->dims[1],
                      g->dims[2], mode, pad, ember_attr_int(c->node, "align_corners", 0) != 0,
                      c->out[0]->data, 0, 1);
    return EMBER_OK;
}

static ember_status roi_check(const ember_op_ctx *c, int *max_mode, int *half_pixel)
{
    const char *m = ember_attr_string(c->node, "mode", "avg");
    if (strcmp(m, "avg") == 0) *max_mode = 0;
    else if (strcmp(m, "max") == 0) *max_mode = 1;
    else return ember_op_fail(c, EMBER_E_INVALID_MODEL, "unknown mode '%s'", m);
    const char *t = ember_attr_string(c->node, "coordinate_transformation_mode",
                                      c->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (strcmp(t, "half_pixel") == 0) *half_pixel = 1;
    else if (strcmp(t, "output_half_pixel") == 0) *half_pixel = 0;
    else return ember_op_fail(c, EMBER_E_INVALID_MODEL, "unknown coordinate_transformation_mode '%s'", t);
    if (ember_attr_int(c->node, "output_height", 1) < 1 || ember_attr_int(c->node, "output_width", 1) < 1)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "output size must be positive");
    return EMBER_OK;
}

ember_status ember_infer_roi_align(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *r = ember_op_in(c, 1), *b = ember_op_in(c, 2);
    if (!x || !r || !b) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs inputs X, rois and batch_indices");
    TRY(nn_need_f32(c, x, "X"));
    TRY(nn_need_f32(c, r, "rois"));
    if (b->dtype != EMBER_DT_INT64) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "batch_indices must be int64");
    int mm, hp;
    TRY(roi_check(c, &mm, &hp));
    TRY(nn_need_rank(c, 0, 4, "X"));
    TRY(nn_need_rank(c, 1, 2, "rois"));
    TRY(nn_need_rank(c, 2, 1, "batch_indices"));
    if (r->rank == 2 && r->dims[1] >= 0 && r->dims[1] != 4)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "rois must be [num_rois, 4]");
    int64_t R = r->rank == 2 ? r->dims[0] : -1;
    if (b->rank == 1 && R >= 0 && b->dims[0] >= 0 && b->dims[0] != R)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "batch_indices must hold one index per roi");
    int64_t d[4] = {R, x->rank == 4 ? x->dims[1] : -1, ember_attr_int(c->node, "output_height", 1),
                    ember_attr_int(c->node, "output_width", 1)};
    ember_op_set_out(c, 0, EMBER_DT_FLOAT, 4, d);
    return EMBER_OK;
}

ember_status ember_run_roi_align(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0], *r = c->in[1], *b = c->in[2];
    int mm, hp;
    TRY(roi_check(c, &mm, &hp));
    const int64_t *bi = b->data;
    for (int64_t i = 0; i < r->dims[0]; i++)
        if (bi[i] < 0 || bi[i] >= x->dims[0])
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "batch index %lld is out of range", (long long)bi[i]);
    k_roi_align_f32(x->data, x->dims[1], x->dims[2], x->dims[3], r->data, bi, r->dims[0],
                    c->out[0]->dims[2], c->out[0]->dims[3], ember_attr_int(c->node, "sampling_ratio", 0),
                    ember_attr_float(c->node, "spatial_scale", 1.0f), hp, mm, c->out[0]->data, 0, 1);
    return EMBER_OK;
}
