/*
 * sysmon.c - the monitor thread (Go's sysmon) and signal-based preemption.
 *
 * sysmon is a runtime thread that holds no P and runs no goroutine. It
 * sleeps 20 us between looks while a P is in a system call or a look
 * found work, doubling up to 10 ms after 50 quiet looks (as Go; at once
 * when every P runs goroutines and no M spins, see every_p_running), but never
 * past the moment a running goroutine will have run 10 ms, nor past 1 ms
 * while any P runs goroutines, so preemption comes 10-11 ms after a
 * goroutine started, without a look every 20 us. On each look it:
 *
 *   - retakes Ps from Ms stuck in a blocking call (go_syscall_enter) for
 *     a whole tick, so the other goroutines keep running
 *     (sched_retake_syscall); a goroutine entering a call while sysmon
 *     sleeps long (over 50 us) wakes it first (sysmon_wake);
 *   - polls the network if nobody has for 10 ms, so I/O readiness is not
 *     starved by Ms that are all busy;
 *   - wakes an M for a timer overdue on a P that no M holds
 *     (sched_timers_overdue: a safety net, as Go's sysmon has);
 *   - asks a goroutine that has run for 10 ms without a scheduling point
 *     to yield (g->preempt), and on x86-64 interrupts its M with SIGURG;
 *   - notices a goroutine whose M sleeps in the kernel in a call nobody
 *     bracketed with go_syscall_enter (a plain read, usleep, a library's
 *     blocking call), and lends a P for as long as it sleeps.
 *
 * Blocked in unknown calls. For a P that has run the same goroutine since
 * the last look, sysmon looks at its M's thread (blocked_look, at most
 * every 1 ms, backing off to 16 ms while it sleeps): its CPU clock, and if
 * that does not settle it, its state in /proc/self/task/TID/stat (S or D:
 * asleep). The clock is one system call and the file three (and several
 * times the clock's cost), so the clock comes first and the file only
 * when the clock cannot tell; /proc/TID/syscall, which also names the
 * call, costs more still and tells nothing more we use. An asleep M's
 * goroutine
 *   - is not running: its 10 ms slice starts again at each look that finds
 *     it asleep and once more when a look finds it awake, so it gets no
 *     preemption signal, which would make a sleep or a read return early
 *     with EINTR. A signal goes only to a thread a look saw
 *     using the CPU; a thread with no CPU since the last look (waiting
 *     for one, or just woken) is looked at again 50 us later;
 *   - gets a P lent to the others once it has slept from one look to the
 *     next without using the CPU, and not on a runtime lock (rt_lockwait)
 *     (sched_lendp: GOMAXPROCS counts one more
 *     P, an M starts on it, and the sleeping P's timers move to one that
 *     runs); the loan ends when a look finds it awake, or its P moves on,
 *     and the highest-numbered P then retires at its M's next scheduling,
 *     as when GOMAXPROCS shrinks.
 * Rejected: taking the sleeping M's own P, as for go_syscall_enter. sysmon
 * cannot know where in its code a sleeping thread is: asleep inside the
 * runtime (waiting for a runtime lock, in malloc's lock, a sanitizer's)
 * it holds the P in the middle of using it, and it may wake and enter the
 * runtime between sysmon's look and its taking the P; every runtime entry
 * point would need a check, and every such sleep inside the runtime a
 * mark. A lent P takes nothing from anybody: nothing runs two goroutines
 * on one P and no goroutine is lost, wherever the sleeper is. The price:
 * after it wakes, one P more than GOMAXPROCS runs until the look that
 * notices (up to 16 ms) and the lent P's next scheduling point.
 *
 * SIGURG is the program's too (socket out-of-band data, kill()). Ours are
 * sent with pthread_sigqueue, value &urg_cookie; the handler passes every
 * other SIGURG to the action that was installed before ours (saved at
 * start), and before each preemption signal sysmon checks that ours is
 * still installed: if the program has installed its own since, that one
 * is chained and ours put back (urg_check).
 *
 * Asynchronous preemption. The SIGURG handler runs on the interrupted M.
 * It switches nothing itself: if the interrupted instruction is at a safe
 * point, it rewrites the signal context so that, when the handler
 * returns, the goroutine "calls" go_preempt_trampoline (arch/
 * preempt_x86_64.S), which saves every register including the flags and
 * the full extended (AVX) state, yields through the ordinary scheduler,
 * restores everything and returns to the interrupted instruction. A safe
 * point is an instruction in the main executable's own code, outside this
 * runtime (when linked statically our code lies between gort_text_begin and
 * gort_text_end, see CMakeLists.txt), by a goroutine not inside go_syscall_enter/exit.
 * Anywhere else (libc, the dynamic loader, other shared objects, the
 * runtime) the request stays pending and sysmon signals again on its next
 * look; the goroutine also yields at its next runtime call.
 *
 * x86-64 has a 128-byte red zone below the stack pointer that leaf code
 * may use without moving the pointer, so the injected return address goes
 * below it and the trampoline returns with `ret $128`.
 *
 * GOROUTINE_PREEMPT=off disables the signal (requests are still made and
 * honoured at runtime calls). So do sanitizer builds and fully static
 * programs, where the executable itself holds code (the sanitizer runtime,
 * libc) that must not be interrupted and that we cannot tell apart by
 * address. On architectures other than x86-64 preemption is cooperative
 * only (the signal needs an assembly trampoline per architecture).
 */
