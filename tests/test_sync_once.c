/*
 * test_sync_once.c - go_once: many goroutines and threads race on one
 * once; fn runs exactly once and every caller returns only after it has
 * finished (fn yields on purpose to let the others pile up meanwhile).
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>

static go_wg wg;

struct shared {
    go_once once;
    int calls;    /* atomic: how many times fn ran */
    int finished; /* atomic: fn has returned */
    int entered;  /* atomic: callers that have started */
};

static void slow_init(void *arg)
{
    struct shared *s = arg;
    CHECK_EQ(__atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST), 1);
    /* Give the other callers every chance to get past the fast path and
     * find fn still running. */
    for (int i = 0; i < 100; i++)
        go_yield();
    __atomic_store_n(&s->finished, 1, __ATOMIC_SEQ_CST);
}

static void caller(void *arg)
{
    struct shared *s = arg;
    __atomic_add_fetch(&s->entered, 1, __ATOMIC_SEQ_CST);
    go_once_do(&s->once, slow_init, s);
    CHECK(__atomic_load_n(&s->finished, __ATOMIC_SEQ_CST));
    go_wg_done(&wg);
}

static void *caller_thread(void *arg)
{
    caller(arg);
    return NULL;
}

static void test_race(int ng, int nthreads)
{
    struct shared s;
    memset(&s, 0, sizeof s);
    pthread_t th[4];
    go_wg_add(&wg, ng + nthreads);
    for (int i = 0; i < nthreads; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, caller_thread, &s), 0);
    for (int i = 0; i < ng; i++)
        CHECK_EQ(go(caller, &s), 0);
    go_wg_wait(&wg);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(s.calls, 1);
    CHECK_EQ(s.entered, ng + nthreads);
    /* Done for good: later calls do not run fn. */
    go_once_do(&s.once, slow_init, &s);
    CHECK_EQ(s.calls, 1);
}

static int plain_calls;

static void count(void *arg)
{
    CHECK(arg == &plain_calls);
    plain_calls++;
}

static void test_basics(void)
{
    static go_once o1 = GO_ONCE_INIT;
    go_once_do(&o1, count, &plain_calls);
    go_once_do(&o1, count, &plain_calls);
    CHECK_EQ(plain_calls, 1);
    go_once o2;
    memset(&o2, 0, sizeof o2);
    go_once_do(&o2, count, &plain_calls);
    go_once_do(&o2, count, &plain_calls);
    CHECK_EQ(plain_calls, 2);
}

/* A once on the heap, freed by the last caller to return: nothing may
 * touch it after go_once_do returns (checked by ASan). */
static void nested_caller(void *arg)
{
    struct shared *s = arg;
    go_once_do(&s->once, slow_init, s);
    CHECK(__atomic_load_n(&s->finished, __ATOMIC_SEQ_CST));
    if (__atomic_add_fetch(&s->entered, 1, __ATOMIC_SEQ_CST) == 8)
        free(s);
    go_wg_done(&wg);
}

static void test_free_after(int rounds)
{
    for (int r = 0; r < rounds; r++) {
        struct shared *s = calloc(1, sizeof *s);
        CHECK(s);
        go_wg_add(&wg, 8);
        for (int i = 0; i < 8; i++)
            CHECK_EQ(go(nested_caller, s), 0);
        go_wg_wait(&wg);
    }
}

int main(void)
{
    test_basics();
    test_race(1000, 4);
    test_race(8, 0);
    test_free_after(TEST_SANITIZED ? 20 : 200);
    printf("once ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
