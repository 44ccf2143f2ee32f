/* Sessions: a model prepared for a backend, run from any number of threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "interp.h"
#include "model.h"
#include "profile.h"
#include "program.h"
#include "status.h"

void ember_session_options_init(ember_session_options *o)
{
    memset(o, 0, sizeof *o);
    o->optimize = 1;
    o->use_cache = 1;
}

static int inputs_static(const ember_graph *g)
{
    for (int i = 0; i < g->n_inputs; i++)
        if (ember_shape_numel(&g->values[g->inputs[i]].shape) < 0) return 0;
    return 1;
}

/* A graph the cpu backend cannot lower (data-dependent shapes, subgraphs) runs on the
 * interpreter; the session says so in its backend name. */
static void fall_back(ember_session *s)
{
    s->interpreted = 1;
    snprintf(s->backend, sizeof s->backend, "cpu (interpreted: %s)", ember_last_error());
    ember_error_clear();
}

/* Runs of a freshly built program on zero inputs, their results dropped, so that what a
 * first run would otherwise set up lazily happens at creation: the run's thread pool
 * (engine/exec.c) and OpenMP's team, this thread's oneDNN stream and memory objects for
 * every argument, OpenBLAS's buffers, page faults on the arena, on weights mapped from
 * the compile cache (all of them: touch_constants) and on the kernels' code. Any data is
 * a valid input (kernels never trap on values), so zeros are too; a failure here is not
 * the caller's: the real run reports it. A second run when the first was short: after
 * one, small models' next run was still 15-50% slower than the steady state
 * (vww_mobilenet025 0.21 vs 0.155 ms), after two within a few percent, for well under a
 * millisecond of creation time; big models were within noise after one. Threads other
 * than the creator still make their own stream and memory objects on their first run
 * (tests/unit/test_first_run.c counts threads and page faults of a first run). */
#define WARM_UP_SECOND_RUN_NS 5000000ull

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Reads a byte of every page of the constants the program still holds (those a fast
 * path copied and gave back have no data): a run may read only some of a weight (a Gather
 * of embedding rows picks rows by the input), and a zero-input run picks other rows than
 * a real one. Mapped from the compile cache, each page untouched so far is a fault. */
static void touch_constants(const ember_graph *g)
{
    volatile unsigned char sink = 0;
    for (int v = 0; v < g->n_values; v++) {
        const ember_value *val = &g->values[v];
        if (!(val->flags & EMBER_VALUE_CONST) || !val->data) continue;
        const unsigned char *b = val->data;
        for (size_t at = 0; at < val->nbytes; at += 4096) sink ^= b[at];
        if (val->nbytes) sink ^= b[val->nbytes - 1];
    }
    (void)sink;
}

static void warm_up(const ember_program *p, void *arena)
{
    const ember_graph *g = p->g;
    touch_constants(g);
    ember_tensor in[64] = {{0}}, out[64] = {{0}};
    if (g->n_inputs > 64 || g->n_outputs > 64) return;
    int made = 0, ok = 1;
    for (; made < g->n_inputs && ok; made++) {
        const ember_op_tensor *t = &p->templ[g->inputs[made]];
        in[made] = (ember_tensor){.dtype = t->dtype, .rank = t->rank, .nbytes = t->nbytes};
        memcpy(in[made].dims, t->dims, sizeof in[made].dims);
        ok = (in[made].data = calloc(1, t->nbytes ? t->nbytes : 1)) != NULL;
    }
    for (int run = 0; ok && run < 2; run++) {
        uint64_t t0 = now_ns();
        ok = ember_program_run(p, arena, in, g->n_inputs, out, g->n_outputs, NULL) == EMBER_OK;
        if (ok)
            for (int o = 0; o < g->n_outputs; o++) free(out[o].data);
        if (now_ns() - t0 >= WARM_UP_SECOND_RUN_NS) break;
    }
    for (int i = 0; i < made; i++) free(in[i].data);
    ember_error_clear();
}

