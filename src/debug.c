/*
 * debug.c - how the runtime dies, and how a user sees inside it: Go's
 * fatal errors and panics, goroutine dumps (on a fatal error, on SIGQUIT,
 * on demand with go_dump), the leak report at exit, and the settings of
 * GOROUTINE_DEBUG.
 *
 * Policy: a recoverable failure is returned to the caller; what Go treats
 * as a programming error ("panic: close of closed channel", "fatal error:
 * all goroutines are asleep - deadlock!") prints Go's own words and the
 * dump, then aborts, in every build.
 *
 * A dump is written with write(2) through a small buffer and allocates
 * nothing, so it works from a signal handler, with runtime locks held, or
 * out of memory. It walks the all-G list without its lock (we may be dying
 * while holding it) and shows each goroutine that is not dead in Go's
 * layout:
 *
 *   goroutine 7 [chan receive, 2 minutes]:
 *   go_chan_recv(...)
 *           /src/chan.c:301 +0x5c
 *   consumer(...)
 *           /app/main.c:12 +0x1f
 *   created by main in goroutine 0
 *           /app/main.c:30 +0x2e
 *
 * The backtrace of a parked goroutine comes from its saved context, that
 * of the goroutine or thread doing the dump from its own registers (or
 * the signal's context); see traceback.c for the libraries and their
 * safety. A goroutine running on another M is shown as Go shows one it
 * cannot stop: "goroutine running on other thread; stack unavailable".
 * One dump runs at a time (dump_owner, a spin on the thread id with no
 * lock to deadlock on); a dump that faults or dies inside a dump falls
 * back to the headers alone.
 *
 * Debug builds (GO_DEBUG_OBJECTS) also keep a registry of the live
 * channels, timers, tickers and contexts with their creation sites, which
 * the leak report lists after the goroutines (see "objects never freed"
 * below).
 *
 * GOROUTINE_DEBUG is a comma-separated list of name=value, read once at
 * start-up: dumpcontinue=1 (SIGQUIT dumps and the program goes on instead
 * of exiting with status 2), leaks=1 (the leak report at exit),
 * schedtrace=MS and scheddetail=1 (see schedtrace.c).
 */
#include "debug.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "sched.h"
#include "stack.h"
#include "sysmon.h"
#include "trace.h"
#include "traceback.h"

#define DUMP_MAX 1000

struct debug_settings debug_settings;

/* ---- one goroutine ------------------------------------------------------- */

static tb_frame_t frames[TB_MAX_FRAMES]; /* under dump_owner */
static int dump_owner;                    /* tid of the dumping thread, or 0 */
static int dump_depth;                    /* nested dumps on the owner */

/* A parked goroutine's stack can change under us (see traceback.c): a
 * fault while reading it jumps back here. */
static __thread sigjmp_buf *probe_jb __attribute__((tls_model("initial-exec")));

void debug_probe_fault(void)
{
    sigjmp_buf *jb = probe_jb;
    if (jb) {
        probe_jb = NULL;
        siglongjmp(*jb, 1);
    }
}

static int unwind_parked(g_t *g)
{
    sigjmp_buf jb;
    volatile int n = 0;
    if (sigsetjmp(jb, 1) == 0) {
        probe_jb = &jb;
        n = tb_unwind_saved(&g->ctx, (uintptr_t)g->stack_lo, (uintptr_t)g->stack_hi, frames,
                            TB_MAX_FRAMES);
    } else {
        n = -1;
    }
    probe_jb = NULL;
    return n;
}

/* What changes whenever g runs and parks again. */
static uintptr_t saved_sp(g_t *g)
{
#if defined(GO_CONTEXT_ASM)
    return (uintptr_t)__atomic_load_n(&g->ctx.sp, __ATOMIC_ACQUIRE);
#elif defined(__x86_64__)
    return (uintptr_t)__atomic_load_n(&g->ctx.uc.uc_mcontext.gregs[REG_RSP], __ATOMIC_ACQUIRE);
#elif defined(__aarch64__)
    return (uintptr_t)__atomic_load_n(&g->ctx.uc.uc_mcontext.sp, __ATOMIC_ACQUIRE);
#else
    (void)g;
    return 0;
#endif
}

