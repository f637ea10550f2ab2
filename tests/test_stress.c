/*
 * test_stress.c - conservation under everything at once: every message
 * sent is received exactly once, each producer's messages in order, while
 * the scheduler is shaken in every way the API allows.
 *
 * Mechanism. PRODUCERS goroutines each send their share of the messages
 * (STRESS_MESSAGES in the environment, or argv[1]; a default that runs in
 * seconds) as {producer, seq, checksum} on one of three channels
 * (unbuffered, capacity 1, capacity 64), each message by a randomly chosen
 * way: go_chan_send, go_chan_send_timeout (retried after -ETIMEDOUT, so a
 * timeout that did send shows up as a duplicate), go_chan_try_send with
 * yields, go_select with the ticker's channel as a second case, or
 * go_select_timeout. CONSUMERS goroutines receive from all three by as
 * many ways: go_select over the three, the ticker, a context's done
 * channel and a timer; go_select_timeout; go_chan_recv_timeout;
 * go_chan_try_recv; go_chan_recv (once the producers are done and the
 * channels closed, it returns false at once). Both sides yield, sleep a
 * few microseconds, and wire and unwire themselves to their thread
 * (go_lock_thread/go_unlock_thread, nested up to 3 deep) at random. Each
 * consumer keeps a context with a short timeout derived from a parent the
 * main thread cancels at the end, cancels it itself now and then, and
 * renews it when it is done. A plain thread changes GOMAXPROCS (1 to 8)
 * every few hundred microseconds; a goroutine resets the ticker's period.
 *
 * Timers. TIMER_TORTURERS goroutines arm channel timers of 0-30 us and,
 * after a random pause, stop them, often while they fire: go_timer_stop
 * returning false means the value was sent (a blocking receive must get
 * it), true means it never is (the channel must stay empty, checked at
 * once and again after a pause at the end). Others keep go_timer_func
 * timers and reset or stop them at random: every arming must end in
 * exactly one of "a stop or reset returned true" or "the function ran";
 * the functions' count, taken from a semaphore, must match exactly.
 *
 * What is checked: a bitmap per producer (a duplicate is caught when it
 * arrives, a loss at the end), the checksum of every message, per
 * consumer that each producer's sequence numbers only grow (the channel
 * is FIFO, so one receiver sees one sender's messages in order), that a
 * receive reports "closed" only after the main thread closed the
 * channels, and the timer accounting. Nothing is checked against time.
 *
 * Rejected: checking a global order across consumers (two receivers of
 * one channel may finish their receives in either order), and channel
 * timers reset while possibly firing (a value already in the capacity-1
 * channel makes the next fire drop its value, as in Go, which would make
 * the count inexact; the go_timer_func timers cover reset while firing).
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define PRODUCERS 8
#define CONSUMERS 6
#define NCHAN 3
#define TIMER_TORTURERS 3
#define FUNC_TORTURERS 3
#define FUNC_TIMERS 4

struct msg {
    uint32_t prod;
    uint32_t pad;
    uint64_t seq;
    uint64_t check;
};

static uint64_t checksum(uint32_t prod, uint64_t seq)
{
    uint64_t x = ((uint64_t)prod << 48) ^ seq ^ 0x9e3779b97f4a7c15ull;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    return x ^ (x >> 29);
}

static uint64_t total;        /* messages */
static uint64_t share[PRODUCERS];
static uint64_t *seen[PRODUCERS]; /* bitmaps */
static uint64_t received;     /* atomic */
static int closed_flag;       /* atomic: set just before the channels close */
static int producers_done;    /* atomic */
static go_chan *chans[NCHAN];
static go_ticker *ticker;
static go_ctx *parent_ctx;
static go_wg prod_wg, cons_wg, aux_wg;
static uint64_t seed0;

/* xorshift64*, one per goroutine */
static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

/* Random disturbances shared by producers and consumers. */
struct shake {
    uint64_t rng;
    int locked; /* go_lock_thread nesting */
};

static void shake(struct shake *s)
{
    unsigned r = (unsigned)(rnd(&s->rng) % 1024);
    if (r < 40)
        go_yield();
    else if (r < 44)
        go_sleep((int64_t)(rnd(&s->rng) % 20000));
    else if (r < 45 && s->locked < 3) {
        CHECK_EQ(go_lock_thread(), 0);
        s->locked++;
    } else if (r < 61 && s->locked > 0) {
        CHECK_EQ(go_unlock_thread(), 0);
        s->locked--;
    }
}

