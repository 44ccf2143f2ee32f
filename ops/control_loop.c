/* Loop and Scan. Like If, they run their body inside the run-time infer and hand finished
 * outputs to the interpreter; scan outputs grow as iterations produce them. */
#include <stdlib.h>
#include <string.h>

#include "../engine/interp.h"
#include "control_util.h"
#include "kernels/copy.h"
#include "op.h"
#include "op_decls.h"

/* A scan output being stacked: `count` elements of one shape (the first one's). */
typedef struct stack {
    ember_op_tensor elem; /* shape and dtype of one element; data unused */
    unsigned char *data;
    size_t cap, used, elem_bytes;
    int64_t count;
} stack;

static ember_status stack_push(const ember_op_ctx *c, stack *s, const ember_op_tensor *t, int which)
{
    size_t nb = (size_t)ember_op_numel(t) * ember_dtype_size(t->dtype);
    if (s->count == 0) {
        s->elem = *t;
        s->elem_bytes = nb;
    } else {
        bool same = t->dtype == s->elem.dtype && t->rank == s->elem.rank;
        for (int k = 0; same && k < t->rank; k++) same = t->dims[k] == s->elem.dims[k];
        if (!same)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "scan output %d changes shape or type between iterations",
                                 which);
    }
    if (s->used + nb > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : nb * 4 + 16;
        while (cap < s->used + nb) cap *= 2;
        unsigned char *d = realloc(s->data, cap);
        if (!d) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory stacking scan output %d", which);
        s->data = d;
        s->cap = cap;
    }
    if (nb) memcpy(s->data + s->used, t->data, nb);
    s->used += nb;
    s->count++;
    return EMBER_OK;
}

/* Turns the stacked elements into one tensor *out = [count, elem...] (taking the data).
 * With no iterations the element shape comes from the body's declaration (unknown dims
 * become 0). */
static ember_status stack_take(const ember_op_ctx *c, int i, stack *s, const ember_value *decl,
                               ember_op_tensor *out)
{
    ember_op_tensor t = {0};
    const ember_op_tensor *e = &s->elem;
    if (s->count == 0) {
        t.dtype = decl->dtype;
        t.rank = decl->shape.rank < 0 ? 1 : decl->shape.rank + 1;
        for (int k = 1; k < t.rank; k++) t.dims[k] = decl->shape.dims[k - 1] < 0 ? 0 : decl->shape.dims[k - 1];
    } else {
        t.dtype = e->dtype;
        t.rank = e->rank + 1;
        for (int k = 0; k < e->rank; k++) t.dims[k + 1] = e->dims[k];
    }
    if (t.rank > EMBER_MAX_RANK) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "scan output %d has too high a rank", i);
    t.dims[0] = s->count;
    t.data = s->data ? (void *)s->data : malloc(1);
    if (!t.data) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    s->data = NULL;
    *out = t;
    return EMBER_OK;
}

/* Duplicates t's data (a loop-carried value that must outlive its source). */
static ember_status dup_tensor(const ember_op_ctx *c, const ember_op_tensor *t, ember_op_tensor *out)
{
    *out = *t;
    size_t nb = (size_t)ember_op_numel(t) * ember_dtype_size(t->dtype);
    out->data = malloc(nb ? nb : 1);
    if (!out->data) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    if (nb) memcpy(out->data, t->data, nb);
    out->nbytes = nb;
    return EMBER_OK;
}

/* ---- Loop ---- */