#include "sysmon.h"

#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "debug.h"
#include "netpoll.h"
#include "proc.h"
#include "sched.h"
#include "stack.h"

#define SYSMON_MIN_NS 20000
#define SYSMON_MAX_NS 10000000
#define FORCE_PREEMPT_NS 10000000
#define SYSMON_RUNNING_NS 1000000 /* longest sleep while a P runs Gs */
#define NETPOLL_STALE_NS 10000000

static bool async_preempt;

/* ---- safe points --------------------------------------------------------- */

#define MAX_RANGES 8
static uintptr_t user_lo[MAX_RANGES], user_hi[MAX_RANGES];
static int nuser;

/* Present when libgoroutine is linked statically: the build pre-links our
 * objects between these two labels, so we can tell our code from the
 * program's (see CMakeLists.txt). */
extern char gort_text_begin[] __attribute__((weak));
extern char gort_text_end[] __attribute__((weak));

static int nobjects;

static int count_objects(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info;
    (void)size;
    (void)data;
    nobjects++;
    return 0;
}

static int find_main(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    /* The first object reported is the main program. */
    for (int i = 0; i < info->dlpi_phnum && nuser < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            user_lo[nuser] = info->dlpi_addr + ph->p_vaddr;
            user_hi[nuser] = user_lo[nuser] + ph->p_memsz;
            nuser++;
        }
    }
    return 1; /* stop after the first */
}

static bool safe_pc(uintptr_t pc)
{
    if (gort_text_begin && pc >= (uintptr_t)gort_text_begin &&
        pc < (uintptr_t)gort_text_end)
        return false;
    for (int i = 0; i < nuser; i++)
        if (pc >= user_lo[i] && pc < user_hi[i])
            return true;
    return false;
}

#if defined(__x86_64__)
void go_preempt_trampoline(void);

/* Called by the trampoline on the goroutine's own stack, all registers
 * saved: a preemption (sched_gopreempt). */
void go_preempt_yield(void) __attribute__((visibility("hidden")));
void go_preempt_yield(void)
{
    m_t *m = sched_getm();
    if (m && m->p)
        P_STAT_INC(m->p, npreempt_sig);
    sched_gopreempt();
}

/* Our preemption signals carry this address as their value (sent with
 * pthread_sigqueue: SI_QUEUE, our pid); every other SIGURG is the
 * program's, from kill(), a socket's out-of-band data or its own
 * pthread_kill, and goes to the handler it installed. */
static char urg_cookie;
static pid_t self_pid;

/* The program's SIGURG action, from before we installed ours or set since
 * (urg_check). A small ring, published by pointer, so that a handler
 * running on another thread never reads a slot being rewritten. */
