/* A program's graph (values, nodes, attributes, symbols, inputs, outputs) and each
 * step's fast-path choice as a flat little-endian record stream; constants go out of
 * line as blobs. Decoding trusts nothing: every count, index, size and offset is checked
 * before use. */
#include "cache_graph.h"

#include <stdlib.h>
#include <string.h>

#include "../ops/op.h"
#include "status.h"

/* ---- writing ---- */

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *w, const void *d, size_t n)
{
    if (w->oom || n == 0) return;
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->n + n) cap *= 2;
        unsigned char *q = realloc(w->p, cap);
        if (!q) {
            w->oom = 1;
            return;
        }
        w->p = q, w->cap = cap;
    }
    memcpy(w->p + w->n, d, n);
    w->n += n;
}
static void put_i32(wbuf *w, int32_t v) { put(w, &v, 4); }
static void put_u64(wbuf *w, uint64_t v) { put(w, &v, 8); }
static void put_bytes(wbuf *w, const void *s, size_t n)
{
    put_u64(w, n);
    put(w, s, n);
}
static void put_str(wbuf *w, const char *s) { put_bytes(w, s ? s : "", s ? strlen(s) : 0); }

static int add_blob(ember_cache_blob_list *l, const void *data, size_t nbytes, uint64_t *off)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        ember_cache_blob *b = realloc(l->b, cap * sizeof *b);
        if (!b) return -1;
        l->b = b, l->cap = cap;
    }
    uint64_t at = 0;
    if (l->n) at = (l->b[l->n - 1].offset + l->b[l->n - 1].nbytes + 63) & ~(uint64_t)63;
    l->b[l->n++] = (ember_cache_blob){data, nbytes, at};
    *off = at;
    return 0;
}

static void put_data(wbuf *w, ember_cache_blob_list *l, const void *data, size_t nbytes)
{
    uint64_t off = 0;
    put_u64(w, nbytes);
    if (add_blob(l, data, nbytes, &off) != 0) w->oom = 1;
    put_u64(w, off);
}

static void put_shape(wbuf *w, int rank, const int64_t *dims, const int32_t *syms)
{
    put_i32(w, rank);
    for (int i = 0; i < rank && i < EMBER_MAX_RANK; i++) put(w, &dims[i], 8);
    for (int i = 0; syms && i < rank && i < EMBER_MAX_RANK; i++) put_i32(w, syms[i]);
}

static ember_status put_attr(wbuf *w, ember_cache_blob_list *l, const ember_node *n, const ember_attr *a)
{
    put_str(w, a->name);
    put_i32(w, a->type);
    switch (a->type) {
    case EMBER_ATTR_FLOAT: put(w, &a->f, 4); break;
    case EMBER_ATTR_INT: put(w, &a->i, 8); break;
    case EMBER_ATTR_STRING: put_bytes(w, a->s ? a->s : "", a->s ? a->s_len : 0); break;
    case EMBER_ATTR_FLOATS:
        put_i32(w, a->n);
        put(w, a->floats, sizeof(float) * (size_t)(a->n > 0 ? a->n : 0));
        break;
    case EMBER_ATTR_INTS:
        put_i32(w, a->n);
        put(w, a->ints, sizeof(int64_t) * (size_t)(a->n > 0 ? a->n : 0));
        break;
    case EMBER_ATTR_STRINGS:
        put_i32(w, a->n);
        for (int i = 0; i < a->n; i++) put_str(w, a->strings[i]);
        break;
    case EMBER_ATTR_TENSOR:
        put_i32(w, a->t->dtype);
        put_shape(w, a->t->rank, a->t->dims, NULL);
        put_data(w, l, a->t->data, a->t->nbytes);
        break;
    default:
        return ember_error(EMBER_E_UNSUPPORTED, "node '%s': attribute '%s' of type %d is not cached", n->name,
                           a->name, (int)a->type);
    }
    return EMBER_OK;
}

