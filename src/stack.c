/*
 * stack.c - goroutine stacks, their guards, and overflow reports.
 *
 * Layout of one stack slot (addresses grow upwards):
 *
 *   | guard (16 KiB) | usable stack ...              | go_copy block | G |
 *   ^ slot base      ^ g->stack_lo                                   ^ g->stack_hi
 *
 * The descriptor (struct g) sits at the very top of its own stack, so a
 * new goroutine touches exactly one page: the descriptor, the copied
 * argument and the first frames share it. Physical pages are committed by
 * the kernel on first touch; the rest of the slot is only address space
 * (MAP_NORESERVE), which is why a default stack can be generous (256 KiB).
 *
 * Default-size slots are carved from arenas of ARENA_SLOTS slots, one mmap
 * each, so a million stacks do not need a million VMAs. Each P carves its
 * own arena, with no lock; plain threads share one under pool_lock. Two Ps
 * carving one arena put their new stacks in the same 2 MiB of address
 * space, under one page-table page, and the kernel serialises the guard
 * madvise of one against the first-touch fault of the other on that page's
 * lock (in bench_fib at GOMAXPROCS=2, 0.24% of all samples spun there).
 *
 * The guard below a stack is installed with madvise(MADV_GUARD_INSTALL)
 * (Linux 6.13+), which adds no VMA and no memory; where the kernel allows
 * it, carving installs the next 16 slots' guards with one process_madvise
 * (see guard_batch). Older kernels get mprotect(PROT_NONE) guard pages,
 * which split the arena VMA; we stop doing that when the process
 * approaches vm.max_map_count and fall back to a canary word at the
 * bottom of the stack, checked when the goroutine is switched out for the
 * last time (a checked canary catches an overflow late, not at the
 * faulting instruction: that is the price of running out of VMAs).
 *
 * Descriptors are never returned to the system for default stacks: dead Gs
 * are cached with their stacks (per P, then globally; see proc.c), which is
 * what makes spawn free of system calls and page faults. Spare stacks are
 * released in batches by proc.c calling stack_release(), which drops every
 * page but the descriptor's.
 *
 * Trimming. Stacks do not move, so a goroutine that once ran deep keeps
 * every page it touched; the pages below its saved stack pointer are dead
 * while it is parked (nothing may live below sp but the ABI's red zone,
 * and TRIM_SLACK keeps more than that). sysmon gives them back: on each
 * look, at most every STACK_TRIM_EVERY_NS, it visits up to TRIM_BUDGET
 * descriptors on the all-G list, resuming where it stopped (so a million
 * goroutines cost it a bounded slice per look) and TRIM_CHUNK at a time
 * (goroutine creation and exit take the same lock and wait for one chunk
 * at most). It notes those switched out of a park (parked_out) with their
 * park count (parkgen), and takes as candidates those it finds in the same
 * park at the next look: idle for at least one look interval, so
 * goroutines that park and wake all the time are never touched, and each
 * park is examined once. For a batch of up to TRIM_BATCH it sets
 * g->trimming, issues one membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED),
 * and then for each in turn re-checks that it is still out in the same
 * park, reads its saved sp, and if at least TRIM_MIN_PAGES of
 * [stack_lo, sp - slack) are resident (mincore) drops them with
 * madvise(MADV_DONTNEED); then it clears trimming (release).
 *
 * Why that is safe. A concurrent MADV_DONTNEED on pages a goroutine is
 * writing silently zeroes its writes, so a goroutine must not run while
 * its stack is trimmed. The M that parks g sets parked_out (release) in
 * after_switch, after g's context is saved and before the unlock callback
 * that lets anyone ready it (every sched_park caller publishes its waiter
 * only through that unlock), so a set parked_out means ctx.sp is g's sp
 * and g is not running. The M that resumes g (set_running, on every path
 * into a G) clears parked_out and then reads trimming, waiting while it
 * is set. sysmon sets trimming and then reads parked_out. That is the
 * store-buffering pattern, which needs a full fence on both sides; the
 * membarrier is sysmon's fence and every running thread's at once, so the
 * resume path needs only a compiler barrier: either the resuming M's clear is visible to
 * sysmon's re-check (no trim), or its read of trimming comes after the
 * barrier and sees it set (it waits for the madvise to finish, spinning
 * briefly, then yielding the CPU to sysmon). Other
 * threads and the kernel may write into a parked goroutine's stack (a
 * child storing into its parent's local, read(2) into a stack buffer):
 * all of that is above sp, which trimming never touches. Nothing is
 * trimmed without the asm context (no saved sp to trust), when the kernel
 * lacks membarrier, or with GOROUTINE_STACK_TRIM=off.
 *
 * Rejected: trimming at park time on the goroutine's own M (safe without
 * any protocol, but knowing whether it is worth it means probing a page
 * 32 KiB below the top: the first read of an unmapped page is a fault,
 * and on the reference VM that doubled the CPU time of the 100,000-relay
 * chain; mincore there is a system call per park), and a CAS on the
 * status word to fence sysmon off (a locked instruction on every wake).
 * Dead Gs in the free lists are not trimmed here: a spawner takes them
 * without a lock (proc.c's scavenger releases the excess instead).
 *
 * An overflow runs into the guard; the SIGSEGV handler (on an alternate
 * signal stack, since the faulting stack is full) recognises a fault address
 * inside the current goroutine's guard and prints Go's "fatal error: stack
 * overflow" naming the goroutine. Any other SIGSEGV goes to the handler
 * that was installed before ours, or kills the process as it would have.
 */
