/*
 * test_lockthread.c - go_lock_thread / go_unlock_thread (Go's
 * runtime.LockOSThread):
 *
 *  - a locked goroutine stays on its thread (gettid and the address of a
 *    __thread variable constant) across 1000 yields and WaitGroup waits
 *    while other goroutines run, and no other goroutine runs on that
 *    thread while it is locked;
 *  - several goroutines locked at the same time have distinct threads;
 *  - calls nest: two locks need two unlocks; an extra unlock does nothing;
 *  - a goroutine that exits while locked leaves a thread that serves
 *    others; plain threads may call both functions (they do nothing);
 *  - a locked goroutine blocked on a WaitGroup released by a plain thread.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

static int tid(void)
{
    return (int)syscall(SYS_gettid);
}

static __thread int tls_value;

/* ---- the locked goroutine and its neighbours ------------------------------- */

static int locked_tid;
/* Odd while the goroutine is locked: bumped after locking, before unlocking. */
static unsigned lock_gen;
static long neighbour_on_locked_thread;
static long neighbour_rounds;
static int neighbours_stop;
static go_wg neighbours_wg, locked_wg;

static void neighbour(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&neighbours_stop, __ATOMIC_ACQUIRE)) {
        /* Sound even if we migrate in between: only when the whole
         * stretch lies inside one locked period (same odd generation
         * before and after) does seeing the locked thread mean that we
         * ran on it while it was wired to someone else. */
        unsigned g1 = __atomic_load_n(&lock_gen, __ATOMIC_SEQ_CST);
        int t = tid();
        int lt = __atomic_load_n(&locked_tid, __ATOMIC_SEQ_CST);
        unsigned g2 = __atomic_load_n(&lock_gen, __ATOMIC_SEQ_CST);
        if (g1 == g2 && (g1 & 1) && t == lt)
            __atomic_add_fetch(&neighbour_on_locked_thread, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&neighbour_rounds, 1, __ATOMIC_RELAXED);
        go_yield();
    }
    go_wg_done(&neighbours_wg);
}

static void helper_done(void *arg)
{
    go_yield();
    go_wg_done(arg);
}

static void locked_main(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    CHECK_EQ(go_lock_thread(), 0);
    int me = tid();
    __atomic_store_n(&locked_tid, me, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&lock_gen, 1, __ATOMIC_SEQ_CST);
    tls_value = 4242;
    int *tls_addr = &tls_value;
    for (int i = 0; i < rounds; i++) {
        go_yield();
        CHECK_EQ(tid(), me);
        if (i % 10 == 0) {
            /* Block: the P goes to someone else, we wait for it back. */
            go_wg wg = GO_WG_INIT;
            go_wg_add(&wg, 1);
            CHECK_EQ(go(helper_done, &wg), 0);
            go_wg_wait(&wg);
            CHECK_EQ(tid(), me);
        }
        CHECK(&tls_value == tls_addr);
        CHECK_EQ(tls_value, 4242);
    }
    __atomic_add_fetch(&lock_gen, 1, __ATOMIC_SEQ_CST);
    CHECK_EQ(go_unlock_thread(), 0);
    go_wg_done(&locked_wg);
}

static void test_locked_stays(void)
{
    int nn = 8;
    neighbours_stop = 0;
    neighbour_on_locked_thread = 0;
    neighbour_rounds = 0;
    go_wg_add(&neighbours_wg, nn);
    for (int i = 0; i < nn; i++)
        CHECK_EQ(go(neighbour, NULL), 0);
    for (int round = 0; round < 5; round++) {
        go_wg_add(&locked_wg, 1);
        CHECK_EQ(go(locked_main, (void *)(intptr_t)1000), 0);
        go_wg_wait(&locked_wg);
    }
    __atomic_store_n(&neighbours_stop, 1, __ATOMIC_RELEASE);
    go_wg_wait(&neighbours_wg);
    printf("locked: 5 x 1000 yields on one thread each; neighbours ran %ld rounds, "
           "%ld on a locked thread\n",
           neighbour_rounds, neighbour_on_locked_thread);
    CHECK_EQ(neighbour_on_locked_thread, 0);
    CHECK(neighbour_rounds > 0);
}

/* ---- several locked at once ---------------------------------------------------- */

#define NLOCKED 12
static int many_tids[NLOCKED];
static go_wg many_locked, many_release, many_done;

static void many_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    go_lock_thread();
    int me = tid();
    many_tids[i] = me;
    go_wg_done(&many_locked);
    go_wg_wait(&many_release);
    for (int k = 0; k < 100; k++) {
        go_yield();
        CHECK_EQ(tid(), me);
    }
    go_unlock_thread();
    go_wg_done(&many_done);
}

