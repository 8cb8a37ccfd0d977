// malloc_counter: an LD_PRELOAD shim that counts heap allocations in a process.
//
// Build:  gcc -O2 -shared -fPIC -o libmalloc_counter.so malloc_counter.c
// Use:    MALLOC_COUNTER_FILE=/tmp/counts LD_PRELOAD=./libmalloc_counter.so some-server &
//         kill -USR2 $pid   # writes "<allocations> <frees>\n" to MALLOC_COUNTER_FILE
//
// Allocations are malloc, calloc, realloc (when it returns a new block), posix_memalign,
// aligned_alloc, memalign and valloc. The shim forwards to glibc's __libc_* entry points, so
// it needs no dlsym (which itself allocates) and works from the first allocation on.
// Counters are relaxed atomics: exact totals, no ordering between threads.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t allocations;
static uint64_t frees;

static inline void count(uint64_t *counter) { __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

void *malloc(size_t size) { count(&allocations); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { count(&allocations); return __libc_calloc(n, size); }
void *realloc(void *old, size_t size) {
    void *result = __libc_realloc(old, size);
    if (result != old) count(&allocations);
    if (old != NULL && result != old) count(&frees);
    return result;
}
void free(void *pointer) { if (pointer != NULL) count(&frees); __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { count(&allocations); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { count(&allocations); return __libc_memalign(alignment, size); }
void *valloc(size_t size) { count(&allocations); return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    count(&allocations);
    void *result = __libc_memalign(alignment, size);
    if (result == NULL) return ENOMEM;
    *out = result;
    return 0;
}

// Async-signal-safe: formats with no allocation and writes with open/write/close.
static size_t format_u64(char *out, uint64_t value) {
    char digits[24];
    size_t n = 0;
    do { digits[n++] = (char)('0' + value % 10); value /= 10; } while (value != 0);
    for (size_t i = 0; i < n; i++) out[i] = digits[n - 1 - i];
    return n;
}

static const char *report_path;

static void report(int signal_number) {
    (void)signal_number;
    int saved_errno = errno;
    char line[64];
    size_t n = format_u64(line, __atomic_load_n(&allocations, __ATOMIC_RELAXED));
    line[n++] = ' ';
    n += format_u64(line + n, __atomic_load_n(&frees, __ATOMIC_RELAXED));
    line[n++] = '\n';
    int fd = open(report_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) { ssize_t ignored = write(fd, line, n); (void)ignored; close(fd); }
    errno = saved_errno;
}

__attribute__((constructor)) static void install(void) {
    report_path = getenv("MALLOC_COUNTER_FILE");
    if (report_path == NULL) return;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = report;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR2, &action, NULL);
}
