/* The compile cache's folder, keys, hash and entry files (engine/cache.h); the graph's
 * encoding is in cache_graph.c. */
#include "cache.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if !defined(__x86_64__) && !defined(__i386__)
#include <sys/auxv.h>
#endif

#include "cache_graph.h"
#include "model.h"
#include "status.h"

#define FORMAT_VERSION 2u
static const char MAGIC[8] = {'E', 'M', 'B', 'R', 'P', 'R', 'G', '\n'};

/* ---- hash: eight 64-bit lanes over 64-byte stripes, one 32x32->64 multiply per word
 * (what compilers vectorize), the lanes scrambled every 1 KiB, a strong final mix ---- */

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    return h ^ (h >> 32);
}

void ember_hasher_init(ember_hasher *h, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < 8; i++) {
        h->key[i] = mix64(seed + (uint64_t)(i + 1) * P1);
        h->lane[i] = mix64(h->key[i] ^ P3);
    }
}

static void stripes(ember_hasher *h, const unsigned char *p, size_t n)
{
    uint64_t acc[8], key[8];
    memcpy(acc, h->lane, sizeof acc);
    memcpy(key, h->key, sizeof key);
    for (size_t s = 0; s < n; s++, p += 64) {
        uint64_t w[8];
        memcpy(w, p, sizeof w);
        for (int i = 0; i < 8; i++) {
            uint64_t d = w[i] ^ key[i];
            acc[i ^ 1] += w[i];
            acc[i] += (d & 0xffffffffu) * (d >> 32);
        }
        if (++h->stripes % 16 == 0)
            for (int i = 0; i < 8; i++) {
                acc[i] ^= acc[i] >> 47;
                acc[i] ^= key[i];
                acc[i] *= 0x9E3779B1u;
            }
    }
    memcpy(h->lane, acc, sizeof acc);
}

void ember_hasher_add(ember_hasher *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    if (n == 0) return;
    h->total += n;
    if (h->nbuf) {
        size_t take = 64 - h->nbuf < n ? 64 - h->nbuf : n;
        memcpy(h->buf + h->nbuf, p, take);
        h->nbuf += take, p += take, n -= take;
        if (h->nbuf < 64) return;
        stripes(h, h->buf, 1);
        h->nbuf = 0;
    }
    stripes(h, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
    memcpy(h->buf, p, n);
    h->nbuf = n;
}

void ember_hasher_final(const ember_hasher *h, uint64_t out[2])
{
    ember_hasher t = *h;
    unsigned char tail[64] = {0};
    memcpy(tail, t.buf, t.nbuf);
    tail[63] ^= (unsigned char)(0x80 | t.nbuf);
    stripes(&t, tail, 1);
    uint64_t x = t.total * P3, y = t.total ^ P1;
    for (int i = 0; i < 8; i++) {
        uint64_t m = mix64(t.lane[i] ^ t.key[i]);
        x = rotl(x, 23) + m;
        y = rotl(y ^ m, 41) * P1;
    }
    out[0] = mix64(x ^ y);
    out[1] = mix64(y + out[0] * P2);
}

const char *ember_cache_state_name(int s)
{
    return s == EMBER_CACHE_HIT ? "hit" : s == EMBER_CACHE_MISS ? "miss" : "off";
}

static void debug(const char *fmt, const char *a, const char *b)
{
    const char *e = getenv("EMBER_CACHE_DEBUG");
    if (e && *e && strcmp(e, "0") != 0) {
        fprintf(stderr, "ember: cache: ");
        fprintf(stderr, fmt, a, b);
        fputc('\n', stderr);
    }
}

/* ---- folder ---- */

/* mkdir -p with 0700 for every folder it creates. */
static int make_dirs(char *path)
{
    for (char *s = path + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = '\0';
        int r = mkdir(path, 0700);
        *s = c;
        if (r != 0 && errno != EEXIST) return -1;
        if (!c) break;
    }
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

ember_status ember_cache_dir(char *buf, size_t n)
{
    const char *d = getenv("EMBER_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    int len;
    if (d && *d) len = snprintf(buf, n, "%s", d);
    else if (x && *x == '/') len = snprintf(buf, n, "%s/ember", x); /* XDG: relative paths are invalid */
    else if (h && *h) len = snprintf(buf, n, "%s/.cache/ember", h);
    else return ember_error(EMBER_E_IO, "no cache folder: set EMBER_CACHE_DIR, XDG_CACHE_HOME or HOME");
    if (len < 0 || (size_t)len >= n) return ember_error(EMBER_E_IO, "cache folder path too long");
    while (len > 1 && buf[len - 1] == '/') buf[--len] = '\0';
    if (make_dirs(buf) != 0)
        return ember_error(EMBER_E_IO, "cannot create the cache folder '%s': %s", buf, strerror(errno));
    return EMBER_OK;
}

/* ---- key ---- */

/* The GNU build id of the object holding this code (the library, or the program it is
 * linked into), so any rebuild of Ember gets fresh keys. */
static int note_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    ember_hasher *h = ctx;
    uintptr_t self = (uintptr_t)&note_cb;
    int mine = 0;
    for (int i = 0; i < info->dlpi_phnum && !mine; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        mine = ph->p_type == PT_LOAD && self >= lo && self < lo + ph->p_memsz;
    }
    if (!mine) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + 12 <= end) {
            uint32_t nsz, dsz, type;
            memcpy(&nsz, p, 4), memcpy(&dsz, p + 4, 4), memcpy(&type, p + 8, 4);
            size_t nal = (nsz + 3u) & ~3u, dal = (dsz + 3u) & ~3u;
            if ((size_t)(end - p) < 12 + nal + dal) break;
            if (type == NT_GNU_BUILD_ID && nsz == 4 && memcmp(p + 12, "GNU", 4) == 0) {
                ember_hasher_add(h, p + 12 + nal, dsz);
                return 1;
            }
            p += 12 + nal + dal;
        }
    }
    return 2; /* ours, but without a build id */
}

