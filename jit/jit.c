/* Programs' compiled code, by program: a small table under a read-write lock, so the
 * program struct itself needs no JIT field. */
#include "jit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llvm_api.h"

typedef struct entry {
    const ember_program *p;
    ember_orc *orc;
    struct entry *next;
} entry;

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static entry *table;
static _Thread_local char why[512];

const char *ember_jit_why(void) { return why; }

void ember_jit_attach(ember_program *p)
{
    why[0] = 0;
    /* Opt-in: the JIT's code is slower than the oneDNN/OpenBLAS executor today. */
    const char *env = getenv("EMBER_JIT");
    if (!env || strcmp(env, "1") != 0) {
        snprintf(why, sizeof why, "the JIT is off (EMBER_JIT=1 turns it on)");
        return;
    }
    ember_orc *o = NULL;
    const ember_llvm_api *api = ember_llvm();
    ember_status st = api ? api->orc_compile(p, &o) : EMBER_E_UNSUPPORTED;
    if (st == EMBER_OK) {
        entry *e = malloc(sizeof *e);
        if (e) {
            e->p = p;
            e->orc = o;
            pthread_rwlock_wrlock(&lock);
            e->next = table;
            table = e;
            pthread_rwlock_unlock(&lock);
            return;
        }
        api->orc_free(o);
        snprintf(why, sizeof why, "out of memory");
    } else {
        snprintf(why, sizeof why, "%s", ember_last_error());
    }
    ember_error_clear();
    if (getenv("EMBER_JIT_DEBUG")) fprintf(stderr, "ember: jit: not compiled: %s\n", why);
}

ember_jit_entry_fn ember_jit_entry(const ember_program *p, const uint8_t **consts)
{
    ember_jit_entry_fn fn = NULL;
    pthread_rwlock_rdlock(&lock);
    for (entry *e = table; e; e = e->next)
        if (e->p == p) {
            fn = ember_llvm()->orc_entry(e->orc); /* loaded: it compiled e */
            *consts = ember_llvm()->orc_consts(e->orc);
            break;
        }
    pthread_rwlock_unlock(&lock);
    return fn;
}

void ember_jit_detach(const ember_program *p)
{
    if (!p) return;
    entry *found = NULL;
    pthread_rwlock_wrlock(&lock);
    for (entry **pe = &table; *pe; pe = &(*pe)->next)
        if ((*pe)->p == p) {
            found = *pe;
            *pe = found->next;
            break;
        }
    pthread_rwlock_unlock(&lock);
    if (found) {
        ember_llvm()->orc_free(found->orc);
        free(found);
    }
}
