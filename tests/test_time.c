/*
 * test_time.c - the public time API: go_now, go_sleep (goroutines and
 * plain threads), go_after (including freed before it fires), go_timer_*
 * (Go's Stop/Reset return values, go_timer_func), go_ticker_* (ticks,
 * dropped ticks for a slow receiver, stop, reset), and sleepers among
 * goroutines that keep every run queue full.
 *
 * The only assertion about time is "never early": whatever a timer
 * delivers, and whenever a sleep returns, go_now() is at or past the
 * deadline. Nothing checks that anything happens *soon*; a check that
 * something did *not* happen (a stopped timer) only fails on a real bug.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>

#define MS 1000000LL
#define US 1000LL

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
    /* Only the main thread draws, or goroutines under a WaitGroup that
     * the main thread waits for; a data race here would only perturb
     * randomness, but keep it atomic for TSan. */
    uint64_t x = __atomic_load_n(&rng, __ATOMIC_RELAXED);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    __atomic_store_n(&rng, x, __ATOMIC_RELAXED);
    return x;
}

static int64_t recv_time(go_chan *c)
{
    int64_t v = -1;
    CHECK(go_chan_recv(c, &v));
    return v;
}

/* ---- go_now / go_sleep ---------------------------------------------------- */

static void test_now(void)
{
    int64_t a = go_now();
    int64_t b = go_now();
    CHECK(a > 0);
    CHECK(b >= a);
}

static go_wg wg;

static void sleeper(void *arg)
{
    int64_t ns = (int64_t)(intptr_t)arg;
    int64_t start = go_now();
    go_sleep(ns);
    int64_t end = go_now();
    CHECK(end - start >= ns);
    go_wg_done(&wg);
}

static void test_sleep_goroutines(void)
{
    go_sleep(0);  /* returns at once */
    go_sleep(-5); /* likewise */
    enum { N = 200 };
    go_wg_add(&wg, N);
    for (int i = 0; i < N; i++)
        CHECK_EQ(go(sleeper, (void *)(intptr_t)(rnd() % (3 * MS))), 0);
    go_wg_wait(&wg);
}

static void *thread_sleeper(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        int64_t ns = (int64_t)(rnd() % (500 * US));
        int64_t start = go_now();
        go_sleep(ns);
        CHECK(go_now() - start >= ns);
    }
    return NULL;
}

static void test_sleep_threads(void)
{
    int64_t start = go_now();
    go_sleep(2 * MS); /* main is a plain thread */
    CHECK(go_now() - start >= 2 * MS);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, thread_sleeper, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
}

/* ---- go_after ------------------------------------------------------------- */

static void test_after_never_early(void)
{
    enum { N = 100 };
    go_chan *c[N];
    int64_t deadline[N];
    for (int i = 0; i < N; i++) {
        int64_t ns = (int64_t)(rnd() % (5 * MS));
        int64_t now = go_now();
        c[i] = go_after(ns);
        CHECK(c[i] != NULL);
        CHECK_EQ(go_chan_cap(c[i]), 1);
        deadline[i] = now + ns;
    }
    for (int i = 0; i < N; i++) {
        int64_t v = recv_time(c[i]);
        CHECK(v >= deadline[i]);
        CHECK(go_now() >= deadline[i]);
        go_chan_free(c[i]);
    }
    /* <= 0 fires at once: the receive completes. */
    go_chan *z = go_after(0);
    CHECK(recv_time(z) > 0);
    go_chan_free(z);
    z = go_after(-1);
    CHECK(recv_time(z) > 0);
    go_chan_free(z);
}

static void after_freer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        /* Some fire before the free, some race with it, most do not. */
        go_chan *c = go_after((int64_t)(rnd() % (200 * US)));
        CHECK(c != NULL);
        if (rnd() % 4 == 0)
            go_yield();
        go_chan_free(c);
    }
    go_wg_done(&wg);
}

