/*
 * test_netpoll.c - the poller: a goroutine waiting for I/O does not hold
 * up others; go_close wakes every waiter; several waiters per direction;
 * go_fd_wait; plain threads waiting on descriptors.
 *
 * The key test is the first: at GOMAXPROCS=1 a goroutine blocked reading
 * an empty pipe must leave its thread to 1,000 other goroutines, which
 * all finish while it is still blocked (checked with flags, not time),
 * and must itself wake up when data arrives.
 */
#include "test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- a goroutine blocked on a pipe does not stop others ---------------------- */

static int pipe_fds[2];
static int reader_started, reader_done;
static char reader_got;
static go_wg quick_wg, reader_wg;
static int quick_during; /* quick goroutines that ran while the reader was blocked */

static void pipe_reader(void *arg)
{
    (void)arg;
    __atomic_store_n(&reader_started, 1, __ATOMIC_SEQ_CST);
    char c = 0;
    CHECK_EQ(go_read(pipe_fds[0], &c, 1), 1);
    reader_got = c;
    __atomic_store_n(&reader_done, 1, __ATOMIC_SEQ_CST);
    go_wg_done(&reader_wg);
}

static void quick(void *arg)
{
    (void)arg;
    if (!__atomic_load_n(&reader_done, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&quick_during, 1, __ATOMIC_SEQ_CST);
    go_wg_done(&quick_wg);
}

static void test_blocked_reader_lets_others_run(void)
{
    CHECK_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    go_wg_add(&reader_wg, 1);
    CHECK_EQ(go(pipe_reader, NULL), 0);
    while (!__atomic_load_n(&reader_started, __ATOMIC_SEQ_CST))
        sched_yield();
    go_wg_add(&quick_wg, 1000);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(go(quick, NULL), 0);
    go_wg_wait(&quick_wg);
    CHECK_EQ(__atomic_load_n(&quick_during, __ATOMIC_SEQ_CST), 1000);
    CHECK_EQ(__atomic_load_n(&reader_done, __ATOMIC_SEQ_CST), 0);
    CHECK_EQ(go_write(pipe_fds[1], "x", 1), 1);
    go_wg_wait(&reader_wg);
    CHECK_EQ(reader_got, 'x');
    CHECK_EQ(go_close(pipe_fds[0]), 0);
    CHECK_EQ(go_close(pipe_fds[1]), 0);
    printf("ok  1000 goroutines ran while one was blocked reading a pipe\n");
}

/* ---- go_close wakes every waiter ------------------------------------------------- */

static int close_fd;
static int close_results[8];
static go_wg close_wg;
static int close_parked; /* waiters about to block */

static void close_reader(void *arg)
{
    int i = (int)(intptr_t)arg;
    char buf[16];
    __atomic_add_fetch(&close_parked, 1, __ATOMIC_SEQ_CST);
    close_results[i] = (int)go_read(close_fd, buf, sizeof buf);
    go_wg_done(&close_wg);
}

static void close_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    __atomic_add_fetch(&close_parked, 1, __ATOMIC_SEQ_CST);
    close_results[i] = go_fd_wait(close_fd, GO_POLL_IN, INT64_MAX);
    go_wg_done(&close_wg);
}

static void close_writer(void *arg)
{
    int i = (int)(intptr_t)arg;
    size_t n = 16 << 20; /* far more than a socket buffer holds */
    char *big = calloc(1, n);
    CHECK(big);
    __atomic_add_fetch(&close_parked, 1, __ATOMIC_SEQ_CST);
    close_results[i] = (int)go_write(close_fd, big, n);
    free(big);
    go_wg_done(&close_wg);
}

static void test_close_wakes_waiters(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    close_fd = sv[0];
    go_wg_add(&close_wg, 6);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(go(close_reader, (void *)(intptr_t)i), 0);
    CHECK_EQ(go(close_waiter, (void *)(intptr_t)3), 0);
    CHECK_EQ(go(close_waiter, (void *)(intptr_t)4), 0);
    CHECK_EQ(go(close_writer, (void *)(intptr_t)5), 0);
    while (__atomic_load_n(&close_parked, __ATOMIC_SEQ_CST) < 6)
        go_sleep(1000000);
    /* Let them block. Whether or not they have, each must get -EBADF. */
    go_sleep(20000000);
    CHECK_EQ(go_close(close_fd), 0);
    go_wg_wait(&close_wg);
    for (int i = 0; i < 6; i++)
        CHECK_EQ(close_results[i], -EBADF);
    /* The descriptor is really closed, and calls on the number fail. */
    CHECK_EQ(fcntl(close_fd, F_GETFD), -1);
    char c;
    CHECK_EQ(go_read(close_fd, &c, 1), -EBADF);
    CHECK_EQ(go_close(close_fd), -EBADF);
    CHECK_EQ(go_close(sv[1]), 0);
    printf("ok  go_close wakes readers, writers and go_fd_wait with -EBADF\n");
}

/* ---- several waiters in one direction ------------------------------------------ */

static int multi_fds[2];
static int multi_sum;
static go_wg multi_wg;

static void multi_reader(void *arg)
{
    (void)arg;
    char c;
    CHECK_EQ(go_read(multi_fds[0], &c, 1), 1);
    __atomic_add_fetch(&multi_sum, c, __ATOMIC_SEQ_CST);
    go_wg_done(&multi_wg);
}

