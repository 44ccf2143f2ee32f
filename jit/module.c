/* The module builder: lowered kernel calls -> one LLVM module with an entry function. */
#include "module.h"

#include "gen.h"

#include <stdlib.h>
#include <string.h>

#include <llvm-c/BitReader.h>
#include <llvm-c/Error.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Transforms/PassBuilder.h>

ember_status ember_program_lower(const ember_program *p, ember_lowered *L)
{
    const ember_graph *g = p->g;
    memset(L, 0, sizeof *L);
    ember_op_tensor ins[64], outs[64], *pin[64], *pout[64];
    L->n_steps = p->n_steps;
    L->step_scratch = calloc((size_t)(p->n_steps ? p->n_steps : 1), sizeof *L->step_scratch);
    if (!L->step_scratch) return ember_error(EMBER_E_NO_MEMORY, "out of memory lowering the program");
    for (int si = 0; si < p->n_steps; si++) {
        const ember_node *n = &g->nodes[p->steps[si].node];
        ember_lower_fn fn = n->op >= 0 ? ember_lower_for(n->op) : NULL;
        /* Attributes the engine's passes add ("ember_*") change what a node computes: a
         * lowering must know them, so an unknown one keeps the program on the executor. */
        for (int a = 0; a < n->n_attrs && fn; a++) {
            const char *an = n->attrs[a].name;
            if (strncmp(an, "ember_", 6) != 0) continue;
            int linear = n->op == EMBER_OP_CONV || n->op == EMBER_OP_GEMM || n->op == EMBER_OP_MATMUL;
            if (linear && (strcmp(an, "ember_activation") == 0 || strncmp(an, "ember_act_", 10) == 0)) continue;
            if (strcmp(an, "ember_sum_input") == 0 && n->op == EMBER_OP_CONV) continue;
            ember_lowered_free(L);
            return ember_error(EMBER_E_UNSUPPORTED, "node '%s' (%s): fused attribute '%s' has no lowering", n->name,
                               n->op_type, an);
        }
        if (!fn || n->n_inputs > 64 || n->n_outputs > 64) {
            ember_lowered_free(L);
            return ember_error(EMBER_E_UNSUPPORTED, "node '%s' (%s): no lowering for this op", n->name,
                               n->op_type);
        }
        for (int k = 0; k < n->n_inputs; k++) {
            pin[k] = n->inputs[k] >= 0 ? &ins[k] : NULL;
            if (!pin[k]) continue;
            ins[k] = p->templ[n->inputs[k]];
            const ember_value *v = &g->values[n->inputs[k]];
            ins[k].data = (v->flags & EMBER_VALUE_CONST) ? v->data : NULL;
        }
        for (int o = 0; o < n->n_outputs; o++) {
            pout[o] = n->outputs[o] >= 0 ? &outs[o] : NULL;
            if (pout[o]) outs[o] = p->templ[n->outputs[o]];
        }
        ember_op_ctx c = {.node = n, .graph = g, .opset = n->opset, .running = true,
                          .n_in = n->n_inputs, .n_out = n->n_outputs, .in = pin, .out = pout,
                          .scratch_bytes = p->steps[si].scratch_bytes};
        L->step = si;
        L->scratch = p->steps[si].scratch_bytes;
        ember_status st = fn(L, &c);
        if (st != EMBER_OK) {
            ember_lowered_free(L);
            return st;
        }
        L->step_scratch[si] = L->scratch;
    }
    return EMBER_OK;
}

/* An LLVMErrorRef's message (from LLVMGetErrorMessage) as an ember error; frees it. */
static ember_status llvm_fail(ember_status s, const char *what, char *msg)
{
    ember_status r = ember_error(s, "jit: %s: %s", what, msg ? msg : "(no message)");
    if (msg) LLVMDisposeErrorMessage(msg);
    return r;
}

/* Where a value lives: base 0 = consts, 1 = io slot, 2 = arena; off = byte offset or slot. */
typedef struct loc {
    int base;
    int64_t off;
} loc;

