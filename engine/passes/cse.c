/* Common-subexpression elimination with hash tables: first identical constants
 * (dtype, shape, bytes) become one, then, in topological order, a node equal to an
 * earlier one (op, domain, opset, resolved inputs, attributes by value) is dropped and
 * its outputs replaced by the earlier node's. Expected O(nodes + constant bytes). */
#include <stdlib.h>
#include <string.h>

#include "../graph_edit.h"
#include "../passes.h"
#include "../status.h"

/* Open-addressing table of indices keyed by a precomputed hash. */
typedef struct table {
    int *slot;
    uint64_t *hash;
    size_t mask;
} table;

static int table_init(table *t, int n)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap *= 2;
    t->slot = malloc(sizeof(int) * cap);
    t->hash = malloc(sizeof(uint64_t) * cap);
    t->mask = cap - 1;
    if (!t->slot || !t->hash) return -1;
    for (size_t i = 0; i < cap; i++) t->slot[i] = -1;
    return 0;
}

static void table_free(table *t)
{
    free(t->slot);
    free(t->hash);
}

/* Finds an entry equal to `x` (by `eq`), or inserts x and returns -1. */
static int table_find_or_add(table *t, uint64_t h, int x, bool (*eq)(void *, int, int), void *ctx)
{
    size_t k = (size_t)h & t->mask;
    for (; t->slot[k] >= 0; k = (k + 1) & t->mask)
        if (t->hash[k] == h && eq(ctx, t->slot[k], x)) return t->slot[k];
    t->slot[k] = x;
    t->hash[k] = h;
    return -1;
}

static uint64_t const_hash(const ember_value *v)
{
    uint64_t h = ember_hash_u64((uint64_t)v->dtype, (uint64_t)v->shape.rank);
    h = ember_hash_bytes(h, v->shape.dims, sizeof(int64_t) * (size_t)v->shape.rank);
    return ember_hash_bytes(h, v->data, v->nbytes);
}

static bool const_eq(void *ctx, int a, int b)
{
    const ember_graph *g = ctx;
    const ember_value *x = &g->values[a], *y = &g->values[b];
    return x->dtype == y->dtype && x->shape.rank == y->shape.rank && x->nbytes == y->nbytes &&
           memcmp(x->shape.dims, y->shape.dims, sizeof(int64_t) * (size_t)x->shape.rank) == 0 &&
           (x->nbytes == 0 || memcmp(x->data, y->data, x->nbytes) == 0);
}

static uint64_t str_hash(uint64_t h, const char *s) { return ember_hash_bytes(h, s, strlen(s)); }

static uint64_t attr_hash(const ember_attr *a)
{
    uint64_t h = str_hash((uint64_t)a->type, a->name);
    switch (a->type) {
    case EMBER_ATTR_FLOAT: return ember_hash_bytes(h, &a->f, sizeof a->f);
    case EMBER_ATTR_INT: return ember_hash_u64(h, (uint64_t)a->i);
    case EMBER_ATTR_STRING: return ember_hash_bytes(h, a->s, a->s_len);
    case EMBER_ATTR_FLOATS: return ember_hash_bytes(h, a->floats, sizeof(float) * (size_t)a->n);
    case EMBER_ATTR_INTS: return ember_hash_bytes(h, a->ints, sizeof(int64_t) * (size_t)a->n);
    case EMBER_ATTR_STRINGS:
        for (int i = 0; i < a->n; i++) h = str_hash(h, a->strings[i]);
        return h;
    case EMBER_ATTR_TENSOR:
        if (!a->t) return h;
        h = ember_hash_u64(h, (uint64_t)a->t->dtype);
        h = ember_hash_bytes(h, a->t->dims, sizeof(int64_t) * (size_t)a->t->rank);
        return ember_hash_bytes(h, a->t->data, a->t->nbytes);
    default: return h;
    }
}

/* Floats compare by bits: equal values that print differently (-0, NaN payloads) are
 * not merged, and NaN attributes still merge with themselves. */
static bool attr_eq(const ember_attr *a, const ember_attr *b)
{
    if (a->type != b->type || strcmp(a->name, b->name) != 0) return false;
    switch (a->type) {
    case EMBER_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case EMBER_ATTR_INT: return a->i == b->i;
    case EMBER_ATTR_STRING: return a->s_len == b->s_len && memcmp(a->s, b->s, a->s_len) == 0;
    case EMBER_ATTR_FLOATS: return a->n == b->n && memcmp(a->floats, b->floats, sizeof(float) * (size_t)a->n) == 0;
    case EMBER_ATTR_INTS: return a->n == b->n && memcmp(a->ints, b->ints, sizeof(int64_t) * (size_t)a->n) == 0;
    case EMBER_ATTR_STRINGS:
        if (a->n != b->n) return false;
        for (int i = 0; i < a->n; i++)
            if (strcmp(a->strings[i], b->strings[i]) != 0) return false;
        return true;
    case EMBER_ATTR_TENSOR:
        if (!a->t || !b->t) return a->t == b->t;
        return a->t->dtype == b->t->dtype && a->t->rank == b->t->rank && a->t->nbytes == b->t->nbytes &&
               memcmp(a->t->dims, b->t->dims, sizeof(int64_t) * (size_t)a->t->rank) == 0 &&
               (a->t->nbytes == 0 || memcmp(a->t->data, b->t->data, a->t->nbytes) == 0);
    default: return false; /* graphs are never equal */
    }
}

