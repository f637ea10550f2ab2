/*
 * chan.c - channels (Go's runtime/chan.go): make, send, receive, close,
 * their non-blocking and timed forms, len and cap. select lives in
 * select.c and shares the struct and helpers declared in chan.h.
 *
 * The model is Go's. A channel is a lock, a ring buffer of cap elements
 * and two FIFO wait queues, one of blocked senders and one of blocked
 * receivers. A waiter (sched.h) stands for one blocked goroutine or
 * thread; it lives on the blocked caller's own stack and carries `elem`,
 * the address of the value to send or of where to put the value received.
 *
 *   send:  a receiver is queued -> copy straight into its elem, wake it;
 *          else room in the buffer -> append;
 *          else queue ourselves and park until a receiver takes the value.
 *   recv:  a sender is queued -> take its value (unbuffered) or, the
 *          buffer being full, take the head and move the sender's value
 *          into the tail (the slot just freed); wake it;
 *          else something buffered -> take the head;
 *          else closed -> zero value, "closed";
 *          else queue ourselves and park until a sender hands us a value.
 *   close: mark closed, then wake every queued receiver (zeroing its elem,
 *          "closed") and every queued sender (which then panics with
 *          "send on closed channel", as in Go).
 *
 * So a value never travels through the buffer when a partner is already
 * waiting, and the party that completes an operation copies the value
 * itself, under the lock, before it wakes the other. The woken side finds
 * its operation done and only reads its own waiter (w.success says
 * "value" or "closed").
 *
 * Lifetime: the party that completes a blocked operation releases the
 * channel lock *before* it readies the waiter, and touches neither the
 * channel after the unlock nor the waiter after sched_ready(); the woken
 * side never touches the channel again. That is what lets the goroutine
 * that completed the last receive free the channel while the sender is
 * still returning from its send (docs/design.md, "Lifetimes"). runlock() may
 * issue a futex wake on the lock word after another thread took and
 * released the lock; lock.h documents that a wake on stale memory is
 * harmless. go_chan_free() of a channel that still has waiters is fatal;
 * so, as far as it can be told, is any use of a freed channel: every entry
 * point checks a magic word that free poisons (chan_check in chan.h). The
 * check is a compare of a word in the line the operation loads anyway.
 *
 * Locking: c->lock protects every mutable field and the waiters queued on
 * c. It is taken before any other runtime lock (lock.h's table); select
 * takes several channel locks, always in address order. The waiter of a
 * goroutine is readied only after the lock is dropped, so that the woken
 * goroutine does not immediately contend for it.
 *
 * Lock-free fast paths, as Go's: a non-blocking send that sees the
 * channel open and full, or a non-blocking receive that sees it empty and
 * open, fails without the lock. Each is a pair of single-word loads
 * (closed, and qcount or a queue head) in an order that makes the answer
 * true at some instant between them: a channel never reopens, so "open"
 * read after "full" means it was open when it was full; for the receive,
 * "empty, then open" means empty while open, and "empty, then closed,
 * then empty again" means closed and drained (closing and draining happen
 * in separate critical sections, and the loads are acquire loads of
 * values stored under the lock).
 *
 * Select waiters and timeouts (details in select.c): a blocked select
 * queues one waiter per case, all pointing at one select_state; a timed
 * send or receive is a one-case select. Whoever wants to complete such a
 * waiter must first claim the select with a CAS on st->done; the losers
 * stay queued until the select wakes, relocks its channels and removes
 * them, and anyone who dequeues a claimed waiter just drops it
 * (chan_dequeue). A timeout claims the select with the same CAS, holding
 * no channel lock.
 *
 * Plain-thread receivers. A thread that is not a goroutine (main, when
 * the program does not use go_main) blocks by spinning briefly and then
 * sleeping on a futex (sched.c, plain_wait), on a CPU of its own. Fed by
 * goroutines that produce a value every few tens of nanoseconds, it used
 * to empty the buffer at once, queue itself, and be handed the next value
 * directly by the sender: every value became a cross-CPU hand-off of the
 * channel's lock, its waiter and its wake word, several times the cost of
 * the same loop in a goroutine, which runs in batches on the producers'
 * P. So a plain thread that finds a buffered channel (cap >= 2) nearly
 * empty, on a machine with more than one CPU, first watches qcount
 * without the lock until the buffer is half full, or stops growing, or
 * closes, or a few microseconds pass (plain_gather), and then receives
 * as usual. It then takes a batch in a row while the producers keep
 * appending, and the per-value hand-off is gone. It is only a delay
 * before an ordinary receive: it holds no place in the receive queue and
 * changes nothing, so FIFO order among blocked receivers, close, select
 * and the deadlock detector see the same channel as before. Its price: a
 * receive that finds a nearly empty buffer waits one look (about a
 * microsecond) longer before taking what arrived. Rejected (figures in
 * docs/bench.md, "main-consumer: a plain thread receiving"):
 *  - Shrinking the gather's budget after each one that found nothing
 *    (to spend less CPU on a producer that is idle), or skipping the
 *    next gathers altogether: a producer descheduled by the kernel for a
 *    moment made the consumer fall back to per-value hand-offs, which
 *    kept the producer's P too busy to ever fill a batch again; worse
 *    than no gathering at all.
 *  - sched_yield() between looks (to leave the CPU to the producers when
 *    the machine is oversubscribed): slower at every GOMAXPROCS.
 *  - Waiting for a fuller buffer (3/4, full) or looking more often (16
 *    pauses): no better than half and 64, within the noise.
 *  - Gathering only when the buffer is empty: the consumer then chased
 *    the producers value by value after each batch.
 *
 * Rejected:
 *  - A timeout callback that locks the channel and dequeues the waiter.
 *    The callback can run after the partner that completed the operation
 *    has already let the channel be freed (the waiter's timer_stop() waits
 *    for the callback, but by then it may be spinning on freed memory);
 *    and a callback that takes a channel lock deadlocks if it runs on the
 *    M of a goroutine that is parking under that very lock (timers_run()
 *    now refuses to run there; this design does not depend on it).
 *    Claiming with a CAS touches only the waiter's own stack, which
 *    outlives the callback.
 *  - Readying the partner while holding the lock (simpler): the woken
 *    goroutine, often run at once on another P, would spin on our lock.
 *  - A separate allocation for the buffer: one allocation keeps the header
 *    and the first slots together and makes make/free cheaper.
 *  - Allocating waiters (Go's sudog cache): C stacks do not move, so the
 *    waiter lives in the blocked call's frame and a blocking operation
 *    allocates nothing.
 */
