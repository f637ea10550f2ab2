/*
 * time.c - runtime timers (Go's runtime/time.go) and the public time API
 * built on them: go_now, go_sleep, go_after, go_timer_*, go_ticker_*.
 *
 * Heaps. Each P owns a 4-ary min-heap of rtimer_t pointers ordered by
 * `when`, under p->timerlock (Go's layout: a 4-ary heap is shallower than
 * a binary one, and its four children share a cache line or two, so a
 * sift costs fewer misses). p->timer0_when mirrors the root's `when` (0 for
 * an empty heap), stored under the lock and read with one atomic load by
 * the scheduler, which asks "is anything due?" at every switch. A timer is
 * armed on the arming M's P, or, from a plain thread or an M without a P,
 * on a P chosen round-robin: any P will do, since any M may run any P's
 * timers (timers_run), which is how a P whose M is busy still gets its
 * timers run by idle and spinning Ms. When a timer becomes the root of its
 * heap, sched_timer_armed() makes sure some M wakes up for it.
 *
 * The state machine of one timer (t->state, atomic; see `legal` below):
 *
 *   IDLE --arm--> ARMED --fire--> RUNNING --done--> IDLE or ARMED (periodic)
 *                 ARMED --stop--> IDLE
 *                                 RUNNING --stop--> RUNNING_STOPPED --done--> IDLE
 *                                 RUNNING --own reset--> RUNNING_RESET --done--> ARMED
 *
 * Locking: every transition except IDLE -> ARMED happens under the lock of
 * the heap named by t->p, and t->p (atomic) changes only under that lock.
 * t->p stays set while the callback runs (the timer is then in no heap,
 * idx -1), so a RUNNING timer is still "locked through" the P whose M runs
 * it. To lock a timer, read t->p, lock that heap, and check t->p again (it
 * may have moved: timers_adopt, or it went idle). t->p is NULL exactly
 * when the timer is IDLE, apart from two instants: between the arming CAS
 * IDLE -> ARMED and the store of t->p (both under the target heap's lock),
 * and between the store t->p = NULL and state = IDLE at the end of a run;
 * lock_timer() spins through them. IDLE -> ARMED is a CAS under the target
 * heap's lock, so two racing arms of an idle timer cannot both insert it.
 * The fields when/period/idx are written only under the heap lock, or by
 * the owner of an IDLE timer (which nobody else touches).
 *
 * Callbacks run without any lock held, on the M that popped the timer. The
 * runner keeps the timer RUNNING meanwhile; timer_stop() and timer_reset()
 * from another thread wait (spin, then sched_yield) until it is done, which
 * is what lets the owner free the timer, or a goroutine's stack frame that
 * holds it, as soon as they return. A callback that stops or resets its own
 * timer must not wait for itself: the runner publishes the timer it is
 * running in a thread-local variable, and stop/reset compare against it
 * (callbacks never switch goroutines, so the thread cannot change under
 * them). A stop that meets a RUNNING timer marks it RUNNING_STOPPED, so a
 * periodic timer is not re-armed after the callback; an own reset marks it
 * RUNNING_RESET with the new `when`, and the runner re-arms it.
 *
 * Periodic timers are re-armed after their callback returns, never before:
 * re-arming first (as Go does) would let a second M run the next tick of a
 * short period while the first callback is still running, and "stop waits
 * for the callback" would have to wait for several. The next `when` skips
 * periods already missed, as Go's ticker does, so a late M delivers one
 * tick, not a burst.
 *
 * Rejected: Go 1.14-1.22's lazy deletion (a stopped timer stays in the heap
 * marked deleted, and the owning P cleans up later). It exists because Go
 * wanted deltimer lock-free on the fast path; we lock the timer's heap
 * directly (t->p, then re-check), which makes stop O(log n) and eager and
 * needs no cleanup pass, at the price of a lock on another P's heap. Go
 * 1.23's per-timer mutex: rtimer_t is embedded in waiters and channels,
 * and the heap lock already serialises everything that matters. Re-arming
 * periodic timers before the callback: see above. One global heap: every
 * arm and every fire would contend on one lock.
 *
 * Timers are not run from the middle of a park (see timers_run): a callback
 * could need the lock the parking goroutine still holds.
 *
 * Sleep: a goroutine parks with a timer that readies it, armed by the park's
 * unlock function (after its context is saved, so the callback cannot
 * ready it too early). A plain thread sleeps in clock_nanosleep on an
 * absolute deadline instead: it needs no M to wake it, so its sleep is
 * exact even when every M is busy running goroutines that do not yield,
 * it costs no thread wake-ups, and a sleeping plain thread rightly counts
 * as "running" for deadlock detection (it will wake up and may wake
 * others), which is what sched_register_plain() bookkeeping assumes.
 */
