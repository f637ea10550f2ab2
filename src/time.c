/*
 * time.c - runtime timers (Go's runtime/time.go) and the public time API
 * built on them: go_now, go_sleep, go_after, go_timer_*, go_ticker_*.
 *
 * Queues. Each P owns a 4-ary min-heap of timers ordered by `when`, under
 * p->timerlock (Go's layout: a 4-ary heap is shallower than a binary one,
 * and its four children share a cache line or two, so a sift costs fewer
 * misses); each slot holds the timer's address and a copy of its `when`,
 * so that sifts never touch the timers. Sleeps, which nobody can stop
 * (TIMER_NOSTOP), mostly skip the heap: they arrive in deadline order and
 * queue in O(1) on a sorted ring, the run (see below). p->timer0_when is
 * the earliest `when` of both (0 for none), stored under the lock and read
 * with one atomic load by the scheduler, which asks "is anything due?" at
 * every switch. A timer is armed on the arming M's P, or, from a plain
 * thread or an M without a P, on a P chosen round-robin among the
 * GOMAXPROCS live ones: any P will do, since any M may run any P's timers
 * (timers_run), which is how a P whose M is busy still gets its timers run
 * by idle and spinning Ms. When a timer becomes its P's earliest,
 * sched_timer_armed() makes sure some M wakes up for it.
 *
 * Firing. The M that runs a P's due timers readies their goroutines onto
 * its own P (the one whose run queue it is about to take work from), in
 * batches whose cache misses overlap (fire_nostop), and fires only as
 * many as fill that P's ring to half (at least one): the rest wait in
 * deadline order rather than overflow to the global queue. A P retired by a GOMAXPROCS
 * shrink hands its timers to P 0 (timers_adopt), and so does a periodic
 * timer that finds its P retired when it is put back (timers_run).
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
 * Timers are not run from the middle of a park: a callback could need the
 * lock the parking goroutine still holds (sched.c runs them after the
 * park's unlock function instead).
 *
 * Out of memory. Growing a heap is the only allocation. Arming an idle
 * timer reserves its slot first, so it can fail without changing anything
 * (timer_arm returns -ENOMEM, which go_timer_* and go_ticker_* report);
 * a popped timer keeps its slot reserved until its callback is done, so
 * putting a periodic timer back can never fail. Callers that cannot
 * report the failure (sleep, deadlines) use timer_start, for which it is
 * fatal.
 *
 * Sleep: a goroutine parks with a TIMER_NOSTOP timer that readies it,
 * armed by the park's unlock function (after its context is saved, so the
 * callback cannot ready it too early); the runner disarms it before the
 * callback, so the woken goroutine returns without a timer_stop(). The
 * timer is g->sleep, in the goroutine's own descriptor, just after the
 * two lines that readying and resuming it read (struct g), so that when
 * a timer is FIRE_AHEAD from firing, one prefetch per line starts loading
 * everything its wake-up will miss on, one page's TLB entry included. In
 * go_sleep's frame, where it used to be, only the timer's own line could
 * be prefetched ahead: the descriptor's address was known only once it
 * had arrived, and with many sleepers every line is cold when its timer
 * fires (bench_timers). A plain thread sleeps in clock_nanosleep on an
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
#include "trace.h"

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

/*
 * A slot holds the timer's address and a copy of its `when`. The sifts
 * compare the copies, so they read only the slot array, never the timers
 * themselves: those are scattered (most live in the descriptors of parked
 * goroutines, one page each), and comparing through the pointers cost a
 * cache and TLB miss per child visited, four per level, which made popping
 * the root of a 100,000-timer heap the largest cost of waking a sleeper.
 *
 * A sift also records each moved timer's new position in t->idx, which
 * stop and reset need to find it. That is a store to a cold line per level
 * too, so a TIMER_NOSTOP timer, which is never stopped while armed, is
 * marked in the low bit of its slot (timers are at least 8-byte aligned)
 * and its idx is never written.
 */
struct timer_slot {
    int64_t when;  /* == t->when while t is in this heap */
    uintptr_t tv;  /* the timer's address | SLOT_UNTRACKED */
};
#define SLOT_UNTRACKED ((uintptr_t)1)