#include "chan.h"

#include <errno.h>
#include <stdlib.h>

#include "debug.h"
#include "testhooks.h"

/* Largest buffer, in bytes, and largest capacity (goroutine.h: "exceeds
 * 2^40"). */
#define CHAN_BUF_MAX ((size_t)1 << 40)

void chan_lock_slow(go_chan *c)
{
    /* At most 1 + 2 + ... + 128 = 255 pauses (a few us) before rlock(),
     * whose own spin and sleep handle a long hold. A lower cap polls the
     * line more often, taking it from the holder between its operations;
     * this one lets the holder do more in a row with the line local
     * (mpmc at 2 Ps; docs/bench.md, "Figures behind the design"). */
    uint32_t backoff = 1;
    for (int i = 0; i < 8; i++) {
        for (uint32_t k = 0; k < backoff; k++)
            cpu_relax();
        if (__atomic_load_n(&c->lock.state, __ATOMIC_RELAXED) == 0 && rtrylock(&c->lock))
            return;
        if (backoff < 256)
            backoff *= 2;
    }
    rlock(&c->lock);
}

/* The lock is released by the scheduler once the parking goroutine's
 * context is saved (sched_park). */
static void unlock_chan(void *arg)
{
    runlock(&((go_chan *)arg)->lock);
}

static void unlock_nothing(void *arg)
{
    (void)arg;
}

/* Send or receive on a nil channel: block forever. Nobody can find this
 * waiter, so only the deadlock detector will ever speak of us again. */
__attribute__((noreturn)) static void block_forever(enum wait_reason reason)
{
    waiter_t w = {0};
    w.g = sched_getg();
    sched_park(&w, unlock_nothing, NULL, reason);
    RT_THROW("nil channel operation woke up");
}

