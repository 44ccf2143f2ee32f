/* Ops that move elements with one strided copy per input or output: Transpose, Concat,
 * Split, Slice, Expand, Tile, DepthToSpace, SpaceToDepth. All work on element bytes, so
 * every fixed-size dtype is supported. */
#include <string.h>

#include "kernels/copy.h"
#include "op.h"
#include "op_decls.h"
#include "tensor_util.h"

/* Copies `x`, viewed as a contiguous tensor of `rank` dims `dims`, to out permuted: output
 * dim k is view dim perm[k]. */
static void permuted_copy(const void *x, void *out, int rank, const int64_t *dims, const int *perm,
                          size_t es)
{
    int64_t st[K_COPY_MAX_RANK], od[K_COPY_MAX_RANK], ss[K_COPY_MAX_RANK], ds[K_COPY_MAX_RANK];
    k_contiguous_strides(rank, dims, st);
    for (int k = 0; k < rank; k++) od[k] = dims[perm[k]], ss[k] = st[perm[k]];
    k_contiguous_strides(rank, od, ds);
    k_copy_strided(x, out, rank, od, ss, ds, es, 0, 1);
}

static ember_status transpose_perm(const ember_op_ctx *c, int rank, int *perm)
{
    const int64_t *p;
    int n = ember_attr_ints(c->node, "perm", &p);
    if (n < 0) {
        for (int k = 0; k < rank; k++) perm[k] = rank - 1 - k;
        return EMBER_OK;
    }
    if (n != rank)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "perm has %d entries for an input of rank %d", n, rank);
    bool seen[EMBER_MAX_RANK] = {false};
    for (int k = 0; k < n; k++) {
        int64_t a = p[k] < 0 ? p[k] + rank : p[k]; /* negative entries are accepted, as ORT does */
        if (a < 0 || a >= rank || seen[a])
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "perm is not a permutation of 0..%d", rank - 1);
        seen[a] = true;
        perm[k] = (int)a;
    }
    return EMBER_OK;
}

ember_status ember_infer_transpose(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    int perm[EMBER_MAX_RANK];
    TRY(transpose_perm(c, x->rank, perm));
    tu_set_out_map(c, 0, x, x->rank, NULL, perm);
    return EMBER_OK;
}

ember_status ember_run_transpose(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int perm[EMBER_MAX_RANK];
    TRY(transpose_perm(c, x->rank, perm));
    permuted_copy(x->data, c->out[0]->data, x->rank, x->dims, perm, ember_dtype_size(x->dtype));
    return EMBER_OK;
}

/* ---- Concat / Split: one strided copy per piece along `axis` ---- */

/* Copies between the whole tensor `whole` (dims wd) and the piece (dims pd) that starts at
 * `offset` along `axis`; to_whole picks the direction. */
static void piece_copy(void *whole, void *piece, int rank, const int64_t *wd, const int64_t *pd,
                       int axis, int64_t offset, size_t es, bool to_whole)
{
    int64_t ws[EMBER_MAX_RANK], ps[EMBER_MAX_RANK];
    k_contiguous_strides(rank, wd, ws);
    k_contiguous_strides(rank, pd, ps);
    char *w = (char *)whole + (size_t)(offset * ws[axis]) * es;
    if (to_whole) k_copy_strided(piece, w, rank, pd, ps, ws, es, 0, 1);
    else k_copy_strided(w, piece, rank, pd, ws, ps, es, 0, 1);
}

