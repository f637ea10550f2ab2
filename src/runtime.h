/*
 * runtime.h - the core structures: G (goroutine), M (OS thread), P
 * (processor: the right to run goroutines), and the global scheduler
 * state. Every shared field says who may touch it and how.
 *
 * Ownership in one paragraph: a G is owned by whoever holds it in a state
 * (see g_status): a running G by its M; a runnable G by the queue it sits
 * in; a waiting G by the wait queue it is parked on (the object's lock
 * protects it) until someone calls sched_ready() on it. A P is owned by the
 * M that holds it, or by the idle list under sched.lock; only the run-queue
 * ring and runnext are touched by other Ms (stealers), with atomics. An M
 * owns itself; other threads only wake it through its note.
 *
 * See sched.c for the scheduler's design and proc.c for the G life cycle.
 */
#ifndef GO_RUNTIME_H
#define GO_RUNTIME_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/context.h"
#include "goroutine.h"
#include "lock.h"

#define CACHE_LINE 64
#define GO_INTERNAL __attribute__((visibility("hidden")))

typedef struct g g_t;
typedef struct m m_t;
typedef struct p p_t;
typedef struct waiter waiter_t;

/* ---- G ---------------------------------------------------------------- */

/* Goroutine states. Transitions go through g_setstatus(), which checks
 * that they are legal (see proc.c). */
enum g_status {
    G_IDLE,     /* allocated, not started, or in a free list */
    G_RUNNABLE, /* in a run queue */
    G_RUNNING,  /* on an M */
    G_WAITING,  /* parked on a runtime object */
    G_DEAD,     /* finished; stack and descriptor can be reused */
    G_NSTATUS
};

/* Why a G waits; shown in dumps as Go shows it ("[chan receive]"). */
enum wait_reason {
    WAIT_NONE,
    WAIT_SEMACQUIRE,
    WAIT_WG,
    WAIT_CHAN_SEND,
    WAIT_CHAN_RECV,
    WAIT_CHAN_SEND_NIL,
    WAIT_CHAN_RECV_NIL,
    WAIT_SELECT,
    WAIT_SELECT_NO_CASES,
    WAIT_SLEEP,
    WAIT_MUTEX,
    WAIT_RWMUTEX_R,
    WAIT_RWMUTEX_W,
    WAIT_COND,
    WAIT_IO,
    WAIT_LOCKED_THREAD,
    WAIT_NREASONS
};

const char *g_status_name(enum g_status s);
const char *wait_reason_name(enum wait_reason r);

#define G_NAME_MAX 32

/*
 * A runtime timer (time.c, which documents the fields' protocol). Defined
 * here because every goroutine embeds the one it sleeps on.
 */
typedef struct rtimer rtimer_t;

struct rtimer {
    int64_t when;      /* nanotime() at which to fire; under the heap lock */
    int64_t period;    /* > 0: re-arm every period after firing */
    void (*fn)(rtimer_t *t, void *arg, int64_t now);
    void *arg;
    p_t *p;            /* heap it is in, or NULL; under that heap's lock */
    int32_t idx;       /* index in the heap; under the heap's lock */
    uint32_t state;    /* time.c's own state machine; atomic */
    uint32_t flags;    /* TIMER_*; set by the owner while the timer is idle */
};

/*
 * A goroutine's descriptor lives at the top of its own stack slot (see
 * stack.c), so a new goroutine costs one page: descriptor and first frames
 * share it.
 */
