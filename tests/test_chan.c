/*
 * test_chan.c - channel semantics: make/len/cap, unbuffered and buffered
 * transfer, FIFO order, non-blocking operations, zero-size elements, the
 * closed-channel rules, direct hand-off to a parked receiver, the buffer
 * rotation with a blocked sender, plain threads, and the lifetime rule
 * (the last receiver may free the channel while the sender returns).
 *
 * Translated in spirit from Go's test/chan/{fifo,nonblock,sieve1,
 * goroutines,sendstmt,zerosize}.go, test/closedchan.go, test/chancap.go
 * and runtime/chan_test.go (TestChan, TestMultiConsumer). No test asserts
 * on time: "blocked" is checked by looking at the channel's wait queues.
 */
#include "test_util.h"
#include "../src/testhooks.h"

#include <pthread.h>
#include <stdint.h>

/* Wait until at least ns senders and nr receivers are queued on c. */
static void wait_queued(go_chan *c, size_t ns, size_t nr)
{
    for (;;) {
        size_t s, r;
        chan_count_waiters(c, &s, &r);
        if (s >= ns && r >= nr)
            return;
        go_yield();
    }
}

static size_t nsenders(go_chan *c)
{
    size_t s;
    chan_count_waiters(c, &s, NULL);
    return s;
}

static size_t nreceivers(go_chan *c)
{
    size_t r;
    chan_count_waiters(c, NULL, &r);
    return r;
}

/* ---- make, len, cap (chancap.go) --------------------------------------- */

