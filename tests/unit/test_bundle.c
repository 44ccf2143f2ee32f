/* AOT bundles (jit/bundle.c, ember_model_compile_bundle): clear errors, byte-identical
 * output on a second compile, a header that compiles alone with -Wall -Wextra -Werror
 * (gcc and clang), only mem* / compiler-runtime / single-precision libm symbols undefined
 * in every target's object, and a report that agrees with the files. Running bundles and
 * comparing their outputs with the reference data is tests/cli/test_compile.sh. Built
 * only with LLVM (EMBER_LLVM). */
#ifdef EMBER_LLVM
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ember.h"
#include "onnx_build.h"
#include "test_util.h"

static const char *targets[] = {"x86_64-linux-gnu", "aarch64-linux-gnu", "thumbv7em-none-eabihf",
                                "riscv64-linux-gnu", "riscv32-unknown-elf"};
#define N_TARGETS (int)(sizeof targets / sizeof targets[0])

/* A fresh temporary folder (removed by rm_tree). */
static char *tmp_dir(void)
{
    char *d = strdup("/tmp/ember_bundle_XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static void rm_tree(char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
    free(d);
}

static ember_status compile(const ember_model *m, const char *target, const char *cpu, const char *name,
                            const char *dir, ember_bundle_report *r)
{
    ember_bundle_options o;
    ember_bundle_options_init(&o);
    o.target = target;
    o.cpu = cpu;
    o.name = name;
    o.weights_c = 1;
    return ember_model_compile_bundle(m, &o, dir, r);
}

/* Output of a shell command (first 64 KiB) and its exit status. */
static int sh(const char *cmd, char *out, size_t n)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "%s", cmd);
    size_t len = fread(out, 1, n - 1, p);
    out[len] = 0;
    return pclose(p);
}

/* ---- errors ---- */

Test(bundle, bad_target_name_and_folder)
{
    ember_model *m = ut_load_zoo("kws_dscnn");
    char *d = tmp_dir();
    cr_assert_eq(compile(m, "mips-linux-gnu", NULL, "kws", d, NULL), EMBER_E_INVALID_ARG);
    cr_assert(strstr(ember_last_error(), "mips-linux-gnu") && strstr(ember_last_error(), "thumbv7em-none-eabihf"),
              "%s", ember_last_error());
    /* Cortex-M without a single-precision FPU does not fit the hard-float bitcode. */
    cr_assert_eq(compile(m, "thumbv7em-none-eabihf", "cortex-m3", "kws", d, NULL), EMBER_E_INVALID_ARG);
    cr_assert(strstr(ember_last_error(), "cortex-m3"), "%s", ember_last_error());
    const char *bad[] = {"1kws", "kws-net", "", "int", "k_sgemm", "ember_x", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(compile(m, "x86_64-linux-gnu", NULL, bad[i], d, NULL), EMBER_E_INVALID_ARG, "name '%s'", bad[i]);
        cr_assert(strstr(ember_last_error(), "name"), "%s", ember_last_error());
    }
    /* A folder under a regular file cannot be created. */
    char file[600], sub[700];
    snprintf(file, sizeof file, "%s/plain", d);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fclose(f);
    snprintf(sub, sizeof sub, "%s/out", file);
    cr_assert_eq(compile(m, "x86_64-linux-gnu", NULL, "kws", sub, NULL), EMBER_E_INVALID_ARG);
    cr_assert(strstr(ember_last_error(), "plain"), "%s", ember_last_error());
    /* An unwritable folder (skipped as root, who may write anywhere). */
    if (geteuid() != 0) {
        char ro[600];
        snprintf(ro, sizeof ro, "%s/ro", d);
        cr_assert_eq(mkdir(ro, 0555), 0);
        cr_assert_eq(compile(m, "x86_64-linux-gnu", NULL, "kws", ro, NULL), EMBER_E_INVALID_ARG);
        cr_assert(strstr(ember_last_error(), "cannot write"), "%s", ember_last_error());
    }
    cr_assert_eq(ember_model_compile_bundle(m, NULL, d, NULL), EMBER_E_INVALID_ARG);
    rm_tree(d);
    ember_model_free(m);
}

/* A float input [4, 6] through one node `op` (named the_node) with an int64 scalar
 * constant second input. */
static ember_model *one_node_model(const char *op)
{
    Onnx__GraphProto *g = graph_new("bundle_test", 8);
    int64_t dims[2] = {4, 6};
    g->input[g->n_input++] = vi_float("x", 2, dims);
    g->output[g->n_output++] = vi_float("y", -1, NULL);
    Onnx__TensorProto *c = P(sizeof *c);
    onnx__tensor_proto__init(c);
    c->name = S("axis");
    c->has_data_type = 1;
    c->data_type = 7;
    int64_t one = 1;
    c->has_raw_data = 1;
    c->raw_data.len = sizeof one;
    c->raw_data.data = memcpy(P(sizeof one), &one, sizeof one);
    g->initializer[g->n_initializer++] = c;
    node_csv(g, op, "x,axis", "y")->name = S("the_node");
    return model_built_load(g, 14);
}