ember_status ember_cache_graph_encode(const ember_program *p, unsigned char **meta, size_t *meta_bytes,
                                      ember_cache_blob_list *blobs)
{
    const ember_graph *g = p->g;
    wbuf w = {0};
    ember_status st = EMBER_OK;
    int32_t counts[7] = {g->n_values, g->n_nodes, g->n_inputs, g->n_outputs, g->n_symbols, g->opset, 0};
    put(&w, counts, sizeof counts);
    put_str(&w, g->name);
    for (int i = 0; i < g->n_symbols; i++) put_str(&w, g->symbols[i]);
    for (int i = 0; i < g->n_values; i++) {
        const ember_value *v = &g->values[i];
        put_str(&w, v->name);
        put_i32(&w, v->dtype);
        put_shape(&w, v->shape.rank, v->shape.dims, v->shape.syms);
        put_i32(&w, (int32_t)v->flags);
        put_i32(&w, v->data != NULL);
        if (v->data) put_data(&w, blobs, v->data, v->nbytes);
    }
    for (int i = 0; i < g->n_nodes && st == EMBER_OK; i++) {
        const ember_node *n = &g->nodes[i];
        put_str(&w, n->name);
        put_str(&w, n->op_type);
        put_str(&w, n->domain);
        int32_t f[6] = {n->op, n->opset, n->n_inputs, n->n_outputs, n->n_attrs, n->n_implicit};
        put(&w, f, sizeof f);
        put(&w, n->inputs, sizeof(int) * (size_t)n->n_inputs);
        put(&w, n->outputs, sizeof(int) * (size_t)n->n_outputs);
        put(&w, n->implicit, sizeof(int) * (size_t)n->n_implicit);
        for (int a = 0; a < n->n_attrs && st == EMBER_OK; a++) st = put_attr(&w, blobs, n, &n->attrs[a]);
    }
    put(&w, g->inputs, sizeof(int) * (size_t)g->n_inputs);
    put(&w, g->outputs, sizeof(int) * (size_t)g->n_outputs);
    if (st == EMBER_OK && w.oom) st = ember_error(EMBER_E_NO_MEMORY, "out of memory encoding the program");
    if (st != EMBER_OK) {
        free(w.p);
        return st;
    }
    *meta = w.p;
    *meta_bytes = w.n;
    return EMBER_OK;
}

ember_status ember_cache_steps_encode(const ember_program *p, unsigned char **out, size_t *n)
{
    wbuf w = {0};
    put_i32(&w, p->n_steps);
    for (int i = 0; i < p->n_steps; i++) {
        put_i32(&w, p->steps[i].node);
        put_str(&w, p->steps[i].host ? p->steps[i].host->name : "");
    }
    if (w.oom) {
        free(w.p);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory encoding the steps");
    }
    *out = w.p;
    *n = w.n;
    return EMBER_OK;
}

/* ---- reading ---- */

typedef struct rbuf {
    const unsigned char *p;
    size_t n, at;
    const unsigned char *file;
    size_t file_bytes;
    uint64_t data_offset;
    ember_graph *g;
    const char *bad; /* first problem found */
} rbuf;

