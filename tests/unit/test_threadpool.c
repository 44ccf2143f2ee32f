/* The run thread pool (engine/threadpool.h) and the vectorizable float functions the
 * kernels use (ops/kernels/fast_math.h), plus thread-count invariance through sessions. */
#include <criterion/criterion.h>
#include <unistd.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/threadpool.h"
#include "ops/kernels/fast_math.h"
#include "test_util.h"

typedef struct count_job {
    atomic_int hits[64];
    atomic_int bad_nth;
    int want_nth;
} count_job;

static void count_share(void *ctx, int ith, int nth)
{
    count_job *j = ctx;
    if (nth != j->want_nth || ith < 0 || ith >= 64) atomic_fetch_add(&j->bad_nth, 1);
    else atomic_fetch_add(&j->hits[ith], 1);
}

/* Every share runs exactly once, job after job, spinning or not, for any share count. */
static void every_share_once(ember_threadpool *p)
{
    for (int round = 0; round < 2000; round++) {
        int n = 1 + round % 9;
        ember_threadpool_set_spin(p, round % 3 != 0);
        count_job j = {.want_nth = n};
        if (round % 5 == 1) ember_threadpool_wake(p); /* workers up (or not) ahead of the job */
        if (round % 7 == 2) usleep(200); /* and some asleep again by then */
        ember_threadpool_run(p, count_share, &j, n);
        cr_assert_eq(atomic_load(&j.bad_nth), 0);
        for (int i = 0; i < n; i++) cr_assert_eq(atomic_load(&j.hits[i]), 1, "round %d share %d of %d", round, i, n);
        for (int i = n; i < 64; i++) cr_assert_eq(atomic_load(&j.hits[i]), 0);
    }
    ember_threadpool_set_spin(p, 0);
}

Test(threadpool, every_share_once)
{
    for (int threads = 1; threads <= 4; threads++) {
        ember_threadpool *p = NULL;
        cr_assert_eq(ember_threadpool_create(threads, &p), EMBER_OK);
        cr_assert_eq(ember_threadpool_size(p), threads);
        every_share_once(p);
        ember_threadpool_free(p);
    }
    every_share_once(NULL); /* no pool: inline */
    ember_threadpool_free(NULL);
    cr_assert_eq(ember_threadpool_size(NULL), 1);
}

/* With a runner set (the executor's OpenMP team, ember_host_team_runner), the pool's jobs
 * go through it with the pool's size, every share once; single shares stay inline. */
static atomic_int runner_calls;
static void counting_runner(ember_task_fn fn, void *ctx, int n_tasks, int threads)
{
    atomic_fetch_add(&runner_calls, 1);
    cr_assert_eq(threads, 3);
    for (int i = n_tasks - 1; i >= 0; i--) fn(ctx, i, n_tasks);
}

Test(threadpool, jobs_on_a_runner)
{
    ember_threadpool *p = NULL;
    cr_assert_eq(ember_threadpool_create(3, &p), EMBER_OK);
    ember_threadpool_set_runner(p, counting_runner);
    every_share_once(p);
    int multi = 0; /* every_share_once's jobs of more than one share */
    for (int round = 0; round < 2000; round++) multi += 1 + round % 9 > 1;
    cr_expect_eq(atomic_load(&runner_calls), multi);
    ember_threadpool_set_runner(p, NULL);
    atomic_store(&runner_calls, 0);
    every_share_once(p);
    cr_expect_eq(atomic_load(&runner_calls), 0);
    ember_threadpool_free(p);
}

Test(threadpool, rejects_zero_threads)
{
    ember_threadpool *p = (ember_threadpool *)1;
    cr_assert_neq(ember_threadpool_create(0, &p), EMBER_OK);
    cr_assert_null(p);
    cr_assert_str_neq(ember_last_error(), "");
}

Test(threadpool, shares)
{
    ember_threadpool *p = NULL;
    cr_assert_eq(ember_threadpool_create(3, &p), EMBER_OK);
    cr_assert_eq(ember_threadpool_shares(p, 10, 100), 1);   /* tiny: one share */
    cr_assert_eq(ember_threadpool_shares(p, 250, 100), 2);
    cr_assert_eq(ember_threadpool_shares(p, 1 << 30, 100), 3); /* at most the pool's size */
    cr_assert_eq(ember_threadpool_shares(NULL, 1 << 30, 100), 1);
    ember_threadpool_free(p);
}

/* A sum split by shares is the same whichever thread takes which share. */
typedef struct sum_job {
    const float *x;
    int64_t n;
    double part[16];
} sum_job;

static void sum_share(void *ctx, int ith, int nth)
{
    sum_job *j = ctx;
    int64_t per = (j->n + nth - 1) / nth, lo = per * ith, hi = lo + per < j->n ? lo + per : j->n;
    double s = 0;
    for (int64_t i = lo; i < hi; i++) s += j->x[i];
    j->part[ith] = s;
}

typedef struct runner {
    ember_threadpool *pool;
    const float *x;
    int64_t n;
    double want;
    int failures;
} runner;

static void *run_many(void *arg)
{
    runner *r = arg;
    for (int k = 0; k < 500; k++) {
        sum_job j = {.x = r->x, .n = r->n};
        ember_threadpool_run(r->pool, sum_share, &j, 4);
        double s = j.part[0] + j.part[1] + j.part[2] + j.part[3];
        if (s != r->want) r->failures++;
    }
    return NULL;
}

