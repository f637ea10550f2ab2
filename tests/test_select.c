/*
 * test_select.c - select: which case fires, uniform choice among ready
 * cases (chi-square), never touching the variables of cases that did not
 * fire, NULL and duplicate channels, blocked selects woken by partners and
 * by close, selects with more cases than fit on the stack, selects from
 * plain threads, and stress with selects on both ends.
 *
 * Translated in spirit from Go's test/chan/{select,select2,select4,
 * select6,select7,doubleselect}.go and runtime/chan_test.go
 * (TestSelfSelect, TestSelectStress, TestSelectFairness,
 * TestPseudoRandomSend, TestSelectDuplicateChannel, TestNonblockRecvRace,
 * TestNonblockSelectRace, TestNonblockSelectRace2).
 */
#include "test_util.h"
#include "../src/testhooks.h"

#include <pthread.h>
#include <stdint.h>


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

static go_chan *closed_chan(size_t es)
{
    go_chan *c = go_chan_make(es, 0);
    go_chan_close(c);
    return c;
}

/* ---- arguments and trivial cases --------------------------------------- */

static void test_args(void)
{
    CHECK_EQ(go_select(NULL, 1), -EINVAL);
    CHECK_EQ(go_select_try(NULL, 3), -EINVAL);
    CHECK_EQ(go_select_timeout(NULL, 2, 1000), -EINVAL);
    go_chan *c = go_chan_make(sizeof(int), 1);
    int v = 1;
    go_select_case bad[2] = {GO_SEND(c, &v), GO_RECV(c, &v, NULL)};
    bad[1].dir = 7;
    CHECK_EQ(go_select(bad, 2), -EINVAL);
    CHECK_EQ(go_select_try(bad, 2), -EINVAL);
    CHECK_EQ(go_chan_len(c), 0); /* nothing was done */
    bad[1].dir = 0;
    bad[1].chan = NULL; /* a NULL channel's case must still be valid */
    CHECK_EQ(go_select_try(bad, 2), -EINVAL);

    /* Nothing to do: default. */
    CHECK_EQ(go_select_try(NULL, 0), -1);
    go_select_case nil[3] = {GO_SEND(NULL, &v), GO_RECV(NULL, &v, NULL), GO_RECV(NULL, NULL, NULL)};
    CHECK_EQ(go_select_try(nil, 3), -1);

    /* NULL cases never fire, even next to a ready one. */
    go_select_case one[3] = {GO_SEND(NULL, &v), GO_SEND(c, &v), GO_RECV(NULL, &v, NULL)};
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(go_select(one, 3), 1);
        int w;
        CHECK(go_chan_recv(c, &w));
    }
    go_chan_free(c);
}

/* ---- select4.go: only the chosen case's variable is written ----------- */

static void test_select4(void)
{
    go_chan *c = go_chan_make(sizeof(int), 1);
    go_chan *c1 = go_chan_make(sizeof(int), 0);
    int x = 0, y = 777;
    bool okx = false, oky = true;
    int v = 42;
    go_chan_send(c, &v);
    go_select_case sc[2] = {GO_RECV(c1, &y, &oky), GO_RECV(c, &x, &okx)};
    CHECK_EQ(go_select(sc, 2), 1);
    CHECK_EQ(x, 42);
    CHECK(okx);
    CHECK_EQ(y, 777);
    CHECK(oky);
    go_chan_free(c);
    go_chan_free(c1);
}

/* ---- losers are never written (immediate and blocked paths) ------------ */

struct sender_arg {
    go_chan *c;
    int64_t v;
};

static void send_one(void *arg)
{
    struct sender_arg *a = arg;
    go_chan_send(a->c, &a->v);
}

static void close_one(void *arg)
{
    go_chan_close(arg);
}

