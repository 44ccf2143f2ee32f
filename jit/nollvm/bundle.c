/* Bundles in a library built without LLVM (EMBER_LLVM=OFF): the API says so. */
#include <string.h>

#include "../../engine/status.h"
#include "ember.h"

ember_status ember_model_compile_bundle(const ember_model *model, const ember_bundle_options *options,
                                        const char *out_dir, ember_bundle_report *report)
{
    (void)model, (void)options, (void)out_dir;
    if (report) memset(report, 0, sizeof *report);
    return ember_error(EMBER_E_UNSUPPORTED, "this Ember was built without LLVM (EMBER_LLVM=OFF): no bundles");
}
