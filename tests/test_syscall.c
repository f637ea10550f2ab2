/*
 * test_syscall.c - blocking calls do not block other goroutines.
 *
 * A goroutine in a blocking call (a read under go_blocking, released only
 * once the others have run) must not stop others: with GOMAXPROCS=1,
 * 1,000 goroutines started after it finish while it is still inside the
 * call (checked by a flag it sets when the call returns, not by timing). Also: go_syscall_enter/exit nest and
 * are no-ops on plain threads; many goroutines in blocking calls at once
 * all complete; the thread limit is a clear fatal error.
 */
#include "test_util.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

static int in_call_done; /* set when the long call returns */
static go_wg long_wg, quick_wg;
static int quick_seen_in_call; /* quick goroutines that ran during the call */
static int release_fds[2];     /* the long call blocks reading [0] */

static long sleep_ms(void *arg)
{
    long ms = (long)(intptr_t)arg;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return ms;
}

/* A blocking read of one byte from the release pipe. */
static long read_release(void *arg)
{
    (void)arg;
    char b;
    ssize_t r;
    while ((r = read(release_fds[0], &b, 1)) < 0 && errno == EINTR)
        ;
    return (long)r;
}

static int in_call_started; /* set just before the long call */

static void long_call(void *arg)
{
    (void)arg;
    __atomic_store_n(&in_call_started, 1, __ATOMIC_SEQ_CST);
    CHECK_EQ(go_blocking(read_release, NULL), 1);
    __atomic_store_n(&in_call_done, 1, __ATOMIC_SEQ_CST);
    go_wg_done(&long_wg);
}

static void quick(void *arg)
{
    (void)arg;
    if (!__atomic_load_n(&in_call_done, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&quick_seen_in_call, 1, __ATOMIC_SEQ_CST);
    go_wg_done(&quick_wg);
}

static void test_others_run_during_call(void)
{
    CHECK_EQ(pipe(release_fds), 0);
    go_wg_add(&long_wg, 1);
    CHECK_EQ(go(long_call, NULL), 0);
    /* At GOMAXPROCS=1 the long-call goroutine holds the only P until it
     * blocks, so once it has started, the quick ones can only run if the
     * P is handed off while it is blocked. The call ends only when we
     * write to the pipe, after the quick ones are done (or after a minute,
     * a liveness bound: then some did not run, and the check fails). */
    while (!__atomic_load_n(&in_call_started, __ATOMIC_SEQ_CST))
        sched_yield();
    go_wg_add(&quick_wg, 1000);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(go(quick, NULL), 0);
    for (int ms = 0; ms < 60000 && __atomic_load_n(&quick_seen_in_call, __ATOMIC_SEQ_CST) < 1000;
         ms++)
        sleep_ms((void *)(intptr_t)1);
    CHECK_EQ(write(release_fds[1], "x", 1), 1);
    go_wg_wait(&quick_wg);
    int during = __atomic_load_n(&quick_seen_in_call, __ATOMIC_SEQ_CST);
    go_wg_wait(&long_wg);
    close(release_fds[0]);
    close(release_fds[1]);
    /* Every quick goroutine ran while the long call was still blocked. */
    CHECK_EQ(during, 1000);
    printf("ok  1000 goroutines ran during a blocking call\n");
}

static go_wg many_wg;
static long sum;

static void many(void *arg)
{
    long ms = (long)(intptr_t)arg;
    go_syscall_enter();
    go_syscall_enter(); /* nested: no effect */
    long r = sleep_ms((void *)(intptr_t)ms);
    go_syscall_exit();
    go_syscall_exit();
    __atomic_add_fetch(&sum, r, __ATOMIC_SEQ_CST);
    go_yield(); /* the runtime works normally afterwards */
    go_wg_done(&many_wg);
}

static void test_many_blocking(void)
{
    const int n = TEST_SANITIZED ? 50 : 200;
    go_wg_add(&many_wg, n);
    for (int i = 0; i < n; i++)
        CHECK_EQ(go(many, (void *)(intptr_t)(1 + i % 3)), 0);
    go_wg_wait(&many_wg);
    long want = 0;
    for (int i = 0; i < n; i++)
        want += 1 + i % 3;
    CHECK_EQ(sum, want);
    printf("ok  %d goroutines in blocking calls at once all completed\n", n);
}

static void test_plain_thread_noop(void)
{
    go_syscall_enter();
    go_syscall_exit();
    CHECK_EQ(go_blocking(sleep_ms, (void *)(intptr_t)1), 1);
    printf("ok  go_syscall_enter/exit on a plain thread do nothing\n");
}

/* In a child: more simultaneous blocking calls than the thread limit. */
static go_wg hog_wg;
static void hog(void *arg)
{
    (void)arg;
    go_blocking(sleep_ms, (void *)(intptr_t)2000);
    go_wg_done(&hog_wg);
}

static void exhaust_threads(void *arg)
{
    (void)arg;
    setenv("GOROUTINE_MAX_THREADS", "8", 1);
    go_wg_add(&hog_wg, 64);
    for (int i = 0; i < 64; i++)
        go(hog, NULL);
    go_wg_wait(&hog_wg);
}

int main(void)
{
    /* First, before this process starts the runtime (see expect_death). */
    CHECK(expect_death(exhaust_threads, NULL, "fatal error: thread exhaustion"));
    printf("ok  thread limit is fatal: \"thread exhaustion\"\n");
    test_plain_thread_noop();
    test_others_run_during_call();
    test_many_blocking();
    return 0;
}
