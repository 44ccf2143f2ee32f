/* The persistent compile cache: what ember_program_build computes before the per-step
 * fast paths are prepared (the optimized graph with its folded constants, and which fast
 * path each step chose), kept on disk so the next start of the same model skips the
 * import, the graph passes and the fast-path search.
 *
 * One file per key in the cache folder ($EMBER_CACHE_DIR, else $XDG_CACHE_HOME/ember,
 * else $HOME/.cache/ember; created 0700). The key hashes the model's bytes (and the
 * identity of its external data files), the bound input shapes, the program options that
 * change the program (all but threads and use_cache), Ember's version and build id, and
 * the CPU (name and features). An entry is a header (magic, format version, key, sizes,
 * a 64-bit checksum of everything after it), the graph's structure, the constants (each
 * 64-byte aligned, so a hit maps the file and points the constants into it), then the
 * steps' fast-path choices.
 *
 * Entries are written to a temporary file and renamed into place, so readers never see
 * half an entry and concurrent writers of one key just replace each other. An entry that
 * fails any check (magic, version, key, size, checksum, or a structure that does not
 * parse) is removed and the program is built from the model instead; nothing in an entry
 * is trusted before it is checked (indices, sizes, offsets), and shapes and the memory
 * plan are recomputed from the loaded graph. EMBER_CACHE_DEBUG=1 prints why an entry was
 * rejected or not written. The folder is kept under a size budget (EMBER_CACHE_MAX_MB,
 * default 4096): after each store the least recently used entries go (a hit counts as a
 * use). */
#ifndef EMBER_CACHE_H
#define EMBER_CACHE_H
#include <stddef.h>
#include <stdint.h>

#include "program.h"

/* A streaming 128-bit non-cryptographic hash (checksums, identity of bytes). */
typedef struct ember_hasher {
    uint64_t lane[8], key[8];
    unsigned char buf[64];
    size_t nbuf;
    uint64_t stripes, total;
} ember_hasher;
void ember_hasher_init(ember_hasher *h, uint64_t seed);
void ember_hasher_add(ember_hasher *h, const void *data, size_t n);
void ember_hasher_final(const ember_hasher *h, uint64_t out[2]);

typedef struct ember_cache_key {
    uint64_t k[2];
} ember_cache_key;

enum { EMBER_CACHE_OFF = 0, EMBER_CACHE_MISS = 1, EMBER_CACHE_HIT = 2 };
const char *ember_cache_state_name(int state); /* "off", "miss", "hit" */

/* The cache folder (created, 0700). EMBER_E_IO when there is none (no variable set, or
 * it cannot be created). */
ember_status ember_cache_dir(char *buf, size_t n);

/* The key of the program model + input shapes (NULL: the declared ones) + options. */
ember_status ember_cache_key_for(const ember_model *m, const ember_tensor *inputs, int n_inputs,
                                 const ember_program_options *opt, ember_cache_key *key);

/* A loaded entry: the graph (owned; its constants point into map), the mapping (unmap
 * with ember_cache_unmap once the graph is freed) and per node the fast path its step
 * chose ("" = the reference kernel; strings in the graph's arena). */
typedef struct ember_cache_entry {
    ember_graph *g;
    void *map;
    size_t map_bytes;
    const char **kernels;
    int n_kernels;
} ember_cache_entry;

/* 1 and *e on a hit; 0 on a miss (absent, or rejected and removed). Never fails. */
int ember_cache_load(const ember_cache_key *key, ember_cache_entry *e);
/* Stores p under key, in two parts: begin writes the graph and its constants (before the
 * steps are prepared, which may give constants' memory back), end the steps' choices and
 * puts the entry in place (ok 0: the build failed, nothing is stored). Best effort:
 * failures are silent (printed with EMBER_CACHE_DEBUG); begin returns NULL then, and end
 * takes NULL. */
typedef struct ember_cache_writer ember_cache_writer;
ember_cache_writer *ember_cache_store_begin(const ember_cache_key *key, const ember_program *p);
void ember_cache_store_end(ember_cache_writer *w, const ember_program *p, int ok);
/* Removes the entry of key (a loaded entry turned out unusable). */
void ember_cache_remove(const ember_cache_key *key);
void ember_cache_unmap(void *map, size_t bytes); /* NULL-safe */

/* Object code compiled for a program (the JIT's), kept next to the program's entry and
 * checked the same way (magic, version, key, size, checksum; a bad one is removed).
 * object_key: the key for the program whose key is program_key. load: 1 with the bytes
 * (*data, *n inside *map; unmap with ember_cache_unmap(*map, *map_bytes)), or 0. */
void ember_cache_object_key(const uint64_t program_key[2], ember_cache_key *key);
int ember_cache_object_load(const ember_cache_key *key, void **map, size_t *map_bytes, const void **data, size_t *n);
void ember_cache_object_store(const ember_cache_key *key, const void *data, size_t n);
/* The size budget (engine/cache_evict.c): EMBER_CACHE_MAX_MB (default 4096 MiB; 0 = no
 * limit), in bytes (0 = none). */
uint64_t ember_cache_budget_bytes(void);
/* Removes least recently used entries (oldest mtime) until the folder's entries fit the
 * budget, never `keep` (a path or NULL); also stale temporary files. Returns how many
 * entries went. */
int ember_cache_evict(const char *keep);
/* Marks an entry as just used (its mtime = now). */
void ember_cache_touch(const char *path);
#endif
