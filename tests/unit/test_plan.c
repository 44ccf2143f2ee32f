/* Static memory planner: hand-built graphs with hand-computed arenas and bounds, the
 * model zoo against the live-bytes lower bound, and a very long chain. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/model.h"
#include "engine/plan.h"
#include "ops/op.h"

/* ---- a small graph builder: float32 vectors, byte sizes given directly ---- */

static int val(ember_graph *g, const char *name, int64_t bytes)
{
    int v = ember_graph_add_value(g, name);
    cr_assert_geq(v, 0, "%s", ember_last_error());
    g->values[v].dtype = EMBER_DT_FLOAT;
    g->values[v].shape.rank = 1;
    g->values[v].shape.dims[0] = bytes / 4;
    return v;
}

static void set_io(ember_graph *g, int input, int output)
{
    g->inputs = malloc(sizeof(int));
    g->outputs = malloc(sizeof(int));
    g->inputs[0] = input;
    g->outputs[0] = output;
    g->n_inputs = g->n_outputs = 1;
    g->values[input].flags |= EMBER_VALUE_INPUT;
    g->values[output].flags |= EMBER_VALUE_OUTPUT;
}

static int node(ember_graph *g, const char *op, const int *ins, int n_in, const int *outs, int n_out)
{
    int i = ember_graph_add_node(g, NULL, op, "", ins, n_in, outs, n_out, NULL, 0);
    cr_assert_geq(i, 0, "%s", ember_last_error());
    g->nodes[i].op = ember_op_lookup("", op);
    cr_assert_geq(g->nodes[i].op, 0, "no op %s", op);
    return i;
}

/* Relu: an elementwise op that is no view (Identity would share its input's buffer). */
static void unary(ember_graph *g, int in, int out) { node(g, "Relu", &in, 1, &out, 1); }

static bool always(void *ctx, const ember_node *n, int in_idx, int out_idx)
{
    (void)ctx;
    (void)n;
    (void)in_idx;
    (void)out_idx;
    return true;
}

/* Elementwise ops whose kernels read element i before writing element i. */
static bool elementwise(void *ctx, const ember_node *n, int in_idx, int out_idx)
{
    (void)ctx;
    static const char *const unary_ops[] = {"Relu", "Clip", "Identity", "Sigmoid", "Tanh", "Erf", "Sqrt",
                                            "LeakyRelu", "BatchNormalization", "Neg", "Exp"};
    static const char *const binary_ops[] = {"Add", "Sub", "Mul", "Div"};
    if (out_idx != 0 || n->op < 0) return false;
    for (size_t k = 0; k < sizeof unary_ops / sizeof *unary_ops; k++)
        if (n->op == ember_op_lookup("", unary_ops[k])) return in_idx == 0;
    for (size_t k = 0; k < sizeof binary_ops / sizeof *binary_ops; k++)
        if (n->op == ember_op_lookup("", binary_ops[k])) return in_idx <= 1;
    return false;
}

static ember_plan plan_ok(const ember_graph *g, ember_inplace_fn f)
{
    ember_plan p;
    cr_assert_eq(ember_plan_memory(g, f, NULL, &p), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_OK, "%s", ember_last_error());
    return p;
}

/* x -> a -> b -> c -> y, 256 bytes each */
static ember_graph *chain4(int64_t bytes)
{
    ember_graph *g = ember_graph_new(NULL);
    int x = val(g, "x", bytes), a = val(g, "a", bytes), b = val(g, "b", bytes), c = val(g, "c", bytes);
    int y = val(g, "y", bytes);
    unary(g, x, a);
    unary(g, a, b);
    unary(g, b, c);
    unary(g, c, y);
    set_io(g, x, y);
    return g;
}

