/* Building a program: private graph copy -> bound shapes -> passes -> memory plan ->
 * per-step scratch and fast-path choice. */
#include "program.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "graph_edit.h"
#include "cache.h"
#include "passes.h"
#include "program_layout.h"
#ifdef EMBER_JIT
#include "../jit/jit.h"
#endif

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static ember_status bind_inputs(ember_graph *g, const ember_tensor *inputs, int n_inputs)
{
    if (!inputs) return EMBER_OK;
    if (n_inputs != g->n_inputs)
        return ember_error(EMBER_E_INVALID_ARG, "the model takes %d inputs, got %d", g->n_inputs, n_inputs);
    for (int i = 0; i < n_inputs; i++) {
        ember_value *v = &g->values[g->inputs[i]];
        v->shape.rank = inputs[i].rank;
        for (int k = 0; k < EMBER_MAX_RANK; k++) {
            v->shape.dims[k] = k < inputs[i].rank ? inputs[i].dims[k] : 0;
            v->shape.syms[k] = -1;
        }
    }
    return EMBER_OK;
}

/* Every value a step touches needs a static shape: data-dependent shapes (NonZero,
 * Unique, If, Loop, ...) are the interpreter's business. */
static ember_status check_static(const ember_graph *g)
{
    for (int ni = 0; ni < g->n_nodes; ni++) {
        const ember_node *n = &g->nodes[ni];
        for (int o = 0; o < n->n_outputs; o++) {
            if (n->outputs[o] < 0) continue;
            const ember_value *v = &g->values[n->outputs[o]];
            if (ember_shape_numel(&v->shape) < 0 || ember_dtype_size(v->dtype) == 0)
                return ember_error(EMBER_E_UNSUPPORTED,
                                   "node '%s' (%s): output '%s' has a shape known only at run time; "
                                   "the cpu backend needs static shapes (use the interp backend)",
                                   n->name, n->op_type, v->name);
        }
        for (int a = 0; a < n->n_attrs; a++)
            if (n->attrs[a].type == EMBER_ATTR_GRAPH)
                return ember_error(EMBER_E_UNSUPPORTED,
                                   "node '%s' (%s) holds a subgraph; the cpu backend runs none "
                                   "(use the interp backend)", n->name, n->op_type);
    }
    return EMBER_OK;
}

/* Constants read only by host steps that keep their own copy (ember_host_kernel
 * drops_input: oneDNN's reordered weights) are not needed once those steps are prepared:
 * their pages go back and their data pointer becomes NULL, as soon as the last step
 * reading one is prepared, so the weights are never held twice in full. Graph outputs,
 * and memory that another value shares, stay. */
typedef struct const_release {
    signed char *cand; /* per value: may be given back (so far) */
    int *uses;         /* per value: reading slots of steps not prepared yet */
} const_release;

static int release_init(const ember_program *p, const_release *r)
{
    const ember_graph *g = p->g;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1);
    r->cand = calloc(nv, 1);
    r->uses = calloc(nv, sizeof *r->uses);
    if (!r->cand || !r->uses) {
        free(r->cand), free(r->uses);
        return -1;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (int v = 0; v < g->n_values; v++) {
        const ember_value *val = &g->values[v];
        r->cand[v] = (val->flags & EMBER_VALUE_CONST) && val->data && val->nbytes >= 16 * page;
    }
    for (int i = 0; i < g->n_outputs; i++) r->cand[g->outputs[i]] = 0;
    for (int v = 0; v < g->n_values; v++) {
        const ember_value *a = &g->values[v];
        for (int w = v + 1; r->cand[v] && w < g->n_values; w++) {
            const ember_value *b = &g->values[w];
            if (b->data && (const char *)b->data < (const char *)a->data + a->nbytes &&
                (const char *)a->data < (const char *)b->data + b->nbytes)
                r->cand[v] = r->cand[w] = 0;
        }
    }
    for (int si = 0; si < p->n_steps; si++) {
        const ember_node *n = &g->nodes[p->steps[si].node];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0) r->uses[n->inputs[k]]++;
    }
    return 0;
}

