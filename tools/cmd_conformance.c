/* `ember conformance`: runs every test folder in its own forked process so that a
 * crash, hang or runaway allocation in one operator costs one test, not the run.
 * Children report through their exit code (PASS/FAIL) and a pipe (the reason);
 * anything else (a signal, another exit code) is a CRASH. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "testcase.h"

/* Child exit codes; distinct from 1 because sanitizers and exit(1) in a crashing
 * library must not read as an ordinary FAIL. */
enum { CHILD_PASS = 0, CHILD_FAIL = 42 };
#define MAX_JOBS 256
#define REASON_MAX 1536

static void help(FILE *f)
{
    fprintf(f,
            "usage: ember conformance DIR [options]\n"
            "\n"
            "Runs each subfolder of DIR that holds model.onnx as a test (ONNX backend test\n"
            "layout: test_data_set_*/input_N.pb, output_N.pb), sorted by name, each in its\n"
            "own process. Prints one line per test: 'PASS name', 'FAIL name: reason' or\n"
            "'CRASH name: signal N (SIG...)' / 'CRASH name: timeout', then 'N passed, M failed'.\n"
            "Outputs must match with |x-ref| <= atol + rtol*|ref|, NaN equal to NaN.\n"
            "\n"
            "options:\n"
            "  --backend B      backend to test (default: interp)\n"
            "  --filter GLOB    only tests whose name matches GLOB (e.g. 'test_conv*')\n"
            "  --expect FILE    tests (one per line, # comments) that must pass; exit 1 only\n"
            "                   if one of them does not (default: every test must pass)\n"
            "  --timeout SEC    per-test wall-clock limit (default 30)\n"
            "  --jobs N         tests run in parallel (default 2)\n"
            "  --rtol R         relative tolerance (default 1e-3)\n"
            "  --atol A         absolute tolerance (default 1e-7)\n"
            "  -h, --help       show this help\n");
}

typedef struct conf_opts {
    const char *dir, *backend, *filter, *expect;
    double timeout, rtol, atol;
    int jobs;
} conf_opts;

typedef struct test_result {
    char *name;
    bool done, passed;
    char line[REASON_MAX + 512]; /* the report line, set when done */
} test_result;

typedef struct job {
    pid_t pid;
    int fd;
    int idx;
    double start;
    char reason[REASON_MAX];
    size_t len;
} job;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse(int argc, char **argv, conf_opts *o)
{
    *o = (conf_opts){.backend = "interp", .timeout = 30, .rtol = 1e-3, .atol = 1e-7, .jobs = 2};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            help(stdout);
            return -1;
        }
        const char *opts[] = {"--backend", "--filter", "--expect", "--timeout", "--jobs", "--rtol", "--atol"};
        int k = -1;
        for (int j = 0; j < 7 && k < 0; j++)
            if (cli_opt_is(a, opts[j])) k = j;
        if (k < 0) {
            if (a[0] == '-' && a[1]) return cli_usage_error("conformance", "unknown option '%s'", a);
            if (o->dir) return cli_usage_error("conformance", "unexpected argument '%s' (one DIR only)", a);
            o->dir = a;
            continue;
        }
        if (!(v = cli_opt_value(argc, argv, &i, opts[k])))
            return cli_usage_error("conformance", "option %s needs a value", opts[k]);
        double d;
        int64_t n;
        switch (k) {
        case 0: o->backend = v; break;
        case 1: o->filter = v; break;
        case 2: o->expect = v; break;
        case 3:
            if (!cli_parse_double(v, &d) || d <= 0 || d > 1e6)
                return cli_usage_error("conformance", "--timeout needs a positive number of seconds, not '%s'", v);
            o->timeout = d;
            break;
        case 4:
            if (!cli_parse_i64(v, &n) || n < 1 || n > MAX_JOBS)
                return cli_usage_error("conformance", "--jobs needs a number from 1 to %d, not '%s'", MAX_JOBS, v);
            o->jobs = (int)n;
            break;
        default:
            if (!cli_parse_double(v, &d) || d < 0)
                return cli_usage_error("conformance", "%s needs a non-negative number, not '%s'", opts[k], v);
            *(k == 5 ? &o->rtol : &o->atol) = d;
        }
    }
    if (!o->dir) return cli_usage_error("conformance", "missing DIR");
    return 0;
}

static int cmp_result(const void *a, const void *b)
{
    return strcmp(((const test_result *)a)->name, ((const test_result *)b)->name);
}

