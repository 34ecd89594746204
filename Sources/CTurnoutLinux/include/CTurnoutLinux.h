#ifndef TURNOUT_CTURNOUTLINUX_H
#define TURNOUT_CTURNOUTLINUX_H

// Prefixed wrappers for what Glibc's Swift module hides (everything behind
// _GNU_SOURCE, plus the epoll/eventfd/timerfd headers). The definitions live in
// shim.c, which is compiled with _GNU_SOURCE; inline definitions here would be
// compiled by the Swift importer without it.

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

// epoll
int turnout_epoll_create(void);
int turnout_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits for events; writes events and data into two parallel arrays.
int turnout_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int timeout_ms);

extern const int turnout_EPOLL_CTL_ADD;
extern const int turnout_EPOLL_CTL_MOD;
extern const int turnout_EPOLL_CTL_DEL;
extern const uint32_t turnout_EPOLLIN;
extern const uint32_t turnout_EPOLLOUT;
extern const uint32_t turnout_EPOLLRDHUP;
extern const uint32_t turnout_EPOLLHUP;
extern const uint32_t turnout_EPOLLERR;
extern const uint32_t turnout_EPOLLET;
extern const uint32_t turnout_EPOLLEXCLUSIVE;

// eventfd / timerfd
int turnout_eventfd(void);
int turnout_eventfd_signal(int fd);
int turnout_eventfd_drain(int fd);
int turnout_timerfd_create(void);
/// Arms a periodic timer (interval_ns > 0) or a one-shot (interval_ns == 0).
int turnout_timerfd_arm(int fd, int64_t first_ns, int64_t interval_ns);
int turnout_timerfd_drain(int fd);

// sockets
int turnout_accept4(int fd, struct sockaddr *addr, socklen_t *len);
int turnout_socket_nonblocking(int domain, int type, int protocol);

// pipes and splice
int turnout_pipe2(int fds[2]);
int turnout_set_pipe_size(int fd, int size);
ssize_t turnout_splice(int fd_in, int fd_out, size_t len, int more);

// signals
int turnout_block_signals(const int *signals, int count);
int turnout_signalfd(const int *signals, int count);
int turnout_signalfd_read(int fd);

// child processes
/// Starts `file` (looked up in PATH when it has no '/') with `argv` and `envp` in a process group of its own,
/// with an empty signal mask and default dispositions, standard input from /dev/null and standard output and
/// error into a new pipe, and no other descriptor of this process; it gets SIGKILL when the calling thread ends
/// (PR_SET_PDEATHSIG), so it does not outlive a proxy killed with SIGKILL. Returns 0 with `*pid` and `*output_fd` (the
/// pipe's non-blocking, close-on-exec read end), or the error number (ENOENT, EACCES, ...).
int turnout_spawn(const char *file, char *const argv[], char *const envp[], pid_t *pid, int *output_fd);
/// A descriptor that becomes readable when process `pid` ends (pidfd_open(2), close-on-exec); -1 and errno.
int turnout_pidfd_open(pid_t pid);

#include <pthread.h>
int turnout_set_thread_name(pthread_t thread, const char *name);

/// Fills `buffer` from the kernel's random source; returns bytes written or -1.
ssize_t turnout_random_bytes(void *buffer, size_t count);

int turnout_errno(void);

/// glibc's malloc_trim(0): gives the free pages of every arena back to the kernel; 1 if any were.
int turnout_malloc_trim(void);
uint64_t turnout_monotonic_ns(void);
uint64_t turnout_realtime_ns(void);

// per-worker metric slots: each slot has exactly one writing thread; other threads only load.
/// Adds `v` to a slot only the calling thread writes: a relaxed load and a relaxed store, not a
/// locked read-modify-write (which would cost as much as a shared counter even on a private line).
void turnout_owned_add_u64(uint64_t *p, uint64_t v);
/// Relaxed load of a slot another thread may be writing.
uint64_t turnout_atomic_load_u64(const uint64_t *p);

// Small blocks recycled per thread, for a library's allocator hooks (OpenSSL's CRYPTO_set_mem_functions, whose
// signatures these have): OpenSSL 3.0 allocates and frees a few small blocks on every record it writes, and a
// thread's free list gives them back without the heap. Blocks up to 256 bytes are kept, at most 128 per size
// class and thread, and freed when the thread exits; larger ones go to malloc. `file` and `line` are ignored.
void *turnout_block_cache_malloc(size_t size, const char *file, int line);
void *turnout_block_cache_realloc(void *pointer, size_t size, const char *file, int line);
void turnout_block_cache_free(void *pointer, const char *file, int line);

#ifdef __cplusplus
}
#endif
#endif
