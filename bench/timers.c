/*
 * timers - G goroutines (default 100,000) each sleep 10 ms, R times in a
 * row (default 10). All are started and wait at a barrier (a WaitGroup)
 * until every one has arrived; the clock starts when the barrier opens and
 * stops when the last one has finished. The ideal is R * 10 ms = 100 ms.
 * Run at the default GOMAXPROCS. Reports the total ms and the overshoot
 * beyond the ideal; every goroutine's R sleeps are counted and checked to
 * have taken at least R * 10 ms.
 *
 *   usage: bench_timers [G [R]]
 */
#include "bench.h"

#define SLEEP_NS (10 * 1000000LL)

static long ngs, rounds;
static go_wg ready = GO_WG_INIT, start = GO_WG_INIT, done = GO_WG_INIT;
static int64_t slept; /* atomic */
static int64_t short_sleeps; /* atomic: goroutines whose sleeps ended early */

static void sleeper(void *arg)
{
    (void)arg;
    go_wg_done(&ready);
    go_wg_wait(&start);
    int64_t t0 = bench_now();
    for (long r = 0; r < rounds; r++)
        go_sleep(SLEEP_NS);
    if (bench_now() - t0 < rounds * SLEEP_NS)
        __atomic_add_fetch(&short_sleeps, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&slept, rounds, __ATOMIC_RELAXED);
    go_wg_done(&done);
}

static int64_t elapsed;

static void root(void *arg)
{
    (void)arg;
    go_wg_add(&ready, ngs);
    go_wg_add(&start, 1);
    go_wg_add(&done, ngs);
    for (long i = 0; i < ngs; i++)
        BENCH_GO(go(sleeper, NULL));
    go_wg_wait(&ready);
    int64_t t0 = bench_now();
    go_wg_done(&start);
    go_wg_wait(&done);
    elapsed = bench_now() - t0;
}

int main(int argc, char **argv)
{
    ngs = bench_arg(argc, argv, 1, 100000);
    rounds = bench_arg(argc, argv, 2, 10);
    bench_run_root(root, NULL);
    if (slept != (int64_t)ngs * rounds)
        bench_fail("timers", "%lld sleeps done, want %lld", (long long)slept,
                   (long long)ngs * rounds);
    if (short_sleeps)
        bench_fail("timers", "%lld goroutines finished their sleeps early", (long long)short_sleeps);
    double ms = elapsed / 1e6, ideal = rounds * SLEEP_NS / 1e6;
    printf("RESULT name=timers metric=ms value=%.3f overshoot_ms=%.3f n=%ld rounds=%ld gomaxprocs=%d\n",
           ms, ms - ideal, ngs, rounds, go_maxprocs(0));
    return 0;
}
