/*
 * test_hook_sem - the hooks keep libc's blocking semantics, call by call,
 * from goroutines (linked with goroutine::hook, the static archive):
 *
 *  - 64 goroutines block in read(2) on sockets and 64 in read(2) on
 *    pipes before anyone writes; then writer goroutines are started.
 *    Without the hooks the readers hold every P (at any GOMAXPROCS) and
 *    the writers never run: a watchdog fails the test after 60 s;
 *  - blocking connect returns the real result (0, or ECONNREFUSED, never
 *    EINPROGRESS) and leaves O_NONBLOCK as it was;
 *  - a descriptor the user made non-blocking (SOCK_NONBLOCK, fcntl,
 *    FIONBIO) gets EAGAIN at once; cleared again, the read waits;
 *  - SO_RCVTIMEO ends a read with EAGAIN; partial reads; EOF; EPIPE;
 *    a 4 MiB blocking write to a slow reader returns the whole count,
 *    every byte checked;
 *  - blocking accept, poll on two descriptors and select wake on the one
 *    that gets data, with the right revents and sets; timeouts return 0;
 *  - epoll_wait on the user's own epoll descriptor;
 *  - nanosleep, usleep and clock_nanosleep (relative and absolute) are
 *    never early;
 *  - regular files: write, pread, fsync from goroutines;
 *  - errno is left alone by calls that succeed.
 */
#include "hook_util.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>

static void on_alarm(int sig)
{
    (void)sig;
    static const char m[] = "FAIL: watchdog: goroutines blocked in hooked calls starved the "
                            "rest (the hooks are not parking)\n";
    (void)!write(2, m, sizeof m - 1);
    _exit(1);
}

/* errno's address is per thread: set it afresh after this goroutine may
 * have moved (see goroutine.h). */
__attribute__((noinline)) static void set_errno(int e)
{
    __asm__ __volatile__("" ::: "memory");
    errno = e;
}

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- many blocked readers, then writers ---- */
#define NR 64
static int sp[NR][2], pp[NR][2];
static int got[2 * NR];
static go_wg wg;

static void reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    int fd = i < NR ? sp[i][0] : pp[i - NR][0];
    char c = 0;
    ssize_t r = read(fd, &c, 1);
    CHECK_EQ(r, 1);
    CHECK_EQ(c, (char)('a' + i % 26));
    got[i] = 1;
    go_wg_done(&wg);
}

static void writer(void *arg)
{
    int i = (int)(intptr_t)arg;
    int fd = i < NR ? sp[i][1] : pp[i - NR][1];
    char c = (char)('a' + i % 26);
    CHECK_EQ(write(fd, &c, 1), 1);
    go_wg_done(&wg);
}

static void started(void *arg)
{
    int *n = arg;
    __atomic_fetch_add(n, 1, __ATOMIC_RELAXED);
}

static void test_starvation(void)
{
    for (int i = 0; i < NR; i++) {
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]) == 0);
        CHECK(pipe(pp[i]) == 0);
    }
    for (int i = 0; i < 2 * NR; i++) {
        go_wg_add(&wg, 1);
        CHECK_EQ(go(reader, (void *)(intptr_t)i), 0);
    }
    /* Let every reader reach its read, then see others still run. */
    int n = 0;
    for (int k = 0; k < 20; k++) {
        CHECK_EQ(go(started, &n), 0);
        go_sleep(1000000);
    }
    for (int i = 0; i < 2 * NR; i++) {
        go_wg_add(&wg, 1);
        CHECK_EQ(go(writer, (void *)(intptr_t)i), 0);
    }
    go_wg_wait(&wg);
    for (int i = 0; i < 2 * NR; i++) {
        CHECK_EQ(got[i], 1);
        if (i < NR) {
            close(sp[i][0]);
            close(sp[i][1]);
        } else {
            close(pp[i - NR][0]);
            close(pp[i - NR][1]);
        }
    }
}

/* ---- one goroutine's worth of semantics ---- */

static go_wg iwg; /* the semantics goroutine's helpers */

