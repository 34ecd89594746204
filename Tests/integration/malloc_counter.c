/*
 * An LD_PRELOAD interposer that counts heap allocations per thread.
 *
 * malloc, calloc, realloc, reallocarray, free, posix_memalign, aligned_alloc, memalign,
 * valloc and pvalloc are replaced by wrappers that forward to glibc's __libc_* entry
 * points (no dlsym, so nothing allocates while the symbols are resolved) and count the
 * call in a table of per-thread counters.
 *
 * The table lives in a MAP_SHARED mapping of the file named by $MALLOC_COUNTER_FILE, so
 * the test reads the counts at any moment from outside, without signals or cooperation
 * from the process. Each thread claims a slot on its first allocation and records its
 * kernel thread id there; the reader names threads from /proc/<pid>/task/<tid>/comm.
 *
 * Tracing: when the reader stores N > 0 in `trace_every`, every Nth allocation (counted
 * per process) appends one line to the file named by $MALLOC_COUNTER_TRACE:
 *     <tid> <kind> <size> <return address> <return address> ...
 * up to `trace_limit` lines. Addresses are raw; the reader symbolises them with the
 * process's /proc/<pid>/maps. Allocations made while a trace line is being produced are
 * neither counted nor traced.
 *
 * Build: gcc -shared -fPIC -O2 -o libmalloc_counter.so malloc_counter.c
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

#define COUNTER_MAGIC 0x544e434f4c4c414dULL /* "MALLOCNT" little-endian */
#define COUNTER_SLOTS 256
#define TRACE_DEPTH 24

/* One thread's counters; 64 bytes so threads never share a cache line. */
struct thread_counts {
    _Atomic uint64_t tid;
    _Atomic uint64_t allocations; /* malloc, calloc, realloc, memalign family */
    _Atomic uint64_t frees;       /* free of a non-null pointer */
    _Atomic uint64_t bytes;       /* bytes requested by the allocations */
    uint64_t padding[4];
};

/* The shared file's layout; the reader (test_allocations.py) mirrors it. */
struct counter_file {
    uint64_t magic;
    uint64_t slot_count;
    _Atomic uint64_t slots_used;   /* may exceed slot_count: extra threads share the last slot */
    _Atomic uint64_t trace_every;  /* written by the reader: 0 = off */
    _Atomic uint64_t trace_limit;  /* written by the reader: maximum trace lines */
    _Atomic uint64_t traced;       /* trace lines written */
    _Atomic uint64_t sequence;     /* allocations seen while tracing, process-wide */
    uint64_t padding;
    struct thread_counts threads[COUNTER_SLOTS];
};

static struct counter_file *_Atomic counters;
static int trace_fd = -1;

static __thread int thread_slot __attribute__((tls_model("initial-exec"))) = -1;
static __thread int inside_tracer __attribute__((tls_model("initial-exec")));

static struct thread_counts *current_thread_counts(struct counter_file *file) {
    if (thread_slot < 0) {
        uint64_t claimed = atomic_fetch_add_explicit(&file->slots_used, 1, memory_order_relaxed);
        int slot = claimed < COUNTER_SLOTS ? (int)claimed : COUNTER_SLOTS - 1;
        atomic_store_explicit(&file->threads[slot].tid, (uint64_t)syscall(SYS_gettid), memory_order_relaxed);
        thread_slot = slot;
    }
    return &file->threads[thread_slot];
}