/* Step si is prepared: its constant inputs it copied lose a reader. */
static void release_note(ember_program *p, const_release *r, int si)
{
    ember_graph *g = p->g;
    const ember_step *s = &p->steps[si];
    const ember_node *n = &g->nodes[s->node];
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int k = 0; k < n->n_inputs; k++) {
        int v = n->inputs[k];
        if (v < 0 || !r->cand[v]) continue;
        if (!(s->host && s->host->drops_input && s->host->drops_input(s->host_state, k))) {
            r->cand[v] = 0;
            continue;
        }
        if (--r->uses[v] > 0) continue;
        ember_value *val = &g->values[v];
        uintptr_t lo = ((uintptr_t)val->data + page - 1) & ~(page - 1);
        uintptr_t hi = ((uintptr_t)val->data + val->nbytes) & ~(page - 1);
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
        val->data = NULL;
        r->cand[v] = 0;
    }
}

static void release_free(const_release *r)
{
    free(r->cand);
    free(r->uses);
}

/* Scratch sizes and fast paths need each op's run-time view: inputs with data. Inputs
 * computed at run time get a zeroed stand-in here so no rule ever reads NULL. */
static ember_status prepare_steps(ember_program *p, int threads, int host, const char *const *choice,
                                  const_release *rel)
{
    ember_graph *g = p->g;
    size_t dummy_bytes = 64;
    for (int v = 0; v < g->n_values; v++)
        if (!(g->values[v].flags & EMBER_VALUE_CONST)) {
            int64_t n = ember_shape_numel(&g->values[v].shape);
            size_t b = n > 0 ? (size_t)n * ember_dtype_size(g->values[v].dtype) : 0;
            if (b > dummy_bytes) dummy_bytes = b;
        }
    void *dummy = calloc(1, dummy_bytes);
    if (!dummy) return ember_error(EMBER_E_NO_MEMORY, "out of memory building the program");
    ember_status st = EMBER_OK;
    ember_op_tensor ins[64], outs[64], *pin[64], *pout[64];
    for (int si = 0; si < p->n_steps && st == EMBER_OK; si++) {
        ember_step *s = &p->steps[si];
        const ember_node *n = &g->nodes[s->node];
        if (n->n_inputs > 64 || n->n_outputs > 64) {
            st = ember_error(EMBER_E_UNSUPPORTED, "node '%s' has too many inputs or outputs", n->name);
            break;
        }
        for (int k = 0; k < n->n_inputs; k++) {
            pin[k] = n->inputs[k] >= 0 ? &ins[k] : NULL;
            if (!pin[k]) continue;
            ins[k] = p->templ[n->inputs[k]];
            const ember_value *v = &g->values[n->inputs[k]];
            ins[k].data = (v->flags & EMBER_VALUE_CONST) ? v->data : dummy;
        }
        for (int o = 0; o < n->n_outputs; o++) {
            pout[o] = n->outputs[o] >= 0 ? &outs[o] : NULL;
            if (pout[o]) {
                memset(&outs[o], 0, sizeof outs[o]);
                outs[o].rank = -1;
            }
        }
        ember_op_ctx c = {.node = n, .graph = g, .opset = n->opset, .running = true,
                          .n_in = n->n_inputs, .n_out = n->n_outputs, .in = pin, .out = pout};
        st = ember_op_table[n->op].infer(&c);
        if (st != EMBER_OK) break;
        s->scratch_bytes = c.scratch_bytes;
        double f = ember_node_flops(g, n);
        s->flops = f > 0 ? f : 0;
        /* Fast paths see constants only: other inputs' data is not known yet. */
        for (int k = 0; k < n->n_inputs; k++)
            if (pin[k] && !(g->values[n->inputs[k]].flags & EMBER_VALUE_CONST)) ins[k].data = NULL;
        int nk = 0;
        const ember_host_kernel *const *ks = host ? ember_host_kernels_for(n->op, &nk) : NULL;
        /* From the compile cache: the fast path chosen last time goes first ("": none
         * took the node, so none is asked); the others follow in case it declines. */
        int first = 0;
        if (choice && !choice[si][0]) nk = 0;
        for (int k = 0; choice && k < nk; k++)
            if (strcmp(ks[k]->name, choice[si]) == 0) first = k;
        for (int kk = 0; kk < nk; kk++) {
            int k = kk == 0 ? first : kk <= first ? kk - 1 : kk;
            c.scratch_bytes = 0;
            void *state = NULL;
            ember_status hs = ks[k]->prepare(&c, threads, &state);
            if (hs == EMBER_E_UNSUPPORTED) {
                ember_error_clear();
                continue;
            }
            if (hs != EMBER_OK) {
                st = hs;
                break;
            }
            s->host = ks[k];
            s->host_state = state;
            if (c.scratch_bytes > s->scratch_bytes) s->scratch_bytes = c.scratch_bytes;
            break;
        }
        if (st == EMBER_OK && rel) release_note(p, rel, si);
    }
    free(dummy);
    return st;
}