#include "stack.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "debug.h"
#include "sched.h"
#include "proc.h"
#include "testhooks.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef PIDFD_SELF_PROCESS
#define PIDFD_SELF_PROCESS (-10001) /* the calling process, without an fd */
#endif

#if defined(GO_HAVE_VALGRIND_H)
#include <valgrind/valgrind.h>
#define STACK_REGISTER(lo, hi) VALGRIND_STACK_REGISTER(lo, hi)
#else
#define STACK_REGISTER(lo, hi) ((void)(lo), (void)(hi))
#endif

#define ARENA_SLOTS 64
#define GUARD_BATCH 16 /* guards per process_madvise (64 measured slower) */
#define DEFAULT_STACK (256 * 1024 - STACK_GUARD_SIZE)

size_t stack_default_size = DEFAULT_STACK;

static size_t pagesz;
static int guard_mode = GUARD_MADVISE; /* best mode still available */
static long mprotect_budget;           /* mprotect guards we may still add */
static int batch_ok = 1;               /* guard_batch may try; only degrades */

/* The arena plain threads carve from; under pool_lock (a batch of guards
 * is installed under it, single guards outside it: see install_guard).
 * Ps have their own, in p_t. */
static rlock_t pool_lock = RLOCK_INIT(LOCK_RANK_STACK_POOL);
static stack_arena_t shared_arena;

static size_t round_page(size_t n)
{
    return (n + pagesz - 1) & ~(pagesz - 1);
}

void stack_init(void)
{
    pagesz = (size_t)sysconf(_SC_PAGESIZE);
    const char *s = getenv("GOROUTINE_STACK_SIZE");
    if (s && *s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 0);
        if (*end == 0 && v >= GO_STACK_MIN && v <= GO_STACK_MAX)
            stack_default_size = round_page((size_t)v);
        else
            fprintf(stderr, "libgoroutine: ignoring invalid GOROUTINE_STACK_SIZE=%s "
                            "(want %d..%zu bytes)\n", s, GO_STACK_MIN, GO_STACK_MAX);
    }
    /* GOROUTINE_STACK_GUARD=mprotect: PROT_NONE guards, each its own
     * mapping, instead of guard regions inside one. gdb's gcore (13.x)
     * reads memory a mapping chunk at a time and drops a whole 1 MiB chunk
     * whose read trips over a guard region, goroutine stacks and
     * descriptors included; with this setting its core files hold them. */
    const char *gm = getenv("GOROUTINE_STACK_GUARD");
    if (gm && strcmp(gm, "mprotect") == 0)
        guard_mode = GUARD_MPROTECT;
    long maxmap = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &maxmap) != 1)
            maxmap = 65530;
        fclose(f);
    }
    /* Each mprotect guard splits a VMA in up to three; keep half the
     * budget for the program itself. */
    mprotect_budget = maxmap / 4;
