/*
 * test_sync_cond.c - go_cond: Signal wakes exactly one waiter (the
 * oldest), Broadcast wakes them all, no wake-up is lost or invented, a
 * bounded producer/consumer queue works across goroutines and threads, and
 * a cond may be freed as soon as its last waiter has returned.
 *
 * No timing assertions: every test waits for an event, never for a time.
 */
#include "test_util.h"
#include "../src/testhooks.h"

#include <pthread.h>
#include <stdint.h>

static go_wg wg;

/* ---- Signal wakes one, Broadcast the rest -------------------------------------- */

#define NW 8
static go_mutex m = GO_MUTEX_INIT;
static go_cond c = GO_COND_INIT;
static int nwaiting; /* under m: waiters that have called go_cond_wait */
static int tokens;   /* under m: wake-ups granted */
static int wakeups;  /* under m: returns from go_cond_wait */
static int done;     /* under m: waiters that took a token */
static int order[NW];

static void token_waiter(void *arg)
{
    int id = (int)(intptr_t)arg;
    go_mutex_lock(&m);
    nwaiting++;
    while (tokens == 0) {
        go_cond_wait(&c, &m);
        wakeups++;
    }
    tokens--;
    order[done++] = id;
    go_mutex_unlock(&m);
    go_wg_done(&wg);
}

static int locked_read(int *p)
{
    go_mutex_lock(&m);
    int v = *p;
    go_mutex_unlock(&m);
    return v;
}

static void test_signal_and_broadcast(void)
{
    go_wg_add(&wg, NW);
    /* Start the waiters one at a time, each parked before the next comes,
     * so that their tickets are in id order. */
    for (int i = 0; i < NW; i++) {
        CHECK_EQ(go(token_waiter, (void *)(intptr_t)i), 0);
        WAIT_UNTIL(sema_count_waiters(&c) == i + 1);
    }
    CHECK_EQ(locked_read(&nwaiting), NW);
    /* Each signal (with one token) wakes exactly one waiter, the oldest. */
    for (int k = 1; k <= NW / 2; k++) {
        go_mutex_lock(&m);
        tokens++;
        go_cond_signal(&c);
        go_mutex_unlock(&m);
        WAIT_UNTIL(locked_read(&done) == k);
        CHECK_EQ(order[k - 1], k - 1);
    }
    CHECK_EQ(sema_count_waiters(&c), NW - NW / 2);
    /* Broadcast wakes the rest. */
    go_mutex_lock(&m);
    tokens += NW - NW / 2;
    go_cond_broadcast(&c);
    go_mutex_unlock(&m);
    go_wg_wait(&wg);
    CHECK_EQ(done, NW);
    CHECK_EQ(tokens, 0);
    /* Exactly one wake-up per waiter: a signal that woke two would have
     * sent one of them round the loop again, a spurious wake-up too. */
    CHECK_EQ(wakeups, NW);
    /* Signal and Broadcast with nobody waiting do nothing, and are not
     * remembered for a later waiter. */
    go_cond_signal(&c);
    go_cond_broadcast(&c);
    CHECK_EQ(sema_count_waiters(&c), 0);
}

/* ---- Broadcast wakes all, goroutines and threads -------------------------------- */

static int flag; /* under m */

static void flag_waiter(void *arg)
{
    (void)arg;
    go_mutex_lock(&m);
    nwaiting++;
    while (!flag)
        go_cond_wait(&c, &m);
    go_mutex_unlock(&m);
    go_wg_done(&wg);
}

static void *flag_waiter_thread(void *arg)
{
    flag_waiter(arg);
    return NULL;
}

static void test_broadcast_all(int ng, int nthreads)
{
    pthread_t th[4];
    nwaiting = 0;
    flag = 0;
    go_wg_add(&wg, ng + nthreads);
    for (int i = 0; i < nthreads; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, flag_waiter_thread, NULL), 0);
    for (int i = 0; i < ng; i++)
        CHECK_EQ(go(flag_waiter, NULL), 0);
    WAIT_UNTIL(locked_read(&nwaiting) == ng + nthreads);
    go_mutex_lock(&m);
    flag = 1;
    go_cond_broadcast(&c);
    go_mutex_unlock(&m);
    go_wg_wait(&wg);
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
}

