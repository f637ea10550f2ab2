/*
 * test_sync_mutex.c - go_mutex: mutual exclusion under contention from
 * goroutines and plain threads, unlock by another goroutine, trylock,
 * starvation mode (it engages, and the starving waiter gets the lock),
 * freeing a mutex as soon as the last lock returns, and Go's fatal error
 * for unlocking an unlocked mutex.
 *
 * No timing assertions: every test waits for an event, never for a time.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* The monotonic clock, read directly: only used to hold a lock for a
 * minimum time, never to judge how long something took. */
static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* White-box: the mutex state word is the first uint32_t of go_mutex and
 * its bit 2 is "starving" (src/sync.c). Only the starvation test peeks. */
#define MUTEX_STARVING 4u
static uint32_t mutex_state(go_mutex *m)
{
    return __atomic_load_n((uint32_t *)m, __ATOMIC_RELAXED);
}

/* ---- mutual exclusion ----------------------------------------------------- */

static go_mutex mu = GO_MUTEX_INIT;
static long counter;   /* protected by mu; deliberately not atomic */
static int inside;     /* protected by mu; set while someone holds it */
static int iters;
static go_wg wg;

static void critical(long i)
{
    go_mutex_lock(&mu);
    CHECK(!inside);
    inside = 1;
    counter++;
    /* Now and then hold it across a switch, so waiters really park. */
    if (i % 64 == 0)
        go_yield();
    inside = 0;
    go_mutex_unlock(&mu);
}

static void hammer(void *arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++)
        critical(i);
    go_wg_done(&wg);
}

static void *hammer_thread(void *arg)
{
    hammer(arg);
    return NULL;
}

static void test_goroutines(int ng)
{
    counter = 0;
    go_wg_add(&wg, ng);
    for (int i = 0; i < ng; i++)
        CHECK_EQ(go(hammer, NULL), 0);
    go_wg_wait(&wg);
    CHECK_EQ(counter, (long)ng * iters);
    CHECK(!inside);
}

static void test_threads_and_goroutines(int nthreads, int ng)
{
    counter = 0;
    pthread_t th[8];
    go_wg_add(&wg, nthreads + ng);
    for (int i = 0; i < nthreads; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, hammer_thread, NULL), 0);
    for (int i = 0; i < ng; i++)
        CHECK_EQ(go(hammer, NULL), 0);
    /* main takes part too, as one more plain thread */
    go_wg_add(&wg, 1);
    hammer(NULL);
    go_wg_wait(&wg);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(counter, (long)(nthreads + ng + 1) * iters);
}

/* ---- trylock and unlock by someone else ------------------------------------ */

static void unlock_it(void *arg)
{
    go_mutex_unlock(arg);
    go_wg_done(&wg);
}

static void test_trylock_and_foreign_unlock(void)
{
    go_mutex m = GO_MUTEX_INIT;
    CHECK(go_mutex_trylock(&m));
    CHECK(!go_mutex_trylock(&m));
    go_mutex_unlock(&m);
    CHECK(go_mutex_trylock(&m));
    /* Locked by main, unlocked by a goroutine, as Go allows. */
    go_wg_add(&wg, 1);
    CHECK_EQ(go(unlock_it, &m), 0);
    go_mutex_lock(&m); /* blocks until the goroutine has unlocked */
    go_wg_wait(&wg);
    CHECK(!go_mutex_trylock(&m));
    go_mutex_unlock(&m);
    /* A zeroed mutex is an unlocked one. */
    go_mutex z;
    memset(&z, 0, sizeof z);
    CHECK(go_mutex_trylock(&z));
    go_mutex_unlock(&z);
}

/* ---- starvation mode -------------------------------------------------------- */

static go_mutex smu = GO_MUTEX_INIT;
static int got;          /* the waiter got the lock; atomic */
static int saw_starving; /* the holder saw the mutex in starvation mode */

/* Holds the lock for at least 2 ms at a time (so that the waiter's wait
 * exceeds Go's 1 ms threshold), yielding while holding it so that the
 * waiter runs even at GOMAXPROCS=1, and relocks at once after unlocking:
 * in normal mode it would win every time. */
static go_wg held; /* done once the hog holds the lock for the first time */

