/*
 * yield - G goroutines (default 10) each call go_yield() N times (default
 * 1,000,000); run.sh runs it at GOMAXPROCS=1. Reports ns per yield (total
 * time over G*N yields; the G spawns are included and negligible).
 *
 *   usage: bench_yield [N [G]]
 */
#include "bench.h"

static long n_yields, n_gs;
static go_wg wg = GO_WG_INIT;
static long counts[64];

static void yielder(void *arg)
{
    long count = 0;
    for (long i = 0; i < n_yields; i++) {
        go_yield();
        count++;
    }
    *(long *)arg = count;
    go_wg_done(&wg);
}

static void root(void *arg)
{
    int64_t *elapsed = arg;
    int64_t t0 = bench_now();
    go_wg_add(&wg, n_gs);
    for (long i = 0; i < n_gs; i++)
        BENCH_GO(go(yielder, &counts[i]));
    go_wg_wait(&wg);
    *elapsed = bench_now() - t0;
}

int main(int argc, char **argv)
{
    n_yields = bench_arg(argc, argv, 1, 1000000);
    n_gs = bench_arg(argc, argv, 2, 10);
    if (n_gs > 64)
        bench_fail("yield", "at most 64 goroutines");
    int64_t elapsed = 0;
    bench_run_root(root, &elapsed);
    for (long i = 0; i < n_gs; i++)
        if (counts[i] != n_yields)
            bench_fail("yield", "goroutine %ld yielded %ld times, want %ld", i, counts[i], n_yields);
    printf("RESULT name=yield metric=ns_per_yield value=%.2f n=%ld goroutines=%ld gomaxprocs=%d\n",
           (double)elapsed / ((double)n_yields * n_gs), n_yields, n_gs, go_maxprocs(0));
    return 0;
}