static inline rtimer_t *slot_timer(struct timer_slot x)
{
    return (rtimer_t *)(x.tv & ~SLOT_UNTRACKED);
}

static inline void heap_put(p_t *p, int32_t i, struct timer_slot x)
{
    p->timers[i] = x;
    if (!(x.tv & SLOT_UNTRACKED))
        slot_timer(x)->idx = i;
}

/* Both sifts return the final index of the slot they moved. */
static int32_t sift_up(p_t *p, int32_t i)
{
    struct timer_slot x = p->timers[i];
    while (i > 0) {
        int32_t parent = (i - 1) / 4;
        if (p->timers[parent].when <= x.when)
            break;
        heap_put(p, i, p->timers[parent]);
        i = parent;
    }
    heap_put(p, i, x);
    return i;
}

static int32_t sift_down(p_t *p, int32_t i)
{
    int32_t n = p->ntimers;
    struct timer_slot x = p->timers[i];
    for (;;) {
        int32_t c = 4 * i + 1;
        if (c >= n)
            break;
        int32_t best = c;
        int64_t bw = p->timers[c].when;
        int32_t end = c + 4 < n ? c + 4 : n;
        for (int32_t k = c + 1; k < end; k++) {
            if (p->timers[k].when < bw) {
                best = k;
                bw = p->timers[k].when;
            }
        }
        if (bw >= x.when)
            break;
        heap_put(p, i, p->timers[best]);
        i = best;
    }
    heap_put(p, i, x);
    return i;
}

/* ---- the sleep run (under p->timerlock) ------------------------------------ */

/*
 * Sleeps of one duration are armed in deadline order: each one's `when` is
 * "now + d" with a later now. So a TIMER_NOSTOP timer whose `when` is no
 * earlier than that of the last one queued goes to the tail of a per-P
 * ring, the run, instead of the heap: arming and firing it are O(1) and
 * touch the ring's two ends, where a heap sifts through eight levels of an
 * array too big for the cache once 100,000 goroutines sleep. Nothing is
 * ever removed from the middle of the run, since nobody stops such a
 * timer. A timer that would break the order goes to the heap; firing
 * merges the two by `when`, so timers still fire in deadline order.
 */
static inline uint32_t run_len(p_t *p)
{
    return p->trun_tail - p->trun_head;
}

static inline struct timer_slot *run_at(p_t *p, uint32_t i)
{
    return &p->trun[i & (p->truncap - 1)];
}

/* Append x if that keeps the run sorted and memory allows; else false. */
static bool run_push(p_t *p, struct timer_slot x)
{
    uint32_t n = run_len(p);
    if (n > 0 && x.when < run_at(p, p->trun_tail - 1)->when)
        return false;
    if (n == p->truncap) {
        uint32_t cap = p->truncap ? p->truncap * 2 : 64;
        struct timer_slot *nr = cap <= (1u << 28) ? malloc(cap * sizeof *nr) : NULL;
        if (!nr)
            return false; /* the heap has room reserved for it */
        for (uint32_t i = 0; i < n; i++)
            nr[i] = *run_at(p, p->trun_head + i);
        free(p->trun);
        p->trun = nr;
        p->truncap = cap;
        p->trun_head = 0;
        p->trun_tail = n;
    }
    *run_at(p, p->trun_tail++) = x;
    return true;
}

/* ---- both queues (under p->timerlock) --------------------------------------- */

/* Publish p's earliest when (0: none) for lock-free readers. */
static inline void publish(p_t *p)
{
    int64_t w = p->ntimers ? p->timers[0].when : 0;
    if (run_len(p) > 0) {
        int64_t r = run_at(p, p->trun_head)->when;
        if (w == 0 || r < w)
            w = r;
    }
    __atomic_store_n(&p->timer0_when, w, __ATOMIC_RELEASE);
}