static void test_make(void)
{
    errno = 0;
    CHECK(go_chan_make(GO_CHAN_ELEM_MAX + 1, 0) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(go_chan_make(8, SIZE_MAX / 4) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(go_chan_make(1, ((size_t)1 << 40) + 1) == NULL);
    CHECK_EQ(errno, EINVAL);

    /* Zero-size elements: no buffer memory, any capacity up to 2^40; above
     * it (a negative number passed as size_t) EINVAL, as for sized ones. */
    go_chan *z = go_chan_make(0, (size_t)1 << 40);
    CHECK(z != NULL);
    CHECK_EQ(go_chan_cap(z), (size_t)1 << 40);
    go_chan_free(z);
    errno = 0;
    CHECK(go_chan_make(0, SIZE_MAX) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(go_chan_make(0, ((size_t)1 << 40) + 1) == NULL);
    CHECK_EQ(errno, EINVAL);

    go_chan *big = go_chan_make(GO_CHAN_ELEM_MAX, 2);
    CHECK(big != NULL);
    static uint8_t in[GO_CHAN_ELEM_MAX], out[GO_CHAN_ELEM_MAX];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 7);
    go_chan_send(big, in);
    CHECK(go_chan_recv(big, out));
    CHECK(memcmp(in, out, sizeof in) == 0);
    go_chan_free(big);

    CHECK_EQ(go_chan_len(NULL), 0);
    CHECK_EQ(go_chan_cap(NULL), 0);
    go_chan_free(NULL);

    for (size_t cap = 0; cap < 20; cap++) {
        go_chan *c = go_chan_make(sizeof(int), cap);
        CHECK(c);
        CHECK_EQ(go_chan_len(c), 0);
        CHECK_EQ(go_chan_cap(c), cap);
        for (size_t i = 0; i < cap; i++) {
            int v = (int)i;
            go_chan_send(c, &v);
            CHECK_EQ(go_chan_len(c), i + 1);
        }
        CHECK_EQ(go_chan_cap(c), cap);
        go_chan_close(c);
        CHECK_EQ(go_chan_len(c), cap); /* close keeps the buffer */
        CHECK_EQ(go_chan_cap(c), cap);
        go_chan_free(c);
    }
}

/* ---- TestChan (runtime/chan_test.go) ----------------------------------- */

struct flag_arg {
    go_chan *c;
    int done; /* atomic */
};

static void recv_then_flag(void *arg)
{
    struct flag_arg *a = arg;
    int v;
    go_chan_recv(a->c, &v);
    __atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
}

static void send_then_flag(void *arg)
{
    struct flag_arg *a = arg;
    int v = 0;
    go_chan_send(a->c, &v);
    __atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
}

struct seq_arg {
    go_chan *c;
    int n;
    go_wg *wg;
};

static void send_seq(void *arg)
{
    struct seq_arg *a = arg;
    for (int i = 0; i < a->n; i++)
        go_chan_send(a->c, &i);
    if (a->wg)
        go_wg_done(a->wg);
}

#define TC_P 4
#define TC_L 1000

struct count_arg {
    go_chan *c;
    int *counts; /* [TC_L], atomic */
    go_wg *wg;
};

static void recv_count(void *arg)
{
    struct count_arg *a = arg;
    for (int i = 0; i < TC_L; i++) {
        int v;
        CHECK(go_chan_recv(a->c, &v));
        CHECK(v >= 0 && v < TC_L);
        __atomic_add_fetch(&a->counts[v], 1, __ATOMIC_RELAXED);
    }
    go_wg_done(a->wg);
}

struct close_check {
    go_chan *c;
    go_chan *done;
};

static void recv_expect_closed(void *arg)
{
    struct close_check *a = arg;
    int v = 12345;
    bool ok = go_chan_recv(a->c, &v);
    bool good = !ok && v == 0;
    go_chan_send(a->done, &good);
}

static void test_chan_matrix(void)
{
    int ncap = TEST_SANITIZED ? 20 : 60;
    for (int cap = 0; cap < ncap; cap++) {
        {
            /* Receive from an empty channel blocks; non-blocking receive
             * does not. */
            go_chan *c = go_chan_make(sizeof(int), (size_t)cap);
            struct flag_arg a1 = {c, 0}, a2 = {c, 0};
            CHECK_EQ(go(recv_then_flag, &a1), 0);
            CHECK_EQ(go(recv_then_flag, &a2), 0);
            wait_queued(c, 0, 2);
            CHECK(!__atomic_load_n(&a1.done, __ATOMIC_SEQ_CST));
            CHECK(!__atomic_load_n(&a2.done, __ATOMIC_SEQ_CST));
            int v = 7;
            bool ok = true;
            CHECK(!go_chan_try_recv(c, &v, &ok));
            CHECK_EQ(v, 7);
            CHECK(ok);
            go_select_case rc = GO_RECV(c, &v, &ok);
            CHECK_EQ(go_select_try(&rc, 1), -1);
            int zero = 0;
            go_chan_send(c, &zero);
            go_chan_send(c, &zero);
            while (!__atomic_load_n(&a1.done, __ATOMIC_SEQ_CST) ||
                   !__atomic_load_n(&a2.done, __ATOMIC_SEQ_CST))
                go_yield();
            go_chan_free(c);
        }
        {
            /* Send to a full channel blocks; non-blocking send does not. */
            go_chan *c = go_chan_make(sizeof(int), (size_t)cap);
            for (int i = 0; i < cap; i++)
                go_chan_send(c, &i);
            struct flag_arg a = {c, 0};
            CHECK_EQ(go(send_then_flag, &a), 0);
            wait_queued(c, 1, 0);
            CHECK(!__atomic_load_n(&a.done, __ATOMIC_SEQ_CST));
            int v = 0;
            CHECK(!go_chan_try_send(c, &v));
            go_select_case sc = GO_SEND(c, &v);
            CHECK_EQ(go_select_try(&sc, 1), -1);
            CHECK(go_chan_recv(c, &v));
            while (!__atomic_load_n(&a.done, __ATOMIC_SEQ_CST))
                go_yield();
            go_chan_free(c);
        }
        {
            /* Receive the buffer, then zeros, from a closed channel. */
            go_chan *c = go_chan_make(sizeof(int), (size_t)cap);
            for (int i = 0; i < cap; i++)
                go_chan_send(c, &i);
            go_chan_close(c);
            for (int i = 0; i < cap; i++) {
                int v = -1;
                CHECK(go_chan_recv(c, &v));
                CHECK_EQ(v, i);
            }
            int v = 99;
            CHECK(!go_chan_recv(c, &v));
            CHECK_EQ(v, 0);
            go_chan_free(c);
        }
        {
            /* Close unblocks a receiver, which sees a zero value. */
            go_chan *c = go_chan_make(sizeof(int), (size_t)cap);
            go_chan *done = go_chan_make(sizeof(bool), 0);
            struct close_check a = {c, done};
            CHECK_EQ(go(recv_expect_closed, &a), 0);
            wait_queued(c, 0, 1);
            go_chan_close(c);
            bool good = false;
            CHECK(go_chan_recv(done, &good));
            CHECK(good);
            go_chan_free(c);
            go_chan_free(done);
        }
        {
            /* 100 values arrive in FIFO order, twice. */
            go_chan *c = go_chan_make(sizeof(int), (size_t)cap);
            for (int round = 0; round < 2; round++) {
                struct seq_arg sa = {c, 100, NULL};
                CHECK_EQ(go_copy(send_seq, &sa, sizeof sa), 0);
                for (int i = 0; i < 100; i++) {
                    int v = -1;
                    CHECK(go_chan_recv(c, &v));
                    CHECK_EQ(v, i);
                }
            }
            /* 4 senders of 0..999 and 4 receivers: each value arrives
             * exactly 4 times. */
            go_wg wg = GO_WG_INIT;
            struct seq_arg sa = {c, TC_L, &wg};
            static int counts[TC_L];
            memset(counts, 0, sizeof counts);
            struct count_arg ca = {c, counts, &wg};
            go_wg_add(&wg, 2 * TC_P);
            for (int p = 0; p < TC_P; p++) {
                CHECK_EQ(go_copy(send_seq, &sa, sizeof sa), 0);
                CHECK_EQ(go_copy(recv_count, &ca, sizeof ca), 0);
            }
            go_wg_wait(&wg);
            for (int i = 0; i < TC_L; i++)
                CHECK_EQ(counts[i], TC_P);
            go_chan_free(c);
        }
    }
}

/* ---- FIFO (fifo.go) ---------------------------------------------------- */

#define FIFO_N 10

static void test_async_fifo(void)
{
    go_chan *c = go_chan_make(sizeof(int), FIFO_N);
    for (int i = 0; i < FIFO_N; i++)
        go_chan_send(c, &i);
    for (int i = 0; i < FIFO_N; i++) {
        int v;
        CHECK(go_chan_recv(c, &v));
        CHECK_EQ(v, i);
    }
    go_chan_free(c);
}

struct chain_link {
    go_chan *ch, *in, *out;
    int val;
};

static void fifo_link(void *arg)
{
    struct chain_link *l = arg;
    CHECK(go_chan_recv(l->in, NULL));
    int v;
    CHECK(go_chan_recv(l->ch, &v));
    CHECK_EQ(v, l->val);
    go_chan_send(l->out, NULL);
}

static void test_sync_fifo(void)
{
    /* Receivers queue in a known order (each waits for its predecessor
     * to be released first); the values must reach them in that order. */
    go_chan *ch = go_chan_make(sizeof(int), 0);
    go_chan *first = go_chan_make(0, 0);
    go_chan *in = first;
    static struct chain_link links[FIFO_N];
    for (int i = 0; i < FIFO_N; i++) {
        go_chan *out = go_chan_make(0, 0);
        links[i] = (struct chain_link){ch, in, out, i};
        CHECK_EQ(go(fifo_link, &links[i]), 0);
        in = out;
    }
    go_chan_send(first, NULL);
    for (int i = 0; i < FIFO_N; i++)
        go_chan_send(ch, &i);
    CHECK(go_chan_recv(in, NULL));
    go_chan_free(ch);
    go_chan_free(first);
    for (int i = 0; i < FIFO_N; i++)
        go_chan_free(links[i].out);
}

/* FIFO among blocked receivers and among blocked senders, checked by
 * queueing them one at a time. */
struct tagged {
    go_chan *c;
    int tag;
    go_chan *report;
};

static void tagged_recv(void *arg)
{
    struct tagged *t = arg;
    int v;
    CHECK(go_chan_recv(t->c, &v));
    int pair[2] = {t->tag, v};
    go_chan_send(t->report, pair);
}

static void tagged_send(void *arg)
{
    struct tagged *t = arg;
    go_chan_send(t->c, &t->tag);
}

static void test_waiter_fifo(void)
{
    enum { N = 8 };
    for (int cap = 0; cap <= 2; cap++) {
        go_chan *c = go_chan_make(sizeof(int), (size_t)cap);
        go_chan *report = go_chan_make(2 * sizeof(int), N);
        struct tagged t[N];
        for (int i = 0; i < N; i++) {
            t[i] = (struct tagged){c, i, report};
            CHECK_EQ(go(tagged_recv, &t[i]), 0);
            wait_queued(c, 0, (size_t)i + 1);
        }
        for (int i = 0; i < N; i++) {
            int v = 100 + i;
            go_chan_send(c, &v);
        }
        /* Receiver i got value 100 + i. */
        for (int i = 0; i < N; i++) {
            int pair[2];
            CHECK(go_chan_recv(report, pair));
            CHECK_EQ(pair[1], 100 + pair[0]);
        }
        /* Senders: fill the buffer, queue senders one by one. */
        for (int i = 0; i < cap; i++) {
            int v = -1 - i;
            go_chan_send(c, &v);
        }
        for (int i = 0; i < N; i++) {
            t[i] = (struct tagged){c, i, NULL};
            CHECK_EQ(go(tagged_send, &t[i]), 0);
            wait_queued(c, (size_t)i + 1, 0);
        }
        for (int i = 0; i < cap; i++) {
            int v;
            CHECK(go_chan_recv(c, &v));
            CHECK_EQ(v, -1 - i);
        }
        for (int i = 0; i < N; i++) {
            int v;
            CHECK(go_chan_recv(c, &v));
            CHECK_EQ(v, i);
        }
        go_chan_free(c);
        go_chan_free(report);
    }
}

/* ---- direct hand-off and buffer rotation ------------------------------- */

static void park_recv_report(void *arg)
{
    struct tagged *t = arg;
    int v = -1;
    CHECK(go_chan_recv(t->c, &v));
    go_chan_send(t->report, &v);
}

static void test_direct_handoff(void)
{
    /* A send to a buffered channel with a parked receiver hands the value
     * over directly: the buffer never holds it. Checked right after the
     * send returns, before the receiver can have run if we are the only
     * P; with more Ps the check is merely weaker. */
    go_chan *c = go_chan_make(sizeof(int), 4);
    go_chan *report = go_chan_make(sizeof(int), 1);
    struct tagged t = {c, 0, report};
    CHECK_EQ(go(park_recv_report, &t), 0);
    wait_queued(c, 0, 1);
    int v = 42;
    go_chan_send(c, &v);
    CHECK_EQ(go_chan_len(c), 0);
    CHECK(go_chan_recv(report, &v));
    CHECK_EQ(v, 42);
    go_chan_free(c);
    go_chan_free(report);
}

static void test_rotation(void)
{
    /* Full buffer [1 2 3] and a blocked sender with 4: a receive takes 1
     * and moves 4 into the tail, waking the sender; order stays FIFO. */
    go_chan *c = go_chan_make(sizeof(int), 3);
    for (int i = 1; i <= 3; i++)
        go_chan_send(c, &i);
    struct tagged t = {c, 4, NULL};
    CHECK_EQ(go(tagged_send, &t), 0);
    wait_queued(c, 1, 0);
    int v;
    CHECK(go_chan_recv(c, &v));
    CHECK_EQ(v, 1);
    CHECK_EQ(go_chan_len(c), 3);
    CHECK_EQ(nsenders(c), 0);
    for (int i = 2; i <= 4; i++) {
        CHECK(go_chan_recv(c, &v));
        CHECK_EQ(v, i);
    }
    CHECK_EQ(go_chan_len(c), 0);
    go_chan_free(c);
}

/* ---- non-blocking operations (nonblock.go) ----------------------------- */

static void nb_recv_one(void *arg)
{
    struct tagged *t = arg;
    int v;
    CHECK(go_chan_recv(t->c, &v));
    CHECK_EQ(v, 123);
    go_chan_send(t->report, NULL);
}

static void nb_send_one(void *arg)
{
    struct tagged *t = arg;
    int v = 456;
    go_chan_send(t->c, &v);
    go_chan_send(t->report, NULL);
}

static void test_nonblock(void)
{
    for (size_t cap = 0; cap <= 8; cap += 8) {
        go_chan *c = go_chan_make(sizeof(int), cap);
        go_chan *sync = go_chan_make(0, 0);
        int v = 5;
        bool ok = false;
        CHECK(!go_chan_try_recv(c, &v, &ok));
        CHECK_EQ(v, 5);
        if (cap == 0)
            CHECK(!go_chan_try_send(c, &v));

        /* A receiver appears eventually: the non-blocking send succeeds. */
        struct tagged t = {c, 0, sync};
        CHECK_EQ(go(nb_recv_one, &t), 0);
        v = 123;
        while (!go_chan_try_send(c, &v))
            go_yield();
        CHECK(go_chan_recv(sync, NULL));

        /* A sender appears eventually: the non-blocking receive succeeds. */
        CHECK_EQ(go(nb_send_one, &t), 0);
        v = 0;
        while (!go_chan_try_recv(c, &v, &ok))
            go_yield();
        CHECK(ok);
        CHECK_EQ(v, 456);
        CHECK(go_chan_recv(sync, NULL));

        /* Fill and drain a buffered channel without blocking. */
        for (size_t i = 0; i < cap; i++) {
            int x = (int)i;
            CHECK(go_chan_try_send(c, &x));
        }
        v = 77;
        CHECK(!go_chan_try_send(c, &v));
        for (size_t i = 0; i < cap; i++) {
            int x = -1;
            CHECK(go_chan_try_recv(c, &x, &ok));
            CHECK(ok);
            CHECK_EQ(x, (int)i);
        }
        CHECK(!go_chan_try_recv(c, &v, NULL));
        go_chan_free(c);
        go_chan_free(sync);
    }
    /* NULL channel: never ready. */
    int v = 1;
    CHECK(!go_chan_try_send(NULL, &v));
    CHECK(!go_chan_try_recv(NULL, &v, NULL));
}

/* ---- zero-size elements (zerosize.go) ---------------------------------- */

static void zs_signal(void *arg)
{
    go_chan *c = arg;
    for (int i = 0; i < 1000; i++)
        go_chan_send(c, NULL);
    go_chan_close(c);
}

static void test_zerosize(void)
{
    /* A counting signal channel: values are nothing, counts are all. */
    go_chan *c = go_chan_make(0, 16);
    for (int i = 0; i < 16; i++)
        CHECK(go_chan_try_send(c, NULL));
    CHECK(!go_chan_try_send(c, NULL));
    CHECK_EQ(go_chan_len(c), 16);
    bool ok = false;
    for (int i = 0; i < 16; i++)
        CHECK(go_chan_try_recv(c, NULL, &ok) && ok);
    CHECK(!go_chan_try_recv(c, NULL, &ok));
    go_chan_free(c);

    for (size_t cap = 0; cap <= 3; cap += 3) {
        c = go_chan_make(0, cap);
        CHECK_EQ(go(zs_signal, c), 0);
        int n = 0;
        char dummy[1] = {'x'};
        while (go_chan_recv(c, dummy))
            n++;
        CHECK_EQ(n, 1000);
        CHECK_EQ(dummy[0], 'x'); /* zero bytes written */
        go_chan_free(c);
    }
}

/* ---- odd element sizes ------------------------------------------------- */

struct big {
    uint64_t a[5];
    uint8_t tail[3];
};

static void big_sender(void *arg)
{
    go_chan *c = arg;
    for (uint64_t i = 0; i < 200; i++) {
        struct big b;
        memset(&b, 0, sizeof b);
        for (int k = 0; k < 5; k++)
            b.a[k] = i * 5 + (uint64_t)k;
        b.tail[0] = (uint8_t)i;
        b.tail[1] = (uint8_t)(i >> 8);
        b.tail[2] = 0xAB;
        go_chan_send(c, &b);
    }
    go_chan_close(c);
}

static void test_elem_sizes(void)
{
    for (size_t cap = 0; cap <= 5; cap += 5) {
        go_chan *c = go_chan_make(sizeof(struct big), cap);
        CHECK_EQ(go(big_sender, c), 0);
        struct big b;
        uint64_t i = 0;
        while (go_chan_recv(c, &b)) {
            for (int k = 0; k < 5; k++)
                CHECK_EQ(b.a[k], i * 5 + (uint64_t)k);
            CHECK_EQ(b.tail[0], (uint8_t)i);
            CHECK_EQ(b.tail[2], 0xAB);
            i++;
        }
        CHECK_EQ(i, 200);
        for (int k = 0; k < 5; k++)
            CHECK_EQ(b.a[k], 0); /* zeroed by the closed receive */
        go_chan_free(c);
    }
    /* 1, 2, 3 and 4-byte elements through a buffer. */
    for (size_t es = 1; es <= 4; es++) {
        go_chan *c = go_chan_make(es, 7);
        for (int round = 0; round < 20; round++) {
            uint8_t in[4] = {(uint8_t)round, 0x11, 0x22, 0x33}, out[4] = {0xEE, 0xEE, 0xEE, 0xEE};
            go_chan_send(c, in);
            CHECK(go_chan_recv(c, out));
            CHECK(memcmp(in, out, es) == 0);
            for (size_t k = es; k < 4; k++)
                CHECK_EQ(out[k], 0xEE);
        }
        go_chan_free(c);
    }
}

/* ---- closed channels (closedchan.go) ----------------------------------- */

/* The three ways closedchan.go reaches a channel: the operation itself, a
 * one-case select, and a select that also lists a dummy channel nobody
 * uses. Sends on closed channels are fatal, checked in test_chan_death. */
enum way { DIRECT, SELECT1, SELECT_DUMMY, NWAYS };

static go_chan *dummy;

static int w_recv(enum way w, go_chan *c, bool *ok)
{
    int v = 55;
    bool k = true;
    switch (w) {
    case DIRECT:
        k = go_chan_recv(c, &v);
        break;
    case SELECT1: {
        go_select_case sc = GO_RECV(c, &v, &k);
        CHECK_EQ(go_select(&sc, 1), 0);
        break;
    }
    default: {
        go_select_case sc[2] = {GO_RECV(dummy, NULL, NULL), GO_RECV(c, &v, &k)};
        CHECK_EQ(go_select(sc, 2), 1);
        break;
    }
    }
    if (ok)
        *ok = k;
    return v;
}

/* Returns whether the non-blocking receive was selected. */
static bool w_nbrecv(enum way w, go_chan *c, int *v, bool *ok)
{
    switch (w) {
    case DIRECT:
        return go_chan_try_recv(c, v, ok);
    case SELECT1: {
        go_select_case sc = GO_RECV(c, v, ok);
        return go_select_try(&sc, 1) == 0;
    }
    default: {
        go_select_case sc[2] = {GO_RECV(dummy, NULL, NULL), GO_RECV(c, v, ok)};
        return go_select_try(sc, 2) == 1;
    }
    }
}

static void closed_test1(enum way w, go_chan *c)
{
    for (int i = 0; i < 3; i++) {
        bool ok = true;
        CHECK_EQ(w_recv(w, c, NULL), 0);
        CHECK_EQ(w_recv(w, c, &ok), 0);
        CHECK(!ok);
        int v = 9;
        ok = true;
        CHECK(w_nbrecv(w, c, &v, &ok));
        CHECK_EQ(v, 0);
        CHECK(!ok);
    }
}

static go_chan *closed_async(void)
{
    go_chan *c = go_chan_make(sizeof(int), 2);
    int one = 1;
    go_chan_send(c, &one);
    go_chan_close(c);
    return c;
}

static void test_closed(void)
{
    dummy = go_chan_make(sizeof(int), 0);
    for (int w = 0; w < NWAYS; w++) {
        go_chan *c = go_chan_make(sizeof(int), 0);
        go_chan_close(c);
        closed_test1((enum way)w, c);
        go_chan_free(c);
    }
    for (int how = 0; how < 2; how++) {
        for (int w = 0; w < NWAYS; w++) {
            go_chan *c = closed_async();
            bool ok = false;
            int v = 0;
            if (how == 0) {
                v = w_recv((enum way)w, c, &ok);
            } else {
                CHECK(w_nbrecv((enum way)w, c, &v, &ok));
            }
            CHECK_EQ(v, 1);
            CHECK(ok);
            closed_test1((enum way)w, c);
            go_chan_free(c);
        }
    }
    go_chan_free(dummy);

    /* The internal non-blocking send used by timers never panics. */
    go_chan *c = go_chan_make(sizeof(int), 1);
    int v = 3;
    CHECK(chan_try_send_internal(c, &v));
    CHECK(!chan_try_send_internal(c, &v)); /* full */
    go_chan_close(c);
    CHECK(!chan_try_send_internal(c, &v)); /* closed */
    CHECK(!chan_try_send_internal(NULL, &v));
    CHECK(go_chan_recv(c, &v));
    CHECK_EQ(v, 3);
    go_chan_free(c);
}

/* close wakes every blocked receiver, goroutines and threads alike. */
struct closer_arg {
    go_chan *c;
    go_wg *wg;
    int woke; /* atomic */
};

static void recv_until_closed(void *arg)
{
    struct closer_arg *a = arg;
    int64_t v = 77;
    CHECK(!go_chan_recv(a->c, &v));
    CHECK_EQ(v, 0);
    __atomic_add_fetch(&a->woke, 1, __ATOMIC_SEQ_CST);
    go_wg_done(a->wg);
}

static void *thread_recv_until_closed(void *arg)
{
    recv_until_closed(arg);
    return NULL;
}

static void test_close_wakes_all(void)
{
    enum { NG = 200, NT = 4 };
    for (size_t cap = 0; cap <= 16; cap += 16) {
        go_wg wg = GO_WG_INIT;
        go_chan *c = go_chan_make(sizeof(int64_t), cap);
        struct closer_arg a = {c, &wg, 0};
        go_wg_add(&wg, NG + NT);
        for (int i = 0; i < NG; i++)
            CHECK_EQ(go(recv_until_closed, &a), 0);
        pthread_t th[NT];
        for (int i = 0; i < NT; i++)
            CHECK_EQ(pthread_create(&th[i], NULL, thread_recv_until_closed, &a), 0);
        wait_queued(c, 0, NG + NT);
        CHECK_EQ(__atomic_load_n(&a.woke, __ATOMIC_SEQ_CST), 0);
        go_chan_close(c);
        go_wg_wait(&wg);
        for (int i = 0; i < NT; i++)
            pthread_join(th[i], NULL);
        CHECK_EQ(a.woke, NG + NT);
        CHECK_EQ(nreceivers(c), 0);
        go_chan_free(c);
    }
}

/* ---- sieve (sieve1.go) ------------------------------------------------- */

static void sieve_generate(void *arg)
{
    go_chan *ch = arg;
    for (int i = 2;; i++)
        go_chan_send(ch, &i);
}

struct filter_arg {
    go_chan *in, *out;
    int prime;
};

static void sieve_filter(void *arg)
{
    struct filter_arg *f = arg;
    for (;;) {
        int i;
        go_chan_recv(f->in, &i);
        if (i % f->prime != 0)
            go_chan_send(f->out, &i);
    }
}

/* The two sieves (main thread, goroutine) run for ever; their channels
 * stay reachable from here so that leak checkers see no leak. */
static go_chan *sieve_gen[2];
static int nsieve;

static void test_sieve(void)
{
    /* The sieve's goroutines block forever when we stop reading (as in
     * Go); the channels are leaked on purpose for the same reason. */
    static const int want[] = {2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                               43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};
    go_chan *ch = go_chan_make(sizeof(int), 0);
    CHECK_EQ(go(sieve_generate, ch), 0);
    static struct filter_arg f[2][25];
    nsieve++;
    sieve_gen[(nsieve - 1) % 2] = ch;
    for (int i = 0; i < 25; i++) {
        int prime;
        CHECK(go_chan_recv(ch, &prime));
        CHECK_EQ(prime, want[i]);
        go_chan *ch1 = go_chan_make(sizeof(int), 0);
        struct filter_arg *fa = &f[(nsieve - 1) % 2][i];
        *fa = (struct filter_arg){ch, ch1, prime};
        CHECK_EQ(go(sieve_filter, fa), 0);
        ch = ch1;
    }
}

/* ---- goroutine chain (goroutines.go) ----------------------------------- */

struct relay_arg {
    go_chan *left, *right;
};

static void relay(void *arg)
{
    struct relay_arg *r = arg;
    int v;
    CHECK(go_chan_recv(r->right, &v));
    v++;
    go_chan_send(r->left, &v);
}

static void test_chain(void)
{
    enum { N = 10000 };
    static struct relay_arg r[N];
    static go_chan *chans[N + 1];
    for (int i = 0; i <= N; i++)
        chans[i] = go_chan_make(sizeof(int), 0);
    for (int i = 0; i < N; i++) {
        r[i] = (struct relay_arg){chans[i], chans[i + 1]};
        CHECK_EQ(go(relay, &r[i]), 0);
    }
    int v = 0;
    go_chan_send(chans[N], &v);
    CHECK(go_chan_recv(chans[0], &v));
    CHECK_EQ(v, N);
    for (int i = 0; i <= N; i++)
        go_chan_free(chans[i]);
}

/* ---- multi-consumer (runtime TestMultiConsumer) ------------------------ */

static const int pn[] = {2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
#define NPN ((int)(sizeof pn / sizeof pn[0]))

struct mc_arg {
    go_chan *q, *r;
    go_wg *wg;
    int w;
    int niter;
    int64_t expect;
};

static void mc_worker(void *arg)
{
    struct mc_arg *a = arg;
    int v;
    while (go_chan_recv(a->q, &v)) {
        if (pn[a->w % NPN] == v)
            go_yield(); /* mess with the FIFO-ish order */
        go_chan_send(a->r, &v);
    }
    go_wg_done(a->wg);
}

static void mc_feeder(void *arg)
{
    struct mc_arg *a = arg;
    int64_t expect = 0;
    for (int i = 0; i < a->niter; i++) {
        int v = pn[i % NPN];
        expect += v;
        go_chan_send(a->q, &v);
    }
    a->expect = expect;
    go_chan_close(a->q);
    go_wg_wait(a->wg);
    go_chan_close(a->r);
}

static void test_multi_consumer(void)
{
    enum { NWORK = 23 };
    int niter = TEST_SANITIZED ? 27182 : 271828;
    go_chan *q = go_chan_make(sizeof(int), NWORK * 3);
    go_chan *r = go_chan_make(sizeof(int), NWORK * 3);
    go_wg wg = GO_WG_INIT;
    static struct mc_arg w[NWORK];
    go_wg_add(&wg, NWORK);
    for (int i = 0; i < NWORK; i++) {
        w[i] = (struct mc_arg){q, r, &wg, i, 0, 0};
        CHECK_EQ(go(mc_worker, &w[i]), 0);
    }
    struct mc_arg feed = {q, r, &wg, 0, niter, 0};
    CHECK_EQ(go(mc_feeder, &feed), 0);
    int n = 0;
    int64_t s = 0;
    int v;
    while (go_chan_recv(r, &v)) {
        n++;
        s += v;
    }
    CHECK_EQ(n, niter);
    CHECK_EQ(s, feed.expect); /* written before close(r): ordered */
    go_chan_free(q);
    go_chan_free(r);
}

/* ---- plain threads ----------------------------------------------------- */

struct th_arg {
    go_chan *c;
    int n;
    int64_t sum; /* receivers: what they got */
};

static void *th_send(void *arg)
{
    struct th_arg *a = arg;
    for (int i = 1; i <= a->n; i++) {
        int64_t v = i;
        go_chan_send(a->c, &v);
    }
    return NULL;
}

static void *th_recv(void *arg)
{
    struct th_arg *a = arg;
    int64_t v;
    while (go_chan_recv(a->c, &v))
        a->sum += v;
    return NULL;
}

struct g_recv_arg {
    struct th_arg t;
    go_wg *wg;
};

static void g_recv2(void *arg)
{
    struct g_recv_arg *a = arg;
    th_recv(&a->t);
    go_wg_done(a->wg);
}

static void test_threads(void)
{
    enum { NT = 3, NGR = 3, N = 20000 };
    for (size_t cap = 0; cap <= 4; cap += 4) {
        go_chan *c = go_chan_make(sizeof(int64_t), cap);
        /* Thread senders; thread and goroutine receivers. */
        pthread_t snd[NT], rcv[NT];
        struct th_arg sa = {c, N, 0}, ra[NT];
        struct g_recv_arg ga[NGR];
        go_wg wg = GO_WG_INIT;
        go_wg_add(&wg, NGR);
        for (int i = 0; i < NGR; i++) {
            ga[i] = (struct g_recv_arg){{c, 0, 0}, &wg};
            CHECK_EQ(go(g_recv2, &ga[i]), 0);
        }
        for (int i = 0; i < NT; i++) {
            ra[i] = (struct th_arg){c, 0, 0};
            CHECK_EQ(pthread_create(&rcv[i], NULL, th_recv, &ra[i]), 0);
            CHECK_EQ(pthread_create(&snd[i], NULL, th_send, &sa), 0);
        }
        for (int i = 0; i < NT; i++)
            pthread_join(snd[i], NULL);
        go_chan_close(c);
        for (int i = 0; i < NT; i++)
            pthread_join(rcv[i], NULL);
        go_wg_wait(&wg);
        int64_t sum = 0;
        for (int i = 0; i < NT; i++)
            sum += ra[i].sum;
        for (int i = 0; i < NGR; i++)
            sum += ga[i].t.sum;
        CHECK_EQ(sum, (int64_t)NT * N * (N + 1) / 2);
        go_chan_free(c);
    }
}

/* ---- lifetime: the last receiver frees while the sender returns -------- */

static void lt_send(void *arg)
{
    go_chan *c = arg;
    int64_t v = 7;
    go_chan_send(c, &v); /* the receiver frees c as soon as it has the value */
}

static void *lt_send_thread(void *arg)
{
    lt_send(arg);
    return NULL;
}

static void lt_recv_free(void *arg)
{
    go_chan *c = arg;
    int64_t v = 0;
    CHECK(go_chan_recv(c, &v));
    CHECK_EQ(v, 7);
    go_chan_free(c);
}

static void test_lifetime(void)
{
    int n = TEST_SANITIZED ? 2000 : 20000;
    for (int i = 0; i < n; i++) {
        size_t cap = (size_t)(i % 3 == 2);
        /* Sender goroutine, receiver here frees (sender may be parked or
         * still returning). */
        go_chan *c = go_chan_make(sizeof(int64_t), cap);
        CHECK_EQ(go(lt_send, c), 0);
        lt_recv_free(c);
        /* Receiver goroutine parked first, we send; it frees. */
        c = go_chan_make(sizeof(int64_t), cap);
        CHECK_EQ(go(lt_recv_free, c), 0);
        if (i % 2)
            wait_queued(c, 0, 1);
        lt_send(c);
    }
    /* With plain threads on the sending side. */
    for (int i = 0; i < n / 10; i++) {
        go_chan *c = go_chan_make(sizeof(int64_t), 0);
        pthread_t th;
        CHECK_EQ(pthread_create(&th, NULL, lt_send_thread, c), 0);
        lt_recv_free(c);
        pthread_join(th, NULL);
    }
}

static int hook_calls;
static go_chan *hook_seen;

static void free_hook(go_chan *c, void *arg)
{
    hook_calls += *(int *)arg;
    hook_seen = c;
    CHECK_EQ(go_chan_len(c), 1); /* still intact */
}

static void test_free_hook(void)
{
    go_chan *c = go_chan_make(1, 1);
    int one = 1;
    chan_set_free_hook(c, free_hook, &one);
    uint8_t b = 1;
    go_chan_send(c, &b);
    go_chan_free(c);
    CHECK_EQ(hook_calls, 1);
    CHECK(hook_seen == c);
}

/* ---- sendstmt.go: the value is evaluated before the send --------------- */

static void test_sendstmt(void)
{
    go_chan *c = go_chan_make(sizeof(int), 1);
    int v = 1;
    go_chan_send(c, &v);
    v = 2; /* the channel holds a copy */
    CHECK(go_chan_recv(c, &v));
    CHECK_EQ(v, 1);
    go_chan_free(c);
}

/* ---- the suite, run from main and from a goroutine --------------------- */

#define T(f)                                                                                       \
    {                                                                                              \
        f, #f                                                                                      \
    }
static const struct {
    void (*fn)(void);
    const char *name;
} tests[] = {
    T(test_make),        T(test_sendstmt),       T(test_async_fifo), T(test_sync_fifo),
    T(test_waiter_fifo), T(test_direct_handoff), T(test_rotation),   T(test_nonblock),
    T(test_zerosize),    T(test_elem_sizes),     T(test_closed),     T(test_close_wakes_all),
    T(test_chan_matrix), T(test_sieve),          T(test_chain),      T(test_multi_consumer),
    T(test_threads),     T(test_lifetime),       T(test_free_hook),
};
#define NTESTS (sizeof tests / sizeof tests[0])

static go_wg root_wg = GO_WG_INIT;

static void root(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < NTESTS; i++) {
        if (tests[i].fn == test_free_hook)
            continue;
        fprintf(stderr, "  %s (goroutine)\n", tests[i].name);
        tests[i].fn();
    }
    go_wg_done(&root_wg);
}

int main(void)
{
    /* From the main thread (a plain thread)... */
    for (size_t i = 0; i < NTESTS; i++) {
        fprintf(stderr, "  %s (main thread)\n", tests[i].name);
        tests[i].fn();
    }
    /* ...and again from a goroutine. */
    go_wg_add(&root_wg, 1);
    CHECK_EQ(go(root, NULL), 0);
    go_wg_wait(&root_wg);
    printf("test_chan: ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