static void test_losers_untouched(void)
{
    enum { N = 6 };
    for (int round = 0; round < 200; round++) {
        go_chan *ch[N];
        for (int i = 0; i < N; i++)
            ch[i] = go_chan_make(sizeof(int64_t), (size_t)(i % 2)); /* mix cap 0 and 1 */
        int64_t vals[N];
        bool oks[N];
        go_select_case sc[N + 1];
        for (int i = 0; i < N; i++) {
            vals[i] = -1000 - i;
            oks[i] = (i % 2) == 0;
            sc[i] = GO_RECV(ch[i], &vals[i], &oks[i]);
        }
        int64_t sendv = 5;
        go_chan *sink = go_chan_make(sizeof(int64_t), 0);
        sc[N] = GO_SEND(sink, &sendv); /* never ready: nobody receives */
        int target = round % N;
        struct sender_arg sa = {ch[target], 100 + round};
        bool by_close = round % 5 == 4;
        if (round % 3 == 0) {
            /* Ready before the select: the immediate path. */
            if (by_close) {
                go_chan_close(ch[target]);
            } else if (target % 2) {
                go_chan_send(ch[target], &sa.v);
            } else {
                spawn_copy(send_one, &sa, sizeof sa);
                wait_queued(ch[target], 1, 0);
            }
        } else if (by_close) {
            spawn(close_one, ch[target]);
        } else {
            spawn_copy(send_one, &sa, sizeof sa);
        }
        int r = go_select(sc, N + 1);
        CHECK_EQ(r, target);
        for (int i = 0; i < N; i++) {
            if (i == target) {
                CHECK_EQ(vals[i], by_close ? 0 : 100 + round);
                CHECK_EQ(oks[i], !by_close);
            } else {
                CHECK_EQ(vals[i], -1000 - i);
                CHECK_EQ(oks[i], (i % 2) == 0);
            }
        }
        CHECK_EQ(sendv, 5);
        /* The select left nothing queued behind. */
        for (int i = 0; i < N; i++) {
            size_t s, rr;
            chan_count_waiters(ch[i], &s, &rr);
            CHECK_EQ(rr, 0);
        }
        size_t s;
        chan_count_waiters(sink, &s, NULL);
        CHECK_EQ(s, 0);
        /* The closer may still be returning from go_chan_close. */
        wait_all();
        for (int i = 0; i < N; i++)
            go_chan_free(ch[i]);
        go_chan_free(sink);
    }
}

/* ---- fairness ---------------------------------------------------------- */

/* Chi-square of 100,000 selects over 4 always-ready cases against the
 * uniform distribution: 3 degrees of freedom, p = 0.001 -> 16.27. A fair
 * select exceeds it once in a thousand runs, so a failure is retried once
 * (a biased select fails both; a fair one, one time in a million). */
static double chi_square_4(go_select_case *sc, int *recv_into_buf_drain)
{
    enum { TRIALS = 100000 };
    long cnt[4] = {0};
    for (int t = 0; t < TRIALS; t++) {
        int r = go_select(sc, 4);
        CHECK(r >= 0 && r < 4);
        cnt[r]++;
        if (recv_into_buf_drain && sc[r].dir == GO_SELECT_SEND)
            CHECK(go_chan_try_recv(sc[r].chan, recv_into_buf_drain, NULL));
    }
    double e = TRIALS / 4.0, chi = 0;
    for (int i = 0; i < 4; i++)
        chi += (cnt[i] - e) * (cnt[i] - e) / e;
    return chi;
}

static void test_fairness_chi2(void)
{
    /* Four closed channels: always ready to receive. */
    go_chan *c[4];
    go_select_case sc[4];
    for (int i = 0; i < 4; i++) {
        c[i] = closed_chan(sizeof(int));
        sc[i] = GO_RECV(c[i], NULL, NULL);
    }
    double chi = chi_square_4(sc, NULL);
    if (chi > 16.27)
        chi = chi_square_4(sc, NULL);
    if (chi > 16.27)
        fprintf(stderr, "chi-square %.2f > 16.27\n", chi);
    CHECK(chi <= 16.27);

    /* Mixed: two receives on closed channels, two sends with buffer room,
     * one channel listed twice (duplicates must not skew the choice). */
    go_chan *b = go_chan_make(sizeof(int), 1);
    int one = 1, sink;
    go_select_case mix[4] = {GO_RECV(c[0], NULL, NULL), GO_SEND(b, &one), GO_RECV(c[1], NULL, NULL),
                             GO_SEND(b, &one)};
    chi = chi_square_4(mix, &sink);
    if (chi > 16.27)
        chi = chi_square_4(mix, &sink);
    if (chi > 16.27)
        fprintf(stderr, "chi-square (mixed) %.2f > 16.27\n", chi);
    CHECK(chi <= 16.27);
    go_chan_free(b);
    for (int i = 0; i < 4; i++)
        go_chan_free(c[i]);
}

/* TestSelectFairness: two full buffers, two idle unbuffered channels. */
struct sf_arg {
    go_chan *c1, *c2, *c3, *c4, *out, *done;
};

static void sf_loop(void *arg)
{
    struct sf_arg *a = arg;
    for (;;) {
        uint8_t b = 0;
        go_select_case sc[4] = {GO_RECV(a->c3, &b, NULL), GO_RECV(a->c4, &b, NULL),
                                GO_RECV(a->c1, &b, NULL), GO_RECV(a->c2, &b, NULL)};
        CHECK(go_select(sc, 4) >= 2);
        go_select_case sc2[2] = {GO_SEND(a->out, &b), GO_RECV(a->done, NULL, NULL)};
        if (go_select(sc2, 2) == 1)
            return;
    }
}