ember_status ember_infer_concat(ember_op_ctx *c)
{
    if (c->n_in < 1 || !c->in[0]) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "needs at least one input");
    const ember_attr *a = ember_node_attr(c->node, "axis");
    if (!a) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attribute 'axis' is missing");
    const ember_op_tensor *x0 = c->in[0];
    int rank = -1;
    ember_dtype dt = EMBER_DT_UNDEFINED;
    for (int i = 0; i < c->n_in; i++) {
        const ember_op_tensor *t = c->in[i];
        if (!t) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %d is missing", i);
        if (t->dtype != EMBER_DT_UNDEFINED) {
            if (dt != EMBER_DT_UNDEFINED && t->dtype != dt)
                return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %d is %s, input 0 is %s", i,
                                     ember_dtype_name(t->dtype), ember_dtype_name(dt));
            dt = t->dtype;
        }
        if (t->rank >= 0) {
            if (rank >= 0 && t->rank != rank)
                return ember_op_fail(c, EMBER_E_INVALID_MODEL, "inputs have ranks %d and %d", rank, t->rank);
            rank = t->rank;
        }
    }
    TRY(tu_need_sized(c, dt, "input"));
    if (rank < 0) {
        ember_op_set_out(c, 0, dt, -1, NULL);
        return EMBER_OK;
    }
    int axis;
    TRY(ember_op_axis(c, a->i, rank, "axis", &axis));
    int64_t dims[EMBER_MAX_RANK];
    int32_t syms[EMBER_MAX_RANK];
    for (int k = 0; k < rank; k++) dims[k] = -1, syms[k] = -1;
    dims[axis] = 0;
    for (int i = 0; i < c->n_in; i++) {
        const ember_op_tensor *t = c->in[i];
        if (t->rank < 0) {
            dims[axis] = -1;
            continue;
        }
        for (int k = 0; k < rank; k++) {
            if (k == axis) {
                dims[k] = (dims[k] < 0 || t->dims[k] < 0) ? -1 : dims[k] + t->dims[k];
                continue;
            }
            if (t->dims[k] >= 0 && dims[k] >= 0 && t->dims[k] != dims[k])
                return ember_op_fail(c, EMBER_E_INVALID_ARG,
                                     "input %d has size %lld in dimension %d, another input has %lld", i,
                                     (long long)t->dims[k], k, (long long)dims[k]);
            if (t->dims[k] >= 0) dims[k] = t->dims[k];
            if (syms[k] < 0) syms[k] = t->syms[k];
        }
    }
    ember_op_set_out(c, 0, dt, rank, dims);
    for (int k = 0; k < rank; k++)
        if (k != axis) c->out[0]->syms[k] = syms[k];
    (void)x0;
    return EMBER_OK;
}

ember_status ember_run_concat(ember_op_ctx *c)
{
    ember_op_tensor *o = c->out[0];
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), o->rank, "axis", &axis));
    int64_t off = 0;
    for (int i = 0; i < c->n_in; i++) {
        const ember_op_tensor *t = c->in[i];
        piece_copy(o->data, t->data, o->rank, o->dims, t->dims, axis, off, ember_dtype_size(o->dtype), true);
        off += t->dims[axis];
    }
    return EMBER_OK;
}

/* Split sizes: from the attribute (opset < 13), the input (13+) or equal parts.
 * n = -1 when not known yet. */
static ember_status split_sizes(const ember_op_ctx *c, int64_t dim, int64_t *sizes, int *n)
{
    int count = -1;
    if (c->opset < 13) {
        const int64_t *v;
        count = ember_attr_ints(c->node, "split", &v);
        if (count > 64) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "too many split sizes");
        if (count >= 0) memcpy(sizes, v, sizeof(int64_t) * (size_t)count);
    } else if (ember_op_in(c, 1)) {
        TRY(tu_read_ints(c, 1, "split", sizes, 64, &count));
        if (count < 0) {
            *n = -1;
            return EMBER_OK;
        }
    }
    if (count < 0) {
        if (dim < 0) {
            *n = -1;
            return EMBER_OK;
        }
        if (dim % c->n_out != 0)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "dimension of size %lld cannot be split into %d "
                                 "equal parts", (long long)dim, c->n_out);
        for (int i = 0; i < c->n_out; i++) sizes[i] = dim / c->n_out;
        *n = c->n_out;
        return EMBER_OK;
    }
    if (count != c->n_out)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "split has %d sizes for %d outputs", count, c->n_out);
    int64_t sum = 0;
    for (int i = 0; i < count; i++) {
        if (sizes[i] < 0)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "split size %lld is negative", (long long)sizes[i]);
        sum += sizes[i];
    }
    if (dim >= 0 && sum != dim)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "split sizes add up to %lld, the dimension is %lld",
                             (long long)sum, (long long)dim);
    *n = count;
    return EMBER_OK;
}

