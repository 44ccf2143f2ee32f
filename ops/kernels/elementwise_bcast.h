/* Broadcast walk shared by the elementwise and reduction kernels: an output of shape
 * dims[] is visited row by row (a row = the innermost dimension), and each operand is
 * addressed through its own element strides (0 along a broadcast dimension). Offsets
 * move by counter increments from one row to the next, so no element pays for index
 * arithmetic. Plain portable C: no engine headers, no allocation. */
#ifndef EMBER_K_ELEMENTWISE_BCAST_H
#define EMBER_K_ELEMENTWISE_BCAST_H
#include <stdint.h>

#define K_BCAST_MAX_RANK 8
#define K_BCAST_MAX_IN 3

typedef struct k_bcast {
    int rank; /* >= 1 */
    int n_in;
    int64_t dims[K_BCAST_MAX_RANK];
    int64_t st[K_BCAST_MAX_IN][K_BCAST_MAX_RANK]; /* element strides; 0 = broadcast */
} k_bcast;

typedef struct k_bcast_it {
    int64_t idx[K_BCAST_MAX_RANK];
    int64_t off[K_BCAST_MAX_IN];
} k_bcast_it;

/* Fills b for an output of rank out_rank and n_in operands given by their ranks and
 * dims (right-aligned numpy broadcasting; the shapes must already be compatible),
 * then collapses it. */
void k_bcast_init(k_bcast *b, int out_rank, const int64_t *out_dims, int n_in,
                  const int *in_rank, const int64_t *const *in_dims);
/* Drops size-1 dimensions and merges neighbours that every operand walks
 * contiguously; leaves rank >= 1. Call after filling dims/st by hand. */
void k_bcast_collapse(k_bcast *b);

static inline int64_t k_bcast_rows(const k_bcast *b)
{
    int64_t r = 1;
    for (int d = 0; d < b->rank - 1; d++) r *= b->dims[d];
    return r;
}

/* Positions the walk at output row `row`. */
static inline void k_bcast_seek(const k_bcast *b, int64_t row, k_bcast_it *it)
{
    for (int k = 0; k < K_BCAST_MAX_IN; k++) it->off[k] = 0;
    for (int d = b->rank - 2; d >= 0; d--) {
        it->idx[d] = 0;
        if (b->dims[d] == 0) continue; /* empty output: nothing will be walked */
        it->idx[d] = row % b->dims[d];
        row /= b->dims[d];
        for (int k = 0; k < b->n_in; k++) it->off[k] += it->idx[d] * b->st[k][d];
    }
}

static inline void k_bcast_next(const k_bcast *b, k_bcast_it *it)
{
    for (int d = b->rank - 2; d >= 0; d--) {
        for (int k = 0; k < b->n_in; k++) it->off[k] += b->st[k][d];
        if (++it->idx[d] < b->dims[d]) return;
        for (int k = 0; k < b->n_in; k++) it->off[k] -= b->st[k][d] * b->dims[d];
        it->idx[d] = 0;
    }
}

/* This thread's share [lo, hi) of n rows. */
static inline void k_share(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi)
{
    if (nth < 1) nth = 1;
    int64_t per = (n + nth - 1) / nth;
    *lo = per * ith;
    *hi = *lo + per < n ? *lo + per : n;
    if (*lo > n) *lo = n;
}
#endif
