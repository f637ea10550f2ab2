/*
 * sched.c - the G-M-P scheduler.
 *
 * The model is Go's (runtime/proc.go): G is a goroutine, M an OS thread, P
 * a processor, the right to run goroutines; there are GOMAXPROCS Ps. An M
 * must hold a P to run goroutines. Each P has a bounded lock-free local run
 * queue (256 slots) and a `runnext` slot that holds the G its running G
 * most recently spawned or readied, so a producer/consumer pair ping-pongs
 * on one P without touching any queue. A global run queue under sched.lock
 * takes what does not fit; each P checks it every 61 schedule ticks so it
 * cannot starve. A plain thread (not a goroutine) that spawns gets a ring
 * of its own, stolen from like a P's and checked with the global queue
 * (see "plain threads' spawn rings" below).
 *
 * Finding work (findrunnable, on the M's own thread stack, "g0"): local
 * queue, global queue, plain threads' rings, then, as a *spinning* M,
 * steal half of a random
 * victim's queue (4 rounds over all Ps, the last one also taking victims'
 * runnext). An M that finds nothing releases its P to the idle list and
 * parks on its note.
 *
 * Spinning and wake-ups, the invariant that prevents lost wake-ups: when
 * work is added to a queue and there is an idle P, at least one M is
 * spinning or about to be woken. Whoever adds work calls sched_wakep(),
 * which wakes an M only if no M is spinning (so a burst of spawns wakes
 * one M, not one per spawn). A spinning M that finds work stops spinning
 * and calls sched_wakep() itself if it was the last spinner, handing the
 * duty on. A spinning M that finds nothing first publishes that it stopped
 * spinning (nmspinning--, a seq_cst RMW) and only then checks every P's
 * queue once more; the adder publishes its work before reading nmspinning.
 * One of the two sees the other (Dekker), so work is never stranded with
 * everyone asleep. Ps are put idle only with empty local queues, and the
 * global queue is checked under sched.lock before a P goes idle.
 *
 * Direct switches and "after-switch" actions. A G that yields, parks or
 * exits does not switch to g0 and then to the next G (two switches, as Go
 * does): it picks the next G from its P's local queue itself and switches
 * straight to it. What must happen to the old G once it is fully saved
 * (put it on a run queue, release the lock it parked under, recycle its
 * stack) is written into its M (m->after*) and done by whatever runs next
 * on that M, in after_switch(). Only when the local queue is empty does
 * the G switch to g0, which runs findrunnable. The M pointer travels as
 * the value of the switch, so resumed code learns its (possibly new) M
 * without reading thread-local storage.
 *
 * Time slices (Go's): a G taken from runnext runs in the slice of the G
 * that readied or spawned it (set_running's inherit), so sysmon's 10 ms
 * clock, which restarts when schedtick moves, also runs for a pair of Gs
 * handing off to each other. sysmon's request (g->preempt) is honoured
 * where the runtime can switch cheaply: at go() (sched_newg_ready), and
 * when the G parks or exits (slice_over: the G it readied loses runnext),
 * besides the signal at a safe point. A G that overflows its ring into a
 * long global queue is asked to yield as well (spill_backlog).
 *
 * Changing GOMAXPROCS needs no stop-the-world: allp has room for
 * GO_MAXPROCS_MAX Ps. Growing creates or revives Ps and puts them idle;
 * shrinking lowers the count, and each M holding a P with id >= gomaxprocs
 * retires it at its next trip through g0: its local queue moves to the
 * global queue and the P is marked dead. Stealers scan every P ever
 * created, so nothing queued on a retiring P is stranded.
 *
 * Locked threads (go_lock_thread): a G wired to an M runs only there. When
 * it blocks, its M hands the P off and sleeps; when any M dequeues it, that
 * M hands its P to the wired M and goes idle (Go's startlockedm).
 *
 * Rejected: a single global queue (contention at a few cores); running the
 * scheduler on every switch (doubles the cost of yield and park); stopping
 * the world to resize (needs preemption of running goroutines, which only
 * exists at safe points).
 */
#include "sched.h"
#include "testhooks.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "debug.h"
#include "proc.h"
#include "stack.h"
#include "netpoll.h"
#include "sysmon.h"
#include "time.h"
#include "trace.h"


struct sched sched = {
    .lock = RLOCK_INIT(LOCK_RANK_SCHED),
    .gfree_lock = RLOCK_INIT(LOCK_RANK_GFREE),
};
p_t *allp[GO_MAXPROCS_MAX];

__thread m_t *sched_tls_m __attribute__((tls_model("initial-exec")));

__attribute__((noinline)) m_t *sched_getm(void)
{
    __asm__ __volatile__("" ::: "memory");
    m_t *m = sched_tls_m;
    if (__builtin_expect(!m && __atomic_load_n(&rt_forked, __ATOMIC_RELAXED), 0))
        rt_fork_fatal();
    return m;
}

__attribute__((noinline)) g_t *sched_getg(void)
{
    m_t *m = sched_getm();
    return m ? m->curg : NULL;
}

/* errno is thread-local, and compilers treat __errno_location() as const
 * within a function, so code that may resume on another thread must never
 * reuse an errno address it computed before a switch. Each M caches its
 * thread's errno address (m->errno_loc); the switch code saves and
 * restores errno through the M it is running on before and after. */

/* ---- sanitizer fiber annotations -------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define GO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GO_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define GO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GO_TSAN 1
#endif
#endif

#ifdef GO_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
                                    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
#endif
#ifdef GO_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

void sched_fiber_init_g(g_t *g)
{
#ifdef GO_TSAN
    if (!g->fiber)
        g->fiber = __tsan_create_fiber(0);
#else
    (void)g;
#endif
}

/* Called on another fiber than g's (g is dead and switched away from):
 * TSan cannot destroy the fiber it is running on. */
void sched_fiber_free_g(g_t *g)
{
#ifdef GO_TSAN
    if (g->fiber) {
        __tsan_destroy_fiber(g->fiber);
        g->fiber = NULL;
    }
#else
    (void)g;
#endif
}

/*
 * The one place that switches contexts. `from`/`to` are NULL for g0.
 * Returns the M now running the resumed side (for the caller: its own
 * context was resumed, maybe on another M).
 */
static inline m_t *switch_ctx(m_t *m, g_t *from, g_t *to)
{
    mctx_t *fc = from ? &from->ctx : &m->g0ctx;
    mctx_t *tc = to ? &to->ctx : &m->g0ctx;
#ifdef GO_ASAN
    void *fake = NULL;
    const void *bottom = to ? (const void *)to->stack_lo : m->asan_bottom;
    size_t size = to ? (size_t)(to->stack_hi - to->stack_lo) : m->asan_size;
    bool dying = from && from->status == G_DEAD;
    __sanitizer_start_switch_fiber(dying ? NULL : &fake, bottom, size);
#endif
#ifdef GO_TSAN
    __tsan_switch_to_fiber(to ? to->fiber : m->fiber, 0);
#endif
    TRACE_SWITCH(from, to);
    m_t *now = mctx_switch(fc, tc, m);
#ifdef GO_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    return now;
}

/* ---- local run queue (Go's runqput/runqget/runqgrab) ------------------- */

/*
 * The ring is single-producer (the owner P writes slots and runqtail),
 * multi-consumer (the owner and stealers advance runqhead by CAS). A
 * consumer reads slots [h, h+n) and then claims them with one CAS on head;
 * if the owner reused a slot meanwhile, head must have moved past it (the
 * owner writes slot t only when t - head < RUNQ_SIZE), so the CAS fails and
 * the stale read is thrown away. Slots are accessed with relaxed atomics so
 * that this benign race is not a C11 data race.
 */
#define GLOBCHECK 61 /* see globcheck_due() */
#define GLOBCHECK_BATCH 32 /* Gs taken from the global queue at that check, room allowing */

_Static_assert((RUNQ_SIZE & (RUNQ_SIZE - 1)) == 0, "RUNQ_SIZE must be a power of 2");

static inline g_t *slot_load(struct gring *r, uint32_t i)
{
    return __atomic_load_n(&r->slots[i % RUNQ_SIZE], __ATOMIC_RELAXED);
}
static inline void slot_store(struct gring *r, uint32_t i, g_t *g)
{
    __atomic_store_n(&r->slots[i % RUNQ_SIZE], g, __ATOMIC_RELAXED);
}

static void globrunq_putbatch(g_t *const *gs, int32_t n);

/*
 * A goroutine that keeps overflowing its P's ring into a global queue
 * already this long (a spawning loop) is asked to yield, as sysmon would
 * ask it after 10 ms: it honours the request at its next go() (see
 * sched_newg_ready), goes to the back of the global queue, and what it
 * queued runs and exits meanwhile, so its stacks are reused instead of a
 * fresh one being faulted in per spawn. Without this a spawner at
 * GOMAXPROCS=1 queued ~100,000 goroutines (400 MB of stacks) per 10 ms
 * slice. The global queue, not the ring, is what is measured: the ring
 * is bounded anyway.
 */
#define SPILL_BACKLOG 4096
static void spill_backlog(void)
{
    m_t *m = sched_getm();
    g_t *g = m ? m->curg : NULL;
    if (g)
        __atomic_store_n(&g->preempt, 1, __ATOMIC_RELAXED);
}

/* Ring r full (its owner calls): move half of it and g to the global
 * queue. */
static bool runqputslow(struct gring *r, g_t *g, uint32_t h, uint32_t t)
{
    g_t *batch[RUNQ_SIZE / 2 + 1];
    uint32_t n = (t - h) / 2;
    for (uint32_t i = 0; i < n; i++)
        batch[i] = slot_load(r, h + i);
    if (!__atomic_compare_exchange_n(&r->head, &h, h + n, false, __ATOMIC_RELEASE,
                                     __ATOMIC_RELAXED))
        return false;
    batch[n] = g;
    rlock(&sched.lock);
    globrunq_putbatch(batch, (int32_t)n + 1);
    bool backlog = __atomic_load_n(&sched.runqsize, __ATOMIC_RELAXED) > SPILL_BACKLOG;
    runlock(&sched.lock);
    if (backlog)
        spill_backlog();
    return true;
}

/* Owner only. next: put g in runnext, kicking the old one to the tail. */
static void runqput(p_t *p, g_t *g, bool next)
{
    if (next) {
        g_t *old = __atomic_exchange_n(&p->rq.runnext, g, __ATOMIC_ACQ_REL);
        if (!old)
            return;
        g = old;
    }
    for (;;) {
        uint32_t h = __atomic_load_n(&p->rq.head, __ATOMIC_ACQUIRE);
        uint32_t t = p->rq.tail;
        if (t - h < RUNQ_SIZE) {
            slot_store(&p->rq, t, g);
            __atomic_store_n(&p->rq.tail, t + 1, __ATOMIC_RELEASE);
            return;
        }
        if (runqputslow(&p->rq, g, h, t))
            return;
    }
}

/* Owner only. *inherit is set if the G came from runnext (Go's
 * inheritTime: it runs in the current time slice, see set_running). */