/* ---- producers ---- */

static void send_one(struct shake *sh, go_chan *c, struct msg *m)
{
    for (;;) {
        unsigned how = (unsigned)(rnd(&sh->rng) % 8);
        int64_t t = (int64_t)(rnd(&sh->rng) % 50000);
        switch (how) {
        case 0:
        case 1:
            go_chan_send(c, m);
            return;
        case 2: {
            int r = go_chan_send_timeout(c, m, t);
            CHECK(r == 0 || r == -ETIMEDOUT);
            if (r == 0)
                return;
            break;
        }
        case 3:
            for (int i = 0; i < 4; i++) {
                if (go_chan_try_send(c, m))
                    return;
                go_yield();
            }
            break;
        case 4:
        case 5: {
            int64_t tick;
            go_select_case cs[3] = {
                GO_RECV(go_ticker_chan(ticker), &tick, NULL),
                GO_SEND(c, m),
                GO_RECV(NULL, NULL, NULL),
            };
            int r = go_select(cs, 3);
            CHECK(r == 0 || r == 1);
            if (r == 1)
                return;
            break;
        }
        default: {
            go_select_case cs[1] = {GO_SEND(c, m)};
            int r = go_select_timeout(cs, 1, t);
            CHECK(r == 0 || r == -ETIMEDOUT);
            if (r == 0)
                return;
            break;
        }
        }
        shake(sh);
    }
}

static void producer(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    struct shake sh = {.rng = seed0 * 31 + id + 1};
    go_chan *c = chans[id % NCHAN];
    for (uint64_t seq = 0; seq < share[id]; seq++) {
        struct msg m = {.prod = id, .seq = seq, .check = checksum(id, seq)};
        send_one(&sh, c, &m);
        shake(&sh);
    }
    /* Sometimes exit still wired to the thread (allowed, as in Go). */
    if (rnd(&sh.rng) & 1)
        while (sh.locked-- > 0)
            go_unlock_thread();
    go_wg_done(&prod_wg);
}

/* ---- consumers ---- */

struct consumer {
    struct shake sh;
    uint64_t next[PRODUCERS]; /* lowest sequence number still possible */
    go_ctx *ctx;
    uint64_t got, ticks, ctx_done, closed_seen;
};

static void take_msg(struct consumer *co, const struct msg *m)
{
    CHECK(m->prod < PRODUCERS);
    CHECK(m->seq < share[m->prod]);
    CHECK(m->check == checksum(m->prod, m->seq));
    CHECK(m->seq >= co->next[m->prod]); /* per-producer order */
    co->next[m->prod] = m->seq + 1;
    uint64_t bit = 1ull << (m->seq % 64);
    uint64_t old = __atomic_fetch_or(&seen[m->prod][m->seq / 64], bit, __ATOMIC_RELAXED);
    if (old & bit) {
        fprintf(stderr, "duplicate: producer %u seq %llu\n", m->prod, (unsigned long long)m->seq);
        abort();
    }
    co->got++;
    __atomic_fetch_add(&received, 1, __ATOMIC_RELAXED);
}

static void saw_closed(struct consumer *co)
{
    CHECK(__atomic_load_n(&closed_flag, __ATOMIC_ACQUIRE));
    co->closed_seen++;
}

static void renew_ctx(struct consumer *co)
{
    if (co->ctx) {
        int err = go_ctx_err(co->ctx);
        CHECK(err == -ETIMEDOUT || err == -ECANCELED);
        go_ctx_free(co->ctx);
    }
    co->ctx = go_ctx_with_timeout(parent_ctx, 20000 + (int64_t)(rnd(&co->sh.rng) % 500000));
    CHECK(co->ctx != NULL);
}

