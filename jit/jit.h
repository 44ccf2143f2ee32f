/* The cpu backend's JIT hook. ember_program_build calls ember_jit_attach once the program
 * is built: when the environment variable EMBER_JIT is "1" (opt-in: the executor's
 * oneDNN/OpenBLAS paths are faster today) and every step has a lowering, the program is
 * compiled to one native function, kept with the program until ember_jit_detach (from ember_program_free). ember_program_run calls ember_jit_entry and,
 * when it gives a function, calls it instead of stepping through the kernels.
 * A program that cannot be JIT-compiled stays on the executor; the reason is printed when
 * EMBER_JIT_DEBUG is set, and kept for ember_jit_why. EMBER_JIT_DUMP=<file> writes the
 * optimized module's IR there. */
#ifndef EMBER_JIT_H
#define EMBER_JIT_H
#include <stdint.h>

#include "../engine/program.h"

typedef int (*ember_jit_entry_fn)(const uint8_t *consts, uint8_t *const *io, uint8_t *arena);

/* Tries to compile p; never fails the build (errors only send p to the executor). */
void ember_jit_attach(ember_program *p);
/* The compiled entry of p and its constant blob, or NULL. */
ember_jit_entry_fn ember_jit_entry(const ember_program *p, const uint8_t **consts);
void ember_jit_detach(const ember_program *p); /* NULL-safe */
/* Why the last attach on this thread did not compile ("" when it did). */
const char *ember_jit_why(void);
#endif
