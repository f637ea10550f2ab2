/*
 * test_net.c - sockets on the poller: go_listen/go_dial/go_accept/
 * go_connect over TCP (IPv4, IPv6 if the loopback has it, names) and unix
 * sockets; read and write deadlines and per-call timeouts (they fire with
 * -ETIMEDOUT and the connection stays usable); half-closed connections
 * read end of file; peers that reset connections mid-transfer give
 * errors, not crashes or SIGPIPE; address errors. Loopback only.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

static int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    CHECK_EQ(ss.ss_family, AF_INET6);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int listen_tcp(const char *host, int *port)
{
    char addr[64];
    snprintf(addr, sizeof addr, "%s:0", host);
    int ln = go_listen("tcp", addr, 0);
    CHECK(ln >= 0);
    *port = local_port(ln);
    return ln;
}

/* A connected pair over loopback TCP: *a dialed, *b accepted. */
static void tcp_pair(int *a, int *b)
{
    int port;
    int ln = listen_tcp("127.0.0.1", &port);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    *a = go_dial("tcp", addr);
    CHECK(*a >= 0);
    *b = go_accept(ln, NULL, NULL);
    CHECK(*b >= 0);
    CHECK_EQ(go_close(ln), 0);
}

/* Echo everything read on fd until end of file, then close it. */
static void echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t n;
    while ((n = go_read(fd, buf, sizeof buf)) > 0)
        CHECK_EQ(go_write(fd, buf, (size_t)n), n);
    CHECK_EQ(n, 0);
    CHECK_EQ(go_close(fd), 0);
}

/* Accept one connection on ln, echo it, close ln. */
static void echo_once(void *arg)
{
    int ln = (int)(intptr_t)arg;
    int c = go_accept(ln, NULL, NULL);
    CHECK(c >= 0);
    CHECK_EQ(go_close(ln), 0);
    echo_conn((void *)(intptr_t)c);
}

static void check_echo(int fd, const char *msg)
{
    size_t n = strlen(msg);
    char buf[256];
    CHECK_EQ(go_write(fd, msg, n), (ssize_t)n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = go_read(fd, buf + got, n - got);
        CHECK(r > 0);
        got += (size_t)r;
    }
    CHECK(memcmp(buf, msg, n) == 0);
}

/* ---- TCP basics ------------------------------------------------------------------ */

