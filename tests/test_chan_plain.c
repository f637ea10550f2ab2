/*
 * test_chan_plain - plain threads (not goroutines) receiving from buffered
 * channels that goroutines fill: the path where a plain receiver first lets
 * a nearly empty buffer fill (chan.c, "Plain-thread receivers"). Checked:
 *
 *  - order: P producer goroutines each send 1..N tagged with their index;
 *    the main thread receives everything and checks that each producer's
 *    values come in order and none is missing or repeated, for capacities
 *    2 to 9 (where "nearly empty" is "empty") and 64 and 1000;
 *  - sharing: three plain threads and three goroutines receive from one
 *    channel at once; every value is received exactly once (a bitmap);
 *  - close: a producer sends a few values, pauses, sends a few more and
 *    closes; the plain receiver gets all of them, then "closed" with a
 *    zeroed value, and every receive after that says "closed" at once;
 *  - trickle: one value every 100 us (the buffer never fills, so each
 *    receive stops gathering on its own): all arrive, in order.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- order, per producer ------------------------------------------------ */

#define PRODUCERS 4

struct order {
    go_chan *c;
    int64_t n;
    go_wg wg;
};

static void order_producer(void *arg)
{
    struct order *o = arg;
    static int64_t next_id; /* atomic */
    int64_t id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED) % PRODUCERS;
    for (int64_t i = 1; i <= o->n; i++) {
        int64_t v = id << 32 | i;
        go_chan_send(o->c, &v);
    }
    go_wg_done(&o->wg);
}

static void order_closer(void *arg)
{
    struct order *o = arg;
    go_wg_wait(&o->wg);
    go_chan_close(o->c);
}

static void test_order(size_t cap, int64_t n)
{
    struct order o = {.c = go_chan_make(sizeof(int64_t), cap), .n = n, .wg = GO_WG_INIT};
    CHECK(o.c != NULL);
    go_wg_add(&o.wg, PRODUCERS);
    for (int i = 0; i < PRODUCERS; i++)
        CHECK_EQ(go(order_producer, &o), 0);
    CHECK_EQ(go(order_closer, &o), 0);
    int64_t last[PRODUCERS] = {0}, got = 0, v;
    while (go_chan_recv(o.c, &v)) {
        int64_t id = v >> 32, i = v & 0xffffffff;
        CHECK(id >= 0 && id < PRODUCERS);
        CHECK_EQ(i, last[id] + 1);
        last[id] = i;
        got++;
    }
    CHECK_EQ(v, 0);
    CHECK_EQ(got, PRODUCERS * n);
    for (int i = 0; i < PRODUCERS; i++)
        CHECK_EQ(last[i], n);
    CHECK(!go_chan_recv(o.c, &v));
    go_chan_free(o.c);
}

/* ---- plain threads and goroutines sharing one channel ------------------- */

#define SHARE_N 300000
#define SHARE_RECV 3

static int64_t share_n; /* SHARE_N, fewer under sanitizers */
static go_chan *share_c;
static uint64_t share_bits[SHARE_N / 64 + 1]; /* atomic fetch_or */
static int64_t share_count;                   /* atomic */
static go_wg share_gwg = GO_WG_INIT;

static void share_take(void)
{
    int64_t v, count = 0;
    while (go_chan_recv(share_c, &v)) {
        CHECK(v >= 0 && v < share_n);
        uint64_t bit = 1ull << (v % 64);
        uint64_t old = __atomic_fetch_or(&share_bits[v / 64], bit, __ATOMIC_RELAXED);
        CHECK((old & bit) == 0); /* received twice */
        count++;
    }
    __atomic_add_fetch(&share_count, count, __ATOMIC_RELAXED);
}

static void share_goroutine(void *arg)
{
    (void)arg;
    share_take();
    go_wg_done(&share_gwg);
}

static void *share_thread(void *arg)
{
    (void)arg;
    share_take();
    return NULL;
}

static void share_producer(void *arg)
{
    (void)arg;
    for (int64_t v = 0; v < share_n; v++)
        go_chan_send(share_c, &v);
    go_chan_close(share_c);
}

static void test_share(void)
{
    share_c = go_chan_make(sizeof(int64_t), 64);
    CHECK(share_c != NULL);
    pthread_t t[SHARE_RECV];
    for (int i = 0; i < SHARE_RECV; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, share_thread, NULL), 0);
    go_wg_add(&share_gwg, SHARE_RECV);
    for (int i = 0; i < SHARE_RECV; i++)
        CHECK_EQ(go(share_goroutine, NULL), 0);
    CHECK_EQ(go(share_producer, NULL), 0);
    for (int i = 0; i < SHARE_RECV; i++)
        CHECK_EQ(pthread_join(t[i], NULL), 0);
    go_wg_wait(&share_gwg);
    CHECK_EQ(__atomic_load_n(&share_count, __ATOMIC_RELAXED), share_n);
    for (int64_t v = 0; v < share_n; v++)
        CHECK(share_bits[v / 64] & (1ull << (v % 64)));
    go_chan_free(share_c);
}

/* ---- close while the receiver gathers; a trickle ------------------------- */

struct trickle {
    go_chan *c;
    int n;
    int64_t pause_ns; /* between values; 0: a burst of 5, a pause, 5 more */
};

static void trickle_producer(void *arg)
{
    struct trickle *t = arg;
    for (int64_t i = 1; i <= t->n; i++) {
        go_chan_send(t->c, &i);
        if (t->pause_ns)
            go_sleep(t->pause_ns);
        else if (i == 5)
            go_sleep(2000000);
    }
    go_chan_close(t->c);
}

static void test_trickle(int n, int64_t pause_ns)
{
    struct trickle t = {.c = go_chan_make(sizeof(int64_t), 64), .n = n, .pause_ns = pause_ns};
    CHECK(t.c != NULL);
    CHECK_EQ(go(trickle_producer, &t), 0);
    int64_t v, want = 1;
    while (go_chan_recv(t.c, &v))
        CHECK_EQ(v, want++);
    CHECK_EQ(want, n + 1);
    CHECK_EQ(v, 0);
    for (int i = 0; i < 3; i++) {
        v = 7;
        CHECK(!go_chan_recv(t.c, &v));
        CHECK_EQ(v, 0);
    }
    go_chan_free(t.c);
}

int main(void)
{
    int64_t n = TEST_SANITIZED ? 5000 : 50000;
    for (size_t cap = 2; cap <= 9; cap++)
        test_order(cap, n / 10);
    test_order(64, n);
    test_order(1000, n);
    share_n = TEST_SANITIZED ? SHARE_N / 10 : SHARE_N;
    test_share();
    test_trickle(10, 0);
    test_trickle(200, 100000);
    printf("test_chan_plain: ok\n");
    return 0;
}
