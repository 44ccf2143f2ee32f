/* Broadcasting binary kernels (Add ... BitShift) and the ternary Where.
 * One function per storage type; `op` picks the operation. Comparison and logical ops
 * write uint8 (ONNX bool); everything else writes the operand type. float16/bfloat16
 * compute in float. Integer arithmetic wraps (two's complement) and division or modulo
 * by zero gives 0 instead of trapping. Rows are split by (ith, nth). */
#ifndef EMBER_K_BINARY_H
#define EMBER_K_BINARY_H
#include <stddef.h>
#include <stdint.h>

#include "elementwise_bcast.h"

enum k_binop {
    K_ADD, K_SUB, K_MUL, K_DIV, K_POW,
    K_MOD,   /* sign of the divisor (Python), ONNX Mod fmod=0 */
    K_FMOD,  /* sign of the dividend (C), ONNX Mod fmod=1 */
    K_MAX, K_MIN,
    K_PRELU, /* a < 0 ? a * b : a */
    K_EQ, K_GT, K_LT, K_GE, K_LE, /* -> bool */
    K_AND, K_OR, K_XOR,           /* -> bool */
    K_SHL, K_SHR, K_BAND, K_BOR, K_BXOR, /* integers only */
    K_BINOP_COUNT
};

/* Whether op writes bool (uint8) rather than the operand type. */
static inline int k_binop_is_bool(int op) { return op >= K_EQ && op <= K_XOR; }

#define K_BINARY_DECL(sfx, T) \
    void k_binary_##sfx(int op, const T *a, const T *b, void *y, const k_bcast *bc, int ith, int nth);
K_BINARY_DECL(f32, float)
K_BINARY_DECL(f64, double)
K_BINARY_DECL(f16, uint16_t)
K_BINARY_DECL(bf16, uint16_t)
K_BINARY_DECL(i8, int8_t)
K_BINARY_DECL(i16, int16_t)
K_BINARY_DECL(i32, int32_t)
K_BINARY_DECL(i64, int64_t)
K_BINARY_DECL(u8, uint8_t)
K_BINARY_DECL(u16, uint16_t)
K_BINARY_DECL(u32, uint32_t)
K_BINARY_DECL(u64, uint64_t)
#undef K_BINARY_DECL

/* out = cond ? x : y for elements of elem_size bytes (1, 2, 4 or 8); bc has three
 * operands in the order cond, x, y. */
void k_where(size_t elem_size, const uint8_t *cond, const void *x, const void *y, void *out,
             const k_bcast *bc, int ith, int nth);
#endif
