/*
 * http_hello - a minimal HTTP/1.1 "Hello, World!" server with a goroutine
 * per connection, answering as Go's net/http does for
 *
 *     http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
 *         io.WriteString(w, "Hello, World!\n")
 *     })
 *
 * Connections are kept alive; pipelined requests are answered in order,
 * all that arrived together in one write. A request is read only as far
 * as the blank line that ends its headers (a body is not expected and not
 * read: this is a benchmark target, not a web server). "Connection: close",
 * or HTTP/1.0 without "Connection: keep-alive", closes after the answer.
 *
 * Usage: http_hello [port | host:port]     (default 127.0.0.1:8080)
 * Try:   curl -i http://127.0.0.1:8080/   or   wrk -c 100 http://127.0.0.1:8080/
 */
#include <goroutine.h>

#include "http_parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BODY "Hello, World!\n"

/* The response, as Go writes it: ~130 bytes. */
static int respond(char *out, size_t cap)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return snprintf(out, cap,
                    "HTTP/1.1 200 OK\r\n"
                    "Date: %s\r\n"
                    "Content-Length: %zu\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "\r\n" BODY,
                    date, sizeof BODY - 1);
}

static void serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char in[8192], out[16384];
    size_t have = 0;
    int done = 0;
    while (!done) {
        ssize_t n = go_read(fd, in + have, sizeof in - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        /* Answer every complete request in the buffer with one write. */
        size_t used = 0, olen = 0, len;
        while (!done && http_next_request(in + used, have - used, &len, &done)) {
            if (olen + 256 > sizeof out) {
                if (go_write(fd, out, olen) < 0)
                    goto out;
                olen = 0;
            }
            olen += (size_t)respond(out + olen, sizeof out - olen);
            used += len;
        }
        if (olen && go_write(fd, out, olen) < 0)
            break;
        memmove(in, in + used, have - used);
        have -= used;
        if (have == sizeof in)
            break; /* headers larger than we accept: give up on the client */
    }
out:
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
    char addr[256] = "127.0.0.1:8080";
    if (argc > 1)
        snprintf(addr, sizeof addr, strchr(argv[1], ':') ? "%s" : "127.0.0.1:%s", argv[1]);
    int ln = go_listen("tcp", addr, 0);
    if (ln < 0) {
        fprintf(stderr, "http_hello: listen %s: %s\n", addr, strerror(-ln));
        return 1;
    }
    printf("http_hello listening on http://%s/\n", bound_address(ln, addr, sizeof addr));
    fflush(stdout);
    int64_t backoff = 0;
    for (;;) {
        int c = go_accept(ln, NULL, NULL);
        if (c == -EMFILE || c == -ENFILE || c == -ENOBUFS || c == -ENOMEM) {
            backoff = backoff ? backoff * 2 : 5000000; /* Go's 5 ms .. 1 s */
            if (backoff > 1000000000)
                backoff = 1000000000;
            go_sleep(backoff);
            continue;
        }
        if (c < 0) {
            fprintf(stderr, "http_hello: accept: %s\n", strerror(-c));
            return 1;
        }
        backoff = 0;
        if (go(serve, (void *)(intptr_t)c) != 0)
            go_close(c);
    }
}