static int list_tests(const conf_opts *o, test_result **out, int *n_out, int *n_all)
{
    DIR *d = opendir(o->dir);
    if (!d) return cli_error("cannot open test folder '%s': %s", o->dir, strerror(errno));
    test_result *t = NULL;
    int n = 0, cap = 0, all = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/model.onnx", o->dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        all++;
        if (o->filter && fnmatch(o->filter, e->d_name, 0) != 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            test_result *nt = realloc(t, (size_t)cap * sizeof *nt);
            if (!nt) break;
            t = nt;
        }
        memset(&t[n], 0, sizeof t[n]);
        if ((t[n].name = strdup(e->d_name))) n++;
    }
    closedir(d);
    if (n) qsort(t, (size_t)n, sizeof *t, cmp_result);
    *out = t;
    *n_out = n;
    *n_all = all;
    return 0;
}

static const char *sig_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGKILL: return "SIGKILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGPIPE: return "SIGPIPE";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    default: return "unknown signal";
    }
}

#if defined(__SANITIZE_ADDRESS__)
#define EMBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBER_ASAN 1
#endif
#endif

static void child_limits(double timeout)
{
    /* Backstop for the parent's wall-clock kill: CPU time cannot exceed wall time. */
    rlim_t cpu = (rlim_t)timeout + 5;
    struct rlimit rl = {cpu, cpu + 5};
    setrlimit(RLIMIT_CPU, &rl);
#ifndef EMBER_ASAN
    /* ASan reserves terabytes of shadow address space: an RLIMIT_AS would break it. */
    rlim_t as = (rlim_t)8 << 30;
    struct rlimit ra = {as, as};
    setrlimit(RLIMIT_AS, &ra);
#endif
}