/* ---- a bounded queue: 4+1 producers, 4+1 consumers -------------------------------- */

#define QCAP 8
static struct {
    go_mutex mu;
    go_cond notempty, notfull;
    int buf[QCAP];
    int head, count;
    int consumed; /* items taken out in total */
} q;
static int total;
static int *seen; /* seen[item]: times consumed; atomic */
static int per_producer;

static void produce(void *arg)
{
    int base = (int)(intptr_t)arg * per_producer;
    for (int i = 0; i < per_producer; i++) {
        go_mutex_lock(&q.mu);
        while (q.count == QCAP)
            go_cond_wait(&q.notfull, &q.mu);
        q.buf[(q.head + q.count) % QCAP] = base + i;
        q.count++;
        go_cond_signal(&q.notempty);
        go_mutex_unlock(&q.mu);
    }
    go_wg_done(&wg);
}

static void consume(void *arg)
{
    (void)arg;
    for (;;) {
        go_mutex_lock(&q.mu);
        while (q.count == 0 && q.consumed < total)
            go_cond_wait(&q.notempty, &q.mu);
        if (q.consumed == total) {
            go_mutex_unlock(&q.mu);
            break;
        }
        int item = q.buf[q.head];
        q.head = (q.head + 1) % QCAP;
        q.count--;
        if (++q.consumed == total)
            go_cond_broadcast(&q.notempty); /* let the other consumers out */
        go_cond_signal(&q.notfull);
        go_mutex_unlock(&q.mu);
        __atomic_add_fetch(&seen[item], 1, __ATOMIC_RELAXED);
    }
    go_wg_done(&wg);
}

static void *produce_thread(void *arg)
{
    produce(arg);
    return NULL;
}

static void *consume_thread(void *arg)
{
    consume(arg);
    return NULL;
}

static void test_queue(void)
{
    per_producer = TEST_SANITIZED ? 2000 : 20000;
    int nprod = 5;
    total = nprod * per_producer;
    seen = calloc((size_t)total, sizeof *seen);
    CHECK(seen);
    memset(&q, 0, sizeof q);
    pthread_t pt, ct;
    go_wg_add(&wg, 10);
    CHECK_EQ(pthread_create(&pt, NULL, produce_thread, (void *)(intptr_t)4), 0);
    CHECK_EQ(pthread_create(&ct, NULL, consume_thread, NULL), 0);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(go(produce, (void *)(intptr_t)i), 0);
        CHECK_EQ(go(consume, NULL), 0);
    }
    go_wg_wait(&wg);
    pthread_join(pt, NULL);
    pthread_join(ct, NULL);
    CHECK_EQ(q.consumed, total);
    CHECK_EQ(q.count, 0);
    for (int i = 0; i < total; i++)
        CHECK_EQ(seen[i], 1); /* nothing lost, nothing duplicated */
    free(seen);
}

/* ---- a cond freed as soon as its waiter returns ------------------------------------ */

struct box {
    go_mutex mu;
    go_cond cv;
    int ready;
};

static void signal_box(void *arg)
{
    struct box *b = arg;
    go_mutex_lock(&b->mu);
    b->ready = 1;
    go_cond_signal(&b->cv);
    go_mutex_unlock(&b->mu);
}

static void broadcast_box(void *arg)
{
    struct box *b = arg;
    go_mutex_lock(&b->mu);
    b->ready = 1;
    go_cond_broadcast(&b->cv);
    go_mutex_unlock(&b->mu);
}

static void test_free_after_wait(int rounds)
{
    for (int r = 0; r < rounds; r++) {
        struct box *b = calloc(1, sizeof *b);
        CHECK(b);
        CHECK_EQ(go(r % 2 ? signal_box : broadcast_box, b), 0);
        go_mutex_lock(&b->mu);
        while (!b->ready)
            go_cond_wait(&b->cv, &b->mu);
        go_mutex_unlock(&b->mu);
        /* The waker may still be inside go_mutex_unlock (we got the lock
         * from it): the library must not touch the box any more. */
        free(b);
    }
}

int main(void)
{
    test_signal_and_broadcast();
    test_broadcast_all(16, 2);
    test_queue();
    test_free_after_wait(TEST_SANITIZED ? 200 : 2000);
    printf("cond ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
