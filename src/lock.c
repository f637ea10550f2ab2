/*
 * lock.c - futexes, runtime mutexes and notes (see lock.h).
 *
 * The mutex is the classic three-state futex mutex: a waiter spins a
 * little (locks in the runtime are held for tens of nanoseconds, so on a
 * multicore machine the holder usually releases before a futex call would
 * even return), then marks the lock contended (2) and sleeps. Unlock wakes
 * one sleeper only if the state says there may be one.
 */
#include "lock.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "debug.h"

bool futex_wait(uint32_t *addr, uint32_t val, int64_t timeout_ns)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tp = &ts;
    }
    int saved = errno;
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, tp, NULL, 0);
    bool timedout = r < 0 && errno == ETIMEDOUT;
    errno = saved;
    return !timedout;
}

void futex_wake(uint32_t *addr, int n)
{
    int saved = errno;
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
    errno = saved;
}

/* Defined in sched.c; these defaults serve programs that link this file
 * alone (test_lockrank). */
__attribute__((weak)) int rt_forked;
__attribute__((weak)) void rt_fork_fatal(void)
{
    abort();
}
__attribute__((weak)) void rt_lockwait(int on)
{
    (void)on;
}

void rlock_slow(rlock_t *l)
{
    for (int i = 0; i < 100; i++) {
        uint32_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
        if (s == 0 && rlock_cas(l))
            return;
        cpu_relax();
    }
    /* Once we have marked the lock contended we must keep it marked when
     * we take it, since we cannot know whether other sleepers remain. */
    if (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) == 0)
        return;
    /* Asleep on a lock is not a goroutine's blocking call (sysmon.c). */
    rt_lockwait(1);
    do {
        /* In a child after fork the holder may not exist (sched.c). */
        if (__builtin_expect(__atomic_load_n(&rt_forked, __ATOMIC_RELAXED), 0))
            rt_fork_fatal();
        futex_wait(&l->state, 2, -1);
    } while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0);
    rt_lockwait(0);
}

void runlock_slow(rlock_t *l)
{
    futex_wake(&l->state, 1);
}

void note_wakeup(note_t *n)
{
    if (__atomic_exchange_n(&n->key, 1, __ATOMIC_SEQ_CST) == 0)
        futex_wake(&n->key, 1);
}

bool note_sleep(note_t *n, int64_t timeout_ns)
{
    /* The M on timer duty passes (next timer - now), which for a timer
     * set "never" (when saturated at INT64_MAX) is INT64_MAX - now:
     * saturate rather than overflow. */
    int64_t deadline = -1;
    if (timeout_ns >= 0) {
        int64_t now = nanotime();
        deadline = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
    }
    while (__atomic_load_n(&n->key, __ATOMIC_ACQUIRE) == 0) {
        int64_t left = -1;
        if (deadline >= 0) {
            left = deadline - nanotime();
            if (left <= 0)
                return false;
        }
        futex_wait(&n->key, 0, left);
    }
    return true;
}

int64_t nanotime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the lock order check (GO_LOCKRANK builds) ---------------------------- */

#ifdef GO_LOCKRANK
static const struct {
    const char *name;
    bool nests; /* two of this rank may be held, taken in address order */
} ranks[LOCK_NRANKS] = {
    [LOCK_RANK_LEAF] = {"unranked (leaf)", false},
    [LOCK_RANK_NETPOLL_INIT] = {"netpoll init", false},
    [LOCK_RANK_CHAN] = {"channel", true},
    [LOCK_RANK_PD_DEADLINE] = {"poll descriptor deadline", false},
    [LOCK_RANK_PD] = {"poll descriptor", false},
    [LOCK_RANK_CTX] = {"context", false},
    [LOCK_RANK_SEMA] = {"sema bucket", false},
    [LOCK_RANK_TIMERS] = {"timer heap", true},
    [LOCK_RANK_SCHED] = {"sched", false},
    [LOCK_RANK_GFREE] = {"dead G pool", false},
    [LOCK_RANK_ALLG] = {"allg", false},
    [LOCK_RANK_STACK_POOL] = {"stack arena", false},
};

/* What this thread holds, in acquisition order. A select over many
 * channels holds one lock per channel; beyond HELD_MAX locks are counted,
 * not checked. */
#define HELD_MAX 128
static __thread struct held {
    const rlock_t *l;
    uint32_t rank;
} held[HELD_MAX];
static __thread int nheld, nuntracked;

/* Position in the order; unranked locks are innermost. */
static uint32_t order_of(uint32_t rank)
{
    return rank == LOCK_RANK_LEAF ? LOCK_NRANKS : rank;
}

static const char *rank_name(uint32_t rank)
{
    return rank < LOCK_NRANKS ? ranks[rank].name : "corrupt rank";
}

__attribute__((noreturn)) static void violation(const char *what, const rlock_t *l,
                                                const struct held *h)
{
    static char msg[2048];
    int n = snprintf(msg, sizeof msg, "%s %s lock %p", what, rank_name(l->rank),
                     (const void *)l);
    if (h)
        n += snprintf(msg + n, sizeof msg - (size_t)n, " while holding %s lock %p",
                      rank_name(h->rank), (const void *)h->l);
    n += snprintf(msg + n, sizeof msg - (size_t)n, " (held, oldest first:");
    for (int i = 0; i < nheld && n < (int)sizeof msg - 64; i++)
        n += snprintf(msg + n, sizeof msg - (size_t)n, " %s %p", rank_name(held[i].rank),
                      (const void *)held[i].l);
    snprintf(msg + n, sizeof msg - (size_t)n, ")");
    debug_fatal(msg);
}

void lockrank_check(const rlock_t *l)
{
    if (l->rank >= LOCK_NRANKS)
        violation("lock order violation: taking a lock with a corrupt rank:", l, NULL);
    uint32_t want = order_of(l->rank);
    for (int i = 0; i < nheld; i++) {
        const struct held *h = &held[i];
        if (h->l == l)
            violation("lock order violation: taking a lock already held:", l, NULL);
        uint32_t have = order_of(h->rank);
        if (have < want)
            continue;
        if (have == want && ranks[h->rank].nests && (uintptr_t)h->l < (uintptr_t)l)
            continue;
        violation("lock order violation: taking", l, h);
    }
}

void lockrank_acquired(const rlock_t *l)
{
    if (nheld == HELD_MAX) {
        nuntracked++;
        return;
    }
    held[nheld++] = (struct held){l, l->rank};
}

void lockrank_released(const rlock_t *l)
{
    for (int i = nheld - 1; i >= 0; i--) {
        if (held[i].l == l) {
            for (int k = i; k < nheld - 1; k++)
                held[k] = held[k + 1];
            nheld--;
            return;
        }
    }
    if (nuntracked > 0) {
        nuntracked--;
        return;
    }
    violation("runtime lock released by a thread that does not hold it:", l, NULL);
}
#endif
