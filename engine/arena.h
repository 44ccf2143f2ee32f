/* A bump allocator owning everything a graph holds (strings, attributes, constants).
 * Freed all at once; individual allocations are never freed. */
#ifndef EMBER_ARENA_H
#define EMBER_ARENA_H
#include <stddef.h>

typedef struct ember_arena_chunk ember_arena_chunk;
typedef struct ember_arena {
    ember_arena_chunk *head;
    size_t total; /* bytes handed out, for reporting */
} ember_arena;

/* Returns zeroed memory aligned to 64 bytes (16 for blocks under 64 bytes), or NULL when out of memory. */
void *ember_arena_alloc(ember_arena *a, size_t size);
char *ember_arena_strndup(ember_arena *a, const char *s, size_t n);
char *ember_arena_strdup(ember_arena *a, const char *s);
void ember_arena_free(ember_arena *a);
#endif