Test(plan, chain_reuses_two_buffers)
{
    ember_graph *g = chain4(256);
    ember_plan p = plan_ok(g, NULL);
    cr_assert_eq(p.arena_bytes, 512);
    cr_assert_eq(p.lower_bound, 512);
    cr_assert_eq(p.align, 64);
    int x = ember_graph_find(g, "x"), a = ember_graph_find(g, "a"), b = ember_graph_find(g, "b");
    int c = ember_graph_find(g, "c"), y = ember_graph_find(g, "y");
    cr_assert_eq(p.offset[x], -1);
    cr_assert_eq(p.offset[y], -1);
    cr_assert_eq(p.first[x], -1);
    cr_assert_eq(p.first[a], 0);
    cr_assert_eq(p.last[a], 1);
    cr_assert_eq(p.first[c], 2);
    cr_assert_eq(p.last[c], 3);
    cr_assert_neq(p.offset[a], p.offset[b]);
    cr_assert_eq(p.offset[a], p.offset[c]);
    cr_assert_eq(p.alias_of[b], -1);
    ember_plan_free(&p);
    ember_plan_free(&p); /* twice is fine */
    ember_plan_free(NULL);
    ember_graph_free(g);
}

Test(plan, chain_in_place_shares_one_buffer)
{
    ember_graph *g = chain4(256);
    ember_plan p = plan_ok(g, always);
    int a = ember_graph_find(g, "a"), b = ember_graph_find(g, "b"), c = ember_graph_find(g, "c");
    cr_assert_eq(p.arena_bytes, 256);
    cr_assert_eq(p.lower_bound, 256);
    cr_assert_eq(p.alias_of[a], -1);
    cr_assert_eq(p.alias_of[b], a);
    cr_assert_eq(p.alias_of[c], a);
    cr_assert_eq(p.offset[b], p.offset[a]);
    ember_plan_free(&p);
    ember_graph_free(g);
}

Test(plan, sizes_are_aligned)
{
    ember_graph *g = chain4(100);
    ember_plan p = plan_ok(g, NULL);
    cr_assert_eq(p.size[ember_graph_find(g, "a")], 128);
    cr_assert_eq(p.size[ember_graph_find(g, "x")], 100); /* not in the arena: raw bytes */
    cr_assert_eq(p.arena_bytes, 256);
    cr_assert_eq(p.lower_bound, 256);
    for (int v = 0; v < g->n_values; v++)
        if (p.offset[v] >= 0) cr_assert_eq(p.offset[v] % 64, 0);
    ember_plan_free(&p);
    ember_graph_free(g);
}

/* x -> a(1024); a -> b(512); a -> c(256); b + c -> d(1024); d -> y
 * live: s0 a=1024, s1 a+b=1536, s2 a+b+c=1792, s3 b+c+d=1792, s4 d=1024 */
Test(plan, diamond_meets_the_bound)
{
    ember_graph *g = ember_graph_new(NULL);
    int x = val(g, "x", 64), a = val(g, "a", 1024), b = val(g, "b", 512), c = val(g, "c", 256);
    int d = val(g, "d", 1024), y = val(g, "y", 1024);
    unary(g, x, a);
    unary(g, a, b);
    unary(g, a, c);
    node(g, "Add", (int[]){b, c}, 2, &d, 1);
    unary(g, d, y);
    set_io(g, x, y);
    ember_plan p = plan_ok(g, NULL);
    cr_assert_eq(p.lower_bound, 1792);
    cr_assert_eq(p.arena_bytes, 1792);
    cr_assert_eq(p.first[a], 0);
    cr_assert_eq(p.last[a], 2);
    cr_assert_eq(p.last[b], 3);
    cr_assert_eq(p.offset[a], p.offset[d]); /* a dies before d is born */
    ember_plan_free(&p);
    /* a is still read by c's node when b is made, so b cannot take a's buffer; d can take
     * b's (same size? no: 512 vs 1024) - nothing is shared, nothing changes */
    p = plan_ok(g, always);
    cr_assert_eq(p.alias_of[b], -1);
    cr_assert_eq(p.alias_of[d], -1);
    cr_assert_eq(p.arena_bytes, 1792);
    ember_plan_free(&p);
    ember_graph_free(g);
}

Test(plan, in_place_needs_the_input_to_die_and_the_predicate)
{
    ember_graph *g = ember_graph_new(NULL);
    int x = val(g, "x", 256), a = val(g, "a", 256), b = val(g, "b", 256), c = val(g, "c", 256);
    int y = val(g, "y", 256);
    unary(g, x, a);
    node(g, "Relu", &a, 1, &b, 1);           /* a still read below: no sharing */
    node(g, "Add", (int[]){a, b}, 2, &c, 1); /* a dies here: c may take it (input 0) */
    unary(g, c, y);
    set_io(g, x, y);
    ember_plan p = plan_ok(g, elementwise);
    cr_assert_eq(p.alias_of[b], -1);
    cr_assert_eq(p.alias_of[c], a);
    cr_assert_eq(p.arena_bytes, 512);
    cr_assert_eq(p.lower_bound, 512);
    ember_plan_free(&p);
    ember_graph_free(g);
}

