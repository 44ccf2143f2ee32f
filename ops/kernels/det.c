#include "det.h"

#include <math.h>

#include "copy.h"

static double det_one(double *a, int64_t n)
{
    double det = 1.0;
    for (int64_t c = 0; c < n; c++) {
        int64_t p = c;
        for (int64_t r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[p * n + c])) p = r;
        if (a[p * n + c] == 0.0) return 0.0;
        if (p != c) {
            for (int64_t j = 0; j < n; j++) {
                double t = a[c * n + j];
                a[c * n + j] = a[p * n + j];
                a[p * n + j] = t;
            }
            det = -det;
        }
        double piv = a[c * n + c];
        det *= piv;
        for (int64_t r = c + 1; r < n; r++) {
            double f = a[r * n + c] / piv;
            if (f == 0.0) continue;
            for (int64_t j = c + 1; j < n; j++) a[r * n + j] -= f * a[c * n + j];
        }
    }
    return det;
}

void k_det(const void *src, void *dst, int is_f64, int64_t batch, int64_t n, double *work, int ith,
           int nth)
{
    int64_t lo, hi;
    k_share(batch, ith, nth, &lo, &hi);
    for (int64_t b = lo; b < hi; b++) {
        for (int64_t i = 0; i < n * n; i++)
            work[i] = is_f64 ? ((const double *)src)[b * n * n + i] : ((const float *)src)[b * n * n + i];
        double d = det_one(work, n);
        if (is_f64) ((double *)dst)[b] = d;
        else ((float *)dst)[b] = (float)d;
    }
}