static void add_build_id(ember_hasher *h)
{
    const int v[3] = {EMBER_VERSION_MAJOR, EMBER_VERSION_MINOR, EMBER_VERSION_PATCH};
    ember_hasher_add(h, v, sizeof v);
    if (dl_iterate_phdr(note_cb, h) == 1) return;
    /* No build id: the compile time of this file, and the size and time of the object. */
    ember_hasher_add(h, __DATE__ __TIME__, sizeof __DATE__ __TIME__);
    Dl_info di;
    struct stat st;
    if (dladdr((void *)&add_build_id, &di) && di.dli_fname && stat(di.dli_fname, &st) == 0) {
        int64_t f[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec};
        ember_hasher_add(h, f, sizeof f);
    }
}

static void add_cpu(ember_hasher *h)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned r[4], max = __get_cpuid_max(0, NULL), maxx = __get_cpuid_max(0x80000000u, NULL);
    const unsigned leaves[][2] = {{0, 0}, {1, 0}, {7, 0}, {7, 1}, {0xd, 1}, {0x14, 0}, {0x19, 0}};
    for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
        if (leaves[i][0] > max) continue;
        __cpuid_count(leaves[i][0], leaves[i][1], r[0], r[1], r[2], r[3]);
        if (leaves[i][0] == 1) r[1] &= 0xffu; /* leave out the APIC id and logical CPU count */
        ember_hasher_add(h, r, sizeof r);
    }
    for (unsigned l = 0x80000001u; l <= 0x80000004u && l <= maxx; l++) { /* features, brand string */
        __cpuid(l, r[0], r[1], r[2], r[3]);
        ember_hasher_add(h, r, sizeof r);
    }
#else
    unsigned long caps[2] = {getauxval(AT_HWCAP), getauxval(AT_HWCAP2)};
    ember_hasher_add(h, caps, sizeof caps);
    long n = sysconf(_SC_NPROCESSORS_CONF);
    ember_hasher_add(h, &n, sizeof n);
#endif
}

