/* ONNX ModelProto -> ember_graph.
 *
 * The model is checked on the wire first (onnx_wire.c), decoded by protobuf-c, then
 * graphs are built breadth-first from a work list: a graph attribute only queues its
 * GraphProto, so nesting never turns into C recursion. Every graph is complete before
 * any graph inside it is built, which is what lets a subgraph find the outer values it
 * captures by walking its parent chain. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../ops/op.h"
#include "onnx_internal.h"

#define MAX_DEFAULT_OPSET 21
#define MAX_OPSET_IMPORTS 1024

typedef struct opset_entry {
    const char *domain; /* "" for the default domain */
    int64_t version;
} opset_entry;

/* A graph waiting to be built, or built. */
typedef struct build_rec {
    const Onnx__GraphProto *gp;
    ember_graph *g;
    int parent;     /* index into recs, -1 for the main graph */
    int owner_node; /* node of the parent graph whose attribute holds this graph */
    int depth;
    const char *owner_name, *attr_name; /* for messages; in the parent's arena */
} build_rec;

/* (node, value) pairs: a node that holds a subgraph depends on outer values the
 * subgraph reads, though they are not among the node's inputs. */
typedef struct capture {
    int node, value;
} capture;

typedef struct capture_list {
    capture *v;
    int n, cap;
} capture_list;

typedef struct importer {
    const char *base_dir;
    opset_entry *opsets;
    int n_opsets;
    int64_t default_opset;
    build_rec *recs;
    int n_recs, cap_recs;
    capture_list *caps; /* one list per rec */
    int *ibuf, *obuf;   /* scratch for one node's inputs and outputs */
    size_t ibuf_cap, obuf_cap;
    ember_attr *abuf;
    size_t abuf_cap;
    /* The main graph's large raw_data, kept out of protobuf-c (onnx_strip.c) */
    const Onnx__GraphProto *root_gp;
    const onnx_raw_span *raw;
    size_t n_raw;
    int drop_source;
} importer;

static ember_status oom(void) { return ember_error(EMBER_E_NO_MEMORY, "out of memory importing the model"); }

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static const char *str_or_empty(const char *s) { return s ? s : ""; }

static int is_default_domain(const char *d) { return !d || !*d || strcmp(d, "ai.onnx") == 0; }

static int64_t domain_opset(const importer *im, const char *domain)
{
    if (is_default_domain(domain)) return im->default_opset;
    for (int i = 0; i < im->n_opsets; i++)
        if (strcmp(im->opsets[i].domain, domain) == 0) return im->opsets[i].version;
    return 0;
}

static ember_status read_opsets(importer *im, const Onnx__ModelProto *mp)
{
    if (mp->n_opset_import > MAX_OPSET_IMPORTS)
        return ember_error(EMBER_E_INVALID_MODEL, "model imports %zu operator sets; at most %d "
                           "are allowed", mp->n_opset_import, MAX_OPSET_IMPORTS);
    im->opsets = calloc(mp->n_opset_import + 1, sizeof *im->opsets);
    if (!im->opsets) return oom();
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        const char *d = is_default_domain(o->domain) ? "" : o->domain;
        int64_t v = o->has_version ? o->version : 0;
        for (int k = 0; k < im->n_opsets; k++)
            if (strcmp(im->opsets[k].domain, d) == 0 && im->opsets[k].version != v)
                return ember_error(EMBER_E_INVALID_MODEL,
                                   "model imports operator set '%s' twice (versions %lld and %lld)",
                                   *d ? d : "ai.onnx", (long long)im->opsets[k].version,
                                   (long long)v);
        im->opsets[im->n_opsets].domain = d;
        im->opsets[im->n_opsets++].version = v;
        if (!*d) {
            if (v < 1 || v > MAX_DEFAULT_OPSET)
                return ember_error(EMBER_E_UNSUPPORTED,
                                   "model uses ONNX opset %lld; Ember supports opsets 1 to %d",
                                   (long long)v, MAX_DEFAULT_OPSET);
            im->default_opset = v;
        }
    }
    return EMBER_OK;
}

