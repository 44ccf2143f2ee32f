/* The lowering-hook table (from lower.def) and the lowered-program builders. */
#include "lower.h"

#include <stdlib.h>
#include <string.h>

#define EMBER_LOWER(e, fn) ember_status fn(ember_lowered *L, const ember_op_ctx *c);
#include "lower.def"
#undef EMBER_LOWER

static const struct {
    int op;
    ember_lower_fn fn;
} hooks[] = {
#define EMBER_LOWER(e, fn) {EMBER_OP_##e, fn},
#include "lower.def"
#undef EMBER_LOWER
};

ember_lower_fn ember_lower_for(int op)
{
    for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++)
        if (hooks[i].op == op) return hooks[i].fn;
    return NULL;
}

ember_status ember_lower_call(ember_lowered *L, const char *fn, int n, const ember_larg *args)
{
    if (n > EMBER_LOWER_MAX_ARGS) return ember_error(EMBER_E_INTERNAL, "kernel call %s: too many arguments", fn);
    if (L->n_calls == L->cap_calls) {
        int cap = L->cap_calls ? 2 * L->cap_calls : 64;
        ember_lcall *c = realloc(L->calls, sizeof *c * (size_t)cap);
        if (!c) return ember_error(EMBER_E_NO_MEMORY, "out of memory lowering the program");
        L->calls = c;
        L->cap_calls = cap;
    }
    ember_lcall *c = &L->calls[L->n_calls++];
    c->fn = fn;
    c->step = L->step;
    c->n_args = n;
    memcpy(c->args, args, sizeof *args * (size_t)n);
    return EMBER_OK;
}

int ember_lower_blob(ember_lowered *L, const void *data, size_t bytes)
{
    if (L->n_blobs == L->cap_blobs) {
        int cap = L->cap_blobs ? 2 * L->cap_blobs : 32;
        ember_lblob *b = realloc(L->blobs, sizeof *b * (size_t)cap);
        if (!b) return -1;
        L->blobs = b;
        L->cap_blobs = cap;
    }
    void *d = malloc(bytes ? bytes : 1);
    if (!d) return -1;
    if (bytes) memcpy(d, data, bytes);
    L->blobs[L->n_blobs] = (ember_lblob){d, bytes};
    return L->n_blobs++;
}

void ember_lowered_free(ember_lowered *L)
{
    if (!L) return;
    for (int i = 0; i < L->n_blobs; i++) free(L->blobs[i].data);
    free(L->blobs);
    free(L->step_scratch);
    free(L->calls);
    memset(L, 0, sizeof *L);
}

ember_status ember_lower_copy_strided(ember_lowered *L, ember_larg src, ember_larg dst, int rank,
                                      const int64_t *dims, const int64_t *sstride,
                                      const int64_t *dstride, size_t es)
{
    size_t b = sizeof(int64_t) * (size_t)(rank > 0 ? rank : 1);
    int bd = ember_lower_blob(L, dims, b), bs = ember_lower_blob(L, sstride, b);
    int bo = ember_lower_blob(L, dstride, b);
    if (bd < 0 || bs < 0 || bo < 0) return ember_error(EMBER_E_NO_MEMORY, "out of memory lowering the program");
    return EMBER_LCALL(L, "k_copy_strided", src, dst, LI(rank), ember_larg_blob(bd), ember_larg_blob(bs),
                       ember_larg_blob(bo), LI((int64_t)es), LI(0), LI(1));
}
