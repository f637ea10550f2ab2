/*
 * test_time_sleepers.c - 100,000 goroutines sleeping at once (10,000 under
 * a sanitizer) all wake up, none early: the timer heaps under load, timers
 * armed from park unlock functions on every P, and idle Ms woken for
 * timers while the goroutines they would run are all asleep.
 */
#include "test_util.h"

#include <stdint.h>

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
    printf("test_time_sleepers: %d goroutines woke (GOMAXPROCS=%d)\n", n, go_maxprocs(0));
    return 0;
}
