/*
 * test_time_poll.c - timers that fall due while the idle M on timer duty
 * sleeps in the network poller.
 *
 * With a descriptor being waited for, the idle M that watches the timers
 * sleeps in the poller (epoll) until the earliest one. Its timeout is
 * `until - now`; a timer that falls due just as that M goes to sleep must
 * give a zero timeout, never a negative one (which the poller reads as
 * "forever": the due timer would then never run, and everything waiting
 * on a timer would stay parked). This once happened when the clock was
 * read twice, 1 run in ~13 of test_select_fd's timeout race.
 *
 * Shape: one goroutine blocked reading an empty pipe keeps the poller in
 * use; SLEEPERS goroutines each sleep ROUNDS times for 0 to 3 us, so that
 * timers fall due again and again right around the moment the runtime
 * goes idle and an M computes its poll timeout. Every sleep must return
 * (the count is checked); a lost timer is a hang, caught by ctest's
 * timeout.
 */
#include "test_util.h"

#include <fcntl.h>
#include <unistd.h>

#define SLEEPERS 4
#define ROUNDS 50000

static int pfd[2];
static go_wg sleep_wg, reader_wg;
static int64_t slept[SLEEPERS];

static void blocked_reader(void *arg)
{
    (void)arg;
    char b;
    /* Nothing is ever written: only the close of the write end ends it. */
    CHECK_EQ(go_read(pfd[0], &b, 1), 0);
    go_wg_done(&reader_wg);
}

static void sleeper(void *arg)
{
    int i = (int)(intptr_t)arg;
    uint64_t s = (uint64_t)i * 0x9e3779b97f4a7c15ull + 1;
    for (int k = 0; k < ROUNDS; k++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        go_sleep((int64_t)(s % 3000));
        slept[i]++;
    }
    go_wg_done(&sleep_wg);
}

int main(void)
{
    CHECK_EQ(pipe2(pfd, O_NONBLOCK), 0);
    go_wg_add(&reader_wg, 1);
    CHECK_EQ(go(blocked_reader, NULL), 0);
    go_wg_add(&sleep_wg, SLEEPERS);
    for (int i = 0; i < SLEEPERS; i++)
        CHECK_EQ(go(sleeper, (void *)(intptr_t)i), 0);
    go_wg_wait(&sleep_wg);
    for (int i = 0; i < SLEEPERS; i++)
        CHECK_EQ(slept[i], ROUNDS);
    CHECK_EQ(go_close(pfd[1]), 0);
    go_wg_wait(&reader_wg);
    CHECK_EQ(go_close(pfd[0]), 0);
    printf("ok\n");
    return 0;
}
