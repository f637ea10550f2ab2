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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

void rlock_slow(rlock_t *l)
{
    for (int i = 0; i < 100; i++) {
        uint32_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
        if (s == 0 && rtrylock(l))
            return;
        cpu_relax();
    }
    /* Once we have marked the lock contended we must keep it marked when
     * we take it, since we cannot know whether other sleepers remain. */
    while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0)
        futex_wait(&l->state, 2, -1);
}

void runlock_slow(rlock_t *l)
{
    futex_wake(&l->state, 1);
}

void note_wakeup(note_t *n)
{
    if (__atomic_exchange_n(&n->key, 1, __ATOMIC_RELEASE) == 0)
        futex_wake(&n->key, 1);
}

bool note_sleep(note_t *n, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns >= 0 ? nanotime() + timeout_ns : -1;
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
