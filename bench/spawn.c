/*
 * spawn - the main thread (a plain thread, not a goroutine) starts N
 * goroutines (default 1,000,000) that each only call wg.Done, then waits
 * for all of them. Reports ns per goroutine and the peak RSS.
 *
 *   usage: bench_spawn [N]
 */
#include "bench.h"

static go_wg wg = GO_WG_INIT;

static void done(void *arg)
{
    (void)arg;
    go_wg_done(&wg);
}

int main(int argc, char **argv)
{
    long n = bench_arg(argc, argv, 1, 1000000);
    go_wg_add(&wg, n);
    int64_t t0 = bench_now();
    for (long i = 0; i < n; i++)
        BENCH_GO(go(done, NULL));
    go_wg_wait(&wg);
    int64_t t1 = bench_now();
    /* Goroutines may still be between wg.Done and their exit. */
    for (int i = 0; i < 1000 && go_num_goroutine() > 0; i++)
        usleep(1000);
    if (go_num_goroutine() != 0)
        bench_fail("spawn", "%d goroutines still alive after wg.Wait", go_num_goroutine());
    printf("RESULT name=spawn metric=ns_per_goroutine value=%.2f rss_kb=%ld n=%ld\n",
           (double)(t1 - t0) / n, bench_maxrss_kb(), n);
    return 0;
}
