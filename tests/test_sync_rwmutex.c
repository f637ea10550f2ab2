/*
 * test_sync_rwmutex.c - go_rwmutex: readers share it (several inside at
 * once), a writer excludes everyone, a writer is not starved by a stream
 * of overlapping readers, try-variants, plain threads mixed in, and Go's
 * fatal errors for misuse.
 *
 * No timing assertions: every test waits for an event, never for a time.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>

static go_wg wg;

/* ---- readers are concurrent ------------------------------------------------ */

static go_rwmutex rw = GO_RWMUTEX_INIT;
static int readers_inside; /* atomic */
static int nreaders;

/* Each reader stays inside until all of them are: only possible if the
 * read lock is shared. (A broken lock would hang the test, not pass it.) */
static void patient_reader(void *arg)
{
    (void)arg;
    go_rwmutex_rlock(&rw);
    __atomic_add_fetch(&readers_inside, 1, __ATOMIC_SEQ_CST);
    WAIT_UNTIL(__atomic_load_n(&readers_inside, __ATOMIC_SEQ_CST) >= nreaders);
    go_rwmutex_runlock(&rw);
    go_wg_done(&wg);
}

static void test_readers_share(void)
{
    nreaders = 8;
    readers_inside = 0;
    go_wg_add(&wg, nreaders);
    for (int i = 0; i < nreaders; i++)
        CHECK_EQ(go(patient_reader, NULL), 0);
    go_wg_wait(&wg);
    CHECK_EQ(readers_inside, nreaders);
    /* All gone: a writer gets in at once. */
    CHECK(go_rwmutex_trylock(&rw));
    go_rwmutex_unlock(&rw);
}

/* ---- a writer excludes readers and writers ----------------------------------- */

#define NDATA 16
static long data[NDATA];   /* written only under the write lock; not atomic */
static int writer_in;      /* atomic: a writer is inside */
static int readers_in;     /* atomic: readers inside */
static int max_readers_in; /* atomic: most readers seen inside at once */
static int iters;

static void writer(void *arg)
{
    long id = (long)(intptr_t)arg;
    for (int i = 0; i < iters; i++) {
        go_rwmutex_lock(&rw);
        CHECK(!__atomic_exchange_n(&writer_in, 1, __ATOMIC_SEQ_CST));
        CHECK_EQ(__atomic_load_n(&readers_in, __ATOMIC_SEQ_CST), 0);
        for (int k = 0; k < NDATA; k++)
            data[k] = id * 1000000 + i;
        if (i % 16 == 0)
            go_yield();
        __atomic_store_n(&writer_in, 0, __ATOMIC_SEQ_CST);
        go_rwmutex_unlock(&rw);
    }
    go_wg_done(&wg);
}

static void reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < iters * 4; i++) {
        go_rwmutex_rlock(&rw);
        int n = __atomic_add_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
        int m = __atomic_load_n(&max_readers_in, __ATOMIC_RELAXED);
        while (n > m && !__atomic_compare_exchange_n(&max_readers_in, &m, n, false,
                                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
        CHECK(!__atomic_load_n(&writer_in, __ATOMIC_SEQ_CST));
        /* A consistent snapshot: no writer is halfway through. */
        for (int k = 1; k < NDATA; k++)
            CHECK_EQ(data[k], data[0]);
        if (i % 8 == 0)
            go_yield();
        __atomic_sub_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
        go_rwmutex_runlock(&rw);
    }
    go_wg_done(&wg);
}

static void *reader_thread(void *arg)
{
    reader(arg);
    return NULL;
}

static void *writer_thread(void *arg)
{
    writer(arg);
    return NULL;
}

static void test_exclusion(void)
{
    pthread_t rt, wt;
    go_wg_add(&wg, 8 + 8 + 2);
    CHECK_EQ(pthread_create(&rt, NULL, reader_thread, NULL), 0);
    CHECK_EQ(pthread_create(&wt, NULL, writer_thread, (void *)(intptr_t)99), 0);
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(go(writer, (void *)(intptr_t)(i + 1)), 0);
        CHECK_EQ(go(reader, NULL), 0);
    }
    go_wg_wait(&wg);
    pthread_join(rt, NULL);
    pthread_join(wt, NULL);
    CHECK_EQ(readers_in, 0);
    CHECK_EQ(writer_in, 0);
    CHECK(max_readers_in >= 1);
}

/* ---- a writer is not starved by overlapping readers ---------------------------- */

static int stop;      /* atomic: the writer got in */
static long reads;    /* atomic: read sections completed */

/* Readers hand the read lock on to each other (a new one comes in before
 * the old one leaves), so a reader-preferring lock would never be free. */
static void streaming_reader(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        go_rwmutex_rlock(&rw);
        go_yield();
        __atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
        go_rwmutex_runlock(&rw);
    }
    go_wg_done(&wg);
}

