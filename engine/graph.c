#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

ember_graph *ember_graph_new(ember_graph *parent)
{
    ember_graph *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->parent = parent;
    g->opset = parent ? parent->opset : 0;
    if (parent) {
        if (parent->n_subgraphs == parent->cap_subgraphs) {
            int cap = parent->cap_subgraphs ? parent->cap_subgraphs * 2 : 4;
            ember_graph **s = realloc(parent->subgraphs, (size_t)cap * sizeof *s);
            if (!s) {
                free(g);
                return NULL;
            }
            parent->subgraphs = s;
            parent->cap_subgraphs = cap;
        }
        parent->subgraphs[parent->n_subgraphs++] = g;
    }
    return g;
}

void ember_graph_free(ember_graph *g)
{
    if (!g) return;
    /* Subgraphs form a tree; free it with an explicit stack, not recursion. */
    int cap = 16, top = 0;
    ember_graph **stack = malloc((size_t)cap * sizeof *stack);
    if (!stack) return;
    stack[top++] = g;
    while (top > 0) {
        ember_graph *x = stack[--top];
        for (int i = 0; i < x->n_subgraphs; i++) {
            if (top == cap) {
                ember_graph **s = realloc(stack, (size_t)cap * 2 * sizeof *s);
                if (!s) break; /* leak rather than crash */
                stack = s;
                cap *= 2;
            }
            stack[top++] = x->subgraphs[i];
        }
        ember_arena_free(&x->arena);
        free(x->values);
        free(x->nodes);
        free(x->inputs);
        free(x->outputs);
        free(x->symbols);
        free(x->hash);
        free(x->subgraphs);
        free(x);
    }
    free(stack);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int hash_rebuild(ember_graph *g, int cap)
{
    int *h = malloc((size_t)cap * sizeof *h);
    if (!h) return -1;
    for (int i = 0; i < cap; i++) h[i] = -1;
    for (int v = 0; v < g->n_values; v++) {
        size_t k = hash_str(g->values[v].name) & (size_t)(cap - 1);
        while (h[k] >= 0) k = (k + 1) & (size_t)(cap - 1);
        h[k] = v;
    }
    free(g->hash);
    g->hash = h;
    g->hash_cap = cap;
    return 0;
}

int ember_graph_find(const ember_graph *g, const char *name)
{
    if (!g->hash_cap) return -1;
    size_t k = hash_str(name) & (size_t)(g->hash_cap - 1);
    while (g->hash[k] >= 0) {
        if (strcmp(g->values[g->hash[k]].name, name) == 0) return g->hash[k];
        k = (k + 1) & (size_t)(g->hash_cap - 1);
    }
    return -1;
}

int ember_graph_add_value(ember_graph *g, const char *name)
{
    if (ember_graph_find(g, name) >= 0) {
        ember_error(EMBER_E_INVALID_MODEL, "tensor '%s' is defined more than once", name);
        return -1;
    }
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        ember_value *v = realloc(g->values, (size_t)cap * sizeof *v);
        if (!v) goto oom;
        g->values = v;
        g->cap_values = cap;
    }
    if ((g->n_values + 1) * 2 > g->hash_cap) {
        if (hash_rebuild(g, g->hash_cap ? g->hash_cap * 2 : 128)) goto oom;
    }
    ember_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = ember_arena_strdup(&g->arena, name);
    if (!v->name) goto oom;
    v->producer = -1;
    v->shape.rank = -1;
    for (int i = 0; i < EMBER_MAX_RANK; i++) v->shape.syms[i] = -1;
    int idx = g->n_values++;
    size_t k = hash_str(name) & (size_t)(g->hash_cap - 1);
    while (g->hash[k] >= 0) k = (k + 1) & (size_t)(g->hash_cap - 1);
    g->hash[k] = idx;
    return idx;
oom:
    ember_error(EMBER_E_NO_MEMORY, "out of memory adding tensor '%s'", name);
    return -1;
}

int ember_graph_value(ember_graph *g, const char *name)
{
    int v = ember_graph_find(g, name);
    return v >= 0 ? v : ember_graph_add_value(g, name);
}

int ember_graph_symbol(ember_graph *g, const char *name)
{
    for (int i = 0; i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], name) == 0) return i;
    if (g->n_symbols == g->cap_symbols) {
        int cap = g->cap_symbols ? g->cap_symbols * 2 : 8;
        const char **s = realloc(g->symbols, (size_t)cap * sizeof *s);
        if (!s) return -1;
        g->symbols = s;
        g->cap_symbols = cap;
    }
    const char *copy = ember_arena_strdup(&g->arena, name);
    if (!copy) return -1;
    g->symbols[g->n_symbols] = copy;
    return g->n_symbols++;
}

