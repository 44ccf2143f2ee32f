/* float16 / bfloat16 <-> float32 conversions (portable C, round-to-nearest-even). */
#ifndef EMBER_HALF_H
#define EMBER_HALF_H
#include <stdint.h>
#include <string.h>

static inline float ember_bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t ember_float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static inline float ember_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return ember_bits_to_float(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0) return ember_bits_to_float(sign);
        float f = (float)man * (1.0f / 16777216.0f); /* man * 2^-24 */
        return sign ? -f : f;
    }
    return ember_bits_to_float(sign | ((exp + 112) << 23) | (man << 13));
}

static inline uint16_t ember_float_to_half(float f)
{
    uint32_t x = ember_float_to_bits(f), sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* overflow to inf */
    if (ax < 0x38800000u) { /* subnormal or zero in half */
        float a = ember_bits_to_float(ax) * 16777216.0f; /* scale by 2^24 */
        uint32_t m = (uint32_t)a;
        float rem = a - (float)m;
        if (rem > 0.5f || (rem == 0.5f && (m & 1))) m++;
        return (uint16_t)(sign | m);
    }
    uint32_t e = (ax >> 23) - 112, m = ax & 0x7fffff;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rest = m & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static inline float ember_bf16_to_float(uint16_t b) { return ember_bits_to_float((uint32_t)b << 16); }

static inline uint16_t ember_float_to_bf16(float f)
{
    uint32_t x = ember_float_to_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
#endif
