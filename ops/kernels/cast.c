#include "cast.h"

#include "elementwise_bcast.h"
#include "half.h"

int k_cast_supported(int dt)
{
    switch (dt) {
    case K_DT_FLOAT: case K_DT_UINT8: case K_DT_INT8: case K_DT_UINT16: case K_DT_INT16:
    case K_DT_INT32: case K_DT_INT64: case K_DT_BOOL: case K_DT_FLOAT16: case K_DT_DOUBLE:
    case K_DT_UINT32: case K_DT_UINT64: case K_DT_BFLOAT16:
        return 1;
    default: return 0;
    }
}

static int k_dt_is_float(int dt)
{
    return dt == K_DT_FLOAT || dt == K_DT_DOUBLE || dt == K_DT_FLOAT16 || dt == K_DT_BFLOAT16;
}

/* Saturating double -> integer in [lo, hi] (hi given as double of the top value). */
static inline int64_t k_sat_i64(double v, double lo, double hi)
{
    if (v != v) return 0;
    if (v <= lo) return (int64_t)lo;
    if (v >= hi) return v >= 9223372036854775807.0 ? INT64_MAX : (int64_t)hi;
    return (int64_t)v;
}
static inline uint64_t k_sat_u64(double v)
{
    if (v != v || v <= 0) return 0;
    if (v >= 18446744073709551615.0) return UINT64_MAX;
    return (uint64_t)v;
}

static inline double k_load_f(int dt, const void *x, int64_t i)
{
    switch (dt) {
    case K_DT_FLOAT: return ((const float *)x)[i];
    case K_DT_DOUBLE: return ((const double *)x)[i];
    case K_DT_FLOAT16: return ember_half_to_float(((const uint16_t *)x)[i]);
    default: return ember_bf16_to_float(((const uint16_t *)x)[i]);
    }
}

/* Integers travel as uint64 bit patterns (sign-extended), so int64 <-> uint64 and
 * narrowing conversions wrap exactly like C. */
static inline uint64_t k_load_i(int dt, const void *x, int64_t i)
{
    switch (dt) {
    case K_DT_UINT8: return ((const uint8_t *)x)[i];
    case K_DT_BOOL: return ((const uint8_t *)x)[i] != 0;
    case K_DT_INT8: return (uint64_t)(int64_t)((const int8_t *)x)[i];
    case K_DT_UINT16: return ((const uint16_t *)x)[i];
    case K_DT_INT16: return (uint64_t)(int64_t)((const int16_t *)x)[i];
    case K_DT_INT32: return (uint64_t)(int64_t)((const int32_t *)x)[i];
    case K_DT_UINT32: return ((const uint32_t *)x)[i];
    case K_DT_INT64: return (uint64_t)((const int64_t *)x)[i];
    default: return ((const uint64_t *)x)[i];
    }
}

static inline int k_dt_signed(int dt)
{
    return dt == K_DT_INT8 || dt == K_DT_INT16 || dt == K_DT_INT32 || dt == K_DT_INT64;
}

static inline void k_store_f(int dt, void *y, int64_t i, double v)
{
    switch (dt) {
    case K_DT_FLOAT: ((float *)y)[i] = (float)v; break;
    case K_DT_DOUBLE: ((double *)y)[i] = v; break;
    case K_DT_FLOAT16: ((uint16_t *)y)[i] = ember_float_to_half((float)v); break;
    case K_DT_BFLOAT16: ((uint16_t *)y)[i] = ember_float_to_bf16((float)v); break;
    case K_DT_BOOL: ((uint8_t *)y)[i] = v != 0; break;
    case K_DT_UINT8: ((uint8_t *)y)[i] = (uint8_t)k_sat_i64(v, 0, 255); break;
    case K_DT_INT8: ((int8_t *)y)[i] = (int8_t)k_sat_i64(v, -128, 127); break;
    case K_DT_UINT16: ((uint16_t *)y)[i] = (uint16_t)k_sat_i64(v, 0, 65535); break;
    case K_DT_INT16: ((int16_t *)y)[i] = (int16_t)k_sat_i64(v, -32768, 32767); break;
    case K_DT_INT32: ((int32_t *)y)[i] = (int32_t)k_sat_i64(v, -2147483648.0, 2147483647.0); break;
    case K_DT_UINT32: ((uint32_t *)y)[i] = (uint32_t)k_sat_i64(v, 0, 4294967295.0); break;
    case K_DT_INT64:
        ((int64_t *)y)[i] = k_sat_i64(v, -9223372036854775808.0, 9223372036854775807.0);
        break;
    default: ((uint64_t *)y)[i] = k_sat_u64(v); break;
    }
}

static inline void k_store_i(int dt, void *y, int64_t i, uint64_t v, int src_signed)
{
    switch (dt) {
    case K_DT_FLOAT: case K_DT_DOUBLE: case K_DT_FLOAT16: case K_DT_BFLOAT16:
        k_store_f(dt, y, i, src_signed ? (double)(int64_t)v : (double)v);
        break;
    case K_DT_BOOL: ((uint8_t *)y)[i] = v != 0; break;
    case K_DT_UINT8: case K_DT_INT8: ((uint8_t *)y)[i] = (uint8_t)v; break;
    case K_DT_UINT16: case K_DT_INT16: ((uint16_t *)y)[i] = (uint16_t)v; break;
    case K_DT_INT32: case K_DT_UINT32: ((uint32_t *)y)[i] = (uint32_t)v; break;
    default: ((uint64_t *)y)[i] = v; break;
    }
}

void k_cast(int src_dt, const void *x, int dst_dt, void *y, int64_t n, int ith, int nth)
{
    int64_t lo, hi;
    k_share(n, ith, nth, &lo, &hi);
    if (k_dt_is_float(src_dt)) {
        for (int64_t i = lo; i < hi; i++) k_store_f(dst_dt, y, i, k_load_f(src_dt, x, i));
    } else {
        int sg = k_dt_signed(src_dt);
        for (int64_t i = lo; i < hi; i++) k_store_i(dst_dt, y, i, k_load_i(src_dt, x, i), sg);
    }
}