static inline g_t *runqget_inherit(p_t *p, bool *inherit)
{
    g_t *next = __atomic_load_n(&p->rq.runnext, __ATOMIC_RELAXED);
    if (next && __atomic_compare_exchange_n(&p->rq.runnext, &next, NULL, false,
                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        __atomic_store_n(&p->rq.nexttaken, p->rq.nexttaken + 1, __ATOMIC_RELAXED);
        *inherit = true;
        return next;
    }
    for (;;) {
        uint32_t h = __atomic_load_n(&p->rq.head, __ATOMIC_ACQUIRE);
        uint32_t t = p->rq.tail;
        if (t == h)
            return NULL;
        g_t *g = slot_load(&p->rq, h);
        if (__atomic_compare_exchange_n(&p->rq.head, &h, h + 1, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return g;
    }
}

static g_t *runqget(p_t *p)
{
    bool inherit;
    return runqget_inherit(p, &inherit);
}

/*
 * Start loading the next queued G's descriptor and top of stack while the
 * current one runs. A G spawned by another thread arrives with those
 * lines in that thread's cache; fetching them is most of what running a
 * short goroutine costs, and a prefetch overlaps it with useful work.
 */
static inline void runq_prefetch(p_t *p)
{
    uint32_t h = __atomic_load_n(&p->rq.head, __ATOMIC_RELAXED);
    if (h != __atomic_load_n(&p->rq.tail, __ATOMIC_RELAXED))
        g_prefetch(slot_load(&p->rq, h));
}

static bool runq_empty(p_t *p)
{
    for (;;) {
        uint32_t h = __atomic_load_n(&p->rq.head, __ATOMIC_ACQUIRE);
        uint32_t t = __atomic_load_n(&p->rq.tail, __ATOMIC_ACQUIRE);
        g_t *next = __atomic_load_n(&p->rq.runnext, __ATOMIC_ACQUIRE);
        if (t == __atomic_load_n(&p->rq.tail, __ATOMIC_ACQUIRE))
            return h == t && next == NULL;
    }
}

/*
 * A thief that finds at most STEAL_SHORT Gs queued on a running P first
 * waits STEAL_WAIT_NS and steals them only if the owner has not taken its
 * head G meanwhile; a G in runnext only if the owner has not run its
 * runnext meanwhile (the same G there may be a new arrival: a select's
 * consumer readied by each producer in turn). A short queue that moves
 * belongs to goroutines handing work to each other on one CPU, and
 * stealing them makes every hand-off cross CPUs (the select benchmark at
 * GOMAXPROCS=2 is the case that showed it). A queue of long
 * runners (fib) or a pipeline that stalls (sieve) is still stolen, a few
 * us later. Go waits like this only for runnext, and only for a moment.
 */
#define STEAL_SHORT 4
#define STEAL_WAIT_NS 3000

/* Has the owner of P vp, if it is running, moved *word away from `seen`
 * after STEAL_WAIT_NS? The wait touches none of the victim's lines, which
 * their owner writes at every switch: it looks once, at the end. */
static bool owner_moves(p_t *vp, const uint32_t *word, uint32_t seen)
{
    if (__atomic_load_n(&vp->status, __ATOMIC_RELAXED) != P_RUNNING)
        return false;
    int64_t until = nanotime() + STEAL_WAIT_NS;
    do {
        for (int i = 0; i < 64; i++)
            cpu_relax();
    } while (nanotime() < until);
    return __atomic_load_n(word, __ATOMIC_ACQUIRE) != seen;
}

/* Grab half of ring v's queue into the thief's ring, starting at index
 * `bh` of it. vp: the P that owns v, or NULL for a plain thread's ring
 * (which has no runnext). Returns how many. */
static uint32_t runqgrab(struct gring *v, p_t *vp, p_t *thief, uint32_t bh, bool steal_next)
{
    for (;;) {
        uint32_t h = __atomic_load_n(&v->head, __ATOMIC_ACQUIRE);
        uint32_t t = __atomic_load_n(&v->tail, __ATOMIC_ACQUIRE);
        uint32_t n = t - h;
        n = n - n / 2;
        if (n == 0) {
            if (steal_next && vp) {
                g_t *next = __atomic_load_n(&v->runnext, __ATOMIC_ACQUIRE);
                if (next) {
                    /* The victim's M probably is about to run it: give it
                     * a moment, as Go does, to avoid thrashing a pair of
                     * goroutines that hand work back and forth. */
                    /* Not if the owner ran its runnext meanwhile: the
                     * same G there now is a new arrival (a consumer
                     * readied again by each producer in turn). */
                    if (owner_moves(vp, &v->nexttaken,
                                    __atomic_load_n(&v->nexttaken, __ATOMIC_RELAXED)))
                        return 0;
                    if (__atomic_compare_exchange_n(&v->runnext, &next, NULL, false,
                                                    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
                        slot_store(&thief->rq, bh, next);
                        return 1;
                    }
                }
            }
            return 0;
        }
        if (n > RUNQ_SIZE / 2)
            continue; /* inconsistent h and t; retry */
        /* A short queue on a running P: if its M is getting through it
         * quickly, the goroutines in it are partners handing work to each
         * other (a select and its producers), and moving them to another
         * CPU makes every hand-off a cache-line transfer. */
        if (vp && t - h <= STEAL_SHORT && owner_moves(vp, &v->head, h))
            return 0;
        for (uint32_t i = 0; i < n; i++)
            slot_store(&thief->rq, bh + i, slot_load(v, h + i));
        if (__atomic_compare_exchange_n(&v->head, &h, h + n, false,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return n;
    }
}

/* Steal half of ring v (owned by P vp, or by a plain thread if vp is
 * NULL) into p's ring; returns one G to run. */
static g_t *runqsteal(p_t *p, struct gring *v, p_t *vp, bool steal_next)
{
    uint32_t t = p->rq.tail;
    uint32_t n = runqgrab(v, vp, p, t, steal_next);
    if (n == 0)
        return NULL;
    n--;
    g_t *g = slot_load(&p->rq, t + n);
    if (n)
        __atomic_store_n(&p->rq.tail, t + n, __ATOMIC_RELEASE);
    P_STAT_INC(p, nsteal);
    TRACE(TEV_STEAL, vp ? vp->id : -1, n + 1, 0);
    return g;
}

/* ---- global run queue (under sched.lock) -------------------------------- */

/*
 * sched.runqsize counts everything in the global queue *and* in the inject
 * stack below, so every "is there global work?" check is one load. It is
 * changed with atomic RMWs since inject_push() does so without the lock.
 *
 * The queue holds G pointers in chunks, not Gs linked through schedlink
 * (Go's layout): a P that takes a batch of 128 copies pointers instead of
 * walking 128 cold descriptors one dependent miss after another, and a
 * ring that overflows hands its half over the same way. Waking 100,000
 * goroutines from one WaitGroup overflows one P's ring ~800 times. If a
 * chunk cannot be allocated, Gs are linked through schedlink after the
 * chunks (and keep going there until that list drains, so the queue stays
 * FIFO): running out of memory never loses a G.
 */
#define GQ_CHUNK 254 /* a chunk is 2 KiB */
#define GQ_SPARE 8   /* empty chunks kept for reuse */

struct gqchunk {
    struct gqchunk *next;
    uint32_t head, tail; /* gs[head..tail) are queued */
    g_t *gs[GQ_CHUNK];
};

static int32_t globrunq_len; /* Gs actually queued (chunks and list); sched.lock */

static struct gqchunk *gq_newchunk(void)
{
    struct gqchunk *c = sched.gqspare;
    if (c) {
        sched.gqspare = c->next;
        sched.ngqspare--;
    } else if ((c = malloc(sizeof *c)) == NULL) {
        return NULL;
    }
    c->next = NULL;
    c->head = c->tail = 0;
    return c;
}

/* Append one G. */
static void globrunq_push(g_t *g)
{
    struct gqchunk *c = sched.gqtail;
    if (!sched.ovfhead && (!c || c->tail == GQ_CHUNK)) {
        struct gqchunk *nc = gq_newchunk();
        if (nc) {
            if (c)
                c->next = nc;
            else
                sched.gqhead = nc;
            sched.gqtail = c = nc;
        }
    }
    if (sched.ovfhead || !c || c->tail == GQ_CHUNK) {
        /* No memory for a chunk: the linked overflow list. */
        g->schedlink = NULL;
        if (sched.ovftail)
            sched.ovftail->schedlink = g;
        else
            sched.ovfhead = g;
        sched.ovftail = g;
    } else {
        c->gs[c->tail++] = g;
    }
    globrunq_len++;
}

/* Take the oldest G, or NULL. */
static g_t *globrunq_pop(void)
{
    struct gqchunk *c = sched.gqhead;
    if (c) {
        g_t *g = c->gs[c->head++];
        if (c->head == c->tail) {
            /* Emptied (it is the tail too unless it was full). */
            sched.gqhead = c->next;
            if (!sched.gqhead)
                sched.gqtail = NULL;
            if (sched.ngqspare < GQ_SPARE) {
                c->next = sched.gqspare;
                sched.gqspare = c;
                sched.ngqspare++;
            } else {
                free(c);
            }
        }
        globrunq_len--;
        return g;
    }
    g_t *g = sched.ovfhead;
    if (g) {
        sched.ovfhead = g->schedlink;
        if (!sched.ovfhead)
            sched.ovftail = NULL;
        globrunq_len--;
    }
    return g;
}

static void inject_drain(void);

/* Queue n Gs (in this order) and count them. */
static void globrunq_putbatch(g_t *const *gs, int32_t n)
{
    /* What plain threads pushed before us goes first: FIFO. (Otherwise a
     * timer's goroutine readied by an M without a P waits behind a spinner
     * preempted after it, a whole extra time slice.) */
    inject_drain();
    for (int32_t i = 0; i < n; i++)
        globrunq_push(gs[i]);
    __atomic_add_fetch(&sched.runqsize, n, __ATOMIC_SEQ_CST);
}

/*
 * The inject stack: plain threads (and Ms without a P) hand new or readied
 * goroutines to the scheduler here with one CAS instead of taking
 * sched.lock, so a main thread spawning a million goroutines does not
 * fight the Ms that run them for the lock. It is a Treiber stack that is
 * only ever emptied whole (exchange with NULL, under sched.lock), so there
 * is no ABA problem; the drainer reverses it to keep FIFO order. The count
 * is added after the push: a drainer may briefly hold more Gs than
 * runqsize says, never fewer.
 */
static g_t *inject_head; /* atomic */

static void inject_push(g_t *g)
{
    g_t *old = __atomic_load_n(&inject_head, __ATOMIC_RELAXED);
    do {
        g->schedlink = old;
    } while (!__atomic_compare_exchange_n(&inject_head, &old, g, true, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
    __atomic_add_fetch(&sched.runqsize, 1, __ATOMIC_SEQ_CST);
}

/* Under sched.lock. */
static void inject_drain(void)
{
    if (!__atomic_load_n(&inject_head, __ATOMIC_RELAXED))
        return;
    g_t *list = __atomic_exchange_n(&inject_head, NULL, __ATOMIC_ACQUIRE);
    if (!list)
        return;
    g_t *rev = NULL;
    while (list) {
        g_t *nx = list->schedlink;
        list->schedlink = rev;
        rev = list;
        list = nx;
    }
    /* Already counted in runqsize by inject_push. */
    while (rev) {
        g_t *nx = rev->schedlink; /* before the push, which may relink rev */
        globrunq_push(rev);
        rev = nx;
    }
}

static void globrunq_put(g_t *g)
{
    globrunq_putbatch(&g, 1);
}

/* Take a fair share of the global queue into p; returns one G to run. */
static g_t *globrunq_get(p_t *p, int32_t max)
{
    inject_drain();
    /* runqsize may run ahead of the list (a push not yet counted is fine,
     * a count not yet pushed is not): size by what is really linked. */
    int32_t size = globrunq_len;
    if (size == 0)
        return NULL;
    int32_t procs = __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED);
    int32_t n = size / (procs > 0 ? procs : 1) + 1;
    if (n > size)
        n = size;
    if (max > 0 && n > max)
        n = max;
    if (n > RUNQ_SIZE / 2)
        n = RUNQ_SIZE / 2;
    __atomic_sub_fetch(&sched.runqsize, n, __ATOMIC_SEQ_CST);
    g_t *g = globrunq_pop();
    for (int32_t i = 1; i < n; i++)
        runqput(p, globrunq_pop(), false);
    return g;
}

/* ---- plain threads' spawn rings ---------------------------------------- */

/*
 * A plain thread (main, typically) that spawns goroutines gets a ring of
 * its own, the same single-producer ring a P has: a spawn is two stores,
 * and Ms take half of the ring at a time, as they steal from a P, copying
 * pointers. (Through the inject stack the taker had to walk every G it
 * took, one cache miss per G on memory the spawner had just written: a
 * third of the spawn benchmark's time.) The rings live in a static array,
 * handed out on a thread's first spawn and given back when it exits, with
 * anything still in them moved to the global queue. A thread that finds
 * them all taken uses the inject stack.
 *
 * Ms look at the rings wherever they look at the global queue (globwork).
 * No lost wake-up: the owner stores tail with a full fence and then reads
 * npidle/nmspinning (sched_wakep); a spinning M decrements nmspinning and
 * then looks at every queue again (findrunnable): one sees the other.
 */
#define NPLAINQ 8
struct plainq {
    struct gring r;
    _Alignas(CACHE_LINE) uint32_t owned; /* atomic: a thread holds this ring */
};
static struct plainq plainqs[NPLAINQ];
static int32_t nplainq; /* rings ever handed out (a high-water mark); atomic */
static __thread struct plainq *tl_plainq; /* this thread's ring, or NULL */
static __thread bool tl_plainq_none;      /* all were taken when we asked */

static bool plainq_pending(void)
{
    int32_t n = __atomic_load_n(&nplainq, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < n; i++) {
        struct gring *r = &plainqs[i].r;
        if (__atomic_load_n(&r->head, __ATOMIC_SEQ_CST) !=
            __atomic_load_n(&r->tail, __ATOMIC_SEQ_CST))
            return true;
    }
    return false;
}

/* Is there work outside the Ps' own queues? */
static inline bool globwork(void)
{
    return __atomic_load_n(&sched.runqsize, __ATOMIC_SEQ_CST) > 0 || plainq_pending();
}

/* p's local queue is empty: take half of a plain thread's ring into it. */
static g_t *plainq_steal(p_t *p)
{
    int32_t n = __atomic_load_n(&nplainq, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < n; i++) {
        struct gring *r = &plainqs[i].r;
        if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) ==
            __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE))
            continue;
        g_t *g = runqsteal(p, r, NULL, false);
        if (g)
            return g;
    }
    return NULL;
}

/* One G from the plain threads' rings (the fairness check: p's own queue
 * may be full). */
static g_t *plainq_get1(void)
{
    int32_t n = __atomic_load_n(&nplainq, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < n; i++) {
        struct gring *r = &plainqs[i].r;
        uint32_t h = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        while (h != __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE)) {
            g_t *g = slot_load(r, h);
            if (__atomic_compare_exchange_n(&r->head, &h, h + 1, false, __ATOMIC_RELEASE,
                                            __ATOMIC_ACQUIRE))
                return g;
        }
    }
    return NULL;
}

/* This plain thread's ring: taken on first use, NULL if none is free. */
static struct plainq *plainq_mine(void)
{
    if (tl_plainq || tl_plainq_none)
        return tl_plainq;
    for (int32_t i = 0; i < NPLAINQ; i++) {
        uint32_t z = 0;
        if (__atomic_load_n(&plainqs[i].owned, __ATOMIC_RELAXED) != 0 ||
            !__atomic_compare_exchange_n(&plainqs[i].owned, &z, 1, false, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            continue;
        int32_t hw = __atomic_load_n(&nplainq, __ATOMIC_RELAXED);
        while (hw < i + 1 && !__atomic_compare_exchange_n(&nplainq, &hw, i + 1, true,
                                                          __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            ;
        tl_plainq = &plainqs[i];
        return tl_plainq;
    }
    tl_plainq_none = true;
    return NULL;
}

/* The thread exits: what is left in its ring goes to the global queue. */
static void plainq_release(void)
{
    struct plainq *q = tl_plainq;
    if (!q)
        return;
    tl_plainq = NULL;
    struct gring *r = &q->r;
    g_t *batch[RUNQ_SIZE];
    for (;;) {
        uint32_t h = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        uint32_t t = r->tail, n = t - h;
        if (n == 0)
            break;
        for (uint32_t i = 0; i < n; i++)
            batch[i] = slot_load(r, h + i);
        if (!__atomic_compare_exchange_n(&r->head, &h, t, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_RELAXED))
            continue;
        rlock(&sched.lock);
        globrunq_putbatch(batch, (int32_t)n);
        runlock(&sched.lock);
        sched_wakep();
        break;
    }
    __atomic_store_n(&q->owned, 0, __ATOMIC_RELEASE);
}

/*
 * The ring is full: the Ms are behind. Make sure one is awake and wait
 * for them to take some, for at most PACE_NS (back-pressure, as a
 * goroutine that spawns in a loop gets from sharing its P with what it
 * spawns). Returns false on timeout: the caller moves half the ring to the
 * global queue instead (never a dependency, so it cannot deadlock).
 */
#define PACE_NS 50000
static int sched_ncpu; /* sched_cpu_count(), 0 until first use; atomic relaxed */
static bool plainq_pace(struct gring *r)
{
    sched_wakep();
    int64_t deadline = 0;
    for (int i = 0;; i++) {
        if (r->tail - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) < RUNQ_SIZE)
            return true;
        if (i < 64) {
            cpu_relax();
            continue;
        }
        int64_t now = nanotime();
        if (deadline == 0)
            deadline = now + PACE_NS;
        else if (now > deadline)
            return false;
        /* Spin, not sched_yield(): on two cores, yielding let the kernel
         * run a spinning M in our place, the Ms ran dry and parked, and
         * every spawn then paid a futex wake-up. With one CPU, the Ms can
         * only run if we yield. */
        if (__atomic_load_n(&sched_ncpu, __ATOMIC_RELAXED) <= 1)
            sched_yield();
        else
            cpu_relax();
    }
}

/* The owner queues g on its ring. */
static void plainq_put(struct plainq *q, g_t *g)
{
    struct gring *r = &q->r;
    for (;;) {
        uint32_t h = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        uint32_t t = r->tail;
        if (t - h < RUNQ_SIZE) {
            slot_store(r, t, g);
            /* seq_cst: ordered before the caller's look at npidle. */
            __atomic_store_n(&r->tail, t + 1, __ATOMIC_SEQ_CST);
            return;
        }
        if (!plainq_pace(r) && runqputslow(r, g, h, t))
            return;
    }
}

/* ---- idle Ps and Ms (under sched.lock) ---------------------------------- */

static void pidleput(p_t *p)
{
    RT_ASSERT(runq_empty(p));
    __atomic_store_n(&p->status, P_IDLE, __ATOMIC_RELAXED);
    __atomic_store_n(&p->m, NULL, __ATOMIC_RELEASE);
    p->link = sched.pidle;
    sched.pidle = p;
    __atomic_add_fetch(&sched.npidle, 1, __ATOMIC_SEQ_CST);
}

static p_t *pidleget(void)
{
    for (;;) {
        p_t *p = sched.pidle;
        if (!p)
            return NULL;
        sched.pidle = p->link;
        __atomic_sub_fetch(&sched.npidle, 1, __ATOMIC_SEQ_CST);
        if (p->id >= sched.gomaxprocs) {
            __atomic_store_n(&p->status, P_DEAD, __ATOMIC_RELAXED);
            continue;
        }
        return p;
    }
}

static void mput(m_t *m)
{
    m->link = sched.midle;
    sched.midle = m;
    sched.nmidle++;
}

static m_t *mget(void)
{
    m_t *m = sched.midle;
    if (m) {
        sched.midle = m->link;
        sched.nmidle--;
    }
    return m;
}

static void acquirep(m_t *m, p_t *p)
{
    m->p = p;
    __atomic_store_n(&p->m, m, __ATOMIC_RELEASE);
    __atomic_store_n(&p->status, P_RUNNING, __ATOMIC_RELAXED);
}

static p_t *releasep(m_t *m)
{
    p_t *p = m->p;
    m->p = NULL;
    __atomic_store_n(&p->m, NULL, __ATOMIC_RELEASE);
    return p;
}

/* ---- Ms ------------------------------------------------------------------ */

static void schedule_loop(m_t *m) __attribute__((noreturn));
static void checkdead(void);
static int nlockedidle; /* Ms asleep waiting for their wired G; sched.lock */

static void *mstart(void *arg)
{
    m_t *m = arg;
    sched_tls_m = m;
    m->errno_loc = &errno;
    __atomic_store_n(&m->thread, pthread_self(), __ATOMIC_RELEASE);
    /* Ms are created with every signal blocked, so the program's
     * asynchronous signals go to its own threads; but faults must reach
     * our overflow handler, and SIGURG our preemption handler. */
    sigset_t allow;
    sigemptyset(&allow);
    sigaddset(&allow, SIGSEGV);
    sigaddset(&allow, SIGBUS);
    sigaddset(&allow, SIGFPE);
    sigaddset(&allow, SIGILL);
    sigaddset(&allow, SIGTRAP);
    sigaddset(&allow, SIGURG);
    pthread_sigmask(SIG_UNBLOCK, &allow, NULL);
    m->tid = (int)syscall(SYS_gettid);
    m->altstack = stack_thread_altstack();
#ifdef GO_TSAN
    m->fiber = __tsan_get_current_fiber();
#endif
#ifdef GO_ASAN
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        void *lo;
        size_t sz;
        pthread_attr_getstack(&a, &lo, &sz);
        m->asan_bottom = lo;
        m->asan_size = sz;
        pthread_attr_destroy(&a);
    }
#endif
    p_t *p = m->nextp;
    m->nextp = NULL;
    if (p)
        acquirep(m, p);
    schedule_loop(m);
}

static int64_t mnext_id;
static int32_t max_threads = GO_MAX_THREADS; /* GOROUTINE_MAX_THREADS */

/* Create an M (OS thread) that starts holding p (may be NULL). Returns 0
 * or a negative errno; on failure p is not consumed. */
static int newm(p_t *p, bool spinning)
{
    m_t *m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->nextp = p;
    m->spinning = spinning;
    m->fastrand = (uint64_t)nanotime() * 0x9E3779B97F4A7C15ULL | 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    /* The new thread must not take signals meant for the program. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rlock(&sched.lock);
    if (sched.mcount >= max_threads) {
        runlock(&sched.lock);
        debug_fatal("thread exhaustion");
    }
    m->id = ++mnext_id;
    sched.mcount++;
    m->allnext = sched.allm;
    sched.allm = m;
    runlock(&sched.lock);
    pthread_t th;
    int rc = pthread_create(&th, &attr, mstart, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        rlock(&sched.lock);
        sched.mcount--;
        sched.allm = m->allnext;
        runlock(&sched.lock);
        free(m);
        return -rc;
    }
    return 0;
}

/* Wake an idle M: its note, and the poller if it sleeps there. The M
 * publishes in_poll before it checks its note and polls; we publish the
 * note before we read in_poll: one of us sees the other. */
static void wake_m(m_t *m)
{
    if (m == sched_getm()) {
        /* An idle M that readies goroutines (from the poller, or timers)
         * may hand itself a P through startm: it is awake already, and a
         * futex wake or a poller break (an eventfd write, and a read to
         * drain it) per batch would be wasted. */
        __atomic_store_n(&m->park.key, 1, __ATOMIC_RELEASE);
        return;
    }
    note_wakeup(&m->park);
    if (__atomic_load_n(&m->in_poll, __ATOMIC_SEQ_CST))
        netpoll_break();
}

/* Start an M to run p (or an idle P if p is NULL). */
static void startm(p_t *p, bool spinning)
{
    rlock(&sched.lock);
    if (!p) {
        p = pidleget();
        if (!p) {
            runlock(&sched.lock);
            if (spinning)
                __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
            return;
        }
    }
    m_t *nm = mget();
    if (nm) {
        /* nextp is set under the lock: a timer-sleeping M that wakes on
         * its own decides under the lock whether it was handed a P. */
        nm->spinning = spinning;
        nm->nextp = p;
    }
    runlock(&sched.lock);
    if (nm) {
        wake_m(nm);
        return;
    }
    if (newm(p, spinning) != 0) {
        /* No thread to be had: the Ms we have will get to the work. */
        rlock(&sched.lock);
        pidleput(p);
        runlock(&sched.lock);
        if (spinning)
            __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
    }
}

void sched_wakep(void)
{
    if (__atomic_load_n(&sched.npidle, __ATOMIC_SEQ_CST) == 0)
        return;
    int32_t z = 0;
    if (__atomic_load_n(&sched.nmspinning, __ATOMIC_SEQ_CST) != 0 ||
        !__atomic_compare_exchange_n(&sched.nmspinning, &z, 1, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_RELAXED))
        return;
    startm(NULL, true);
}

/* Give p away: to an M that will run its work, or to the idle list. */
static void handoffp(p_t *p)
{
    if (!runq_empty(p) || globwork()) {
        startm(p, false);
        return;
    }
    int32_t z = 0;
    if (__atomic_load_n(&sched.nmspinning, __ATOMIC_SEQ_CST) == 0 &&
        __atomic_compare_exchange_n(&sched.nmspinning, &z, 1, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_RELAXED)) {
        startm(p, true);
        return;
    }
    rlock(&sched.lock);
    if (globwork()) {
        runlock(&sched.lock);
        startm(p, false);
        return;
    }
    pidleput(p);
    runlock(&sched.lock);
}

/* Run every P's due timers (any M may run any P's timers). */
static void run_all_timers(int64_t now)
{
    int32_t n = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < n; i++) {
        int64_t w = __atomic_load_n(&allp[i]->timer0_when, __ATOMIC_ACQUIRE);
        if (w != 0 && w <= now)
            timers_run(allp[i], now);
    }
}

/*
 * Timers of a running P, seen by an M that holds no P. The P's own M runs
 * them at its next switch, and the goroutines they ready then queue on
 * that P; an M without a P could only put them on the global queue, while
 * fighting the P's M for its timer lock, and every sleeper would wake on
 * the global queue, away from its cache. So such an M
 * leaves them alone unless the P looks stuck: its schedtick has not moved
 * for TIMER_STUCK_NS (a goroutine computing without a scheduling point
 * while preemption is off, or blocked in a call not wrapped in
 * go_syscall_enter). That is twice the preemption slice: a goroutine that
 * can be preempted switches before, and its P's M then fires the timers
 * into runnext (a ticker behind two spinners at GOMAXPROCS=1 runs 10 ms
 * late, not 20-30 ms as when this M fired it onto the global queue). Go's
 * Ms without a P never run timers; this is our safety net for C code that
 * blocks where Go code could not. Returns the
 * time from which p's timers are this M's business (now if already).
 * The td_ fields are only a hint: racing duty Ms make it off by a look.
 */
#define TIMER_STUCK_NS 20000000

static int64_t pless_timer_from(p_t *p, int64_t now)
{
    if (__atomic_load_n(&p->status, __ATOMIC_ACQUIRE) != P_RUNNING)
        return now;
    uint32_t t = __atomic_load_n(&p->schedtick, __ATOMIC_RELAXED);
    if (t != __atomic_load_n(&p->td_schedtick, __ATOMIC_RELAXED)) {
        __atomic_store_n(&p->td_schedtick, t, __ATOMIC_RELAXED);
        __atomic_store_n(&p->td_when, now, __ATOMIC_RELAXED);
        return now + TIMER_STUCK_NS;
    }
    int64_t from = __atomic_load_n(&p->td_when, __ATOMIC_RELAXED) + TIMER_STUCK_NS;
    return from > now ? from : now;
}

/* When an M without a P should next look at the timers (0: none armed),
 * and, if run, fire what is due and its business now. */
static int64_t pless_timer_look(int64_t now, bool run)
{
    int64_t best = 0;
    int32_t n = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < n; i++) {
        p_t *p = allp[i];
        int64_t w = __atomic_load_n(&p->timer0_when, __ATOMIC_ACQUIRE);
        if (w == 0)
            continue;
        int64_t from = w <= now ? pless_timer_from(p, now) : now;
        if (run && w <= now && from <= now) {
            timers_run(p, now);
            w = __atomic_load_n(&p->timer0_when, __ATOMIC_ACQUIRE);
            if (w == 0)
                continue;
            from = now;
        }
        if (w < from)
            w = from;
        if (best == 0 || w < best)
            best = w;
    }
    return best;
}

static bool midle_remove(m_t *m)
{
    for (m_t **pp = &sched.midle; *pp; pp = &(*pp)->link) {
        if (*pp == m) {
            *pp = m->link;
            sched.nmidle--;
            return true;
        }
    }
    return false;
}

/*
 * Park the M until someone hands it a P. If timers are pending and no
 * other idle M is already watching them, this M sleeps only until the
 * earliest one, runs the due timers when it wakes, and looks for a P to
 * run whatever they readied; otherwise it goes back to sleep.
 */
static void stopm(m_t *m)
{
    for (;;) {
        rlock(&sched.lock);
        mput(m);
        checkdead();
        int64_t until = pless_timer_look(nanotime(), false);
        /* With descriptors to watch, one idle M always sleeps in the
         * poller (for at most a second between looks at the clock). */
        if (netpoll_active() && netpoll_waiters() > 0 && (until == 0 || until > nanotime() + 1000000000))
            until = nanotime() + 1000000000;
        bool timer_duty = until != 0 && sched.timer_m == NULL;
        if (timer_duty) {
            sched.timer_m = m;
            sched.timer_until = until;
        }
        runlock(&sched.lock);
        int64_t wait = -1;
        if (timer_duty) {
            wait = until - nanotime();
            if (wait < 0)
                wait = 0;
        }
        if (timer_duty && netpoll_active()) {
            /* The M on duty sleeps in the poller: I/O readiness, the next
             * timer, or a wake_m() ends the sleep. */
            __atomic_store_n(&m->in_poll, 1, __ATOMIC_SEQ_CST);
            if (!__atomic_load_n(&m->park.key, __ATOMIC_SEQ_CST)) {
                /* One reading of the clock: with two, the second could
                 * make the timeout negative, which netpoll takes as "no
                 * limit", and the M on duty would sleep through its
                 * timer (make fuzz and test_time_poll caught that). */
                int64_t left = until - nanotime();
                netpoll(left > 0 ? left : 0);
            }
            __atomic_store_n(&m->in_poll, 0, __ATOMIC_SEQ_CST);
        } else {
            note_sleep(&m->park, wait);
        }
        note_clear(&m->park);
        rlock(&sched.lock);
        if (sched.timer_m == m)
            sched.timer_m = NULL;
        if (m->nextp) {
            runlock(&sched.lock);
            break;
        }
        /* Woken by a timeout or a poke (sched_timer_armed), not handed a
         * P: nobody took us off the idle list, since that sets nextp
         * under this lock. */
        midle_remove(m);
        /* Run the timers holding an idle P if there is one: the goroutines
         * they ready then queue on it and run from there, instead of going
         * to the global queue, where taking each one back costs a walk
         * over its cold descriptor (time.c stops firing when the P's ring
         * is half full; findrunnable fires the rest). */
        p_t *tp = pidleget();
        runlock(&sched.lock);
        /* Count as spinning while running timers, so that the goroutines
         * they ready do not make sched_wakep() start yet another M: we
         * will run them. */
        m->spinning = true;
        __atomic_add_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
        if (tp) {
            acquirep(m, tp);
            run_all_timers(nanotime());
        } else {
            pless_timer_look(nanotime(), true);
        }
        p_t *p = tp ? releasep(m) : NULL;
        rlock(&sched.lock);
        if (p && runq_empty(p) && !globwork()) {
            pidleput(p);
            p = NULL;
        } else if (!p && globwork()) {
            p = pidleget();
        }
        runlock(&sched.lock);
        if (p) {
            m->nextp = p; /* findrunnable sees a spinning M with work */
            break;
        }
        m->spinning = false;
        __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
        /* Work may have been queued while we counted as spinning. */
        if (globwork())
            sched_wakep();
    }
    p_t *p = m->nextp;
    m->nextp = NULL;
    acquirep(m, p);
}

void sched_timer_armed(int64_t when)
{
    if (!__atomic_load_n(&rt_started, __ATOMIC_ACQUIRE))
        return;
    m_t *poke = NULL;
    rlock(&sched.lock);
    if (sched.timer_m) {
        if (when < sched.timer_until) {
            poke = sched.timer_m;
            sched.timer_until = when;
        }
    } else if (sched.nmidle > 0) {
        /* Ms may all be asleep with no deadline: wake one to take timer
         * duty. A busy M checks its own P's timers at every switch. */
        poke = sched.midle;
        sched.timer_m = poke;
        sched.timer_until = when;
    }
    runlock(&sched.lock);
    if (poke)
        wake_m(poke);
}

/*
 * sysmon's safety net for timers, at each of its looks (Go's sysmon, too,
 * starts an M when a timer should have run already). A due timer on a P
 * that no M holds is the business of the idle M on timer duty; if one is
 * TIMER_LATE_NS overdue, that M is asleep without knowing it (a duty
 * assignment whose wake-up went astray) or there is none: wake the M on
 * duty, or the first idle one, or start a spinning M. A running P's
 * timers are its own M's, and a stuck one's (pless_timer_from) wait for
 * an idle M that this same net wakes. Counted in timer_rescues, which
 * should stay 0: a rescue means a wake-up was lost somewhere.
 */
#define TIMER_LATE_NS 2000000
uint64_t timer_rescues; /* atomic; for debugging (gdb: p timer_rescues) */

void sched_timers_overdue(int64_t now)
{
    int64_t due = 0;
    int32_t n = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < n && !due; i++) {
        p_t *p = allp[i];
        int64_t w = __atomic_load_n(&p->timer0_when, __ATOMIC_ACQUIRE);
        if (w != 0 && w < now - TIMER_LATE_NS &&
            __atomic_load_n(&p->status, __ATOMIC_ACQUIRE) != P_RUNNING)
            due = w;
    }
    if (!due)
        return;
    __atomic_add_fetch(&timer_rescues, 1, __ATOMIC_RELAXED);
    rlock(&sched.lock);
    m_t *poke = sched.timer_m ? sched.timer_m : sched.midle;
    if (poke) {
        sched.timer_m = poke;
        sched.timer_until = due;
    }
    runlock(&sched.lock);
    if (poke)
        wake_m(poke);
    else
        sched_wakep();
}

bool sched_test_lose_timer_duty(void)
{
    rlock(&sched.lock);
    /* An M we left lost before whose timer someone else fired counts. */
    m_t *m = !sched.timer_m                       ? sched.midle
             : sched.timer_until == INT64_MIN ? sched.timer_m
                                              : NULL;
    if (m) {
        /* On duty, asleep without a deadline, and told of no timer: every
         * `when` is >= INT64_MIN, so sched_timer_armed pokes nobody. */
        sched.timer_m = m;
        sched.timer_until = INT64_MIN;
    }
    runlock(&sched.lock);
    return m != NULL;
}

/*
 * A wired M whose G blocked: give the P away and sleep until the G is
 * runnable again and someone hands us a P to run it.
 *
 * A wake-up of m->park does not say that we were handed a P. The same M
 * was an idle M before (in stopm), and a waker that picked it then
 * (startm, sched_timer_armed) posts its wake-up after dropping
 * sched.lock: it can land long after stopm has moved on, in this sleep.
 * So the hand-off itself, m->nextp, is the condition we wait for, and the
 * note only the means to sleep. The order makes a real hand-off
 * impossible to miss: startlockedm stores nextp, then posts the note; we
 * clear the note, then load nextp (all sequentially consistent). If our
 * load misses the store, our clear came before its post, so the post
 * stands and the sleep returns.
 */
static void stoplockedm(m_t *m)
{
    if (m->p)
        handoffp(releasep(m));
    rlock(&sched.lock);
    nlockedidle++;
    checkdead();
    runlock(&sched.lock);
    p_t *p;
    for (;;) {
        __atomic_store_n(&m->park.key, 0, __ATOMIC_SEQ_CST);
        p = __atomic_exchange_n(&m->nextp, NULL, __ATOMIC_SEQ_CST);
        if (p)
            break;
        note_sleep(&m->park, -1);
    }
    note_clear(&m->park);
    rlock(&sched.lock);
    nlockedidle--;
    runlock(&sched.lock);
    acquirep(m, p);
}

/* We dequeued g, which is wired to another M: give that M our P. The
 * store of nextp comes before the wake-up (see stoplockedm). */
static void startlockedm(m_t *m, g_t *g)
{
    m_t *lm = g->lockedm;
    p_t *p = releasep(m);
    __atomic_store_n(&lm->nextp, p, __ATOMIC_SEQ_CST);
    note_wakeup(&lm->park);
    stopm(m);
}

/* ---- the after-switch actions ------------------------------------------- */

/* Run p's due timers. now: a clock reading taken a moment ago to check
 * against, or 0 to read the clock (only if some timer is armed at all). */
static inline void run_due_timers(p_t *p, int64_t now)
{
    int64_t tw = __atomic_load_n(&p->timer0_when, __ATOMIC_RELAXED);
    if (tw != 0 && tw <= (now ? now : (now = nanotime())))
        timers_run(p, now);
}

static void after_switch(m_t *m)
{
    uint32_t a = m->after;
    if (a == AFTER_NONE)
        return;
    g_t *g = m->after_g;
    m->after = AFTER_NONE;
    switch (a) {
    case AFTER_RUNQ_PUT:
        runqput(m->p, g, false);
        break;
    case AFTER_GLOBQ_PUT:
        rlock(&sched.lock);
        globrunq_put(g);
        runlock(&sched.lock);
        sched_wakep(); /* a P may have gone idle since we last looked */
        break;
    case AFTER_PARK: {
        /* Switched out: from here until an M resumes it, sysmon may trim
         * its stack (stack.c). Before the unlock, which lets it be readied. */
        __atomic_store_n(&g->parkgen, (uint8_t)(g->parkgen + 1), __ATOMIC_RELAXED);
        __atomic_store_n(&g->parked_out, 1, __ATOMIC_RELEASE);
        m->after_unlock(m->after_arg);
        /* A sleeper read the clock a few hundred ns ago: checking against
         * that reading saves a second read per sleep (a timer due since
         * fires at the next switch). */
        int64_t now = m->park_now;
        m->park_now = 0;
        if (m->p) {
            /* Marked as mid-switch, so that a go_timer_func's go()
             * does not switch this G away half-way (spawn_preempt). */
            m->after = AFTER_PARK;
            run_due_timers(m->p, now); /* what schedule_from() skipped */
            m->after = AFTER_NONE;
        }
        break;
    }
    case AFTER_EXIT:
        proc_gfree(m, g);
        break;
    }
}

/*
 * inherit: g came from runnext and runs in the time slice of the G it
 * replaces (Go's inheritTime), so schedtick does not move and sysmon
 * still preempts after 10 ms. Otherwise two goroutines handing off to
 * each other through runnext started a new slice at every switch, were
 * never preempted, and starved the rest of their P's queue for good.
 */
static inline void set_running(m_t *m, g_t *g, bool inherit)
{
    __atomic_store_n(&m->curg, g, __ATOMIC_RELEASE); /* read by sysmon */
    g->m = m;
    proc_setstatus(g, G_RUNNING);
    /* No fence: sysmon's membarrier orders this store before its check
     * (stack.c, "Trimming"). */
    __atomic_store_n(&g->parked_out, 0, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the compiler keeps that order */
    if (__builtin_expect(__atomic_load_n(&g->trimming, __ATOMIC_ACQUIRE), 0))
        stack_trim_wait(g);
    /* Owner-only, but sysmon reads it to spot a G running too long. */
    if (!inherit)
        __atomic_store_n(&m->p->schedtick, m->p->schedtick + 1, __ATOMIC_RELAXED);
    P_STAT_INC(m->p, nswitch);
}

/* Resume or start g on m from g0. Returns when g's M switches back. */
static void execute(m_t *m, g_t *g)
{
    set_running(m, g, false);
    m = switch_ctx(m, NULL, g);
    __atomic_store_n(&m->curg, NULL, __ATOMIC_RELEASE);
    after_switch(m);
}

/* ---- finding work -------------------------------------------------------- */

static void resetspinning(m_t *m)
{
    m->spinning = false;
    if (__atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST) < 0)
        RT_THROW("negative nmspinning");
    sched_wakep();
}

/*
 * Retire a P above GOMAXPROCS. Everything it holds moves out while we still
 * own it (queued Gs to the global queue, timers to P 0, free Gs to the
 * pool); only then, under sched.lock, is it marked dead, or put back idle
 * if GOMAXPROCS grew again meanwhile. Marking it dead first would let a
 * concurrent go_maxprocs() revive it and hand its free list to another M
 * while we were still moving it.
 */
static void retirep(m_t *m)
{
    p_t *p = releasep(m);
    g_t *g;
    rlock(&sched.lock);
    while ((g = runqget(p)) != NULL)
        globrunq_put(g);
    runlock(&sched.lock);
    timers_adopt(allp[0], p); /* both of its timer queues; cheap if empty */
    proc_retire_p(p);
    rlock(&sched.lock);
    if (p->id < sched.gomaxprocs)
        pidleput(p);
    else
        __atomic_store_n(&p->status, P_DEAD, __ATOMIC_RELAXED);
    runlock(&sched.lock);
    sched_wakep();
}

#define IDLE_SPIN_NS 50000
static bool idle_spin(m_t *m, p_t *p)
{
    int64_t deadline = 0;
    int32_t n = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
    for (uint32_t i = 1;; i++) {
        if (globwork() || !runq_empty(p))
            return true;
        p_t *v = allp[fastrand(m) % (uint32_t)n];
        if (v != p && !runq_empty(v))
            return true;
        for (int k = 0; k < 16; k++)
            cpu_relax();
        if (i % 16 == 0) {
            int64_t now = nanotime();
            if (deadline == 0)
                deadline = now + IDLE_SPIN_NS;
            else if (now > deadline)
                return false;
            int64_t tw = timers_earliest();
            if (tw != 0 && tw <= now)
                return true;
            /* Ready I/O, without blocking: a server's Ms mostly wait for
             * the network, and an M asleep in epoll_wait costs every
             * client write a wake-up (in the client's own time). */
            if (netpoll_active() && netpoll_waiters() > 0 && netpoll(0) > 0)
                return true;
            /* If a thread that could make work for us (a plain thread
             * spawning) waits for this CPU, let it have it: otherwise
             * spinning Ms slow down the very producer they wait for. */
            sched_yield();
        }
    }
}

/* Called on g0 with m->p set (or not). Returns a runnable G with m holding
 * a P; parks the M as long as there is nothing to do. */
static g_t *findrunnable(m_t *m)
{
top:
    if (!m->p) {
        stopm(m);
        goto top;
    }
    p_t *p = m->p;
    if (p->id >= __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED)) {
        if (m->spinning) {
            m->spinning = false;
            __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
        }
        retirep(m);
        goto top;
    }
    g_t *g;
    run_due_timers(p, 0); /* our own; other Ps' when we would steal */
    if (p->globfirst || p->schedtick % GLOBCHECK == 0) {
        p->globfirst = false;
        if (__atomic_load_n(&sched.runqsize, __ATOMIC_ACQUIRE) > 0) {
            /* A batch, not Go's one G, while our ring has room: a P kept
             * busy by its own timers (many sleepers) otherwise took the
             * goroutines a WaitGroup had released one per 61 schedules,
             * so the last of them ran very late. They queue behind our
             * own Gs, so locality keeps its turn. */
            int32_t batch = RUNQ_SIZE / 2 - (int32_t)sched_runq_len(p);
            if (batch > GLOBCHECK_BATCH)
                batch = GLOBCHECK_BATCH;
            rlock(&sched.lock);
            g = globrunq_get(p, batch > 1 ? batch : 1);
            runlock(&sched.lock);
            if (g)
                return g;
        }
        if ((g = plainq_get1()) != NULL)
            return g;
    }
    if ((g = runqget(p)) != NULL)
        return g;
    /* Plain threads' rings before the global queue: preempted Gs go to
     * the global queue, and a spinner preempted there must not keep
     * coming back ahead of what a plain thread spawned. (The global queue
     * gets its turn first every GLOBCHECK schedules, above.) */
    if ((g = plainq_steal(p)) != NULL)
        return g;
    if (__atomic_load_n(&sched.runqsize, __ATOMIC_ACQUIRE) > 0) {
        rlock(&sched.lock);
        g = globrunq_get(p, 0);
        runlock(&sched.lock);
        if (g)
            return g;
    }
    /* Ready I/O: cheap to ask, and what a network server mostly waits on. */
    if (netpoll_active() && netpoll_waiters() > 0 && netpoll(0) > 0) {
        if ((g = runqget(p)) != NULL)
            return g;
        goto top;
    }
    /* Steal, as a spinning M, if not too many Ms are spinning already. */
    int32_t procs = __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED);
    if (!m->spinning &&
        2 * __atomic_load_n(&sched.nmspinning, __ATOMIC_RELAXED) <
            procs - __atomic_load_n(&sched.npidle, __ATOMIC_RELAXED)) {
        m->spinning = true;
        __atomic_add_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
    }
    if (m->spinning) {
        int32_t n = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
        for (int round = 0; round < 4; round++) {
            uint32_t start = fastrand(m);
            for (int32_t i = 0; i < n; i++) {
                p_t *v = allp[(start + (uint32_t)i) % (uint32_t)n];
                if (v == p)
                    continue;
                if ((g = runqsteal(p, &v->rq, v, round == 3)) != NULL)
                    return g;
            }
            if (globwork())
                goto top;
        }
        /* Run other Ps' due timers too (Go steals timers the same way). */
        int64_t tw = timers_earliest();
        if (tw != 0 && tw <= nanotime()) {
            run_all_timers(nanotime());
            goto top;
        }
    }
    /* A spinning M polls a little longer before it parks: a producer that
     * feeds goroutines one at a time (a plain thread spawning in a loop, a
     * timer) would otherwise pay a futex sleep and wake-up per item, which
     * costs far more than the item. Bounded, and only the few spinning Ms
     * do it. */
    if (m->spinning && idle_spin(m, p))
        goto top;
    /* Nothing: give up the P. */
    if ((g = plainq_steal(p)) != NULL)
        return g;
    rlock(&sched.lock);
    if (__atomic_load_n(&sched.runqsize, __ATOMIC_SEQ_CST) > 0) {
        g = globrunq_get(p, 0);
        runlock(&sched.lock);
        return g;
    }
    runlock(&sched.lock);
    /* Going idle: our dead Gs go to the global pool, where plain threads
     * (and other Ps) can reuse their stacks. */
    proc_retire_p(p);
    rlock(&sched.lock);
    if (__atomic_load_n(&sched.runqsize, __ATOMIC_SEQ_CST) > 0) {
        g = globrunq_get(p, 0);
        runlock(&sched.lock);
        if (g)
            return g;
        goto top;
    }
    if (plainq_pending()) {
        runlock(&sched.lock);
        goto top;
    }
    pidleput(releasep(m));
    runlock(&sched.lock);
    if (m->spinning) {
        m->spinning = false;
        __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
        /* See the design comment: having published that we stopped
         * spinning, look once more at every queue. */
        int32_t n = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
        /* The global queue (and the inject stack, which plain threads push
         * to, counting into runqsize) counts as "a queue" here too: a
         * plain thread that pushed while we still counted as spinning saw
         * nmspinning != 0 and woke nobody. */
        bool global = globwork();
        for (int32_t i = 0; i < n || global; i++) {
            if (global || !runq_empty(allp[i])) {
                rlock(&sched.lock);
                p_t *np = pidleget();
                runlock(&sched.lock);
                if (np) {
                    acquirep(m, np);
                    m->spinning = true;
                    __atomic_add_fetch(&sched.nmspinning, 1, __ATOMIC_SEQ_CST);
                    goto top;
                }
                break;
            }
        }
    }
    stopm(m);
    goto top;
}

/* The M's main loop, on g0. */
static void schedule_loop(m_t *m)
{
    for (;;) {
        if (m->lockedg) {
            stoplockedm(m);
            execute(m, m->lockedg);
            continue;
        }
        g_t *g = findrunnable(m);
        if (m->spinning)
            resetspinning(m);
        if (g->lockedm && g->lockedm != m) {
            startlockedm(m, g);
            continue;
        }
        if (m->p->id >= __atomic_load_n(&sched.gomaxprocs, __ATOMIC_ACQUIRE)) {
            /* GOMAXPROCS shrank while we looked for work: this P may not
             * run anything; queue g globally, and retire the P at top. */
            rlock(&sched.lock);
            globrunq_put(g);
            runlock(&sched.lock);
            continue;
        }
        execute(m, g);
    }
}

/*
 * Fairness for the global queue: every GLOBCHECK local schedules, a P
 * looks at the global queue first (Go's 61 ticks). A countdown instead of
 * schedtick % 61 keeps the division off the switch path.
 */
static inline bool globcheck_due(p_t *p)
{
    if (__builtin_expect(--p->globcheck != 0, 1))
        return false;
    p->globcheck = GLOBCHECK;
    if (__atomic_load_n(&sched.runqsize, __ATOMIC_RELAXED) == 0 && !plainq_pending())
        return false;
    p->globfirst = true; /* findrunnable: global queue first */
    return true;
}

/* The local-queue half of runqput, inlined on the switch path. */
static inline bool runqput_tail_fast(p_t *p, g_t *g)
{
    uint32_t h = __atomic_load_n(&p->rq.head, __ATOMIC_ACQUIRE);
    uint32_t t = p->rq.tail;
    if (__builtin_expect(t - h >= RUNQ_SIZE, 0))
        return false;
    slot_store(&p->rq, t, g);
    __atomic_store_n(&p->rq.tail, t + 1, __ATOMIC_RELEASE);
    return true;
}

/* after_switch() with the yield case inlined. */
static inline void after_switch_fast(m_t *m)
{
    if (m->after == AFTER_RUNQ_PUT && runqput_tail_fast(m->p, m->after_g)) {
        m->after = AFTER_NONE;
        return;
    }
    after_switch(m);
}

/* Switch from cur to next (or to g0 if next is NULL); cur's after-action
 * is set; inherit: see set_running. Returns when cur runs again, on whatever M, errno restored. */
static inline __attribute__((always_inline)) void switch_from_(m_t *m, g_t *cur, g_t *next,
                                                               bool inherit)
{
    cur->saved_errno = *m->errno_loc;
    if (next) {
        set_running(m, next, inherit);
        m = switch_ctx(m, cur, next);
    } else {
        __atomic_store_n(&m->curg, NULL, __ATOMIC_RELEASE);
        m = switch_ctx(m, cur, NULL);
    }
    after_switch_fast(m);
    /* m is the M we resumed on, maybe another thread: its errno. */
    *m->errno_loc = cur->saved_errno;
}

/* Two copies, so that the paths that never inherit test nothing. */
static void switch_from(m_t *m, g_t *cur, g_t *next)
{
    switch_from_(m, cur, next, false);
}

static void switch_from_inherit(m_t *m, g_t *cur, g_t *next)
{
    switch_from_(m, cur, next, true);
}

/* A G wired to another M must be started by g0 (startlockedm): put it
 * back in runnext, where findrunnable will find it first. */
static void defer_locked(p_t *p, g_t *next)
{
    g_t *old = __atomic_exchange_n(&p->rq.runnext, next, __ATOMIC_ACQ_REL);
    if (old)
        runqput(p, old, false);
}

/*
 * cur is switching away (parking or exiting) with a preemption request
 * pending: its time slice, which the G it readied into runnext would
 * inherit, is over. That G goes to the tail of the local queue and the
 * switch goes through g0, so the queue's head runs next, as after a
 * preemption in Go. A pair handing off through runnext on one P gets
 * here once per 10 ms (sysmon's request lands on one of them while it is
 * inside the runtime, where the signal cannot preempt it).
 */
static __attribute__((noinline)) void slice_over(p_t *p, g_t *cur)
{
    __atomic_store_n(&cur->preempt, 0, __ATOMIC_RELAXED);
    g_t *nx = __atomic_exchange_n(&p->rq.runnext, NULL, __ATOMIC_ACQ_REL);
    if (nx)
        runqput(p, nx, false);
}

/*
 * Switch away from the running G `cur`, whose after-action is already set
 * in m. Picks the next G from the local queue if it can, else goes to g0.
 * Returns when cur runs again (errno restored).
 */
static void schedule_from(m_t *m, g_t *cur)
{
    p_t *p = m->p;
    /* A goroutine between go_syscall_enter and exit has no P. */
    if (__builtin_expect(!p, 0))
        debug_fatal("blocking call between go_syscall_enter and go_syscall_exit");
    g_t *next = NULL;
    bool inherit = false;
    /* Not while a park is pending: we still hold the lock it parks under,
     * which a callback may need. after_switch() runs them after it. */
    if (m->after != AFTER_PARK)
        run_due_timers(p, 0);
    if (__builtin_expect(__atomic_load_n(&cur->preempt, __ATOMIC_RELAXED), 0)) {
        slice_over(p, cur);
    } else if (!m->lockedg && p->id < __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED) &&
               !globcheck_due(p)) {
        next = runqget_inherit(p, &inherit);
        if (next && next->lockedm) {
            defer_locked(p, next);
            next = NULL;
        }
        runq_prefetch(p);
    }
    if (inherit)
        switch_from_inherit(m, cur, next);
    else
        switch_from(m, cur, next);
}