ember_status ember_session_create_ex(const ember_model *m, const ember_session_options *opts,
                                     ember_session **out)
{
    ember_error_clear();
    if (!out) return ember_error(EMBER_E_INVALID_ARG, "ember_session_create: session pointer is NULL");
    *out = NULL;
    if (!m) return ember_error(EMBER_E_INVALID_ARG, "ember_session_create: model is NULL");
    ember_session_options o;
    ember_session_options_init(&o);
    if (opts) o = *opts;
    const char *backend = o.backend ? o.backend : "cpu";
    if (strcmp(backend, "cpu") != 0 && strcmp(backend, "interp") != 0)
        return ember_error(EMBER_E_INVALID_ARG, "unknown backend '%s' (available: cpu, interp)", backend);
    int precision;
    TRY(ember_precision_parse(o.precision, &precision));
    if (precision == EMBER_PRECISION_BF16) {
        if (strcmp(backend, "cpu") != 0)
            return ember_error(EMBER_E_INVALID_ARG, "precision bf16 needs the cpu backend (the %s backend "
                               "computes in fp32)", backend);
        TRY(ember_host_bf16_check()); /* a clear refusal, not a quiet fp32 session */
    }
    ember_session *s = calloc(1, sizeof *s);
    if (!s) return ember_error(EMBER_E_NO_MEMORY, "out of memory creating a session");
    s->model = m;
    s->opts = o;
    s->opts.backend = NULL; /* the caller's strings may not outlive us */
    s->opts.precision = precision == EMBER_PRECISION_BF16 ? "bf16" : NULL;
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->backend, sizeof s->backend, "%s", backend);
    if (strcmp(backend, "interp") == 0) {
        s->interpreted = 1;
    } else if (inputs_static(m->graph)) {
        ember_program_options po = {.threads = o.threads, .optimize = o.optimize, .precision = precision,
                                    .use_cache = o.use_cache};
        ember_program *p = NULL;
        ember_status st = ember_program_build(m, NULL, 0, &po, &p);
        if (st == EMBER_E_UNSUPPORTED) {
            fall_back(s);
        } else if (st != EMBER_OK) {
            ember_session_free(s);
            return st;
        } else {
            s->programs[s->n_programs++] = p;
            s->compile_ms = p->compile_ms;
            s->cache_state = p->cache;
            /* The first run's arena, its pages touched now, and one run on it: the
             * first run is then no slower than the others. */
            size_t bytes = (p->arena_bytes + 63) & ~(size_t)63;
            void *a = aligned_alloc(64, bytes ? bytes : 64);
            if (a) {
                memset(a, 0, bytes);
                s->arenas[0] = a;
                s->arena_size[0] = bytes;
                s->n_arenas = 1;
                warm_up(p, a);
            }
        }
    }
    *out = s;
    return EMBER_OK;
}

ember_status ember_session_create(const ember_model *m, const char *backend, ember_session **out)
{
    ember_session_options o;
    ember_session_options_init(&o);
    o.backend = backend;
    return ember_session_create_ex(m, &o, out);
}

