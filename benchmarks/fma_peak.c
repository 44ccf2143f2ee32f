/* Single-thread fp32 FMA throughput: 12 independent accumulator chains of 512-bit (else
 * 256-bit) fused multiply-adds, enough to fill every FMA port. The upper bound of any
 * fp32 kernel on this core, next to the SGEMM a BLAS reaches (compare.py prints both).
 * Built by compare.py with the system C compiler. */
#include <stdio.h>
#include <time.h>

#include <immintrin.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define STORE _mm512_storeu_ps
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define STORE _mm256_storeu_ps
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void)
{
    vec b = SET1(0.9999f), c = SET1(1e-7f);
    vec a0 = SET1(0.0f), a1 = SET1(1e-3f), a2 = SET1(2e-3f), a3 = SET1(3e-3f), a4 = SET1(4e-3f), a5 = SET1(5e-3f);
    vec a6 = SET1(6e-3f), a7 = SET1(7e-3f), a8 = SET1(8e-3f), a9 = SET1(9e-3f), a10 = SET1(1e-2f), a11 = SET1(1.1e-2f);
    long n = 20000000;
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t = now();
        for (long k = 0; k < n; k++) { /* written out: the chains must stay in registers */
            a0 = FMA(a0, b, c), a1 = FMA(a1, b, c), a2 = FMA(a2, b, c), a3 = FMA(a3, b, c);
            a4 = FMA(a4, b, c), a5 = FMA(a5, b, c), a6 = FMA(a6, b, c), a7 = FMA(a7, b, c);
            a8 = FMA(a8, b, c), a9 = FMA(a9, b, c), a10 = FMA(a10, b, c), a11 = FMA(a11, b, c);
        }
        t = now() - t;
        if (t < best) best = t;
    }
    vec all[12] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11};
    float sink[LANES], s = 0;
    for (int i = 0; i < 12; i++) {
        STORE(sink, all[i]);
        s += sink[0];
    }
    printf("%.1f %d %g\n", (double)n * 12.0 * LANES * 2.0 / best / 1e9, LANES * 32, (double)s);
    return 0;
}