ember_status ember_precision_parse(const char *s, int *precision)
{
    if (!s || strcmp(s, "fp32") == 0) *precision = EMBER_PRECISION_FP32;
    else if (strcmp(s, "bf16") == 0) *precision = EMBER_PRECISION_BF16;
    else return ember_error(EMBER_E_INVALID_ARG, "unknown precision '%s' (available: fp32, bf16)", s);
    return EMBER_OK;
}

/* bf16: every node of the program's private graph is marked ember_precision = "bf16"
 * before the fast paths are chosen; the kernels that compute in bf16 (oneDNN's) read
 * it, the others ignore it. A per-node mark rather than a program-wide flag leaves room
 * for keeping chosen nodes in fp32 later. */
static ember_status mark_precision(ember_graph *g, int precision)
{
    if (precision != EMBER_PRECISION_BF16) return EMBER_OK;
    TRY(ember_host_bf16_check());
    ember_attr a = {.name = "ember_precision", .type = EMBER_ATTR_STRING, .s = "bf16", .s_len = 4};
    for (int ni = 0; ni < g->n_nodes; ni++) TRY(ember_edit_set_attr(g, ni, &a));
    return EMBER_OK;
}

/* ember_inplace_fn over the prepared steps: a host kernel that reads an input before
 * writing over it (ops/host.h inplace_input) and does not read it through another slot. */
static bool step_inplace_ok(void *ctx, const ember_node *n, int in_idx, int out_idx)
{
    const ember_program *p = ctx;
    const ember_step *s = &p->steps[n - p->g->nodes];
    if (out_idx != 0 || !s->host || !s->host->inplace_input || !s->host->inplace_input(s->host_state, in_idx))
        return false;
    for (int k = 0; k < n->n_inputs; k++)
        if (k != in_idx && n->inputs[k] == n->inputs[in_idx]) return false;
    return true;
}

/* Once the steps are prepared and their layouts chained, plans memory again letting
 * outputs share a dying input's buffer where the step's kernel allows it (a conv's fused
 * residual: no copy of it into dst). Only offsets change; not with the JIT, whose
 * lowered kernels write outputs before reading residuals. EMBER_INPLACE=0 turns it off,
 * for measurements. */
static ember_status replan_inplace(ember_program *p)
{
    const char *env = getenv("EMBER_INPLACE");
    if (env && strcmp(env, "0") == 0) return EMBER_OK;
    int any = 0;
    for (int i = 0; i < p->n_steps && !any; i++) any = p->steps[i].host && p->steps[i].host->inplace_input;
    if (!any) return EMBER_OK;
    ember_plan plan;
    TRY(ember_plan_memory(p->g, step_inplace_ok, p, &plan));
    ember_plan_free(&p->plan);
    p->plan = plan;
    return EMBER_OK;
}

/* The optimized graph's last steps, shared by a fresh build and a cache hit. */
static ember_status finish_graph(ember_program *p, const ember_program_options *opt)
{
    int precision = opt ? opt->precision : EMBER_PRECISION_FP32;
    TRY(check_static(p->g));
    TRY(mark_precision(p->g, precision));
    TRY(ember_plan_memory(p->g, NULL, NULL, &p->plan));
    return ember_program_mark_channel_blocks(p, precision);
}

/* A cached graph must take and give what the model does: the same inputs (names, dtypes,
 * the bound or declared shapes) and outputs (names, dtypes), since runs are checked
 * against the model's graph and use the program's sizes. */
