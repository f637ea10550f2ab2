/*
 * stats.c - the scheduler's counters: go_stats() and Go's schedtrace
 * (GOROUTINE_DEBUG=schedtrace=MS, scheddetail=1).
 *
 * Mechanism: every event counter lives in its P (p->st, runtime.h) and is
 * bumped by the P's owner with a relaxed load and store, the same cost as
 * a plain increment: no locked instruction, no shared line on the spawn,
 * switch and channel paths. A reader sums the Ps. Sums are therefore not
 * a snapshot: each counter is exact and monotonic, but two counters read
 * together may be a few events apart. Gauges (idle Ps, spinning Ms, queue
 * lengths) are read racily from the scheduler's own fields, as Go's
 * schedtrace does. Counters of Ps removed by a smaller GOMAXPROCS are
 * kept: allp[] never shrinks, and every P ever created is summed.
 *
 * schedtrace runs on a thread of its own (counted as a runtime thread,
 * so the deadlock check still sees the program), started by debug_init
 * only when asked for, and prints with write(2) in Go's layout:
 *
 *   SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=1 runqueue=0 [3 1]
 *
 * threads counts the Ms and the runtime's own threads (sysmon, this one),
 * as Go counts its sysmon M. With scheddetail=1 the bracketed list is left
 * out and one line per P, per M and per goroutine follows, as in Go.
 *
 * Rejected: one atomic counter per event in struct sched (a locked add on
 * a line every P writes, on every switch).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "debug.h"
#include "proc.h"
#include "sched.h"
#include "stack.h"
#include "traceback.h"

/* A racy read (see DEBUG_RACY): volatile, so that each field is read
 * once, whole (aligned), and not through TSan's atomic hooks, which
 * no_sanitize("thread") leaves in place. */
#define LOAD(x) (*(volatile __typeof__(x) *)&(x))

DEBUG_RACY static int32_t runq_len(p_t *p)
{
    uint32_t h = LOAD(p->rq.head);
    uint32_t t = LOAD(p->rq.tail);
    int32_t n = (int32_t)(t - h);
    if (n < 0 || n > RUNQ_SIZE)
        n = 0; /* read mid-update */
    if (LOAD(p->rq.runnext))
        n++;
    return n;
}

/* Idle Ps among the first n. Not sched.npidle: Ps retired by a smaller
 * GOMAXPROCS (or an ended loan, sysmon.c) stay on the idle list until
 * pidleget() meets them, so it may count more idle Ps than there are. */
DEBUG_RACY static int32_t idle_procs(int32_t n)
{
    int32_t idle = 0;
    for (int32_t i = 0; i < n; i++)
        idle += LOAD(allp[i]->status) == P_IDLE;
    return idle;
}

DEBUG_RACY int go_stats(go_stats_t *s)
{
    if (!s)
        return -EINVAL;
    memset(s, 0, sizeof *s);
    if (!LOAD(rt_started))
        return 0;
    int64_t created = LOAD(sched.nplaincreated), exited = 0;
    s->wakeups = LOAD(sched.nplainready);
    int32_t np = LOAD(sched.nallp);
    for (int32_t i = 0; i < np; i++) {
        p_t *p = allp[i];
        created += LOAD(p->ncreated);
        exited += LOAD(p->nexited);
        s->switches += LOAD(p->st.nswitch);
        s->parks += LOAD(p->st.npark);
        s->wakeups += LOAD(p->st.nready);
        s->steals += LOAD(p->st.nsteal);
        s->handoffs += LOAD(p->st.nhandoff);
        uint64_t pre = LOAD(p->st.npreempt), sig = LOAD(p->st.npreempt_sig);
        s->preempt_signal += sig;
        s->preempt_coop += pre - sig;
        s->runqueue_local += runq_len(p);
        s->stacks_cached += LOAD(p->ngfree);
    }
    s->created = (uint64_t)created;
    s->exited = (uint64_t)exited;
    s->goroutines = created - exited;
    s->stacks_cached += LOAD(sched.ngfree);
    s->gomaxprocs = LOAD(sched.gomaxprocs);
    s->idleprocs = idle_procs(s->gomaxprocs);
    s->threads = LOAD(sched.mcount) + LOAD(sched.nruntime_threads);
    s->idlethreads = LOAD(sched.nmidle);
    s->spinningthreads = LOAD(sched.nmspinning);
    s->runqueue_global = LOAD(sched.runqsize);
    s->stack_trims = stack_trims();
    /* Stacks: the high-water mark of every live goroutine (mincore). */
    for (g_t *g = proc_allg_first(); g; g = g->allnext) {
        uint32_t st = LOAD(g->status);
        if (st == G_DEAD || st == G_IDLE)
            continue;
        uint64_t used = debug_stack_used(g);
        s->stack_used += used;
        if (used > s->stack_max_used)
            s->stack_max_used = used;
    }
    return 0;
}

