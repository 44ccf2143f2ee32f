/* Host fast paths (ops/host.h) driven as the cpu backend drives them: infer, prepare
 * with only the constant inputs' data, run with the run's pool of `threads` threads.
 * Header-only, next to op_harness.h (whose harness_run gives the reference results). */
#ifndef EMBER_HOST_HARNESS_H
#define EMBER_HOST_HARNESS_H
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"
#include "ops/host.h"
#include "test_util.h"

/* The host kernel `name` for op `op`; fails the test when there is none. */
static inline const ember_host_kernel *harness_host_kernel(int op, const char *name)
{
    int n = 0;
    const ember_host_kernel *const *ks = ember_host_kernels_for(op, &n);
    for (int i = 0; i < n; i++)
        if (strcmp(ks[i]->name, name) == 0) return ks[i];
    cr_assert_fail("no host kernel %s", name);
    return NULL;
}

/* Runs `op_type` (opset 13) through `k` on up to 4 inputs (data NULL: absent); *out gets
 * output 0 (malloc'd data). Returns the prepare status: EMBER_E_UNSUPPORTED when the
 * fast path declined (out untouched then). */
static inline ember_status harness_run_host(const ember_host_kernel *k, const char *op_type, const harness_in *ins,
                                            int n_in, const ember_attr *attrs, int n_attrs, int threads,
                                            ember_op_tensor *out)
{
    ember_node node = {.name = "n0", .op_type = op_type, .domain = "", .op = ember_op_lookup("", op_type),
                       .opset = 13, .n_inputs = n_in, .n_outputs = 1, .n_attrs = n_attrs, .attrs = (ember_attr *)attrs};
    ember_op_tensor t[4], *pin[4], res;
    for (int i = 0; i < n_in; i++) {
        pin[i] = ins[i].data ? &t[i] : NULL;
        if (pin[i]) t[i] = ut_op_tensor(ins[i].dtype, ins[i].rank, ins[i].dims, (void *)ins[i].data);
    }
    memset(&res, 0, sizeof res);
    res.rank = -1;
    ember_op_tensor *pout = &res;
    ember_op_ctx c = {.node = &node, .opset = 13, .running = true, .n_in = n_in, .n_out = 1, .in = pin, .out = &pout};
    cr_assert_eq(ember_op_table[node.op].infer(&c), EMBER_OK, "%s", ember_last_error());
    for (int i = 0; i < n_in; i++)
        if (pin[i] && !ins[i].is_const) t[i].data = NULL;
    void *state = NULL;
    ember_status s = k->prepare(&c, threads, &state);
    if (s != EMBER_OK) return s;
    for (int i = 0; i < n_in; i++)
        if (pin[i]) t[i].data = (void *)ins[i].data;
    res.nbytes = (size_t)ember_op_numel(&res) * ember_dtype_size(res.dtype);
    res.data = malloc(res.nbytes ? res.nbytes : 1);
    void *scratch = c.scratch_bytes ? malloc(c.scratch_bytes) : NULL;
    c.scratch = scratch;
    ember_threadpool *pool = NULL;
    if (threads > 1) cr_assert_eq(ember_threadpool_create(threads, &pool), EMBER_OK);
    c.pool = pool;
    cr_assert_eq(k->run(&c, state), EMBER_OK, "%s", ember_last_error());
    ember_threadpool_free(pool);
    if (k->release) k->release(state);
    free(scratch);
    *out = res;
    return EMBER_OK;
}
#endif