void ember_session_free(ember_session *s)
{
    if (!s) return;
    for (int i = 0; i < s->n_programs; i++) ember_program_free(s->programs[i]);
    for (int i = 0; i < s->n_arenas; i++) free(s->arenas[i]);
    for (int i = 0; i < s->n_profiles; i++) ember_profile_free(s->profiles[i]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *ember_session_last_error(const ember_session *s) { return s ? s->last_error : ""; }
double ember_session_compile_ms(const ember_session *s) { return s ? s->compile_ms : 0; }
const char *ember_session_backend(const ember_session *s) { return s ? s->backend : ""; }
int ember_session_threads(const ember_session *s)
{
    if (!s) return 0;
    pthread_mutex_t *lock = (pthread_mutex_t *)&s->lock; /* runs may add programs */
    pthread_mutex_lock(lock);
    int t = s->n_programs > 0 ? s->programs[0]->threads : 0;
    pthread_mutex_unlock(lock);
    return t;
}

const char *ember_session_compile_cache(const ember_session *s)
{
    return ember_cache_state_name(s ? s->cache_state : EMBER_CACHE_OFF);
}

static ember_status check_input(const ember_graph *g, int idx, const ember_tensor *t,
                                int64_t *sym_vals)
{
    const ember_value *v = &g->values[g->inputs[idx]];
    if (t->dtype != v->dtype)
        return ember_error(EMBER_E_INVALID_ARG, "input '%s': expected dtype %s, got %s", v->name,
                           ember_dtype_name(v->dtype), ember_dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > EMBER_MAX_RANK)
        return ember_error(EMBER_E_INVALID_ARG, "input '%s': rank %d is out of range", v->name, t->rank);
    if (v->shape.rank >= 0 && t->rank != v->shape.rank)
        return ember_error(EMBER_E_INVALID_ARG, "input '%s': expected rank %d, got %d", v->name,
                           v->shape.rank, t->rank);
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            return ember_error(EMBER_E_INVALID_ARG, "input '%s': dimension %d is negative", v->name, i);
        if (v->shape.rank >= 0 && v->shape.dims[i] >= 0 && v->shape.dims[i] != t->dims[i])
            return ember_error(EMBER_E_INVALID_ARG, "input '%s': dimension %d must be %lld, got %lld",
                               v->name, i, (long long)v->shape.dims[i], (long long)t->dims[i]);
        int s = v->shape.rank >= 0 ? v->shape.syms[i] : -1;
        if (s >= 0 && s < g->n_symbols) {
            if (sym_vals[s] >= 0 && sym_vals[s] != t->dims[i])
                return ember_error(EMBER_E_INVALID_ARG,
                                   "input '%s': dimension %d ('%s') is %lld, but another input bound "
                                   "'%s' to %lld",
                                   v->name, i, g->symbols[s], (long long)t->dims[i], g->symbols[s],
                                   (long long)sym_vals[s]);
            sym_vals[s] = t->dims[i];
        }
        if (t->dims[i] && n > INT64_MAX / t->dims[i])
            return ember_error(EMBER_E_INVALID_ARG, "input '%s': element count overflows", v->name);
        n *= t->dims[i];
    }
    size_t need = (size_t)n * ember_dtype_size(t->dtype);
    if (t->nbytes < need || (!t->data && need))
        return ember_error(EMBER_E_INVALID_ARG, "input '%s': shape needs %zu bytes, buffer has %zu",
                           v->name, need, t->nbytes);
    return EMBER_OK;
}

static ember_status run_interp(ember_session *s, const ember_tensor *inputs, int n_inputs,
                               ember_tensor *outputs, int n_outputs)
{
    const ember_graph *g = s->model->graph;
    ember_status st = EMBER_OK;
    ember_op_tensor *in = calloc((size_t)n_inputs + 1, sizeof *in);
    ember_op_tensor **pin = calloc((size_t)n_inputs + 1, sizeof *pin);
    ember_op_tensor *out = calloc((size_t)n_outputs + 1, sizeof *out);
    if (!in || !pin || !out) {
        st = ember_error(EMBER_E_NO_MEMORY, "out of memory starting a run");
        goto done;
    }
    for (int i = 0; i < n_inputs; i++) {
        in[i].dtype = inputs[i].dtype;
        in[i].rank = inputs[i].rank;
        memcpy(in[i].dims, inputs[i].dims, sizeof in[i].dims);
        for (int k = 0; k < EMBER_MAX_RANK; k++) in[i].syms[k] = -1;
        in[i].data = inputs[i].data;
        in[i].nbytes = inputs[i].nbytes;
        pin[i] = &in[i];
    }
    st = ember_interp_run(g, NULL, pin, n_inputs, out, n_outputs);
    if (st == EMBER_OK)
        for (int o = 0; o < n_outputs; o++) {
            outputs[o].dtype = out[o].dtype;
            outputs[o].rank = out[o].rank;
            memcpy(outputs[o].dims, out[o].dims, sizeof outputs[o].dims);
            outputs[o].data = out[o].data;
            outputs[o].nbytes = out[o].nbytes;
        }
done:
    free(in);
    free(pin);
    free(out);
    return st;
}

/* The program for these input shapes: cached, or built now (symbolic dims). */
static ember_status find_program(ember_session *s, const ember_tensor *inputs, int n_inputs,
                                 ember_program **out)
{
    for (int i = 0; i < s->n_programs; i++)
        if (ember_program_matches(s->programs[i], inputs, n_inputs)) {
            *out = s->programs[i];
            return EMBER_OK;
        }
    ember_program_options po = {.threads = s->opts.threads, .optimize = s->opts.optimize,
                                .precision = s->opts.precision ? EMBER_PRECISION_BF16 : EMBER_PRECISION_FP32,
                                .use_cache = s->opts.use_cache};
    ember_program *p;
    TRY(ember_program_build(s->model, inputs, n_inputs, &po, &p));
    /* Profiles point into programs: while one is recorded, keep every program. */
    if (s->n_programs == EMBER_SESSION_PROGRAMS) {
        if (s->n_profiles) {
            ember_program_free(p);
            return ember_error(EMBER_E_UNSUPPORTED, "more than %d distinct input shapes while profiling",
                               EMBER_SESSION_PROGRAMS);
        }
        ember_program_free(s->programs[s->next_evict]);
        s->programs[s->next_evict] = p;
        s->next_evict = (s->next_evict + 1) % EMBER_SESSION_PROGRAMS;
    } else {
        s->programs[s->n_programs++] = p;
    }
    *out = p;
    return EMBER_OK;
}

static void *take_arena(ember_session *s, size_t bytes, size_t *got)
{
    for (int i = 0; i < s->n_arenas; i++)
        if (s->arena_size[i] >= bytes) {
            void *a = s->arenas[i];
            *got = s->arena_size[i];
            s->arenas[i] = s->arenas[--s->n_arenas];
            s->arena_size[i] = s->arena_size[s->n_arenas];
            return a;
        }
    *got = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, *got ? *got : 64);
}