static struct sigaction app_urg[4];
static struct sigaction *app_urg_cur; /* atomic */
static unsigned app_urg_next;         /* sysmon (or sysmon_start) only */

static void app_urg_set(const struct sigaction *sa)
{
    struct sigaction *slot = &app_urg[app_urg_next++ % 4];
    *slot = *sa;
    __atomic_store_n(&app_urg_cur, slot, __ATOMIC_RELEASE);
}

static void forward_sigurg(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *a = __atomic_load_n(&app_urg_cur, __ATOMIC_ACQUIRE);
    if (!a)
        return;
    bool info = a->sa_flags & SA_SIGINFO;
    if (!info && (a->sa_handler == SIG_DFL || a->sa_handler == SIG_IGN))
        return; /* SIGURG's default action is to ignore it */
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &a->sa_mask, &old);
    if (info)
        a->sa_sigaction(sig, si, uc);
    else
        a->sa_handler(sig);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void on_sigurg(int sig, siginfo_t *si, void *ucv)
{
    if (!si || si->si_code != SI_QUEUE || si->si_pid != self_pid ||
        si->si_value.sival_ptr != &urg_cookie) {
        forward_sigurg(sig, si, ucv);
        return;
    }
    debug_on_sigurg(ucv); /* a dump sampling this M's stack, if one asked */
    m_t *m = sched_tls_m;
    g_t *g = m ? m->curg : NULL;
    /* A pending after-switch action means the runtime is mid-switch (it
     * may be in a PLT stub on its way to libc): never a safe point. */
    if (!g || !__atomic_load_n(&g->preempt, __ATOMIC_RELAXED) || m->oldp || m->lockedg ||
        m->after != AFTER_NONE)
        return;
    ucontext_t *uc = ucv;
    uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (!safe_pc(pc))
        return;
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    sp -= 128; /* the red zone */
    sp -= 8;
    *(uintptr_t *)sp = pc;
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)go_preempt_trampoline;
    __atomic_store_n(&g->preempt, 0, __ATOMIC_RELAXED);
}

static void install_sigurg(void)
{
    debug_sigaction(SIGURG, on_sigurg, true, NULL);
}

/* Before each preemption signal: if the program has installed its own
 * SIGURG handler since, chain to it and put ours back (one sigaction
 * call per signal sent; signals are rare). */
static void urg_check(void)
{
    struct sigaction cur;
    if (sigaction(SIGURG, NULL, &cur) != 0)
        return;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigurg)
        return;
    app_urg_set(&cur);
    install_sigurg();
}

uint32_t go_preempt_xsave_size __attribute__((visibility("hidden")));

static bool preempt_supported(void)
{
    /* The trampoline needs XSAVE enabled by the OS (CPUID.1:ECX.OSXSAVE). */
    unsigned a, b, c, d;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & (1u << 27)))
        return false;
    __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
    go_preempt_xsave_size = (b + 63) & ~63u; /* for the features enabled in XCR0 */
    return go_preempt_xsave_size >= 576 && go_preempt_xsave_size <= 16384;
}
#endif

int sysmon_signal(pthread_t th)
{
#if defined(__x86_64__)
    if (async_preempt)
        urg_check();
#endif
    union sigval v = {.sival_ptr = &urg_cookie};
    return pthread_sigqueue(th, SIGURG, v);
}

static void preempt_m(m_t *m)
{
#if defined(__x86_64__)
    if (async_preempt)
        sysmon_signal(__atomic_load_n(&m->thread, __ATOMIC_ACQUIRE));
#else
    (void)m;
#endif
}

/* ---- goroutines blocked in calls the runtime does not know about ------- */

/*
 * What a running P's M is doing, looked at from sysmon (thread_look):
 * asleep in the kernel, running (it used CPU since the last look and is
 * not asleep now), or stalled (runnable, but it has had no CPU since the
 * last look, or there was no earlier look to compare with).
 *
 * The thread's CPU clock first (one clock_gettime): no CPU used since a
 * look that found it asleep means it still is; CPU for half the time
 * since a look at least half a check ago means it runs. Otherwise the
 * kernel's word, the state in /proc/self/task/TID/stat (S or D: asleep).
 */