static void consumer(void *arg)
{
    struct consumer *co = arg;
    renew_ctx(co);
    while (__atomic_load_n(&received, __ATOMIC_RELAXED) < total) {
        struct msg m;
        bool ok = false;
        unsigned how = (unsigned)(rnd(&co->sh.rng) % 10);
        int64_t t = (int64_t)(rnd(&co->sh.rng) % 50000);
        go_chan *one = chans[rnd(&co->sh.rng) % NCHAN];
        if (rnd(&co->sh.rng) % 256 == 0) {
            /* Cancel our own context, perhaps while its deadline timer or
             * the main thread cancels it: once go_ctx_cancel returns, its
             * done channel is closed, whoever cancelled first (Go's
             * cancel() closes it under the context's lock). */
            go_ctx_cancel(co->ctx);
            CHECK(go_ctx_err(co->ctx) != 0);
            go_select_case cs[1] = {GO_RECV(go_ctx_done(co->ctx), NULL, &ok)};
            CHECK_EQ(go_select_try(cs, 1), 0);
            CHECK(!ok);
            renew_ctx(co);
        }
        switch (how) {
        case 0:
        case 1:
        case 2: {
            int64_t tick;
            bool dok = true;
            go_select_case cs[NCHAN + 3];
            for (int i = 0; i < NCHAN; i++)
                cs[i] = GO_RECV(chans[i], &m, &ok);
            cs[NCHAN] = GO_RECV(go_ticker_chan(ticker), &tick, NULL);
            cs[NCHAN + 1] = GO_RECV(go_ctx_done(co->ctx), NULL, &dok);
            cs[NCHAN + 2] = GO_RECV(NULL, NULL, NULL);
            int r = how == 2 ? go_select_timeout(cs, NCHAN + 3, t) : go_select(cs, NCHAN + 3);
            if (r >= 0 && r < NCHAN) {
                if (ok)
                    take_msg(co, &m);
                else
                    saw_closed(co);
            } else if (r == NCHAN) {
                co->ticks++;
            } else if (r == NCHAN + 1) {
                CHECK(!dok);
                co->ctx_done++;
                renew_ctx(co);
            } else {
                CHECK(how == 2 && r == -ETIMEDOUT);
            }
            break;
        }
        case 3:
        case 4: {
            int r = go_chan_recv_timeout(one, &m, &ok, how == 3 ? t : 0);
            CHECK(r == 0 || r == -ETIMEDOUT);
            if (r == 0) {
                if (ok)
                    take_msg(co, &m);
                else
                    saw_closed(co);
            }
            break;
        }
        case 5:
        case 6:
            if (go_chan_try_recv(one, &m, &ok)) {
                if (ok)
                    take_msg(co, &m);
                else
                    saw_closed(co);
            }
            break;
        case 7:
            /* Blocking only once nothing more will come without it: the
             * channels are closed then, and it returns at once. */
            if (__atomic_load_n(&producers_done, __ATOMIC_ACQUIRE) == 0)
                break;
            if (go_chan_recv(one, &m))
                take_msg(co, &m);
            else
                saw_closed(co);
            break;
        default: {
            /* A select whose timer case is a real go_timer. */
            go_timer *tm = go_timer_new(t);
            CHECK(tm != NULL);
            int64_t when;
            go_select_case cs[2] = {GO_RECV(one, &m, &ok), GO_RECV(go_timer_chan(tm), &when, NULL)};
            int r = go_select(cs, 2);
            if (r == 0) {
                if (ok)
                    take_msg(co, &m);
                else
                    saw_closed(co);
            } else {
                CHECK_EQ(r, 1);
            }
            go_timer_free(tm);
            break;
        }
        }
        shake(&co->sh);
    }
    go_ctx_free(co->ctx);
    while (co->sh.locked-- > 0)
        go_unlock_thread();
    go_wg_done(&cons_wg);
}

/* ---- timers ---- */

static int aux_stop; /* atomic: set when the producers are done */
static uint64_t chan_stops_true, chan_stops_false;

static void chan_timer_torturer(void *arg)
{
    uint64_t rng = seed0 * 77 + (uintptr_t)arg;
    go_timer *t = go_timer_new((int64_t)(rnd(&rng) % 30000));
    CHECK(t != NULL);
    go_chan *c = go_timer_chan(t);
    uint64_t yes = 0, no = 0;
    int64_t when;
    while (!__atomic_load_n(&aux_stop, __ATOMIC_RELAXED)) {
        unsigned r = (unsigned)(rnd(&rng) % 8);
        if (r < 3)
            go_yield();
        else if (r < 5)
            go_sleep((int64_t)(rnd(&rng) % 30000));
        if (go_timer_stop(t)) {
            yes++;
            CHECK(!go_chan_try_recv(c, &when, NULL)); /* prevented: no value */
        } else {
            no++;
            CHECK(go_chan_recv(c, &when)); /* fired: its value is there */
            CHECK(!go_chan_try_recv(c, &when, NULL));
        }
        CHECK(!go_timer_stop(t));
        /* Inactive and drained: re-arm. */
        CHECK(!go_timer_reset(t, (int64_t)(rnd(&rng) % 30000)));
    }
    if (!go_timer_stop(t)) {
        no++;
        CHECK(go_chan_recv(c, &when));
    } else {
        yes++;
    }
    /* A fire that a true stop failed to prevent would show up by now. */
    go_sleep(2000000);
    CHECK(!go_chan_try_recv(c, &when, NULL));
    go_timer_free(t);
    __atomic_fetch_add(&chan_stops_true, yes, __ATOMIC_RELAXED);
    __atomic_fetch_add(&chan_stops_false, no, __ATOMIC_RELAXED);
    go_wg_done(&aux_wg);
}

