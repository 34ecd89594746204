/* Paced keep-alive HTTP/1.1 load generator of benchmarks/switch.
 *
 * usage: switchload HOST PORT CONNECTIONS RATE MAX_SECONDS OUTPUT
 *
 * CONNECTIONS keep-alive connections share a total RATE (requests/s): connection c sends its
 * i-th request at t0 + (i * CONNECTIONS + c) / RATE, or as soon as its previous response is
 * complete when that comes later (one request in flight per connection, no pipelining).
 * Runs until SIGTERM/SIGINT or MAX_SECONDS, lets in-flight requests finish or time out (5 s),
 * then writes one line per request to OUTPUT:
 *   conn scheduled_ns start_ns end_ns status served_by reused error
 * (CLOCK_MONOTONIC nanoseconds; status 0 and error != "-" for a request that got no
 * response; served_by is the X-Served-By value or "-"; reused 1 when the request went out on
 * a connection that had already carried one).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum state { NOCONN, CONNECTING, WAITING, IDLE };

struct record {
    int64_t scheduled, start, end;
    int32_t conn, status;
    char served[24];
    char error[12];
    uint8_t reused;
};

struct conn {
    int fd;
    enum state state;
    int64_t next;      /* scheduled time of the next request */
    int64_t deadline;  /* of the request in flight */
    long record;       /* index of the request in flight, -1 when none */
    size_t used;
    char buf[16384];
};

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct record *records;
static long nrecords, capacity;
static struct sockaddr_in target;
static int epfd;
static const char request[] = "GET / HTTP/1.1\r\nHost: switch-benchmark\r\nUser-Agent: switchload\r\n\r\n";
static const int64_t request_timeout = 5000000000LL;

static void drop(struct conn *c) {
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = NOCONN;
    c->used = 0;
}

static void finish(struct conn *c, int status, const char *served, const char *error) {
    struct record *r = &records[c->record];
    r->end = now_ns();
    r->status = status;
    snprintf(r->served, sizeof r->served, "%s", served && *served ? served : "-");
    snprintf(r->error, sizeof r->error, "%s", error ? error : "-");
    c->record = -1;
}

static void fail(struct conn *c, const char *error) {
    finish(c, 0, NULL, error);
    drop(c);
}

