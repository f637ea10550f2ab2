/*
 * test_time_sleepers.c - 100,000 goroutines sleeping at once (10,000 under
 * a sanitizer) all wake up, none early: the timer heaps under load, timers
 * armed from park unlock functions on every P, and idle Ms woken for
 * timers while the goroutines they would run are all asleep.
 *
 * Then waves of short sleepers while GOMAXPROCS goes up and down under
 * them: a sleep's timer lives in its goroutine's descriptor, so it must
 * survive moving to another P's queue when its P is retired, and a
 * descriptor reused by the next wave must start with an idle timer. Every
 * sleep is checked for waking early, and every goroutine for finishing.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define MS 1000000LL

static go_wg wg;
static int early;

static void sleeper(void *arg)
{
    int64_t ns = (int64_t)(intptr_t)arg;
    int64_t start = go_now();
    go_sleep(ns);
    if (go_now() - start < ns)
        __atomic_add_fetch(&early, 1, __ATOMIC_RELAXED);
    /* A second, shorter nap, so the heaps see arms while others fire. */
    go_sleep(ns / 4);
    go_wg_done(&wg);
}

/* ---- sleepers across GOMAXPROCS changes --------------------------------- */

#define WAVES 8
#define WAVE_N 2000
#define NAPS 10

static go_wg wave_wg;
static int wave_naps; /* atomic: naps completed */
static int changing;  /* atomic: the changer runs while set */

static void napper(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 1;
    for (int k = 0; k < NAPS; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ns = 50000 + (int64_t)(x % (2 * MS)); /* 50 us .. 2 ms */
        int64_t start = go_now();
        go_sleep(ns);
        if (go_now() - start < ns)
            __atomic_add_fetch(&early, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&wave_naps, 1, __ATOMIC_RELAXED);
    }
    go_wg_done(&wave_wg);
}

static void *changer(void *arg)
{
    (void)arg;
    static const int procs[] = {1, 4, 2, 8, 3, 1, 6, 2};
    for (int i = 0; __atomic_load_n(&changing, __ATOMIC_ACQUIRE); i++) {
        go_maxprocs(procs[i % 8]);
        struct timespec ts = {0, 700000}; /* 0.7 ms */
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void test_sleepers_across_maxprocs(void)
{
    int old = go_maxprocs(0);
    __atomic_store_n(&changing, 1, __ATOMIC_RELEASE);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, changer, NULL), 0);
    for (int w = 0; w < WAVES; w++) {
        go_wg_add(&wave_wg, WAVE_N);
        for (int i = 0; i < WAVE_N; i++)
            CHECK_EQ(go(napper, (void *)(intptr_t)(w * WAVE_N + i)), 0);
        go_wg_wait(&wave_wg); /* the next wave reuses these descriptors */
    }
    __atomic_store_n(&changing, 0, __ATOMIC_RELEASE);
    CHECK_EQ(pthread_join(t, NULL), 0);
    go_maxprocs(old);
    CHECK_EQ(__atomic_load_n(&wave_naps, __ATOMIC_RELAXED), WAVES * WAVE_N * NAPS);
    CHECK_EQ(early, 0);
}

int main(void)
{
    int n = TEST_SANITIZED ? 10000 : 100000;
    uint64_t x = 0x2545F4914F6CDD1DULL;
    go_wg_add(&wg, n);
    for (int i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ns = 1 * MS + (int64_t)(x % (50 * MS));
        CHECK_EQ(go(sleeper, (void *)(intptr_t)ns), 0);
    }
    go_wg_wait(&wg);
    CHECK_EQ(early, 0);
    test_sleepers_across_maxprocs();
    printf("test_time_sleepers: %d goroutines woke, then %d waves of %d nappers across GOMAXPROCS "
           "changes (GOMAXPROCS=%d)\n",
           n, WAVES, WAVE_N, go_maxprocs(0));
    return 0;
}
