/*
 * test_chan_timeout.c - go_chan_send_timeout, go_chan_recv_timeout and
 * go_select_timeout: a timeout returns -ETIMEDOUT and consumes nothing
 * (no value sent, none received, elem and ok untouched, no waiter left
 * queued); a partner or a close before the deadline completes the
 * operation normally; timeouts <= 0 mean "try once"; a NULL channel times
 * out. Then the race that matters: timeouts firing while partners arrive,
 * with every value accounted for exactly once. Nothing here asserts how
 * long anything took.
 */
#include "test_util.h"
#include "../src/testhooks.h"

#include <pthread.h>
#include <stdint.h>


#define MS 1000000LL
#define US 1000LL

/* Goroutines the tests wait for: a WaitGroup around each, so that waiting
 * for them orders everything they did before whatever comes next (freeing
 * the channels they used). go_num_goroutine() would say when they are gone
 * but establishes no such order. */
static go_wg all_wg = GO_WG_INIT;

struct tramp {
    go_func fn;
    void *arg;
    bool owned; /* arg is a heap copy for the goroutine to free */
};

static void tramp(void *p)
{
    struct tramp *t = p;
    t->fn(t->arg);
    if (t->owned)
        free(t->arg);
    go_wg_done(&all_wg);
}

static void spawn(go_func fn, void *arg)
{
    struct tramp t = {fn, arg, false};
    go_wg_add(&all_wg, 1);
    CHECK_EQ(go_copy(tramp, &t, sizeof t), 0);
}

/* As spawn, with a private copy of the argument block (as go_copy). */
static void spawn_copy(go_func fn, const void *arg, size_t size)
{
    void *copy = malloc(size);
    CHECK(copy);
    memcpy(copy, arg, size);
    struct tramp t = {fn, copy, true};
    go_wg_add(&all_wg, 1);
    CHECK_EQ(go_copy(tramp, &t, sizeof t), 0);
}

static void wait_all(void)
{
    go_wg_wait(&all_wg);
}

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

static void no_waiters(go_chan *c)
{
    size_t s, r;
    chan_count_waiters(c, &s, &r);
    CHECK_EQ(s, 0);
    CHECK_EQ(r, 0);
}

/* ---- plain timeouts ---------------------------------------------------- */

static void test_recv_times_out(void)
{
    for (size_t cap = 0; cap <= 4; cap += 4) {
        go_chan *c = go_chan_make(sizeof(int64_t), cap);
        int64_t v = 1234;
        bool ok = true;
        CHECK_EQ(go_chan_recv_timeout(c, &v, &ok, 2 * MS), -ETIMEDOUT);
        CHECK_EQ(v, 1234);
        CHECK(ok);
        no_waiters(c);
        CHECK_EQ(go_chan_recv_timeout(c, &v, NULL, 1), -ETIMEDOUT);
        CHECK_EQ(go_chan_recv_timeout(c, &v, &ok, 0), -ETIMEDOUT);
        CHECK_EQ(go_chan_recv_timeout(c, &v, &ok, -1), -ETIMEDOUT);
        CHECK_EQ(v, 1234);
        no_waiters(c);
        go_chan_free(c);
    }
}

static void test_send_times_out(void)
{
    for (size_t cap = 0; cap <= 2; cap += 2) {
        go_chan *c = go_chan_make(sizeof(int64_t), cap);
        for (int64_t i = 0; i < (int64_t)cap; i++)
            go_chan_send(c, &i);
        int64_t v = 99;
        CHECK_EQ(go_chan_send_timeout(c, &v, 2 * MS), -ETIMEDOUT);
        CHECK_EQ(go_chan_send_timeout(c, &v, 1), -ETIMEDOUT);
        CHECK_EQ(go_chan_send_timeout(c, &v, 0), -ETIMEDOUT);
        CHECK_EQ(go_chan_send_timeout(c, &v, -7), -ETIMEDOUT);
        CHECK_EQ(go_chan_len(c), cap);
        no_waiters(c);
        /* Nothing of the timed-out sends got in. */
        for (int64_t i = 0; i < (int64_t)cap; i++) {
            int64_t w;
            CHECK(go_chan_recv(c, &w));
            CHECK_EQ(w, i);
        }
        CHECK(!go_chan_try_recv(c, &v, NULL));
        go_chan_free(c);
    }
}

