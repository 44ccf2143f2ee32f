/* Checking and describing a memory plan. The check trusts nothing the planner computed
 * except the plan itself: lifetimes are re-derived from the graph, and overlaps are found
 * with a sweep over steps that keeps the live buffers in a max-tree over their offsets
 * (O(n log n) however densely lifetimes overlap). */
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "status.h"

typedef struct group {
    int64_t off, end;
    int first, last;
    int value; /* the value owning the buffer */
} group;

static bool caller_owned(const ember_value *v)
{
    return v->flags & (EMBER_VALUE_INPUT | EMBER_VALUE_OUTPUT | EMBER_VALUE_CONST | EMBER_VALUE_OUTER);
}

/* Every value's own facts: placement, alignment, alias consistency, lifetime vs graph. */
static ember_status check_values(const ember_graph *g, const ember_plan *p, int *producer)
{
    int nv = g->n_values, nn = g->n_nodes;
    for (int v = 0; v < nv; v++) producer[v] = -1;
    for (int i = 0; i < nn; i++)
        for (int o = 0; o < g->nodes[i].n_outputs; o++) {
            int v = g->nodes[i].outputs[o];
            if (v >= 0 && v < nv && producer[v] < 0) producer[v] = i;
        }
    for (int v = 0; v < nv; v++) {
        const char *name = g->values[v].name;
        if (p->offset[v] < 0) {
            if (producer[v] >= 0 && !caller_owned(&g->values[v]))
                return ember_error(EMBER_E_INTERNAL, "plan: intermediate tensor '%s' has no place in the arena", name);
            if (p->alias_of[v] >= 0)
                return ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' is not in the arena but aliases '%s'",
                                   name, p->alias_of[v] < nv ? g->values[p->alias_of[v]].name : "?");
            continue;
        }
        if (caller_owned(&g->values[v]) || producer[v] < 0)
            return ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' is caller-owned or never produced, "
                               "yet has arena offset %lld", name, (long long)p->offset[v]);
        if ((uint64_t)p->offset[v] > p->arena_bytes || p->size[v] > p->arena_bytes - (size_t)p->offset[v])
            return ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' at [%lld, +%zu) does not fit the %zu-byte arena",
                               name, (long long)p->offset[v], p->size[v], p->arena_bytes);
        if (p->align && ((size_t)p->offset[v] % p->align || p->size[v] % p->align))
            return ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' at [%lld, +%zu) is not %zu-byte aligned",
                               name, (long long)p->offset[v], p->size[v], p->align);
        size_t es = ember_dtype_size(g->values[v].dtype);
        int64_t numel = ember_shape_numel(&g->values[v].shape);
        if (numel < 0 || !es || (uint64_t)numel > p->size[v] / es)
            return ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' needs more than its %zu planned bytes",
                               name, p->size[v]);
        if (p->first[v] != producer[v] || p->last[v] < p->first[v] || p->last[v] >= nn)
            return ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' is produced at step %d but planned live "
                               "over steps [%d, %d]", name, producer[v], p->first[v], p->last[v]);
        int r = p->alias_of[v];
        if (r >= 0) {
            if (r >= nv || r == v || p->alias_of[r] >= 0 || p->offset[r] != p->offset[v] || p->size[r] != p->size[v])
                return ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' claims to share the buffer of '%s', "
                                   "which does not own a buffer at the same place and size",
                                   name, r < nv ? g->values[r].name : "?");
        }
    }
    for (int i = 0; i < nn; i++) {
        const ember_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            if (v < 0 || v >= nv || p->offset[v] < 0) continue;
            if (i <= p->first[v] || i > p->last[v])
                return ember_error(EMBER_E_INTERNAL, "plan: node '%s' (%s) reads tensor '%s' at step %d, outside "
                                   "its planned lifetime [%d, %d]", n->name, n->op_type,
                                   g->values[v].name, i, p->first[v], p->last[v]);
        }
    }
    return EMBER_OK;
}

/* View v (of the buffer owned by r) is made by a one-output node reading a value of that
 * buffer as input 0. */