Test(bundle, op_without_lowering_is_named)
{
    ember_model *m = one_node_model("CumSum");
    char *d = tmp_dir();
    cr_assert_eq(compile(m, "thumbv7em-none-eabihf", NULL, "cs", d, NULL), EMBER_E_UNSUPPORTED);
    cr_assert(strstr(ember_last_error(), "the_node") && strstr(ember_last_error(), "CumSum"), "%s",
              ember_last_error());
    char h[600];
    snprintf(h, sizeof h, "%s/cs.h", d);
    cr_assert_neq(access(h, F_OK), 0, "no header after a failed compile");
    rm_tree(d);
    ember_model_free(m);
}

/* ---- determinism ---- */

static int same_file(const char *a, const char *b)
{
    size_t na, nb;
    void *x = ut_read_file(a, &na), *y = ut_read_file(b, &nb);
    int same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

Test(bundle, deterministic, .timeout = 300)
{
    const char *models[] = {"kws_dscnn", "lstm_kws"};
    const char *suffix[] = {".o", ".h", ".weights.bin", ".weights.c"};
    for (int mi = 0; mi < 2; mi++) {
        ember_model *m = ut_load_zoo(models[mi]);
        for (int t = 0; t < N_TARGETS; t++) {
            char *d1 = tmp_dir(), *d2 = tmp_dir();
            cr_assert_eq(compile(m, targets[t], NULL, "net", d1, NULL), EMBER_OK, "%s", ember_last_error());
            cr_assert_eq(compile(m, targets[t], NULL, "net", d2, NULL), EMBER_OK, "%s", ember_last_error());
            for (int s = 0; s < 4; s++) {
                char a[600], b[600];
                snprintf(a, sizeof a, "%s/net%s", d1, suffix[s]);
                snprintf(b, sizeof b, "%s/net%s", d2, suffix[s]);
                cr_assert(same_file(a, b), "%s %s: net%s differs between two compiles", models[mi], targets[t],
                          suffix[s]);
            }
            rm_tree(d1);
            rm_tree(d2);
        }
        ember_model_free(m);
    }
}

/* ---- the header alone ---- */

Test(bundle, header_compiles_alone_warning_free, .timeout = 120)
{
    ember_model *m = ut_load_zoo("lstm_kws");
    char *d = tmp_dir();
    cr_assert_eq(compile(m, "x86_64-linux-gnu", NULL, "kws_lstm", d, NULL), EMBER_OK, "%s", ember_last_error());
    /* One program uses the table, one ignores it (no unused-variable warning either way). */
    const char *bodies[2] = {
        "int main(void) { return kws_lstm_io[0].is_input && kws_lstm_NUM_INPUTS == 1 && kws_lstm_INPUT_SIZE == "
        "1 * 49 * 40 * 4 && kws_lstm_OUTPUT_OFFSET % kws_lstm_MEM_ALIGN == 0 ? 0 : 1; }\n",
        "int main(void) { static uint8_t a[kws_lstm_ACTIVATIONS_MEM_SIZE]; return kws_lstm(0, 0, a) == 12345; }\n"};
    const char *ccs[2] = {"gcc", "clang-19"};
    for (int b = 0; b < 2; b++) {
        char src[600], cmd[2048], out[65536];
        snprintf(src, sizeof src, "%s/use%d.c", d, b);
        FILE *f = fopen(src, "w");
        cr_assert_not_null(f);
        fprintf(f, "#include \"kws_lstm.h\"\n%s", bodies[b]);
        fclose(f);
        for (int c = 0; c < 2; c++) {
            snprintf(cmd, sizeof cmd, "%s -std=c11 -Wall -Wextra -Werror -pedantic -c -o %s/use%d_%d.o %s 2>&1", ccs[c], d,
                     b, c, src);
            int rc = sh(cmd, out, sizeof out);
            cr_assert_eq(rc, 0, "%s:\n%s", cmd, out);
        }
    }
    /* The NAME.weights.c array compiles too, and has the blob's bytes. */
    char cmd[2048], out[65536];
    snprintf(cmd, sizeof cmd, "gcc -std=c11 -Wall -Wextra -Werror -c -o %s/w.o %s/kws_lstm.weights.c 2>&1", d, d);
    cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s:\n%s", cmd, out);
    rm_tree(d);
    ember_model_free(m);
}

/* ---- undefined symbols ---- */

/* mem*, the compiler runtime's helpers (libgcc, ARM EABI), single-precision libm. */
static int allowed_symbol(const char *s)
{
    static const char *libm[] = {"expf", "logf", "tanhf", "sqrtf", "erff", "powf", "sinf", "cosf", "tanf",
                                 "asinf", "acosf", "atanf", "atan2f", "sinhf", "coshf", "asinhf", "acoshf",
                                 "atanhf", "expm1f", "log1pf", "exp2f", "log2f", "log10f", "fmodf", "floorf",
                                 "ceilf", "roundf", "truncf", "nearbyintf", "rintf", "fabsf", "fminf", "fmaxf",
                                 "fmaf", "copysignf", "ldexpf", "frexpf", "hypotf", "cbrtf", "lrintf", "lroundf"};
    for (size_t i = 0; i < sizeof libm / sizeof libm[0]; i++)
        if (strcmp(s, libm[i]) == 0) return 1;
    static const char *pat =
        "^(mem(cpy|set|move|cmp)|__aeabi_[a-z0-9_]+|__(u?(div|mod)|u?divmod|mul|ashl|ashr|lshr)[sdt]i[34]|"
        "__(add|sub|mul|div|neg)[sdt]f3|__(extend|trunc)[sdt]f[sdt]f2|__fix(uns)?[sdt]f[sdt]i|"
        "__float(un)?[sdt]i[sdt]f|__(eq|ne|lt|le|gt|ge|unord|cmp)[sdt]f2|__(clz|ctz|popcount)[sd]i2|"
        "__riscv_(save|restore)_[0-9]+)$";
    regex_t re;
    cr_assert_eq(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB), 0);
    int ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

Test(bundle, undefined_symbols_every_target, .timeout = 300)
{
    cr_assert(allowed_symbol("expf") && allowed_symbol("__aeabi_memcpy") && allowed_symbol("__divdi3"));
    cr_assert(!allowed_symbol("exp") && !allowed_symbol("tanh") && !allowed_symbol("malloc") &&
              !allowed_symbol("printf") && !allowed_symbol("pthread_create") && !allowed_symbol("__errno_location"));
    const char *models[] = {"kws_dscnn", "lstm_kws", "cifar_resnet8"};
    for (int mi = 0; mi < 3; mi++) {
        ember_model *m = ut_load_zoo(models[mi]);
        for (int t = 0; t < N_TARGETS + 1; t++) {
            const char *target = t < N_TARGETS ? targets[t] : "thumbv7em-none-eabihf";
            const char *cpu = t < N_TARGETS ? NULL : "cortex-m7";
            char *d = tmp_dir(), cmd[1024], out[65536];
            cr_assert_eq(compile(m, target, cpu, "net", d, NULL), EMBER_OK, "%s %s: %s", models[mi], target,
                         ember_last_error());
            snprintf(cmd, sizeof cmd, "nm -u %s/net.o", d);
            cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s", cmd);
            for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
                char *sym = strrchr(line, ' ');
                sym = sym ? sym + 1 : line;
                cr_assert(allowed_symbol(sym), "%s for %s%s%s: undefined symbol '%s' is not mem*, a compiler "
                          "helper or single-precision libm", models[mi], target, cpu ? " " : "", cpu ? cpu : "", sym);
            }
            /* No writable or thread-local data: every call's state is in the caller's buffers. */
            snprintf(cmd, sizeof cmd, "readelf -S -W %s/net.o | grep -E ' \\.(t?data|t?bss)' || true", d);
            cr_assert_eq(sh(cmd, out, sizeof out), 0, "%s", cmd);
            cr_assert_eq(out[0], 0, "%s for %s: writable sections:\n%s", models[mi], target, out);
            rm_tree(d);
        }
        ember_model_free(m);
    }
}

