/* `ember`: the command-line front end. Each subcommand lives in its own cmd_*.c; this
 * file dispatches and holds the small helpers they share. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("ember: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_ERR;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "ember %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'ember %s --help'.\n", cmd);
    return CLI_USAGE;
}

bool cli_is_help(const char *arg) { return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0; }

bool cli_parse_double(const char *s, double *out)
{
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || isnan(v)) return false;
    *out = v;
    return true;
}

bool cli_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || *end) return false;
    *out = v;
    return true;
}

bool cli_opt_is(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || (arg[n] == '=' && opt[1] == '-'));
}

const char *cli_opt_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    const char *arg = argv[*i];
    if (arg[n] == '=') return arg + n + 1;
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

ember_model *cli_load_model(const char *path)
{
    ember_model *m = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("cannot load '%s': it is a directory (give the model.onnx inside it)", path);
        return NULL;
    }
    ember_status s = ember_model_load(path, &m);
    if (s != EMBER_OK) {
        const char *msg = ember_last_error();
        size_t n = strlen(path);
        /* the library names the file itself; don't say it twice */
        if (msg && strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
        cli_error("cannot load '%s': %s", path, msg && *msg ? msg : ember_status_name(s));
        return NULL;
    }
    return m;
}

void cli_format_dims(int rank, const int64_t *dims, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < rank && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", d ? "," : "", (long long)dims[d]);
    if (len < n) snprintf(buf + len, n - len, "]");
}

void cli_format_io_shape(const ember_io_info *io, char *buf, size_t n)
{
    if (io->rank < 0) {
        snprintf(buf, n, "(unknown rank)");
        return;
    }
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < io->rank && len < n; d++) {
        const char *sep = d ? "," : "";
        if (io->dims[d] >= 0)
            len += (size_t)snprintf(buf + len, n - len, "%s%lld", sep, (long long)io->dims[d]);
        else
            len += (size_t)snprintf(buf + len, n - len, "%s%s", sep, io->dim_names[d] ? io->dim_names[d] : "?");
    }
    if (len < n) snprintf(buf + len, n - len, "]");
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"info", cmd_info, "describe a model: inputs, outputs, ops, parameters, FLOPs"},
    {"run", cmd_run, "run a model on given or random inputs, optionally check the results"},
    {"conformance", cmd_conformance, "run a folder of ONNX backend tests, each in its own process"},
    {"convert", cmd_convert, "convert a tensor file between .pb (TensorProto) and .npy"},
    {"bench", cmd_bench, "time repeated inferences: latency, throughput, compile time, memory"},
    {"profile", cmd_profile, "per-op timings of repeated inferences, optionally a Chrome trace"},
    {"compile", cmd_compile, "compile a model into an AOT bundle (object, header, weights) for a target"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: ember [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'ember COMMAND --help' describes a command.\n"
               "Exit status: 0 success, 1 error (message on stderr), 2 bad usage.\n");
}

/* libgomp (oneDNN's thread runtime) reads its wait policy once, when it is loaded, and by
 * default its idle workers spin for 300k iterations after every parallel region (4.5 ms
 * of a core here), burning it against OpenBLAS's threads and other requests. The library
 * cannot change that after load, so the CLI sets a shorter spin and re-executes itself
 * once. 100k iterations: the workers sleep ~1.5 ms after the last region. Shorter spins
 * put them to sleep inside a run, between oneDNN steps around host kernels on our own
 * pool, and each wake-up then costs (2 threads, medians: resnet18 13.7 ms at 10k against
 * 11.7 at 100k, shufflenet_v2 3.2-3.4 against 2.7-3.3, mobilenet_v2 4.0-4.3 against
 * 3.7-3.8; 30k was in between). */
static void limit_openmp_spinning(char **argv)
{
    if (getenv("GOMP_SPINCOUNT") || getenv("OMP_WAIT_POLICY")) return;
    setenv("GOMP_SPINCOUNT", "100000", 1);
    execv("/proc/self/exe", argv); /* on failure, go on spinning */
}

int main(int argc, char **argv)
{
    limit_openmp_spinning(argv);
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("ember %d.%d.%d\n", EMBER_VERSION_MAJOR, EMBER_VERSION_MINOR, EMBER_VERSION_PATCH);
        return CLI_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            int rc = commands[i].fn(argc - 1, argv + 1);
            if (fflush(stdout) != 0 && rc == CLI_OK) rc = cli_error("cannot write the output");
            return rc;
        }
    fprintf(stderr, "ember: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
