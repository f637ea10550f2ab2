/*
 * time.h - runtime timers (see time.c): the contract between the timer
 * heaps, the scheduler that runs them, and the subsystems that use them
 * (sleep, go_after/go_timer/go_ticker, channel and select deadlines,
 * contexts).
 *
 * A timer is an intrusive struct owned by its user. Each P has a 4-ary
 * min-heap of timers (Go's design) under p->timerlock; p->timer0_when
 * (atomic) is the earliest `when` in the heap, 0 when empty, so the
 * scheduler can check "is anything due?" with one load and no lock.
 *
 * Callbacks run on an M (on its g0 stack or a goroutine's, never on a
 * plain thread), with no runtime lock held. They must not block: they
 * ready goroutines (sched_ready), try-send on channels, start goroutines.
 *
 * Lifetime: after timer_stop() or timer_reset() returns, no callback of
 * the timer's earlier arming is running or will run, so the timer (and
 * whatever its arg points to, e.g. a waiter on a goroutine's stack) may
 * be freed or reused. A callback may stop or reset its own timer (that
 * does not wait for itself). Callers of timer_stop()/timer_reset() must
 * not hold a lock that a callback may take: the wait would deadlock.
 *
 * A timer is zero-initialised (state idle) before first use; set fn, arg
 * and period, then arm it. Every operation is safe to call concurrently
 * with the others and with the timer firing.
 */
#ifndef GO_TIME_H
#define GO_TIME_H

#include "runtime.h"

typedef struct rtimer rtimer_t;

struct rtimer {
    int64_t when;      /* nanotime() at which to fire; under the heap lock */
    int64_t period;    /* > 0: re-arm every period after firing */
    void (*fn)(rtimer_t *t, void *arg, int64_t now);
    void *arg;
    p_t *p;            /* heap it is in, or NULL; under that heap's lock */
    int32_t idx;       /* index in the heap; under the heap's lock */
    uint32_t state;    /* time.c's own state machine; atomic */
};

/* Arm t to fire at `when` (nanotime() scale; <= now fires at once, at the
 * next scheduling point). t must not be armed already. */
void timer_start(rtimer_t *t, int64_t when);
/* Disarm t; returns true if it was armed (this call prevented a firing).
 * Waits for a callback already running on another M to finish. */
bool timer_stop(rtimer_t *t);
/* timer_stop + timer_start atomically; returns what timer_stop would. */
bool timer_reset(rtimer_t *t, int64_t when);
/* Disarm t without waiting: returns true if it was armed. If its callback
 * is running on another M, it may still be running on return, but a
 * periodic timer will not re-arm. For cancellation paths that may run
 * inside a callback and must never wait (contexts). */
bool timer_try_stop(rtimer_t *t);

/* For the scheduler (sched.c): */
/* Run p's due timers; returns p's next `when` (0: none). Any M may call
 * it for any P; it locks p's heap. */
int64_t timers_run(p_t *p, int64_t now);
/* Earliest `when` over all Ps (0: no timers). Lock-free. */
int64_t timers_earliest(void);
/* Move every timer of a retiring P to another P. */
void timers_adopt(p_t *to, p_t *from);

/* Provided by sched.c: make sure some M will wake up by `when` (called by
 * time.c when it arms a timer earlier than any other). */
void sched_timer_armed(int64_t when);

#endif /* GO_TIME_H */
