/* Fused elementwise loops generated directly as LLVM IR. A call to the chain kernel
 * k_elementwise_chain_f32 carries its step program and constants as blobs, known when
 * the module is built; instead of calling the kernel (a block loop that dispatches on
 * the opcodes), the module gets one loop over the elements whose body is the program
 * written out: one load per tensor operand, the steps as IR instructions with the
 * constants inlined, one store. LLVM's vectorizer then widens it for the target.
 *
 * Same numbers as the kernel: the same IEEE operations in the same order (fmaxf /
 * fminf are llvm.maxnum / llvm.minnum, as clang compiles them), and the transcendental
 * steps call the kernel's own scalar functions (k_ewc_*_f32 in
 * ops/kernels/elementwise_chain.c), which the optimizer inlines. */
#include "gen.h"

#include <stdio.h>
#include <string.h>

#include "../ops/kernels/elementwise_chain.h"

/* The declaration in m of kernel `name` (its type from the kernel bitcode kmod). */
static LLVMValueRef kernel_decl(LLVMModuleRef m, LLVMModuleRef kmod, const char *name)
{
    LLVMValueRef f = LLVMGetNamedFunction(m, name);
    if (f) return f;
    LLVMValueRef k = LLVMGetNamedFunction(kmod, name);
    return k ? LLVMAddFunction(m, name, LLVMGlobalGetValueType(k)) : NULL;
}

static LLVMValueRef intrinsic(LLVMModuleRef m, const char *name, LLVMTypeRef f32, LLVMTypeRef *fty)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    *fty = LLVMIntrinsicGetType(LLVMGetModuleContext(m), id, &f32, 1);
    return LLVMGetIntrinsicDeclaration(m, id, &f32, 1);
}

static LLVMValueRef call1(LLVMBuilderRef b, LLVMModuleRef m, const char *intr, LLVMTypeRef f32, LLVMValueRef x)
{
    LLVMTypeRef t;
    LLVMValueRef f = intrinsic(m, intr, f32, &t);
    return LLVMBuildCall2(b, t, f, &x, 1, "");
}

static LLVMValueRef call2(LLVMBuilderRef b, LLVMModuleRef m, const char *intr, LLVMTypeRef f32, LLVMValueRef x,
                          LLVMValueRef y)
{
    LLVMTypeRef t;
    LLVMValueRef f = intrinsic(m, intr, f32, &t), a[2] = {x, y};
    return LLVMBuildCall2(b, t, f, a, 2, "");
}

