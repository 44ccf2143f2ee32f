/* The compile cache's size budget: after each store, the folder's entries (".emc"
 * programs, ".emo" object code) are summed and the least recently used ones removed
 * until the rest fits. A hit refreshes its entry's modification time, so "least
 * recently used" is the oldest mtime. Temporary files of writers that died mid-write
 * (".tmp." in the name, over an hour old) go too. Only files whose names Ember makes
 * are touched: whatever else the folder holds is left alone and not counted.
 * EMBER_CACHE_MAX_MB sets the budget (default 4096; 0 = no limit). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"

#define DEFAULT_MAX_MB 4096.0
#define STALE_TMP_SECONDS 3600

uint64_t ember_cache_budget_bytes(void)
{
    const char *s = getenv("EMBER_CACHE_MAX_MB");
    double mb = DEFAULT_MAX_MB;
    if (s && *s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno == 0 && *end == 0 && v >= 0) mb = v; /* a malformed value keeps the default */
    }
    if (mb == 0) return 0;
    double b = mb * 1048576.0;
    return b >= 1.8e19 ? UINT64_MAX : b < 1 ? 1 : (uint64_t)b;
}

void ember_cache_touch(const char *path) { utimensat(AT_FDCWD, path, NULL, 0); }

/* 32 hex digits, then ".emc" or ".emo": an entry name. */
static int is_entry(const char *name)
{
    size_t n = strlen(name);
    if (n != 36 || name[32] != '.' || (strcmp(name + 33, "emc") != 0 && strcmp(name + 33, "emo") != 0)) return 0;
    for (int i = 0; i < 32; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f'))) return 0;
    return 1;
}

typedef struct cached_file {
    char name[40];
    uint64_t bytes;
    struct timespec mtime;
} cached_file;

static int older_first(const void *a, const void *b)
{
    const struct timespec *x = &((const cached_file *)a)->mtime, *y = &((const cached_file *)b)->mtime;
    if (x->tv_sec != y->tv_sec) return x->tv_sec < y->tv_sec ? -1 : 1;
    return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

int ember_cache_evict(const char *keep)
{
    char dir[4096];
    if (ember_cache_dir(dir, sizeof dir) != EMBER_OK) {
        ember_error_clear();
        return 0;
    }
    uint64_t budget = ember_cache_budget_bytes();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dp = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!dp) {
        if (dfd >= 0) close(dfd);
        return 0;
    }
    const char *keep_name = keep ? strrchr(keep, '/') : NULL;
    keep_name = keep_name ? keep_name + 1 : keep;
    cached_file *files = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    time_t now = time(NULL);
    struct dirent *d;
    while ((d = readdir(dp))) {
        struct stat st;
        int entry = is_entry(d->d_name), tmp = !entry && strstr(d->d_name, ".tmp.") != NULL;
        if ((!entry && !tmp) || fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (tmp) {
            if (now - st.st_mtime > STALE_TMP_SECONDS) unlinkat(dfd, d->d_name, 0);
            continue;
        }
        total += (uint64_t)st.st_size;
        if (keep_name && strcmp(d->d_name, keep_name) == 0) continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            cached_file *f = realloc(files, nc * sizeof *f);
            if (!f) break;
            files = f, cap = nc;
        }
        snprintf(files[n].name, sizeof files[n].name, "%s", d->d_name);
        files[n].bytes = (uint64_t)st.st_size;
        files[n].mtime = st.st_mtim;
        n++;
    }
    int removed = 0;
    if (budget && total > budget) {
        qsort(files, n, sizeof *files, older_first);
        for (size_t i = 0; i < n && total > budget; i++)
            if (unlinkat(dfd, files[i].name, 0) == 0) {
                total -= files[i].bytes;
                removed++;
            }
    }
    free(files);
    closedir(dp);
    return removed;
}
