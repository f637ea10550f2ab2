/*
 * test_sysmon_block.c - goroutines blocked in system calls the runtime
 * does not know about (no go_syscall_enter, no hook library):
 *
 *   - 100 goroutines each doing plain usleep(10 ms) several times: none
 *     returns early (sysmon must not interrupt a thread asleep in the
 *     kernel with its preemption signal). CLOCK_MONOTONIC checks usleep's
 *     own contract, not the runtime's speed.
 *   - a goroutine blocked in a plain read() of a pipe: the others keep
 *     running meanwhile, even at GOMAXPROCS=1 (a counter advances, a timer
 *     fires, and only then is the reader's data written), and the reader
 *     gets exactly its data.
 *   - SIGURG chaining: a handler the program installed before the runtime
 *     started, and one installed after, each see every SIGURG the program
 *     raised (kill(), socket out-of-band data) and none of the runtime's
 *     preemption signals; preemption still works.
 *
 * Liveness failures (the others never run) show up as the alarm firing.
 */
#include "test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- plain usleep never returns early ------------------------------------- */

#define SLEEPERS 100
#define NAPS 5
#define NAP_US 10000

static atomic_int early, naps_done, eintr;
static go_wg wg;

static void sleeper(void *arg)
{
    (void)arg;
    for (int i = 0; i < NAPS; i++) {
        int64_t t0 = mono_ns();
        int r = usleep(NAP_US);
        int64_t t1 = mono_ns();
        if (r != 0)
            atomic_fetch_add(&eintr, 1);
        if (t1 - t0 < (int64_t)NAP_US * 1000)
            atomic_fetch_add(&early, 1);
        atomic_fetch_add(&naps_done, 1);
    }
    go_wg_done(&wg);
}

static void test_usleep(void)
{
    go_wg_add(&wg, SLEEPERS);
    for (int i = 0; i < SLEEPERS; i++)
        CHECK_EQ(go(sleeper, NULL), 0);
    go_wg_wait(&wg);
    CHECK_EQ(atomic_load(&naps_done), SLEEPERS * NAPS);
    CHECK_EQ(atomic_load(&eintr), 0);
    CHECK_EQ(atomic_load(&early), 0);
}

/* ---- a plain read() does not stop the others ------------------------------ */

#define PROGRESS 20000
static int pfd[2];
static atomic_long counter;
static atomic_long counter_at_read = -1;
static atomic_int stop_counting;
static char got[16];
static ssize_t got_n;

static void reader(void *arg)
{
    (void)arg;
    atomic_store(&counter_at_read, atomic_load(&counter));
    got_n = read(pfd[0], got, sizeof got); /* blocks: nothing written yet */
    go_wg_done(&wg);
}

static void counting(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_counting)) {
        atomic_fetch_add(&counter, 1);
        go_yield();
    }
    go_wg_done(&wg);
}

static void writer(void *arg)
{
    (void)arg;
    /* Wait until the reader is in read(), then for the others to make
     * progress and for a timer to fire: all while the reader blocks. */
    while (atomic_load(&counter_at_read) < 0)
        go_yield();
    while (atomic_load(&counter) < atomic_load(&counter_at_read) + PROGRESS)
        go_yield();
    go_sleep(50 * 1000000);
    CHECK_EQ(write(pfd[1], "payload", 7), 7);
    atomic_store(&stop_counting, 1);
    go_wg_done(&wg);
}

static void test_pipe(void)
{
    CHECK_EQ(pipe(pfd), 0);
    go_wg_add(&wg, 4);
    CHECK_EQ(go(reader, NULL), 0);
    CHECK_EQ(go(counting, NULL), 0);
    CHECK_EQ(go(counting, NULL), 0);
    CHECK_EQ(go(writer, NULL), 0);
    go_wg_wait(&wg);
    CHECK_EQ(got_n, 7);
    CHECK(memcmp(got, "payload", 7) == 0);
    CHECK(atomic_load(&counter) >= atomic_load(&counter_at_read) + PROGRESS);
    close(pfd[0]);
    close(pfd[1]);
}

