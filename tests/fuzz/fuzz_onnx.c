/* libFuzzer target: any bytes through the ONNX importer must give a graph or an error,
 * never a crash, a leak or undefined behaviour. Build with -DEMBER_FUZZ=ON (clang).
 *   fuzz_onnx tests/fuzz/corpus -max_len=65536 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../engine/graph.h"
#include "../../importers/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ember_graph *g = NULL;
    ember_model_meta meta;
    if (ember_onnx_import(data, size, NULL, &g, &meta) == EMBER_OK) {
        /* touch what a loader would read next */
        for (int i = 0; i < meta.n; i++)
            if (!meta.keys[i] || !meta.values[i]) __builtin_trap();
    }
    ember_graph_free(g);
    ember_tensor t;
    if (ember_onnx_read_tensor(data, size, &t, NULL) == EMBER_OK) free(t.data);
    return 0;
}
