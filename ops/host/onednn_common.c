/* oneDNN fast paths: engine, per-thread streams, OpenMP threads, errors, activations. */
#include <math.h>
/* The two OpenMP entry points used, declared here rather than through <omp.h>: clang
 * ships no omp.h without its own runtime, and the runtime here is libgomp. */
int omp_get_max_threads(void);
void omp_set_num_threads(int n);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/activation.h"
#include "../nn_common.h"
#include "onednn.h"

static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine_handle;
static dnnl_status_t engine_status = dnnl_success;
static pthread_key_t stream_key, memcache_key;
static int default_threads = 1;

/* Per-thread memory objects for onednn_execute: creating and destroying a dnnl_memory_t
 * for every argument of every call (two mallocs and frees each) was a fifth of
 * kws_dscnn's run time; a cached object only gets the run's pointer. Keyed by the
 * descriptor (pointer and contents: a freed program's descriptor address may come back
 * with another shape). Per thread, so concurrent runs never share one. Set-associative:
 * a descriptor lives in one set of MEMCACHE_WAYS slots (least recently used one evicted),
 * so a lookup is at most that many probes. 48 slots in all were too few for
 * vww_mobilenet025 (~150 descriptors per run): every run missed on most arguments and
 * created memory objects again (0.216 -> 0.156 ms at 1 thread with this cache). */
#define MEMCACHE_SET_BITS 6
#define MEMCACHE_SETS (1 << MEMCACHE_SET_BITS)
#define MEMCACHE_WAYS 8
#define MEMCACHE_SLOTS (MEMCACHE_SETS * MEMCACHE_WAYS)
typedef struct memcache {
    struct {
        const dnnl_memory_desc_t *key;
        dnnl_memory_desc_t md;
        dnnl_memory_t mem;
        uint64_t used;
    } slot[MEMCACHE_SLOTS];
    uint64_t clock;
} memcache;

static void destroy_memcache(void *p)
{
    memcache *m = p;
    if (!m) return;
    for (int i = 0; i < MEMCACHE_SLOTS; i++)
        if (m->slot[i].mem) dnnl_memory_destroy(m->slot[i].mem);
    free(m);
}

static void destroy_stream(void *s)
{
    if (s) dnnl_stream_destroy(s);
}

static void engine_init(void)
{
    /* Before anything asks OpenMP for its thread count: the default of "all cores"
     * honours OMP_NUM_THREADS when the user set it. */
    default_threads = omp_get_max_threads();
    if (default_threads < 1) default_threads = 1;
    engine_status = dnnl_engine_create(&engine_handle, dnnl_cpu, 0);
    if (engine_status != dnnl_success) engine_handle = NULL;
    if (pthread_key_create(&stream_key, destroy_stream) != 0 && engine_status == dnnl_success)
        engine_status = dnnl_out_of_memory;
    if (pthread_key_create(&memcache_key, destroy_memcache) != 0 && engine_status == dnnl_success)
        engine_status = dnnl_out_of_memory;
}

ember_status onednn_engine(dnnl_engine_t *engine)
{
    pthread_once(&engine_once, engine_init);
    *engine = engine_handle;
    if (engine_status != dnnl_success)
        return ember_error(EMBER_E_INTERNAL, "oneDNN: creating the CPU engine failed (%s)",
                           dnnl_status2str(engine_status));
    return EMBER_OK;
}

ember_status onednn_stream(dnnl_stream_t *stream)
{
    dnnl_engine_t e;
    TRY(onednn_engine(&e));
    dnnl_stream_t s = pthread_getspecific(stream_key);
    if (!s) {
        dnnl_status_t st = dnnl_stream_create(&s, e, dnnl_stream_default_flags);
        if (st != dnnl_success)
            return ember_error(EMBER_E_INTERNAL, "oneDNN: dnnl_stream_create failed (%s)",
                               dnnl_status2str(st));
        if (pthread_setspecific(stream_key, s) != 0) {
            dnnl_stream_destroy(s);
            return ember_error(EMBER_E_NO_MEMORY, "oneDNN: out of memory for a thread's stream");
        }
    }
    *stream = s;
    return EMBER_OK;
}