int ember_graph_add_node(ember_graph *g, const char *name, const char *op_type,
                         const char *domain, const int *inputs, int n_inputs,
                         const int *outputs, int n_outputs, const ember_attr *attrs,
                         int n_attrs)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        ember_node *n = realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n) goto oom;
        g->nodes = n;
        g->cap_nodes = cap;
    }
    ember_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    char gen[32];
    if (!name || !*name) {
        snprintf(gen, sizeof gen, "node_%d", g->n_nodes);
        name = gen;
    }
    n->name = ember_arena_strdup(&g->arena, name);
    n->op_type = ember_arena_strdup(&g->arena, op_type ? op_type : "");
    n->domain = ember_arena_strdup(&g->arena, domain ? domain : "");
    n->op = -1;
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    n->n_attrs = n_attrs;
    n->inputs = ember_arena_alloc(&g->arena, sizeof(int) * (size_t)(n_inputs ? n_inputs : 1));
    n->outputs = ember_arena_alloc(&g->arena, sizeof(int) * (size_t)(n_outputs ? n_outputs : 1));
    n->attrs = ember_arena_alloc(&g->arena, sizeof(ember_attr) * (size_t)(n_attrs ? n_attrs : 1));
    if (!n->name || !n->op_type || !n->domain || !n->inputs || !n->outputs || !n->attrs)
        goto oom;
    if (n_inputs) memcpy(n->inputs, inputs, sizeof(int) * (size_t)n_inputs);
    if (n_outputs) memcpy(n->outputs, outputs, sizeof(int) * (size_t)n_outputs);
    if (n_attrs) memcpy(n->attrs, attrs, sizeof(ember_attr) * (size_t)n_attrs);
    return g->n_nodes++;
oom:
    ember_error(EMBER_E_NO_MEMORY, "out of memory adding node '%s'", name);
    return -1;
}

ember_status ember_graph_toposort(ember_graph *g)
{
    int nn = g->n_nodes, nv = g->n_values;
    ember_status st = EMBER_OK;
    int *producer = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    int *indeg = calloc((size_t)(nn ? nn : 1), sizeof(int));
    /* consumers as CSR: for each value, the nodes that read it */
    int *cstart = calloc((size_t)nv + 1, sizeof(int));
    int *queue = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    int *cons = NULL;
    ember_node *sorted = NULL;
    if (!producer || !indeg || !cstart || !queue) goto oom;
    for (int v = 0; v < nv; v++) producer[v] = -1;
    for (int i = 0; i < nn; i++) {
        ember_node *n = &g->nodes[i];
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0) continue;
            if (producer[v] >= 0 || (g->values[v].flags & (EMBER_VALUE_INPUT | EMBER_VALUE_CONST))) {
                st = ember_error(EMBER_E_INVALID_MODEL,
                                 "tensor '%s' is produced by node '%s' but is already defined%s%s%s",
                                 g->values[v].name, n->name, producer[v] >= 0 ? " by node '" : "",
                                 producer[v] >= 0 ? g->nodes[producer[v]].name : "",
                                 producer[v] >= 0 ? "'" : "");
                goto done;
            }
            producer[v] = i;
        }
    }
    int total = 0;
    for (int i = 0; i < nn; i++) {
        ember_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs + n->n_implicit; k++) {
            int v = k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
            if (v < 0) continue;
            if (producer[v] < 0 &&
                !(g->values[v].flags & (EMBER_VALUE_INPUT | EMBER_VALUE_CONST | EMBER_VALUE_OUTER))) {
                st = ember_error(EMBER_E_INVALID_MODEL,
                                 "node '%s' (%s) reads tensor '%s', which no node, input or "
                                 "initializer defines",
                                 n->name, n->op_type, g->values[v].name);
                goto done;
            }
            if (producer[v] >= 0) {
                indeg[i]++;
                cstart[v + 1]++;
                total++;
            }
        }
    }
    for (int v = 0; v < nv; v++) cstart[v + 1] += cstart[v];
    cons = malloc(sizeof(int) * (size_t)(total ? total : 1));
    int *fill = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    if (!cons || !fill) {
        free(fill);
        goto oom;
    }
    memcpy(fill, cstart, sizeof(int) * (size_t)nv);
    for (int i = 0; i < nn; i++) {
        ember_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs + n->n_implicit; k++) {
            int v = k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
            if (v >= 0 && producer[v] >= 0) cons[fill[v]++] = i;
        }
    }
    free(fill);
    int head = 0, tail = 0;
    for (int i = 0; i < nn; i++)
        if (indeg[i] == 0) queue[tail++] = i;
    while (head < tail) {
        int i = queue[head++];
        ember_node *n = &g->nodes[i];
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            if (v < 0) continue;
            for (int c = cstart[v]; c < cstart[v + 1]; c++)
                if (--indeg[cons[c]] == 0) queue[tail++] = cons[c];
        }
    }
    if (tail < nn) {
        for (int i = 0; i < nn; i++)
            if (indeg[i] > 0) {
                st = ember_error(EMBER_E_INVALID_MODEL,
                                 "the graph has a cycle through node '%s' (%s)", g->nodes[i].name,
                                 g->nodes[i].op_type);
                break;
            }
        goto done;
    }
    for (int o = 0; o < g->n_outputs; o++) {
        int v = g->outputs[o];
        if (producer[v] < 0 && !(g->values[v].flags & (EMBER_VALUE_INPUT | EMBER_VALUE_CONST | EMBER_VALUE_OUTER))) {
            st = ember_error(EMBER_E_INVALID_MODEL, "graph output '%s' is never produced",
                             g->values[v].name);
            goto done;
        }
    }
    sorted = malloc(sizeof(ember_node) * (size_t)(nn ? nn : 1));
    if (!sorted) goto oom;
    for (int k = 0; k < nn; k++) sorted[k] = g->nodes[queue[k]];
    free(g->nodes);
    g->nodes = sorted;
    g->cap_nodes = nn ? nn : 1;
    for (int v = 0; v < nv; v++) g->values[v].producer = -1;
    for (int i = 0; i < nn; i++)
        for (int o = 0; o < g->nodes[i].n_outputs; o++)
            if (g->nodes[i].outputs[o] >= 0) g->values[g->nodes[i].outputs[o]].producer = i;
    goto done;
