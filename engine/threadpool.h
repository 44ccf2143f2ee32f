/* A small persistent thread pool for intra-op parallelism on the cpu backend.
 *
 * One pool serves one run at a time (a program keeps a few, one per concurrent run;
 * see engine/exec.c). The calling thread works too: a pool of n threads starts n - 1
 * workers. A job is split into n_tasks shares; each share is fn(ctx, i, n_tasks), and
 * whichever thread is free takes the next share, so a worker that is slow to wake
 * (another process on the core) delays nothing: the caller takes its shares.
 *
 * Waiting is passive: after a job a worker spins briefly (bounded, and only while the
 * pool is told more of its own jobs are coming: ember_threadpool_set_spin), then sleeps
 * on a condition variable. Nothing spins between runs, nor while oneDNN's OpenMP team
 * or OpenBLAS's threads work (the executor clears the spin hint before such steps), so
 * the pools never compete for the cores. */
#ifndef EMBER_THREADPOOL_H
#define EMBER_THREADPOOL_H
#include <stdint.h>

#include "status.h"

typedef struct ember_threadpool ember_threadpool;

/* One pause in a spin-wait loop (lets the core's other hyperthread run). */
static inline void ember_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A share of a job: this call does share `ith` of `nth`. */
typedef void (*ember_task_fn)(void *ctx, int ith, int nth);

/* Starts a pool of n_threads (>= 1) threads, the caller included. */
ember_status ember_threadpool_create(int n_threads, ember_threadpool **out);
void ember_threadpool_free(ember_threadpool *p); /* NULL is fine; waits for nothing running */

/* Threads in the pool, the caller included; 1 for NULL. */
int ember_threadpool_size(const ember_threadpool *p);

/* Runs fn over shares 0 .. n_tasks-1 and returns when all are done. NULL pool, one
 * thread or one share: fn runs here, share by share. Not reentrant (fn must not run
 * jobs on the same pool). */
void ember_threadpool_run(ember_threadpool *p, ember_task_fn fn, void *ctx, int n_tasks);

/* Another team to run the pool's jobs on: runner(fn, ctx, n_tasks, threads) must call
 * fn(ctx, i, n_tasks) for every i < n_tasks and return when all are done; NULL: the
 * pool's own workers. The executor hands a run's jobs to oneDNN's OpenMP team when the
 * program has oneDNN steps (ember_host_team_runner), so that one set of threads does all
 * of the run's parallel work: the pool's workers would otherwise share the cores with
 * OpenMP's, which spin for a while after each oneDNN step. */
typedef void (*ember_team_runner)(ember_task_fn fn, void *ctx, int n_tasks, int threads);
void ember_threadpool_set_runner(ember_threadpool *p, ember_team_runner runner);

/* Whether workers may spin (briefly) after a job, waiting for the next: on while the
 * run's next steps are the pool's own, off before a step that runs other threads (oneDNN,
 * multi-threaded OpenBLAS) and at the end of a run. Off parks spinning workers at once. */
void ember_threadpool_set_spin(ember_threadpool *p, int on);

/* Gets sleeping workers up ahead of a job that needs them all at once (one whose shares
 * wait for each other): they spin, as after a job, while spinning is on, then sleep
 * again if no job came. Costs a futex wake-up when any sleeps; nothing otherwise. */
void ember_threadpool_wake(ember_threadpool *p);

/* Shares for `work` units (elements, roughly) of a cheap elementwise-like job: 1 below
 * `grain` units per share, at most the pool's size. */
int ember_threadpool_shares(const ember_threadpool *p, int64_t work, int64_t grain);
#endif