Test(plan, dead_outputs_live_one_step_and_skipped_outputs_are_ignored)
{
    ember_graph *g = ember_graph_new(NULL);
    int x = val(g, "x", 64), a = val(g, "a", 512), dead = val(g, "dead", 1024), y = val(g, "y", 64);
    node(g, "Identity", &x, 1, (int[]){a, -1, dead}, 3);
    unary(g, a, y);
    set_io(g, x, y);
    ember_plan p = plan_ok(g, NULL);
    cr_assert_eq(p.first[dead], 0);
    cr_assert_eq(p.last[dead], 0);
    cr_assert_eq(p.lower_bound, 1536);
    cr_assert_eq(p.arena_bytes, 1536);
    ember_plan_free(&p);
    ember_graph_free(g);
}

Test(plan, constants_are_not_in_the_arena)
{
    ember_graph *g = ember_graph_new(NULL);
    int x = val(g, "x", 64), w = val(g, "w", 4096), a = val(g, "a", 64), y = val(g, "y", 64);
    g->values[w].flags |= EMBER_VALUE_CONST;
    node(g, "Add", (int[]){x, w}, 2, &a, 1);
    unary(g, a, y);
    set_io(g, x, y);
    ember_plan p = plan_ok(g, NULL);
    cr_assert_eq(p.offset[w], -1);
    cr_assert_eq(p.size[w], 4096);
    cr_assert_eq(p.arena_bytes, 64);
    ember_plan_free(&p);
    ember_graph_free(g);
}

Test(plan, refuses_unknown_shapes_naming_the_tensor)
{
    ember_graph *g = chain4(256);
    g->values[ember_graph_find(g, "b")].shape.dims[0] = -1;
    ember_plan p;
    cr_assert_eq(ember_plan_memory(g, NULL, NULL, &p), EMBER_E_UNSUPPORTED);
    cr_assert(strstr(ember_last_error(), "'b'"), "%s", ember_last_error());
    cr_assert(strstr(ember_last_error(), "bind the input shapes"), "%s", ember_last_error());
    cr_assert_null(p.offset);
    g->values[ember_graph_find(g, "b")].shape.rank = -1;
    cr_assert_eq(ember_plan_memory(g, NULL, NULL, &p), EMBER_E_UNSUPPORTED);
    g->values[ember_graph_find(g, "b")].shape.rank = 1;
    g->values[ember_graph_find(g, "b")].shape.dims[0] = 4;
    g->values[ember_graph_find(g, "b")].dtype = EMBER_DT_UNDEFINED;
    cr_assert_eq(ember_plan_memory(g, NULL, NULL, &p), EMBER_E_UNSUPPORTED);
    cr_assert(strstr(ember_last_error(), "'b'"), "%s", ember_last_error());
    cr_assert_eq(ember_plan_memory(NULL, NULL, NULL, &p), EMBER_E_INVALID_ARG);
    cr_assert_eq(ember_plan_memory(g, NULL, NULL, NULL), EMBER_E_INVALID_ARG);
    ember_graph_free(g);
}

Test(plan, refuses_nodes_out_of_order)
{
    ember_graph *g = ember_graph_new(NULL);
    int x = val(g, "x", 64), a = val(g, "a", 64), b = val(g, "b", 64), y = val(g, "y", 64);
    unary(g, a, b);
    unary(g, x, a);
    unary(g, b, y);
    set_io(g, x, y);
    ember_plan p;
    cr_assert_eq(ember_plan_memory(g, NULL, NULL, &p), EMBER_E_INVALID_ARG);
    cr_assert(strstr(ember_last_error(), "topological"), "%s", ember_last_error());
    ember_graph_free(g);
}

