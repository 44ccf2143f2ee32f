/* One loop for a chain of elementwise float32 ops (the EmberElementwiseChain op the
 * elementwise-fusion pass builds): each block of elements is loaded once, every step of
 * a small program runs over the block while it sits in L1, and the result is stored once.
 * Portable C; elements are split by (ith, nth). */
#ifndef EMBER_K_ELEMENTWISE_CHAIN_H
#define EMBER_K_ELEMENTWISE_CHAIN_H
#include <stdint.h>

/* Step opcodes. Binary steps combine the running value r with an operand: a constant
 * (consts[arg]) or a tensor of the chain's shape (ins[arg]); R* forms swap the sides. */
enum k_ewc_op {
    K_EWC_ADD, K_EWC_SUB, K_EWC_RSUB, K_EWC_MUL, K_EWC_DIV, K_EWC_RDIV, K_EWC_MAX, K_EWC_MIN,
    K_EWC_BINARY_END,
    K_EWC_RELU = K_EWC_BINARY_END, K_EWC_NEG, K_EWC_ABS, K_EWC_SQRT, K_EWC_EXP, K_EWC_TANH,
    K_EWC_SIGMOID, K_EWC_ERF,
    K_EWC_CLIP, /* r = min(max(r, consts[arg]), consts[arg + 1]) */
    K_EWC_COUNT
};

/* Operand kinds of a binary step. */
enum { K_EWC_CONST = 0, K_EWC_TENSOR = 1 };

#define K_EWC_MAX_INPUTS 4

/* prog: n_steps triples (opcode, kind, arg); tensor operand arg k is x<k> (k >= 1; unused
 * ones may be NULL). y = chain(x0); y may equal x0. */
void k_elementwise_chain_f32(const float *x0, const float *x1, const float *x2, const float *x3, float *y,
                             int64_t n, const int64_t *prog, int n_steps, const float *consts, int ith, int nth);

/* The chain's transcendental steps for one element, shared with the loops the JIT
 * generates (jit/gen_elementwise.c), so both compute the same numbers. */
float k_ewc_exp_f32(float x);
float k_ewc_tanh_f32(float x);
float k_ewc_sigmoid_f32(float x);
float k_ewc_erf_f32(float x);
#endif
