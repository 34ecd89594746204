/*
 * open_loop: a constant-rate, open-loop HTTP/1.1 load generator for latency percentiles.
 *
 * Request i is due at start + i / rate, whether or not earlier requests have been answered. It goes out on an idle
 * keep-alive connection at its due time, or waits for the next connection that becomes idle. Its latency runs from
 * the due time (not the send time) to the last byte of the response, so a stalled server is charged for the requests
 * that queue up behind it (no coordinated omission).
 *
 * usage: open_loop HOST PORT PATH RATE SECONDS CONNECTIONS
 * prints: key value lines (sent, completed, errors, achieved_rate, p50_us, p90_us, p99_us, p999_us, max_us)
 *
 * Responses must carry Content-Length (no chunked bodies); that is what the benchmark backend sends.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define READ_BUFFER 65536
#define DRAIN_NS 2000000000ull /* answers still missing this long after the last due time count as errors */

struct connection {
    int fd;
    int busy;
    uint64_t due_ns;    /* due time of the request in flight */
    size_t have;        /* bytes of the current response head read so far */
    int head_done;      /* the head is complete; body bytes are counted, not kept */
    int closing;        /* the response said Connection: close; reconnect before the next request */
    size_t remaining;   /* body bytes still to come once the head is complete */
    char buffer[READ_BUFFER];
};

static struct sockaddr_in target;
static char request[512];
static size_t request_length;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_connection(int epoll_fd, struct connection *connection) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&target, sizeof target) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = connection};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        close(fd);
        return -1;
    }
    connection->fd = fd;
    connection->busy = 0;
    connection->have = 0;
    connection->head_done = 0;
    connection->closing = 0;
    return 0;
}