/* Fills dtype/shape from a ValueInfo type. `what` is "input", "output", ... */
static ember_status parse_type(ember_graph *g, const Onnx__TypeProto *tp, const char *what,
                               const char *name, ember_dtype *dt, ember_shape *sh)
{
    *dt = EMBER_DT_UNDEFINED;
    sh->rank = -1;
    for (int i = 0; i < EMBER_MAX_RANK; i++) sh->dims[i] = -1, sh->syms[i] = -1;
    if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET) return EMBER_OK;
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        const char *kind = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? "sequence"
                           : tp->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE    ? "map"
                           : tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE
                               ? "optional"
                           : tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE
                               ? "sparse tensor"
                               : "opaque";
        return ember_error(EMBER_E_UNSUPPORTED, "%s '%s' has a%s %s type; Ember supports only "
                           "dense tensors", what, name, *kind == 'o' ? "n" : "", kind);
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type && tt->elem_type != 0) {
        if (!onnx_dtype_supported(tt->elem_type))
            return ember_error(EMBER_E_UNSUPPORTED, "%s '%s' has element type %s (%d), which "
                               "Ember does not support", what, name,
                               onnx_dtype_label(tt->elem_type), (int)tt->elem_type);
        *dt = (ember_dtype)tt->elem_type;
    }
    if (!tt->shape) return EMBER_OK;
    if (tt->shape->n_dim > EMBER_MAX_RANK)
        return ember_error(EMBER_E_UNSUPPORTED, "%s '%s' has rank %zu; Ember supports up to %d",
                           what, name, tt->shape->n_dim, EMBER_MAX_RANK);
    sh->rank = (int)tt->shape->n_dim;
    for (int i = 0; i < sh->rank; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0)
                return ember_error(EMBER_E_INVALID_MODEL,
                                   "%s '%s' has negative dimension %lld (axis %d)", what, name,
                                   (long long)d->dim_value, i);
            sh->dims[i] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   d->dim_param && *d->dim_param) {
            sh->syms[i] = ember_graph_symbol(g, d->dim_param);
            if (sh->syms[i] < 0) return oom();
        }
    }
    return EMBER_OK;
}

static int defined_outside(const ember_graph *g, const char *name)
{
    for (const ember_graph *p = g->parent; p; p = p->parent)
        if (ember_graph_find(p, name) >= 0) return 1;
    return 0;
}

/* Index of the value `name` read by g: local, else captured from an enclosing graph,
 * else created undefined so that toposort names the node reading it. */
static int read_value(ember_graph *g, const char *name)
{
    int v = ember_graph_find(g, name);
    if (v >= 0) return v;
    v = ember_graph_add_value(g, name);
    if (v >= 0 && defined_outside(g, name)) g->values[v].flags |= EMBER_VALUE_OUTER;
    return v;
}

static ember_status push_rec(importer *im, const Onnx__GraphProto *gp, ember_graph *g, int parent,
                             int owner, int depth)
{
    if (im->n_recs == im->cap_recs) {
        int cap = im->cap_recs ? im->cap_recs * 2 : 8;
        build_rec *r = realloc(im->recs, (size_t)cap * sizeof *r);
        if (!r) return oom();
        im->recs = r;
        im->cap_recs = cap;
    }
    im->recs[im->n_recs++] = (build_rec){gp, g, parent, owner, depth, NULL, NULL};
    return EMBER_OK;
}

static void *arena_alloc(void *ctx, size_t n) { return ember_arena_alloc(ctx, n); }

/* The whole pages inside [p, p + n) of a private file mapping: dropped from memory
 * (read again from the file if touched). */
static void give_back(const void *p, size_t n)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

