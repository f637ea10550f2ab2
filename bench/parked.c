/*
 * parked - the memory cost of a parked goroutine. The main thread starts N
 * goroutines (default 1,000,000) that each count themselves in an atomic
 * and then block receiving from one shared unbuffered channel. Once all
 * have counted themselves (and go_num_goroutine() says N), it waits 50 ms
 * more so the last ones are parked, reads the resident set size and the
 * page-table size (VmPTE) again, and reports their growth per goroutine,
 * (RSS + PTE after - RSS + PTE before) / N in bytes (value), and each part
 * (rss, pte). Page tables count: a sparse layout of stacks costs page-table
 * pages that RSS does not show. Then it closes the channel
 * and waits for all of them to exit; each must have seen the channel
 * closed. Run at the default GOMAXPROCS.
 *
 *   usage: bench_parked [N]
 */
#include "bench.h"

static go_chan *ch;
static go_wg wg = GO_WG_INIT;
static long arrived, closed_seen; /* atomic */

static void parker(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
    int64_t v;
    if (!go_chan_recv(ch, &v))
        __atomic_add_fetch(&closed_seen, 1, __ATOMIC_RELAXED);
    go_wg_done(&wg);
}

int main(int argc, char **argv)
{
    long n = bench_arg(argc, argv, 1, 1000000);
    go_maxprocs(0); /* start the runtime before the first reading */
    ch = go_chan_make(sizeof(int64_t), 0);
    if (!ch)
        bench_fail("parked", "go_chan_make failed");
    long long before = bench_rss_bytes(), pte_before = bench_pte_bytes();
    go_wg_add(&wg, n);
    for (long i = 0; i < n; i++)
        BENCH_GO(go(parker, NULL));
    while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < n || go_num_goroutine() < n)
        usleep(1000);
    usleep(50000);
    long long after = bench_rss_bytes(), pte_after = bench_pte_bytes();
    if (go_num_goroutine() != n)
        bench_fail("parked", "%d goroutines, want %ld", go_num_goroutine(), n);
    go_chan_close(ch);
    go_wg_wait(&wg);
    if (closed_seen != n)
        bench_fail("parked", "%ld goroutines saw the close, want %ld", closed_seen, n);
    go_chan_free(ch);
    printf("RESULT name=parked metric=bytes_per_goroutine value=%.1f rss=%.1f pte=%.1f "
           "rss_before_kb=%lld rss_after_kb=%lld pte_after_kb=%lld n=%ld\n",
           (double)(after + pte_after - before - pte_before) / n, (double)(after - before) / n,
           (double)(pte_after - pte_before) / n, before / 1024, after / 1024, pte_after / 1024, n);
    return 0;
}
