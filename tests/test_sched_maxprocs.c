/*
 * test_sched_maxprocs.c - go_maxprocs while the world keeps running.
 *
 *  - go_maxprocs(n) returns the previous value; n <= 0 only queries.
 *  - GOMAXPROCS changed up and down at random (1..8), from the main
 *    thread and from a goroutine at the same time, while 10,000
 *    goroutines yield, block on WaitGroups and spawn children: nothing is
 *    lost or run twice (every counter exact), everything finishes.
 *  - after shrinking, once every goroutine has passed a scheduling point,
 *    no more goroutines run at once than the new GOMAXPROCS.
 *
 * The changers record what they set under one pthread mutex (go_maxprocs
 * never blocks, so holding a pthread mutex around it is safe even in a
 * goroutine), which lets every call check the previous value exactly.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static pthread_mutex_t mp_lock = PTHREAD_MUTEX_INITIALIZER;
static int mp_expected;
static long mp_changes;

static uint32_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 32);
}

static void set_procs(int n)
{
    pthread_mutex_lock(&mp_lock);
    int prev = go_maxprocs(n);
    if (prev != mp_expected) {
        fprintf(stderr, "go_maxprocs(%d) returned %d, expected %d\n", n, prev, mp_expected);
        CHECK_EQ(prev, mp_expected);
    }
    mp_expected = n;
    mp_changes++;
    CHECK_EQ(go_maxprocs(0), n);
    pthread_mutex_unlock(&mp_lock);
}

/* ---- queries -------------------------------------------------------------- */

static void test_query(void)
{
    int start = go_maxprocs(0);
    const char *env = getenv("GOMAXPROCS");
    if (env)
        CHECK_EQ(start, atoi(env));
    CHECK(start >= 1 && start <= GO_MAXPROCS_MAX);
    CHECK_EQ(go_maxprocs(-1), start);
    CHECK_EQ(go_maxprocs(-1000), start);
    CHECK_EQ(go_maxprocs(0), start);
    mp_expected = start;
    /* Setting the current value is a no-op that returns it. */
    set_procs(start);
    set_procs(start == 3 ? 5 : 3);
    set_procs(start);
    printf("query: GOMAXPROCS=%d\n", start);
}

/* ---- changes under load ------------------------------------------------------ */

#define NWORK 10000
/* Iterations per worker; every fifth spawns a child and waits for it. */
#define ITERS (TEST_SANITIZED ? 20 : 100)

static go_wg work_wg, child_wg;
static long iters_done, children_done, workers_done;
static int changer_stop;
static go_wg changer_wg;

static void child(void *arg)
{
    (void)arg;
    go_yield();
    go_yield();
    __atomic_add_fetch(&children_done, 1, __ATOMIC_RELAXED);
    go_wg_done(&child_wg);
}

static void worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITERS; i++) {
        go_yield();
        if (i % 5 == 4) {
            /* Block on a WaitGroup that a child releases. */
            go_wg wg = GO_WG_INIT;
            go_wg_add(&child_wg, 1);
            go_wg_add(&wg, 1);
            CHECK_EQ(go(child, NULL), 0);
            go_wg_done(&wg);
            go_wg_wait(&wg);
        }
        __atomic_add_fetch(&iters_done, 1, __ATOMIC_RELAXED);
    }
    __atomic_add_fetch(&workers_done, 1, __ATOMIC_RELAXED);
    go_wg_done(&work_wg);
}

static void changer(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL | 1;
    while (!__atomic_load_n(&changer_stop, __ATOMIC_RELAXED)) {
        set_procs(1 + (int)(rnd(&s) % 8));
        for (int i = 0; i < 20; i++)
            go_yield();
    }
    go_wg_done(&changer_wg);
}