int onednn_enabled(void)
{
    const char *v = getenv("EMBER_ONEDNN");
    return !(v && strcmp(v, "0") == 0);
}

int onednn_threads(int threads)
{
    pthread_once(&engine_once, engine_init);
    return threads > 0 ? threads : default_threads;
}

void onednn_set_threads(int threads)
{
    /* nthreads-var is per thread (a data-environment ICV): each calling thread checks
     * its own. */
    if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
}

typedef struct team_job {
    void (*fn)(void *ctx, int ith, int nth);
    void *ctx;
    int nth;
} team_job;

/* Every share, whatever size the team came out. */
static void team_member(void *data)
{
    const team_job *t = data;
    for (int i = omp_get_thread_num(); i < t->nth; i += omp_get_num_threads()) t->fn(t->ctx, i, t->nth);
}

/* Runs fn(ctx, i, nth) for every i < nth on oneDNN's OpenMP team of `threads` (nth <= 1:
 * here). Between oneDNN steps the pool's workers sleep while OpenMP's spin, so on a small
 * machine a pool job waited for its worker behind a spinning OpenMP thread
 * (cifar_resnet8's Winograd convs at 2 threads: 19-33 us each on the pool, 11-13 us on
 * the team); programs with oneDNN steps therefore hand every pool job here
 * (ember_host_team_runner, engine/exec.c). */
static void onednn_team_run(void (*fn)(void *ctx, int ith, int nth), void *ctx, int nth, int threads)
{
    if (nth <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    onednn_set_threads(threads);
    team_job t = {fn, ctx, nth};
    GOMP_parallel(team_member, &t, (unsigned)nth, 0);
}

static void team_runner(ember_task_fn fn, void *ctx, int n_tasks, int threads)
{
    onednn_team_run(fn, ctx, n_tasks, threads);
}

ember_team_runner ember_host_team_runner(void)
{
    return team_runner; /* asked for only by programs with oneDNN steps */
}

ember_status onednn_fail(const ember_op_ctx *c, const char *call, dnnl_status_t s)
{
    return ember_op_fail(c, EMBER_E_INTERNAL, "oneDNN: %s failed (%s)", call, dnnl_status2str(s));
}

/* A float parameter of the fused activation: FLOAT, or FLOATS with one value. */
static float act_param(const ember_node *n, const char *name, float dflt)
{
    const ember_attr *a = ember_node_attr(n, name);
    if (!a) return dflt;
    if (a->type == EMBER_ATTR_FLOAT) return a->f;
    if (a->type == EMBER_ATTR_FLOATS && a->n >= 1) return a->floats[0];
    if (a->type == EMBER_ATTR_INT) return (float)a->i;
    return dflt;
}

ember_status onednn_activation_post_ops(const ember_op_ctx *c, dnnl_post_ops_t po)
{
    const ember_node *n = c->node;
    const ember_attr *a = ember_node_attr(n, "ember_activation");
    if (!a) return EMBER_OK;
    if (a->type != EMBER_ATTR_STRING || !a->s)
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "oneDNN: ember_activation is not a string");
    const char *act = a->s;
    dnnl_status_t s;
    if (strcmp(act, "Relu") == 0) {
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    } else if (strcmp(act, "LeakyRelu") == 0) {
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu,
                                         act_param(n, "ember_act_alpha", 0.01f), 0.0f);
    } else if (strcmp(act, "Clip") == 0) {
        float lo = act_param(n, "ember_act_min", -INFINITY), hi = act_param(n, "ember_act_max", INFINITY);
        if (isnan(lo) || isnan(hi) || lo > hi)
            return ember_op_fail(c, EMBER_E_UNSUPPORTED, "oneDNN: Clip bounds [%g, %g] are not mapped",
                                 (double)lo, (double)hi);
        /* clip_v2: min(max(x, lo), hi), bounds included (as Clip). */
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip_v2, lo, hi);
    } else if (strcmp(act, "Sigmoid") == 0) {
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_logistic, 0.0f, 0.0f);
    } else if (strcmp(act, "Tanh") == 0) {
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_tanh, 0.0f, 0.0f);
    } else if (strcmp(act, "Elu") == 0) {
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_elu,
                                         act_param(n, "ember_act_alpha", 1.0f), 0.0f);
    } else if (strcmp(act, "HardSigmoid") == 0) {
        /* max(0, min(1, alpha x + beta)): linear, then clip to [0, 1]. */
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear,
                                         act_param(n, "ember_act_alpha", 0.2f),
                                         act_param(n, "ember_act_beta", 0.5f));
        if (s == dnnl_success) s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip_v2, 0.0f, 1.0f);
    } else if (strcmp(act, "HardSwish") == 0) {
        /* x * max(0, min(1, x / 6 + 1 / 2)) */
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_hardswish, 0.0f, 0.0f);
    } else {
        return ember_op_fail(c, EMBER_E_UNSUPPORTED, "oneDNN: fused activation '%s' is not mapped", act);
    }
    if (s != dnnl_success) return onednn_fail(c, "dnnl_post_ops_append_eltwise", s);
    return EMBER_OK;
}

