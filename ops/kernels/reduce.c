#include "reduce.h"

#include <math.h>

#include "half.h"

#define K_ID(v) (v)
#define K_F16_LD(v) ember_half_to_float(v)
#define K_BF16_LD(v) ember_bf16_to_float(v)

void k_reduce_init_f64(int acc, double *a, int64_t n)
{
    double v = acc == K_RACC_PROD ? 1 : acc == K_RACC_MAX ? -INFINITY : acc == K_RACC_MIN ? INFINITY : 0;
    for (int64_t i = 0; i < n; i++) a[i] = v;
}

void k_reduce_init_i64(int acc, int64_t *a, int64_t n)
{
    int64_t v = acc == K_RACC_PROD ? 1 : acc == K_RACC_MAX ? INT64_MIN : acc == K_RACC_MIN ? INT64_MAX : 0;
    for (int64_t i = 0; i < n; i++) a[i] = v;
}

void k_reduce_finish_f64(int fin, double *a, const double *shift, int64_t n, int64_t count)
{
    for (int64_t i = 0; i < n; i++) {
        switch (fin) {
        case K_RFIN_MEAN: a[i] /= (double)count; break;
        case K_RFIN_SQRT: a[i] = sqrt(a[i]); break;
        case K_RFIN_LOG: a[i] = log(a[i]); break;
        case K_RFIN_LOG_SHIFT: a[i] = log(a[i]) + (isinf(shift[i]) ? 0 : shift[i]); break;
        default: break;
        }
    }
}

void k_reduce_finish_i64(int fin, int64_t *a, int64_t n, int64_t count)
{
    if (fin != K_RFIN_MEAN || count == 0) return;
    for (int64_t i = 0; i < n; i++) a[i] /= count;
}

/* This share's rows: split along the outermost dimension only when it is kept, so two
 * threads never accumulate into the same slot. Returns 0 when there is nothing to do. */
static int k_racc_rows(const k_bcast *bc, int ith, int nth, int64_t *lo, int64_t *hi)
{
    int64_t rows = k_bcast_rows(bc);
    if (bc->rank >= 2 && bc->st[0][0] != 0) {
        int64_t per0 = rows / (bc->dims[0] ? bc->dims[0] : 1);
        k_share(bc->dims[0], ith, nth, lo, hi);
        *lo *= per0;
        *hi *= per0;
        return *lo < *hi;
    }
    *lo = 0;
    *hi = ith == 0 ? rows : 0;
    return *lo < *hi;
}

#define K_RACC_LOOP(T, AT, LD, UPD)                                                   \
    do {                                                                              \
        int64_t lo_, hi_;                                                             \
        if (!k_racc_rows(bc, ith, nth, &lo_, &hi_)) return;                           \
        int64_t n_ = bc->dims[bc->rank - 1];                                          \
        int64_t sa_ = bc->st[0][bc->rank - 1], sx_ = bc->st[1][bc->rank - 1];         \
        k_bcast_it it_;                                                               \
        k_bcast_seek(bc, lo_, &it_);                                                  \
        for (int64_t r_ = lo_; r_ < hi_; r_++) {                                      \
            const T *px_ = x + it_.off[1];                                            \
            AT *pa_ = a + it_.off[0];                                                 \
            const double *ps_ = shift ? shift + it_.off[0] : 0;                       \
            (void)ps_;                                                                \
            if (sa_ == 0) {                                                           \
                AT acc_ = pa_[0];                                                     \
                for (int64_t i_ = 0; i_ < n_; i_++) {                                 \
                    AT v = LD(px_[i_ * sx_]);                                         \
                    int64_t o_ = 0;                                                   \
                    (void)o_;                                                         \
                    acc_ = UPD(acc_, v);                                              \
                }                                                                     \
                pa_[0] = acc_;                                                        \
            } else {                                                                  \
                for (int64_t i_ = 0; i_ < n_; i_++) {                                 \
                    AT v = LD(px_[i_ * sx_]);                                         \
                    int64_t o_ = i_ * sa_;                                            \
                    (void)o_;                                                         \
                    pa_[o_] = UPD(pa_[o_], v);                                        \
                }                                                                     \
            }                                                                         \
            k_bcast_next(bc, &it_);                                                   \
        }                                                                             \
    } while (0)

#define K_U_SUM(a, v) ((a) + (v))
#define K_U_ABS(a, v) ((a) + ((v) < 0 ? -(v) : (v)))
#define K_U_SQ(a, v) ((a) + (v) * (v))
#define K_U_PROD(a, v) ((a) * (v))
#define K_U_MAX(a, v) (((v) > (a) || (v) != (v)) ? (v) : (a))
#define K_U_MIN(a, v) (((v) < (a) || (v) != (v)) ? (v) : (a))
#define K_U_EXP(a, v) ((a) + exp((v) - (isinf(ps_[o_]) ? 0 : ps_[o_])))

