/*
 * proc.c - the goroutine life cycle and the goroutine API.
 *
 * A G is born in stack.c (descriptor on top of a fresh stack), started here
 * (go/go_copy/go_spawn), scheduled by sched.c, and when its function
 * returns it becomes G_DEAD and is recycled with its stack: first into its
 * P's free list (owner only, no atomics), spilling batches of GFREE_MAX/2 to
 * a global pool when that list grows past GFREE_MAX. A spawn takes a G from
 * its P's list, then from the global pool, and only then asks stack.c for a
 * new one. So a program that spawns and finishes goroutines at a steady rate
 * makes no system call and touches no new page per spawn.
 *
 * The global pool is a deque: recently dead (hot) Gs are pushed at the
 * front and taken from the front; when it holds more than POOL_HOT Gs with
 * memory, sysmon drops the stack pages of the excess, paced
 * (proc_scavenge), and moves them to the back, so memory is given back
 * after a burst without slowing a steady state. Custom-size stacks are
 * unmapped on exit instead.
 *
 * Every default-size G ever created stays on the all-G list (its
 * descriptor is never freed), which is what dumps and deadlock reports walk.
 *
 * State machine (proc_setstatus checks it):
 *   IDLE -> RUNNABLE (spawn) -> RUNNING <-> RUNNABLE (yield/preempt)
 *   RUNNING -> WAITING (park) -> RUNNABLE (ready)
 *   RUNNING -> DEAD (exit) -> IDLE (recycled) -> RUNNABLE ...
 */
#include "proc.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "debug.h"
#include "sched.h"
#include "stack.h"
#include "trace.h"

#define POOL_HOT 1024  /* global free Gs kept with their stack pages */
#define GOID_BATCH 16

static rlock_t allg_lock = RLOCK_INIT(LOCK_RANK_ALLG);
static g_t *allg;
static int64_t nallg;
/* Where proc_allg_scan resumes (NULL: at the head); allg_remove moves it
 * past a G it unlists. Under allg_lock. */
static g_t *allg_cursor;
static g_t *pool_tail; /* the back chain's head (see pool_get); under sched.gfree_lock */
static uint64_t pool_gets;       /* pool_get calls; gfree_lock, read racily */
static uint64_t scav_seen_gets;  /* pool_gets at scav_seen_time; scavenger */
static int64_t scav_seen_time;
static int32_t pool_ncold; /* released Gs at the back of the pool; gfree_lock, read racily */

static const char *const status_names[G_NSTATUS] = {
    [G_IDLE] = "idle", [G_RUNNABLE] = "runnable", [G_RUNNING] = "running",
    [G_WAITING] = "waiting", [G_DEAD] = "dead",
};

static const char *const reason_names[WAIT_NREASONS] = {
    [WAIT_NONE] = "waiting",
    [WAIT_SEMACQUIRE] = "semacquire",
    [WAIT_WG] = "sync.WaitGroup.Wait",
    [WAIT_CHAN_SEND] = "chan send",
    [WAIT_CHAN_RECV] = "chan receive",
    [WAIT_CHAN_SEND_NIL] = "chan send (nil chan)",
    [WAIT_CHAN_RECV_NIL] = "chan receive (nil chan)",
    [WAIT_SELECT] = "select",
    [WAIT_SELECT_NO_CASES] = "select (no cases)",
    [WAIT_SLEEP] = "sleep",
    [WAIT_MUTEX] = "sync.Mutex.Lock",
    [WAIT_RWMUTEX_R] = "sync.RWMutex.RLock",
    [WAIT_RWMUTEX_W] = "sync.RWMutex.Lock",
    [WAIT_COND] = "sync.Cond.Wait",
    [WAIT_IO] = "IO wait",
    [WAIT_LOCKED_THREAD] = "locked to thread",
};

const char *g_status_name(enum g_status s)
{
    return (unsigned)s < G_NSTATUS ? status_names[s] : "?";
}

const char *wait_reason_name(enum wait_reason r)
{
    return (unsigned)r < WAIT_NREASONS && reason_names[r] ? reason_names[r] : "?";
}