static void test_tcp_basics(void)
{
    int port;
    int ln = listen_tcp("127.0.0.1", &port);
    int fl = fcntl(ln, F_GETFL);
    CHECK(fl & O_NONBLOCK);
    CHECK(fcntl(ln, F_GETFD) & FD_CLOEXEC);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    int c = go_dial("tcp", addr);
    CHECK(c >= 0);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int s = go_accept(ln, (struct sockaddr *)&peer, &plen);
    CHECK(s >= 0);
    CHECK_EQ(plen, sizeof peer);
    CHECK_EQ(peer.sin_family, AF_INET);
    CHECK_EQ(ntohs(peer.sin_port), local_port(c));
    /* Both ends: non-blocking, close-on-exec, TCP_NODELAY (as Go). */
    int fds[2] = {c, s};
    for (int i = 0; i < 2; i++) {
        CHECK(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
        CHECK(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
        int nd = 0;
        socklen_t l = sizeof nd;
        CHECK_EQ(getsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &nd, &l), 0);
        CHECK(nd != 0);
    }
    CHECK_EQ(go(echo_conn, (void *)(intptr_t)s), 0);
    check_echo(c, "hello");
    check_echo(c, "world, again");
    CHECK_EQ(go_close(c), 0);

    /* A name: "localhost" (whatever it resolves to first, one of its
     * addresses is the IPv4 loopback we listen on). */
    snprintf(addr, sizeof addr, "localhost:%d", port);
    c = go_dial("tcp", addr);
    CHECK(c >= 0);
    s = go_accept(ln, NULL, NULL);
    CHECK(s >= 0);
    CHECK_EQ(go(echo_conn, (void *)(intptr_t)s), 0);
    check_echo(c, "by name");
    CHECK_EQ(go_close(c), 0);
    CHECK_EQ(go_close(ln), 0);

    /* Refused: the listener is gone. */
    CHECK_EQ(go_dial("tcp", addr), -ECONNREFUSED);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    CHECK_EQ(go_dial("tcp4", addr), -ECONNREFUSED);

    /* Listening on a name prefers its IPv4 address, as Go. */
    ln = go_listen("tcp", "localhost:0", 16);
    CHECK(ln >= 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    CHECK_EQ(getsockname(ln, (struct sockaddr *)&ss, &sl), 0);
    CHECK_EQ(ss.ss_family, AF_INET);
    CHECK_EQ(go_close(ln), 0);

    /* go_connect on sockets the caller made, blocking or not; their flags
     * stay as they were. */
    ln = listen_tcp("127.0.0.1", &port);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int nb = 0; nb < 2; nb++) {
        int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nb ? SOCK_NONBLOCK : 0), 0);
        CHECK(u >= 0);
        int before = fcntl(u, F_GETFL);
        CHECK_EQ(go_connect(u, (struct sockaddr *)&sa, sizeof sa), 0);
        CHECK_EQ(fcntl(u, F_GETFL), before);
        s = go_accept(ln, NULL, NULL);
        CHECK(s >= 0);
        CHECK_EQ(go(echo_conn, (void *)(intptr_t)s), 0);
        check_echo(u, nb ? "user non-blocking socket" : "user blocking socket");
        CHECK_EQ(go_close(u), 0);
    }
    /* A listener the caller made (blocking) works with go_accept. */
    int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in any = {.sin_family = AF_INET};
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(bind(u, (struct sockaddr *)&any, sizeof any), 0);
    CHECK_EQ(listen(u, 8), 0);
    char uaddr[64];
    snprintf(uaddr, sizeof uaddr, "127.0.0.1:%d", local_port(u));
    CHECK_EQ(go(echo_once, (void *)(intptr_t)u), 0);
    c = go_dial("tcp", uaddr);
    CHECK(c >= 0);
    check_echo(c, "user listener");
    CHECK_EQ(go_close(c), 0);
    CHECK_EQ(go_close(ln), 0);
    printf("ok  tcp: listen, dial, accept, names, refused, user sockets\n");
}

static int accept_result;
static go_wg accept_wg;

static void blocked_acceptor(void *arg)
{
    accept_result = go_accept((int)(intptr_t)arg, NULL, NULL);
    go_wg_done(&accept_wg);
}

/* Closing a listener wakes its acceptors (Go's Listener.Close), and
 * go_dial_timeout connects within a generous limit. */
static void test_listener_close(void)
{
    int port;
    int ln = listen_tcp("127.0.0.1", &port);
    go_wg_add(&accept_wg, 1);
    CHECK_EQ(go(blocked_acceptor, (void *)(intptr_t)ln), 0);
    go_sleep(5000000);
    CHECK_EQ(go_close(ln), 0);
    go_wg_wait(&accept_wg);
    CHECK_EQ(accept_result, -EBADF);

    ln = listen_tcp("127.0.0.1", &port);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    int c = go_dial_timeout("tcp", addr, 3600 * 1000000000LL);
    CHECK(c >= 0);
    CHECK_EQ(go_close(c), 0);
    /* A zero timeout: connected at once, or out of time; never stuck. */
    c = go_dial_timeout("tcp", addr, 0);
    CHECK(c >= 0 || c == -ETIMEDOUT);
    if (c >= 0)
        CHECK_EQ(go_close(c), 0);
    CHECK_EQ(go_close(ln), 0);
    printf("ok  closing a listener wakes go_accept; go_dial_timeout\n");
}

