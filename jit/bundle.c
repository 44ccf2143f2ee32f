/* ember_model_compile_bundle: program -> lowering -> module (jit/module.c) -> wrapped entry
 * -> optimized for the target -> object file, header, weights. */
#include "bundle.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <llvm-c/Object.h>
#include <llvm-c/Target.h>

#include "module.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_targets(void)
{
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
}

static int is_keyword(const char *s)
{
    static const char *kw[] = {"auto", "break", "case", "char", "const", "continue", "default", "do", "double",
                               "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
                               "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
                               "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "main",
                               "memcpy", "memset", "memmove", "memcmp"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (strcmp(s, kw[i]) == 0) return 1;
    return s[0] == '_' || strncmp(s, "ember_", 6) == 0 || strncmp(s, "k_", 2) == 0;
}

static ember_status check_name(const char *s)
{
    int ok = s && *s && strlen(s) <= 64 && !(s[0] >= '0' && s[0] <= '9');
    for (const char *p = s; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
    if (!ok) return ember_error(EMBER_E_INVALID_ARG, "bundle name '%s' is not a C identifier (letters, digits, _; "
                                "at most 64 characters, not starting with a digit)", s ? s : "(null)");
    if (is_keyword(s))
        return ember_error(EMBER_E_INVALID_ARG, "bundle name '%s' is reserved (a C keyword, libc function, or "
                           "starts with '_', 'ember_' or 'k_')", s);
    return EMBER_OK;
}

/* The output folder: created with its missing parents (as mkdir -p). */
static ember_status check_dir(const char *dir)
{
    char path[4096];
    if (strlen(dir) >= sizeof path) return ember_error(EMBER_E_INVALID_ARG, "output folder name too long");
    snprintf(path, sizeof path, "%s", dir);
    for (char *s = path + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        struct stat st;
        if (stat(path, &st) != 0) {
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return ember_error(EMBER_E_INVALID_ARG, "cannot create the output folder %s: %s", path,
                                   strerror(errno));
        } else if (!S_ISDIR(st.st_mode)) {
            return ember_error(EMBER_E_INVALID_ARG, "output %s is not a folder", path);
        }
        *s = c;
        if (!c) break;
    }
    return EMBER_OK;
}

/* Each step's scratch goes to the lowest arena offset that no value live at that step
 * uses (first fit), so it costs nothing where the plan has a gap. *bytes: the arena size
 * with them; *lower: max over steps of live bytes + that step's scratch. */
static ember_status place_scratch(const ember_program *p, const ember_lowered *L, size_t *at, size_t *bytes,
                                  size_t *lower)
{
    const ember_plan *pl = &p->plan;
    size_t total = pl->arena_bytes, lb = pl->lower_bound;
    size_t n = (size_t)(pl->n_values ? pl->n_values : 1);
    size_t *lo = malloc(n * sizeof *lo), *hi = malloc(n * sizeof *hi);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        return ember_error(EMBER_E_NO_MEMORY, "out of memory placing the scratch");
    }
    for (int s = 0; s < p->n_steps; s++) {
        size_t need = (L->step_scratch[s] + EMBER_BUNDLE_ALIGN - 1) & ~(size_t)(EMBER_BUNDLE_ALIGN - 1);
        at[s] = 0;
        if (!need) continue;
        int k = 0;
        size_t live = 0;
        for (int v = 0; v < pl->n_values; v++) {
            if (pl->offset[v] < 0 || pl->first[v] > s || pl->last[v] < s) continue;
            size_t a = (size_t)pl->offset[v], b = a + pl->size[v];
            int dup = 0; /* in-place chains share one buffer: count it once */
            for (int q = 0; q < k && !dup; q++) dup = lo[q] == a;
            if (dup) continue;
            lo[k] = a;
            hi[k++] = b;
            live += b - a;
        }
        size_t best = (size_t)-1;
        for (int c = -1; c < k; c++) {
            size_t cand = c < 0 ? 0 : hi[c];
            cand = (cand + EMBER_BUNDLE_ALIGN - 1) & ~(size_t)(EMBER_BUNDLE_ALIGN - 1);
            int clash = 0;
            for (int q = 0; q < k && !clash; q++) clash = cand < hi[q] && lo[q] < cand + need;
            if (!clash && cand < best) best = cand;
        }
        at[s] = best;
        if (best + need > total) total = best + need;
        if (live + need > lb) lb = live + need;
    }
    free(lo);
    free(hi);
    *bytes = (total + EMBER_BUNDLE_ALIGN - 1) & ~(size_t)(EMBER_BUNDLE_ALIGN - 1);
    *lower = lb;
    return EMBER_OK;
}

/* int NAME(const uint8_t *cw, uint8_t *mw, uint8_t *act): the io pointer table the module's
 * entry takes, built on the stack from mw + each tensor's offset (the optimizer folds it
 * away once the entry is inlined). */
static ember_status wrap_entry(LLVMModuleRef mod, const ember_bundle_layout *lay, const char *cpu,
                               const char *features)
{
    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    if (LLVMGetNamedFunction(mod, lay->name) || LLVMGetNamedGlobal(mod, lay->name))
        return ember_error(EMBER_E_INVALID_ARG, "bundle name '%s' clashes with a kernel symbol", lay->name);
    LLVMValueRef entry = LLVMGetNamedFunction(mod, EMBER_ENTRY_NAME);
    if (!entry) return ember_error(EMBER_E_INTERNAL, "bundle: the module has no entry");
    LLVMTypeRef i8 = LLVMInt8TypeInContext(ctx), i32 = LLVMInt32TypeInContext(ctx);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx), ptr = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef params[3] = {ptr, ptr, ptr};
    LLVMTypeRef fty = LLVMFunctionType(i32, params, 3, 0);
    LLVMValueRef fn = LLVMAddFunction(mod, lay->name, fty);
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, nounwind, 0));
    LLVMAddAttributeAtIndex(entry, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, nounwind, 0));
    if (cpu && *cpu) LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", cpu);
    if (features && *features) LLVMAddTargetDependentFunctionAttr(fn, "target-features", features);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    int n = lay->n_inputs + lay->n_outputs;
    LLVMTypeRef aty = LLVMArrayType2(ptr, (uint64_t)n);
    LLVMValueRef table = LLVMBuildAlloca(b, aty, "io");
    LLVMValueRef mw = LLVMGetParam(fn, 1);
    for (int i = 0; i < n; i++) {
        LLVMValueRef off = LLVMConstInt(i64, lay->io[i].offset, 0);
        LLVMValueRef p = lay->io[i].offset ? LLVMBuildInBoundsGEP2(b, i8, mw, &off, 1, "") : mw;
        LLVMValueRef idx = LLVMConstInt(i64, (unsigned long long)i, 0);
        LLVMValueRef slot = LLVMBuildInBoundsGEP2(b, ptr, table, &idx, 1, "");
        LLVMBuildStore(b, p, slot);
    }
    LLVMValueRef args[3] = {LLVMGetParam(fn, 0), table, LLVMGetParam(fn, 2)};
    LLVMValueRef rc = LLVMBuildCall2(b, LLVMGlobalGetValueType(entry), entry, args, 3, "");
    LLVMBuildRet(b, rc);
    LLVMDisposeBuilder(b);
    LLVMSetLinkage(entry, LLVMInternalLinkage);
    return EMBER_OK;
}