struct g {
    mctx_t ctx;            /* saved context while not running */
    union {
        struct {              /* while it lives */
            go_func fn;       /* entry function; set at spawn */
            void *arg;        /* its argument */
            void *frame_top;  /* initial stack pointer (below any go_copy block) */
        };
        struct {              /* dead, heading a chain in the global pool (proc.c) */
            g_t *chainnext;   /* next chain; under gfree_lock */
            int32_t chainlen; /* Gs in this chain */
            bool chaincold;   /* their stack pages were dropped */
        };
    };
    m_t *m;               /* M running this G; owner M only */
    g_t *schedlink;       /* run queue / free list link; queue owner */
    uint32_t status;      /* enum g_status; atomic (read by dumps) */
    uint32_t waitreason;  /* enum wait_reason; set by the G before parking */
    uint32_t preempt;     /* sysmon asks it to yield; atomic */
    int64_t id;           /* goroutine id, assigned at spawn */
    int saved_errno;      /* errno while switched out */
    int lockedcount;      /* go_lock_thread() nesting; owner only */
    m_t *lockedm;         /* M this G is wired to, or NULL */
    /* Stack: [stack_lo, stack_hi) usable, guard below stack_lo. */
    uint8_t *stack_lo;
    uint8_t *stack_hi;    /* = address of this descriptor (top of slot) */
    size_t slot_size;     /* whole mapping incl. guard (for unmap) */
    uint32_t guard_kind;  /* enum stack_guard (stack.h) */
    bool custom_stack;    /* not the default size: unmapped on exit */
    /* Trimming (stack.c): parked_out is 1 from the end of a park's
     * switch until an M resumes it, parkgen counts parks; both written by
     * the G's M, read by sysmon. trimming: sysmon is dropping pages below
     * its saved sp; whoever resumes it waits. All atomic. */
    uint8_t parked_out, parkgen, trimming;
    int64_t waitsince;    /* nanotime() when it parked, for dumps */
    /* Lines 0 and 1, above, hold what every switch, park and wake-up
     * touches. Then go_sleep's timer (TIMER_NOSTOP), idle otherwise: here
     * rather than in go_sleep's frame so that time.c can prefetch it and
     * the lines before it, the whole of what waking a sleeper reads, well
     * before it is due (fire_nostop); with 100,000 sleepers every
     * descriptor is cold when its timer fires. */
    rtimer_t sleep;
    g_t *allnext, *allprev; /* all-G list; under allg_lock */
    void *fiber;          /* sanitizer fiber handle (TSan), or NULL */
    const void *asan_bottom; /* ASan fiber bookkeeping */
    size_t asan_size;
    /* Who created it, for dumps: the creator's goroutine id (0: a plain
     * thread) and the return address of its go()/go_spawn() call. */
    int64_t parent_id;
    uintptr_t created_pc;
    uint8_t trim_seen, trim_gen; /* sysmon's notes (stack.c) */
    char name[G_NAME_MAX];
};

/* Prefetch what starting or resuming g touches first: its descriptor
 * and the top of its stack (the initial or the saved frame). */
static inline void g_prefetch(const g_t *g)
{
    __builtin_prefetch((const char *)g, 1);
    __builtin_prefetch((const char *)g + CACHE_LINE, 1);
    __builtin_prefetch((const char *)g - CACHE_LINE, 1);
}

/* Prefetch the frames a parked g returns through when it resumes (the
 * lines above its saved stack pointer): for a waker that readies many
 * goroutines whose stacks have gone cold, so that their misses overlap
 * (time.c, which readies sleepers in batches). */
static inline void g_prefetch_resume(const g_t *g)
{
#ifdef GO_CONTEXT_ASM
    const char *sp = g->ctx.sp;
    /* From below sp, where its after-switch work will push frames (a
     * sleeper re-arming its timer), up through the saved context. */
    for (int k = -4; k < 8; k++)
        __builtin_prefetch(sp + k * CACHE_LINE, 1);
#else
    (void)g;
#endif
}

/* ---- P ---------------------------------------------------------------- */

#define RUNQ_SIZE 256 /* local run queue slots, as Go */
#define GFREE_MAX 64  /* free Gs kept per P before spilling to global */

/*
 * A run-queue ring (sched.c): single producer (the owner writes slots and
 * tail), many consumers (the owner and stealers advance head by CAS). Each
 * P has one; so has each plain thread that spawns goroutines. Hot fields
 * touched by stealers get their own cache lines so that the owner's pushes
 * do not bounce with other Ms' reads.
 */
struct gring {
    _Alignas(CACHE_LINE) uint32_t head; /* atomic; owner and stealers (CAS) */
    _Alignas(CACHE_LINE) uint32_t tail; /* atomic store by owner only */
    g_t *runnext;                       /* P rings only; atomic, CAS */
    uint32_t nexttaken;                 /* times the owner ran runnext; atomic */
    g_t *slots[RUNQ_SIZE];              /* atomic relaxed; see sched.c */
};

/* P states. P_SYSCALL: its M is in a blocking call (go_syscall_enter);
 * sysmon may retake it with a CAS to P_IDLE and hand it to another M. */
enum p_status { P_IDLE, P_RUNNING, P_SYSCALL, P_DEAD };

/* Where new default-size stacks are carved (stack.c): the unused slots
 * [next, end) of the current arena mapping, of which those below guarded
 * already have their guards. */
typedef struct stack_arena {
    uint8_t *next, *end, *guarded;
} stack_arena_t;

struct p {
    struct gring rq; /* local run queue: runnext and the ring */

