/* Tensors in and out of files (.pb TensorProto, .npy), ONNX test-data folders, seeded
 * random inputs and the binding of given tensors to a model's inputs. Shared by `run`,
 * `conformance` and `convert`. Functions return 0, or -1 with a message in err. */
#ifndef EMBER_CLI_TENSOR_IO_H
#define EMBER_CLI_TENSOR_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compare.h"
#include "ember.h"

#define CLI_ERRLEN 1024

/* Tensors with optional names, owning both. */
typedef struct cli_tensors {
    int n, cap;
    ember_tensor *t;
    char **names; /* names[i] may be NULL */
} cli_tensors;

void cli_tensors_free(cli_tensors *l);
/* Appends t (taking ownership of its data and of name). */
int cli_tensors_push(cli_tensors *l, ember_tensor *t, char *name, char *err, size_t errlen);

int cli_read_file(const char *path, void **data, size_t *size, char *err, size_t errlen);
int cli_write_file(const char *path, const void *data, size_t size, char *err, size_t errlen);

/* 1 if a .pb image looks like a TensorProto, 0 if it is a SequenceProto/OptionalProto
 * (the two share a shape: name=1, elem_type=2, payload message=3..7), -1 if unreadable. */
int cli_pb_is_tensor(const void *data, size_t size);

/* Loads a .npy (by magic) or a TensorProto .pb file. out: *t; *name (malloc'd or NULL)
 * when name is not NULL. */
int cli_load_tensor(const char *path, ember_tensor *t, char **name, char *err, size_t errlen);
/* Writes .npy when path ends in ".npy", else a TensorProto .pb with `name`. */
int cli_save_tensor(const char *path, const ember_tensor *t, const char *name, char *err,
                    size_t errlen);

/* Loads dir/<prefix>_0.pb, dir/<prefix>_1.pb, ... while present. */
int cli_load_dataset(const char *dir, const char *prefix, cli_tensors *out, char *err,
                     size_t errlen);

/* Deterministic PRNG (splitmix64) for inputs the user did not give. */
typedef struct cli_rng {
    uint64_t state;
    bool have_spare;
    double spare;
} cli_rng;
void cli_rng_seed(cli_rng *r, uint64_t seed);
uint64_t cli_rng_next(cli_rng *r);
double cli_rng_normal(cli_rng *r);
/* Fills a tensor of io's declared shape: floats standard normal, integers uniform in
 * [lo, hi), bools 0/1. Fails on unknown/symbolic dims, asking for -i. */
int cli_random_input(const ember_io_info *io, cli_rng *r, int64_t lo, int64_t hi,
                     ember_tensor *t, char *err, size_t errlen);

/* Checks t against the model input's declared dtype and shape (unknown dims match any). */
int cli_check_input(const ember_io_info *io, const ember_tensor *t, char *err, size_t errlen);

/* Orders `given` as the model's inputs: by name when every given name is a model input,
 * else by position. bound[i] (array of num_inputs) becomes a shallow copy or stays
 * unset (have[i] false). Extra tensors or duplicates are errors. */
int cli_bind_inputs(const ember_model *m, const cli_tensors *given, ember_tensor *bound,
                    bool *have, char *err, size_t errlen);

/* One compared output. */
typedef struct cli_out_result {
    char name[256];
    cli_cmp cmp;
} cli_out_result;

/* Compares the model's outputs (order of ember_model_output_info) with `refs`, matched
 * by name when every reference name is a model output, else by position.
 * out: res[refs->n] (caller allocates). Returns -1 + err when they cannot be matched;
 * otherwise 0 and *all_ok says whether every output is within tolerance. */
int cli_compare_outputs(const ember_model *m, const ember_tensor *outs, int n_outs,
                        const cli_tensors *refs, double rtol, double atol,
                        cli_out_result *res, bool *all_ok, char *err, size_t errlen);

/* Prints "shape dtype: v0 v1 ..." with up to `max` values. */
void cli_print_tensor_summary(const char *name, const ember_tensor *t, int max);
#endif
