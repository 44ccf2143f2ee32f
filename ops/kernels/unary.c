#include "unary.h"

#include <math.h>

#include "elementwise_bcast.h"
#include "fast_math.h"
#include "half.h"

#define K_ID(v) (v)
#define K_F16_LD(v) ember_half_to_float(v)
#define K_F16_ST(v) ember_float_to_half(v)
#define K_BF16_LD(v) ember_bf16_to_float(v)
#define K_BF16_ST(v) ember_float_to_bf16(v)

#define K_MAP(CT, LD, ST, EXPR)                                                       \
    do {                                                                              \
        for (int64_t i_ = lo; i_ < hi; i_++) {                                        \
            CT v = LD(x[i_]);                                                         \
            y[i_] = ST(EXPR);                                                         \
        }                                                                             \
    } while (0)

/* Numerically stable forms: no overflow for large |v|. */
#define K_DEF_FLOAT_HELPERS(CT, F)                                                    \
    static inline CT k_sigmoid_##CT(CT v)                                             \
    {                                                                                 \
        if (v >= 0) return 1 / (1 + F(exp)(-v));                                      \
        CT e = F(exp)(v);                                                             \
        return e / (1 + e);                                                           \
    }                                                                                 \
    static inline CT k_softplus_##CT(CT v)                                            \
    {                                                                                 \
        return (v > 0 ? v : 0) + F(log1p)(F(exp)(-F(fabs)(v)));                       \
    }                                                                                 \
    static inline CT k_sign_##CT(CT v) { return v > 0 ? 1 : v < 0 ? -1 : v == 0 ? 0 : v; } \
    static inline CT k_clamp01_##CT(CT v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

#define K_F32(name) name##f
#define K_F64(name) name
K_DEF_FLOAT_HELPERS(float, K_F32)
K_DEF_FLOAT_HELPERS(double, K_F64)