static ember_status same_interface(const ember_graph *m, const ember_graph *c, const ember_tensor *inputs,
                                   int n_inputs)
{
    if (m->n_inputs != c->n_inputs || m->n_outputs != c->n_outputs)
        return ember_error(EMBER_E_INVALID_MODEL, "cache entry: other inputs or outputs");
    for (int i = 0; i < m->n_inputs + m->n_outputs; i++) {
        const ember_value *a = &m->values[i < m->n_inputs ? m->inputs[i] : m->outputs[i - m->n_inputs]];
        const ember_value *b = &c->values[i < m->n_inputs ? c->inputs[i] : c->outputs[i - m->n_inputs]];
        if (strcmp(a->name, b->name) != 0 || (a->dtype && a->dtype != b->dtype))
            return ember_error(EMBER_E_INVALID_MODEL, "cache entry: '%s' differs from the model", b->name);
        if (i >= m->n_inputs) continue;
        const ember_shape *want = &a->shape;
        int rank = inputs && i < n_inputs ? inputs[i].rank : want->rank;
        if (b->shape.rank != rank) return ember_error(EMBER_E_INVALID_MODEL, "cache entry: input '%s' rank", b->name);
        for (int k = 0; k < rank; k++) {
            int64_t d = inputs && i < n_inputs ? inputs[i].dims[k] : want->dims[k];
            if (b->shape.dims[k] != d)
                return ember_error(EMBER_E_INVALID_MODEL, "cache entry: input '%s' shape", b->name);
        }
    }
    return EMBER_OK;
}

/* The optimized graph from the compile cache (p->g set, p->cache HIT, the per-step
 * fast-path choices returned), or nothing (p->cache MISS or OFF, *key set for a store).
 * Shapes and the memory plan are recomputed from the entry's graph, not read from it. */
static const char *const *from_cache(ember_program *p, const ember_model *model, const ember_tensor *inputs,
                                     int n_inputs, const ember_program_options *opt, ember_cache_key *key)
{
    p->cache = EMBER_CACHE_OFF;
    if (!opt || !opt->use_cache) return NULL;
    if (ember_cache_key_for(model, inputs, n_inputs, opt, key) != EMBER_OK) {
        ember_error_clear();
        return NULL;
    }
    p->cache = EMBER_CACHE_MISS;
    p->cache_key[0] = key->k[0], p->cache_key[1] = key->k[1];
    ember_cache_entry e;
    if (!ember_cache_load(key, &e)) return NULL;
    p->g = e.g;
    ember_status st = same_interface(model->graph, p->g, inputs, n_inputs);
    if (st == EMBER_OK) st = ember_graph_infer(p->g);
    if (st == EMBER_OK) st = finish_graph(p, opt);
    if (st == EMBER_OK) {
        p->cache = EMBER_CACHE_HIT;
        p->cache_map = e.map;
        p->cache_map_bytes = e.map_bytes;
        return e.kernels;
    }
    /* Not the entry's fault when the host refuses (bf16) or memory ran out: the fresh build
     * below reports it, or replaces the entry. */
    ember_error_clear();
    ember_plan_free(&p->plan);
    ember_graph_free(p->g);
    p->g = NULL;
    ember_cache_unmap(e.map, e.map_bytes);
    return NULL;
}

ember_status ember_program_build(const ember_model *model, const ember_tensor *inputs, int n_inputs,
                                 const ember_program_options *opt, ember_program **out)
{
    double t0 = now_ms();
    *out = NULL;
    ember_program *p = calloc(1, sizeof *p);
    if (!p) return ember_error(EMBER_E_NO_MEMORY, "out of memory building the program");
    ember_cache_key key;
    const char *const *choice = from_cache(p, model, inputs, n_inputs, opt, &key);
    ember_status st = EMBER_OK;
    if (!p->g) {
        ember_model_meta meta;
        st = ember_model_reimport(model, &p->g, &meta);
        if (st == EMBER_OK) st = bind_inputs(p->g, inputs, n_inputs);
        if (st == EMBER_OK) st = ember_graph_infer(p->g);
        if (st == EMBER_OK && (!opt || opt->optimize)) st = ember_graph_optimize(p->g, NULL);
        if (st == EMBER_OK) st = finish_graph(p, opt);
    }
    if (st != EMBER_OK) goto fail;
    ember_graph *g = p->g;
    p->n_steps = g->n_nodes;
    p->steps = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *p->steps);
    p->templ = calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *p->templ);
    if (!p->steps || !p->templ) {
        st = ember_error(EMBER_E_NO_MEMORY, "out of memory building the program");
        goto fail;
    }
    for (int v = 0; v < g->n_values; v++) {
        ember_value_to_op_tensor(&g->values[v], &p->templ[v]);
        p->templ[v].data = NULL;
        int64_t n = ember_shape_numel(&g->values[v].shape);
        p->templ[v].nbytes = n > 0 ? (size_t)n * ember_dtype_size(g->values[v].dtype) : 0;
        for (int k = 0; k < EMBER_MAX_RANK; k++) p->templ[v].syms[k] = -1;
    }
    for (int i = 0; i < g->n_nodes; i++) p->steps[i].node = i;
    int threads = opt && opt->threads > 0 ? opt->threads : 0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    p->threads_asked = threads > 0 ? threads : cores > 0 ? (int)cores : 1;
    if (ember_program_small(g, p->threads_asked, opt)) threads = 1; /* engine/program_tune.c */
    p->threads = threads > 0 ? threads : p->threads_asked;
    /* The JIT, when it is to run, builds its constant blob from the graph after every step
     * is prepared: constants go back only after it (jit/jit.c: EMBER_JIT=1 turns it on). */
    int release_early = 1;