/* Would a send block right now (lock-free hint; see the top comment)? */
static inline bool full_hint(go_chan *c)
{
    if (c->cap == 0)
        return __atomic_load_n(&c->recvq.head, __ATOMIC_ACQUIRE) == NULL;
    return __atomic_load_n(&c->qcount, __ATOMIC_ACQUIRE) == c->cap;
}

/* Would a receive block right now (lock-free hint)? */
static inline bool empty_hint(go_chan *c)
{
    if (c->cap == 0)
        return __atomic_load_n(&c->sendq.head, __ATOMIC_ACQUIRE) == NULL;
    return __atomic_load_n(&c->qcount, __ATOMIC_ACQUIRE) == 0;
}

static inline void zero_elem(go_chan *c, void *elem)
{
    if (elem && c->elemsize)
        memset(elem, 0, c->elemsize);
}

/* ---- make / free --------------------------------------------------------- */

go_chan *chan_make_internal(size_t elem_size, size_t cap)
{
    if (elem_size > GO_CHAN_ELEM_MAX || cap > CHAN_BUF_MAX)
        return NULL;
    if (elem_size != 0 && cap > CHAN_BUF_MAX / elem_size)
        return NULL;
    size_t bytes = sizeof(go_chan) + elem_size * cap;
    void *mem;
    /* Cache-line aligned, so that the hot header is one line. */
    if (posix_memalign(&mem, CACHE_LINE, bytes) != 0)
        return NULL;
    go_chan *c = mem;
    memset(c, 0, sizeof *c); /* the buffer is written before it is read */
    rlock_init(&c->lock, LOCK_RANK_CHAN);
    c->elemsize = (uint32_t)elem_size;
    c->magic = CHAN_MAGIC;
    c->cap = cap;
    return c;
}

go_chan *go_chan_make(size_t elem_size, size_t cap)
{
    /* A cap above 2^40 even for elem_size 0: (size_t)-1 and the like are
     * negative numbers passed by mistake (Go panics on a negative size). */
    if (elem_size > GO_CHAN_ELEM_MAX || cap > CHAN_BUF_MAX ||
        (elem_size != 0 && cap > CHAN_BUF_MAX / elem_size)) {
        errno = EINVAL;
        return NULL;
    }
    go_chan *c = chan_make_internal(elem_size, cap);
    if (!c)
        errno = ENOMEM;
    DEBUG_OBJ_NEW(DOBJ_CHAN, c);
    return c;
}

void chan_set_free_hook(go_chan *c, void (*hook)(go_chan *c, void *arg), void *arg)
{
    c->free_hook = hook;
    c->free_hook_arg = arg;
}

void chan_bad(go_chan *c)
{
    (void)c;
    debug_fatal("use of freed or invalid channel");
}

void go_chan_free(go_chan *c)
{
    if (!c)
        return;
    if (__builtin_expect(c->magic != CHAN_MAGIC, 0))
        debug_fatal("go_chan_free of freed or invalid channel");
    if (c->free_hook)
        c->free_hook(c, c->free_hook_arg);
    /* Taking the lock orders our check after the last operation's unlock
     * (the one that released whoever told us we may free). */
    chan_lock(c);
    bool busy = c->recvq.head != NULL || c->sendq.head != NULL;
    runlock(&c->lock);
    if (busy)
        debug_fatal("free of channel with blocked goroutines");
    DEBUG_OBJ_FREE(c);
    /* An atomic store, so that the compiler keeps it before free(). */
    __atomic_store_n(&c->magic, CHAN_FREED, __ATOMIC_RELAXED);
    free(c);
}

/* ---- send ------------------------------------------------------------------ */

/*
 * The one send. block false: return false instead of blocking. quiet: a
 * closed channel returns false instead of panicking (timer callbacks).
 * Returns true once the value is delivered or buffered.
 */
