/*
 * test_wg.c - go_wg (Go's sync.WaitGroup):
 *
 *  - a negative counter is Go's fatal "panic: sync: negative WaitGroup
 *    counter", from a plain thread and from a goroutine (child processes,
 *    started before this process uses the runtime);
 *  - zero-initialised and GO_WG_INIT are both valid; wait on zero returns;
 *  - reuse, many thousand times, with one waiter;
 *  - reuse with many waiters at once, goroutines and plain pthreads, every
 *    round: each waiter returns only once every worker of its round is done;
 *  - a WaitGroup on the stack (of main or of a goroutine) may go out of
 *    scope as soon as the wait returns: run under ASan (use-after-scope
 *    is on by default) this catches a runtime that still touches it; in
 *    other builds the memory is overwritten at once, which a late
 *    go_wg_done would trip on.
 */
#include "test_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

/* ---- death: negative counter --------------------------------------------- */

static void negative_plain(void *arg)
{
    (void)arg;
    go_wg wg = GO_WG_INIT;
    go_wg_add(&wg, 1);
    go_wg_done(&wg);
    go_wg_done(&wg);
}

static void negative_in_goroutine_body(void *arg)
{
    go_wg *wg = arg;
    go_wg_add(wg, -2);
}

static void negative_goroutine(void *arg)
{
    (void)arg;
    static go_wg wg = GO_WG_INIT, never = GO_WG_INIT;
    go_wg_add(&wg, 1);
    go_wg_add(&never, 1);
    go(negative_in_goroutine_body, &wg);
    go_wg_wait(&never);
}

/* ---- basics ------------------------------------------------------------------ */

static go_wg static_zero; /* zero-initialised */

static void test_basics(void)
{
    go_wg a = GO_WG_INIT;
    go_wg_wait(&a); /* zero: returns at once */
    go_wg_wait(&static_zero);
    go_wg_add(&a, 3);
    go_wg_add(&a, -2);
    go_wg_done(&a);
    go_wg_wait(&a);
    go_wg_add(&static_zero, 0);
    go_wg_wait(&static_zero);
    printf("basics: ok\n");
}

/* ---- reuse with one waiter ---------------------------------------------------------- */

static go_wg reuse_wg;
static long reuse_count;

static void reuse_worker(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&reuse_count, 1, __ATOMIC_RELAXED);
    go_wg_done(&reuse_wg);
}

static void test_reuse_one_waiter(int rounds)
{
    reuse_count = 0;
    long want = 0;
    for (int r = 0; r < rounds; r++) {
        int k = 1 + r % 4;
        go_wg_add(&reuse_wg, k);
        for (int i = 0; i < k; i++)
            CHECK_EQ(go(reuse_worker, NULL), 0);
        go_wg_wait(&reuse_wg);
        /* Every worker of this round (and all before) has counted. */
        want += k;
        CHECK_EQ(__atomic_load_n(&reuse_count, __ATOMIC_RELAXED), want);
    }
    printf("reuse, one waiter: %d rounds\n", rounds);
}

/* ---- reuse with many waiters of both kinds ------------------------------------------ */

#define RW_WORKERS 8
#define RW_GWAITERS 8
#define RW_TWAITERS 3

static go_wg rw_work, rw_acks;
/* Round r opens when start[r % 2] reaches zero. Each is re-armed for
 * round r + 2 only after every waiter has acked round r, hence returned
 * from its wait on it: reuse as Go allows it. Blocking, not polling, so
 * that waiters do not eat the CPU the workers need. */
static go_wg rw_start[2];
static long rw_done_workers;
static long rw_waiter_errors;
static int rw_rounds;
static go_wg rw_gwaiters_exit;

static void rw_worker(void *arg)
{
    (void)arg;
    if (__atomic_load_n(&rw_done_workers, __ATOMIC_RELAXED) % 3 == 0)
        go_yield();
    __atomic_add_fetch(&rw_done_workers, 1, __ATOMIC_SEQ_CST);
    go_wg_done(&rw_work);
}

/* One round for one waiter: wait on the work WaitGroup, check that all of
 * the round's workers are done, ack. */
static void rw_wait_round(int r)
{
    go_wg_wait(&rw_work);
    long done = __atomic_load_n(&rw_done_workers, __ATOMIC_SEQ_CST);
    if (done != (long)(r + 1) * RW_WORKERS) {
        fprintf(stderr, "round %d: waiter returned with %ld workers done, want %ld\n", r, done,
                (long)(r + 1) * RW_WORKERS);
        __atomic_add_fetch(&rw_waiter_errors, 1, __ATOMIC_RELAXED);
    }
    go_wg_done(&rw_acks);
}

static void rw_gwaiter(void *arg)
{
    (void)arg;
    for (int r = 0; r < rw_rounds; r++) {
        go_wg_wait(&rw_start[r % 2]);
        rw_wait_round(r);
    }
    go_wg_done(&rw_gwaiters_exit);
}