enum { T_STALLED, T_ASLEEP, T_RUNNING };

#define BLOCK_CHECK_NS 1000000      /* between two looks at one P's M */
#define BLOCK_CHECK_MAX_NS 16000000 /* ...doubling up to this while lent for */

static int64_t thread_cputime(m_t *m)
{
    clockid_t cid;
    struct timespec ts;
    if (pthread_getcpuclockid(__atomic_load_n(&m->thread, __ATOMIC_ACQUIRE), &cid) != 0 ||
        clock_gettime(cid, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool thread_sleeps(int tid)
{
    char path[48], buf[160];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    /* "tid (name) S ...": the name may hold anything, the state follows
     * its last ')', within the first few dozen bytes. */
    char *r = strrchr(buf, ')');
    return r && r[1] == ' ' && (r[2] == 'S' || r[2] == 'D');
}

/* *still: asleep, and no CPU used since a look that found it asleep. */
static int thread_look(p_t *p, m_t *m, int64_t now, bool *still)
{
    int64_t cpu = thread_cputime(m);
    bool known = p->sm_bm == m && cpu >= 0 && p->sm_bcpu >= 0;
    int64_t dcpu = cpu - p->sm_bcpu, dwall = now - p->sm_bwhen;
    int v;
    *still = known && dcpu == 0 && p->sm_bstate == T_ASLEEP;
    if (*still)
        v = T_ASLEEP;
    else if (known && dwall >= BLOCK_CHECK_NS / 2 && dcpu * 2 >= dwall)
        v = T_RUNNING;
    else if (thread_sleeps(m->tid))
        v = T_ASLEEP;
    else
        v = known && dcpu > 0 ? T_RUNNING : T_STALLED;
    p->sm_bm = m;
    p->sm_bwhen = now;
    p->sm_bcpu = cpu;
    return v;
}

/*
 * In sanitizer builds the sanitizer's own runtime, which our code calls
 * on every switch, sleeps on its internal futexes for milliseconds when
 * there are more Ms than CPUs, and maps and unmaps its shadow memory,
 * waiting in the kernel for the address-space lock; both looked like
 * goroutines blocked in calls (test_sched_maxprocs under TSan saw more
 * goroutines than GOMAXPROCS run at once). There, a thread asleep in
 * futex() or a memory-mapping call gets no P lent: a program's own futex
 * waits (pthread_cond_wait) lose that in such builds only. The file names
 * the call; it costs a few times the stat file, once per loan.
 */
static bool sanitizer_sleep(int tid)
{
#if defined(GO_SANITIZED)
    char path[48], buf[32];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = 0;
    switch (atoi(buf)) {
    case SYS_futex:
    case SYS_mmap:
    case SYS_munmap:
    case SYS_mprotect:
    case SYS_madvise:
        return true;
    default:
        return false;
    }
#else
    (void)tid;
    return false;
#endif
}

static void unlend(p_t *p)
{
    p->sm_lent = false;
    sched_unlendp();
}

/*
 * A running P whose goroutine has not changed since the last look: what
 * its M does (T_*), from a look at most `every` old. Asleep in the kernel
 * (a call not wrapped in go_syscall_enter) is not running: the
 * goroutine's time slice starts again, so it gets no preemption signal
 * (which would cut the call short with EINTR), and one more P may run
 * meanwhile (sched_lendp). Awake again, its slice starts from then and
 * the loan ends.
 */
static int blocked_look(p_t *p, uint32_t t, int64_t now, int64_t every)
{
    m_t *m = __atomic_load_n(&p->m, __ATOMIC_ACQUIRE);
    if (!m || !__atomic_load_n(&m->curg, __ATOMIC_ACQUIRE))
        return T_STALLED;
    if (p->sm_bm == m && now - p->sm_bwhen < every)
        return p->sm_bstate;
    int was = p->sm_bm == m ? p->sm_bstate : T_STALLED;
    bool still;
    int v = thread_look(p, m, now, &still);
    bool on_lock = __atomic_load_n(&m->lockwait, __ATOMIC_RELAXED);
    p->sm_bstate = (uint8_t)v;
    if (v != T_ASLEEP) {
        if (was == T_ASLEEP)
            p->sm_schedwhen = now;
        p->sm_bevery = BLOCK_CHECK_NS;
        if (p->sm_lent)
            unlend(p);
        return v;
    }
    p->sm_schedwhen = now;
    p->sm_nsig = 0;
    if (p->sm_lent) {
        /* Each look costs a system call or three, and a hundred such
         * threads were looked at every 1 ms. The loan may end that much
         * later after it wakes; the extra P then runs as long. */
        if (p->sm_bevery < BLOCK_CHECK_MAX_NS)
            p->sm_bevery *= 2;
    } else {
        p->sm_bevery = BLOCK_CHECK_NS;
        /* Lend only to a thread that has slept from one look to the next
         * (no CPU used in between), and not on a runtime lock. Threads
         * that sleep a moment, many times (for a lock whose holder the
         * kernel descheduled, for the address-space lock in mmap or a
         * page fault, with more Ms than CPUs), are not blocked in a call,
         * and lending for them only added Ms to fight over the same.
         * No CPU used says nothing on its own (a thread waiting for a CPU
         * uses none either, and with more Ms than CPUs it may wait longer
         * than a look): the kernel must say it sleeps now, too. */
        if (still && !on_lock && thread_sleeps(m->tid) && !sanitizer_sleep(m->tid) &&
            sched_lendp(p)) {
            p->sm_lent = true;
            p->sm_lentm = m;
            p->sm_lenttick = t;
        }
    }
    return v;
}

/* ---- the monitor loop ---------------------------------------------------- */

/*
 * One look at every P. Returns how many Ps it took back from system calls;
 * *busy is set if a P is in a system call (sysmon must look again soon to
 * take it back), and *next lowered to when a running P's goroutine will
 * have run FORCE_PREEMPT_NS, or when a request it has ignored is due to be
 * signalled again.
 *
 * A goroutine interrupted where it may not be preempted (in libc, in the
 * runtime) keeps its request, and its M is signalled again after a pause
 * that doubles from SIG_RETRY_NS up to SIG_RETRY_MAX_NS: signalling it
 * at every quick look instead interrupts a goroutine that spends its time
 * in the runtime (spawning, say) thousands of times a second for nothing.
 */
#define SIG_RETRY_NS 50000
#define SIG_RETRY_MAX_NS 2000000

static int retake(int64_t now, bool *busy, int64_t *next)
{
    int n = 0;
    int32_t np = __atomic_load_n(&sched.nallp, __ATOMIC_ACQUIRE);
    for (int32_t i = 0; i < np; i++) {
        p_t *p = allp[i];
        uint32_t st = __atomic_load_n(&p->status, __ATOMIC_ACQUIRE);
        if (p->sm_lent) {
            /* The loan lasts while the same goroutine sleeps on the
             * same M (blocked_look ends it when it wakes). */
            m_t *m = __atomic_load_n(&p->m, __ATOMIC_ACQUIRE);
            if (st != P_RUNNING || m != p->sm_lentm ||
                __atomic_load_n(&p->schedtick, __ATOMIC_RELAXED) != p->sm_lenttick)
                unlend(p);
        }
        if (st == P_SYSCALL) {
            *busy = true;
            if (sched_retake_syscall(p, now))
                n++;
        } else if (st == P_RUNNING) {
            uint32_t t = __atomic_load_n(&p->schedtick, __ATOMIC_RELAXED);
            int64_t due;
            if (p->sm_schedtick != t) {
                p->sm_schedtick = t;
                p->sm_schedwhen = now;
                p->sm_nsig = 0;
                p->sm_bstate = T_STALLED; /* another G: look afresh */
                p->sm_bevery = BLOCK_CHECK_NS;
                due = now + FORCE_PREEMPT_NS;
            } else if (blocked_look(p, t, now, p->sm_bevery) == T_ASLEEP) {
                due = now + FORCE_PREEMPT_NS;
            } else if (now - p->sm_schedwhen < FORCE_PREEMPT_NS) {
                due = p->sm_schedwhen + FORCE_PREEMPT_NS;
            } else if (p->sm_nsig > 0 && now < p->sm_nextsig) {
                due = p->sm_nextsig;
            } else if (blocked_look(p, t, now, SIG_RETRY_NS) != T_RUNNING) {
                /* Signal only a thread seen running: one that has had no
                 * CPU since the last look may be about to sleep. */
                due = now + SIG_RETRY_NS;
            } else {
                /* The same G for 10 ms: ask it to yield. Reading m and
                 * curg races with the P moving on; a stale request only
                 * makes some goroutine yield once. */
                m_t *m = __atomic_load_n(&p->m, __ATOMIC_ACQUIRE);
                g_t *g = m ? __atomic_load_n(&m->curg, __ATOMIC_ACQUIRE) : NULL;
                if (g) {
                    __atomic_store_n(&g->preempt, 1, __ATOMIC_RELAXED);
                    preempt_m(m);
                }
                int64_t pause = (int64_t)SIG_RETRY_NS << (p->sm_nsig < 6 ? p->sm_nsig : 6);
                p->sm_nsig++;
                p->sm_nextsig = now + (pause < SIG_RETRY_MAX_NS ? pause : SIG_RETRY_MAX_NS);
                due = p->sm_nextsig;
            }
            /* Look again within SYSMON_RUNNING_NS: a G that started
             * between two looks is only known from the next one, and
             * the later that is, the later it is preempted (sleeping the
             * full slice would let a spinner run up to two slices). */
            if (due > now + SYSMON_RUNNING_NS)
                due = now + SYSMON_RUNNING_NS;
            if (due < *next)
                *next = due;
        }
    }
    return n;
}

/*
 * Spare stack memory goes back to the kernel from here, paced (see
 * proc_scavenge): while goroutines run, SCAV_BUSY Gs at most every
 * SCAV_EVERY_NS (a few percent of one CPU at most); while every P is idle,
 * SCAV_IDLE at a time, and sysmon comes back for more within
 * SCAV_EVERY_NS instead of sleeping long. Returns true if more is due.
 */
#define SCAV_EVERY_NS 1000000
#define SCAV_BUSY 32
#define SCAV_IDLE 256
static bool scavenge(int64_t now)
{
    static int64_t last;
    int64_t due = proc_scavenge_due();
    if (due == 0 || now - last < SCAV_EVERY_NS)
        return due != 0;
    bool all_idle = __atomic_load_n(&sched.npidle, __ATOMIC_RELAXED) >=
                    __atomic_load_n(&sched.gomaxprocs, __ATOMIC_RELAXED);
    if (now >= due && proc_scavenge(now, all_idle ? SCAV_IDLE : SCAV_BUSY))
        last = now;
    return proc_scavenge_due() != 0;
}

#define SYSMON_NAP_NS 50000
#define QUICK_LOOKS 50 /* quiet looks at SYSMON_MIN_NS before backing off */

/*
 * Every P runs goroutines and no M is looking for work: nothing for quick
 * looks to catch. A P entering a system call wakes a napping sysmon itself
 * (sysmon_wake), preemption has its own due time, and the idle Ps that
 * quick looks serve (a P handed off in a call) do not exist. Each look
 * costs the M whose CPU it interrupts a timer wake-up and two switches
 * (more under a hypervisor), and 50 quick looks in a short CPU-bound run
 * are a visible share of it (bench_fib). While an M still spins (one just
 * woken, not yet running) the quick looks go on: cutting them then made
 * that run slower, as if the kernel placed the woken M on a free CPU
 * sooner while sysmon came and went there.
 */
static bool every_p_running(void)
{
    return __atomic_load_n(&sched.npidle, __ATOMIC_RELAXED) == 0 &&
           __atomic_load_n(&sched.nmspinning, __ATOMIC_RELAXED) == 0;
}

uint32_t sysmon_napping;
static uint32_t sysmon_key; /* futex word of sysmon's long sleeps */

void sysmon_wake(void)
{
    if (__atomic_exchange_n(&sysmon_napping, 0, __ATOMIC_ACQ_REL)) {
        __atomic_add_fetch(&sysmon_key, 1, __ATOMIC_RELEASE);
        futex_wake(&sysmon_key, 1);
    }
}

static void *sysmon(void *arg)
{
    (void)arg;
    int64_t delay = SYSMON_MIN_NS;
    int idle = 0;
    bool scav_more = false;
    int64_t wake_by = INT64_MAX; /* the next preemption due (retake) */
    for (;;) {
        if (idle == 0)
            delay = SYSMON_MIN_NS;
        else if (idle > QUICK_LOOKS)
            delay *= 2;
        if (delay > SYSMON_MAX_NS)
            delay = SYSMON_MAX_NS;
        if (scav_more && delay > SCAV_EVERY_NS)
            delay = SCAV_EVERY_NS;
        int64_t sleep = delay, until_due = wake_by - nanotime();
        if (until_due < sleep)
            sleep = until_due > SYSMON_MIN_NS ? until_due : SYSMON_MIN_NS;
        if (sleep > SYSMON_NAP_NS) {
            /* Long: let a goroutine entering a system call cut it short. */
            uint32_t key = __atomic_load_n(&sysmon_key, __ATOMIC_ACQUIRE);
            __atomic_store_n(&sysmon_napping, 1, __ATOMIC_SEQ_CST);
            futex_wait(&sysmon_key, key, sleep);
            __atomic_store_n(&sysmon_napping, 0, __ATOMIC_RELAXED);
        } else {
            struct timespec ts = {0, (long)sleep};
            nanosleep(&ts, NULL);
        }
        int64_t now = nanotime();
        bool busy = false;
        if (netpoll_active() && netpoll_waiters() > 0 &&
            now - __atomic_load_n(&netpoll_last_poll, __ATOMIC_RELAXED) > NETPOLL_STALE_NS) {
            if (netpoll(0) > 0)
                busy = true;
        }
        wake_by = INT64_MAX;
        if (retake(now, &busy, &wake_by) > 0)
            busy = true;
        sched_timers_overdue(now);
        scav_more = scavenge(now);
        stack_trim_tick(now);
        /* Quick while Ps sit in system calls (to take them back within
         * a tick or two) or work turns up; otherwise back off as Go does,
         * and wake for the next preemption that is due instead: goroutines
         * that merely run need a look every slice, not every tick (which
         * is tens of thousands of wake-ups a second on a busy server). */
        if (busy)
            idle = 0;
        else if (idle < QUICK_LOOKS && every_p_running())
            idle = QUICK_LOOKS; /* back off from the next look on */
        else
            idle++;
    }
    return NULL;
}

void sysmon_start(void)
{
    const char *s = getenv("GOROUTINE_PREEMPT");
    bool off = s && strcmp(s, "off") == 0;
    self_pid = getpid();
    dl_iterate_phdr(find_main, NULL);
    /* A fully static program has libc in its own code, where we must not
     * preempt; and sanitizer runtimes live in the executable and are
     * called from inside the runtime. In both cases we cannot tell safe
     * code from unsafe by address, so only cooperative preemption. */
    dl_iterate_phdr(count_objects, NULL);
    bool static_exe = nobjects <= 2; /* the program and maybe the vDSO */
#if defined(GO_SANITIZED)
    bool sanitized = true;
#else
    bool sanitized = false;
#endif
#if defined(__x86_64__)
    async_preempt = !off && !static_exe && !sanitized && preempt_supported();
    if (async_preempt) {
        struct sigaction old;
        sigaction(SIGURG, NULL, &old);
        app_urg_set(&old);
        install_sigurg();
    }
#else
    (void)off;
    (void)static_exe;
    (void)sanitized;
#endif
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    if (pthread_create(&th, &attr, sysmon, NULL) == 0)
        __atomic_add_fetch(&sched.nruntime_threads, 1, __ATOMIC_RELAXED);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}
