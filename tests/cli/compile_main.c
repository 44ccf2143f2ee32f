/* A program that links one bundle (tests/cli/test_compile.sh): includes only the bundle's
 * header, loads its weights and raw inputs, calls it, writes the raw outputs.
 *   cc -DBUNDLE=NAME -DBUNDLE_H='"DIR/NAME.h"' compile_main.c DIR/NAME.o -lm
 *   ./a.out NAME.weights.bin in_0.raw ... out_0.raw ...                               */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include BUNDLE_H

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define IO CAT(BUNDLE, _io)
#define N_IN CAT(BUNDLE, _NUM_INPUTS)
#define N_OUT CAT(BUNDLE, _NUM_OUTPUTS)
#define ALIGN CAT(BUNDLE, _MEM_ALIGN)

static void *region(size_t n)
{
    size_t r = (n + ALIGN - 1) / ALIGN * ALIGN;
    void *p = aligned_alloc(ALIGN, r ? r : ALIGN);
    if (p) memset(p, 0, r ? r : ALIGN);
    return p;
}

static int read_exact(const char *path, void *dst, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "cannot open %s\n", path), 1;
    size_t got = fread(dst, 1, n, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != n || extra) return fprintf(stderr, "%s: expected %zu bytes\n", path, n), 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2 + N_IN + N_OUT) {
        fprintf(stderr, "usage: %s WEIGHTS IN... OUT...\n", argv[0]);
        return 2;
    }
    uint8_t *cw = region(CAT(BUNDLE, _CONSTANT_MEM_SIZE)), *mw = region(CAT(BUNDLE, _MUTABLE_MEM_SIZE));
    uint8_t *act = region(CAT(BUNDLE, _ACTIVATIONS_MEM_SIZE));
    if (!cw || !mw || !act) return 1;
    if (read_exact(argv[1], cw, CAT(BUNDLE, _CONSTANT_MEM_SIZE))) return 1;
    for (int i = 0; i < N_IN; i++)
        if (read_exact(argv[2 + i], mw + IO[i].offset, IO[i].size)) return 1;
    int rc = BUNDLE(cw, mw, act);
    if (rc != 0) return fprintf(stderr, "bundle returned %d\n", rc), 1;
    for (int o = 0; o < N_OUT; o++) {
        FILE *f = fopen(argv[2 + N_IN + o], "wb");
        if (!f || fwrite(mw + IO[N_IN + o].offset, 1, IO[N_IN + o].size, f) != IO[N_IN + o].size) return 1;
        fclose(f);
    }
    free(cw);
    free(mw);
    free(act);
    return 0;
}
