/*
 * test_time_rtimer.c - white-box tests of the runtime timers (src/time.h):
 * heap order (on a private P that only this test runs), the sorted run of
 * sleep timers merged with the heap, a periodic timer leaving a P that
 * GOMAXPROCS retired, stop waiting for
 * a callback running on another M, a callback stopping and resetting its
 * own timer, stop racing with a periodic timer's callback, and a stress
 * test of the accounting invariant
 *
 *   arms == fires + (stops and resets that returned true) + (still armed)
 *
 * under random concurrent start/stop/reset from many goroutines.
 *
 * Links the static library, whose internal symbols are hidden but
 * resolvable. No timing assertions beyond "never early".
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "../src/time.h"

#define MS 1000000LL
#define US 1000LL
#define HOUR (3600LL * 1000 * MS)

static __thread uint64_t rng;
static uint64_t rnd(void)
{
    if (!rng)
        rng = (uint64_t)(uintptr_t)&rng * 0x9E3779B97F4A7C15ULL | 1;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void wait_until(int *flag, int want)
{
    while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < want)
        go_sleep(50 * US);
}

/* ---- heap order on a private P -------------------------------------------- */

enum { NH = 2000 };
static rtimer_t ht[NH];
static int64_t fired_when[NH];
static int nfired_seq;
static int seq[NH];

static void record(rtimer_t *t, void *arg, int64_t now)
{
    int i = (int)(intptr_t)arg;
    CHECK(now >= t->when);
    fired_when[i] = t->when;
    seq[nfired_seq++] = i;
}

static void test_heap_order(void)
{
    /* Arm far in the future, so no M runs them, then move every heap's
     * timers to a P no M knows of, and run that heap by hand. */
    int64_t base = go_now() + HOUR;
    for (int i = 0; i < NH; i++) {
        ht[i].fn = record;
        ht[i].arg = (void *)(intptr_t)i;
        timer_start(&ht[i], base + (int64_t)(rnd() % 1000000));
    }
    size_t psize = (sizeof(p_t) + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
    p_t *fake = aligned_alloc(CACHE_LINE, psize);
    CHECK(fake != NULL);
    memset(fake, 0, sizeof *fake);
    rlock_init(&fake->timerlock, LOCK_RANK_TIMERS);
    fake->id = 0; /* below GOMAXPROCS: timers_run() moves a retired P's timers away */
    int32_t np = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < np; i++)
        timers_adopt(fake, allp[i]);
    CHECK_EQ(fake->ntimers, NH);
    for (int32_t i = 0; i < np; i++)
        CHECK_EQ(__atomic_load_n(&allp[i]->timer0_when, __ATOMIC_ACQUIRE), 0);

    /* Stop a random quarter (deletion from the middle of the heap). */
    bool stopped[NH] = {0};
    int nstopped = 0;
    for (int i = 0; i < NH; i++) {
        if (rnd() % 4 == 0) {
            CHECK(timer_stop(&ht[i]));
            CHECK(!timer_stop(&ht[i]));
            stopped[i] = true;
            nstopped++;
        }
    }
    /* Move some later (fix in place). */
    for (int i = 0; i < NH; i += 7)
        if (!stopped[i])
            CHECK(timer_reset(&ht[i], base + (int64_t)(rnd() % 1000000)));
    CHECK_EQ(fake->ntimers, NH - nstopped);

    /* Run in steps; each step runs exactly the due ones, in order. */
    int64_t cut = base;
    int done = 0;
    while (fake->ntimers > 0) {
        cut += 50000;
        int before = nfired_seq;
        int64_t next = timers_run(fake, cut);
        for (int k = before; k < nfired_seq; k++) {
            CHECK(fired_when[seq[k]] <= cut);
            if (k > 0)
                CHECK(fired_when[seq[k]] >= fired_when[seq[k - 1]]);
        }
        CHECK(next == 0 || next > cut);
        CHECK_EQ(next, __atomic_load_n(&fake->timer0_when, __ATOMIC_ACQUIRE));
        done = nfired_seq;
    }
    CHECK_EQ(done, NH - nstopped);
    for (int i = 0; i < NH; i++) {
        CHECK(ht[i].p == NULL);
        CHECK(!timer_stop(&ht[i])); /* fired or stopped: idle */
    }
    free(fake->timers);
    free(fake);
}