static void test_after_free_early(void)
{
    /* Freed long before it would fire: the timer must be gone (ASan's leak
     * check sees the timer state if not). */
    for (int i = 0; i < 1000; i++)
        go_chan_free(go_after(3600LL * 1000 * MS));
    go_wg_add(&wg, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(go(after_freer, NULL), 0);
    go_wg_wait(&wg);
    /* Fired, value never received, then freed. */
    go_chan *c = go_after(0);
    while (go_chan_len(c) == 0)
        go_sleep(100 * US);
    go_chan_free(c);
}

/* ---- go_timer ------------------------------------------------------------- */

static void test_timer_stop_reset(void)
{
    /* Stop of an active timer: true; again: false. */
    go_timer *t = go_timer_new(3600LL * 1000 * MS);
    CHECK(t != NULL);
    CHECK(go_timer_chan(t) != NULL);
    CHECK(go_timer_stop(t));
    CHECK(!go_timer_stop(t));
    /* Reset of a stopped timer: false (inactive); it fires, never early. */
    int64_t d = go_now() + 1 * MS;
    CHECK(!go_timer_reset(t, 1 * MS));
    CHECK(recv_time(go_timer_chan(t)) >= d);
    /* Fired: Stop and Reset report inactive. */
    CHECK(!go_timer_stop(t));
    CHECK(!go_timer_reset(t, 3600LL * 1000 * MS));
    /* Reset of an active timer: true; only the new deadline fires. */
    d = go_now() + 1 * MS;
    CHECK(go_timer_reset(t, 1 * MS));
    CHECK(recv_time(go_timer_chan(t)) >= d);
    /* Reset far away, then stop: the value never comes. */
    CHECK(!go_timer_reset(t, 3600LL * 1000 * MS));
    CHECK(go_timer_stop(t));
    go_timer_free(t);

    /* As in Go, a value already sent stays in the channel after Stop. */
    t = go_timer_new(0);
    while (go_chan_len(go_timer_chan(t)) == 0)
        go_sleep(100 * US);
    CHECK(!go_timer_stop(t));
    int64_t v = 0;
    bool ok = false;
    CHECK(go_chan_try_recv(go_timer_chan(t), &v, &ok));
    CHECK(ok && v > 0);
    go_timer_free(t);

    /* Free while armed, and NULL. */
    go_timer_free(go_timer_new(3600LL * 1000 * MS));
    go_timer_free(NULL);
    CHECK(!go_timer_stop(NULL));
    CHECK(go_timer_chan(NULL) == NULL);
}

struct func_arg {
    int64_t deadline;
    int ran;
};

static void timer_fn(void *arg)
{
    struct func_arg *fa = arg;
    CHECK(go_now() >= fa->deadline);
    CHECK(go_id() != 0); /* in a goroutine of its own */
    __atomic_add_fetch(&fa->ran, 1, __ATOMIC_RELEASE);
    go_wg_done(&wg);
}

static void flag_fn(void *arg)
{
    __atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

static void test_timer_func(void)
{
    enum { N = 50 };
    static struct func_arg fa[N];
    go_timer *t[N];
    go_wg_add(&wg, N);
    for (int i = 0; i < N; i++) {
        int64_t ns = (int64_t)(rnd() % (3 * MS));
        fa[i].deadline = go_now() + ns;
        t[i] = go_timer_func(ns, timer_fn, &fa[i]);
        CHECK(t[i] != NULL);
        CHECK(go_timer_chan(t[i]) == NULL);
    }
    go_wg_wait(&wg);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(__atomic_load_n(&fa[i].ran, __ATOMIC_ACQUIRE), 1);
        CHECK(!go_timer_stop(t[i])); /* fired */
        go_timer_free(t[i]);
    }
    /* Stopped before it fires (Stop says so): the function never runs. */
    for (int i = 0; i < 20; i++) {
        static int ran;
        __atomic_store_n(&ran, 0, __ATOMIC_RELAXED);
        go_timer *s = go_timer_func((int64_t)(rnd() % (1 * MS)), flag_fn, &ran);
        bool stopped = go_timer_stop(s);
        go_sleep(2 * MS);
        if (stopped)
            CHECK(!__atomic_load_n(&ran, __ATOMIC_ACQUIRE));
        go_timer_free(s);
    }
    /* Reset re-runs it. */
    struct func_arg one = {go_now(), 0};
    go_wg_add(&wg, 1);
    go_timer *r = go_timer_func(0, timer_fn, &one);
    go_wg_wait(&wg);
    one.deadline = go_now() + 1 * MS;
    go_wg_add(&wg, 1);
    CHECK(!go_timer_reset(r, 1 * MS));
    go_wg_wait(&wg);
    CHECK_EQ(__atomic_load_n(&one.ran, __ATOMIC_ACQUIRE), 2);
    go_timer_free(r);
    errno = 0;
    CHECK(go_timer_func(1, NULL, NULL) == NULL);
    CHECK_EQ(errno, EINVAL);
}

/* ---- go_ticker ------------------------------------------------------------ */

static void test_ticker(void)
{
    errno = 0;
    CHECK(go_ticker_new(0) == NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK(go_ticker_new(-1) == NULL);

    const int64_t period = 1 * MS;
    int64_t start = go_now();
    go_ticker *tk = go_ticker_new(period);
    CHECK(tk != NULL);
    CHECK_EQ(go_chan_cap(go_ticker_chan(tk)), 1);
    int64_t prev = start;
    for (int i = 1; i <= 10; i++) {
        int64_t v = recv_time(go_ticker_chan(tk));
        /* The i-th tick delivered is due i periods in at the earliest
         * (missed ticks are skipped, never delivered early). */
        CHECK(v >= start + i * period);
        CHECK(v > prev);
        prev = v;
    }

    /* A slow receiver: ticks are dropped, not queued. Everything received
     * from the start is at most one per elapsed period, plus the one that
     * sat in the buffer. */
    int received = 10;
    go_sleep(30 * MS);
    for (int i = 0; i < 5; i++) {
        recv_time(go_ticker_chan(tk));
        received++;
    }
    int64_t elapsed = go_now() - start;
    CHECK(received <= elapsed / period + 1);

    /* Stop: once it returns, no tick is sent any more. */
    go_ticker_stop(tk);
    go_chan_try_recv(go_ticker_chan(tk), NULL, NULL); /* drain one */
    go_sleep(5 * period);
    CHECK(!go_chan_try_recv(go_ticker_chan(tk), NULL, NULL));
    go_ticker_stop(tk); /* idempotent */

    /* Reset restarts it with the new period. */
    CHECK_EQ(go_ticker_reset(tk, 0), -EINVAL);
    int64_t r = go_now();
    CHECK_EQ(go_ticker_reset(tk, 2 * period), 0);
    CHECK(recv_time(go_ticker_chan(tk)) >= r + 2 * period);
    CHECK(recv_time(go_ticker_chan(tk)) >= r + 4 * period);
    go_ticker_free(tk);
    go_ticker_free(NULL);

    /* Freed while ticking fast, from goroutines and while a tick may be
     * in flight. */
    for (int i = 0; i < 100; i++) {
        go_ticker *f = go_ticker_new(10 * US);
        if (i % 2)
            recv_time(go_ticker_chan(f));
        go_ticker_free(f);
    }
}

/* ---- sleeping among goroutines that only yield --------------------------- */

/* More goroutines than a run-queue ring holds keep every P's ring over
 * half full, where a P fires its due timers only a few at a time: they
 * must still fire, and never early. */
enum { NYIELD = 600 };
static int yield_stop;
static go_wg ywg;

static void yielder(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&yield_stop, __ATOMIC_ACQUIRE))
        go_yield();
    go_wg_done(&ywg);
}

static void sleepy(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        int64_t start = go_now();
        go_sleep(100 * US);
        CHECK(go_now() - start >= 100 * US);
    }
    __atomic_store_n(&yield_stop, 1, __ATOMIC_RELEASE);
    go_wg_done(&ywg);
}

static void spawn_yielders(void *arg)
{
    (void)arg;
    for (int i = 0; i < NYIELD; i++)
        CHECK_EQ(go(yielder, NULL), 0);
    CHECK_EQ(go(sleepy, NULL), 0);
    go_wg_done(&ywg);
}

static void test_sleep_among_yielders(void)
{
    go_wg_add(&ywg, NYIELD + 2);
    /* Spawned from a goroutine, so they queue on the Ps' own rings. */
    CHECK_EQ(go(spawn_yielders, NULL), 0);
    go_wg_wait(&ywg);
}

int main(void)
{
    test_now();
    test_sleep_among_yielders();
    test_sleep_goroutines();
    test_sleep_threads();
    test_after_never_early();
    test_after_free_early();
    test_timer_stop_reset();
    test_timer_func();
    test_ticker();
    printf("test_time: ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
