/*
 * test_lockthread_churn.c - goroutines that wire and unwire themselves to
 * their thread (go_lock_thread / go_unlock_thread) again and again, and
 * in between block and wake: short sleeps, and unbuffered channel
 * exchanges with a partner, while other goroutines arm short timers.
 *
 * This is the shape that once crashed the scheduler: a wired M sleeping
 * until someone handed it a P woke on a wake-up that was meant for an
 * earlier sleep of the same M (it had been an idle M, and the waker's
 * futex wake arrived late), and took the missing P as given. The test
 * checks what the program computed: every message arrived, in order, and
 * while wired a goroutine stayed on its thread.
 */
#include "test_util.h"

#include <sys/syscall.h>

#define PAIRS 2
#define ROUNDS 20000
#define TIMER_GOROUTINES 3

static int tid(void)
{
    return (int)syscall(SYS_gettid);
}

struct pair {
    go_chan *ping, *pong;
    long received; /* by the partner: values checked in order */
    long wired_moves; /* times a wired goroutine found itself moved */
};

static struct pair pairs[PAIRS];
static go_wg pairs_done, timers_done;
static int stop_timers;
static long timer_fires;

/* Wire or unwire now and then; while wired, the thread must not change. */
static void churner(void *arg)
{
    struct pair *pr = arg;
    uint64_t rnd = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL | 1;
    int wired = 0, wired_tid = 0;
    for (long i = 0; i < ROUNDS; i++) {
        rnd ^= rnd << 13;
        rnd ^= rnd >> 7;
        rnd ^= rnd << 17;
        if (rnd % 7 == 0) {
            if (wired) {
                go_unlock_thread();
                wired = 0;
            } else {
                go_lock_thread();
                wired = 1;
                wired_tid = tid();
            }
        }
        if (rnd % 3 == 0)
            go_sleep((int64_t)(rnd % 4000) + 1000);
        else
            go_chan_send(pr->ping, &i);
        long back;
        if (rnd % 3 != 0) {
            CHECK(go_chan_recv(pr->pong, &back));
            CHECK_EQ(back, i);
        }
        if (wired && tid() != wired_tid)
            pr->wired_moves++;
    }
    if (wired)
        go_unlock_thread();
    long end = -1;
    go_chan_send(pr->ping, &end);
    go_wg_done(&pairs_done);
}

/* The partner: also wires itself now and then. Echoes what it gets. */
static void partner(void *arg)
{
    struct pair *pr = arg;
    long expect = 0;
    int wired = 0;
    for (;;) {
        long v;
        CHECK(go_chan_recv(pr->ping, &v));
        if (v < 0)
            break;
        CHECK(v >= expect); /* rounds that slept sent nothing */
        expect = v + 1;
        pr->received++;
        if (v % 11 == 0) {
            if (wired)
                go_unlock_thread();
            else
                go_lock_thread();
            wired = !wired;
        }
        go_chan_send(pr->pong, &v);
    }
    if (wired)
        go_unlock_thread();
    go_wg_done(&pairs_done);
}

static void timer_arm(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop_timers, __ATOMIC_ACQUIRE)) {
        go_chan *c = go_after(2000);
        CHECK(c != NULL);
        int64_t when;
        CHECK(go_chan_recv(c, &when));
        go_chan_free(c);
        __atomic_add_fetch(&timer_fires, 1, __ATOMIC_RELAXED);
    }
    go_wg_done(&timers_done);
}

int main(void)
{
    go_wg_add(&pairs_done, 2 * PAIRS);
    go_wg_add(&timers_done, TIMER_GOROUTINES);
    for (int i = 0; i < PAIRS; i++) {
        pairs[i].ping = go_chan_make(sizeof(long), 0);
        pairs[i].pong = go_chan_make(sizeof(long), 0);
        CHECK(pairs[i].ping && pairs[i].pong);
        CHECK_EQ(go(partner, &pairs[i]), 0);
    }
    for (int i = 0; i < TIMER_GOROUTINES; i++)
        CHECK_EQ(go(timer_arm, NULL), 0);
    for (int i = 0; i < PAIRS; i++)
        CHECK_EQ(go(churner, &pairs[i]), 0);
    go_wg_wait(&pairs_done);
    __atomic_store_n(&stop_timers, 1, __ATOMIC_RELEASE);
    go_wg_wait(&timers_done);
    long received = 0;
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ(pairs[i].wired_moves, 0);
        CHECK(pairs[i].received > 0);
        received += pairs[i].received;
        go_chan_free(pairs[i].ping);
        go_chan_free(pairs[i].pong);
    }
    CHECK(timer_fires > 0);
    printf("test_lockthread_churn: %d pairs x %d rounds, %ld exchanges, %ld timer fires\n",
           PAIRS, ROUNDS, received, timer_fires);
    return 0;
}