#if defined(GO_HAVE_VALGRIND_H)
    /* Valgrind (3.19) does not know process_madvise and warns of it. */
    if (RUNNING_ON_VALGRIND)
        batch_ok = 0;
#endif
}

/*
 * Put a guard below the usable stack; returns the guard kind used. Called
 * without pool_lock: the madvise can take microseconds (it may have to
 * allocate a page table), and a spawn waiting for the lock meanwhile went
 * to sleep on its futex (when Ps shared the arena, bench_fib's cold run at
 * GOMAXPROCS=2 slept 224 times on pool_lock). guard_mode only ever
 * degrades, so a stale read at worst tries a better mode once more.
 */
static int install_guard(uint8_t *base)
{
    int mode = __atomic_load_n(&guard_mode, __ATOMIC_RELAXED);
    if (mode == GUARD_MADVISE) {
        if (madvise(base, STACK_GUARD_SIZE, MADV_GUARD_INSTALL) == 0)
            return GUARD_MADVISE;
        __atomic_store_n(&guard_mode, GUARD_MPROTECT, __ATOMIC_RELAXED); /* EINVAL: kernel too old */
        mode = GUARD_MPROTECT;
    }
    if (mode == GUARD_MPROTECT) {
        if (__atomic_sub_fetch(&mprotect_budget, 1, __ATOMIC_RELAXED) >= 0) {
            if (mprotect(base, STACK_GUARD_SIZE, PROT_NONE) == 0)
                return GUARD_MPROTECT;
        }
        __atomic_add_fetch(&mprotect_budget, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&guard_mode, GUARD_CANARY, __ATOMIC_RELAXED);
    }
    return GUARD_CANARY;
}

static g_t *init_slot(uint8_t *base, size_t slot, int guard)
{
    uintptr_t top = (uintptr_t)base + slot - sizeof(g_t);
    g_t *g = (g_t *)(top & ~(uintptr_t)(CACHE_LINE - 1));
    memset(g, 0, sizeof *g);
    g->stack_lo = base + STACK_GUARD_SIZE;
    g->stack_hi = (uint8_t *)g;
    g->slot_size = slot;
    g->guard_kind = (uint32_t)guard;
    g->status = G_IDLE;
    if (guard == GUARD_CANARY)
        *(uint64_t *)g->stack_lo = STACK_CANARY;
    STACK_REGISTER(g->stack_lo, g->stack_hi);
    return g;
}

/*
 * Guard up to GUARD_BATCH default-size slots from base with one
 * process_madvise on ourselves; returns how many it guarded (0: do them
 * one at a time). One call per 16 slots amortises the system call without
 * holding the address-space lock long enough to stall the other Ps'
 * faults (batches of 64 measured slower than 16). Older
 * kernels lack PIDFD_SELF or refuse this advice here, and a seccomp policy
 * may refuse the call: after the first failure we use install_guard for
 * every slot, which is slower, never unguarded. A partial result counts
 * as a failure (installing a guard twice is harmless).
 */
static size_t guard_batch(uint8_t *base, size_t slot, size_t n)
{
#ifdef SYS_process_madvise
    if (!__atomic_load_n(&batch_ok, __ATOMIC_RELAXED) ||
        __atomic_load_n(&guard_mode, __ATOMIC_RELAXED) != GUARD_MADVISE)
        return 0;
    struct iovec iov[GUARD_BATCH];
    if (n > GUARD_BATCH)
        n = GUARD_BATCH;
    for (size_t i = 0; i < n; i++)
        iov[i] = (struct iovec){.iov_base = base + i * slot, .iov_len = STACK_GUARD_SIZE};
    long r = syscall(SYS_process_madvise, PIDFD_SELF_PROCESS, iov, n, MADV_GUARD_INSTALL, 0);
    if (r == (long)(n * STACK_GUARD_SIZE))
        return n;
    __atomic_store_n(&batch_ok, 0, __ATOMIC_RELAXED);
#else
    (void)base, (void)slot, (void)n;
#endif
    return 0;
}