static ember_status add_initializers(importer *im, ember_graph *g, const Onnx__GraphProto *gp)
{
    if (gp->n_sparse_initializer)
        return ember_error(EMBER_E_UNSUPPORTED, "sparse initializer '%s' is not supported",
                           str_or_empty(gp->sparse_initializer[0]->values
                                            ? gp->sparse_initializer[0]->values->name
                                            : NULL));
    onnx_alloc al = {arena_alloc, NULL, &g->arena};
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name)
            return ember_error(EMBER_E_INVALID_MODEL, "initializer #%zu has no name", i);
        int v = ember_graph_add_value(g, tp->name);
        if (v < 0) return EMBER_E_INVALID_MODEL;
        char label[300];
        snprintf(label, sizeof label, "initializer '%.256s'", tp->name);
        ember_const_tensor t;
        const onnx_raw_span *raw = gp == im->root_gp && i < im->n_raw && im->raw[i].data ? &im->raw[i] : NULL;
        TRY(onnx_decode_tensor_raw(tp, label, im->base_dir, &al, raw, &t));
        if (raw && im->drop_source) give_back(raw->data, raw->len);
        ember_value *val = &g->values[v];
        val->flags |= EMBER_VALUE_CONST;
        val->dtype = t.dtype;
        val->shape.rank = t.rank;
        memcpy(val->shape.dims, t.dims, sizeof t.dims);
        val->data = t.data;
        val->nbytes = t.nbytes;
    }
    return EMBER_OK;
}

static ember_status add_inputs(ember_graph *g, const Onnx__GraphProto *gp)
{
    g->inputs = malloc(sizeof(int) * (gp->n_input ? gp->n_input : 1));
    if (!g->inputs) return oom();
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = str_or_empty(vi->name);
        if (!*name) return ember_error(EMBER_E_INVALID_MODEL, "graph input #%zu has no name", i);
        int v = ember_graph_find(g, name);
        if (v >= 0) {
            /* listing an initializer as an input is how IR < 4 declared weights */
            if (g->values[v].flags & EMBER_VALUE_CONST) continue;
            return ember_error(EMBER_E_INVALID_MODEL, "graph input '%s' is listed twice", name);
        }
        ember_dtype dt;
        ember_shape sh;
        TRY(parse_type(g, vi->type, "input", name, &dt, &sh));
        v = ember_graph_add_value(g, name);
        if (v < 0) return EMBER_E_NO_MEMORY;
        g->values[v].flags |= EMBER_VALUE_INPUT;
        g->values[v].dtype = dt;
        g->values[v].shape = sh;
        g->inputs[g->n_inputs++] = v;
    }
    return EMBER_OK;
}

static ember_status add_outputs(ember_graph *g, const Onnx__GraphProto *gp)
{
    g->outputs = malloc(sizeof(int) * (gp->n_output ? gp->n_output : 1));
    if (!g->outputs) return oom();
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        const char *name = str_or_empty(vi->name);
        if (!*name) return ember_error(EMBER_E_INVALID_MODEL, "graph output #%zu has no name", i);
        ember_dtype dt;
        ember_shape sh;
        TRY(parse_type(g, vi->type, "output", name, &dt, &sh));
        int v = read_value(g, name);
        if (v < 0) return EMBER_E_NO_MEMORY;
        ember_value *val = &g->values[v];
        val->flags |= EMBER_VALUE_OUTPUT;
        if (!(val->flags & EMBER_VALUE_CONST)) {
            if (dt != EMBER_DT_UNDEFINED) val->dtype = dt;
            if (sh.rank >= 0) val->shape = sh;
        }
        g->outputs[g->n_outputs++] = v;
    }
    /* value_info only adds facts; entries Ember cannot use are skipped, not refused */
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int v = vi->name ? ember_graph_find(g, vi->name) : -1;
        if (v < 0 || (g->values[v].flags & (EMBER_VALUE_CONST | EMBER_VALUE_INPUT))) continue;
        ember_dtype dt;
        ember_shape sh;
        if (parse_type(g, vi->type, "value", vi->name, &dt, &sh) != EMBER_OK) {
            ember_error_clear();
            continue;
        }
        ember_value *val = &g->values[v];
        if (val->dtype == EMBER_DT_UNDEFINED) val->dtype = dt;
        if (val->shape.rank < 0) val->shape = sh;
    }
    return EMBER_OK;
}