ember_status ember_infer_loop(ember_op_ctx *c)
{
    const ember_graph *body;
    TRY(ctl_graph(c, "body", &body));
    int n = c->n_in - 2, k = c->n_out - n;
    if (n < 0 || k < 0 || body->n_inputs != n + 2 || body->n_outputs != 1 + n + k)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "body takes %d inputs and gives %d outputs; the node has "
                             "%d inputs and %d outputs", body->n_inputs, body->n_outputs, c->n_in, c->n_out);
    if (n + k > 64) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "more than 64 loop values");
    for (int i = 0; i < n; i++)
        if (!c->in[2 + i]) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "loop-carried input %d is missing", i);
    if (!c->running) {
        for (int i = 0; i < n; i++) ember_op_set_out(c, i, c->in[2 + i]->dtype, -1, NULL);
        for (int j = 0; j < k; j++)
            ember_op_set_out(c, n + j, body->values[body->outputs[1 + n + j]].dtype, -1, NULL);
        return EMBER_OK;
    }
    const ember_op_tensor *m = ember_op_in(c, 0), *cond = ember_op_in(c, 1);
    if (!m && !cond)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "a Loop with neither trip count nor condition never ends");
    int64_t trips = m ? ember_op_get_int(m, 0) : INT64_MAX;
    bool go = cond ? ctl_truth(cond) : true;
    int64_t iter = 0;
    bool iter_cond = go;
    ember_op_tensor it_t = {.dtype = EMBER_DT_INT64, .rank = 0, .data = &iter, .nbytes = 8};
    ember_op_tensor cond_t = {.dtype = EMBER_DT_BOOL, .rank = 0, .data = &iter_cond, .nbytes = 1};
    ember_op_tensor carried[64], outs[1 + 64];
    ember_op_tensor *ins[2 + 64];
    stack stacks[64];
    memset(carried, 0, sizeof carried);
    memset(stacks, 0, sizeof stacks);
    ember_status st = EMBER_OK;
    for (int i = 0; i < n && st == EMBER_OK; i++) st = dup_tensor(c, c->in[2 + i], &carried[i]);
    ins[0] = &it_t, ins[1] = &cond_t;
    for (int i = 0; i < n; i++) ins[2 + i] = &carried[i];
    for (; st == EMBER_OK && iter < trips && go; iter++) {
        memset(outs, 0, sizeof outs);
        iter_cond = go;
        st = ember_interp_subgraph(c, body, ins, 2 + n, outs, 1 + n + k);
        if (st != EMBER_OK) {
            st = ember_error_prefix(st, "node '%s' (Loop), iteration %lld", c->node->name, (long long)iter);
            break;
        }
        /* Without a cond input the body's condition output is ignored (a plain for loop). */
        go = cond ? ctl_truth(&outs[0]) : true;
        free(outs[0].data);
        for (int i = 0; i < n; i++) {
            free(carried[i].data);
            carried[i] = outs[1 + i];
            outs[1 + i].data = NULL;
        }
        for (int j = 0; j < k && st == EMBER_OK; j++) st = stack_push(c, &stacks[j], &outs[1 + n + j], j);
        ctl_free_all(outs + 1 + n, k);
    }
    for (int i = 0; i < n; i++) {
        if (st == EMBER_OK) ctl_give(c, i, &carried[i]);
        else free(carried[i].data);
    }
    for (int j = 0; j < k; j++) {
        ember_op_tensor t;
        if (st == EMBER_OK) st = stack_take(c, n + j, &stacks[j], &body->values[body->outputs[1 + n + j]], &t);
        if (st == EMBER_OK) ctl_give(c, n + j, &t);
        free(stacks[j].data);
    }
    return st;
}

ember_status ember_run_loop(ember_op_ctx *c)
{
    (void)c;
    return EMBER_OK;
}

/* ---- Scan (opset 9+) ---- */

typedef struct scan_attrs {
    int n_state, n_scan_in, n_scan_out;
    int in_axis[64], in_rev[64], out_axis[64], out_rev[64];
} scan_attrs;

/* Reads one of Scan's per-input integer lists (default 0). */
static ember_status scan_list(const ember_op_ctx *c, const char *name, int count, int *vals)
{
    const int64_t *v;
    int n = ember_attr_ints(c->node, name, &v);
    for (int i = 0; i < count; i++) vals[i] = 0;
    if (n < 0) return EMBER_OK;
    if (n != count) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "'%s' has %d values, expected %d", name, n, count);
    for (int i = 0; i < n; i++) vals[i] = (int)v[i];
    return EMBER_OK;
}

