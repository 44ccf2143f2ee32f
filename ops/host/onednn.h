/* Shared pieces of the oneDNN fast paths (ops/host/onednn_*.c): one CPU engine for the
 * process, one stream per calling thread, OpenMP thread-count handling, dnnl errors as
 * ember statuses, and the fused-activation attributes as eltwise post-ops.
 *
 * Threading. This oneDNN build runs on OpenMP (libgomp). A primitive is created once per
 * node when the program is built and is immutable afterwards: oneDNN 2.x allows executing
 * it from several threads at once as long as each execution has its own memory objects
 * and its own scratchpad. So a run creates its memory objects around the caller's
 * pointers, uses the step's scratch (the run's arena) as a user-managed scratchpad, and
 * executes on the calling thread's own stream.
 *
 * The session's thread count is OpenMP's nthreads ICV of the calling thread: it is set
 * with omp_set_num_threads() before a primitive is created (some kernels size their work
 * split then) and before a run, only when it differs (the call is cheap but not free).
 *
 * Idle workers. libgomp's workers spin after a parallel region before they sleep
 * (GOMP_SPINCOUNT, 300000 iterations by default: measured ~7 ms of CPU per worker per idle
 * gap here). Between two oneDNN calls the program runs reference kernels on one core, so
 * spinning workers burn cores that concurrent sessions or the rest of the process could
 * use. libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT exactly once, in its own ELF
 * constructor, which runs before any constructor of ours (libember depends on libdnnl,
 * which depends on libgomp), and it has no run-time knob: setenv() from inside the library
 * was measured to have no effect, so this file does not pretend to. The process must set
 * it before it starts (or re-exec itself): resnet18 at 2 threads measured 15.3 ms with the
 * default, 15.8 ms with GOMP_SPINCOUNT=10000 (spinning bounded to well under a
 * millisecond) and 19.9 ms with OMP_WAIT_POLICY=PASSIVE (a futex wake per parallel
 * region). With more host kernels between oneDNN steps (Winograd, 1x1) that short a
 * spin put the workers to sleep inside runs; the CLI now sets GOMP_SPINCOUNT=100000
 * (~1.5 ms of spinning after the last region; tools/main.c has the measurements). */
#ifndef EMBER_HOST_ONEDNN_H
#define EMBER_HOST_ONEDNN_H
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "../host.h"

/* The process-wide CPU engine (created once, thread-safe); NULL with an error set. */
ember_status onednn_engine(dnnl_engine_t *engine);
/* The calling thread's stream on that engine (created on first use, destroyed with the
 * thread). */
ember_status onednn_stream(dnnl_stream_t *stream);
/* False when the environment variable EMBER_ONEDNN is "0": every oneDNN fast path then
 * declines, so the reference kernels run (for comparisons and measurements). */
int onednn_enabled(void);
/* Resolves a session thread count (<= 0: all cores) to a concrete count. */
int onednn_threads(int threads);
/* Makes OpenMP use `threads` (already resolved) in the calling thread, if it does not. */
void onednn_set_threads(int threads);

