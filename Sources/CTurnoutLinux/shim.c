#define _GNU_SOURCE
#include "CTurnoutLinux.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

const int turnout_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
const int turnout_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
const int turnout_EPOLL_CTL_DEL = EPOLL_CTL_DEL;
const uint32_t turnout_EPOLLIN = EPOLLIN;
const uint32_t turnout_EPOLLOUT = EPOLLOUT;
const uint32_t turnout_EPOLLRDHUP = EPOLLRDHUP;
const uint32_t turnout_EPOLLHUP = EPOLLHUP;
const uint32_t turnout_EPOLLERR = EPOLLERR;
const uint32_t turnout_EPOLLET = EPOLLET;
const uint32_t turnout_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;

int turnout_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int turnout_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int turnout_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i] = evs[i].events;
        data[i] = evs[i].data.u64;
    }
    return n;
}

int turnout_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int turnout_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

int turnout_eventfd_drain(int fd) {
    uint64_t value;
    return (int)read(fd, &value, sizeof value);
}

int turnout_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

int turnout_timerfd_arm(int fd, int64_t first_ns, int64_t interval_ns) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    spec.it_value.tv_sec = first_ns / 1000000000;
    spec.it_value.tv_nsec = first_ns % 1000000000;
    spec.it_interval.tv_sec = interval_ns / 1000000000;
    spec.it_interval.tv_nsec = interval_ns % 1000000000;
    return timerfd_settime(fd, 0, &spec, NULL);
}

int turnout_timerfd_drain(int fd) {
    uint64_t expirations;
    return (int)read(fd, &expirations, sizeof expirations);
}

int turnout_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int turnout_socket_nonblocking(int domain, int type, int protocol) {
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

int turnout_pipe2(int fds[2]) { return pipe2(fds, O_NONBLOCK | O_CLOEXEC); }

int turnout_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

ssize_t turnout_splice(int fd_in, int fd_out, size_t len, int more) {
    unsigned int flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
    if (more) flags |= SPLICE_F_MORE;
    return splice(fd_in, NULL, fd_out, NULL, len, flags);
}

static int fill_set(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
    return 0;
}

int turnout_block_signals(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int turnout_signalfd(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int turnout_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return -1;
    return (int)info.ssi_signo;
}

int turnout_spawn(const char *file, char *const argv[], char *const envp[], pid_t *pid, int *output_fd) {
    int fds[2];
    // The write end stays blocking: it becomes the child's standard output, which programs expect to block.
    if (pipe2(fds, O_CLOEXEC) != 0) return errno;
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
        int error = errno;
        if (null_fd >= 0) close(null_fd);
        close(fds[0]);
        close(fds[1]);
        return error;
    }
    // An exec that fails reports its errno through this pipe (closed on a successful exec): vfork's shared memory
    // would do, but a sanitizer may run vfork as fork.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        int error = errno;
        close(null_fd);
        close(fds[0]);
        close(fds[1]);
        return error;
    }
    // posix_spawn cannot set PR_SET_PDEATHSIG, so the child is made by vfork, as posix_spawn makes it (the parent
    // thread waits until the child has exec'd or exited; nothing is copied). Every signal is blocked around it, so
    // that no handler of this process runs in the child on the shared stack; the child resets them all.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t parent = getpid();
    pid_t child = vfork();
    if (child == 0) {
        int child_error = 0;
        // Default dispositions (the proxy ignores SIGPIPE; handlers mean nothing after exec anyway).
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int signal = 1; signal < NSIG; signal++) {
            if (signal != SIGKILL && signal != SIGSTOP) sigaction(signal, &dfl, NULL);
        }
        // Its own process group, so that a timeout can signal everything it started; and SIGKILL when the thread
        // that spawned it (the control thread, which lives as long as the proxy) ends, so that a proxy killed
        // with SIGKILL leaves no command running. If the proxy died before prctl, getppid says so.
        if (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
            child_error = errno;
        } else if (getppid() != parent) {
            child_error = ESRCH;
        } else if (dup2(null_fd, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0) {
            child_error = errno;
        } else {
            // Everything else closes, but the report's write end, which closes on exec.
            if (report[1] > 3) close_range(3, (unsigned)report[1] - 1, 0);
            close_range((unsigned)report[1] + 1, ~0U, 0);
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            execvpe(file, argv, envp);
            child_error = errno;
        }
        ssize_t ignored = write(report[1], &child_error, sizeof child_error);
        (void)ignored;
        _exit(127);
    }
    int error = child < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    close(report[1]);
    if (child > 0) {
        int reported = 0;
        ssize_t n;
        while ((n = read(report[0], &reported, sizeof reported)) < 0 && errno == EINTR) {}
        if (n == (ssize_t)sizeof reported) error = reported != 0 ? reported : EIO;
    }
    close(report[0]);
    close(null_fd);
    close(fds[1]);
    if (child > 0 && error != 0) {
        // The child could not exec: it has exited; collect it.
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    }
    if (error != 0) {
        close(fds[0]);
        return error;
    }
    *pid = child;
    *output_fd = fds[0];
    return 0;
}