static ember_status scan_setup(const ember_op_ctx *c, const ember_graph *body, scan_attrs *a)
{
    /* Scan-8 takes sequence_lens first and has "directions" for its scan inputs. */
    int first = c->opset < 9 ? 1 : 0, n_in = c->n_in - first;
    int64_t m = ember_attr_int(c->node, "num_scan_inputs", -1);
    if (m < 1 || m > n_in) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "num_scan_inputs is missing or out of range");
    a->n_scan_in = (int)m;
    a->n_state = n_in - a->n_scan_in;
    a->n_scan_out = c->n_out - a->n_state;
    if (a->n_scan_out < 0 || body->n_inputs != n_in || body->n_outputs != c->n_out)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "body takes %d inputs and gives %d outputs; the node has "
                             "%d inputs and %d outputs", body->n_inputs, body->n_outputs, c->n_in, c->n_out);
    if (c->n_in > 64 || c->n_out > 64) return ember_op_fail(c, EMBER_E_UNSUPPORTED, "more than 64 scan values");
    TRY(scan_list(c, "scan_input_axes", a->n_scan_in, a->in_axis));
    TRY(scan_list(c, first ? "directions" : "scan_input_directions", a->n_scan_in, a->in_rev));
    TRY(scan_list(c, "scan_output_axes", a->n_scan_out, a->out_axis));
    TRY(scan_list(c, "scan_output_directions", a->n_scan_out, a->out_rev));
    if (first) {
        for (int j = 0; j < a->n_scan_in; j++) a->in_axis[j] = 0;
        for (int j = 0; j < a->n_scan_out; j++) a->out_axis[j] = 0, a->out_rev[j] = 0;
    }
    for (int i = first; i < c->n_in; i++)
        if (!c->in[i]) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "input %d is missing", i);
    return EMBER_OK;
}

/* *out (rank r+1) from the stacked elements: element t goes to position t (or the mirrored
 * one) along `axis`. */
static ember_status scan_output(const ember_op_ctx *c, int i, stack *s, int axis, bool rev,
                                const ember_value *decl, ember_op_tensor *out)
{
    int r = s->count ? s->elem.rank : (decl->shape.rank < 0 ? 0 : decl->shape.rank);
    int a = axis < 0 ? axis + r + 1 : axis;
    if (a < 0 || a > r) return ember_op_fail(c, EMBER_E_INVALID_MODEL, "scan_output_axes %d is out of range", axis);
    if ((a == 0 && !rev) || s->count == 0) return stack_take(c, i, s, decl, out);
    ember_op_tensor t = {0};
    t.dtype = s->elem.dtype;
    t.rank = r + 1;
    for (int k = 0, j = 0; k <= r; k++) t.dims[k] = k == a ? s->count : s->elem.dims[j++];
    size_t es = ember_dtype_size(t.dtype);
    t.data = malloc(s->used ? s->used : 1);
    if (!t.data) return ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    /* View the stack as (count, elem...) and write it permuted/mirrored into t. */
    int64_t vd[K_COPY_MAX_RANK], vs[K_COPY_MAX_RANK], os[K_COPY_MAX_RANK], ts[K_COPY_MAX_RANK];
    vd[0] = s->count;
    for (int k = 0; k < r; k++) vd[k + 1] = s->elem.dims[k];
    k_contiguous_strides(r + 1, vd, vs);
    k_contiguous_strides(r + 1, t.dims, ts);
    os[0] = ts[a];
    for (int k = 0, j = 1; k <= r; k++)
        if (k != a) os[j++] = ts[k];
    unsigned char *dst = t.data;
    if (rev) {
        dst += (size_t)((s->count - 1) * os[0]) * es;
        os[0] = -os[0];
    }
    k_copy_strided(s->data, dst, r + 1, vd, vs, os, es, 0, 1);
    free(s->data);
    s->data = NULL;
    *out = t;
    return EMBER_OK;
}

/* Runs the scan over inputs in[0..n_state + n_scan_in) for `len` steps; a->in_axis must
 * be normalized. res[0..n_state + n_scan_out) receive malloc'd final states and scan
 * outputs (freed here on failure). */
