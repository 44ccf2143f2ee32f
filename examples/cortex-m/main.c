/* Runs an Ember bundle on a bare-metal Cortex-M (QEMU's MPS2 AN500 / AN386 boards):
 * the weights are linked in (NAME.weights.c, in flash), the mutable and activations
 * regions are static buffers in RAM, inputs and expected outputs are compiled-in arrays
 * (data.c from bin2c.py). Prints the largest errors through semihosting, optionally
 * writes the raw outputs to host files, and exits 0 when every float output is within
 * |out - expected| <= ATOL + RTOL * |expected|.
 *
 * Build: see the Makefile (BUNDLE_NAME, BUNDLE_HEADER as in examples/linux/run_bundle.c;
 * -DDUMP_DIR='"dir"' to write dir/output_N.raw). */
#include <stdint.h>
#include <string.h>

#include "data.h"
#include "semihost.h"

#if !defined(BUNDLE_NAME) || !defined(BUNDLE_HEADER)
#error "build with -DBUNDLE_NAME=name -DBUNDLE_HEADER='\"name.h\"' (the --name given to ember compile)"
#endif
#include BUNDLE_HEADER

#define PASTE_(a, b) a##b
#define PASTE(a, b) PASTE_(a, b)
/* NAME_xxx, NAME being a macro: paste after expanding it. */
#define B(suffix) PASTE(BUNDLE_NAME, suffix)
#define NUM_IO ((int)(B(_NUM_INPUTS) + B(_NUM_OUTPUTS)))

#ifndef RTOL
#define RTOL 1e-3f
#endif
#ifndef ATOL
#define ATOL 1e-4f
#endif

/* NAME.weights.c; the header does not declare it. */
extern const uint8_t B(_constant_weights)[];

/* +1: a zero-size region is legal for a bundle but not for a C array. */
static uint8_t mutable_mem[B(_MUTABLE_MEM_SIZE) + 1] __attribute__((aligned(B(_MEM_ALIGN))));
static uint8_t activations[B(_ACTIVATIONS_MEM_SIZE) + 1] __attribute__((aligned(B(_MEM_ALIGN))));

/* printf would pull in much of the C library; these few formatters are enough. */
static char *put_str(char *p, const char *s)
{
    while (*s) *p++ = *s++;
    return p;
}

static char *put_uint(char *p, unsigned v)
{
    char tmp[12];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n) *p++ = tmp[--n];
    return p;
}

/* v as d.ddde+XX (4 significant digits). */
static char *put_sci(char *p, float v)
{
    if (v != v) return put_str(p, "nan");
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    if (v > 3.4e38f) return put_str(p, "inf");
    int e = 0;
    if (v != 0) {
        while (v >= 10.0f) v /= 10.0f, e++;
        while (v < 1.0f) v *= 10.0f, e--;
    }
    unsigned m = (unsigned)(v * 1000.0f + 0.5f);
    if (m >= 10000) m /= 10, e++;
    p = put_uint(p, m / 1000);
    *p++ = '.';
    *p++ = (char)('0' + m / 100 % 10);
    *p++ = (char)('0' + m / 10 % 10);
    *p++ = (char)('0' + m % 10);
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    unsigned ae = (unsigned)(e < 0 ? -e : e);
    if (ae < 10) *p++ = '0';
    return put_uint(p, ae);
}

static void say(const char *a, const char *b)
{
    char line[160];
    char *p = put_str(line, a);
    p = put_str(p, b);
    *p = 0;
    semihost_puts(line);
}

/* Compares one float32 output; returns 1 if every element is within tolerance. */
static int check_float(const char *name, const uint8_t *got, const uint8_t *want, unsigned size)
{
    float max_abs = 0, max_rel = 0, worst = 0;
    for (unsigned i = 0; i + 4 <= size; i += 4) {
        float x, r;
        memcpy(&x, got + i, 4);
        memcpy(&r, want + i, 4);
        float d = x > r ? x - r : r - x, ar = r < 0 ? -r : r;
        float ratio = d / (ATOL + RTOL * ar); /* > 1: out of tolerance */
        if (!(d <= max_abs)) max_abs = d;     /* NaN propagates */
        if (ar > 0 && !(d / ar <= max_rel)) max_rel = d / ar;
        if (!(ratio <= worst)) worst = ratio;
    }
    char line[200], *p = line;
    p = put_str(p, worst <= 1.0f ? "ok   " : "FAIL ");
    p = put_str(p, name);
    p = put_str(p, ": max abs err ");
    p = put_sci(p, max_abs);
    p = put_str(p, ", max rel err ");
    p = put_sci(p, max_rel);
    p = put_str(p, ", worst err / tolerance ");
    p = put_sci(p, worst);
    p = put_str(p, "\n");
    *p = 0;
    semihost_puts(line);
    return worst <= 1.0f;
}

int main(void)
{
    if (example_num_inputs != B(_NUM_INPUTS) || example_num_expected != B(_NUM_OUTPUTS)) {
        semihost_puts("data.c does not match the bundle's input/output count\n");
        return 1;
    }
    for (int i = 0, k = 0; i < NUM_IO; i++) {
        if (!B(_io)[i].is_input) continue;
        if (example_inputs[k].size != B(_io)[i].size) {
            say("wrong input size for ", B(_io)[i].name);
            return 1;
        }
        memcpy(mutable_mem + B(_io)[i].offset, example_inputs[k++].data, B(_io)[i].size);
    }

    int rc = BUNDLE_NAME(B(_constant_weights), mutable_mem, activations);
    if (rc != 0) {
        semihost_puts("the bundle returned an error\n");
        return 1;
    }

    int ok = 1;
    for (int i = 0, k = 0; i < NUM_IO; i++) {
        if (B(_io)[i].is_input) continue;
        const uint8_t *got = mutable_mem + B(_io)[i].offset;
        const example_blob *want = &example_expected[k];
#ifdef DUMP_DIR
        char path[64], *p = put_str(path, DUMP_DIR "/output_");
        memcpy(put_uint(p, (unsigned)k), ".raw", 5);
        if (semihost_write_file(path, got, B(_io)[i].size)) {
            say("cannot write ", path);
            ok = 0;
        }
#endif
        k++;
        if (want->size != B(_io)[i].size) {
            say("wrong expected-output size for ", B(_io)[i].name);
            ok = 0;
        } else if (B(_io)[i].dtype == 1) { /* float32 */
            ok &= check_float(B(_io)[i].name, got, want->data, want->size);
        } else if (memcmp(got, want->data, want->size) != 0) { /* integers: exact */
            say("FAIL differs: ", B(_io)[i].name);
            ok = 0;
        }
    }
    semihost_puts(ok ? "PASS\n" : "FAIL\n");
    return ok ? 0 : 1;
}