/* Bytes of the object's code sections (.text*). */
static ember_status text_bytes(LLVMMemoryBufferRef obj, LLVMContextRef ctx, size_t *out)
{
    char *msg = NULL;
    LLVMBinaryRef bin = LLVMCreateBinary(obj, ctx, &msg);
    if (!bin) {
        ember_status s = ember_error(EMBER_E_INTERNAL, "bundle: cannot read the object back: %s", msg ? msg : "");
        if (msg) LLVMDisposeMessage(msg);
        return s;
    }
    size_t text = 0;
    LLVMSectionIteratorRef it = LLVMObjectFileCopySectionIterator(bin);
    for (; !LLVMObjectFileIsSectionIteratorAtEnd(bin, it); LLVMMoveToNextSection(it)) {
        const char *name = LLVMGetSectionName(it);
        if (name && strncmp(name, ".text", 5) == 0) text += (size_t)LLVMGetSectionSize(it);
    }
    LLVMDisposeSectionIterator(it);
    LLVMDisposeBinary(bin);
    *out = text;
    return EMBER_OK;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", a, *a && *b ? "," : "", b);
    return s;
}

static char *path_of(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s%s", dir, name, suffix);
    return s;
}

/* Fills lay's io entries from the program's graph: inputs then outputs, each at the next
 * EMBER_BUNDLE_ALIGN multiple of the mutable region. */