/* EMBER_E_INTERNAL naming the node, the dnnl call and its status. */
ember_status onednn_fail(const ember_op_ctx *c, const char *call, dnnl_status_t s);
#define DNNL_TRY(c, call)                                                       \
    do {                                                                        \
        dnnl_status_t dnnl_s_ = (call);                                         \
        if (dnnl_s_ != dnnl_success) return onednn_fail((c), #call, dnnl_s_);   \
    } while (0)

/* Adds the node's fused activation ("ember_activation" and its "ember_act_*" parameters)
 * as eltwise post-ops; EMBER_E_UNSUPPORTED for an activation oneDNN cannot express
 * exactly. No activation: nothing is added. */
ember_status onednn_activation_post_ops(const ember_op_ctx *c, dnnl_post_ops_t po);

/* A primitive created at prepare time and the memory descriptors of its arguments. */
typedef struct onednn_prim {
    dnnl_primitive_t prim;
    dnnl_memory_desc_t src_md, dst_md, scratch_md;
    size_t scratch_bytes;
} onednn_prim;

/* Creates p->prim from pd (and takes pd's scratchpad md); pd is destroyed. */
ember_status onednn_prim_create(const ember_op_ctx *c, dnnl_primitive_desc_t pd, onednn_prim *p);
void onednn_prim_destroy(onednn_prim *p);

/* Executes prim on the calling thread's stream with memory objects made around the
 * given pointers: args[i] = {arg, md, ptr}. Waits for completion. */
typedef struct onednn_arg {
    int arg;
    const dnnl_memory_desc_t *md;
    void *ptr;
} onednn_arg;
ember_status onednn_execute(const ember_op_ctx *c, dnnl_primitive_t prim, const onednn_arg *args,
                            int n);

/* Pads for a window so that oneDNN's output-size rule ((in + l + r - span) / s + 1)
 * gives exactly `out`: r is the model's end pad when it already does, else the pad the
 * last window needs. */
int64_t onednn_pad_r(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                     int64_t out);

/* Layout chaining (ops/host.h): the layout code of md, a 4-D activation layout that
 * oneDNN uses, when md is exactly that layout: float32 nChw16c, nChw8c or nhwc (the format
 * tag) of the dense NCHW byte size, or bfloat16 in one of those or nchw (the tag ORed with
 * ONEDNN_LAYOUT_BF16) of at most that size; 0 otherwise (float32 NCHW itself included).
 * bf16 values live in the float32 value's arena slot: half the bytes, so even a channel
 * block padded up (C=24 in nChw16c) still fits. */
#define ONEDNN_LAYOUT_BF16 0x100000
int onednn_layout_code(const dnnl_memory_desc_t *md);
/* True when a and b are plain (unblocked) layouts of the same dims and data type that put
 * every element at the same byte: strides may differ only on dims of size 1 (NHWC with
 * one channel is NCHW). */
int onednn_same_bytes(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b);
/* The memory descriptor for layout code `layout` (nonzero) of an NCHW shape. */
dnnl_status_t onednn_layout_md(dnnl_memory_desc_t *md, const dnnl_dim_t *dims, int layout);

/* Precision. A program built with precision "bf16" marks its nodes with the attribute
 * ember_precision = "bf16" (engine/program.c); the oneDNN kernels then keep weights and
 * activations in bfloat16 (fp32 accumulation, fp32 bias) and convert at the edges of a
 * oneDNN chain. True when c's node is so marked. */
int onednn_want_bf16(const ember_op_ctx *c);
/* Whether Conv node c has the operands our own float32 conv kernels take (winograd_conv.c,
 * conv1x1.c): a rank-4 float32 input, constant rank-4 float32 weights, a float32 bias if
 * any, one rank-4 float32 output, and, when the fusion pass attached one
 * (ember_sum_input), a float32 residual of the output's shape as input 3 (*sum = 1). */
int onednn_conv_f32_operands(const ember_op_ctx *c, int *sum);
/* How our own float32 conv kernels start prepare: their measurement switch `name` (on:
 * *enabled 1 = the shape rule, 2 = every shape they compute), AVX-512, not the bf16
 * precision, onednn_conv_f32_operands with a constant bias (*sum as there), then the
 * conv's geometry into *p. EMBER_OK, EMBER_E_UNSUPPORTED (decline), or a geometry error. */
ember_status onednn_own_conv_start(ember_op_ctx *c, const char *name, int *enabled, int *sum, struct nn_conv_plan *p);
/* The activation fused into conv node c when it is none, Relu or Clip, the ones our own
 * conv kernels apply: *kind its K_ACT_* kind, [*lo, *hi] the clamp it is (none: -inf,
 * +inf). 0 for any other activation. */
int onednn_conv_clamp(const ember_op_ctx *c, int *kind, float *lo, float *hi);

/* 64-byte aligned allocation (NULL on failure); free with free(). */
void *onednn_alloc(size_t bytes);
#endif