static void starved_writer(void *arg)
{
    (void)arg;
    go_rwmutex_lock(&rw);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    go_rwmutex_unlock(&rw);
    go_wg_done(&wg);
}

static void test_writer_not_starved(void)
{
    stop = 0;
    go_wg_add(&wg, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(go(streaming_reader, NULL), 0);
    /* Make sure the stream is flowing before the writer arrives. */
    long r0 = __atomic_load_n(&reads, __ATOMIC_RELAXED);
    WAIT_UNTIL(__atomic_load_n(&reads, __ATOMIC_RELAXED) > r0 + 16);
    go_wg_add(&wg, 1);
    CHECK_EQ(go(starved_writer, NULL), 0);
    go_wg_wait(&wg);
    CHECK(stop);
    /* And the same with the writer a plain thread. */
    stop = 0;
    go_wg_add(&wg, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(go(streaming_reader, NULL), 0);
    go_wg_add(&wg, 1);
    starved_writer(NULL);
    go_wg_wait(&wg);
}

/* ---- try-variants ---------------------------------------------------------- */

static void test_try(void)
{
    go_rwmutex r;
    memset(&r, 0, sizeof r); /* zeroed is a valid unlocked RWMutex */
    CHECK(go_rwmutex_trylock(&r));
    CHECK(!go_rwmutex_trylock(&r));
    CHECK(!go_rwmutex_tryrlock(&r));
    go_rwmutex_unlock(&r);
    CHECK(go_rwmutex_tryrlock(&r));
    CHECK(go_rwmutex_tryrlock(&r));
    CHECK(!go_rwmutex_trylock(&r));
    go_rwmutex_runlock(&r);
    CHECK(!go_rwmutex_trylock(&r));
    go_rwmutex_runlock(&r);
    CHECK(go_rwmutex_trylock(&r));
    go_rwmutex_unlock(&r);
    go_rwmutex_rlock(&r);
    go_rwmutex_runlock(&r);
    go_rwmutex_lock(&r);
    go_rwmutex_unlock(&r);
}

/* ---- writer wakes every blocked reader ---------------------------------------- */

static void blocked_reader(void *arg)
{
    (void)arg;
    go_rwmutex_rlock(&rw);
    __atomic_add_fetch(&readers_inside, 1, __ATOMIC_SEQ_CST);
    go_rwmutex_runlock(&rw);
    go_wg_done(&wg);
}

static void test_unlock_releases_readers(void)
{
    readers_inside = 0;
    go_rwmutex_lock(&rw);
    go_wg_add(&wg, 32);
    for (int i = 0; i < 32; i++)
        CHECK_EQ(go(blocked_reader, NULL), 0);
    go_yield();
    CHECK_EQ(__atomic_load_n(&readers_inside, __ATOMIC_SEQ_CST), 0);
    go_rwmutex_unlock(&rw);
    go_wg_wait(&wg);
    CHECK_EQ(readers_inside, 32);
}

/* ---- fatal errors -------------------------------------------------------------- */

static void runlock_unlocked(void *arg)
{
    (void)arg;
    go_rwmutex r = GO_RWMUTEX_INIT;
    go_rwmutex_runlock(&r);
}

static void runlock_write_locked(void *arg)
{
    (void)arg;
    go_rwmutex r = GO_RWMUTEX_INIT;
    go_rwmutex_lock(&r);
    go_rwmutex_runlock(&r);
}

static void unlock_unlocked(void *arg)
{
    (void)arg;
    go_rwmutex r = GO_RWMUTEX_INIT;
    go_rwmutex_unlock(&r);
}

static void unlock_read_locked(void *arg)
{
    (void)arg;
    go_rwmutex r = GO_RWMUTEX_INIT;
    go_rwmutex_rlock(&r);
    go_rwmutex_unlock(&r);
}

int main(void)
{
    /* Death tests first: the child must not inherit a running runtime. */
    CHECK(expect_death(runlock_unlocked, NULL, "fatal error: sync: RUnlock of unlocked RWMutex"));
    CHECK(expect_death(runlock_write_locked, NULL,
                       "fatal error: sync: RUnlock of unlocked RWMutex"));
    CHECK(expect_death(unlock_unlocked, NULL, "fatal error: sync: Unlock of unlocked RWMutex"));
    CHECK(expect_death(unlock_read_locked, NULL,
                       "fatal error: sync: Unlock of unlocked RWMutex"));

    iters = TEST_SANITIZED ? 300 : 3000;
    test_try();
    test_readers_share();
    test_exclusion();
    test_writer_not_starved();
    test_unlock_releases_readers();
    printf("rwmutex ok (GOMAXPROCS=%d, max readers inside at once %d)\n", go_maxprocs(0),
           max_readers_in);
    return 0;
}
