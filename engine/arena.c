#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ember_arena_chunk {
    ember_arena_chunk *next;
    size_t used, size;
    _Alignas(64) unsigned char data[];
};

#define ARENA_ALIGN 64
#define ARENA_CHUNK 65536

void *ember_arena_alloc(ember_arena *a, size_t size)
{
    if (size > SIZE_MAX - 2 * ARENA_ALIGN) return NULL;
    size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    ember_arena_chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        /* Large requests get a chunk of their own, inserted behind the current head so
         * the head's free space stays usable for small allocations. */
        size_t csize = need > ARENA_CHUNK / 4 ? need : ARENA_CHUNK;
        ember_arena_chunk *n = malloc(sizeof *n + csize);
        if (!n) return NULL;
        n->used = 0;
        n->size = csize;
        if (c && csize != ARENA_CHUNK) {
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->data + c->used;
    c->used += need;
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