static ember_status add_node(importer *im, int rec, const Onnx__NodeProto *np, int index)
{
    ember_graph *g = im->recs[rec].g;
    char gen[32];
    const char *name = str_or_empty(np->name);
    if (!*name) {
        snprintf(gen, sizeof gen, "node_%d", g->n_nodes);
        name = gen;
    }
    const char *op_type = str_or_empty(np->op_type);
    if (!*op_type)
        return ember_error(EMBER_E_INVALID_MODEL, "node '%s' (#%d) has no op_type", name, index);
    if (np->n_input > INT_MAX || np->n_output > INT_MAX || np->n_attribute > INT_MAX)
        return ember_error(EMBER_E_UNSUPPORTED, "node '%s' has too many inputs", name);
    if (grow((void **)&im->ibuf, &im->ibuf_cap, np->n_input + 1, sizeof(int)) ||
        grow((void **)&im->obuf, &im->obuf_cap, np->n_output + 1, sizeof(int)) ||
        grow((void **)&im->abuf, &im->abuf_cap, np->n_attribute + 1, sizeof(ember_attr)))
        return oom();
    for (size_t k = 0; k < np->n_input; k++) {
        const char *in = str_or_empty(np->input[k]);
        im->ibuf[k] = *in ? read_value(g, in) : -1;
        if (*in && im->ibuf[k] < 0) return EMBER_E_NO_MEMORY;
    }
    for (size_t k = 0; k < np->n_output; k++) {
        const char *out = str_or_empty(np->output[k]);
        im->obuf[k] = *out ? ember_graph_find(g, out) : -1;
    }
    onnx_attr_ctx ac = {g, im->base_dir, name, op_type};
    int node_index = g->n_nodes;
    for (size_t k = 0; k < np->n_attribute; k++) {
        const Onnx__GraphProto *sub;
        TRY(onnx_decode_attr(&ac, np->attribute[k], &im->abuf[k], &sub));
        if (!sub) continue;
        int depth = im->recs[rec].depth + 1;
        if (depth > ONNX_MAX_GRAPH_DEPTH)
            return ember_error(EMBER_E_UNSUPPORTED,
                               "node '%s' (%s): subgraphs nest deeper than %d levels", name,
                               op_type, ONNX_MAX_GRAPH_DEPTH);
        ember_graph *child = ember_graph_new(g);
        if (!child) return oom();
        im->abuf[k].g = child;
        TRY(push_rec(im, sub, child, rec, node_index, depth));
        im->recs[im->n_recs - 1].attr_name = im->abuf[k].name;
    }
    TRY(onnx_check_attr_names(&ac, im->abuf, (int)np->n_attribute));
    const char *domain = is_default_domain(np->domain) ? "" : np->domain;
    if (!*domain && im->default_opset == 0)
        return ember_error(EMBER_E_INVALID_MODEL,
                           "node '%s' (%s) is in the default ONNX domain, but the model imports "
                           "no opset for it", name, op_type);
    int idx = ember_graph_add_node(g, name, op_type, domain, im->ibuf, (int)np->n_input,
                                   im->obuf, (int)np->n_output, im->abuf,
                                   (int)np->n_attribute);
    if (idx < 0) return EMBER_E_NO_MEMORY;
    for (int r = im->n_recs - 1; r > rec && im->recs[r].parent == rec &&
                                 im->recs[r].owner_node == idx && !im->recs[r].owner_name; r--)
        im->recs[r].owner_name = g->nodes[idx].name;
    int64_t opset = domain_opset(im, domain);
    g->nodes[idx].opset = opset > INT_MAX ? INT_MAX : opset < 0 ? 0 : (int)opset;
    return EMBER_OK;
}

static ember_status build_graph(importer *im, int rec)
{
    ember_graph *g = im->recs[rec].g;
    const Onnx__GraphProto *gp = im->recs[rec].gp;
    g->opset = (int)im->default_opset;
    g->name = ember_arena_strdup(&g->arena, str_or_empty(gp->name));
    if (!g->name) return oom();
    TRY(add_initializers(im, g, gp));
    TRY(add_inputs(g, gp));
    /* Create every produced value first: nodes need not be listed in order, and a
     * consumer listed before its producer must not be mistaken for an outer capture. */
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t k = 0; k < gp->node[i]->n_output; k++) {
            const char *out = gp->node[i]->output[k];
            if (out && *out && ember_graph_value(g, out) < 0) return EMBER_E_NO_MEMORY;
        }
    if (gp->n_node > INT_MAX) return ember_error(EMBER_E_UNSUPPORTED, "graph is too large");
    for (size_t i = 0; i < gp->n_node; i++) TRY(add_node(im, rec, gp->node[i], (int)i));
    return add_outputs(g, gp);
}