/* ---- schedtrace ------------------------------------------------------------ */

static int64_t start_ns;

static void kv(dbg_out_t *o, const char *k, int64_t v)
{
    dbg_puts(o, k);
    if (v < 0) {
        dbg_puts(o, "-");
        v = -v;
    }
    dbg_putu(o, (uint64_t)v);
}

DEBUG_RACY static void trace_once(dbg_out_t *o, bool detail)
{
    int32_t np = LOAD(sched.gomaxprocs);
    kv(o, "SCHED ", (nanotime() - start_ns) / 1000000);
    kv(o, "ms: gomaxprocs=", np);
    kv(o, " idleprocs=", idle_procs(np));
    kv(o, " threads=", LOAD(sched.mcount) + LOAD(sched.nruntime_threads));
    kv(o, " spinningthreads=", LOAD(sched.nmspinning));
    kv(o, " idlethreads=", LOAD(sched.nmidle));
    kv(o, " runqueue=", LOAD(sched.runqsize));
    if (!detail) {
        dbg_puts(o, " [");
        for (int32_t i = 0; i < np; i++) {
            if (i)
                dbg_puts(o, " ");
            dbg_putu(o, (uint64_t)runq_len(allp[i]));
        }
        dbg_puts(o, "]\n");
        return;
    }
    dbg_puts(o, "\n");
    for (int32_t i = 0; i < np; i++) {
        p_t *p = allp[i];
        m_t *m = LOAD(p->m);
        kv(o, "  P", i);
        kv(o, ": status=", LOAD(p->status));
        kv(o, " schedtick=", LOAD(p->schedtick));
        kv(o, " syscalltick=", LOAD(p->syscalltick));
        kv(o, " m=", m ? LOAD(m->id) : -1);
        kv(o, " runqsize=", runq_len(p));
        kv(o, " gfreecnt=", LOAD(p->ngfree));
        kv(o, " timerslen=", LOAD(p->ntimers));
        dbg_puts(o, "\n");
    }
    for (m_t *m = LOAD(sched.allm); m; m = LOAD(m->allnext)) {
        p_t *p = LOAD(m->p);
        g_t *g = LOAD(m->curg);
        g_t *lg = LOAD(m->lockedg);
        kv(o, "  M", LOAD(m->id));
        kv(o, ": p=", p ? LOAD(p->id) : -1);
        kv(o, " curg=", g ? LOAD(g->id) : -1);
        dbg_puts(o, LOAD(m->spinning) ? " spinning=true" : " spinning=false");
        dbg_puts(o, LOAD(m->oldp) ? " blocked=true" : (!p && !g) ? " blocked=true" : " blocked=false");
        kv(o, " lockedg=", lg ? LOAD(lg->id) : -1);
        dbg_puts(o, "\n");
    }
    int shown = 0;
    for (g_t *g = proc_allg_first(); g; g = LOAD(g->allnext)) {
        uint32_t st = LOAD(g->status);
        if (st == G_DEAD || st == G_IDLE)
            continue;
        if (++shown > 1000) {
            dbg_puts(o, "  ...\n");
            break;
        }
        m_t *m = LOAD(g->m);
        kv(o, "  G", LOAD(g->id));
        kv(o, ": status=", st);
        dbg_puts(o, "(");
        dbg_puts(o, st == G_WAITING ? wait_reason_name((enum wait_reason)LOAD(g->waitreason)) : "");
        dbg_puts(o, ")");
        kv(o, " m=", st == G_RUNNING && m ? LOAD(m->id) : -1);
        m_t *lm = LOAD(g->lockedm);
        kv(o, " lockedm=", lm ? LOAD(lm->id) : -1);
        dbg_puts(o, "\n");
    }
}

static void *schedtrace(void *arg)
{
    (void)arg;
    long ms = debug_settings.schedtrace_ms;
    for (;;) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        dbg_out_t o = {.n = 0, .fd = 2};
        trace_once(&o, debug_settings.scheddetail);
        dbg_flush(&o);
    }
    return NULL;
}

void stats_start(void)
{
    start_ns = nanotime();
    if (debug_settings.schedtrace_ms <= 0)
        return;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    if (pthread_create(&th, &attr, schedtrace, NULL) == 0)
        __atomic_add_fetch(&sched.nruntime_threads, 1, __ATOMIC_RELAXED);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}
