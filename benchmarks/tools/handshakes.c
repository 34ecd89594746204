/*
 * handshakes: TLS 1.3 handshakes per second, one thread, many connections at once (as wrk, but wrk offers every
 * new connection the session of the one before, so it measures resumed handshakes only).
 *
 * Each of CONNECTIONS slots connects, makes a TLS 1.3 handshake, sends GET / with Connection: close, reads the
 * response to the end of the connection, and starts again, for SECONDS. With "new" every handshake is a full one
 * (no session offered); with "resumed" a slot offers the session (ticket) its previous connection got, so every
 * handshake but a slot's first resumes. The server's certificate is not verified: the server's work is the same.
 *
 * usage: handshakes PORT CONNECTIONS SECONDS new|resumed
 * prints: key value lines (completed, resumed, errors, rate)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum phase { CONNECTING, HANDSHAKING, WRITING, READING };

struct slot {
    int fd;
    enum phase phase;
    SSL *ssl;
    SSL_SESSION *session; /* "resumed": what the slot's previous connection got */
    size_t got;           /* response bytes read */
    char head[16];        /* the first bytes of the response */
};

static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
static SSL_CTX *ctx;
static int epfd, resume;
static struct sockaddr_in server;
static unsigned long completed, resumed_count, errors;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void watch(struct slot *s, uint32_t events, int op) {
    struct epoll_event event = {.events = events, .data.ptr = s};
    if (epoll_ctl(epfd, op, s->fd, &event) != 0) {
        perror("epoll_ctl");
        exit(1);
    }
}

static void start(struct slot *s) {
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0) {
        perror("socket");
        exit(1);
    }
    s->phase = CONNECTING;
    s->got = 0;
    if (connect(s->fd, (struct sockaddr *)&server, sizeof server) != 0 && errno != EINPROGRESS) {
        perror("connect");
        exit(1);
    }
    watch(s, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Ends the slot's connection (a completed exchange, or an error) and starts the next one. */
static void finish(struct slot *s, int ok) {
    if (ok) {
        /* The exchange ended as it should: marked so, or freeing the connection would retire its session. */
        SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        completed++;
        if (SSL_session_reused(s->ssl)) resumed_count++;
        if (resume) {
            SSL_SESSION *session = SSL_get1_session(s->ssl);
            if (session != NULL) {
                SSL_SESSION_free(s->session);
                s->session = session;
            }
        }
    } else {
        errors++;
    }
    if (s->ssl != NULL) SSL_free(s->ssl);
    s->ssl = NULL;
    ERR_clear_error();
    close(s->fd); /* leaves the epoll set with it */
    start(s);
}

/* Waits for what OpenSSL asked for; any other outcome of an SSL call is an error. */
static int wait_for(struct slot *s, int result) {
    switch (SSL_get_error(s->ssl, result)) {
    case SSL_ERROR_WANT_READ: watch(s, EPOLLIN, EPOLL_CTL_MOD); return 1;
    case SSL_ERROR_WANT_WRITE: watch(s, EPOLLOUT, EPOLL_CTL_MOD); return 1;
    default: return 0;
    }
}

static void step(struct slot *s) {
    char buffer[16384];
    int result;
    switch (s->phase) {
    case CONNECTING: {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) return finish(s, 0);
        s->ssl = SSL_new(ctx);
        SSL_set_fd(s->ssl, s->fd);
        SSL_set_connect_state(s->ssl);
        if (resume && s->session != NULL) SSL_set_session(s->ssl, s->session);
        s->phase = HANDSHAKING;
    }
    /* fall through */
    case HANDSHAKING:
        result = SSL_do_handshake(s->ssl);
        if (result != 1) {
            if (!wait_for(s, result)) finish(s, 0);
            return;
        }
        s->phase = WRITING;
    /* fall through */
    case WRITING:
        result = SSL_write(s->ssl, request, sizeof request - 1);
        if (result <= 0) {
            if (!wait_for(s, result)) finish(s, 0);
            return;
        }
        s->phase = READING;
    /* fall through */
    case READING:
        for (;;) {
            result = SSL_read(s->ssl, buffer, sizeof buffer);
            if (result > 0) {
                if (s->got < sizeof s->head) {
                    size_t take = sizeof s->head - s->got < (size_t)result ? sizeof s->head - s->got : (size_t)result;
                    memcpy(s->head + s->got, buffer, take);
                }
                s->got += (size_t)result;
                continue;
            }
            int error = SSL_get_error(s->ssl, result);
            if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
                wait_for(s, result);
                return;
            }
            /* The end of the connection, with close_notify or without: the response is whole if it said 200. */
            int ok = (error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL)
                     && s->got >= 12 && memcmp(s->head, "HTTP/1.1 200", 12) == 0;
            return finish(s, ok);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[4], "new") != 0 && strcmp(argv[4], "resumed") != 0)) {
        fprintf(stderr, "usage: handshakes PORT CONNECTIONS SECONDS new|resumed\n");
        return 2;
    }
    int connections = atoi(argv[2]);
    double seconds = atof(argv[3]);
    resume = strcmp(argv[4], "resumed") == 0;
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)atoi(argv[1]));
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Sessions are kept by hand, per slot; OpenSSL's own client cache would do nothing more. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

    epfd = epoll_create1(0);
    struct slot *slots = calloc((size_t)connections, sizeof *slots);
    for (int i = 0; i < connections; i++) start(&slots[i]);

    uint64_t begin = now_ns(), end = begin + (uint64_t)(seconds * 1e9);
    struct epoll_event events[256];
    while (now_ns() < end) {
        int count = epoll_wait(epfd, events, 256, 100);
        for (int i = 0; i < count; i++) step(events[i].data.ptr);
    }
    double elapsed = (double)(now_ns() - begin) / 1e9;
    printf("completed %lu\nresumed %lu\nerrors %lu\nrate %.1f\n", completed, resumed_count, errors,
           (double)completed / elapsed);
    return 0;
}
