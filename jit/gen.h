/* IR generated directly by the module builder (jit/module.c) in place of a kernel call,
 * from the call's constant arguments. */
#ifndef EMBER_JIT_GEN_H
#define EMBER_JIT_GEN_H
#include <stdint.h>

#include <llvm-c/Core.h>

#include "../engine/status.h"

/* A function of type fty (k_elementwise_chain_f32's: x0..x3, y, n, then the program,
 * its length, the constants, ith, nth, which it ignores) that runs the chain `prog`
 * (n_steps opcode/kind/arg triples, ops/kernels/elementwise_chain.h) over elements
 * [0, n) in one generated loop. Transcendental steps call k_ewc_*_f32, declared in m from
 * the kernel bitcode kmod. serial makes the function's name unique in m. */
ember_status ember_gen_elementwise_chain(LLVMModuleRef m, LLVMModuleRef kmod, LLVMTypeRef fty, const int64_t *prog,
                                         int n_steps, const float *consts, int n_consts, int serial,
                                         LLVMValueRef *out);
#endif