static ember_status add_capture(capture_list *l, int node, int value)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        capture *c = realloc(l->v, (size_t)cap * sizeof *c);
        if (!c) return oom();
        l->v = c;
        l->cap = cap;
    }
    l->v[l->n++] = (capture){node, value};
    return EMBER_OK;
}

/* For every value a subgraph captures, the node holding that subgraph (at the level
 * where the value is found) depends on it. */
static ember_status collect_captures(importer *im)
{
    im->caps = calloc((size_t)im->n_recs, sizeof *im->caps);
    if (!im->caps) return oom();
    for (int r = 1; r < im->n_recs; r++) {
        const ember_graph *g = im->recs[r].g;
        for (int v = 0; v < g->n_values; v++) {
            if (!(g->values[v].flags & EMBER_VALUE_OUTER)) continue;
            for (int cur = r; im->recs[cur].parent >= 0; cur = im->recs[cur].parent) {
                int p = im->recs[cur].parent;
                int pv = ember_graph_find(im->recs[p].g, g->values[v].name);
                if (pv < 0) continue;
                TRY(add_capture(&im->caps[p], im->recs[cur].owner_node, pv));
                break;
            }
        }
    }
    return EMBER_OK;
}

static int cmp_capture(const void *a, const void *b)
{
    const capture *x = a, *y = b;
    if (x->node != y->node) return x->node < y->node ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

static int has_graph_attr(const ember_node *n)
{
    for (int a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].type == EMBER_ATTR_GRAPH) return 1;
    return 0;
}

/* Nodes holding subgraphs depend on the values their bodies capture: record them as
 * the node's implicit inputs so ordering, dead-code elimination and liveness see them. */
static ember_status sort_graph(importer *im, int rec)
{
    ember_graph *g = im->recs[rec].g;
    capture_list *l = &im->caps[rec];
    if (l->n > 1) qsort(l->v, (size_t)l->n, sizeof *l->v, cmp_capture);
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ember_node *n = &g->nodes[i];
        if (!has_graph_attr(n)) continue;
        while (c < l->n && l->v[c].node < i) c++;
        int start = c;
        while (c < l->n && l->v[c].node == i) c++;
        int k = c - start;
        if (!k) continue;
        int *imp = ember_arena_alloc(&g->arena, sizeof(int) * (size_t)k);
        if (!imp) return oom();
        for (int j = 0; j < k; j++) imp[j] = l->v[start + j].value;
        n->implicit = imp;
        n->n_implicit = k;
    }
    return ember_graph_toposort(g);
}

/* ember_op_lookup scans the op table; large graphs repeat a few op types, so remember
 * answers by (domain, op_type). */
#define OP_CACHE 1024
typedef struct op_cache {
    const char *domain[OP_CACHE], *op_type[OP_CACHE];
    int op[OP_CACHE];
    int used;
} op_cache;

static int cached_lookup(op_cache *c, const char *domain, const char *op_type)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *s = op_type; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    for (const char *s = domain; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    size_t k = h & (OP_CACHE - 1);
    while (c->op_type[k]) {
        if (strcmp(c->op_type[k], op_type) == 0 && strcmp(c->domain[k], domain) == 0)
            return c->op[k];
        k = (k + 1) & (OP_CACHE - 1);
    }
    int op = ember_op_lookup(domain, op_type);
    if (c->used < OP_CACHE / 2) {
        c->domain[k] = domain;
        c->op_type[k] = op_type;
        c->op[k] = op;
        c->used++;
    }
    return op;
}

typedef struct unsupported {
    const char *domain, *op_type, *node;
    int seq, opset, since;
} unsupported;

static int cmp_unsupported(const void *a, const void *b)
{
    const unsupported *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    if (!c) c = strcmp(x->op_type, y->op_type);
    if (!c) c = (x->seq > y->seq) - (x->seq < y->seq);
    return c;
}

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...) EMBER_PRINTF(4, 5);
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0) *len += (size_t)n;
    if (*len > cap) *len = cap;
}

