/*
 * test_io.c - go_read/go_write and friends on every kind of descriptor:
 * regular files (syscall mode), pipes with and without O_NONBLOCK (whose
 * flags must not change), socket pairs, /dev/null and /dev/zero, vectored
 * I/O, end of file, EPIPE without SIGPIPE, bad arguments, a descriptor
 * number closed with close() and reused as another kind of file, and all
 * of it from a plain thread as well as from goroutines.
 */
#include "test_util.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 131u + (i >> 9)) & 0xff);
}

/* ---- regular files -------------------------------------------------------------- */

static void test_regular_file(void)
{
    char path[] = "/tmp/test_io_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    size_t n = 1 << 20;
    unsigned char *buf = malloc(n), *back = malloc(n);
    CHECK(buf && back);
    for (size_t i = 0; i < n; i++)
        buf[i] = pattern(i);
    CHECK_EQ(go_write(fd, buf, n), (ssize_t)n);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    size_t got = 0;
    for (;;) {
        ssize_t r = go_read(fd, back + got, n - got);
        CHECK(r >= 0);
        if (r == 0)
            break;
        got += (size_t)r;
    }
    CHECK_EQ(got, n);
    CHECK(memcmp(buf, back, n) == 0);
    /* Vectored, and always ready for go_fd_wait. */
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    struct iovec iov[3] = {{back, 10}, {back + 10, 0}, {back + 10, 100}};
    CHECK_EQ(go_readv(fd, iov, 3), 110);
    CHECK(memcmp(buf, back, 110) == 0);
    CHECK_EQ(go_fd_wait(fd, GO_POLL_IN | GO_POLL_OUT, 0), GO_POLL_IN | GO_POLL_OUT);
    CHECK_EQ(go_close(fd), 0);
    free(buf);
    free(back);

    /* A directory reads as an error, returned directly. */
    int d = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(d >= 0);
    char c;
    CHECK_EQ(go_read(d, &c, 1), -EISDIR);
    CHECK_EQ(go_close(d), 0);
}

static void *file_thread(void *arg)
{
    (void)arg;
    test_regular_file();
    return NULL;
}

/* ---- pipes ----------------------------------------------------------------------- */

struct pipe_job {
    int fd;
    size_t n;
    bool vectored;
    int flags;  /* F_GETFL before: must be the same after */
    go_wg *wg;
};

static void pipe_writer(void *arg)
{
    struct pipe_job *j = arg;
    unsigned char *buf = malloc(j->n);
    CHECK(buf);
    for (size_t i = 0; i < j->n; i++)
        buf[i] = pattern(i);
    if (j->vectored) {
        /* Many buffers of uneven sizes, some empty, most far from PIPE_BUF. */
        struct iovec iov[400];
        size_t off = 0;
        int cnt = 0;
        while (off < j->n) {
            size_t len = (size_t)(cnt * 997 % 7000) * (cnt % 5 != 0);
            if (len > j->n - off)
                len = j->n - off;
            CHECK(cnt < 400);
            iov[cnt].iov_base = buf + off;
            iov[cnt].iov_len = len;
            off += len;
            cnt++;
        }
        CHECK_EQ(go_writev(j->fd, iov, cnt), (ssize_t)j->n);
    } else {
        CHECK_EQ(go_write(j->fd, buf, j->n), (ssize_t)j->n);
    }
    free(buf);
    CHECK_EQ(fcntl(j->fd, F_GETFL), j->flags);
    CHECK_EQ(go_close(j->fd), 0);
    go_wg_done(j->wg);
}

static void pipe_reader(void *arg)
{
    struct pipe_job *j = arg;
    unsigned char buf[3000];
    size_t got = 0;
    int k = 0;
    while (got < j->n) {
        ssize_t r;
        if (j->vectored) {
            struct iovec iov[2] = {{buf, 1000}, {buf + 1000, 2000}};
            r = go_readv(j->fd, iov, 2);
        } else {
            r = go_read(j->fd, buf, 1 + (size_t)(k++ * 37 % sizeof buf));
        }
        CHECK(r > 0);
        for (ssize_t i = 0; i < r; i++)
            CHECK_EQ(buf[i], pattern(got + (size_t)i));
        got += (size_t)r;
    }
    char c;
    CHECK_EQ(go_read(j->fd, &c, 1), 0); /* end of file: the writer closed */
    CHECK_EQ(fcntl(j->fd, F_GETFL), j->flags);
    CHECK_EQ(go_close(j->fd), 0);
    go_wg_done(j->wg);
}

/* A writer and a reader goroutine move 1 MiB through a pipe, 16 times
 * its buffer, so each waits for the other many times. */
static void run_pipe(int pflags, bool vectored)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC | pflags), 0);
    go_wg wg = GO_WG_INIT;
    struct pipe_job w = {p[1], 1 << 20, vectored, fcntl(p[1], F_GETFL), &wg};
    struct pipe_job r = {p[0], 1 << 20, vectored, fcntl(p[0], F_GETFL), &wg};
    go_wg_add(&wg, 2);
    CHECK_EQ(go(pipe_reader, &r), 0);
    CHECK_EQ(go(pipe_writer, &w), 0);
    go_wg_wait(&wg);
}

static void test_pipes(void)
{
    run_pipe(0, false);
    run_pipe(O_NONBLOCK, false);
    run_pipe(0, true);
    run_pipe(O_NONBLOCK, true);
}

