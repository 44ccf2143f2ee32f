/* The bundle options' defaults: part of the library whether or not it was built with
 * LLVM (jit/llvm_load.c or jit/nollvm/bundle.c then compile the bundle). */
#include <string.h>

#include "ember.h"

void ember_bundle_options_init(ember_bundle_options *o)
{
    memset(o, 0, sizeof *o);
    o->target = "x86_64-linux-gnu";
    o->name = "model";
}
