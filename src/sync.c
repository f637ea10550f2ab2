/*
 * sync.c - the sync package: WaitGroup, Mutex, RWMutex, Once, Cond and a
 * counting semaphore, all built on sema.c, all zero-initialisable, all
 * usable from goroutines and plain threads alike, none holding a pointer
 * or a list: every waiter lives in sema.c's table, keyed by the address of
 * a word inside the object. So each object may sit anywhere, needs no
 * destroy, and may go out of scope as soon as its last user has returned;
 * no function below touches an object after the operation that let
 * another user return (the sema_release rules in sema.h).
 *
 * Memory ordering: the state words are only changed by atomic RMWs (whose
 * order on one word is total whatever the memory order), with acquire on
 * the operations that take a lock and release on those that drop it; what
 * a parked waiter learns from its waker is ordered by the bucket lock in
 * sema.c. Go uses sequentially consistent atomics throughout; we keep
 * seq_cst where two words must be seen in order (WaitGroup, RWMutex).
 *
 * WaitGroup, as Go's: one 64-bit word holds the counter (high 32 bits) and
 * the number of waiters (low 32 bits), so Add and Wait agree with a single
 * atomic operation; a semaphore word next to it parks the waiters. When Add
 * brings the counter to zero with waiters present, it zeroes the state and
 * releases all waiters with one sema_release(n), which never touches the
 * WaitGroup after the first waiter could have returned.
 *
 * Mutex, as Go's sync.Mutex: two 32-bit words, `state` and `sema`.
 *
 *   state = waiters << 3 | STARVING | WOKEN | LOCKED
 *
 * LOCKED: someone owns it. WOKEN: a waiter has been woken, or a spinner is
 * about to take it, so Unlock need not wake another. STARVING: ownership
 * passes by handoff. waiters: goroutines and threads that are, or are
 * about to be, parked on `sema`. Lock is one CAS 0 -> LOCKED; Unlock one
 * atomic subtract of LOCKED, going slow only if anything else is set.
 *
 * Normal mode: waiters queue FIFO; a woken waiter competes with newcomers
 * that are already running (and spinning: a few rounds of cpu_relax while
 * the holder runs on another CPU), and usually loses to them, which is
 * what makes the mutex fast: the lock stays with a running thread. A woken
 * waiter that loses goes back to the front of the queue (lifo). A waiter
 * that has waited over 1 ms sets STARVING: then Unlock leaves LOCKED clear
 * but hands the semaphore unit straight to the oldest waiter (sema_release
 * with handoff, which no running acquirer can intercept), newcomers do not
 * take the lock nor spin but queue at the tail, and the woken waiter takes
 * ownership by adding LOCKED and removing itself from the count. It
 * leaves starvation mode if it is the last waiter or waited under 1 ms,
 * because two goroutines can otherwise run in lock step forever.
 *
 * Starvation mode also ends the dangerous pattern of C programs that use a
 * mutex as Go's does not: a holder that unlocks and relocks in a tight
 * loop. The sema's handoff yields (as Go's does) so the new owner runs
 * before the old one can come back.
 *
 * RWMutex, as Go's: a Mutex `w` serialising writers, readerCount (readers
 * inside, minus RWMAX while a writer is pending or inside), readerWait
 * (readers the pending writer still waits for), and one semaphore each
 * for blocked writers and readers. A writer takes `w`, subtracts RWMAX
 * from readerCount (new readers now see a negative count and block: writer
 * preference), and waits until the readers that were inside have left
 * (they count readerWait down; the last one releases writerSem). Unlock
 * adds RWMAX back and releases exactly the readers that blocked meanwhile.
 *
 * Once: a done flag read with acquire on the fast path, and a Mutex that
 * every slow caller takes, so each caller returns only after fn has
 * finished (a second "done" check under the mutex). fn calling go_once_do
 * on its own once deadlocks, as in Go. If fn ends its goroutine with
 * go_exit() the once stays locked forever: C has no defer to unlock it.
 *
 * Cond: a notify list (sema.h): Wait takes a ticket before it unlocks the
 * mutex, so a Signal after the unlock cannot miss it; Signal wakes the
 * oldest ticket; Broadcast all of them.
 *
 * Rejected: a mutex that queues waiters itself (a futex word plus a list
 * head) would be larger than 8 bytes and could not go out of scope while a
 * waker is still unlinking; a ticket lock (strictly fair, but every unlock
 * would wake everybody or need a list); spinning on a single-P runtime or
 * while our P has other goroutines to run (the holder needs our CPU).
 */
