/* A session is ready to run when it is created: the first run starts no threads and
 * touches no new memory pages (no lazy set-up hidden in it; engine/session.c warm_up).
 * Counted, not timed: the threads in /proc/self/task and the process's minor page
 * faults around the first run against the second. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "ember.h"
#include "test_util.h"

#define ZOO EMBER_SHARED_DIR "/models/"
/* Pages the first run may fault beyond the second's: a few output or malloc-arena pages
 * that land differently; lazy set-up costs hundreds (a thread's oneDNN memory-object
 * cache alone is ~90 pages, mapped weights one per 4 KiB). */
#define FAULT_SLACK 16

/* AddressSanitizer's allocator hands out fresh memory for every allocation (its
 * quarantine) and faults in shadow pages for it, so page faults then say nothing about
 * lazy set-up: only the threads are counted. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(UNDER_ASAN)
#define UNDER_ASAN 1
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    cr_assert_not_null(d, "no /proc/self/task");
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static long minor_faults(void)
{
    struct rusage ru;
    cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_minflt;
}

static void first_run_is_ready(const char *name, int threads)
{
    ember_model *m = ut_load_zoo(name);
    int ni = ember_model_num_inputs(m), no = ember_model_num_outputs(m);
    cr_assert(ni <= 8 && no <= 8);
    ember_tensor in[8], a[8], b[8];
    for (int i = 0; i < ni; i++) {
        ut_load_zoo_pb(name, "input", i, &in[i]);
    }
    ember_session_options o;
    ember_session_options_init(&o);
    o.threads = threads;
    o.use_cache = 1; /* a hit maps the weights: their pages are part of what must be ready */
    ember_session *s;
    cr_assert_eq(ember_session_create_ex(m, &o, &s), EMBER_OK, "%s", ember_last_error());
    cr_assert_str_eq(ember_session_backend(s), "cpu", "%s fell back: %s", name, ember_session_backend(s));
    int th0 = thread_count();
    long f0 = minor_faults();
    cr_assert_eq(ember_session_run(s, in, ni, a, no), EMBER_OK, "%s", ember_last_error());
    long f1 = minor_faults();
    int th1 = thread_count();
    cr_assert_eq(ember_session_run(s, in, ni, b, no), EMBER_OK, "%s", ember_last_error());
    long f2 = minor_faults();
    cr_assert_eq(th1, th0, "%s, %d threads: the first run started %d threads", name, threads, th1 - th0);
    cr_assert(UNDER_ASAN || f1 - f0 <= f2 - f1 + FAULT_SLACK, "%s, %d threads: the first run faulted %ld pages, the second %ld",
              name, threads, f1 - f0, f2 - f1);
    for (int k = 0; k < no; k++) {
        cr_assert_eq(a[k].nbytes, b[k].nbytes);
        cr_assert(memcmp(a[k].data, b[k].data, a[k].nbytes) == 0, "%s output %d differs between runs", name, k);
        ember_tensor_release(&a[k]);
        ember_tensor_release(&b[k]);
    }
    for (int i = 0; i < ni; i++) ember_tensor_release(&in[i]);
    ember_session_free(s);
    ember_model_free(m);
}

Test(first_run, kws_dscnn) { first_run_is_ready("kws_dscnn", 1); first_run_is_ready("kws_dscnn", 2); }
Test(first_run, vww_mobilenet025) { first_run_is_ready("vww_mobilenet025", 1); first_run_is_ready("vww_mobilenet025", 2); }
Test(first_run, cifar_resnet8) { first_run_is_ready("cifar_resnet8", 1); first_run_is_ready("cifar_resnet8", 2); }
Test(first_run, ad_autoencoder) { first_run_is_ready("ad_autoencoder", 1); first_run_is_ready("ad_autoencoder", 2); }
Test(first_run, lstm_kws) { first_run_is_ready("lstm_kws", 1); first_run_is_ready("lstm_kws", 2); }
Test(first_run, bert_tiny_like, .timeout = 60) { first_run_is_ready("bert_tiny_like", 2); }
Test(first_run, mobilenet_v2, .timeout = 120) { first_run_is_ready("mobilenet_v2", 2); }