ember_status ember_infer_split(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "input"));
    TRY(tu_need_sized(c, x->dtype, "input"));
    if (c->n_out > 64) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "more than 64 outputs");
    if (x->rank < 0) {
        for (int i = 0; i < c->n_out; i++) ember_op_set_out(c, i, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), x->rank, "axis", &axis));
    int64_t sizes[64];
    int n;
    TRY(split_sizes(c, x->dims[axis], sizes, &n));
    int map[EMBER_MAX_RANK];
    int64_t dims[EMBER_MAX_RANK];
    for (int k = 0; k < x->rank; k++) map[k] = k, dims[k] = -1;
    map[axis] = -1;
    for (int i = 0; i < c->n_out; i++) {
        dims[axis] = n < 0 ? -1 : sizes[i];
        tu_set_out_map(c, i, x, x->rank, dims, map);
    }
    return EMBER_OK;
}

ember_status ember_run_split(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int axis;
    TRY(ember_op_axis(c, ember_attr_int(c->node, "axis", 0), x->rank, "axis", &axis));
    int64_t sizes[64];
    int n;
    TRY(split_sizes(c, x->dims[axis], sizes, &n));
    int64_t off = 0;
    for (int i = 0; i < c->n_out; i++) {
        if (c->out[i]) {
            ember_op_tensor *o = c->out[i];
            piece_copy(x->data, o->data, x->rank, x->dims, o->dims, axis, off, ember_dtype_size(x->dtype), false);
        }
        off += sizes[i];
    }
    return EMBER_OK;
}

/* ---- Slice ---- */

typedef struct slice_plan {
    int64_t start[EMBER_MAX_RANK], step[EMBER_MAX_RANK], len[EMBER_MAX_RANK];
} slice_plan;

/* Fills plan for every dim of x; returns *known = false when starts/ends/axes/steps are not
 * known yet. */