/* Formats `value` in decimal or hexadecimal into `out`; returns the length. */
static size_t format_number(char *out, uint64_t value, unsigned base) {
    char digits[24];
    size_t count = 0;
    do {
        unsigned digit = (unsigned)(value % base);
        digits[count++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
        value /= base;
    } while (value != 0);
    for (size_t i = 0; i < count; i++) out[i] = digits[count - 1 - i];
    return count;
}

static void trace_allocation(struct counter_file *file, char kind, size_t size) {
    uint64_t every = atomic_load_explicit(&file->trace_every, memory_order_relaxed);
    if (every == 0 || trace_fd < 0 || inside_tracer) return;
    uint64_t sequence = atomic_fetch_add_explicit(&file->sequence, 1, memory_order_relaxed);
    if (sequence % every != 0) return;
    uint64_t limit = atomic_load_explicit(&file->trace_limit, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&file->traced, 1, memory_order_relaxed) >= limit) return;

    inside_tracer = 1;
    void *frames[TRACE_DEPTH];
    int depth = backtrace(frames, TRACE_DEPTH);
    char line[64 + TRACE_DEPTH * 20];
    size_t length = format_number(line, (uint64_t)syscall(SYS_gettid), 10);
    line[length++] = ' ';
    line[length++] = kind;
    line[length++] = ' ';
    length += format_number(line + length, size, 10);
    /* Frame 0 is this function and frame 1 the wrapper: start at the caller. */
    for (int i = 2; i < depth; i++) {
        line[length++] = ' ';
        line[length++] = '0';
        line[length++] = 'x';
        length += format_number(line + length, (uint64_t)(uintptr_t)frames[i], 16);
    }
    line[length++] = '\n';
    ssize_t ignored = write(trace_fd, line, length);
    (void)ignored;
    inside_tracer = 0;
}

static inline void count_allocation(char kind, size_t size) {
    struct counter_file *file = atomic_load_explicit(&counters, memory_order_acquire);
    if (file == NULL || inside_tracer) return;
    struct thread_counts *mine = current_thread_counts(file);
    atomic_fetch_add_explicit(&mine->allocations, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&mine->bytes, size, memory_order_relaxed);
    trace_allocation(file, kind, size);
}

static inline void count_free(void *pointer) {
    struct counter_file *file = atomic_load_explicit(&counters, memory_order_acquire);
    if (file == NULL || pointer == NULL || inside_tracer) return;
    atomic_fetch_add_explicit(&current_thread_counts(file)->frees, 1, memory_order_relaxed);
}

__attribute__((constructor)) static void malloc_counter_start(void) {
    const char *trace_path = getenv("MALLOC_COUNTER_TRACE");
    if (trace_path != NULL && trace_path[0] != '\0') {
        trace_fd = open(trace_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        /* backtrace() loads the unwinder on first use, which allocates: do it now. */
        void *frames[2];
        backtrace(frames, 2);
    }
    const char *path = getenv("MALLOC_COUNTER_FILE");
    if (path == NULL || path[0] == '\0') return;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (ftruncate(fd, sizeof(struct counter_file)) != 0) {
        close(fd);
        return;
    }
    void *mapped = mmap(NULL, sizeof(struct counter_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (mapped == MAP_FAILED) return;
    struct counter_file *file = mapped;
    file->slot_count = COUNTER_SLOTS;
    file->magic = COUNTER_MAGIC;
    atomic_store_explicit(&counters, file, memory_order_release);
}

void *malloc(size_t size) {
    count_allocation('m', size);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    count_allocation('c', count * size);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    count_allocation('r', size);
    return __libc_realloc(pointer, size);
}

void *reallocarray(void *pointer, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) total = SIZE_MAX; /* __libc_realloc fails with ENOMEM */
    count_allocation('r', total);
    return __libc_realloc(pointer, total);
}

void free(void *pointer) {
    count_free(pointer);
    __libc_free(pointer);
}

void *memalign(size_t alignment, size_t size) {
    count_allocation('a', size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count_allocation('a', size);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return 22; /* EINVAL */
    count_allocation('a', size);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return 12; /* ENOMEM */
    *result = pointer;
    return 0;
}

void *valloc(size_t size) {
    count_allocation('a', size);
    return __libc_valloc(size);
}

void *pvalloc(size_t size) {
    count_allocation('a', size);
    return __libc_pvalloc(size);
}