static ember_status layout_io(const ember_program *p, ember_bundle_layout *lay)
{
    const ember_graph *g = p->g;
    lay->n_inputs = g->n_inputs;
    lay->n_outputs = g->n_outputs;
    int n = g->n_inputs + g->n_outputs;
    lay->io = calloc((size_t)(n ? n : 1), sizeof *lay->io);
    if (!lay->io) return ember_error(EMBER_E_NO_MEMORY, "out of memory");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        int is_in = i < g->n_inputs;
        int v = is_in ? g->inputs[i] : g->outputs[i - g->n_inputs];
        const ember_value *val = &g->values[v];
        ember_bundle_io *e = &lay->io[i];
        if (val->shape.rank > 8)
            return ember_error(EMBER_E_UNSUPPORTED, "%s '%s' has rank %d; bundles take up to 8",
                               is_in ? "input" : "output", val->name, val->shape.rank);
        int64_t numel = ember_shape_numel(&val->shape);
        size_t es = ember_dtype_size(val->dtype);
        if (numel < 0 || !es)
            return ember_error(EMBER_E_UNSUPPORTED, "%s '%s' has no static shape and fixed-size type",
                               is_in ? "input" : "output", val->name);
        for (int k = 0; k < i; k++)
            if (strcmp(lay->io[k].name, val->name) == 0)
                return ember_error(EMBER_E_UNSUPPORTED, "'%s' is both a graph input and output (or listed twice); "
                                   "bundles need distinct tensors", val->name);
        e->name = val->name;
        e->is_input = is_in;
        e->dtype = val->dtype;
        e->rank = val->shape.rank;
        for (int k = 0; k < e->rank; k++) e->dims[k] = val->shape.dims[k];
        e->size = (size_t)numel * es;
        e->offset = off;
        if (e->size > 0xffffffffu) return ember_error(EMBER_E_UNSUPPORTED, "tensor '%s' is over 4 GiB", val->name);
        off = (off + e->size + EMBER_BUNDLE_ALIGN - 1) & ~(size_t)(EMBER_BUNDLE_ALIGN - 1);
    }
    lay->mutable_bytes = off;
    ember_bundle_idents(lay);
    return EMBER_OK;
}

/* A graph output that is a constant or no node writes would be left unset by the
 * entry: refuse it rather than emit a bundle that returns garbage. */
static ember_status check_outputs_written(const ember_program *p)
{
    const ember_graph *g = p->g;
    for (int o = 0; o < g->n_outputs; o++) {
        int v = g->outputs[o], written = 0;
        for (int n = 0; n < g->n_nodes && !written; n++)
            for (int k = 0; k < g->nodes[n].n_outputs; k++) written |= g->nodes[n].outputs[k] == v;
        if (!written)
            return ember_error(EMBER_E_UNSUPPORTED, "output '%s' is not computed by any node (a constant or an "
                               "input); bundles do not copy it", g->values[v].name);
    }
    return EMBER_OK;
}