    _Alignas(CACHE_LINE) int32_t id;
    uint32_t status;      /* enum p_status; atomic (CAS for P_SYSCALL) */
    uint32_t syscalltick; /* incremented per go_syscall_enter; owner, read by sysmon */
    /* sysmon's last look at this P (sysmon only). */
    uint32_t sm_schedtick, sm_syscalltick;
    int64_t sm_schedwhen, sm_syscallwhen;
    int64_t sm_nextsig;   /* when sysmon may signal this P's M again */
    uint32_t sm_nsig;     /* signals sent for the current schedtick */
    /* sysmon's last check of whether this P's M sleeps in the kernel
     * (sysmon.c, "blocked in unknown calls"); sysmon only. */
    m_t *sm_bm;           /* the M checked */
    int64_t sm_bwhen;     /* when */
    int64_t sm_bevery;    /* until the next check (backs off while asleep) */
    int64_t sm_bcpu;      /* its thread's CPU time then */
    uint8_t sm_bstate;    /* what it found (sysmon.c: T_ASLEEP...) */
    bool sm_lent;         /* a P is lent for it (sched_lendp) */
    m_t *sm_lentm;        /* ...while this M */
    uint32_t sm_lenttick; /* ...ran this schedtick */
    /* The last look of an M without a P (sched.c, timers_stuck_from); atomic relaxed. */
    uint32_t td_schedtick;
    int64_t td_when;
    m_t *m;               /* M holding this P; owner */
    p_t *link;            /* idle list link; under sched.lock */
    uint32_t schedtick;   /* incremented per scheduled G; owner only */
    uint32_t globcheck;   /* countdown to a global-queue check; owner only */
    bool globfirst;       /* findrunnable: look at the global queue first; owner */
    g_t *gfree;           /* dead Gs with their stacks; owner only */
    stack_arena_t stack_arena; /* this P's own (stack.c); owner only */
    int32_t ngfree;
    int64_t goidcache, goidcacheend; /* batch of goroutine ids; owner only */
    /* Timers (time.c): a 4-ary min-heap under timerlock; timer0_when is
     * the earliest deadline in it (0: empty), atomic, read without lock.
     * Each slot holds a copy of its timer's `when`, so sifts never touch
     * the timers themselves (see time.c). timer0_when covers both queues. */
    rlock_t timerlock;
    int64_t timer0_when;
    struct timer_slot *timers;
    int32_t ntimers, timercap;
    int32_t ntimersrun; /* popped, callback running, may go back; under timerlock */
    /* ...and a ring of sleep timers in deadline order (time.c's "run"). */
    struct timer_slot *trun;
    uint32_t trun_head, trun_tail, truncap; /* under timerlock */
    int64_t ncreated;     /* goroutines created here; atomic relaxed */
    int64_t nexited;      /* goroutines that exited here; atomic relaxed */
    /* Event counters for go_stats and schedtrace (stats.c): written by
     * the owner M with relaxed load + store (no locked instruction),
     * summed over the Ps when read. nhandoff is written by sysmon. */
    struct p_stats {
        uint64_t nswitch;  /* goroutines scheduled (context switches) */
        uint64_t npark;    /* goroutines parked */
        uint64_t nready;   /* goroutines readied (woken) by this P */
        uint64_t nsteal;   /* successful steals from other Ps */
        uint64_t npreempt; /* preemptions, cooperative and signal */
        uint64_t npreempt_sig; /* of which by signal */
        uint64_t nhandoff; /* system-call hand-offs of this P (sysmon) */
    } st;
};

/* Bump a per-P counter: owner-only, so a plain load and store (atomic
 * only so that go_stats' reads from other threads are not races). */
#define P_STAT_INC(p, field) \
    __atomic_store_n(&(p)->st.field, (p)->st.field + 1, __ATOMIC_RELAXED)

/* ---- M ---------------------------------------------------------------- */

/* What the code that runs right after a switch must do on behalf of the
 * G that switched away (it can only be done once that G's context is
 * saved). See sched.c. */
enum after_kind {
    AFTER_NONE,
    AFTER_RUNQ_PUT,  /* put prev on this P's local run queue (yield) */
    AFTER_GLOBQ_PUT, /* put prev on the global run queue */
    AFTER_PARK,      /* prev is waiting: call the unlock function */
    AFTER_EXIT,      /* prev finished: free it */
};