Test(plan, values_captured_by_subgraphs_live_to_the_end)
{
    ember_graph *g = chain4(256);
    ember_graph *body = ember_graph_new(g);
    ember_graph *inner = ember_graph_new(body); /* captured two levels down */
    int cap = ember_graph_add_value(inner, "a");
    inner->values[cap].flags |= EMBER_VALUE_OUTER;
    ember_plan p = plan_ok(g, always);
    int a = ember_graph_find(g, "a"), b = ember_graph_find(g, "b"), c = ember_graph_find(g, "c");
    cr_assert_eq(p.last[a], 3);
    cr_assert_eq(p.alias_of[b], -1); /* a never dies, so nothing takes its buffer */
    cr_assert_eq(p.alias_of[c], b);
    cr_assert_eq(p.arena_bytes, 512);
    cr_assert_eq(p.lower_bound, 512);
    ember_plan_free(&p);
    ember_graph_free(g);
}

Test(plan, verify_names_overlapping_tensors)
{
    ember_graph *g = chain4(256);
    ember_plan p = plan_ok(g, NULL);
    int a = ember_graph_find(g, "a"), b = ember_graph_find(g, "b"), c = ember_graph_find(g, "c");
    int64_t saved = p.offset[b];
    p.offset[b] = p.offset[a] + 64;
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_E_INTERNAL);
    cr_assert(strstr(ember_last_error(), "'a'") && strstr(ember_last_error(), "'b'"), "%s", ember_last_error());
    p.offset[b] = saved;
    p.arena_bytes -= 64;
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_E_INTERNAL);
    cr_assert(strstr(ember_last_error(), "does not fit"), "%s", ember_last_error());
    p.arena_bytes += 64;
    p.last[b] = 1; /* c's node reads b at step 2 */
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_E_INTERNAL);
    cr_assert(strstr(ember_last_error(), "'b'"), "%s", ember_last_error());
    p.last[b] = 2;
    p.alias_of[c] = b; /* claims b's buffer, but sits elsewhere */
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_E_INTERNAL);
    p.alias_of[c] = -1;
    p.offset[c] = -1;
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_E_INTERNAL);
    cr_assert(strstr(ember_last_error(), "'c'"), "%s", ember_last_error());
    ember_plan_free(&p);
    ember_graph_free(g);
}

Test(plan, verify_refuses_sharing_between_live_tensors)
{
    ember_graph *g = chain4(256);
    ember_plan p = plan_ok(g, NULL);
    int a = ember_graph_find(g, "a"), b = ember_graph_find(g, "b"), c = ember_graph_find(g, "c");
    p.offset[c] = p.offset[b];
    p.offset[b] = p.offset[a];
    p.alias_of[b] = a; /* fine: a dies where b is born */
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_OK, "%s", ember_last_error());
    p.last[a] = 2; /* now both are live at step 2 */
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_E_INTERNAL);
    cr_assert(strstr(ember_last_error(), "share one buffer"), "%s", ember_last_error());
    ember_plan_free(&p);
    ember_graph_free(g);
}

/* Every intermediate read by one node: all lifetimes overlap, far past the pair budget of
 * greedy-by-size, so the sweep allocator plans it; the tail then reuses the freed space. */
Test(plan, dense_lifetimes_use_the_sweep)
{
    enum { N = 5000 };
    ember_graph *g = ember_graph_new(NULL);
    int x = val(g, "x", 64), cat = val(g, "cat", 64 * 2 * N), t = val(g, "t", 128), y = val(g, "y", 64);
    int *vs = malloc(N * sizeof *vs);
    char name[32];
    size_t sum = 0;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "v%d", i);
        vs[i] = val(g, name, 64 * (1 + i % 3));
        sum += 64 * (1 + i % 3);
        unary(g, x, vs[i]);
    }
    node(g, "Concat", vs, N, &cat, 1);
    unary(g, cat, t);
    unary(g, t, y);
    set_io(g, x, y);
    ember_plan p = plan_ok(g, NULL);
    cr_assert_eq(p.lower_bound, sum + 64 * 2 * N);
    cr_assert_eq(p.arena_bytes, p.lower_bound);
    cr_assert_eq(p.offset[t], 0); /* where the first v lived */
    ember_plan_free(&p);
    free(vs);
    ember_graph_free(g);
}

/* ---- random graphs, checked pair by pair (independently of ember_plan_verify) ---- */