static ember_status scan_core(const ember_op_ctx *c, const ember_graph *body, const scan_attrs *a,
                              const ember_op_tensor *const *in, int64_t len, ember_op_tensor *res)
{
    int ns = a->n_state, mi = a->n_scan_in, ko = a->n_scan_out;
    ember_op_tensor state[64], slices[64], outs[64];
    ember_op_tensor *ins[64];
    stack stacks[64];
    memset(state, 0, sizeof state);
    memset(slices, 0, sizeof slices);
    memset(stacks, 0, sizeof stacks);
    memset(res, 0, sizeof *res * (size_t)(ns + ko));
    ember_status st = EMBER_OK;
    for (int i = 0; i < ns && st == EMBER_OK; i++) st = dup_tensor(c, in[i], &state[i]);
    /* One slice buffer per scan input, refilled every iteration. */
    for (int j = 0; j < mi && st == EMBER_OK; j++) {
        const ember_op_tensor *x = in[ns + j];
        ember_op_tensor *sl = &slices[j];
        sl->dtype = x->dtype;
        sl->rank = x->rank - 1;
        for (int k = 0, q = 0; k < x->rank; k++)
            if (k != a->in_axis[j]) sl->dims[q++] = x->dims[k];
        sl->nbytes = (size_t)ember_op_numel(sl) * ember_dtype_size(x->dtype);
        sl->data = malloc(sl->nbytes ? sl->nbytes : 1);
        if (!sl->data) st = ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
    }
    for (int i = 0; i < ns; i++) ins[i] = &state[i];
    for (int j = 0; j < mi; j++) ins[ns + j] = &slices[j];
    for (int64_t t = 0; st == EMBER_OK && t < len; t++) {
        for (int j = 0; j < mi; j++) {
            const ember_op_tensor *x = in[ns + j];
            int ax = a->in_axis[j];
            int64_t pos = a->in_rev[j] ? len - 1 - t : t, xs[EMBER_MAX_RANK], ss[EMBER_MAX_RANK], ds[EMBER_MAX_RANK];
            size_t es = ember_dtype_size(x->dtype);
            k_contiguous_strides(x->rank, x->dims, xs);
            k_contiguous_strides(slices[j].rank, slices[j].dims, ds);
            for (int k = 0, q = 0; k < x->rank; k++)
                if (k != ax) ss[q++] = xs[k];
            k_copy_strided((const unsigned char *)x->data + (size_t)(pos * xs[ax]) * es, slices[j].data,
                           slices[j].rank, slices[j].dims, ss, ds, es, 0, 1);
        }
        memset(outs, 0, sizeof outs);
        st = ember_interp_subgraph(c, body, ins, ns + mi, outs, ns + ko);
        if (st != EMBER_OK) {
            st = ember_error_prefix(st, "node '%s' (Scan), iteration %lld", c->node->name, (long long)t);
            break;
        }
        for (int i = 0; i < ns; i++) {
            free(state[i].data);
            state[i] = outs[i];
            outs[i].data = NULL;
        }
        for (int j = 0; j < ko && st == EMBER_OK; j++) st = stack_push(c, &stacks[j], &outs[ns + j], j);
        ctl_free_all(outs + ns, ko);
    }
    ctl_free_all(slices, mi);
    for (int i = 0; i < ns; i++) res[i] = state[i];
    for (int j = 0; j < ko; j++) {
        if (st == EMBER_OK)
            st = scan_output(c, ns + j, &stacks[j], a->out_axis[j], a->out_rev[j] != 0,
                             &body->values[body->outputs[ns + j]], &res[ns + j]);
        free(stacks[j].data);
    }
    if (st != EMBER_OK) ctl_free_all(res, ns + ko);
    return st;
}

/* Scan-8: a leading batch axis on every input and output, optional sequence_lens first;
 * each batch item is one Scan-9 run over axis 0, shorter sequences padded with zeros. */
