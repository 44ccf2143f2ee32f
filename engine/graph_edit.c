#include "graph_edit.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"

static ember_status oom(void) { return ember_error(EMBER_E_NO_MEMORY, "out of memory editing the graph"); }

/* Grows the per-value arrays after values were added. */
static int grow_values(ember_edit *e)
{
    int nv = e->g->n_values;
    if (nv <= e->cap_values) return 0;
    int cap = e->cap_values * 2 > nv ? e->cap_values * 2 : nv;
    unsigned char *p = realloc(e->pinned, (size_t)cap);
    if (p) e->pinned = p;
    int *r = realloc(e->repl, sizeof(int) * (size_t)cap);
    if (r) e->repl = r;
    int *u = realloc(e->uses, sizeof(int) * (size_t)cap);
    if (u) e->uses = u;
    if (!p || !r || !u) return -1;
    for (int v = e->cap_values; v < cap; v++) {
        e->pinned[v] = 0;
        e->repl[v] = v;
        e->uses[v] = 0;
    }
    e->cap_values = cap;
    return 0;
}

/* Subgraphs read outer values by name, so those names must survive: pin them. The
 * subgraph tree is walked with an explicit stack. */
static ember_status pin_captures(ember_edit *e)
{
    ember_graph *g = e->g;
    if (!g->n_subgraphs) return EMBER_OK;
    int cap = 16, top = 0;
    ember_graph **stack = malloc(sizeof *stack * (size_t)cap);
    if (!stack) return oom();
    stack[top++] = g;
    while (top > 0) {
        ember_graph *x = stack[--top];
        if (x != g)
            for (int v = 0; v < x->n_values; v++) {
                if (!(x->values[v].flags & EMBER_VALUE_OUTER)) continue;
                int ov = ember_graph_find(g, x->values[v].name);
                if (ov >= 0) e->pinned[ov] = 1;
            }
        for (int i = 0; i < x->n_subgraphs; i++) {
            if (top == cap) {
                ember_graph **s = realloc(stack, sizeof *s * (size_t)cap * 2);
                if (!s) {
                    free(stack);
                    return oom();
                }
                stack = s;
                cap *= 2;
            }
            stack[top++] = x->subgraphs[i];
        }
    }
    free(stack);
    return EMBER_OK;
}

ember_status ember_edit_begin(ember_graph *g, ember_edit *e)
{
    memset(e, 0, sizeof *e);
    e->g = g;
    e->cap_nodes = g->n_nodes;
    e->dead = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), 1);
    if (!e->dead || grow_values(e)) {
        ember_edit_abort(e);
        return oom();
    }
    for (int i = 0; i < g->n_outputs; i++) e->pinned[g->outputs[i]] = 1;
    ember_status s = pin_captures(e);
    if (s != EMBER_OK) {
        ember_edit_abort(e);
        return s;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0) e->uses[g->nodes[i].inputs[k]]++;
    return EMBER_OK;
}

void ember_edit_abort(ember_edit *e)
{
    free(e->dead);
    free(e->pinned);
    free(e->repl);
    free(e->uses);
    memset(e, 0, sizeof *e);
}

int ember_edit_resolve(ember_edit *e, int v)
{
    if (v < 0) return v;
    int r = v;
    while (e->repl[r] != r) r = e->repl[r];
    while (e->repl[v] != r) { /* path compression keeps chains short */
        int next = e->repl[v];
        e->repl[v] = r;
        v = next;
    }
    return r;
}

void ember_edit_kill(ember_edit *e, int node)
{
    if (e->dead[node]) return;
    ember_node *n = &e->g->nodes[node];
    e->dead[node] = 1;
    e->killed++;
    for (int k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] >= 0) e->uses[ember_edit_resolve(e, n->inputs[k])]--;
    for (int o = 0; o < n->n_outputs; o++) {
        int v = n->outputs[o];
        if (v >= 0 && e->g->values[v].producer == node) e->g->values[v].producer = -1;
    }
}