typedef struct job {
    const ember_bundle_target *t;
    const char *cpu;
    char *features;
    char *triple;
    ember_program *p;
    ember_lowered L;
    size_t *scratch_at;
    ember_module m;
    LLVMContextRef ctx;
    LLVMTargetMachineRef tm;
    LLVMMemoryBufferRef obj;
    ember_bundle_layout lay;
    size_t lower_bound;
} job;

static void job_free(job *j)
{
    if (j->obj) LLVMDisposeMemoryBuffer(j->obj);
    ember_module_dispose(&j->m);
    if (j->tm) LLVMDisposeTargetMachine(j->tm);
    if (j->ctx) LLVMContextDispose(j->ctx);
    ember_lowered_free(&j->L);
    free(j->scratch_at);
    ember_program_free(j->p);
    free(j->features);
    if (j->triple) LLVMDisposeMessage(j->triple);
    free(j->lay.io);
}

static ember_status make_machine(job *j)
{
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(j->triple, &target, &msg)) {
        ember_status s = ember_error(EMBER_E_UNSUPPORTED, "bundle: LLVM has no target for %s: %s", j->triple,
                                     msg ? msg : "");
        if (msg) LLVMDisposeMessage(msg);
        return s;
    }
    LLVMTargetMachineOptionsRef o = LLVMCreateTargetMachineOptions();
    LLVMTargetMachineOptionsSetCPU(o, j->cpu);
    LLVMTargetMachineOptionsSetFeatures(o, j->features);
    if (j->t->abi) LLVMTargetMachineOptionsSetABI(o, j->t->abi);
    LLVMTargetMachineOptionsSetCodeGenOptLevel(o, LLVMCodeGenLevelAggressive);
    LLVMTargetMachineOptionsSetRelocMode(o, j->t->pic ? LLVMRelocPIC : LLVMRelocStatic);
    LLVMTargetMachineOptionsSetCodeModel(o, LLVMCodeModelDefault);
    j->tm = LLVMCreateTargetMachineWithOptions(target, j->triple, o);
    LLVMDisposeTargetMachineOptions(o);
    if (!j->tm)
        return ember_error(EMBER_E_INVALID_ARG, "bundle: cannot create a target machine for %s (cpu '%s', "
                           "features '%s')", j->triple, j->cpu, j->features);
    return EMBER_OK;
}

