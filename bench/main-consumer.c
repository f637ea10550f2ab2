/*
 * main-consumer - a worker pool whose results are summed by a loop in the
 * program's main thread, a plain thread that is not a goroutine (what a C
 * program does when it calls the library from main() without go_main).
 * A feeder goroutine sends N jobs (default 200,000) into a buffered jobs
 * channel, W = 4 worker goroutines square each job and send it on a
 * buffered results channel, and main receives the N results and checks
 * their sum. The same loop is then run once more in a goroutine (as Go's
 * main is one), and both are reported: value= is main's ns per value,
 * in_g_ns= the goroutine's, ratio= their quotient.
 *
 *   usage: bench_main-consumer [N]
 */
#include "bench.h"

#define WORKERS 4
#define CAP 64

struct pool {
    long n;
    go_chan *jobs, *results;
    go_wg workers;
};

static void feeder(void *arg)
{
    struct pool *p = arg;
    for (int64_t i = 1; i <= p->n; i++)
        go_chan_send(p->jobs, &i);
    go_chan_close(p->jobs);
}

static void worker(void *arg)
{
    struct pool *p = arg;
    int64_t v;
    while (go_chan_recv(p->jobs, &v))
        go_chan_send(p->results, &(int64_t){v * v});
    go_wg_done(&p->workers);
}

static void closer(void *arg)
{
    struct pool *p = arg;
    go_wg_wait(&p->workers);
    go_chan_close(p->results);
}

/* Start the pool, sum its results here; returns ns per value. */
static double consume(long n)
{
    struct pool p = {.n = n, .workers = GO_WG_INIT};
    p.jobs = go_chan_make(sizeof(int64_t), CAP);
    p.results = go_chan_make(sizeof(int64_t), CAP);
    if (!p.jobs || !p.results)
        bench_fail("main-consumer", "go_chan_make failed");
    int64_t t0 = bench_now();
    go_wg_add(&p.workers, WORKERS);
    BENCH_GO(go(feeder, &p));
    for (int i = 0; i < WORKERS; i++)
        BENCH_GO(go(worker, &p));
    BENCH_GO(go(closer, &p));
    int64_t sum = 0, v;
    long got = 0;
    while (go_chan_recv(p.results, &v)) {
        sum += v;
        got++;
    }
    int64_t el = bench_now() - t0;
    /* 1^2 + ... + n^2 */
    int64_t want = (int64_t)n * (n + 1) * (2 * n + 1) / 6;
    if (got != n || sum != want)
        bench_fail("main-consumer", "got %ld values summing to %lld, want %ld summing to %lld", got,
                   (long long)sum, n, (long long)want);
    go_chan_free(p.jobs);
    go_chan_free(p.results);
    return (double)el / n;
}

static long n;
static double in_g;

static void root(void *arg)
{
    (void)arg;
    in_g = consume(n);
}

int main(int argc, char **argv)
{
    n = bench_arg(argc, argv, 1, 200000);
    double in_main = consume(n);
    bench_run_root(root, NULL);
    printf("RESULT name=main-consumer metric=ns_per_value value=%.2f in_g_ns=%.2f ratio=%.2f n=%ld "
           "gomaxprocs=%d\n",
           in_main, in_g, in_main / in_g, n, go_maxprocs(0));
    return 0;
}
