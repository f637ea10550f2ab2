/*
 * fib - parallel recursive fib(35): while depth < 12 a call spawns a
 * goroutine for fib(n-1), computes fib(n-2) itself, and joins with a
 * WaitGroup of its own; below depth 12 plain recursion. The whole tree runs
 * under one root goroutine (Go: the main goroutine). run.sh runs it at
 * GOMAXPROCS=1 and 2 and derives the speedup. Reports ms. seq_ms, for
 * context only, is a plain fib(n) on one goroutine afterwards: it shows how
 * much of the C/Go ratio is the compilers rather than the runtimes.
 *
 *   usage: bench_fib [N [DEPTH]]
 */
#include "bench.h"

static int spawn_depth;

__attribute__((noinline)) static long fib(int n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

struct call {
    int n, depth;
    long result;
    go_wg *wg;
};

static void pfib(struct call *c);

static void pfib_g(void *arg)
{
    struct call *c = arg;
    pfib(c);
    go_wg_done(c->wg);
}

static void pfib(struct call *c)
{
    if (c->depth >= spawn_depth || c->n < 2) {
        c->result = fib(c->n);
        return;
    }
    go_wg wg = GO_WG_INIT;
    struct call a = {.n = c->n - 1, .depth = c->depth + 1, .wg = &wg};
    struct call b = {.n = c->n - 2, .depth = c->depth + 1};
    go_wg_add(&wg, 1);
    BENCH_GO(go(pfib_g, &a));
    pfib(&b);
    go_wg_wait(&wg);
    c->result = a.result + b.result;
}

static long expect(int n)
{
    long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        long t = a + b;
        a = b;
        b = t;
    }
    return a;
}

static int64_t elapsed, seq_elapsed;
static long seq_result;

static void root(void *arg)
{
    int64_t t0 = bench_now();
    pfib(arg);
    elapsed = bench_now() - t0;
    /* For context only (not the workload): the same fib(n) serially. */
    struct call *c = arg;
    t0 = bench_now();
    seq_result = fib(c->n);
    seq_elapsed = bench_now() - t0;
}

int main(int argc, char **argv)
{
    int n = (int)bench_arg(argc, argv, 1, 35);
    spawn_depth = (int)bench_arg(argc, argv, 2, 12);
    struct call c = {.n = n, .depth = 0};
    bench_run_root(root, &c);
    if (c.result != expect(n))
        bench_fail("fib", "fib(%d) = %ld, want %ld", n, c.result, expect(n));
    if (seq_result != c.result)
        bench_fail("fib", "serial fib(%d) = %ld, want %ld", n, seq_result, c.result);
    printf("RESULT name=fib metric=ms value=%.3f seq_ms=%.3f n=%d depth=%d gomaxprocs=%d\n",
           elapsed / 1e6, seq_elapsed / 1e6, n, spawn_depth, go_maxprocs(0));
    return 0;
}
