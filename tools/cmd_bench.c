/* `ember bench`: latency of repeated inferences on one session, plus the option parsing
 * and the session set-up that `ember profile` shares. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tensor_io.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: ember bench MODEL [options]\n"
            "\n"
            "Creates one session for MODEL, runs it --warmup times untimed, then --iters\n"
            "times, timing each run, one after the other. Inputs not given with -i get the\n"
            "same deterministic random values as 'ember run' (seed 0).\n"
            "\n"
            "Reports latency median, p90 (nearest rank), min, mean and max in ms, throughput\n"
            "(runs per second of run time), the compile time the session reports, the wall\n"
            "time of session creation, the first run's time (models with symbolic shapes\n"
            "compile there), the process's peak RSS (VmHWM: this process since its last\n"
            "exec, not its parent's) and the backend actually used.\n"
            "\n"
            "options:\n"
            "  --backend B        backend (default: cpu)\n"
            "  --precision P      fp32 (default) or bf16: weights and activations of the\n"
            "                     oneDNN steps in bfloat16, fp32 accumulation, fp32 model\n"
            "                     inputs/outputs (cpu backend; needs AVX512-BF16 or AMX)\n"
            "  --threads N        intra-op threads (default 0: one per core)\n"
            "  --no-cache         compile without the compile cache ($EMBER_CACHE_DIR, else\n"
            "                     $XDG_CACHE_HOME/ember, else ~/.cache/ember)\n"
            "  --iters N          timed runs (default 50)\n"
            "  --warmup N         untimed runs first (default 5)\n"
            "  -i, --input NAME=FILE\n"
            "                     feed input NAME from FILE (.npy or TensorProto .pb)\n"
            "  --json             print one JSON object: median_ms, p90_ms, min_ms, mean_ms,\n"
            "                     max_ms, throughput_ips, compile_ms, create_ms,\n"
            "                     first_run_ms, peak_rss_mb, iters, warmup, threads,\n"
            "                     threads_used (1 for a model under 20 MFLOP),\n"
            "                     backend, precision, model, cache (hit: compiled from the\n"
            "                     compile cache, miss: compiled and stored, off)\n"
            "  -h, --help         show this help\n");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int cli_timing_parse(const char *cmd, int argc, char **argv, unsigned allow, void (*help_fn)(FILE *),
                     cli_timing_opts *o)
{
    memset(o, 0, sizeof *o);
    o->backend = "cpu";
    o->iters = allow & CLI_TIMING_JSON ? 50 : 10;
    o->warmup = allow & CLI_TIMING_JSON ? 5 : 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (cli_is_help(a)) {
            help_fn(stdout);
            return -1;
        }
#define VALUE(opt)                                                             \
    do {                                                                       \
        if (!(v = cli_opt_value(argc, argv, &i, opt)))                         \
            return cli_usage_error(cmd, "option %s needs a value", opt);       \
    } while (0)
        if (cli_opt_is(a, "--backend")) {
            VALUE("--backend");
            o->backend = v;
        } else if (strcmp(a, "--no-cache") == 0) {
            o->no_cache = true;
        } else if (cli_opt_is(a, "--precision")) {
            VALUE("--precision");
            if (strcmp(v, "fp32") && strcmp(v, "bf16"))
                return cli_usage_error(cmd, "--precision must be fp32 or bf16, not '%s'", v);
            o->precision = v;
        } else if (cli_opt_is(a, "--threads") || cli_opt_is(a, "--iters") || cli_opt_is(a, "--warmup")) {
            const char *opt = a[2] == 't' ? "--threads" : a[2] == 'i' ? "--iters" : "--warmup";
            VALUE(opt);
            int64_t n;
            int64_t lo = a[2] == 'i' ? 1 : 0;
            if (!cli_parse_i64(v, &n) || n < lo || n > 1000000)
                return cli_usage_error(cmd, "%s needs an integer from %lld to 1000000, not '%s'", opt,
                                       (long long)lo, v);
            *(a[2] == 't' ? &o->threads : a[2] == 'i' ? &o->iters : &o->warmup) = (int)n;
        } else if (cli_opt_is(a, "-i") || cli_opt_is(a, "--input")) {
            VALUE(a[1] == '-' ? "--input" : "-i");
            if (o->n_inputs == CLI_MAX_INPUTS) return cli_usage_error(cmd, "too many -i options");
            o->inputs[o->n_inputs++] = v;
        } else if ((allow & CLI_TIMING_JSON) && strcmp(a, "--json") == 0) {
            o->json = true;
        } else if ((allow & CLI_TIMING_TRACE) && cli_opt_is(a, "--trace")) {
            VALUE("--trace");
            o->trace = v;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (!o->model) {
            o->model = a;
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s' (one MODEL only)", a);
        }
#undef VALUE
    }
    if (!o->model) return cli_usage_error(cmd, "missing MODEL");
    return 0;
}

int cli_timing_setup(const cli_timing_opts *o, cli_timing_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->given = calloc(1, sizeof *c->given);
    c->gen = calloc(1, sizeof *c->gen);
    if (!c->given || !c->gen) return cli_error("out of memory");
    if (!(c->model = cli_load_model(o->model))) return CLI_ERR;
    c->n_in = ember_model_num_inputs(c->model);
    c->n_out = ember_model_num_outputs(c->model);
    int rc = cli_make_inputs(c->model, o->inputs, o->n_inputs, c->given, c->gen, c->bound);
    if (rc) return rc;
    c->outs = calloc(c->n_out > 0 ? (size_t)c->n_out : 1, sizeof *c->outs);
    if (!c->outs) return cli_error("out of memory");
    ember_session_options so;
    ember_session_options_init(&so);
    so.backend = o->backend;
    so.threads = o->threads;
    so.precision = o->precision;
    so.use_cache = !o->no_cache;
    double t0 = now_ms();
    if (ember_session_create_ex(c->model, &so, &c->session) != EMBER_OK)
        return cli_error("cannot prepare the model for backend '%s': %s", o->backend, ember_last_error());
    c->create_ms = now_ms() - t0;
    return 0;
}

int cli_timing_run(cli_timing_ctx *c, double *ms)
{
    double t0 = now_ms();
    ember_status st = ember_session_run(c->session, c->bound, c->n_in, c->outs, c->n_out);
    double t1 = now_ms();
    if (st != EMBER_OK) return cli_error("inference failed: %s", ember_last_error());
    for (int i = 0; i < c->n_out; i++) ember_tensor_release(&c->outs[i]);
    if (ms) *ms = t1 - t0;
    return 0;
}

void cli_timing_free(cli_timing_ctx *c)
{
    ember_session_free(c->session);
    free(c->outs);
    if (c->given) cli_tensors_free(c->given);
    if (c->gen) cli_tensors_free(c->gen);
    free(c->given);
    free(c->gen);
    ember_model_free(c->model);
    memset(c, 0, sizeof *c);
}

/* The process's peak resident set in MB. VmHWM in /proc/self/status, which execve
 * resets: ru_maxrss survives execve on Linux, so a bench started by a big process (a
 * Python harness with ONNX Runtime loaded) reported its parent's peak (279 MB instead of
 * ~57 for ad_autoencoder). ru_maxrss where there is no /proc. */
