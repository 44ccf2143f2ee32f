/* The table libember_llvm.so exports (jit/llvm_api.h): its only public symbol. */
#include "bundle.h"
#include "llvm_api.h"
#include "orc.h"

__attribute__((visibility("default"))) const ember_llvm_api ember_llvm_entry_points = {
    .version = EMBER_LLVM_API_VERSION,
    .orc_compile = ember_orc_compile,
    .orc_entry = ember_orc_entry,
    .orc_consts = ember_orc_consts,
    .orc_free = ember_orc_free,
    .compile_bundle = ember_llvm_compile_bundle,
};
