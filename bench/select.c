/*
 * select - one consumer goroutine runs a select over 4 unbuffered channels
 * 4*N times; producer i sends the ints 1..N (default N = 1,000,000) on
 * channel i. Run at the default GOMAXPROCS. Reports ns per message; the
 * per-channel counts and the sum are checked.
 *
 *   usage: bench_select [N]
 */
#include "bench.h"

#define NCHAN 4

static long n;
static go_chan *ch[NCHAN];
static go_wg wg = GO_WG_INIT;
static int64_t got_sum, got_count[NCHAN];

static void producer(void *arg)
{
    go_chan *c = arg;
    for (int64_t i = 1; i <= n; i++)
        go_chan_send(c, &i);
    go_wg_done(&wg);
}

static void consumer(void *arg)
{
    (void)arg;
    int64_t v, sum = 0, count[NCHAN] = {0};
    go_select_case cases[NCHAN];
    for (int i = 0; i < NCHAN; i++)
        cases[i] = GO_RECV(ch[i], &v, NULL);
    for (long k = 0; k < NCHAN * n; k++) {
        int i = go_select(cases, NCHAN);
        if (i < 0 || i >= NCHAN)
            bench_fail("select", "go_select returned %d", i);
        sum += v;
        count[i]++;
    }
    got_sum = sum;
    for (int i = 0; i < NCHAN; i++)
        got_count[i] = count[i];
    go_wg_done(&wg);
}

static int64_t elapsed;

static void root(void *arg)
{
    (void)arg;
    for (int i = 0; i < NCHAN; i++)
        if (!(ch[i] = go_chan_make(sizeof(int64_t), 0)))
            bench_fail("select", "go_chan_make failed");
    int64_t t0 = bench_now();
    go_wg_add(&wg, NCHAN + 1);
    BENCH_GO(go(consumer, NULL));
    for (int i = 0; i < NCHAN; i++)
        BENCH_GO(go(producer, ch[i]));
    go_wg_wait(&wg);
    elapsed = bench_now() - t0;
    for (int i = 0; i < NCHAN; i++)
        go_chan_free(ch[i]);
}

int main(int argc, char **argv)
{
    n = bench_arg(argc, argv, 1, 1000000);
    bench_run_root(root, NULL);
    for (int i = 0; i < NCHAN; i++)
        if (got_count[i] != n)
            bench_fail("select", "channel %d delivered %lld values, want %ld", i,
                       (long long)got_count[i], n);
    if (got_sum != (int64_t)NCHAN * n * (n + 1) / 2)
        bench_fail("select", "sum %lld, want %lld", (long long)got_sum,
                   (long long)NCHAN * n * (n + 1) / 2);
    printf("RESULT name=select metric=ns_per_msg value=%.2f n=%ld gomaxprocs=%d\n",
           (double)elapsed / (NCHAN * n), n, go_maxprocs(0));
    return 0;
}