static uint64_t rng_state;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng_state >> 33) % n;
}

/* Pseudo-random but a pure function of its arguments, as a predicate must be. */
static bool some(void *ctx, const ember_node *n, int in_idx, int out_idx)
{
    (void)ctx;
    unsigned h = 2166136261u;
    for (const char *s = n->name; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return (h + (unsigned)in_idx * 7u + (unsigned)out_idx * 3u) % 3 != 0;
}

static void brute_force_check(const ember_graph *g, const ember_plan *p)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            int v = g->nodes[i].inputs[k];
            if (p->offset[v] >= 0) cr_assert(p->first[v] < i && i <= p->last[v]);
        }
    for (int u = 0; u < g->n_values; u++) {
        if (p->offset[u] < 0) continue;
        cr_assert_leq((size_t)p->offset[u] + p->size[u], p->arena_bytes);
        for (int v = u + 1; v < g->n_values; v++) {
            if (p->offset[v] < 0 || !p->size[u] || !p->size[v]) continue;
            if (p->first[u] > p->last[v] || p->first[v] > p->last[u]) continue;
            if (p->offset[u] >= p->offset[v] + (int64_t)p->size[v] || p->offset[v] >= p->offset[u] + (int64_t)p->size[u])
                continue;
            int ru = p->alias_of[u] >= 0 ? p->alias_of[u] : u, rv = p->alias_of[v] >= 0 ? p->alias_of[v] : v;
            cr_assert_eq(ru, rv, "'%s' and '%s' overlap", g->values[u].name, g->values[v].name);
            cr_assert(p->last[u] == p->first[v] || p->last[v] == p->first[u], "'%s' and '%s' share while live",
                      g->values[u].name, g->values[v].name);
        }
    }
}

/* n nodes; each reads up to `fan` earlier values (reads of x when dense) and writes one or
 * two outputs with sizes from a small set, so that in-place sizes match often. */
static ember_graph *random_graph(int n, int fan, bool dense)
{
    ember_graph *g = ember_graph_new(NULL);
    int *made = malloc((size_t)(2 * n + 1) * sizeof *made), nm = 0;
    char name[32];
    made[nm++] = val(g, "x", 256);
    for (int i = 0; i < n; i++) {
        int ins[4], outs[2], ni = 1 + (int)rnd((unsigned)fan), no = 1 + (rnd(4) == 0);
        for (int k = 0; k < ni; k++) ins[k] = dense && k == 0 ? made[0] : made[nm - 1 - (int)rnd(nm < 8 ? (unsigned)nm : 8u)];
        for (int o = 0; o < no; o++) {
            snprintf(name, sizeof name, "v%d_%d", i, o);
            outs[o] = val(g, name, 64 * (1 + rnd(4)) * (rnd(10) == 0 ? 16 : 1));
            if (rnd(50) == 0) g->values[outs[o]].flags |= EMBER_VALUE_OUTPUT;
        }
        node(g, "Add", ins, ni, outs, no);
        for (int o = 0; o < no; o++) made[nm++] = outs[o];
    }
    if (dense) { /* one node reading every other value keeps them all live together */
        int y = val(g, "tail", 64);
        node(g, "Concat", made + 1, nm - 1, &y, 1);
        made[nm++] = y;
    }
    int y = val(g, "y", 64);
    node(g, "Identity", &made[nm - 1], 1, &y, 1);
    set_io(g, made[0], y);
    free(made);
    return g;
}

Test(plan, random_graphs)
{
    rng_state = 42;
    double worst = 1.0, sum = 0;
    int plans = 0, over = 0;
    for (int t = 0; t < 300; t++) {
        ember_graph *g = random_graph(10 + (int)rnd(300), 1 + (int)rnd(3), false);
        for (int pass = 0; pass < 3; pass++) {
            ember_inplace_fn f = pass == 0 ? NULL : pass == 1 ? some : always;
            ember_plan p = plan_ok(g, f);
            brute_force_check(g, &p);
            cr_assert_geq(p.arena_bytes, p.lower_bound);
            double r = (double)p.arena_bytes / (double)p.lower_bound;
            if (r > worst) worst = r;
            sum += r;
            plans++;
            over += r > 1.1;
            ember_plan_free(&p);
        }
        ember_graph_free(g);
    }
    cr_log_info("random graphs: arena / lower bound mean %.4f, worst %.3f, %d of %d plans over 1.1",
                sum / plans, worst, over, plans);
}