/* Pools used from several threads at once (one pool per run, as the executor does). */
Test(threadpool, concurrent_pools)
{
    enum { RUNNERS = 4 };
    uint32_t seed = 7;
    int64_t n = 10000;
    float *x = ut_rand_buf(&seed, n, 1.0f);
    sum_job ref = {.x = x, .n = n};
    for (int i = 0; i < 4; i++) sum_share(&ref, i, 4);
    double want = ref.part[0] + ref.part[1] + ref.part[2] + ref.part[3];
    runner rs[RUNNERS];
    pthread_t t[RUNNERS];
    for (int i = 0; i < RUNNERS; i++) {
        rs[i] = (runner){.x = x, .n = n, .want = want};
        cr_assert_eq(ember_threadpool_create(2, &rs[i].pool), EMBER_OK);
        ember_threadpool_set_spin(rs[i].pool, i % 2);
        pthread_create(&t[i], NULL, run_many, &rs[i]);
    }
    for (int i = 0; i < RUNNERS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(rs[i].failures, 0, "runner %d", i);
        ember_threadpool_free(rs[i].pool);
    }
    free(x);
}

/* ---- fast_math.h against double-precision libm ---- */

Test(fast_math, accuracy)
{
    double e_exp = 0, e_erf_abs = 0, e_erf_rel = 0, e_tanh = 0, e_sig = 0;
    for (double v = -87.3; v <= 88.3; v += 3e-4) {
        float f = (float)v;
        double r = exp((double)f);
        e_exp = fmax(e_exp, fabs(k_fexp(f) - r) / r);
    }
    for (double v = -6; v <= 6; v += 1e-5) {
        float f = (float)v;
        double r = erf((double)f);
        double e = fabs(k_ferf(f) - r);
        e_erf_abs = fmax(e_erf_abs, e);
        if (r != 0) e_erf_rel = fmax(e_erf_rel, e / fabs(r));
        r = tanh((double)f);
        if (r != 0) e_tanh = fmax(e_tanh, fabs(k_ftanh(f) - r) / fabs(r));
        r = 1 / (1 + exp(-(double)f));
        e_sig = fmax(e_sig, fabs(k_fsigmoid(f) - r) / r);
    }
    cr_expect_lt(e_exp, 3e-7, "exp max rel err %g", e_exp);
    cr_expect_lt(e_erf_abs, 3e-7, "erf max abs err %g", e_erf_abs);
    cr_expect_lt(e_erf_rel, 3e-7, "erf max rel err %g", e_erf_rel);
    cr_expect_lt(e_tanh, 5e-7, "tanh max rel err %g", e_tanh);
    cr_expect_lt(e_sig, 5e-7, "sigmoid max rel err %g", e_sig);
}

Test(fast_math, special_values)
{
    cr_expect(isnan(k_fexp(NAN)) && isnan(k_ferf(NAN)) && isnan(k_ftanh(NAN)) && isnan(k_fsigmoid(NAN)));
    cr_expect_eq(k_fexp(-INFINITY), 0.0f);
    cr_expect_eq(k_fexp(-100.0f), 0.0f);
    cr_expect_eq(k_ferf(INFINITY), 1.0f);
    cr_expect_eq(k_ferf(-INFINITY), -1.0f);
    cr_expect_eq(k_ferf(10.0f), 1.0f);
    cr_expect_eq(k_ftanh(INFINITY), 1.0f);
    cr_expect_eq(k_ftanh(-INFINITY), -1.0f);
    cr_expect_eq(k_fsigmoid(-INFINITY), 0.0f);
    cr_expect_eq(k_fsigmoid(INFINITY), 1.0f);
    cr_expect_eq(k_ferf(0.0f), 0.0f);
    cr_expect(signbit(k_ferf(-0.0f)) && signbit(k_ftanh(-0.0f)));
}

/* ---- through sessions: the thread count changes speed, not results ---- */

static void run_threads(ember_model *m, int threads, ember_tensor *in, int n_in, ember_tensor *out, int n_out)
{
    ember_session_options o;
    ember_session_options_init(&o);
    o.threads = threads;
    ember_session *s = NULL;
    cr_assert_eq(ember_session_create_ex(m, &o, &s), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(ember_session_run(s, in, n_in, out, n_out), EMBER_OK, "%s", ember_last_error());
    ember_session_free(s);
}

static void same_across_threads(const char *model)
{
    ember_model *m = ut_load_zoo(model);
    char path[512];
    snprintf(path, sizeof path, "%s/models/%s/test_data_set_0/input_0.pb", EMBER_SHARED_DIR, model);
    ember_tensor in;
    ut_load_pb(path, &in);
    ember_tensor o1[4], o3[4];
    int n_out = ember_model_num_outputs(m);
    cr_assert_leq(n_out, 4);
    run_threads(m, 1, &in, 1, o1, n_out);
    run_threads(m, 3, &in, 1, o3, n_out);
    for (int k = 0; k < n_out; k++) {
        cr_assert_eq(o1[k].nbytes, o3[k].nbytes);
        const float *a = o1[k].data, *b = o3[k].data;
        for (size_t i = 0; i < o1[k].nbytes / sizeof(float); i++)
            cr_assert(fabsf(a[i] - b[i]) <= 1e-5f + 1e-4f * fabsf(a[i]), "%s output %d [%zu]: %g (1 thread) vs %g (3)",
                      model, k, i, a[i], b[i]);
        ember_tensor_release(&o1[k]);
        ember_tensor_release(&o3[k]);
    }
    ember_tensor_release(&in);
    ember_model_free(m);
}

Test(threadpool, bert_same_across_threads, .timeout = 60) { same_across_threads("bert_tiny_like"); }
Test(threadpool, lstm_same_across_threads, .timeout = 60) { same_across_threads("lstm_kws"); }