int turnout_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int turnout_set_thread_name(pthread_t thread, const char *name) { return pthread_setname_np(thread, name); }

ssize_t turnout_random_bytes(void *buffer, size_t count) { return getrandom(buffer, count, 0); }

int turnout_errno(void) { return errno; }

int turnout_malloc_trim(void) { return malloc_trim(0); }

uint64_t turnout_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t turnout_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void turnout_owned_add_u64(uint64_t *p, uint64_t v) {
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

uint64_t turnout_atomic_load_u64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

// --- the per-thread block cache ---------------------------------------------------------------------------

#define BLOCK_CACHE_GRAIN 16
#define BLOCK_CACHE_CLASSES 16  // 16, 32, ... 256 bytes
#define BLOCK_CACHE_KEPT 128
#define BLOCK_LARGE ((size_t)-1)

// Before each block: its size class (or BLOCK_LARGE) and the size asked for. 16 bytes, so the block keeps
// malloc's alignment.
struct block_header {
    size_t size_class;
    size_t size;
};

struct cached_block {
    struct cached_block *next;
};

struct block_cache {
    struct cached_block *heads[BLOCK_CACHE_CLASSES];
    unsigned counts[BLOCK_CACHE_CLASSES];
};

static __thread struct block_cache *thread_block_cache;
// Set once the thread's cache is freed: blocks freed after that (other keys' destructors) go to the heap.
static __thread int thread_block_cache_gone;
static pthread_key_t block_cache_key;
static pthread_once_t block_cache_key_once = PTHREAD_ONCE_INIT;

static void block_cache_release(void *value) {
    struct block_cache *cache = value;
    for (int i = 0; i < BLOCK_CACHE_CLASSES; i++) {
        struct cached_block *block = cache->heads[i];
        while (block != NULL) {
            struct cached_block *next = block->next;
            free(block);
            block = next;
        }
    }
    free(cache);
    thread_block_cache = NULL;
    thread_block_cache_gone = 1;
}

static void block_cache_make_key(void) { pthread_key_create(&block_cache_key, block_cache_release); }

static struct block_cache *block_cache(void) {
    if (thread_block_cache != NULL || thread_block_cache_gone) return thread_block_cache;
    pthread_once(&block_cache_key_once, block_cache_make_key);
    struct block_cache *cache = calloc(1, sizeof(struct block_cache));
    if (cache == NULL) return NULL;
    thread_block_cache = cache;
    pthread_setspecific(block_cache_key, cache);
    return cache;
}

void *turnout_block_cache_malloc(size_t size, const char *file, int line) {
    (void)file;
    (void)line;
    if (size == 0) return NULL;  // as CRYPTO_malloc answers a request for nothing
    size_t size_class = (size + BLOCK_CACHE_GRAIN - 1) / BLOCK_CACHE_GRAIN - 1;
    struct block_header *header;
    if (size_class < BLOCK_CACHE_CLASSES) {
        struct block_cache *cache = block_cache();
        if (cache != NULL && cache->heads[size_class] != NULL) {
            struct cached_block *block = cache->heads[size_class];
            cache->heads[size_class] = block->next;
            cache->counts[size_class]--;
            header = (struct block_header *)block;
        } else {
            header = malloc(sizeof(struct block_header) + (size_class + 1) * BLOCK_CACHE_GRAIN);
            if (header == NULL) return NULL;
        }
    } else {
        size_class = BLOCK_LARGE;
        header = malloc(sizeof(struct block_header) + size);
        if (header == NULL) return NULL;
    }
    header->size_class = size_class;
    header->size = size;
    return header + 1;
}

void turnout_block_cache_free(void *pointer, const char *file, int line) {
    (void)file;
    (void)line;
    if (pointer == NULL) return;
    struct block_header *header = (struct block_header *)pointer - 1;
    size_t size_class = header->size_class;
    if (size_class != BLOCK_LARGE) {
        struct block_cache *cache = block_cache();
        if (cache != NULL && cache->counts[size_class] < BLOCK_CACHE_KEPT) {
            struct cached_block *block = (struct cached_block *)header;
            block->next = cache->heads[size_class];
            cache->heads[size_class] = block;
            cache->counts[size_class]++;
            return;
        }
    }
    free(header);
}

void *turnout_block_cache_realloc(void *pointer, size_t size, const char *file, int line) {
    if (pointer == NULL) return turnout_block_cache_malloc(size, file, line);
    if (size == 0) {
        turnout_block_cache_free(pointer, file, line);
        return NULL;
    }
    struct block_header *header = (struct block_header *)pointer - 1;
    if (header->size_class != BLOCK_LARGE && size <= (header->size_class + 1) * BLOCK_CACHE_GRAIN) {
        header->size = size;
        return pointer;
    }
    void *moved = turnout_block_cache_malloc(size, file, line);
    if (moved == NULL) return NULL;
    memcpy(moved, pointer, header->size < size ? header->size : size);
    turnout_block_cache_free(pointer, file, line);
    return moved;
}
