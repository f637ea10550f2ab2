/*
 * test_preempt.c - a goroutine spinning in a tight loop with no runtime
 * calls does not starve the others (asynchronous preemption), and with
 * GOROUTINE_PREEMPT=off the documented behaviour holds: the spinner keeps
 * its thread until it calls the runtime.
 *
 * Nothing here measures time: the spinner loops until another goroutine
 * sets a flag, which can only happen if that goroutine gets to run.
 */
#include "test_util.h"

#include <stdatomic.h>

static atomic_int stop;
static go_wg wg;

static void spinner(void *arg)
{
    (void)arg;
    /* A tight loop in the program's own code: no calls at all. */
    unsigned long x = 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    __asm__ __volatile__("" ::"r"(x));
    go_wg_done(&wg);
}

static void stopper(void *arg)
{
    (void)arg;
    atomic_store(&stop, 1);
    go_wg_done(&wg);
}

static void two_spinners_then_stop(void *arg)
{
    (void)arg;
    atomic_store(&stop, 0);
    go_wg_add(&wg, 3);
    go(spinner, NULL);
    go(spinner, NULL);
    go(stopper, NULL);
    go_wg_wait(&wg);
}

/* With preemption off, a spinner never yields: run it in a child that is
 * killed by alarm(), and check it did not finish. */
static void preempt_off_child(void *arg)
{
    (void)arg;
    setenv("GOROUTINE_PREEMPT", "off", 1);
    setenv("GOMAXPROCS", "1", 1);
    alarm(2);
    two_spinners_then_stop(NULL);
    /* Only reachable if the stopper ran: not the documented behaviour. */
    fprintf(stderr, "stopper ran without preemption\n");
    _exit(0);
}

static void preempt_off_cooperative(void *arg)
{
    (void)arg;
    setenv("GOROUTINE_PREEMPT", "off", 1);
    setenv("GOMAXPROCS", "1", 1);
    /* A spinner that calls the runtime (go_yield) is still preempted. */
    atomic_store(&stop, 0);
    go_wg_add(&wg, 1);
    go(stopper, NULL);
    while (!atomic_load(&stop))
        ; /* main is a plain thread: it only waits */
    go_wg_wait(&wg);
    _exit(3); /* distinctive exit to show we got here */
}

int main(void)
{
#if !defined(__x86_64__)
    printf("skip: asynchronous preemption is implemented on x86-64 only\n");
    return TEST_SKIP;
#endif
    if (TEST_SANITIZED) {
        /* Sanitizer runtimes live in the executable, where the runtime
         * cannot tell them from the program's code, so sanitizer builds
         * have cooperative preemption only (src/sysmon.c). */
        printf("skip: no asynchronous preemption in sanitizer builds\n");
        return TEST_SKIP;
    }
    /* Children first, before this process starts the runtime (threads do
     * not survive fork). The off-case runs with GOMAXPROCS=1, where the
     * spinners can hold every P. */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        preempt_off_child(NULL);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM);
    printf("ok  GOROUTINE_PREEMPT=off: a spinning goroutine keeps its thread\n");

    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        preempt_off_cooperative(NULL);
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    printf("ok  GOROUTINE_PREEMPT=off: goroutines still run when others block\n");

    /* With preemption on (the default), at any GOMAXPROCS: two spinners
     * cannot keep the stopper from running. */
    for (int round = 0; round < 3; round++)
        two_spinners_then_stop(NULL);
    printf("ok  two spinners did not starve a third goroutine (3 rounds, GOMAXPROCS=%d)\n",
           go_maxprocs(0));
    return 0;
}
