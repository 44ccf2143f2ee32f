/* ORC LLJIT for the host: target machine, optimization, compilation, lookup. */
#include "orc.h"

#include "../engine/cache.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>

struct ember_orc {
    LLVMOrcLLJITRef jit;
    ember_entry_fn entry;
    uint8_t *consts;
};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_failed;

static void init_llvm(void)
{
    init_failed = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter();
}

static ember_status err_status(const char *what, LLVMErrorRef e)
{
    char *m = LLVMGetErrorMessage(e);
    ember_status s = ember_error(EMBER_E_INTERNAL, "jit: %s: %s", what, m ? m : "(no message)");
    LLVMDisposeErrorMessage(m);
    return s;
}

/* A target machine for this host: normalized triple, CPU name and features. */
static ember_status host_machine(LLVMTargetMachineRef *tm)
{
    char *dflt = LLVMGetDefaultTargetTriple();
    char *triple = LLVMNormalizeTargetTriple(dflt);
    LLVMDisposeMessage(dflt);
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    LLVMTargetRef target;
    char *msg = NULL;
    ember_status st = EMBER_OK;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        st = ember_error(EMBER_E_INTERNAL, "jit: no target for %s: %s", triple, msg ? msg : "");
        LLVMDisposeMessage(msg);
    } else {
        *tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                      LLVMRelocDefault, LLVMCodeModelJITDefault);
        if (!*tm) st = ember_error(EMBER_E_INTERNAL, "jit: cannot create a target machine for %s", triple);
    }
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return st;
}

/* The program's key covers the Ember library; the object code also depends on this
 * module, which can be rebuilt alone: its file's size and time go into the key too. */
static void module_identity(ember_cache_key *k)
{
    Dl_info di;
    struct stat st;
    if (!dladdr((void *)&ember_orc_compile, &di) || !di.dli_fname || stat(di.dli_fname, &st) != 0) return;
    int64_t f[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec};
    ember_hasher h;
    ember_hasher_init(&h, k->k[0]);
    ember_hasher_add(&h, &k->k[1], sizeof k->k[1]);
    ember_hasher_add(&h, f, sizeof f);
    ember_hasher_final(&h, k->k);
}

ember_status ember_orc_compile(const ember_program *p, ember_orc **out)
{
    *out = NULL;
    pthread_once(&init_once, init_llvm);
    if (init_failed) return ember_error(EMBER_E_INTERNAL, "jit: LLVM has no native target");
    ember_lowered L;
    double t0 = now_ms();
    TRY(ember_program_lower(p, &L));
    ember_orc *o = calloc(1, sizeof *o);
    if (!o) {
        ember_lowered_free(&L);
        return ember_error(EMBER_E_NO_MEMORY, "jit: out of memory");
    }
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    ember_module m;
    ember_status st = ember_module_build(ctx, p, &L, ember_kernels_bc, ember_kernels_bc_size(), cpu, features, NULL,
                                         &m);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    ember_lowered_free(&L);
    LLVMTargetMachineRef tm = NULL, tm_jit = NULL;
    if (st == EMBER_OK) st = host_machine(&tm);
    double t1 = now_ms();
    /* The compile cache (engine/cache.h) keeps the object code: a hit skips optimizing
     * and code generation (the module above is still built for the constant blob). */
    ember_cache_key okey;
    void *omap = NULL;
    size_t omap_bytes = 0, obj_n = 0;
    const void *obj = NULL;
    if (p->cache != EMBER_CACHE_OFF) {
        ember_cache_object_key(p->cache_key, &okey);
        module_identity(&okey);
    }
    int hit = st == EMBER_OK && p->cache != EMBER_CACHE_OFF &&
              ember_cache_object_load(&okey, &omap, &omap_bytes, &obj, &obj_n);
    if (st == EMBER_OK && !hit) st = ember_module_optimize(m.module, tm);
    double t2 = now_ms();
    LLVMMemoryBufferRef objbuf = NULL;
    if (st == EMBER_OK && hit) {
        objbuf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, obj_n, "ember_entry.o");
    } else if (st == EMBER_OK) {
        char *msg = NULL;
        if (LLVMTargetMachineEmitToMemoryBuffer(tm, m.module, LLVMObjectFile, &msg, &objbuf)) {
            st = ember_error(EMBER_E_INTERNAL, "jit: code generation failed: %s", msg ? msg : "");
            objbuf = NULL;
        } else if (p->cache != EMBER_CACHE_OFF) {
            ember_cache_object_store(&okey, LLVMGetBufferStart(objbuf), LLVMGetBufferSize(objbuf));
        }
        if (msg) LLVMDisposeMessage(msg);
    }
    ember_cache_unmap(omap, omap_bytes);
    if (tm) LLVMDisposeTargetMachine(tm);
    const char *dump = getenv("EMBER_JIT_DUMP"); /* the optimized IR, for debugging */
    if (st == EMBER_OK && dump && *dump) {
        char *msg = NULL;
        if (LLVMPrintModuleToFile(m.module, dump, &msg)) fprintf(stderr, "ember: jit: cannot write %s: %s\n", dump, msg);
        if (msg) LLVMDisposeMessage(msg);
    }
    if (st == EMBER_OK) st = host_machine(&tm_jit);
    if (st != EMBER_OK) goto fail;

    LLVMOrcLLJITBuilderRef jb = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(jb, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm_jit));
    tm_jit = NULL;
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&o->jit, jb); /* consumes jb */
    if (e) {
        o->jit = NULL;
        st = err_status("creating LLJIT", e);
        goto fail;
    }
    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(o->jit);
    LLVMOrcDefinitionGeneratorRef gen;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(o->jit), NULL, NULL);
    if (e) {
        st = err_status("process symbols", e);
        goto fail;
    }
    LLVMOrcJITDylibAddGenerator(jd, gen);
    e = LLVMOrcLLJITAddObjectFile(o->jit, jd, objbuf); /* takes objbuf */
    objbuf = NULL;
    if (e) {
        st = err_status("adding the object code", e);
        goto fail;
    }
    LLVMOrcExecutorAddress addr = 0;
    e = LLVMOrcLLJITLookup(o->jit, &addr, EMBER_ENTRY_NAME);
    if (e) {
        st = err_status("compiling", e);
        goto fail;
    }
    o->entry = (ember_entry_fn)(uintptr_t)addr;
    if (getenv("EMBER_JIT_DEBUG"))
        fprintf(stderr, "ember: jit: lower + build module %.1f ms, optimize %.1f ms, codegen %.1f ms%s\n", t1 - t0,
                t2 - t1, now_ms() - t2, hit ? " (object code from the compile cache)" : "");
    o->consts = m.consts;
    m.consts = NULL;
    ember_module_dispose(&m);
    LLVMOrcDisposeThreadSafeContext(tsc);
    *out = o;
    return EMBER_OK;
fail:
    if (objbuf) LLVMDisposeMemoryBuffer(objbuf);
    if (tm_jit) LLVMDisposeTargetMachine(tm_jit);
    ember_module_dispose(&m);
    LLVMOrcDisposeThreadSafeContext(tsc);
    ember_orc_free(o);
    return st;
}

ember_entry_fn ember_orc_entry(const ember_orc *o) { return o->entry; }
const uint8_t *ember_orc_consts(const ember_orc *o) { return o->consts; }

void ember_orc_free(ember_orc *o)
{
    if (!o) return;
    if (o->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(o->jit);
        if (e) LLVMConsumeError(e);
    }
    free(o->consts);
    free(o);
}