static void test_address_errors(void)
{
    CHECK_EQ(go_dial("tcp", "127.0.0.1"), -EINVAL);
    CHECK_EQ(go_dial("tcp", "::1:80"), -EINVAL);
    CHECK_EQ(go_dial("tcp", "[::1]80"), -EINVAL);
    CHECK_EQ(go_dial("tcp", "127.0.0.1:"), -EINVAL);
    CHECK_EQ(go_dial("tcp", "127.0.0.1:99999"), -EINVAL);
    CHECK_EQ(go_dial("tcp", NULL), -EINVAL);
    CHECK_EQ(go_dial(NULL, "127.0.0.1:80"), -EINVAL);
    /* A datagram dial only records the peer: it succeeds without a
     * server. An unknown network is refused. */
    int u = go_dial("udp", "127.0.0.1:80");
    CHECK(u >= 0);
    CHECK_EQ(go_close(u), 0);
    CHECK_EQ(go_dial("sctp", "127.0.0.1:80"), -EPROTONOSUPPORT);
    CHECK_EQ(go_listen("sctp", "127.0.0.1:0", 0), -EPROTONOSUPPORT);
    CHECK_EQ(go_listen("tcp", "127.0.0.1", 0), -EINVAL);
    CHECK_EQ(go_listen("tcp6", "127.0.0.1:0", 0), -EADDRNOTAVAIL);
    char path[200];
    memset(path, 'x', sizeof path - 1);
    path[sizeof path - 1] = 0;
    CHECK_EQ(go_listen("unix", path, 0), -ENAMETOOLONG);
    CHECK_EQ(go_dial("unix", "/nonexistent/test_net.sock"), -ENOENT);
    CHECK_EQ(go_dial("unix", ""), -EINVAL);
    printf("ok  address errors\n");
}

/* ---- IPv6 and unix sockets ------------------------------------------------------- */

static void test_ipv6(void)
{
    int ln = go_listen("tcp6", "[::1]:0", 0);
    if (ln == -EADDRNOTAVAIL || ln == -EAFNOSUPPORT) {
        printf("--  IPv6 loopback not available: skipped\n");
        return;
    }
    CHECK(ln >= 0);
    char addr[64];
    snprintf(addr, sizeof addr, "[::1]:%d", local_port(ln));
    CHECK_EQ(go(echo_once, (void *)(intptr_t)ln), 0);
    int c = go_dial("tcp", addr);
    CHECK(c >= 0);
    check_echo(c, "over IPv6");
    CHECK_EQ(go_close(c), 0);
    CHECK_EQ(go_dial("tcp4", addr), -EADDRNOTAVAIL);
    printf("ok  IPv6 loopback\n");
}

static void test_unix(void)
{
    char path[108];
    snprintf(path, sizeof path, "/tmp/test_net_%d.sock", (int)getpid());
    unlink(path);
    int ln = go_listen("unix", path, 0);
    CHECK(ln >= 0);
    CHECK_EQ(go(echo_once, (void *)(intptr_t)ln), 0);
    int c = go_dial("unix", path);
    CHECK(c >= 0);
    check_echo(c, "over a unix socket");
    CHECK_EQ(go_close(c), 0);
    unlink(path);

    /* The abstract namespace, "@name" as in Go. */
    snprintf(path, sizeof path, "@test_net_%d", (int)getpid());
    ln = go_listen("unix", path, 0);
    CHECK(ln >= 0);
    CHECK_EQ(go(echo_once, (void *)(intptr_t)ln), 0);
    c = go_dial("unix", path);
    CHECK(c >= 0);
    check_echo(c, "abstract");
    CHECK_EQ(go_close(c), 0);
    printf("ok  unix sockets, path and abstract\n");
}

/* ---- deadlines ------------------------------------------------------------------- */

static int dl_fd;
static ssize_t dl_result;
static go_wg dl_wg;

static void blocked_reader(void *arg)
{
    (void)arg;
    char c;
    dl_result = go_read(dl_fd, &c, 1);
    go_wg_done(&dl_wg);
}

