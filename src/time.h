/*
 * time.h - runtime timers (see time.c): the contract between the timer
 * heaps, the scheduler that runs them, and the subsystems that use them
 * (sleep, go_after/go_timer/go_ticker, channel and select deadlines,
 * contexts).
 *
 * A timer is an intrusive struct owned by its user. Each P has a 4-ary
 * min-heap of timers (Go's design), plus a sorted ring for sleeps, under
 * p->timerlock; p->timer0_when (atomic) is the earliest `when` in them, 0
 * when empty, so the scheduler can check "is anything due?" with one load
 * and no lock.
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

/* struct rtimer itself is in runtime.h: every goroutine embeds one. */

/*
 * TIMER_NOSTOP: the owner never stops or resets the timer while it is
 * armed, only waits for it to fire (a sleeping goroutine). The heap then
 * does not keep t->idx up to date, which saves a cache miss per level of
 * every sift, and the runner disarms the timer *before* calling fn (as
 * one of a batch), so fn must not touch t once it has let the owner go,
 * and the owner need not call timer_stop() after being woken. Stopping
 * or resetting such a timer while armed is a fatal error; it must not be
 * periodic.
 */
#define TIMER_NOSTOP 1u

/* Arm t to fire at `when` (nanotime() scale; <= now fires at once, at the
 * next scheduling point). t must not be armed already. Out of memory for
 * the heap is fatal: for callers that cannot report it (see timer_arm). */
void timer_start(rtimer_t *t, int64_t when);
/* Disarm t; returns true if it was armed (this call prevented a firing).
 * Waits for a callback already running on another M to finish. */
bool timer_stop(rtimer_t *t);
/* timer_stop + timer_start atomically; returns what timer_stop would.
 * Out of memory is fatal, as for timer_start. */
bool timer_reset(rtimer_t *t, int64_t when);
/* timer_reset that reports running out of memory: returns 1 if t was
 * active, 0 if not, -ENOMEM if t was idle and no heap slot could be had
 * (t stays idle). period >= 0 also sets t->period. Re-arming an active
 * timer, or a running one from its own callback, never needs memory. */
int timer_arm(rtimer_t *t, int64_t when, int64_t period);
/* Disarm t without waiting: returns true if it was armed. If its callback
 * is running on another M, it may still be running on return, but a
 * periodic timer will not re-arm. For cancellation paths that may run
 * inside a callback and must never wait (contexts). */
bool timer_try_stop(rtimer_t *t);

/* For the scheduler (sched.c): */
/* Run p's due timers; returns p's next `when` (0: none; <= now if some
 * were left due). Any M may call it for any P; it locks p's heap. The
 * goroutines the callbacks ready queue on the caller's P, so it fires only
 * as many as fill that P's ring to half (at least one): the caller runs
 * those first and calls again at its next switch. Never call it half-way through a park
 * (before the park's unlock function ran). */
int64_t timers_run(p_t *p, int64_t now);
/* Earliest `when` over all Ps (0: no timers). Lock-free. */
int64_t timers_earliest(void);
/* Move every timer of a retiring P to another P. Out of memory, they stay
 * (they still fire, found by idle Ms; timers_run() on `from` retries). */
void timers_adopt(p_t *to, p_t *from);

/* Provided by sched.c: make sure some M will wake up by `when` (called by
 * time.c when it arms a timer earlier than any other). */
void sched_timer_armed(int64_t when);

#endif /* GO_TIME_H */
