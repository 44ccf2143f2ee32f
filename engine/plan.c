/* Static memory planner: liveness over the node order, in-place sharing, then offsets by
 * greedy-by-size (the TFLite Micro / Pisarchyk & Lee idea: big buffers first, each at
 * the lowest gap left by the already placed buffers whose lifetimes intersect its own).
 *
 * Greedy-by-size is quadratic when done naively (every buffer scans every placed one). Here
 * the placed buffers are kept in a max-tree over "position in order of first step" holding
 * their last step, so the placed buffers intersecting [first, last] are found in
 * O((k + 1) log n) for k of them: a chain of 200,000 nodes costs a few neighbours per
 * buffer. When lifetimes overlap so densely that the number of intersecting pairs exceeds
 * a budget (everything kept live for a subgraph, say), a sweep in step order with a
 * first-fit free list takes over: its scans are bounded by the live set, not by the pairs'
 * log factor and sorting, at the price of a looser arena. */
#include "plan.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/op.h"
#include "status.h"

/* Greedy-by-size does work per pair of buffers whose lifetimes intersect; past this many
 * (plus a few per buffer) the sweep plans instead, so no graph takes long to plan. */
#define PAIR_BUDGET ((int64_t)8 << 20)
/* Up to this many, plans that miss the lower bound are retried with other orders. */
#define RETRY_PAIR_BUDGET ((int64_t)2 << 20)
/* A single tensor beyond this is surely a shape bug, and the cap keeps offset sums exact. */
#define MAX_TENSOR_BYTES ((size_t)1 << 48)

typedef struct buf {
    size_t size; /* aligned */
    int first, last;
    int value;   /* the value owning the buffer */
} buf;

typedef struct placed {
    int64_t off;
    int64_t end;
} placed;

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

static void plan_zero(ember_plan *p) { memset(p, 0, sizeof *p); }

void ember_plan_free(ember_plan *p)
{
    if (!p) return;
    free(p->offset);
    free(p->size);
    free(p->first);
    free(p->last);
    free(p->alias_of);
    free(p->view);
    free(p->part_of);
    plan_zero(p);
}

/* Ops whose output 0 is input 0's bytes under another shape. */
static bool is_view_op(int op)
{
    return op == EMBER_OP_RESHAPE || op == EMBER_OP_FLATTEN || op == EMBER_OP_SQUEEZE ||
           op == EMBER_OP_UNSQUEEZE || op == EMBER_OP_IDENTITY;
}

static bool in_arena_kind(const ember_value *v)
{
    return !(v->flags & (EMBER_VALUE_INPUT | EMBER_VALUE_OUTPUT | EMBER_VALUE_CONST | EMBER_VALUE_OUTER));
}

/* Bytes of a value whose shape is fully known; refuses anything the arena cannot size. */
static ember_status value_bytes(const ember_graph *g, int v, const ember_node *prod, size_t *out)
{
    const ember_value *val = &g->values[v];
    int64_t numel = ember_shape_numel(&val->shape);
    if (numel < 0) {
        char sh[160];
        ember_shape_format(g, &val->shape, sh, sizeof sh);
        return ember_error(EMBER_E_UNSUPPORTED,
                           "cannot plan memory: tensor '%s' (output of node '%s' (%s)) has shape %s; "
                           "bind the input shapes and infer before planning",
                           val->name, prod->name, prod->op_type, sh);
    }
    size_t es = ember_dtype_size(val->dtype);
    if (es == 0)
        return ember_error(EMBER_E_UNSUPPORTED,
                           "cannot plan memory: tensor '%s' (output of node '%s' (%s)) has dtype %s, "
                           "which has no fixed element size",
                           val->name, prod->name, prod->op_type, ember_dtype_name(val->dtype));
    if ((uint64_t)numel > MAX_TENSOR_BYTES / es)
        return ember_error(EMBER_E_UNSUPPORTED,
                           "cannot plan memory: tensor '%s' (output of node '%s' (%s)) would take "
                           "%lld elements of %zu bytes",
                           val->name, prod->name, prod->op_type, (long long)numel, es);
    *out = (size_t)numel * es;
    return EMBER_OK;
}

