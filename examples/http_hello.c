/*
 * http_hello - a minimal HTTP/1.1 "Hello, World!" server with a goroutine
 * per connection, answering as Go's net/http does for
 *
 *     http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
 *         io.WriteString(w, "Hello, World!\n")
 *     })
 *
 * Connections are kept alive; pipelined requests are answered in order,
 * all that arrived together in one write. Requests are read a line at a
 * time with the library's buffered reader (go_bufreader, Go's
 * bufio.Reader), only as far as the blank line that ends the headers (a
 * body is not expected and not read: this is a benchmark target, not a
 * web server). "Connection: close", or HTTP/1.0 without "Connection:
 * keep-alive", closes after the answer.
 *
 * Usage: http_hello [port | host:port]     (default 127.0.0.1:8080)
 * Try:   curl -i http://127.0.0.1:8080/   or   wrk -c 100 http://127.0.0.1:8080/
 */
#include <goroutine.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BODY "Hello, World!\n"

/* True if the header line `line` is header `name` and its value contains
 * `token` (both compared without regard to case). */
static int header_has(const char *line, const char *name, const char *token)
{
    size_t nl = strlen(name), tl = strlen(token);
    if (strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return 0;
    for (const char *v = line + nl + 1; *v; v++)
        if (strncasecmp(v, token, tl) == 0)
            return 1;
    return 0;
}

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
    go_bufreader *r = go_bufreader_new(fd, 8192);
    char line[8192], out[16384];
    size_t olen = 0;
    int done = !r;
    while (!done) {
        /* Answer with one write all the requests that came together: write
         * once none of them is left buffered, before waiting for more. (A
         * client that sends part of a request and waits for the answers
         * before it sends the rest would wait for ever: pipelining clients
         * send whole requests.) */
        if (olen && go_bufreader_buffered(r) == 0) {
            if (go_write(fd, out, olen) < 0)
                break;
            olen = 0;
        }
        /* The request line; an empty line between requests is allowed. */
        ssize_t n = go_bufreader_read_line(r, line, sizeof line);
        if (n == 0)
            continue;
        if (n < 0)
            break; /* the end, an error, or a line too long for us */
        int http10 = n >= 8 && memcmp(line + n - 8, "HTTP/1.0", 8) == 0;
        int close = 0, keep_alive = 0;
        /* The headers, up to the blank line. */
        while ((n = go_bufreader_read_line(r, line, sizeof line)) > 0) {
            close |= header_has(line, "Connection", "close");
            keep_alive |= header_has(line, "Connection", "keep-alive");
        }
        if (n < 0)
            break;
        done = close || (http10 && !keep_alive);
        if (olen + 256 > sizeof out) {
            if (go_write(fd, out, olen) < 0)
                break;
            olen = 0;
        }
        olen += (size_t)respond(out + olen, sizeof out - olen);
    }
    if (olen && done)
        go_write(fd, out, olen);
    go_bufreader_free(r);
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
