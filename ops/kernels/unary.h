/* Elementwise unary kernels: activations and math functions on float types, the few
 * integer ones (Abs, Neg, Sign, Relu, Not, BitwiseNot), Clip, IsNaN/IsInf.
 * float16/bfloat16 compute in float. Elements are split by (ith, nth). */
#ifndef EMBER_K_UNARY_H
#define EMBER_K_UNARY_H
#include <stdint.h>

enum k_unop {
    K_ABS, K_NEG, K_SIGN, K_RELU, /* float and integer */
    K_NOT, K_BNOT,                /* integer (bool = uint8) only */
    K_SQRT, K_RECIP, K_EXP, K_LOG, K_CEIL, K_FLOOR, K_ROUND,
    K_SIN, K_COS, K_TAN, K_ASIN, K_ACOS, K_ATAN,
    K_SINH, K_COSH, K_ASINH, K_ACOSH, K_ATANH, K_ERF,
    K_SIGMOID, K_TANH, K_SOFTPLUS, K_SOFTSIGN, K_MISH,
    K_ELU,         /* alpha */
    K_SELU,        /* alpha, gamma (as beta) */
    K_LEAKYRELU,   /* alpha */
    K_HARDSIGMOID, /* alpha, beta */
    K_HARDSWISH,
    K_THRESHRELU,  /* alpha */
    K_CELU,        /* alpha */
    K_SHRINK,      /* lambd (alpha), bias (beta) */
    K_SCALE,       /* x * alpha */
    K_UNOP_COUNT
};

/* Whether op exists for integer types. */
static inline int k_unop_int_ok(int op) { return op <= K_BNOT; }

void k_unary_f32(int op, const float *x, float *y, int64_t n, float alpha, float beta, int ith, int nth);
void k_unary_f64(int op, const double *x, double *y, int64_t n, double alpha, double beta, int ith, int nth);
void k_unary_f16(int op, const uint16_t *x, uint16_t *y, int64_t n, float alpha, float beta, int ith, int nth);
void k_unary_bf16(int op, const uint16_t *x, uint16_t *y, int64_t n, float alpha, float beta, int ith, int nth);

#define K_UNARY_INT_DECL(sfx, T) \
    void k_unary_##sfx(int op, const T *x, T *y, int64_t n, int ith, int nth);
K_UNARY_INT_DECL(i8, int8_t)
K_UNARY_INT_DECL(i16, int16_t)
K_UNARY_INT_DECL(i32, int32_t)
K_UNARY_INT_DECL(i64, int64_t)
K_UNARY_INT_DECL(u8, uint8_t)
K_UNARY_INT_DECL(u16, uint16_t)
K_UNARY_INT_DECL(u32, uint32_t)
K_UNARY_INT_DECL(u64, uint64_t)
#undef K_UNARY_INT_DECL

/* y = min(max(x, *lo), *hi); a NULL bound is absent. */
#define K_CLIP_DECL(sfx, T) \
    void k_clip_##sfx(const T *x, T *y, int64_t n, const T *lo, const T *hi, int ith, int nth);
K_CLIP_DECL(f32, float)
K_CLIP_DECL(f64, double)
K_CLIP_DECL(f16, uint16_t)
K_CLIP_DECL(bf16, uint16_t)
K_CLIP_DECL(i8, int8_t)
K_CLIP_DECL(i16, int16_t)
K_CLIP_DECL(i32, int32_t)
K_CLIP_DECL(i64, int64_t)
K_CLIP_DECL(u8, uint8_t)
K_CLIP_DECL(u16, uint16_t)
K_CLIP_DECL(u32, uint32_t)
K_CLIP_DECL(u64, uint64_t)
#undef K_CLIP_DECL

/* IsNaN (inf_mode 0) or IsInf (inf_mode 1, with which signs count) into bool. */
#define K_ISX_DECL(sfx, T)                                                        \
    void k_isnan_##sfx(const T *x, uint8_t *y, int64_t n, int ith, int nth);      \
    void k_isinf_##sfx(const T *x, uint8_t *y, int64_t n, int pos, int neg, int ith, int nth);
K_ISX_DECL(f32, float)
K_ISX_DECL(f64, double)
K_ISX_DECL(f16, uint16_t)
K_ISX_DECL(bf16, uint16_t)
#undef K_ISX_DECL
#endif