ember_status onednn_prim_create(const ember_op_ctx *c, dnnl_primitive_desc_t pd, onednn_prim *p)
{
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (sp) p->scratch_md = *sp;
    else memset(&p->scratch_md, 0, sizeof p->scratch_md);
    p->scratch_bytes = sp ? dnnl_memory_desc_get_size(sp) : 0;
    dnnl_status_t s = dnnl_primitive_create(&p->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) {
        p->prim = NULL;
        return onednn_fail(c, "dnnl_primitive_create", s);
    }
    return EMBER_OK;
}

void onednn_prim_destroy(onednn_prim *p)
{
    if (p && p->prim) dnnl_primitive_destroy(p->prim);
    if (p) p->prim = NULL;
}

ember_status onednn_execute(const ember_op_ctx *c, dnnl_primitive_t prim, const onednn_arg *args,
                            int n)
{
    dnnl_engine_t e;
    dnnl_stream_t stream;
    TRY(onednn_engine(&e));
    TRY(onednn_stream(&stream));
    dnnl_exec_arg_t ea[8];
    dnnl_memory_t mem[8];
    ember_status st = EMBER_OK;
    int made = 0, full = 0;
    if (n > 8) return ember_op_fail(c, EMBER_E_INTERNAL, "oneDNN: too many arguments");
    memcache *mc = pthread_getspecific(memcache_key);
    if (!mc && (mc = calloc(1, sizeof *mc)) && pthread_setspecific(memcache_key, mc) != 0) {
        free(mc);
        mc = NULL;
    }
    if (mc) {
        uint64_t now = ++mc->clock;
        for (int i = 0; i < n && st == EMBER_OK; i++) {
            /* The descriptor address's set (a multiplicative hash: descriptors sit a
             * fixed struct size apart in the steps' states). */
            uint64_t h = (uint64_t)(uintptr_t)args[i].md * 0x9E3779B97F4A7C15ull;
            int hit = -1, victim = -1, start = (int)(h >> (64 - MEMCACHE_SET_BITS)) * MEMCACHE_WAYS;
            for (int q = 0; q < MEMCACHE_WAYS && hit < 0; q++) {
                int k = start + q;
                int busy = mc->slot[k].used == now; /* an earlier argument of this call */
                if (!busy && mc->slot[k].mem && mc->slot[k].key == args[i].md &&
                    memcmp(&mc->slot[k].md, args[i].md, sizeof *args[i].md) == 0)
                    hit = k;
                else if (!busy && (victim < 0 || mc->slot[k].used < mc->slot[victim].used))
                    victim = k;
            }
            if (hit < 0 && victim < 0) { /* every way taken by this call's arguments */
                full = 1;
                break;
            }
            dnnl_status_t s;
            if (hit >= 0) {
                s = dnnl_memory_set_data_handle(mc->slot[hit].mem, args[i].ptr);
            } else {
                hit = victim;
                if (mc->slot[hit].mem) dnnl_memory_destroy(mc->slot[hit].mem);
                mc->slot[hit].mem = NULL;
                s = dnnl_memory_create(&mc->slot[hit].mem, args[i].md, e, args[i].ptr);
                if (s != dnnl_success) mc->slot[hit].mem = NULL;
                mc->slot[hit].key = args[i].md;
                mc->slot[hit].md = *args[i].md;
            }
            if (s != dnnl_success) {
                st = onednn_fail(c, "dnnl_memory_create", s);
                break;
            }
            mc->slot[hit].used = now;
            ea[i].arg = args[i].arg;
            ea[i].memory = mc->slot[hit].mem;
        }
        if (!full) {
            if (st == EMBER_OK) {
                dnnl_status_t s = dnnl_primitive_execute(prim, stream, n, ea);
                if (s == dnnl_success) s = dnnl_stream_wait(stream);
                if (s != dnnl_success) st = onednn_fail(c, "dnnl_primitive_execute", s);
            }
            return st;
        }
    }
    for (; made < n; made++) {
        dnnl_status_t s = dnnl_memory_create(&mem[made], args[made].md, e, args[made].ptr);
        if (s != dnnl_success) {
            st = onednn_fail(c, "dnnl_memory_create", s);
            break;
        }
        ea[made].arg = args[made].arg;
        ea[made].memory = mem[made];
    }
    if (st == EMBER_OK) {
        dnnl_status_t s = dnnl_primitive_execute(prim, stream, n, ea);
        if (s == dnnl_success) s = dnnl_stream_wait(stream);
        if (s != dnnl_success) st = onednn_fail(c, "dnnl_primitive_execute", s);
    }
    for (int i = 0; i < made; i++) dnnl_memory_destroy(mem[i]);
    return st;
}

