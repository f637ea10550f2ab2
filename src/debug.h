/*
 * debug.h - fatal errors, panics and goroutine dumps (see debug.c).
 */
#ifndef GO_DEBUG_H
#define GO_DEBUG_H

#include <signal.h>

#include "runtime.h"

/* Go's "fatal error: msg", the goroutine dump, abort. */
__attribute__((noreturn)) void debug_fatal(const char *msg);
/* Go's "panic: msg" for an unrecovered runtime panic, the dump, abort. */
__attribute__((noreturn)) void debug_panic(const char *msg);
/* The stack-overflow report; async-signal-safe. addr may be NULL. A
 * fault handler first names its signal context, so that the dump unwinds
 * the faulting goroutine from the faulting instruction. */
void debug_set_fault_context(void *uc);
__attribute__((noreturn)) void debug_stack_overflow(g_t *g, void *addr);
/* Internal invariant broken: "fatal error: runtime: msg". */
#define RT_THROW(msg) debug_fatal("runtime: " msg)
#define RT_ASSERT(cond)                                                          \
    do {                                                                         \
        if (__builtin_expect(!(cond), 0))                                        \
            debug_fatal("runtime: assertion failed: " #cond);                    \
    } while (0)

/*
 * Debug builds (GO_DEBUG_OBJECTS: on by default with CMAKE_BUILD_TYPE=Debug,
 * as GO_LOCKRANK) keep a registry of the channels, timers, tickers and
 * contexts the program creates, with the address each was created from,
 * and the leak report lists those never freed (debug.c). The public
 * constructors register what they return (DEBUG_OBJ_NEW, in the public
 * function itself, so that its return address is the program's call
 * site) and the public destructors unregister before freeing. Other
 * builds compile both to nothing.
 */
enum debug_obj_kind { DOBJ_CHAN, DOBJ_AFTER, DOBJ_TIMER, DOBJ_TICKER, DOBJ_CTX, DOBJ_NKINDS };
#ifdef GO_DEBUG_OBJECTS
void debug_obj_new(enum debug_obj_kind kind, const void *p, uintptr_t pc);
void debug_obj_free(const void *p);
#define DEBUG_OBJ_NEW(kind, p)                                                   \
    do {                                                                         \
        if (p)                                                                   \
            debug_obj_new((kind), (p), (uintptr_t)__builtin_return_address(0)); \
    } while (0)
#define DEBUG_OBJ_FREE(p) debug_obj_free(p)
#else
#define DEBUG_OBJ_NEW(kind, p) ((void)0)
#define DEBUG_OBJ_FREE(p) ((void)0)
#endif

/* Every goroutine, in Go's layout with backtraces (go_dump). */
void debug_dump_goroutines(int fd);

/* For the dumps, schedtrace and go_stats, which read other threads'
 * fields without their locks by design (as Go's do: a dump must work
 * while those locks are held, and a trace must not slow the scheduler):
 * a value read mid-update is shown as it is. TSan is told not to
 * instrument these readers. */
#if defined(__SANITIZE_THREAD__)
#define DEBUG_RACY __attribute__((no_sanitize("thread")))
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DEBUG_RACY __attribute__((no_sanitize("thread")))
#endif
#endif
#ifndef DEBUG_RACY
#define DEBUG_RACY
#endif

/* GOROUTINE_DEBUG, read once by debug_init() at start-up. */
struct debug_settings {
    bool dumpcontinue; /* SIGQUIT dumps and returns instead of exit(2) */
    bool leaks;        /* leak report at exit */
    bool scheddetail;  /* schedtrace adds per-P and per-M lines */
    long schedtrace_ms; /* > 0: a SCHED line every this many ms */
};
extern struct debug_settings debug_settings;

/* Read GOROUTINE_DEBUG, install the SIGQUIT handler, arm the leak report;
 * called once from rt_init. */
void debug_init(void);
/* Called first by the SIGSEGV/SIGBUS handler: if this thread is reading
 * another goroutine's stack for a dump, abandon that read (does not
 * return); otherwise returns. */
void debug_probe_fault(void);
/* Called first by every SIGURG handler on an M: answers a dump's request
 * to sample this M's stack (see debug.c). */
void debug_on_sigurg(void *uc);
/* Installs handler h for sig the way every runtime handler is installed:
 * SA_SIGINFO, on the alternate signal stack, and with SA_RESTART if
 * restart (interrupted system calls resume). The action it replaces goes
 * to *old unless old is NULL. Returns sigaction's result. */
int debug_sigaction(int sig, void (*h)(int, siginfo_t *, void *), bool restart,
                    struct sigaction *old);
/* g's stack high-water mark in bytes: from the lowest page backed by
 * memory to the top (mincore). Async-signal-safe. */
size_t debug_stack_used(g_t *g);
/* Start schedtrace's thread if GOROUTINE_DEBUG asks for it (stats.c);
 * called by rt_init once the Ps exist. */
void stats_start(void);

#endif /* GO_DEBUG_H */
