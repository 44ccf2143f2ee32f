/* `ember compile`: a model -> an AOT bundle (object file, header, weights) for one target
 * (ember_model_compile_bundle), optionally with a size report. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: ember compile MODEL --target TRIPLE [--mcpu CPU] [--mattr FEATURES] [--name NAME]\n"
            "                     [-o DIR] [--weights-c] [--report]\n"
            "\n"
            "Compiles MODEL (static input shapes) into a bundle in DIR: NAME.o (code and kernels\n"
            "for the target: no Ember runtime, no malloc, no threads; it needs only mem*, the\n"
            "compiler runtime and single-precision libm), NAME.h (memory sizes, input/output\n"
            "offsets, the entry point int NAME(const uint8_t *constant_weights,\n"
            "uint8_t *mutable_weights, uint8_t *activations)) and NAME.weights.bin.\n"
            "\n"
            "targets: x86_64-linux-gnu, aarch64-linux-gnu, thumbv7em-none-eabihf (Cortex-M4/M7:\n"
            "         --mcpu cortex-m4 or cortex-m7), riscv64-linux-gnu (rv64gc, lp64d),\n"
            "         riscv32-unknown-elf (rv32imf, ilp32f)\n"
            "\n"
            "options:\n"
            "  --target TRIPLE  the target (required)\n"
            "  --mcpu CPU       the CPU to tune and select instructions for (default: the\n"
            "                   target's baseline: x86-64, generic, cortex-m4, generic-rv64/rv32)\n"
            "  --mattr LIST     extra LLVM target features, e.g. +avx2,+fma\n"
            "  --name NAME      bundle name, a C identifier (default: model)\n"
            "  -o DIR           output folder (default: .; created if missing)\n"
            "  --weights-c      also write NAME.weights.c (the constants as a C array)\n"
            "  --report         print code size, constant, mutable and activations bytes and\n"
            "                   the activations lower bound\n"
            "  -h, --help       show this help\n");
}

int cmd_compile(int argc, char **argv)
{
    const char *model = NULL, *dir = ".";
    ember_bundle_options o;
    ember_bundle_options_init(&o);
    o.target = NULL;
    int report = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL, *opt = NULL;
        if (cli_is_help(a)) {
            help(stdout);
            return CLI_OK;
        } else if (cli_opt_is(a, "--target")) {
            slot = &o.target, opt = "--target";
        } else if (cli_opt_is(a, "--mcpu")) {
            slot = &o.cpu, opt = "--mcpu";
        } else if (cli_opt_is(a, "--mattr")) {
            slot = &o.features, opt = "--mattr";
        } else if (cli_opt_is(a, "--name")) {
            slot = &o.name, opt = "--name";
        } else if (cli_opt_is(a, "-o")) {
            slot = &dir, opt = "-o";
        } else if (strcmp(a, "--weights-c") == 0) {
            o.weights_c = 1;
        } else if (strcmp(a, "--report") == 0) {
            report = 1;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("compile", "unknown option '%s'", a);
        } else if (!model) {
            model = a;
        } else {
            return cli_usage_error("compile", "unexpected argument '%s'", a);
        }
        if (slot && !(*slot = cli_opt_value(argc, argv, &i, opt)))
            return cli_usage_error("compile", "option %s needs a value", opt);
    }
    if (!model) return cli_usage_error("compile", "needs a MODEL");
    if (!o.target) return cli_usage_error("compile", "needs --target TRIPLE");
    ember_model *m = cli_load_model(model);
    if (!m) return CLI_ERR;
    ember_bundle_report r;
    ember_status st = ember_model_compile_bundle(m, &o, dir, &r);
    ember_model_free(m);
    if (st != EMBER_OK) return cli_error("%s", ember_last_error());
    if (report) {
        printf("%-24s %-22s %10s %12s %10s %12s %12s %6s\n", "bundle", "target", "text", "constant", "mutable",
               "activations", "lower_bound", "ratio");
        printf("%-24s %-22s %10zu %12zu %10zu %12zu %12zu %6.3f\n", o.name, o.target, r.text_bytes, r.constant_bytes,
               r.mutable_bytes, r.activations_bytes, r.activations_lower_bound,
               r.activations_lower_bound ? (double)r.activations_bytes / (double)r.activations_lower_bound : 1.0);
    }
    return CLI_OK;
}