ember_status ember_cache_key_for(const ember_model *m, const ember_tensor *inputs, int n_inputs,
                                 const ember_program_options *opt, ember_cache_key *key)
{
    ember_hasher h;
    ember_hasher_init(&h, 0x454d424552ull);
    uint64_t mh[2];
    TRY(ember_model_hash(m, mh));
    ember_hasher_add(&h, mh, sizeof mh);
    ember_hasher_add(&h, &m->meta.external_id, sizeof m->meta.external_id);
    int32_t n = inputs ? n_inputs : -1;
    ember_hasher_add(&h, &n, sizeof n);
    for (int i = 0; inputs && i < n_inputs; i++) {
        int32_t r[2] = {inputs[i].rank, inputs[i].dtype};
        ember_hasher_add(&h, r, sizeof r);
        ember_hasher_add(&h, inputs[i].dims, sizeof(int64_t) * (size_t)(r[0] > 0 && r[0] <= EMBER_MAX_RANK ? r[0] : 0));
    }
    /* Every program option that changes the program; use_cache is this. The thread count
     * (the default resolved to the cores) is one: host kernels are chosen per count (the
     * Winograd rule needs tiles a thread; dwconv.c and conv1x1.c's narrow rule take
     * one-thread programs only), and an entry keeps the choices. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int32_t o[3] = {opt ? opt->optimize : 1, opt ? opt->precision : EMBER_PRECISION_FP32,
                    opt && opt->threads > 0 ? opt->threads : cores > 0 ? (int32_t)cores : 1};
    ember_hasher_add(&h, o, sizeof o);
    /* The measurement switches that change which kernels a program picks (an entry keeps
     * the picks): with them in the key, a comparison with one switched off never reuses
     * the other setting's program. */
    static const char *const knobs[] = {"EMBER_LAYOUT_CHAIN",  "EMBER_WINOGRAD",           "EMBER_CONV1X1",
                                        "EMBER_ONEDNN",        "EMBER_ONEDNN_CONV_LAYOUT", "EMBER_ONEDNN_SMALL_CONV",
                                        "EMBER_INPLACE",       "EMBER_SMALL_MODEL_THREADS", "EMBER_JIT",
                                        "EMBER_JIT_GENERATE",  "EMBER_DWCONV",             "EMBER_CONV_STEM",
                                        "EMBER_CONV1X1_SMALL", "EMBER_CONV_DIRECT"};
    for (size_t i = 0; i < sizeof knobs / sizeof *knobs; i++) {
        const char *v = getenv(knobs[i]);
        ember_hasher_add(&h, v ? v : "", v ? strlen(v) + 1 : 1);
    }
    add_build_id(&h);
    add_cpu(&h);
    ember_hasher_final(&h, key->k);
    return EMBER_OK;
}

/* ---- entry files ---- */

typedef struct header {
    char magic[8];
    uint32_t version, header_bytes;
    uint64_t key[2];
    uint64_t meta_bytes;    /* the graph's structure, right after the header */
    uint64_t data_offset;   /* where the constants start (64-byte aligned) */
    uint64_t steps_offset;  /* the steps' fast-path choices, after the constants, to the end */
    uint64_t payload_bytes; /* file size - header */
    uint64_t checksum;      /* over the payload */
    uint64_t reserved[7];
} header;
_Static_assert(sizeof(header) == 128, "the entry header is 128 bytes");

static int entry_path_ext(const ember_cache_key *key, const char *ext, char *buf, size_t n);
static int entry_path(const ember_cache_key *key, char *buf, size_t n) { return entry_path_ext(key, "emc", buf, n); }

