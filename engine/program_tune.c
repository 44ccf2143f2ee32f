/* Thread count by model size. On a very small model a second thread costs more than it
 * brings: every step is a fork and join of a few microseconds around a few microseconds
 * of work. Measured side by side (2-core x86-64, AVX-512), ms per run, 1 vs 2 threads:
 *   kws_dscnn         5.4 MFLOP  0.042 vs 0.049   -> one thread
 *   ad_autoencoder    0.5 MFLOP  0.0114 vs 0.0116
 *   lstm_kws          8.4 MFLOP  0.156 vs 0.13    (its recurrence splits well)
 *   vww_mobilenet025 15.2 MFLOP  0.156 vs 0.147
 *   cifar_resnet8    25.1 MFLOP  0.17 vs 0.126
 * So a model under SMALL_MODEL_FLOPS asked for several threads is built for one. A rule
 * and not a measurement at compile time: timings taken while another process loads a
 * core pick wrong, and different picks on different starts would give results differing
 * in the last bits (other kernels) for the same model and options.
 * EMBER_SMALL_MODEL_THREADS=0 keeps the asked count. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "program.h"
#include "status.h"

#define SMALL_MODEL_FLOPS 6e6

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static double flops_of(const ember_program *p)
{
    double f = 0;
    for (int i = 0; i < p->n_steps; i++) f += p->steps[i].flops;
    return f;
}

static int one_thread_wanted(const ember_program *p, const ember_program_options *opt)
{
    const char *env = getenv("EMBER_SMALL_MODEL_THREADS");
    if (env && strcmp(env, "0") == 0) return 0;
    return p->threads > 1 && !(opt && opt->reference_only) && flops_of(p) < SMALL_MODEL_FLOPS;
}

ember_status ember_program_build(const ember_model *model, const ember_tensor *inputs, int n_inputs,
                                 const ember_program_options *opt, ember_program **out)
{
    double t0 = now_ms();
    ember_program *asked;
    TRY(ember_program_build_once(model, inputs, n_inputs, opt, &asked));
    *out = asked;
    if (!one_thread_wanted(asked, opt)) return EMBER_OK;
    ember_program_options o1 = opt ? *opt : (ember_program_options){.optimize = 1};
    o1.threads = 1;
    ember_program *one;
    if (ember_program_build_once(model, inputs, n_inputs, &o1, &one) != EMBER_OK) {
        ember_error_clear();
        return EMBER_OK;
    }
    /* Reported as the asked build: its thread count and whether the cache had it (the
     * second build always finds the entry the first one stored). */
    one->threads_asked = asked->threads;
    one->cache = asked->cache;
    ember_program_free(asked);
    one->compile_ms = now_ms() - t0;
    *out = one;
    return EMBER_OK;
}
