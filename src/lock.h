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
 * Lock order (outer first; a debug build checks nothing yet, so keep it by
 * hand and update this table when adding a lock):
 *
 *   1. channel locks (select takes several, in address order); a poll
 *      descriptor's dlock, then its lock (netpoll.c)
 *   2. sema bucket locks (sema.c); a context's lock (ctx.c)
 *   3. timer heap lock of a P (time.c)
 *   4. sched.lock (sched.c: global run queue, idle P and M lists)
 *   5. allg_lock (proc.c: list of all goroutines)
 *   6. stack pool lock (stack.c)
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

/* A mutex for runtime data: 0 unlocked, 1 locked, 2 locked with
 * sleepers. Zero-initialised is unlocked. */
typedef struct rlock {
    uint32_t state;
} rlock_t;
#define RLOCK_INIT {0}

void rlock_slow(rlock_t *l);
void runlock_slow(rlock_t *l);

static inline void rlock(rlock_t *l)
{
    uint32_t z = 0;
    if (__builtin_expect(!__atomic_compare_exchange_n(&l->state, &z, 1, false,
                                                      __ATOMIC_ACQUIRE,
                                                      __ATOMIC_RELAXED),
                         0))
        rlock_slow(l);
}

static inline bool rtrylock(rlock_t *l)
{
    uint32_t z = 0;
    return __atomic_compare_exchange_n(&l->state, &z, 1, false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void runlock(rlock_t *l)
{
    if (__builtin_expect(__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2,
                         0))
        runlock_slow(l);
}

/* A one-shot event for one sleeping thread: note_sleep() returns once
 * note_wakeup() has been called since the last note_clear(). */
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