static void test_select_fairness_go(void)
{
    enum { TRIALS = 10000 };
    struct sf_arg a;
    a.c1 = go_chan_make(1, TRIALS + 1);
    a.c2 = go_chan_make(1, TRIALS + 1);
    for (int i = 0; i < TRIALS + 1; i++) {
        uint8_t x = 1, y = 2;
        go_chan_send(a.c1, &x);
        go_chan_send(a.c2, &y);
    }
    a.c3 = go_chan_make(1, 0);
    a.c4 = go_chan_make(1, 0);
    a.out = go_chan_make(1, 0);
    a.done = go_chan_make(0, 0);
    spawn(sf_loop, &a);
    int cnt1 = 0, cnt2 = 0;
    for (int i = 0; i < TRIALS; i++) {
        uint8_t b;
        CHECK(go_chan_recv(a.out, &b));
        if (b == 1)
            cnt1++;
        else if (b == 2)
            cnt2++;
        else
            CHECK(!"unexpected value");
    }
    /* Go's bound: six nines confidence. */
    double r = (double)cnt1 / TRIALS;
    double e = r > 0.5 ? r - 0.5 : 0.5 - r;
    CHECK(e <= 4.891676 / (2 * 100.0));
    go_chan_close(a.done);
    wait_all();
    go_chan_free(a.c1);
    go_chan_free(a.c2);
    go_chan_free(a.c3);
    go_chan_free(a.c4);
    go_chan_free(a.out);
    go_chan_free(a.done);
}

/* TestPseudoRandomSend: two send cases on one channel pick both values. */
struct prs_arg {
    go_chan *c;
    int *l;
    int n;
    go_chan *done;
};

static void prs_recv(void *arg)
{
    struct prs_arg *a = arg;
    for (int i = 0; i < a->n; i++) {
        go_yield();
        CHECK(go_chan_recv(a->c, &a->l[i]));
    }
    go_chan_send(a->done, NULL);
}

static void test_pseudo_random_send(void)
{
    enum { N = 100 };
    for (size_t cap = 0; cap <= N; cap += N) {
        go_chan *c = go_chan_make(sizeof(int), cap);
        go_chan *done = go_chan_make(0, 0);
        int l[N];
        struct prs_arg a = {c, l, N, done};
        CHECK_EQ(go(prs_recv, &a), 0);
        int one = 1, zero = 0;
        go_select_case sc[2] = {GO_SEND(c, &one), GO_SEND(c, &zero)};
        for (int i = 0; i < N; i++)
            CHECK(go_select(sc, 2) >= 0);
        CHECK(go_chan_recv(done, NULL));
        int n0 = 0, n1 = 0;
        for (int i = 0; i < N; i++) {
            n0 += (l[i] + 1) % 2;
            n1 += l[i];
        }
        CHECK(n0 > N / 10 && n1 > N / 10);
        go_chan_free(c);
        go_chan_free(done);
    }
}

/* ---- duplicates (TestSelectDuplicateChannel) --------------------------- */

struct dup_arg {
    go_chan *c, *d, *e;
};

static void dup_a(void *arg)
{
    struct dup_arg *a = arg;
    go_select_case sc[3] = {GO_RECV(a->c, NULL, NULL), GO_RECV(a->c, NULL, NULL),
                            GO_RECV(a->d, NULL, NULL)};
    CHECK_EQ(go_select(sc, 3), 2);
    int nine = 9;
    go_chan_send(a->e, &nine);
}

static void dup_b(void *arg)
{
    struct dup_arg *a = arg;
    int v;
    CHECK(go_chan_recv(a->c, &v));
    CHECK_EQ(v, 8);
    go_chan_send(a->e, &v);
}

static void test_duplicate_channel(void)
{
    for (int round = 0; round < 50; round++) {
        struct dup_arg a = {go_chan_make(sizeof(int), 0), go_chan_make(sizeof(int), 0),
                            go_chan_make(sizeof(int), 0)};
        CHECK_EQ(go(dup_a, &a), 0);
        wait_queued(a.c, 0, 2); /* A is queued twice on c */
        CHECK_EQ(go(dup_b, &a), 0);
        wait_queued(a.c, 0, 3); /* B behind it */
        int v = 7;
        go_chan_send(a.d, &v); /* wakes A, which removes itself from c */
        CHECK(go_chan_recv(a.e, &v));
        CHECK_EQ(v, 9);
        v = 8;
        go_chan_send(a.c, &v); /* must reach B, not A's stale waiters */
        CHECK(go_chan_recv(a.e, &v));
        CHECK_EQ(v, 8);
        go_chan_free(a.c);
        go_chan_free(a.d);
        go_chan_free(a.e);
    }
}