static void test_change_under_load(void)
{
    int start = go_maxprocs(0);
    iters_done = children_done = workers_done = 0;
    changer_stop = 0;
    mp_changes = 0;
    go_wg_add(&changer_wg, 1);
    CHECK_EQ(go(changer, (void *)(uintptr_t)12345), 0);
    go_wg_add(&work_wg, NWORK);
    uint64_t s = 0x1234567887654321ULL;
    for (int i = 0; i < NWORK; i++) {
        CHECK_EQ(go(worker, NULL), 0);
        if (i % 500 == 0)
            set_procs(1 + (int)(rnd(&s) % 8));
    }
    /* Keep changing from here too until the workers are done. */
    for (long polls = 0; __atomic_load_n(&workers_done, __ATOMIC_RELAXED) < NWORK; polls++) {
        if (polls > 200000) {
            fprintf(stderr, "workers done: %ld of %d\n", workers_done, NWORK);
            CHECK(!"workers never finished");
        }
        set_procs(1 + (int)(rnd(&s) % 8));
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    go_wg_wait(&work_wg);
    go_wg_wait(&child_wg);
    __atomic_store_n(&changer_stop, 1, __ATOMIC_RELAXED);
    go_wg_wait(&changer_wg);
    CHECK_EQ(iters_done, (long)NWORK * ITERS);
    CHECK_EQ(children_done, (long)NWORK * (ITERS / 5));
    CHECK_EQ(workers_done, NWORK);
    set_procs(start);
    printf("under load: %ld changes, %ld iterations, %ld children, all exact\n", mp_changes,
           iters_done, children_done);
}

/* ---- after shrinking, the new limit holds ------------------------------------ */

static int running, after_max;
static int limit_now;
static long over_limit;
static int phase_ready, phase_go;
static go_wg excl_wg;

static void limited(void *arg)
{
    int nworkers = (int)(intptr_t)arg;
    /* Keep every P busy until the change is made... */
    while (!__atomic_load_n(&phase_go, __ATOMIC_SEQ_CST))
        go_yield();
    /* ...then pass scheduling points after it. */
    for (int i = 0; i < 50; i++)
        go_yield();
    __atomic_add_fetch(&phase_ready, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&phase_ready, __ATOMIC_SEQ_CST) < nworkers)
        go_yield();
    for (int i = 0; i < 200; i++) {
        int r = __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
        for (int k = 0; k < 30; k++) {
            int now = __atomic_load_n(&running, __ATOMIC_SEQ_CST);
            if (now > r)
                r = now;
        }
        if (r > limit_now)
            __atomic_add_fetch(&over_limit, 1, __ATOMIC_RELAXED);
        int m = __atomic_load_n(&after_max, __ATOMIC_RELAXED);
        while (r > m && !__atomic_compare_exchange_n(&after_max, &m, r, false,
                                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
        __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
        go_yield();
    }
    go_wg_done(&excl_wg);
}

static void test_limit_after_shrink(void)
{
    int start = go_maxprocs(0);
    int rounds = TEST_SANITIZED ? 10 : 40;
    for (int round = 0; round < rounds; round++) {
        int hi = 8, lo = 1 + round % 3;
        /* Many busy Ps first, then shrink with all of them still running. */
        set_procs(hi);
        limit_now = hi;
        running = after_max = 0;
        over_limit = 0;
        phase_ready = 0;
        phase_go = 0;
        int n = 16;
        go_wg_add(&excl_wg, n);
        for (int i = 0; i < n; i++)
            CHECK_EQ(go(limited, (void *)(intptr_t)n), 0);
        set_procs(lo);
        limit_now = lo;
        __atomic_store_n(&phase_go, 1, __ATOMIC_SEQ_CST);
        go_wg_wait(&excl_wg);
        if (over_limit) {
            fprintf(stderr, "round %d: %ld times more than %d goroutines ran at once (max %d)\n",
                    round, over_limit, lo, after_max);
            CHECK_EQ(over_limit, 0);
        }
    }
    set_procs(start);
    printf("limit after shrink: held over %d rounds\n", rounds);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Asynchronous preemption could put a second goroutine on a P in the
     * middle of a counted stretch (see test_sched.c); off, read at start. */
    setenv("GOROUTINE_PREEMPT", "off", 1);
    test_query();
    test_change_under_load();
    test_limit_after_shrink();
    printf("ok\n");
    return 0;
}
