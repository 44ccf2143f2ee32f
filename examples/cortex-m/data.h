/* The example's compiled-in tensors (written by bin2c.py from raw files): the inputs to
 * feed and the expected outputs, raw little-endian bytes in graph order. */
#ifndef EXAMPLE_DATA_H
#define EXAMPLE_DATA_H

typedef struct example_blob {
    const unsigned char *data;
    unsigned size;
} example_blob;

extern const example_blob example_inputs[];
extern const unsigned example_num_inputs;
extern const example_blob example_expected[];
extern const unsigned example_num_expected;

#endif
