/* The thread pool (threadpool.h). One job at a time; the caller publishes it, takes
 * shares like any worker, and waits for the last one.
 *
 * Publishing a job without a lock: `gen` is odd while the caller writes fn/ctx/n_tasks
 * and even once they are valid. A worker registers in `busy` before reading `gen`, and
 * the caller waits for `busy` to drain after making `gen` odd, so no worker reads a job
 * while it is being rewritten (both sides sequentially consistent: whichever comes
 * first, the other sees it). Sleeping uses the same pattern: a worker counts itself in
 * `sleepers` under the mutex before its last look at `gen`; the caller looks at
 * `sleepers` after publishing and broadcasts only when someone may be asleep. */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* How long a worker keeps polling for the next job before it sleeps (when spinning is
 * allowed at all). Steps of the small models are 1-50 us apart; a futex wake-up costs
 * the caller about as much as a short step. */
#define SPIN_NS 50000u

struct ember_threadpool {
    int n; /* threads, caller included */
    int n_workers;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    atomic_uint gen;
    atomic_int busy, next, done, sleepers, caller_sleeping, spin, stop;
    atomic_uint nudges; /* ember_threadpool_wake calls: sleepers get up to spin */
    ember_task_fn fn;
    void *ctx;
    int n_tasks;
    ember_team_runner runner; /* jobs go there instead, when set */
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Takes and runs shares until none are left; the one finishing the last share wakes a
 * sleeping caller. */
static void take_shares(ember_threadpool *p)
{
    int n = p->n_tasks;
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= n) return;
        p->fn(p->ctx, i, n);
        if (atomic_fetch_add(&p->done, 1) + 1 == n && atomic_load(&p->caller_sleeping)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static int job_ready(unsigned g, unsigned seen) { return g != seen && !(g & 1u); }

static void *worker_main(void *arg)
{
    ember_threadpool *p = arg;
    unsigned seen = 0, nudged = 0;
    for (;;) {
        uint64_t t0 = 0;
        unsigned polls = 0;
        for (;;) {
            if (atomic_load(&p->stop)) return NULL;
            if (job_ready(atomic_load(&p->gen), seen)) break;
            if (atomic_load_explicit(&p->spin, memory_order_relaxed)) {
                if (!t0) t0 = now_ns();
                if ((++polls & 63u) || now_ns() - t0 < SPIN_NS) {
                    ember_cpu_relax();
                    continue;
                }
            }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            nudged = atomic_load(&p->nudges);
            while (!atomic_load(&p->stop) && !job_ready(atomic_load(&p->gen), seen) &&
                   atomic_load(&p->nudges) == nudged)
                pthread_cond_wait(&p->wake, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            t0 = 0, polls = 0;
        }
        atomic_fetch_add(&p->busy, 1);
        unsigned g = atomic_load(&p->gen);
        if (job_ready(g, seen)) {
            seen = g;
            take_shares(p);
        }
        atomic_fetch_sub(&p->busy, 1);
    }
}

ember_status ember_threadpool_create(int n_threads, ember_threadpool **out)
{
    *out = NULL;
    if (n_threads < 1) return ember_error(EMBER_E_INVALID_ARG, "a thread pool needs at least one thread");
    ember_threadpool *p = calloc(1, sizeof *p);
    if (!p) return ember_error(EMBER_E_NO_MEMORY, "out of memory creating a thread pool");
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (n_threads > 1 && !(p->tid = calloc((size_t)n_threads - 1, sizeof *p->tid))) {
        ember_threadpool_free(p);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory creating a thread pool");
    }
    for (int i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&p->tid[i], NULL, worker_main, p) != 0) {
            ember_threadpool_free(p);
            return ember_error(EMBER_E_INTERNAL, "could not start thread %d of a %d-thread pool", i + 1, n_threads);
        }
        p->n_workers++;
    }
    *out = p;
    return EMBER_OK;
}

void ember_threadpool_free(ember_threadpool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->tid);
    free(p);
}

int ember_threadpool_size(const ember_threadpool *p) { return p ? p->n : 1; }

void ember_threadpool_set_runner(ember_threadpool *p, ember_team_runner runner)
{
    if (p) p->runner = runner;
}

void ember_threadpool_wake(ember_threadpool *p)
{
    if (p && p->runner) return; /* its jobs go to another team */
    if (!p || !p->n_workers || !atomic_load(&p->sleepers)) return;
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->nudges, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

void ember_threadpool_set_spin(ember_threadpool *p, int on)
{
    if (p && atomic_load_explicit(&p->spin, memory_order_relaxed) != on) atomic_store(&p->spin, on);
}

int ember_threadpool_shares(const ember_threadpool *p, int64_t work, int64_t grain)
{
    int n = ember_threadpool_size(p);
    if (grain < 1) grain = 1;
    int64_t s = work / grain;
    return s < 1 ? 1 : s > n ? n : (int)s;
}

void ember_threadpool_run(ember_threadpool *p, ember_task_fn fn, void *ctx, int n_tasks)
{
    if (n_tasks < 1) return;
    if (!p || p->n_workers == 0 || n_tasks == 1) {
        for (int i = 0; i < n_tasks; i++) fn(ctx, i, n_tasks);
        return;
    }
    if (p->runner) {
        p->runner(fn, ctx, n_tasks, p->n);
        return;
    }
    /* Make the job slot ours: workers still leaving the last job only fail one
     * fetch_add; yield if one of them was preempted in between. */
    unsigned g = atomic_load(&p->gen);
    atomic_store(&p->gen, g + 1);
    for (unsigned k = 0; atomic_load(&p->busy); k++) {
        if (k < 1000) ember_cpu_relax();
        else sched_yield();
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store(&p->next, 0);
    atomic_store(&p->done, 0);
    atomic_store(&p->gen, g + 2);
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    take_shares(p);
    /* The other threads' last shares: poll briefly, then sleep until the last one ends. */
    uint64_t t0 = 0;
    for (unsigned k = 0; atomic_load(&p->done) < n_tasks; k++) {
        if (k & 63u) {
            ember_cpu_relax();
            continue;
        }
        if (!t0) t0 = now_ns();
        if (now_ns() - t0 < SPIN_NS) continue;
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_sleeping, 1);
        while (atomic_load(&p->done) < n_tasks) pthread_cond_wait(&p->done_cv, &p->mu);
        atomic_store(&p->caller_sleeping, 0);
        pthread_mutex_unlock(&p->mu);
        break;
    }
}