/* ---- report ---- */

static size_t file_size(const char *dir, const char *name)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0, "%s", p);
    return (size_t)st.st_size;
}

Test(bundle, report_matches_files)
{
    ember_model *m = ut_load_zoo("cifar_resnet8");
    char *d = tmp_dir(), cmd[1024], out[65536];
    ember_bundle_report r;
    cr_assert_eq(compile(m, "riscv32-unknown-elf", NULL, "rn8", d, &r), EMBER_OK, "%s", ember_last_error());
    cr_assert_eq(r.constant_bytes, file_size(d, "rn8.weights.bin"));
    cr_assert_gt(r.text_bytes, 0);
    cr_assert_geq(r.activations_bytes, r.activations_lower_bound);
    cr_assert_leq((double)r.activations_bytes, 1.1 * (double)r.activations_lower_bound);
    /* The header states the same sizes. */
    snprintf(cmd, sizeof cmd, "grep -E '_(CONSTANT|MUTABLE|ACTIVATIONS)_MEM_SIZE' %s/rn8.h", d);
    cr_assert_eq(sh(cmd, out, sizeof out), 0);
    char want[256];
    snprintf(want, sizeof want, "#define rn8_CONSTANT_MEM_SIZE %zuu", r.constant_bytes);
    cr_assert(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "#define rn8_MUTABLE_MEM_SIZE %zuu", r.mutable_bytes);
    cr_assert(strstr(out, want), "%s", out);
    snprintf(want, sizeof want, "#define rn8_ACTIVATIONS_MEM_SIZE %zuu", r.activations_bytes);
    cr_assert(strstr(out, want), "%s", out);
    /* text from the object's sections, as size(1) counts them (text column includes
     * read-only data, so it bounds ours from above). */
    snprintf(cmd, sizeof cmd, "size -A %s/rn8.o | awk '$1 ~ /^\\.text/ {s += $2} END {print s}'", d);
    cr_assert_eq(sh(cmd, out, sizeof out), 0);
    cr_assert_eq(strtoull(out, NULL, 10), r.text_bytes, "size -A says %s", out);
    rm_tree(d);
    ember_model_free(m);
}
#endif
