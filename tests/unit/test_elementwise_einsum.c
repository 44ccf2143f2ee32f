#include <stdio.h>

#include <criterion/criterion.h>

#include "op_harness.h"
#include "test_util.h"

#define IN(dt, r, data, ...) ((harness_in){dt, r, {__VA_ARGS__}, data, 0})

static const float A23[6] = {1, 2, 3, 4, 5, 6};    /* [[1,2,3],[4,5,6]] */
static const float B32[6] = {1, 0, 0, 1, 1, 1};    /* [[1,0],[0,1],[1,1]] */

Test(einsum, matmul_explicit_and_implicit)
{
    harness_in ins[2] = {IN(EMBER_DT_FLOAT, 2, A23, 2, 3), IN(EMBER_DT_FLOAT, 2, B32, 3, 2)};
    ember_attr eq = harness_attr_string("equation", "ij,jk->ik");
    ember_op_tensor y;
    cr_assert_eq(harness_run("Einsum", 12, ins, 2, &eq, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(y.rank, 2);
    float want[4] = {4, 5, 10, 11};
    ut_expect_f32_eq(&y, want, 4, 1e-5);
    free(y.data);
    /* implicit output: labels used once, alphabetically -> "ik" */
    eq = harness_attr_string("equation", "ij, jk");
    cr_assert_eq(harness_run("Einsum", 12, ins, 2, &eq, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    ut_expect_f32_eq(&y, want, 4, 1e-5);
    free(y.data);
}

Test(einsum, diagonal_transpose_and_sum)
{
    float m[4] = {1, 2, 3, 4};
    harness_in in = IN(EMBER_DT_FLOAT, 2, m, 2, 2);
    ember_op_tensor y;
    ember_attr eq = harness_attr_string("equation", "ii->i");
    cr_assert_eq(harness_run("Einsum", 12, &in, 1, &eq, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    float diag[2] = {1, 4};
    ut_expect_f32_eq(&y, diag, 2, 1e-5);
    free(y.data);
    eq = harness_attr_string("equation", "ij->ji");
    cr_assert_eq(harness_run("Einsum", 12, &in, 1, &eq, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    float tr[4] = {1, 3, 2, 4};
    ut_expect_f32_eq(&y, tr, 4, 1e-5);
    free(y.data);
    eq = harness_attr_string("equation", "ij->");
    cr_assert_eq(harness_run("Einsum", 12, &in, 1, &eq, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(y.rank, 0);
    cr_assert_float_eq(((float *)y.data)[0], 10, 1e-6);
    free(y.data);
}

Test(einsum, ellipsis_broadcasts_batch)
{
    /* [2,1,2] x [2,1]: batch of two 1x2 rows times one 2x1 column */
    float a[4] = {1, 2, 3, 4}, b[2] = {10, 1};
    harness_in ins[2] = {IN(EMBER_DT_FLOAT, 3, a, 2, 1, 2), IN(EMBER_DT_FLOAT, 2, b, 2, 1)};
    ember_attr eq = harness_attr_string("equation", "...ij,...jk->...ik");
    ember_op_tensor y;
    cr_assert_eq(harness_run("Einsum", 12, ins, 2, &eq, 1, &y, 1), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(y.rank, 3);
    cr_assert_eq(y.dims[0], 2);
    float want[2] = {12, 34};
    ut_expect_f32_eq(&y, want, 2, 1e-5);
    free(y.data);
}

Test(einsum, rejects_bad_equations)
{
    harness_in ins[2] = {IN(EMBER_DT_FLOAT, 2, A23, 2, 3), IN(EMBER_DT_FLOAT, 2, A23, 2, 3)};
    ember_op_tensor y;
    ember_attr eq = harness_attr_string("equation", "ij,jk->ik"); /* j is 3 vs 2 */
    cr_assert_eq(harness_run("Einsum", 12, ins, 2, &eq, 1, &y, 1), EMBER_E_INVALID_ARG);
    eq = harness_attr_string("equation", "ijk,jk->ik"); /* rank mismatch */
    cr_assert_eq(harness_run("Einsum", 12, ins, 2, &eq, 1, &y, 1), EMBER_E_INVALID_MODEL);
    eq = harness_attr_string("equation", "ij->iz");
    cr_assert_eq(harness_run("Einsum", 12, ins, 1, &eq, 1, &y, 1), EMBER_E_INVALID_MODEL);
    eq = harness_attr_string("equation", "ij,ij,ij->i"); /* more terms than inputs */
    cr_assert_eq(harness_run("Einsum", 12, ins, 2, &eq, 1, &y, 1), EMBER_E_INVALID_MODEL);
}