/*
 * Make room for n more timers in the heap (which can take any timer, so
 * this is enough whichever queue they go to); false if memory ran out
 * (nothing changed). Room is also kept for the timers p's runners have
 * popped and may put back (a periodic timer, or one its callback reset):
 * p->ntimersrun of them, so that putting one back can never fail.
 */
static bool heap_reserve(p_t *p, int32_t n)
{
    int64_t need = (int64_t)p->ntimers + p->ntimersrun + n;
    if (need <= p->timercap)
        return true;
    int64_t cap = p->timercap ? p->timercap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > INT32_MAX)
        return false;
    struct timer_slot *nt = realloc(p->timers, (size_t)cap * sizeof *nt);
    if (!nt)
        return false;
    p->timers = nt;
    p->timercap = (int32_t)cap;
    return true;
}

/* Queue slot x (room reserved): on the run if it can go there, else in
 * the heap. Does not publish. */
static void queue_slot(p_t *p, struct timer_slot x)
{
    if ((x.tv & SLOT_UNTRACKED) && run_push(p, x))
        return;
    RT_ASSERT(p->ntimers < p->timercap);
    int32_t i = p->ntimers++;
    heap_put(p, i, x);
    sift_up(p, i);
}

/* Queue t (t->when set, room reserved); returns true if it is now p's
 * earliest timer. */
static bool queue_add(p_t *p, rtimer_t *t)
{
    int64_t old = __atomic_load_n(&p->timer0_when, __ATOMIC_RELAXED);
    uintptr_t tv = (uintptr_t)t | ((t->flags & TIMER_NOSTOP) ? SLOT_UNTRACKED : 0);
    queue_slot(p, (struct timer_slot){t->when, tv});
    publish(p);
    return old == 0 || t->when < old;
}

enum { DUE_NONE, DUE_HEAP, DUE_RUN };

/* Which queue holds p's earliest timer, if that is due by now. */
static inline int due(p_t *p, int64_t now)
{
    int64_t h = p->ntimers ? p->timers[0].when : INT64_MAX;
    if (run_len(p) > 0) {
        int64_t r = run_at(p, p->trun_head)->when;
        if (r <= h)
            return r <= now ? DUE_RUN : DUE_NONE;
    }
    return h <= now ? DUE_HEAP : DUE_NONE;
}

/* Remove slot i; returns the timer it held. */
static rtimer_t *heap_remove(p_t *p, int32_t i)
{
    rtimer_t *t = slot_timer(p->timers[i]);
    int32_t last = --p->ntimers;
    if (i != last) {
        /* Move the last timer into the hole; it may belong above or below. */
        heap_put(p, i, p->timers[last]);
        if (sift_up(p, i) == i)
            sift_down(p, i);
    }
    p->timers[last] = (struct timer_slot){0, 0};
    publish(p);
    return t;
}

/* Remove a tracked timer from wherever it is. */
static void heap_del(p_t *p, rtimer_t *t)
{
    int32_t i = t->idx;
    RT_ASSERT(i >= 0 && i < p->ntimers && slot_timer(p->timers[i]) == t);
    heap_remove(p, i);
    t->idx = -1;
}

/* A tracked timer's when changed in place; returns true if it is now p's
 * earliest timer. */