static void test_select_times_out(void)
{
    go_chan *a = go_chan_make(sizeof(int), 0);
    go_chan *b = go_chan_make(sizeof(int), 1);
    int one = 1;
    go_chan_send(b, &one); /* b full: its send case is not ready */
    int ra = 5, sb = 6;
    bool oka = true;
    go_select_case sc[4] = {GO_RECV(a, &ra, &oka), GO_SEND(b, &sb), GO_RECV(NULL, &ra, &oka),
                            GO_RECV(a, &ra, &oka)};
    CHECK_EQ(go_select_timeout(sc, 4, 3 * MS), -ETIMEDOUT);
    CHECK_EQ(go_select_timeout(sc, 4, 1), -ETIMEDOUT);
    CHECK_EQ(go_select_timeout(sc, 4, 0), -ETIMEDOUT);
    CHECK_EQ(ra, 5);
    CHECK(oka);
    CHECK_EQ(go_chan_len(b), 1);
    no_waiters(a);
    no_waiters(b);
    /* Nothing to wait for at all: just the timeout. */
    CHECK_EQ(go_select_timeout(NULL, 0, 1 * MS), -ETIMEDOUT);
    CHECK_EQ(go_select_timeout(sc + 2, 1, 1 * MS), -ETIMEDOUT);
    CHECK_EQ(go_select_timeout(NULL, 0, 0), -ETIMEDOUT);
    /* A NULL channel times out too. */
    CHECK_EQ(go_chan_recv_timeout(NULL, &ra, &oka, 1 * MS), -ETIMEDOUT);
    CHECK_EQ(go_chan_send_timeout(NULL, &ra, 1 * MS), -ETIMEDOUT);
    CHECK_EQ(ra, 5);
    /* Ready cases are taken without waiting, even with timeout 0. */
    int got = 0;
    go_select_case rb = GO_RECV(b, &got, NULL);
    CHECK_EQ(go_select_timeout(&rb, 1, 0), 0);
    CHECK_EQ(got, 1);
    CHECK_EQ(go_chan_send_timeout(b, &one, 0), 0);
    CHECK_EQ(go_chan_recv_timeout(b, &got, NULL, 0), 0);
    CHECK_EQ(go_chan_send_timeout(b, &one, 5 * MS), 0);
    CHECK_EQ(go_chan_recv_timeout(b, &got, NULL, 5 * MS), 0);
    go_chan_free(a);
    go_chan_free(b);
}

/* ---- partners arrive before the deadline ------------------------------- */

struct partner {
    go_chan *c;
    int kind;
    int64_t v;
};

static void partner(void *arg)
{
    struct partner *p = arg;
    if (p->kind == 0)
        go_chan_send(p->c, &p->v);
    else if (p->kind == 1)
        CHECK(go_chan_recv(p->c, &p->v));
    else
        go_chan_close(p->c);
}

static void test_completed_before_deadline(void)
{
    const int64_t long_to = 60 * 1000 * MS; /* never reached */
    for (size_t cap = 0; cap <= 1; cap++) {
        /* Receive: a sender arrives. */
        go_chan *c = go_chan_make(sizeof(int64_t), cap);
        struct partner p = {c, 0, 77};
        spawn(partner, &p);
        int64_t v = 0;
        bool ok = false;
        CHECK_EQ(go_chan_recv_timeout(c, &v, &ok, long_to), 0);
        CHECK_EQ(v, 77);
        CHECK(ok);
        /* Receive: close arrives (we are parked first). */
        struct partner pc = {c, 2, 0};
        spawn(partner, &pc);
        v = 5;
        ok = true;
        CHECK_EQ(go_chan_recv_timeout(c, &v, &ok, long_to), 0);
        CHECK_EQ(v, 0);
        CHECK(!ok);
        wait_all();
        go_chan_free(c);

        /* Send: a receiver arrives. */
        c = go_chan_make(sizeof(int64_t), cap);
        int64_t fill = 1;
        if (cap)
            go_chan_send(c, &fill);
        struct partner pr = {c, 1, 0};
        spawn(partner, &pr);
        int64_t s = 88;
        CHECK_EQ(go_chan_send_timeout(c, &s, long_to), 0);
        wait_all();
        CHECK_EQ(pr.v, cap ? 1 : 88);
        if (cap) {
            CHECK(go_chan_recv(c, &v));
            CHECK_EQ(v, 88);
        }
        no_waiters(c);
        go_chan_free(c);
    }
}