static int entry_path_ext(const ember_cache_key *key, const char *ext, char *buf, size_t n)
{
    char dir[4096];
    if (ember_cache_dir(dir, sizeof dir) != EMBER_OK) {
        debug("%s%s", ember_last_error(), "");
        ember_error_clear();
        return -1;
    }
    int len = snprintf(buf, n, "%s/%016llx%016llx.%s", dir, (unsigned long long)key->k[0],
                       (unsigned long long)key->k[1], ext);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

static uint64_t checksum(const unsigned char *p, size_t n)
{
    ember_hasher h;
    ember_hasher_init(&h, FORMAT_VERSION);
    ember_hasher_add(&h, p, n);
    uint64_t out[2];
    ember_hasher_final(&h, out);
    return out[0];
}

/* Removes path if it is still the file we looked at (another process may have put a
 * fresh entry there since). */
static void remove_if_same(const char *path, const struct stat *seen, const char *why)
{
    debug("rejected %s: %s; removed", path, why);
    struct stat now;
    if (stat(path, &now) == 0 && now.st_ino == seen->st_ino && now.st_dev == seen->st_dev) unlink(path);
}

void ember_cache_remove(const ember_cache_key *key)
{
    char path[4200];
    if (entry_path(key, path, sizeof path) == 0) unlink(path);
}

void ember_cache_unmap(void *map, size_t bytes)
{
    if (map) munmap(map, bytes);
}

/* path opened read-only when it is a regular file (its stat in *st), else -1. */
static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The entry file at path, mapped whole (writable: a private copy-on-write mapping) and
 * checked for what every entry has: size, magic, format version, key, payload size,
 * checksum. NULL when there is none; when it fails the checks it is removed too. */
static void *map_checked(const char *path, const char magic[8], const ember_cache_key *key, int writable,
                         header *h, size_t *size, struct stat *st)
{
    int fd = open_regular(path, st);
    if (fd < 0) return NULL;
    const char *why = NULL;
    void *map = NULL;
    *size = (size_t)st->st_size;
    if (st->st_size < (off_t)sizeof(header)) why = "truncated header";
    /* Populated at once: the checksum reads every page anyway, and one call is cheaper than
     * a fault per page. */
    else if ((map = mmap(NULL, *size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_PRIVATE | MAP_POPULATE,
                         fd, 0)) == MAP_FAILED) {
        map = NULL;
        why = "cannot map it";
    }
    close(fd);
    if (!why) {
        memcpy(h, map, sizeof *h);
        if (memcmp(h->magic, magic, sizeof MAGIC) != 0) why = "bad magic";
        else if (h->version != FORMAT_VERSION || h->header_bytes != sizeof *h) why = "other format version";
        else if (h->key[0] != key->k[0] || h->key[1] != key->k[1]) why = "key mismatch";
        else if (h->payload_bytes != *size - sizeof *h) why = "truncated or extended";
        else if (checksum((const unsigned char *)map + sizeof *h, h->payload_bytes) != h->checksum)
            why = "checksum mismatch";
    }
    if (!why) return map;
    remove_if_same(path, st, why);
    if (map) munmap(map, *size);
    return NULL;
}

int ember_cache_load(const ember_cache_key *key, ember_cache_entry *e)
{
    memset(e, 0, sizeof *e);
    char path[4200];
    if (entry_path(key, path, sizeof path) != 0) return 0;
    header h;
    size_t size;
    struct stat st;
    unsigned char *base = map_checked(path, MAGIC, key, 1, &h, &size, &st);
    if (!base) return 0;
    const char *why = NULL;
    if (h.meta_bytes > h.payload_bytes || h.data_offset % 64 || h.data_offset > size ||
        h.data_offset < sizeof h + h.meta_bytes || h.steps_offset < h.data_offset || h.steps_offset > size)
        why = "bad section sizes";
    else if (ember_cache_graph_decode(base + sizeof h, h.meta_bytes, base, h.steps_offset, h.data_offset,
                                      base + h.steps_offset, size - h.steps_offset, e) != EMBER_OK)
        why = ember_last_error();
    if (why) {
        remove_if_same(path, &st, why);
        ember_error_clear();
        munmap(base, size);
        memset(e, 0, sizeof *e);
        return 0;
    }
    ember_cache_touch(path);
    e->map = base;
    e->map_bytes = size;
    return 1;
}

/* Writes everything or fails; *h hashes what went out. */
static int write_all(int fd, const void *p, size_t n, ember_hasher *h)
{
    if (h) ember_hasher_add(h, p, n);
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w, n -= (size_t)w;
    }
    return 0;
}

struct ember_cache_writer {
    int fd;
    char path[4200], tmp[4300];
    header h;
    ember_hasher hs;
    uint64_t at; /* bytes written */
};

static void writer_abandon(ember_cache_writer *w, const char *why)
{
    debug("not stored (%s): %s", why, strerror(errno));
    if (w->fd >= 0) close(w->fd);
    unlink(w->tmp);
    free(w);
}

ember_cache_writer *ember_cache_store_begin(const ember_cache_key *key, const ember_program *p)
{
    ember_cache_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->fd = -1;
    if (entry_path(key, w->path, sizeof w->path) != 0) {
        free(w);
        return NULL;
    }
    ember_cache_blob_list blobs = {0};
    unsigned char *meta = NULL;
    size_t meta_bytes = 0;
    if (ember_cache_graph_encode(p, &meta, &meta_bytes, &blobs) != EMBER_OK) {
        debug("not stored: %s%s", ember_last_error(), "");
        ember_error_clear();
        free(blobs.b);
        free(w);
        return NULL;
    }
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%ld.%lx", w->path, (long)getpid(), (unsigned long)(uintptr_t)w);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = w->fd >= 0;
    header *h = &w->h;
    memcpy(h->magic, MAGIC, sizeof MAGIC);
    h->version = FORMAT_VERSION;
    h->header_bytes = sizeof *h;
    h->key[0] = key->k[0], h->key[1] = key->k[1];
    h->meta_bytes = meta_bytes;
    h->data_offset = (sizeof *h + meta_bytes + 63) & ~(uint64_t)63;
    ember_hasher_init(&w->hs, FORMAT_VERSION);
    static const unsigned char zeros[64];
    w->at = sizeof *h;
    if (ok) ok = write_all(w->fd, h, sizeof *h, NULL) == 0 && write_all(w->fd, meta, meta_bytes, &w->hs) == 0;
    w->at += meta_bytes;
    for (size_t i = 0; ok && i <= blobs.n; i++) {
        uint64_t want = i < blobs.n ? h->data_offset + blobs.b[i].offset : (w->at + 63) & ~(uint64_t)63;
        ok = want >= w->at && want - w->at < 64 && write_all(w->fd, zeros, want - w->at, &w->hs) == 0;
        w->at = want;
        if (ok && i < blobs.n) {
            ok = write_all(w->fd, blobs.b[i].data, blobs.b[i].nbytes, &w->hs) == 0;
            w->at += blobs.b[i].nbytes;
        }
    }
    free(meta);
    free(blobs.b);
    if (!ok) {
        writer_abandon(w, w->tmp);
        return NULL;
    }
    h->steps_offset = w->at;
    return w;
}