/* Legal transitions: bit `to` set in proc_legal[from]. */
const uint8_t proc_legal[G_NSTATUS] = {
    [G_IDLE] = 1u << G_RUNNABLE,
    [G_RUNNABLE] = 1u << G_RUNNING,
    [G_RUNNING] = 1u << G_RUNNABLE | 1u << G_WAITING | 1u << G_DEAD,
    [G_WAITING] = 1u << G_RUNNABLE,
    [G_DEAD] = 1u << G_IDLE,
};

void proc_badstatus(g_t *g, enum g_status to)
{
    static char msg[96];
    /* Built by hand: we are about to die and must not allocate. */
    strcpy(msg, "runtime: illegal goroutine transition ");
    strcat(msg, g_status_name((enum g_status)__atomic_load_n(&g->status, __ATOMIC_RELAXED)));
    strcat(msg, " -> ");
    strcat(msg, g_status_name(to));
    debug_fatal(msg);
}

void proc_init(void)
{
}

g_t *proc_allg_first(void)
{
    return __atomic_load_n(&allg, __ATOMIC_ACQUIRE);
}

bool proc_allg_scan(int max, bool (*visit)(g_t *g, void *arg), void *arg)
{
    rlock(&allg_lock);
    g_t *g = allg_cursor ? allg_cursor : allg;
    bool wrapped = false;
    for (int i = 0; i < max && g; i++) {
        bool more = visit(g, arg);
        g = g->allnext;
        if (!more)
            break;
    }
    if (!g)
        wrapped = true; /* the next scan starts over from the head */
    allg_cursor = g;
    runlock(&allg_lock);
    return wrapped;
}

int64_t proc_allg_count(void)
{
    return __atomic_load_n(&nallg, __ATOMIC_RELAXED);
}

static void allg_add(g_t *g)
{
    rlock(&allg_lock);
    g->allnext = allg;
    g->allprev = NULL;
    if (allg)
        allg->allprev = g;
    __atomic_store_n(&allg, g, __ATOMIC_RELEASE);
    nallg++;
    runlock(&allg_lock);
}

static void allg_remove(g_t *g)
{
    rlock(&allg_lock);
    if (g->allprev)
        g->allprev->allnext = g->allnext;
    else
        __atomic_store_n(&allg, g->allnext, __ATOMIC_RELEASE);
    if (g->allnext)
        g->allnext->allprev = g->allprev;
    if (allg_cursor == g)
        allg_cursor = g->allnext;
    nallg--;
    runlock(&allg_lock);
}

/* ---- free lists ---------------------------------------------------------- */

/*
 * The global pool is a deque of chains of dead Gs: a P spills half of its
 * free list as one chain, and a taker gets one whole chain, so neither
 * walks the Gs under gfree_lock (a walk is one cache miss per G, on
 * memory another core wrote last: it was a tenth of a spawn). A chain's
 * head G carries the chain's length (runtime.h); its Gs are linked by
 * schedlink. Hot chains are at the front, chains whose stack
 * pages were dropped (cold) at the back.
 */
/* Take the front chain: its first G is returned, the rest pushed on
 * *list (a P's or a plain thread's cache, empty). */
static g_t *pool_get(g_t **list, int32_t *count)
{
    if (__atomic_load_n(&sched.ngfree, __ATOMIC_RELAXED) == 0)
        return NULL;
    rlock(&sched.gfree_lock);
    g_t *first = sched.gfree;
    if (first) {
        __atomic_store_n(&pool_gets, pool_gets + 1, __ATOMIC_RELAXED);
        sched.gfree = first->chainnext;
        if (!sched.gfree)
            pool_tail = NULL;
        __atomic_store_n(&sched.ngfree, sched.ngfree - first->chainlen, __ATOMIC_RELAXED);
        if (first->chaincold)
            __atomic_store_n(&pool_ncold, pool_ncold - first->chainlen, __ATOMIC_RELAXED);
    }
    runlock(&sched.gfree_lock);
    if (first) {
        *list = first->schedlink;
        *count = first->chainlen - 1;
    }
    return first;
}

/* Put a chain of n dead Gs at the front of the global pool. */
static void pool_put(g_t *head, g_t *tail, int n)
{
    tail->schedlink = NULL;
    head->chainlen = n;
    head->chaincold = false;
    rlock(&sched.gfree_lock);
    head->chainnext = sched.gfree;
    sched.gfree = head;
    if (!pool_tail)
        pool_tail = head;
    __atomic_store_n(&sched.ngfree, sched.ngfree + n, __ATOMIC_RELAXED);
    runlock(&sched.gfree_lock);
}

