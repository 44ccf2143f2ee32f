/* importers/onnx_strip.c: large initializers' raw_data taken out before protobuf-c
 * unpacks the model. Every initializer the importer builds must hold exactly the bytes
 * protobuf-c decodes from the untouched model, and damaged models must never crash it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember_onnx.pb-c.h"
#include "importers/onnx.h"
#include "test_util.h"

#define ZOO EMBER_SHARED_DIR "/models/"

static void same_initializers(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, ZOO "%s/model.onnx", name);
    size_t n;
    unsigned char *bytes = ut_read_file(path, &n);
    /* The reference: protobuf-c on the whole model. */
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, n, bytes);
    cr_assert_not_null(mp);
    ember_graph *g;
    ember_model_meta meta;
    cr_assert_eq(ember_onnx_import(bytes, n, NULL, &g, &meta), EMBER_OK, "%s", ember_last_error());
    size_t big = 0;
    for (size_t i = 0; i < mp->graph->n_initializer; i++) {
        const Onnx__TensorProto *tp = mp->graph->initializer[i];
        int v = ember_graph_find(g, tp->name);
        cr_assert(v >= 0, "%s: initializer '%s' missing", name, tp->name);
        if (!tp->has_raw_data) continue;
        cr_assert_eq(g->values[v].nbytes, tp->raw_data.len, "%s: '%s' size", name, tp->name);
        cr_assert(memcmp(g->values[v].data, tp->raw_data.data, tp->raw_data.len) == 0, "%s: '%s' bytes differ", name,
                  tp->name);
        big += tp->raw_data.len >= 4096;
    }
    cr_assert(big > 0, "%s has no initializer large enough to be taken out", name);
    ember_graph_free(g);
    onnx__model_proto__free_unpacked(mp, NULL);
    free(bytes);
}

Test(onnx_strip, initializers_match_protobuf_c_cifar_resnet8) { same_initializers("cifar_resnet8"); }
Test(onnx_strip, initializers_match_protobuf_c_lstm_kws) { same_initializers("lstm_kws"); }
Test(onnx_strip, initializers_match_protobuf_c_bert_tiny_like, .timeout = 60) { same_initializers("bert_tiny_like"); }

/* Truncations everywhere and flipped bytes (in the headers of the graph, of its
 * initializers and of their raw_data): any status, no crash (ASan/UBSan builds check
 * the reads). */
Test(onnx_strip, damaged_models_never_crash, .timeout = 300)
{
    size_t n;
    unsigned char *bytes = ut_read_file(ZOO "kws_dscnn/model.onnx", &n);
    unsigned char *buf = malloc(n);
    cr_assert_not_null(buf);
    uint32_t rng = 12345;
    for (int it = 0; it < 300; it++) {
        memcpy(buf, bytes, n);
        size_t len = n;
        if (it % 3 == 0) {
            len = (size_t)ut_irand(&rng, 0, (int)n - 1);
        } else {
            int flips = ut_irand(&rng, 1, 4);
            for (int f = 0; f < flips; f++) {
                /* Mostly in the first bytes (model and graph headers) and near the tags of
                 * initializers, which is where the walker reads. */
                size_t at = it % 3 == 1 ? (size_t)ut_irand(&rng, 0, (int)(n < 4096 ? n - 1 : 4095))
                                        : (size_t)ut_irand(&rng, 0, (int)n - 1);
                buf[at] = (unsigned char)ut_irand(&rng, 0, 255);
            }
        }
        ember_graph *g = NULL;
        ember_model_meta meta;
        if (ember_onnx_import(buf, len, NULL, &g, &meta) == EMBER_OK) ember_graph_free(g);
    }
    free(buf);
    free(bytes);
}