/* ---- TIMER_NOSTOP timers: the sorted run and the heap, merged ------------- */

enum { NN = 3000 };
static rtimer_t nt[NN];
static int64_t nfired_when[NN];
static int nnfired;

static void record_nostop(rtimer_t *t, void *arg, int64_t now)
{
    (void)arg;
    /* A TIMER_NOSTOP one is disarmed before the callback; its `when` is
     * still there. */
    CHECK(now >= t->when);
    CHECK((t->p == NULL) == ((t->flags & TIMER_NOSTOP) != 0));
    nfired_when[nnfired++] = t->when;
}

static void test_nostop_order(void)
{
    /* Mostly ascending deadlines (they queue on the sorted run), with one
     * in four out of order (those go to the heap), and stoppable timers
     * in between: firing must merge all of them by `when`. */
    int64_t base = go_now() + HOUR, w = base;
    for (int i = 0; i < NN; i++) {
        nt[i].fn = record_nostop;
        if (i % 5 != 4)
            nt[i].flags = TIMER_NOSTOP;
        w += (int64_t)(rnd() % 1000);
        timer_start(&nt[i], rnd() % 4 == 0 ? base + (int64_t)(rnd() % 3000000) : w);
    }
    size_t psize = (sizeof(p_t) + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
    p_t *fake = aligned_alloc(CACHE_LINE, psize);
    CHECK(fake != NULL);
    memset(fake, 0, sizeof *fake);
    rlock_init(&fake->timerlock, LOCK_RANK_TIMERS);
    fake->id = 0; /* below GOMAXPROCS, see test_heap_order */
    int32_t np = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < np; i++)
        timers_adopt(fake, allp[i]);
    CHECK_EQ(fake->ntimers + (int32_t)(fake->trun_tail - fake->trun_head), NN);
    int64_t cut = base;
    while (__atomic_load_n(&fake->timer0_when, __ATOMIC_ACQUIRE) != 0) {
        cut += 20000;
        int before = nnfired;
        int64_t next = timers_run(fake, cut);
        for (int k = before; k < nnfired; k++) {
            CHECK(nfired_when[k] <= cut);
            if (k > 0)
                CHECK(nfired_when[k] >= nfired_when[k - 1]);
        }
        CHECK(next == 0 || next > cut);
    }
    CHECK_EQ(nnfired, NN);
    for (int i = 0; i < NN; i++)
        CHECK(!timer_stop(&nt[i]));
    free(fake->timers);
    free(fake->trun);
    free(fake);
}

/* ---- a periodic timer put back on a P that GOMAXPROCS retired ------------- */

static int retire_started, retire_release, retire_ticks;

static void retire_cb(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    (void)arg;
    (void)now;
    if (__atomic_add_fetch(&retire_ticks, 1, __ATOMIC_ACQ_REL) == 1) {
        /* Hold the first tick until GOMAXPROCS has shrunk under us. */
        __atomic_store_n(&retire_started, 1, __ATOMIC_RELEASE);
        while (!__atomic_load_n(&retire_release, __ATOMIC_ACQUIRE))
            ;
    }
}

