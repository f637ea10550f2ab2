/*
 * debug.h - fatal errors, panics and goroutine dumps (see debug.c).
 */
#ifndef GO_DEBUG_H
#define GO_DEBUG_H

#include "runtime.h"

/* Go's "fatal error: msg", the goroutine dump, abort. */
__attribute__((noreturn)) void debug_fatal(const char *msg);
/* Go's "panic: msg" for an unrecovered runtime panic, the dump, abort. */
__attribute__((noreturn)) void debug_panic(const char *msg);
/* The stack-overflow report; async-signal-safe. addr may be NULL. */
__attribute__((noreturn)) void debug_stack_overflow(g_t *g, void *addr);
/* Internal invariant broken: "fatal error: runtime: msg". */
#define RT_THROW(msg) debug_fatal("runtime: " msg)
#define RT_ASSERT(cond)                                                          \
    do {                                                                         \
        if (__builtin_expect(!(cond), 0))                                        \
            debug_fatal("runtime: assertion failed: " #cond);                    \
    } while (0)

/* The all-goroutines list, for dumps (proc.c). */
void debug_dump_goroutines(int fd);

#endif /* GO_DEBUG_H */