/* Marks values of g that some subgraph (at any depth) reads by name. */
static ember_status mark_captured(const ember_graph *g, unsigned char *captured)
{
    int cap = 16, top = 0;
    const ember_graph **stack = malloc((size_t)cap * sizeof *stack);
    if (!stack) return ember_error(EMBER_E_NO_MEMORY, "out of memory planning memory");
    stack[top++] = g;
    while (top > 0) {
        const ember_graph *s = stack[--top];
        for (int v = 0; s != g && v < s->n_values; v++) {
            if (!(s->values[v].flags & EMBER_VALUE_OUTER)) continue;
            int ov = ember_graph_find(g, s->values[v].name);
            if (ov >= 0) captured[ov] = 1;
        }
        if (top + s->n_subgraphs > cap) {
            while (top + s->n_subgraphs > cap) cap *= 2;
            const ember_graph **ns = realloc(stack, (size_t)cap * sizeof *ns);
            if (!ns) {
                free(stack);
                return ember_error(EMBER_E_NO_MEMORY, "out of memory planning memory");
            }
            stack = ns;
        }
        for (int i = 0; i < s->n_subgraphs; i++) stack[top++] = s->subgraphs[i];
    }
    free(stack);
    return EMBER_OK;
}

/* Marks Concat outputs whose inputs can be planned into their slices (see plan.h). */
static void mark_concat_parts(const ember_graph *g, ember_plan *p, const unsigned char *captured, int64_t *part_off)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ember_node *n = &g->nodes[i];
        if (n->op != EMBER_OP_CONCAT || n->n_outputs != 1 || n->n_inputs < 1) continue;
        int c = n->outputs[0];
        if (c < 0 || p->first[c] != i || captured[c] || p->part_of[c] >= 0) continue;
        const ember_shape *cs = &g->values[c].shape;
        int64_t axis = ember_attr_int(n, "axis", 0);
        if (axis < 0) axis += cs->rank;
        if (axis < 0 || axis >= cs->rank) continue;
        bool ok = true;
        for (int k = 0; k < axis; k++) ok &= cs->dims[k] == 1;
        int64_t at = 0;
        for (int k = 0; k < n->n_inputs && ok; k++) {
            int u = n->inputs[k];
            ok = u >= 0 && p->first[u] >= 0 && !captured[u] && p->part_of[u] < 0 && p->view[u] != 2 &&
                 p->size[u] % p->align == 0 && g->values[u].dtype == g->values[c].dtype;
            for (int j = 0; j < k && ok; j++) ok = n->inputs[j] != u;
            /* Each part written by its producer's output 0 and nothing else ahead of it. */
            ok = ok && !is_view_op(g->nodes[p->first[u]].op);
            at += ok ? (int64_t)p->size[u] : 0;
        }
        if (!ok || (size_t)at != p->size[c]) continue;
        at = 0;
        for (int k = 0; k < n->n_inputs; k++) {
            int u = n->inputs[k];
            p->part_of[u] = c;
            part_off[u] = at;
            at += (int64_t)p->size[u];
        }
        p->view[c] = 2;
    }
}

/* ---- orderings (over buf records directly: qsort has no context argument) ---- */