static ember_status locate_values(const ember_program *p, const ember_lowered *L, loc *locs,
                                  ember_module *out)
{
    const ember_graph *g = p->g;
    for (int v = 0; v < g->n_values; v++) locs[v].base = -1;
    for (int i = g->n_outputs - 1; i >= 0; i--) locs[g->outputs[i]] = (loc){1, g->n_inputs + i};
    for (int i = 0; i < g->n_inputs; i++) locs[g->inputs[i]] = (loc){1, i};
    size_t cbytes = 0;
    for (int ci = 0; ci < L->n_calls; ci++)
        for (int a = 0; a < L->calls[ci].n_args; a++) {
            const ember_larg *x = &L->calls[ci].args[a];
            if (x->kind != EMBER_LARG_VALUE) continue;
            int v = x->value;
            if (v < 0 || v >= g->n_values) return ember_error(EMBER_E_INTERNAL, "jit: bad value %d", v);
            if (locs[v].base >= 0) continue;
            if (g->values[v].flags & EMBER_VALUE_CONST) {
                locs[v] = (loc){0, (int64_t)cbytes};
                cbytes += (g->values[v].nbytes + 63) & ~(size_t)63;
            } else if (p->plan.offset[v] >= 0) {
                locs[v] = (loc){2, p->plan.offset[v]};
            } else {
                return ember_error(EMBER_E_INTERNAL, "jit: value '%s' has no home", g->values[v].name);
            }
        }
    out->consts_bytes = cbytes;
    if (!cbytes) return EMBER_OK;
    out->consts = aligned_alloc(64, cbytes);
    if (!out->consts) return ember_error(EMBER_E_NO_MEMORY, "jit: out of memory for constants");
    memset(out->consts, 0, cbytes);
    for (int v = 0; v < g->n_values; v++)
        if (locs[v].base == 0 && g->values[v].nbytes) memcpy(out->consts + locs[v].off, g->values[v].data, g->values[v].nbytes);
    return EMBER_OK;
}

/* Calls whose kernel is replaced by IR generated from the call's constant arguments
 * (jit/gen.h): the elementwise chain, when its program and constants are blobs and it
 * covers all the elements (ith 0 of 1). *fn stays NULL for every other call.
 * EMBER_JIT_GENERATE=0 keeps the kernel calls, for comparisons. */
static ember_status generated(LLVMModuleRef emod, LLVMModuleRef kmod, LLVMTypeRef fty, const ember_lowered *L,
                              const ember_lcall *call, int serial, LLVMValueRef *fn)
{
    *fn = NULL;
    const char *env = getenv("EMBER_JIT_GENERATE");
    if ((env && strcmp(env, "0") == 0) || strcmp(call->fn, "k_elementwise_chain_f32") != 0 || call->n_args != 11)
        return EMBER_OK;
    const ember_larg *a = call->args;
    if (a[6].kind != EMBER_LARG_BLOB || a[8].kind != EMBER_LARG_BLOB || a[7].kind != EMBER_LARG_INT ||
        a[9].kind != EMBER_LARG_INT || a[10].kind != EMBER_LARG_INT || a[9].i != 0 || a[10].i != 1 ||
        a[6].value < 0 || a[6].value >= L->n_blobs || a[8].value < 0 || a[8].value >= L->n_blobs)
        return EMBER_OK;
    const ember_lblob *pb = &L->blobs[a[6].value], *cb = &L->blobs[a[8].value];
    if (a[7].i < 1 || (size_t)a[7].i * 3 * sizeof(int64_t) > pb->bytes) return EMBER_OK;
    return ember_gen_elementwise_chain(emod, kmod, fty, pb->data, (int)a[7].i, cb->data,
                                       (int)(cb->bytes / sizeof(float)), serial, fn);
}