/*
 * Plain threads (main, typically) that spawn keep a small cache of Gs of
 * their own, refilled from the pool a batch at a time, so a thread that
 * spawns a million goroutines takes the pool lock once per batch. The
 * cache goes back to the pool when the thread exits.
 */
static __thread g_t *tl_gfree;
static __thread int32_t tl_ngfree;
static pthread_key_t tl_key;
static pthread_once_t tl_key_once = PTHREAD_ONCE_INIT;

static void tl_release(void *unused)
{
    (void)unused;
    if (!tl_gfree)
        return;
    g_t *tail = tl_gfree;
    while (tail->schedlink)
        tail = tail->schedlink;
    pool_put(tl_gfree, tail, tl_ngfree);
    tl_gfree = NULL;
    tl_ngfree = 0;
}

static void tl_key_init(void)
{
    pthread_key_create(&tl_key, tl_release);
}

static g_t *plain_gcache_get(void)
{
    g_t *g = tl_gfree;
    if (g) {
        tl_gfree = g->schedlink;
        tl_ngfree--;
        if (tl_gfree)
            g_prefetch(tl_gfree); /* the next spawn's; see runq_prefetch */
        return g;
    }
    g = pool_get(&tl_gfree, &tl_ngfree);
    if (g) {
        pthread_once(&tl_key_once, tl_key_init);
        pthread_setspecific(tl_key, (void *)1);
    }
    return g;
}


/*
 * Give back the stack memory of spare Gs: called by sysmon, never on the
 * spawn or exit path, and not by Ms (an M busy with a batch of madvise
 * calls is an M late for the next runnable goroutine: a pipeline running
 * just after a million goroutines had exited slowed several times over
 * while Ms released their stacks). madvise(MADV_DONTNEED) in a
 * multi-threaded process costs a TLB shoot-down on every CPU running one
 * of our threads, so sysmon paces it (sysmon.c), at most `max` Gs at a
 * time, for the Gs beyond POOL_HOT, which then go to the back of the pool.
 * Returns true if there is more to do.
 */
#define SCAVENGE_QUIET 20000000 /* ns the pool must go unused first */


int64_t proc_scavenge_due(void)
{
    int32_t hot = __atomic_load_n(&sched.ngfree, __ATOMIC_RELAXED) -
                  __atomic_load_n(&pool_ncold, __ATOMIC_RELAXED);
    if (hot <= POOL_HOT)
        return 0;
    return __atomic_load_n(&scav_seen_time, __ATOMIC_RELAXED) + SCAVENGE_QUIET;
}

bool proc_scavenge(int64_t now, int max)
{
    int32_t hot = __atomic_load_n(&sched.ngfree, __ATOMIC_RELAXED) -
                  __atomic_load_n(&pool_ncold, __ATOMIC_RELAXED);
    if (hot <= POOL_HOT)
        return false;
    /* Only once the pool has gone unused for a while: a burst of spawns
     * will want these stacks back, warm. */
    uint64_t gets = __atomic_load_n(&pool_gets, __ATOMIC_RELAXED);
    if (gets != __atomic_load_n(&scav_seen_gets, __ATOMIC_RELAXED) ||
        __atomic_load_n(&scav_seen_time, __ATOMIC_RELAXED) == 0) {
        __atomic_store_n(&scav_seen_gets, gets, __ATOMIC_RELAXED);
        __atomic_store_n(&scav_seen_time, now, __ATOMIC_RELAXED);
        return false;
    }
    if (now - __atomic_load_n(&scav_seen_time, __ATOMIC_RELAXED) < SCAVENGE_QUIET)
        return false;
    int n = hot - POOL_HOT;
    if (n > max)
        n = max;
    /* Whole hot chains from the front. */
    rlock(&sched.gfree_lock);
    g_t *chains = NULL, *last = NULL;
    int got = 0;
    while (got < n && sched.gfree && !sched.gfree->chaincold) {
        g_t *c = sched.gfree;
        sched.gfree = c->chainnext;
        c->chainnext = NULL;
        if (last)
            last->chainnext = c;
        else
            chains = c;
        last = c;
        got += c->chainlen;
    }
    __atomic_store_n(&sched.ngfree, sched.ngfree - got, __ATOMIC_RELAXED);
    if (!sched.gfree)
        pool_tail = NULL;
    runlock(&sched.gfree_lock);
    if (got == 0)
        return false;
    for (g_t *c = chains; c; c = c->chainnext) {
        for (g_t *g = c; g; g = g->schedlink)
            stack_release(g);
        c->chaincold = true;
    }
    /* To the back. */
    rlock(&sched.gfree_lock);
    if (pool_tail)
        pool_tail->chainnext = chains;
    else
        sched.gfree = chains;
    pool_tail = last;
    __atomic_store_n(&sched.ngfree, sched.ngfree + got, __ATOMIC_RELAXED);
    __atomic_store_n(&pool_ncold, pool_ncold + got, __ATOMIC_RELAXED);
    runlock(&sched.gfree_lock);
    return true;
}

