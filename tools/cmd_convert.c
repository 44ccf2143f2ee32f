/* `ember convert`: tensor files between TensorProto .pb and .npy (for feeding numpy
 * data to `run -i` and reading `run -o` results back into numpy), and out to raw bytes
 * (.raw/.bin), the layout of a bundle's inputs and outputs, for programs that call one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tensor_io.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: ember convert IN OUT [--name NAME]\n"
            "\n"
            "Converts a tensor file. IN is .npy or TensorProto .pb (detected from its\n"
            "contents); OUT is written as .npy when it ends in .npy, as raw little-endian\n"
            "row-major data (no header: a bundle's tensor layout) when it ends in .raw or\n"
            ".bin, else as .pb.\n"
            "\n"
            "options:\n"
            "  --name NAME   tensor name stored in a .pb (default: the input's name)\n"
            "  -h, --help    show this help\n");
}

static int is_raw(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && (!strcmp(path + n - 4, ".raw") || !strcmp(path + n - 4, ".bin"));
}

int cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            help(stdout);
            return CLI_OK;
        } else if (cli_opt_is(a, "--name")) {
            if (!(name = cli_opt_value(argc, argv, &i, "--name")))
                return cli_usage_error("convert", "option --name needs a value");
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("convert", "unknown option '%s'", a);
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            return cli_usage_error("convert", "unexpected argument '%s'", a);
        }
    }
    if (!in || !out) return cli_usage_error("convert", "needs IN and OUT files");
    char err[CLI_ERRLEN];
    ember_tensor t;
    char *pbname = NULL;
    if (cli_load_tensor(in, &t, &pbname, err, sizeof err)) return cli_error("%s", err);
    int rc = CLI_OK;
    if (is_raw(out)) {
        /* Strings have no fixed-size layout to dump. */
        if (t.dtype == EMBER_DT_STRING)
            rc = cli_error("'%s': string tensors have no raw layout", in);
        else if (cli_write_file(out, t.data, t.nbytes, err, sizeof err))
            rc = cli_error("%s", err);
    } else if (cli_save_tensor(out, &t, name ? name : pbname, err, sizeof err)) rc = cli_error("%s", err);
    free(pbname);
    ember_tensor_release(&t);
    return rc;
}