#include "time.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chan.h"
#include "debug.h"
#include "sched.h"

enum timer_state {
    T_IDLE,            /* in no heap, callback not running */
    T_ARMED,           /* in the heap of t->p */
    T_RUNNING,         /* callback running on the M that popped it */
    T_RUNNING_STOPPED, /* running, and stopped meanwhile: do not re-arm */
    T_RUNNING_RESET,   /* running, reset by its own callback: re-arm at when */
    T_NSTATES
};

static const char *const state_names[T_NSTATES] = {
    "idle", "armed", "running", "running (stopped)", "running (reset)",
};

#define B(s) (1u << (s))
/* legal[from] has bit `to` set if from -> to is a legal transition. */
static const uint8_t legal[T_NSTATES] = {
    [T_IDLE] = B(T_ARMED),
    [T_ARMED] = B(T_IDLE) | B(T_RUNNING),
    [T_RUNNING] = B(T_IDLE) | B(T_ARMED) | B(T_RUNNING_STOPPED) | B(T_RUNNING_RESET),
    [T_RUNNING_STOPPED] = B(T_IDLE) | B(T_RUNNING_RESET),
    [T_RUNNING_RESET] = B(T_ARMED) | B(T_RUNNING_STOPPED),
};
#undef B

static inline uint32_t state_of(rtimer_t *t)
{
    return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
}

static inline bool is_running(uint32_t s)
{
    return s == T_RUNNING || s == T_RUNNING_STOPPED || s == T_RUNNING_RESET;
}

__attribute__((noreturn, noinline)) static void bad_transition(uint32_t from, uint32_t to)
{
    static char msg[96];
    const char *f = from < T_NSTATES ? state_names[from] : "corrupt";
    const char *t = to < T_NSTATES ? state_names[to] : "corrupt";
    /* A static buffer: we are about to die, and must not allocate. Two
     * threads failing at once would garble it; debug_fatal lets only one
     * report anyway. */
    snprintf(msg, sizeof msg, "runtime: timer state %s -> %s", f, t);
    debug_fatal(msg);
}

/* The one place a timer changes state (except the arming CAS). The caller
 * holds the lock of t->p's heap. Release, so that whoever sees the new
 * state (a stopper waiting for RUNNING to end) sees everything before. */
static inline void set_state(rtimer_t *t, uint32_t to)
{
    uint32_t from = __atomic_load_n(&t->state, __ATOMIC_RELAXED);
    if (__builtin_expect(from >= T_NSTATES || !(legal[from] & (1u << to)), 0))
        bad_transition(from, to);
    __atomic_store_n(&t->state, to, __ATOMIC_RELEASE);
}

/* The timer whose callback this thread is running, or NULL. Read through a
 * non-inlined function with a compiler barrier, so that a goroutine that
 * switched threads never reuses the address of another thread's copy. */
static __thread rtimer_t *tls_running;

__attribute__((noinline)) static rtimer_t *running_here(void)
{
    __asm__ __volatile__("" ::: "memory");
    return tls_running;
}

__attribute__((noinline)) static void set_running_here(rtimer_t *t)
{
    __asm__ __volatile__("" ::: "memory");
    tls_running = t;
}

