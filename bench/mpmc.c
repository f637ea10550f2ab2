/*
 * mpmc - 4 producers each send the ints 1..N (default N = 1,000,000) into
 * one channel of capacity 1024; 4 consumers receive until it is closed and
 * add up what they got. The root closes the channel once every producer is
 * done. run.sh runs it at GOMAXPROCS=2. Reports ns per message; the sum and
 * the count are checked.
 *
 *   usage: bench_mpmc [N]
 */
#include "bench.h"

#define PRODUCERS 4
#define CONSUMERS 4
#define CAP 1024

static long n;
static go_chan *ch;
static go_wg pwg = GO_WG_INIT, cwg = GO_WG_INIT;
static int64_t total_sum, total_count; /* atomic */

static void producer(void *arg)
{
    (void)arg;
    for (int64_t i = 1; i <= n; i++)
        go_chan_send(ch, &i);
    go_wg_done(&pwg);
}

static void consumer(void *arg)
{
    (void)arg;
    int64_t v, sum = 0, count = 0;
    while (go_chan_recv(ch, &v)) {
        sum += v;
        count++;
    }
    __atomic_add_fetch(&total_sum, sum, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&total_count, count, __ATOMIC_SEQ_CST);
    go_wg_done(&cwg);
}

static int64_t elapsed;

static void root(void *arg)
{
    (void)arg;
    ch = go_chan_make(sizeof(int64_t), CAP);
    if (!ch)
        bench_fail("mpmc", "go_chan_make failed");
    int64_t t0 = bench_now();
    go_wg_add(&cwg, CONSUMERS);
    for (int i = 0; i < CONSUMERS; i++)
        BENCH_GO(go(consumer, NULL));
    go_wg_add(&pwg, PRODUCERS);
    for (int i = 0; i < PRODUCERS; i++)
        BENCH_GO(go(producer, NULL));
    go_wg_wait(&pwg);
    go_chan_close(ch);
    go_wg_wait(&cwg);
    elapsed = bench_now() - t0;
    go_chan_free(ch);
}

int main(int argc, char **argv)
{
    n = bench_arg(argc, argv, 1, 1000000);
    bench_run_root(root, NULL);
    int64_t want_sum = (int64_t)PRODUCERS * n * (n + 1) / 2;
    if (total_count != PRODUCERS * n || total_sum != want_sum)
        bench_fail("mpmc", "received %lld values summing to %lld, want %lld summing to %lld",
                   (long long)total_count, (long long)total_sum, (long long)PRODUCERS * n,
                   (long long)want_sum);
    printf("RESULT name=mpmc metric=ns_per_msg value=%.2f n=%ld gomaxprocs=%d\n",
           (double)elapsed / (PRODUCERS * n), n, go_maxprocs(0));
    return 0;
}
