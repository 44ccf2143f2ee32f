/* Running a program: patch data pointers into a per-value template, then call each
 * step's kernel. No shape work, no allocation but the caller's outputs. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "program.h"
#include "threadpool.h"
#ifdef EMBER_JIT
#include "../jit/jit.h"
#endif

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

#define EVENT_BATCH 256

/* Appends e to the batch, handing the batch to the sink when it is full. */
static void push_event(const ember_profile_sink *sink, const ember_program *p,
                       ember_profile_event *events, int *n_events, ember_profile_event e)
{
    events[(*n_events)++] = e;
    if (*n_events == EVENT_BATCH) {
        sink->record(sink->ctx, p, events, *n_events);
        *n_events = 0;
    }
}

/* Thread pools for runs: a run takes an idle pool of p->threads threads (or starts one)
 * and gives it back at the end, so concurrent runs of one program never share a pool and
 * a steady stream of runs reuses the same threads. */
#define MAX_IDLE_POOLS 8

typedef struct ember_run_pools {
    pthread_mutex_t lock;
    int n;
    ember_threadpool *idle[MAX_IDLE_POOLS];
} ember_run_pools;

static pthread_mutex_t pools_init_lock = PTHREAD_MUTEX_INITIALIZER;

static ember_status take_pool(const ember_program *p, ember_threadpool **out)
{
    *out = NULL;
    if (p->threads <= 1) return EMBER_OK;
    ember_program *mp = (ember_program *)p; /* the idle list is the run's, not the program's logic */
    pthread_mutex_lock(&pools_init_lock);
    if (!mp->pools) {
        mp->pools = calloc(1, sizeof *mp->pools);
        if (mp->pools) pthread_mutex_init(&mp->pools->lock, NULL);
    }
    ember_run_pools *rp = mp->pools;
    pthread_mutex_unlock(&pools_init_lock);
    if (!rp) return ember_error(EMBER_E_NO_MEMORY, "out of memory starting a run");
    pthread_mutex_lock(&rp->lock);
    if (rp->n) *out = rp->idle[--rp->n];
    pthread_mutex_unlock(&rp->lock);
    if (*out) return EMBER_OK;
    return ember_threadpool_create(p->threads, out);
}

static void give_pool(const ember_program *p, ember_threadpool *pool)
{
    if (!pool) return;
    ember_threadpool_set_spin(pool, 0); /* between runs nothing spins */
    ember_run_pools *rp = p->pools;
    pthread_mutex_lock(&rp->lock);
    if (rp->n < MAX_IDLE_POOLS) {
        rp->idle[rp->n++] = pool;
        pool = NULL;
    }
    pthread_mutex_unlock(&rp->lock);
    ember_threadpool_free(pool);
}

void ember_run_pools_free(ember_run_pools *rp)
{
    if (!rp) return;
    for (int i = 0; i < rp->n; i++) ember_threadpool_free(rp->idle[i]);
    pthread_mutex_destroy(&rp->lock);
    free(rp);
}

/* Where the run's own parallel jobs go: with oneDNN steps in the program, onto oneDNN's
 * OpenMP team too, so that the run's work is done by one set of threads. On two cores
 * the pool's worker otherwise shared a core with an OpenMP worker spinning after the
 * last oneDNN step (GOMP_SPINCOUNT): shufflenet_v2 at 2 threads, the reference
 * Transposes and Slices between its convs took 127 -> 249 and 77 -> 100 us going from 1
 * thread to 2. Decided when the program is built (p->pool_on_openmp;
 * EMBER_POOL_ON_OPENMP=0 keeps them on the pool, for measurements). */
static void choose_runner(const ember_program *p, ember_threadpool *pool)
{
    ember_threadpool_set_runner(pool, p->pool_on_openmp ? ember_host_team_runner() : NULL);
}