/* The same through a socket pair, with plain threads on both ends. */
static void *thread_writer(void *arg)
{
    pipe_writer(arg);
    return NULL;
}

static void *thread_reader(void *arg)
{
    pipe_reader(arg);
    return NULL;
}

static void test_socketpair_threads(bool vectored)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    go_wg wg = GO_WG_INIT;
    struct pipe_job w = {sv[1], 1 << 20, vectored, fcntl(sv[1], F_GETFL), &wg};
    struct pipe_job r = {sv[0], 1 << 20, vectored, fcntl(sv[0], F_GETFL), &wg};
    go_wg_add(&wg, 2);
    pthread_t tr, tw;
    CHECK_EQ(pthread_create(&tr, NULL, thread_reader, &r), 0);
    CHECK_EQ(pthread_create(&tw, NULL, thread_writer, &w), 0);
    CHECK_EQ(pthread_join(tr, NULL), 0);
    CHECK_EQ(pthread_join(tw, NULL), 0);
    go_wg_wait(&wg);
}

/* ---- special files, errors, edge cases -------------------------------------------- */

static void test_special(void)
{
    char buf[64];
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    CHECK(null >= 0);
    CHECK_EQ(go_write(null, "abc", 3), 3);
    CHECK_EQ(go_read(null, buf, sizeof buf), 0);
    CHECK_EQ(go_close(null), 0);
    int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    CHECK(zero >= 0);
    memset(buf, 1, sizeof buf);
    CHECK_EQ(go_read(zero, buf, sizeof buf), (ssize_t)sizeof buf);
    CHECK_EQ(buf[0] | buf[63], 0);
    CHECK_EQ(go_close(zero), 0);

    /* Zero-length calls and bad arguments. */
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_EQ(go_read(sv[0], buf, 0), 0);
    CHECK_EQ(go_write(sv[0], buf, 0), 0);
    CHECK_EQ(go_write(sv[0], buf, (size_t)SSIZE_MAX + 1), -EINVAL);
    CHECK_EQ(go_readv(sv[0], NULL, -1), -EINVAL);
    CHECK_EQ(go_readv(sv[0], NULL, 2000), -EINVAL);
    CHECK_EQ(go_writev(sv[0], NULL, 0), 0);
    CHECK_EQ(go_read(-1, buf, 1), -EBADF);
    CHECK_EQ(go_write(-1, buf, 1), -EBADF);
    CHECK_EQ(go_accept(sv[0], NULL, NULL), -EINVAL); /* not listening */

    /* A closed peer: EPIPE, and no SIGPIPE (it would kill us). */
    CHECK_EQ(go_close(sv[1]), 0);
    CHECK_EQ(go_read(sv[0], buf, 1), 0);
    CHECK_EQ(go_write(sv[0], "x", 1), -EPIPE);
    CHECK_EQ(go_close(sv[0]), 0);
    CHECK_EQ(go_close(sv[0]), -EBADF);

    /* A read of a pipe whose writer has gone: end of file. */
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    CHECK_EQ(go_write(p[1], "hi", 2), 2);
    CHECK_EQ(go_close(p[1]), 0);
    CHECK_EQ(go_read(p[0], buf, sizeof buf), 2);
    CHECK_EQ(go_read(p[0], buf, sizeof buf), 0);
    CHECK_EQ(go_close(p[0]), 0);
}

/* A number used with the poller, closed behind its back with close(), and
 * reused as another kind of descriptor still works, waits included. */
static int reuse_fd;
static go_wg reuse_wg;

static void reuse_reader(void *arg)
{
    char *out = arg;
    CHECK_EQ(go_read(reuse_fd, out, 1), 1);
    go_wg_done(&reuse_wg);
}

static void wait_through(int rfd, int wfd)
{
    char c = 0;
    reuse_fd = rfd;
    go_wg_add(&reuse_wg, 1);
    CHECK_EQ(go(reuse_reader, &c), 0);
    go_sleep(5000000); /* let it wait (it works either way) */
    CHECK_EQ(go_write(wfd, "r", 1), 1);
    go_wg_wait(&reuse_wg);
    CHECK_EQ(c, 'r');
}

static void test_number_reuse(void)
{
    int p[2], sv[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    wait_through(p[0], p[1]);
    int num = p[0];
    close(p[0]); /* not go_close: the runtime is not told */
    close(p[1]);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK(sv[0] == num || sv[1] == num);
    wait_through(sv[0], sv[1]);
    wait_through(sv[1], sv[0]);
    close(sv[0]);
    close(sv[1]);
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    CHECK_EQ(p[0], num);
    wait_through(p[0], p[1]);
    CHECK_EQ(go_close(p[0]), 0);
    CHECK_EQ(go_close(p[1]), 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_regular_file();
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, file_thread, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    printf("ok  regular files, from main and from a thread\n");
    test_pipes();
    printf("ok  pipes with and without O_NONBLOCK, flags unchanged, plain and vectored\n");
    test_socketpair_threads(false);
    test_socketpair_threads(true);
    printf("ok  socket pair between two plain threads\n");
    test_special();
    printf("ok  /dev/null, /dev/zero, zero lengths, bad arguments, EPIPE, EOF\n");
    test_number_reuse();
    printf("ok  a number closed with close() and reused as another kind\n");
    return 0;
}
