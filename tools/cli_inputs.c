/* Binding a model's inputs from -i options and seeded random values: shared by `run`,
 * `bench` and `profile`, so all three feed a model the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tensor_io.h"

int cli_input_index(const ember_model *m, const char *name)
{
    int n = ember_model_num_inputs(m);
    for (int i = 0; i < n; i++) {
        ember_io_info io;
        if (ember_model_input_info(m, i, &io) == EMBER_OK && strcmp(io.name, name) == 0) return i;
    }
    return -1;
}

static void list_inputs(const ember_model *m, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < ember_model_num_inputs(m) && len < n; i++) {
        ember_io_info io;
        if (ember_model_input_info(m, i, &io) == EMBER_OK)
            len += (size_t)snprintf(buf + len, n - len, "%s'%s'", i ? ", " : "", io.name);
    }
}

int cli_bind_given(const ember_model *m, const char *const *specs, int n_specs, cli_tensors *given,
                   ember_tensor *bound, bool *have, bool *from_cli)
{
    char err[CLI_ERRLEN];
    int n_in = ember_model_num_inputs(m);
    for (int k = 0; k < n_specs; k++) {
        const char *spec = specs[k], *path = spec;
        int slot = -1;
        const char *eq = strchr(spec, '=');
        if (eq) {
            char name[512];
            snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
            slot = cli_input_index(m, name);
            if (slot >= 0) {
                path = eq + 1;
            } else if (access(spec, R_OK) != 0) {
                /* the '=' was meant as NAME=FILE, not part of a file name */
                char names[1024];
                list_inputs(m, names, sizeof names);
                return cli_error("the model has no input '%s' (inputs: %s)", name, names);
            }
        }
        ember_tensor t;
        char *pbname = NULL;
        if (cli_load_tensor(path, &t, &pbname, err, sizeof err)) return cli_error("%s", err);
        if (slot < 0 && pbname) slot = cli_input_index(m, pbname);
        for (int i = 0; slot < 0 && i < n_in; i++)
            if (!from_cli[i]) slot = i;
        if (slot < 0) {
            free(pbname);
            ember_tensor_release(&t);
            return cli_error("more -i inputs than the model has inputs (%d)", n_in);
        }
        if (from_cli[slot]) {
            ember_io_info io;
            ember_model_input_info(m, slot, &io);
            free(pbname);
            ember_tensor_release(&t);
            return cli_error("input '%s' is given twice", io.name);
        }
        if (cli_tensors_push(given, &t, pbname, err, sizeof err)) return cli_error("%s", err);
        bound[slot] = given->t[given->n - 1];
        have[slot] = from_cli[slot] = true;
    }
    return 0;
}

int cli_fill_inputs(const ember_model *m, uint64_t seed, int64_t lo, int64_t hi, cli_tensors *gen,
                    ember_tensor *bound, bool *have)
{
    char err[CLI_ERRLEN];
    int n_in = ember_model_num_inputs(m);
    for (int i = 0; i < n_in; i++) {
        ember_io_info io;
        if (ember_model_input_info(m, i, &io) != EMBER_OK) return cli_error("%s", ember_last_error());
        if (!have[i]) {
            cli_rng r;
            cli_rng_seed(&r, seed + 0x632be59bd9b4e019ull * (uint64_t)(i + 1));
            ember_tensor t;
            if (cli_random_input(&io, &r, lo, hi, &t, err, sizeof err)) return cli_error("%s", err);
            if (cli_tensors_push(gen, &t, NULL, err, sizeof err)) return cli_error("%s", err);
            bound[i] = gen->t[gen->n - 1];
            have[i] = true;
        }
        if (cli_check_input(&io, &bound[i], err, sizeof err)) return cli_error("%s", err);
    }
    return 0;
}

int cli_make_inputs(const ember_model *m, const char *const *specs, int n_specs, cli_tensors *given,
                    cli_tensors *gen, ember_tensor *bound)
{
    int n_in = ember_model_num_inputs(m);
    if (n_in > CLI_MAX_INPUTS) return cli_error("the model has too many inputs for this tool (%d)", n_in);
    bool have[CLI_MAX_INPUTS] = {false}, from_cli[CLI_MAX_INPUTS] = {false};
    memset(bound, 0, sizeof *bound * CLI_MAX_INPUTS);
    int rc = cli_bind_given(m, specs, n_specs, given, bound, have, from_cli);
    return rc ? rc : cli_fill_inputs(m, 0, 0, 100, gen, bound, have);
}
