/*
 * netpoll.c - the portable half of the network poller (Go's
 * runtime/netpoll.go): one poll descriptor per descriptor number, holding
 * readiness, the goroutines and threads waiting for it, per-descriptor
 * deadlines, and the close protocol. The OS half is a backend behind
 * netpoll.h (netpoll_epoll.c); the scheduler calls netpoll() to collect
 * readiness; io.c builds go_read, go_accept ... on netpoll_wait().
 *
 * Readiness is edge-triggered. The backend reports a descriptor once per
 * change (several changes may coalesce into one report). Each direction
 * (read, write) of a poll descriptor counts the reports it got
 * (pd->seq) and wakes every waiter queued in that direction. A caller
 * notes the count (netpoll_seq) *before* it tries its system call, and
 * after the kernel says EAGAIN it waits only if the count has not moved
 * since (checked under pd->lock, where reports are counted and waiters
 * queued): any data that arrived after the attempt produces a report
 * that either finds the caller queued or moves the count it compares.
 * No wake-up is lost, for any number of waiters, and a caller never
 * sleeps on data it has not seen. Woken callers always retry their call,
 * which can still say EAGAIN (another waiter got the data first): they
 * then wait again. Every waiter of a direction is woken, not one, so that
 * several waiters per direction stay correct: they all retry, the losers
 * wait again. (With many waiters in one direction, say several goroutines
 * accepting on one listener, each report wakes them all: a herd, which
 * the one or two waiters C programs usually have do not notice.)
 *
 * Go keeps a "ready" token per direction instead (pdReady), consumed by
 * the next waiter, and allows one waiter per direction. A token does not
 * generalise: with two waiters, a report that wakes the queued one leaves
 * no token, and a second caller that tried its call before the data came
 * but queues after the report would sleep with data in the buffer (a
 * report can stand for two writes, of which the woken waiter reads one).
 * An earlier version of this file had exactly that bug (the stress test
 * of 50 readers on one pipe found it); the count has no such window.
 *
 * The table. Poll descriptors are never freed: epoll may report a
 * descriptor after it was closed, so the pointer it carries must stay
 * valid (Go keeps pollDescs type-stable for the same reason). They sit in
 * a two-level table indexed by descriptor number: a static array of chunk
 * pointers, each chunk 4096 descriptors mmap'd on first use (pages fill in
 * as descriptors are touched). Lookups are one acquire load and an index,
 * no lock; a chunk is installed with a CAS and never moves. Linux descriptor
 * numbers stay below 2^30 (fs.nr_open's ceiling), which the table covers.
 *
 * Locking. Each poll descriptor has two runtime locks:
 *   pd->lock   protects the wait queues, the report counts, the deadlines
 *              and expired flags (written under it; expired is also read
 *              lock-free, atomically) and `closer`;
 *   pd->dlock  serialises deadline changes, close and open, i.e. every
 *              arming and stopping of the two deadline timers. It exists
 *              because timer_stop() waits for a running callback, and the
 *              callbacks take pd->lock: stopping a timer under pd->lock
 *              could deadlock, so it is done under dlock instead, which no
 *              callback takes.
 * Lock order: pd->dlock, then pd->lock, then a timer heap lock, then
 * sched.lock (sched_ready, sched_timer_armed). A per-call deadline timer
 * is armed under pd->lock, which is safe because it is fresh (idle): arming
 * an idle timer never waits.
 *
 * Waiters (struct iowait) live on the blocked caller's stack, as every
 * waiter in this runtime does. One wait may be queued in both directions
 * (go_fd_wait for input or output); whoever ends it (readiness, a
 * deadline, close) unlinks it from both under pd->lock and sets its result
 * exactly once, then readies it with sched_ready() after unlocking.
 * A waiter with a per-call deadline calls timer_stop() after it wakes,
 * which waits out a callback still running, before its frame goes away.
 *
 * Close (go_close, Go's fdMutex + pollUnblock). pd->refs counts calls in
 * progress, with a CLOSING bit on top. Close sets the bit (so new calls
 * fail with -EBADF), stops the deadline timers, wakes every waiter with
 * -EBADF, waits until the count drains to zero (the last call out readies
 * the closer), then resets the poll descriptor, deregisters and closes the
 * number. Closing only after the last call has left is what makes it safe
 * for the kernel to reuse the number at once: no call still running can
 * touch the new file. CLOSING stays set until close(2) has returned (under
 * pd->lock), so no call can begin on the old file and sleep on a number
 * that then vanishes from the poller: every wait holds a reference, taken
 * either before CLOSING (close waits for it, and wakes it) or after the
 * close(2) (its own call then meets the closed number, or the new file).
 * In that last stage the closer also sets REF_FINAL: the number may
 * already be another file's, so a call that meets the bit waits for the
 * closer (takes pd->lock) and takes its reference afresh, instead of
 * failing with -EBADF on a descriptor that is valid again.
 *
 * Descriptors the library did not create (a pipe the user made, stdin) are
 * registered lazily, at their first wait, and re-registered at every wait
 * (EEXIST is the common answer): if the user closed one with close()
 * instead of go_close() and the number came back as another file, the
 * stale registration would otherwise leave waiters asleep forever. It costs
 * one epoll_ctl per wait on such descriptors, none on the library's own.
 *
 * Waking the poller. Goroutines parked on I/O are found by their own M:
 * it polls when it runs out of work, and idle Ms sleep in the poller
 * (sched.c). A plain thread has no M, so when one parks and no M is
 * asleep in the poller it pokes the scheduler (sched_timer_armed(now)),
 * which wakes an idle M that will take poll duty; without it the thread
 * would wait for sysmon's 10 ms look.
 *
 * Rejected: Go's lock-free rg/wg words (one waiter per direction, a CAS
 * protocol; a per-descriptor lock costs one uncontended lock and unlock
 * per wait and allows any number of waiters); level-triggered epoll (an epoll_ctl per wait to re-arm, and
 * every ready descriptor reported on every poll); a hash table keyed by
 * descriptor (a lock or an RCU scheme on every lookup, where an index is
 * free); freeing poll descriptors on close (stale events would then point
 * at freed memory, so they would need a generation tag and a free list,
 * for no gain: a descriptor number is reused quickly anyway).
 */
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "debug.h"
#include "sched.h"
#include "time.h"
#include "trace.h"