/* One message for every unsupported op: "Foo (nodes 'a', 'b'), com.x.Bar (node 'c')". */
static ember_status report_unsupported(unsupported *u, int n)
{
    qsort(u, (size_t)n, sizeof *u, cmp_unsupported);
    char msg[1900];
    size_t len = 0;
    append(msg, sizeof msg, &len, "unsupported operator%s: ", n > 1 ? "s" : "");
    int groups = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && strcmp(u[j].domain, u[i].domain) == 0 &&
               strcmp(u[j].op_type, u[i].op_type) == 0)
            j++;
        if (len > 1500) {
            int rest = 1;
            for (int k = i + 1; k < n; k++)
                if (strcmp(u[k - 1].domain, u[k].domain) || strcmp(u[k - 1].op_type, u[k].op_type))
                    rest++;
            append(msg, sizeof msg, &len, ", and %d more operator%s", rest, rest > 1 ? "s" : "");
            break;
        }
        append(msg, sizeof msg, &len, "%s%s%s%s", groups ? ", " : "", u[i].domain,
               *u[i].domain ? "." : "", u[i].op_type);
        if (u[i].since)
            append(msg, sizeof msg, &len, " (needs opset %d, model has %d)", u[i].since,
                   u[i].opset);
        append(msg, sizeof msg, &len, " (node%s ", j - i > 1 ? "s" : "");
        for (int k = i; k < j && k < i + 4; k++)
            append(msg, sizeof msg, &len, "%s'%.80s'", k > i ? ", " : "", u[k].node);
        if (j - i > 4) append(msg, sizeof msg, &len, " and %d more", j - i - 4);
        append(msg, sizeof msg, &len, ")");
        groups++;
        i = j;
    }
    return ember_error(EMBER_E_UNSUPPORTED, "%s", msg);
}

static ember_status resolve_ops(importer *im)
{
    op_cache *cache = calloc(1, sizeof *cache);
    unsupported *u = NULL;
    size_t nu = 0, cap = 0;
    ember_status st = EMBER_OK;
    if (!cache) return oom();
    for (int r = 0; r < im->n_recs && st == EMBER_OK; r++) {
        ember_graph *g = im->recs[r].g;
        for (int i = 0; i < g->n_nodes; i++) {
            ember_node *n = &g->nodes[i];
            int op = cached_lookup(cache, n->domain, n->op_type);
            int since = op >= 0 ? ember_op_table[op].since : 0;
            if (op >= 0 && n->opset >= since) {
                n->op = op;
                continue;
            }
            if (grow((void **)&u, &cap, nu + 1, sizeof *u)) {
                st = oom();
                break;
            }
            u[nu] = (unsupported){n->domain, n->op_type, n->name, (int)nu, n->opset,
                                  op >= 0 ? since : 0};
            nu++;
        }
    }
    if (st == EMBER_OK && nu) st = report_unsupported(u, (int)nu);
    for (int r = 0; r < im->n_recs && st == EMBER_OK; r++) {
        ember_graph *g = im->recs[r].g;
        for (int i = 0; i < g->n_nodes && st == EMBER_OK; i++)
            st = ember_op_check_attrs(&g->nodes[i]);
    }
    free(u);
    free(cache);
    return st;
}

static ember_status fill_meta(const Onnx__ModelProto *mp, ember_graph *g, ember_model_meta *meta)
{
    size_t cap = 5 + mp->n_metadata_props;
    const char **keys = ember_arena_alloc(&g->arena, cap * sizeof *keys);
    const char **vals = ember_arena_alloc(&g->arena, cap * sizeof *vals);
    if (!keys || !vals) return oom();
    int n = 0;
    char version[32];
    snprintf(version, sizeof version, "%lld", (long long)mp->model_version);
    const char *fixed[5][2] = {{"producer_name", mp->producer_name},
                               {"producer_version", mp->producer_version},
                               {"domain", mp->domain},
                               {"model_version", mp->has_model_version ? version : NULL},
                               {"doc_string", mp->doc_string}};
    for (int i = 0; i < 5; i++) {
        if (!fixed[i][1] || !*fixed[i][1]) continue;
        keys[n] = fixed[i][0];
        vals[n] = ember_arena_strdup(&g->arena, fixed[i][1]);
        if (!vals[n++]) return oom();
    }
    for (size_t i = 0; i < mp->n_metadata_props; i++) {
        keys[n] = ember_arena_strdup(&g->arena, str_or_empty(mp->metadata_props[i]->key));
        vals[n] = ember_arena_strdup(&g->arena, str_or_empty(mp->metadata_props[i]->value));
        if (!keys[n] || !vals[n]) return oom();
        n++;
    }
    meta->ir_version = mp->ir_version;
    meta->n = n;
    meta->keys = keys;
    meta->values = vals;
    return EMBER_OK;
}

