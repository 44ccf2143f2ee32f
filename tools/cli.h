/* Shared plumbing of the `ember` command-line program: error reporting, the
 * subcommand entry points and small helpers used by more than one subcommand. */
#ifndef EMBER_CLI_H
#define EMBER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
#endif