int64_t onednn_pad_r(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                     int64_t out)
{
    int64_t span = (k - 1) * d + 1;
    if ((in + pb + pe - span) / s + 1 == out && in + pb + pe - span >= 0) return pe;
    return (out - 1) * s + span - in - pb;
}

void *onednn_alloc(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    return p;
}

int onednn_same_bytes(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    if (a->ndims != b->ndims || a->data_type != b->data_type || a->format_kind != dnnl_blocked ||
        b->format_kind != dnnl_blocked || a->format_desc.blocking.inner_nblks || b->format_desc.blocking.inner_nblks ||
        a->offset0 != b->offset0)
        return 0;
    for (int d = 0; d < a->ndims; d++) {
        if (a->dims[d] != b->dims[d] || a->padded_dims[d] != a->dims[d] || b->padded_dims[d] != b->dims[d] ||
            a->padded_offsets[d] || b->padded_offsets[d])
            return 0;
        if (a->dims[d] > 1 && a->format_desc.blocking.strides[d] != b->format_desc.blocking.strides[d]) return 0;
    }
    return 1;
}

int onednn_layout_code(const dnnl_memory_desc_t *md)
{
    static const dnnl_format_tag_t tags[] = {dnnl_nChw16c, dnnl_nChw8c, dnnl_nhwc, dnnl_nchw};
    int bf16 = md->data_type == dnnl_bf16;
    if (md->ndims != 4 || (md->data_type != dnnl_f32 && !bf16)) return 0;
    size_t dense = sizeof(float);
    for (int i = 0; i < 4; i++) {
        if (md->dims[i] <= 0) return 0;
        dense *= (size_t)md->dims[i];
    }
    size_t size = dnnl_memory_desc_get_size(md);
    if (bf16 ? size > dense : size != dense) return 0;
    /* float32 NCHW is the arena's own layout (code 0), not a chained one. */
    size_t n_tags = sizeof tags / sizeof tags[0] - (bf16 ? 0 : 1);
    for (size_t t = 0; t < n_tags; t++) {
        dnnl_memory_desc_t m;
        if (dnnl_memory_desc_init_by_tag(&m, 4, md->dims, md->data_type, tags[t]) != dnnl_success) continue;
        if (dnnl_memory_desc_equal(&m, md)) return (int)tags[t] | (bf16 ? ONEDNN_LAYOUT_BF16 : 0);
    }
    return 0;
}

dnnl_status_t onednn_layout_md(dnnl_memory_desc_t *md, const dnnl_dim_t *dims, int layout)
{
    dnnl_data_type_t dt = layout & ONEDNN_LAYOUT_BF16 ? dnnl_bf16 : dnnl_f32;
    return dnnl_memory_desc_init_by_tag(md, 4, dims, dt, (dnnl_format_tag_t)(layout & ~ONEDNN_LAYOUT_BF16));
}