static void test_read_deadline(void)
{
    int a, b;
    tcp_pair(&a, &b);
    char buf[64];
    /* Fires while waiting. */
    CHECK_EQ(go_set_read_deadline(a, go_now() + 20000000), 0);
    CHECK_EQ(go_read(a, buf, sizeof buf), -ETIMEDOUT);
    /* Stays expired, even with data available, until moved. */
    CHECK_EQ(go_write(b, "x", 1), 1);
    CHECK_EQ(go_read(a, buf, sizeof buf), -ETIMEDOUT);
    CHECK_EQ(go_fd_wait(a, GO_POLL_IN, INT64_MAX), -ETIMEDOUT);
    /* Writes are unaffected. */
    CHECK_EQ(go_write(a, "y", 1), 1);
    CHECK_EQ(go_read(b, buf, 1), 1);
    CHECK_EQ(buf[0], 'y');
    /* Cleared: the connection works, nothing was lost. */
    CHECK_EQ(go_set_read_deadline(a, 0), 0);
    CHECK_EQ(go_read(a, buf, sizeof buf), 1);
    CHECK_EQ(buf[0], 'x');

    /* A deadline moved into the past wakes a blocked reader. */
    dl_fd = a;
    go_wg_add(&dl_wg, 1);
    CHECK_EQ(go(blocked_reader, NULL), 0);
    go_sleep(5000000);
    CHECK_EQ(go_set_read_deadline(a, go_now() - 1), 0);
    go_wg_wait(&dl_wg);
    CHECK_EQ(dl_result, -ETIMEDOUT);

    /* A far deadline does not fire; data wakes the reader. */
    CHECK_EQ(go_set_read_deadline(a, go_now() + 3600 * 1000000000LL), 0);
    go_wg_add(&dl_wg, 1);
    CHECK_EQ(go(blocked_reader, NULL), 0);
    go_sleep(5000000);
    CHECK_EQ(go_write(b, "z", 1), 1);
    go_wg_wait(&dl_wg);
    CHECK_EQ(dl_result, 1);
    /* Shortened while a reader waits: it fires. */
    go_wg_add(&dl_wg, 1);
    CHECK_EQ(go(blocked_reader, NULL), 0);
    go_sleep(2000000);
    CHECK_EQ(go_set_deadline(a, go_now() + 10000000), 0);
    go_wg_wait(&dl_wg);
    CHECK_EQ(dl_result, -ETIMEDOUT);
    CHECK_EQ(go_set_deadline(a, 0), 0);

    /* Per-call timeouts, which leave no trace. */
    CHECK_EQ(go_read_timeout(a, buf, sizeof buf, 10000000), -ETIMEDOUT);
    CHECK_EQ(go_read_timeout(a, buf, sizeof buf, 0), -ETIMEDOUT);
    CHECK_EQ(go_write(b, "w", 1), 1);
    CHECK_EQ(go_read_timeout(a, buf, sizeof buf, 3600 * 1000000000LL), 1);
    CHECK_EQ(buf[0], 'w');
    CHECK_EQ(go_write(b, "v", 1), 1);
    CHECK_EQ(go_fd_wait(a, GO_POLL_IN, INT64_MAX), GO_POLL_IN);
    CHECK_EQ(go_read_timeout(a, buf, sizeof buf, 0), 1);
    CHECK_EQ(buf[0], 'v');

    /* The listener's read deadline limits go_accept. */
    int port;
    int ln = listen_tcp("127.0.0.1", &port);
    CHECK_EQ(go_set_read_deadline(ln, go_now() + 10000000), 0);
    CHECK_EQ(go_accept(ln, NULL, NULL), -ETIMEDOUT);
    CHECK_EQ(go_close(ln), 0);
    CHECK_EQ(go_close(a), 0);
    CHECK_EQ(go_close(b), 0);
    printf("ok  read deadlines and timeouts fire, the connection stays usable\n");
}

static int drain_fd;
static long drain_as;
static int drain_ok;
static go_wg drain_wg;

/* Read 'A's until the one 'B' that ends the stream. */
static void drain_until_b(void *arg)
{
    (void)arg;
    char buf[65536];
    for (;;) {
        ssize_t r = go_read(drain_fd, buf, sizeof buf);
        CHECK(r > 0);
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == 'B') {
                drain_ok = i == r - 1;
                go_wg_done(&drain_wg);
                return;
            }
            CHECK_EQ(buf[i], 'A');
            drain_as++;
        }
    }
}

