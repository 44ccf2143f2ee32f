/* Shared plumbing of the `ember` command-line program: error reporting, the
 * subcommand entry points and small helpers used by more than one subcommand. */
#ifndef EMBER_CLI_H
#define EMBER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ember.h"

/* Exit codes, as documented in `ember --help`. */
enum { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2 };

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Prints "ember: error: ..." on stderr and returns CLI_ERR. */
int cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Prints "ember CMD: ..." plus a hint to use --help on stderr and returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Subcommands: argv[0] is the subcommand name. */
int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_conformance(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_compile(int argc, char **argv);

/* True if `arg` is -h or --help. */
bool cli_is_help(const char *arg);
/* Parses a number; false (not a crash) on junk, overflow or trailing characters. */
bool cli_parse_double(const char *s, double *out);
bool cli_parse_i64(const char *s, int64_t *out);
/* Fetches the value of an option that takes one: "--opt VALUE" or "--opt=VALUE".
 * *i is advanced past a separate value. NULL when the value is missing. */
const char *cli_opt_value(int argc, char **argv, int *i, const char *opt);
/* True if argv[i] is `opt` or starts with "opt=". */
bool cli_opt_is(const char *arg, const char *opt);

/* Loads a model, printing the library's message on failure. NULL on error. */
ember_model *cli_load_model(const char *path);

/* Formats shape dims with symbolic names ("[batch,3,224,224]"). */
void cli_format_io_shape(const ember_io_info *io, char *buf, size_t n);
void cli_format_dims(int rank, const int64_t *dims, char *buf, size_t n);

/* ---- model inputs (cli_inputs.c), shared by run, bench and profile ---- */
#define CLI_MAX_INPUTS 64
struct cli_tensors;
/* Index of the model input called `name`, or -1. */
int cli_input_index(const ember_model *m, const char *name);
/* Loads the -i specs (NAME=FILE; a bare FILE is matched by its .pb name, else by
 * position) into `given` and binds them: bound[slot] is a shallow copy, have[slot] and
 * from_cli[slot] become true. Arrays hold the model's input count. Returns 0 or CLI_ERR
 * (message printed). */
int cli_bind_given(const ember_model *m, const char *const *specs, int n_specs,
                   struct cli_tensors *given, ember_tensor *bound, bool *have, bool *from_cli);
/* Gives every input without have[i] deterministic random values of its declared shape
 * (seeded by `seed` and the input's position; integers in [lo, hi)), kept in `gen`; then
 * checks every bound input against the model. Returns 0 or CLI_ERR (message printed). */
int cli_fill_inputs(const ember_model *m, uint64_t seed, int64_t lo, int64_t hi,
                    struct cli_tensors *gen, ember_tensor *bound, bool *have);
/* Both, with `run`'s defaults (seed 0, integers in [0, 100)). bound has CLI_MAX_INPUTS
 * slots. */
int cli_make_inputs(const ember_model *m, const char *const *specs, int n_specs,
                    struct cli_tensors *given, struct cli_tensors *gen, ember_tensor *bound);

/* ---- timed runs (cmd_bench.c), shared by bench and profile ---- */
enum { CLI_TIMING_JSON = 1, CLI_TIMING_TRACE = 2 }; /* extra options a command accepts */
typedef struct cli_timing_opts {
    const char *model, *backend, *trace, *precision;
    const char *inputs[CLI_MAX_INPUTS];
    int n_inputs, threads, iters, warmup;
    bool json, no_cache;
} cli_timing_opts;
/* Parses MODEL, --backend, --precision, --no-cache, --threads, --iters, --warmup, -i and the options
 * in `allow`.
 * Returns 0, -1 after printing help, or CLI_USAGE. */
int cli_timing_parse(const char *cmd, int argc, char **argv, unsigned allow, void (*help)(FILE *),
                     cli_timing_opts *o);
typedef struct cli_timing_ctx {
    ember_model *model;
    ember_session *session;
    struct cli_tensors *given, *gen; /* own the input data */
    ember_tensor bound[CLI_MAX_INPUTS];
    ember_tensor *outs;
    int n_in, n_out;
    double create_ms; /* wall time of ember_session_create_ex */
} cli_timing_ctx;
/* Loads the model, makes its inputs, creates the session. 0 or CLI_ERR (message
 * printed); free c with cli_timing_free either way. */
int cli_timing_setup(const cli_timing_opts *o, cli_timing_ctx *c);
/* One inference; *ms (may be NULL) gets its wall time. Outputs are dropped. */
int cli_timing_run(cli_timing_ctx *c, double *ms);
void cli_timing_free(cli_timing_ctx *c);
#endif
