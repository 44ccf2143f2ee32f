/* Ops that select elements by value: TopK, NonZero, Unique, NonMaxSuppression. The last
 * three have data-dependent output sizes: NonZero counts in infer; Unique and
 * NonMaxSuppression compute their result in the run-time infer and hand the interpreter
 * finished (malloc'd) outputs, so their run does nothing. */
#include <stdlib.h>
#include <string.h>

#include "kernels/gather.h"
#include "kernels/nms.h"
#include "kernels/nonzero.h"
#include "kernels/topk.h"
#include "kernels/unique.h"
#include "kernels/copy.h"
#include "op.h"
#include "op_decls.h"
#include "tensor_util.h"

static ember_status need_numeric(const ember_op_ctx *c, ember_dtype dt, const char *what)
{
    if (dt == EMBER_DT_UNDEFINED && !c->running) return EMBER_OK;
    if (tu_elem_kind(dt) >= K_ELEM_BOOL)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "%s of type %s", what, ember_dtype_name(dt));
    return EMBER_OK;
}

/* Gives out[i] a malloc'd buffer of its shape (run-time infer of data-dependent ops). */
static ember_status own_output(ember_op_ctx *c, int i)
{
    ember_op_tensor *t = c->out[i];
    t->nbytes = (size_t)ember_op_numel(t) * ember_dtype_size(t->dtype);
    t->data = malloc(t->nbytes ? t->nbytes : 1);
    if (!t->data) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for output %d", i);
    return EMBER_OK;
}

/* ---- TopK ---- */

static ember_status topk_k(const ember_op_ctx *c, int64_t *k)
{
    *k = -1;
    if (c->opset < 10) {
        const ember_attr *a = ember_node_attr(c->node, "k");
        if (!a) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute 'k' is missing");
        *k = a->i;
    } else {
        int n;
        TRY(tu_read_ints(c, 1, "K", k, 1, &n));
        if (n == 0 || (c->running && n != 1)) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "K must hold one value");
        if (n < 0) *k = -1;
        else if (*k < 0) return ember_op_fail(c, EMBER_E_INVALID_ARG, "K is negative");
    }
    return EMBER_OK;
}

ember_status ember_infer_topk(ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "X"));
    const ember_op_tensor *x = c->in[0];
    TRY(need_numeric(c, x->dtype, "input"));
    int64_t k;
    TRY(topk_k(c, &k));
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        ember_op_set_out(c, 1, EMBER_DT_INT64, -1, NULL);
        return EMBER_OK;
    }
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", -1), x->rank, "axis", &axis));
    if (k >= 0 && x->dims[axis] >= 0 && k > x->dims[axis])
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "K %lld is larger than the axis (%lld)", (long long)k,
                             (long long)x->dims[axis]);
    int map[EMBER_MAX_RANK];
    int64_t dims[EMBER_MAX_RANK];
    for (int j = 0; j < x->rank; j++) map[j] = j == axis ? -1 : j;
    dims[axis] = k;
    tu_set_out_map(c, 0, x, x->rank, dims, map);
    tu_set_out_map(c, 1, x, x->rank, dims, map);
    if (c->out[1]) c->out[1]->dtype = EMBER_DT_INT64;
    /* Scratch: the sort's work row, plus room for an output the graph does not use. */
    if (c->running) {
        int64_t n_out = ember_op_numel(x) / (x->dims[axis] ? x->dims[axis] : 1) * k;
        c->scratch_bytes = (size_t)x->dims[axis] * sizeof(int64_t) + (size_t)n_out * (8 + ember_dtype_size(x->dtype)) + 8;
    }
    return EMBER_OK;
}

ember_status ember_run_topk(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", -1), x->rank, "axis", &axis));
    int64_t k, outer = 1, inner = 1;
    TRY(topk_k(c, &k));
    for (int j = 0; j < axis; j++) outer *= x->dims[j];
    for (int j = axis + 1; j < x->rank; j++) inner *= x->dims[j];
    int largest = c->opset < 11 || ember_attr_int(c->node, "largest", 1) != 0;
    int64_t n = x->dims[axis], *work = c->scratch;
    unsigned char *spare = (unsigned char *)(work + n);
    void *vals = c->out[0] ? c->out[0]->data : spare;
    int64_t *idx = c->n_out > 1 && c->out[1] ? c->out[1]->data : (int64_t *)spare;
    if (!c->out[0] && !(c->n_out > 1 && c->out[1])) return EMBER_OK;
    k_topk(x->data, tu_elem_kind(x->dtype), ember_dtype_size(x->dtype), vals, idx, outer, n, inner, k, largest,
           work, 0, 1);
    return EMBER_OK;
}