ember_status ember_module_build(LLVMContextRef ctx, const ember_program *p, const ember_lowered *L,
                                const void *bc, size_t bc_bytes, const char *cpu, const char *features,
                                const size_t *scratch_at, ember_module *out)
{
    memset(out, 0, sizeof *out);
    const ember_graph *g = p->g;
    ember_status st = EMBER_OK;
    LLVMModuleRef kmod = NULL, emod = NULL;
    LLVMBuilderRef b = NULL;
    loc *locs = malloc(sizeof *locs * (size_t)(g->n_values ? g->n_values : 1));
    if (!locs) return ember_error(EMBER_E_NO_MEMORY, "jit: out of memory");
    if ((st = locate_values(p, L, locs, out)) != EMBER_OK) goto fail;

    /* The kernels, parsed in the caller's context. */
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(bc, bc_bytes, "ember_kernels", 0);
    if (LLVMParseBitcodeInContext2(ctx, buf, &kmod)) {
        LLVMDisposeMemoryBuffer(buf);
        st = ember_error(EMBER_E_INTERNAL, "jit: cannot parse the kernel bitcode");
        goto fail;
    }
    LLVMDisposeMemoryBuffer(buf);

    emod = LLVMModuleCreateWithNameInContext("ember_program", ctx);
    LLVMSetTarget(emod, LLVMGetTarget(kmod));
    LLVMSetDataLayout(emod, LLVMGetDataLayoutStr(kmod));
    LLVMTypeRef i8 = LLVMInt8TypeInContext(ctx), i32 = LLVMInt32TypeInContext(ctx);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(ctx), ptr = LLVMPointerTypeInContext(ctx, 0);
    LLVMTypeRef params[3] = {ptr, ptr, ptr};
    LLVMValueRef entry = LLVMAddFunction(emod, EMBER_ENTRY_NAME, LLVMFunctionType(i32, params, 3, 0));
    for (unsigned k = 0; k < 3; k++) {
        unsigned kind = LLVMGetEnumAttributeKindForName("noalias", 7);
        LLVMAddAttributeAtIndex(entry, k + 1, LLVMCreateEnumAttribute(ctx, kind, 0));
    }
    b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, entry, "entry"));
    LLVMValueRef consts = LLVMGetParam(entry, 0), io = LLVMGetParam(entry, 1), arena = LLVMGetParam(entry, 2);

    /* Bases: io slots loaded once. */
    int n_io = g->n_inputs + g->n_outputs;
    LLVMValueRef *io_ptr = calloc((size_t)(n_io ? n_io : 1), sizeof *io_ptr);
    LLVMValueRef *blob = calloc((size_t)(L->n_blobs ? L->n_blobs : 1), sizeof *blob);
    if (!io_ptr || !blob) {
        free(io_ptr);
        free(blob);
        st = ember_error(EMBER_E_NO_MEMORY, "jit: out of memory");
        goto fail;
    }
    for (int i = 0; i < n_io; i++) {
        LLVMValueRef idx = LLVMConstInt(i64, (unsigned long long)i, 0);
        LLVMValueRef slot = LLVMBuildGEP2(b, ptr, io, &idx, 1, "");
        io_ptr[i] = LLVMBuildLoad2(b, ptr, slot, "io");
    }
    for (int k = 0; k < L->n_blobs; k++) {
        LLVMValueRef init = LLVMConstStringInContext2(ctx, L->blobs[k].data, L->blobs[k].bytes, 1);
        LLVMValueRef gv = LLVMAddGlobal(emod, LLVMTypeOf(init), "ember.param");
        LLVMSetInitializer(gv, init);
        LLVMSetGlobalConstant(gv, 1);
        LLVMSetLinkage(gv, LLVMPrivateLinkage);
        LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
        LLVMSetAlignment(gv, 16);
        blob[k] = gv;
    }

    for (int ci = 0; ci < L->n_calls && st == EMBER_OK; ci++) {
        const ember_lcall *call = &L->calls[ci];
        LLVMValueRef kfn = LLVMGetNamedFunction(kmod, call->fn);
        if (!kfn) {
            st = ember_error(EMBER_E_INTERNAL, "jit: kernel %s is not in the bitcode", call->fn);
            break;
        }
        LLVMTypeRef fty = LLVMGlobalGetValueType(kfn);
        unsigned np = LLVMCountParamTypes(fty);
        if (np != (unsigned)call->n_args) {
            st = ember_error(EMBER_E_INTERNAL, "jit: kernel %s takes %u arguments, lowering gives %d", call->fn, np,
                             call->n_args);
            break;
        }
        LLVMTypeRef pt[EMBER_LOWER_MAX_ARGS];
        LLVMGetParamTypes(fty, pt);
        LLVMValueRef fn = NULL;
        if ((st = generated(emod, kmod, fty, L, call, ci, &fn)) != EMBER_OK) break;
        if (!fn) fn = LLVMGetNamedFunction(emod, call->fn);
        if (!fn) fn = LLVMAddFunction(emod, call->fn, fty);
        LLVMValueRef args[EMBER_LOWER_MAX_ARGS];
        for (int a = 0; a < call->n_args && st == EMBER_OK; a++) {
            const ember_larg *x = &call->args[a];
            LLVMTypeKind tk = LLVMGetTypeKind(pt[a]);
            int want_ptr = x->kind == EMBER_LARG_VALUE || x->kind == EMBER_LARG_SCRATCH ||
                           x->kind == EMBER_LARG_NULL || x->kind == EMBER_LARG_BLOB;
            if (want_ptr != (tk == LLVMPointerTypeKind) ||
                (x->kind == EMBER_LARG_INT && tk != LLVMIntegerTypeKind) ||
                (x->kind == EMBER_LARG_FLOAT && tk != LLVMFloatTypeKind && tk != LLVMDoubleTypeKind)) {
                st = ember_error(EMBER_E_INTERNAL, "jit: kernel %s argument %d: kind does not match its type",
                                 call->fn, a);
                break;
            }
            switch (x->kind) {
            case EMBER_LARG_INT: args[a] = LLVMConstInt(pt[a], (unsigned long long)x->i, 1); break;
            case EMBER_LARG_FLOAT: args[a] = LLVMConstReal(pt[a], x->f); break;
            case EMBER_LARG_NULL: args[a] = LLVMConstPointerNull(pt[a]); break;
            case EMBER_LARG_BLOB:
                if (x->value < 0 || x->value >= L->n_blobs) {
                    st = ember_error(EMBER_E_INTERNAL, "jit: bad blob %d", x->value);
                    break;
                }
                args[a] = blob[x->value];
                break;
            case EMBER_LARG_SCRATCH:
            case EMBER_LARG_VALUE: {
                LLVMValueRef base;
                int64_t off = x->i;
                if (x->kind == EMBER_LARG_SCRATCH) {
                    base = arena;
                    off += (int64_t)(scratch_at ? scratch_at[call->step] : p->scratch_offset);
                } else {
                    loc l = locs[x->value];
                    base = l.base == 0 ? consts : l.base == 2 ? arena : io_ptr[l.off];
                    if (l.base != 1) off += l.off;
                }
                LLVMValueRef idx = LLVMConstInt(i64, (unsigned long long)off, 1);
                args[a] = off ? LLVMBuildInBoundsGEP2(b, i8, base, &idx, 1, "") : base;
                break;
            }
            }
        }
        if (st == EMBER_OK) LLVMBuildCall2(b, fty, fn, args, (unsigned)call->n_args, "");
    }
    free(io_ptr);
    free(blob);
    if (st != EMBER_OK) goto fail;
    LLVMBuildRet(b, LLVMConstInt(i32, 0, 0));
    LLVMDisposeBuilder(b);
    b = NULL;

    /* Drop the kernels no call reaches before linking: every definition the entry does
     * not call directly goes internal, and globaldce removes what nothing uses. */
    for (LLVMValueRef f = LLVMGetFirstFunction(kmod); f; f = LLVMGetNextFunction(f)) {
        size_t len;
        const char *name = LLVMGetValueName2(f, &len);
        if (!LLVMIsDeclaration(f) && !LLVMGetNamedFunction(emod, name)) LLVMSetLinkage(f, LLVMInternalLinkage);
    }
    for (LLVMValueRef gv = LLVMGetFirstGlobal(kmod); gv; gv = LLVMGetNextGlobal(gv))
        if (!LLVMIsDeclaration(gv)) LLVMSetLinkage(gv, LLVMInternalLinkage);
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMErrorRef perr = LLVMRunPasses(kmod, "globaldce", NULL, po);
    LLVMDisposePassBuilderOptions(po);
    if (perr) {
        st = llvm_fail(EMBER_E_INTERNAL, "pruning the kernels", LLVMGetErrorMessage(perr));
        goto fail;
    }

    /* Link the kernels in (kmod is consumed), keep only the entry visible. */
    LLVMModuleRef src = kmod;
    kmod = NULL;
    if (LLVMLinkModules2(emod, src)) {
        st = ember_error(EMBER_E_INTERNAL, "jit: linking the kernel bitcode failed");
        goto fail;
    }
    for (LLVMValueRef f = LLVMGetFirstFunction(emod); f; f = LLVMGetNextFunction(f)) {
        if (LLVMIsDeclaration(f)) continue;
        if (f != entry) LLVMSetLinkage(f, LLVMInternalLinkage);
        if (cpu && *cpu) LLVMAddTargetDependentFunctionAttr(f, "target-cpu", cpu);
        else if (cpu) LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, "target-cpu", 10);
        if (features && *features) LLVMAddTargetDependentFunctionAttr(f, "target-features", features);
        else if (features) LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, "target-features", 15);
    }
    for (LLVMValueRef gv = LLVMGetFirstGlobal(emod); gv; gv = LLVMGetNextGlobal(gv))
        if (!LLVMIsDeclaration(gv) && LLVMGetLinkage(gv) != LLVMPrivateLinkage)
            LLVMSetLinkage(gv, LLVMInternalLinkage);
    free(locs);
    out->module = emod;
    return EMBER_OK;
fail:
    if (b) LLVMDisposeBuilder(b);
    if (emod) LLVMDisposeModule(emod);
    if (kmod) LLVMDisposeModule(kmod);
    free(locs);
    free(out->consts);
    memset(out, 0, sizeof *out);
    return st;
}

ember_status ember_module_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm)
{
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    LLVMErrorRef err = LLVMRunPasses(m, "default<O3>", tm, o);
    LLVMDisposePassBuilderOptions(o);
    if (err) return llvm_fail(EMBER_E_INTERNAL, "optimizing", LLVMGetErrorMessage(err));
    return EMBER_OK;
}

void ember_module_dispose(ember_module *m)
{
    if (!m) return;
    if (m->module) LLVMDisposeModule(m->module);
    free(m->consts);
    memset(m, 0, sizeof *m);
}