Test(plan, random_dense_graph_uses_the_sweep)
{
    rng_state = 7;
    ember_graph *g = random_graph(4500, 2, true);
    for (int pass = 0; pass < 2; pass++) {
        ember_plan p = plan_ok(g, pass ? some : NULL);
        brute_force_check(g, &p);
        cr_assert_geq(p.arena_bytes, p.lower_bound);
        cr_log_info("dense random graph: arena %zu, bound %zu", p.arena_bytes, p.lower_bound);
        ember_plan_free(&p);
    }
    ember_graph_free(g);
}

Test(plan, long_chain_plans_fast)
{
    enum { N = 200000 };
    ember_graph *g = ember_graph_new(NULL);
    char name[32];
    int prev = val(g, "v0", 1024);
    for (int i = 1; i <= N; i++) {
        snprintf(name, sizeof name, "v%d", i);
        /* varying sizes so the size order is not the step order */
        int v = val(g, name, 64 * (1 + (i * 7919) % 13));
        unary(g, prev, v);
        prev = v;
    }
    set_io(g, ember_graph_find(g, "v0"), prev);
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ember_plan p;
    cr_assert_eq(ember_plan_memory(g, NULL, NULL, &p), EMBER_OK, "%s", ember_last_error());
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_OK, "%s", ember_last_error());
    clock_gettime(CLOCK_MONOTONIC, &t2);
    cr_log_info("200000-node chain: plan %.3f s, verify %.3f s, arena %zu, bound %zu",
                (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
                (double)(t2.tv_sec - t1.tv_sec) + 1e-9 * (double)(t2.tv_nsec - t1.tv_nsec), p.arena_bytes,
                p.lower_bound);
    cr_assert_leq(p.arena_bytes, p.lower_bound * 3 / 2);
    ember_plan_free(&p);
    cr_assert_eq(ember_plan_memory(g, always, NULL, &p), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_OK, "%s", ember_last_error());
    ember_plan_free(&p);
    ember_graph_free(g);
}

/* ---- the model zoo ---- */

/* Some zoo models compute shapes at run time (Shape -> Gather -> Concat -> Reshape), so
 * load-time inference leaves dims unknown until constant folding removes those chains.
 * To plan them anyway, run the graph once on zeros, as the interpreter would, and write
 * every value's actual shape back: the shapes a session would bind. */