/* ---- NonZero ---- */

ember_status ember_infer_nonzero(ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "X"));
    const ember_op_tensor *x = c->in[0];
    TRY(tu_need_sized(c, x->dtype, "input"));
    int64_t dims[2] = {x->rank < 0 ? -1 : x->rank > 0 ? x->rank : 1, -1};
    if (x->data && ember_op_numel(x) >= 0)
        dims[1] = k_nonzero_count(x->data, ember_op_numel(x), ember_dtype_size(x->dtype),
                                  ember_dtype_is_float(x->dtype));
    ember_op_set_out(c, 0, EMBER_DT_INT64, 2, dims);
    return EMBER_OK;
}

ember_status ember_run_nonzero(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int64_t one = 1;
    k_nonzero(x->data, x->rank > 0 ? x->rank : 1, x->rank > 0 ? x->dims : &one, ember_dtype_size(x->dtype),
              ember_dtype_is_float(x->dtype), c->out[0]->dims[1], c->out[0]->data);
    return EMBER_OK;
}

/* ---- Unique ---- */

ember_status ember_infer_unique(ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "X"));
    const ember_op_tensor *x = c->in[0];
    TRY(need_numeric(c, x->dtype, "input"));
    const ember_attr *aa = ember_node_attr(c->node, "axis");
    int axis = -1;
    if (aa && x->rank >= 0) TRY(ember_op_axis(c, aa->i, x->rank, "axis", &axis));
    int64_t unknown = -1, n = aa ? (x->rank >= 0 ? x->dims[axis] : -1) : ember_op_numel(x);
    if (!c->running || x->rank < 0) {
        if (aa && x->rank >= 0) {
            int map[EMBER_MAX_RANK];
            int64_t dims[EMBER_MAX_RANK];
            for (int j = 0; j < x->rank; j++) map[j] = j == axis ? -1 : j, dims[j] = -1;
            tu_set_out_map(c, 0, x, x->rank, dims, map);
        } else {
            ember_op_set_out(c, 0, x->dtype, aa ? -1 : 1, &unknown);
        }
        ember_op_set_out(c, 1, EMBER_DT_INT64, 1, &unknown);
        ember_op_set_out(c, 2, EMBER_DT_INT64, 1, &n);
        ember_op_set_out(c, 3, EMBER_DT_INT64, 1, &unknown);
        return EMBER_OK;
    }
    int64_t outer = 1, inner = 1;
    if (aa) {
        for (int j = 0; j < axis; j++) outer *= x->dims[j];
        for (int j = axis + 1; j < x->rank; j++) inner *= x->dims[j];
    }
    int64_t *buf = malloc(sizeof(int64_t) * (size_t)(7 * n + 1));
    if (!buf) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory for %lld items", (long long)n);
    int64_t *first = buf, *counts = buf + n, *inverse = buf + 2 * n, *work = buf + 3 * n;
    int64_t u = k_unique(x->data, tu_elem_kind(x->dtype), outer, n, inner,
                         ember_attr_int(c->node, "sorted", 1) != 0, first, counts, inverse, work);
    ember_status st = EMBER_OK;
    int64_t dims[EMBER_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    if (aa) dims[axis] = u;
    else dims[0] = u;
    ember_op_set_out(c, 0, x->dtype, aa ? x->rank : 1, dims);
    ember_op_set_out(c, 1, EMBER_DT_INT64, 1, &u);
    ember_op_set_out(c, 2, EMBER_DT_INT64, 1, &n);
    ember_op_set_out(c, 3, EMBER_DT_INT64, 1, &u);
    const int64_t *src[4] = {NULL, first, inverse, counts};
    for (int i = 0; i < 4 && i < c->n_out && st == EMBER_OK; i++) {
        if (!c->out[i]) continue;
        st = own_output(c, i);
        if (st != EMBER_OK) break;
        if (i == 0)
            k_gather(x->data, c->out[0]->data, first, 1, u, outer, n, (size_t)inner * ember_dtype_size(x->dtype), 0, 1);
        else
            memcpy(c->out[i]->data, src[i], c->out[i]->nbytes);
    }
    if (st != EMBER_OK)
        for (int i = 0; i < 4 && i < c->n_out; i++)
            if (c->out[i]) free(c->out[i]->data), c->out[i]->data = NULL;
    free(buf);
    return st;
}