bool ember_edit_replace(ember_edit *e, int from, int to)
{
    from = ember_edit_resolve(e, from);
    to = ember_edit_resolve(e, to);
    if (from == to) return true;
    if (e->pinned[from]) return false;
    e->repl[from] = to;
    e->uses[to] += e->uses[from];
    e->uses[from] = 0;
    return true;
}

void ember_edit_set_input(ember_edit *e, int node, int slot, int v)
{
    ember_node *n = &e->g->nodes[node];
    if (n->inputs[slot] >= 0) e->uses[ember_edit_resolve(e, n->inputs[slot])]--;
    n->inputs[slot] = v;
    if (v >= 0) e->uses[ember_edit_resolve(e, v)]++;
}

ember_status ember_edit_set_inputs(ember_edit *e, int node, const int *inputs, int n)
{
    int *in = ember_arena_alloc(&e->g->arena, sizeof(int) * (size_t)(n ? n : 1));
    if (!in) return oom();
    ember_node *nd = &e->g->nodes[node];
    for (int k = 0; k < nd->n_inputs; k++)
        if (nd->inputs[k] >= 0) e->uses[ember_edit_resolve(e, nd->inputs[k])]--;
    for (int k = 0; k < n; k++) {
        in[k] = inputs[k];
        if (inputs[k] >= 0) e->uses[ember_edit_resolve(e, inputs[k])]++;
    }
    nd->inputs = in;
    nd->n_inputs = n;
    return EMBER_OK;
}

void ember_edit_take_output(ember_edit *e, int keep, int slot, int v)
{
    ember_node *n = &e->g->nodes[keep];
    int old = n->outputs[slot];
    if (old >= 0 && e->g->values[old].producer == keep) e->g->values[old].producer = -1;
    n->outputs[slot] = v;
    e->g->values[v].producer = keep;
}

bool ember_edit_bypass(ember_edit *e, int node, int in, int out)
{
    ember_graph *g = e->g;
    in = ember_edit_resolve(e, in);
    if (!e->pinned[out]) {
        ember_edit_kill(e, node);
        return ember_edit_replace(e, out, in);
    }
    ember_value *vi = &g->values[in];
    if (ember_value_is_const(g, in)) {
        /* A copy, not shared data: BN folding may later rewrite one of them in place. */
        void *copy = ember_arena_alloc(&g->arena, vi->nbytes ? vi->nbytes : 1);
        if (!copy) return false;
        vi = &g->values[in];
        if (vi->nbytes) memcpy(copy, vi->data, vi->nbytes);
        ember_edit_kill(e, node);
        ember_value *vo = &g->values[out];
        vo->flags |= EMBER_VALUE_CONST;
        vo->data = copy;
        vo->nbytes = vi->nbytes;
        vo->dtype = vi->dtype;
        vo->shape = vi->shape;
        return true;
    }
    int p = vi->producer;
    if (e->pinned[in] || p < 0 || e->dead[p] ||
        (vi->flags & (EMBER_VALUE_INPUT | EMBER_VALUE_CONST | EMBER_VALUE_OUTER)))
        return false;
    int slot = -1;
    for (int o = 0; o < g->nodes[p].n_outputs; o++)
        if (g->nodes[p].outputs[o] == in) slot = o;
    if (slot < 0) return false;
    ember_edit_kill(e, node);
    ember_edit_take_output(e, p, slot, out);
    return ember_edit_replace(e, in, out);
}

int ember_edit_new_const(ember_edit *e, const char *base, const char *tag, ember_dtype dt,
                         int rank, const int64_t *dims, const void *data)
{
    ember_graph *g = e->g;
    size_t blen = strlen(base) + strlen(tag) + 32;
    char *name = malloc(blen);
    if (!name) return oom(), -1;
    for (int k = 0;; k++) {
        snprintf(name, blen, "%s__%s_%d", base, tag, k);
        if (ember_graph_find(g, name) < 0) break;
    }
    int v = ember_graph_add_value(g, name);
    free(name);
    if (v < 0) return -1;
    if (grow_values(e)) return oom(), -1;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    size_t nb = (size_t)n * ember_dtype_size(dt);
    void *buf = ember_arena_alloc(&g->arena, nb ? nb : 1);
    if (!buf) return oom(), -1;
    if (data && nb) memcpy(buf, data, nb);
    ember_value *val = &g->values[v];
    val->dtype = dt;
    val->shape.rank = rank;
    for (int i = 0; i < rank; i++) val->shape.dims[i] = dims[i];
    val->flags = EMBER_VALUE_CONST;
    val->data = buf;
    val->nbytes = nb;
    return v;
}

