/* `ember profile`: per-op timings of repeated inferences, and a Chrome trace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: ember profile MODEL [options]\n"
            "\n"
            "Creates one session for MODEL, runs it --warmup times, then switches profiling\n"
            "on, runs it --iters times and switches profiling off. Prints the per-op table\n"
            "(node, op, kernel, calls, total and mean time, share, GFLOP/s), sorted by time.\n"
            "Inputs not given with -i get the same random values as 'ember run'.\n"
            "Profiling needs the cpu backend: the interpreter records nothing.\n"
            "\n"
            "options:\n"
            "  --backend B        backend (default: cpu)\n"
            "  --precision P      fp32 (default) or bf16 (as in 'ember bench')\n"
            "  --no-cache         compile without the compile cache (as in 'ember bench')\n"
            "  --threads N        intra-op threads (default 0: one per core)\n"
            "  --iters N          profiled runs (default 10)\n"
            "  --warmup N         unprofiled runs first (default 3)\n"
            "  --trace FILE       also write a Chrome trace-event JSON file (Perfetto,\n"
            "                     chrome://tracing): one event per kernel per run\n"
            "  -i, --input NAME=FILE\n"
            "                     feed input NAME from FILE (.npy or TensorProto .pb)\n"
            "  -h, --help         show this help\n");
}

int cmd_profile(int argc, char **argv)
{
    cli_timing_opts o;
    int rc = cli_timing_parse("profile", argc, argv, CLI_TIMING_TRACE, help, &o);
    if (rc) return rc < 0 ? CLI_OK : rc;
    cli_timing_ctx c;
    rc = cli_timing_setup(&o, &c);
    for (int i = 0; rc == 0 && i < o.warmup; i++) rc = cli_timing_run(&c, NULL);
    if (rc == 0 && ember_session_set_profiling(c.session, 1) != EMBER_OK)
        rc = cli_error("cannot profile: %s", ember_last_error());
    for (int i = 0; rc == 0 && i < o.iters; i++) rc = cli_timing_run(&c, NULL);
    if (rc == 0) ember_session_set_profiling(c.session, 0);
    if (rc == 0 && o.trace && ember_session_write_trace(c.session, o.trace) != EMBER_OK)
        rc = cli_error("cannot write the trace: %s", ember_last_error());
    if (rc == 0) {
        printf("model: %s  backend: %s  precision: %s  runs: %d profiled after %d warm-up\n", o.model,
               ember_session_backend(c.session), o.precision ? o.precision : "fp32", o.iters, o.warmup);
        fflush(stdout);
        if (ember_session_write_profile(c.session, "-") != EMBER_OK)
            rc = cli_error("cannot write the profile: %s", ember_last_error());
    }
    if (rc == 0 && o.trace) printf("trace written to %s\n", o.trace);
    cli_timing_free(&c);
    return rc;
}
