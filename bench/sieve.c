/*
 * sieve - Go's classic concurrent prime sieve: a generator goroutine sends
 * 2, 3, 4, ... on an unbuffered channel; for each prime the root receives
 * it starts a filter goroutine between the current channel and a new one.
 * The first N primes (default 5,000; the 5,000th is 48611, checked). The
 * goroutines are left blocked at the end, as in Go. Run at the default
 * GOMAXPROCS. Reports ms.
 *
 *   usage: bench_sieve [N]
 */
#include "bench.h"

static void generate(void *arg)
{
    go_chan *ch = arg;
    for (int64_t i = 2;; i++)
        go_chan_send(ch, &i);
}

struct filter_args {
    go_chan *in, *out;
    int64_t prime;
};

static void filter(void *arg)
{
    struct filter_args a = *(struct filter_args *)arg;
    for (;;) {
        int64_t i;
        go_chan_recv(a.in, &i);
        if (i % a.prime != 0)
            go_chan_send(a.out, &i);
    }
}

static long n;
static int64_t last_prime, elapsed;

static void root(void *arg)
{
    (void)arg;
    int64_t t0 = bench_now();
    go_chan *ch = go_chan_make(sizeof(int64_t), 0);
    if (!ch)
        bench_fail("sieve", "go_chan_make failed");
    BENCH_GO(go(generate, ch));
    int64_t prime = 0;
    for (long i = 0; i < n; i++) {
        go_chan_recv(ch, &prime);
        go_chan *ch1 = go_chan_make(sizeof(int64_t), 0);
        if (!ch1)
            bench_fail("sieve", "go_chan_make failed");
        struct filter_args a = {ch, ch1, prime};
        BENCH_GO(go_copy(filter, &a, sizeof a));
        ch = ch1;
    }
    elapsed = bench_now() - t0;
    last_prime = prime;
}

int main(int argc, char **argv)
{
    n = bench_arg(argc, argv, 1, 5000);
    bench_run_root(root, NULL);
    if (n == 5000 && last_prime != 48611)
        bench_fail("sieve", "prime #5000 is %lld, want 48611", (long long)last_prime);
    printf("RESULT name=sieve metric=ms value=%.3f n=%ld last=%lld gomaxprocs=%d\n",
           elapsed / 1e6, n, (long long)last_prime, go_maxprocs(0));
    fflush(stdout);
    _exit(0); /* the sieve's goroutines stay blocked; do not wait for anything */
}