static int cmp_by_size(const void *a, const void *b)
{
    const buf *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    int lx = x->last - x->first, ly = y->last - y->first;
    if (lx != ly) return lx > ly ? -1 : 1;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

/* Size times lifetime: the buffers that block the most of the time-by-offset plane. */
static int cmp_by_area(const void *a, const void *b)
{
    const buf *x = a, *y = b;
    double ax = (double)x->size * (x->last - x->first + 1), ay = (double)y->size * (y->last - y->first + 1);
    if (ax != ay) return ax > ay ? -1 : 1;
    return cmp_by_size(a, b);
}

static int cmp_by_length(const void *a, const void *b)
{
    const buf *x = a, *y = b;
    int lx = x->last - x->first, ly = y->last - y->first;
    if (lx != ly) return lx > ly ? -1 : 1;
    return cmp_by_size(a, b);
}

static int cmp_by_first(const void *a, const void *b)
{
    const buf *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return cmp_by_size(a, b);
}

static int cmp_by_last(const void *a, const void *b)
{
    const buf *x = a, *y = b;
    if (x->last != y->last) return x->last < y->last ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_placed(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* idx[i] = position in b of the i-th buffer of b ordered by cmp (tmp: nb records). */
static void order_by(const buf *b, int nb, const int *buf_of, buf *tmp, int *idx,
                     int (*cmp)(const void *, const void *))
{
    memcpy(tmp, b, (size_t)nb * sizeof *tmp);
    qsort(tmp, (size_t)nb, sizeof *tmp, cmp);
    for (int i = 0; i < nb; i++) idx[i] = buf_of[tmp[i].value];
}

/* First index in sorted a[0..n) with a[i] > x (upper) or a[i] >= x (lower). */
static int bound(const int *a, int n, int x, bool upper)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (upper ? a[mid] <= x : a[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Number of unordered pairs of buffers whose lifetimes intersect (b sorted by first). */
static int64_t count_pairs(const buf *b, int nb, int *firsts, int *lasts)
{
    for (int i = 0; i < nb; i++) {
        firsts[i] = b[i].first;
        lasts[i] = b[i].last;
    }
    qsort(lasts, (size_t)nb, sizeof *lasts, cmp_int);
    int64_t total = 0;
    for (int i = 0; i < nb; i++)
        total += bound(firsts, nb, b[i].last, true) - bound(lasts, nb, b[i].first, false) - 1;
    return total / 2;
}

/* ---- greedy by size ---- */

/* The buffers are sorted by first step, so a buffer's index is its leaf in the tree and
 * "first <= last of x" is a prefix of the leaves. */
typedef struct greedy_ctx {
    const buf *b;
    int nb;
    const int *order;   /* placement order */
    const int *firsts;  /* b[i].first, ascending */
    int cap;            /* leaves (power of two) */
    int *tree;          /* max last step of the placed buffers below; -1 = none */
    placed *cand;
    int cand_cap;
} greedy_ctx;

static bool cand_push(greedy_ctx *c, int *nc, int64_t off, size_t size)
{
    if (*nc == c->cand_cap) {
        int ncap = c->cand_cap ? c->cand_cap * 2 : 64;
        placed *p = realloc(c->cand, (size_t)ncap * sizeof *p);
        if (!p) return false;
        c->cand = p;
        c->cand_cap = ncap;
    }
    c->cand[(*nc)++] = (placed){off, off + (int64_t)size};
    return true;
}

/* Collects into c->cand every placed buffer whose lifetime meets x's: the leaves in
 * [0, hi) (first <= x->last) whose last >= x->first. The prefix splits into at most
 * log2(cap) whole subtrees; a subtree is entered only when it holds a hit, so the cost is
 * O((k + 1) log n). Returns the count, -1 when out of memory. */
static int overlapping(greedy_ctx *c, const buf *x, const int64_t *off)
{
    int hi = bound(c->firsts, c->nb, x->last, true);
    int nc = 0, sp = 0, stack[128];
    const int *t = c->tree;
    for (int l = c->cap, r = c->cap + hi; l < r; l >>= 1, r >>= 1) {
        if (l & 1) stack[sp++] = l++;
        if (r & 1) stack[sp++] = --r;
    }
    while (sp > 0) {
        int node = stack[--sp];
        if (t[node] < x->first) continue;
        while (node < c->cap) {
            int l = 2 * node, r = l + 1;
            bool hl = t[l] >= x->first, hr = t[r] >= x->first;
            if (hl && hr) stack[sp++] = r;
            node = hl ? l : r;
        }
        int leaf = node - c->cap;
        if (!cand_push(c, &nc, off[leaf], c->b[leaf].size)) return -1;
    }
    return nc;
}

/* Few candidates is the rule (neighbours in a chain): insertion sort beats qsort there. */
static void sort_placed(placed *a, int n)
{
    if (n > 16) {
        qsort(a, (size_t)n, sizeof *a, cmp_placed);
        return;
    }
    for (int i = 1; i < n; i++) {
        placed x = a[i];
        int j = i;
        for (; j > 0 && cmp_placed(&a[j - 1], &x) > 0; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

/* Places every buffer, in c->order, at the lowest offset clear of the placed buffers whose
 * lifetimes meet its own. */
static ember_status greedy(greedy_ctx *c, int64_t *off, size_t *arena)
{
    for (int i = 0; i < 2 * c->cap; i++) c->tree[i] = -1;
    size_t top = 0;
    for (int k = 0; k < c->nb; k++) {
        int bi = c->order[k];
        const buf *x = &c->b[bi];
        if (x->size == 0) {
            off[bi] = 0;
            continue;
        }
        int nc = overlapping(c, x, off);
        if (nc < 0) return ember_error(EMBER_E_NO_MEMORY, "out of memory planning memory");
        sort_placed(c->cand, nc);
        int64_t cur = 0, need = (int64_t)x->size;
        for (int j = 0; j < nc && c->cand[j].off - cur < need; j++)
            if (c->cand[j].end > cur) cur = c->cand[j].end;
        off[bi] = cur;
        if ((size_t)cur + x->size > top) top = (size_t)cur + x->size;
        int leaf = c->cap + bi;
        c->tree[leaf] = x->last;
        for (leaf >>= 1; leaf; leaf >>= 1)
            c->tree[leaf] = c->tree[2 * leaf] > c->tree[2 * leaf + 1] ? c->tree[2 * leaf] : c->tree[2 * leaf + 1];
    }
    *arena = top;
    return EMBER_OK;
}

/* ---- sweep with a free list (dense lifetimes) ---- */

static ember_status sweep(const buf *b, int nb, const int *by_last, int64_t *off, size_t *arena)
{
    /* Holes below the break, sorted by offset, never adjacent to each other or the break. */
    int nf = 0, cap = 64;
    placed *hole = malloc((size_t)cap * sizeof *hole);
    if (!hole) return ember_error(EMBER_E_NO_MEMORY, "out of memory planning memory");
    int64_t brk = 0, high = 0;
    int j = 0;
    for (int k = 0; k < nb; k++) {
        const buf *x = &b[k];
        for (; j < nb && b[by_last[j]].last < x->first; j++) {
            const buf *y = &b[by_last[j]];
            if (y->size == 0) continue;
            int64_t o = off[by_last[j]], e = o + (int64_t)y->size;
            int at = 0;
            while (at < nf && hole[at].off < o) at++;
            bool join_prev = at > 0 && hole[at - 1].end == o;
            bool join_next = at < nf && hole[at].off == e;
            if (join_prev && join_next) {
                hole[at - 1].end = hole[at].end;
                memmove(&hole[at], &hole[at + 1], (size_t)(nf - at - 1) * sizeof *hole);
                nf--;
                at--;
            } else if (join_prev) {
                hole[--at].end = e;
            } else if (join_next) {
                hole[at].off = o;
            } else {
                if (nf == cap) {
                    placed *h = realloc(hole, (size_t)cap * 2 * sizeof *h);
                    if (!h) {
                        free(hole);
                        return ember_error(EMBER_E_NO_MEMORY, "out of memory planning memory");
                    }
                    hole = h;
                    cap *= 2;
                }
                memmove(&hole[at + 1], &hole[at], (size_t)(nf - at) * sizeof *hole);
                hole[at] = (placed){o, e};
                nf++;
            }
            if (hole[at].end == brk) {
                brk = hole[at].off;
                nf--;
            }
        }
        if (x->size == 0) {
            off[k] = 0;
            continue;
        }
        int64_t need = (int64_t)x->size;
        int h = 0;
        while (h < nf && hole[h].end - hole[h].off < need) h++;
        if (h < nf) {
            off[k] = hole[h].off;
            hole[h].off += need;
            if (hole[h].off == hole[h].end) {
                memmove(&hole[h], &hole[h + 1], (size_t)(nf - h - 1) * sizeof *hole);
                nf--;
            }
        } else {
            off[k] = brk;
            brk += need;
            if (brk > high) high = brk;
        }
    }
    free(hole);
    *arena = (size_t)high;
    return EMBER_OK;
}

/* ---- the planner ---- */

ember_status ember_plan_memory(const ember_graph *g, ember_inplace_fn inplace_ok, void *ctx, ember_plan *out)
{
    if (!out) return ember_error(EMBER_E_INVALID_ARG, "ember_plan_memory: plan pointer is NULL");
    plan_zero(out);
    if (!g) return ember_error(EMBER_E_INVALID_ARG, "ember_plan_memory: graph is NULL");
    ember_status st = EMBER_OK;
    int nv = g->n_values, nn = g->n_nodes;
    size_t nva = (size_t)(nv ? nv : 1);
    ember_plan p = {.align = EMBER_PLAN_ALIGN, .n_values = nv};
    p.offset = malloc(nva * sizeof *p.offset);
    p.size = calloc(nva, sizeof *p.size);
    p.first = malloc(nva * sizeof *p.first);
    p.last = malloc(nva * sizeof *p.last);
    p.alias_of = malloc(nva * sizeof *p.alias_of);
    p.view = calloc(nva, 1);
    p.part_of = malloc(nva * sizeof *p.part_of);
    int64_t *part_off = malloc(nva * sizeof *part_off);
    unsigned char *captured = calloc(nva, 1);
    int *buf_of = malloc(nva * sizeof *buf_of);     /* value -> buffer index, -1 */
    int *claimed = malloc(nva * sizeof *claimed);   /* buffer owner -> step it was last shared */
    buf *b = NULL, *tmp = NULL;
    int *ord = NULL;
    int64_t *off = NULL, *off2 = NULL, *live = NULL;
    greedy_ctx gc = {0};
    if (!p.offset || !p.size || !p.first || !p.last || !p.alias_of || !p.view || !p.part_of || !part_off || !captured ||
        !buf_of || !claimed)
        goto oom;
    for (int v = 0; v < nv; v++) {
        p.offset[v] = -1;
        p.first[v] = p.last[v] = p.alias_of[v] = p.part_of[v] = -1;
        buf_of[v] = -1;
        claimed[v] = -1;
        const ember_value *val = &g->values[v];
        int64_t numel = ember_shape_numel(&val->shape);
        size_t es = ember_dtype_size(val->dtype);
        if (numel >= 0 && es && (uint64_t)numel <= MAX_TENSOR_BYTES / es) p.size[v] = (size_t)numel * es;
    }

    /* Liveness: producer step, then last reader. */
    for (int i = 0; i < nn; i++) {
        const ember_node *n = &g->nodes[i];
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0) continue;
            if (v >= nv) {
                st = ember_error(EMBER_E_INVALID_ARG, "node '%s' (%s) writes value %d of %d", n->name,
                                 n->op_type, v, nv);
                goto fail;
            }
            if (!in_arena_kind(&g->values[v])) continue;
            if (p.first[v] >= 0) {
                st = ember_error(EMBER_E_INVALID_ARG, "tensor '%s' is written by nodes '%s' and '%s'",
                                 g->values[v].name, g->nodes[p.first[v]].name, n->name);
                goto fail;
            }
            st = value_bytes(g, v, n, &p.size[v]);
            if (st != EMBER_OK) goto fail;
            p.first[v] = p.last[v] = i;
        }
    }
    for (int i = 0; i < nn; i++) {
        const ember_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            if (v < 0) continue;
            if (v >= nv) {
                st = ember_error(EMBER_E_INVALID_ARG, "node '%s' (%s) reads value %d of %d", n->name,
                                 n->op_type, v, nv);
                goto fail;
            }
            if (p.first[v] < 0) continue;
            if (p.first[v] >= i) {
                st = ember_error(EMBER_E_INVALID_ARG,
                                 "node '%s' (%s) reads tensor '%s' before node '%s' writes it: "
                                 "the nodes are not in topological order",
                                 n->name, n->op_type, g->values[v].name, g->nodes[p.first[v]].name);
                goto fail;
            }
            if (i > p.last[v]) p.last[v] = i;
        }
    }
    st = mark_captured(g, captured);
    if (st != EMBER_OK) goto fail;
    for (int v = 0; v < nv; v++)
        if (captured[v] && p.first[v] >= 0) p.last[v] = nn - 1;

    mark_concat_parts(g, &p, captured, part_off);

    /* Buffers, with in-place sharing decided in step order so chains form naturally. */
    int nb = 0;
    b = malloc(nva * sizeof *b);
    if (!b) goto oom;
    size_t total = 0;
    for (int i = 0; i < nn; i++) {
        const ember_node *n = &g->nodes[i];
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0 || p.first[v] != i || p.part_of[v] >= 0) continue; /* a part: planned with its Concat */
            int u0 = o == 0 && n->n_inputs >= 1 ? n->inputs[0] : -1;
            if (u0 >= 0 && is_view_op(n->op) && buf_of[u0] >= 0 && p.size[u0] == p.size[v]) {
                buf_of[v] = buf_of[u0];
                p.alias_of[v] = b[buf_of[u0]].value;
                p.view[v] = 1;
                if (p.last[v] > b[buf_of[v]].last) b[buf_of[v]].last = p.last[v];
                continue;
            }
            if (inplace_ok && p.view[v] != 2) {
                for (int k = 0; k < n->n_inputs; k++) {
                    int u = n->inputs[k];
                    /* The whole buffer must die here: a view of u may outlive u. */
                    if (u < 0 || buf_of[u] < 0 || captured[u] || b[buf_of[u]].last != i) continue;
                    if (p.size[u] != p.size[v]) continue;
                    int owner = b[buf_of[u]].value;
                    if (claimed[owner] == i || !inplace_ok(ctx, n, k, o)) continue;
                    claimed[owner] = i;
                    buf_of[v] = buf_of[u];
                    p.alias_of[v] = owner;
                    if (p.last[v] > b[buf_of[v]].last) b[buf_of[v]].last = p.last[v];
                    break;
                }
                if (buf_of[v] >= 0) continue;
            }
            size_t sz = align_up(p.size[v], p.align);
            if (sz > SIZE_MAX / 4 - total) {
                st = ember_error(EMBER_E_UNSUPPORTED, "cannot plan memory: intermediates exceed %zu bytes "
                                 "at tensor '%s'", SIZE_MAX / 4, g->values[v].name);
                goto fail;
            }
            total += sz;
            buf_of[v] = nb;
            b[nb++] = (buf){sz, p.first[v], p.last[v], v};
            if (p.view[v] == 2) /* the parts are written into this buffer before it is "produced" */
                for (int k = 0; k < n->n_inputs; k++) {
                    int u = n->inputs[k];
                    if (p.first[u] < b[nb - 1].first) b[nb - 1].first = p.first[u];
                    if (p.last[u] > b[nb - 1].last) b[nb - 1].last = p.last[u];
                }
        }
    }

    /* Lower bound: bytes live at each step, a shared buffer once over its whole chain. */
    live = calloc((size_t)nn + 1, sizeof *live);
    off = malloc((size_t)(nb ? nb : 1) * sizeof *off);
    ord = malloc((size_t)(nb ? nb : 1) * 3 * sizeof *ord);
    tmp = malloc((size_t)(nb ? nb : 1) * sizeof *tmp);
    if (!live || !off || !ord || !tmp) goto oom;
    for (int i = 0; i < nb; i++) {
        live[b[i].first] += (int64_t)b[i].size;
        live[b[i].last + 1] -= (int64_t)b[i].size;
    }
    int64_t run = 0, peak = 0;
    for (int i = 0; i < nn; i++) {
        run += live[i];
        if (run > peak) peak = run;
    }
    p.lower_bound = (size_t)peak;

    /* Buffers in order of first step from here on (the tree's leaf order). */
    qsort(b, (size_t)nb, sizeof *b, cmp_by_first);
    for (int i = 0; i < nb; i++) buf_of[b[i].value] = i;
    for (int v = 0; v < nv; v++)
        if (p.alias_of[v] >= 0) buf_of[v] = buf_of[p.alias_of[v]];
    int *order = ord, *firsts = ord + nb, *lasts = ord + 2 * (size_t)nb;
    int64_t pairs = count_pairs(b, nb, firsts, lasts);
    if (pairs > PAIR_BUDGET + 16 * (int64_t)nb) {
        order_by(b, nb, buf_of, tmp, order, cmp_by_last);
        st = sweep(b, nb, order, off, &p.arena_bytes);
        if (st != EMBER_OK) goto fail;
    } else {
        gc.b = b;
        gc.nb = nb;
        gc.order = order;
        gc.firsts = firsts;
        gc.cap = 1;
        while (gc.cap < nb) gc.cap *= 2;
        gc.tree = malloc((size_t)gc.cap * 2 * sizeof *gc.tree);
        off2 = malloc((size_t)(nb ? nb : 1) * sizeof *off2);
        if (!gc.tree || !off2) goto oom;
        /* Greedy by size usually meets the bound (then it is optimal); when it does not,
         * placing by size x lifetime or by lifetime sometimes packs tighter (on random
         * DAGs: worst case 1.133 -> 1.109 of the bound): keep the smallest arena. */
        static int (*const orders[])(const void *, const void *) = {cmp_by_size, cmp_by_area,
                                                                      cmp_by_length};
        int tries = pairs <= RETRY_PAIR_BUDGET ? (int)(sizeof orders / sizeof *orders) : 1;
        size_t a1 = SIZE_MAX;
        for (int k = 0; k < tries && a1 > p.lower_bound; k++) {
            size_t a2 = 0;
            order_by(b, nb, buf_of, tmp, order, orders[k]);
            st = greedy(&gc, off2, &a2);
            if (st != EMBER_OK) goto fail;
            if (a2 < a1) {
                int64_t *sw = off;
                off = off2;
                off2 = sw;
                a1 = a2;
            }
        }
        p.arena_bytes = a1;
    }
    for (int v = 0; v < nv; v++) {
        if (buf_of[v] < 0) continue;
        p.offset[v] = off[buf_of[v]];
        p.size[v] = b[buf_of[v]].size;
    }
    for (int v = 0; v < nv; v++) /* parts' sizes are multiples of the alignment already */
        if (p.part_of[v] >= 0) p.offset[v] = p.offset[p.part_of[v]] + part_off[v];
    *out = p;
    goto done;
oom:
    st = ember_error(EMBER_E_NO_MEMORY, "out of memory planning memory for %d tensors", nv);
fail:
    ember_plan_free(&p);
done:
    free(part_off);
    free(captured);
    free(buf_of);
    free(claimed);
    free(b);
    free(tmp);
    free(ord);
    free(off);
    free(off2);
    free(live);
    free(gc.tree);
    free(gc.cand);
    return st;
}