void ember_cache_store_end(ember_cache_writer *w, const ember_program *p, int ok)
{
    if (!w) return;
    if (!ok) {
        errno = 0;
        writer_abandon(w, "the build failed");
        return;
    }
    unsigned char *steps = NULL;
    size_t n = 0;
    if (ember_cache_steps_encode(p, &steps, &n) != EMBER_OK) {
        ember_error_clear();
        writer_abandon(w, "out of memory");
        return;
    }
    int good = write_all(w->fd, steps, n, &w->hs) == 0;
    free(steps);
    w->at += n;
    if (good) {
        w->h.payload_bytes = w->at - sizeof w->h;
        uint64_t sum[2];
        ember_hasher_final(&w->hs, sum);
        w->h.checksum = sum[0];
        good = pwrite(w->fd, &w->h, sizeof w->h, 0) == (ssize_t)sizeof w->h;
    }
    good = close(w->fd) == 0 && good;
    w->fd = -1;
    if (!good || rename(w->tmp, w->path) != 0) {
        writer_abandon(w, w->tmp);
        return;
    }
    ember_cache_evict(w->path);
    free(w);
}

/* ---- object code: a header like an entry's (magic EMBROBJ), then the object's bytes ---- */

static const char OBJ_MAGIC[8] = {'E', 'M', 'B', 'R', 'O', 'B', 'J', '\n'};

void ember_cache_object_key(const uint64_t program_key[2], ember_cache_key *key)
{
    ember_hasher h;
    ember_hasher_init(&h, 0x6f626a656374ull); /* "object" */
    ember_hasher_add(&h, program_key, 2 * sizeof(uint64_t));
    ember_hasher_final(&h, key->k);
}

int ember_cache_object_load(const ember_cache_key *key, void **map, size_t *map_bytes, const void **data, size_t *n)
{
    *map = NULL;
    char path[4200];
    if (entry_path_ext(key, "emo", path, sizeof path) != 0) return 0;
    header h;
    size_t size;
    struct stat st;
    void *m = map_checked(path, OBJ_MAGIC, key, 0, &h, &size, &st);
    if (!m) return 0;
    if (h.meta_bytes != h.payload_bytes) {
        remove_if_same(path, &st, "truncated or extended");
        munmap(m, size);
        return 0;
    }
    ember_cache_touch(path);
    *map = m;
    *map_bytes = size;
    *data = (const unsigned char *)m + sizeof(header);
    *n = size - sizeof(header);
    return 1;
}

void ember_cache_object_store(const ember_cache_key *key, const void *data, size_t n)
{
    char path[4200], tmp[4300];
    if (entry_path_ext(key, "emo", path, sizeof path) != 0) return;
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lx", path, (long)getpid(), (unsigned long)(uintptr_t)&tmp);
    header h = {0};
    memcpy(h.magic, OBJ_MAGIC, sizeof OBJ_MAGIC);
    h.version = FORMAT_VERSION;
    h.header_bytes = sizeof h;
    h.key[0] = key->k[0], h.key[1] = key->k[1];
    h.meta_bytes = h.payload_bytes = n;
    h.data_offset = h.steps_offset = sizeof h + n;
    h.checksum = checksum(data, n);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write_all(fd, &h, sizeof h, NULL) == 0 && write_all(fd, data, n, NULL) == 0;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        debug("object not stored (%s): %s", tmp, strerror(errno));
        if (fd >= 0) unlink(tmp);
        return;
    }
    ember_cache_evict(path);
}