struct m {
    mctx_t g0ctx;          /* the M's scheduler context (its thread stack) */
    g_t *curg;            /* running G, or NULL on g0; owner */
    p_t *p;               /* held P, or NULL; owner */
    p_t *nextp;           /* P handed to this M by another; read after wake */
    m_t *link;            /* idle list link; under sched.lock */
    int64_t id;
    int tid;              /* kernel thread id, for dumps */
    note_t park;          /* idle Ms sleep here */
    bool spinning;        /* looking for work; owner (counted in nmspinning) */
    g_t *lockedg;         /* G wired to this M, or NULL */
    /* After-switch action, filled before a switch and run by whatever
     * runs next on this M. */
    uint32_t after;
    g_t *after_g;
    void (*after_unlock)(void *);
    void *after_arg;
    int64_t park_now;     /* nanotime() read just before a park (go_sleep), for
                           * the after-switch timer check to reuse; 0: none */
    void *altstack;       /* sigaltstack for the stack-overflow handler */
    void *fiber;          /* sanitizer fiber of g0 */
    const void *asan_bottom;
    size_t asan_size;
    uint64_t fastrand;    /* per-M random state; owner */
    int *errno_loc;       /* this thread's errno; set at thread start */
    p_t *oldp;            /* P held before go_syscall_enter; owner */
    uint32_t in_poll;     /* blocked in netpoll(); atomic */
    uint32_t syscalldepth; /* curg's go_syscall_enter nesting; owner */
    uint32_t lockwait;    /* asleep on a runtime lock (rlock_slow); atomic */
    pthread_t thread;     /* for pthread_kill (preemption) */
    m_t *allnext;         /* all-M list; under sched.lock */
};

/* ---- global scheduler state (sched.c) ------------------------------- */

struct sched {
    rlock_t lock;
    /* Global run queue (sched.c): a FIFO of chunks of G pointers, then,
     * only if a chunk could not be allocated, the overflow list: Gs
     * linked by schedlink (ovfhead/ovftail); under lock. */
    struct gqchunk *gqhead, *gqtail, *gqspare;
    int32_t ngqspare;
    g_t *ovfhead, *ovftail;
    int32_t runqsize;     /* atomic: inject_push adds without the lock */
    p_t *pidle;           /* idle Ps; under lock */
    int32_t npidle;       /* atomic; written under lock */
    m_t *midle;           /* idle Ms; under lock */
    int32_t nmidle;       /* under lock */
    int32_t mcount;       /* Ms created; under lock */
    int32_t nmspinning;   /* atomic */
    int32_t gomaxprocs;   /* atomic; written under lock */
    int32_t nallp;        /* Ps ever created (allp[0..nallp)); atomic */
    m_t *allm;            /* under lock */
    /* Plain threads sleeping in a runtime call (deadlock detection). */
    int32_t nthreads_blocked; /* under lock */
    int32_t nplain;       /* plain threads known to the runtime; atomic */
    int32_t nruntime_threads; /* threads of ours that are not Ms (sysmon); atomic */
    /* The idle M sleeping until the earliest timer, and until when. */
    m_t *timer_m;         /* under lock */
    int64_t timer_until;  /* under lock */
    /* Global pool of dead Gs with default stacks; under gfree_lock. */
    rlock_t gfree_lock;
    g_t *gfree;
    int32_t ngfree;
    int64_t nplaincreated; /* goroutines created by plain threads; atomic */
    uint64_t nplainready; /* goroutines readied by plain threads; atomic */
    int64_t goidgen;      /* atomic; ids are taken in batches */
};

extern struct sched sched;
extern p_t *allp[GO_MAXPROCS_MAX];

extern __thread m_t *sched_tls_m __attribute__((tls_model("initial-exec")));

/* Set in a child process after fork(); the runtime may not be used there
 * (sched.c): rt_fork_fatal() says so and aborts. */
extern int rt_forked;
__attribute__((noreturn, cold)) void rt_fork_fatal(void);

/* The M of the calling thread, or NULL for a plain thread. Not inlined:
 * the thread under a goroutine can change across any switch, so the
 * compiler must never cache a TLS address across one. */
m_t *sched_getm(void);
/* The same, inlined, for entry points of the runtime only: valid until
 * the caller's first switch. On x86-64 an initial-exec TLS load is a
 * single %fs-relative instruction that is re-executed each time, so this
 * is safe there; elsewhere the thread pointer may be cached by the
 * compiler, so we call the out-of-line version. */
static inline m_t *sched_getm_fast(void)
{
#if defined(__x86_64__)
    m_t *m = sched_tls_m;
    /* A plain thread, or any thread in a child after fork (sched.c). */
    if (__builtin_expect(!m && __atomic_load_n(&rt_forked, __ATOMIC_RELAXED), 0))
        rt_fork_fatal();
    return m;
#else
    return sched_getm();
#endif
}
/* The running G, or NULL on a plain thread or on g0. */
g_t *sched_getg(void);

/* Start the runtime if it has not started (idempotent, thread-safe). */
void rt_init(void);
extern int rt_started; /* atomic */

static inline uint32_t fastrand(m_t *m)
{
    /* xorshift64*: good enough for victim selection and select order. */
    uint64_t x = m->fastrand;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->fastrand = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Random numbers for code that may run on a plain thread. */
uint32_t rt_rand(void);

#endif /* GO_RUNTIME_H */