static ember_status slice_plan_make(const ember_op_ctx *c, const ember_op_tensor *x, slice_plan *p,
                                    bool *known)
{
    int64_t starts[EMBER_MAX_RANK], ends[EMBER_MAX_RANK], axes[EMBER_MAX_RANK], steps[EMBER_MAX_RANK];
    int ns, ne, na = -2, nst = -2;
    *known = false;
    if (c->opset < 10) {
        const int64_t *v;
        ns = ember_attr_ints(c->node, "starts", &v);
        if (ns > EMBER_MAX_RANK) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "too many starts");
        if (ns >= 0) memcpy(starts, v, sizeof(int64_t) * (size_t)ns);
        ne = ember_attr_ints(c->node, "ends", &v);
        if (ne > EMBER_MAX_RANK) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "too many ends");
        if (ne >= 0) memcpy(ends, v, sizeof(int64_t) * (size_t)ne);
        if (ns < 0 || ne < 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "attributes 'starts' and 'ends' are required");
        int n = ember_attr_ints(c->node, "axes", &v);
        if (n > EMBER_MAX_RANK) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "too many axes");
        if (n >= 0) memcpy(axes, v, sizeof(int64_t) * (size_t)n), na = n;
    } else {
        TRY(tu_read_ints(c, 1, "starts", starts, EMBER_MAX_RANK, &ns));
        TRY(tu_read_ints(c, 2, "ends", ends, EMBER_MAX_RANK, &ne));
        if (ember_op_in(c, 3)) TRY(tu_read_ints(c, 3, "axes", axes, EMBER_MAX_RANK, &na));
        if (ember_op_in(c, 4)) TRY(tu_read_ints(c, 4, "steps", steps, EMBER_MAX_RANK, &nst));
        if (ns < 0 || ne < 0 || na == -1 || nst == -1) return EMBER_OK;
    }
    if (ns != ne) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "starts has %d values, ends %d", ns, ne);
    if (na == -2) {
        na = ns;
        for (int k = 0; k < ns; k++) axes[k] = k;
    }
    if (nst == -2) {
        nst = ns;
        for (int k = 0; k < ns; k++) steps[k] = 1;
    }
    if (na != ns || nst != ns)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "starts, ends, axes and steps differ in length");
    if (x->rank < 0) return EMBER_OK;
    bool seen[EMBER_MAX_RANK] = {false};
    for (int k = 0; k < x->rank; k++) p->start[k] = 0, p->step[k] = 1, p->len[k] = x->dims[k];
    for (int k = 0; k < ns; k++) {
        int a;
        TRY(ember_op_axis(c, axes[k], x->rank, "axes", &a));
        if (seen[a]) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "axis %d is sliced twice", a);
        seen[a] = true;
        if (steps[k] == 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "step is 0");
        int64_t d = x->dims[a];
        if (d < 0) {
            p->len[a] = -1;
            p->start[a] = -1; /* unknown window: not the identity, so no symbol is kept */
            continue;
        }
        int64_t s = starts[k], e = ends[k], st = steps[k];
        if (s < 0) s += d;
        if (e < 0) e += d;
        if (st > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            e = e < 0 ? 0 : e > d ? d : e;
        } else {
            s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
        }
        int64_t len = st > 0 ? (e - s + st - 1) / st : (s - e + (-st) - 1) / (-st);
        p->start[a] = s;
        p->step[a] = st;
        p->len[a] = len > 0 ? len : 0;
    }
    *known = true;
    return EMBER_OK;
}

ember_status ember_infer_slice(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "data"));
    TRY(tu_need_sized(c, x->dtype, "data"));
    slice_plan p;
    bool known;
    TRY(slice_plan_make(c, x, &p, &known));
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    int64_t dims[EMBER_MAX_RANK];
    int map[EMBER_MAX_RANK];
    for (int k = 0; k < x->rank; k++) {
        dims[k] = known ? p.len[k] : -1;
        map[k] = known && p.step[k] == 1 && p.start[k] == 0 && p.len[k] == x->dims[k] ? k : -1;
    }
    tu_set_out_map(c, 0, x, x->rank, dims, map);
    return EMBER_OK;
}

ember_status ember_run_slice(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    slice_plan p;
    bool known;
    TRY(slice_plan_make(c, x, &p, &known));
    size_t es = ember_dtype_size(x->dtype);
    int64_t st[EMBER_MAX_RANK], ss[EMBER_MAX_RANK], ds[EMBER_MAX_RANK], off = 0;
    k_contiguous_strides(x->rank, x->dims, st);
    k_contiguous_strides(x->rank, p.len, ds);
    for (int k = 0; k < x->rank; k++) {
        if (p.len[k] == 0) return EMBER_OK;
        off += p.start[k] * st[k];
        ss[k] = st[k] * p.step[k];
    }
    k_copy_strided((const char *)x->data + (size_t)off * es, c->out[0]->data, x->rank, p.len, ss, ds,
                   es, 0, 1);
    return EMBER_OK;
}

/* ---- Expand / Tile ---- */

