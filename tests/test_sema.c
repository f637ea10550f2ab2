/*
 * test_sema.c - go_sema (and through it sema.c): counting, try_acquire,
 * FIFO wake-up order, many waiters from goroutines and threads, release
 * of many units at once, timeouts (-ETIMEDOUT, and only that), and the
 * internal handoff release that no running acquirer can intercept.
 *
 * No timing assertions: every test waits for an event, never for a time.
 */
#include "test_util.h"
#include "../src/testhooks.h"

#include <pthread.h>
#include <stdint.h>

/* The count word inside a go_sema (its low 32 bits; see sync.c). */
static uint32_t *count_word(go_sema *s)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint32_t *)s + 1;
#else
    return (uint32_t *)s;
#endif
}

static go_wg wg;

/* ---- counting -------------------------------------------------------------- */

static void test_counts(void)
{
    go_sema s = GO_SEMA_INIT(3);
    for (int i = 0; i < 3; i++)
        CHECK(go_sema_try_acquire(&s));
    CHECK(!go_sema_try_acquire(&s));
    go_sema_release(&s, 2);
    go_sema_acquire(&s); /* available: does not block */
    CHECK(go_sema_try_acquire(&s));
    CHECK(!go_sema_try_acquire(&s));
    go_sema_release(&s, 0); /* adds nothing */
    CHECK(!go_sema_try_acquire(&s));
    go_sema z;
    memset(&z, 0, sizeof z);
    CHECK(!go_sema_try_acquire(&z));
    go_sema_release(&z, 1000000);
    for (int i = 0; i < 1000000; i++)
        CHECK(go_sema_try_acquire(&z));
    CHECK(!go_sema_try_acquire(&z));
}

/* ---- FIFO wake-up order ------------------------------------------------------- */

#define NFIFO 8
static go_sema fifo_sema;
static go_mutex order_mu = GO_MUTEX_INIT;
static int order[NFIFO];
static int norder; /* under order_mu */

static void fifo_waiter(void *arg)
{
    go_sema_acquire(&fifo_sema);
    go_mutex_lock(&order_mu);
    order[norder++] = (int)(intptr_t)arg;
    go_mutex_unlock(&order_mu);
    go_wg_done(&wg);
}

static void *fifo_waiter_thread(void *arg)
{
    fifo_waiter(arg);
    return NULL;
}

static int locked_norder(void)
{
    go_mutex_lock(&order_mu);
    int n = norder;
    go_mutex_unlock(&order_mu);
    return n;
}

static void test_fifo(void)
{
    pthread_t th[2];
    int nth = 0;
    norder = 0;
    go_wg_add(&wg, NFIFO);
    /* Queue the waiters one at a time (each parked before the next comes);
     * waiters 3 and 6 are plain threads. */
    for (int i = 0; i < NFIFO; i++) {
        if (i == 3 || i == 6)
            CHECK_EQ(pthread_create(&th[nth++], NULL, fifo_waiter_thread, (void *)(intptr_t)i),
                     0);
        else
            CHECK_EQ(go(fifo_waiter, (void *)(intptr_t)i), 0);
        WAIT_UNTIL(sema_count_waiters(count_word(&fifo_sema)) == i + 1);
    }
    /* One unit at a time: each goes to the oldest waiter. */
    for (int k = 1; k <= NFIFO; k++) {
        go_sema_release(&fifo_sema, 1);
        WAIT_UNTIL(locked_norder() == k);
        CHECK_EQ(order[k - 1], k - 1);
    }
    go_wg_wait(&wg);
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    CHECK(!go_sema_try_acquire(&fifo_sema));
}

/* ---- many waiters, units in batches --------------------------------------------- */

static go_sema many_sema;
static int acquired; /* atomic */

static void many_waiter(void *arg)
{
    (void)arg;
    go_sema_acquire(&many_sema);
    __atomic_add_fetch(&acquired, 1, __ATOMIC_RELAXED);
    go_wg_done(&wg);
}

static void *many_waiter_thread(void *arg)
{
    many_waiter(arg);
    return NULL;
}

static void test_many(int ng, int nthreads)
{
    pthread_t th[4];
    acquired = 0;
    go_wg_add(&wg, ng + nthreads);
    for (int i = 0; i < nthreads; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, many_waiter_thread, NULL), 0);
    for (int i = 0; i < ng; i++)
        CHECK_EQ(go(many_waiter, NULL), 0);
    /* Release in uneven batches while the waiters are still arriving. */
    int left = ng + nthreads;
    for (uint32_t b = 1; left > 0; b = b % 13 + 1) {
        uint32_t n = (int)b < left ? b : (uint32_t)left;
        go_sema_release(&many_sema, n);
        left -= (int)n;
        go_yield();
    }
    go_wg_wait(&wg);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(acquired, ng + nthreads);
    CHECK(!go_sema_try_acquire(&many_sema)); /* no unit lost, none invented */
    CHECK_EQ(sema_count_waiters(count_word(&many_sema)), 0);
}