static void run_child(const conf_opts *o, const char *name, int wfd)
{
    child_limits(o->timeout);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
    char dir[4096], reason[REASON_MAX];
    snprintf(dir, sizeof dir, "%s/%s", o->dir, name);
    int rc = cli_run_testcase(dir, o->backend, o->rtol, o->atol, reason, sizeof reason);
    size_t len = strlen(reason), off = 0;
    while (off < len) {
        ssize_t w = write(wfd, reason + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(wfd);
    _exit(rc == 0 ? CHILD_PASS : CHILD_FAIL);
}

static int start_job(const conf_opts *o, test_result *tests, int idx, job *jb, const job *running, int n_running)
{
    int p[2];
    if (pipe(p) != 0) return cli_error("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return cli_error("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(p[0]);
        for (int i = 0; i < n_running; i++) close(running[i].fd);
        run_child(o, tests[idx].name, p[1]);
    }
    close(p[1]);
    /* never block on a child's pipe: reads happen only to collect what is there */
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    *jb = (job){.pid = pid, .fd = p[0], .idx = idx, .start = now()};
    return 0;
}

static void drain(job *jb)
{
    for (;;) {
        char tmp[512];
        ssize_t r = read(jb->fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        size_t room = sizeof jb->reason - 1 - jb->len, take = (size_t)r < room ? (size_t)r : room;
        memcpy(jb->reason + jb->len, tmp, take);
        jb->len += take;
        jb->reason[jb->len] = '\0';
        if ((size_t)r < sizeof tmp) return;
    }
}

static void finish(test_result *t, job *jb, int status, bool timed_out)
{
    char *line = t->line;
    size_t size = sizeof t->line;
    const char *name = t->name;
    jb->reason[jb->len] = '\0';
    if (timed_out || (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)) {
        snprintf(line, size, "CRASH %s: timeout", name);
    } else if (WIFSIGNALED(status)) {
        snprintf(line, size, "CRASH %s: signal %d (%s)", name, WTERMSIG(status), sig_name(WTERMSIG(status)));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_PASS) {
        snprintf(line, size, "PASS %s", name);
        t->passed = true;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_FAIL) {
        snprintf(line, size, "FAIL %s: %s", name, jb->len ? jb->reason : "failed without a reason");
    } else {
        snprintf(line, size, "CRASH %s: exited with status %d", name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    t->done = true;
}

/* Runs all tests; lines are printed in sorted order as soon as their turn comes. */
static int run_all(const conf_opts *o, test_result *tests, int n)
{
    job running[MAX_JOBS];
    int n_running = 0, next = 0, printed = 0;
    while (printed < n) {
        while (n_running < o->jobs && next < n) {
            if (start_job(o, tests, next, &running[n_running], running, n_running)) {
                /* cannot fork: report the test as failed rather than stop */
                snprintf(tests[next].line, sizeof tests[next].line, "FAIL %s: cannot start a test process",
                         tests[next].name);
                tests[next].done = true;
            } else {
                n_running++;
            }
            next++;
        }
        struct pollfd pf[MAX_JOBS];
        double wait = 1.0;
        for (int i = 0; i < n_running; i++) {
            pf[i] = (struct pollfd){.fd = running[i].fd, .events = POLLIN};
            double left = running[i].start + o->timeout - now();
            if (left < wait) wait = left;
        }
        if (wait < 0) wait = 0;
        if (n_running) poll(pf, (nfds_t)n_running, (int)(wait * 1000) + 1);
        for (int i = 0; i < n_running; i++) {
            job *jb = &running[i];
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) drain(jb);
            int status = 0;
            bool timed_out = false;
            pid_t w = waitpid(jb->pid, &status, WNOHANG);
            if (w == 0 && now() - jb->start > o->timeout) {
                kill(jb->pid, SIGKILL);
                while ((w = waitpid(jb->pid, &status, 0)) < 0 && errno == EINTR) {}
                timed_out = true;
            }
            if (w == 0 || (w < 0 && errno == EINTR)) continue;
            drain(jb);
            close(jb->fd);
            finish(&tests[jb->idx], jb, status, timed_out);
            /* keep pf[] paired with running[] for the rest of this pass */
            running[i] = running[--n_running];
            pf[i] = pf[n_running];
            i--;
        }
        while (printed < n && tests[printed].done) {
            printf("%s\n", tests[printed].line);
            fflush(stdout);
            printed++;
        }
    }
    return 0;
}

/* Reads the expect file; returns the names (NULL-terminated) or NULL on error. */
static char **read_expect(const char *path, int *count)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("cannot open expect file '%s': %s", path, strerror(errno));
        return NULL;
    }
    char **names = calloc(1, sizeof *names), line[4096];
    int n = 0;
    while (names && fgets(line, sizeof line, f)) {
        char *h = strchr(line, '#');
        if (h) *h = '\0';
        char *s = line, *e;
        while (*s == ' ' || *s == '\t') s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
        if (!*s) continue;
        char **nn = realloc(names, (size_t)(n + 2) * sizeof *nn);
        if (!nn) break;
        names = nn;
        names[n] = strdup(s);
        if (names[n]) names[++n] = NULL;
    }
    fclose(f);
    if (!names) cli_error("out of memory");
    *count = n;
    return names;
}

int cmd_conformance(int argc, char **argv)
{
    conf_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? CLI_OK : rc;
    char **expect = NULL;
    int n_expect = 0;
    if (o.expect && !(expect = read_expect(o.expect, &n_expect))) return CLI_ERR;
    test_result *tests = NULL;
    int n = 0, n_all = 0;
    if ((rc = list_tests(&o, &tests, &n, &n_all))) goto out;
    if (n_all == 0) {
        rc = cli_error("no tests (subfolders with model.onnx) in '%s'", o.dir);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    run_all(&o, tests, n);
    int passed = 0;
    for (int i = 0; i < n; i++) passed += tests[i].passed;
    printf("%d passed, %d failed\n", passed, n - passed);
    fflush(stdout);
    if (!o.expect) {
        rc = passed == n ? CLI_OK : cli_error("%d of %d tests did not pass", n - passed, n);
        goto out;
    }
    int missing = 0;
    for (int k = 0; k < n_expect; k++) {
        const char *why = NULL;
        test_result key = {.name = expect[k]};
        test_result *t = n ? bsearch(&key, tests, (size_t)n, sizeof *tests, cmp_result) : NULL;
        if (t && !t->passed) why = "did not pass";
        if (!t) {
            char path[4096];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s/model.onnx", o.dir, expect[k]);
            if (stat(path, &st) != 0) why = "is not in the test folder";
            /* else: excluded by --filter, not run */
        }
        if (why) {
            if (!missing) fprintf(stderr, "ember: error: expected to pass (%s):\n", o.expect);
            fprintf(stderr, "  %s %s\n", expect[k], why);
            missing++;
        }
    }
    if (missing) fprintf(stderr, "ember: error: %d expected test%s did not pass\n", missing, missing == 1 ? "" : "s");
    rc = missing ? CLI_ERR : CLI_OK;
out:
    for (int i = 0; i < n; i++) free(tests[i].name);
    free(tests);
    for (int k = 0; expect && expect[k]; k++) free(expect[k]);
    free(expect);
    return rc;
}
