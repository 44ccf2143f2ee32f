/* AOT bundles (ember_model_compile_bundle in include/ember.h): the JIT's pipeline — the
 * same passes, memory plan, lowering and module builder (jit/module.h) — with a target
 * machine for another CPU and that target's freestanding kernel bitcode, emitted as an
 * object file plus a header and the constant blob. Nothing in a bundle calls back into
 * Ember: the object needs only mem*, the compiler runtime and single-precision libm.
 *
 * Memory, as the header states it (all three regions MEM_ALIGN-aligned, owned by the
 * caller):
 *   constant   the constant blob (NAME.weights.bin / NAME.weights.c), read only;
 *   mutable    the graph inputs then the graph outputs, each at a MEM_ALIGN multiple;
 *   activations the program's arena: its planned intermediates plus each step's scratch,
 *              placed in a gap of the arena free during that step. */
#ifndef EMBER_JIT_BUNDLE_H
#define EMBER_JIT_BUNDLE_H
#include <stddef.h>
#include <stdint.h>

#include "../engine/status.h"
#include "ember.h"

#define EMBER_BUNDLE_ALIGN 64

typedef struct ember_bundle_target {
    const char *name;     /* as the user names it (--target) */
    const char *triple;   /* passed through LLVMNormalizeTargetTriple before use */
    const unsigned char *bc; /* the target's kernel bitcode (embedded) */
    size_t (*bc_size)(void);
    const char *cpu;      /* default CPU */
    const char *features; /* features always on (the ABI's: RISC-V's extensions) */
    const char *abi;      /* target ABI name or NULL */
    int pic;              /* position-independent code (hosted targets) or static */
    const char *const *cpus; /* the CPUs the bitcode's ABI fits (NULL-terminated), or NULL: any */
} ember_bundle_target;

/* The target called `name` (exactly, or the same arch/OS/environment after
 * normalization), or NULL. */
const ember_bundle_target *ember_bundle_target_find(const char *name);
/* The supported names, comma-separated, for messages. */
const char *ember_bundle_target_names(void);

typedef struct ember_bundle_io {
    const char *name;   /* the ONNX name */
    char ident[128];    /* upper-case C identifier part, unique in the bundle */
    size_t offset, size;
    int is_input, dtype, rank;
    int64_t dims[8];
} ember_bundle_io;

typedef struct ember_bundle_layout {
    const char *name; /* the bundle (a C identifier) */
    const char *target, *cpu;
    size_t constant_bytes, mutable_bytes, activations_bytes;
    int n_inputs, n_outputs;
    ember_bundle_io *io; /* inputs then outputs */
} ember_bundle_layout;

/* Fills the unique upper-case identifiers of every io entry from its name. */
void ember_bundle_idents(ember_bundle_layout *lay);
/* NAME.h: the contract (sizes, offsets, the io table, the entry point). */
ember_status ember_bundle_write_header(const char *path, const ember_bundle_layout *lay);
/* NAME.weights.c: const uint8_t NAME_constant_weights[] aligned to EMBER_BUNDLE_ALIGN. */
ember_status ember_bundle_write_weights_c(const char *path, const char *name, const uint8_t *data, size_t n);
/* ember_model_compile_bundle's body. */
ember_status ember_llvm_compile_bundle(const ember_model *model, const ember_bundle_options *o, const char *out_dir,
                                       ember_bundle_report *report);
/* Writes n bytes to path (replacing it). */
ember_status ember_bundle_write_file(const char *path, const void *data, size_t n);
#endif