/* Entry of every goroutine (see proc.c for what it runs). */
static void g_entry(void *arg)
{
    m_t *m = arg;
#ifdef GO_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
    after_switch(m);
    *m->errno_loc = 0;
    proc_run(m->curg);
    RT_THROW("goroutine returned to its trampoline");
}

void sched_prepare_g(g_t *g)
{
    mctx_make(&g->ctx, g->stack_lo, (size_t)((uint8_t *)g->frame_top - g->stack_lo), g_entry);
}

/* ---- parking and readying ---------------------------------------------- */

/*
 * A plain thread waits on w->wake, a futex word with three states. It
 * first spins a little (PLAIN_SPIN_NS, multi-core only): a partner on
 * another CPU often answers within a few microseconds, and then neither
 * side pays a system call or takes sched.lock. Then, under sched.lock, it
 * moves WAITING -> SLEEPING and counts itself as blocked for deadlock
 * detection, and sleeps; sched_ready() undoes the count under the same
 * lock and wakes it. The spin is what makes a main thread that receives
 * from a pipeline of goroutines (examples/demo.c, step 3) cheap: most
 * values arrive while it spins.
 */
#define PLAIN_WAITING 0u  /* waiting, not counted as blocked */
#define PLAIN_WOKEN 1u    /* readied: the waiter may return */
#define PLAIN_SLEEPING 2u /* counted in nthreads_blocked; asleep or about to be */
#define PLAIN_SPIN_NS 20000