static int send_request(struct connection *connection, uint64_t due_ns) {
    size_t sent = 0;
    while (sent < request_length) {
        ssize_t n = send(connection->fd, request + sent, request_length - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        sent += (size_t)n;
    }
    connection->busy = 1;
    connection->due_ns = due_ns;
    connection->have = 0;
    connection->head_done = 0;
    return 0;
}

/* Once the head is complete, sets head_done and the body bytes still to come. Returns -1 for a head without
 * Content-Length or one larger than the buffer. */
static int parse_head(struct connection *connection) {
    char *end = memmem(connection->buffer, connection->have, "\r\n\r\n", 4);
    if (end == NULL) return connection->have >= READ_BUFFER - 1 ? -1 : 0;
    *end = '\0'; /* the head becomes a C string for the field search */
    size_t head_length = (size_t)(end - connection->buffer) + 4;
    size_t body_read = connection->have - head_length;
    int has_length = 0;
    for (char *line = strstr(connection->buffer, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0) {
            size_t length = strtoull(line + 17, NULL, 10);
            connection->remaining = length > body_read ? length - body_read : 0;
            has_length = 1;
        } else if (strncasecmp(line + 2, "Connection:", 11) == 0 && strncasecmp(line + 13, " close", 6) == 0) {
            connection->closing = 1;
        }
    }
    connection->head_done = has_length;
    return has_length ? 0 : -1;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t percentile(const uint64_t *sorted, size_t count, double fraction) {
    if (count == 0) return 0;
    size_t index = (size_t)(fraction * (double)count);
    return sorted[index >= count ? count - 1 : index];
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: open_loop HOST PORT PATH RATE SECONDS CONNECTIONS\n");
        return 2;
    }
    double rate = atof(argv[4]), seconds = atof(argv[5]);
    int connection_count = atoi(argv[6]);
    if (rate <= 0 || seconds <= 0 || connection_count <= 0) {
        fprintf(stderr, "open_loop: RATE, SECONDS and CONNECTIONS must be positive\n");
        return 2;
    }
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1) {
        fprintf(stderr, "open_loop: HOST must be an IPv4 address\n");
        return 2;
    }
    request_length = (size_t)snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n",
                                      argv[3], argv[1], argv[2]);
    prctl(PR_SET_TIMERSLACK, 1UL); /* wake up at the due time, not up to 50 us later */

    size_t total = (size_t)(rate * seconds);
    uint64_t interval_ns = (uint64_t)(1e9 / rate);
    uint64_t *latencies = calloc(total, sizeof *latencies);
    uint64_t *queue = calloc(total, sizeof *queue); /* due times of requests waiting for an idle connection */
    struct connection *connections = calloc((size_t)connection_count, sizeof *connections);
    struct connection **idle = calloc((size_t)connection_count, sizeof *idle);
    if (!latencies || !queue || !connections || !idle) {
        fprintf(stderr, "open_loop: out of memory\n");
        return 1;
    }
    int epoll_fd = epoll_create1(0);
    int timer_fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct epoll_event timer_event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer_fd, &timer_event);

    size_t idle_count = 0;
    for (int i = 0; i < connection_count; i++) {
        if (open_connection(epoll_fd, &connections[i]) != 0) {
            fprintf(stderr, "open_loop: cannot connect to %s:%s: %s\n", argv[1], argv[2], strerror(errno));
            return 1;
        }
        idle[idle_count++] = &connections[i];
    }

    size_t scheduled = 0, completed = 0, errors = 0, queue_head = 0, queue_tail = 0;
    uint64_t start = now_ns() + 1000000ull;
    uint64_t last_due = start + (total - 1) * interval_ns;
    struct epoll_event events[256];

    while (completed + errors < total) {
        uint64_t now = now_ns();
        if (scheduled == total && now > last_due + DRAIN_NS) break;
        /* Everything due by now goes out, or waits in the queue for an idle connection. */
        while (scheduled < total && start + scheduled * interval_ns <= now) {
            uint64_t due = start + scheduled * interval_ns;
            scheduled++;
            if (idle_count > 0) {
                struct connection *connection = idle[--idle_count];
                if (send_request(connection, due) != 0) {
                    errors++;
                    close(connection->fd);
                    if (open_connection(epoll_fd, connection) == 0) idle[idle_count++] = connection;
                }
            } else {
                queue[queue_tail++] = due;
            }
        }
        uint64_t wake = scheduled < total ? start + scheduled * interval_ns : last_due + DRAIN_NS;
        struct itimerspec when = {.it_value = {.tv_sec = (time_t)(wake / 1000000000ull),
                                               .tv_nsec = (long)(wake % 1000000000ull)}};
        timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &when, NULL);

        int ready = epoll_wait(epoll_fd, events, 256, -1);
        if (ready < 0) {
            if (errno == EINTR) continue;
            perror("open_loop: epoll_wait");
            return 1;
        }
        for (int e = 0; e < ready; e++) {
            struct connection *connection = events[e].data.ptr;
            if (connection == NULL) {
                uint64_t expirations;
                if (read(timer_fd, &expirations, sizeof expirations) < 0) { /* spurious wake-up: nothing to do */ }
                continue;
            }
            size_t room = READ_BUFFER - 1 - (connection->head_done ? 0 : connection->have);
            ssize_t n = recv(connection->fd, connection->buffer + (connection->head_done ? 0 : connection->have),
                             room, 0);
            if (n <= 0 || !connection->busy) {
                /* Closed or failed (or unsolicited bytes): the request in flight is lost; reconnect. */
                if (connection->busy) errors++;
                epoll_ctl(epoll_fd, EPOLL_CTL_DEL, connection->fd, NULL);
                close(connection->fd);
                if (open_connection(epoll_fd, connection) != 0) continue;
            } else {
                if (connection->head_done) {
                    connection->remaining -= (size_t)n < connection->remaining ? (size_t)n : connection->remaining;
                } else {
                    connection->have += (size_t)n;
                    if (parse_head(connection) != 0) {
                        fprintf(stderr, "open_loop: response without Content-Length\n");
                        return 1;
                    }
                }
                if (!connection->head_done || connection->remaining > 0) continue;
                latencies[completed++] = now_ns() - connection->due_ns;
                connection->busy = 0;
                if (connection->closing) {
                    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, connection->fd, NULL);
                    close(connection->fd);
                    if (open_connection(epoll_fd, connection) != 0) continue;
                }
            }
            if (queue_head < queue_tail) {
                if (send_request(connection, queue[queue_head++]) != 0) errors++;
            } else {
                idle[idle_count++] = connection;
            }
        }
    }
    errors = total - completed; /* lost, unanswered in time, or never sent */
    double elapsed = (double)(now_ns() - start) / 1e9;

    qsort(latencies, completed, sizeof *latencies, compare_u64);
    printf("sent %zu\ncompleted %zu\nerrors %zu\n", scheduled, completed, errors);
    printf("achieved_rate %.1f\n", completed / (elapsed > seconds ? seconds : elapsed));
    printf("p50_us %.1f\n", percentile(latencies, completed, 0.50) / 1e3);
    printf("p90_us %.1f\n", percentile(latencies, completed, 0.90) / 1e3);
    printf("p99_us %.1f\n", percentile(latencies, completed, 0.99) / 1e3);
    printf("p999_us %.1f\n", percentile(latencies, completed, 0.999) / 1e3);
    printf("max_us %.1f\n", completed ? latencies[completed - 1] / 1e3 : 0.0);
    return 0;
}