/* ---- the 4-ary heap (under p->timerlock) ---------------------------------- */

static inline void heap_put(p_t *p, int32_t i, rtimer_t *t)
{
    p->timers[i] = t;
    t->idx = i;
}

static void sift_up(p_t *p, int32_t i)
{
    rtimer_t *t = p->timers[i];
    int64_t when = t->when;
    while (i > 0) {
        int32_t parent = (i - 1) / 4;
        if (p->timers[parent]->when <= when)
            break;
        heap_put(p, i, p->timers[parent]);
        i = parent;
    }
    heap_put(p, i, t);
}

static void sift_down(p_t *p, int32_t i)
{
    int32_t n = p->ntimers;
    rtimer_t *t = p->timers[i];
    int64_t when = t->when;
    for (;;) {
        int32_t c = 4 * i + 1;
        if (c >= n)
            break;
        int32_t best = c;
        int32_t end = c + 4 < n ? c + 4 : n;
        for (int32_t k = c + 1; k < end; k++)
            if (p->timers[k]->when < p->timers[best]->when)
                best = k;
        if (p->timers[best]->when >= when)
            break;
        heap_put(p, i, p->timers[best]);
        i = best;
    }
    heap_put(p, i, t);
}

/* Publish the root's when (0: empty) for lock-free readers. */
static inline void publish(p_t *p)
{
    int64_t w = p->ntimers ? p->timers[0]->when : 0;
    __atomic_store_n(&p->timer0_when, w, __ATOMIC_RELEASE);
}

/* Insert t; returns true if it became the root. An allocation failure is
 * fatal: timer_start() cannot fail by contract, and the heap needs one
 * pointer per timer, so only a process already out of memory gets here. */
static bool heap_add(p_t *p, rtimer_t *t)
{
    if (p->ntimers == p->timercap) {
        int32_t cap = p->timercap ? p->timercap * 2 : 64;
        rtimer_t **nt = realloc(p->timers, (size_t)cap * sizeof *nt);
        if (!nt)
            RT_THROW("out of memory growing a timer heap");
        p->timers = nt;
        p->timercap = cap;
    }
    int32_t i = p->ntimers++;
    heap_put(p, i, t);
    sift_up(p, i);
    publish(p);
    return t->idx == 0;
}

static void heap_del(p_t *p, rtimer_t *t)
{
    int32_t i = t->idx;
    RT_ASSERT(i >= 0 && i < p->ntimers && p->timers[i] == t);
    int32_t last = --p->ntimers;
    if (i != last) {
        /* Move the last timer into the hole; it may belong above or below. */
        rtimer_t *x = p->timers[last];
        heap_put(p, i, x);
        sift_up(p, i);
        sift_down(p, x->idx);
    }
    p->timers[last] = NULL;
    t->idx = -1;
    publish(p);
}

/* t's when changed in place; returns true if it is now the root. */
static bool heap_fix(p_t *p, rtimer_t *t)
{
    sift_up(p, t->idx);
    sift_down(p, t->idx);
    publish(p);
    return t->idx == 0;
}

/* ---- choosing, locking ------------------------------------------------------ */

static inline int64_t clamp_when(int64_t when)
{
    /* 0 means "empty heap" in timer0_when; anything <= now fires at once. */
    return when < 1 ? 1 : when;
}

/* The heap a new timer goes to: the calling M's P, else round-robin. */
static p_t *choose_p(void)
{
    m_t *m = sched_getm();
    if (m && m->p)
        return m->p;
    if (!__atomic_load_n(&rt_started, __ATOMIC_ACQUIRE))
        rt_init();
    static uint32_t rr; /* atomic; a hint, races are harmless */
    uint32_t n = (uint32_t)__atomic_load_n(&sched.gomaxprocs, __ATOMIC_ACQUIRE);
    if (n == 0)
        n = 1;
    uint32_t i = __atomic_fetch_add(&rr, 1, __ATOMIC_RELAXED) % n;
    return __atomic_load_n(&allp[i], __ATOMIC_ACQUIRE);
}

