/* Reduction kernels. A reduction runs in phases over an accumulator array with one
 * slot per output element: init, one or two accumulate passes over the input, finish;
 * the caller then converts the accumulator to the output type. Float inputs accumulate
 * in double, integer inputs in int64 (exact sums). The accumulate pass walks the input
 * with a k_bcast of two operands: st[0] = accumulator strides (0 along reduced axes),
 * st[1] = input strides. Threads split the outermost dimension when it is kept;
 * otherwise share 0 does all the work.
 * Also: ArgMax/ArgMin and CumSum over an [outer, n, inner] view. */
#ifndef EMBER_K_REDUCE_H
#define EMBER_K_REDUCE_H
#include <stdint.h>

#include "elementwise_bcast.h"

/* accumulate ops: acc = acc (+) f(x) */
enum k_racc {
    K_RACC_SUM,  /* acc + x */
    K_RACC_ABS,  /* acc + |x| */
    K_RACC_SQ,   /* acc + x*x */
    K_RACC_PROD, /* acc * x */
    K_RACC_MAX,  /* max(acc, x), NaN wins */
    K_RACC_MIN,  /* min(acc, x), NaN wins */
    K_RACC_EXP,  /* acc + exp(x - shift[o]) (float only) */
};

/* finishing steps */
enum k_rfin { K_RFIN_NONE, K_RFIN_MEAN, K_RFIN_SQRT, K_RFIN_LOG, K_RFIN_LOG_SHIFT };

/* identity of accumulate op `acc` */
void k_reduce_init_f64(int acc, double *a, int64_t n);
void k_reduce_init_i64(int acc, int64_t *a, int64_t n);
/* K_RFIN_MEAN divides by count; K_RFIN_LOG_SHIFT is log(a) + shift[o]. */
void k_reduce_finish_f64(int fin, double *a, const double *shift, int64_t n, int64_t count);
void k_reduce_finish_i64(int fin, int64_t *a, int64_t n, int64_t count);

#define K_RACC_F_DECL(sfx, T)                                                       \
    void k_reduce_acc_##sfx(int acc, const T *x, double *a, const double *shift,    \
                            const k_bcast *bc, int ith, int nth);
K_RACC_F_DECL(f32, float)
K_RACC_F_DECL(f64, double)
K_RACC_F_DECL(f16, uint16_t)
K_RACC_F_DECL(bf16, uint16_t)
#undef K_RACC_F_DECL

#define K_RACC_I_DECL(sfx, T) \
    void k_reduce_acc_##sfx(int acc, const T *x, int64_t *a, const k_bcast *bc, int ith, int nth);
K_RACC_I_DECL(i8, int8_t)
K_RACC_I_DECL(i16, int16_t)
K_RACC_I_DECL(i32, int32_t)
K_RACC_I_DECL(i64, int64_t)
K_RACC_I_DECL(u8, uint8_t)
K_RACC_I_DECL(u16, uint16_t)
K_RACC_I_DECL(u32, uint32_t)
#undef K_RACC_I_DECL

/* y[o, i] = index along n of the max (is_min: min) of x[o, :, i]; ties go to the first
 * index, or the last with select_last. Outer rows are split by (ith, nth). */
#define K_ARG_DECL(sfx, T)                                                          \
    void k_argmax_##sfx(const T *x, int64_t *y, int64_t outer, int64_t n, int64_t inner, \
                        int is_min, int select_last, int ith, int nth);
K_ARG_DECL(f32, float)
K_ARG_DECL(f64, double)
K_ARG_DECL(f16, uint16_t)
K_ARG_DECL(bf16, uint16_t)
K_ARG_DECL(i8, int8_t)
K_ARG_DECL(i16, int16_t)
K_ARG_DECL(i32, int32_t)
K_ARG_DECL(i64, int64_t)
K_ARG_DECL(u8, uint8_t)
K_ARG_DECL(u16, uint16_t)
K_ARG_DECL(u32, uint32_t)
K_ARG_DECL(u64, uint64_t)
#undef K_ARG_DECL
#endif
