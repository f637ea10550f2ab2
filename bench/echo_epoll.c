/*
 * echo_epoll - the echo benchmark's ceiling: a TCP echo server written by
 * hand on epoll, with no runtime at all. One thread per CPU, each with its
 * own epoll set; the first thread also accepts, and deals the new
 * connections round-robin to every thread's set, where they stay.
 * Level-triggered; what a write could not send waits for EPOLLOUT. This is the physical ceiling for "a server on this machine
 * with this kernel": libgoroutine's echo server (examples/echo_server.c)
 * does the same system calls plus a scheduler, and netdriver reports its
 * throughput as a fraction of this one's.
 *
 * Prints "echo_epoll listening on HOST:PORT" and serves until killed.
 *
 *   usage: bench_echo_epoll [HOST:PORT]   (default 127.0.0.1:0)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    size_t off, len; /* unsent echo: buf[off, len) */
    char buf[65536];
};

static int ln;
static int *epfds;  /* one epoll set per thread */
static long nthreads;
static unsigned long dealt; /* connections accepted so far (thread 0 only) */

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void drop(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Send what is pending; false if the connection is gone. */
static int flush(int ep, struct conn *c)
{
    while (c->off < c->len) {
        ssize_t n = write(c->fd, c->buf + c->off, c->len - c->off);
        if (n < 0 && errno == EAGAIN) {
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return 1;
        }
        if (n <= 0)
            return 0;
        c->off += (size_t)n;
    }
    c->off = c->len = 0;
    return 1;
}

static void *worker(void *arg)
{
    int ep = epfds[(long)arg];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd = accept4(ln, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    continue; /* another thread got it, or a transient error */
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as Go */
                c = malloc(sizeof *c);
                if (!c) {
                    close(fd);
                    continue;
                }
                c->fd = fd;
                c->off = c->len = 0;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                if (epoll_ctl(epfds[dealt++ % (unsigned long)nthreads], EPOLL_CTL_ADD, fd,
                              &ev) < 0) {
                    close(fd);
                    free(c);
                }
                continue;
            }
            if (evs[i].events & EPOLLOUT) {
                if (!flush(ep, c)) {
                    drop(ep, c);
                    continue;
                }
                if (c->len == 0) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
                continue;
            }
            ssize_t r = read(c->fd, c->buf, sizeof c->buf);
            if (r < 0 && errno == EAGAIN)
                continue;
            if (r <= 0) {
                drop(ep, c);
                continue;
            }
            c->off = 0;
            c->len = (size_t)r;
            if (!flush(ep, c))
                drop(ep, c);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:0";
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host) {
        fprintf(stderr, "echo_epoll: bad address %s\n", addr);
        return 2;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "echo_epoll: bad IPv4 host %s\n", host);
        return 2;
    }
    ln = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ln < 0 || bind(ln, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ln, 4096) < 0)
        die("echo_epoll: listen");
    socklen_t len = sizeof sa;
    getsockname(ln, (struct sockaddr *)&sa, &len);
    printf("echo_epoll listening on %s:%d\n", host, ntohs(sa.sin_port));
    fflush(stdout);
    nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    epfds = calloc((size_t)nthreads, sizeof *epfds);
    if (!epfds)
        die("calloc");
    for (long i = 0; i < nthreads; i++)
        if ((epfds[i] = epoll_create1(EPOLL_CLOEXEC)) < 0)
            die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(epfds[0], EPOLL_CTL_ADD, ln, &lev) < 0)
        die("epoll_ctl listen");
    for (long i = 1; i < nthreads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void *)i) != 0)
            die("pthread_create");
    }
    worker((void *)0);
    return 0;
}