/* The high-water mark of g's stack: from the lowest page the kernel has
 * backed to the top (mincore, async-signal-safe). A stack reused from the
 * pool keeps the pages of its earlier goroutines until the scavenger
 * drops them, so this is the slot's mark as much as g's. */
size_t debug_stack_used(g_t *g)
{
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)g->stack_lo + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    uintptr_t hi = (uintptr_t)g->stack_hi & ~((uintptr_t)pg - 1);
    unsigned char vec[256];
    for (uintptr_t a = lo; a < hi;) {
        size_t npg = (hi - a) / (uintptr_t)pg;
        if (npg > sizeof vec)
            npg = sizeof vec;
        if (mincore((void *)a, npg * (size_t)pg, vec) != 0)
            return 0;
        for (size_t i = 0; i < npg; i++)
            if (vec[i] & 1)
                return (uintptr_t)g->stack_hi - (a + i * (uintptr_t)pg);
        a += npg * (uintptr_t)pg;
    }
    return (uintptr_t)g->stack_hi - hi;
}

DEBUG_RACY static bool in_syscall(g_t *g)
{
    m_t *m = __atomic_load_n(&g->m, __ATOMIC_RELAXED);
    return m && __atomic_load_n(&m->curg, __ATOMIC_RELAXED) == g &&
           __atomic_load_n(&m->oldp, __ATOMIC_RELAXED) != NULL;
}

/*
 * Sampling a goroutine that runs on another M (or sits in a system call
 * there): the dumper names the M in sample.target and sends it SIGURG,
 * which Ms never block; the M's handler (debug_on_sigurg) claims the
 * request, unwinds itself from the signal's context into sample.frames
 * and sets sample.done. A dumper that gives up first withdraws the
 * request with a CAS; if the handler has claimed it, the dumper waits for
 * it to finish instead. One sample at a time, under dump_owner.
 */
#define SAMPLE_BUSY ((m_t *)1)
static struct {
    m_t *target;   /* atomic: M asked, SAMPLE_BUSY once claimed, or NULL */
    int done;      /* atomic */
    int n;
    tb_frame_t frames[TB_MAX_FRAMES];
} sample;

