/* The bundle's files besides the object: the header (the contract a C program compiles
 * against with no other Ember header), the constant blob as C, and the target table. */
#include "bundle.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

/* ---- targets ---- */

#define BC(id)                                       \
    extern const unsigned char ember_bundle_bc_##id[]; \
    size_t ember_bundle_bc_##id##_size(void);
BC(x86_64)
BC(aarch64)
BC(thumbv7em)
BC(riscv64)
BC(riscv32)
#undef BC

/* thumbv7em-none-eabihf passes floats in FPU registers: only cores with a single-precision
 * FPU fit (LLVM would only warn about an unknown name and fall back to a generic core). */
static const char *const cortex_m[] = {"cortex-m4", "cortex-m7", NULL};

static const ember_bundle_target targets[] = {
    {"x86_64-linux-gnu", "x86_64-unknown-linux-gnu", ember_bundle_bc_x86_64, ember_bundle_bc_x86_64_size,
     "x86-64", "", NULL, 1, NULL},
    {"aarch64-linux-gnu", "aarch64-unknown-linux-gnu", ember_bundle_bc_aarch64, ember_bundle_bc_aarch64_size,
     "generic", "+neon", NULL, 1, NULL},
    /* One bitcode for every Cortex-M with a single-precision FPU: --mcpu picks the core. */
    {"thumbv7em-none-eabihf", "thumbv7em-none-unknown-eabihf", ember_bundle_bc_thumbv7em,
     ember_bundle_bc_thumbv7em_size, "cortex-m4", "", NULL, 0, cortex_m},
    {"riscv64-linux-gnu", "riscv64-unknown-linux-gnu", ember_bundle_bc_riscv64, ember_bundle_bc_riscv64_size,
     "generic-rv64", "+64bit,+m,+a,+f,+d,+c", "lp64d", 1, NULL},
    {"riscv32-unknown-elf", "riscv32-unknown-unknown-elf", ember_bundle_bc_riscv32, ember_bundle_bc_riscv32_size,
     "generic-rv32", "+m,+f", "ilp32f", 0, NULL},
};

const char *ember_bundle_target_names(void)
{
    return "x86_64-linux-gnu, aarch64-linux-gnu, thumbv7em-none-eabihf, riscv64-linux-gnu, riscv32-unknown-elf";
}

/* arch, OS and environment of a normalized triple (the vendor may differ: "pc"). */
static void triple_key(const char *t, char *out, size_t n)
{
    char *norm = LLVMNormalizeTargetTriple(t);
    char parts[4][64] = {{0}};
    int k = 0;
    size_t j = 0;
    for (const char *s = norm; *s && k < 4; s++) {
        if (*s == '-') {
            k++;
            j = 0;
            continue;
        }
        if (j + 1 < sizeof parts[0]) parts[k][j++] = *s;
    }
    snprintf(out, n, "%s-%s-%s", parts[0], parts[2], parts[3]);
    LLVMDisposeMessage(norm);
}

const ember_bundle_target *ember_bundle_target_find(const char *name)
{
    if (!name || !*name) return NULL;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (strcmp(name, targets[i].name) == 0) return &targets[i];
    char want[200], have[200];
    triple_key(name, want, sizeof want);
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        triple_key(targets[i].triple, have, sizeof have);
        if (strcmp(want, have) == 0) return &targets[i];
    }
    return NULL;
}

/* ---- files ---- */

ember_status ember_bundle_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return ember_error(EMBER_E_INVALID_ARG, "cannot write %s: %s", path, strerror(errno));
    int ok = (n == 0 || fwrite(data, 1, n, f) == n);
    ok &= fclose(f) == 0;
    if (!ok) return ember_error(EMBER_E_INVALID_ARG, "cannot write %s: %s", path, strerror(errno));
    return EMBER_OK;
}

void ember_bundle_idents(ember_bundle_layout *lay)
{
    /* Tensor parts that would spell one of the fixed macros (NAME_CONSTANT_MEM_SIZE, ...). */
    static const char *reserved[] = {"CONSTANT_MEM", "MUTABLE_MEM", "ACTIVATIONS_MEM", "MEM", "NUM"};
    int n = lay->n_inputs + lay->n_outputs;
    for (int i = 0; i < n; i++) {
        ember_bundle_io *e = &lay->io[i];
        char base[100];
        size_t j = 0;
        for (const char *s = e->name; *s && j + 1 < sizeof base; s++)
            base[j++] = isalnum((unsigned char)*s) ? (char)toupper((unsigned char)*s) : '_';
        base[j] = 0;
        if (!j) snprintf(base, sizeof base, "%s%d", e->is_input ? "INPUT" : "OUTPUT", i);
        for (size_t r = 0; r < sizeof reserved / sizeof reserved[0]; r++)
            if (strcmp(base, reserved[r]) == 0) strcat(base, "_T");
        snprintf(e->ident, sizeof e->ident, "%s", base);
        /* Two names that map to the same identifier ("a.b", "a_b"): number the later ones. */
        for (int k = 2;; k++) {
            int clash = 0;
            for (int q = 0; q < i && !clash; q++) clash = strcmp(lay->io[q].ident, e->ident) == 0;
            if (!clash) break;
            snprintf(e->ident, sizeof e->ident, "%s_%d", base, k);
        }
    }
}

/* A C string literal for s (escapes what is not plain printable ASCII). */
static void put_cstring(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 32 || ch >= 127 || ch == '?') fprintf(f, "\\%03o", ch); /* '?': no trigraphs */
        else fputc(ch, f);
    }
    fputc('"', f);
}