bool ember_edit_exclusive(ember_edit *e, int v)
{
    const ember_value *val = &e->g->values[v];
    return ember_value_is_const(e->g, v) && e->uses[v] <= 1 && !e->pinned[v] &&
           !(val->flags & (EMBER_VALUE_INPUT | EMBER_VALUE_OUTPUT | EMBER_VALUE_OUTER));
}

ember_status ember_edit_commit(ember_edit *e)
{
    ember_graph *g = e->g;
    ember_status st = EMBER_OK;
    if (grow_values(e)) {
        ember_edit_abort(e);
        return oom();
    }
    int w = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (i < e->cap_nodes && e->dead[i]) continue;
        ember_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) n->inputs[k] = ember_edit_resolve(e, n->inputs[k]);
        g->nodes[w++] = *n;
    }
    g->n_nodes = w;
    for (int v = 0; v < g->n_values; v++) g->values[v].producer = -1;
    for (int i = 0; i < g->n_nodes && st == EMBER_OK; i++) {
        ember_node *n = &g->nodes[i];
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0) continue;
            ember_value *val = &g->values[v];
            if (val->producer >= 0 || (val->flags & (EMBER_VALUE_CONST | EMBER_VALUE_INPUT)))
                st = ember_error(EMBER_E_INTERNAL, "optimizer: tensor '%s' is defined twice (node '%s')",
                                 val->name, n->name);
            val->producer = i;
        }
    }
    /* Rewrites only ever point readers at earlier values, so compaction keeps the order;
     * check it anyway (implicit subgraph reads included) and sort again if needed. */
    bool sorted = true;
    for (int i = 0; i < g->n_nodes && st == EMBER_OK; i++) {
        ember_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs + n->n_implicit; k++) {
            int v = k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
            if (v < 0) continue;
            const ember_value *val = &g->values[v];
            if (val->producer > i) sorted = false;
            if (val->producer < 0 && !(val->flags & (EMBER_VALUE_CONST | EMBER_VALUE_INPUT | EMBER_VALUE_OUTER)))
                st = ember_error(EMBER_E_INTERNAL, "optimizer: node '%s' (%s) reads '%s', which nothing defines",
                                 n->name, n->op_type, val->name);
        }
    }
    for (int o = 0; o < g->n_outputs && st == EMBER_OK; o++) {
        const ember_value *val = &g->values[g->outputs[o]];
        if (ember_edit_resolve(e, g->outputs[o]) != g->outputs[o] ||
            (val->producer < 0 && !(val->flags & (EMBER_VALUE_CONST | EMBER_VALUE_INPUT | EMBER_VALUE_OUTER))))
            st = ember_error(EMBER_E_INTERNAL, "optimizer: graph output '%s' lost its definition", val->name);
    }
    if (st == EMBER_OK && !sorted) st = ember_graph_toposort(g);
    ember_edit_abort(e);
    return st;
}

bool ember_value_is_const(const ember_graph *g, int v)
{
    const ember_value *val = &g->values[v];
    return (val->flags & EMBER_VALUE_CONST) && (val->data || val->nbytes == 0) && val->shape.rank >= 0;
}

bool ember_value_is_const_f32(const ember_graph *g, int v)
{
    return v >= 0 && ember_value_is_const(g, v) && g->values[v].dtype == EMBER_DT_FLOAT;
}

bool ember_shape_is_static(const ember_shape *s) { return ember_shape_numel(s) >= 0; }