/* ---- ping-pong between a goroutine and a thread ---------------------------------- */

static go_sema ping, pong;
static int rounds;

static void ponger(void *arg)
{
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        go_sema_acquire(&ping);
        go_sema_release(&pong, 1);
    }
    go_wg_done(&wg);
}

static void test_pingpong(void)
{
    go_wg_add(&wg, 1);
    CHECK_EQ(go(ponger, NULL), 0);
    for (int i = 0; i < rounds; i++) {
        go_sema_release(&ping, 1);
        go_sema_acquire(&pong);
    }
    go_wg_wait(&wg);
    CHECK(!go_sema_try_acquire(&ping));
    CHECK(!go_sema_try_acquire(&pong));
}

/* ---- handoff: the unit goes to the queued waiter, not to a barger ----------------- */

static go_sema hand_sema;
static int handed; /* atomic */

static void hand_waiter(void *arg)
{
    (void)arg;
    go_sema_acquire(&hand_sema);
    __atomic_store_n(&handed, 1, __ATOMIC_RELEASE);
    go_wg_done(&wg);
}

static void test_handoff(void)
{
    uint32_t *w = count_word(&hand_sema);
    handed = 0;
    go_wg_add(&wg, 1);
    CHECK_EQ(go(hand_waiter, NULL), 0);
    WAIT_UNTIL(sema_count_waiters(w) == 1);
    /* With handoff the unit never appears in the word: a try_acquire right
     * after the release cannot take it from the queued waiter. */
    sema_release(w, 1, true);
    CHECK(!sema_try_acquire(w));
    go_wg_wait(&wg);
    CHECK(handed);
    /* With nobody queued, handoff just adds the units. */
    sema_release(w, 2, true);
    CHECK(sema_try_acquire(w));
    CHECK(sema_try_acquire(w));
    CHECK(!sema_try_acquire(w));
}

/* ---- timeouts ---------------------------------------------------------------------- */

static go_sema tsema;
static int timed_results[2]; /* [0] timed out, [1] acquired; atomic */

static void timed_waiter(void *arg)
{
    int64_t timeout = (int64_t)(intptr_t)arg;
    int r = go_sema_acquire_timeout(&tsema, timeout);
    CHECK(r == 0 || r == -ETIMEDOUT);
    __atomic_add_fetch(&timed_results[r == 0], 1, __ATOMIC_RELAXED);
    go_wg_done(&wg);
}

static void *timed_waiter_thread(void *arg)
{
    timed_waiter(arg);
    return NULL;
}

static void test_timeouts(void)
{
    go_sema s = GO_SEMA_INIT(1);
    /* Zero and negative timeouts only try. */
    CHECK_EQ(go_sema_acquire_timeout(&s, 0), 0);
    CHECK_EQ(go_sema_acquire_timeout(&s, 0), -ETIMEDOUT);
    CHECK_EQ(go_sema_acquire_timeout(&s, -5), -ETIMEDOUT);
    /* Nobody releases: every waiter times out, thread or goroutine. */
    CHECK_EQ(go_sema_acquire_timeout(&s, 1000000), -ETIMEDOUT);
    pthread_t th;
    timed_results[0] = timed_results[1] = 0;
    go_wg_add(&wg, 9);
    CHECK_EQ(pthread_create(&th, NULL, timed_waiter_thread, (void *)(intptr_t)2000000), 0);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(go(timed_waiter, (void *)(intptr_t)(100000 * (i + 1))), 0);
    go_wg_wait(&wg);
    pthread_join(th, NULL);
    CHECK_EQ(timed_results[0], 9);
    CHECK(!go_sema_try_acquire(&tsema));
    /* Waiters with a deadline far away are released normally, and a timed
     * out waiter never swallows a unit: count what was taken. */
    timed_results[0] = timed_results[1] = 0;
    go_wg_add(&wg, 16);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(go(timed_waiter, (void *)(intptr_t)(i % 2 ? 60000000000LL : 50000 * i)), 0);
    WAIT_UNTIL(__atomic_load_n(&timed_results[0], __ATOMIC_RELAXED) +
                   sema_count_waiters(count_word(&tsema)) >= 8);
    go_sema_release(&tsema, 16);
    go_wg_wait(&wg);
    CHECK_EQ(timed_results[0] + timed_results[1], 16);
    CHECK(timed_results[1] >= 8); /* every far-deadline waiter got a unit */
    /* Units not taken are still there: 16 released, timed_results[1] taken. */
    int left = 0;
    while (go_sema_try_acquire(&tsema))
        left++;
    CHECK_EQ(left, 16 - timed_results[1]);
}

int main(void)
{
    rounds = TEST_SANITIZED ? 2000 : 20000;
    test_counts();
    test_fifo();
    test_many(1000, 4);
    test_pingpong();
    test_handoff();
    test_timeouts();
    printf("sema ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
