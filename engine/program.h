/* Lowering: a model's graph becomes a program for the CPU backend — a private copy of
 * the graph, bound to concrete input shapes, optimized by the passes, with every
 * intermediate planned into one activations arena, a scratch region shared by the
 * steps, and a host fast path chosen per node where one applies. Running a program
 * allocates nothing but the caller's output buffers. */
#ifndef EMBER_PROGRAM_H
#define EMBER_PROGRAM_H
#include <stdatomic.h>
#include <string.h>

#include "../ops/host.h"
#include "model.h"
#include "plan.h"

typedef struct ember_program_options {
    int threads;      /* intra-op threads for fast paths; <= 0 = number of cores */
    int optimize;     /* run the graph passes (1) or not (0) */
    int precision;    /* EMBER_PRECISION_*: part of what a program is (and of any cache key) */
    int use_cache;    /* 1: the persistent compile cache (engine/cache.h); not part of the key.
                       * A new field that changes the program must go into the key
                       * (ember_cache_key_for). */
    int reference_only; /* 1: no host fast paths and no JIT, every step on its reference
                         * kernel (what a code generator for another target lowers) */
} ember_program_options;

/* EMBER_PRECISION_BF16: the oneDNN steps keep weights and activations in bfloat16 and
 * accumulate in fp32; model inputs and outputs, and every other step, stay fp32.
 * Refused (EMBER_E_UNSUPPORTED) on hosts without AVX512-BF16 or AMX. */
enum { EMBER_PRECISION_FP32 = 0, EMBER_PRECISION_BF16 = 1 };
/* The precision named by s (NULL or "fp32", "bf16"); EMBER_E_INVALID_ARG otherwise. */
ember_status ember_precision_parse(const char *s, int *precision);

typedef struct ember_step {
    int node;                         /* index in g->nodes */
    const ember_host_kernel *host;    /* NULL: the reference kernel */
    void *host_state;
    size_t scratch_bytes;
    double flops;                     /* estimate, for profiles */
} ember_step;

typedef struct ember_program {
    ember_graph *g;                   /* owned */
    ember_plan plan;
    int n_steps;
    ember_step *steps;
    size_t scratch_offset;            /* scratch region follows the activations */
    size_t arena_bytes;               /* activations + scratch */
    ember_op_tensor *templ;           /* per value: dtype/shape; data = NULL */
    int64_t in_dims[64][EMBER_MAX_RANK]; /* the input shapes it was built for (first 64) */
    double compile_ms;
    int cache;                        /* EMBER_CACHE_OFF / _MISS / _HIT (engine/cache.h) */
    void *cache_map;                  /* the cache entry the constants point into, or NULL */
    size_t cache_map_bytes;
    uint64_t cache_key[2];            /* its compile-cache key (when cache is not OFF) */
    int threads;                      /* intra-op threads of a run (>= 1) */
    int threads_asked;                /* what the options asked (0 there: the cores);
                                         threads is 1 for a very small model (program_tune.c) */
    struct ember_run_pools *pools;    /* idle thread pools for runs (engine/exec.c) */
    int foreign_steps;                /* steps whose kernels run threads of their own (oneDNN's
                                         OpenMP team): ember_step_foreign; set at build */
    int pool_on_openmp;               /* a run's pool jobs go to that team (engine/exec.c) */
} ember_program;

/* The step's kernel brings threads of its own (oneDNN's OpenMP team). */
static inline int ember_step_foreign(const ember_step *s)
{
    return s->host && strncmp(s->host->name, "onednn", 6) == 0;
}

/* Builds a program for `model`. `inputs` gives the input shapes to bind (data unused);
 * NULL uses the declared shapes, which must then be fully static. A very small model
 * asked for several threads is built for one (engine/program_tune.c; p->threads).
 * out: *prog (free with ember_program_free). */
ember_status ember_program_build(const ember_model *model, const ember_tensor *inputs,
                                 int n_inputs, const ember_program_options *opt,
                                 ember_program **prog);
/* True when optimized graph g, asked for `threads` threads, is small enough to run on
 * one (engine/program_tune.c). */
int ember_program_small(const ember_graph *g, int threads, const ember_program_options *opt);
void ember_program_free(ember_program *p);

/* True when the inputs have the shapes the program was built for. */
int ember_program_matches(const ember_program *p, const ember_tensor *inputs, int n_inputs);

/* Per-step timings, recorded only while profiling is on. */
typedef struct ember_profile_event {
    int step;
    uint64_t start_ns, end_ns;
} ember_profile_event;

typedef struct ember_profile_sink {
    void (*record)(void *ctx, const ember_program *p, const ember_profile_event *events, int n);
    void *ctx;
} ember_profile_sink;

/* Frees the program's idle run pools (engine/exec.c); NULL is fine. */
void ember_run_pools_free(struct ember_run_pools *pools);

/* Runs p. `arena` holds p->arena_bytes bytes (64-byte aligned), used by this run alone.
 * out: outputs[i] get malloc'd data owned by the caller. sink NULL: no profiling. */
ember_status ember_program_run(const ember_program *p, void *arena, const ember_tensor *inputs,
                               int n_inputs, ember_tensor *outputs, int n_outputs,
                               const ember_profile_sink *sink);
#endif