#define K_DEF_UNARY_FLOAT(sfx, T, CT, LD, ST, F)                                      \
    void k_unary_##sfx(int op, const T *x, T *y, int64_t n, CT alpha, CT beta, int ith, \
                       int nth)                                                       \
    {                                                                                 \
        int64_t lo, hi;                                                               \
        k_share(n, ith, nth, &lo, &hi);                                               \
        switch (op) {                                                                 \
        case K_ABS: K_MAP(CT, LD, ST, F(fabs)(v)); break;                             \
        case K_NEG: K_MAP(CT, LD, ST, -v); break;                                     \
        case K_SIGN: K_MAP(CT, LD, ST, k_sign_##CT(v)); break;                        \
        case K_RELU: K_MAP(CT, LD, ST, v > 0 ? v : 0); break;                         \
        case K_SQRT: K_MAP(CT, LD, ST, F(sqrt)(v)); break;                            \
        case K_RECIP: K_MAP(CT, LD, ST, 1 / v); break;                                \
        case K_EXP: K_MAP(CT, LD, ST, F(exp)(v)); break;                              \
        case K_LOG: K_MAP(CT, LD, ST, F(log)(v)); break;                              \
        case K_CEIL: K_MAP(CT, LD, ST, F(ceil)(v)); break;                            \
        case K_FLOOR: K_MAP(CT, LD, ST, F(floor)(v)); break;                          \
        case K_ROUND: K_MAP(CT, LD, ST, F(nearbyint)(v)); break; /* half to even */   \
        case K_SIN: K_MAP(CT, LD, ST, F(sin)(v)); break;                              \
        case K_COS: K_MAP(CT, LD, ST, F(cos)(v)); break;                              \
        case K_TAN: K_MAP(CT, LD, ST, F(tan)(v)); break;                              \
        case K_ASIN: K_MAP(CT, LD, ST, F(asin)(v)); break;                            \
        case K_ACOS: K_MAP(CT, LD, ST, F(acos)(v)); break;                            \
        case K_ATAN: K_MAP(CT, LD, ST, F(atan)(v)); break;                            \
        case K_SINH: K_MAP(CT, LD, ST, F(sinh)(v)); break;                            \
        case K_COSH: K_MAP(CT, LD, ST, F(cosh)(v)); break;                            \
        case K_ASINH: K_MAP(CT, LD, ST, F(asinh)(v)); break;                          \
        case K_ACOSH: K_MAP(CT, LD, ST, F(acosh)(v)); break;                          \
        case K_ATANH: K_MAP(CT, LD, ST, F(atanh)(v)); break;                          \
        case K_ERF: K_MAP(CT, LD, ST, F(erf)(v)); break;                              \
        case K_SIGMOID: K_MAP(CT, LD, ST, k_sigmoid_##CT(v)); break;                  \
        case K_TANH: K_MAP(CT, LD, ST, F(tanh)(v)); break;                            \
        case K_SOFTPLUS: K_MAP(CT, LD, ST, k_softplus_##CT(v)); break;                \
        case K_SOFTSIGN: K_MAP(CT, LD, ST, v / (1 + F(fabs)(v))); break;              \
        case K_MISH: K_MAP(CT, LD, ST, v * F(tanh)(k_softplus_##CT(v))); break;       \
        case K_ELU: K_MAP(CT, LD, ST, v < 0 ? alpha * F(expm1)(v) : v); break;        \
        case K_SELU:                                                                  \
            K_MAP(CT, LD, ST, beta * (v > 0 ? v : alpha * F(expm1)(v)));              \
            break;                                                                    \
        case K_LEAKYRELU: K_MAP(CT, LD, ST, v < 0 ? alpha * v : v); break;            \
        case K_HARDSIGMOID: K_MAP(CT, LD, ST, k_clamp01_##CT(alpha * v + beta)); break; \
        case K_HARDSWISH:                                                             \
            K_MAP(CT, LD, ST, v * k_clamp01_##CT(v / 6 + (CT)0.5));                   \
            break;                                                                    \
        case K_THRESHRELU: K_MAP(CT, LD, ST, v > alpha ? v : 0); break;               \
        case K_CELU:                                                                  \
            K_MAP(CT, LD, ST, v > 0 ? v : alpha * F(expm1)(v / alpha));               \
            break;                                                                    \
        case K_SHRINK:                                                                \
            K_MAP(CT, LD, ST, v < -alpha ? v + beta : v > alpha ? v - beta : 0);      \
            break;                                                                    \
        case K_SCALE: K_MAP(CT, LD, ST, v * alpha); break;                            \
        default: break;                                                               \
        }                                                                             \
    }

static void k_unary_f32_libm(int op, const float *x, float *y, int64_t n, float alpha, float beta,
                             int ith, int nth);
K_DEF_UNARY_FLOAT(f32_libm, float, float, K_ID, K_ID, K_F32)

/* float32 Exp, Erf, Sigmoid and Tanh go through fast_math.h (vectorized loops, within
 * a few ulp of libm); Exp redoes the rare elements outside k_fexp's range with expf. */
void k_unary_f32(int op, const float *x, float *y, int64_t n, float alpha, float beta, int ith, int nth)
{
    int64_t lo, hi;
    k_share(n, ith, nth, &lo, &hi);
    switch (op) {
    case K_EXP:
        for (int64_t i = lo; i < hi; i++) y[i] = k_fexp(x[i]);
        for (int64_t i = lo; i < hi; i++)
            if (x[i] < K_FEXP_LO || x[i] > K_FEXP_HI) y[i] = expf(x[i]);
        break;
    case K_ERF:
        for (int64_t i = lo; i < hi; i++) y[i] = k_ferf(x[i]);
        break;
    case K_SIGMOID:
        for (int64_t i = lo; i < hi; i++) y[i] = k_fsigmoid(x[i]);
        break;
    case K_TANH:
        for (int64_t i = lo; i < hi; i++) y[i] = k_ftanh(x[i]);
        break;
    default: k_unary_f32_libm(op, x, y, n, alpha, beta, ith, nth); break;
    }
}
K_DEF_UNARY_FLOAT(f64, double, double, K_ID, K_ID, K_F64)
K_DEF_UNARY_FLOAT(f16, uint16_t, float, K_F16_LD, K_F16_ST, K_F32)
K_DEF_UNARY_FLOAT(bf16, uint16_t, float, K_BF16_LD, K_BF16_ST, K_F32)

/* Sign test without a comparison that is always false for unsigned types. */
#define K_ISNEG(x, SIGNED) ((SIGNED) && ((uint64_t)(int64_t)(x) >> 63))

/* Integer negation goes through uint64_t so INT_MIN wraps instead of overflowing. */
#define K_DEF_UNARY_INT(sfx, T, SIGNED)                                               \
    void k_unary_##sfx(int op, const T *x, T *y, int64_t n, int ith, int nth)         \
    {                                                                                 \
        int64_t lo, hi;                                                               \
        k_share(n, ith, nth, &lo, &hi);                                               \
        switch (op) {                                                                 \
        case K_ABS:                                                                   \
            K_MAP(T, K_ID, (T), K_ISNEG(v, SIGNED) ? 0 - (uint64_t)v : (uint64_t)v); \
            break;                                                                    \
        case K_NEG: K_MAP(T, K_ID, (T), 0 - (uint64_t)v); break;                      \
        case K_SIGN: K_MAP(T, K_ID, (T), K_ISNEG(v, SIGNED) ? -1 : v != 0); break; \
        case K_RELU: K_MAP(T, K_ID, (T), K_ISNEG(v, SIGNED) ? 0 : v); break;  \
        case K_NOT: K_MAP(T, K_ID, (T), v == 0); break;                               \
        case K_BNOT: K_MAP(T, K_ID, (T), ~v); break;                                  \
        default: break;                                                               \
        }                                                                             \
    }

K_DEF_UNARY_INT(i8, int8_t, 1)
K_DEF_UNARY_INT(i16, int16_t, 1)
K_DEF_UNARY_INT(i32, int32_t, 1)
K_DEF_UNARY_INT(i64, int64_t, 1)
K_DEF_UNARY_INT(u8, uint8_t, 0)
K_DEF_UNARY_INT(u16, uint16_t, 0)
K_DEF_UNARY_INT(u32, uint32_t, 0)
K_DEF_UNARY_INT(u64, uint64_t, 0)

#define K_DEF_CLIP(sfx, T, CT, LD, ST)                                                \
    void k_clip_##sfx(const T *x, T *y, int64_t n, const T *lo_p, const T *hi_p, int ith, \
                      int nth)                                                        \
    {                                                                                 \
        int64_t lo, hi;                                                               \
        k_share(n, ith, nth, &lo, &hi);                                               \
        int has_lo = lo_p != 0, has_hi = hi_p != 0;                                   \
        CT l = has_lo ? LD(*lo_p) : 0, h = has_hi ? LD(*hi_p) : 0;                    \
        for (int64_t i = lo; i < hi; i++) {                                           \
            CT v = LD(x[i]);                                                          \
            if (has_lo && v < l) v = l;                                               \
            if (has_hi && v > h) v = h;                                               \
            y[i] = ST(v);                                                             \
        }                                                                             \
    }

K_DEF_CLIP(f32, float, float, K_ID, K_ID)
K_DEF_CLIP(f64, double, double, K_ID, K_ID)
K_DEF_CLIP(f16, uint16_t, float, K_F16_LD, K_F16_ST)
K_DEF_CLIP(bf16, uint16_t, float, K_BF16_LD, K_BF16_ST)
K_DEF_CLIP(i8, int8_t, int8_t, K_ID, K_ID)
K_DEF_CLIP(i16, int16_t, int16_t, K_ID, K_ID)
K_DEF_CLIP(i32, int32_t, int32_t, K_ID, K_ID)
K_DEF_CLIP(i64, int64_t, int64_t, K_ID, K_ID)
K_DEF_CLIP(u8, uint8_t, uint8_t, K_ID, K_ID)
K_DEF_CLIP(u16, uint16_t, uint16_t, K_ID, K_ID)
K_DEF_CLIP(u32, uint32_t, uint32_t, K_ID, K_ID)
K_DEF_CLIP(u64, uint64_t, uint64_t, K_ID, K_ID)

#define K_DEF_ISX(sfx, T, CT, LD)                                                     \
    void k_isnan_##sfx(const T *x, uint8_t *y, int64_t n, int ith, int nth)           \
    {                                                                                 \
        int64_t lo, hi;                                                               \
        k_share(n, ith, nth, &lo, &hi);                                               \
        for (int64_t i = lo; i < hi; i++) {                                           \
            CT v = LD(x[i]);                                                          \
            y[i] = v != v;                                                            \
        }                                                                             \
    }                                                                                 \
    void k_isinf_##sfx(const T *x, uint8_t *y, int64_t n, int pos, int neg, int ith, int nth) \
    {                                                                                 \
        int64_t lo, hi;                                                               \
        k_share(n, ith, nth, &lo, &hi);                                               \
        for (int64_t i = lo; i < hi; i++) {                                           \
            CT v = LD(x[i]);                                                          \
            y[i] = isinf(v) && (v > 0 ? pos : neg);                                   \
        }                                                                             \
    }

K_DEF_ISX(f32, float, float, K_ID)
K_DEF_ISX(f64, double, double, K_ID)
K_DEF_ISX(f16, uint16_t, float, K_F16_LD)
K_DEF_ISX(bf16, uint16_t, float, K_BF16_LD)