ember_status ember_program_run(const ember_program *p, void *arena, const ember_tensor *inputs,
                               int n_inputs, ember_tensor *outputs, int n_outputs,
                               const ember_profile_sink *sink)
{
    const ember_graph *g = p->g;
    int nv = g->n_values;
    ember_status st = EMBER_OK;
    if (n_inputs != g->n_inputs || n_outputs != g->n_outputs)
        return ember_error(EMBER_E_INVALID_ARG, "the program takes %d inputs and %d outputs",
                           g->n_inputs, g->n_outputs);
    ember_op_tensor *vals = malloc(sizeof *vals * (size_t)(nv ? nv : 1));
    if (!vals) return ember_error(EMBER_E_NO_MEMORY, "out of memory starting a run");
    memcpy(vals, p->templ, sizeof *vals * (size_t)nv);
    unsigned char *base = arena;
    for (int v = 0; v < nv; v++) {
        if (g->values[v].flags & EMBER_VALUE_CONST) vals[v].data = g->values[v].data;
        else if (p->plan.offset[v] >= 0) vals[v].data = base + p->plan.offset[v];
    }
    for (int i = 0; i < n_inputs; i++) vals[g->inputs[i]].data = inputs[i].data;
    for (int o = 0; o < n_outputs; o++) memset(&outputs[o], 0, sizeof outputs[o]);
    /* Outputs produced by a step are written straight into the caller's buffers. */
    for (int o = 0; o < n_outputs; o++) {
        int v = g->outputs[o];
        if (g->values[v].producer < 0) continue;
        int dup = 0;
        for (int k = 0; k < o; k++) dup |= g->outputs[k] == v;
        if (dup) continue;
        size_t nb = p->templ[v].nbytes;
        void *d = malloc(nb ? nb : 1);
        if (!d) {
            st = ember_error(EMBER_E_NO_MEMORY, "out of memory for output '%s'", g->values[v].name);
            goto done;
        }
        outputs[o].data = d;
        vals[v].data = d;
    }
#ifdef EMBER_JIT
    /* JIT-compiled program: one call (profiling steps through the kernels instead). */
    const uint8_t *jit_consts = NULL;
    ember_jit_entry_fn jit = sink ? NULL : ember_jit_entry(p, &jit_consts);
    if (jit) {
        uint8_t *io_buf[128], **io = io_buf;
        int n_io = n_inputs + n_outputs;
        if (n_io > 128 && !(io = malloc(sizeof *io * (size_t)n_io))) {
            st = ember_error(EMBER_E_NO_MEMORY, "out of memory starting a run");
            goto done;
        }
        for (int i = 0; i < n_inputs; i++) io[i] = vals[g->inputs[i]].data;
        for (int o = 0; o < n_outputs; o++) io[n_inputs + o] = vals[g->outputs[o]].data;
        int rc = jit(jit_consts, io, base);
        if (io != io_buf) free(io);
        if (rc != 0) {
            st = ember_error(EMBER_E_INTERNAL, "the compiled program failed (%d)", rc);
            goto done;
        }
        goto outputs;
    }
#endif
    ember_profile_event events[EVENT_BATCH];
    int n_events = 0;
    ember_threadpool *pool = NULL;
    st = take_pool(p, &pool);
    if (st != EMBER_OK) goto done;
    choose_runner(p, pool);
    ember_op_tensor *pin[64], *pout[64];
    void *scratch = base + p->scratch_offset;
    for (int si = 0; si < p->n_steps; si++) {
        const ember_step *s = &p->steps[si];
        const ember_node *n = &g->nodes[s->node];
        for (int k = 0; k < n->n_inputs; k++) pin[k] = n->inputs[k] >= 0 ? &vals[n->inputs[k]] : NULL;
        for (int o = 0; o < n->n_outputs; o++) pout[o] = n->outputs[o] >= 0 ? &vals[n->outputs[o]] : NULL;
        ember_op_ctx c = {.node = n, .graph = g, .opset = n->opset, .running = true,
                          .n_in = n->n_inputs, .n_out = n->n_outputs, .in = pin, .out = pout,
                          .scratch_bytes = s->scratch_bytes, .scratch = s->scratch_bytes ? scratch : NULL,
                          .pool = pool};
        /* A view (engine/plan.h) already holds its input's bytes: nothing to run. A profile
         * still gets its (empty) event, so the trace lists every node of the program. */
        if (!s->host && n->n_outputs == 1 && pout[0] && p->plan.view && p->plan.view[n->outputs[0]]) {
            if (sink) {
                uint64_t t = now_ns();
                push_event(sink, p, events, &n_events, (ember_profile_event){si, t, t});
            }
            continue;
        }
        ember_threadpool_set_spin(pool, !ember_step_foreign(s)); /* no spinning against OpenMP */
        uint64_t t0 = sink ? now_ns() : 0;
        st = s->host ? s->host->run(&c, s->host_state) : ember_op_table[n->op].run(&c);
        if (st != EMBER_OK) {
            give_pool(p, pool);
            goto done;
        }
        if (sink) push_event(sink, p, events, &n_events, (ember_profile_event){si, t0, now_ns()});
    }
    give_pool(p, pool);
    if (sink && n_events) sink->record(sink->ctx, p, events, n_events);
#ifdef EMBER_JIT
outputs:
#endif
    /* Outputs not written by a step (inputs, constants, repeats) are copied. */
    for (int o = 0; o < n_outputs; o++) {
        int v = g->outputs[o];
        const ember_op_tensor *t = &vals[v];
        outputs[o].dtype = t->dtype;
        outputs[o].rank = t->rank;
        memcpy(outputs[o].dims, t->dims, sizeof outputs[o].dims);
        outputs[o].nbytes = p->templ[v].nbytes;
        if (!outputs[o].data) {
            void *d = malloc(outputs[o].nbytes ? outputs[o].nbytes : 1);
            if (!d) {
                st = ember_error(EMBER_E_NO_MEMORY, "out of memory for output '%s'", g->values[v].name);
                goto done;
            }
            if (outputs[o].nbytes) memcpy(d, t->data, outputs[o].nbytes);
            outputs[o].data = d;
        }
    }
done:
    if (st != EMBER_OK)
        for (int o = 0; o < n_outputs; o++) {
            free(outputs[o].data);
            memset(&outputs[o], 0, sizeof outputs[o]);
        }
    free(vals);
    return st;
}
