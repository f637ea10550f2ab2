/*
 * preempt - how late a ticker's goroutine gets to run while two goroutines
 * spin in a tight loop with no calls, at GOMAXPROCS=1 (run.sh): only
 * preemption (sysmon's request, then SIGURG for code that never calls the
 * runtime) lets the ticker's goroutine run at all. The ticker ticks every
 * 50 ms, N times (default 30); tick k is due at t0 + k * 50 ms, and its
 * delay is when the goroutine received it minus that. Reports the worst
 * delay (value) and the median, in ms. The spinners must have been
 * interrupted (each made progress) and every tick must have arrived.
 *
 *   usage: bench_preempt [N]
 */
#include "bench.h"

#define PERIOD_NS (50 * 1000000LL)

static long nticks;
static int stop;                 /* atomic */
static uint64_t spins[2];        /* per spinner, written at the end */
static double delays_ms[1000];
static go_wg wg = GO_WG_INIT;

static void spinner(void *arg)
{
    uint64_t *out = arg, n = 0;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
        n++;
    *out = n;
    go_wg_done(&wg);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void ticker(void *arg)
{
    (void)arg;
    go_ticker *t = go_ticker_new(PERIOD_NS);
    if (!t)
        bench_fail("preempt", "go_ticker_new failed");
    int64_t t0 = go_now();
    for (long i = 0; i < nticks; i++) {
        int64_t sent;
        if (!go_chan_recv(go_ticker_chan(t), &sent))
            bench_fail("preempt", "ticker channel closed");
        int64_t now = go_now();
        /* Which tick this is, from the time it was sent (a tick is sent
         * at or after its due time; less than a period late here). */
        int64_t k = (sent - t0 + PERIOD_NS / 2) / PERIOD_NS;
        delays_ms[i] = (double)(now - (t0 + k * PERIOD_NS)) / 1e6;
    }
    go_ticker_free(t);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    go_wg_done(&wg);
}

static void root(void *arg)
{
    (void)arg;
    go_wg_add(&wg, 3);
    BENCH_GO(go(spinner, &spins[0]));
    BENCH_GO(go(spinner, &spins[1]));
    BENCH_GO(go(ticker, NULL));
    go_wg_wait(&wg);
}

int main(int argc, char **argv)
{
    nticks = bench_arg(argc, argv, 1, 30);
    if (nticks > 1000)
        nticks = 1000;
    bench_run_root(root, NULL);
    if (!spins[0] || !spins[1])
        bench_fail("preempt", "a spinner never ran");
    qsort(delays_ms, (size_t)nticks, sizeof delays_ms[0], cmp_double);
    printf("RESULT name=preempt metric=worst_ms value=%.3f median_ms=%.3f ticks=%ld\n",
           delays_ms[nticks - 1], delays_ms[nticks / 2], nticks);
    return 0;
}
