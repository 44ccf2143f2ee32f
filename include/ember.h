/* Ember public C API.
 *
 * Conventions (SQLite / TVM C runtime style):
 *  - every call that can fail returns an ember_status; EMBER_OK is 0;
 *  - on failure, ember_last_error() (thread-local) holds a human-readable message naming
 *    what went wrong and where (node, op, tensor, file offset); handles also keep their
 *    own last error (ember_model_last_error / ember_session_last_error);
 *  - output parameters are marked "out:"; on failure they are set to NULL / 0;
 *  - every _free function accepts NULL;
 *  - the library never calls exit() or abort() on user error.
 */
#ifndef EMBER_H
#define EMBER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EMBER_VERSION_MAJOR 0
#define EMBER_VERSION_MINOR 1
#define EMBER_VERSION_PATCH 0

typedef enum {
    EMBER_OK = 0,
    EMBER_E_INVALID_MODEL, /* the file is not a model we can read              */
    EMBER_E_UNSUPPORTED,   /* valid, but uses something Ember lacks            */
    EMBER_E_INVALID_ARG,   /* the caller passed something wrong                */
    EMBER_E_NO_MEMORY,
    EMBER_E_IO,            /* a file could not be opened or read               */
    EMBER_E_INTERNAL,
} ember_status;

/* Element types use the ONNX TensorProto.DataType numbers. */
typedef enum {
    EMBER_DT_UNDEFINED = 0,
    EMBER_DT_FLOAT = 1,
    EMBER_DT_UINT8 = 2,
    EMBER_DT_INT8 = 3,
    EMBER_DT_UINT16 = 4,
    EMBER_DT_INT16 = 5,
    EMBER_DT_INT32 = 6,
    EMBER_DT_INT64 = 7,
    EMBER_DT_STRING = 8,
    EMBER_DT_BOOL = 9,
    EMBER_DT_FLOAT16 = 10,
    EMBER_DT_DOUBLE = 11,
    EMBER_DT_UINT32 = 12,
    EMBER_DT_UINT64 = 13,
    EMBER_DT_BFLOAT16 = 16,
} ember_dtype;

#define EMBER_MAX_RANK 8

/* A dense tensor passed across the API: row-major, little-endian. */
typedef struct ember_tensor {
    ember_dtype dtype;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    void *data;   /* rank 0 = scalar (one element) */
    size_t nbytes; /* size of data in bytes */
} ember_tensor;

/* Description of a graph input or output. A dimension that is not fixed is -1 in dims and
 * has its symbolic name (e.g. "batch") in dim_names, or NULL when it is anonymous.
 * rank is -1 when the rank itself is unknown. Strings belong to the model. */
typedef struct ember_io_info {
    const char *name;
    ember_dtype dtype;
    int rank;
    int64_t dims[EMBER_MAX_RANK];
    const char *dim_names[EMBER_MAX_RANK];
} ember_io_info;

typedef struct ember_model ember_model;     /* an imported graph; immutable after load */
typedef struct ember_session ember_session; /* a model prepared for one backend */

/* ---- errors ---- */
const char *ember_status_name(ember_status s);
/* The calling thread's last error message ("" if none). Valid until the next Ember call
 * on this thread. */
const char *ember_last_error(void);
const char *ember_dtype_name(ember_dtype dt); /* "float32", ... or "unknown" */
size_t ember_dtype_size(ember_dtype dt);      /* bytes per element, 0 if unknown/string */

/* ---- models ---- */
/* Loads an ONNX model from `path`. External data files are resolved relative to the
 * model's folder and never outside it.
 * out: *model owns the model; free with ember_model_free. */
ember_status ember_model_load(const char *path, ember_model **model);
/* Loads from memory; the buffer is copied, the caller keeps ownership of `data`.
 * `base_dir` is the folder for external data (NULL: external data is refused). */
ember_status ember_model_load_memory(const void *data, size_t size, const char *base_dir,
                                     ember_model **model);
void ember_model_free(ember_model *model);
const char *ember_model_last_error(const ember_model *model);

int ember_model_num_inputs(const ember_model *model);  /* graph inputs that are not weights */
int ember_model_num_outputs(const ember_model *model);
/* out: *info describes input/output i; its strings live as long as the model. */
ember_status ember_model_input_info(const ember_model *model, int i, ember_io_info *info);
ember_status ember_model_output_info(const ember_model *model, int i, ember_io_info *info);
/* Model metadata: producer, domain, doc and metadata_props, as key/value.
 * out: *key, *value owned by the model. Returns EMBER_E_INVALID_ARG past the end. */
ember_status ember_model_metadata(const ember_model *model, int i, const char **key,
                                  const char **value);

/* ---- sessions ---- */
/* Backends: "cpu" (default): the graph is optimized, lowered to a program over one
 * planned activations arena, and run with host fast paths; graphs whose shapes depend on
 * data (NonZero, If, Loop, ...) run on the reference interpreter inside it.
 * "interp": the reference interpreter, the correctness oracle. */
typedef struct ember_session_options {
    const char *backend; /* NULL = "cpu" */
    int threads;         /* intra-op threads; <= 0 = one per core */
    int optimize;        /* graph passes on (1, the default) or off (0) */
    const char *precision; /* NULL or "fp32" (default); "bf16": weights and activations in
                            * bfloat16, fp32 accumulation and fp32 model inputs/outputs
                            * (needs AMX or AVX512-BF16; refused elsewhere) */
    int use_cache;       /* persistent compile cache on (1, the default) or off (0); the
                          * folder is $EMBER_CACHE_DIR, else $XDG_CACHE_HOME/ember, else
                          * ~/.cache/ember */
} ember_session_options;
void ember_session_options_init(ember_session_options *opts); /* the defaults */