static void send_request(struct conn *c) {
    ssize_t n = send(c->fd, request, sizeof request - 1, MSG_NOSIGNAL);
    if (n != (ssize_t)(sizeof request - 1)) {
        fail(c, n < 0 && errno == ECONNRESET ? "reset" : n < 0 && errno == EPIPE ? "epipe" : "send");
        return;
    }
    c->state = WAITING;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void start(struct conn *c, int index) {
    if (nrecords >= capacity) { stopping = 1; return; }
    struct record *r = &records[nrecords];
    memset(r, 0, sizeof *r);
    r->conn = index;
    r->scheduled = c->next;
    r->start = now_ns();
    r->reused = c->state == IDLE;
    c->record = nrecords++;
    c->deadline = r->start + request_timeout;
    if (c->state == IDLE) {
        send_request(c);
        return;
    }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { fail(c, "socket"); return; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->used = 0;
    if (connect(c->fd, (struct sockaddr *)&target, sizeof target) == 0) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
        send_request(c);
    } else if (errno == EINPROGRESS) {
        c->state = CONNECTING;
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    } else {
        close(c->fd);
        c->fd = -1;
        fail(c, "connect");
    }
}

/* Finds header `name` in the head [head, end) (case-insensitive); copies its trimmed value. */
static int header(const char *head, const char *end, const char *name, char *out, size_t size) {
    size_t len = strlen(name);
    const char *line = memchr(head, '\n', end - head);
    while (line && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\r', end - line);
        if (!eol || eol == line) break;
        if ((size_t)(eol - line) > len && line[len] == ':' && strncasecmp(line, name, len) == 0) {
            const char *v = line + len + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            size_t n = (size_t)(ve - v) < size - 1 ? (size_t)(ve - v) : size - 1;
            memcpy(out, v, n);
            out[n] = 0;
            return 1;
        }
        line = memchr(line, '\n', end - line);
    }
    return 0;
}

/* Length of a complete chunked body starting at p, or -1 while it is incomplete. */
static long chunked_length(const char *p, const char *end) {
    const char *q = p;
    for (;;) {
        const char *eol = memmem(q, end - q, "\r\n", 2);
        if (!eol) return -1;
        long size = strtol(q, NULL, 16);
        q = eol + 2;
        if (size == 0) {
            for (;;) { /* trailers, up to an empty line */
                const char *t = memmem(q, end - q, "\r\n", 2);
                if (!t) return -1;
                if (t == q) return (t + 2) - p;
                q = t + 2;
            }
        }
        if (end - q < size + 2) return -1;
        q += size + 2;
    }
}

static void readable(struct conn *c) {
    const char *ended = NULL; /* how the server side ended, when it did: "eof", "reset", "recv" */
    for (;;) {
        if (c->used == sizeof c->buf) { fail(c, "toolarge"); return; }
        ssize_t n = recv(c->fd, c->buf + c->used, sizeof c->buf - c->used, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0 && errno == EINTR) continue;
        if (c->state == IDLE) { drop(c); return; } /* an idle connection was closed (or got stray bytes) */
        if (n <= 0) {
            ended = n == 0 ? "eof" : errno == ECONNRESET ? "reset" : "recv";
            break;
        }
        c->used += n;
    }
    const char *head = c->buf, *bufend = c->buf + c->used;
    const char *headend = memmem(head, c->used, "\r\n\r\n", 4);
    if (!headend) { if (ended) fail(c, ended); return; }
    headend += 4;
    int status = 0;
    if (c->used < 12 || strncmp(head, "HTTP/1.", 7) != 0 || sscanf(head + 9, "%3d", &status) != 1) {
        fail(c, "parse");
        return;
    }
    char value[64];
    long body;
    if (header(head, headend, "Transfer-Encoding", value, sizeof value) && strcasestr(value, "chunked")) {
        body = chunked_length(headend, bufend);
        if (body < 0) { if (ended) fail(c, ended); return; }
    } else if (header(head, headend, "Content-Length", value, sizeof value)) {
        body = atol(value);
        if (bufend - headend < body) { if (ended) fail(c, ended); return; }
    } else {
        body = 0; /* only GET / is asked; a response without a length is taken as its head */
    }
    char served[24] = "";
    header(head, headend, "X-Served-By", served, sizeof served);
    int close_after = head[7] == '0' ||
        (header(head, headend, "Connection", value, sizeof value) && strcasestr(value, "close"));
    finish(c, status, served, NULL);
    size_t consumed = (headend - head) + body;
    if (close_after || ended || consumed != c->used) { drop(c); return; }
    c->used = 0;
    c->state = IDLE;
}

static void writable(struct conn *c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) { fail(c, "connect"); return; }
    send_request(c);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS RATE MAX_SECONDS OUTPUT\n", argv[0]);
        return 2;
    }
    int nconn = atoi(argv[3]);
    double rate = atof(argv[4]), max_seconds = atof(argv[5]);
    if (nconn < 1 || nconn > 1024 || rate <= 0 || max_seconds <= 0) { fprintf(stderr, "bad arguments\n"); return 2; }
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons(atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1) { fprintf(stderr, "bad host\n"); return 2; }
    capacity = (long)(rate * max_seconds * 1.1) + 10000;
    records = calloc(capacity, sizeof *records);
    struct conn *conns = calloc(nconn, sizeof *conns);
    if (!records || !conns) { perror("calloc"); return 1; }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);

    const int64_t interval = (int64_t)(1e9 * nconn / rate); /* between two requests of one connection */
    const int64_t t0 = now_ns() + 1000000;
    const int64_t hard_stop = t0 + (int64_t)(max_seconds * 1e9);
    for (int i = 0; i < nconn; i++) {
        conns[i].fd = -1;
        conns[i].state = NOCONN;
        conns[i].record = -1;
        conns[i].next = t0 + (int64_t)i * interval / nconn;
    }
    printf("started %lld\n", (long long)t0);
    fflush(stdout);

    int64_t drain_until = 0;
    struct epoll_event events[64];
    for (;;) {
        int64_t now = now_ns();
        if (!stopping && now >= hard_stop) stopping = 1;
        if (stopping && !drain_until) drain_until = now + request_timeout + 500000000LL;
        int busy = 0;
        int64_t wake = now + 100000000LL;
        for (int i = 0; i < nconn; i++) {
            struct conn *c = &conns[i];
            if (c->record >= 0 && now >= c->deadline) fail(c, "timeout");
            if (!stopping && (c->state == NOCONN || c->state == IDLE) && now >= c->next) {
                start(c, i);
                c->next += interval;
            }
            if (c->record >= 0) {
                busy = 1;
                if (c->deadline < wake) wake = c->deadline;
            } else if (!stopping && c->next < wake) {
                wake = c->next;
            }
        }
        if (stopping && (!busy || now >= drain_until)) break;
        struct itimerspec its = {0};
        if (wake <= now) wake = now + 1000;
        its.it_value.tv_sec = wake / 1000000000LL;
        its.it_value.tv_nsec = wake % 1000000000LL;
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        int n = epoll_wait(epfd, events, 64, 200);
        for (int k = 0; k < n; k++) {
            struct conn *c = events[k].data.ptr;
            if (!c) {
                uint64_t expirations;
                if (read(tfd, &expirations, sizeof expirations) < 0) { /* woken early: fine */ }
                continue;
            }
            if (c->fd < 0) continue;
            if (c->state == CONNECTING) writable(c);
            else readable(c);
        }
    }
    for (int i = 0; i < nconn; i++)
        if (conns[i].record >= 0) fail(&conns[i], "unfinished");

    FILE *out = fopen(argv[6], "w");
    if (!out) { perror(argv[6]); return 1; }
    for (long i = 0; i < nrecords; i++) {
        struct record *r = &records[i];
        fprintf(out, "%d %lld %lld %lld %d %s %d %s\n", r->conn, (long long)r->scheduled, (long long)r->start,
                (long long)r->end, r->status, r->served[0] ? r->served : "-", r->reused,
                r->error[0] ? r->error : "-");
    }
    fclose(out);
    return 0;
}