static void test_retired_periodic(void)
{
    int old = go_maxprocs(4);
    rtimer_t t = {0};
    t.fn = retire_cb;
    t.period = 200 * US;
    /* Park it, before it fires, on P 3, which the shrink will retire. */
    timer_start(&t, go_now() + 5 * MS);
    p_t *p = __atomic_load_n(&t.p, __ATOMIC_ACQUIRE);
    CHECK(p != NULL);
    timers_adopt(allp[3], p);
    CHECK(__atomic_load_n(&t.p, __ATOMIC_ACQUIRE) == allp[3]);
    /* Its first callback runs, out of P 3's heap; shrink meanwhile. */
    wait_until(&retire_started, 1);
    go_maxprocs(2);
    __atomic_store_n(&retire_release, 1, __ATOMIC_RELEASE);
    /* It is put back on P 3 and must move on to a live P and keep
     * ticking there, whatever the Ms are doing. */
    wait_until(&retire_ticks, 5);
    p = __atomic_load_n(&t.p, __ATOMIC_ACQUIRE);
    CHECK(p == NULL || p->id < 2);
    CHECK(timer_stop(&t));
    CHECK_EQ(__atomic_load_n(&allp[3]->timer0_when, __ATOMIC_ACQUIRE), 0);
    CHECK_EQ(__atomic_load_n(&allp[2]->timer0_when, __ATOMIC_ACQUIRE), 0);
    go_maxprocs(old);
}

/* ---- stop waits for a running callback -------------------------------------- */

static int slow_started, slow_finished;

static void slow_cb(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    (void)arg;
    (void)now;
    __atomic_store_n(&slow_started, 1, __ATOMIC_RELEASE);
    int64_t until = go_now() + 2 * MS;
    while (go_now() < until)
        ;
    __atomic_store_n(&slow_finished, 1, __ATOMIC_RELEASE);
}

static void test_stop_waits(void)
{
    for (int round = 0; round < 5; round++) {
        rtimer_t t = {0};
        t.fn = slow_cb;
        slow_started = slow_finished = 0;
        timer_start(&t, 0);
        while (!__atomic_load_n(&slow_started, __ATOMIC_ACQUIRE))
            ;
        /* The callback is running on an M: a one-shot that fired. */
        CHECK(!timer_stop(&t));
        CHECK(__atomic_load_n(&slow_finished, __ATOMIC_ACQUIRE));
        /* And for reset, which then re-arms it. */
        slow_started = slow_finished = 0;
        timer_start(&t, 0);
        while (!__atomic_load_n(&slow_started, __ATOMIC_ACQUIRE))
            ;
        CHECK(!timer_reset(&t, go_now() + HOUR));
        CHECK(__atomic_load_n(&slow_finished, __ATOMIC_ACQUIRE));
        CHECK(timer_stop(&t));
    }
}

/* ---- a callback stopping / resetting its own timer --------------------------- */

static int self_count;

static void self_stop_cb(rtimer_t *t, void *arg, int64_t now)
{
    (void)arg;
    (void)now;
    int n = __atomic_add_fetch(&self_count, 1, __ATOMIC_ACQ_REL);
    if (n == 5) {
        /* Periodic, so it was active; must not wait for itself. */
        CHECK(timer_stop(t));
        CHECK(!timer_stop(t));
    }
}

static int reset_count;
static int64_t reset_deadline;

static void self_reset_cb(rtimer_t *t, void *arg, int64_t now)
{
    (void)arg;
    CHECK(now >= __atomic_load_n(&reset_deadline, __ATOMIC_RELAXED));
    int n = __atomic_add_fetch(&reset_count, 1, __ATOMIC_ACQ_REL);
    if (n < 10) {
        int64_t d = now + 100 * US;
        __atomic_store_n(&reset_deadline, d, __ATOMIC_RELAXED);
        /* A one-shot that is running is not active. */
        CHECK(!timer_reset(t, d));
        /* Now it is (armed to re-fire); stop and reset again. */
        CHECK(timer_stop(t));
        CHECK(!timer_reset(t, d));
        CHECK(timer_reset(t, d));
    }
}

static void test_self(void)
{
    rtimer_t t = {0};
    t.fn = self_stop_cb;
    t.period = 200 * US;
    timer_start(&t, go_now());
    wait_until(&self_count, 5);
    go_sleep(5 * MS);
    CHECK_EQ(__atomic_load_n(&self_count, __ATOMIC_ACQUIRE), 5);
    CHECK(!timer_stop(&t));

    rtimer_t r = {0};
    r.fn = self_reset_cb;
    reset_deadline = go_now();
    timer_start(&r, reset_deadline);
    wait_until(&reset_count, 10);
    CHECK(!timer_stop(&r));
    CHECK_EQ(__atomic_load_n(&reset_count, __ATOMIC_ACQUIRE), 10);
}

