#include "binary.h"

#include <math.h>

#include "half.h"

/* Walks this thread's rows; in each, x and w are the loaded operands and EXPR (in terms
 * of x and w) is stored into y. The inner loops are split by the innermost strides
 * (contiguous, or one side broadcast) so the common cases stay simple loops. */
#define K_ROWS(TA, TY, CT, LD, ST, EXPR)                                              \
    do {                                                                              \
        int64_t n_ = bc->dims[bc->rank - 1], lo_, hi_;                                \
        int64_t sa_ = bc->st[0][bc->rank - 1], sb_ = bc->st[1][bc->rank - 1];         \
        k_share(k_bcast_rows(bc), ith, nth, &lo_, &hi_);                              \
        k_bcast_it it_;                                                               \
        k_bcast_seek(bc, lo_, &it_);                                                  \
        for (int64_t r_ = lo_; r_ < hi_; r_++) {                                      \
            const TA *pa_ = a + it_.off[0], *pb_ = b + it_.off[1];                    \
            TY *py_ = (TY *)y + r_ * n_;                                              \
            if (sa_ == 1 && sb_ == 1) {                                               \
                for (int64_t i_ = 0; i_ < n_; i_++) {                                 \
                    CT x = LD(pa_[i_]), w = LD(pb_[i_]);                              \
                    py_[i_] = ST(EXPR);                                               \
                }                                                                     \
            } else if (sa_ == 0) {                                                    \
                CT x = LD(pa_[0]);                                                    \
                for (int64_t i_ = 0; i_ < n_; i_++) {                                 \
                    CT w = LD(pb_[i_ * sb_]);                                         \
                    py_[i_] = ST(EXPR);                                               \
                }                                                                     \
            } else {                                                                  \
                CT w = LD(pb_[0]);                                                    \
                for (int64_t i_ = 0; i_ < n_; i_++) {                                 \
                    CT x = LD(pa_[i_ * sa_]);                                         \
                    py_[i_] = ST(EXPR);                                               \
                }                                                                     \
            }                                                                         \
            k_bcast_next(bc, &it_);                                                   \
        }                                                                             \
    } while (0)

#define K_ID(v) (v)
#define K_BOOL(v) ((uint8_t)((v) ? 1 : 0))
#define K_F16_LD(v) ember_half_to_float(v)
#define K_F16_ST(v) ember_float_to_half(v)
#define K_BF16_LD(v) ember_bf16_to_float(v)
#define K_BF16_ST(v) ember_float_to_bf16(v)

/* Python-style remainder: the result takes the divisor's sign. */
static inline double k_pymod(double x, double w)
{
    double r = fmod(x, w);
    if (r != 0 && ((r < 0) != (w < 0))) r += w;
    return r;
}
static inline float k_pymodf(float x, float w)
{
    float r = fmodf(x, w);
    if (r != 0 && ((r < 0) != (w < 0))) r += w;
    return r;
}

/* Max/Min that propagate NaN from either side, like numpy.maximum/minimum. */
#define K_FMAX(x, w) (((x) >= (w) || (x) != (x)) ? (x) : (w))
#define K_FMIN(x, w) (((x) <= (w) || (x) != (x)) ? (x) : (w))

/* True when operand k is one value broadcast everywhere and that value is v
 * (LayerNorm decompositions square through Pow(x, 2): a multiply, not a powf call). */
static inline int k_scalar_operand(const k_bcast *bc, int k)
{
    for (int d = 0; d < bc->rank; d++) {
        if (bc->dims[d] == 0) return 0; /* empty: nothing to read */
        if (bc->st[k][d] != 0 && bc->dims[d] != 1) return 0;
    }
    return 1;
}

/* Float-family kernel: T storage, CT compute type, FN(f) the libm name for CT. */
#define K_DEF_FLOAT(sfx, T, CT, LD, ST, POWF, FMODF, PYMODF)                          \
    void k_binary_##sfx(int op, const T *a, const T *b, void *y, const k_bcast *bc,   \
                        int ith, int nth)                                             \
    {                                                                                 \
        switch (op) {                                                                 \
        case K_ADD: K_ROWS(T, T, CT, LD, ST, x + w); break;                           \
        case K_SUB: K_ROWS(T, T, CT, LD, ST, x - w); break;                           \
        case K_MUL: K_ROWS(T, T, CT, LD, ST, x * w); break;                           \
        case K_DIV: K_ROWS(T, T, CT, LD, ST, x / w); break;                           \
        case K_POW:                                                                   \
            if (k_scalar_operand(bc, 1) && LD(b[0]) == (CT)2)                         \
                K_ROWS(T, T, CT, LD, ST, ((void)w, x * x)); /* = POWF(x, 2) */  \
            else                                                                      \
                K_ROWS(T, T, CT, LD, ST, POWF(x, w));                                 \
            break;                                                                    \
        case K_MOD: K_ROWS(T, T, CT, LD, ST, PYMODF(x, w)); break;                    \
        case K_FMOD: K_ROWS(T, T, CT, LD, ST, FMODF(x, w)); break;                    \
        case K_MAX: K_ROWS(T, T, CT, LD, ST, K_FMAX(x, w)); break;                    \
        case K_MIN: K_ROWS(T, T, CT, LD, ST, K_FMIN(x, w)); break;                    \
        case K_PRELU: K_ROWS(T, T, CT, LD, ST, x < 0 ? x * w : x); break;             \
        case K_EQ: K_ROWS(T, uint8_t, CT, LD, K_BOOL, x == w); break;                 \
        case K_GT: K_ROWS(T, uint8_t, CT, LD, K_BOOL, x > w); break;                  \
        case K_LT: K_ROWS(T, uint8_t, CT, LD, K_BOOL, x < w); break;                  \
        case K_GE: K_ROWS(T, uint8_t, CT, LD, K_BOOL, x >= w); break;                 \
        case K_LE: K_ROWS(T, uint8_t, CT, LD, K_BOOL, x <= w); break;                 \
        default: break;                                                               \
        }                                                                             \
    }

