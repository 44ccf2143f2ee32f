/* The module builder, shared by the JIT (jit/orc.c) and the AOT bundle writer: a lowered
 * program (ops/lower/) becomes ONE LLVM module whose entry function
 *
 *     int ember_entry(const uint8_t *consts, uint8_t *const *io, uint8_t *arena);
 *
 * calls the kernels with constant shapes and parameters, every buffer being a base
 * pointer plus a constant byte offset:
 *   consts  the constant blob this builder lays out (ember_module.consts),
 *   io      the graph inputs io[0 .. n_inputs) then the graph outputs
 *           io[n_inputs .. n_inputs + n_outputs),
 *   arena   the program's activations arena (its scratch region included).
 * The kernels' bitcode (for the module's target) is linked in and everything but the
 * entry internalized, so the optimizer inlines and specializes the kernels. Calls whose
 * kernel is better written out from its constant arguments (the fused elementwise
 * chain: jit/gen.h) become IR generated here instead.
 *
 * Target choice stays with the caller: the bitcode decides the triple and data layout,
 * and the caller passes the CPU name, features and target machine it wants. */
#ifndef EMBER_JIT_MODULE_H
#define EMBER_JIT_MODULE_H
#include <stddef.h>
#include <stdint.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "../engine/program.h"
#include "../ops/lower/lower.h"

#define EMBER_ENTRY_NAME "ember_entry"

typedef int (*ember_entry_fn)(const uint8_t *consts, uint8_t *const *io, uint8_t *arena);

/* Runs every step's lowering hook. EMBER_E_UNSUPPORTED names the first node (and op)
 * that has no hook or whose hook declined. On failure L is freed. */
ember_status ember_program_lower(const ember_program *p, ember_lowered *L);

typedef struct ember_module {
    LLVMModuleRef module;   /* owned until handed on (set to NULL by the taker) */
    uint8_t *consts;        /* the constant blob (malloc'd, 64-byte aligned), or NULL */
    size_t consts_bytes;
} ember_module;

/* Builds the module for program p in ctx from its lowering L and the kernel bitcode
 * (bc, bc_bytes). cpu / features (may be NULL: left as the bitcode has them; "" removes
 * the bitcode's) are stamped as "target-cpu" / "target-features" on every function.
 * scratch_at: per program step, the arena offset of its scratch (a bundle places each
 * step's scratch in a gap of its own); NULL = p->scratch_offset for all. */
ember_status ember_module_build(LLVMContextRef ctx, const ember_program *p, const ember_lowered *L,
                                const void *bc, size_t bc_bytes, const char *cpu, const char *features,
                                const size_t *scratch_at, ember_module *out);
/* Runs the "default<O3>" pipeline with tm's cost model (tm may be NULL). */
ember_status ember_module_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm);
void ember_module_dispose(ember_module *m); /* NULL-safe; disposes what is still owned */
#endif