static void plain_wait(waiter_t *w)
{
    if (__atomic_load_n(&sched_ncpu, __ATOMIC_RELAXED) > 1) {
        int64_t deadline = 0;
        for (uint32_t i = 1; __atomic_load_n(&w->wake, __ATOMIC_ACQUIRE) != PLAIN_WOKEN; i++) {
            cpu_relax();
            if (i % 64 == 0) {
                int64_t now = nanotime();
                if (deadline == 0)
                    deadline = now + PLAIN_SPIN_NS;
                else if (now > deadline)
                    break;
            }
        }
    }
    if (__atomic_load_n(&w->wake, __ATOMIC_ACQUIRE) == PLAIN_WOKEN)
        return;
    rlock(&sched.lock);
    uint32_t st = PLAIN_WAITING;
    if (!__atomic_compare_exchange_n(&w->wake, &st, PLAIN_SLEEPING, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        runlock(&sched.lock); /* woken meanwhile, uncounted */
        return;
    }
    sched.nthreads_blocked++;
    checkdead();
    runlock(&sched.lock);
    while (__atomic_load_n(&w->wake, __ATOMIC_ACQUIRE) != PLAIN_WOKEN)
        futex_wait(&w->wake, PLAIN_SLEEPING, -1);
    /* The waker set wake under sched.lock; taking it once more orders its
     * accounting before our return, which frees w. */
    rlock(&sched.lock);
    runlock(&sched.lock);
}

void sched_park(waiter_t *w, void (*unlock)(void *), void *arg, enum wait_reason reason)
{
    m_t *m = sched_getm();
    g_t *g = m ? m->curg : NULL;
    if (!g) {
        /* A plain thread (or g0, which never parks). */
        sched_register_plain();
        w->g = NULL;
        unlock(arg);
        plain_wait(w);
        return;
    }
    g->waitreason = reason;
    g->waitsince = 0;
    if (m->p)
        P_STAT_INC(m->p, npark);
    proc_setstatus(g, G_WAITING);
    m->after = AFTER_PARK;
    m->after_g = g;
    m->after_unlock = unlock;
    m->after_arg = arg;
    schedule_from(m, g);
}

/*
 * GOROUTINE_SCHED_RANDOM=1, a debug mode (Go turns the same on in its race
 * builds): a goroutine that would go into runnext, new or readied, goes to
 * the tail of the queue instead half of the time, so a program (or test)
 * that depends on who runs first, rather than on synchronisation, sees
 * other orders. Off, it costs one predictable branch on a read-mostly word.
 */
static bool sched_random; /* set once in rt_init */

static inline bool maybe_next(m_t *m, bool next)
{
    if (__builtin_expect(sched_random, 0) && next)
        return fastrand(m) & 1;
    return next;
}

/* next: into runnext (the usual hand-off), or at the tail of the queue. */
static void goready(g_t *g, bool next)
{
    proc_setstatus(g, G_RUNNABLE);
    m_t *m = sched_getm();
    TRACE(TEV_UNBLOCK, g->id, m && m->curg ? m->curg->id : 0, 0);
    if (m && m->p) {
        P_STAT_INC(m->p, nready);
        runqput(m->p, g, maybe_next(m, next));
    } else {
        __atomic_add_fetch(&sched.nplainready, 1, __ATOMIC_RELAXED);
        inject_push(g);
    }
    sched_wakep();
}

void sched_goready(g_t *g)
{
    goready(g, true);
}

void sched_ready(waiter_t *w)
{
    if (w->g) {
        goready(w->g, !w->queue_tail);
        return;
    }
    /* A plain thread (see plain_wait). Still waiting uncounted: one CAS
     * wakes it, and it is not asleep. Otherwise it is counted as blocked:
     * undo that and publish the wake under sched.lock, so the count never
     * includes a thread that is already running again. Once wake is
     * PLAIN_WOKEN the thread may return and w is gone. */
    uint32_t st = PLAIN_WAITING;
    if (__atomic_compare_exchange_n(&w->wake, &st, PLAIN_WOKEN, false, __ATOMIC_RELEASE,
                                    __ATOMIC_ACQUIRE))
        return;
    rlock(&sched.lock);
    sched.nthreads_blocked--;
    __atomic_store_n(&w->wake, PLAIN_WOKEN, __ATOMIC_RELEASE);
    runlock(&sched.lock);
    futex_wake(&w->wake, 1); /* w may be stale by now: harmless */
}

/*
 * Back-pressure for plain threads that spawn. A goroutine that spawns in a
 * loop shares its P with what it spawns, so it cannot outrun them by much
 * (Go's main goroutine behaves the same way). A plain thread has no P: it
 * could queue a million goroutines faster than the Ms run them, and every
 * one would then need a fresh stack (a page fault and a guard madvise)
 * instead of a warm recycled one. So when the global queue is long, the
 * spawning thread waits for it to drain a little, for at most ~50 us per
 * spawn: pacing, never a dependency, so it cannot deadlock.
 */
#define PACE_HIGH 1024
#define PACE_LOW 256
static void pace_plain_spawner(void)
{
    if (__atomic_load_n(&sched.runqsize, __ATOMIC_RELAXED) < PACE_HIGH)
        return;
    int64_t deadline = 0;
    for (int i = 0; __atomic_load_n(&sched.runqsize, __ATOMIC_RELAXED) > PACE_LOW; i++) {
        if (i < 64) {
            cpu_relax();
            continue;
        }
        int64_t now = nanotime();
        if (deadline == 0)
            deadline = now + 50000;
        else if (now > deadline)
            return;
        sched_yield();
    }
}

/*
 * A spawning goroutine honours a pending preemption request here (Go
 * checks at every function prologue; go() is where a spawning loop
 * spends its time, and the signal that lands there, in the runtime,
 * cannot preempt it). Not with an after-switch action pending (a timer
 * callback started by a switch), nor when wired to its thread, nor in a
 * system call: where the signal handler declines too.
 */
static __attribute__((noinline)) void spawn_preempt(m_t *m)
{
    if (m->after == AFTER_NONE && !m->lockedg)
        sched_gopreempt();
}

void sched_newg_ready(m_t *m, g_t *g)
{
    if (m && m->p && m->curg) {
        runqput(m->p, g, maybe_next(m, true));
        if (__builtin_expect(__atomic_load_n(&m->curg->preempt, __ATOMIC_RELAXED), 0))
            spawn_preempt(m);
    } else {
        struct plainq *q = NULL;
        if (!m) { /* not an M without a P (timer callbacks) */
            sched_register_plain();
            q = plainq_mine();
        }
        if (q) {
            plainq_put(q, g);
        } else {
            inject_push(g);
            pace_plain_spawner();
        }
    }
    if (__atomic_load_n(&sched.npidle, __ATOMIC_RELAXED))
        sched_wakep();
}

void sched_gosched(void)
{
    m_t *m = sched_getm_fast();
    g_t *g = m ? m->curg : NULL;
    if (!g) {
        sched_yield();
        return;
    }
    __atomic_store_n(&g->preempt, 0, __ATOMIC_RELAXED);
    p_t *p = m->p;
    if (__builtin_expect(!p, 0)) /* between go_syscall_enter and exit */
        debug_fatal("go_yield between go_syscall_enter and go_syscall_exit");
    /* Fast path: no timers due, not wired, P not retiring, no fairness
     * check due: take the next local G and switch straight to it. */
    if (__builtin_expect(!m->lockedg && !__atomic_load_n(&p->timer0_when, __ATOMIC_RELAXED) &&
                             p->id < __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED) &&
                             !globcheck_due(p),
                         1)) {
        g_t *next = runqget(p);
        if (!next) {
            if (!globwork())
                return; /* nothing else to run anywhere we would look */
            /* Only the global queue has work: g0 must take it before it
             * finds us again on the local queue. */
            p->globfirst = true;
        } else if (!next->lockedm) {
            proc_setstatus(g, G_RUNNABLE);
            m->after = AFTER_RUNQ_PUT;
            m->after_g = g;
            switch_from(m, g, next);
            return;
        } else {
            defer_locked(p, next);
        }
    }
    proc_setstatus(g, G_RUNNABLE);
    m->after_g = g;
    m->after = m->lockedg ? AFTER_GLOBQ_PUT : AFTER_RUNQ_PUT;
    __atomic_store_n(&m->curg, NULL, __ATOMIC_RELEASE);
    switch_from(m, g, NULL);
}

