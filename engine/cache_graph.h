/* The compile cache's encoding of a program's graph and step choices (engine/cache.c
 * frames it in an entry file). */
#ifndef EMBER_CACHE_GRAPH_H
#define EMBER_CACHE_GRAPH_H
#include "cache.h"

/* Constant data the structure refers to: written after it, each at data_offset + offset
 * (offsets 64-byte aligned, increasing). */
typedef struct ember_cache_blob {
    const void *data;
    size_t nbytes;
    uint64_t offset;
} ember_cache_blob;
typedef struct ember_cache_blob_list {
    ember_cache_blob *b;
    size_t n, cap;
} ember_cache_blob_list;

/* The graph. out: *meta (malloc'd), its size, the blobs (free blobs->b). */
ember_status ember_cache_graph_encode(const ember_program *p, unsigned char **meta, size_t *meta_bytes,
                                      ember_cache_blob_list *blobs);
/* The steps' fast-path choices (known only once the steps are prepared). out: *buf malloc'd. */
ember_status ember_cache_steps_encode(const ember_program *p, unsigned char **buf, size_t *n);
/* Rebuilds e->g from meta and e->kernels from steps; constants point into file, blobs at
 * data_offset, all before file_bytes. Checks every index, size and offset;
 * EMBER_E_INVALID_MODEL says what is wrong. */
ember_status ember_cache_graph_decode(const unsigned char *meta, size_t meta_bytes, const unsigned char *file,
                                      size_t file_bytes, uint64_t data_offset, const unsigned char *steps,
                                      size_t steps_bytes, ember_cache_entry *e);
#endif