ember_status ember_infer_expand(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "input"));
    TRY(tu_need_sized(c, x->dtype, "input"));
    ember_op_tensor shape = {.dtype = x->dtype};
    int n;
    TRY(tu_read_ints(c, 1, "shape", shape.dims, EMBER_MAX_RANK, &n));
    for (int k = 0; k < EMBER_MAX_RANK; k++) shape.syms[k] = -1;
    if (n < 0) {
        int len = tu_len(c, 1);
        if (len < 0 || x->rank < 0) {
            ember_op_set_out(c, 0, x->dtype, -1, NULL);
        } else {
            int r = len > x->rank ? len : x->rank;
            if (r > EMBER_MAX_RANK) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "rank %d exceeds %d", r, EMBER_MAX_RANK);
            ember_op_set_out(c, 0, x->dtype, r, (int64_t[EMBER_MAX_RANK]){-1, -1, -1, -1, -1, -1, -1, -1});
        }
        return EMBER_OK;
    }
    for (int k = 0; k < n; k++)
        if (shape.dims[k] < 0)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "shape has negative dimension %lld",
                                 (long long)shape.dims[k]);
    shape.rank = n;
    int r;
    int64_t dims[EMBER_MAX_RANK];
    TRY(ember_op_broadcast(c, x, &shape, &r, dims));
    ember_op_set_out(c, 0, x->dtype, r, dims);
    if (r >= 0)
        for (int k = 0; k < x->rank; k++)
            if (x->dims[k] == dims[k + r - x->rank]) c->out[0]->syms[k + r - x->rank] = x->syms[k];
    return EMBER_OK;
}

ember_status ember_run_expand(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    ember_op_tensor *o = c->out[0];
    int64_t st[EMBER_MAX_RANK], ss[EMBER_MAX_RANK], ds[EMBER_MAX_RANK];
    k_contiguous_strides(x->rank, x->dims, st);
    k_contiguous_strides(o->rank, o->dims, ds);
    int lead = o->rank - x->rank;
    for (int k = 0; k < o->rank; k++)
        ss[k] = (k < lead || x->dims[k - lead] == 1) ? 0 : st[k - lead];
    k_copy_strided(x->data, o->data, o->rank, o->dims, ss, ds, ember_dtype_size(x->dtype), 0, 1);
    return EMBER_OK;
}

ember_status ember_infer_tile(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    TRY(tu_need(c, 0, "input"));
    TRY(tu_need_sized(c, x->dtype, "input"));
    int64_t rep[EMBER_MAX_RANK];
    int n;
    TRY(tu_read_ints(c, 1, "repeats", rep, EMBER_MAX_RANK, &n));
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    int64_t dims[EMBER_MAX_RANK];
    if (n >= 0 && n != x->rank)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "repeats has %d values for an input of rank %d", n, x->rank);
    for (int k = 0; k < x->rank; k++) {
        if (n >= 0 && rep[k] < 0)
            return ember_op_fail(c, EMBER_E_INVALID_MODEL, "repeats has negative value %lld", (long long)rep[k]);
        dims[k] = (n < 0 || x->dims[k] < 0) ? -1 : x->dims[k] * rep[k];
    }
    ember_op_set_out(c, 0, x->dtype, x->rank, dims);
    return EMBER_OK;
}

ember_status ember_run_tile(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    ember_op_tensor *o = c->out[0];
    int r = x->rank;
    int64_t st[EMBER_MAX_RANK], ost[EMBER_MAX_RANK];
    int64_t vd[K_COPY_MAX_RANK], vs[K_COPY_MAX_RANK], vo[K_COPY_MAX_RANK];
    k_contiguous_strides(r, x->dims, st);
    k_contiguous_strides(r, o->dims, ost);
    /* Output dim k of size rep*d is viewed as (rep, d): the copy reads the input again for
     * every repetition. */
    for (int k = 0; k < r; k++) {
        int64_t rep = x->dims[k] ? o->dims[k] / x->dims[k] : 0;
        vd[2 * k] = rep, vs[2 * k] = 0, vo[2 * k] = x->dims[k] * ost[k];
        vd[2 * k + 1] = x->dims[k], vs[2 * k + 1] = st[k], vo[2 * k + 1] = ost[k];
    }
    k_copy_strided(x->data, o->data, 2 * r, vd, vs, vo, ember_dtype_size(x->dtype), 0, 1);
    return EMBER_OK;
}