/* A select woken on a channel it lists several times, in both directions;
 * the waker then frees that channel at once (the select must not touch it
 * again). */
struct dupfree_arg {
    go_chan *c, *other;
    go_chan *done;
};

static void dupfree_select(void *arg)
{
    struct dupfree_arg *a = arg;
    int64_t r1 = -1, r2 = -1, s = 99;
    go_select_case sc[4] = {GO_RECV(a->c, &r1, NULL), GO_RECV(a->other, NULL, NULL),
                            GO_SEND(a->c, &s), GO_RECV(a->c, &r2, NULL)};
    int i = go_select(sc, 4);
    CHECK(i == 0 || i == 3);
    CHECK_EQ(i == 0 ? r1 : r2, 5);
    CHECK_EQ(i == 0 ? r2 : r1, -1);
    go_chan_send(a->done, NULL);
}

static void test_duplicate_then_free(void)
{
    int n = TEST_SANITIZED ? 300 : 3000;
    for (int round = 0; round < n; round++) {
        struct dupfree_arg a = {go_chan_make(sizeof(int64_t), 0), go_chan_make(0, 0),
                                go_chan_make(0, 1)};
        CHECK_EQ(go(dupfree_select, &a), 0);
        wait_queued(a.c, 1, 2);
        int64_t v = 5;
        go_chan_send(a.c, &v);
        go_chan_free(a.c); /* the select may not have run yet */
        CHECK(go_chan_recv(a.done, NULL));
        size_t s, r;
        chan_count_waiters(a.other, &s, &r);
        CHECK_EQ(r, 0);
        go_chan_free(a.other);
        go_chan_free(a.done);
    }
}

/* ---- select6.go, select7.go -------------------------------------------- */

struct s6 {
    go_chan *c1, *c2, *c3;
};

static void s6_recv_c1(void *arg)
{
    CHECK(go_chan_recv(((struct s6 *)arg)->c1, NULL));
}

static void s6_select(void *arg)
{
    struct s6 *a = arg;
    go_select_case sc[2] = {GO_RECV(a->c1, NULL, NULL), GO_RECV(a->c2, NULL, NULL)};
    CHECK_EQ(go_select(sc, 2), 1);
    go_chan_send(a->c3, NULL);
    CHECK(go_chan_recv(a->c1, NULL));
}

static void s6_send_c2(void *arg)
{
    go_chan_send(((struct s6 *)arg)->c2, NULL);
}

static void test_select6(void)
{
    for (int round = 0; round < 100; round++) {
        struct s6 a = {go_chan_make(0, 0), go_chan_make(0, 0), go_chan_make(0, 0)};
        spawn(s6_recv_c1, &a);
        spawn(s6_select, &a);
        spawn(s6_send_c2, &a);
        CHECK(go_chan_recv(a.c3, NULL));
        go_chan_send(a.c1, NULL);
        go_chan_send(a.c1, NULL);
        wait_all();
        go_chan_free(a.c1);
        go_chan_free(a.c2);
        go_chan_free(a.c3);
    }
}

static void recv1(void *arg)
{
    CHECK(go_chan_recv(arg, NULL));
}

static void recv2(void *arg)
{
    go_select_case sc = GO_RECV(arg, NULL, NULL);
    CHECK_EQ(go_select(&sc, 1), 0);
}

static void recv3(void *arg)
{
    go_chan *c2 = go_chan_make(sizeof(int), 0);
    go_select_case sc[2] = {GO_RECV(arg, NULL, NULL), GO_RECV(c2, NULL, NULL)};
    CHECK_EQ(go_select(sc, 2), 0);
    go_chan_free(c2);
}

static void send_kind(int kind, go_func recv)
{
    go_chan *c = go_chan_make(sizeof(int), 0);
    spawn(recv, c);
    go_yield();
    int one = 1;
    if (kind == 1) {
        go_chan_send(c, &one);
    } else if (kind == 2) {
        go_select_case sc = GO_SEND(c, &one);
        CHECK_EQ(go_select(&sc, 1), 0);
    } else {
        go_chan *c2 = go_chan_make(sizeof(int), 0);
        go_select_case sc[2] = {GO_SEND(c, &one), GO_SEND(c2, &one)};
        CHECK_EQ(go_select(sc, 2), 0);
        go_chan_free(c2);
    }
    wait_all();
    go_chan_free(c);
}