/* Lock the heap t belongs to and return it, or return NULL having seen t
 * IDLE (at that instant, holding no lock). See the design comment. */
static p_t *lock_timer(rtimer_t *t)
{
    for (;;) {
        p_t *p = __atomic_load_n(&t->p, __ATOMIC_ACQUIRE);
        if (!p) {
            if (state_of(t) == T_IDLE)
                return NULL;
            cpu_relax(); /* mid-arm or mid-disarm: the next load settles */
            continue;
        }
        rlock(&p->timerlock);
        if (__atomic_load_n(&t->p, __ATOMIC_RELAXED) == p)
            return p;
        runlock(&p->timerlock);
    }
}

/* Wait until the callback running t on another M has returned. */
static void wait_not_running(rtimer_t *t)
{
    for (int i = 0; is_running(state_of(t)); i++) {
        if (i < 200)
            cpu_relax();
        else
            sched_yield();
    }
}

/* Arm an IDLE timer. Returns false if it was not IDLE any more (someone
 * else armed it first): the caller re-examines it. */
static bool arm_idle(rtimer_t *t, int64_t when, int64_t period)
{
    p_t *p = choose_p();
    rlock(&p->timerlock);
    uint32_t idle = T_IDLE;
    if (!__atomic_compare_exchange_n(&t->state, &idle, T_ARMED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED)) {
        runlock(&p->timerlock);
        return false;
    }
    __atomic_store_n(&t->p, p, __ATOMIC_RELEASE);
    t->when = when;
    if (period >= 0)
        t->period = period;
    bool root = heap_add(p, t);
    runlock(&p->timerlock);
    /* t may be stopped and freed from here on: use only locals. */
    if (root)
        sched_timer_armed(when);
    return true;
}

/*
 * The one modifier. arm false: stop. arm true: stop and re-arm at `when`
 * (with `period` if >= 0) as one step. wait: for a callback running on
 * another M. Returns true if the timer was armed (would have fired).
 */
static bool modify(rtimer_t *t, bool arm, int64_t when, int64_t period, bool wait)
{
    when = clamp_when(when);
    for (;;) {
        p_t *p = lock_timer(t);
        if (!p) {
            if (!arm || arm_idle(t, when, period))
                return false;
            continue;
        }
        uint32_t s = __atomic_load_n(&t->state, __ATOMIC_RELAXED);
        if (s == T_ARMED) {
            bool root = false;
            if (arm) {
                t->when = when;
                if (period >= 0)
                    t->period = period;
                root = heap_fix(p, t);
            } else {
                heap_del(p, t);
                __atomic_store_n(&t->p, NULL, __ATOMIC_RELAXED);
                set_state(t, T_IDLE);
            }
            runlock(&p->timerlock);
            if (root)
                sched_timer_armed(when);
            return true;
        }
        RT_ASSERT(is_running(s));
        /* Would the running callback be followed by another firing? */
        bool active = s == T_RUNNING_RESET || (s == T_RUNNING && t->period > 0);
        if (running_here() == t) {
            /* Our own callback: record the wish, the runner acts on it. */
            if (arm) {
                t->when = when;
                if (period >= 0)
                    t->period = period;
                if (s != T_RUNNING_RESET)
                    set_state(t, T_RUNNING_RESET);
            } else if (s != T_RUNNING_STOPPED) {
                set_state(t, T_RUNNING_STOPPED);
            }
            runlock(&p->timerlock);
            return active;
        }
        if (!arm) {
            if (s == T_RUNNING)
                set_state(t, T_RUNNING_STOPPED);
            runlock(&p->timerlock);
            if (wait)
                wait_not_running(t);
            return active;
        }
        /* A reset from elsewhere: let the callback finish, then re-arm
         * from whatever state it leaves (IDLE, or ARMED if periodic). */
        runlock(&p->timerlock);
        wait_not_running(t);
    }
}

