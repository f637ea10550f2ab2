/*
 * syscall - G goroutines (default 1,000) each make R (default 100)
 * blocking system calls of 1 ms (nanosleep) between go_syscall_enter()
 * and go_syscall_exit(), at GOMAXPROCS=2 (run.sh). A goroutine in such a
 * call keeps its thread; sysmon hands its P to another thread after ~20
 * us, so the others keep running, up to one thread per blocked goroutine.
 * The ideal is R * 1 ms = 100 ms (every goroutine's calls back to back);
 * reports the total ms (and the ideal, for the table). Every call is
 * counted and must have slept.
 *
 *   usage: bench_syscall [G [R]]
 */
#include "bench.h"

#include <errno.h>

#include <sys/syscall.h>

static long ngs, rounds;
static go_wg wg = GO_WG_INIT, start = GO_WG_INIT, ready = GO_WG_INIT;
static long calls; /* atomic */

static void caller(void *arg)
{
    (void)arg;
    go_wg_done(&ready);
    go_wg_wait(&start);
    for (long r = 0; r < rounds; r++) {
        /* A signal may cut a sleep short (EINTR): sleep the rest, as
         * the Go twin does (its runtime's preemption signal does that). */
        struct timespec ts = {0, 1000000}, rem;
        go_syscall_enter();
        long rc;
        while ((rc = syscall(SYS_nanosleep, &ts, &rem)) != 0 && errno == EINTR)
            ts = rem;
        go_syscall_exit();
        if (rc == 0)
            __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    }
    go_wg_done(&wg);
}

static int64_t elapsed;

static void root(void *arg)
{
    (void)arg;
    go_wg_add(&ready, ngs);
    go_wg_add(&start, 1);
    go_wg_add(&wg, ngs);
    for (long i = 0; i < ngs; i++)
        BENCH_GO(go(caller, NULL));
    go_wg_wait(&ready);
    int64_t t0 = bench_now();
    go_wg_done(&start);
    go_wg_wait(&wg);
    elapsed = bench_now() - t0;
}

int main(int argc, char **argv)
{
    ngs = bench_arg(argc, argv, 1, 1000);
    rounds = bench_arg(argc, argv, 2, 100);
    bench_run_root(root, NULL);
    if (calls != ngs * rounds)
        bench_fail("syscall", "%ld calls completed, want %ld", calls, ngs * rounds);
    printf("RESULT name=syscall metric=ms value=%.1f ideal_ms=%ld goroutines=%ld rounds=%ld\n",
           (double)elapsed / 1e6, rounds, ngs, rounds);
    return 0;
}