void sched_goexit(void)
{
    m_t *m = sched_getm();
    g_t *g = m->curg;
    if (g->lockedm) {
        /* Go would kill the thread; we unwire it and let it serve others. */
        g->lockedm = NULL;
        g->lockedcount = 0;
        m->lockedg = NULL;
    }
    proc_setstatus(g, G_DEAD);
    m->after = AFTER_EXIT;
    m->after_g = g;
    schedule_from(m, g);
    RT_THROW("dead goroutine resumed");
}

void sched_lockosthread(void)
{
    m_t *m = sched_getm();
    g_t *g = m ? m->curg : NULL;
    if (!g)
        return;
    if (g->lockedcount++ == 0) {
        g->lockedm = m;
        m->lockedg = g;
    }
}

void sched_unlockosthread(void)
{
    m_t *m = sched_getm();
    g_t *g = m ? m->curg : NULL;
    if (!g || g->lockedcount == 0)
        return;
    if (--g->lockedcount == 0) {
        g->lockedm = NULL;
        m->lockedg = NULL;
    }
}

/* ---- blocking system calls (Go's entersyscall / exitsyscall) ------------ */

/*
 * go_syscall_enter leaves the P attached to nobody but marked P_SYSCALL and
 * remembered in m->oldp; the G keeps running on its M, now outside the
 * scheduler. If the call returns quickly, go_syscall_exit takes the P back
 * with one CAS (P_SYSCALL -> P_RUNNING). If sysmon saw the P in the same
 * syscall on two of its ticks (>= 20 us), it won the CAS (P_SYSCALL ->
 * P_IDLE) and handed the P to another M; the returning G then looks for an
 * idle P, and failing that queues itself globally and parks its M.
 */
