/*
 * trace.h - the execution trace (GOROUTINE_TRACE=FILE): hook points for
 * the scheduler (see trace.c for the design).
 *
 * Every hook is a macro that costs one compare of a read-mostly global
 * with zero and one predictable branch when tracing is off (two
 * instructions on x86-64); the recording itself is out of line.
 */
#ifndef GO_TRACE_H
#define GO_TRACE_H

#include <stdint.h>

#include "runtime.h"

/* Event kinds (one fixed-size record each; see trace.c). */
enum trace_ev {
    TEV_START = 1,     /* a: goroutine id, b: its entry function */
    TEV_STOP,          /* a: goroutine id, b: enum g_status, c: wait reason */
    TEV_SPAWN,         /* a: child id, b: child's entry function, c: parent id */
    TEV_UNBLOCK,       /* a: goroutine readied, b: readied by (0: no goroutine) */
    TEV_SYSCALL_ENTER, /* a: goroutine id */
    TEV_SYSCALL_EXIT,  /* a: goroutine id, b: TRACE_SYSEXIT_* */
    TEV_HANDOFF,       /* a: P id taken from a system call (sysmon) */
    TEV_STEAL,         /* a: victim P id (-1: a plain thread's ring), b: Gs taken */
    TEV_PREEMPT,       /* a: goroutine id */
    TEV_TIMER,         /* a: timer callback */
    TEV_NETPOLL,       /* a: goroutines woken by one poll */
    TEV_SWITCH,        /* a STOP and a START in one record: a: the stopped
                        * goroutine's id (low 48 bits; 0: none), status
                        * (bits 48-55) and wait reason (56-63); b: id of the
                        * one started (0: none); c: its entry function */
    TEV_NKINDS
};

/* How go_syscall_exit found its P. */
enum { TRACE_SYSEXIT_KEPT, TRACE_SYSEXIT_IDLEP, TRACE_SYSEXIT_NOP };

/* Non-zero if GOROUTINE_TRACE asked for a trace. Written once, by
 * trace_init in rt_init, before any M exists and before rt_started is
 * published; constant afterwards (the end of recording at exit is a
 * separate flag, checked out of line), so the hooks read it with a plain
 * load: one compare with memory and a branch. */
extern int trace_on GO_INTERNAL;

/* Is tracing on? On x86-64 one instruction pair, cmpl $0,trace_on(%rip)
 * and jne, written by hand: gcc's own code for the test is a load, a test
 * and a branch (one instruction more at every hook, every switch). The
 * taken side is the caller's out-of-line recording call. */
static inline __attribute__((always_inline)) bool trace_on_now(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __asm__ goto("cmpl $0, %0\n\tjne %l[on]" : : "m"(trace_on) : "cc" : on);
    return false;
on:
    return true;
#else
    return trace_on != 0;
#endif
}

#define TRACE_ON() __builtin_expect(trace_on_now(), 0)

/* Record one event in the calling thread's buffer. */
void trace_event(enum trace_ev ev, uint64_t a, uint64_t b, uint64_t c);
/* A switch on the calling M from `from` to `to` (either may be NULL: the
 * M's own scheduler context). */
void trace_switch(g_t *from, g_t *to);

#define TRACE(ev, a, b, c)                                                       \
    do {                                                                         \
        if (TRACE_ON())                                                          \
            trace_event((ev), (uint64_t)(a), (uint64_t)(b), (uint64_t)(c));      \
    } while (0)

#define TRACE_SWITCH(from, to)                                                   \
    do {                                                                         \
        if (TRACE_ON())                                                          \
            trace_switch((from), (to));                                          \
    } while (0)

/* The process is dying (how: "fatal error", "panic", "SIGQUIT"; msg: its
 * message): stop recording and finish FILE with what was recorded, plus a
 * last instant named `how`. Called by debug.c after the dump, on a fatal
 * error (perhaps in a signal handler, perhaps with runtime locks held) and
 * before SIGQUIT's exit. Allocates nothing and takes no runtime lock; see
 * trace.c for what it cannot save. Does nothing when tracing is off. */
void trace_dying(const char *how, const char *msg);

/* Read GOROUTINE_TRACE; if set, open the file, start the writer and arm
 * the final flush at exit. Called once from rt_init. */
void trace_init(void);

#endif /* GO_TRACE_H */
