/*
 * test_oom.c - running out of address space is an error, not a crash.
 *
 * In a child process: start the runtime and 100 goroutines that park on a
 * WaitGroup; lower RLIMIT_AS to the current size plus 64 MiB; spawn more
 * parked goroutines until go() fails. Then: the error is -ENOMEM or
 * -EAGAIN; the failed call started nothing; every goroutine that did start
 * still runs to completion when released; and once they have exited,
 * go() works again (their stacks are reused from the runtime's caches, so
 * no new address space is needed), from the main thread and from a
 * goroutine. Last, a goroutine spawns until go() fails (new stacks then
 * come from its P's own arena), with the same checks.
 *
 * Skipped under sanitizers: they reserve terabytes of shadow memory, so
 * an address-space limit cannot be applied.
 */
#include "test_util.h"

#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#define FIRST 100
#define MAX_SPAWN 1000000

static go_wg started, gate, finished;
static long ran;

static void parked(void *arg)
{
    (void)arg;
    go_wg_done(&started);
    go_wg_wait(&gate);
    __atomic_add_fetch(&ran, 1, __ATOMIC_RELAXED);
    go_wg_done(&finished);
}

static long vm_size_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
            break;
    fclose(f);
    CHECK(kb > 0);
    return kb;
}

/* Until exactly n goroutines live (one that has signalled its WaitGroup
 * may not have exited yet). */
static void wait_goroutines(long n)
{
    for (int i = 0; go_num_goroutine() != n; i++) {
        CHECK(i < 100000);
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
}

static void wait_none_left(void)
{
    wait_goroutines(0);
}

static go_wg again_wg;
static long again_ran;

static void again(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&again_ran, 1, __ATOMIC_RELAXED);
    go_wg_done(&again_wg);
}

static int spawner_rc;

static void again_spawner(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        int rc = go(again, NULL);
        if (rc != 0) {
            spawner_rc = rc;
            go_wg_add(&again_wg, -(n - i));
            break;
        }
    }
    go_wg_done(&again_wg);
}

/* Start parked goroutines (counted in started and finished) until go()
 * fails or max have started; *n gets how many started. Returns go()'s
 * error, or 0 if all max started. */
static int spawn_parked(long max, long *n)
{
    int rc = 0;
    for (*n = 0; *n < max; (*n)++) {
        go_wg_add(&started, 1);
        go_wg_add(&finished, 1);
        rc = go(parked, NULL);
        if (rc != 0) {
            go_wg_add(&started, -1);
            go_wg_add(&finished, -1);
            break;
        }
    }
    return rc;
}

static long exhaust_spawned;
static int exhaust_rc;

/* spawn_parked from a goroutine (again_wg counts it). */
static void exhaust_spawner(void *arg)
{
    (void)arg;
    exhaust_rc = spawn_parked(MAX_SPAWN, &exhaust_spawned);
    go_wg_done(&again_wg);
}

static void child(void)
{
    go_wg_add(&gate, 1);
    go_wg_add(&started, FIRST);
    go_wg_add(&finished, FIRST);
    for (int i = 0; i < FIRST; i++)
        CHECK_EQ(go(parked, NULL), 0);
    go_wg_wait(&started);

    long kb = vm_size_kb();
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)(kb + 64 * 1024) * 1024;
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);

    long spawned;
    int rc = spawn_parked(MAX_SPAWN, &spawned);
    printf("child: VmSize was %ld kB; %ld more goroutines fitted under +64 MiB, "
           "then go() returned %d\n",
           kb, spawned, rc);
    CHECK(rc == -ENOMEM || rc == -EAGAIN);
    CHECK(spawned > 0);
    /* A failed go() changed nothing; everyone that was started runs. */
    go_wg_wait(&started);
    CHECK_EQ(go_num_goroutine(), FIRST + spawned);
    /* Still failing while they all live (nothing to reuse yet). */
    CHECK(go(parked, NULL) < 0);
    CHECK_EQ(go_num_goroutine(), FIRST + spawned);

    go_wg_done(&gate);
    go_wg_wait(&finished);
    CHECK_EQ(ran, FIRST + spawned);
    wait_none_left();

    /* The dead goroutines' stacks are cached: spawning works again, from
     * a plain thread and from a goroutine, without new address space. */
    int n = (int)(spawned < 64 ? spawned : 64);
    /* n from here, the spawner itself, and its n. */
    go_wg_add(&again_wg, 2 * n + 1);
    for (int i = 0; i < n; i++)
        CHECK_EQ(go(again, NULL), 0);
    CHECK_EQ(go(again_spawner, (void *)(intptr_t)n), 0);
    go_wg_wait(&again_wg);
    CHECK_EQ(spawner_rc, 0);
    CHECK_EQ(again_ran, 2 * n);
    wait_none_left();

    /* And many times over, far more goroutines in total than fitted at
     * once, as long as they do not all live at the same time. */
    for (int round = 0; round < 50; round++) {
        go_wg_add(&again_wg, n);
        for (int i = 0; i < n; i++)
            CHECK_EQ(go(again, NULL), 0);
        go_wg_wait(&again_wg);
    }
    printf("child: after the exits, %d goroutines spawned again from main, %d from a "
           "goroutine, then %d more in rounds\n",
           n, n, 50 * n);

    /* For information only (no guarantee is documented): how many of
     * the goroutines that fitted at once fit at once again. A plain
     * thread spawns from the global pool of dead goroutines, so those
     * still cached per P (up to GFREE_MAX each) are out of its reach and
     * it may need new address space. */
    long total = FIRST + spawned, again_ok;
    ran = 0;
    go_wg_add(&gate, 1);
    spawn_parked(total, &again_ok);
    go_wg_wait(&started);
    go_wg_done(&gate);
    go_wg_wait(&finished);
    CHECK_EQ(ran, again_ok);
    if (again_ok < total)
        printf("note: only %ld of the %ld goroutines that lived at once could live at once "
               "again from main under the same limit\n",
               again_ok, total);

    /* Out of address space again, now spawning from a goroutine: new
     * stacks then come from its P's own arena, and that path must fail
     * the same way and leave everyone running. */
    ran = 0;
    go_wg_add(&gate, 1);
    go_wg_add(&again_wg, 1);
    CHECK_EQ(go(exhaust_spawner, NULL), 0);
    go_wg_wait(&again_wg);
    printf("child: from a goroutine, %ld goroutines fitted, then go() returned %d\n",
           exhaust_spawned, exhaust_rc);
    CHECK(exhaust_rc == -ENOMEM || exhaust_rc == -EAGAIN);
    CHECK(exhaust_spawned > 0);
    go_wg_wait(&started);
    wait_goroutines(exhaust_spawned); /* the spawner has gone */
    go_wg_done(&gate);
    go_wg_wait(&finished);
    CHECK_EQ(ran, exhaust_spawned);
    wait_none_left();
    fflush(stdout);
    _exit(0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (TEST_SANITIZED) {
        /* See the comment at the top of the file. */
        printf("skipped under a sanitizer\n");
        return TEST_SKIP;
    }
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        child();
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "child %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exited with",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        CHECK(!"the child failed");
    }
    printf("ok\n");
    return 0;
}