static bool chan_send(go_chan *c, const void *elem, bool block, bool quiet)
{
    if (!c) {
        if (!block)
            return false;
        block_forever(WAIT_CHAN_SEND_NIL);
    }
    chan_check(c);
    if (!block && !__atomic_load_n(&c->closed, __ATOMIC_ACQUIRE) && full_hint(c))
        return false;

    chan_lock(c);
    waiter_t *pw;
    enum chan_try t = chan_try_send_locked(c, elem, &pw);
    if (t == CHAN_DONE) {
        runlock(&c->lock);
        if (pw)
            sched_ready(pw);
        return true;
    }
    if (t == CHAN_SEND_CLOSED || !block) {
        runlock(&c->lock);
        if (t == CHAN_SEND_CLOSED && !quiet)
            debug_panic("send on closed channel");
        return false;
    }

    waiter_t w = {0};
    w.g = sched_getg();
    w.elem = (void *)elem;
    w.c = c;
    chan_wq_push(&c->sendq, &w);
    sched_park(&w, unlock_chan, c, WAIT_CHAN_SEND);
    /* A receiver took the value (success) or close woke us. Either way c
     * may already be gone: do not touch it. */
    if (!w.success)
        debug_panic("send on closed channel");
    return true;
}

void go_chan_send(go_chan *c, const void *elem)
{
    chan_send(c, elem, true, false);
}

bool go_chan_try_send(go_chan *c, const void *elem)
{
    return chan_send(c, elem, false, false);
}

bool chan_try_send_internal(go_chan *c, const void *elem)
{
    return chan_send(c, elem, false, true);
}

int go_chan_send_timeout(go_chan *c, const void *elem, int64_t timeout_ns)
{
    if (timeout_ns <= 0)
        return chan_send(c, elem, false, false) ? 0 : -ETIMEDOUT;
    go_select_case sc = GO_SEND(c, elem);
    int r = select_run(&sc, 1, true, timeout_ns);
    return r < 0 ? r : 0;
}

/* ---- receive --------------------------------------------------------------- */

enum recv_result { RECV_WOULD_BLOCK, RECV_VALUE, RECV_CLOSED };

/*
 * A plain thread that is about to receive from a buffered channel holding
 * less than an eighth of its capacity lets the buffer fill first (see
 * "Plain-thread receivers" at the top): it looks at qcount, without the
 * lock, every GATHER_PAUSE pauses, and stops at the first of: half full;
 * something buffered that did not grow since the previous look (the
 * producer paused: take what there is); closed; GATHER_NS spent. It then
 * receives as usual, blocking if the buffer is still empty. It changes no
 * state, so it cannot change what the receive returns, only when.
 */
#define GATHER_NS 5000  /* at most this long per receive */
#define GATHER_PAUSE 64 /* cpu_relax() calls between two looks */
#define GATHER_LOW 8    /* gather below cap / GATHER_LOW buffered */

static __attribute__((noinline)) void plain_gather(go_chan *c)
{
    if (c->cap < 2)
        return;
    size_t n = __atomic_load_n(&c->qcount, __ATOMIC_RELAXED);
    if (n >= (c->cap / GATHER_LOW ? c->cap / GATHER_LOW : 1) ||
        __atomic_load_n(&c->closed, __ATOMIC_RELAXED) || sched_cpu_count() < 2)
        return;
    size_t want = c->cap / 2, last = n;
    int64_t deadline = 0;
    for (;;) {
        for (int k = 0; k < GATHER_PAUSE; k++)
            cpu_relax();
        n = __atomic_load_n(&c->qcount, __ATOMIC_ACQUIRE);
        if (n >= want || (n > 0 && n == last) || __atomic_load_n(&c->closed, __ATOMIC_ACQUIRE))
            return;
        last = n;
        int64_t now = nanotime();
        if (deadline == 0)
            deadline = now + GATHER_NS;
        else if (now > deadline)
            return;
    }
}

static enum recv_result chan_recv(go_chan *c, void *elem, bool block)
{
    if (!c) {
        if (!block)
            return RECV_WOULD_BLOCK;
        block_forever(WAIT_CHAN_RECV_NIL);
    }
    chan_check(c);
    if (!block && empty_hint(c)) {
        if (!__atomic_load_n(&c->closed, __ATOMIC_ACQUIRE))
            return RECV_WOULD_BLOCK;
        /* Closed for good; whatever was sent before the close is still
         * visible now. */
        if (empty_hint(c)) {
            zero_elem(c, elem);
            return RECV_CLOSED;
        }
    }