/* ---- the race: timeouts against partners, every value exactly once ----- */

#define RACE_SENDERS 8
#define RACE_RECEIVERS 3

struct race {
    go_chan *c;
    int per_sender;
    uint8_t *sent;     /* [RACE_SENDERS * per_sender]: 1 if the send returned 0 */
    uint8_t *received; /* atomic: times received */
    go_wg swg, rwg;    /* senders, receivers */
};

struct race_arg {
    struct race *r;
    int id;
};

static int64_t pick_timeout(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    switch ((*seed >> 16) % 4) {
    case 0:
        return 1; /* expires before we even park: the early handshake */
    case 1:
        return 20 * US;
    case 2:
        return 200 * US;
    default:
        return 2 * MS;
    }
}

static void race_sender(void *arg)
{
    struct race_arg *a = arg;
    struct race *r = a->r;
    uint32_t seed = (uint32_t)a->id * 2654435761u + 1;
    go_chan *dummy = go_chan_make(sizeof(int64_t), 0);
    for (int i = 0; i < r->per_sender; i++) {
        int64_t v = (int64_t)a->id * r->per_sender + i;
        int64_t to = pick_timeout(&seed);
        int rc;
        if (i % 2) {
            rc = go_chan_send_timeout(r->c, &v, to);
        } else {
            go_select_case sc[2] = {GO_RECV(dummy, NULL, NULL), GO_SEND(r->c, &v)};
            rc = go_select_timeout(sc, 2, to);
            CHECK(rc == 1 || rc == -ETIMEDOUT);
            if (rc == 1)
                rc = 0;
        }
        CHECK(rc == 0 || rc == -ETIMEDOUT);
        r->sent[v] = rc == 0;
    }
    go_chan_free(dummy);
    go_wg_done(&r->swg);
}

static void race_receiver(void *arg)
{
    struct race_arg *a = arg;
    struct race *r = a->r;
    uint32_t seed = (uint32_t)a->id * 40503u + 7;
    for (;;) {
        int64_t v = -1;
        bool ok = false;
        int rc;
        int64_t to = pick_timeout(&seed);
        if (seed & 0x100) {
            rc = go_chan_recv_timeout(r->c, &v, &ok, to);
        } else {
            go_select_case sc = GO_RECV(r->c, &v, &ok);
            rc = go_select_timeout(&sc, 1, to);
        }
        /* Dawdle now and then, so that senders time out too. */
        if ((seed >> 20) % 4 == 0)
            go_sleep((int64_t)((seed >> 8) % 100) * US);
        if (rc == -ETIMEDOUT) {
            CHECK_EQ(v, -1);
            CHECK(ok == false);
            continue;
        }
        CHECK_EQ(rc, 0);
        if (!ok)
            break; /* closed: every sender is done */
        CHECK(v >= 0 && v < RACE_SENDERS * r->per_sender);
        CHECK_EQ(__atomic_add_fetch(&r->received[v], 1, __ATOMIC_SEQ_CST), 1);
    }
    go_wg_done(&r->rwg);
}

static void test_timeout_race(void)
{
    for (size_t cap = 0; cap <= 4; cap += 4) {
        static struct race r;
        memset(&r, 0, sizeof r);
        r.per_sender = TEST_SANITIZED ? 1000 : 10000;
        int total = RACE_SENDERS * r.per_sender;
        r.c = go_chan_make(sizeof(int64_t), cap);
        r.sent = calloc((size_t)total, 1);
        r.received = calloc((size_t)total, 1);
        static struct race_arg args[RACE_SENDERS + RACE_RECEIVERS];
        go_wg_add(&r.swg, RACE_SENDERS);
        go_wg_add(&r.rwg, RACE_RECEIVERS);
        for (int i = 0; i < RACE_SENDERS + RACE_RECEIVERS; i++) {
            args[i] = (struct race_arg){&r, i};
            CHECK_EQ(go(i < RACE_SENDERS ? race_sender : race_receiver, &args[i]), 0);
        }
        go_wg_wait(&r.swg);
        go_chan_close(r.c);
        go_wg_wait(&r.rwg);
        /* Exactly the values whose send reported success arrived, once. */
        int nsent = 0;
        for (int v = 0; v < total; v++) {
            CHECK_EQ(r.received[v], r.sent[v]);
            nsent += r.sent[v];
        }
        CHECK(nsent > 0);
        if (getenv("TEST_VERBOSE"))
            fprintf(stderr, "    cap %zu: %d of %d sends completed\n", cap, nsent, total);
        no_waiters(r.c);
        go_chan_free(r.c);
        free(r.sent);
        free(r.received);
    }
}

