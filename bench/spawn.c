/*
 * spawn - the main thread (a plain thread, not a goroutine) starts N
 * goroutines (default 1,000,000) that each only call wg.Done, then waits
 * for all of them. Reports ns per goroutine and the peak RSS. With "g"
 * after N, a goroutine does the spawning and waiting instead (as Go's
 * main, a goroutine, does in the twin): a spawner that shares its P with
 * what it spawns, which GOMAXPROCS=1 makes the whole story.
 *
 *   usage: bench_spawn [N [g]]
 */
#include "bench.h"

static go_wg wg = GO_WG_INIT;

static void done(void *arg)
{
    (void)arg;
    go_wg_done(&wg);
}

static long n;
static int64_t t0, t1;

static void spawn_all(void)
{
    go_wg_add(&wg, n);
    t0 = bench_now();
    for (long i = 0; i < n; i++)
        BENCH_GO(go(done, NULL));
    go_wg_wait(&wg);
    t1 = bench_now();
}

static void root(void *arg)
{
    (void)arg;
    spawn_all();
}

int main(int argc, char **argv)
{
    n = bench_arg(argc, argv, 1, 1000000);
    bool in_g = argc > 2 && strcmp(argv[2], "g") == 0;
    if (argc > 2 && !in_g) {
        fprintf(stderr, "usage: bench_spawn [N [g]]\n");
        return 2;
    }
    if (in_g)
        bench_run_root(root, NULL);
    else
        spawn_all();
    /* Goroutines may still be between wg.Done and their exit. */
    for (int i = 0; i < 1000 && go_num_goroutine() > 0; i++)
        usleep(1000);
    if (go_num_goroutine() != 0)
        bench_fail("spawn", "%d goroutines still alive after wg.Wait", go_num_goroutine());
    printf("RESULT name=spawn metric=ns_per_goroutine value=%.2f rss_kb=%ld n=%ld from=%s\n",
           (double)(t1 - t0) / n, bench_maxrss_kb(), n, in_g ? "goroutine" : "main");
    return 0;
}
