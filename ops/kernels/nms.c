#include "nms.h"

#include "topk.h"

static int score_before(const void *ctx, int64_t a, int64_t b)
{
    const float *s = ctx;
    if (s[a] != s[b]) return s[a] > s[b];
    return a < b;
}

/* Box as (ymin, xmin, ymax, xmax). */
static void corners(const float *b, int center, float *c)
{
    if (center) {
        c[0] = b[1] - b[3] / 2, c[1] = b[0] - b[2] / 2, c[2] = b[1] + b[3] / 2, c[3] = b[0] + b[2] / 2;
        return;
    }
    c[0] = b[0] < b[2] ? b[0] : b[2], c[2] = b[0] < b[2] ? b[2] : b[0];
    c[1] = b[1] < b[3] ? b[1] : b[3], c[3] = b[1] < b[3] ? b[3] : b[1];
}

static float iou(const float *a, const float *b)
{
    float ih = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
    float iw = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
    if (ih <= 0 || iw <= 0) return 0.0f;
    float inter = ih * iw;
    float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0.0f;
}

int64_t k_nms(const float *boxes, const float *scores, int64_t n, int center, int64_t max_out,
              float iou_th, int has_score_th, float score_th, int64_t *selected, int64_t *work)
{
    int64_t m = 0, cnt = 0;
    for (int64_t j = 0; j < n; j++)
        if (!has_score_th || scores[j] > score_th) work[m++] = j;
    k_sort_indices(work, m, score_before, scores);
    for (int64_t p = 0; p < m && cnt < max_out; p++) {
        float cb[4];
        corners(boxes + work[p] * 4, center, cb);
        int keep = 1;
        for (int64_t q = 0; q < cnt && keep; q++) {
            float sb[4];
            corners(boxes + selected[q] * 4, center, sb);
            if (iou(cb, sb) > iou_th) keep = 0;
        }
        if (keep) selected[cnt++] = work[p];
    }
    return cnt;
}