#ifdef EMBER_JIT
    const char *jit_env = getenv("EMBER_JIT");
    release_early = (opt && opt->reference_only) || !jit_env || strcmp(jit_env, "1") != 0;
#endif
    const_release rel;
    int have_rel = release_init(p, &rel) == 0;
    /* The graph and its constants go to the cache before the steps may give them back. */
    ember_cache_writer *cw = p->cache == EMBER_CACHE_MISS ? ember_cache_store_begin(&key, p) : NULL;
    st = prepare_steps(p, threads, !(opt && opt->reference_only), choice, have_rel && release_early ? &rel : NULL);
    if (st == EMBER_OK) st = ember_program_chain_layouts(p);
    if (st == EMBER_OK && release_early) st = replan_inplace(p);
    ember_cache_store_end(cw, p, st == EMBER_OK);
    if (st != EMBER_OK) {
        if (have_rel) release_free(&rel);
        goto fail;
    }
    size_t scratch = 0;
    for (int i = 0; i < p->n_steps; i++) {
        if (p->steps[i].scratch_bytes > scratch) scratch = p->steps[i].scratch_bytes;
        p->foreign_steps += ember_step_foreign(&p->steps[i]);
    }
    const char *on_omp = getenv("EMBER_POOL_ON_OPENMP"); /* =0: keep them on the pool, to measure */
    p->pool_on_openmp = p->foreign_steps > 0 && !(on_omp && strcmp(on_omp, "0") == 0);
    p->scratch_offset = (p->plan.arena_bytes + 63) & ~(size_t)63;
    p->arena_bytes = p->scratch_offset + ((scratch + 63) & ~(size_t)63);
    for (int i = 0; i < g->n_inputs && i < 64; i++)
        for (int k = 0; k < EMBER_MAX_RANK; k++) p->in_dims[i][k] = g->values[g->inputs[i]].shape.dims[k];
#ifdef EMBER_JIT
    if (!(opt && opt->reference_only)) ember_jit_attach(p); /* compiled code when every step lowers */
#endif
    if (have_rel) {
        for (int si = 0; !release_early && si < p->n_steps; si++) release_note(p, &rel, si);
        release_free(&rel);
    }
    p->compile_ms = now_ms() - t0;
    *out = p;
    return EMBER_OK;
fail:
    ember_program_free(p);
    return st;
}

void ember_program_free(ember_program *p)
{
    if (!p) return;
#ifdef EMBER_JIT
    ember_jit_detach(p);
#endif
    ember_run_pools_free(p->pools);
    if (p->steps)
        for (int i = 0; i < p->n_steps; i++)
            if (p->steps[i].host && p->steps[i].host->release) p->steps[i].host->release(p->steps[i].host_state);
    free(p->steps);
    free(p->templ);
    ember_plan_free(&p->plan);
    ember_graph_free(p->g);
    ember_cache_unmap(p->cache_map, p->cache_map_bytes);
    free(p);
}

int ember_program_matches(const ember_program *p, const ember_tensor *inputs, int n_inputs)
{
    const ember_graph *g = p->g;
    if (n_inputs != g->n_inputs) return 0;
    for (int i = 0; i < n_inputs && i < 64; i++) {
        const ember_value *v = &g->values[g->inputs[i]];
        if (inputs[i].rank != v->shape.rank) return 0;
        for (int k = 0; k < inputs[i].rank; k++)
            if (inputs[i].dims[k] != p->in_dims[i][k]) return 0;
    }
    return 1;
}