/* ---- stop racing with a periodic timer's callback --------------------------- */

static int tick_count;

static void tick_cb(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    (void)arg;
    (void)now;
    __atomic_add_fetch(&tick_count, 1, __ATOMIC_RELAXED);
}

static void test_periodic_stop(void)
{
    for (int i = 0; i < 200; i++) {
        rtimer_t t = {0};
        t.fn = tick_cb;
        t.period = 10 * US + (int64_t)(rnd() % (50 * US));
        timer_start(&t, go_now() + (int64_t)(rnd() % (100 * US)));
        if (i % 3)
            go_sleep((int64_t)(rnd() % (200 * US)));
        /* Periodic and never stopped: always active. */
        CHECK(timer_stop(&t));
        int c = __atomic_load_n(&tick_count, __ATOMIC_ACQUIRE);
        /* After stop returns nothing runs: t may go out of scope. */
        if (i % 20 == 0) {
            go_sleep(300 * US);
            CHECK_EQ(__atomic_load_n(&tick_count, __ATOMIC_ACQUIRE), c);
        }
    }
}

/* ---- stress: the accounting invariant ---------------------------------------- */

enum { SG = 16, ST = 64, SOPS = 3000 };

struct stimer {
    rtimer_t t;
    int fires;      /* atomic */
    int arms;       /* owner only */
    int cancelled;  /* owner only: stop/reset that returned true */
};

static void stress_cb(rtimer_t *t, void *arg, int64_t now)
{
    struct stimer *s = arg;
    CHECK(now >= t->when);
    __atomic_add_fetch(&s->fires, 1, __ATOMIC_RELAXED);
}

static go_wg swg;

static void stress_worker(void *arg)
{
    (void)arg;
    struct stimer *ts = calloc(ST, sizeof *ts);
    CHECK(ts != NULL);
    for (int i = 0; i < ST; i++) {
        ts[i].t.fn = stress_cb;
        ts[i].t.arg = &ts[i];
    }
    for (int op = 0; op < SOPS; op++) {
        struct stimer *s = &ts[rnd() % ST];
        int64_t when = go_now() + (int64_t)(rnd() % (300 * US));
        switch (rnd() % 4) {
        case 0:
        case 1:
            s->cancelled += timer_reset(&s->t, when);
            s->arms++;
            break;
        case 2:
            s->cancelled += timer_stop(&s->t);
            break;
        default:
            if (rnd() % 8 == 0)
                go_sleep((int64_t)(rnd() % (100 * US)));
            else
                go_yield();
        }
    }
    for (int i = 0; i < ST; i++) {
        struct stimer *s = &ts[i];
        s->cancelled += timer_stop(&s->t);
        CHECK_EQ(s->arms, __atomic_load_n(&s->fires, __ATOMIC_ACQUIRE) + s->cancelled);
    }
    free(ts);
    go_wg_done(&swg);
}

static void *stress_thread(void *arg)
{
    stress_worker(arg);
    return NULL;
}

static void test_stress(void)
{
    go_wg_add(&swg, SG + 2);
    for (int i = 0; i < SG; i++)
        CHECK_EQ(go(stress_worker, NULL), 0);
    /* Plain threads arm timers too (round-robin over the Ps). */
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, stress_thread, NULL), 0);
    go_wg_wait(&swg);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK(timers_earliest() == 0);
}

int main(void)
{
    test_heap_order();
    test_nostop_order();
    test_retired_periodic();
    test_stop_waits();
    test_self();
    test_periodic_stop();
    test_stress();
    printf("test_time_rtimer: ok (GOMAXPROCS=%d)\n", go_maxprocs(0));
    return 0;
}