#define REF_CLOSING 0x80000000u
#define REF_FINAL 0x40000000u /* with CLOSING: the close(2) is under way */

struct pd {
    _Alignas(CACHE_LINE) rlock_t lock;
    rlock_t dlock;             /* see the design comment */
    uint32_t refs;             /* calls in progress | REF_CLOSING; atomic */
    uint32_t kind;             /* enum io_kind; atomic relaxed (a cache) */
    uint32_t owned;            /* created by the library; atomic relaxed */
    bool in_backend;           /* registered with the backend; under lock */
    uint32_t seq[NDIR];        /* readiness reports; written under lock, read atomic */
    uint32_t stream;           /* an owned SOCK_STREAM socket; atomic relaxed */
    uint64_t drained;          /* read report count seen empty, | DRAINED_MARK; atomic */
    uint32_t hup;              /* a NETPOLL_HUP report came; atomic, until reset */
    bool expired[NDIR];        /* deadline passed; written under lock, read atomic */
    int64_t deadline[NDIR];    /* nanotime() scale, 0: none; under lock */
    struct pqueue q[NDIR];     /* waiters per direction; under lock */
    waiter_t *closer;          /* go_close waiting for refs to drain; under lock */
    rtimer_t dtimer[NDIR];     /* deadline timers; armed/stopped under dlock */
};

#define CHUNK_SHIFT 12
#define CHUNK_SIZE (1 << CHUNK_SHIFT)
#define TOP_SIZE (1 << (30 - CHUNK_SHIFT))

static pd_t *pdtab[TOP_SIZE]; /* chunks; atomic, CAS to install, never freed */

static uint32_t inited;        /* backend ready; atomic, release after init */
static rlock_t init_lock = RLOCK_INIT(LOCK_RANK_NETPOLL_INIT);
static int32_t nwaiters;       /* iowaits queued or not yet readied; atomic */
static int32_t npolling;       /* threads in a netpoll() that may block; atomic */
int64_t netpoll_last_poll;     /* nanotime() of the last poll; atomic */

/* ---- the table ------------------------------------------------------------ */

