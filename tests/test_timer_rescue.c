/*
 * test_timer_rescue - sysmon's safety net for timers (sched.c,
 * sched_timers_overdue). Each round puts the runtime in the state a lost
 * wake-up leaves behind: an idle M recorded as the M on timer duty,
 * asleep with no deadline, and told of no timer (sched_test_lose_timer_duty).
 * A timer armed then from this plain thread pokes nobody, and no goroutine
 * runs to fire it: only the net can. Without it a round never ends (the
 * test hangs and ctest's timeout fails it); with it, every timer fires and
 * the callbacks and the channel timer deliver exactly what was armed.
 */
#include <goroutine.h>

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "../src/testhooks.h"
#include "test_util.h"

#define ROUNDS 20

static atomic_int fired;
static go_sema done = GO_SEMA_INIT(0);

static void on_timer(void *arg)
{
    atomic_fetch_add(&fired, 1);
    CHECK(arg == &fired);
    go_sema_release(&done, 1);
}

static void nothing(void *arg)
{
    (void)arg;
}

/* Every M idle and none on duty: then make one the lost duty M. */
static void lose_duty(void)
{
    while (!sched_test_lose_timer_duty())
        usleep(1000);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Start the runtime and an M or two. */
    for (int i = 0; i < 4; i++)
        CHECK_EQ(go(nothing, NULL), 0);
    for (int r = 0; r < ROUNDS; r++) {
        lose_duty();
        if (r % 2 == 0) {
            /* A function timer, waited for on a semaphore. */
            go_timer *t = go_timer_func(100000, on_timer, &fired);
            CHECK(t != NULL);
            go_sema_acquire(&done);
            CHECK(!go_timer_stop(t));
            go_timer_free(t);
        } else {
            /* A channel timer, received from. */
            go_chan *c = go_after(100000);
            CHECK(c != NULL);
            int64_t when;
            CHECK(go_chan_recv(c, &when));
            CHECK(when > 0);
            go_chan_free(c);
            atomic_fetch_add(&fired, 1);
        }
    }
    CHECK_EQ(atomic_load(&fired), ROUNDS);
    printf("timer rescue: %d timers armed behind a lost duty wake-up, all fired\n", ROUNDS);
    return 0;
}