static void test_write_deadline(void)
{
    int a, b;
    tcp_pair(&a, &b);
    size_t n = 64 << 20; /* far more than the socket buffers hold */
    char *big = malloc(n);
    CHECK(big);
    memset(big, 'A', n);
    CHECK_EQ(go_set_write_deadline(a, go_now() + 30000000), 0);
    CHECK_EQ(go_write(a, big, n), -ETIMEDOUT);
    CHECK_EQ(go_write(a, "B", 1), -ETIMEDOUT); /* still expired */
    CHECK_EQ(go_write_timeout(a, "B", 1, 3600 * 1000000000LL), -ETIMEDOUT);
    CHECK_EQ(go_fd_wait(a, GO_POLL_OUT, INT64_MAX), -ETIMEDOUT);
    /* Reads are unaffected. */
    CHECK_EQ(go_write(b, "r", 1), 1);
    char c;
    CHECK_EQ(go_read(a, &c, 1), 1);
    CHECK_EQ(go_set_write_deadline(a, 0), 0);
    /* Per-call timeouts: the buffers are still full. */
    CHECK_EQ(go_write_timeout(a, big, n, 10000000), -ETIMEDOUT);
    CHECK_EQ(go_write_timeout(a, big, n, 0), -ETIMEDOUT);
    /* Usable: a reader drains the A's and finds the B right after them. */
    drain_fd = b;
    go_wg_add(&drain_wg, 1);
    CHECK_EQ(go(drain_until_b, NULL), 0);
    CHECK_EQ(go_write(a, "B", 1), 1);
    go_wg_wait(&drain_wg);
    CHECK(drain_ok);
    CHECK(drain_as > 0);
    free(big);
    CHECK_EQ(go_close(a), 0);
    CHECK_EQ(go_close(b), 0);
    printf("ok  write deadlines and timeouts fire, the connection stays usable\n");
}

/* ---- half-close ------------------------------------------------------------------- */

static void test_half_close(void)
{
    int a, b;
    tcp_pair(&a, &b);
    char buf[64];
    CHECK_EQ(go_write(a, "last words", 10), 10);
    CHECK_EQ(shutdown(a, SHUT_WR), 0);
    size_t got = 0;
    ssize_t r;
    while ((r = go_read(b, buf + got, sizeof buf - got)) > 0)
        got += (size_t)r;
    CHECK_EQ(r, 0); /* end of file */
    CHECK_EQ(got, 10);
    CHECK_EQ(go_read(b, buf, sizeof buf), 0); /* and again */
    /* The other direction still works. */
    CHECK_EQ(go_write(b, "reply", 5), 5);
    got = 0;
    while (got < 5 && (r = go_read(a, buf + got, 5 - got)) > 0)
        got += (size_t)r;
    CHECK_EQ(got, 5);
    CHECK(memcmp(buf, "reply", 5) == 0);
    /* Writing on the shut side: EPIPE, no signal. */
    CHECK_EQ(go_write(a, "x", 1), -EPIPE);
    CHECK_EQ(go_close(b), 0);
    CHECK_EQ(go_read(a, buf, sizeof buf), 0);
    CHECK_EQ(go_close(a), 0);

    /* Unix sockets too. */
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_EQ(go_write(sv[0], "u", 1), 1);
    CHECK_EQ(shutdown(sv[0], SHUT_WR), 0);
    CHECK_EQ(go_read(sv[1], buf, sizeof buf), 1);
    CHECK_EQ(go_read(sv[1], buf, sizeof buf), 0);
    CHECK_EQ(go_close(sv[0]), 0);
    CHECK_EQ(go_close(sv[1]), 0);
    printf("ok  half-closed connections read end of file\n");
}

/* ---- resets ------------------------------------------------------------------------ */

enum { RESETS = 40 };
static go_wg reset_wg;
static int reset_errors[RESETS];

static void abortive_close(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(go_close(fd), 0);
}

/* Write until the peer's reset stops us; record the error. */
static void flood_writer(void *arg)
{
    int i = (int)(intptr_t)arg >> 16, fd = (int)(intptr_t)arg & 0xffff;
    static const char chunk[16384];
    ssize_t r;
    while ((r = go_write(fd, chunk, sizeof chunk)) > 0)
        ;
    reset_errors[i] = (int)r;
    CHECK_EQ(go_close(fd), 0);
    go_wg_done(&reset_wg);
}