ember_status ember_gen_elementwise_chain(LLVMModuleRef m, LLVMModuleRef kmod, LLVMTypeRef fty, const int64_t *prog,
                                         int n_steps, const float *consts, int n_consts, int serial,
                                         LLVMValueRef *out)
{
    LLVMContextRef ctx = LLVMGetModuleContext(m);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(ctx), i64 = LLVMInt64TypeInContext(ctx);
    static const char *const scalar[] = {[K_EWC_EXP] = "k_ewc_exp_f32", [K_EWC_TANH] = "k_ewc_tanh_f32",
                                         [K_EWC_SIGMOID] = "k_ewc_sigmoid_f32", [K_EWC_ERF] = "k_ewc_erf_f32"};
    /* Check the whole program first: nothing is emitted for one that does not parse. */
    for (int s = 0; s < n_steps; s++) {
        int64_t op = prog[3 * s], kind = prog[3 * s + 1], arg = prog[3 * s + 2];
        if (op < 0 || op >= K_EWC_COUNT) return ember_error(EMBER_E_INTERNAL, "jit: chain step %d: opcode %lld", s, (long long)op);
        int binary = op < K_EWC_BINARY_END;
        if (binary && kind == K_EWC_TENSOR && (arg < 1 || arg >= K_EWC_MAX_INPUTS))
            return ember_error(EMBER_E_INTERNAL, "jit: chain step %d: input %lld", s, (long long)arg);
        if ((binary && kind == K_EWC_CONST && (arg < 0 || arg >= n_consts)) ||
            (op == K_EWC_CLIP && (arg < 0 || arg + 1 >= n_consts)))
            return ember_error(EMBER_E_INTERNAL, "jit: chain step %d: constant %lld", s, (long long)arg);
        if ((size_t)op < sizeof scalar / sizeof *scalar && scalar[op] && !kernel_decl(m, kmod, scalar[op]))
            return ember_error(EMBER_E_INTERNAL, "jit: kernel %s is not in the bitcode", scalar[op]);
    }
    char name[48];
    snprintf(name, sizeof name, "ember.chain.%d", serial);
    LLVMValueRef f = LLVMAddFunction(m, name, fty);
    LLVMSetLinkage(f, LLVMInternalLinkage);
    LLVMValueRef x[K_EWC_MAX_INPUTS], y = LLVMGetParam(f, 4), n = LLVMGetParam(f, 5);
    for (int k = 0; k < K_EWC_MAX_INPUTS; k++) x[k] = LLVMGetParam(f, (unsigned)k);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, f, "entry");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(ctx, f, "loop");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, f, "done");
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef zero = LLVMConstInt(i64, 0, 0);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, n, zero, ""), loop, done);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i");
    LLVMValueRef r = LLVMBuildLoad2(b, f32, LLVMBuildInBoundsGEP2(b, f32, x[0], &i, 1, ""), "x");
    LLVMValueRef fz = LLVMConstReal(f32, 0.0);
    for (int s = 0; s < n_steps; s++) {
        int op = (int)prog[3 * s], kind = (int)prog[3 * s + 1];
        int64_t arg = prog[3 * s + 2];
        if (op < K_EWC_BINARY_END) {
            LLVMValueRef o = kind == K_EWC_TENSOR
                                 ? LLVMBuildLoad2(b, f32, LLVMBuildInBoundsGEP2(b, f32, x[arg], &i, 1, ""), "")
                                 : LLVMConstReal(f32, consts[arg]);
            switch (op) {
            case K_EWC_ADD: r = LLVMBuildFAdd(b, r, o, ""); break;
            case K_EWC_SUB: r = LLVMBuildFSub(b, r, o, ""); break;
            case K_EWC_RSUB: r = LLVMBuildFSub(b, o, r, ""); break;
            case K_EWC_MUL: r = LLVMBuildFMul(b, r, o, ""); break;
            case K_EWC_DIV: r = LLVMBuildFDiv(b, r, o, ""); break;
            case K_EWC_RDIV: r = LLVMBuildFDiv(b, o, r, ""); break;
            case K_EWC_MAX: r = call2(b, m, "llvm.maxnum", f32, r, o); break;
            case K_EWC_MIN: r = call2(b, m, "llvm.minnum", f32, r, o); break;
            default: break;
            }
            continue;
        }
        switch (op) {
        case K_EWC_RELU: r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, r, fz, ""), r, fz, ""); break;
        case K_EWC_NEG: r = LLVMBuildFNeg(b, r, ""); break;
        case K_EWC_ABS: r = call1(b, m, "llvm.fabs", f32, r); break;
        case K_EWC_SQRT: r = call1(b, m, "llvm.sqrt", f32, r); break;
        case K_EWC_CLIP: {
            LLVMValueRef lo = LLVMConstReal(f32, consts[arg]), hi = LLVMConstReal(f32, consts[arg + 1]);
            LLVMValueRef v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, r, lo, ""), lo, r, "");
            r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, v, hi, ""), hi, v, "");
            break;
        }
        default: { /* exp, tanh, sigmoid, erf: the kernel's scalar forms */
            LLVMValueRef k = LLVMGetNamedFunction(m, scalar[op]);
            r = LLVMBuildCall2(b, LLVMGlobalGetValueType(k), k, &r, 1, "");
            break;
        }
        }
    }
    LLVMBuildStore(b, r, LLVMBuildInBoundsGEP2(b, f32, y, &i, 1, ""));
    LLVMValueRef next = LLVMBuildNSWAdd(b, i, LLVMConstInt(i64, 1, 0), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, next, n, ""), loop, done);
    LLVMValueRef in_v[2] = {zero, next};
    LLVMBasicBlockRef in_b[2] = {entry, loop};
    LLVMAddIncoming(i, in_v, in_b, 2);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    *out = f;
    return EMBER_OK;
}
