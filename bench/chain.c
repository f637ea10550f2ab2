/*
 * chain - N goroutines (default 100,000) in a daisy chain of N+1
 * unbuffered channels (Go's classic "whispers"): relay i receives from
 * channel i+1 and sends the value plus one on channel i. The root pushes 0
 * into the right end and receives N from the left end; P passes (default
 * 10), each relay looping P times. Setup (channels and spawns) is not
 * timed; the P passes are. Run at the default GOMAXPROCS. Reports ms per
 * pass; every pass's value is checked.
 *
 *   usage: bench_chain [N [P]]
 */
#include "bench.h"

static long n, passes;
static go_wg wg = GO_WG_INIT;

struct relay_args {
    go_chan *left, *right;
};

static void relay(void *arg)
{
    struct relay_args *a = arg;
    for (long p = 0; p < passes; p++) {
        int64_t v;
        go_chan_recv(a->right, &v);
        v++;
        go_chan_send(a->left, &v);
    }
    go_wg_done(&wg);
}

static int64_t elapsed;

static void root(void *arg)
{
    (void)arg;
    go_chan **chans = malloc((size_t)(n + 1) * sizeof *chans);
    if (!chans)
        bench_fail("chain", "out of memory");
    for (long i = 0; i <= n; i++)
        if (!(chans[i] = go_chan_make(sizeof(int64_t), 0)))
            bench_fail("chain", "go_chan_make failed");
    go_wg_add(&wg, n);
    for (long i = 0; i < n; i++) {
        struct relay_args a = {chans[i], chans[i + 1]};
        BENCH_GO(go_copy(relay, &a, sizeof a));
    }
    int64_t t0 = bench_now();
    for (long p = 0; p < passes; p++) {
        int64_t v = 0;
        go_chan_send(chans[n], &v);
        go_chan_recv(chans[0], &v);
        if (v != n)
            bench_fail("chain", "pass %ld: got %lld at the end, want %ld", p, (long long)v, n);
    }
    elapsed = bench_now() - t0;
    go_wg_wait(&wg);
    for (long i = 0; i <= n; i++)
        go_chan_free(chans[i]);
    free(chans);
}

int main(int argc, char **argv)
{
    n = bench_arg(argc, argv, 1, 100000);
    passes = bench_arg(argc, argv, 2, 10);
    bench_run_root(root, NULL);
    printf("RESULT name=chain metric=ms_per_pass value=%.3f n=%ld passes=%ld gomaxprocs=%d\n",
           elapsed / 1e6 / passes, n, passes, go_maxprocs(0));
    return 0;
}