/* Read a little, then reset the connection. */
static void resetting_reader(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    size_t got = 0;
    while (got < 100000) {
        ssize_t r = go_read(fd, buf, sizeof buf);
        CHECK(r > 0);
        got += (size_t)r;
    }
    abortive_close(fd);
    go_wg_done(&reset_wg);
}

static void test_reset(void)
{
    int port;
    int ln = listen_tcp("127.0.0.1", &port);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    go_wg_add(&reset_wg, 2 * RESETS);
    for (int i = 0; i < RESETS; i++) {
        int c = go_dial("tcp", addr);
        CHECK(c >= 0);
        int s = go_accept(ln, NULL, NULL);
        CHECK(s >= 0 && s < 0x10000);
        CHECK_EQ(go(flood_writer, (void *)(intptr_t)(i << 16 | s)), 0);
        CHECK_EQ(go(resetting_reader, (void *)(intptr_t)c), 0);
    }
    go_wg_wait(&reset_wg);
    for (int i = 0; i < RESETS; i++)
        CHECK(reset_errors[i] == -ECONNRESET || reset_errors[i] == -EPIPE);

    /* The reading side of a reset: an error or end of file, then EOF or
     * errors, never a crash. */
    int a, b;
    tcp_pair(&a, &b);
    CHECK_EQ(go_write(a, "unread", 6), 6);
    char buf[16];
    CHECK_EQ(go_read(b, buf, 1), 1);
    abortive_close(b);
    ssize_t r = go_read(a, buf, sizeof buf);
    CHECK(r == -ECONNRESET || r == 0);
    r = go_write(a, "x", 1);
    CHECK(r == -EPIPE || r == -ECONNRESET || r == 1);
    CHECK_EQ(go_close(a), 0);
    CHECK_EQ(go_close(ln), 0);
    printf("ok  %d connections reset mid-transfer: errors, no SIGPIPE\n", RESETS);
}

/*
 * The drained hint (io.c): after a short read, the next read waits for a
 * readiness report instead of trying the call. Data that arrives in
 * between, in every order against that read, must still be read, and a
 * read with a deadline must return data that is already there rather
 * than time out: a plain thread (the main thread here: nobody runs the
 * poller for it while it waits) and a goroutine each do 5,000 rounds of
 * short read, write, read, across both ends of a connection.
 */
static int hint_a, hint_b;
static go_wg hint_wg;

static void hint_rounds(int rd, int wr, const char *who)
{
    char buf[256];
    for (int i = 0; i < 5000; i++) {
        char c = (char)('a' + i % 26);
        CHECK_EQ(go_write(wr, &c, 1), 1);
        CHECK_EQ(go_read(rd, buf, sizeof buf), 1); /* short: drained */
        CHECK_EQ(buf[0], c);
        /* Written before the next read starts: no report collected yet. */
        CHECK_EQ(go_write(wr, "xy", 2), 2);
        ssize_t n = i % 2 ? go_read_timeout(rd, buf, sizeof buf, 1000000000LL)
                          : go_read_timeout(rd, buf, sizeof buf, 0);
        if (n == 1) /* "xy" may arrive as two segments */
            n += go_read(rd, buf + 1, sizeof buf - 1);
        CHECK_EQ(n, 2);
        CHECK(buf[0] == 'x' && buf[1] == 'y');
    }
    printf("ok  %s: 5,000 rounds of short read, write, read (with deadlines)\n", who);
}

static void hint_goroutine(void *arg)
{
    (void)arg;
    hint_rounds(hint_b, hint_a, "drained hint, goroutine");
    go_wg_done(&hint_wg);
}

static void test_drained_hint(void)
{
    tcp_pair(&hint_a, &hint_b);
    hint_rounds(hint_a, hint_b, "drained hint, plain thread");
    go_wg_add(&hint_wg, 1);
    CHECK_EQ(go(hint_goroutine, NULL), 0);
    go_wg_wait(&hint_wg);
    CHECK_EQ(go_close(hint_a), 0);
    CHECK_EQ(go_close(hint_b), 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_tcp_basics();
    test_listener_close();
    test_address_errors();
    test_ipv6();
    test_unix();
    test_read_deadline();
    test_write_deadline();
    test_half_close();
    test_reset();
    test_drained_hint();
    return 0;
}