/* ---- DepthToSpace / SpaceToDepth: a 6-d permuted copy ---- */

static ember_status space_depth_check(const ember_op_ctx *c, const ember_op_tensor *x, int64_t *b)
{
    TRY(tu_need(c, 0, "input"));
    TRY(tu_need_sized(c, x->dtype, "input"));
    *b = ember_attr_int(c->node, "blocksize", 0);
    if (*b <= 0) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "blocksize must be positive");
    if (x->rank >= 0 && x->rank != 4)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input must be 4-D (N, C, H, W), it has rank %d", x->rank);
    return EMBER_OK;
}

static bool depth_crd(const ember_op_ctx *c)
{
    return c->opset >= 11 && strcmp(ember_attr_string(c->node, "mode", "DCR"), "CRD") == 0;
}

ember_status ember_infer_depthtospace(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    int64_t b;
    TRY(space_depth_check(c, x, &b));
    const char *mode = ember_attr_string(c->node, "mode", "DCR");
    if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "mode '%s' is not DCR or CRD", mode);
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    if (x->dims[1] >= 0 && x->dims[1] % (b * b) != 0)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "channels %lld are not a multiple of blocksize^2 %lld",
                             (long long)x->dims[1], (long long)(b * b));
    int64_t dims[4] = {-1, x->dims[1] < 0 ? -1 : x->dims[1] / (b * b), x->dims[2] < 0 ? -1 : x->dims[2] * b,
                       x->dims[3] < 0 ? -1 : x->dims[3] * b};
    int map[4] = {0, -1, -1, -1};
    tu_set_out_map(c, 0, x, 4, dims, map);
    return EMBER_OK;
}

ember_status ember_run_depthtospace(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int64_t b = ember_attr_int(c->node, "blocksize", 1);
    int64_t n = x->dims[0], cc = x->dims[1] / (b * b), h = x->dims[2], w = x->dims[3];
    if (depth_crd(c)) {
        int64_t v[6] = {n, cc, b, b, h, w};
        permuted_copy(x->data, c->out[0]->data, 6, v, (int[6]){0, 1, 4, 2, 5, 3}, ember_dtype_size(x->dtype));
    } else {
        int64_t v[6] = {n, b, b, cc, h, w};
        permuted_copy(x->data, c->out[0]->data, 6, v, (int[6]){0, 3, 4, 1, 5, 2}, ember_dtype_size(x->dtype));
    }
    return EMBER_OK;
}

ember_status ember_infer_spacetodepth(ember_op_ctx *c)
{
    const ember_op_tensor *x = ember_op_in(c, 0);
    int64_t b;
    TRY(space_depth_check(c, x, &b));
    if (x->rank < 0) {
        ember_op_set_out(c, 0, x->dtype, -1, NULL);
        return EMBER_OK;
    }
    for (int k = 2; k < 4; k++)
        if (x->dims[k] >= 0 && x->dims[k] % b != 0)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "dimension %d of size %lld is not a multiple of "
                                 "blocksize %lld", k, (long long)x->dims[k], (long long)b);
    int64_t dims[4] = {-1, x->dims[1] < 0 ? -1 : x->dims[1] * b * b, x->dims[2] < 0 ? -1 : x->dims[2] / b,
                       x->dims[3] < 0 ? -1 : x->dims[3] / b};
    int map[4] = {0, -1, -1, -1};
    tu_set_out_map(c, 0, x, 4, dims, map);
    return EMBER_OK;
}

ember_status ember_run_spacetodepth(ember_op_ctx *c)
{
    const ember_op_tensor *x = c->in[0];
    int64_t b = ember_attr_int(c->node, "blocksize", 1);
    int64_t v[6] = {x->dims[0], x->dims[1], x->dims[2] / b, b, x->dims[3] / b, b};
    permuted_copy(x->data, c->out[0]->data, 6, v, (int[6]){0, 3, 5, 1, 2, 4}, ember_dtype_size(x->dtype));
    return EMBER_OK;
}