static void give_arena(ember_session *s, void *a, size_t bytes)
{
    if (s->n_arenas < EMBER_SESSION_ARENAS) {
        s->arenas[s->n_arenas] = a;
        s->arena_size[s->n_arenas++] = bytes;
    } else {
        free(a);
    }
}

static ember_status run_program(ember_session *s, const ember_tensor *inputs, int n_inputs,
                                ember_tensor *outputs, int n_outputs)
{
    pthread_mutex_lock(&s->lock);
    ember_program *p = NULL;
    ember_status st = find_program(s, inputs, n_inputs, &p);
    if (st == EMBER_E_UNSUPPORTED && s->n_programs == 0) {
        fall_back(s);
        pthread_mutex_unlock(&s->lock);
        return run_interp(s, inputs, n_inputs, outputs, n_outputs);
    }
    size_t got = 0;
    void *arena = st == EMBER_OK ? take_arena(s, p->arena_bytes, &got) : NULL;
    ember_profile *prof = s->profiling ? s->profiles[s->n_profiles - 1] : NULL;
    pthread_mutex_unlock(&s->lock);
    if (st != EMBER_OK) return st;
    if (!arena) return ember_error(EMBER_E_NO_MEMORY, "out of memory for a %zu-byte arena", got);
    ember_profile_sink sink;
    if (prof) sink = ember_profile_sink_of(prof);
    st = ember_program_run(p, arena, inputs, n_inputs, outputs, n_outputs, prof ? &sink : NULL);
    pthread_mutex_lock(&s->lock);
    give_arena(s, arena, got);
    pthread_mutex_unlock(&s->lock);
    return st;
}