static void bind_shapes_by_running(ember_graph *g)
{
    int nv = g->n_values;
    ember_op_tensor *vals = calloc((size_t)nv, sizeof *vals);
    bool *owned = calloc((size_t)nv, sizeof *owned);
    for (int v = 0; v < nv; v++) {
        const ember_value *val = &g->values[v];
        vals[v].dtype = val->dtype;
        vals[v].rank = val->shape.rank;
        memcpy(vals[v].dims, val->shape.dims, sizeof vals[v].dims);
        for (int k = 0; k < EMBER_MAX_RANK; k++) vals[v].syms[k] = -1;
        if (val->flags & EMBER_VALUE_CONST) {
            vals[v].data = val->data;
            vals[v].nbytes = val->nbytes;
        } else if (val->flags & EMBER_VALUE_INPUT) {
            int64_t n = ember_shape_numel(&val->shape);
            cr_assert_geq(n, 0, "input '%s' has no static shape", val->name);
            vals[v].nbytes = (size_t)n * ember_dtype_size(val->dtype);
            vals[v].data = calloc(vals[v].nbytes + 1, 1);
            owned[v] = true;
        }
    }
    ember_op_tensor *pin[64], *pout[64];
    for (int i = 0; i < g->n_nodes; i++) {
        const ember_node *n = &g->nodes[i];
        cr_assert(n->op >= 0 && n->n_inputs <= 64 && n->n_outputs <= 64);
        for (int k = 0; k < n->n_inputs; k++) pin[k] = n->inputs[k] >= 0 ? &vals[n->inputs[k]] : NULL;
        for (int o = 0; o < n->n_outputs; o++) {
            int v = n->outputs[o];
            pout[o] = NULL;
            if (v < 0) continue;
            memset(&vals[v], 0, sizeof vals[v]);
            vals[v].rank = -1;
            for (int k = 0; k < EMBER_MAX_RANK; k++) vals[v].syms[k] = -1;
            pout[o] = &vals[v];
        }
        ember_op_ctx c = {.node = n, .graph = g, .opset = n->opset, .running = true, .n_in = n->n_inputs,
                          .n_out = n->n_outputs, .in = pin, .out = pout};
        cr_assert_eq(ember_op_table[n->op].infer(&c), EMBER_OK, "%s", ember_last_error());
        for (int o = 0; o < n->n_outputs; o++) {
            if (!pout[o] || pout[o]->data) continue;
            pout[o]->nbytes = (size_t)ember_op_numel(pout[o]) * ember_dtype_size(pout[o]->dtype);
            pout[o]->data = calloc(pout[o]->nbytes + 1, 1);
            owned[n->outputs[o]] = true;
        }
        c.scratch = c.scratch_bytes ? calloc(c.scratch_bytes, 1) : NULL;
        cr_assert_eq(ember_op_table[n->op].run(&c), EMBER_OK, "%s", ember_last_error());
        free(c.scratch);
        for (int o = 0; o < n->n_outputs; o++) {
            if (!pout[o]) continue;
            ember_value *val = &g->values[n->outputs[o]];
            val->dtype = pout[o]->dtype;
            val->shape.rank = pout[o]->rank;
            memcpy(val->shape.dims, pout[o]->dims, sizeof val->shape.dims);
        }
    }
    for (int v = 0; v < nv; v++)
        if (owned[v]) free(vals[v].data);
    free(vals);
    free(owned);
}

static void plan_model(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/models/%s/model.onnx", EMBER_SHARED_DIR, name);
    ember_model *m;
    cr_assert_eq(ember_model_load(path, &m), EMBER_OK, "%s", ember_last_error());
    ember_graph *g = ((struct ember_model *)m)->graph;
    ember_plan probe;
    if (ember_plan_memory(g, NULL, NULL, &probe) == EMBER_E_UNSUPPORTED) {
        cr_assert(strstr(ember_last_error(), "bind the input shapes"), "%s", ember_last_error());
        cr_log_info("%s: %s; binding the shapes of a run", name, ember_last_error());
        bind_shapes_by_running(g);
    } else {
        ember_plan_free(&probe);
    }
    for (int pass = 0; pass < 2; pass++) {
        ember_inplace_fn f = pass ? elementwise : NULL;
        ember_plan p = plan_ok(g, f);
        double ratio = p.lower_bound ? (double)p.arena_bytes / (double)p.lower_bound : 1.0;
        char *text = NULL;
        size_t len = 0;
        FILE *mf = open_memstream(&text, &len);
        ember_plan_print(g, &p, mf);
        fclose(mf);
        cr_assert(strstr(text, "lower bound"), "%s", text);
        cr_log_info("%s (%s): arena %zu, lower bound %zu, ratio %.4f\n%s", name,
                    pass ? "in-place" : "no in-place", p.arena_bytes, p.lower_bound, ratio, text);
        free(text);
        cr_assert_leq((double)p.arena_bytes, 1.1 * (double)p.lower_bound, "%s: arena %zu vs bound %zu", name,
                      p.arena_bytes, p.lower_bound);
        ember_plan_free(&p);
    }
    ember_model_free(m);
}

Test(plan_zoo, resnet18) { plan_model("resnet18"); }
Test(plan_zoo, mobilenet_v2) { plan_model("mobilenet_v2"); }
Test(plan_zoo, squeezenet1_1) { plan_model("squeezenet1_1"); }
Test(plan_zoo, shufflenet_v2_x1_0) { plan_model("shufflenet_v2_x1_0"); }
Test(plan_zoo, bert_tiny_like) { plan_model("bert_tiny_like"); }
Test(plan_zoo, kws_dscnn) { plan_model("kws_dscnn"); }
Test(plan_zoo, cifar_resnet8) { plan_model("cifar_resnet8"); }
Test(plan_zoo, vww_mobilenet025) { plan_model("vww_mobilenet025"); }
Test(plan_zoo, ad_autoencoder) { plan_model("ad_autoencoder"); }
Test(plan_zoo, lstm_kws) { plan_model("lstm_kws"); }