void timer_start(rtimer_t *t, int64_t when)
{
    (void)modify(t, true, when, -1, true);
}

bool timer_stop(rtimer_t *t)
{
    return modify(t, false, 0, -1, true);
}

bool timer_try_stop(rtimer_t *t)
{
    return modify(t, false, 0, -1, false);
}

bool timer_reset(rtimer_t *t, int64_t when)
{
    return modify(t, true, when, -1, true);
}

/* ---- running (any M, for any P) ----------------------------------------------- */

/* Go's ticker arithmetic: the first multiple of period after now, counted
 * from when, so that missed ticks are skipped rather than fired in a burst. */
static int64_t next_tick(int64_t when, int64_t period, int64_t now)
{
    int64_t k = 1 + (now > when ? (now - when) / period : 0);
    int64_t d, next;
    if (__builtin_mul_overflow(k, period, &d) || __builtin_add_overflow(when, d, &next))
        return INT64_MAX;
    return next;
}

int64_t timers_run(p_t *p, int64_t now)
{
    /*
     * Not while the calling goroutine is half-way through a park: its
     * park's unlock function has not run yet, so it still holds the lock
     * of whatever it parks on (a channel, a sema bucket), and a callback
     * that takes that lock (go_after's send, a context's close of its done
     * channel) would wait forever for this very thread. The timers run at
     * the next switch that is not a park, in findrunnable, or on an idle
     * M. This is a stopgap: sched.c's schedule_from() calls us before the
     * park's after-switch action; running due timers right after that
     * action instead would make this check dead code and remove the delay
     * it causes when every switch on a P is a park and no M is idle.
     */
    m_t *m = sched_getm();
    if (m && m->curg && __atomic_load_n(&m->after, __ATOMIC_RELAXED) == AFTER_PARK) {
        /* Hand them to an idle M if there is one (lock order allows it:
         * sched.lock comes after the parker's object lock). */
        int64_t first = __atomic_load_n(&p->timer0_when, __ATOMIC_ACQUIRE);
        if (first != 0 && first <= now)
            sched_timer_armed(first);
        return first;
    }

    int64_t armed_root = 0; /* earliest re-armed timer that became root */
    rlock(&p->timerlock);
    while (p->ntimers > 0) {
        rtimer_t *t = p->timers[0];
        int64_t when = t->when;
        if (when > now)
            break;
        heap_del(p, t);
        set_state(t, T_RUNNING);
        runlock(&p->timerlock);

        set_running_here(t);
        t->fn(t, t->arg, now);
        set_running_here(NULL);

        /* Nobody else changes t->p of a RUNNING timer: it is still p. */
        rlock(&p->timerlock);
        uint32_t s = __atomic_load_n(&t->state, __ATOMIC_RELAXED);
        int64_t next = 0;
        if (s == T_RUNNING_RESET)
            next = t->when;
        else if (s == T_RUNNING && t->period > 0)
            next = next_tick(when, t->period, now);
        if (next) {
            t->when = next;
            set_state(t, T_ARMED);
            if (heap_add(p, t) && (armed_root == 0 || next < armed_root))
                armed_root = next;
        } else {
            __atomic_store_n(&t->p, NULL, __ATOMIC_RELAXED);
            set_state(t, T_IDLE); /* the owner may free t from here on */
        }
    }
    int64_t first = p->ntimers ? p->timers[0]->when : 0;
    runlock(&p->timerlock);
    if (armed_root)
        sched_timer_armed(armed_root);
    return first;
}

int64_t timers_earliest(void)
{
    int64_t best = 0;
    int32_t n = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < n; i++) {
        p_t *p = __atomic_load_n(&allp[i], __ATOMIC_ACQUIRE);
        if (!p)
            continue;
        int64_t w = __atomic_load_n(&p->timer0_when, __ATOMIC_ACQUIRE);
        if (w != 0 && (best == 0 || w < best))
            best = w;
    }
    return best;
}