oom:
    st = ember_error(EMBER_E_NO_MEMORY, "out of memory sorting the graph");
done:
    free(producer);
    free(indeg);
    free(cstart);
    free(queue);
    free(cons);
    return st;
}

const ember_attr *ember_node_attr(const ember_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t ember_attr_int(const ember_node *n, const char *name, int64_t dflt)
{
    const ember_attr *a = ember_node_attr(n, name);
    return a && a->type == EMBER_ATTR_INT ? a->i : dflt;
}

float ember_attr_float(const ember_node *n, const char *name, float dflt)
{
    const ember_attr *a = ember_node_attr(n, name);
    return a && a->type == EMBER_ATTR_FLOAT ? a->f : dflt;
}

const char *ember_attr_string(const ember_node *n, const char *name, const char *dflt)
{
    const ember_attr *a = ember_node_attr(n, name);
    return a && a->type == EMBER_ATTR_STRING ? a->s : dflt;
}

int ember_attr_ints(const ember_node *n, const char *name, const int64_t **vals)
{
    const ember_attr *a = ember_node_attr(n, name);
    if (!a || a->type != EMBER_ATTR_INTS) return -1;
    *vals = a->ints;
    return a->n;
}

int ember_attr_floats(const ember_node *n, const char *name, const float **vals)
{
    const ember_attr *a = ember_node_attr(n, name);
    if (!a || a->type != EMBER_ATTR_FLOATS) return -1;
    *vals = a->floats;
    return a->n;
}

int64_t ember_shape_numel(const ember_shape *s)
{
    if (s->rank < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i] < 0) return -1;
        n *= s->dims[i];
    }
    return n;
}

void ember_shape_format(const ember_graph *g, const ember_shape *s, char *buf, size_t n)
{
    if (s->rank < 0) {
        snprintf(buf, n, "?");
        return;
    }
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < s->rank && k < n; i++) {
        const char *sep = i ? "," : "";
        if (s->dims[i] >= 0)
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", sep, (long long)s->dims[i]);
        else if (s->syms[i] >= 0 && g && s->syms[i] < g->n_symbols)
            k += (size_t)snprintf(buf + k, n - k, "%s%s", sep, g->symbols[s->syms[i]]);
        else
            k += (size_t)snprintf(buf + k, n - k, "%s?", sep);
    }
    if (k < n) snprintf(buf + k, n - k, "]");
}