/* x -> a -> Reshape -> v -> b, with a also read after b: v is a view of a's buffer, the
 * buffer lives until the last reader of either, and it is counted once. */
Test(plan, reshape_is_a_view_of_its_input)
{
    ember_graph *g = ember_graph_new(NULL);
    int x = val(g, "x", 256), a = val(g, "a", 256), v = val(g, "v", 256), b = val(g, "b", 256);
    int c = val(g, "c", 256), y = val(g, "y", 256);
    unary(g, x, a);
    node(g, "Identity", &a, 1, &v, 1);
    unary(g, v, b);
    unary(g, b, c);
    node(g, "Add", (int[]){c, a}, 2, &y, 1);
    set_io(g, x, y);
    ember_plan p = plan_ok(g, NULL);
    cr_assert_eq(p.view[v], 1);
    cr_assert_eq(p.alias_of[v], a);
    cr_assert_eq(p.offset[v], p.offset[a]);
    cr_assert_eq(p.lower_bound, 768); /* a (with v), b, c at step 3 */
    cr_assert_eq(p.arena_bytes, 768);
    /* In place into a at the Add would clobber nothing, but b may not take a's buffer at
     * step 2 (v, a view of it, is read there; a is read at step 4). */
    ember_plan_free(&p);
    p = plan_ok(g, always);
    cr_assert_neq(p.offset[b], p.offset[a]);
    cr_assert_eq(p.view[v], 1);
    ember_plan_free(&p);
    /* A view that claims a buffer its node does not read is refused. */
    p = plan_ok(g, NULL);
    p.view[c] = 1;
    p.alias_of[c] = a;
    p.offset[c] = p.offset[a];
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_E_INTERNAL);
    ember_plan_free(&p);
    ember_graph_free(g);
}

/* x -> a, x -> b, Concat(a, b) -> c (axis 1 of [1, 16] pieces) -> y: a and b are planned into
 * c's halves, the Concat computes nothing, and verify still catches a slice placed outside. */
Test(plan, concat_inputs_written_into_their_slices)
{
    ember_graph *g = ember_graph_new(NULL);
    int64_t d16[2] = {1, 16}, d32[2] = {1, 32};
    int x = val(g, "x", 64), a = val(g, "a", 64), b = val(g, "b", 64), c = val(g, "c", 128), y = val(g, "y", 128);
    g->values[x].shape.rank = g->values[a].shape.rank = g->values[b].shape.rank = 2;
    memcpy(g->values[x].shape.dims, d16, sizeof d16);
    memcpy(g->values[a].shape.dims, d16, sizeof d16);
    memcpy(g->values[b].shape.dims, d16, sizeof d16);
    g->values[c].shape.rank = g->values[y].shape.rank = 2;
    memcpy(g->values[c].shape.dims, d32, sizeof d32);
    memcpy(g->values[y].shape.dims, d32, sizeof d32);
    unary(g, x, a);
    unary(g, x, b);
    int cn = node(g, "Concat", (int[]){a, b}, 2, &c, 1);
    ember_attr ax = {.name = "axis", .type = EMBER_ATTR_INT, .i = 1};
    g->nodes[cn].attrs = &ax;
    g->nodes[cn].n_attrs = 1;
    unary(g, c, y);
    set_io(g, x, y);
    ember_plan p = plan_ok(g, NULL);
    cr_assert_eq(p.part_of[a], c);
    cr_assert_eq(p.part_of[b], c);
    cr_assert_eq(p.view[c], 2);
    cr_assert_eq(p.offset[a], p.offset[c]);
    cr_assert_eq(p.offset[b], p.offset[c] + 64);
    cr_assert_eq(p.arena_bytes, 128);
    cr_assert_eq(p.lower_bound, 128);
    p.offset[b] = p.offset[c] + 128; /* outside c */
    p.arena_bytes = 256;
    cr_assert_eq(ember_plan_verify(g, &p), EMBER_E_INTERNAL);
    ember_plan_free(&p);
    g->nodes[cn].n_attrs = 0; /* the attribute lives on this stack frame */
    ember_graph_free(g);
}
