/* A hand-written bundle header in the `ember compile` format (the harness self-test's
 * stand-in for a compiled model): y = w * x over 6 floats, w the 6 constants. */
#ifndef FAKE_H
#define FAKE_H
#include <stdint.h>

#define fake_CONSTANT_MEM_SIZE 24
#define fake_MUTABLE_MEM_SIZE 88
#define fake_ACTIVATIONS_MEM_SIZE 24
#define fake_MEM_ALIGN 64
#define fake_NUM_INPUTS 1
#define fake_NUM_OUTPUTS 1
#define fake_X_OFFSET 0
#define fake_X_SIZE 24
#define fake_Y_OFFSET 64
#define fake_Y_SIZE 24

static const struct {
    const char *name;
    unsigned offset;
    unsigned size;
    unsigned char is_input;
    unsigned char dtype;
    unsigned char rank;
    unsigned dims[8];
} fake_io[fake_NUM_INPUTS + fake_NUM_OUTPUTS] = {
    {"x", fake_X_OFFSET, fake_X_SIZE, 1, 1, 2, {2, 3}},
    {"y", fake_Y_OFFSET, fake_Y_SIZE, 0, 1, 2, {2, 3}},
};

int fake(const uint8_t *constant_weights, uint8_t *mutable_weights, uint8_t *activations);
#endif