static double peak_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kb = -1;
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "VmHWM:", 6) == 0 && sscanf(line + 6, "%ld", &kb) == 1) break;
        fclose(f);
        if (kb >= 0) return (double)kb / 1024.0;
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
#ifdef __APPLE__
    return (double)ru.ru_maxrss / (1024.0 * 1024.0); /* bytes there */
#else
    return (double)ru.ru_maxrss / 1024.0; /* KiB */
#endif
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

int cmd_bench(int argc, char **argv)
{
    cli_timing_opts o;
    int rc = cli_timing_parse("bench", argc, argv, CLI_TIMING_JSON, help, &o);
    if (rc) return rc < 0 ? CLI_OK : rc;
    cli_timing_ctx c;
    double *lat = malloc(sizeof *lat * (size_t)o.iters);
    if (!lat) return cli_error("out of memory");
    rc = cli_timing_setup(&o, &c);
    double first = 0;
    for (int i = 0; rc == 0 && i < o.warmup; i++) rc = cli_timing_run(&c, i == 0 ? &first : NULL);
    for (int i = 0; rc == 0 && i < o.iters; i++) rc = cli_timing_run(&c, &lat[i]);
    if (rc) {
        free(lat);
        cli_timing_free(&c);
        return rc;
    }
    if (o.warmup == 0) first = lat[0];
    double total = 0, mean, median, p90, mn, mx;
    for (int i = 0; i < o.iters; i++) total += lat[i];
    qsort(lat, (size_t)o.iters, sizeof *lat, cmp_double);
    int n = o.iters;
    mean = total / n;
    median = n % 2 ? lat[n / 2] : 0.5 * (lat[n / 2 - 1] + lat[n / 2]);
    int k = (int)ceil(0.9 * n) - 1;
    p90 = lat[k < 0 ? 0 : k];
    mn = lat[0];
    mx = lat[n - 1];
    double ips = total > 0 ? n / (total / 1e3) : 0;
    double rss_mb = peak_rss_mb();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = o.threads > 0 ? o.threads : (int)(cores > 0 ? cores : 1);
    const char *backend = ember_session_backend(c.session);
    double compile_ms = ember_session_compile_ms(c.session);
    int used = ember_session_threads(c.session);
    if (used <= 0) used = threads;
    if (o.json) {
        printf("{\"model\": ");
        json_str(o.model);
        printf(", \"backend\": ");
        json_str(backend);
        printf(", \"precision\": \"%s\", \"cache\": \"%s\"", o.precision ? o.precision : "fp32",
               ember_session_compile_cache(c.session));
        printf(", \"threads\": %d, \"threads_used\": %d, \"iters\": %d, \"warmup\": %d, \"median_ms\": %.6f, \"p90_ms\": %.6f, "
               "\"min_ms\": %.6f, \"mean_ms\": %.6f, \"max_ms\": %.6f, \"throughput_ips\": %.3f, "
               "\"compile_ms\": %.3f, \"create_ms\": %.3f, \"first_run_ms\": %.3f, \"peak_rss_mb\": %.1f}\n",
               threads, used, o.iters, o.warmup, median, p90, mn, mean, mx, ips, compile_ms, c.create_ms, first,
               rss_mb);
    } else {
        printf("model:       %s\nbackend:     %s\nprecision:   %s\nthreads:     %d%s%s\n"
               "runs:        %d timed after %d warm-up\n", o.model, backend, o.precision ? o.precision : "fp32",
               threads, o.threads > 0 ? "" : " (one per core)",
               used != threads ? " (1 used: the model is too small to share)" : "", o.iters, o.warmup);
        printf("latency ms:  median %.3f  p90 %.3f  min %.3f  mean %.3f  max %.3f\n", median, p90, mn, mean, mx);
        printf("throughput:  %.1f inferences/s (sequential)\n", ips);
        printf("compile:     %.1f ms (session creation %.1f ms wall, first run %.3f ms; compile cache: %s)\n",
               compile_ms, c.create_ms, first, ember_session_compile_cache(c.session));
        printf("peak RSS:    %.1f MB\n", rss_mb);
    }
    free(lat);
    cli_timing_free(&c);
    return CLI_OK;
}
