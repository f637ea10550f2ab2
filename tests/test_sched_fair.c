/*
 * test_sched_fair - Go's fairness at GOMAXPROCS=1 (registered for 1 P
 * only; the program also sets it).
 *
 * pingpong_vs_yielder: two goroutines bounce a value over unbuffered
 * channels, handing off through runnext on every step, while a third calls
 * go_yield() ten times. The pair must not starve the third: it must finish
 * before the pair completes PP_MAX round trips (a bound ~100x what
 * preemption every 10 ms needs; without it the pair never lets go).
 *
 * spawner: one goroutine spawns children in a loop (each only records
 * that it ran). The children must run while the loop is still going, and
 * no more than 8,192 may wait at once: checked twice, once with
 * asynchronous preemption on (the spawner is in go() nearly all the time,
 * so the signal almost never finds it at a safe point), and once in a
 * child process with GOROUTINE_PREEMPT=off, where a loop that also works
 * in its own code between spawns can only be preempted at go().
 */
#include "test_util.h"

#include <stdatomic.h>

/* ---- ping-pong pair against a yielder ----------------------------------- */

#define PP_MAX 10000000L
#define YIELDS 10

static go_chan *ping_c, *pong_c;
static atomic_int yielder_done, pair_started;
static long trips;
static go_wg pp_wg;

static void pinger(void *arg)
{
    (void)arg;
    atomic_store(&pair_started, 1);
    long i;
    for (i = 0; i < PP_MAX && !atomic_load(&yielder_done); i++) {
        long v = i;
        go_chan_send(ping_c, &v);
        CHECK(go_chan_recv(pong_c, &v));
        CHECK_EQ(v, i + 1);
    }
    trips = i;
    go_chan_close(ping_c);
    go_wg_done(&pp_wg);
}

static void ponger(void *arg)
{
    (void)arg;
    long v;
    while (go_chan_recv(ping_c, &v)) {
        v++;
        go_chan_send(pong_c, &v);
    }
    go_wg_done(&pp_wg);
}

static void yielder(void *arg)
{
    (void)arg;
    while (!atomic_load(&pair_started))
        go_yield();
    for (int i = 0; i < YIELDS; i++)
        go_yield();
    atomic_store(&yielder_done, 1);
    go_wg_done(&pp_wg);
}

static void pingpong_vs_yielder(void)
{
    ping_c = go_chan_make(sizeof(long), 0);
    pong_c = go_chan_make(sizeof(long), 0);
    CHECK(ping_c && pong_c);
    go_wg_add(&pp_wg, 3);
    CHECK_EQ(go(yielder, NULL), 0);
    CHECK_EQ(go(pinger, NULL), 0);
    CHECK_EQ(go(ponger, NULL), 0);
    go_wg_wait(&pp_wg);
    if (!atomic_load(&yielder_done) || trips >= PP_MAX) {
        fprintf(stderr, "FAIL: the ping-pong pair made %ld round trips before a goroutine "
                        "that yields %d times finished\n", trips, YIELDS);
        abort();
    }
    printf("pingpong_vs_yielder: the yielder finished after %ld round trips\n", trips);
    go_chan_free(ping_c);
    go_chan_free(pong_c);
}

/* ---- a spawning loop ------------------------------------------------------- */

static atomic_long children_ran;
static go_wg child_wg;

static void child(void *arg)
{
    (void)arg;
    atomic_fetch_add(&children_ran, 1);
    go_wg_done(&child_wg);
}

struct spawn_run {
    long max;       /* spawns before giving up */
    long work;      /* iterations of own work between spawns */
    long spawned;   /* when the first child had run */
    long peak;      /* most children spawned and not yet run */
};

static volatile unsigned long sink;

static void spawner(void *arg)
{
    struct spawn_run *r = arg;
    long i;
    for (i = 0; i < r->max; i++) {
        long live = i - atomic_load(&children_ran);
        if (live > r->peak)
            r->peak = live;
        /* Keep going well past the first child, so that the loop is
         * preempted many times, but stop early once it clearly is. */
        if (atomic_load(&children_ran) > 0 && i >= r->max / 4)
            break;
        for (long k = 0; k < r->work; k++)
            sink += (unsigned long)k * 2654435761u;
        go_wg_add(&child_wg, 1);
        CHECK_EQ(go(child, NULL), 0);
        if (r->spawned == 0 && atomic_load(&children_ran) > 0)
            r->spawned = i + 1;
    }
    go_wg_done(&child_wg);
}

/* Spawn up to max children; fail if none ran during the loop or too many
 * were alive at once. */
static void spawn_loop(long max, long work, long peak_max)
{
    struct spawn_run r = {.max = max, .work = work};
    atomic_store(&children_ran, 0);
    go_wg_add(&child_wg, 1);
    CHECK_EQ(go(spawner, &r), 0);
    go_wg_wait(&child_wg);
    printf("spawn_loop(work %ld): first child ran after %ld spawns; at most %ld waiting\n", work,
           r.spawned, r.peak);
    if (r.spawned == 0) {
        fprintf(stderr, "FAIL: no child ran while the spawning loop made %ld spawns\n", max);
        abort();
    }
    if (r.peak > peak_max) {
        fprintf(stderr, "FAIL: %ld children queued at once (bound %ld)\n", r.peak, peak_max);
        abort();
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "coop") == 0) {
        /* Cooperative only: 20,000 spawns with ~10 us of own work
         * each, ~200 ms; preemption every 10 ms needs ~1,000. */
        go_maxprocs(1);
        spawn_loop(20000, 4000, 8192);
        return 0;
    }
    go_maxprocs(1);
    if (argc == 1)
        pingpong_vs_yielder();
    /* A bare loop: 100,000 spawns at most. Preempted only every 10 ms,
     * it queues 10,000-100,000 children per slice, depending on the
     * machine; a spawner is also asked to yield once the global queue
     * holds a few thousand, which bounds it whatever the speed. */
    spawn_loop(100000, 0, 8192);
    if (argc > 1) /* "spawn": only that */
        return 0;

    /* The same with preemption signals off, in a fresh process. */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = 0;
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        setenv("GOROUTINE_PREEMPT", "off", 1);
        execl(self, self, "coop", (char *)NULL);
        _exit(127);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("ok\n");
    return 0;
}
