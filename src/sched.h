/*
 * sched.h - the scheduler's interface to the rest of the runtime: parking
 * and readying goroutines and plain threads (Go's gopark/goready), run
 * queues, and what sysmon needs (retaking a P from a long system call,
 * preemption requests). sched_timer_armed, for time.c, is in time.h.
 */
#ifndef GO_SCHED_H
#define GO_SCHED_H

#include "runtime.h"

/*
 * A waiter stands for one blocked goroutine or plain thread in one wait
 * queue (Go's sudog). It lives on the blocked caller's own stack for the
 * duration of the blocking call: C stacks never move, so no allocation is
 * needed. Fields are protected by the lock of the object it waits on,
 * except `wake` (see plain_wait in sched.c).
 */
struct waiter {
    g_t *g;              /* blocked goroutine, or NULL for a plain thread */
    uint32_t wake;       /* plain thread: futex word, 0 waiting, 1 readied,
                            2 counted as blocked (sched.c); atomic */
    waiter_t *next;      /* wait queue links; object lock */
    waiter_t *prev;
    void *addr;          /* sema: the semaphore address (the key) */
    uint32_t ticket;     /* sema: 1 if the releaser handed us a unit */
    void *elem;          /* chan: value to send / where to receive */
    void *c;             /* chan: the channel this waiter is queued on */
    struct select_state *sel; /* select: shared state of the select, or NULL */
    int32_t caseidx;     /* select: index of this case */
    bool success;        /* chan: completed by a partner, not by close */
    bool timedout;       /* woken by a deadline, not by a partner */
    bool queue_tail;     /* ready g at the tail of the run queue, not in
                            runnext (a select's fan-in wait: select.c) */
};

/*
 * sched_park - block the caller (goroutine or plain thread) until someone
 * calls sched_ready(w). `unlock(arg)` is called exactly once, at a moment
 * when a wake-up can no longer be lost: for a goroutine after its context
 * is saved (so a waker that takes the lock may ready it at once), for a
 * thread before it sleeps. The caller holds the lock that protects w's
 * queue on entry; it does not hold it on return.
 */
void sched_park(waiter_t *w, void (*unlock)(void *), void *arg,
                enum wait_reason reason);

/* sched_ready - make the owner of w runnable. Called at most once per
 * park, by whoever dequeued w under the object's lock. w must not be
 * touched afterwards: its owner may already have returned. */
void sched_ready(waiter_t *w);

/* Make a waiting G runnable (goroutine side of sched_ready). */
void sched_goready(g_t *g);

/* Put a new runnable G where the caller's P (or the global queue, from a
 * plain thread) will run it next, and wake an idle P if there is one. */
void sched_newg_ready(m_t *m, g_t *g);

/* The running goroutine gives up the CPU but stays runnable. */
void sched_gosched(void);

/* The running goroutine has finished; never returns. */
__attribute__((noreturn)) void sched_goexit(void);

/* Wire/unwire the current G to its M (go_lock_thread). */
void sched_lockosthread(void);
void sched_unlockosthread(void);

/* Change GOMAXPROCS; returns the previous value. */
int sched_setmaxprocs(int n);

/* Count of live goroutines (created, not exited). */
int64_t sched_gcount(void);

/* How many goroutines wait in p's local ring (runnext not counted): a
 * snapshot, which only p's owner can rely on (stealers only shrink it).
 * time.c stops firing timers when its caller's ring is half full. */
static inline uint32_t sched_runq_len(p_t *p)
{
    uint32_t h = __atomic_load_n(&p->rq.head, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&p->rq.tail, __ATOMIC_RELAXED) - h;
}

/* From time.c, for deadlock detection: true if some timer is armed that
 * could still wake a goroutine. */
bool sched_timers_pending(void);
/* The CPUs this process may run on (its affinity mask), read once: the one
 * count that every spin and pacing policy uses. */
int sched_cpu_count(void);

/* Build g's initial context so that it starts in proc_run(g). */
void sched_prepare_g(g_t *g);
/* Create g's sanitizer fiber if the build has one; free it (on another
 * fiber) before g's memory goes back to the system. */
void sched_fiber_init_g(g_t *g);
void sched_fiber_free_g(g_t *g);

/* sysmon: p's M is asleep in the kernel in a call the runtime does not
 * know about: let one more P run (false if none could be added), and
 * timers armed on p move to a P that runs. sched_unlendp ends one such
 * loan: the highest-numbered P retires at its M's next scheduling. */
bool sched_lendp(p_t *p);
void sched_unlendp(void);
/* sysmon: wake an M for timers overdue on Ps no M holds (a lost
 * wake-up's safety net). */
void sched_timers_overdue(int64_t now);
/* sysmon: retake p from a long syscall (true if it did). */
bool sched_retake_syscall(p_t *p, int64_t now);
/* A cooperative preemption point. */
void sched_preempt_check(void);
/* Preempted (sysmon's request or SIGURG): to the global queue's back. */
void sched_gopreempt(void);

/* Note that the calling plain thread uses the runtime (deadlock
 * detection counts it as running until it blocks or exits). */
void sched_register_plain(void);

/* Wake an idle P if work was added and nobody is looking for it. */
void sched_wakep(void);

#endif /* GO_SCHED_H */