ember_status ember_run_unique(ember_op_ctx *c)
{
    (void)c;
    return EMBER_OK;
}

/* ---- NonMaxSuppression ---- */

static ember_status nms_check(const ember_op_ctx *c)
{
    TRY(tu_need(c, 0, "boxes"));
    TRY(tu_need(c, 1, "scores"));
    const ember_op_tensor *b = c->in[0], *s = c->in[1];
    if ((b->dtype != EMBER_DT_FLOAT && b->dtype != EMBER_DT_UNDEFINED) ||
        (s->dtype != EMBER_DT_FLOAT && s->dtype != EMBER_DT_UNDEFINED))
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "boxes and scores must be float32");
    if ((b->rank >= 0 && b->rank != 3) || (s->rank >= 0 && s->rank != 3))
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "boxes must be [batch, boxes, 4] and scores "
                             "[batch, classes, boxes]");
    if (b->rank == 3 && b->dims[2] >= 0 && b->dims[2] != 4)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "boxes must have 4 coordinates");
    if (b->rank == 3 && s->rank == 3 && ((b->dims[0] >= 0 && s->dims[0] >= 0 && b->dims[0] != s->dims[0]) ||
                                         (b->dims[1] >= 0 && s->dims[2] >= 0 && b->dims[1] != s->dims[2])))
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "boxes and scores disagree on batch or box count");
    int64_t cpb = ember_attr_int(c->node, "center_point_box", 0);
    if (cpb != 0 && cpb != 1) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "center_point_box must be 0 or 1");
    return EMBER_OK;
}

ember_status ember_infer_nms(ember_op_ctx *c)
{
    TRY(nms_check(c));
    int64_t dims[2] = {-1, 3};
    if (!c->running) {
        ember_op_set_out(c, 0, EMBER_DT_INT64, 2, dims);
        return EMBER_OK;
    }
    const ember_op_tensor *b = c->in[0], *s = c->in[1];
    const ember_op_tensor *mo = ember_op_in(c, 2), *it = ember_op_in(c, 3), *stt = ember_op_in(c, 4);
    int64_t max_out = mo && ember_op_numel(mo) > 0 ? ember_op_get_int(mo, 0) : 0;
    float iou_th = it && ember_op_numel(it) > 0 ? (float)ember_op_get_double(it, 0) : 0.0f;
    int has_st = stt && ember_op_numel(stt) > 0;
    float score_th = has_st ? (float)ember_op_get_double(stt, 0) : 0.0f;
    int64_t batches = b->dims[0], boxes = b->dims[1], classes = s->dims[1];
    if (max_out < 0) max_out = 0;
    int64_t per = max_out < boxes ? max_out : boxes;
    int64_t *buf = malloc(sizeof(int64_t) * (size_t)(boxes + batches * classes * per * 3 + per + 1));
    if (!buf) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    int64_t *work = buf, *sel = buf + boxes, *trip = sel + per, cnt = 0;
    int center = ember_attr_int(c->node, "center_point_box", 0) != 0;
    for (int64_t bi = 0; bi < batches; bi++)
        for (int64_t ci = 0; ci < classes; ci++) {
            int64_t m = k_nms((const float *)b->data + bi * boxes * 4, (const float *)s->data + (bi * classes + ci) * boxes,
                              boxes, center, per, iou_th, has_st, score_th, sel, work);
            for (int64_t q = 0; q < m; q++, cnt++)
                trip[cnt * 3] = bi, trip[cnt * 3 + 1] = ci, trip[cnt * 3 + 2] = sel[q];
        }
    dims[0] = cnt;
    ember_op_set_out(c, 0, EMBER_DT_INT64, 2, dims);
    ember_status st = EMBER_OK;
    if (c->out[0]) {
        st = own_output(c, 0);
        if (st == EMBER_OK) memcpy(c->out[0]->data, trip, c->out[0]->nbytes);
    }
    free(buf);
    return st;
}

ember_status ember_run_nms(ember_op_ctx *c)
{
    (void)c;
    return EMBER_OK;
}