#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#include "debug.h"
#include "sched.h"
#include "sema.h"

/*
 * The internal structs are read through casts of the public opaque
 * storage; may_alias tells the compiler that a go_mutex and a struct
 * mutex may be the same memory, so no aliasing assumption can reorder a
 * user's initialiser past our accesses.
 */
#define SYNC_ALIAS __attribute__((may_alias))

#define SYNC_FITS(internal, public)                                              \
    _Static_assert(sizeof(internal) <= sizeof(public), #public " too small");   \
    _Static_assert(_Alignof(public) >= _Alignof(internal), #public " misaligned")

/* ---- WaitGroup ---------------------------------------------------------- */

struct SYNC_ALIAS wg {
    uint64_t state; /* counter << 32 | waiters; atomic */
    uint32_t sema;
    uint32_t pad;
};
SYNC_FITS(struct wg, go_wg);

void go_wg_add(go_wg *wgp, int64_t delta)
{
    struct wg *wg = (struct wg *)wgp;
    uint64_t st = __atomic_add_fetch(&wg->state, (uint64_t)delta << 32, __ATOMIC_SEQ_CST);
    int32_t v = (int32_t)(st >> 32);
    uint32_t w = (uint32_t)st;
    if (v < 0)
        debug_panic("sync: negative WaitGroup counter");
    if (w != 0 && delta > 0 && v == (int32_t)delta)
        debug_panic("sync: WaitGroup misuse: Add called concurrently with Wait");
    if (v > 0 || w == 0)
        return;
    /* Counter is zero and there are waiters: nobody may change the state
     * now (Add from zero would be the misuse above). */
    if (__atomic_load_n(&wg->state, __ATOMIC_SEQ_CST) != st)
        debug_panic("sync: WaitGroup misuse: Add called concurrently with Wait");
    __atomic_store_n(&wg->state, 0, __ATOMIC_SEQ_CST);
    sema_release(&wg->sema, w, false);
}

void go_wg_done(go_wg *wg)
{
    go_wg_add(wg, -1);
}

void go_wg_wait(go_wg *wgp)
{
    struct wg *wg = (struct wg *)wgp;
    uint64_t st = __atomic_load_n(&wg->state, __ATOMIC_SEQ_CST);
    for (;;) {
        if ((st >> 32) == 0)
            return;
        if (__atomic_compare_exchange_n(&wg->state, &st, st + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            sema_acquire(&wg->sema, false, WAIT_WG);
            return;
        }
    }
}

/* ---- Mutex -------------------------------------------------------------- */

struct SYNC_ALIAS mutex {
    uint32_t state; /* waiters << WAITER_SHIFT | flags; atomic */
    uint32_t sema;  /* wake-ups for parked waiters (sema.c) */
};
SYNC_FITS(struct mutex, go_mutex);

enum {
    M_LOCKED = 1u,
    M_WOKEN = 2u,
    M_STARVING = 4u,
    M_WAITER_SHIFT = 3,
    M_WAITER = 1u << M_WAITER_SHIFT,
};

/* A waiter that waited longer than this switches the mutex to starvation
 * mode (Go's starvationThresholdNs). */
#define STARVATION_NS 1000000
/* Go's active_spin and active_spin_cnt. */
#define SPIN_ROUNDS 4
#define SPIN_PAUSES 30

/*
 * Spinning pays only if the holder is running on another CPU and will
 * release soon, and if nobody else needs our CPU. For a goroutine that
 * means Go's rule: more than one CPU, another P running goroutines (not
 * all others idle or spinning for work), and nothing waiting in our own P's
 * run queue. A plain thread is its own CPU user, so the CPU count is all
 * that matters for it.
 */
static bool can_spin(int iter)
{
    if (iter >= SPIN_ROUNDS || sched_cpu_count() <= 1)
        return false;
    m_t *m = sched_getm();
    if (!m || !m->curg || !m->p)
        return true;
    int32_t busy = __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED) -
                   __atomic_load_n(&sched.npidle, __ATOMIC_RELAXED) -
                   __atomic_load_n(&sched.nmspinning, __ATOMIC_RELAXED);
    if (busy <= 1)
        return false;
    p_t *p = m->p;
    return __atomic_load_n(&p->rq.head, __ATOMIC_RELAXED) ==
               __atomic_load_n(&p->rq.tail, __ATOMIC_RELAXED) &&
           __atomic_load_n(&p->rq.runnext, __ATOMIC_RELAXED) == NULL;
}

static void do_spin(void)
{
    for (int i = 0; i < SPIN_PAUSES; i++)
        cpu_relax();
}

static inline bool mutex_cas(struct mutex *m, uint32_t *old, uint32_t new, int success_mo)
{
    return __atomic_compare_exchange_n(&m->state, old, new, false, success_mo,
                                       __ATOMIC_RELAXED);
}

__attribute__((noinline)) static void mutex_lock_slow(struct mutex *m)
{
    int64_t wait_start = 0;
    bool starving = false; /* we have waited over STARVATION_NS */
    bool awoke = false;    /* we own the WOKEN flag and must clear it */
    int iter = 0;
    uint32_t old = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
    for (;;) {
        /* Spin only while it is held in normal mode: in starvation mode
         * it goes to the oldest waiter, never to us. */
        if ((old & (M_LOCKED | M_STARVING)) == M_LOCKED && can_spin(iter)) {
            /* Tell Unlock not to wake a waiter: we are about to take it. */
            if (!awoke && !(old & M_WOKEN) && (old >> M_WAITER_SHIFT) != 0 &&
                mutex_cas(m, &old, old | M_WOKEN, __ATOMIC_RELAXED))
                awoke = true;
            do_spin();
            iter++;
            old = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
            continue;
        }
        uint32_t new = old;
        /* A starving mutex belongs to the oldest waiter: queue behind. */
        if (!(old & M_STARVING))
            new |= M_LOCKED;
        if (old & (M_LOCKED | M_STARVING))
            new += M_WAITER;
        /* Switch to starvation mode, but only if it is held: an unlocked
         * starving mutex would have Unlock hand off to nobody. */
        if (starving && (old & M_LOCKED))
            new |= M_STARVING;
        if (awoke) {
            if (!(new & M_WOKEN))
                debug_fatal("sync: inconsistent mutex state");
            new &= ~(uint32_t)M_WOKEN;
        }
        if (!mutex_cas(m, &old, new, __ATOMIC_ACQUIRE))
            continue; /* old was reloaded by the failed CAS */
        if (!(old & (M_LOCKED | M_STARVING)))
            return; /* took it with the CAS */
        /* A waiter woken before goes back to the front of the queue. */
        bool lifo = wait_start != 0;
        if (!wait_start)
            wait_start = nanotime();
        sema_acquire(&m->sema, lifo, WAIT_MUTEX);
        starving = starving || nanotime() - wait_start > STARVATION_NS;
        old = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
        if (old & M_STARVING) {
            /* Handed to us: LOCKED is clear and we still count as a
             * waiter. Take it, and leave starvation mode if we were the
             * last waiter or did not wait long. */
            if ((old & (M_LOCKED | M_WOKEN)) || (old >> M_WAITER_SHIFT) == 0)
                debug_fatal("sync: inconsistent mutex state");
            uint32_t delta = M_LOCKED - M_WAITER;
            if (!starving || (old >> M_WAITER_SHIFT) == 1)
                delta -= M_STARVING;
            __atomic_add_fetch(&m->state, delta, __ATOMIC_ACQUIRE);
            return;
        }
        awoke = true;
        iter = 0;
    }
}

static inline void mutex_lock(struct mutex *m)
{
    uint32_t old = 0;
    if (__builtin_expect(mutex_cas(m, &old, M_LOCKED, __ATOMIC_ACQUIRE), 1))
        return;
    mutex_lock_slow(m);
}

static inline bool mutex_trylock(struct mutex *m)
{
    uint32_t old = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
    if (old & (M_LOCKED | M_STARVING))
        return false;
    /* There may be waiters; we barge in as a spinner would (Go's TryLock). */
    return mutex_cas(m, &old, old | M_LOCKED, __ATOMIC_ACQUIRE);
}

__attribute__((noinline)) static void mutex_unlock_slow(struct mutex *m, uint32_t new)
{
    if (!((new + M_LOCKED) & M_LOCKED))
        debug_fatal("sync: unlock of unlocked mutex");
    if (new & M_STARVING) {
        /* LOCKED stays clear, but STARVING keeps newcomers out until the
         * oldest waiter, to whom the unit goes directly, takes over. */
        sema_release(&m->sema, 1, true);
        return;
    }
    uint32_t old = new;
    for (;;) {
        /* Nobody to wake, or someone else is already dealing with it: a
         * waiter was woken, the lock was taken, or it went starving. */
        if ((old >> M_WAITER_SHIFT) == 0 || (old & (M_LOCKED | M_WOKEN | M_STARVING)))
            return;
        if (mutex_cas(m, &old, (old - M_WAITER) | M_WOKEN, __ATOMIC_RELAXED)) {
            sema_release(&m->sema, 1, false);
            return;
        }
    }
}

static inline void mutex_unlock(struct mutex *m)
{
    uint32_t new = __atomic_sub_fetch(&m->state, M_LOCKED, __ATOMIC_RELEASE);
    if (__builtin_expect(new != 0, 0))
        mutex_unlock_slow(m, new);
}

void go_mutex_lock(go_mutex *m)
{
    mutex_lock((struct mutex *)m);
}

bool go_mutex_trylock(go_mutex *m)
{
    return mutex_trylock((struct mutex *)m);
}

void go_mutex_unlock(go_mutex *m)
{
    mutex_unlock((struct mutex *)m);
}

/* ---- RWMutex ------------------------------------------------------------ */

struct SYNC_ALIAS rwmutex {
    struct mutex w;        /* held by a pending or active writer */
    uint32_t writer_sem;   /* the writer waits here for readers to leave */
    uint32_t reader_sem;   /* readers wait here for the writer to finish */
    int32_t reader_count;  /* readers inside (- RWMAX if a writer); atomic */
    int32_t reader_wait;   /* readers the pending writer waits for; atomic */
};
SYNC_FITS(struct rwmutex, go_rwmutex);

/* Go's rwmutexMaxReaders: more concurrent readers than this is fatal. */
#define RWMAX (1 << 30)

void go_rwmutex_rlock(go_rwmutex *rwp)
{
    struct rwmutex *rw = (struct rwmutex *)rwp;
    if (__atomic_add_fetch(&rw->reader_count, 1, __ATOMIC_SEQ_CST) < 0) {
        /* A writer is pending: wait for its Unlock to release us. */
        sema_acquire(&rw->reader_sem, false, WAIT_RWMUTEX_R);
    }
}

bool go_rwmutex_tryrlock(go_rwmutex *rwp)
{
    struct rwmutex *rw = (struct rwmutex *)rwp;
    int32_t c = __atomic_load_n(&rw->reader_count, __ATOMIC_RELAXED);
    for (;;) {
        if (c < 0)
            return false;
        if (__atomic_compare_exchange_n(&rw->reader_count, &c, c + 1, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            return true;
    }
}

__attribute__((noinline)) static void rwmutex_runlock_slow(struct rwmutex *rw, int32_t r)
{
    if (r + 1 == 0 || r + 1 == -RWMAX)
        debug_fatal("sync: RUnlock of unlocked RWMutex");
    /* A writer is pending; the last reader it waits for lets it in. */
    if (__atomic_sub_fetch(&rw->reader_wait, 1, __ATOMIC_SEQ_CST) == 0)
        sema_release(&rw->writer_sem, 1, false);
}

void go_rwmutex_runlock(go_rwmutex *rwp)
{
    struct rwmutex *rw = (struct rwmutex *)rwp;
    int32_t r = __atomic_sub_fetch(&rw->reader_count, 1, __ATOMIC_SEQ_CST);
    if (r < 0)
        rwmutex_runlock_slow(rw, r);
}

void go_rwmutex_lock(go_rwmutex *rwp)
{
    struct rwmutex *rw = (struct rwmutex *)rwp;
    mutex_lock(&rw->w);
    /* Announce ourselves to readers; r is how many were inside. */
    int32_t r = __atomic_add_fetch(&rw->reader_count, -RWMAX, __ATOMIC_SEQ_CST) + RWMAX;
    /* Wait for them, unless they all left between the two adds (then
     * their slow RUnlocks have brought reader_wait back to zero). */
    if (r != 0 && __atomic_add_fetch(&rw->reader_wait, r, __ATOMIC_SEQ_CST) != 0)
        sema_acquire(&rw->writer_sem, false, WAIT_RWMUTEX_W);
}

bool go_rwmutex_trylock(go_rwmutex *rwp)
{
    struct rwmutex *rw = (struct rwmutex *)rwp;
    if (!mutex_trylock(&rw->w))
        return false;
    int32_t zero = 0;
    if (!__atomic_compare_exchange_n(&rw->reader_count, &zero, -RWMAX, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        mutex_unlock(&rw->w);
        return false;
    }
    return true;
}

void go_rwmutex_unlock(go_rwmutex *rwp)
{
    struct rwmutex *rw = (struct rwmutex *)rwp;
    /* Let readers in again; r is how many blocked meanwhile. */
    int32_t r = __atomic_add_fetch(&rw->reader_count, RWMAX, __ATOMIC_SEQ_CST);
    if (r >= RWMAX)
        debug_fatal("sync: Unlock of unlocked RWMutex");
    if (r > 0)
        sema_release(&rw->reader_sem, (uint32_t)r, false);
    mutex_unlock(&rw->w);
}

/* ---- Once --------------------------------------------------------------- */

struct SYNC_ALIAS once {
    uint32_t done;  /* 1 once fn has returned; atomic, release/acquire */
    uint32_t pad;
    struct mutex m; /* serialises the slow path */
};
SYNC_FITS(struct once, go_once);

__attribute__((noinline)) static void once_slow(struct once *o, go_func fn, void *arg)
{
    mutex_lock(&o->m);
    if (!__atomic_load_n(&o->done, __ATOMIC_RELAXED)) {
        fn(arg);
        /* Publish fn's effects to every fast-path reader. */
        __atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
    }
    mutex_unlock(&o->m);
}

void go_once_do(go_once *op, go_func fn, void *arg)
{
    struct once *o = (struct once *)op;
    /* Not a CAS on done: the losers must wait until fn has finished, not
     * merely started, so they queue on the mutex. */
    if (__builtin_expect(__atomic_load_n(&o->done, __ATOMIC_ACQUIRE), 1))
        return;
    once_slow(o, fn, arg);
}

/* ---- Cond --------------------------------------------------------------- */

struct SYNC_ALIAS cond {
    notify_list_t list; /* the waiters are queued under its address */
    uint64_t spare;
};
SYNC_FITS(struct cond, go_cond);

void go_cond_wait(go_cond *cp, go_mutex *m)
{
    struct cond *c = (struct cond *)cp;
    /* The ticket is taken while we still hold m: a signaller that locks m
     * after our unlock counts us, so its wake-up cannot be lost. */
    uint32_t t = sema_notify_add(&c->list);
    mutex_unlock((struct mutex *)m);
    sema_notify_wait(&c->list, t, WAIT_COND);
    mutex_lock((struct mutex *)m);
}

void go_cond_signal(go_cond *cp)
{
    sema_notify_one(&((struct cond *)cp)->list);
}

void go_cond_broadcast(go_cond *cp)
{
    sema_notify_all(&((struct cond *)cp)->list);
}

/* ---- counting semaphore ------------------------------------------------- */

/* GO_SEMA_INIT(n) stores n in a uint64_t; the count is its low half. */
static uint32_t *sema_word(go_sema *s)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint32_t *)s + 1;
#else
    return (uint32_t *)s;
#endif
}
_Static_assert(sizeof(go_sema) >= sizeof(uint32_t), "go_sema too small");

void go_sema_acquire(go_sema *s)
{
    sema_acquire(sema_word(s), false, WAIT_SEMACQUIRE);
}

bool go_sema_try_acquire(go_sema *s)
{
    return sema_try_acquire(sema_word(s));
}

int go_sema_acquire_timeout(go_sema *s, int64_t timeout_ns)
{
    uint32_t *w = sema_word(s);
    if (sema_try_acquire(w))
        return 0;
    if (timeout_ns <= 0)
        return -ETIMEDOUT;
    int64_t now = nanotime();
    if (timeout_ns > INT64_MAX - now) {
        /* Beyond the end of the clock: the same as no deadline. */
        sema_acquire(w, false, WAIT_SEMACQUIRE);
        return 0;
    }
    return sema_acquire_until(w, false, WAIT_SEMACQUIRE, now + timeout_ns) ? 0 : -ETIMEDOUT;
}

void go_sema_release(go_sema *s, uint32_t n)
{
    sema_release(sema_word(s), n, false);
}
