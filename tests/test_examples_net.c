/*
 * test_examples_net.c - the network examples work as documented:
 *   test_examples_net http PATH/http_hello
 *   test_examples_net echo PATH/echo_server
 * starts the example on a free loopback port (it prints the address it
 * listens on), talks to it with plain blocking sockets, checks every byte
 * of every answer, and kills it.
 *
 * http_hello: three pipelined requests in one write get three answers; a
 * request split over two writes gets one; an empty line between requests
 * is allowed; "Connection: close" and HTTP/1.0 without keep-alive end the
 * connection after the answer; HTTP/1.0 with keep-alive does not; 20
 * connections at once.
 * echo_server: 1 MiB of random bytes in random pieces comes back the
 * same, on 8 connections at once.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/socket.h>

static int port;

static pid_t start(const char *path)
{
    int p[2];
    CHECK_EQ(pipe(p), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed check leaves no server behind */
        dup2(p[1], 1);
        close(p[0]);
        execl(path, path, "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[256];
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t r = read(p[0], line + n, 1);
        CHECK(r == 1);
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = 0;
    close(p[0]);
    const char *colon = strrchr(line, ':');
    CHECK(colon != NULL);
    port = atoi(colon + 1);
    CHECK(port > 0);
    return pid;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {30, 0}; /* a hang fails instead of blocking ctest */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const void *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        CHECK(w > 0);
        buf = (const char *)buf + w;
        n -= (size_t)w;
    }
}

/* ---- http ----------------------------------------------------------------------- */

#define BODY "Hello, World!\n"

/* Read one response and check it byte by byte (the Date varies). */
static void expect_response(int fd)
{
    char buf[512];
    size_t n = 0;
    char *end = NULL;
    while (!end) {
        CHECK(n < sizeof buf - 1);
        ssize_t r = read(fd, buf + n, 1); /* byte by byte: never past it */
        CHECK_EQ(r, 1);
        n++;
        buf[n] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\nDate: ", 23) == 0);
    CHECK(strstr(buf, "\r\nContent-Length: 14\r\n") != NULL);
    CHECK(strstr(buf, "\r\nContent-Type: text/plain; charset=utf-8\r\n") != NULL);
    char body[sizeof BODY];
    size_t got = 0;
    while (got < sizeof BODY - 1) {
        ssize_t r = read(fd, body + got, sizeof BODY - 1 - got);
        CHECK(r > 0);
        got += (size_t)r;
    }
    CHECK(memcmp(body, BODY, sizeof BODY - 1) == 0);
}

static void expect_eof(int fd)
{
    char b;
    CHECK_EQ(read(fd, &b, 1), 0);
}

#define REQ "GET / HTTP/1.1\r\nHost: test\r\nUser-Agent: t\r\n\r\n"

static void *http_conn(void *arg)
{
    (void)arg;
    int fd = dial();
    send_all(fd, REQ REQ REQ, 3 * (sizeof REQ - 1));
    for (int i = 0; i < 3; i++)
        expect_response(fd);
    send_all(fd, "GET / HTTP/1.1\r\nHo", 18);
    usleep(20000);
    send_all(fd, "st: test\r\n\r\n\r\n", 14); /* and an empty line after it */
    expect_response(fd);
    send_all(fd, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 42);
    expect_response(fd);
    send_all(fd, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 38);
    expect_response(fd);
    expect_eof(fd);
    close(fd);
    fd = dial();
    send_all(fd, "GET / HTTP/1.0\r\n\r\n", 18);
    expect_response(fd);
    expect_eof(fd);
    close(fd);
    return NULL;
}

/* ---- echo ------------------------------------------------------------------------ */

#define ECHO_BYTES (1 << 20)

static void *echo_conn(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull | 1;
    uint8_t *out = malloc(ECHO_BYTES), *in = malloc(ECHO_BYTES);
    CHECK(out && in);
    for (size_t i = 0; i < ECHO_BYTES; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        out[i] = (uint8_t)s;
    }
    int fd = dial();
    size_t sent = 0, got = 0;
    while (got < ECHO_BYTES) {
        if (sent < ECHO_BYTES && sent - got < 65536) {
            size_t k = 1 + (size_t)(s % 9000);
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            if (k > ECHO_BYTES - sent)
                k = ECHO_BYTES - sent;
            send_all(fd, out + sent, k);
            sent += k;
        }
        ssize_t r = recv(fd, in + got, ECHO_BYTES - got, sent < ECHO_BYTES ? MSG_DONTWAIT : 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        CHECK(r > 0);
        got += (size_t)r;
    }
    CHECK(memcmp(in, out, ECHO_BYTES) == 0);
    shutdown(fd, SHUT_WR);
    expect_eof(fd);
    close(fd);
    free(out);
    free(in);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s http|echo PATH\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    bool http = strcmp(argv[1], "http") == 0;
    pid_t pid = start(argv[2]);
    int nconn = http ? 20 : 8;
    pthread_t t[20];
    for (int i = 0; i < nconn; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, http ? http_conn : echo_conn, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 0; i < nconn; i++)
        CHECK_EQ(pthread_join(t[i], NULL), 0);
    CHECK_EQ(kill(pid, SIGTERM), 0);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    printf("ok\n");
    return 0;
}