static ember_status scan8(ember_op_ctx *c, const ember_graph *body, scan_attrs *a)
{
    int ns = a->n_state, mi = a->n_scan_in, ko = a->n_scan_out;
    const ember_op_tensor *lens = ember_op_in(c, 0);
    const ember_op_tensor *const *in = (const ember_op_tensor *const *)c->in + 1;
    if (ns + mi < 1 || !in[0] || in[0]->rank < 1)
        return ember_op_fail(c, EMBER_E_INVALID_MODEL, "inputs need a batch dimension");
    int64_t batch = in[0]->dims[0], seq = -1;
    for (int i = 0; i < ns + mi; i++) {
        if (in[i]->rank < (i < ns ? 1 : 2) || in[i]->dims[0] != batch)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "input %d does not have the batch dimension %lld", i + 1,
                                 (long long)batch);
        if (i >= ns) {
            if (seq >= 0 && in[i]->dims[1] != seq)
                return ember_op_fail(c, EMBER_E_INVALID_ARG, "scan inputs differ in sequence length");
            seq = in[i]->dims[1];
        }
    }
    if (lens && ember_op_numel(lens) != batch)
        return ember_op_fail(c, EMBER_E_INVALID_ARG, "sequence_lens must have one entry per batch item");
    ember_op_tensor views[64], res[64], full[64];
    const ember_op_tensor *pv[64];
    memset(full, 0, sizeof full);
    ember_status st = EMBER_OK;
    for (int64_t b = 0; b < batch && st == EMBER_OK; b++) {
        int64_t len = lens ? ember_op_get_int(lens, b) : seq;
        if (len < 0 || len > seq) {
            st = ember_op_fail(c, EMBER_E_INVALID_ARG, "sequence length %lld is outside [0, %lld]", (long long)len,
                               (long long)seq);
            break;
        }
        for (int i = 0; i < ns + mi; i++) {
            const ember_op_tensor *x = in[i];
            ember_op_tensor *v = &views[i];
            memset(v, 0, sizeof *v);
            v->dtype = x->dtype;
            v->rank = x->rank - 1;
            memcpy(v->dims, x->dims + 1, sizeof(int64_t) * (size_t)v->rank);
            v->nbytes = (size_t)ember_op_numel(v) * ember_dtype_size(x->dtype);
            v->data = (unsigned char *)x->data + (size_t)b * v->nbytes;
            if (i >= ns) v->dims[0] = len; /* the rest of the padded sequence is never read */
            pv[i] = v;
        }
        st = scan_core(c, body, a, pv, len, res);
        if (st != EMBER_OK) break;
        for (int i = 0; i < ns + ko && st == EMBER_OK; i++) {
            ember_op_tensor *r = &res[i], *f = &full[i];
            size_t nb = (size_t)ember_op_numel(r) * ember_dtype_size(r->dtype);
            if (b == 0) {
                f->dtype = r->dtype;
                f->rank = r->rank + 1;
                if (f->rank > EMBER_MAX_RANK) st = ember_op_fail(c, EMBER_E_UNSUPPORTED, "output rank too high");
                f->dims[0] = batch;
                memcpy(f->dims + 1, r->dims, sizeof(int64_t) * (size_t)r->rank);
                if (i >= ns) f->dims[1] = seq;
                f->nbytes = (size_t)ember_op_numel(f) * ember_dtype_size(f->dtype);
                f->data = st == EMBER_OK ? calloc(f->nbytes ? f->nbytes : 1, 1) : NULL;
                if (!f->data && st == EMBER_OK) st = ember_op_fail(c, EMBER_E_NO_MEMORY, "out of memory");
            }
            size_t item = f->nbytes / (size_t)(batch ? batch : 1);
            if (st == EMBER_OK && nb > item)
                st = ember_op_fail(c, EMBER_E_INVALID_ARG, "output %d changes shape between batch items", i);
            if (st == EMBER_OK && nb) memcpy((unsigned char *)f->data + (size_t)b * item, r->data, nb);
        }
        ctl_free_all(res, ns + ko);
    }
    for (int i = 0; i < ns + ko; i++) {
        if (st == EMBER_OK && batch > 0) ctl_give(c, i, &full[i]);
        else free(full[i].data);
    }
    if (st == EMBER_OK && batch == 0)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "Scan over an empty batch");
    return st;
}

ember_status ember_infer_scan(ember_op_ctx *c)
{
    const ember_graph *body;
    TRY(ctl_graph(c, "body", &body));
    scan_attrs a;
    TRY(scan_setup(c, body, &a));
    int ns = a.n_state, mi = a.n_scan_in, ko = a.n_scan_out, first = c->opset < 9 ? 1 : 0;
    if (!c->running) {
        for (int i = 0; i < ns; i++)
            ember_op_set_out(c, i, c->in[first + i]->dtype, c->in[first + i]->rank, c->in[first + i]->dims);
        for (int j = 0; j < ko; j++) ember_op_set_out(c, ns + j, body->values[body->outputs[ns + j]].dtype, -1, NULL);
        return EMBER_OK;
    }
    if (c->opset < 9) return scan8(c, body, &a);
    int64_t len = -1;
    for (int j = 0; j < mi; j++) {
        const ember_op_tensor *x = c->in[ns + j];
        int ax;
        TRY(ember_op_axis(c, a.in_axis[j], x->rank, "scan_input_axes", &ax));
        a.in_axis[j] = ax;
        if (len >= 0 && x->dims[ax] != len)
            return ember_op_fail(c, EMBER_E_INVALID_ARG, "scan inputs have lengths %lld and %lld", (long long)len,
                                 (long long)x->dims[ax]);
        len = x->dims[ax];
    }
    ember_op_tensor res[64];
    TRY(scan_core(c, body, &a, (const ember_op_tensor *const *)c->in, len, res));
    for (int i = 0; i < ns + ko; i++) ctl_give(c, i, &res[i]);
    return EMBER_OK;
}

ember_status ember_run_scan(ember_op_ctx *c)
{
    (void)c;
    return EMBER_OK;
}
