#include <criterion/criterion.h>

#include "op_harness.h"

Test(misc_ops, identity_copies_input)
{
    float x[6] = {1, -2, 3, -4, 5, -6};
    harness_in in = {EMBER_DT_FLOAT, 2, {2, 3}, x, 0};
    ember_op_tensor out;
    cr_assert_eq(harness_run("Identity", 13, &in, 1, NULL, 0, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.rank, 2);
    cr_assert_eq(out.dims[1], 3);
    cr_assert_arr_eq(out.data, x, sizeof x);
    free(out.data);
}

Test(misc_ops, constant_value_ints)
{
    int64_t v[3] = {4, 5, 6};
    ember_attr a = harness_attr_ints("value_ints", v, 3);
    ember_op_tensor out;
    cr_assert_eq(harness_run("Constant", 13, NULL, 0, &a, 1, &out, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(out.dtype, EMBER_DT_INT64);
    cr_assert_arr_eq(out.data, v, sizeof v);
    free(out.data);
}

Test(misc_ops, constant_needs_one_value)
{
    ember_op_tensor out;
    cr_assert_eq(harness_run("Constant", 13, NULL, 0, NULL, 0, &out, 1), EMBER_E_INVALID_MODEL);
    cr_assert(strstr(ember_last_error(), "exactly one value") != NULL);
}