void debug_on_sigurg(void *uc)
{
    m_t *m = sched_getm();
    m_t *want = m;
    if (!m || !__atomic_compare_exchange_n(&sample.target, &want, SAMPLE_BUSY, false,
                                           __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    int saved = errno;
    sample.n = tb_unwind_here(uc, sample.frames, TB_MAX_FRAMES);
    __atomic_store_n(&sample.target, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&sample.done, 1, __ATOMIC_RELEASE);
    errno = saved;
}

static void on_sigurg(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    debug_on_sigurg(uc);
}

#define SAMPLE_WAIT_NS 500000000LL   /* one M */
#define SAMPLE_BUDGET_NS 1000000000LL /* one dump, waiting in all */
static int64_t sample_budget; /* under dump_owner */

/* Frames of the goroutine running on m, or -1. */
static int sample_m(m_t *m)
{
    if (sample_budget <= 0)
        return -1;
    pthread_t th = __atomic_load_n(&m->thread, __ATOMIC_ACQUIRE);
    if (!th)
        return -1;
    sample.n = 0;
    __atomic_store_n(&sample.done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&sample.target, m, __ATOMIC_RELEASE);
    if (sysmon_signal(th) != 0) {
        __atomic_store_n(&sample.target, NULL, __ATOMIC_RELEASE);
        return -1;
    }
    /* Each M gets SAMPLE_WAIT_NS to answer, and one dump waits
     * SAMPLE_BUDGET_NS in all: an M that cannot take the signal (its handler busy, or held
     * back by a sanitizer) must not stall a dying program. */
    struct timespec ts = {0, 100000};
    int64_t start = nanotime(), until = start + SAMPLE_WAIT_NS;
    if (until > start + sample_budget)
        until = start + sample_budget;
    while (!__atomic_load_n(&sample.done, __ATOMIC_ACQUIRE) && nanotime() < until)
        nanosleep(&ts, NULL);
    sample_budget -= nanotime() - start;
    m_t *want = m;
    if (__atomic_compare_exchange_n(&sample.target, &want, NULL, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
        return -1; /* never answered: withdrawn */
    while (!__atomic_load_n(&sample.done, __ATOMIC_ACQUIRE))
        nanosleep(&ts, NULL);
    return sample.n;
}

DEBUG_RACY static void put_header(dbg_out_t *o, g_t *g, uint32_t st)
{
    dbg_puts(o, "goroutine ");
    dbg_putu(o, (uint64_t)g->id);
    dbg_puts(o, " [");
    if (st == G_WAITING)
        dbg_puts(o, wait_reason_name((enum wait_reason)g->waitreason));
    else if (st == G_RUNNING && in_syscall(g))
        dbg_puts(o, "syscall");
    else
        dbg_puts(o, g_status_name((enum g_status)st));
    if (st == G_WAITING && g->waitsince > 0) {
        int64_t min = (nanotime() - g->waitsince) / 60000000000LL;
        if (min >= 1) {
            dbg_puts(o, ", ");
            dbg_putu(o, (uint64_t)min);
            dbg_puts(o, min == 1 ? " minute" : " minutes");
        }
    }
    if (g->lockedm)
        dbg_puts(o, ", locked to thread");
    dbg_puts(o, "]:\n");
    if (g->name[0]) {
        dbg_puts(o, "name: ");
        dbg_puts(o, g->name);
        dbg_puts(o, "\n");
    }
}

DEBUG_RACY static void put_created(dbg_out_t *o, g_t *g)
{
    if (!g->created_pc)
        return;
    char suffix[40] = "";
    if (g->parent_id > 0) {
        dbg_out_t t = {.n = 0, .fd = -1};
        dbg_puts(&t, " in goroutine ");
        dbg_putu(&t, (uint64_t)g->parent_id);
        memcpy(suffix, t.buf, t.n);
        suffix[t.n] = 0;
    }
    tb_print_pc(o, "created by ", g->created_pc, suffix);
}

static void put_stack_use(dbg_out_t *o, g_t *g)
{
    size_t used = debug_stack_used(g);
    dbg_puts(o, "stack: ");
    dbg_putu(o, (uint64_t)used);
    dbg_puts(o, " of ");
    /* The stack size as given (go_attr or the default), as the overflow
     * report states it: the descriptor and go_copy block are in its top. */
    dbg_putu(o, (uint64_t)(g->slot_size - STACK_GUARD_SIZE));
    dbg_puts(o, " bytes used\n");
}

/* Frames of g: `self` is the goroutine (or thread) doing the dump; uc
 * the signal context it was interrupted in, if any. */
DEBUG_RACY static void put_frames(dbg_out_t *o, g_t *g, bool self, void *uc, uint32_t st)
{
    int n;
    if (self) {
        n = tb_unwind_here(uc, frames, TB_MAX_FRAMES);
    } else if (st == G_WAITING || st == G_RUNNABLE) {
        uintptr_t sp = saved_sp(g);
        n = unwind_parked(g);
        /* Resumed while we read it: the frames may be garbage. */
        if (__atomic_load_n(&g->status, __ATOMIC_ACQUIRE) != st || saved_sp(g) != sp) {
            dbg_puts(o, "\tgoroutine ran while being dumped; stack unavailable\n");
            return;
        }
    } else {
        m_t *m = __atomic_load_n(&g->m, __ATOMIC_ACQUIRE);
        n = m && st == G_RUNNING ? sample_m(m) : -1;
        if (n <= 0 || __atomic_load_n(&m->curg, __ATOMIC_ACQUIRE) != g ||
            tb_print(o, sample.frames, n) == 0)
            dbg_puts(o, "\tgoroutine running on other thread; stack unavailable\n");
        return;
    }
    if (n <= 0 || tb_print(o, frames, n) == 0) {
        /* Not started yet, or nothing outside the runtime: its function. */
        if (g && st == G_RUNNABLE && g->fn)
            tb_print_fn(o, (uintptr_t)g->fn);
        else if (n < 0)
            dbg_puts(o, "\t(stack changed while being read)\n");
    }
}

DEBUG_RACY static void dump_g(dbg_out_t *o, g_t *g, g_t *self, void *uc, bool traces)
{
    uint32_t st = __atomic_load_n(&g->status, __ATOMIC_RELAXED);
    put_header(o, g, st);
    if (traces) {
        put_frames(o, g, g == self, uc, st);
        put_created(o, g);
        put_stack_use(o, g);
    } else {
        dbg_puts(o, "\tentry ");
        dbg_putx(o, (uintptr_t)g->fn);
        dbg_puts(o, "\n");
    }
    dbg_puts(o, "\n");
}

static int my_tid(void)
{
    return (int)syscall(SYS_gettid);
}

/* Take the dump lock; false if this thread already holds it (a fault or
 * a fatal error inside a dump): then print without tracebacks. */
static bool dump_enter(void)
{
    int me = my_tid();
    if (__atomic_load_n(&dump_owner, __ATOMIC_ACQUIRE) == me) {
        dump_depth++;
        return false;
    }
    int zero = 0;
    while (!__atomic_compare_exchange_n(&dump_owner, &zero, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        zero = 0;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    dump_depth = 0;
    return true;
}

static void dump_leave(bool owner)
{
    if (!owner) {
        dump_depth--;
        return;
    }
    __atomic_store_n(&dump_owner, 0, __ATOMIC_RELEASE);
}

enum which { DUMP_ALL, DUMP_BLOCKED };

/* The dump proper; returns the number of goroutines that matched. */
DEBUG_RACY static int64_t dump(int fd, void *uc, enum which which)
{
    tb_init();
    bool owner = dump_enter();
    bool traces = owner;
    if (owner)
        sample_budget = SAMPLE_BUDGET_NS;
    dbg_out_t o = {.n = 0, .fd = fd};
    g_t *self = sched_getg();
    int64_t shown = 0, skipped = 0;
    /* The dumping goroutine first, as Go does. */
    if (self && which == DUMP_ALL) {
        dump_g(&o, self, self, uc, traces);
        shown++;
    }
    for (g_t *g = proc_allg_first(); g; g = g->allnext) {
        uint32_t st = __atomic_load_n(&g->status, __ATOMIC_RELAXED);
        if (st == G_DEAD || st == G_IDLE || g == self)
            continue;
        if (which == DUMP_BLOCKED && st != G_WAITING)
            continue;
        if (shown < DUMP_MAX) {
            dump_g(&o, g, self, uc, traces);
            shown++;
        } else {
            skipped++;
        }
    }
    if (skipped) {
        dbg_puts(&o, "...additional goroutines not shown: ");
        dbg_putu(&o, (uint64_t)skipped);
        dbg_puts(&o, "\n\n");
    }
    if (!self && which == DUMP_ALL) {
        /* A plain thread: its own stack, which is as useful. */
        dbg_puts(&o, "thread ");
        dbg_putu(&o, (uint64_t)my_tid());
        dbg_puts(&o, " (not a goroutine) [running]:\n");
        if (traces) {
            int n = tb_unwind_here(uc, frames, TB_MAX_FRAMES);
            tb_print(&o, frames, n);
        }
        dbg_puts(&o, "\n");
    }
    dbg_flush(&o);
    dump_leave(owner);
    return shown + skipped;
}

void debug_dump_goroutines(int fd)
{
    dump(fd, NULL, DUMP_ALL);
}

int go_dump(int fd)
{
    if (fd < 0)
        return -EBADF;
    dump(fd, NULL, DUMP_ALL);
    return 0;
}

/* ---- objects never freed (debug builds) ------------------------------------ */

#ifdef GO_DEBUG_OBJECTS
/*
 * The registry: every live channel, go_after channel, timer, ticker and
 * context, in a hash table by address (for the free) threaded on a list
 * in creation order (for the report), under one mutex. A constructor
 * allocates a node and links it; a destructor unlinks and frees it before
 * the object itself is freed, so an address reused at once by another
 * thread's constructor is never confused with the old object. It costs a
 * malloc and a global lock per constructor and destructor, which is why
 * only debug builds have it. The report only trylocks the mutex (it may
 * run in a signal handler that interrupted a holder), and allocates
 * nothing. Rejected: a link embedded in each object (no malloc, but four
 * structs to change and their sizes to grow); the creation's whole
 * backtrace (an unwind per channel made; the caller's call site is what
 * names the leak, as "created by" does for goroutines).
 */
struct dobj {
    struct dobj *hnext;        /* in its hash bucket */
    struct dobj *prev, *next;  /* in creation order */
    const void *p;
    uintptr_t pc;
    enum debug_obj_kind kind;
};

#define DOBJ_BUCKETS 4096
static struct dobj *dobj_hash[DOBJ_BUCKETS];
static struct dobj *dobj_first, *dobj_last;
static int64_t dobj_count;
static pthread_mutex_t dobj_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t dobj_bucket(const void *p)
{
    return (uint32_t)((((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL) >> 52) % DOBJ_BUCKETS;
}

void debug_obj_new(enum debug_obj_kind kind, const void *p, uintptr_t pc)
{
    struct dobj *d = malloc(sizeof *d);
    if (!d)
        return; /* not listed: the report is best effort under memory pressure */
    d->p = p;
    d->pc = pc;
    d->kind = kind;
    d->next = NULL;
    uint32_t b = dobj_bucket(p);
    pthread_mutex_lock(&dobj_lock);
    d->hnext = dobj_hash[b];
    dobj_hash[b] = d;
    d->prev = dobj_last;
    if (dobj_last)
        dobj_last->next = d;
    else
        dobj_first = d;
    dobj_last = d;
    dobj_count++;
    pthread_mutex_unlock(&dobj_lock);
}

void debug_obj_free(const void *p)
{
    uint32_t b = dobj_bucket(p);
    pthread_mutex_lock(&dobj_lock);
    struct dobj **pp = &dobj_hash[b], *d;
    while ((d = *pp) && d->p != p)
        pp = &d->hnext;
    if (d) {
        *pp = d->hnext;
        if (d->prev)
            d->prev->next = d->next;
        else
            dobj_first = d->next;
        if (d->next)
            d->next->prev = d->prev;
        else
            dobj_last = d->prev;
        dobj_count--;
    }
    pthread_mutex_unlock(&dobj_lock);
    free(d); /* NULL: not one of ours (a timer's own channel) */
}

static const char *const dobj_names[DOBJ_NKINDS] = {
    [DOBJ_CHAN] = "channel", [DOBJ_AFTER] = "go_after channel", [DOBJ_TIMER] = "timer",
    [DOBJ_TICKER] = "ticker", [DOBJ_CTX] = "context",
};

/* Under dump_owner (the creation sites are symbolised into shared
 * buffers). */
static void objects_report(int fd)
{
    dbg_out_t o = {.n = 0, .fd = fd};
    int tries = 0;
    while (pthread_mutex_trylock(&dobj_lock) != 0) {
        if (++tries > 100) {
            dbg_puts(&o, "libgoroutine: objects never freed: registry busy, not listed\n\n");
            dbg_flush(&o);
            return;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (dobj_count > 0) {
        dbg_puts(&o, "libgoroutine: ");
        dbg_putu(&o, (uint64_t)dobj_count);
        dbg_puts(&o, dobj_count == 1 ? " object" : " objects");
        dbg_puts(&o, " never freed (channels, timers, tickers, contexts):\n\n");
        int shown = 0;
        for (struct dobj *d = dobj_first; d; d = d->next) {
            if (shown++ == DUMP_MAX) {
                dbg_puts(&o, "...additional objects not shown: ");
                dbg_putu(&o, (uint64_t)(dobj_count - DUMP_MAX));
                dbg_puts(&o, "\n\n");
                break;
            }
            /* "channel 0x55...: created by f\n\tfile.c:12 +0x1f" */
            dbg_out_t t = {.n = 0, .fd = -1};
            dbg_puts(&t, d->kind < DOBJ_NKINDS ? dobj_names[d->kind] : "object");
            dbg_puts(&t, " ");
            dbg_putx(&t, (uintptr_t)d->p);
            dbg_puts(&t, " created by ");
            char prefix[96];
            size_t n = t.n < sizeof prefix - 1 ? t.n : sizeof prefix - 1;
            memcpy(prefix, t.buf, n);
            prefix[n] = 0;
            tb_print_pc(&o, prefix, d->pc, "");
            dbg_puts(&o, "\n");
        }
    }
    pthread_mutex_unlock(&dobj_lock);
    dbg_flush(&o);
}

static void leaked_objects(int fd)
{
    tb_init();
    bool owner = dump_enter();
    if (owner)
        objects_report(fd);
    dump_leave(owner);
}
#else
static void leaked_objects(int fd)
{
    (void)fd;
}
#endif

int64_t go_leaks(int fd)
{
    if (fd < 0)
        return -EBADF;
    int64_t n = dump(fd, NULL, DUMP_BLOCKED);
    leaked_objects(fd);
    return n;
}

/* ---- dying ------------------------------------------------------------------ */

static int dying;
/* The context of the fault being reported, if any (debug_set_fault_context). */
static __thread void *fault_uc __attribute__((tls_model("initial-exec")));

void debug_set_fault_context(void *uc)
{
    fault_uc = uc;
}

__attribute__((noreturn)) static void die(const char *how, const char *msg,
                                          const char *pre)
{
    if (__atomic_exchange_n(&dying, 1, __ATOMIC_ACQ_REL)) {
        /* Another thread is already reporting; let it finish. */
        for (;;)
            pause();
    }
    dbg_out_t o = {.n = 0, .fd = 2};
    if (pre)
        dbg_puts(&o, pre);
    dbg_puts(&o, how);
    dbg_puts(&o, ": ");
    dbg_puts(&o, msg);
    dbg_puts(&o, "\n\n");
    dbg_flush(&o);
    /* From the faulting instruction, not from this handler's frames. */
    dump(2, fault_uc, DUMP_ALL);
    /* GOROUTINE_TRACE: what was recorded, up to now. */
    trace_dying(how, msg);
    /* abort() must not be caught by our own handlers; restore default. */
    signal(SIGABRT, SIG_DFL);
    abort();
}

void debug_fatal(const char *msg)
{
    die("fatal error", msg, NULL);
}

void debug_panic(const char *msg)
{
    die("panic", msg, NULL);
}

void debug_stack_overflow(g_t *g, void *addr)
{
    /* Written into a static buffer: we run on the alternate signal stack. */
    static char pre[256];
    dbg_out_t o = {.n = 0, .fd = -1};
    dbg_puts(&o, "runtime: goroutine ");
    dbg_putu(&o, (uint64_t)g->id);
    if (g->name[0]) {
        dbg_puts(&o, " (");
        dbg_puts(&o, g->name);
        dbg_puts(&o, ")");
    }
    dbg_puts(&o, " stack exceeds its ");
    /* The size it was given (go_attr or the default): the mapping less
     * the guard. The descriptor and any go_copy block sit in its top. */
    dbg_putu(&o, (uint64_t)(g->slot_size - STACK_GUARD_SIZE));
    dbg_puts(&o, "-byte limit");
    if (addr) {
        dbg_puts(&o, " (fault at ");
        dbg_putx(&o, (uintptr_t)addr);
        dbg_puts(&o, ")");
    }
    dbg_puts(&o, "\n");
    size_t n = o.n < sizeof pre - 1 ? o.n : sizeof pre - 1;
    memcpy(pre, o.buf, n);
    pre[n] = 0;
    die("fatal error", "stack overflow", pre);
}

int debug_sigaction(int sig, void (*h)(int, siginfo_t *, void *), bool restart,
                    struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | (restart ? SA_RESTART : 0);
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, old);
}

/* ---- SIGQUIT, the leak report, GOROUTINE_DEBUG ---------------------------------- */

static void on_sigquit(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    int saved = errno;
    dbg_out_t o = {.n = 0, .fd = 2};
    dbg_puts(&o, "SIGQUIT: quit\n\n");
    dbg_flush(&o);
    dump(2, uc, DUMP_ALL);
    if (!debug_settings.dumpcontinue) {
        trace_dying("SIGQUIT", "quit");
        _exit(2); /* as Go: the dump, then exit status 2 */
    }
    errno = saved;
}

DEBUG_RACY static void leaks_at_exit(void)
{
    dbg_out_t o = {.n = 0, .fd = 2};
    /* Count first, so that the header can say how many. */
    int64_t n = 0;
    for (g_t *g = proc_allg_first(); g; g = g->allnext)
        if (__atomic_load_n(&g->status, __ATOMIC_RELAXED) == G_WAITING)
            n++;
    dbg_puts(&o, "libgoroutine: ");
    dbg_putu(&o, (uint64_t)n);
    dbg_puts(&o, n == 1 ? " goroutine" : " goroutines");
    dbg_puts(&o, " leaked (still blocked at exit)\n\n");
    dbg_flush(&o);
    if (n)
        dump(2, NULL, DUMP_BLOCKED);
    leaked_objects(2);
}

static long setting(const char *env, const char *name)
{
    size_t len = strlen(name);
    for (const char *s = env; s && *s;) {
        if (strncmp(s, name, len) == 0 && s[len] == '=')
            return strtol(s + len + 1, NULL, 10);
        s = strchr(s, ',');
        if (s)
            s++;
    }
    return 0;
}

void debug_init(void)
{
    const char *env = getenv("GOROUTINE_DEBUG");
    debug_settings.dumpcontinue = setting(env, "dumpcontinue") != 0;
    debug_settings.leaks = setting(env, "leaks") != 0;
    long st = setting(env, "schedtrace");
    debug_settings.schedtrace_ms = st > 0 ? st : 0;
    debug_settings.scheddetail = setting(env, "scheddetail") != 0;
    tb_init();
    /* SIGURG, for sampling other Ms (sysmon.c installs its own handler
     * over this one when it preempts with signals, and calls ours). */
    struct sigaction old;
    if (sigaction(SIGURG, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)) {
        debug_sigaction(SIGURG, on_sigurg, true, NULL);
    }
    /* SIGQUIT: unless the program has its own handler (or ignores it). */
    if (sigaction(SIGQUIT, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        old.sa_handler == SIG_DFL) {
        debug_sigaction(SIGQUIT, on_sigquit, true, NULL);
    }
    if (debug_settings.leaks)
        atexit(leaks_at_exit);
}
