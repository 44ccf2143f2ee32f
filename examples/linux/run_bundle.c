/* Runs an Ember bundle on Linux (x86-64, AArch64, RISC-V 64; natively or under qemu-user).
 *
 *   run_bundle WEIGHTS.bin [IN_0.raw ...] -o OUTDIR
 *
 * reads the constant blob and one raw file per graph input (little-endian, row-major, the
 * exact byte size the header states), calls the bundle once and writes OUTDIR/output_N.raw
 * per graph output (OUTDIR is created if missing). Which bundle is linked is chosen at build time:
 *
 *   cc -DBUNDLE_NAME=kws -DBUNDLE_HEADER='"kws.h"' -I BUNDLE_DIR run_bundle.c BUNDLE_DIR/kws.o -lm
 *
 * The bundle needs no allocator, threads or files: this program only supplies three
 * aligned buffers (constants, mutable inputs/outputs, activations scratch). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#if !defined(BUNDLE_NAME) || !defined(BUNDLE_HEADER)
#error "build with -DBUNDLE_NAME=name -DBUNDLE_HEADER='\"name.h\"' (the --name given to ember compile)"
#endif
#include BUNDLE_HEADER

#define PASTE_(a, b) a##b
#define PASTE(a, b) PASTE_(a, b)
/* NAME_xxx, NAME being a macro: paste after expanding it. */
#define B(suffix) PASTE(BUNDLE_NAME, suffix)

/* Casts: the header may write its counts as unsigned literals. */
#define NUM_IN ((int)B(_NUM_INPUTS))
#define NUM_IO ((int)(B(_NUM_INPUTS) + B(_NUM_OUTPUTS)))

/* A buffer of at least `size` bytes aligned as the bundle requires (the bundle's loads may
 * assume that alignment, e.g. for vector instructions). */
static uint8_t *alloc_aligned(size_t size)
{
    size_t align = B(_MEM_ALIGN);
    size_t rounded = (size + align - 1) / align * align;
    uint8_t *p = aligned_alloc(align, rounded ? rounded : align);
    if (p) memset(p, 0, rounded ? rounded : align);
    return p;
}

/* Reads exactly `size` bytes from `path` into dst; fails on any other file size, so a
 * wrong dtype or shape is caught instead of silently truncated. */
static int read_exact(const char *path, uint8_t *dst, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "run_bundle: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t got = fread(dst, 1, size, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != size || extra != EOF) {
        fprintf(stderr, "run_bundle: '%s' is not %zu bytes\n", path, size);
        return -1;
    }
    return 0;
}

static int write_all(const char *path, const uint8_t *src, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "run_bundle: cannot create '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t put = fwrite(src, 1, size, f);
    if (fclose(f) != 0 || put != size) {
        fprintf(stderr, "run_bundle: cannot write '%s'\n", path);
        return -1;
    }
    return 0;
}

static void print_io(void)
{
    for (int i = 0; i < NUM_IO; i++) {
        printf("%-6s %-24s dtype %u  [", B(_io)[i].is_input ? "input" : "output", B(_io)[i].name,
               B(_io)[i].dtype);
        for (unsigned d = 0; d < B(_io)[i].rank; d++)
            printf("%s%u", d ? "x" : "", B(_io)[i].dims[d]);
        printf("]  offset %u  %u bytes\n", B(_io)[i].offset, B(_io)[i].size);
    }
}

int main(int argc, char **argv)
{
    const char *weights = NULL, *outdir = NULL, *inputs[NUM_IO + 1] = {0};
    int n_in = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            outdir = argv[++i];
        } else if (!weights) {
            weights = argv[i];
        } else if (n_in < NUM_IN) {
            inputs[n_in++] = argv[i];
        } else {
            fprintf(stderr, "run_bundle: too many inputs (the bundle has %d)\n", NUM_IN);
            return 2;
        }
    }
    if (!weights || !outdir || n_in != NUM_IN) {
        fprintf(stderr, "usage: %s WEIGHTS.bin IN_0.raw ... (%d inputs) -o OUTDIR\n", argv[0],
                NUM_IN);
        print_io();
        return 2;
    }

    uint8_t *consts = alloc_aligned(B(_CONSTANT_MEM_SIZE));
    uint8_t *mut = alloc_aligned(B(_MUTABLE_MEM_SIZE));
    uint8_t *act = alloc_aligned(B(_ACTIVATIONS_MEM_SIZE));
    if (!consts || !mut || !act) {
        fprintf(stderr, "run_bundle: out of memory\n");
        return 1;
    }
    if (read_exact(weights, consts, B(_CONSTANT_MEM_SIZE))) return 1;
    for (int i = 0, k = 0; i < NUM_IO; i++)
        if (B(_io)[i].is_input && read_exact(inputs[k++], mut + B(_io)[i].offset, B(_io)[i].size))
            return 1;

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = BUNDLE_NAME(consts, mut, act);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != 0) {
        fprintf(stderr, "run_bundle: the bundle returned %d\n", rc);
        return 1;
    }
    printf("ran in %.3f ms (constants %u B, mutable %u B, activations %u B)\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
           (unsigned)B(_CONSTANT_MEM_SIZE), (unsigned)B(_MUTABLE_MEM_SIZE),
           (unsigned)B(_ACTIVATIONS_MEM_SIZE));

    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "run_bundle: cannot create folder '%s': %s\n", outdir, strerror(errno));
        return 1;
    }
    for (int i = 0, k = 0; i < NUM_IO; i++) {
        if (B(_io)[i].is_input) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/output_%d.raw", outdir, k++);
        if (write_all(path, mut + B(_io)[i].offset, B(_io)[i].size)) return 1;
    }
    free(consts);
    free(mut);
    free(act);
    return 0;
}
