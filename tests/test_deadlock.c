/*
 * test_deadlock.c - Go's "fatal error: all goroutines are asleep -
 * deadlock!", and no false alarm:
 *
 *  - main blocked in go_wg_wait while every goroutine is blocked (on
 *    WaitGroups, on a semaphore) dies with Go's message and a dump that
 *    lists the goroutines with their wait reasons and names (child
 *    process); so does main waiting with no goroutine at all, and a
 *    goroutine locked to its thread that blocks with everyone else;
 *  - no report while a plain pthread is still running, even one the
 *    runtime has never seen (it sleeps 300 ms, then calls go_wg_done),
 *    with goroutines blocked all that time; main's wait completes;
 *  - no report while a goroutine sleeps in go_sleep (a pending timer).
 *
 * The positive cases are skipped under sanitizers: deadlock detection
 * counts the process's threads (/proc/self/stat), and the sanitizer
 * runtimes' helper threads make it (rightly) conclude that someone else
 * might still wake us, so no report comes.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* ---- children that deadlock -------------------------------------------------- */

static go_wg never; /* nobody ever calls done */
static go_wg main_waits;
static go_sema nosema; /* zero units, nobody releases */

static void blocked_on_wg(void *arg)
{
    (void)arg;
    go_wg_wait(&never);
    go_wg_done(&main_waits);
}

static void blocked_on_sema(void *arg)
{
    (void)arg;
    go_sema_acquire(&nosema);
    go_wg_done(&main_waits);
}

static void blocked_locked(void *arg)
{
    (void)arg;
    go_lock_thread();
    go_wg_wait(&never);
    go_wg_done(&main_waits);
}

static void everyone_blocked(void *arg)
{
    int with_locked = (int)(intptr_t)arg;
    go_wg_add(&never, 1);
    go_wg_add(&main_waits, 6);
    go_attr a = {.name = "stuck-on-wg"};
    for (int i = 0; i < 3; i++)
        go_spawn(&a, blocked_on_wg, NULL);
    go_attr s = {.name = "stuck-on-sema"};
    for (int i = 0; i < 2; i++)
        go_spawn(&s, blocked_on_sema, NULL);
    if (with_locked) {
        go_attr l = {.name = "stuck-locked"};
        go_spawn(&l, blocked_locked, NULL);
    } else {
        go_spawn(&a, blocked_on_wg, NULL);
    }
    go_wg_wait(&main_waits);
}

static void main_alone(void *arg)
{
    (void)arg;
    go_wg wg = GO_WG_INIT;
    go_wg_add(&wg, 1);
    go_wg_wait(&wg);
}

/* A goroutine that ran, finished, and left main waiting for nothing. */
static go_wg alone_after_done;
static void finishes(void *arg)
{
    (void)arg;
    go_wg_done(&alone_after_done);
}

static void main_alone_after_goroutines(void *arg)
{
    (void)arg;
    go_wg_add(&alone_after_done, 1);
    go(finishes, NULL);
    go_wg_wait(&alone_after_done);
    main_alone(NULL);
}

static char out[1 << 16];

static int run_child(void (*fn)(void *), void *arg)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        /* Never hang the test if no report comes: die with a message
         * the checks below will not accept. */
        alarm(60);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void want(const char *s)
{
    if (!strstr(out, s)) {
        fprintf(stderr, "wanted \"%s\" in the child's stderr:\n%s\n", s, out);
        CHECK(strstr(out, s) != NULL);
    }
}

static int count(const char *s)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, s)) != NULL; p += strlen(s))
        n++;
    return n;
}

static void test_deadlocks(void)
{
    CHECK(run_child(everyone_blocked, (void *)0));
    want("fatal error: all goroutines are asleep - deadlock!");
    want("goroutine ");
    want("sync.WaitGroup.Wait");
    want("semacquire");
    want("stuck-on-wg");
    want("stuck-on-sema");
    /* Six goroutines, each listed once. */
    CHECK_EQ(count("\ngoroutine "), 6);
    printf("deadlock: reported, 6 goroutines listed with wait reasons\n");

    CHECK(run_child(everyone_blocked, (void *)1));
    want("fatal error: all goroutines are asleep - deadlock!");
    want("stuck-locked");
    printf("deadlock: reported with a goroutine locked to its thread\n");

    CHECK(run_child(main_alone, NULL));
    want("fatal error: all goroutines are asleep - deadlock!");
    printf("deadlock: main waiting with no goroutines at all\n");

    CHECK(run_child(main_alone_after_goroutines, NULL));
    want("fatal error: all goroutines are asleep - deadlock!");
    printf("deadlock: main waiting after its goroutines finished\n");
}

/* ---- no false positives ----------------------------------------------------------- */

static go_wg release_all, plain_done;
static go_wg gor_done;

static void parked_until_release(void *arg)
{
    (void)arg;
    go_wg_wait(&release_all);
    go_wg_done(&gor_done);
}

/* A thread the runtime has never seen before it calls go_wg_done. */
static void *late_thread(void *arg)
{
    go_wg *wg = arg;
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    go_wg_done(wg);
    return NULL;
}

static void test_plain_thread_running(void)
{
    /* Goroutines all blocked, main blocked: only the plain thread can
     * wake anyone. */
    go_wg_add(&release_all, 1);
    go_wg_add(&gor_done, 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(go(parked_until_release, NULL), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, late_thread, &release_all), 0);
    go_wg_wait(&gor_done);
    pthread_join(th, NULL);
    printf("no false positive: goroutines released by an unknown plain thread\n");

    /* No goroutine at all: main waits for a plain thread only. */
    go_wg_add(&plain_done, 1);
    CHECK_EQ(pthread_create(&th, NULL, late_thread, &plain_done), 0);
    go_wg_wait(&plain_done);
    pthread_join(th, NULL);
    printf("no false positive: main released by a plain thread\n");
}

static go_wg sleeper_done;

static void sleeper(void *arg)
{
    (void)arg;
    go_sleep(200 * 1000 * 1000);
    go_wg_done(&sleeper_done);
}

static void test_timer_pending(void)
{
    go_wg_add(&sleeper_done, 2);
    CHECK_EQ(go(sleeper, NULL), 0);
    CHECK_EQ(go(sleeper, NULL), 0);
    go_wg_wait(&sleeper_done);
    printf("no false positive: goroutines asleep in go_sleep\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (TEST_SANITIZED) {
        /* See the comment at the top of the file. */
        printf("deadlock reports: skipped under a sanitizer\n");
    } else {
        test_deadlocks();
    }
    for (int i = 0; i < 3; i++) {
        test_plain_thread_running();
        test_timer_pending();
    }
    printf("ok\n");
    return 0;
}