bool ember_node_has_subgraph(const ember_node *n)
{
    for (int a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].type == EMBER_ATTR_GRAPH) return true;
    return false;
}

ember_status ember_edit_set_attr(ember_graph *g, int node, const ember_attr *a)
{
    ember_node *n = &g->nodes[node];
    int idx = -1;
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, a->name) == 0) idx = i;
    int cnt = n->n_attrs + (idx < 0);
    ember_attr *arr = ember_arena_alloc(&g->arena, sizeof *arr * (size_t)cnt);
    if (!arr) return oom();
    if (n->n_attrs) memcpy(arr, n->attrs, sizeof *arr * (size_t)n->n_attrs);
    ember_attr copy = *a;
    copy.name = ember_arena_strdup(&g->arena, a->name);
    if (!copy.name) return oom();
    /* Arrays are copied too: callers build them on the stack. */
    if (a->type == EMBER_ATTR_INTS || a->type == EMBER_ATTR_FLOATS) {
        size_t es = a->type == EMBER_ATTR_INTS ? sizeof(int64_t) : sizeof(float);
        void *vals = ember_arena_alloc(&g->arena, es * (size_t)(a->n ? a->n : 1));
        if (!vals) return oom();
        if (a->n) memcpy(vals, a->type == EMBER_ATTR_INTS ? (void *)a->ints : (void *)a->floats, es * (size_t)a->n);
        if (a->type == EMBER_ATTR_INTS) copy.ints = vals;
        else copy.floats = vals;
    }
    arr[idx < 0 ? cnt - 1 : idx] = copy;
    n->attrs = arr;
    n->n_attrs = cnt;
    return EMBER_OK;
}

void ember_edit_clear_attrs(ember_graph *g, int node) { g->nodes[node].n_attrs = 0; }

void ember_edit_set_op(ember_graph *g, int node, int op)
{
    ember_node *n = &g->nodes[node];
    n->op = op;
    n->op_type = ember_op_table[op].name;
    n->domain = ember_op_table[op].domain;
}

static uint64_t mix(uint64_t h)
{
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 31);
}

uint64_t ember_hash_u64(uint64_t h, uint64_t x) { return mix(h ^ x) + 0x632BE59BD9B4E019ull; }

uint64_t ember_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t len = n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = mix(h ^ w) + 0x632BE59BD9B4E019ull;
        s += 8;
        n -= 8;
    }
    uint64_t t = 0;
    memcpy(&t, s, n);
    return mix(h ^ t ^ (len << 56));
}

static void print_value(const ember_graph *g, int v, FILE *f)
{
    if (v < 0) {
        fputs("-", f);
        return;
    }
    const ember_value *val = &g->values[v];
    char shape[256];
    ember_shape_format(g, &val->shape, shape, sizeof shape);
    fprintf(f, "%s:%s%s%s", val->name, ember_dtype_name(val->dtype), shape,
            (val->flags & EMBER_VALUE_CONST) ? "(const)" : "");
}

void ember_graph_print(const ember_graph *g, FILE *f)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ember_node *n = &g->nodes[i];
        fprintf(f, "%s (%s%s%s):", n->name, n->domain[0] ? n->domain : "", n->domain[0] ? "." : "",
                n->op_type);
        for (int k = 0; k < n->n_inputs; k++) {
            fputs(k ? ", " : " ", f);
            print_value(g, n->inputs[k], f);
        }
        fputs(" ->", f);
        for (int o = 0; o < n->n_outputs; o++) {
            fputs(o ? ", " : " ", f);
            print_value(g, n->outputs[o], f);
        }
        fputc('\n', f);
    }
}

ember_status ember_edit_finish(ember_edit *e, ember_status s)
{
    if (s != EMBER_OK) {
        ember_edit_abort(e);
        return s;
    }
    return ember_edit_commit(e);
}

ember_status ember_edit_set_attrs(ember_graph *g, int node, const ember_attr *attrs, int n)
{
    for (int k = 0; k < n; k++) TRY(ember_edit_set_attr(g, node, &attrs[k]));
    return EMBER_OK;
}
