/* Host compilation with ORC LLJIT: a target machine for this CPU (name and features as
 * LLVM detects them), the module builder's output optimized for it and compiled, the
 * entry looked up. The JIT lives as long as the returned handle. */
#ifndef EMBER_JIT_ORC_H
#define EMBER_JIT_ORC_H
#include "module.h"

typedef struct ember_orc ember_orc;

/* Lowers, builds, optimizes and compiles program p. On success *out owns the code and
 * the constant blob; entry / consts are theirs. EMBER_E_UNSUPPORTED when some step has no
 * lowering (the message names it). */
ember_status ember_orc_compile(const ember_program *p, ember_orc **out);
ember_entry_fn ember_orc_entry(const ember_orc *o);
const uint8_t *ember_orc_consts(const ember_orc *o);
void ember_orc_free(ember_orc *o); /* NULL-safe */

/* The embedded kernel bitcode for the host. */
extern const unsigned char ember_kernels_bc[];
size_t ember_kernels_bc_size(void);
#endif
