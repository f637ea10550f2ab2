/*
 * test_fork.c - fork() in a program that runs the runtime (see "fork" in
 * include/goroutine.h):
 *
 *   - fork then exec works, from main and from a goroutine, and the
 *     program exec'd from a goroutine's child starts with the signal mask
 *     of the thread that started the runtime, not the runtime thread's;
 *   - a child that only computes and calls _exit is unaffected;
 *   - a child that calls the runtime (spawns, yields, sleeps, waits on a
 *     channel or a WaitGroup) dies at once with the documented message,
 *     whether main or a goroutine forked it, instead of hanging;
 *   - the parent keeps working throughout.
 */
#include "test_util.h"

#include <stdatomic.h>

static const char *self;
#define WANT "called in a child process after fork()"

/* Run by the exec'd program: exit 0 if no signal is blocked. */
static int child_mask_main(void)
{
    sigset_t cur;
    if (sigprocmask(SIG_SETMASK, NULL, &cur) != 0)
        return 2;
    for (int s = 1; s < NSIG; s++)
        if (sigismember(&cur, s) == 1)
            return 1;
    return 0;
}

static int fork_exec(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl(self, self, "--mask", (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int fork_compute_exit(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        unsigned x = 1;
        for (int i = 0; i < 1000; i++)
            x = x * 1103515245u + 12345u;
        _exit((int)(x & 0) + 7);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- what a child may not do --------------------------------------------- */

static void noop(void *arg)
{
    (void)arg;
}

static void child_spawns(void *arg)
{
    (void)arg;
    alarm(20); /* a hang is a failure, not a pass */
    go(noop, NULL);
    go_yield();
}

static void child_yields(void *arg)
{
    (void)arg;
    alarm(20);
    go_yield();
}

static void child_sleeps(void *arg)
{
    (void)arg;
    alarm(20);
    go_sleep(1000000);
}

static void child_recv(void *arg)
{
    alarm(20);
    int v;
    go_chan_recv((go_chan *)arg, &v);
}

static void child_wg_wait(void *arg)
{
    alarm(20);
    go_wg_wait((go_wg *)arg);
}

static void child_maxprocs(void *arg)
{
    (void)arg;
    alarm(20);
    go_maxprocs(3);
    go(noop, NULL);
}

static go_chan *never; /* nobody sends on it */
static go_wg pending;  /* never done */

static void deaths(void)
{
    CHECK(expect_death(child_spawns, NULL, WANT));
    CHECK(expect_death(child_yields, NULL, WANT));
    CHECK(expect_death(child_sleeps, NULL, WANT));
    CHECK(expect_death(child_recv, never, WANT));
    CHECK(expect_death(child_wg_wait, &pending, WANT));
    CHECK(expect_death(child_maxprocs, NULL, WANT));
}

/* ---- the same from a goroutine --------------------------------------------- */

static atomic_int g_checked;
static go_wg wg;

static void forking_goroutine(void *arg)
{
    (void)arg;
    CHECK_EQ(fork_exec(), 0);
    CHECK_EQ(fork_compute_exit(), 7);
    deaths();
    atomic_fetch_add(&g_checked, 1);
    go_wg_done(&wg);
}

/* ---- the parent is unaffected ---------------------------------------------- */

static void sender(void *arg)
{
    go_chan *c = arg;
    for (int i = 1; i <= 100; i++)
        go_chan_send(c, &i);
    go_wg_done(&wg);
}

static void parent_works(void)
{
    go_chan *c = go_chan_make(sizeof(int), 0);
    CHECK(c);
    go_wg_add(&wg, 10);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(go(sender, c), 0);
    long sum = 0;
    for (int i = 0; i < 1000; i++) {
        int v;
        CHECK(go_chan_recv(c, &v));
        sum += v;
    }
    go_wg_wait(&wg);
    CHECK_EQ(sum, 10 * 5050);
    go_chan_free(c);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--mask") == 0)
        return child_mask_main();
    self = argv[0];
    never = go_chan_make(sizeof(int), 0);
    CHECK(never);
    go_wg_add(&pending, 1);
    parent_works(); /* the runtime runs */

    /* From main, a plain thread. */
    CHECK_EQ(fork_exec(), 0);
    CHECK_EQ(fork_compute_exit(), 7);
    deaths();
    parent_works();

    /* From goroutines, several at once. */
    go_wg_add(&wg, 3);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(go(forking_goroutine, NULL), 0);
    go_wg_wait(&wg);
    CHECK_EQ(atomic_load(&g_checked), 3);
    parent_works();
    printf("ok\n");
    return 0;
}