    /* Goroutines (and an M's g0, a timer callback) pay one thread-local
     * load here; plain threads see plain_gather. */
    if (__builtin_expect(!sched_getm_fast(), 0) && block)
        plain_gather(c);
    chan_lock(c);
    waiter_t *pw;
    enum chan_try t = chan_try_recv_locked(c, elem, &pw);
    if (t == CHAN_DONE) {
        runlock(&c->lock);
        if (pw)
            sched_ready(pw);
        return RECV_VALUE;
    }
    if (t == CHAN_RECV_CLOSED || !block) {
        runlock(&c->lock);
        return t == CHAN_RECV_CLOSED ? RECV_CLOSED : RECV_WOULD_BLOCK;
    }

    waiter_t w = {0};
    w.g = sched_getg();
    w.elem = elem;
    w.c = c;
    chan_wq_push(&c->recvq, &w);
    sched_park(&w, unlock_chan, c, WAIT_CHAN_RECV);
    /* The sender or closer wrote our elem (or zeroed it) before waking
     * us. Do not touch c. */
    return w.success ? RECV_VALUE : RECV_CLOSED;
}

bool go_chan_recv(go_chan *c, void *elem)
{
    return chan_recv(c, elem, true) == RECV_VALUE;
}

bool go_chan_try_recv(go_chan *c, void *elem, bool *ok)
{
    enum recv_result r = chan_recv(c, elem, false);
    if (r == RECV_WOULD_BLOCK)
        return false;
    if (ok)
        *ok = r == RECV_VALUE;
    return true;
}

int go_chan_recv_timeout(go_chan *c, void *elem, bool *ok, int64_t timeout_ns)
{
    if (timeout_ns <= 0)
        return go_chan_try_recv(c, elem, ok) ? 0 : -ETIMEDOUT;
    go_select_case sc = GO_RECV(c, elem, ok);
    int r = select_run(&sc, 1, true, timeout_ns);
    return r < 0 ? r : 0;
}

/* ---- close, len, cap ------------------------------------------------------- */

void go_chan_close(go_chan *c)
{
    if (!c)
        debug_panic("close of nil channel");
    chan_check(c);
    chan_lock(c);
    if (c->closed) {
        runlock(&c->lock);
        debug_panic("close of closed channel");
    }
    __atomic_store_n(&c->closed, 1, __ATOMIC_RELEASE);

    /* Collect everyone to wake, in FIFO order, receivers first, linked
     * through the waiter each sleeps on (chan_complete's result): that
     * waiter is on no queue (a plain waiter was just unlinked; a select
     * sleeps on a waiter of its own), so its `next` is free. */
    waiter_t *first = NULL, **tailp = &first;
    waiter_t *w;
    while ((w = chan_dequeue(&c->recvq)) != NULL) {
        zero_elem(c, w->elem);
        waiter_t *pw = chan_complete(c, w, false);
        pw->next = NULL;
        *tailp = pw;
        tailp = &pw->next;
    }
    while ((w = chan_dequeue(&c->sendq)) != NULL) {
        waiter_t *pw = chan_complete(c, w, false);
        pw->next = NULL;
        *tailp = pw;
        tailp = &pw->next;
    }
    runlock(&c->lock);

    /* c may be freed by now (a woken receiver may own it): use only the
     * list, and read each link before readying its owner. */
    while (first) {
        waiter_t *nx = first->next;
        sched_ready(first);
        first = nx;
    }
}

size_t go_chan_len(go_chan *c)
{
    if (!c)
        return 0;
    chan_check(c);
    return __atomic_load_n(&c->qcount, __ATOMIC_RELAXED);
}

size_t go_chan_cap(go_chan *c)
{
    if (!c)
        return 0;
    chan_check(c);
    return c->cap;
}

void chan_count_waiters(go_chan *c, size_t *nsend, size_t *nrecv)
{
    size_t ns = 0, nr = 0;
    chan_lock(c);
    if (c->sendq.head) {
        waiter_t *w = c->sendq.head;
        do {
            ns++;
            w = w->next;
        } while (w != c->sendq.head);
    }
    if (c->recvq.head) {
        waiter_t *w = c->recvq.head;
        do {
            nr++;
            w = w->next;
        } while (w != c->recvq.head);
    }
    runlock(&c->lock);
    if (nsend)
        *nsend = ns;
    if (nrecv)
        *nrecv = nr;
}