void proc_gfree(m_t *m, g_t *g)
{
    stack_check_canary(g);
    proc_setstatus(g, G_IDLE);
    if (g->custom_stack) {
        allg_remove(g);
        stack_free_custom(g);
        return;
    }
    p_t *p = m->p;
    g->schedlink = p->gfree;
    p->gfree = g;
    if (++p->ngfree >= GFREE_MAX) {
        g_t *head = p->gfree, *tail = head;
        int n = GFREE_MAX / 2;
        for (int i = 1; i < n; i++)
            tail = tail->schedlink;
        p->gfree = tail->schedlink;
        tail->schedlink = NULL;
        p->ngfree -= n;
        pool_put(head, tail, n);
    }
}

void proc_retire_p(p_t *p)
{
    if (p->gfree) {
        g_t *tail = p->gfree;
        while (tail->schedlink)
            tail = tail->schedlink;
        pool_put(p->gfree, tail, p->ngfree);
        p->gfree = NULL;
        p->ngfree = 0;
    }
}

/* A G ready to be started: from the caches or new. */
static g_t *galloc(m_t *m, size_t stack_size, int *err)
{
    p_t *p = m && m->curg ? m->p : NULL;
    g_t *g = NULL;
    if (stack_size == 0 || stack_size == stack_default_size) {
        if (!p) {
            g = plain_gcache_get();
        } else if (p->gfree) {
            g = p->gfree;
            p->gfree = g->schedlink;
            p->ngfree--;
            if (p->gfree)
                g_prefetch(p->gfree);
        } else {
            g = pool_get(&p->gfree, &p->ngfree);
        }
    }
    if (!g) {
        g = stack_new_g(stack_size, p, err);
        if (!g)
            return NULL;
        sched_fiber_init_g(g);
        allg_add(g);
    }
    return g;
}

static int64_t new_goid(m_t *m)
{
    p_t *p = m && m->curg ? m->p : NULL;
    if (!p)
        return __atomic_add_fetch(&sched.goidgen, 1, __ATOMIC_RELAXED);
    if (p->goidcache == p->goidcacheend) {
        p->goidcache = __atomic_fetch_add(&sched.goidgen, GOID_BATCH, __ATOMIC_RELAXED) + 1;
        p->goidcacheend = p->goidcache + GOID_BATCH;
    }
    return p->goidcache++;
}