static void test_select7(void)
{
    go_func r[3] = {recv1, recv2, recv3};
    for (int round = 0; round < 20; round++)
        for (int k = 1; k <= 3; k++)
            for (int j = 0; j < 3; j++)
                send_kind(k, r[j]);
}

/* ---- doubleselect.go --------------------------------------------------- */

#define DS_N (TEST_SANITIZED ? 20000 : 100000)

struct ds {
    go_chan *c[4], *cmux, *done;
    uint8_t *seen;
};

static void ds_sender(void *arg)
{
    struct ds *a = arg;
    for (int i = 0; i < DS_N; i++) {
        go_select_case sc[4];
        for (int k = 0; k < 4; k++)
            sc[k] = GO_SEND(a->c[k], &i);
        CHECK(go_select(sc, 4) >= 0);
    }
    for (int k = 0; k < 4; k++)
        go_chan_close(a->c[k]);
}

struct ds_mux {
    struct ds *d;
    int k;
};

static void ds_mux(void *arg)
{
    struct ds_mux *m = arg;
    int v;
    while (go_chan_recv(m->d->c[m->k], &v))
        go_chan_send(m->d->cmux, &v);
    go_chan_send(m->d->done, NULL);
}

static void ds_closer(void *arg)
{
    struct ds *a = arg;
    for (int k = 0; k < 4; k++)
        CHECK(go_chan_recv(a->done, NULL));
    go_chan_close(a->cmux);
}

static void test_doubleselect(void)
{
    static struct ds a;
    for (int k = 0; k < 4; k++)
        a.c[k] = go_chan_make(sizeof(int), 0);
    a.cmux = go_chan_make(sizeof(int), 0);
    a.done = go_chan_make(0, 0);
    a.seen = calloc(DS_N, 1);
    static struct ds_mux m[4];
    spawn(ds_sender, &a);
    for (int k = 0; k < 4; k++) {
        m[k] = (struct ds_mux){&a, k};
        spawn(ds_mux, &m[k]);
    }
    spawn(ds_closer, &a);
    int v, n = 0;
    while (go_chan_recv(a.cmux, &v)) {
        CHECK(v >= 0 && v < DS_N);
        CHECK_EQ(a.seen[v], 0); /* no duplicates */
        a.seen[v] = 1;
        n++;
    }
    CHECK_EQ(n, DS_N);
    wait_all();
    for (int k = 0; k < 4; k++)
        go_chan_free(a.c[k]);
    go_chan_free(a.cmux);
    go_chan_free(a.done);
    free(a.seen);
}

/* ---- select2.go pattern: a receiver selecting with a dummy case -------- */

struct s2 {
    go_chan *c, *dummy;
    int n;
};

static void s2_sender(void *arg)
{
    struct s2 *a = arg;
    int one = 1;
    for (int i = 0; i < a->n; i++)
        go_chan_send(a->c, &one);
}

static void test_select2(void)
{
    struct s2 a = {go_chan_make(sizeof(int), 0), go_chan_make(sizeof(int), 0),
                   TEST_SANITIZED ? 10000 : 100000};
    spawn(s2_sender, &a);
    for (int i = 0; i < a.n; i++) {
        go_select_case sc[2] = {GO_RECV(a.c, NULL, NULL), GO_RECV(a.dummy, NULL, NULL)};
        CHECK_EQ(go_select(sc, 2), 0);
    }
    wait_all();
    go_chan_free(a.c);
    go_chan_free(a.dummy);
}

/* ---- TestSelfSelect ---------------------------------------------------- */

struct self_arg {
    go_chan *c;
    size_t cap;
    int p;
    go_wg *wg;
};

static void self_sel(void *arg)
{
    struct self_arg *a = arg;
    for (int i = 0; i < 1000; i++) {
        int v = -1;
        go_select_case sc[2];
        if (a->p == 0 || i % 2 == 0) {
            sc[0] = GO_SEND(a->c, &a->p);
            sc[1] = GO_RECV(a->c, &v, NULL);
        } else {
            sc[0] = GO_RECV(a->c, &v, NULL);
            sc[1] = GO_SEND(a->c, &a->p);
        }
        int r = go_select(sc, 2);
        if (sc[r].dir == GO_SELECT_RECV && a->cap == 0)
            CHECK(v != a->p); /* never our own value */
    }
    go_wg_done(a->wg);
}