static bool view_of_group(const ember_graph *g, const ember_plan *p, int v, int r)
{
    int prod = p->first[v];
    if (prod < 0 || prod >= g->n_nodes) return false;
    const ember_node *n = &g->nodes[prod];
    if (n->n_inputs < 1 || n->inputs[0] < 0 || n->outputs[0] != v) return false;
    int u = n->inputs[0];
    return p->offset[u] == p->offset[v] && (u == r || p->alias_of[u] == r);
}

/* Part v of Concat output r: r's node reads v, and v's bytes lie inside r's. */
static bool part_of_group(const ember_graph *g, const ember_plan *p, int v, int r)
{
    int prod = p->first[r];
    if (prod < 0 || prod >= g->n_nodes || p->offset[r] < 0) return false;
    const ember_node *n = &g->nodes[prod];
    bool reads = false;
    for (int k = 0; k < n->n_inputs; k++) reads |= n->inputs[k] == v;
    return reads && p->offset[v] >= p->offset[r] &&
           p->offset[v] + (int64_t)p->size[v] <= p->offset[r] + (int64_t)p->size[r];
}

typedef struct member {
    int owner, first, value;
} member;

static int cmp_member(const void *a, const void *b)
{
    const member *x = a, *y = b;
    if (x->owner != y->owner) return x->owner < y->owner ? -1 : 1;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

static int cmp_group_first(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

/* (last step, group index) pairs packed for one integer sort. */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Leaf index in [0, hi) of the tree whose stored end exceeds thr, or -1. */
static int find_above(const int64_t *tree, int cap, int hi, int64_t thr)
{
    struct { int node, lo, width; } stack[64];
    int sp = 0;
    stack[sp].node = 1, stack[sp].lo = 0, stack[sp].width = cap;
    sp++;
    while (sp > 0) {
        sp--;
        int node = stack[sp].node, lo = stack[sp].lo, width = stack[sp].width;
        if (tree[node] <= thr || lo >= hi) continue;
        if (width == 1) return lo;
        width /= 2;
        stack[sp].node = 2 * node + 1, stack[sp].lo = lo + width, stack[sp].width = width;
        sp++;
        stack[sp].node = 2 * node, stack[sp].lo = lo, stack[sp].width = width;
        sp++;
    }
    return -1;
}

static void tree_set(int64_t *tree, int cap, int pos, int64_t val)
{
    int i = cap + pos;
    tree[i] = val;
    for (i >>= 1; i; i >>= 1) tree[i] = tree[2 * i] > tree[2 * i + 1] ? tree[2 * i] : tree[2 * i + 1];
}

ember_status ember_plan_verify(const ember_graph *g, const ember_plan *p)
{
    if (!g || !p) return ember_error(EMBER_E_INVALID_ARG, "ember_plan_verify: graph or plan is NULL");
    if (p->n_values != g->n_values)
        return ember_error(EMBER_E_INVALID_ARG, "plan is for %d tensors, the graph has %d", p->n_values,
                           g->n_values);
    int nv = g->n_values;
    if (!nv) return EMBER_OK;
    if (!p->offset || !p->size || !p->first || !p->last || !p->alias_of)
        return ember_error(EMBER_E_INVALID_ARG, "ember_plan_verify: the plan has no arrays");
    ember_status st = EMBER_OK;
    size_t nva = (size_t)nv;
    int *producer = malloc(nva * sizeof *producer);
    member *mem = malloc(nva * sizeof *mem);
    group *gr = malloc(nva * sizeof *gr);
    int64_t *offs = malloc(nva * sizeof *offs), *by_last = malloc(nva * sizeof *by_last), *tree = NULL;
    int *who = NULL;
    if (!producer || !mem || !gr || !offs || !by_last) goto oom;
    st = check_values(g, p, producer);
    if (st != EMBER_OK) goto done;

    /* Values sharing a buffer hand it over: each starts no earlier than the previous ends. */
    int nm = 0, ng = 0;
    for (int v = 0; v < nv; v++)
        if (p->offset[v] >= 0) {
            int owner = p->part_of && p->part_of[v] >= 0 ? p->part_of[v] : p->alias_of[v] >= 0 ? p->alias_of[v] : v;
            mem[nm++] = (member){owner, p->first[v], v};
        }
    qsort(mem, (size_t)nm, sizeof *mem, cmp_member);
    for (int k = 0; k < nm; k++) {
        int v = mem[k].value, r = mem[k].owner;
        if (ng && gr[ng - 1].value == r) {
            group *x = &gr[ng - 1];
            /* A view reads the bytes already there, so it may start while they live; a
             * Concat part owns its slice, and the Concat output starts while they live. */
            bool part = p->part_of && p->part_of[v] >= 0;
            if (part && !part_of_group(g, p, v, r)) {
                st = ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' is planned as a slice of '%s' but is "
                                 "no input of its Concat or lies outside it", g->values[v].name, g->values[r].name);
                goto done;
            }
            bool view = p->view && p->view[v] == 1 && v != r;
            if (view && !view_of_group(g, p, v, r)) {
                st = ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' is marked a view of the buffer of '%s' "
                                 "but its node does not read that buffer", g->values[v].name, g->values[r].name);
                goto done;
            }
            if (!view && !part && v != r && p->first[v] < x->last) {
                st = ember_error(EMBER_E_INTERNAL, "plan: tensors '%s' and '%s' share one buffer but are both "
                                 "live at step %d (node '%s')", g->values[mem[k - 1].value].name,
                                 g->values[v].name, p->first[v], g->nodes[p->first[v]].name);
                goto done;
            }
            if (p->last[v] > x->last) x->last = p->last[v];
            continue;
        }
        if (v != r && p->part_of && p->part_of[v] == r && !part_of_group(g, p, v, r)) {
            st = ember_error(EMBER_E_INTERNAL, "plan: tensor '%s' is planned as a slice of '%s' but is no input "
                             "of its Concat or lies outside it", g->values[v].name, g->values[r].name);
            goto done;
        }
        gr[ng++] = (group){p->offset[r], p->offset[r] + (int64_t)p->size[r], p->first[v], p->last[v], r};
    }

    /* Sweep over steps: drop buffers that died, then each new one must clear every live one.
     * Empty buffers overlap nothing. */
    int nz = 0;
    for (int k = 0; k < ng; k++)
        if (gr[k].end > gr[k].off) gr[nz++] = gr[k];
    qsort(gr, (size_t)nz, sizeof *gr, cmp_group_first);
    for (int k = 0; k < nz; k++) {
        by_last[k] = (int64_t)gr[k].last << 32 | (int64_t)k;
        offs[k] = gr[k].off;
    }
    qsort(by_last, (size_t)nz, sizeof *by_last, cmp_i64);
    qsort(offs, (size_t)nz, sizeof *offs, cmp_i64);
    int nu = 0;
    for (int k = 0; k < nz; k++)
        if (!nu || offs[nu - 1] != offs[k]) offs[nu++] = offs[k];
    int cap = 1;
    while (cap < nu) cap *= 2;
    tree = malloc((size_t)cap * 2 * sizeof *tree);
    who = malloc((size_t)cap * sizeof *who);
    if (!tree || !who) goto oom;
    for (int k = 0; k < 2 * cap; k++) tree[k] = -1;
    int j = 0;
    for (int k = 0; k < nz; k++) {
        const group *x = &gr[k];
        for (; j < nz && gr[by_last[j] & 0xffffffff].last < x->first; j++) {
            const group *y = &gr[by_last[j] & 0xffffffff];
            int lo = 0, hi = nu;
            while (lo < hi) {
                int mid = lo + (hi - lo) / 2;
                if (offs[mid] < y->off) lo = mid + 1;
                else hi = mid;
            }
            tree_set(tree, cap, lo, -1);
        }
        int lo = 0, hi = nu;
        while (lo < hi) { /* first offset >= x->end: live buffers starting before x ends */
            int mid = lo + (hi - lo) / 2;
            if (offs[mid] < x->end) lo = mid + 1;
            else hi = mid;
        }
        int hit = find_above(tree, cap, lo, x->off);
        if (hit >= 0) {
            const group *y = &gr[who[hit]];
            st = ember_error(EMBER_E_INTERNAL, "plan: tensors '%s' [%lld, %lld) and '%s' [%lld, %lld) overlap "
                             "in the arena and are both live at step %d (node '%s')",
                             g->values[y->value].name, (long long)y->off, (long long)y->end,
                             g->values[x->value].name, (long long)x->off, (long long)x->end, x->first,
                             g->nodes[x->first].name);
            goto done;
        }
        lo = 0, hi = nu;
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (offs[mid] < x->off) lo = mid + 1;
            else hi = mid;
        }
        who[lo] = k;
        tree_set(tree, cap, lo, x->end);
    }
    goto done;