/* Take the next default-size slot of arena a, mapping a new arena when it
 * is used up; *guarded says whether its guard is already in. NULL and
 * *err on failure. */
static uint8_t *carve(stack_arena_t *a, size_t slot, bool *guarded, int *err)
{
    if (a->next == a->end) {
        void *m = mmap(NULL, slot * ARENA_SLOTS, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            *err = errno == ENOMEM ? -ENOMEM : -EAGAIN;
            return NULL;
        }
        a->next = a->guarded = m;
        a->end = a->next + slot * ARENA_SLOTS;
    }
    uint8_t *base = a->next;
    if (base == a->guarded)
        a->guarded += guard_batch(base, slot, (size_t)(a->end - base) / slot) * slot;
    *guarded = base < a->guarded;
    a->next += slot;
    return base;
}

g_t *stack_new_g(size_t size, p_t *p, int *err)
{
    if (size == 0 || size == stack_default_size) {
        size_t slot = stack_default_size + STACK_GUARD_SIZE;
        uint8_t *base;
        bool guarded;
        if (p) {
            base = carve(&p->stack_arena, slot, &guarded, err);
        } else {
            rlock(&pool_lock);
            base = carve(&shared_arena, slot, &guarded, err);
            runlock(&pool_lock);
        }
        if (!base)
            return NULL;
        return init_slot(base, slot, guarded ? GUARD_MADVISE : install_guard(base));
    }
    size_t slot = round_page(size) + STACK_GUARD_SIZE;
    void *a = mmap(NULL, slot, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (a == MAP_FAILED) {
        *err = errno == ENOMEM ? -ENOMEM : -EAGAIN;
        return NULL;
    }
    g_t *g = init_slot(a, slot, install_guard(a));
    g->custom_stack = true;
    return g;
}

void stack_free_custom(g_t *g)
{
    uint8_t *base = g->stack_lo - STACK_GUARD_SIZE;
    if (g->guard_kind == GUARD_MPROTECT)
        __atomic_fetch_add(&mprotect_budget, 1, __ATOMIC_RELAXED);
#if defined(GO_HAVE_VALGRIND_H)
    /* The stack id is not kept; valgrind tolerates a stale registration. */
#endif
    /* TSan's fiber state (its own mapping, and a trace per fiber) lives
     * as long as the G; default-size Gs are cached with theirs. */
    sched_fiber_free_g(g);
    /* Under ASan, clear the redzone marks its frames left in the shadow:
     * whoever maps this range next (malloc, libbacktrace) must not
     * inherit them. stack_reuse does exactly that. */
    stack_reuse(g);
    munmap(base, g->slot_size);
}

void stack_release(g_t *g)
{
    /* Everything below the descriptor's page. */
    uintptr_t top = (uintptr_t)g & ~(uintptr_t)(pagesz - 1);
    uintptr_t lo = (uintptr_t)g->stack_lo;
    if (top > lo)
        madvise((void *)lo, top - lo, MADV_DONTNEED);
    if (g->guard_kind == GUARD_CANARY)
        *(uint64_t *)g->stack_lo = STACK_CANARY;
}

/* ---- trimming: the dead pages of idle goroutines' stacks ---------------- */

#define TRIM_SLACK 256        /* kept below a saved sp: the red zone and more */
#define TRIM_MIN_PAGES 4      /* not worth a madvise for fewer */
#define TRIM_BATCH 64         /* candidates per sysmon look */
#define TRIM_BUDGET 16384     /* descriptors visited per look */
#define TRIM_CHUNK 256        /* ... per hold of the all-G lock */
#define TRIM_SPINS 100        /* a resuming M's spins before it yields */

#ifndef MEMBARRIER_CMD_PRIVATE_EXPEDITED
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED (1 << 3)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED (1 << 4)
#endif
#ifndef MEMBARRIER_CMD_QUERY
#define MEMBARRIER_CMD_QUERY 0
#endif

static uint64_t ntrims; /* atomic */

uint64_t stack_trims(void)
{
    return __atomic_load_n(&ntrims, __ATOMIC_RELAXED);
}

void stack_trim_wait(g_t *g)
{
    /* sysmon holds the flag for a mincore and a madvise per candidate in
     * its batch: spin a little, then give it the CPU (with more Ms than
     * cores, spinning Ms would keep sysmon from finishing). */
    for (int i = 0; __atomic_load_n(&g->trimming, __ATOMIC_ACQUIRE); i++) {
        if (i < TRIM_SPINS)
            cpu_relax();
        else
            sched_yield();
    }
}

#ifdef GO_CONTEXT_ASM
static int trim_state;        /* 0 unknown, 1 on, -1 off; sysmon only */
static int64_t trim_last;     /* sysmon only */
static g_t *trim_cand[TRIM_BATCH];
static uint8_t trim_cand_gen[TRIM_BATCH];

/* Under allg_lock (proc_allg_scan): is g a candidate? A G becomes one when
 * two looks TRIM_EVERY_NS apart find it parked in the same park, so busy
 * goroutines never are, and each park is examined once. */
static bool trim_visit(g_t *g, void *arg)
{
    int *n = arg;
    if (g->custom_stack)
        return true;
    if (!__atomic_load_n(&g->parked_out, __ATOMIC_ACQUIRE)) {
        g->trim_seen = 0;
        return true;
    }
    uint8_t gen = __atomic_load_n(&g->parkgen, __ATOMIC_RELAXED);
    if (g->trim_seen == 0 || g->trim_gen != gen) {
        g->trim_seen = 1;
        g->trim_gen = gen;
    } else if (g->trim_seen == 1) {
        g->trim_seen = 2; /* examined: not again until it parks anew */
        trim_cand[*n] = g;
        trim_cand_gen[*n] = gen;
        if (++*n == TRIM_BATCH)
            return false;
    }
    return true;
}

/* The part of parked g's stack that is dead: [stack_lo, cut). */
static uintptr_t trim_cut(const g_t *g)
{
    uintptr_t sp = (uintptr_t)g->ctx.sp;
    if (sp <= (uintptr_t)g->stack_lo + TRIM_SLACK || sp > (uintptr_t)g->stack_hi)
        return 0;
    return (sp - TRIM_SLACK) & ~(uintptr_t)(pagesz - 1);
}

/* Resident pages in [lo, hi), by mincore. */
static size_t resident_pages(uintptr_t lo, uintptr_t hi)
{
    unsigned char vec[256];
    size_t n = 0;
    while (lo < hi) {
        size_t npg = (hi - lo) / pagesz;
        if (npg > sizeof vec)
            npg = sizeof vec;
        if (mincore((void *)lo, npg * pagesz, vec) != 0)
            return 0;
        for (size_t i = 0; i < npg; i++)
            n += vec[i] & 1;
        lo += npg * pagesz;
    }
    return n;
}

void stack_trim_tick(int64_t now)
{
    if (trim_state < 0 || now - trim_last < STACK_TRIM_EVERY_NS)
        return;
    trim_last = now;
    if (trim_state == 0) {
        const char *e = getenv("GOROUTINE_STACK_TRIM");
        bool off = e && strcmp(e, "off") == 0;
        trim_state = !off && syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                                     0, 0) == 0 ? 1 : -1;
        if (trim_state < 0)
            return;
    }
    /* TRIM_BUDGET descriptors at most, in chunks (the lock is dropped in
     * between, so a spawn or an exit waits for one chunk, not the whole
     * walk), and not past the end of the list: a G seen twice in one look
     * would look idle without being so. */
    int k = 0;
    for (int seen = 0; seen < TRIM_BUDGET && k < TRIM_BATCH; seen += TRIM_CHUNK) {
        if (proc_allg_scan(TRIM_CHUNK, trim_visit, &k))
            break;
    }
    if (k == 0)
        return;
    /* Fence them off, then check that each is still switched out in the
     * same park (see "Trimming" above for why the barrier). Only then is
     * its saved sp worth reading: a G that ran meanwhile may have exited
     * and started a new life on the same stack. Resuming a candidate
     * waits until its turn in this batch is over. */
    for (int i = 0; i < k; i++)
        __atomic_store_n(&trim_cand[i]->trimming, 1, __ATOMIC_SEQ_CST);
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        /* No barrier, no trim (a fork child must register anew). */
        for (int i = 0; i < k; i++)
            __atomic_store_n(&trim_cand[i]->trimming, 0, __ATOMIC_RELEASE);
        trim_state = 0;
        return;
    }
    for (int i = 0; i < k; i++) {
        g_t *g = trim_cand[i];
        if (__atomic_load_n(&g->parked_out, __ATOMIC_ACQUIRE) &&
            __atomic_load_n(&g->parkgen, __ATOMIC_RELAXED) == trim_cand_gen[i]) {
            uintptr_t lo = (uintptr_t)g->stack_lo, cut = trim_cut(g);
            if (cut > lo && resident_pages(lo, cut) >= TRIM_MIN_PAGES &&
                madvise((void *)lo, cut - lo, MADV_DONTNEED) == 0) {
                if (g->guard_kind == GUARD_CANARY)
                    *(uint64_t *)g->stack_lo = STACK_CANARY;
                __atomic_add_fetch(&ntrims, 1, __ATOMIC_RELAXED);
            }
        }
        __atomic_store_n(&g->trimming, 0, __ATOMIC_RELEASE);
    }
}