static go_sema func_fired;
static uint64_t func_arms, func_prevented; /* atomic totals */

static void func_cb(void *arg)
{
    (void)arg;
    go_sema_release(&func_fired, 1);
}

static void func_timer_torturer(void *arg)
{
    uint64_t rng = seed0 * 91 + (uintptr_t)arg;
    go_timer *ts[FUNC_TIMERS];
    uint64_t arms = 0, prevented = 0;
    for (int i = 0; i < FUNC_TIMERS; i++) {
        ts[i] = go_timer_func((int64_t)(rnd(&rng) % 30000), func_cb, NULL);
        CHECK(ts[i] != NULL);
        arms++;
    }
    while (!__atomic_load_n(&aux_stop, __ATOMIC_RELAXED)) {
        go_timer *t = ts[rnd(&rng) % FUNC_TIMERS];
        unsigned r = (unsigned)(rnd(&rng) % 8);
        if (r < 2)
            go_yield();
        else if (r < 4)
            go_sleep((int64_t)(rnd(&rng) % 30000));
        else if (r < 6) {
            /* Reset, perhaps while it fires: true means the pending arming
             * was cancelled; either way a new one is pending. */
            if (go_timer_reset(t, (int64_t)(rnd(&rng) % 30000)))
                prevented++;
            arms++;
        } else {
            if (go_timer_stop(t))
                prevented++;
        }
    }
    for (int i = 0; i < FUNC_TIMERS; i++) {
        if (go_timer_stop(ts[i]))
            prevented++;
        go_timer_free(ts[i]);
    }
    __atomic_fetch_add(&func_arms, arms, __ATOMIC_RELAXED);
    __atomic_fetch_add(&func_prevented, prevented, __ATOMIC_RELAXED);
    go_wg_done(&aux_wg);
}

static void ticker_resetter(void *arg)
{
    uint64_t rng = seed0 * 13 + (uintptr_t)arg;
    while (!__atomic_load_n(&aux_stop, __ATOMIC_RELAXED)) {
        go_sleep((int64_t)(rnd(&rng) % 500000));
        CHECK_EQ(go_ticker_reset(ticker, 10000 + (int64_t)(rnd(&rng) % 200000)), 0);
    }
    go_wg_done(&aux_wg);
}

/* ---- GOMAXPROCS from a plain thread ---- */

static int procs_stop;
static uint64_t procs_changes;