static int get(rbuf *r, void *d, size_t n)
{
    if (r->bad) return 0;
    if (n == 0) return 1;
    if (r->n - r->at < n) {
        r->bad = "structure ends early";
        return 0;
    }
    memcpy(d, r->p + r->at, n);
    r->at += n;
    return 1;
}
static int32_t get_i32(rbuf *r)
{
    int32_t v = 0;
    get(r, &v, 4);
    return v;
}
static uint64_t get_u64(rbuf *r)
{
    uint64_t v = 0;
    get(r, &v, 8);
    return v;
}
/* A count in [0, max]. */
static int get_count(rbuf *r, int max)
{
    int32_t v = get_i32(r);
    if (v < 0 || v > max) {
        if (!r->bad) r->bad = "count out of range";
        return 0;
    }
    return v;
}
/* Length-prefixed bytes copied into the graph's arena, NUL-terminated. */
static char *get_str(rbuf *r, size_t *len)
{
    uint64_t n = get_u64(r);
    if (r->bad) return NULL;
    if (n > r->n - r->at) {
        r->bad = "string runs past the end";
        return NULL;
    }
    char *s = ember_arena_strndup(&r->g->arena, (const char *)r->p + r->at, (size_t)n);
    if (!s) r->bad = "out of memory";
    r->at += n;
    if (len) *len = (size_t)n;
    return s;
}
/* Data of nbytes in the file's data section, 64-byte aligned. */
static void *get_data(rbuf *r, size_t *nbytes)
{
    uint64_t n = get_u64(r), off = get_u64(r);
    if (r->bad) return NULL;
    if (off % 64 || off > r->file_bytes || r->data_offset > r->file_bytes - off ||
        n > r->file_bytes - r->data_offset - off) {
        r->bad = "constant outside the file";
        return NULL;
    }
    *nbytes = (size_t)n;
    return (void *)(r->file + r->data_offset + off);
}
static void *get_array(rbuf *r, size_t elem, int n)
{
    if (elem * (size_t)n > r->n - r->at) { /* before allocating what a bad count asks for */
        r->bad = r->bad ? r->bad : "array runs past the end";
        return NULL;
    }
    void *a = ember_arena_alloc(&r->g->arena, elem * (size_t)(n ? n : 1));
    if (!a) r->bad = "out of memory";
    else get(r, a, elem * (size_t)n);
    return a;
}

/* rank in [-1, EMBER_MAX_RANK], dims >= 0 where known; numel < 0 when unknown. */
static int get_shape(rbuf *r, int *rank, int64_t *dims, int32_t *syms, int n_symbols)
{
    int32_t k = get_i32(r);
    if (k < -1 || k > EMBER_MAX_RANK) r->bad = r->bad ? r->bad : "rank out of range";
    if (r->bad) return 0;
    *rank = k;
    for (int i = 0; i < k; i++) {
        get(r, &dims[i], 8);
        if (dims[i] < -1) r->bad = r->bad ? r->bad : "negative dimension";
    }
    for (int i = 0; syms && i < k; i++) {
        syms[i] = get_i32(r);
        if (syms[i] < -1 || syms[i] >= n_symbols) r->bad = r->bad ? r->bad : "symbol out of range";
    }
    return !r->bad;
}

/* The byte size a dtype and shape need, or -1 when unknown or absurd. */
static int64_t need_bytes(int dtype, int rank, const int64_t *dims)
{
    size_t es = ember_dtype_size((ember_dtype)dtype);
    if (!es || rank < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] && n > INT64_MAX / 16 / dims[i])) return -1;
        n *= dims[i];
    }
    return n * (int64_t)es;
}

static void get_attr(rbuf *r, ember_attr *a)
{
    memset(a, 0, sizeof *a);
    a->name = get_str(r, NULL);
    a->type = (ember_attr_type)get_i32(r);
    switch (a->type) {
    case EMBER_ATTR_FLOAT: get(r, &a->f, 4); break;
    case EMBER_ATTR_INT: get(r, &a->i, 8); break;
    case EMBER_ATTR_STRING: a->s = get_str(r, &a->s_len); break;
    case EMBER_ATTR_FLOATS:
        a->n = get_count(r, 1 << 24);
        a->floats = get_array(r, sizeof(float), a->n);
        break;
    case EMBER_ATTR_INTS:
        a->n = get_count(r, 1 << 24);
        a->ints = get_array(r, sizeof(int64_t), a->n);
        break;
    case EMBER_ATTR_STRINGS:
        a->n = get_count(r, 1 << 20);
        a->strings = ember_arena_alloc(&r->g->arena, sizeof(char *) * (size_t)(a->n ? a->n : 1));
        if (!a->strings) r->bad = "out of memory";
        for (int i = 0; i < a->n && !r->bad; i++) a->strings[i] = get_str(r, NULL);
        break;
    case EMBER_ATTR_TENSOR:
        a->t = ember_arena_alloc(&r->g->arena, sizeof *a->t);
        if (!a->t) {
            r->bad = "out of memory";
            break;
        }
        a->t->dtype = (ember_dtype)get_i32(r);
        if (!get_shape(r, &a->t->rank, a->t->dims, NULL, 0)) break;
        a->t->data = get_data(r, &a->t->nbytes);
        if (!r->bad && (a->t->rank < 0 || need_bytes(a->t->dtype, a->t->rank, a->t->dims) != (int64_t)a->t->nbytes))
            r->bad = "tensor attribute size does not match its shape";
        break;
    default: r->bad = r->bad ? r->bad : "unknown attribute type";
    }
}