/* Strong definition of sched.c's weak hook (deadlock detection, called
 * under sched.lock, so it takes no lock: heap locks come before it). */
bool sched_timers_pending(void)
{
    return timers_earliest() != 0;
}

void timers_adopt(p_t *to, p_t *from)
{
    if (to == from)
        return;
    /* Two heap locks at once happens only here; address order. */
    p_t *a = to < from ? to : from, *b = to < from ? from : to;
    rlock(&a->timerlock);
    rlock(&b->timerlock);
    int64_t old_root = to->ntimers ? to->timers[0]->when : 0;
    for (int32_t i = 0; i < from->ntimers; i++) {
        rtimer_t *t = from->timers[i];
        from->timers[i] = NULL;
        __atomic_store_n(&t->p, to, __ATOMIC_RELEASE);
        heap_add(to, t);
    }
    from->ntimers = 0;
    publish(from);
    int64_t root = to->ntimers ? to->timers[0]->when : 0;
    runlock(&b->timerlock);
    runlock(&a->timerlock);
    /* RUNNING timers of `from` are in no heap and keep t->p == from: a
     * periodic one is re-armed there after its callback, where idle and
     * spinning Ms still find it (they scan every P ever created). */
    if (root != 0 && root != old_root)
        sched_timer_armed(root);
}

/* ---- the public API: now, sleep ------------------------------------------------ */

static inline int64_t deadline_after(int64_t ns)
{
    int64_t now = nanotime();
    return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

int64_t go_now(void)
{
    return nanotime();
}

struct sleeper {
    waiter_t w;
    rtimer_t t;
    int64_t when;
};

static void sleep_fire(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    sched_ready(arg);
}

/* The park's unlock function: the goroutine's context is saved, so the
 * timer may ready it from now on. */
static void sleep_arm(void *arg)
{
    struct sleeper *s = arg;
    timer_start(&s->t, s->when);
}

static void sleep_thread(int64_t deadline)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline / 1000000000),
        .tv_nsec = (long)(deadline % 1000000000),
    };
    /* nanotime() reads CLOCK_MONOTONIC: an absolute deadline on the same
     * clock survives EINTR without drifting. */
    int saved = errno;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    errno = saved;
}

void go_sleep(int64_t ns)
{
    if (ns <= 0)
        return;
    int64_t deadline = deadline_after(ns);
    g_t *g = sched_getg();
    if (!g) {
        /* A plain thread, or an M's g0 (a callback must not sleep, but
         * if one does, it blocks its M rather than corrupting a park). */
        sleep_thread(deadline);
        return;
    }
    struct sleeper s = {0};
    s.w.g = g;
    s.t.fn = sleep_fire;
    s.t.arg = &s.w;
    s.when = deadline;
    sched_park(&s.w, sleep_arm, &s, WAIT_SLEEP);
    /* Readied by the callback, which may still be returning on another M
     * and will touch s.t once more: wait for it before s goes away. */
    timer_stop(&s.t);
}

/* ---- go_after, go_timer ------------------------------------------------------------ */

/*
 * go_after's state lives in the channel's free hook: the channel is all
 * the caller holds, and go_chan_free() calls the hook first, which stops
 * the timer (waiting for a callback in flight) and frees it.
 */
struct after {
    rtimer_t t;
    go_chan *c;
};

/* Deliver the firing time without blocking (the buffer has room for the
 * one value; a full or closed channel drops it, as Go's sendTime). */
static void send_time(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    chan_try_send_internal(arg, &now);
}

static void after_free_hook(go_chan *c, void *arg)
{
    (void)c;
    struct after *a = arg;
    timer_stop(&a->t);
    free(a);
}

go_chan *go_after(int64_t ns)
{
    struct after *a = calloc(1, sizeof *a);
    go_chan *c = a ? chan_make_internal(sizeof(int64_t), 1) : NULL;
    if (!c) {
        free(a);
        errno = ENOMEM;
        return NULL;
    }
    a->c = c;
    a->t.fn = send_time;
    a->t.arg = c;
    chan_set_free_hook(c, after_free_hook, a);
    timer_start(&a->t, deadline_after(ns));
    return c;
}