static void test_self_select(void)
{
    for (size_t cap = 0; cap <= 10; cap += 10) {
        go_wg wg = GO_WG_INIT;
        go_chan *c = go_chan_make(sizeof(int), cap);
        struct self_arg a[2] = {{c, cap, 0, &wg}, {c, cap, 1, &wg}};
        go_wg_add(&wg, 2);
        CHECK_EQ(go(self_sel, &a[0]), 0);
        CHECK_EQ(go(self_sel, &a[1]), 0);
        go_wg_wait(&wg);
        /* Each goroutine made 1000 sends or receives; the difference sits
         * in the buffer. Drain so that free finds no waiter. */
        go_chan_free(c);
    }
}

/* ---- TestSelectStress -------------------------------------------------- */

struct ss {
    go_chan *c[4];
    int n;
    go_wg wg;
};

struct ss_k {
    struct ss *s;
    int k;
};

static void ss_send(void *arg)
{
    struct ss_k *a = arg;
    int z = 0;
    for (int i = 0; i < a->s->n; i++)
        go_chan_send(a->s->c[a->k], &z);
    go_wg_done(&a->s->wg);
}

static void ss_recv(void *arg)
{
    struct ss_k *a = arg;
    for (int i = 0; i < a->s->n; i++)
        CHECK(go_chan_recv(a->s->c[a->k], NULL));
    go_wg_done(&a->s->wg);
}

static void ss_select(void *arg, int dir)
{
    struct ss *s = arg;
    int n[4] = {0};
    go_chan *c1[4];
    for (int k = 0; k < 4; k++)
        c1[k] = s->c[k];
    int z = 0;
    static const int order[2][4] = {{3, 2, 0, 1}, {0, 1, 2, 3}};
    for (int i = 0; i < 4 * s->n; i++) {
        go_select_case sc[4];
        for (int j = 0; j < 4; j++) {
            int k = order[dir == GO_SELECT_RECV][j];
            sc[j] = dir == GO_SELECT_SEND ? GO_SEND(c1[k], &z) : GO_RECV(c1[k], NULL, NULL);
        }
        int r = go_select(sc, 4);
        CHECK(r >= 0);
        int k = order[dir == GO_SELECT_RECV][r];
        if (++n[k] == s->n)
            c1[k] = NULL;
    }
    go_wg_done(&s->wg);
}

static void ss_select_send(void *arg)
{
    ss_select(arg, GO_SELECT_SEND);
}

static void ss_select_recv(void *arg)
{
    ss_select(arg, GO_SELECT_RECV);
}

static void test_select_stress(void)
{
    static struct ss s;
    s.c[0] = go_chan_make(sizeof(int), 0);
    s.c[1] = go_chan_make(sizeof(int), 0);
    s.c[2] = go_chan_make(sizeof(int), 2);
    s.c[3] = go_chan_make(sizeof(int), 3);
    s.n = TEST_SANITIZED ? 10000 : 100000;
    go_wg_add(&s.wg, 10);
    static struct ss_k k[4];
    for (int i = 0; i < 4; i++) {
        k[i] = (struct ss_k){&s, i};
        CHECK_EQ(go(ss_send, &k[i]), 0);
        CHECK_EQ(go(ss_recv, &k[i]), 0);
    }
    CHECK_EQ(go(ss_select_send, &s), 0);
    CHECK_EQ(go(ss_select_recv, &s), 0);
    go_wg_wait(&s.wg);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(go_chan_len(s.c[i]), 0);
        go_chan_free(s.c[i]);
    }
}

/* ---- non-blocking races ------------------------------------------------ */

struct nb_arg {
    go_chan *c1, *c2, *done;
    int kind;
};

static void nb_recv_race(void *arg)
{
    struct nb_arg *a = arg;
    bool ready;
    if (a->kind == 0) {
        go_select_case sc = GO_RECV(a->c1, NULL, NULL);
        ready = go_select_try(&sc, 1) == 0;
    } else {
        ready = go_chan_try_recv(a->c1, NULL, NULL);
    }
    go_chan_send(a->done, &ready);
}

/* TestNonblockRecvRace: a buffered value, then close: a non-blocking
 * receive racing with the close always finds something. */
static void test_nonblock_recv_race(void)
{
    int n = TEST_SANITIZED ? 2000 : 10000;
    go_chan *done = go_chan_make(sizeof(bool), 1);
    for (int i = 0; i < n; i++) {
        go_chan *c = go_chan_make(sizeof(int), 1);
        int one = 1;
        go_chan_send(c, &one);
        struct nb_arg a = {c, NULL, done, i % 2};
        CHECK_EQ(go_copy(nb_recv_race, &a, sizeof a), 0);
        go_chan_close(c);
        go_chan_recv(c, NULL);
        bool ready = false;
        CHECK(go_chan_recv(done, &ready));
        CHECK(ready);
        go_chan_free(c);
    }
    go_chan_free(done);
}