#define K_DEF_RACC_F(sfx, T, LD)                                                      \
    void k_reduce_acc_##sfx(int acc, const T *x, double *a, const double *shift,      \
                            const k_bcast *bc, int ith, int nth)                      \
    {                                                                                 \
        switch (acc) {                                                                \
        case K_RACC_SUM: K_RACC_LOOP(T, double, LD, K_U_SUM); break;                  \
        case K_RACC_ABS: K_RACC_LOOP(T, double, LD, K_U_ABS); break;                  \
        case K_RACC_SQ: K_RACC_LOOP(T, double, LD, K_U_SQ); break;                    \
        case K_RACC_PROD: K_RACC_LOOP(T, double, LD, K_U_PROD); break;                \
        case K_RACC_MAX: K_RACC_LOOP(T, double, LD, K_U_MAX); break;                  \
        case K_RACC_MIN: K_RACC_LOOP(T, double, LD, K_U_MIN); break;                  \
        case K_RACC_EXP: K_RACC_LOOP(T, double, LD, K_U_EXP); break;                  \
        default: break;                                                               \
        }                                                                             \
    }

K_DEF_RACC_F(f32, float, K_ID)
K_DEF_RACC_F(f64, double, K_ID)
K_DEF_RACC_F(f16, uint16_t, K_F16_LD)
K_DEF_RACC_F(bf16, uint16_t, K_BF16_LD)

/* Integer sums and products wrap in uint64_t instead of overflowing. */
#define K_UI_SUM(a, v) ((int64_t)((uint64_t)(a) + (uint64_t)(v)))
#define K_UI_ABS(a, v) ((int64_t)((uint64_t)(a) + ((v) < 0 ? 0 - (uint64_t)(v) : (uint64_t)(v))))
#define K_UI_SQ(a, v) ((int64_t)((uint64_t)(a) + (uint64_t)(v) * (uint64_t)(v)))
#define K_UI_PROD(a, v) ((int64_t)((uint64_t)(a) * (uint64_t)(v)))
#define K_UI_MAX(a, v) ((v) > (a) ? (v) : (a))
#define K_UI_MIN(a, v) ((v) < (a) ? (v) : (a))

#define K_DEF_RACC_I(sfx, T)                                                          \
    void k_reduce_acc_##sfx(int acc, const T *x, int64_t *a, const k_bcast *bc, int ith, \
                            int nth)                                                  \
    {                                                                                 \
        const double *shift = 0;                                                      \
        switch (acc) {                                                                \
        case K_RACC_SUM: K_RACC_LOOP(T, int64_t, K_ID, K_UI_SUM); break;              \
        case K_RACC_ABS: K_RACC_LOOP(T, int64_t, K_ID, K_UI_ABS); break;              \
        case K_RACC_SQ: K_RACC_LOOP(T, int64_t, K_ID, K_UI_SQ); break;                \
        case K_RACC_PROD: K_RACC_LOOP(T, int64_t, K_ID, K_UI_PROD); break;            \
        case K_RACC_MAX: K_RACC_LOOP(T, int64_t, K_ID, K_UI_MAX); break;              \
        case K_RACC_MIN: K_RACC_LOOP(T, int64_t, K_ID, K_UI_MIN); break;              \
        default: break;                                                               \
        }                                                                             \
    }

K_DEF_RACC_I(i8, int8_t)
K_DEF_RACC_I(i16, int16_t)
K_DEF_RACC_I(i32, int32_t)
K_DEF_RACC_I(i64, int64_t)
K_DEF_RACC_I(u8, uint8_t)
K_DEF_RACC_I(u16, uint16_t)
K_DEF_RACC_I(u32, uint32_t)

/* The running best of each inner lane is re-read through its index, so the loop runs
 * k-outer / lane-inner over contiguous memory without scratch. */
#define K_DEF_ARG(sfx, T, CT, LD)                                                     \
    void k_argmax_##sfx(const T *x, int64_t *y, int64_t outer, int64_t n, int64_t inner, \
                        int is_min, int select_last, int ith, int nth)                \
    {                                                                                 \
        int64_t lo, hi;                                                               \
        k_share(outer, ith, nth, &lo, &hi);                                           \
        for (int64_t o = lo; o < hi; o++) {                                           \
            const T *xo = x + o * n * inner;                                          \
            int64_t *yo = y + o * inner;                                              \
            for (int64_t i = 0; i < inner; i++) yo[i] = 0;                            \
            for (int64_t k = 1; k < n; k++) {                                         \
                const T *xk = xo + k * inner;                                         \
                for (int64_t i = 0; i < inner; i++) {                                 \
                    CT v = LD(xk[i]), b = LD(xo[yo[i] * inner + i]);                  \
                    int better = is_min ? v < b : v > b;                              \
                    if (better || (select_last && v == b)) yo[i] = k;                 \
                }                                                                     \
            }                                                                         \
        }                                                                             \
    }

K_DEF_ARG(f32, float, float, K_ID)
K_DEF_ARG(f64, double, double, K_ID)
K_DEF_ARG(f16, uint16_t, float, K_F16_LD)
K_DEF_ARG(bf16, uint16_t, float, K_BF16_LD)
K_DEF_ARG(i8, int8_t, int8_t, K_ID)
K_DEF_ARG(i16, int16_t, int16_t, K_ID)
K_DEF_ARG(i32, int32_t, int32_t, K_ID)
K_DEF_ARG(i64, int64_t, int64_t, K_ID)
K_DEF_ARG(u8, uint8_t, uint8_t, K_ID)
K_DEF_ARG(u16, uint16_t, uint16_t, K_ID)
K_DEF_ARG(u32, uint32_t, uint32_t, K_ID)
K_DEF_ARG(u64, uint64_t, uint64_t, K_ID)
