#include "range.h"

/* Each value is start + i*delta (not a running sum) so float rounding does not drift. */
#define RANGE_FN(name, T)                                              \
    void name(T *out, T start, T delta, int64_t n)                     \
    {                                                                  \
        for (int64_t i = 0; i < n; i++) out[i] = (T)(start + (T)i * delta); \
    }
RANGE_FN(k_range_f32, float)
RANGE_FN(k_range_f64, double)
RANGE_FN(k_range_i16, int16_t)
RANGE_FN(k_range_i32, int32_t)
RANGE_FN(k_range_i64, int64_t)
