/*
 * An LD_PRELOAD interposer that makes the state journal's fdatasync and ftruncate fail on demand,
 * so a test can drive the real binary into an unsound journal and back out of it.
 *
 * While the file $TURNOUT_FAULT_DIR/fdatasync exists, fdatasync fails with EIO without syncing;
 * likewise $TURNOUT_FAULT_DIR/ftruncate for ftruncate. Otherwise each call is the system call.
 * Only the state journal makes these calls, so nothing else in the process is affected.
 *
 * Build: gcc -shared -fPIC -O2 -o libfault_injector.so fault_injector.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static int armed(const char *call) {
    const char *directory = getenv("TURNOUT_FAULT_DIR");
    if (directory == NULL) return 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", directory, call) >= (int)sizeof path) return 0;
    return access(path, F_OK) == 0;
}

int fdatasync(int fd) {
    if (armed("fdatasync")) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

int ftruncate(int fd, off_t length) {
    if (armed("ftruncate")) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_ftruncate, fd, length);
}
