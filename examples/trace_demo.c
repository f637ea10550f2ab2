/*
 * trace_demo.c - a small program worth looking at in an execution trace
 * (`make trace-demo` runs it with GOROUTINE_TRACE and draws docs/trace.png;
 * docs/debugging.md, "Execution trace").
 *
 * Three things happen at once, for about 60 ms:
 *   - a pipeline: a generator sends numbers through two stages of
 *     goroutines over unbuffered channels to a collector (blocks on
 *     "chan send"/"chan receive", unblocks by the partner);
 *   - workers that compute, sleep (timers) and make blocking system calls
 *     between go_syscall_enter and go_syscall_exit;
 *   - a burst of short goroutines spawned in a loop and joined with a
 *     WaitGroup (spawns, steals by idle Ms).
 *
 *   usage: trace_demo        (run with GOROUTINE_TRACE=out.json)
 */
#include <goroutine.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ITEMS 2000
#define WORKERS 4
#define BURST 400

static go_chan *c1, *c2, *c3;
static go_wg wg = GO_WG_INIT;
static unsigned long sink; /* keeps the loops from being optimised away */

static void spin(int n)
{
    unsigned long x = 0;
    for (int i = 0; i < n; i++)
        x += (unsigned long)i * 2654435761u;
    __atomic_fetch_add(&sink, x, __ATOMIC_RELAXED);
}

static void generator(void *arg)
{
    (void)arg;
    for (long i = 1; i <= ITEMS; i++)
        go_chan_send(c1, &i);
    go_chan_close(c1);
    go_wg_done(&wg);
}

static void square(void *arg)
{
    (void)arg;
    long v;
    while (go_chan_recv(c1, &v)) {
        spin(200);
        v *= v;
        go_chan_send(c2, &v);
    }
    go_chan_close(c2);
    go_wg_done(&wg);
}

static void offset(void *arg)
{
    (void)arg;
    long v;
    while (go_chan_recv(c2, &v)) {
        v += 1;
        go_chan_send(c3, &v);
    }
    go_chan_close(c3);
    go_wg_done(&wg);
}

static long total;

static void collector(void *arg)
{
    (void)arg;
    long v;
    while (go_chan_recv(c3, &v))
        total += v;
    go_wg_done(&wg);
}

static void worker(void *arg)
{
    long id = (long)arg;
    for (int round = 0; round < 10; round++) {
        spin(20000 * (int)(id + 1));
        go_sleep(2000000); /* 2 ms */
        go_syscall_enter();
        usleep(1000); /* a blocking call */
        go_syscall_exit();
    }
    go_wg_done(&wg);
}

static go_wg burst_wg = GO_WG_INIT;

static void short_lived(void *arg)
{
    spin(2000 + (int)(long)arg % 7 * 500);
    go_wg_done(&burst_wg);
}

static void burster(void *arg)
{
    (void)arg;
    for (int k = 0; k < 3; k++) {
        go_sleep(10000000); /* 10 ms */
        go_wg_add(&burst_wg, BURST);
        for (long i = 0; i < BURST; i++)
            go(short_lived, (void *)i);
        go_wg_wait(&burst_wg);
    }
    go_wg_done(&wg);
}

static int real_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    c1 = go_chan_make(sizeof(long), 0);
    c2 = go_chan_make(sizeof(long), 0);
    c3 = go_chan_make(sizeof(long), 0);
    go_wg_add(&wg, 4 + WORKERS + 1);
    go(generator, NULL);
    go(square, NULL);
    go(offset, NULL);
    go(collector, NULL);
    for (long i = 0; i < WORKERS; i++)
        go(worker, (void *)i);
    go(burster, NULL);
    go_wg_wait(&wg);
    long want = 0;
    for (long i = 1; i <= ITEMS; i++)
        want += i * i + 1;
    printf("trace_demo: pipeline total %ld (%s), %d workers, %d short goroutines\n", total,
           total == want ? "ok" : "WRONG", WORKERS, 3 * BURST);
    go_chan_free(c1);
    go_chan_free(c2);
    go_chan_free(c3);
    return total == want ? 0 : 1;
}

int main(int argc, char **argv)
{
    return go_main(real_main, argc, argv);
}
