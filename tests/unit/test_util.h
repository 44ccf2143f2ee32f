/* Helpers shared by the unit tests (one compiled copy in test_util.c): reading files,
 * loading .pb tensors, a small deterministic random-number generator and float-array
 * comparisons. The assertions are Criterion's, so a failure fails the calling test. */
#ifndef EMBER_TEST_UTIL_H
#define EMBER_TEST_UTIL_H
#include <stddef.h>
#include <stdint.h>

#include "ember.h"
#include "engine/graph.h"
#include "ops/op.h"

/* The whole file at `path` (malloc'd, one spare byte past the end); *size its length.
 * Asserts that the file opens. */
void *ut_read_file(const char *path, size_t *size);
/* Like ut_read_file, but NULL when the file does not open. */
void *ut_slurp(const char *path, size_t *size);
/* The file at `path` as a NUL-terminated string (malloc'd). Asserts that it opens. */
char *ut_read_text(const char *path);
/* Reads the TensorProto file `path` into t (release with ember_tensor_release). */
void ut_load_pb(const char *path, ember_tensor *t);

/* Loads model `name` of the zoo (EMBER_SHARED_DIR/models/<name>/model.onnx). */
ember_model *ut_load_zoo(const char *name);
/* Reads the zoo model's reference data test_data_set_0/<kind>_<i>.pb (kind "input" or
 * "output") into t. */
void ut_load_zoo_pb(const char *name, const char *kind, int i, ember_tensor *t);

/* A linear congruential generator on *state: floats in [-1, 1), ints in [lo, hi],
 * and malloc'd buffers of n floats scaled by `scale`. */
float ut_frand(uint32_t *state);
int ut_irand(uint32_t *state, int lo, int hi);
float *ut_rand_buf(uint32_t *state, int64_t n, float scale);

/* A kernel-call tensor: dtype, shape (no symbolic dims), data and its byte size. */
ember_op_tensor ut_op_tensor(ember_dtype dt, int rank, const int64_t *dims, void *data);

/* Expects (cr_expect_float_eq) t's first n floats to equal want within eps. */
void ut_expect_f32_eq(const ember_op_tensor *t, const float *want, int n, double eps);
/* Asserts t is float with n elements, each within 1e-4 + 1e-4 * |want| of want. */
void ut_assert_f32_close(const ember_op_tensor *t, const float *want, int64_t n);
/* Asserts got has ref's shape and every float within atol + rtol * |ref|; `label` names
 * got's side in the message. */
void ut_assert_op_close(const ember_op_tensor *ref, const ember_op_tensor *got, const char *what, float rtol,
                        float atol, const char *label);

/* Asserts that kernel output `out` holds exactly the listed elements of type T (use in
 * files that include criterion.h). */
#define CHECK_T(T, out, ...)                                                                   \
    do {                                                                                       \
        const T want_[] = {__VA_ARGS__};                                                       \
        size_t n_ = sizeof want_ / sizeof want_[0];                                            \
        cr_assert_eq(ember_op_numel(&(out)), (int64_t)n_, "numel %lld, expected %zu",           \
                     (long long)ember_op_numel(&(out)), n_);                                   \
        for (size_t i_ = 0; i_ < n_; i_++)                                                     \
            cr_assert_eq(((T *)(out).data)[i_], want_[i_], "element %zu: %g, expected %g", i_, \
                         (double)((T *)(out).data)[i_], (double)want_[i_]);                    \
    } while (0)
#define CHECK_F(out, ...) CHECK_T(float, out, __VA_ARGS__)
#define CHECK_I64(out, ...) CHECK_T(int64_t, out, __VA_ARGS__)

/* ---- hand-built ember_graph pieces (passes and fusion tests) ---- */

/* A float graph input [dims] named `name`. */
int ut_input(ember_graph *g, const char *name, int rank, const int64_t *dims);
/* Adds node `op` (opset `opset`, attributes copied into the graph's arena, INTS arrays
 * included: callers build them on the stack); a new output name becomes a value.
 * Returns the output value. */
int ut_node(ember_graph *g, const char *op, int opset, const int *ins, int n_in, const char *out,
            const ember_attr *attrs, int n_attrs);
/* Marks value v a graph output. */
void ut_output(ember_graph *g, int v);
/* Checks every node's attributes, sorts and infers the graph (asserting each step). */
void ut_graph_finish(ember_graph *g);

#endif