pd_t *netpoll_pd(int fd, int *err)
{
    if (fd < 0 || (uint32_t)fd >= (uint32_t)TOP_SIZE * CHUNK_SIZE) {
        *err = -EBADF;
        return NULL;
    }
    uint32_t top = (uint32_t)fd >> CHUNK_SHIFT;
    pd_t *c = __atomic_load_n(&pdtab[top], __ATOMIC_ACQUIRE);
    if (__builtin_expect(c == NULL, 0)) {
        /* mmap: page-aligned (pd is cache-line aligned) and zeroed, which
         * is a valid empty pd with idle timers. */
        void *mem = mmap(NULL, CHUNK_SIZE * sizeof(pd_t), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
            *err = -ENOMEM;
            return NULL;
        }
#ifdef GO_LOCKRANK
        /* Zero is a valid pd, but its locks have ranks (touches every page
         * of the chunk, in checked builds only). */
        for (int i = 0; i < CHUNK_SIZE; i++) {
            rlock_init(&((pd_t *)mem)[i].lock, LOCK_RANK_PD);
            rlock_init(&((pd_t *)mem)[i].dlock, LOCK_RANK_PD_DEADLINE);
        }
#endif
        pd_t *want = NULL;
        if (__atomic_compare_exchange_n(&pdtab[top], &want, (pd_t *)mem, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            c = mem;
        } else {
            munmap(mem, CHUNK_SIZE * sizeof(pd_t));
            c = want;
        }
    }
    return &c[(uint32_t)fd & (CHUNK_SIZE - 1)];
}

static pd_t *pd_lookup(int fd)
{
    if (fd < 0 || (uint32_t)fd >= (uint32_t)TOP_SIZE * CHUNK_SIZE)
        return NULL;
    pd_t *c = __atomic_load_n(&pdtab[(uint32_t)fd >> CHUNK_SHIFT], __ATOMIC_ACQUIRE);
    return c ? &c[(uint32_t)fd & (CHUNK_SIZE - 1)] : NULL;
}

/* ---- the backend, started lazily ------------------------------------------- */

bool netpoll_active(void)
{
    return __atomic_load_n(&inited, __ATOMIC_ACQUIRE) != 0;
}

static int backend_ready(void)
{
    if (__builtin_expect(netpoll_active(), 1))
        return 0;
    /* Ms poll for us and run the deadline timers, even when only plain
     * threads do I/O. Outside init_lock: rt_init starts threads. */
    rt_init();
    int r = 0;
    rlock(&init_lock);
    if (!__atomic_load_n(&inited, __ATOMIC_RELAXED)) {
        r = netpoll_backend_init();
        if (r == 0)
            __atomic_store_n(&inited, 1, __ATOMIC_RELEASE);
    }
    runlock(&init_lock);
    return r;
}

/* ---- wait queues (all under pd->lock) --------------------------------------- */

static void pq_push(struct pqueue *q, struct pnode *n)
{
    n->next = NULL;
    n->prev = q->tail;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
}

static void pq_unlink(struct pqueue *q, struct pnode *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    n->next = n->prev = NULL;
}

/* End iw's wait with `result`: unlink it from every queue and append it to
 * the wake list *list (linked through w.next), to be readied after the
 * lock is released. */
static void finish(pd_t *pd, struct iowait *iw, uint32_t result, waiter_t **list)
{
    for (int d = 0; d < NDIR; d++) {
        if (iw->modes & (1u << d))
            pq_unlink(&pd->q[d], &iw->node[d]);
    }
    iw->modes = 0;
    iw->result = result;
    /* A descriptor case of a select: it ends the select only if it is the
     * first to claim it; else the select is ending anyway, and drop it. */
    if (iw->w.sel && !select_claim(iw->w.sel, &iw->w))
        return;
    iw->w.next = *list;
    *list = &iw->w;
}

static void finish_all(pd_t *pd, int dir, uint32_t result, waiter_t **list)
{
    while (pd->q[dir].head)
        finish(pd, pd->q[dir].head->iw, result, list);
}

/* Ready every waiter of a wake list. Read next before readying: a readied
 * waiter may return, and its frame vanish, at once. Returns how many.
 *
 * A waiter leaves the nwaiters count only once it is runnable: deadlock
 * detection (sched.c) must never see a goroutine still waiting for I/O
 * while the count says nobody is, which could happen between finish() and
 * sched_ready() when the poller runs on sysmon, a thread that is not an M. */
static int wake_list(waiter_t *w)
{
    int n = 0;
    while (w) {
        waiter_t *next = w->next;
        if (w->sel) {
            /* A select's descriptor case (netpoll_sel_*): the select counts
             * itself in nwaiters while it sleeps. */
            n += select_wake_claimed(w->sel);
            w = next;
            continue;
        }
        sched_ready(w);
        __atomic_sub_fetch(&nwaiters, 1, __ATOMIC_SEQ_CST);
        w = next;
        n++;
    }
    if (n)
        TRACE(TEV_NETPOLL, n, 0, 0);
    return n;
}

/* ---- readiness from the backend -------------------------------------------- */

static __thread int readied; /* waiters readied by this thread's netpoll() */

static void on_ready(void *arg, uint32_t events)
{
    pd_t *pd = arg;
    waiter_t *list = NULL;
    rlock(&pd->lock);
    /* Before the count moves (release): a reader whose noted count
     * includes this report sees it in netpoll_mark_drained. */
    if ((events & NETPOLL_HUP) && !__atomic_load_n(&pd->hup, __ATOMIC_RELAXED))
        __atomic_store_n(&pd->hup, 1, __ATOMIC_RELAXED);
    for (int d = 0; d < NDIR; d++) {
        if (!(events & (d == DIR_READ ? NETPOLL_READ : NETPOLL_WRITE)))
            continue;
        __atomic_store_n(&pd->seq[d], pd->seq[d] + 1, __ATOMIC_RELEASE);
        finish_all(pd, d, IO_READY, &list);
    }
    runlock(&pd->lock);
    readied += wake_list(list);
}

int netpoll(int64_t timeout_ns)
{
    if (!netpoll_active())
        return 0;
    readied = 0;
    if (timeout_ns != 0)
        __atomic_add_fetch(&npolling, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&netpoll_last_poll, nanotime(), __ATOMIC_RELAXED);
    netpoll_backend_poll(timeout_ns, on_ready);
    if (timeout_ns != 0)
        __atomic_sub_fetch(&npolling, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&netpoll_last_poll, nanotime(), __ATOMIC_RELAXED);
    return readied;
}

void netpoll_break(void)
{
    if (netpoll_active())
        netpoll_backend_break();
}

int32_t netpoll_waiters(void)
{
    return __atomic_load_n(&nwaiters, __ATOMIC_SEQ_CST);
}

/* ---- calls in progress and close -------------------------------------------- */

int netpoll_ref(pd_t *pd)
{
    for (;;) {
        uint32_t v = __atomic_add_fetch(&pd->refs, 1, __ATOMIC_ACQ_REL);
        if (__builtin_expect(!(v & REF_CLOSING), 1))
            return 0;
        netpoll_unref(pd);
        if (!(v & REF_FINAL))
            return -EBADF;
        /* The closer holds pd->lock until it has cleared both bits. */
        rlock(&pd->lock);
        runlock(&pd->lock);
    }
}

void netpoll_unref(pd_t *pd)
{
    uint32_t v = __atomic_sub_fetch(&pd->refs, 1, __ATOMIC_ACQ_REL);
    if (__builtin_expect(v == REF_CLOSING, 0)) {
        /* The last call out of a closing descriptor: let the closer go on.
         * It queues itself under pd->lock and then re-reads refs, so
         * either it sees our decrement or we see it queued. */
        rlock(&pd->lock);
        waiter_t *w = pd->closer;
        pd->closer = NULL;
        runlock(&pd->lock);
        if (w)
            sched_ready(w);
    }
}

uint64_t netpoll_seq(pd_t *pd)
{
    return (uint64_t)__atomic_load_n(&pd->seq[DIR_READ], __ATOMIC_ACQUIRE) |
           (uint64_t)__atomic_load_n(&pd->seq[DIR_WRITE], __ATOMIC_ACQUIRE) << 32;
}

int netpoll_check(pd_t *pd, uint32_t modes)
{
    if (__atomic_load_n(&pd->refs, __ATOMIC_ACQUIRE) & REF_CLOSING)
        return -EBADF;
    if (((modes & NETPOLL_READ) && __atomic_load_n(&pd->expired[DIR_READ], __ATOMIC_ACQUIRE)) ||
        ((modes & NETPOLL_WRITE) && __atomic_load_n(&pd->expired[DIR_WRITE], __ATOMIC_ACQUIRE)))
        return -ETIMEDOUT;
    return 0;
}

enum io_kind netpoll_kind(pd_t *pd)
{
    return (enum io_kind)__atomic_load_n(&pd->kind, __ATOMIC_RELAXED);
}

/*
 * The drained hint. A read on a stream socket that returns fewer bytes
 * than asked for has emptied the socket's receive queue, and any byte that
 * arrives later produces a new read report (the backend is edge-triggered
 * and the descriptor has been registered since it was created). So until
 * the read count moves past the one noted before that read, the next read
 * would only say EAGAIN: io.c skips that system call and waits for the
 * report straight away. An echo or keep-alive HTTP server, whose every
 * read after a reply is such a read, makes a third fewer system calls.
 * Only for owned stream sockets: a datagram or seqpacket socket returns one
 * message per read with more queued, a tty one line, and a descriptor the
 * library did not create is registered lazily (reports before that are
 * never counted). A byte of TCP urgent data also ends a read early; urgent
 * data is out of use, and only delays that read until the next segment.
 * Nor after the peer's FIN was reported: a read that takes the last bytes
 * before it comes back short, and the end of file it leaves produces no
 * further report, so the next read must make its system call (and see 0).
 */
#define DRAINED_MARK (1ull << 32)

bool netpoll_drained(pd_t *pd, uint64_t seq)
{
    return __atomic_load_n(&pd->drained, __ATOMIC_RELAXED) ==
           (DRAINED_MARK | (uint32_t)seq);
}

void netpoll_mark_drained(pd_t *pd, uint64_t seq)
{
    if (__atomic_load_n(&pd->stream, __ATOMIC_RELAXED) &&
        !__atomic_load_n(&pd->hup, __ATOMIC_RELAXED))
        __atomic_store_n(&pd->drained, DRAINED_MARK | (uint32_t)seq, __ATOMIC_RELAXED);
}

void netpoll_clear_drained(pd_t *pd)
{
    if (__atomic_load_n(&pd->drained, __ATOMIC_RELAXED))
        __atomic_store_n(&pd->drained, 0, __ATOMIC_RELAXED);
}

void netpoll_set_kind(pd_t *pd, enum io_kind kind)
{
    /* Called when io.c finds the descriptor is not what it thought: then
     * it is not one the library created either (the number was closed with
     * close() and reused), so it is registered lazily from now on. */
    __atomic_store_n(&pd->kind, (uint32_t)kind, __ATOMIC_RELAXED);
    __atomic_store_n(&pd->owned, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pd->stream, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pd->drained, 0, __ATOMIC_RELAXED);
}

bool netpoll_owned(pd_t *pd)
{
    return __atomic_load_n(&pd->owned, __ATOMIC_RELAXED) != 0;
}

static void unlock_pd(void *arg)
{
    runlock(&((pd_t *)arg)->lock);
}

/* Under pd->lock and pd->dlock, with both timers stopped: forget the
 * previous user of the number. Waiters still queued (a caller that raced
 * with close(), or a descriptor closed behind our back) end with -EBADF. */
static void reset_locked(pd_t *pd, waiter_t **list)
{
    for (int d = 0; d < NDIR; d++) {
        finish_all(pd, d, IO_CLOSED, list);
        __atomic_store_n(&pd->expired[d], false, __ATOMIC_RELEASE);
        pd->deadline[d] = 0;
    }
    pd->in_backend = false;
    __atomic_store_n(&pd->owned, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pd->stream, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pd->drained, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pd->hup, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pd->kind, IO_KIND_UNKNOWN, __ATOMIC_RELAXED);
}

int netpoll_close(int fd)
{
    pd_t *pd = pd_lookup(fd);
    if (!pd) {
        if (fd < 0)
            return -EBADF;
        /* Never used with the poller: nothing to wake. */
        return close(fd) == 0 || errno == EINTR ? 0 : -errno;
    }
    uint32_t old;
    for (;;) {
        old = __atomic_fetch_or(&pd->refs, REF_CLOSING, __ATOMIC_ACQ_REL);
        if (!(old & REF_FINAL))
            break;
        /* The previous file's close(2) is under way or done, and fd may
         * be a new file already: wait for that closer, as netpoll_ref. */
        rlock(&pd->lock);
        runlock(&pd->lock);
    }
    if (old & REF_CLOSING)
        return -EBADF; /* another go_close is under way */

    /* Stop the deadlines and wake everyone who waits. */
    waiter_t *list = NULL;
    rlock(&pd->dlock);
    timer_stop(&pd->dtimer[DIR_READ]);
    timer_stop(&pd->dtimer[DIR_WRITE]);
    rlock(&pd->lock);
    for (int d = 0; d < NDIR; d++)
        finish_all(pd, d, IO_CLOSED, &list);
    runlock(&pd->lock);
    runlock(&pd->dlock);
    wake_list(list);

    /* Wait for the calls in progress to leave. */
    rlock(&pd->lock);
    if (__atomic_load_n(&pd->refs, __ATOMIC_ACQUIRE) != REF_CLOSING) {
        waiter_t w = {0};
        w.g = sched_getg();
        pd->closer = &w;
        sched_park(&w, unlock_pd, pd, WAIT_IO);
    } else {
        runlock(&pd->lock);
    }

    /* Nobody uses the number now: forget it, then close it. The reset
     * comes first because once close() returns the kernel may hand the
     * number to another thread's accept, which registers it afresh (and
     * waits for pd->lock to do so). CLOSING is cleared only after the
     * close(2) (see the design comment): a call that started in between
     * would run on the old file, and, if it came to wait, sleep on a
     * number that vanished from the poller, woken by nothing. */
    list = NULL;
    rlock(&pd->dlock);
    rlock(&pd->lock);
    __atomic_fetch_or(&pd->refs, REF_FINAL, __ATOMIC_ACQ_REL);
    bool in_backend = pd->in_backend;
    reset_locked(pd, &list);
    if (in_backend)
        netpoll_backend_close(fd);
    int r = close(fd) == 0 || errno == EINTR ? 0 : -errno;
    __atomic_and_fetch(&pd->refs, ~(REF_CLOSING | REF_FINAL), __ATOMIC_ACQ_REL);
    runlock(&pd->lock);
    runlock(&pd->dlock);
    wake_list(list);
    return r;
}

int netpoll_open(int fd, enum io_kind kind, bool stream)
{
    int err = backend_ready();
    if (err)
        return err;
    pd_t *pd = netpoll_pd(fd, &err);
    if (!pd)
        return err;
    waiter_t *list = NULL;
    rlock(&pd->dlock);
    /* A previous user of the number may have left deadlines behind (it was
     * closed with close(), not go_close()). */
    timer_stop(&pd->dtimer[DIR_READ]);
    timer_stop(&pd->dtimer[DIR_WRITE]);
    rlock(&pd->lock);
    reset_locked(pd, &list);
    __atomic_store_n(&pd->kind, (uint32_t)kind, __ATOMIC_RELAXED);
    __atomic_store_n(&pd->owned, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&pd->stream, stream, __ATOMIC_RELAXED);
    err = netpoll_backend_open(fd, pd);
    if (err == -EEXIST)
        err = 0;
    pd->in_backend = err == 0;
    runlock(&pd->lock);
    runlock(&pd->dlock);
    wake_list(list);
    return err;
}

/* ---- deadlines ----------------------------------------------------------------- */

static void deadline_fire(rtimer_t *t, void *arg, int64_t now)
{
    pd_t *pd = arg;
    int d = t == &pd->dtimer[DIR_WRITE] ? DIR_WRITE : DIR_READ;
    waiter_t *list = NULL;
    rlock(&pd->lock);
    /* Timers are stopped before any change of the deadline (under dlock),
     * so this firing is for the current one; check anyway, it is free. */
    if (pd->deadline[d] != 0 && pd->deadline[d] <= now) {
        __atomic_store_n(&pd->expired[d], true, __ATOMIC_RELEASE);
        finish_all(pd, d, IO_TIMEOUT, &list);
    }
    runlock(&pd->lock);
    wake_list(list);
}

int netpoll_set_deadline(int fd, uint32_t modes, int64_t deadline)
{
    int err = -EBADF; /* netpoll_pd sets it when it returns NULL */
    pd_t *pd = netpoll_pd(fd, &err);
    if (!pd)
        return err;
    /* Timers run on Ms: make sure there are some. */
    if (deadline > 0)
        rt_init();
    waiter_t *list = NULL;
    bool arm[NDIR] = {false, false};
    rlock(&pd->dlock);
    for (int d = 0; d < NDIR; d++) {
        if (modes & (1u << d))
            timer_stop(&pd->dtimer[d]);
    }
    rlock(&pd->lock);
    if (__atomic_load_n(&pd->refs, __ATOMIC_ACQUIRE) & REF_CLOSING) {
        runlock(&pd->lock);
        runlock(&pd->dlock);
        return -EBADF;
    }
    int64_t now = nanotime();
    for (int d = 0; d < NDIR; d++) {
        if (!(modes & (1u << d)))
            continue;
        pd->deadline[d] = deadline;
        bool past = deadline != 0 && deadline <= now;
        __atomic_store_n(&pd->expired[d], past, __ATOMIC_RELEASE);
        if (past)
            finish_all(pd, d, IO_TIMEOUT, &list);
        else
            arm[d] = deadline != 0;
    }
    runlock(&pd->lock);
    for (int d = 0; d < NDIR; d++) {
        if (arm[d]) {
            /* Idle (stopped above, and only dlock holders arm it). */
            pd->dtimer[d].fn = deadline_fire;
            pd->dtimer[d].arg = pd;
            timer_start(&pd->dtimer[d], deadline);
        }
    }
    runlock(&pd->dlock);
    wake_list(list);
    return 0;
}

/* ---- waiting ------------------------------------------------------------------- */

static void call_timeout(rtimer_t *t, void *arg, int64_t now)
{
    (void)t;
    (void)now;
    struct iowait *iw = arg;
    pd_t *pd = iw->pd;
    waiter_t *list = NULL;
    rlock(&pd->lock);
    if (iw->result == IO_PENDING)
        finish(pd, iw, IO_TIMEOUT, &list);
    runlock(&pd->lock);
    /* The waiter may resume at once, but it calls timer_stop() before its
     * frame goes away, which waits for us to return: iw stays valid. */
    wake_list(list);
}

/* A plain thread has no M to poll for it: once it is queued (nwaiters
 * counts it), make sure some M is asleep in the poller or about to be. */
static void unlock_pd_poke(void *arg)
{
    runlock(&((pd_t *)arg)->lock);
    if (__atomic_load_n(&npolling, __ATOMIC_SEQ_CST) == 0)
        sched_timer_armed(nanotime());
}

int netpoll_wait(pd_t *pd, int fd, uint32_t modes, uint64_t seq, int64_t deadline)
{
    int err = backend_ready();
    if (err)
        return err;
    if (!netpoll_owned(pd)) {
        /* See the design comment: re-check the registration every time. */
        err = netpoll_backend_open(fd, pd);
        if (err != 0 && err != -EEXIST)
            return err;
    }
    struct iowait iw;
    memset(&iw, 0, sizeof iw);
    rlock(&pd->lock);
    if (!netpoll_owned(pd))
        pd->in_backend = true;
    err = netpoll_check(pd, modes);
    if (err) {
        runlock(&pd->lock);
        return err;
    }
    for (int d = 0; d < NDIR; d++) {
        if ((modes & (1u << d)) && pd->seq[d] != (uint32_t)(seq >> (32 * d))) {
            /* A report came after the caller's attempt: try again. */
            runlock(&pd->lock);
            return 0;
        }
    }
    if (deadline != 0 && deadline <= nanotime()) {
        runlock(&pd->lock);
        return -ETIMEDOUT;
    }
    iw.w.g = sched_getg();
    iw.pd = pd;
    iw.result = IO_PENDING;
    for (int d = 0; d < NDIR; d++) {
        if (modes & (1u << d)) {
            iw.node[d].iw = &iw;
            pq_push(&pd->q[d], &iw.node[d]);
            iw.modes |= 1u << d;
        }
    }
    __atomic_add_fetch(&nwaiters, 1, __ATOMIC_SEQ_CST);
    if (deadline != 0) {
        iw.timer.fn = call_timeout;
        iw.timer.arg = &iw;
        timer_start(&iw.timer, deadline);
    }
    sched_park(&iw.w, iw.w.g ? unlock_pd : unlock_pd_poke, pd, WAIT_IO);
    if (deadline != 0)
        timer_stop(&iw.timer);
    switch (iw.result) {
    case IO_READY:
        return 0;
    case IO_TIMEOUT:
        return -ETIMEDOUT;
    case IO_CLOSED:
        return -EBADF;
    default:
        RT_THROW("netpoll: waiter woken without a result");
    }
}

/* ---- descriptor cases of a select (select.c) ------------------------------------ */

int netpoll_sel_begin(struct netpoll_selfd *f, int fd, uint32_t mode)
{
    memset(f, 0, sizeof *f);
    f->fd = fd;
    f->mode = mode;
    int err = backend_ready();
    if (err)
        return err;
    pd_t *pd = netpoll_pd(fd, &err);
    if (!pd)
        return err;
    f->pd = pd;
    if (netpoll_ref(pd) != 0)
        return 0; /* being closed: ready (a read would say -EBADF) */
    f->ref = true;
    if (!netpoll_owned(pd)) {
        /* As netpoll_wait: (re-)register a descriptor we did not create. */
        err = netpoll_backend_open(fd, pd);
        if (err == -ENOMEM) {
            netpoll_unref(pd);
            f->ref = false;
            return err;
        }
        /* -EPERM: epoll refuses it (a regular file), always ready as
         * poll(2) says; -EBADF: not open, which poll(2) reports as
         * POLLNVAL. Either way the case fires and the caller's call says
         * what it is. */
        if (err != 0 && err != -EEXIST)
            f->unpollable = true;
    }
    return 0;
}

bool netpoll_sel_ready(struct netpoll_selfd *f)
{
    if (!f->ref || f->unpollable || netpoll_check(f->pd, f->mode) != 0)
        return true;
    f->seq = netpoll_seq(f->pd);
    struct pollfd p = {.fd = f->fd};
    p.events = f->mode == NETPOLL_READ ? POLLIN | POLLRDHUP : POLLOUT;
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return true; /* the caller's own call will report the error */
    if (n == 0)
        return false;
    if (f->mode == NETPOLL_READ) {
        if (p.revents & (POLLIN | POLLRDHUP | POLLPRI | POLLHUP | POLLERR | POLLNVAL)) {
            netpoll_clear_drained(f->pd); /* data seen: the next read tries */
            return true;
        }
        return false;
    }
    return (p.revents & (POLLOUT | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

bool netpoll_sel_unchanged(struct netpoll_selfd *f)
{
    return f->ref && !f->unpollable && netpoll_check(f->pd, f->mode) == 0 &&
           netpoll_seq(f->pd) == f->seq;
}

bool netpoll_sel_queue(struct netpoll_selfd *f, struct select_state *st, int caseidx)
{
    pd_t *pd = f->pd;
    int d = f->mode == NETPOLL_READ ? DIR_READ : DIR_WRITE;
    rlock(&pd->lock);
    if (!netpoll_owned(pd))
        pd->in_backend = true;
    if (netpoll_check(pd, f->mode) != 0 || pd->seq[d] != (uint32_t)(f->seq >> (32 * d))) {
        /* Closing, past its deadline, or a report came since the check:
         * look again. */
        runlock(&pd->lock);
        return false;
    }
    struct iowait *iw = &f->iw;
    memset(iw, 0, sizeof *iw);
    iw->w.sel = st;
    iw->w.caseidx = caseidx;
    iw->pd = pd;
    iw->result = IO_PENDING;
    iw->node[d].iw = iw;
    pq_push(&pd->q[d], &iw->node[d]);
    iw->modes = 1u << d;
    runlock(&pd->lock);
    f->queued = true;
    return true;
}

void netpoll_sel_dequeue(struct netpoll_selfd *f)
{
    if (!f->queued)
        return;
    pd_t *pd = f->pd;
    rlock(&pd->lock);
    for (int d = 0; d < NDIR; d++) {
        if (f->iw.modes & (1u << d))
            pq_unlink(&pd->q[d], &f->iw.node[d]);
    }
    f->iw.modes = 0;
    runlock(&pd->lock);
    f->queued = false;
}

void netpoll_sel_end(struct netpoll_selfd *f)
{
    if (f->ref)
        netpoll_unref(f->pd);
    f->ref = false;
}

void netpoll_sel_sleeping(int delta)
{
    __atomic_add_fetch(&nwaiters, delta, __ATOMIC_SEQ_CST);
}

void netpoll_sel_poke(void)
{
    if (__atomic_load_n(&npolling, __ATOMIC_SEQ_CST) == 0)
        sched_timer_armed(nanotime());
}