int ember_host_layout_channel_block(int layout)
{
    if (layout == (int)dnnl_nChw16c) return 16;
    if (layout == (int)dnnl_nChw8c) return 8;
    return 0;
}

int onednn_want_bf16(const ember_op_ctx *c)
{
    const ember_attr *a = ember_node_attr(c->node, "ember_precision");
    return a && a->type == EMBER_ATTR_STRING && a->s && strcmp(a->s, "bf16") == 0;
}

int onednn_conv_f32_operands(const ember_op_ctx *c, int *sum)
{
    const ember_op_tensor *x = ember_op_in(c, 0), *w = ember_op_in(c, 1), *b = ember_op_in(c, 2);
    const ember_attr *sa = ember_node_attr(c->node, "ember_sum_input");
    *sum = sa && sa->type == EMBER_ATTR_INT && sa->i == 3 && c->n_in == 4 && ember_op_in(c, 3);
    if (!x || !w || c->n_in > (*sum ? 4 : 3) || c->n_out != 1 || !c->out[0]) return 0;
    const ember_op_tensor *y = c->out[0];
    if (x->dtype != EMBER_DT_FLOAT || w->dtype != EMBER_DT_FLOAT || (b && b->dtype != EMBER_DT_FLOAT) ||
        y->dtype != EMBER_DT_FLOAT || x->rank != 4 || w->rank != 4 || y->rank != 4 || !w->data)
        return 0;
    if (!*sum) return 1;
    const ember_op_tensor *r = c->in[3];
    int same = r->dtype == EMBER_DT_FLOAT && r->rank == y->rank;
    for (int i = 0; same && i < r->rank; i++) same = r->dims[i] == y->dims[i];
    return same;
}

ember_status onednn_own_conv_start(ember_op_ctx *c, const char *name, int *enabled, int *sum, nn_conv_plan *p)
{
    *enabled = ember_host_switch(name);
#if defined(__x86_64__) && defined(__GNUC__)
    if (!__builtin_cpu_supports("avx512f")) return EMBER_E_UNSUPPORTED;
#else
    return EMBER_E_UNSUPPORTED;
#endif
    if (!*enabled || onednn_want_bf16(c)) return EMBER_E_UNSUPPORTED;
    const ember_op_tensor *b = ember_op_in(c, 2);
    if (!onednn_conv_f32_operands(c, sum) || (b && !b->data)) return EMBER_E_UNSUPPORTED;
    return nn_conv_plan_build(c, p, 0, 1, 2);
}

int onednn_conv_clamp(const ember_op_ctx *c, int *kind, float *lo, float *hi)
{
    float a, b;
    if (nn_fused_act(c, kind, &a, &b) != EMBER_OK) {
        ember_error_clear();
        return 0;
    }
    if (*kind != K_ACT_NONE && *kind != K_ACT_RELU && *kind != K_ACT_CLIP) return 0;
    *lo = *kind == K_ACT_RELU ? 0.0f : *kind == K_ACT_CLIP ? a : -INFINITY;
    *hi = *kind == K_ACT_CLIP ? b : INFINITY;
    return 1;
}

ember_status ember_host_bf16_check(void)
{
    const char *fake = getenv("EMBER_FAKE_NO_BF16");
    /* The ISA oneDNN will use (after DNNL_MAX_CPU_ISA / ONEDNN_MAX_CPU_ISA caps): its bf16
     * kernels need AVX512-BF16 or AMX; without them it would emulate bf16 slowly or not at
     * all, so the option is refused rather than quietly giving fp32. The ISA values are
     * bit sets: each includes the ones below it on its line. */
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    int ok = ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    if (fake && strcmp(fake, "1") == 0) ok = 0;
    if (!ok)
        return ember_error(EMBER_E_UNSUPPORTED,
                           "precision bf16 needs a CPU with AVX512-BF16 or AMX (oneDNN sees ISA '%s'%s); "
                           "use precision fp32 on this host",
                           dnnl_cpu_isa2str(isa), fake && strcmp(fake, "1") == 0 ? ", EMBER_FAKE_NO_BF16=1" : "");
    return EMBER_OK;
}
