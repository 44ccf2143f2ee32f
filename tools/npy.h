/* NumPy .npy files (format versions 1, 2 and 3), little-endian, C order only. */
#ifndef EMBER_NPY_H
#define EMBER_NPY_H

#include <stddef.h>

#include "ember.h"

/* Decodes an .npy image. out: *t with malloc'd data (ember_tensor_release or free(t->data)).
 * Returns 0, or -1 with a message in err. */
int npy_decode(const void *data, size_t size, ember_tensor *t, char *err, size_t errlen);
/* Encodes t. out: *buf malloc'd (free()), *size its length. Returns 0 or -1 + err. */
int npy_encode(const ember_tensor *t, void **buf, size_t *size, char *err, size_t errlen);

int npy_read_file(const char *path, ember_tensor *t, char *err, size_t errlen);
int npy_write_file(const char *path, const ember_tensor *t, char *err, size_t errlen);

/* The .npy descr string for a dtype ("<f4"), or NULL if .npy cannot hold it. */
const char *npy_descr(ember_dtype dt);
/* True if the buffer starts with the .npy magic. */
int npy_is_npy(const void *data, size_t size);
#endif
