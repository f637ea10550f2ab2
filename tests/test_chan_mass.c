/*
 * test_chan_mass.c - 1,000,000 goroutines parked on one channel (three in
 * four in a plain receive, one in four in a select that also waits on a
 * second channel), then released by one close: every one must wake, see
 * "closed" and a zeroed value, and leave no waiter behind. A check that the
 * mass wake-up is memory-safe (run it under ASan) and that nothing is lost.
 * ASan builds park 100,000 and TSan builds 20,000.
 */
#include "test_util.h"
#include "../src/testhooks.h"

#include <stdint.h>
#include <time.h>


static go_chan *c, *other;
static go_wg wg = GO_WG_INIT;
static int64_t started, woke; /* atomic */

static void waiter(void *arg)
{
    intptr_t i = (intptr_t)arg;
    int64_t v = -1;
    bool ok = true;
    __atomic_add_fetch(&started, 1, __ATOMIC_RELAXED);
    if (i % 4 == 3) {
        go_select_case sc[2] = {GO_RECV(other, NULL, NULL), GO_RECV(c, &v, &ok)};
        CHECK_EQ(go_select(sc, 2), 1);
    } else {
        ok = go_chan_recv(c, &v);
    }
    CHECK(!ok);
    CHECK_EQ(v, 0);
    __atomic_add_fetch(&woke, 1, __ATOMIC_RELAXED);
    go_wg_done(&wg);
}

static void nap(void)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

int main(void)
{
    /* TSan keeps ~256 KiB of trace per goroutine: 100,000 would want 25 GB. */
#if defined(GO_TEST_TSAN)
    const int64_t n = 20000;
#else
    const int64_t n = TEST_SANITIZED ? 100000 : 1000000;
#endif
    c = go_chan_make(sizeof(int64_t), 0);
    other = go_chan_make(0, 0);
    go_wg_add(&wg, n);
    for (int64_t i = 0; i < n; i++) {
        int e = go(waiter, (void *)(intptr_t)i);
        if (e != 0) {
            fprintf(stderr, "go() failed at %lld: %s\n", (long long)i, strerror(-e));
            return 1;
        }
    }
    while (__atomic_load_n(&started, __ATOMIC_RELAXED) < n)
        nap();
    for (;;) {
        size_t nr;
        chan_count_waiters(c, NULL, &nr);
        if ((int64_t)nr == n)
            break;
        nap();
    }
    CHECK_EQ(__atomic_load_n(&woke, __ATOMIC_RELAXED), 0);
    go_chan_close(c);
    go_wg_wait(&wg);
    CHECK_EQ(woke, n);
    size_t ns, nr;
    chan_count_waiters(c, &ns, &nr);
    CHECK_EQ(ns + nr, 0);
    chan_count_waiters(other, &ns, &nr);
    CHECK_EQ(ns + nr, 0); /* the selects removed their other waiters */
    go_chan_free(c);
    go_chan_free(other);
    printf("test_chan_mass: ok, %lld goroutines (GOMAXPROCS=%d)\n", (long long)n, go_maxprocs(0));
    return 0;
}