ember_status ember_session_run(ember_session *s, const ember_tensor *inputs, int n_inputs,
                               ember_tensor *outputs, int n_outputs)
{
    ember_error_clear();
    if (!s) return ember_error(EMBER_E_INVALID_ARG, "ember_session_run: session is NULL");
    const ember_graph *g = s->model->graph;
    ember_status st = EMBER_OK;
    if (outputs)
        for (int i = 0; i < n_outputs; i++) memset(&outputs[i], 0, sizeof outputs[i]);
    if (n_inputs != g->n_inputs || (n_inputs && !inputs)) {
        st = ember_error(EMBER_E_INVALID_ARG, "the model takes %d inputs, got %d", g->n_inputs, n_inputs);
        goto fail;
    }
    if (n_outputs != g->n_outputs || (n_outputs && !outputs)) {
        st = ember_error(EMBER_E_INVALID_ARG, "the model has %d outputs, %d requested", g->n_outputs, n_outputs);
        goto fail;
    }
    int64_t sym_vals[256];
    int64_t *syms = g->n_symbols <= 256 ? sym_vals : malloc(sizeof(int64_t) * (size_t)g->n_symbols);
    if (!syms) {
        st = ember_error(EMBER_E_NO_MEMORY, "out of memory starting a run");
        goto fail;
    }
    for (int i = 0; i < g->n_symbols; i++) syms[i] = -1;
    for (int i = 0; i < n_inputs && st == EMBER_OK; i++) st = check_input(g, i, &inputs[i], syms);
    if (syms != sym_vals) free(syms);
    if (st != EMBER_OK) goto fail;
    st = s->interpreted ? run_interp(s, inputs, n_inputs, outputs, n_outputs)
                        : run_program(s, inputs, n_inputs, outputs, n_outputs);
fail:
    if (st != EMBER_OK) {
        pthread_mutex_lock(&s->lock);
        snprintf(s->last_error, sizeof s->last_error, "%s", ember_last_error());
        pthread_mutex_unlock(&s->lock);
    }
    return st;
}

ember_status ember_session_set_profiling(ember_session *s, int on)
{
    if (!s) return ember_error(EMBER_E_INVALID_ARG, "ember_session_set_profiling: session is NULL");
    if (s->interpreted && on)
        return ember_error(EMBER_E_UNSUPPORTED, "profiling needs the cpu backend (this session: %s)", s->backend);
    pthread_mutex_lock(&s->lock);
    ember_status st = EMBER_OK;
    if (on) {
        ember_profile *p = ember_profile_new();
        if (!p) {
            st = ember_error(EMBER_E_NO_MEMORY, "out of memory starting a profile");
        } else {
            if (s->n_profiles == (int)(sizeof s->profiles / sizeof s->profiles[0])) {
                /* The oldest is long finished with: no run started before the last 63
                 * switches is still going in any sane use. */
                ember_profile_free(s->profiles[0]);
                memmove(s->profiles, s->profiles + 1, sizeof s->profiles[0] * (size_t)(s->n_profiles - 1));
                s->n_profiles--;
            }
            s->profiles[s->n_profiles++] = p;
            s->profiling = 1;
        }
    } else {
        s->profiling = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

static ember_profile *current_profile(ember_session *s)
{
    return s->n_profiles ? s->profiles[s->n_profiles - 1] : NULL;
}

ember_status ember_session_write_trace(ember_session *s, const char *path)
{
    if (!s || !path) return ember_error(EMBER_E_INVALID_ARG, "ember_session_write_trace: NULL argument");
    ember_profile *p = current_profile(s);
    if (!p) return ember_error(EMBER_E_INVALID_ARG, "no profile recorded: turn profiling on first");
    return ember_profile_write_trace(p, path);
}

ember_status ember_session_write_profile(ember_session *s, const char *path)
{
    if (!s || !path) return ember_error(EMBER_E_INVALID_ARG, "ember_session_write_profile: NULL argument");
    ember_profile *p = current_profile(s);
    if (!p) return ember_error(EMBER_E_INVALID_ARG, "no profile recorded: turn profiling on first");
    return ember_profile_write_table(p, path);
}
