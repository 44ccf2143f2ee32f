/* Loads the LLVM module (jit/llvm_api.h) the first time the JIT or a bundle needs it.
 * Where: $EMBER_LLVM_MODULE when set; else libember_llvm.so next to the file that holds
 * this code (the ember executable or libember.so), in ../lib from there (an installed
 * bin/ember) or in .. (a test runner in the build tree); else the library folder Ember
 * was configured to install into; else the dynamic linker's search.
 * The module's undefined symbols are this library's, so the program that loads it must
 * export them: a shared libember does, and so do the executables built here (linked
 * with --export-dynamic); a program linking libember.a statically needs the same. */
#include "llvm_api.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/status.h"

#ifndef EMBER_LLVM_MODULE_NAME
#define EMBER_LLVM_MODULE_NAME "libember_llvm.so"
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const ember_llvm_api *api;
static char why[8192];

/* The file holding this code: a shared library's path, or the executable's. */
static int find_self(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    uintptr_t self = (uintptr_t)&find_self;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && self >= lo && self < lo + ph->p_memsz) {
            snprintf(ctx, 1024, "%s", info->dlpi_name ? info->dlpi_name : "");
            return 1;
        }
    }
    return 0;
}

static int self_dir(char *dir, size_t n)
{
    char file[1024] = "";
    dl_iterate_phdr(find_self, file);
    if (!file[0]) { /* the executable */
        ssize_t k = readlink("/proc/self/exe", file, sizeof file - 1);
        if (k <= 0) return 0;
        file[k] = 0;
    }
    char *slash = strrchr(file, '/');
    if (!slash) return 0;
    *slash = 0;
    snprintf(dir, n, "%s", file);
    return 1;
}

static void *try_open(const char *path, char *tried, size_t n)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        size_t len = strlen(tried);
        snprintf(tried + len, n - len, "%s%s", len ? "; " : "", e ? e : path);
    }
    return h;
}

static void load(void)
{
    char tried[6144] = "", path[1024];
    void *h = NULL;
    const char *env = getenv("EMBER_LLVM_MODULE");
    if (env && *env) {
        h = try_open(env, tried, sizeof tried);
    } else {
        char dir[1024];
        static const char *const rel[] = {"", "/../lib", "/.."};
        for (size_t i = 0; !h && self_dir(dir, sizeof dir) && i < sizeof rel / sizeof *rel; i++) {
            snprintf(path, sizeof path, "%.900s%s/%s", dir, rel[i], EMBER_LLVM_MODULE_NAME);
            h = try_open(path, tried, sizeof tried);
        }
#ifdef EMBER_LLVM_MODULE_DIR
        if (!h) h = try_open(EMBER_LLVM_MODULE_DIR "/" EMBER_LLVM_MODULE_NAME, tried, sizeof tried);
#endif
        if (!h) h = try_open(EMBER_LLVM_MODULE_NAME, tried, sizeof tried);
    }
    if (!h) {
        snprintf(why, sizeof why, "cannot load Ember's LLVM module (%s): %s", EMBER_LLVM_MODULE_NAME, tried);
        return;
    }
    const ember_llvm_api *a = dlsym(h, EMBER_LLVM_API_SYMBOL);
    if (!a || a->version != EMBER_LLVM_API_VERSION) {
        snprintf(why, sizeof why, "Ember's LLVM module is %s", a ? "of another version" : "missing its entry table");
        return;
    }
    api = a;
}

const ember_llvm_api *ember_llvm(void)
{
    pthread_once(&once, load);
    if (!api) ember_error(EMBER_E_UNSUPPORTED, "%s", why);
    return api;
}

ember_status ember_model_compile_bundle(const ember_model *model, const ember_bundle_options *options,
                                        const char *out_dir, ember_bundle_report *report)
{
    if (report) memset(report, 0, sizeof *report);
    const ember_llvm_api *a = ember_llvm();
    if (!a) return ember_error_prefix(EMBER_E_UNSUPPORTED, "bundles need LLVM");
    return a->compile_bundle(model, options, out_dir, report);
}
