/*
 * echo_server - a TCP echo server with a goroutine per connection, the way
 * a Go program writes it:
 *
 *     ln, _ := net.Listen("tcp", addr)
 *     for {
 *         c, err := ln.Accept()
 *         if err != nil { back off and retry }
 *         go func() { io.Copy(c, c); c.Close() }()
 *     }
 *
 * Each connection's goroutine blocks in go_read/go_write; the runtime parks
 * it and runs the others, so thousands of connections need only
 * GOMAXPROCS threads.
 *
 * Usage: echo_server [port | host:port]    (default 127.0.0.1:9000)
 * Try:   echo_server & printf 'hello\n' | nc -q1 127.0.0.1 9000
 */
#include <goroutine.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    ssize_t n;
    while ((n = go_read(fd, buf, sizeof buf)) > 0) {
        if (go_write(fd, buf, (size_t)n) < 0)
            break;
    }
    go_close(fd);
}

/* The address ln is bound to, as "host:port" (port 0 asked for any). */
static const char *bound_address(int ln, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getsockname(ln, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(buf, cap, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    return buf;
}

int main(int argc, char **argv)
{
    char addr[256] = "127.0.0.1:9000";
    if (argc > 1)
        snprintf(addr, sizeof addr, strchr(argv[1], ':') ? "%s" : "127.0.0.1:%s", argv[1]);
    int ln = go_listen("tcp", addr, 0);
    if (ln < 0) {
        fprintf(stderr, "echo_server: listen %s: %s\n", addr, strerror(-ln));
        return 1;
    }
    printf("echo server listening on %s\n", bound_address(ln, addr, sizeof addr));
    fflush(stdout);
    int64_t backoff = 0;
    for (;;) {
        int c = go_accept(ln, NULL, NULL);
        if (c == -EMFILE || c == -ENFILE || c == -ENOBUFS || c == -ENOMEM) {
            /* Out of descriptors or memory: wait for some to come back, as
             * Go's HTTP server does (5 ms, doubling up to 1 s). */
            backoff = backoff ? backoff * 2 : 5000000;
            if (backoff > 1000000000)
                backoff = 1000000000;
            fprintf(stderr, "echo_server: accept: %s; retrying in %lld ms\n", strerror(-c),
                    (long long)(backoff / 1000000));
            go_sleep(backoff);
            continue;
        }
        if (c < 0) {
            fprintf(stderr, "echo_server: accept: %s\n", strerror(-c));
            return 1;
        }
        backoff = 0;
        if (go(serve, (void *)(intptr_t)c) != 0)
            go_close(c);
    }
}