static void get_graph(rbuf *r)
{
    ember_graph *g = r->g;
    int32_t c[7];
    if (!get(r, c, sizeof c)) return;
    for (int i = 0; i < 7; i++)
        if (c[i] < 0 || c[i] > (1 << 24)) r->bad = "count out of range";
    if (r->bad) return;
    int nv = c[0], nn = c[1], ni = c[2], no = c[3], ns = c[4];
    g->opset = c[5];
    g->name = get_str(r, NULL);
    for (int i = 0; i < ns && !r->bad; i++) {
        const char *s = get_str(r, NULL);
        if (s && ember_graph_symbol(g, s) != i) r->bad = "duplicate symbol";
    }
    for (int i = 0; i < nv && !r->bad; i++) {
        const char *name = get_str(r, NULL);
        if (r->bad) break;
        if (ember_graph_add_value(g, name) != i) {
            r->bad = "duplicate value name";
            break;
        }
        ember_value *v = &g->values[i];
        v->dtype = (ember_dtype)get_i32(r);
        get_shape(r, &v->shape.rank, v->shape.dims, v->shape.syms, ns);
        v->flags = (uint32_t)get_i32(r) & (EMBER_VALUE_INPUT | EMBER_VALUE_OUTPUT | EMBER_VALUE_CONST);
        if (get_i32(r)) v->data = get_data(r, &v->nbytes);
        if (r->bad) break;
        int64_t need = need_bytes(v->dtype, v->shape.rank, v->shape.dims);
        if ((v->flags & EMBER_VALUE_CONST) && (!v->data || need != (int64_t)v->nbytes))
            r->bad = "constant size does not match its shape";
    }
    for (int i = 0; i < nn && !r->bad; i++) {
        const char *name = get_str(r, NULL), *op_type = get_str(r, NULL), *domain = get_str(r, NULL);
        int32_t f[6];
        if (!get(r, f, sizeof f)) break;
        if (f[0] < 0 || f[0] >= EMBER_OP_COUNT || f[2] < 0 || f[2] > 4096 || f[3] < 0 || f[3] > 4096 || f[4] < 0 ||
            f[4] > 4096 || f[5] != 0) {
            r->bad = "bad node header";
            break;
        }
        int *ins = get_array(r, sizeof(int), f[2]), *outs = get_array(r, sizeof(int), f[3]);
        ember_attr *attrs = ember_arena_alloc(&g->arena, sizeof *attrs * (size_t)(f[4] ? f[4] : 1));
        if (!attrs) r->bad = "out of memory";
        for (int a = 0; a < f[4] && !r->bad; a++) get_attr(r, &attrs[a]);
        for (int k = 0; k < f[2] && !r->bad; k++)
            if (ins[k] < -1 || ins[k] >= nv) r->bad = "node input out of range";
        for (int k = 0; k < f[3] && !r->bad; k++)
            if (outs[k] < -1 || outs[k] >= nv || (outs[k] >= 0 && g->values[outs[k]].producer >= 0))
                r->bad = "node output out of range or written twice";
        if (r->bad) break;
        int idx = ember_graph_add_node(g, name, op_type, domain, ins, f[2], outs, f[3], attrs, f[4]);
        if (idx != i) {
            r->bad = "out of memory";
            break;
        }
        g->nodes[i].op = f[0];
        g->nodes[i].opset = f[1];
        for (int k = 0; k < f[3]; k++)
            if (outs[k] >= 0) g->values[outs[k]].producer = i;
    }
    if (r->bad) return;
    /* malloc'd, as ember_graph_free expects */
    g->inputs = malloc(sizeof(int) * (size_t)(ni ? ni : 1));
    g->outputs = malloc(sizeof(int) * (size_t)(no ? no : 1));
    if (!g->inputs || !g->outputs) {
        r->bad = "out of memory";
        return;
    }
    get(r, g->inputs, sizeof(int) * (size_t)ni);
    get(r, g->outputs, sizeof(int) * (size_t)no);
    g->n_inputs = ni, g->n_outputs = no;
    if (r->bad) return;
    for (int i = 0; i < ni && !r->bad; i++)
        if (g->inputs[i] < 0 || g->inputs[i] >= nv || g->values[g->inputs[i]].producer >= 0) r->bad = "bad graph input";
    for (int i = 0; i < no && !r->bad; i++)
        if (g->outputs[i] < 0 || g->outputs[i] >= nv) r->bad = "bad graph output";
    /* Nodes must come in topological order: every input defined before its reader. */
    for (int i = 0; i < nn && !r->bad; i++) {
        const ember_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            if (v >= 0 && g->values[v].producer >= i) r->bad = "nodes out of order";
            if (v >= 0 && g->values[v].producer < 0 && !(g->values[v].flags & EMBER_VALUE_CONST)) {
                int is_in = 0;
                for (int j = 0; j < ni; j++) is_in |= g->inputs[j] == v;
                if (!is_in) r->bad = "node reads a value nothing defines";
            }
        }
    }
    if (!r->bad && r->at != r->n) r->bad = "trailing bytes after the structure";
}