static void nb_select_race(void *arg)
{
    struct nb_arg *a = arg;
    go_select_case sc[2] = {GO_RECV(a->c1, NULL, NULL), GO_RECV(a->c2, NULL, NULL)};
    bool ready = go_select_try(sc, 2) >= 0;
    go_chan_send(a->done, &ready);
}

/* TestNonblockSelectRace(2): at every instant one of c1, c2 is ready, so a
 * non-blocking select over both never takes the default. */
static void test_nonblock_select_race(void)
{
    int n = TEST_SANITIZED ? 5000 : 50000;
    go_chan *done = go_chan_make(sizeof(bool), 1);
    for (int variant = 0; variant < 2; variant++) {
        for (int i = 0; i < n; i++) {
            go_chan *c1 = go_chan_make(sizeof(int), 1);
            go_chan *c2 = go_chan_make(sizeof(int), variant == 0 ? 1 : 0);
            int one = 1;
            go_chan_send(c1, &one);
            struct nb_arg a = {c1, c2, done, 0};
            CHECK_EQ(go_copy(nb_select_race, &a, sizeof a), 0);
            if (variant == 0)
                go_chan_send(c2, &one);
            else
                go_chan_close(c2);
            go_chan_try_recv(c1, NULL, NULL);
            bool ready = false;
            CHECK(go_chan_recv(done, &ready));
            CHECK(ready);
            go_chan_free(c1);
            go_chan_free(c2);
        }
    }
    go_chan_free(done);
}

/* ---- many cases: the heap path ----------------------------------------- */

static void test_many_cases(void)
{
    enum { N = 100, NCH = 37 };
    go_chan *ch[NCH];
    for (int i = 0; i < NCH; i++)
        ch[i] = go_chan_make(sizeof(int), 1);
    go_select_case sc[N];
    int vals[N];
    /* Receives from 37 channels, most listed several times, with NULLs. */
    for (int i = 0; i < N; i++) {
        vals[i] = -1;
        sc[i] = GO_RECV(i % 11 == 5 ? NULL : ch[(i * 7) % NCH], &vals[i], NULL);
    }
    CHECK_EQ(go_select_try(sc, N), -1);
    for (int round = 0; round < 500; round++) {
        int k = (round * 13) % NCH;
        int v = 1000 + round;
        go_chan_send(ch[k], &v);
        int r = go_select(sc, N);
        CHECK(r >= 0 && r < N);
        CHECK(sc[r].chan == ch[k]);
        CHECK_EQ(vals[r], v);
        vals[r] = -1;
        for (int i = 0; i < N; i++)
            CHECK_EQ(vals[i], -1);
    }
    /* All closed: every non-NULL case gets chosen sometimes. */
    for (int i = 0; i < NCH; i++)
        go_chan_close(ch[i]);
    static int hits[N];
    for (int t = 0; t < 50000; t++)
        hits[go_select(sc, N)]++;
    for (int i = 0; i < N; i++) {
        if (sc[i].chan)
            CHECK(hits[i] > 0);
        else
            CHECK_EQ(hits[i], 0);
    }
    for (int i = 0; i < NCH; i++)
        go_chan_free(ch[i]);
}

/* Two goroutines selecting over the same 40 channels listed in opposite
 * orders, both blocking often: address-ordered locking means no deadlock. */
struct lo_arg {
    go_chan **ch;
    int reverse;
    int n;
    go_wg *wg;
};

static void lo_sel(void *arg)
{
    struct lo_arg *a = arg;
    go_select_case sc[40];
    int v = 1;
    for (int i = 0; i < a->n; i++) {
        /* One sends on odd channels and receives on even ones, the other
         * the opposite, so every select has a partner. */
        for (int k = 0; k < 40; k++) {
            int j = a->reverse ? 39 - k : k;
            sc[k] = (j % 2) != a->reverse ? GO_SEND(a->ch[j], &v) : GO_RECV(a->ch[j], NULL, NULL);
        }
        CHECK(go_select(sc, 40) >= 0);
    }
    go_wg_done(a->wg);
}

static void test_lock_order(void)
{
    go_chan *ch[40];
    for (int i = 0; i < 40; i++)
        ch[i] = go_chan_make(sizeof(int), 0);
    go_wg wg = GO_WG_INIT;
    int n = TEST_SANITIZED ? 2000 : 20000;
    struct lo_arg a[2] = {{ch, 0, n, &wg}, {ch, 1, n, &wg}};
    go_wg_add(&wg, 2);
    CHECK_EQ(go(lo_sel, &a[0]), 0);
    CHECK_EQ(go(lo_sel, &a[1]), 0);
    go_wg_wait(&wg);
    for (int i = 0; i < 40; i++)
        go_chan_free(ch[i]);
}