/* ---- SIGURG chaining ------------------------------------------------------- */

static atomic_int urg_before, urg_after;

static void on_urg_before(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    atomic_fetch_add(&urg_before, 1);
}

static void on_urg_after(int sig)
{
    (void)sig;
    atomic_fetch_add(&urg_after, 1);
}

static void install_before(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_urg_before;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGURG, &sa, NULL), 0);
}

/* Wait (yielding) until *count reaches want; liveness only. */
static void wait_count(atomic_int *count, int want)
{
    while (atomic_load(count) < want)
        usleep(100);
}

/* Two spinners that never call the runtime and a goroutine that stops
 * them, at GOMAXPROCS=1: finishes only if the runtime's preemption
 * signal still reaches its own handler. Sends plenty of SIGURGs. */
static atomic_int spin_stop;
static void spinner(void *arg)
{
    (void)arg;
    unsigned long x = 1;
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    __asm__ __volatile__("" ::"r"(x));
    go_wg_done(&wg);
}
static void spin_stopper(void *arg)
{
    (void)arg;
    atomic_store(&spin_stop, 1);
    go_wg_done(&wg);
}
static void preempt_round(void)
{
    int old = go_maxprocs(1);
    atomic_store(&spin_stop, 0);
    go_wg_add(&wg, 3);
    CHECK_EQ(go(spinner, NULL), 0);
    CHECK_EQ(go(spinner, NULL), 0);
    CHECK_EQ(go(spin_stopper, NULL), 0);
    go_wg_wait(&wg);
    go_maxprocs(old);
}

/* Raise SIGURG n times with kill() and n times with TCP out-of-band
 * data, each time waiting until *count has seen it. */
static void raise_urgs(atomic_int *count, int n)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(ls >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    CHECK_EQ(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(listen(ls, 1), 0);
    CHECK_EQ(getsockname(ls, (struct sockaddr *)&a, &al), 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(c >= 0);
    CHECK_EQ(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    int s = accept(ls, NULL, NULL);
    CHECK(s >= 0);
    CHECK_EQ(fcntl(s, F_SETOWN, getpid()), 0);
    for (int i = 0; i < n; i++) {
        int base = atomic_load(count);
        CHECK_EQ(kill(getpid(), SIGURG), 0);
        wait_count(count, base + 1);
        CHECK_EQ(send(c, "!", 1, MSG_OOB), 1);
        wait_count(count, base + 2);
        char b;
        /* Consume the urgent byte so the next one signals again. */
        while (recv(s, &b, 1, MSG_OOB) < 0 && errno == EINTR)
            ;
    }
    close(s);
    close(c);
    close(ls);
}

static void test_sigurg(void)
{
    /* The handler installed in main() before the runtime started. */
    if (!TEST_SANITIZED) preempt_round();
    CHECK_EQ(atomic_load(&urg_before), 0); /* the runtime's signals are its own */
    raise_urgs(&urg_before, 5);
    if (!TEST_SANITIZED) preempt_round();
    CHECK_EQ(atomic_load(&urg_before), 10);

    /* A handler installed after the runtime started. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_urg_after;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGURG, &sa, NULL), 0);
    if (!TEST_SANITIZED) preempt_round();
    CHECK_EQ(atomic_load(&urg_after), 0);
    raise_urgs(&urg_after, 5);
    if (!TEST_SANITIZED) preempt_round();
    CHECK_EQ(atomic_load(&urg_after), 10);
    CHECK_EQ(atomic_load(&urg_before), 10); /* replaced, so no longer called */
}

/* With an argument, only that part (usleep, pipe, sigurg). */
int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    alarm(60);
    install_before();
    if (!only || strcmp(only, "usleep") == 0)
        test_usleep();
    if (!only || strcmp(only, "pipe") == 0)
        test_pipe();
    if (!only || strcmp(only, "sigurg") == 0)
        test_sigurg();
    printf("ok\n");
    return 0;
}
