#include "pad.h"

#include "copy.h"

/* Position in [0, len) that output offset j (relative to the kept interior) reads from. */
static int64_t pad_source(int64_t j, int64_t len, int mode)
{
    if (mode == K_PAD_EDGE || len == 1) return j < 0 ? 0 : j >= len ? len - 1 : j;
    int64_t period = 2 * (len - 1);
    j %= period;
    if (j < 0) j += period;
    return j < len ? j : period - j;
}

void k_pad(const void *src, void *dst, int rank, const int64_t *idims, const int64_t *odims,
           const int64_t *begin, const int64_t *end, int mode, const void *value, size_t es)
{
    int64_t is[K_COPY_MAX_RANK], os[K_COPY_MAX_RANK], len[K_COPY_MAX_RANK], at[K_COPY_MAX_RANK];
    int64_t total = 1, soff = 0, doff = 0;
    k_contiguous_strides(rank, idims, is);
    k_contiguous_strides(rank, odims, os);
    int empty = 0;
    for (int k = 0; k < rank; k++) {
        int64_t skip = begin[k] < 0 ? -begin[k] : 0, cut = end[k] < 0 ? -end[k] : 0;
        len[k] = idims[k] - skip - cut;
        if (len[k] <= 0) len[k] = 0, empty = 1;
        at[k] = begin[k] > 0 ? begin[k] : 0;
        soff += skip * is[k];
        doff += at[k] * os[k];
        total *= odims[k];
    }
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (mode == K_PAD_CONSTANT) k_fill(d, value, total, es);
    if (empty) return;
    k_copy_strided(s + soff * (int64_t)es, d + doff * (int64_t)es, rank, len, is, os, es, 0, 1);
    if (mode == K_PAD_CONSTANT) return;
    /* Axis by axis, fill the pad slabs from the output itself: after axis k, dims <= k span
     * the whole output, so later axes copy the corners too. */
    int64_t region[K_COPY_MAX_RANK], base = doff;
    for (int k = 0; k < rank; k++) region[k] = len[k];
    for (int k = 0; k < rank; k++) {
        region[k] = 1;
        for (int64_t i = 0; i < odims[k]; i++) {
            int64_t j = i - at[k];
            if (j >= 0 && j < len[k]) continue;
            int64_t from = at[k] + pad_source(j, len[k], mode);
            k_copy_strided(d + (base + (from - at[k]) * os[k]) * (int64_t)es,
                           d + (base + (i - at[k]) * os[k]) * (int64_t)es, rank, region, os, os, es, 0, 1);
        }
        region[k] = odims[k];
        base -= at[k] * os[k];
    }
}