ember_status ember_bundle_write_header(const char *path, const ember_bundle_layout *lay)
{
    FILE *f = fopen(path, "w");
    if (!f) return ember_error(EMBER_E_INVALID_ARG, "cannot write %s: %s", path, strerror(errno));
    const char *N = lay->name;
    int n = lay->n_inputs + lay->n_outputs;
    fprintf(f,
            "/* Bundle %s, generated by `ember compile` for %s (cpu %s). Do not edit.\n"
            " *\n"
            " * Call %s(constant_weights, mutable_weights, activations); it returns 0.\n"
            " *   constant_weights  %s_CONSTANT_MEM_SIZE bytes: %s.weights.bin (or %s_constant_weights\n"
            " *                     from %s.weights.c), read only\n"
            " *   mutable_weights   %s_MUTABLE_MEM_SIZE bytes: write each input at its _OFFSET, read\n"
            " *                     each output at its _OFFSET (raw little-endian, row-major)\n"
            " *   activations       %s_ACTIVATIONS_MEM_SIZE bytes of scratch\n"
            " * all three aligned to %s_MEM_ALIGN bytes. No allocation, no threads, no files. */\n",
            N, lay->target, lay->cpu, N, N, N, N, N, N, N, N);
    fprintf(f, "#ifndef %s_BUNDLE_H\n#define %s_BUNDLE_H\n#include <stdint.h>\n\n", N, N);
    fprintf(f, "#define %s_CONSTANT_MEM_SIZE %zuu\n", N, lay->constant_bytes);
    fprintf(f, "#define %s_MUTABLE_MEM_SIZE %zuu\n", N, lay->mutable_bytes);
    fprintf(f, "#define %s_ACTIVATIONS_MEM_SIZE %zuu\n", N, lay->activations_bytes);
    fprintf(f, "#define %s_MEM_ALIGN %du\n", N, EMBER_BUNDLE_ALIGN);
    fprintf(f, "#define %s_NUM_INPUTS %d\n", N, lay->n_inputs);
    fprintf(f, "#define %s_NUM_OUTPUTS %d\n\n", N, lay->n_outputs);
    for (int i = 0; i < n; i++) {
        const ember_bundle_io *e = &lay->io[i];
        fprintf(f, "/* %s %d: ", e->is_input ? "input" : "output", e->is_input ? i : i - lay->n_inputs);
        /* The ONNX name in a comment: no comment terminator may survive. */
        for (const char *s = e->name; *s; s++) {
            if (s[0] == '*' && s[1] == '/') fputs("* /", f), s++;
            else fputc((unsigned char)*s >= 32 ? *s : '?', f);
        }
        fprintf(f, " */\n#define %s_%s_OFFSET %zuu\n#define %s_%s_SIZE %zuu\n", N, e->ident, e->offset, N, e->ident,
                e->size);
    }
    fprintf(f,
            "\n/* Inputs in graph order, then outputs; dtype: ONNX TensorProto data type number. */\n"
            "static const struct {\n"
            "    const char *name;\n"
            "    unsigned offset;\n"
            "    unsigned size;\n"
            "    unsigned char is_input;\n"
            "    unsigned char dtype;\n"
            "    unsigned char rank;\n"
            "    unsigned dims[8];\n"
            "} %s_io[%s_NUM_INPUTS + %s_NUM_OUTPUTS] = {\n",
            N, N, N);
    for (int i = 0; i < n; i++) {
        const ember_bundle_io *e = &lay->io[i];
        fputs("    {", f);
        put_cstring(f, e->name);
        fprintf(f, ", %zuu, %zuu, %d, %d, %d, {", e->offset, e->size, e->is_input, e->dtype, e->rank);
        for (int k = 0; k < 8; k++) fprintf(f, "%s%lldu", k ? ", " : "", (long long)(k < e->rank ? e->dims[k] : 0));
        fprintf(f, "}},\n");
    }
    fprintf(f,
            "};\n\n"
            "#ifdef __cplusplus\nextern \"C\" {\n#endif\n"
            "int %s(const uint8_t *constant_weights, uint8_t *mutable_weights, uint8_t *activations);\n"
            "#ifdef __cplusplus\n}\n#endif\n#endif\n",
            N);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad) return ember_error(EMBER_E_INVALID_ARG, "cannot write %s: %s", path, strerror(errno));
    return EMBER_OK;
}

ember_status ember_bundle_write_weights_c(const char *path, const char *name, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) return ember_error(EMBER_E_INVALID_ARG, "cannot write %s: %s", path, strerror(errno));
    fprintf(f,
            "/* Bundle %s: the constant weights (%zu bytes), for targets without a file system.\n"
            " * Generated by `ember compile --weights-c`. Do not edit. */\n"
            "#include <stdint.h>\n\n"
            "extern const uint8_t %s_constant_weights[];\n"
            "_Alignas(%d) const uint8_t %s_constant_weights[%zu] = {",
            name, n, name, EMBER_BUNDLE_ALIGN, name, n ? n : 1);
    char line[16 * 5 + 8];
    for (size_t i = 0; i < n; i += 16) {
        size_t len = 0;
        for (size_t k = i; k < n && k < i + 16; k++) len += (size_t)snprintf(line + len, sizeof line - len, "%u,", data[k]);
        fprintf(f, "\n    %s", line);
    }
    if (!n) fputs("0", f);
    fputs("\n};\n", f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad) return ember_error(EMBER_E_INVALID_ARG, "cannot write %s: %s", path, strerror(errno));
    return EMBER_OK;
}