/* Prepares `model` for a backend. Models whose input shapes are fully static are compiled
 * here, so the first run is no slower than later ones; models with symbolic dimensions
 * are compiled per new input shape at run time. The session keeps a reference to the
 * model: free the session before the model.
 * out: *session, free with ember_session_free. */
ember_status ember_session_create_ex(const ember_model *model, const ember_session_options *opts,
                                     ember_session **session);
/* Shorthand: backend by name (NULL = default), other options at their defaults. */
ember_status ember_session_create(const ember_model *model, const char *backend,
                                  ember_session **session);
/* Milliseconds spent compiling at creation (0 when nothing was compiled). */
double ember_session_compile_ms(const ember_session *session);
/* The backend actually in use: "cpu", "interp", or "cpu (interpreted: <why>)". */
const char *ember_session_backend(const ember_session *session);
/* Where the program compiled at creation came from: "hit" (the compile cache), "miss"
 * (compiled, then stored in the cache) or "off" (cache off, or nothing compiled). */
const char *ember_session_compile_cache(const ember_session *session);
/* Intra-op threads the session's runs use: the asked count, or 1 for a model under 20
 * MFLOP, where more threads cost more than they share; 0 before anything was compiled
 * (interp backend, or symbolic shapes before the first run). */
int ember_session_threads(const ember_session *session);

/* Profiling: may be switched on and off while other threads run the session. Turning it
 * on clears earlier records. Records every kernel's start and end. */
ember_status ember_session_set_profiling(ember_session *session, int on);
/* Writes the records as Chrome trace-event JSON (Perfetto, chrome://tracing). */
ember_status ember_session_write_trace(ember_session *session, const char *path);
/* Writes a per-op table sorted by time: node, op, kernel, calls, total and mean time,
 * share of total, GFLOP/s. path "-" = standard output. */
ember_status ember_session_write_profile(ember_session *session, const char *path);
void ember_session_free(ember_session *session);
const char *ember_session_last_error(const ember_session *session);

/* Runs one inference. `inputs` are in the order of ember_model_input_info; the caller
 * keeps ownership of them. Shapes and dtypes are checked against the model.
 * out: outputs[0..n_outputs) are filled with newly allocated tensors, in the order of
 * ember_model_output_info; release each with ember_tensor_release.
 * Safe to call from several threads at once on the same session. */
ember_status ember_session_run(ember_session *session, const ember_tensor *inputs,
                               int n_inputs, ember_tensor *outputs, int n_outputs);
void ember_tensor_release(ember_tensor *t); /* frees t->data and zeroes t; NULL is fine */

/* ---- AOT bundles ---- */
/* A bundle is what a firmware or app developer links into their program: NAME.o (the
 * model's code for one target, with its kernels), NAME.h (sizes, input/output offsets, the
 * entry point `int NAME(const uint8_t *constant_weights, uint8_t *mutable_weights,
 * uint8_t *activations)`), NAME.weights.bin (the constant blob) and optionally
 * NAME.weights.c (the blob as a C array). No Ember runtime, malloc, threads or files: the
 * object needs only mem*, the compiler runtime's helpers and single-precision libm.
 * Built with the same passes, memory plan and lowering as the cpu backend's JIT, for the
 * model's declared (static) input shapes. Needs a library built with LLVM (EMBER_LLVM,
 * the default); otherwise EMBER_E_UNSUPPORTED. */
typedef struct ember_bundle_options {
    const char *target;   /* "x86_64-linux-gnu", "aarch64-linux-gnu", "thumbv7em-none-eabihf"
                           * (Cortex-M4/M7), "riscv64-linux-gnu", "riscv32-unknown-elf" */
    const char *cpu;      /* NULL: the target's default (x86-64, generic, cortex-m4,
                           * generic-rv64, generic-rv32) */
    const char *features; /* extra LLVM target features ("+avx2,-fma"), or NULL */
    const char *name;     /* the bundle's name, a C identifier: file names and symbols */
    int weights_c;        /* also write NAME.weights.c */
} ember_bundle_options;
void ember_bundle_options_init(ember_bundle_options *o); /* x86_64-linux-gnu, name "model" */

typedef struct ember_bundle_report {
    size_t text_bytes;              /* code in the object (.text sections) */
    size_t constant_bytes;          /* NAME_CONSTANT_MEM_SIZE */
    size_t mutable_bytes;           /* NAME_MUTABLE_MEM_SIZE (inputs and outputs) */
    size_t activations_bytes;       /* NAME_ACTIVATIONS_MEM_SIZE */
    size_t activations_lower_bound; /* max over steps of the bytes live at once */
} ember_bundle_report;

/* Compiles `model` into a bundle in out_dir (created with its parents if missing; files replaced).
 * report may be NULL. Errors: an unknown target, a name that is not a C identifier, an
 * op without a lowering (the message names the node and op), an unwritable folder. */
ember_status ember_model_compile_bundle(const ember_model *model, const ember_bundle_options *options,
                                        const char *out_dir, ember_bundle_report *report);

#ifdef __cplusplus
}
#endif
#endif
