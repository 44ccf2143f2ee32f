/* Internal layout of the public handles. */
#ifndef EMBER_MODEL_H
#define EMBER_MODEL_H
#include <pthread.h>

#include "../importers/onnx.h"
#include "graph.h"

struct ember_model {
    ember_graph *graph;
    ember_model_meta meta;
    /* The serialized model, kept so a backend can import a private copy of the graph
     * to optimize (the model's own graph stays as imported). */
    void *bytes;
    size_t n_bytes;
    int mapped; /* bytes is a private mapping of the model file (else malloc'd) */
    char *base_dir; /* NULL: external data refused */
    char last_error[2048];
    /* The hash of bytes (ember_model_hash), computed on first use under hash_lock. */
    pthread_mutex_t hash_lock;
    int hashed;
    uint64_t hash[2];
};

/* Imports the model's bytes again (a backend's private graph). */
ember_status ember_model_reimport(const ember_model *m, ember_graph **g, ember_model_meta *meta);
/* A 128-bit hash of the model's serialized bytes (the compile cache's model identity;
 * external data is identified by meta.external_id). Computed once per model. */
ember_status ember_model_hash(const ember_model *m, uint64_t out[2]);

struct ember_program;
struct ember_profile;

#define EMBER_SESSION_PROGRAMS 16 /* distinct input shapes compiled and kept */
#define EMBER_SESSION_ARENAS 16   /* idle activation arenas kept for reuse */

struct ember_session {
    const ember_model *model;
    pthread_mutex_t lock; /* guards everything below: runs go on on several threads */
    char last_error[2048];
    ember_session_options opts;
    char backend[512];
    int interpreted;                 /* runs on the reference interpreter */
    struct ember_program *programs[EMBER_SESSION_PROGRAMS];
    int n_programs, next_evict;
    void *arenas[EMBER_SESSION_ARENAS]; /* idle arenas, each arena_size[i] bytes */
    size_t arena_size[EMBER_SESSION_ARENAS];
    int n_arenas;
    double compile_ms;
    int cache_state; /* EMBER_CACHE_* of the program compiled at creation */
    /* Every profile started, the newest last; kept until the session ends because runs in
     * flight may still record into an older one. profiling: the newest is recording. */
    struct ember_profile *profiles[64];
    int n_profiles, profiling;
};

/* Load-time shape and dtype inference over the whole graph (iterative, topological).
 * Fills every value's dtype/shape as far as it can be known. */
ember_status ember_graph_infer(ember_graph *g);
struct ember_op_tensor;
/* The op's view of a value: dtype, shape, symbolic dims, constant data if any. */
void ember_value_to_op_tensor(const ember_value *v, struct ember_op_tensor *t);
/* The same for node `ni` alone (its inputs' values must be up to date). */
ember_status ember_graph_infer_node(ember_graph *g, int ni);
#endif
