/*
 * debug.c - how the runtime dies: Go's fatal errors and panics, with a
 * dump of every goroutine, written with write(2) and no allocation so it
 * works from a signal handler, with locks held, or out of memory.
 *
 * Policy: a recoverable failure is returned to the
 * caller; what Go treats as a programming error ("panic: close of closed
 * channel", "fatal error: all goroutines are asleep - deadlock!") prints
 * Go's own words and the dump, then aborts, in every build.
 *
 * The dump walks the all-G list without its lock (we may be dying while
 * holding it); it shows each goroutine that is not dead: id, state or wait
 * reason, name, and for waiters how long they have waited. It prints at
 * most DUMP_MAX goroutines and then says how many it left out.
 */
#include "debug.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "sched.h"
#include "stack.h"

#define DUMP_MAX 1000

struct out {
    char buf[512];
    size_t n;
    int fd;
};

static void flush(struct out *o)
{
    size_t off = 0;
    while (off < o->n) {
        ssize_t r = write(o->fd, o->buf + off, o->n - off);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    o->n = 0;
}

static void puts_(struct out *o, const char *s)
{
    while (*s) {
        if (o->n == sizeof o->buf)
            flush(o);
        o->buf[o->n++] = *s++;
    }
}

static void putu(struct out *o, uint64_t v)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char s[24];
    for (int j = 0; j < i; j++)
        s[j] = tmp[i - 1 - j];
    s[i] = 0;
    puts_(o, s);
}

static void putx(struct out *o, uintptr_t v)
{
    char s[19] = "0x";
    int i = 2;
    for (int sh = 60; sh >= 0; sh -= 4) {
        unsigned d = (v >> sh) & 15;
        if (i > 2 || d || sh == 0)
            s[i++] = "0123456789abcdef"[d];
    }
    s[i] = 0;
    puts_(o, s);
}

static void dump_g(struct out *o, g_t *g, g_t *self)
{
    uint32_t st = __atomic_load_n(&g->status, __ATOMIC_RELAXED);
    puts_(o, "goroutine ");
    putu(o, (uint64_t)g->id);
    puts_(o, " [");
    if (st == G_WAITING)
        puts_(o, wait_reason_name((enum wait_reason)g->waitreason));
    else
        puts_(o, g_status_name((enum g_status)st));
    if (g->lockedm)
        puts_(o, ", locked to thread");
    puts_(o, "]");
    if (g == self)
        puts_(o, " (current)");
    puts_(o, ":\n");
    if (g->name[0]) {
        puts_(o, "  name: ");
        puts_(o, g->name);
        puts_(o, "\n");
    }
    puts_(o, "  created to run ");
    putx(o, (uintptr_t)g->fn);
    puts_(o, "(");
    putx(o, (uintptr_t)g->arg);
    /* The stack size as given (go_attr or the default), as the overflow
     * report states it: the descriptor and go_copy block are in its top. */
    puts_(o, "), stack ");
    putu(o, (uint64_t)(g->slot_size - STACK_GUARD_SIZE));
    puts_(o, " bytes\n\n");
}

void debug_dump_goroutines(int fd)
{
    struct out o = {.n = 0, .fd = fd};
    g_t *self = sched_getg();
    int64_t shown = 0, skipped = 0;
    for (g_t *g = proc_allg_first(); g; g = g->allnext) {
        uint32_t st = __atomic_load_n(&g->status, __ATOMIC_RELAXED);
        if (st == G_DEAD || st == G_IDLE)
            continue;
        if (shown < DUMP_MAX) {
            dump_g(&o, g, self);
            shown++;
        } else {
            skipped++;
        }
    }
    if (skipped) {
        puts_(&o, "...additional goroutines not shown: ");
        putu(&o, (uint64_t)skipped);
        puts_(&o, "\n");
    }
    if (!self) {
        puts_(&o, "(called from a thread that is not a goroutine)\n");
    }
    flush(&o);
}

static int dying;

__attribute__((noreturn)) static void die(const char *prefix, const char *msg,
                                          const char *pre)
{
    if (__atomic_exchange_n(&dying, 1, __ATOMIC_ACQ_REL)) {
        /* Another thread is already reporting; let it finish. */
        for (;;)
            pause();
    }
    struct out o = {.n = 0, .fd = 2};
    if (pre)
        puts_(&o, pre);
    puts_(&o, prefix);
    puts_(&o, msg);
    puts_(&o, "\n\n");
    flush(&o);
    debug_dump_goroutines(2);
    /* abort() must not be caught by our own handlers; restore default. */
    signal(SIGABRT, SIG_DFL);
    abort();
}

void debug_fatal(const char *msg)
{
    die("fatal error: ", msg, NULL);
}

void debug_panic(const char *msg)
{
    die("panic: ", msg, NULL);
}

void debug_stack_overflow(g_t *g, void *addr)
{
    /* Written into a static buffer: we run on the alternate signal stack. */
    static char pre[256];
    struct out o = {.n = 0, .fd = -1};
    puts_(&o, "runtime: goroutine ");
    putu(&o, (uint64_t)g->id);
    if (g->name[0]) {
        puts_(&o, " (");
        puts_(&o, g->name);
        puts_(&o, ")");
    }
    puts_(&o, " stack exceeds its ");
    /* The size it was given (go_attr or the default): the mapping less
     * the guard. The descriptor and any go_copy block sit in its top. */
    putu(&o, (uint64_t)(g->slot_size - STACK_GUARD_SIZE));
    puts_(&o, "-byte limit");
    if (addr) {
        puts_(&o, " (fault at ");
        putx(&o, (uintptr_t)addr);
        puts_(&o, ")");
    }
    puts_(&o, "\n");
    size_t n = o.n < sizeof pre - 1 ? o.n : sizeof pre - 1;
    memcpy(pre, o.buf, n);
    pre[n] = 0;
    die("fatal error: ", "stack overflow", pre);
}