/* ---- plain threads ----------------------------------------------------- */

struct th_arg {
    go_chan *c, *phase;
};

static void *thread_timeouts(void *arg)
{
    struct th_arg *a = arg;
    int64_t v = 3;
    bool ok = true;
    CHECK_EQ(go_chan_recv_timeout(a->c, &v, &ok, 2 * MS), -ETIMEDOUT);
    CHECK_EQ(v, 3);
    CHECK(ok);
    CHECK_EQ(go_chan_send_timeout(a->c, &v, 2 * MS), -ETIMEDOUT);
    go_select_case sc = GO_RECV(a->c, &v, &ok);
    CHECK_EQ(go_select_timeout(&sc, 1, 2 * MS), -ETIMEDOUT);
    CHECK_EQ(v, 3);
    /* Now one that a goroutine completes. */
    go_chan_send(a->phase, NULL);
    CHECK_EQ(go_chan_recv_timeout(a->c, &v, &ok, 60 * 1000 * MS), 0);
    CHECK_EQ(v, 42);
    CHECK(ok);
    return NULL;
}

static void send42(void *arg)
{
    int64_t v = 42;
    go_chan_send(arg, &v);
}

static void test_threads(void)
{
    struct th_arg a = {go_chan_make(sizeof(int64_t), 0), go_chan_make(0, 1)};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, thread_timeouts, &a), 0);
    CHECK(go_chan_recv(a.phase, NULL));
    spawn(send42, a.c);
    pthread_join(th, NULL);
    wait_all();
    no_waiters(a.c);
    go_chan_free(a.c);
    go_chan_free(a.phase);
}

/* ---- lifetime: the partner frees the channel as soon as its op completes --- */

struct lt {
    go_chan *c;
    int kind;
};

static void lt_timed(void *arg)
{
    struct lt *l = arg;
    int64_t v = 9;
    if (l->kind == 0) {
        CHECK_EQ(go_chan_recv_timeout(l->c, &v, NULL, 60 * 1000 * MS), 0);
        CHECK_EQ(v, 5);
    } else {
        CHECK_EQ(go_chan_send_timeout(l->c, &v, 60 * 1000 * MS), 0);
    }
}

static void test_lifetime(void)
{
    int n = TEST_SANITIZED ? 500 : 5000;
    for (int i = 0; i < n; i++) {
        struct lt l = {go_chan_make(sizeof(int64_t), 0), i % 2};
        spawn_copy(lt_timed, &l, sizeof l);
        if (i % 4 < 2)
            wait_queued(l.c, l.kind, 1 - l.kind);
        int64_t v = 5;
        if (l.kind == 0) {
            go_chan_send(l.c, &v);
        } else {
            CHECK(go_chan_recv(l.c, &v));
            CHECK_EQ(v, 9);
        }
        /* The timed side may not have woken yet; it must not touch c. */
        go_chan_free(l.c);
    }
    wait_all();
}

/* ---- the suite --------------------------------------------------------- */

#define T(f)                                                                                       \
    {                                                                                              \
        f, #f                                                                                      \
    }
static const struct {
    void (*fn)(void);
    const char *name;
} tests[] = {
    T(test_recv_times_out),   T(test_send_times_out),
    T(test_select_times_out), T(test_completed_before_deadline),
    T(test_timeout_race),     T(test_threads),
    T(test_lifetime),
};
#define NTESTS (sizeof tests / sizeof tests[0])

static go_wg root_wg = GO_WG_INIT;

static void root(void *arg)
{
    (void)arg;
    test_recv_times_out();
    test_send_times_out();
    test_select_times_out();
    go_wg_done(&root_wg);
}

int main(void)
{
    for (size_t i = 0; i < NTESTS; i++) {
        fprintf(stderr, "  %s\n", tests[i].name);
        tests[i].fn();
    }
    fprintf(stderr, "  (again from a goroutine)\n");
    go_wg_add(&root_wg, 1);
    CHECK_EQ(go(root, NULL), 0);
    go_wg_wait(&root_wg);
    printf("test_chan_timeout: ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
