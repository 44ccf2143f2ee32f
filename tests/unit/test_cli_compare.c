/* The CLI's tensor comparison (tools/compare.c): numpy.allclose semantics. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tools/compare.h"

static ember_tensor f32(float *v, int n)
{
    return (ember_tensor){.dtype = EMBER_DT_FLOAT, .rank = 1, .dims = {n}, .data = v, .nbytes = (size_t)n * 4};
}

Test(cli_compare, within_tolerance)
{
    float a[3] = {1.0f, 2.0f, 100.0f}, b[3] = {1.00005f, 2.0f, 100.09f};
    ember_tensor x = f32(a, 3), y = f32(b, 3);
    cli_cmp r;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert(r.ok, "%s", r.msg);
    cr_assert_float_eq(r.max_abs, 0.09, 1e-4);
    cr_assert(r.max_rel > 0 && r.max_rel < 1e-3);
}

Test(cli_compare, out_of_tolerance_reports_first_index)
{
    float a[4] = {0, 0, 1.0f, 5.0f}, b[4] = {0, 0, 1.01f, 5.0f};
    ember_tensor x = f32(a, 4), y = f32(b, 4);
    x.rank = y.rank = 2;
    x.dims[0] = y.dims[0] = 2;
    x.dims[1] = y.dims[1] = 2;
    cli_cmp r;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert_not(r.ok);
    cr_assert_eq(r.n_bad, 1);
    cr_assert(strstr(r.msg, "[1,0]") != NULL, "%s", r.msg);
}

Test(cli_compare, atol_only_near_zero)
{
    float a[1] = {1e-8f}, b[1] = {0};
    ember_tensor x = f32(a, 1), y = f32(b, 1);
    cli_cmp r;
    cli_compare(&x, &y, 1e-3, 1e-7, &r);
    cr_assert(r.ok);
    a[0] = 1e-6f;
    cli_compare(&x, &y, 1e-3, 1e-7, &r);
    cr_assert_not(r.ok);
}

Test(cli_compare, nan_and_inf)
{
    float a[3] = {NAN, INFINITY, -INFINITY}, b[3] = {NAN, INFINITY, -INFINITY};
    ember_tensor x = f32(a, 3), y = f32(b, 3);
    cli_cmp r;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert(r.ok, "%s", r.msg);
    a[0] = 1.0f;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert_not(r.ok, "a number must not match NaN");
    a[0] = NAN;
    a[1] = 1e30f;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert_not(r.ok, "inf must match exactly");
    a[1] = INFINITY;
    a[2] = INFINITY;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert_not(r.ok, "inf sign must match");
}

Test(cli_compare, integers_exact)
{
    int64_t a[2] = {INT64_MAX, 3}, b[2] = {INT64_MAX - 1, 3};
    ember_tensor x = {.dtype = EMBER_DT_INT64, .rank = 1, .dims = {2}, .data = a, .nbytes = 16};
    ember_tensor y = x;
    y.data = b;
    cli_cmp r;
    cli_compare(&x, &y, 1, 1, &r);
    cr_assert_not(r.ok, "integers differing beyond double precision must still differ");
    b[0] = INT64_MAX;
    cli_compare(&x, &y, 0, 0, &r);
    cr_assert(r.ok, "%s", r.msg);
    uint8_t c[2] = {1, 0}, d[2] = {1, 1};
    ember_tensor u = {.dtype = EMBER_DT_BOOL, .rank = 1, .dims = {2}, .data = c, .nbytes = 2}, v = u;
    v.data = d;
    cli_compare(&u, &v, 1, 1, &r);
    cr_assert_not(r.ok);
}

Test(cli_compare, shape_and_dtype_mismatch)
{
    float a[4] = {0}, b[4] = {0};
    ember_tensor x = f32(a, 4), y = f32(b, 4);
    y.rank = 2;
    y.dims[0] = 2;
    y.dims[1] = 2;
    cli_cmp r;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert_not(r.ok);
    cr_assert(strstr(r.msg, "shape mismatch") != NULL, "%s", r.msg);
    y = f32(b, 4);
    y.dtype = EMBER_DT_INT32;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert_not(r.ok);
    cr_assert(strstr(r.msg, "dtype mismatch") != NULL, "%s", r.msg);
    y = f32(b, 4);
    y.nbytes = 8;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert_not(r.ok);
}

Test(cli_compare, float16_values)
{
    cr_assert_float_eq(cli_half_to_float(0x3c00), 1.0f, 0);
    cr_assert_float_eq(cli_half_to_float(0xc000), -2.0f, 0);
    cr_assert_float_eq(cli_half_to_float(0x0001), 5.960464477539063e-08f, 1e-12);
    cr_assert(isinf(cli_half_to_float(0x7c00)));
    cr_assert(isnan(cli_half_to_float(0x7e00)));
    for (uint32_t h = 0; h < 0x7c00; h++) /* every finite positive half survives a round trip */
        cr_assert_eq(cli_float_to_half(cli_half_to_float((uint16_t)h)), h, "%x", h);
    cr_assert_eq(cli_float_to_half(1e6f), 0x7c00);
    uint16_t a[2] = {0x3c00, 0x4000}, b[2] = {0x3c00, 0x4001};
    ember_tensor x = {.dtype = EMBER_DT_FLOAT16, .rank = 1, .dims = {2}, .data = a, .nbytes = 4}, y = x;
    y.data = b;
    cli_cmp r;
    cli_compare(&x, &y, 1e-2, 0, &r);
    cr_assert(r.ok, "%s", r.msg);
    cli_compare(&x, &y, 1e-4, 0, &r);
    cr_assert_not(r.ok);
}

Test(cli_compare, empty_tensors_match)
{
    ember_tensor x = {.dtype = EMBER_DT_FLOAT, .rank = 2, .dims = {0, 3}}, y = x;
    cli_cmp r;
    cli_compare(&x, &y, 1e-3, 1e-4, &r);
    cr_assert(r.ok, "%s", r.msg);
}