static int listener(int *port, int nonblock)
{
    int l = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    CHECK(l >= 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(l, 64) == 0);
    socklen_t len = sizeof a;
    CHECK(getsockname(l, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return l;
}

static int dial(int port, int *err)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int r = connect(s, (struct sockaddr *)&a, sizeof a);
    *err = r == 0 ? 0 : go_errno();
    if (r != 0) {
        close(s);
        return -1;
    }
    return s;
}

struct conn_arg {
    int port;
    int fd;
};

static void do_dial(void *arg)
{
    struct conn_arg *c = arg;
    int e;
    go_sleep(20000000); /* the acceptor is waiting by now */
    c->fd = dial(c->port, &e);
    CHECK_EQ(e, 0);
    go_wg_done(&iwg);
}

struct slow {
    int fd;
    size_t n;
    int ok;
};

static void slow_reader(void *arg)
{
    struct slow *s = arg;
    static char buf[65536];
    size_t off = 0;
    int ok = 1;
    while (off < s->n) {
        ssize_t r = read(s->fd, buf, sizeof buf);
        if (r <= 0) {
            ok = 0;
            break;
        }
        for (ssize_t k = 0; k < r; k++)
            if ((unsigned char)buf[k] != (unsigned char)((off + (size_t)k) * 7 % 251))
                ok = 0;
        off += (size_t)r;
        if (off < 1 << 20)
            go_sleep(200000);
    }
    s->ok = ok && off == s->n;
    go_wg_done(&iwg);
}

static void delayed_write(void *arg)
{
    int fd = (int)(intptr_t)arg;
    go_sleep(30000000);
    CHECK_EQ(write(fd, "x", 1), 1);
    go_wg_done(&iwg);
}

static void semantics(void *arg)
{
    (void)arg;
    int e;
    /* connect: refused is refused, not EINPROGRESS. */
    int port;
    int l = listener(&port, 0);
    int dead = hook_free_port();
    CHECK_EQ(dial(dead, &e), -1);
    CHECK_EQ(e, ECONNREFUSED);

    /* Blocking accept (parks) against a dial from another goroutine. */
    struct conn_arg ca = {.port = port, .fd = -1};
    go_wg_add(&iwg, 1);
    CHECK_EQ(go(do_dial, &ca), 0);
    int a = accept(l, NULL, NULL);
    CHECK(a >= 0);
    go_wg_wait(&iwg);
    int c = ca.fd;
    CHECK(c >= 0);
    CHECK_EQ(fcntl(c, F_GETFL) & O_NONBLOCK, 0); /* connect left it blocking */

    /* Partial read, then the user's own non-blocking views. */
    char buf[128];
    CHECK_EQ(write(c, "0123456789", 10), 10);
    CHECK_EQ(read(a, buf, sizeof buf), 10);
    CHECK(memcmp(buf, "0123456789", 10) == 0);
    int fl = fcntl(a, F_GETFL);
    CHECK(fcntl(a, F_SETFL, fl | O_NONBLOCK) == 0);
    set_errno(0);
    CHECK_EQ(read(a, buf, 1), -1);
    CHECK_EQ(go_errno(), EAGAIN);
    CHECK(fcntl(a, F_SETFL, fl) == 0);
    int on = 1;
    CHECK(ioctl(a, FIONBIO, &on) == 0);
    CHECK_EQ(recv(a, buf, 1, 0), -1);
    CHECK_EQ(go_errno(), EAGAIN);
    on = 0;
    CHECK(ioctl(a, FIONBIO, &on) == 0);
    /* Blocking again: waits for the delayed byte. */
    go_wg_add(&iwg, 1);
    CHECK_EQ(go(delayed_write, (void *)(intptr_t)c), 0);
    CHECK_EQ(read(a, buf, sizeof buf), 1);
    go_wg_wait(&iwg);

    /* SO_RCVTIMEO: EAGAIN after the timeout, flags untouched. */
    struct timeval tv = {0, 50000};
    CHECK(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    int64_t t0 = mono();
    CHECK_EQ(read(a, buf, sizeof buf), -1);
    CHECK_EQ(go_errno(), EAGAIN);
    CHECK(mono() - t0 >= 50000000 - 1000000);
    CHECK_EQ(fcntl(a, F_GETFL) & O_NONBLOCK, 0);
    tv.tv_usec = 0;
    CHECK(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);

    /* 4 MiB in one blocking write to a slow reader: all of it. */
    enum { BIG = 4 << 20 };
    char *big = malloc(BIG);
    CHECK(big);
    for (size_t k = 0; k < BIG; k++)
        big[k] = (char)(k * 7 % 251);
    struct slow s = {.fd = a, .n = BIG};
    go_wg_add(&iwg, 1);
    CHECK_EQ(go(slow_reader, &s), 0);
    CHECK_EQ(write(c, big, BIG), BIG);
    go_wg_wait(&iwg);
    CHECK(s.ok);
    free(big);

    /* poll on two descriptors wakes on the one that got data. */
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd pf[2] = {{.fd = a, .events = POLLIN}, {.fd = p[0], .events = POLLIN}};
    CHECK_EQ(poll(pf, 2, 30), 0);
    go_wg_add(&iwg, 1);
    CHECK_EQ(go(delayed_write, (void *)(intptr_t)p[1]), 0);
    CHECK_EQ(poll(pf, 2, -1), 1);
    CHECK_EQ(pf[0].revents, 0);
    CHECK(pf[1].revents & POLLIN);
    go_wg_wait(&iwg);
    CHECK_EQ(read(p[0], buf, 1), 1);

    /* select likewise. */
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(a, &rs);
    FD_SET(p[0], &rs);
    struct timeval st = {0, 20000};
    CHECK_EQ(select((a > p[0] ? a : p[0]) + 1, &rs, NULL, NULL, &st), 0);
    go_wg_add(&iwg, 1);
    CHECK_EQ(go(delayed_write, (void *)(intptr_t)c), 0);
    FD_ZERO(&rs);
    FD_SET(a, &rs);
    FD_SET(p[0], &rs);
    CHECK_EQ(select((a > p[0] ? a : p[0]) + 1, &rs, NULL, NULL, NULL), 1);
    CHECK(FD_ISSET(a, &rs));
    CHECK(!FD_ISSET(p[0], &rs));
    go_wg_wait(&iwg);
    CHECK_EQ(read(a, buf, 1), 1);

    /* epoll_wait on our own epoll descriptor. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    CHECK_EQ(epoll_wait(ep, &ev, 1, 20), 0);
    go_wg_add(&iwg, 1);
    CHECK_EQ(go(delayed_write, (void *)(intptr_t)p[1]), 0);
    CHECK_EQ(epoll_wait(ep, &ev, 1, -1), 1);
    CHECK_EQ(ev.data.fd, p[0]);
    go_wg_wait(&iwg);
    close(ep);

    /* EOF, then EPIPE (SIGPIPE ignored in main). */
    CHECK(shutdown(c, SHUT_WR) == 0);
    CHECK_EQ(read(a, buf, sizeof buf), 0);
    close(a);
    go_sleep(10000000);
    ssize_t w = 0;
    for (int k = 0; k < 100 && w >= 0; k++)
        w = send(c, "y", 1, 0);
    CHECK_EQ(w, -1);
    e = go_errno();
    CHECK(e == EPIPE || e == ECONNRESET);
    close(c);
    close(l);
    close(p[0]);
    close(p[1]);

    /* A user-non-blocking listener: EAGAIN at once. */
    l = listener(&port, 1);
    CHECK_EQ(accept(l, NULL, NULL), -1);
    CHECK_EQ(go_errno(), EAGAIN);
    close(l);

    /* Sleeps are never early. */
    t0 = mono();
    CHECK_EQ(usleep(10000), 0);
    CHECK(mono() - t0 >= 10000000);
    t0 = mono();
    struct timespec ts = {0, 10000000};
    CHECK_EQ(nanosleep(&ts, NULL), 0);
    CHECK(mono() - t0 >= 10000000);
    t0 = mono();
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL), 0);
    CHECK(mono() - t0 >= 10000000);
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 10000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    CHECK_EQ(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, NULL), 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    CHECK(now.tv_sec > abs.tv_sec || (now.tv_sec == abs.tv_sec && now.tv_nsec >= abs.tv_nsec));
    ts.tv_nsec = 1000000000;
    CHECK_EQ(nanosleep(&ts, NULL), -1);
    CHECK_EQ(go_errno(), EINVAL);

    /* A regular file: write, fsync, pread back; errno left alone. */
    char path[] = "/tmp/hook-sem-XXXXXX";
    int f = mkstemp(path);
    CHECK(f >= 0);
    close(f);
    f = open(path, O_RDWR | O_TRUNC);
    CHECK(f >= 0);
    set_errno(1234);
    CHECK_EQ(write(f, "file data", 9), 9);
    CHECK_EQ(go_errno(), 1234);
    CHECK_EQ(fsync(f), 0);
    CHECK_EQ(go_errno(), 1234);
    CHECK_EQ(pread(f, buf, 4, 5), 4);
    CHECK(memcmp(buf, "data", 4) == 0);
    CHECK_EQ(go_errno(), 1234);
    close(f);
    unlink(path);
    go_wg_done(&wg);
}

static void *plain_thread(void *arg)
{
    (void)arg;
    /* A plain thread: libc's blocking read, with a plain thread writer. */
    int s[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
    CHECK_EQ(write(s[1], "abc", 3), 3);
    char b[8];
    CHECK_EQ(read(s[0], b, sizeof b), 3);
    struct timeval tv = {0, 20000};
    CHECK(setsockopt(s[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    CHECK_EQ(read(s[0], b, sizeof b), -1);
    CHECK_EQ(errno, EAGAIN);
    close(s[0]);
    close(s[1]);
    return NULL;
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(60);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, plain_thread, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    test_starvation();
    go_wg_add(&wg, 1);
    CHECK_EQ(go(semantics, NULL), 0);
    go_wg_wait(&wg);
    printf("ok\n");
    return 0;
}