static bool heap_fix(p_t *p, rtimer_t *t)
{
    int32_t i = t->idx;
    p->timers[i].when = t->when;
    if (sift_up(p, i) == i)
        sift_down(p, i);
    publish(p);
    return __atomic_load_n(&p->timer0_when, __ATOMIC_RELAXED) == t->when;
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

/*
 * Is p one of the GOMAXPROCS Ps? A P above GOMAXPROCS is retired (or about
 * to be), and only idle and spinning Ms, which scan every P, would run its
 * timers: a busy M looks only at its own P's. Asked under p's heap lock
 * after putting a timer there: a shrink stores gomaxprocs under sched.lock
 * before any retirement moves the P's timers away (retirep, or
 * sched_setmaxprocs for an idle P, both under that heap lock after taking
 * sched.lock), so either that move comes after ours and takes our timer
 * along, or we see the new gomaxprocs here and move it ourselves.
 */
static inline bool p_live(p_t *p)
{
    return p->id < __atomic_load_n(&sched.gomaxprocs, __ATOMIC_ACQUIRE);
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

/* Arm an IDLE timer. Returns 1 if armed, 0 if it was not IDLE any more
 * (someone else armed it first: the caller re-examines it), -ENOMEM if
 * the heap could not grow (t is left IDLE). */
static int arm_idle(rtimer_t *t, int64_t when, int64_t period)
{
    p_t *p = choose_p();
    rlock(&p->timerlock);
    if (__builtin_expect(!p_live(p), 0)) {
        /* A plain thread's round-robin pick raced with a shrink, or our M
         * is about to retire its P: use P 0, which is always live. */
        runlock(&p->timerlock);
        p = allp[0];
        rlock(&p->timerlock);
    }
    if (!heap_reserve(p, 1)) {
        runlock(&p->timerlock);
        return -ENOMEM;
    }
    uint32_t idle = T_IDLE;
    if (!__atomic_compare_exchange_n(&t->state, &idle, T_ARMED, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED)) {
        runlock(&p->timerlock);
        return 0;
    }
    __atomic_store_n(&t->p, p, __ATOMIC_RELEASE);
    t->when = when;
    if (period >= 0)
        t->period = period;
    bool root = queue_add(p, t);
    runlock(&p->timerlock);
    /* t may be stopped and freed from here on: use only locals. */
    if (root)
        sched_timer_armed(when);
    return 1;
}

/*
 * The one modifier. arm false: stop. arm true: stop and re-arm at `when`
 * (with `period` if >= 0) as one step. wait: for a callback running on
 * another M. Returns 1 if the timer was armed (would have fired), else 0;
 * -ENOMEM if it was idle, had to be armed, and its heap could not grow
 * (it stays idle).
 */
static int modify(rtimer_t *t, bool arm, int64_t when, int64_t period, bool wait)
{
    when = clamp_when(when);
    for (;;) {
        p_t *p = lock_timer(t);
        if (!p) {
            if (!arm)
                return 0;
            int r = arm_idle(t, when, period);
            if (r != 0)
                return r < 0 ? r : 0;
            continue;
        }
        uint32_t s = __atomic_load_n(&t->state, __ATOMIC_RELAXED);
        if (s == T_ARMED) {
            if (t->flags & TIMER_NOSTOP)
                RT_THROW("stop or reset of an armed TIMER_NOSTOP timer");
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
            return 1;
        }
        RT_ASSERT(is_running(s));
        /* Would the running callback be followed by another firing? */
        bool active = s == T_RUNNING_RESET || (s == T_RUNNING && t->period > 0);
        if (running_here() == t) {
            /* Our own callback: record the wish, the runner acts on it
             * (putting t back needs no memory: see heap_reserve). */
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
    if (modify(t, true, when, -1, true) < 0)
        RT_THROW("out of memory growing a timer heap");
}

bool timer_stop(rtimer_t *t)
{
    return modify(t, false, 0, -1, true) > 0;
}

bool timer_try_stop(rtimer_t *t)
{
    return modify(t, false, 0, -1, false) > 0;
}

bool timer_reset(rtimer_t *t, int64_t when)
{
    int r = modify(t, true, when, -1, true);
    if (r < 0)
        RT_THROW("out of memory growing a timer heap");
    return r > 0;
}

int timer_arm(rtimer_t *t, int64_t when, int64_t period)
{
    return modify(t, true, when, period, true);
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

/*
 * Fire the due TIMER_NOSTOP timers at the front of p's queues, up to a
 * batch of them (and at most max); returns how many. Called and returns
 * with p's heap lock held. Nobody else
 * touches such a timer while it is armed, so it is disarmed here, before
 * its callback, under the lock: the runner never touches it again, and
 * the owner (a sleeping goroutine) needs no handshake with it once
 * readied. A batch lets the cache misses of its timers, each on its own
 * goroutine's stack, and of their callbacks' arguments overlap instead of
 * following one another: taking them from the queues reads only the
 * queues, and each timer is prefetched as it leaves, well before it is
 * read.
 */
#define FIRE_BATCH 32
#define FIRE_AHEAD 32

/*
 * Start loading what firing timer t and then readying and resuming its
 * goroutine read. Every timer on the run is a sleep's (TIMER_NOSTOP is
 * go_sleep's alone), that is g->sleep of the sleeping goroutine: from the
 * descriptor's first line, which the switch reads, through the timer's
 * (struct g). Were it some other timer, prefetching lines near it would
 * cost a little bandwidth and nothing else: a prefetch never faults.
 */
static inline void prefetch_sleeper(const rtimer_t *t)
{
    /* The descriptor is line-aligned: one prefetch per line it spans up
     * to the timer's end. */
    const char *g = (const char *)t - offsetof(g_t, sleep);
    for (size_t off = 0; off < offsetof(g_t, sleep) + sizeof *t; off += CACHE_LINE)
        __builtin_prefetch(g + off, 1);
}

static int fire_nostop(p_t *p, int64_t now, int max)
{
    rtimer_t *ts[FIRE_BATCH];
    void (*fns[FIRE_BATCH])(rtimer_t *, void *, int64_t);
    void *args[FIRE_BATCH];
    int n = 0;
    if (max > FIRE_BATCH)
        max = FIRE_BATCH;
    for (int d; n < max && (d = due(p, now)) != DUE_NONE;) {
        rtimer_t *t;
        if (d == DUE_RUN) {
            /* Timers further down the run fire soon: start loading them
             * (and their page's TLB entry) a batch ahead. */
            if (p->trun_tail - p->trun_head > FIRE_AHEAD)
                prefetch_sleeper(slot_timer(*run_at(p, p->trun_head + FIRE_AHEAD)));
            t = slot_timer(*run_at(p, p->trun_head++));
        } else if (p->timers[0].tv & SLOT_UNTRACKED)
            t = heap_remove(p, 0);
        else
            break; /* a stoppable timer: timers_run's own path */
        __builtin_prefetch(t, 1);
        ts[n++] = t;
    }
    publish(p);
    for (int i = 0; i < n; i++) {
        rtimer_t *t = ts[i];
        fns[i] = t->fn;
        args[i] = t->arg;
        __builtin_prefetch(args[i], 1);
        __atomic_store_n(&t->p, NULL, __ATOMIC_RELAXED);
        set_state(t, T_IDLE);
    }
    runlock(&p->timerlock);
    for (int i = 0; i < n; i++)
        fns[i](ts[i], args[i], now);
    rlock(&p->timerlock);
    return n;
}

int64_t timers_run(p_t *p, int64_t now)
{
    /* Callers never run us half-way through a park (whose lock a callback
     * might need): schedule_from() skips the timers then, and after_switch()
     * runs them once the park's unlock function has run. */
    int64_t armed_root = 0; /* earliest re-armed timer that became root */
    /*
     * How many to fire. The goroutines the callbacks ready queue on the
     * caller's P: fire only as many as fill its ring to half, leaving the
     * rest in the queues (in deadline order) rather than overflowing the
     * ring to the global queue, where taking each G back costs a walk over
     * its cold descriptor; the goroutines readied so far would run first
     * either way. The caller fires more at its next switch, or when it
     * looks for work, and other Ms may meanwhile. At least one per call,
     * so that a P whose ring stays full (goroutines yielding in a loop)
     * still runs its timers, one per switch. An M without a P readies
     * onto the global queue anyway, so it fires them all.
     */
    m_t *m = sched_getm();
    p_t *runq = m ? m->p : NULL;
    int budget = INT_MAX;
    if (runq) {
        int32_t room = RUNQ_SIZE / 2 - (int32_t)sched_runq_len(runq);
        budget = room > 1 ? room : 1;
    }
    rlock(&p->timerlock);
    for (int d; budget > 0 && (d = due(p, now)) != DUE_NONE;) {
        if (d == DUE_RUN || (p->timers[0].tv & SLOT_UNTRACKED)) {
            budget -= fire_nostop(p, now, budget);
            continue;
        }
        budget--;
        rtimer_t *t = heap_remove(p, 0);
        t->idx = -1;
        int64_t when = t->when;
        set_state(t, T_RUNNING);
        p->ntimersrun++; /* its slot stays reserved: see heap_reserve */
        runlock(&p->timerlock);

        set_running_here(t);
        TRACE(TEV_TIMER, (uintptr_t)t->fn, 0, 0);
        t->fn(t, t->arg, now);
        set_running_here(NULL);

        /* Nobody else changes t->p of a RUNNING timer: it is still p. */
        rlock(&p->timerlock);
        p->ntimersrun--;
        uint32_t s = __atomic_load_n(&t->state, __ATOMIC_RELAXED);
        int64_t next = 0;
        if (s == T_RUNNING_RESET)
            next = t->when;
        else if (s == T_RUNNING && t->period > 0)
            next = next_tick(when, t->period, now);
        if (next) {
            t->when = next;
            set_state(t, T_ARMED);
            if (queue_add(p, t) && (armed_root == 0 || next < armed_root))
                armed_root = next;
        } else {
            __atomic_store_n(&t->p, NULL, __ATOMIC_RELAXED);
            set_state(t, T_IDLE); /* the owner may free t from here on */
        }
    }
    /* A periodic timer re-armed here after GOMAXPROCS retired p, or timers
     * left in a P that went idle before it was retired: move them to a
     * live P, where a busy M will see them. */
    bool orphaned = (p->ntimers > 0 || run_len(p) > 0) && !p_live(p);
    int64_t first = __atomic_load_n(&p->timer0_when, __ATOMIC_RELAXED);
    runlock(&p->timerlock);
    if (orphaned) {
        timers_adopt(allp[0], p);
        first = __atomic_load_n(&p->timer0_when, __ATOMIC_ACQUIRE);
    } else if (armed_root) {
        sched_timer_armed(armed_root);
    }
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

/* For deadlock detection (sched.c), called under sched.lock, so it takes
 * no lock: heap locks come before it. */
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
    int64_t old_root = __atomic_load_n(&to->timer0_when, __ATOMIC_RELAXED);
    int64_t root = old_root;
    int32_t nrun = (int32_t)run_len(from);
    /* Out of memory: the timers stay where they are. They still fire, as
     * idle and spinning Ms scan every P, only perhaps late while every M
     * is busy; the next timers_run() on `from` tries again. */
    if ((from->ntimers > 0 || nrun > 0) && heap_reserve(to, from->ntimers + nrun)) {
        for (int32_t i = 0; i < from->ntimers; i++) {
            struct timer_slot x = from->timers[i];
            from->timers[i] = (struct timer_slot){0, 0};
            __atomic_store_n(&slot_timer(x)->p, to, __ATOMIC_RELEASE);
            queue_slot(to, x);
        }
        from->ntimers = 0;
        while (run_len(from) > 0) {
            struct timer_slot x = *run_at(from, from->trun_head++);
            __atomic_store_n(&slot_timer(x)->p, to, __ATOMIC_RELEASE);
            queue_slot(to, x);
        }
        publish(from);
        publish(to);
        root = __atomic_load_n(&to->timer0_when, __ATOMIC_RELAXED);
    }
    runlock(&b->timerlock);
    runlock(&a->timerlock);
    /* RUNNING timers of `from` are in no heap and keep t->p == from: a
     * periodic one is put back there after its callback (its slot is
     * reserved there), and timers_run() then moves it here. */
    if (root != 0 && root != old_root)
        sched_timer_armed(root);
}

/* ---- the public API: now, sleep ------------------------------------------------ */

/* now + ns, saturated (ns > 0). */
static inline int64_t deadline_from(int64_t now, int64_t ns)
{
    return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

static inline int64_t deadline_after(int64_t ns)
{
    return deadline_from(nanotime(), ns);
}

int64_t go_now(void)
{
    return nanotime();
}

/* A TIMER_NOSTOP callback: the timer is disarmed already, and the
 * goroutine may run (and return from go_sleep) as soon as it is ready. */
static void sleep_fire(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    g_t *g = arg;
    /* It runs soon, from this P's queue: start loading its frames. */
    g_prefetch_resume(g);
    sched_goready(g);
}

/* The park's unlock function (arg: the sleeping g, its timer's `when`
 * set): the goroutine's context is saved, so the timer may ready it from
 * now on. */
static void sleep_arm(void *arg)
{
    g_t *g = arg;
    /* Idle, and nobody else knows of it: no need to look it up first. */
    if (arm_idle(&g->sleep, g->sleep.when, -1) <= 0)
        RT_THROW("out of memory growing a timer heap");
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
    int64_t now = nanotime();
    int64_t deadline = deadline_from(now, ns);
    g_t *g = sched_getg();
    if (!g) {
        /* A plain thread, or an M's g0 (a callback must not sleep, but
         * if one does, it blocks its M rather than corrupting a park). */
        sleep_thread(deadline);
        return;
    }
    /* Only the timer can wake us, and nobody else knows of it, so it is
     * never stopped while armed: TIMER_NOSTOP, which the heaps handle
     * more cheaply and which needs no timer_stop() after the wake-up (its
     * runner disarmed it before readying us). It is the one in our own
     * descriptor (a goroutine sleeps once at a time, and the timer is idle
     * again before we run), which the runner prefetches whole ahead of
     * firing it (prefetch_sleeper). The callback readies g itself, so the
     * waiter is only the park's formality. */
    RT_ASSERT(__atomic_load_n(&g->sleep.state, __ATOMIC_RELAXED) == 0 && g->sleep.p == NULL);
    g->sleep.fn = sleep_fire;
    g->sleep.arg = g;
    g->sleep.flags = TIMER_NOSTOP;
    g->sleep.when = deadline; /* an idle timer's owner may set it */
    waiter_t w;
    w.g = g; /* the rest of the waiter is unused when a goroutine parks */
    sched_getm()->park_now = now;
    sched_park(&w, sleep_arm, g, WAIT_SLEEP);
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
    if (timer_arm(&a->t, deadline_after(ns), -1) < 0) {
        go_chan_free(c); /* its hook frees a */
        errno = ENOMEM;
        return NULL;
    }
    DEBUG_OBJ_NEW(DOBJ_AFTER, c);
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

/* Arm a new go_timer, or free it and fail with ENOMEM. */
static go_timer *timer_arm_new(go_timer *gt, int64_t ns)
{
    if (gt && timer_arm(&gt->t, deadline_after(ns), -1) < 0) {
        go_chan_free(gt->c);
        free(gt);
        errno = ENOMEM;
        return NULL;
    }
    return gt;
}

go_timer *go_timer_new(int64_t ns)
{
    go_timer *t = timer_arm_new(timer_alloc(NULL, NULL), ns);
    DEBUG_OBJ_NEW(DOBJ_TIMER, t);
    return t;
}

go_timer *go_timer_func(int64_t ns, go_func fn, void *arg)
{
    if (!fn) {
        errno = EINVAL;
        return NULL;
    }
    go_timer *t = timer_arm_new(timer_alloc(fn, arg), ns);
    DEBUG_OBJ_NEW(DOBJ_TIMER, t);
    return t;
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
    if (!t)
        return false;
    int r = timer_arm(&t->t, deadline_after(ns), -1);
    if (r < 0) {
        errno = ENOMEM; /* not re-armed; it was not active either */
        return false;
    }
    return r > 0;
}

void go_timer_free(go_timer *t)
{
    if (!t)
        return;
    DEBUG_OBJ_FREE(t);
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
    if (timer_arm(&tk->t, deadline_after(period), period) < 0) {
        go_chan_free(c);
        free(tk);
        errno = ENOMEM;
        return NULL;
    }
    DEBUG_OBJ_NEW(DOBJ_TICKER, tk);
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
    return timer_arm(&t->t, deadline_after(period), period) < 0 ? -ENOMEM : 0;
}

void go_ticker_free(go_ticker *t)
{
    if (!t)
        return;
    DEBUG_OBJ_FREE(t);
    timer_stop(&t->t);
    go_chan_free(t->c);
    free(t);
}
