/*
 * pingpong - two goroutines bounce an int over one unbuffered channel N
 * times (default 1,000,000 round trips): ping sends i and receives i+1,
 * pong receives and sends back v+1. run.sh runs it at GOMAXPROCS=1 and 2.
 * Reports ns per round trip (two channel handoffs).
 *
 *   usage: bench_pingpong [N]
 */
#include "bench.h"

static long n;
static go_chan *ch;
static go_wg wg = GO_WG_INIT;
static volatile int bad;

static void ping(void *arg)
{
    (void)arg;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = i;
        go_chan_send(ch, &v);
        go_chan_recv(ch, &v);
        if (v != i + 1)
            bad = 1;
    }
    go_wg_done(&wg);
}

static void pong(void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        int64_t v;
        go_chan_recv(ch, &v);
        v++;
        go_chan_send(ch, &v);
    }
    go_wg_done(&wg);
}

static int64_t elapsed;

static void root(void *arg)
{
    (void)arg;
    ch = go_chan_make(sizeof(int64_t), 0);
    if (!ch)
        bench_fail("pingpong", "go_chan_make failed");
    int64_t t0 = bench_now();
    go_wg_add(&wg, 2);
    BENCH_GO(go(ping, NULL));
    BENCH_GO(go(pong, NULL));
    go_wg_wait(&wg);
    elapsed = bench_now() - t0;
    go_chan_free(ch);
}

int main(int argc, char **argv)
{
    n = bench_arg(argc, argv, 1, 1000000);
    bench_run_root(root, NULL);
    if (bad)
        bench_fail("pingpong", "a round trip returned the wrong value");
    printf("RESULT name=pingpong metric=ns_per_roundtrip value=%.2f n=%ld gomaxprocs=%d\n",
           (double)elapsed / n, n, go_maxprocs(0));
    return 0;
}
