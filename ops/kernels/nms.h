/* NonMaxSuppression for one (batch, class): greedy selection by descending score. */
#ifndef EMBER_K_NMS_H
#define EMBER_K_NMS_H
#include <stdint.h>

/* boxes: n x 4 ([y1, x1, y2, x2] corners in any order, or [xc, yc, w, h] when center);
 * scores: n. Boxes scoring <= score_th (when has_score_th) are skipped; a box is dropped
 * when its IoU with a selected box exceeds iou_th. Writes up to max_out box indices to
 * selected and returns their count. work holds n int64. */
int64_t k_nms(const float *boxes, const float *scores, int64_t n, int center, int64_t max_out,
              float iou_th, int has_score_th, float score_th, int64_t *selected, int64_t *work);
#endif