static uint64_t node_hash(ember_edit *e, const ember_node *n)
{
    uint64_t h = str_hash(str_hash((uint64_t)n->opset, n->domain), n->op_type);
    h = ember_hash_u64(h, ((uint64_t)n->n_inputs << 32) | (uint32_t)n->n_outputs);
    for (int k = 0; k < n->n_inputs; k++) h = ember_hash_u64(h, (uint64_t)(int64_t)ember_edit_resolve(e, n->inputs[k]));
    for (int o = 0; o < n->n_outputs; o++) h = ember_hash_u64(h, n->outputs[o] >= 0);
    /* Attribute order is not meaningful: combine per-attribute hashes commutatively. */
    uint64_t ah = 0;
    for (int a = 0; a < n->n_attrs; a++) ah += attr_hash(&n->attrs[a]);
    return ember_hash_u64(h, ah);
}

static bool node_eq(void *ctx, int i, int j)
{
    ember_edit *e = ctx;
    const ember_node *a = &e->g->nodes[i], *b = &e->g->nodes[j];
    if (a->op != b->op || a->opset != b->opset || a->n_inputs != b->n_inputs ||
        a->n_outputs != b->n_outputs || a->n_attrs != b->n_attrs ||
        strcmp(a->op_type, b->op_type) != 0 || strcmp(a->domain, b->domain) != 0)
        return false;
    for (int k = 0; k < a->n_inputs; k++)
        if (ember_edit_resolve(e, a->inputs[k]) != ember_edit_resolve(e, b->inputs[k])) return false;
    for (int o = 0; o < a->n_outputs; o++)
        if ((a->outputs[o] >= 0) != (b->outputs[o] >= 0)) return false;
    for (int x = 0; x < a->n_attrs; x++) {
        bool found = false;
        for (int y = 0; y < b->n_attrs && !found; y++) found = attr_eq(&a->attrs[x], &b->attrs[y]);
        if (!found) return false;
    }
    return true;
}

/* A node with pinned outputs may be the one kept, never the one dropped: its outputs
 * keep their own names. */
static bool has_pinned_output(ember_edit *e, const ember_node *n)
{
    for (int o = 0; o < n->n_outputs; o++)
        if (n->outputs[o] >= 0 && e->pinned[n->outputs[o]]) return true;
    return false;
}

static int merge_consts(ember_edit *e)
{
    ember_graph *g = e->g;
    int n_const = 0, merged = 0;
    for (int v = 0; v < g->n_values; v++) n_const += ember_value_is_const(g, v) && e->uses[v] > 0;
    table t;
    if (table_init(&t, n_const)) {
        table_free(&t);
        return -1;
    }
    for (int v = 0; v < g->n_values; v++) {
        if (!ember_value_is_const(g, v) || e->uses[v] == 0 || e->pinned[v]) continue;
        int same = table_find_or_add(&t, const_hash(&g->values[v]), v, const_eq, g);
        if (same >= 0 && ember_edit_replace(e, v, same)) merged++;
    }
    table_free(&t);
    return merged;
}

ember_status ember_pass_cse(ember_graph *g, ember_pass_stats *st)
{
    ember_edit e;
    TRY(ember_edit_begin(g, &e));
    int merged = merge_consts(&e);
    table t;
    if (merged < 0 || table_init(&t, g->n_nodes)) {
        if (merged >= 0) table_free(&t);
        ember_edit_abort(&e);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory in common-subexpression elimination");
    }
    st->changed += merged;
    for (int i = 0; i < g->n_nodes; i++) {
        const ember_node *n = &g->nodes[i];
        /* Unknown ops may be random or stateful; subgraph ops are left alone. */
        if (n->op < 0 || ember_node_has_subgraph(n)) continue;
        int j = table_find_or_add(&t, node_hash(&e, n), i, node_eq, &e);
        if (j < 0 || has_pinned_output(&e, n)) continue;
        ember_edit_kill(&e, i);
        for (int o = 0; o < n->n_outputs; o++)
            if (n->outputs[o] >= 0) ember_edit_replace(&e, n->outputs[o], g->nodes[j].outputs[o]);
        st->removed++;
    }
    table_free(&t);
    return ember_edit_commit(&e);
}