static void hog(void *arg)
{
    (void)arg;
    bool first = true;
    while (!__atomic_load_n(&got, __ATOMIC_ACQUIRE)) {
        go_mutex_lock(&smu);
        if (first) {
            first = false;
            go_wg_done(&held);
        }
        int64_t t0 = now_ns();
        while (now_ns() - t0 < 2000000 && !__atomic_load_n(&got, __ATOMIC_ACQUIRE)) {
            if (mutex_state(&smu) & MUTEX_STARVING)
                saw_starving = 1;
            go_yield();
        }
        go_mutex_unlock(&smu);
    }
    go_wg_done(&wg);
}

static void starving_waiter(void *arg)
{
    (void)arg;
    go_mutex_lock(&smu);
    __atomic_store_n(&got, 1, __ATOMIC_RELEASE);
    go_mutex_unlock(&smu);
    go_wg_done(&wg);
}

static void test_starvation(void)
{
    /* Each round must end (the waiter gets the lock); starvation mode must
     * engage in some round. It does in the first at GOMAXPROCS=1; with
     * more Ps the waiter may win a race in normal mode now and then. */
    for (int round = 0; round < 200 && !saw_starving; round++) {
        __atomic_store_n(&got, 0, __ATOMIC_RELAXED);
        go_wg_add(&wg, 2);
        /* The waiter starts only once the hog holds the lock: started
         * together on two Ps, the waiter could take it first, and then
         * there is nothing to starve in that round (at GOMAXPROCS=2 a
         * whole run of 200 rounds sometimes went that way). */
        go_wg_add(&held, 1);
        CHECK_EQ(go(hog, NULL), 0);
        go_wg_wait(&held);
        CHECK_EQ(go(starving_waiter, NULL), 0);
        go_wg_wait(&wg);
        CHECK(got);
    }
    CHECK(saw_starving);
    /* Starvation mode was left again: the mutex is free and normal. */
    CHECK_EQ(mutex_state(&smu), 0);
}

/* A holder that unlocks and relocks in a tight loop with no yield at all:
 * only starvation mode lets the other goroutine in. Needs a second P. */
static long tight_count;

static void tight_hog(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&got, __ATOMIC_ACQUIRE)) {
        go_mutex_lock(&smu);
        tight_count++;
        go_mutex_unlock(&smu);
    }
    go_wg_done(&wg);
}

static void test_tight_loop(void)
{
    if (go_maxprocs(0) < 2)
        return; /* nothing preempts the hog on one P */
    __atomic_store_n(&got, 0, __ATOMIC_RELAXED);
    go_wg_add(&wg, 2);
    CHECK_EQ(go(tight_hog, NULL), 0);
    CHECK_EQ(go(starving_waiter, NULL), 0);
    go_wg_wait(&wg);
    CHECK(got);
    CHECK_EQ(mutex_state(&smu), 0);
}

/* ---- lifetime: free right after the last lock returns --------------------- */

struct boxed {
    go_mutex m;
    int value;
};

static void release_box(void *arg)
{
    struct boxed *b = arg;
    b->value = 42;
    go_mutex_unlock(&b->m);
}

/* The waiter frees the mutex as soon as it has it (and unlocked it): under
 * ASan any later touch by the unlocking goroutine is a use after free. */
static void test_free_after_lock(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        struct boxed *b = calloc(1, sizeof *b);
        CHECK(b);
        go_mutex_lock(&b->m);
        CHECK_EQ(go(release_box, b), 0);
        go_mutex_lock(&b->m);
        CHECK_EQ(b->value, 42);
        go_mutex_unlock(&b->m);
        free(b);
    }
}

/* ---- fatal errors ------------------------------------------------------------ */

static void unlock_unlocked(void *arg)
{
    (void)arg;
    go_mutex m = GO_MUTEX_INIT;
    go_mutex_unlock(&m);
}

static void unlock_twice(void *arg)
{
    (void)arg;
    go_mutex m = GO_MUTEX_INIT;
    go_mutex_lock(&m);
    go_mutex_unlock(&m);
    go_mutex_unlock(&m);
}

int main(void)
{
    /* Death tests first: the child must not inherit a running runtime. */
    CHECK(expect_death(unlock_unlocked, NULL, "fatal error: sync: unlock of unlocked mutex"));
    CHECK(expect_death(unlock_twice, NULL, "fatal error: sync: unlock of unlocked mutex"));

    iters = TEST_SANITIZED ? 2000 : 20000;
    test_goroutines(64);
    test_threads_and_goroutines(4, 16);
    test_trylock_and_foreign_unlock();
    test_starvation();
    test_tight_loop();
    test_free_after_lock(TEST_SANITIZED ? 200 : 2000);
    /* And once more after all that, with everyone contending again. */
    test_goroutines(8);
    printf("mutex ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