static void *procs_changer(void *arg)
{
    (void)arg;
    uint64_t rng = seed0 * 5 + 3;
    while (!__atomic_load_n(&procs_stop, __ATOMIC_RELAXED)) {
        int r = go_maxprocs(1 + (int)(rnd(&rng) % 8));
        CHECK(r >= 1);
        procs_changes++;
        struct timespec ts = {0, 50000 + (long)(rnd(&rng) % 450000)};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : getenv("STRESS_MESSAGES");
    total = TEST_SANITIZED ? 100000 : 300000;
    if (s && *s)
        total = strtoull(s, NULL, 10);
    const char *sd = getenv("STRESS_SEED");
    seed0 = sd && *sd ? strtoull(sd, NULL, 10) : 1;
    CHECK(total > 0);
    for (int p = 0; p < PRODUCERS; p++) {
        share[p] = total / PRODUCERS + ((uint64_t)p < total % PRODUCERS);
        seen[p] = calloc(share[p] / 64 + 1, sizeof(uint64_t));
        CHECK(seen[p] != NULL);
    }
    const size_t caps[NCHAN] = {0, 1, 64};
    for (int i = 0; i < NCHAN; i++) {
        chans[i] = go_chan_make(sizeof(struct msg), caps[i]);
        CHECK(chans[i] != NULL);
    }
    int procs0 = go_maxprocs(0);
    int64_t t0 = go_now();
    ticker = go_ticker_new(50000);
    CHECK(ticker != NULL);
    parent_ctx = go_ctx_with_cancel(go_ctx_background());
    CHECK(parent_ctx != NULL);

    pthread_t changer;
    CHECK_EQ(pthread_create(&changer, NULL, procs_changer, NULL), 0);

    go_wg_add(&aux_wg, TIMER_TORTURERS + FUNC_TORTURERS + 1);
    for (uintptr_t i = 0; i < TIMER_TORTURERS; i++)
        CHECK_EQ(go(chan_timer_torturer, (void *)i), 0);
    for (uintptr_t i = 0; i < FUNC_TORTURERS; i++)
        CHECK_EQ(go(func_timer_torturer, (void *)i), 0);
    CHECK_EQ(go(ticker_resetter, NULL), 0);

    static struct consumer cons[CONSUMERS];
    go_wg_add(&cons_wg, CONSUMERS);
    for (int i = 0; i < CONSUMERS; i++) {
        cons[i].sh.rng = seed0 * 1000003 + (uint64_t)i + 101;
        CHECK_EQ(go(consumer, &cons[i]), 0);
    }
    go_wg_add(&prod_wg, PRODUCERS);
    for (uintptr_t p = 0; p < PRODUCERS; p++)
        CHECK_EQ(go(producer, (void *)p), 0);

    go_wg_wait(&prod_wg);
    /* Everything is sent; close the channels so that blocked and blocking
     * receives end, and cancel every consumer's context. */
    __atomic_store_n(&closed_flag, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < NCHAN; i++)
        go_chan_close(chans[i]);
    __atomic_store_n(&producers_done, 1, __ATOMIC_RELEASE);
    go_ctx_cancel(parent_ctx);
    go_wg_wait(&cons_wg);
    __atomic_store_n(&aux_stop, 1, __ATOMIC_RELAXED);
    go_wg_wait(&aux_wg);
    __atomic_store_n(&procs_stop, 1, __ATOMIC_RELAXED);
    pthread_join(changer, NULL);

    /* Conservation. */
    CHECK_EQ(received, total);
    uint64_t sum = 0, ticks = 0, ctxd = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        sum += cons[i].got;
        ticks += cons[i].ticks;
        ctxd += cons[i].ctx_done;
    }
    CHECK_EQ(sum, total);
    for (int p = 0; p < PRODUCERS; p++)
        for (uint64_t q = 0; q < share[p]; q++)
            if (!(seen[p][q / 64] >> (q % 64) & 1)) {
                fprintf(stderr, "lost: producer %d seq %llu\n", p, (unsigned long long)q);
                abort();
            }
    for (int i = 0; i < NCHAN; i++)
        CHECK_EQ(go_chan_len(chans[i]), 0);

    /* Every go_timer_func arming ran its function or was prevented. */
    uint64_t want = func_arms - func_prevented;
    for (uint64_t i = 0; i < want; i++)
        if (go_sema_acquire_timeout(&func_fired, 30LL * 1000000000) != 0) {
            fprintf(stderr, "timer functions: %llu of %llu ran (arms %llu, prevented %llu)\n",
                    (unsigned long long)i, (unsigned long long)want,
                    (unsigned long long)func_arms, (unsigned long long)func_prevented);
            abort();
        }
    go_sleep(2000000);
    CHECK(!go_sema_try_acquire(&func_fired)); /* none ran that was prevented */

    printf("test_stress: %llu messages in %.2f s at GOMAXPROCS %d; %llu ticks, %llu contexts done, "
           "%llu GOMAXPROCS changes; channel timers %llu stopped / %llu fired; func timers %llu armed, "
           "%llu prevented, %llu ran\n",
           (unsigned long long)total, (double)(go_now() - t0) / 1e9, procs0,
           (unsigned long long)ticks, (unsigned long long)ctxd, (unsigned long long)procs_changes,
           (unsigned long long)chan_stops_true, (unsigned long long)chan_stops_false,
           (unsigned long long)func_arms, (unsigned long long)func_prevented,
           (unsigned long long)want);
    go_maxprocs(procs0);
    go_ticker_free(ticker);
    go_ctx_free(parent_ctx);
    for (int i = 0; i < NCHAN; i++)
        go_chan_free(chans[i]);
    for (int p = 0; p < PRODUCERS; p++)
        free(seen[p]);
    return 0;
}