static void test_many_waiters_one_direction(void)
{
    enum { N = 50 };
    CHECK_EQ(pipe2(multi_fds, O_CLOEXEC), 0);
    go_wg_add(&multi_wg, N);
    for (int i = 0; i < N; i++)
        CHECK_EQ(go(multi_reader, NULL), 0);
    int want = 0;
    for (int i = 0; i < N; i++) {
        char c = (char)(1 + i % 3);
        want += c;
        CHECK_EQ(go_write(multi_fds[1], &c, 1), 1);
        if (i % 7 == 0)
            go_sleep(100000);
    }
    go_wg_wait(&multi_wg);
    CHECK_EQ(multi_sum, want);
    CHECK_EQ(go_close(multi_fds[0]), 0);
    CHECK_EQ(go_close(multi_fds[1]), 0);
    printf("ok  %d readers of one pipe each got one byte\n", N);
}

/* ---- go_fd_wait ------------------------------------------------------------------- */

static void test_fd_wait(void)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    CHECK_EQ(go_fd_wait(p[0], GO_POLL_IN, 0), -ETIMEDOUT);
    CHECK_EQ(go_fd_wait(p[0], GO_POLL_IN, 5000000), -ETIMEDOUT);
    CHECK_EQ(go_fd_wait(p[1], GO_POLL_OUT, 0), GO_POLL_OUT);
    CHECK_EQ(go_fd_wait(p[1], GO_POLL_IN | GO_POLL_OUT, INT64_MAX), GO_POLL_OUT);
    CHECK_EQ(write(p[1], "ab", 2), 2);
    CHECK_EQ(go_fd_wait(p[0], GO_POLL_IN, INT64_MAX), GO_POLL_IN);
    /* Level-triggered: still ready until read. */
    CHECK_EQ(go_fd_wait(p[0], GO_POLL_IN, INT64_MAX), GO_POLL_IN);
    char buf[4];
    CHECK_EQ(read(p[0], buf, sizeof buf), 2);
    CHECK_EQ(go_fd_wait(p[0], GO_POLL_IN, 1000000), -ETIMEDOUT);
    CHECK_EQ(go_fd_wait(p[0], 0, 0), -EINVAL);
    CHECK_EQ(go_fd_wait(p[0], 4, 0), -EINVAL);
    CHECK_EQ(go_fd_wait(-1, GO_POLL_IN, 0), -EBADF);
    /* Hang-up counts as ready for input. */
    CHECK_EQ(go_close(p[1]), 0);
    CHECK_EQ(go_fd_wait(p[0], GO_POLL_IN, INT64_MAX), GO_POLL_IN);
    CHECK_EQ(go_close(p[0]), 0);
    /* A number that is not open. */
    CHECK_EQ(go_fd_wait(p[0], GO_POLL_IN, 0), -EBADF);
    printf("ok  go_fd_wait\n");
}

/* ---- plain threads ---------------------------------------------------------------- */

static int thr_fds[2];

static void *thread_reader(void *arg)
{
    (void)arg;
    char buf[8];
    ssize_t n = go_read(thr_fds[0], buf, sizeof buf);
    return (void *)(intptr_t)n;
}

static int pp_sv[2];
enum { PINGS = 2000 };

static void pong(void *arg)
{
    (void)arg;
    for (int i = 0; i < PINGS; i++) {
        uint32_t v;
        CHECK_EQ(go_read(pp_sv[1], &v, sizeof v), (ssize_t)sizeof v);
        v++;
        CHECK_EQ(go_write(pp_sv[1], &v, sizeof v), (ssize_t)sizeof v);
    }
}

static void *thread_ping(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < PINGS; i++) {
        uint32_t v = i * 2;
        CHECK_EQ(go_write(pp_sv[0], &v, sizeof v), (ssize_t)sizeof v);
        CHECK_EQ(go_read(pp_sv[0], &v, sizeof v), (ssize_t)sizeof v);
        CHECK_EQ(v, i * 2 + 1);
    }
    return NULL;
}

static void test_plain_threads(void)
{
    CHECK_EQ(pipe2(thr_fds, O_CLOEXEC), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, thread_reader, NULL), 0);
    go_sleep(10000000);
    CHECK_EQ(go_write(thr_fds[1], "hello", 5), 5);
    void *ret;
    CHECK_EQ(pthread_join(th, &ret), 0);
    CHECK_EQ((intptr_t)ret, 5);
    CHECK_EQ(go_close(thr_fds[0]), 0);
    CHECK_EQ(go_close(thr_fds[1]), 0);

    /* A plain thread and a goroutine ping-pong over a socket pair. */
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pp_sv), 0);
    CHECK_EQ(go(pong, NULL), 0);
    CHECK_EQ(pthread_create(&th, NULL, thread_ping, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(go_close(pp_sv[0]), 0);
    CHECK_EQ(go_close(pp_sv[1]), 0);

    /* Main (a plain thread too) closes a socket under a blocked thread. */
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    thr_fds[0] = sv[0];
    CHECK_EQ(pthread_create(&th, NULL, thread_reader, NULL), 0);
    go_sleep(10000000);
    CHECK_EQ(go_close(sv[0]), 0);
    CHECK_EQ(pthread_join(th, &ret), 0);
    CHECK_EQ((intptr_t)ret, -EBADF);
    CHECK_EQ(go_close(sv[1]), 0);
    printf("ok  plain threads block on descriptors\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_blocked_reader_lets_others_run();
    test_close_wakes_waiters();
    test_many_waiters_one_direction();
    test_fd_wait();
    test_plain_threads();
    return 0;
}
