/* The LLVM half of Ember, built as its own shared module (libember_llvm.so: jit/module.c,
 * orc.c, bundle*.c, gen_elementwise.c, ops/lower/ and the kernel bitcode) and loaded by
 * jit/llvm_load.c only when the JIT or a bundle is asked for, so that a process that just
 * serves models never maps LLVM (~45 MB of resident pages and ~10 ms of static
 * constructors at every start). The module exports one symbol, EMBER_LLVM_API_SYMBOL, a
 * table of these entry points; it calls back into the Ember library that loaded it. */
#ifndef EMBER_JIT_LLVM_API_H
#define EMBER_JIT_LLVM_API_H
#include "../engine/program.h"
#include "ember.h"

#define EMBER_LLVM_API_SYMBOL "ember_llvm_entry_points"
#define EMBER_LLVM_API_VERSION 1

typedef struct ember_orc ember_orc;
typedef int (*ember_llvm_entry_fn)(const uint8_t *consts, uint8_t *const *io, uint8_t *arena);

typedef struct ember_llvm_api {
    int version; /* EMBER_LLVM_API_VERSION */
    ember_status (*orc_compile)(const ember_program *p, ember_orc **out);
    ember_llvm_entry_fn (*orc_entry)(const ember_orc *o);
    const uint8_t *(*orc_consts)(const ember_orc *o);
    void (*orc_free)(ember_orc *o);
    ember_status (*compile_bundle)(const ember_model *model, const ember_bundle_options *o, const char *out_dir,
                                   ember_bundle_report *report);
} ember_llvm_api;

/* The module's table, or NULL with the error set saying why it could not be loaded
 * (jit/llvm_load.c). Loaded once per process, never unloaded. */
const ember_llvm_api *ember_llvm(void);
#endif