oom:
    st = ember_error(EMBER_E_NO_MEMORY, "out of memory verifying a memory plan");
done:
    free(producer);
    free(mem);
    free(gr);
    free(by_last);
    free(offs);
    free(tree);
    free(who);
    return st;
}

static void fmt_bytes(size_t n, char *buf, size_t len)
{
    if (n >= (size_t)1 << 20) snprintf(buf, len, "%.2f MiB", (double)n / (1 << 20));
    else if (n >= 1024) snprintf(buf, len, "%.1f KiB", (double)n / 1024);
    else snprintf(buf, len, "%zu B", n);
}

void ember_plan_print(const ember_graph *g, const ember_plan *p, FILE *f)
{
    if (!g || !p || !f || p->n_values != g->n_values) return;
    int buffers = 0, shared = 0, views = 0, parts = 0;
    for (int v = 0; v < p->n_values; v++) {
        if (p->offset[v] < 0) continue;
        if (p->part_of && p->part_of[v] >= 0) parts++;
        else if (p->view && p->view[v] == 1) views++;
        else if (p->alias_of[v] >= 0) shared++;
        else buffers++;
    }
    char a[32], lb[32];
    fmt_bytes(p->arena_bytes, a, sizeof a);
    fmt_bytes(p->lower_bound, lb, sizeof lb);
    fprintf(f, "memory plan: arena %zu bytes (%s), lower bound %zu bytes (%s), ratio %.3f\n",
            p->arena_bytes, a, p->lower_bound, lb,
            p->lower_bound ? (double)p->arena_bytes / (double)p->lower_bound : 1.0);
    fprintf(f, "  %d buffers, %d more tensors in place, %d views (no copy), %d written into Concat outputs, "
            "%zu-byte alignment\n", buffers, shared, views, parts, p->align);
    /* The ten largest by repeated selection: cheap for ten, no allocation. */
    int top[10], nt = 0;
    for (int v = 0; v < p->n_values; v++) {
        if (p->offset[v] < 0 || p->alias_of[v] >= 0 || (p->part_of && p->part_of[v] >= 0)) continue;
        int at = nt;
        while (at > 0 && (p->size[top[at - 1]] < p->size[v])) at--;
        if (at >= 10) continue;
        if (nt < 10) nt++;
        memmove(&top[at + 1], &top[at], (size_t)(nt - 1 - at) * sizeof *top);
        top[at] = v;
    }
    if (nt) fprintf(f, "  %-12s %-12s %-13s %s\n", "offset", "bytes", "steps", "tensor");
    for (int k = 0; k < nt; k++) {
        int v = top[k], first = p->first[v], last = p->last[v];
        for (int u = 0; u < p->n_values; u++) { /* a shared buffer lives over its users */
            bool in = p->alias_of[u] == v || (p->part_of && p->part_of[u] == v);
            if (in && p->last[u] > last) last = p->last[u];
            if (in && p->first[u] < first) first = p->first[u];
        }
        char steps[32];
        snprintf(steps, sizeof steps, "%d-%d", first, last);
        fprintf(f, "  %-12lld %-12zu %-13s %s\n", (long long)p->offset[v], p->size[v], steps, g->values[v].name);
    }
}