/* ---- plain threads ----------------------------------------------------- */

struct pt_arg {
    go_chan *a, *b, *quit;
    int64_t sum;
    int count;
};

static void *pt_select_recv(void *arg)
{
    struct pt_arg *p = arg;
    for (;;) {
        int64_t v = 0;
        bool ok = false;
        go_select_case sc[3] = {GO_RECV(p->a, &v, &ok), GO_RECV(p->b, &v, &ok),
                                GO_RECV(p->quit, NULL, NULL)};
        int r = go_select(sc, 3);
        if (r == 2)
            return NULL;
        CHECK(ok);
        p->sum += v;
        p->count++;
    }
}

struct pt_send {
    go_chan *a, *b;
    int n;
    go_wg *wg;
};

static void pt_g_send(void *arg)
{
    struct pt_send *s = arg;
    for (int64_t i = 1; i <= s->n; i++) {
        go_select_case sc[2] = {GO_SEND(s->a, &i), GO_SEND(s->b, &i)};
        CHECK(go_select(sc, 2) >= 0);
    }
    go_wg_done(s->wg);
}

static void *pt_thread_send(void *arg)
{
    struct pt_send *s = arg;
    for (int64_t i = 1; i <= s->n; i++) {
        go_select_case sc[2] = {GO_SEND(s->a, &i), GO_SEND(s->b, &i)};
        CHECK(go_select(sc, 2) >= 0);
    }
    return NULL;
}

static void test_threads(void)
{
    enum { NT = 3, NS = 3, N = 5000 };
    go_chan *a = go_chan_make(sizeof(int64_t), 0);
    go_chan *b = go_chan_make(sizeof(int64_t), 2);
    go_chan *quit = go_chan_make(0, 0);
    pthread_t rt[NT], st;
    struct pt_arg ra[NT];
    for (int i = 0; i < NT; i++) {
        ra[i] = (struct pt_arg){a, b, quit, 0, 0};
        CHECK_EQ(pthread_create(&rt[i], NULL, pt_select_recv, &ra[i]), 0);
    }
    go_wg wg = GO_WG_INIT;
    struct pt_send s = {a, b, N, &wg};
    go_wg_add(&wg, NS);
    for (int i = 0; i < NS; i++)
        CHECK_EQ(go(pt_g_send, &s), 0);
    CHECK_EQ(pthread_create(&st, NULL, pt_thread_send, &s), 0);
    go_wg_wait(&wg);
    pthread_join(st, NULL);
    /* Every send has completed; let the receivers drain b's buffer before
     * telling them to quit. */
    while (go_chan_len(b) > 0)
        go_yield();
    go_chan_close(quit);
    int64_t sum = 0;
    int count = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(rt[i], NULL);
        sum += ra[i].sum;
        count += ra[i].count;
    }
    CHECK_EQ(count, (NS + 1) * N);
    CHECK_EQ(sum, (int64_t)(NS + 1) * N * (N + 1) / 2);
    go_chan_free(a);
    go_chan_free(b);
    go_chan_free(quit);
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
    T(test_args),
    T(test_select4),
    T(test_losers_untouched),
    T(test_fairness_chi2),
    T(test_select_fairness_go),
    T(test_pseudo_random_send),
    T(test_duplicate_channel),
    T(test_duplicate_then_free),
    T(test_select6),
    T(test_select7),
    T(test_doubleselect),
    T(test_select2),
    T(test_self_select),
    T(test_select_stress),
    T(test_nonblock_recv_race),
    T(test_nonblock_select_race),
    T(test_many_cases),
    T(test_lock_order),
    T(test_threads),
};
#define NTESTS (sizeof tests / sizeof tests[0])

static go_wg root_wg = GO_WG_INIT;

static void root(void *arg)
{
    (void)arg;
    /* Tests that wait for go_num_goroutine() to drop to 0 cannot run in a
     * goroutine; they ran on the main thread already. */
    static void (*const in_goroutine[])(void) = {
        test_args,
        test_select4,
        test_fairness_chi2,
        test_pseudo_random_send,
        test_duplicate_channel,
        test_self_select,
        test_many_cases,
        test_lock_order,
    };
    for (size_t i = 0; i < sizeof in_goroutine / sizeof in_goroutine[0]; i++)
        in_goroutine[i]();
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
    printf("test_select: ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