/* The steps section: one fast-path name per node, in node order. */
static void get_steps(rbuf *r, ember_cache_entry *e)
{
    ember_graph *g = r->g;
    int nn = g->n_nodes;
    if (get_i32(r) != nn) {
        r->bad = r->bad ? r->bad : "step count differs from the node count";
        return;
    }
    e->kernels = ember_arena_alloc(&g->arena, sizeof(char *) * (size_t)(nn ? nn : 1));
    if (!e->kernels) r->bad = "out of memory";
    for (int i = 0; i < nn && !r->bad; i++) {
        if (get_i32(r) != i) r->bad = "steps out of order";
        e->kernels[i] = get_str(r, NULL);
    }
    e->n_kernels = nn;
    if (!r->bad && r->at != r->n) r->bad = "trailing bytes after the steps";
}

ember_status ember_cache_graph_decode(const unsigned char *meta, size_t meta_bytes, const unsigned char *file,
                                      size_t file_bytes, uint64_t data_offset, const unsigned char *steps,
                                      size_t steps_bytes, ember_cache_entry *e)
{
    rbuf r = {meta, meta_bytes, 0, file, file_bytes, data_offset, ember_graph_new(NULL), NULL};
    if (!r.g) return ember_error(EMBER_E_NO_MEMORY, "out of memory loading a cache entry");
    get_graph(&r);
    if (!r.bad) {
        r.p = steps, r.n = steps_bytes, r.at = 0;
        get_steps(&r, e);
    }
    if (r.bad) {
        ember_graph_free(r.g);
        e->g = NULL;
        e->kernels = NULL;
        return ember_error(EMBER_E_INVALID_MODEL, "%s (at byte %zu of the structure)", r.bad, r.at);
    }
    e->g = r.g;
    return EMBER_OK;
}