static void *rw_twaiter(void *arg)
{
    (void)arg;
    for (int r = 0; r < rw_rounds; r++) {
        go_wg_wait(&rw_start[r % 2]);
        rw_wait_round(r);
    }
    return NULL;
}

static void test_reuse_many_waiters(int rounds)
{
    rw_rounds = rounds;
    rw_done_workers = 0;
    rw_waiter_errors = 0;
    go_wg_add(&rw_start[0], 1);
    go_wg_add(&rw_start[1], 1);
    go_wg_add(&rw_gwaiters_exit, RW_GWAITERS);
    for (int i = 0; i < RW_GWAITERS; i++)
        CHECK_EQ(go(rw_gwaiter, NULL), 0);
    pthread_t th[RW_TWAITERS];
    for (int i = 0; i < RW_TWAITERS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, rw_twaiter, NULL), 0);
    for (int r = 0; r < rounds; r++) {
        /* The previous round's waiters have all returned (acks), so the
         * WaitGroups may be reused, as Go requires. */
        go_wg_add(&rw_acks, RW_GWAITERS + RW_TWAITERS + 1);
        go_wg_add(&rw_work, RW_WORKERS);
        go_wg_done(&rw_start[r % 2]); /* open round r */
        for (int i = 0; i < RW_WORKERS; i++)
            CHECK_EQ(go(rw_worker, NULL), 0);
        rw_wait_round(r); /* main is a waiter too */
        go_wg_wait(&rw_acks);
        go_wg_add(&rw_start[r % 2], 1); /* arm it for round r + 2 */
    }
    for (int i = 0; i < RW_TWAITERS; i++)
        pthread_join(th[i], NULL);
    go_wg_wait(&rw_gwaiters_exit);
    CHECK_EQ(rw_waiter_errors, 0);
    CHECK_EQ(rw_done_workers, (long)rounds * RW_WORKERS);
    printf("reuse, %d goroutine + %d thread + 1 main waiters: %d rounds\n", RW_GWAITERS,
           RW_TWAITERS, rounds);
}

/* ---- a WaitGroup on the stack goes out of scope after wait ------------------- */

struct scoped_arg {
    go_wg *wg;
    long *counter;
};

static void scoped_worker(void *p)
{
    struct scoped_arg a = *(struct scoped_arg *)p;
    if ((uintptr_t)a.wg & 64)
        go_yield();
    __atomic_add_fetch(a.counter, 1, __ATOMIC_RELAXED);
    /* The last thing this goroutine does with the WaitGroup: it may be
     * gone the moment this returns to the waiter. */
    go_wg_done(a.wg);
}

/* Overwrite the stack below us, where the dead WaitGroup was. */
__attribute__((noinline)) static void scribble(void)
{
    volatile unsigned char junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0xA5;
}

__attribute__((noinline)) static void scoped_round(int n)
{
    long counter = 0;
    {
        go_wg wg = GO_WG_INIT;
        go_wg_add(&wg, n);
        struct scoped_arg a = {&wg, &counter};
        for (int i = 0; i < n; i++)
            CHECK_EQ(go_copy(scoped_worker, &a, sizeof a), 0);
        go_wg_wait(&wg);
        CHECK_EQ(__atomic_load_n(&counter, __ATOMIC_RELAXED), n);
        /* Not for the runtime any more: make a late touch visible. */
        memset(&wg, 0xA5, sizeof wg);
    }
}

static go_wg scoped_g_wg;

static void scoped_in_goroutine(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int r = 0; r < rounds; r++) {
        scoped_round(1 + r % 3);
        scribble();
    }
    go_wg_done(&scoped_g_wg);
}

static void test_scoped(int rounds)
{
    for (int r = 0; r < rounds; r++) {
        scoped_round(1 + r % 5);
        scribble();
    }
    int ng = 8;
    go_wg_add(&scoped_g_wg, ng);
    for (int i = 0; i < ng; i++)
        CHECK_EQ(go(scoped_in_goroutine, (void *)(intptr_t)(rounds / 4)), 0);
    go_wg_wait(&scoped_g_wg);
    printf("scoped: %d rounds from main, %d x %d from goroutines\n", rounds, ng, rounds / 4);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* First, before this process starts the runtime (see expect_death). */
    CHECK(expect_death(negative_plain, NULL, "panic: sync: negative WaitGroup counter"));
    CHECK(expect_death(negative_goroutine, NULL, "panic: sync: negative WaitGroup counter"));
    CHECK(expect_death(negative_goroutine, NULL, "goroutine "));
    printf("negative counter: fatal, from a thread and from a goroutine\n");

    test_basics();
    test_reuse_one_waiter(TEST_SANITIZED ? 10000 : 100000);
    test_reuse_many_waiters(TEST_SANITIZED ? 300 : 2000);
    test_scoped(TEST_SANITIZED ? 2000 : 20000);
    printf("ok\n");
    return 0;
}