static int spawn(const go_attr *attr, go_func fn, void *arg, uintptr_t pc)
{
    size_t stack_size = attr ? attr->stack_size : 0;
    size_t arg_size = attr ? attr->arg_size : 0;
    if (!fn || arg_size > GO_COPY_MAX || (arg_size > 0 && !arg))
        return -EINVAL;
    if (stack_size != 0 && (stack_size < GO_STACK_MIN || stack_size > GO_STACK_MAX))
        return -EINVAL;
    if (__builtin_expect(!__atomic_load_n(&rt_started, __ATOMIC_ACQUIRE), 0))
        rt_init();
    m_t *m = sched_getm_fast();
    if (__builtin_expect(m && m->syscalldepth, 0))
        debug_fatal("go between go_syscall_enter and go_syscall_exit");
    int err = -ENOMEM;
    g_t *g = galloc(m, stack_size, &err);
    if (!g)
        return err;
    stack_reuse(g);
    g->fn = fn;
    uint8_t *top = (uint8_t *)g;
    if (arg_size) {
        top = (uint8_t *)(((uintptr_t)top - arg_size) & ~(uintptr_t)15);
        memcpy(top, arg, arg_size);
        arg = top;
    }
    g->arg = arg;
    g->frame_top = top;
    g->id = new_goid(m);
    g->parent_id = m && m->curg ? m->curg->id : 0;
    g->created_pc = pc;
    g->lockedcount = 0;
    g->lockedm = NULL;
    g->waitreason = WAIT_NONE;
    if (attr && attr->name) {
        strncpy(g->name, attr->name, G_NAME_MAX - 1);
        g->name[G_NAME_MAX - 1] = 0;
    } else {
        g->name[0] = 0;
    }
    sched_prepare_g(g);
    if (m && m->curg)
        __atomic_store_n(&m->p->ncreated, m->p->ncreated + 1, __ATOMIC_RELAXED);
    else
        __atomic_add_fetch(&sched.nplaincreated, 1, __ATOMIC_RELAXED);
    proc_setstatus(g, G_RUNNABLE);
    TRACE(TEV_SPAWN, g->id, (uintptr_t)fn, g->parent_id);
    sched_newg_ready(m && m->curg ? m : NULL, g);
    return 0;
}

void proc_run(g_t *g)
{
    g->fn(g->arg);
    go_exit();
}

/* ---- public API ---------------------------------------------------------- */

int go(go_func fn, void *arg)
{
    return spawn(NULL, fn, arg, (uintptr_t)__builtin_return_address(0));
}

int go_copy(go_func fn, const void *arg, size_t size)
{
    go_attr a = {.arg_size = size};
    if (size == 0)
        return spawn(&a, fn, NULL, (uintptr_t)__builtin_return_address(0));
    return spawn(&a, fn, (void *)arg, (uintptr_t)__builtin_return_address(0));
}

int go_spawn(const go_attr *attr, go_func fn, void *arg)
{
    return spawn(attr, fn, arg, (uintptr_t)__builtin_return_address(0));
}

void go_yield(void)
{
    sched_gosched();
}

void go_exit(void)
{
    m_t *m = sched_getm();
    g_t *g = m ? m->curg : NULL;
    if (!g)
        debug_fatal("go_exit called from a thread that is not a goroutine");
    /* Also the return of the goroutine's function (proc_run). */
    if (__builtin_expect(m->syscalldepth != 0, 0))
        debug_fatal("goroutine exit between go_syscall_enter and go_syscall_exit");
    p_t *p = m->p;
    __atomic_store_n(&p->nexited, p->nexited + 1, __ATOMIC_RELAXED);
    sched_goexit();
}

int go_maxprocs(int n)
{
    if (n > GO_MAXPROCS_MAX)
        return -EINVAL;
    rt_init();
    return sched_setmaxprocs(n);
}

int go_num_goroutine(void)
{
    int64_t n = sched_gcount();
    return n < 0 ? 0 : (int)n;
}

int64_t go_id(void)
{
    g_t *g = sched_getg();
    return g ? g->id : 0;
}

/* Not inline and in the library: a call here computes errno's address
 * afresh on whatever thread the caller now runs. */
int go_errno(void)
{
    return errno;
}

int go_lock_thread(void)
{
    sched_lockosthread();
    return 0;
}

int go_unlock_thread(void)
{
    sched_unlockosthread();
    return 0;
}

/* go_main: Go's main goroutine. The calling thread waits on a WaitGroup. */
#define MAIN_STACK_SIZE ((size_t)8 << 20)

struct main_call {
    int (*fn)(int, char **);
    int argc;
    char **argv;
    int rc;
    go_wg done;
};

static void main_entry(void *arg)
{
    struct main_call *c = arg;
    c->rc = c->fn(c->argc, c->argv);
    go_wg_done(&c->done);
}

int go_main(int (*fn)(int argc, char **argv), int argc, char **argv)
{
    if (!fn)
        return -EINVAL;
    struct main_call c = {.fn = fn, .argc = argc, .argv = argv, .done = GO_WG_INIT};
    go_attr a = {.stack_size = MAIN_STACK_SIZE, .name = "main"};
    go_wg_add(&c.done, 1);
    int rc = go_spawn(&a, main_entry, &c);
    if (rc != 0)
        return rc;
    go_wg_wait(&c.done);
    return c.rc;
}
