/*
 * lock.h - the runtime's own low-level locks: futex wrappers, a spin-then-
 * sleep mutex for runtime data structures (Go's runtime.mutex), and the
 * one-shot note an OS thread sleeps on (Go's note).
 *
 * A runtime lock is never held across a goroutine switch in a way that
 * lets another thread observe it owned by "nobody": it may be taken on one
 * goroutine's stack and released, on the same OS thread, by the code that
 * runs right after the switch (see sched.c, "after-switch actions"), which
 * is why these locks do not record an owner thread.
 *
 * Lock order. A thread may take a lock only if every lock it holds comes
 * before it in this list (outer first); the ranks below are that list as
 * data, and builds with GO_LOCKRANK (CMake's Debug builds, `make asan`)
 * check every acquisition against the locks the thread holds, and abort
 * with "fatal error: lock order violation" naming both (Go's lockrank).
 * Two locks of one rank may be held together only where the rank says so,
 * and then only taken in address order.
 *
 *   LOCK_RANK_NETPOLL_INIT  the backend's start (netpoll.c)
 *   LOCK_RANK_CTX           a context (ctx.c; its done channel closes under it)
 *   LOCK_RANK_CHAN          a channel (select takes several, address order)
 *   LOCK_RANK_PD_DEADLINE   a poll descriptor's dlock (netpoll.c)
 *   LOCK_RANK_PD            a poll descriptor's lock
 *   LOCK_RANK_SEMA          a sema bucket (sema.c)
 *   LOCK_RANK_TIMERS        a P's timer heap (time.c; two, address order,
 *                           when one P adopts another's timers)
 *   LOCK_RANK_SCHED         sched.lock (global run queue, idle Ps and Ms)
 *   LOCK_RANK_GFREE         the global pool of dead Gs (proc.c)
 *   LOCK_RANK_ALLG          the list of all goroutines (proc.c)
 *   LOCK_RANK_STACK_POOL    the stack arena (stack.c)
 *
 * A lock with no rank (zero-initialised, never given one) is a leaf:
 * nothing may be taken while it is held. Locks taken with rtrylock are
 * recorded but not checked, since a try cannot wait.
 */
#ifndef GO_LOCK_H
#define GO_LOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Sleep while *addr == val, at most timeout_ns (< 0: no limit). Returns
 * false on timeout. Spurious returns happen; callers loop. */
bool futex_wait(uint32_t *addr, uint32_t val, int64_t timeout_ns);
/* Wake up to n threads sleeping on addr. addr may already be stale: a
 * wake on memory nobody waits on is harmless. */
void futex_wake(uint32_t *addr, int n);
/* The calling thread starts (1) or stops (0) sleeping on a runtime lock:
 * sysmon then knows its goroutine is not blocked in a call of its own
 * (sched.c; a no-op where lock.c is linked alone). */
void rt_lockwait(int on);

enum lock_rank {
    LOCK_RANK_LEAF = 0, /* no rank given: innermost, holds nothing under it */
    LOCK_RANK_NETPOLL_INIT,
    LOCK_RANK_CTX,
    LOCK_RANK_CHAN,
    LOCK_RANK_PD_DEADLINE,
    LOCK_RANK_PD,
    LOCK_RANK_SEMA,
    LOCK_RANK_TIMERS,
    LOCK_RANK_SCHED,
    LOCK_RANK_GFREE,
    LOCK_RANK_ALLG,
    LOCK_RANK_STACK_POOL,
    LOCK_NRANKS
};

/* A mutex for runtime data: 0 unlocked, 1 locked, 2 locked with
 * sleepers. Zero-initialised is unlocked (and, for the order check, a
 * leaf). */
typedef struct rlock {
    uint32_t state;
#ifdef GO_LOCKRANK
    uint32_t rank; /* enum lock_rank; set before the lock is shared */
#endif
} rlock_t;
#ifdef GO_LOCKRANK
#define RLOCK_INIT(r) {.state = 0, .rank = (r)}
#else
#define RLOCK_INIT(r) {0}
#endif

/* Give a lock that is not yet shared its rank (a no-op unless GO_LOCKRANK). */
static inline void rlock_init(rlock_t *l, enum lock_rank r)
{
    l->state = 0;
#ifdef GO_LOCKRANK
    l->rank = r;
#else
    (void)r;
#endif
}

void rlock_slow(rlock_t *l);
void runlock_slow(rlock_t *l);

#ifdef GO_LOCKRANK
/* The order check (lock.c): before a blocking acquisition, and the
 * bookkeeping of what this thread holds. */
void lockrank_check(const rlock_t *l);
void lockrank_acquired(const rlock_t *l);
void lockrank_released(const rlock_t *l);
#define LOCKRANK_CHECK(l) lockrank_check(l)
#define LOCKRANK_ACQUIRED(l) lockrank_acquired(l)
#define LOCKRANK_RELEASED(l) lockrank_released(l)
#else
#define LOCKRANK_CHECK(l) ((void)0)
#define LOCKRANK_ACQUIRED(l) ((void)0)
#define LOCKRANK_RELEASED(l) ((void)0)
#endif

/* The bare 0 -> 1 transition, with no bookkeeping. */
static inline bool rlock_cas(rlock_t *l)
{
    uint32_t z = 0;
    return __atomic_compare_exchange_n(&l->state, &z, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static inline void rlock(rlock_t *l)
{
    LOCKRANK_CHECK(l);
    if (__builtin_expect(!rlock_cas(l), 0))
        rlock_slow(l);
    LOCKRANK_ACQUIRED(l);
}

static inline bool rtrylock(rlock_t *l)
{
    bool ok = rlock_cas(l);
    if (ok)
        LOCKRANK_ACQUIRED(l);
    return ok;
}

static inline void runlock(rlock_t *l)
{
    LOCKRANK_RELEASED(l);
    if (__builtin_expect(__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2,
                         0))
        runlock_slow(l);
}

/* A one-shot event for one sleeping thread: note_sleep() returns once
 * note_wakeup() has been called since the last note_clear(). A note
 * carries no message: a wake-up posted for an earlier sleep can arrive in
 * a later one (the waker posts after dropping the lock under which it
 * chose us), so every sleeper re-checks the condition it waits for, set
 * before the wake-up is posted, and sleeps again if it does not hold. */
typedef struct note {
    uint32_t key;
} note_t;

static inline void note_clear(note_t *n)
{
    __atomic_store_n(&n->key, 0, __ATOMIC_RELAXED);
}
void note_wakeup(note_t *n);
/* Returns false if timeout_ns (>= 0) passed first. */
bool note_sleep(note_t *n, int64_t timeout_ns);

/* A CPU pause for spin loops. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Monotonic clock in nanoseconds. */
int64_t nanotime(void);

#endif /* GO_LOCK_H */