/* Errors inside a subgraph say which one. */
static ember_status where(const importer *im, int r, ember_status st)
{
    if (st == EMBER_OK || r == 0 || st == EMBER_E_NO_MEMORY) return st;
    const build_rec *b = &im->recs[r];
    return ember_error_prefix(st, "in %s of node '%s'", b->attr_name ? b->attr_name : "a subgraph",
                              b->owner_name ? b->owner_name : "?");
}

static ember_status import(importer *im, const Onnx__ModelProto *mp, ember_graph **out,
                           ember_model_meta *meta)
{
    if (!mp->has_ir_version || mp->ir_version < 3)
        return ember_error(EMBER_E_UNSUPPORTED, "model has IR version %lld; Ember reads IR "
                           "version 3 and later", (long long)mp->ir_version);
    TRY(read_opsets(im, mp));
    if (!mp->graph) return ember_error(EMBER_E_INVALID_MODEL, "model has no graph");
    ember_graph *root = ember_graph_new(NULL);
    if (!root) return oom();
    *out = root;
    root->opset = (int)im->default_opset;
    TRY(push_rec(im, mp->graph, root, -1, -1, 0));
    /* recs grows while this runs: graph attributes queue their bodies */
    for (int r = 0; r < im->n_recs; r++) TRY(where(im, r, build_graph(im, r)));
    TRY(resolve_ops(im));
    TRY(collect_captures(im));
    for (int r = 0; r < im->n_recs; r++) TRY(where(im, r, sort_graph(im, r)));
    if (meta) TRY(fill_meta(mp, root, meta));
    return EMBER_OK;
}

ember_status ember_onnx_import(const void *data, size_t size, const char *base_dir,
                               ember_graph **graph, ember_model_meta *meta)
{
    return ember_onnx_import_ex(data, size, base_dir, 0, graph, meta);
}

ember_status ember_onnx_import_ex(const void *data, size_t size, const char *base_dir, unsigned flags,
                                  ember_graph **graph, ember_model_meta *meta)
{
    if (graph) *graph = NULL;
    if (meta) memset(meta, 0, sizeof *meta);
    if (!graph) return ember_error(EMBER_E_INVALID_ARG, "ember_onnx_import: graph is NULL");
    ProtobufCMessage *m;
    onnx_stripped strip;
    int stripped = onnx_strip_raw(data, size, &strip);
    ember_status ust = stripped ? onnx_unpack(&onnx__model_proto__descriptor, strip.bytes, strip.size, &m)
                                : onnx_unpack(&onnx__model_proto__descriptor, data, size, &m);
    if (ust != EMBER_OK) {
        if (stripped) onnx_stripped_free(&strip);
        return ust;
    }
    importer im = {0};
    im.base_dir = base_dir;
    if (stripped) {
        im.root_gp = ((const Onnx__ModelProto *)m)->graph;
        im.raw = strip.raw;
        im.n_raw = strip.n_raw;
        im.drop_source = (flags & EMBER_ONNX_DROP_SOURCE) != 0;
    }
    ember_graph *g = NULL;
    onnx_external_id = 0;
    ember_status st = import(&im, (const Onnx__ModelProto *)m, &g, meta);
    if (st == EMBER_OK && meta) meta->external_id = onnx_external_id;
    if (st != EMBER_OK) {
        ember_graph_free(g);
        g = NULL;
        if (meta) memset(meta, 0, sizeof *meta);
    }
    if (im.caps)
        for (int r = 0; r < im.n_recs; r++) free(im.caps[r].v);
    free(im.caps);
    free(im.recs);
    free(im.opsets);
    free(im.ibuf);
    free(im.obuf);
    free(im.abuf);
    protobuf_c_message_free_unpacked(m, NULL);
    if (stripped) onnx_stripped_free(&strip);
    *graph = g;
    return st;
}
