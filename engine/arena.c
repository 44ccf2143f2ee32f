#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ember_arena_chunk {
    ember_arena_chunk *next;
    size_t used, size;
    _Alignas(64) unsigned char data[];
};

/* Tensor-sized blocks are aligned for vector loads; small ones (names, attributes) only
 * to 16 bytes, so a node costs what it needs. Chunks start small and grow, so a tiny
 * subgraph does not cost 64 KiB. */
#define ARENA_BIG_ALIGN 64
#define ARENA_SMALL_ALIGN 16
#define ARENA_FIRST_CHUNK 4096
#define ARENA_MAX_CHUNK (1 << 20)

void *ember_arena_alloc(ember_arena *a, size_t size)
{
    if (size > SIZE_MAX / 2) return NULL;
    size_t align = size >= ARENA_BIG_ALIGN ? ARENA_BIG_ALIGN : ARENA_SMALL_ALIGN;
    size_t need = size ? size : 1;
    ember_arena_chunk *c = a->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->size || c->size - at < need) {
        size_t grow = c ? c->size * 2 : ARENA_FIRST_CHUNK;
        if (grow > ARENA_MAX_CHUNK) grow = ARENA_MAX_CHUNK;
        /* Large requests get a chunk of their own, linked behind the current head so
         * the head's free space stays usable for small allocations. */
        int own = need > grow / 4;
        size_t csize = own ? need : grow;
        size_t bytes = (sizeof(ember_arena_chunk) + csize + ARENA_BIG_ALIGN - 1) & ~(size_t)(ARENA_BIG_ALIGN - 1);
        ember_arena_chunk *n = aligned_alloc(ARENA_BIG_ALIGN, bytes); /* malloc gives only 16 */
        if (!n) return NULL;
        n->used = 0;
        n->size = csize;
        if (c && own) {
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
        at = 0;
    }
    void *p = c->data + at;
    c->used = at + need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

char *ember_arena_strndup(ember_arena *a, const char *s, size_t n)
{
    char *p = ember_arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ember_arena_strdup(ember_arena *a, const char *s) { return ember_arena_strndup(a, s, strlen(s)); }

void ember_arena_free(ember_arena *a)
{
    ember_arena_chunk *c = a->head;
    while (c) {
        ember_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}