static ember_status compile(job *j, const ember_model *model, const ember_bundle_options *o, const char *dir,
                            ember_bundle_report *rep)
{
    ember_program_options po = {.threads = 1, .optimize = 1, .precision = 0, .reference_only = 1};
    TRY(ember_program_build(model, NULL, 0, &po, &j->p));
    TRY(check_outputs_written(j->p));
    TRY(ember_program_lower(j->p, &j->L));
    j->scratch_at = calloc((size_t)(j->p->n_steps ? j->p->n_steps : 1), sizeof *j->scratch_at);
    if (!j->scratch_at) return ember_error(EMBER_E_NO_MEMORY, "out of memory");
    j->lay.name = o->name;
    j->lay.target = j->t->name;
    j->lay.cpu = j->cpu;
    TRY(place_scratch(j->p, &j->L, j->scratch_at, &j->lay.activations_bytes, &j->lower_bound));
    TRY(layout_io(j->p, &j->lay));
    TRY(make_machine(j));

    j->ctx = LLVMContextCreate();
    TRY(ember_module_build(j->ctx, j->p, &j->L, j->t->bc, j->t->bc_size(), j->cpu, j->features, j->scratch_at,
                           &j->m));
    LLVMSetTarget(j->m.module, j->triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(j->tm);
    char *dl = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(j->m.module, dl);
    LLVMDisposeMessage(dl);
    LLVMDisposeTargetData(td);
    TRY(wrap_entry(j->m.module, &j->lay, j->cpu, j->features));
    TRY(ember_module_optimize(j->m.module, j->tm));
    char *msg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(j->tm, j->m.module, LLVMObjectFile, &msg, &j->obj)) {
        ember_status s = ember_error(EMBER_E_INTERNAL, "bundle: code generation for %s failed: %s", j->t->name,
                                     msg ? msg : "");
        if (msg) LLVMDisposeMessage(msg);
        return s;
    }
    j->lay.constant_bytes = j->m.consts_bytes;
    size_t text = 0;
    TRY(text_bytes(j->obj, j->ctx, &text));

    /* Files: object, weights, header (written last: its presence means a whole bundle). */
    ember_status st = EMBER_OK;
    char *po_ = path_of(dir, o->name, ".o"), *pw = path_of(dir, o->name, ".weights.bin");
    char *ph = path_of(dir, o->name, ".h"), *pc = path_of(dir, o->name, ".weights.c");
    if (!po_ || !pw || !ph || !pc) st = ember_error(EMBER_E_NO_MEMORY, "out of memory");
    if (st == EMBER_OK)
        st = ember_bundle_write_file(po_, LLVMGetBufferStart(j->obj), LLVMGetBufferSize(j->obj));
    if (st == EMBER_OK) st = ember_bundle_write_file(pw, j->m.consts, j->m.consts_bytes);
    if (st == EMBER_OK && o->weights_c) st = ember_bundle_write_weights_c(pc, o->name, j->m.consts, j->m.consts_bytes);
    if (st == EMBER_OK) st = ember_bundle_write_header(ph, &j->lay);
    free(po_);
    free(pw);
    free(ph);
    free(pc);
    if (st == EMBER_OK && rep) {
        rep->text_bytes = text;
        rep->constant_bytes = j->lay.constant_bytes;
        rep->mutable_bytes = j->lay.mutable_bytes;
        rep->activations_bytes = j->lay.activations_bytes;
        rep->activations_lower_bound = j->lower_bound;
    }
    return st;
}

/* ember_model_compile_bundle's body (the public call is in jit/llvm_load.c). */
ember_status ember_llvm_compile_bundle(const ember_model *model, const ember_bundle_options *o, const char *out_dir,
                                       ember_bundle_report *report)
{
    if (report) memset(report, 0, sizeof *report);
    if (!model || !o || !out_dir || !*out_dir)
        return ember_error(EMBER_E_INVALID_ARG, "ember_model_compile_bundle: model, options and out_dir are required");
    TRY(check_name(o->name));
    pthread_once(&init_once, init_targets);
    job j;
    memset(&j, 0, sizeof j);
    j.t = ember_bundle_target_find(o->target);
    if (!j.t)
        return ember_error(EMBER_E_INVALID_ARG, "unknown bundle target '%s' (supported: %s)",
                           o->target ? o->target : "(null)", ember_bundle_target_names());
    /* The user's spelling (normalized: the Cortex-M float ABI lives in the environment part)
     * when it names the same target, so a vendor like "pc" survives. */
    j.triple = LLVMNormalizeTargetTriple(strcmp(o->target, j.t->name) == 0 ? j.t->triple : o->target);
    j.cpu = o->cpu && *o->cpu ? o->cpu : j.t->cpu;
    if (j.t->cpus) {
        int known = 0;
        for (const char *const *c = j.t->cpus; *c && !known; c++) known = strcmp(*c, j.cpu) == 0;
        if (!known) {
            ember_status st = ember_error(EMBER_E_INVALID_ARG, "cpu '%s' does not fit target %s (supported: %s%s%s)",
                                          j.cpu, j.t->name, j.t->cpus[0], j.t->cpus[1] ? ", " : "",
                                          j.t->cpus[1] ? j.t->cpus[1] : "");
            LLVMDisposeMessage(j.triple);
            return st;
        }
    }
    j.features = join(j.t->features, o->features ? o->features : "");
    ember_status st = j.features ? check_dir(out_dir) : ember_error(EMBER_E_NO_MEMORY, "out of memory");
    if (st == EMBER_OK) st = compile(&j, model, o, out_dir, report);
    job_free(&j);
    return st;
}