struct go_timer {
    rtimer_t t;
    go_chan *c;    /* NULL for a go_timer_func timer; immutable */
    go_func fn;    /* go_timer_func: what to start; immutable */
    void *arg;
};

/* Retry delay when a go_timer_func goroutine cannot be started. */
#define TIMER_FUNC_RETRY_NS 1000000

static void start_func(rtimer_t *t, void *arg, int64_t now)
{
    go_timer *gt = arg;
    /* A callback must not block, so fn runs in its own goroutine (Go's
     * AfterFunc). If none can be created now (memory, thread limits),
     * nobody could be told: try again shortly rather than lose the call. */
    if (go(gt->fn, gt->arg) != 0)
        timer_reset(t, now + TIMER_FUNC_RETRY_NS);
}

static go_timer *timer_alloc(go_func fn, void *arg)
{
    go_timer *gt = calloc(1, sizeof *gt);
    if (!gt) {
        errno = ENOMEM;
        return NULL;
    }
    if (fn) {
        gt->fn = fn;
        gt->arg = arg;
        gt->t.fn = start_func;
        gt->t.arg = gt;
        return gt;
    }
    gt->c = chan_make_internal(sizeof(int64_t), 1);
    if (!gt->c) {
        free(gt);
        errno = ENOMEM;
        return NULL;
    }
    gt->t.fn = send_time;
    gt->t.arg = gt->c;
    return gt;
}

go_timer *go_timer_new(int64_t ns)
{
    go_timer *gt = timer_alloc(NULL, NULL);
    if (gt)
        timer_start(&gt->t, deadline_after(ns));
    return gt;
}

go_timer *go_timer_func(int64_t ns, go_func fn, void *arg)
{
    if (!fn) {
        errno = EINVAL;
        return NULL;
    }
    go_timer *gt = timer_alloc(fn, arg);
    if (gt)
        timer_start(&gt->t, deadline_after(ns));
    return gt;
}

go_chan *go_timer_chan(go_timer *t)
{
    return t ? t->c : NULL;
}

bool go_timer_stop(go_timer *t)
{
    return t ? timer_stop(&t->t) : false;
}

bool go_timer_reset(go_timer *t, int64_t ns)
{
    return t ? timer_reset(&t->t, deadline_after(ns)) : false;
}

void go_timer_free(go_timer *t)
{
    if (!t)
        return;
    timer_stop(&t->t);
    go_chan_free(t->c);
    free(t);
}

/* ---- go_ticker -------------------------------------------------------------------- */

struct go_ticker {
    rtimer_t t;
    go_chan *c; /* immutable */
};

go_ticker *go_ticker_new(int64_t period)
{
    if (period <= 0) {
        errno = EINVAL;
        return NULL;
    }
    go_ticker *tk = calloc(1, sizeof *tk);
    go_chan *c = tk ? chan_make_internal(sizeof(int64_t), 1) : NULL;
    if (!c) {
        free(tk);
        errno = ENOMEM;
        return NULL;
    }
    tk->c = c;
    tk->t.fn = send_time;
    tk->t.arg = c;
    /* period is set by the arming itself, under the heap lock. */
    (void)modify(&tk->t, true, deadline_after(period), period, true);
    return tk;
}

go_chan *go_ticker_chan(go_ticker *t)
{
    return t ? t->c : NULL;
}

void go_ticker_stop(go_ticker *t)
{
    if (t)
        timer_stop(&t->t);
}

int go_ticker_reset(go_ticker *t, int64_t period)
{
    if (!t || period <= 0)
        return -EINVAL;
    (void)modify(&t->t, true, deadline_after(period), period, true);
    return 0;
}

void go_ticker_free(go_ticker *t)
{
    if (!t)
        return;
    timer_stop(&t->t);
    go_chan_free(t->c);
    free(t);
}