K_DEF_FLOAT(f32, float, float, K_ID, K_ID, powf, fmodf, k_pymodf)
K_DEF_FLOAT(f64, double, double, K_ID, K_ID, pow, fmod, k_pymod)
K_DEF_FLOAT(f16, uint16_t, float, K_F16_LD, K_F16_ST, powf, fmodf, k_pymodf)
K_DEF_FLOAT(bf16, uint16_t, float, K_BF16_LD, K_BF16_ST, powf, fmodf, k_pymodf)

/* Sign test without a comparison that is always false for unsigned types. */
#define K_ISNEG(x, SIGNED) ((SIGNED) && ((uint64_t)(int64_t)(x) >> 63))

/* Integer helpers, generated per type. Arithmetic goes through uint64_t so overflow
 * wraps instead of being undefined; the conversion back truncates to T. The -1
 * divisor is special-cased because INT_MIN / -1 traps. */
#define K_DEF_INT_HELPERS(sfx, T, SIGNED, BITS)                                       \
    static inline int k_neg_##sfx(T x) { return K_ISNEG(x, SIGNED); }                  \
    static inline int k_minus1_##sfx(T w) { return SIGNED && (uint64_t)(int64_t)w + 1 == 0; }   \
    static inline T k_div_##sfx(T x, T w)                                             \
    {                                                                                 \
        if (w == 0) return 0;                                                         \
        if (k_minus1_##sfx(w)) return (T)(0 - (uint64_t)x);                           \
        return (T)(x / w);                                                            \
    }                                                                                 \
    static inline T k_fmod_##sfx(T x, T w)                                            \
    {                                                                                 \
        if (w == 0 || k_minus1_##sfx(w)) return 0;                                    \
        return (T)(x % w);                                                            \
    }                                                                                 \
    static inline T k_mod_##sfx(T x, T w)                                             \
    {                                                                                 \
        T r = k_fmod_##sfx(x, w);                                                     \
        if (r != 0 && k_neg_##sfx(r) != k_neg_##sfx(w)) r = (T)((uint64_t)r + (uint64_t)w); \
        return r;                                                                     \
    }                                                                                 \
    static inline T k_pow_##sfx(T x, T w)                                             \
    {                                                                                 \
        if (k_neg_##sfx(w)) /* only |x| == 1 survives a negative power */             \
            return x == 1 ? 1 : k_minus1_##sfx(x) ? ((w & 1) ? x : 1) : 0;           \
        uint64_t r = 1, base = (uint64_t)x, e = (uint64_t)w;                          \
        while (e) {                                                                   \
            if (e & 1) r *= base;                                                     \
            base *= base;                                                             \
            e >>= 1;                                                                  \
        }                                                                             \
        return (T)r;                                                                  \
    }                                                                                 \
    static inline T k_shl_##sfx(T x, T w)                                             \
    {                                                                                 \
        return (k_neg_##sfx(w) || (uint64_t)w >= BITS) ? 0 : (T)((uint64_t)x << w);   \
    }                                                                                 \
    static inline T k_shr_##sfx(T x, T w)                                             \
    {                                                                                 \
        return (k_neg_##sfx(w) || (uint64_t)w >= BITS) ? 0 : (T)(x >> w);             \
    }

#define K_DEF_INT(sfx, T, SIGNED, BITS)                                               \
    K_DEF_INT_HELPERS(sfx, T, SIGNED, BITS)                                           \
    void k_binary_##sfx(int op, const T *a, const T *b, void *y, const k_bcast *bc,   \
                        int ith, int nth)                                             \
    {                                                                                 \
        switch (op) {                                                                 \
        case K_ADD: K_ROWS(T, T, T, K_ID, (T), (uint64_t)x + (uint64_t)w); break;     \
        case K_SUB: K_ROWS(T, T, T, K_ID, (T), (uint64_t)x - (uint64_t)w); break;     \
        case K_MUL: K_ROWS(T, T, T, K_ID, (T), (uint64_t)x * (uint64_t)w); break;     \
        case K_DIV: K_ROWS(T, T, T, K_ID, K_ID, k_div_##sfx(x, w)); break;            \
        case K_POW: K_ROWS(T, T, T, K_ID, K_ID, k_pow_##sfx(x, w)); break;            \
        case K_MOD: K_ROWS(T, T, T, K_ID, K_ID, k_mod_##sfx(x, w)); break;            \
        case K_FMOD: K_ROWS(T, T, T, K_ID, K_ID, k_fmod_##sfx(x, w)); break;          \
        case K_MAX: K_ROWS(T, T, T, K_ID, K_ID, x > w ? x : w); break;                \
        case K_MIN: K_ROWS(T, T, T, K_ID, K_ID, x < w ? x : w); break;                \
        case K_PRELU:                                                                 \
            K_ROWS(T, T, T, K_ID, (T), k_neg_##sfx(x) ? (uint64_t)x * (uint64_t)w : (uint64_t)x); \
            break;                                                                    \
        case K_EQ: K_ROWS(T, uint8_t, T, K_ID, K_BOOL, x == w); break;                \
        case K_GT: K_ROWS(T, uint8_t, T, K_ID, K_BOOL, x > w); break;                 \
        case K_LT: K_ROWS(T, uint8_t, T, K_ID, K_BOOL, x < w); break;                 \
        case K_GE: K_ROWS(T, uint8_t, T, K_ID, K_BOOL, x >= w); break;                \
        case K_LE: K_ROWS(T, uint8_t, T, K_ID, K_BOOL, x <= w); break;                \
        case K_AND: K_ROWS(T, uint8_t, T, K_ID, K_BOOL, x != 0 && w != 0); break;     \
        case K_OR: K_ROWS(T, uint8_t, T, K_ID, K_BOOL, x != 0 || w != 0); break;      \
        case K_XOR: K_ROWS(T, uint8_t, T, K_ID, K_BOOL, (x != 0) != (w != 0)); break; \
        case K_SHL: K_ROWS(T, T, T, K_ID, K_ID, k_shl_##sfx(x, w)); break;            \
        case K_SHR: K_ROWS(T, T, T, K_ID, K_ID, k_shr_##sfx(x, w)); break;            \
        case K_BAND: K_ROWS(T, T, T, K_ID, (T), x & w); break;                        \
        case K_BOR: K_ROWS(T, T, T, K_ID, (T), x | w); break;                         \
        case K_BXOR: K_ROWS(T, T, T, K_ID, (T), x ^ w); break;                        \
        default: break;                                                               \
        }                                                                             \
    }

K_DEF_INT(i8, int8_t, 1, 8)
K_DEF_INT(i16, int16_t, 1, 16)
K_DEF_INT(i32, int32_t, 1, 32)
K_DEF_INT(i64, int64_t, 1, 64)
K_DEF_INT(u8, uint8_t, 0, 8)
K_DEF_INT(u16, uint16_t, 0, 16)
K_DEF_INT(u32, uint32_t, 0, 32)
K_DEF_INT(u64, uint64_t, 0, 64)

#define K_WHERE(T)                                                                    \
    do {                                                                              \
        const T *px = x, *pyv = y;                                                    \
        T *po = out;                                                                  \
        int64_t n_ = bc->dims[bc->rank - 1], lo_, hi_;                                \
        int64_t sc_ = bc->st[0][bc->rank - 1], sx_ = bc->st[1][bc->rank - 1],         \
                sy_ = bc->st[2][bc->rank - 1];                                        \
        k_share(k_bcast_rows(bc), ith, nth, &lo_, &hi_);                              \
        k_bcast_it it_;                                                               \
        k_bcast_seek(bc, lo_, &it_);                                                  \
        for (int64_t r_ = lo_; r_ < hi_; r_++) {                                      \
            const uint8_t *c_ = cond + it_.off[0];                                    \
            const T *x_ = px + it_.off[1], *y_ = pyv + it_.off[2];                    \
            T *o_ = po + r_ * n_;                                                     \
            for (int64_t i_ = 0; i_ < n_; i_++)                                       \
                o_[i_] = c_[i_ * sc_] ? x_[i_ * sx_] : y_[i_ * sy_];                  \
            k_bcast_next(bc, &it_);                                                   \
        }                                                                             \
    } while (0)

void k_where(size_t elem_size, const uint8_t *cond, const void *x, const void *y, void *out,
             const k_bcast *bc, int ith, int nth)
{
    switch (elem_size) {
    case 1: K_WHERE(uint8_t); break;
    case 2: K_WHERE(uint16_t); break;
    case 4: K_WHERE(uint32_t); break;
    case 8: K_WHERE(uint64_t); break;
    default: break;
    }
}
