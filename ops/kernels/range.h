/* Range: out[i] = start + i * delta. */
#ifndef EMBER_K_RANGE_H
#define EMBER_K_RANGE_H
#include <stdint.h>

void k_range_f32(float *out, float start, float delta, int64_t n);
void k_range_f64(double *out, double start, double delta, int64_t n);
void k_range_i16(int16_t *out, int16_t start, int16_t delta, int64_t n);
void k_range_i32(int32_t *out, int32_t start, int32_t delta, int64_t n);
void k_range_i64(int64_t *out, int64_t start, int64_t delta, int64_t n);
#endif
