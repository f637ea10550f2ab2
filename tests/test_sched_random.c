/*
 * test_sched_random.c - GOROUTINE_SCHED_RANDOM=1, the debug mode that
 * sends a goroutine bound for runnext to the tail of the run queue half of
 * the time. On one P, a goroutine that spawns N children and then waits
 * sees them run in one fixed order without it (the last spawned first, from
 * runnext, then the rest in order); with it, in other orders. The test
 * checks that each child runs exactly once in every round, whatever the
 * order, and that the mode really changes the order (the chance that all
 * ROUNDS rounds keep the fixed one is below 2^-100). It also runs a
 * ping-pong over a channel and a WaitGroup tree in the mode, which must
 * complete as usual. The environment variable is set before the runtime
 * starts (it starts on first use).
 */
#include "test_util.h"

#define N 16
#define ROUNDS 10

static int order[N], nran;
static go_wg kids;

static void child(void *arg)
{
    order[nran++] = (int)(intptr_t)arg; /* one P: no other goroutine runs meanwhile */
    go_wg_done(&kids);
}

static int rounds_in_fixed_order;
static go_wg spawner_done;

static void spawner(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        nran = 0;
        go_wg_add(&kids, N);
        for (int i = 0; i < N; i++)
            CHECK_EQ(go(child, (void *)(intptr_t)i), 0);
        go_wg_wait(&kids);
        CHECK_EQ(nran, N);
        int seen[N] = {0};
        for (int i = 0; i < N; i++) {
            CHECK(order[i] >= 0 && order[i] < N);
            CHECK_EQ(seen[order[i]]++, 0);
        }
        bool fixed = order[0] == N - 1;
        for (int i = 1; i < N; i++)
            fixed = fixed && order[i] == i - 1;
        rounds_in_fixed_order += fixed;
    }
    go_wg_done(&spawner_done);
}

static go_chan *ping, *pong;

static void ponger(void *arg)
{
    (void)arg;
    int v;
    while (go_chan_recv(ping, &v)) {
        v++;
        go_chan_send(pong, &v);
    }
}

/* A binary tree of goroutines, each joining its child with a WaitGroup;
 * returns the number of leaves (2^depth). */
struct grow_arg {
    int depth;
    long leaves;
    go_wg *wg;
};

static void grow_g(void *arg);

static long grow(int depth)
{
    if (depth == 0)
        return 1;
    go_wg wg = GO_WG_INIT;
    struct grow_arg a = {depth - 1, 0, &wg};
    go_wg_add(&wg, 1);
    CHECK_EQ(go(grow_g, &a), 0);
    long mine = grow(depth - 1);
    go_wg_wait(&wg);
    return a.leaves + mine;
}

static void grow_g(void *arg)
{
    struct grow_arg *a = arg;
    a->leaves = grow(a->depth);
    go_wg_done(a->wg);
}

int main(void)
{
    CHECK_EQ(setenv("GOROUTINE_SCHED_RANDOM", "1", 1), 0);
    int procs = go_maxprocs(1); /* starts the runtime; the ordering part needs one P */
    go_wg_add(&spawner_done, 1);
    CHECK_EQ(go(spawner, NULL), 0);
    go_wg_wait(&spawner_done);
    CHECK(rounds_in_fixed_order < ROUNDS);

    /* Back to the test's GOMAXPROCS: the usual workloads still complete. */
    go_maxprocs(procs);
    ping = go_chan_make(sizeof(int), 0);
    pong = go_chan_make(sizeof(int), 0);
    CHECK_EQ(go(ponger, NULL), 0);
    for (int i = 0; i < 10000; i++) {
        int v = i;
        go_chan_send(ping, &v);
        CHECK(go_chan_recv(pong, &v));
        CHECK_EQ(v, i + 1);
    }
    go_chan_close(ping);
    CHECK_EQ(grow(12), 1L << 12);
    while (go_num_goroutine() > 0)
        go_yield();
    go_chan_free(ping);
    go_chan_free(pong);
    printf("test_sched_random: ok, %d of %d rounds in the fixed order (GOMAXPROCS=%d)\n",
           rounds_in_fixed_order, ROUNDS, procs);
    return 0;
}