void go_syscall_enter(void)
{
    m_t *m = sched_getm_fast();
    g_t *g = m ? m->curg : NULL;
    if (!g || m->syscalldepth++ || !m->p)
        return; /* a plain thread, or nested */
    TRACE(TEV_SYSCALL_ENTER, g->id, 0, 0);
    p_t *p = m->p;
    __atomic_store_n(&p->syscalltick, p->syscalltick + 1, __ATOMIC_RELAXED);
    m->oldp = p;
    m->p = NULL;
    __atomic_store_n(&p->m, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&p->status, P_SYSCALL, __ATOMIC_SEQ_CST);
    if (__builtin_expect(__atomic_load_n(&sysmon_napping, __ATOMIC_SEQ_CST), 0))
        sysmon_wake();
}

void go_syscall_exit(void)
{
    m_t *m = sched_getm_fast();
    g_t *g = m ? m->curg : NULL;
    if (!g)
        return;
    if (__builtin_expect(m->syscalldepth == 0, 0))
        debug_fatal("go_syscall_exit without go_syscall_enter");
    if (--m->syscalldepth || !m->oldp)
        return;
    p_t *p = m->oldp;
    m->oldp = NULL;
    uint32_t st = P_SYSCALL;
    if (__atomic_compare_exchange_n(&p->status, &st, P_RUNNING, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
        m->p = p;
        __atomic_store_n(&p->m, m, __ATOMIC_RELEASE);
        TRACE(TEV_SYSCALL_EXIT, g->id, TRACE_SYSEXIT_KEPT, 0);
        return;
    }
    /* Retaken. Any idle P will do. */
    rlock(&sched.lock);
    p = pidleget();
    runlock(&sched.lock);
    if (p) {
        acquirep(m, p);
        TRACE(TEV_SYSCALL_EXIT, g->id, TRACE_SYSEXIT_IDLEP, 0);
        return;
    }
    TRACE(TEV_SYSCALL_EXIT, g->id, TRACE_SYSEXIT_NOP, 0);
    /* None: queue ourselves and let this M go idle. */
    proc_setstatus(g, G_RUNNABLE);
    m->after = AFTER_GLOBQ_PUT;
    m->after_g = g;
    switch_from(m, g, NULL);
}

long go_blocking(long (*fn)(void *arg), void *arg)
{
    go_syscall_enter();
    long r = fn(arg);
    go_syscall_exit();
    return r;
}

/* A goroutine with its P: not a plain thread, not g0, not between
 * go_syscall_enter and go_syscall_exit (m->p is NULL there). */
int go_can_park(void)
{
    m_t *m = sched_getm_fast();
    return m && m->curg && m->p;
}

/* sysmon: take p back from a syscall that has lasted >= one sysmon tick,
 * if it has work or nobody else is ready to look for work. */
bool sched_retake_syscall(p_t *p, int64_t now)
{
    uint32_t t = __atomic_load_n(&p->syscalltick, __ATOMIC_RELAXED);
    if (p->sm_syscalltick != t) {
        p->sm_syscalltick = t;
        p->sm_syscallwhen = now;
        return false;
    }
    if (runq_empty(p) &&
        __atomic_load_n(&sched.nmspinning, __ATOMIC_RELAXED) +
                __atomic_load_n(&sched.npidle, __ATOMIC_RELAXED) > 0 &&
        now - p->sm_syscallwhen < 10000000)
        return false;
    uint32_t st = P_SYSCALL;
    if (!__atomic_compare_exchange_n(&p->status, &st, P_IDLE, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        return false;
    P_STAT_INC(p, nhandoff); /* sysmon is the only writer */
    TRACE(TEV_HANDOFF, p->id, 0, 0);
    handoffp(p);
    return true;
}

/* ---- preemption requests -------------------------------------------------- */

/*
 * Preempted: the G goes to the back of the *global* queue, as in Go
 * (gopreempt_m), not to its P's local queue as a go_yield() does. A G
 * readied from outside the P (by a timer fired on an M without a P, say)
 * waits in the global queue, which a P busy with local work looks at only
 * every 61 schedules: with two spinners taking turns on the local queue
 * every 10 ms, a ticker's goroutine waited 61 of their slices. Preempted
 * Gs queue behind it instead, in arrival order.
 */
void sched_gopreempt(void)
{
    m_t *m = sched_getm_fast();
    g_t *g = m ? m->curg : NULL;
    if (!g)
        return;
    __atomic_store_n(&g->preempt, 0, __ATOMIC_RELAXED);
    if (m->p)
        P_STAT_INC(m->p, npreempt);
    TRACE(TEV_PREEMPT, g->id, 0, 0);
    proc_setstatus(g, G_RUNNABLE);
    m->after_g = g;
    m->after = AFTER_GLOBQ_PUT;
    __atomic_store_n(&m->curg, NULL, __ATOMIC_RELEASE);
    switch_from(m, g, NULL);
}

/* A cooperative preemption point: yield if sysmon asked us to. */
void sched_preempt_check(void)
{
    m_t *m = sched_getm_fast();
    g_t *g = m ? m->curg : NULL;
    if (g && __atomic_load_n(&g->preempt, __ATOMIC_RELAXED))
        sched_gopreempt();
}

/* ---- GOMAXPROCS ---------------------------------------------------------- */

static p_t *newp(int32_t id)
{
    p_t *p = aligned_alloc(CACHE_LINE, (sizeof(p_t) + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1));
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    rlock_init(&p->timerlock, LOCK_RANK_TIMERS);
    p->id = id;
    p->status = P_DEAD;
    p->globcheck = GLOBCHECK;
    return p;
}

/* Under sched.lock. */
static int grow_procs(int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        if (!allp[i]) {
            p_t *p = newp(i);
            if (!p)
                return -ENOMEM;
            __atomic_store_n(&allp[i], p, __ATOMIC_RELEASE);
        }
    }
    if (n > sched.nallp)
        __atomic_store_n(&sched.nallp, n, __ATOMIC_RELEASE);
    return 0;
}

/*
 * Ps lent to goroutines blocked in calls the runtime does not know about
 * (sysmon.c): sched.gomaxprocs, the number of Ps that may run, is the
 * GOMAXPROCS the program set plus one per such goroutine (at most
 * GO_MAXPROCS_MAX). The blocked goroutine's M keeps its P, so nothing is
 * taken from a thread whose state nobody can see; when a loan ends, the
 * highest-numbered P retires at its M's next trip through the scheduler,
 * as when GOMAXPROCS shrinks. Both under sched.lock.
 */
static int32_t maxprocs_user, nlent;

/* Set GOMAXPROCS to user (<= 0: unchanged) and the loans to nlent + dlent.
 * Returns the previous GOMAXPROCS, or -ENOMEM. */
static int setprocs(int32_t user, int32_t dlent)
{
    rlock(&sched.lock);
    int32_t old = sched.gomaxprocs, old_user = maxprocs_user;
    if (user <= 0)
        user = maxprocs_user;
    int32_t n = user + nlent + dlent;
    if (n > GO_MAXPROCS_MAX)
        n = GO_MAXPROCS_MAX;
    if (n == old) {
        maxprocs_user = user;
        nlent += dlent;
        runlock(&sched.lock);
        return old_user;
    }
    if (grow_procs(n) != 0) {
        runlock(&sched.lock);
        return -ENOMEM;
    }
    maxprocs_user = user;
    nlent += dlent;
    __atomic_store_n(&sched.gomaxprocs, n, __ATOMIC_RELEASE);
    int added = 0;
    for (int32_t i = 0; i < n; i++) {
        p_t *p = allp[i];
        if (__atomic_load_n(&p->status, __ATOMIC_RELAXED) == P_DEAD) {
            pidleput(p);
            added++;
        }
    }
    /* Ps above n that are idle are dropped lazily by pidleget(). */
    runlock(&sched.lock);
    /* Their timers move now (heap locks come before sched.lock): busy Ms
     * look only at their own P's timers, so on a retired P they could be
     * late. A P above n that an M still holds keeps arming there until
     * it retires, and retirep() moves those. */
    for (int32_t i = n; i < old; i++)
        timers_adopt(allp[0], allp[i]);
    for (int i = 0; i < added; i++)
        sched_wakep();
    return old_user;
}

int sched_setmaxprocs(int n)
{
    return setprocs(n, 0);
}

bool sched_lendp(p_t *blocked)
{
    if (setprocs(0, 1) < 0)
        return false;
    /* Its timers would otherwise wait for an M without a P to find them
     * stuck (pless_timer_from); P 0 never retires. */
    int32_t n = __atomic_load_n(&sched.gomaxprocs, __ATOMIC_ACQUIRE);
    p_t *to = allp[0] != blocked ? allp[0] : allp[n - 1];
    if (to != blocked)
        timers_adopt(to, blocked);
    return true;
}

void sched_unlendp(void)
{
    setprocs(0, -1);
}

/* ---- start-up -------------------------------------------------------------- */

/*
 * fork(). Only the calling thread exists in the child, and the runtime's
 * locks, queues and Ms are copies of the parent's at an arbitrary instant:
 * the child may exec or _exit, and any runtime call in it that would
 * schedule, block, spawn or wait for a runtime lock dies with a clear
 * message instead of hanging (sched_getm* and rlock_slow). A working
 * runtime in the child would mean rebuilding every structure the other
 * threads may have held mid-update, and a new poller (epoll instances
 * are shared across fork): Go offers only fork followed by exec too.
 * A child forked from a goroutine also gets back the signal mask of the
 * thread that started the runtime, not the M's (which blocks nearly
 * everything, and a program it execs would inherit).
 */
int rt_forked;
static sigset_t init_sigmask;

static void fork_child(void)
{
    if (sched_tls_m)
        pthread_sigmask(SIG_SETMASK, &init_sigmask, NULL);
    sched_tls_m = NULL;
    __atomic_store_n(&rt_forked, 1, __ATOMIC_RELAXED);
}

void rt_lockwait(int on)
{
    m_t *m = sched_tls_m;
    if (m)
        __atomic_store_n(&m->lockwait, (uint32_t)on, __ATOMIC_RELAXED);
}

void rt_fork_fatal(void)
{
    static const char msg[] =
        "fatal error: libgoroutine called in a child process after fork(); "
        "after fork the child may only exec or _exit\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    abort();
}

int rt_started;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static int ncpu_affinity(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The one CPU count every policy uses (the scheduler's spin and pacing
 * decisions, the mutex's spinning): the CPUs this process may run on, as
 * seen at first use, so that under taskset or a cgroup's cpuset they all
 * agree. */
int sched_cpu_count(void)
{
    int n = __atomic_load_n(&sched_ncpu, __ATOMIC_RELAXED);
    if (n == 0) {
        n = ncpu_affinity();
        __atomic_store_n(&sched_ncpu, n, __ATOMIC_RELAXED);
    }
    return n;
}

static void do_init(void)
{
    int n = sched_cpu_count();
    const char *s = getenv("GOMAXPROCS");
    if (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*end == 0 && v > 0 && v <= GO_MAXPROCS_MAX)
            n = (int)v;
        else
            fprintf(stderr, "libgoroutine: ignoring invalid GOMAXPROCS=%s\n", s);
    }
    if (n > GO_MAXPROCS_MAX)
        n = GO_MAXPROCS_MAX;
    const char *sr = getenv("GOROUTINE_SCHED_RANDOM");
    sched_random = sr && strcmp(sr, "1") == 0;
    const char *mt = getenv("GOROUTINE_MAX_THREADS");
    if (mt && *mt) {
        long v = strtol(mt, NULL, 10);
        if (v >= 2 && v <= 1000000)
            max_threads = (int32_t)v;
    }
    pthread_sigmask(SIG_SETMASK, NULL, &init_sigmask);
    pthread_atfork(NULL, NULL, fork_child);
    stack_init();
    stack_install_handler();
    debug_init();
    trace_init();
    proc_init();
    rlock(&sched.lock);
    if (grow_procs(n) != 0)
        RT_THROW("cannot allocate Ps");
    sched.gomaxprocs = n;
    maxprocs_user = n;
    for (int32_t i = n - 1; i >= 0; i--)
        pidleput(allp[i]);
    runlock(&sched.lock);
    /* One M from the start, parked idle, so that a later failure to create
     * threads never leaves goroutines with nobody to run them. */
    if (newm(NULL, false) != 0)
        RT_THROW("cannot create the first thread");
    sysmon_start();
    stats_start(); /* schedtrace, once the Ps exist */
    __atomic_store_n(&rt_started, 1, __ATOMIC_RELEASE);
}

void rt_init(void)
{
    pthread_once(&init_once, do_init);
}

/* ---- deadlock detection ------------------------------------------------ */

static int process_threads(void)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    /* Field 20 (num_threads), counting from the field after "(comm)". */
    char *q = strrchr(buf, ')');
    if (!q)
        return -1;
    int field = 2;
    for (q++; *q && field < 20; q++)
        if (*q == ' ')
            field++;
    return atoi(q);
}

/* ---- random numbers for any thread ---------------------------------------- */

uint32_t rt_rand(void)
{
    static __thread uint64_t state;
    if (state == 0)
        state = ((uint64_t)nanotime() ^ (uint64_t)(uintptr_t)&state) * 0x9E3779B97F4A7C15ULL | 1;
    uint64_t x = state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/*
 * Plain threads the runtime knows of: every thread that spawned or blocked
 * through the runtime registers once (a TLS flag) and unregisters when it
 * exits (a pthread key destructor). If more of them exist than are blocked,
 * one is running and may yet wake someone, so checkdead() can say "no"
 * without reading /proc. Only when every known thread is blocked does it
 * count the process's threads, to catch threads it has never seen.
 */
static __thread bool plain_registered;
static pthread_key_t plain_key;
static pthread_once_t plain_key_once = PTHREAD_ONCE_INIT;

static void plain_exit(void *unused)
{
    (void)unused;
    plainq_release();
    __atomic_sub_fetch(&sched.nplain, 1, __ATOMIC_SEQ_CST);
}

static void plain_key_init(void)
{
    pthread_key_create(&plain_key, plain_exit);
}

void sched_register_plain(void)
{
    if (plain_registered)
        return;
    plain_registered = true;
    pthread_once(&plain_key_once, plain_key_init);
    pthread_setspecific(plain_key, (void *)1);
    __atomic_add_fetch(&sched.nplain, 1, __ATOMIC_SEQ_CST);
}

/* Under sched.lock: report a deadlock if nothing can ever wake anyone. */
static void checkdead(void)
{
    if (sched.mcount - sched.nmidle - nlockedidle > 0)
        return; /* some M is running, or spinning */
    if (globwork())
        return;
    /* Every P must be idle too: a P handed to an M that has not woken yet
     * (startlockedm, startm) is not, and may hold a queue of runnable Gs
     * while both Ms still look idle. */
    for (int32_t i = 0; i < sched.gomaxprocs; i++)
        if (__atomic_load_n(&allp[i]->status, __ATOMIC_ACQUIRE) != P_IDLE)
            return;
    if (__atomic_load_n(&sched.nplain, __ATOMIC_SEQ_CST) > sched.nthreads_blocked)
        return; /* a plain thread we know of is running */
    int64_t ng = sched_gcount();
    if (ng == 0 && sched.nthreads_blocked == 0)
        return;
    if (sched_timers_pending() || netpoll_waiters() > 0)
        return;
    int nt = process_threads();
    if (nt < 0 || nt > sched.mcount + sched.nthreads_blocked +
                           __atomic_load_n(&sched.nruntime_threads, __ATOMIC_RELAXED))
        return; /* a thread we do not know of is running: it may wake us */
    runlock(&sched.lock);
    debug_fatal("all goroutines are asleep - deadlock!");
}

int64_t sched_gcount(void)
{
    int64_t n = __atomic_load_n(&sched.nplaincreated, __ATOMIC_RELAXED);
    int32_t np = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < np; i++) {
        p_t *p = allp[i];
        n += __atomic_load_n(&p->ncreated, __ATOMIC_RELAXED);
        n -= __atomic_load_n(&p->nexited, __ATOMIC_RELAXED);
    }
    return n;
}