static void test_many_locked(void)
{
    go_wg_add(&many_locked, NLOCKED);
    go_wg_add(&many_release, 1);
    go_wg_add(&many_done, NLOCKED);
    for (int i = 0; i < NLOCKED; i++)
        CHECK_EQ(go(many_main, (void *)(intptr_t)i), 0);
    go_wg_wait(&many_locked);
    /* All NLOCKED are locked right now: each has a thread of its own. */
    for (int i = 0; i < NLOCKED; i++)
        for (int j = i + 1; j < NLOCKED; j++)
            if (many_tids[i] == many_tids[j]) {
                fprintf(stderr, "locked goroutines %d and %d share thread %d\n", i, j,
                        many_tids[i]);
                CHECK(many_tids[i] != many_tids[j]);
            }
    go_wg_done(&many_release);
    go_wg_wait(&many_done);
    printf("many: %d goroutines locked at once on %d distinct threads\n", NLOCKED, NLOCKED);
}

/* ---- nesting --------------------------------------------------------------------- */

static go_wg nest_wg;
static int nest_ok;

static void nest_main(void *arg)
{
    (void)arg;
    /* Unlocking when not locked does nothing. */
    CHECK_EQ(go_unlock_thread(), 0);
    CHECK_EQ(go_lock_thread(), 0);
    CHECK_EQ(go_lock_thread(), 0);
    int me = tid();
    CHECK_EQ(go_unlock_thread(), 0);
    /* Still locked once. */
    for (int i = 0; i < 200; i++) {
        go_yield();
        CHECK_EQ(tid(), me);
    }
    CHECK_EQ(go_unlock_thread(), 0);
    /* Unlocked: free to move (nothing to check but that it still runs),
     * and an extra unlock is harmless. */
    CHECK_EQ(go_unlock_thread(), 0);
    for (int i = 0; i < 200; i++)
        go_yield();
    /* Lock again after all that: wired anew. */
    go_lock_thread();
    me = tid();
    for (int i = 0; i < 100; i++) {
        go_yield();
        CHECK_EQ(tid(), me);
    }
    go_unlock_thread();
    nest_ok = 1;
    go_wg_done(&nest_wg);
}

static void busy_yield(void *arg)
{
    for (int i = 0; i < 2000; i++)
        go_yield();
    go_wg_done(arg);
}

static void test_nesting(void)
{
    go_wg others = GO_WG_INIT;
    go_wg_add(&others, 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(go(busy_yield, &others), 0);
    go_wg_add(&nest_wg, 1);
    CHECK_EQ(go(nest_main, NULL), 0);
    go_wg_wait(&nest_wg);
    go_wg_wait(&others);
    CHECK(nest_ok);
    printf("nesting: ok\n");
}

/* ---- exit while locked; plain threads -------------------------------------------- */

static go_wg exitl_wg;
static long exitl_after;

static void exit_locked(void *arg)
{
    (void)arg;
    go_lock_thread();
    go_lock_thread();
    go_yield();
    go_wg_done(&exitl_wg);
    /* Exits (by returning) still locked. */
}

static void exit_locked_goexit(void *arg)
{
    (void)arg;
    go_lock_thread();
    go_yield();
    go_wg_done(&exitl_wg);
    go_exit();
}

static void after_exit_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        go_yield();
    __atomic_add_fetch(&exitl_after, 1, __ATOMIC_RELAXED);
    go_wg_done(&exitl_wg);
}

static void test_exit_locked(void)
{
    /* More locked exits than threads we would ever want to leak. */
    for (int round = 0; round < 50; round++) {
        go_wg_add(&exitl_wg, 2);
        CHECK_EQ(go(exit_locked, NULL), 0);
        CHECK_EQ(go(exit_locked_goexit, NULL), 0);
        go_wg_wait(&exitl_wg);
    }
    /* Then plenty of ordinary goroutines, which must all run. */
    exitl_after = 0;
    go_wg_add(&exitl_wg, 1000);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(go(after_exit_worker, NULL), 0);
    go_wg_wait(&exitl_wg);
    CHECK_EQ(exitl_after, 1000);
    printf("exit while locked: 100 goroutines exited locked, 1000 ran after\n");
}

static go_wg plain_release, plain_done;
static int plain_saw_same;

static void locked_waits_for_plain(void *arg)
{
    (void)arg;
    go_lock_thread();
    int me = tid();
    tls_value = 77;
    go_wg_wait(&plain_release);
    plain_saw_same = tid() == me && tls_value == 77;
    go_unlock_thread();
    go_wg_done(&plain_done);
}

static void *plain_releaser(void *arg)
{
    (void)arg;
    /* A plain thread: both calls do nothing and return 0. */
    CHECK_EQ(go_lock_thread(), 0);
    CHECK_EQ(go_unlock_thread(), 0);
    CHECK_EQ(go_unlock_thread(), 0);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    go_wg_done(&plain_release);
    return NULL;
}

static void test_plain(void)
{
    CHECK_EQ(go_lock_thread(), 0);
    CHECK_EQ(go_unlock_thread(), 0);
    go_wg_add(&plain_release, 1);
    go_wg_add(&plain_done, 1);
    CHECK_EQ(go(locked_waits_for_plain, NULL), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, plain_releaser, NULL), 0);
    go_wg_wait(&plain_done);
    pthread_join(th, NULL);
    CHECK(plain_saw_same);
    printf("plain threads: ok\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    test_plain();
    test_locked_stays();
    test_many_locked();
    test_nesting();
    test_exit_locked();
    printf("ok\n");
    return 0;
}
