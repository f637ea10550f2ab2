/*
 * test_api_edges.c - the edge cases include/goroutine.h documents for
 * contexts and timers, each checked as stated there:
 *
 *  - go_ctx_with_timeout/with_deadline: NULL parent -> NULL, EINVAL; a
 *    timeout <= 0 or a past deadline -> a context born cancelled with
 *    -ETIMEDOUT (done channel closed); a deadline later than the parent's
 *    -> the parent's; a cancelled parent -> a child born cancelled with the
 *    parent's error;
 *  - NULL: go_ctx_err 0, go_ctx_done NULL, go_ctx_deadline false,
 *    go_ctx_cancel/free nothing; go_timer_stop false, go_timer_reset false,
 *    go_timer_chan NULL, go_ticker_chan NULL, go_ticker_stop nothing,
 *    go_ticker_reset -EINVAL;
 *  - go_timer_free of a go_timer_func timer whose fn is running returns
 *    without waiting for fn (fn is blocked on a channel only this test
 *    fills after go_timer_free returned: if go_timer_free waited, the test
 *    would hang), and fn then finishes normally; go_timer_free from fn
 *    itself works.
 */
#include "test_util.h"

#define MS 1000000LL

static void test_ctx_edges(void)
{
    errno = 0;
    CHECK(go_ctx_with_timeout(NULL, MS) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(go_ctx_with_deadline(NULL, go_now() + MS) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(go_ctx_with_cancel(NULL) == NULL);
    CHECK_EQ(errno, EINVAL);

    go_ctx *bg = go_ctx_background();
    int64_t past[] = {0, -5, INT64_MIN};
    for (int i = 0; i < 3; i++) {
        go_ctx *c = go_ctx_with_timeout(bg, past[i]);
        CHECK(c != NULL);
        CHECK_EQ(go_ctx_err(c), -ETIMEDOUT);
        bool ok = true;
        CHECK_EQ(go_chan_recv_timeout(go_ctx_done(c), NULL, &ok, 0), 0);
        CHECK(!ok); /* closed */
        go_ctx_free(c);
    }
    go_ctx *c = go_ctx_with_deadline(bg, go_now() - 1);
    CHECK(c != NULL);
    CHECK_EQ(go_ctx_err(c), -ETIMEDOUT);
    go_ctx_free(c);

    /* A later deadline than the parent's gives the parent's. */
    go_ctx *parent = go_ctx_with_timeout(bg, 3600 * 1000 * MS);
    int64_t pd = 0, cd = 0;
    CHECK(go_ctx_deadline(parent, &pd));
    go_ctx *child = go_ctx_with_deadline(parent, pd + 1000 * MS);
    CHECK(go_ctx_deadline(child, &cd));
    CHECK_EQ(cd, pd);
    CHECK(go_ctx_deadline(child, NULL));
    CHECK_EQ(go_ctx_err(child), 0);
    go_ctx_free(child);

    /* A cancelled parent: children born cancelled with its error. */
    go_ctx_cancel(parent);
    child = go_ctx_with_timeout(parent, 3600 * 1000 * MS);
    CHECK(child != NULL);
    CHECK_EQ(go_ctx_err(child), -ECANCELED);
    go_ctx_free(child);
    go_ctx_free(parent);

    /* NULL and the background context. */
    CHECK_EQ(go_ctx_err(NULL), 0);
    CHECK_EQ(go_ctx_err(bg), 0);
    CHECK(go_ctx_done(NULL) == NULL);
    CHECK(go_ctx_done(bg) == NULL);
    int64_t d = 42;
    CHECK(!go_ctx_deadline(NULL, &d));
    CHECK(!go_ctx_deadline(bg, &d));
    CHECK_EQ(d, 42);
    go_ctx_cancel(NULL);
    go_ctx_cancel(bg);
    go_ctx_free(NULL);
    go_ctx_free(bg);
    CHECK_EQ(go_ctx_err(bg), 0);
    printf("ok  context edge cases\n");
}

static void test_timer_null(void)
{
    CHECK(!go_timer_stop(NULL));
    CHECK(!go_timer_reset(NULL, MS));
    CHECK(go_timer_chan(NULL) == NULL);
    go_timer_free(NULL);
    CHECK(go_ticker_chan(NULL) == NULL);
    go_ticker_stop(NULL);
    CHECK_EQ(go_ticker_reset(NULL, MS), -EINVAL);
    go_ticker_free(NULL);
    printf("ok  timers and tickers: NULL\n");
}

/* fn of a go_timer_func timer, running while its timer is freed. */
struct running {
    go_chan *started, *gate, *finished;
};

static void blocked_fn(void *arg)
{
    struct running *r = arg;
    int v = 1;
    go_chan_send(r->started, &v);
    CHECK(go_chan_recv(r->gate, &v)); /* until the test opens it */
    go_chan_send(r->finished, &v);
}

static void test_free_does_not_wait_for_fn(void)
{
    struct running r = {go_chan_make(sizeof(int), 1), go_chan_make(sizeof(int), 1),
                        go_chan_make(sizeof(int), 1)};
    for (int round = 0; round < 20; round++) {
        go_timer *t = go_timer_func(round % 2 ? 0 : 100000, blocked_fn, &r);
        CHECK(t != NULL);
        int v;
        CHECK(go_chan_recv(r.started, &v)); /* fn runs and is blocked */
        CHECK(!go_timer_stop(t));           /* fired already */
        go_timer_free(t);                   /* must not wait for fn */
        CHECK_EQ(go_chan_len(r.finished), 0);
        v = 2;
        go_chan_send(r.gate, &v);
        CHECK(go_chan_recv(r.finished, &v));
    }
    go_chan_free(r.started);
    go_chan_free(r.gate);
    go_chan_free(r.finished);
    printf("ok  go_timer_free returns while fn runs, 20 rounds\n");
}

/* fn freeing its own timer. */
static go_timer *self_t;
static go_chan *self_done;

static void frees_own_timer(void *arg)
{
    (void)arg;
    go_timer *t;
    while (!(t = __atomic_load_n(&self_t, __ATOMIC_ACQUIRE)))
        go_yield();
    go_timer_free(t);
    int v = 1;
    go_chan_send(self_done, &v);
}

static void test_free_from_fn(void)
{
    self_done = go_chan_make(sizeof(int), 1);
    for (int round = 0; round < 20; round++) {
        __atomic_store_n(&self_t, NULL, __ATOMIC_RELEASE);
        go_timer *t = go_timer_func(round % 2 ? 0 : 100000, frees_own_timer, NULL);
        CHECK(t != NULL);
        __atomic_store_n(&self_t, t, __ATOMIC_RELEASE);
        int v;
        CHECK(go_chan_recv(self_done, &v));
    }
    go_chan_free(self_done);
    printf("ok  go_timer_free from the timer's own fn, 20 rounds\n");
}

static go_wg wg;

static void in_goroutine(void *arg)
{
    (void)arg;
    test_free_does_not_wait_for_fn();
    test_free_from_fn();
    go_wg_done(&wg);
}

int main(void)
{
    test_ctx_edges();
    test_timer_null();
    /* From main (a plain thread) and from a goroutine. */
    test_free_does_not_wait_for_fn();
    test_free_from_fn();
    go_wg_add(&wg, 1);
    CHECK_EQ(go(in_goroutine, NULL), 0);
    go_wg_wait(&wg);
    printf("test_api_edges: ok\n");
    return 0;
}