bool stack_trim_available(void)
{
    long r = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    return r > 0 && (r & MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}
#else
bool stack_trim_available(void)
{
    return false;
}

/* No saved sp to trust (ucontext keeps it inside the ucontext_t). */
void stack_trim_tick(int64_t now)
{
    (void)now;
}
#endif

#if defined(__SANITIZE_ADDRESS__)
#define GO_STACK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GO_STACK_ASAN 1
#endif
#endif
#ifdef GO_STACK_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

void stack_reuse(g_t *g)
{
#ifdef GO_STACK_ASAN
    /* The last goroutine on this stack left ASan's redzone marks in its
     * shadow; the new one starts with a clean stack. */
    __asan_unpoison_memory_region(g->stack_lo, (size_t)(g->stack_hi - g->stack_lo));
#else
    (void)g;
#endif
}

void stack_check_canary(g_t *g)
{
    if (g->guard_kind == GUARD_CANARY && *(uint64_t *)g->stack_lo != STACK_CANARY)
        debug_stack_overflow(g, NULL);
}

/* ---- SIGSEGV: overflow reports ------------------------------------------ */

static struct sigaction old_segv, old_bus;
static int handler_installed;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    debug_probe_fault(); /* a dump reading a stack that changed under it */
    m_t *m = sched_getm();
    g_t *g = m ? m->curg : NULL;
    uint8_t *addr = si->si_addr;
    if (g && addr >= g->stack_lo - STACK_GUARD_SIZE && addr < g->stack_lo) {
        debug_set_fault_context(uc);
        debug_stack_overflow(g, addr);
    }
    /* Not ours: hand it to whoever had it before, or die as we would have. */
    struct sigaction *old = sig == SIGSEGV ? &old_segv : &old_bus;
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction) {
            old->sa_sigaction(sig, si, uc);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL); /* returning re-executes the fault, now fatal */
}

void stack_install_handler(void)
{
    if (__atomic_exchange_n(&handler_installed, 1, __ATOMIC_ACQ_REL))
        return;
    debug_sigaction(SIGSEGV, on_fault, false, &old_segv);
    debug_sigaction(SIGBUS, on_fault, false, &old_bus);
}

void *stack_thread_altstack(void)
{
    size_t sz = 64 * 1024;
    void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    stack_t ss = {.ss_sp = p, .ss_size = sz, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(p, sz);
        return NULL;
    }
    return p;
}
