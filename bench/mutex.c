/*
 * mutex - 8 goroutines each do N (default 1,000,000) lock / increment /
 * unlock on one go_mutex; run.sh runs it at GOMAXPROCS=2. Reports ns per
 * lock/unlock pair (total time over 8*N); the counter is checked.
 *
 *   usage: bench_mutex [N [G]]
 */
#include "bench.h"

static long n, ngs;
static go_mutex mu = GO_MUTEX_INIT;
static int64_t counter; /* under mu */
static go_wg wg = GO_WG_INIT;

static void worker(void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        go_mutex_lock(&mu);
        counter++;
        go_mutex_unlock(&mu);
    }
    go_wg_done(&wg);
}

static int64_t elapsed;

static void root(void *arg)
{
    (void)arg;
    int64_t t0 = bench_now();
    go_wg_add(&wg, ngs);
    for (long i = 0; i < ngs; i++)
        BENCH_GO(go(worker, NULL));
    go_wg_wait(&wg);
    elapsed = bench_now() - t0;
}

int main(int argc, char **argv)
{
    n = bench_arg(argc, argv, 1, 1000000);
    ngs = bench_arg(argc, argv, 2, 8);
    bench_run_root(root, NULL);
    if (counter != (int64_t)n * ngs)
        bench_fail("mutex", "counter %lld, want %lld", (long long)counter, (long long)n * ngs);
    printf("RESULT name=mutex metric=ns_per_lock value=%.2f n=%ld goroutines=%ld gomaxprocs=%d\n",
           (double)elapsed / ((double)n * ngs), n, ngs, go_maxprocs(0));
    return 0;
}
